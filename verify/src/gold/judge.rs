//! Gold's rows against the recomputed windows: matches, mismatches, missing, unexpected and
//! duplicated windows, and the late events a window may have admitted.

use super::*;

/// What the gold check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GoldFindings {
    /// Rows read from `gold.metrics`.
    pub gold_rows: u64,
    /// On-time events recomputed (each valid event present in raw, once).
    pub events_recomputed: u64,
    /// Late events left out of the on-time aggregates.
    pub late_excluded: u64,
    /// Late events gold shows as admitted (in `windows_late_admitted`).
    pub late_admitted: u64,
    /// Recomputed windows with on-time events.
    pub windows_expected: u64,
    /// Latest window end in gold, µs since the epoch: windows ending later may still be open.
    pub horizon_end_us: Option<i64>,
    /// Recomputed windows ending after the horizon: not compared.
    pub windows_open: u64,
    /// Closed windows compared: matching + mismatched + missing + unexpected + late admitted.
    pub windows_checked: u64,
    /// Gold rows equal to the recomputation.
    pub windows_matching: u64,
    /// Gold rows that differ from it.
    pub windows_mismatched: u64,
    /// Recomputed closed windows with no gold row.
    pub windows_missing: u64,
    /// Gold rows for windows with no event at all.
    pub windows_unexpected: u64,
    /// Gold rows equal to the on-time aggregate plus some or all of the window's late events.
    pub windows_late_admitted: u64,
    /// Extra gold rows for a window (beyond the first).
    pub windows_duplicated: u64,
    /// Sends whose replay did not match their ledger entry (kind, topic, late flag or
    /// duplicate origin): the replay was not given the run's seed or load, and nothing above
    /// can be trusted.
    pub replay_mismatches: u64,
    /// Events that count but whose send time is not known (closed loop, no record with it).
    pub untimed: u64,
    /// Replayed events silver's derivation could not read.
    pub unparsable: u64,
    /// Up to ten descriptions per anomaly (`mismatched`, `missing`, `unexpected`,
    /// `late_admitted`, `duplicated`, `replay_mismatches`, `untimed`, `unparsable`).
    pub examples: BTreeMap<String, Vec<String>>,
}

impl GoldFindings {
    /// Whether gold holds exactly the recomputation for every closed window, and the
    /// recomputation itself is sound.
    pub fn is_clean(&self) -> bool {
        self.windows_mismatched == 0
            && self.windows_missing == 0
            && self.windows_unexpected == 0
            && self.windows_duplicated == 0
            && self.replay_mismatches == 0
            && self.untimed == 0
            && self.unparsable == 0
    }

    fn example(&mut self, anomaly: &str, text: impl FnOnce() -> String) {
        let examples = self.examples.entry(anomaly.to_owned()).or_default();
        if examples.len() < MAX_EXAMPLES {
            examples.push(text());
        }
    }

    /// Adds what a replay counted.
    pub fn add_replay(&mut self, stats: &ReplayStats) {
        self.replay_mismatches += stats.replay_mismatches;
        self.untimed += stats.untimed;
        self.unparsable += stats.unparsable;
        for (anomaly, texts) in &stats.examples {
            for text in texts {
                self.example(anomaly, || text.clone());
            }
        }
    }
}

/// Which of gold's windows have closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Those ending at or before the latest window end in gold (the job still runs).
    ThroughLatestRow,
    /// Every one: the job was stopped with a final watermark that fired them all.
    Every,
}

/// Compares `gold.metrics` with the recomputation, closed windows only (see the module).
pub fn check_gold(
    expected: &BTreeMap<WindowKey, WindowAggregate>,
    gold: &[GoldRow],
) -> GoldFindings {
    check_gold_closed(expected, gold, Closed::ThroughLatestRow)
}

/// [`check_gold`] with the closed windows stated.
pub fn check_gold_closed(
    expected: &BTreeMap<WindowKey, WindowAggregate>,
    gold: &[GoldRow],
    closed: Closed,
) -> GoldFindings {
    let mut findings = GoldFindings {
        gold_rows: gold.len() as u64,
        events_recomputed: expected.values().map(|w| w.on_time.event_count).sum(),
        late_excluded: late_excluded(expected),
        windows_expected: expected
            .values()
            .filter(|w| w.on_time.event_count > 0)
            .count() as u64,
        ..GoldFindings::default()
    };
    let horizon = gold.iter().map(|row| row.window_end_us).max();
    findings.horizon_end_us = horizon;
    let mut rows: BTreeMap<WindowKey, Vec<&GoldRow>> = BTreeMap::new();
    for row in gold {
        let key = WindowKey {
            window_start_us: row.window_start_us,
            event_type: row.event_type.clone(),
            metric_name: row.metric_name.clone(),
        };
        rows.entry(key).or_default().push(row);
    }
    for (key, window_rows) in &rows {
        if window_rows.len() > 1 {
            findings.windows_duplicated += window_rows.len() as u64 - 1;
            findings.example("duplicated", || {
                format!("{} gold rows for {}", window_rows.len(), describe_key(key))
            });
        }
        let aggregate = expected.get(key).copied().unwrap_or_default();
        findings.windows_checked += 1;
        let verdicts: Vec<Verdict> = window_rows
            .iter()
            .map(|row| judge(&aggregate, row))
            .collect();
        let worst = verdicts
            .iter()
            .max_by_key(|v| v.rank())
            .cloned()
            .unwrap_or(Verdict::Match);
        match worst {
            Verdict::Match => findings.windows_matching += 1,
            Verdict::LateAdmitted { events, all } => {
                findings.windows_late_admitted += 1;
                findings.late_admitted += events;
                findings.example("late_admitted", || {
                    format!(
                        "{}: {} of {} late events admitted{}",
                        describe_key(key),
                        events,
                        aggregate.late.event_count,
                        if all {
                            ""
                        } else {
                            " (consistent counts and sum)"
                        }
                    )
                });
            }
            Verdict::Unexpected => {
                findings.windows_unexpected += 1;
                findings.example("unexpected", || {
                    format!(
                        "{}: no event expected; gold {}",
                        describe_key(key),
                        describe_row(window_rows[0])
                    )
                });
            }
            Verdict::Mismatch(differs) => {
                findings.windows_mismatched += 1;
                findings.example("mismatched", || {
                    format!(
                        "{}: expected {}; gold {} (differs: {})",
                        describe_key(key),
                        describe_totals(&aggregate.on_time),
                        describe_row(window_rows[0]),
                        differs.join(", ")
                    )
                });
            }
        }
    }
    for (key, aggregate) in expected {
        if aggregate.on_time.event_count == 0 || rows.contains_key(key) {
            continue;
        }
        if closed == Closed::Every || horizon.is_some_and(|end| aggregate.window_end_us <= end) {
            findings.windows_checked += 1;
            findings.windows_missing += 1;
            findings.example("missing", || {
                format!(
                    "{}: expected {}; no gold row",
                    describe_key(key),
                    describe_totals(&aggregate.on_time)
                )
            });
        } else {
            findings.windows_open += 1;
        }
    }
    findings
}

#[derive(Debug, Clone)]
enum Verdict {
    Match,
    LateAdmitted { events: u64, all: bool },
    Unexpected,
    Mismatch(Vec<&'static str>),
}

impl Verdict {
    fn rank(&self) -> u8 {
        match self {
            Verdict::Match => 0,
            Verdict::LateAdmitted { .. } => 1,
            Verdict::Unexpected => 2,
            Verdict::Mismatch(_) => 3,
        }
    }
}

fn judge(aggregate: &WindowAggregate, row: &GoldRow) -> Verdict {
    let differs = differences(&aggregate.on_time, row);
    // an unexpected window has no recomputed end
    let end_ok = aggregate.window_end_us == 0 || row.window_end_us == aggregate.window_end_us;
    if differs.is_empty() && end_ok && aggregate.on_time.event_count > 0 {
        return Verdict::Match;
    }
    let late = &aggregate.late;
    if late.event_count > 0 && end_ok {
        if differences(&aggregate.on_time.merged(late), row).is_empty() {
            return Verdict::LateAdmitted {
                events: late.event_count,
                all: true,
            };
        }
        if let Some(events) = some_late_admitted(&aggregate.on_time, late, row) {
            return Verdict::LateAdmitted { events, all: false };
        }
    }
    if aggregate.on_time.event_count == 0 && late.event_count == 0 {
        return Verdict::Unexpected;
    }
    let mut differs = differs;
    if !end_ok {
        differs.insert(0, "window_end");
    }
    if differs.is_empty() {
        // No on-time event, only late ones, and gold holds none of them: nothing to hold.
        differs.push("event_count");
    }
    Verdict::Mismatch(differs)
}

/// Whether `row` can be `on_time` plus some (not all, not none) of the window's late events:
/// counts within bounds and the extra sum between `k · late min` and `k · late max` for the
/// `k` extra values. Necessary conditions only; returns the late events admitted.
fn some_late_admitted(on_time: &Totals, late: &Totals, row: &GoldRow) -> Option<u64> {
    let events = u64::try_from(row.event_count)
        .ok()?
        .checked_sub(on_time.event_count)?;
    let values = u64::try_from(row.value_count)
        .ok()?
        .checked_sub(on_time.value_count)?;
    let valueless = events.checked_sub(values)?;
    if events == 0 || values > late.value_count || valueless > late.event_count - late.value_count {
        return None;
    }
    let gold_sum = match row.value_sum_dec {
        Some(sum) => rescale(sum)?,
        None if row.value_count == 0 => 0,
        None => return None,
    };
    let extra = gold_sum - on_time.value_sum;
    let k = i128::from(values);
    let fits = match (late.value_min, late.value_max) {
        _ if values == 0 => extra == 0,
        (Some(min), Some(max)) => k * min <= extra && extra <= k * max,
        _ => false,
    };
    fits.then_some(events)
}

/// The columns of `row` that differ from `totals`.
fn differences(totals: &Totals, row: &GoldRow) -> Vec<&'static str> {
    let mut differs = Vec::new();
    if row.event_count < 0 || row.event_count as u64 != totals.event_count {
        differs.push("event_count");
    }
    if row.value_count < 0 || row.value_count as u64 != totals.value_count {
        differs.push("value_count");
    }
    let with_values = totals.value_count > 0;
    let sum_dec_ok = match row.value_sum_dec {
        Some(sum) => with_values && rescale(sum) == Some(totals.value_sum),
        None => !with_values,
    };
    if !sum_dec_ok {
        differs.push("value_sum_dec");
    }
    let float =
        |name: &'static str, actual: Option<f64>, expected: Option<f64>| match (actual, expected) {
            (None, None) => None,
            (Some(a), Some(e)) if close(a, e) => None,
            _ => Some(name),
        };
    let sum = with_values.then(|| to_f64(totals.value_sum));
    differs.extend(float("value_sum", row.value_sum, sum));
    differs.extend(float("value_avg", row.value_avg, totals.value_avg()));
    differs.extend(float(
        "value_min",
        row.value_min,
        totals.value_min.map(to_f64),
    ));
    differs.extend(float(
        "value_max",
        row.value_max,
        totals.value_max.map(to_f64),
    ));
    differs
}

/// Within [`RELATIVE_TOLERANCE`] (plus one unit at [`SCALE`], for sums that cancel to zero).
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= RELATIVE_TOLERANCE * expected.abs().max(actual.abs()) + 1e-9
}

/// `decimal` unscaled at [`SCALE`], when exact.
fn rescale(decimal: Decimal) -> Option<i128> {
    let shift = i32::from(SCALE) - i32::from(decimal.scale);
    if shift >= 0 {
        decimal
            .unscaled
            .checked_mul(10i128.checked_pow(shift as u32)?)
    } else {
        let divisor = 10i128.checked_pow(shift.unsigned_abs())?;
        (decimal.unscaled % divisor == 0).then(|| decimal.unscaled / divisor)
    }
}

pub(super) fn decimal_text(unscaled: i128) -> String {
    Decimal {
        unscaled,
        scale: SCALE,
    }
    .to_string()
}

/// The nearest double (through the exact text, so it is correctly rounded).
pub(super) fn to_f64(unscaled: i128) -> f64 {
    decimal_text(unscaled).parse().unwrap_or(f64::NAN)
}

fn describe_key(key: &WindowKey) -> String {
    format!(
        "window {} {}/{}",
        format_us(key.window_start_us),
        key.event_type,
        key.metric_name
    )
}

fn describe_totals(totals: &Totals) -> String {
    let avg = totals
        .value_avg()
        .map_or_else(|| "null".to_owned(), |a| a.to_string());
    let sum = if totals.value_count > 0 {
        decimal_text(totals.value_sum)
    } else {
        "null".to_owned()
    };
    format!(
        "events {}, values {}, sum {sum}, avg {avg}",
        totals.event_count, totals.value_count
    )
}

fn describe_row(row: &GoldRow) -> String {
    let text = |v: Option<f64>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
    format!(
        "events {}, values {}, sum {}, avg {}, end {}",
        row.event_count,
        row.value_count,
        row.value_sum_dec
            .map_or_else(|| "null".to_owned(), |d| d.to_string()),
        text(row.value_avg),
        format_us(row.window_end_us)
    )
}
