//! Numbers as people read them, shared by every renderer so that Markdown, HTML and JUnit say
//! the same thing the same way.

use crate::compare::{Change, Comparison, Spread, Tolerances, Unit};
use crate::result::{Limit, Value};

/// Microseconds as milliseconds with two decimals: `13.40 ms`.
pub(crate) fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

/// Events per second without decimals: `400 events/s`.
pub(crate) fn eps(events_per_second: f64) -> String {
    format!("{events_per_second:.0} events/s")
}

/// Bytes per second in MB/s: `0.21 MB/s`.
pub(crate) fn megabytes_per_second(bytes_per_second: f64) -> String {
    format!("{:.2} MB/s", bytes_per_second / 1e6)
}

/// Seconds, one decimal below a minute and whole seconds above: `9.0 s`, `75 s`.
pub(crate) fn seconds(seconds: f64) -> String {
    if seconds.abs() < 60.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{seconds:.0} s")
    }
}

/// A whole number with thousands separators: `1,234,567`.
pub(crate) fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A typed value of a check in its unit: `1,234`, `5,000 records`, `13.4 ms`, `9.0 s`,
/// `1,200 events/s`, `95%`, `yes`.
pub(crate) fn value(value: &Value) -> String {
    match *value {
        Value::Count(count) => grouped(count),
        Value::Records(records) => format!("{} records", grouped(records)),
        // Latencies are below a second and read in milliseconds; recoveries in seconds.
        Value::Seconds(s) if s.abs() < 1.0 => format!("{:.1} ms", s * 1000.0),
        Value::Seconds(s) => seconds(s),
        Value::EventsPerSecond(eps) => rounded_rate(eps),
        Value::Fraction(fraction) => format!("{}%", trim_decimals(fraction * 100.0)),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
    }
}

fn rounded_rate(events_per_second: f64) -> String {
    // Rates are never negative; a NaN or a negative rate reads as 0.
    format!(
        "{} events/s",
        grouped(events_per_second.round().max(0.0) as u64)
    )
}

/// A typed expectation: `0` for none allowed (how scenarios write it), `≤ 5.0 ms`,
/// `≥ 90%`, `= 3`, `any`.
pub(crate) fn limit(limit: &Limit) -> String {
    match limit {
        Limit::AtMost(Value::Count(0)) => "0".to_owned(),
        Limit::AtMost(v) => format!("≤ {}", value(v)),
        Limit::AtLeast(v) => format!("≥ {}", value(v)),
        Limit::Equals(v) => format!("= {}", value(v)),
        Limit::Any => "any".to_owned(),
    }
}

/// A change in percent with its sign: `+12.5%`, `−3.0%`, `0.0%`.
pub(crate) fn percent_change(change: f64) -> String {
    if change.is_infinite() {
        return if change > 0.0 { "+∞" } else { "−∞" }.to_owned();
    }
    if change.abs() < 0.05 {
        "0.0%".to_owned()
    } else if change > 0.0 {
        format!("+{change:.1}%")
    } else {
        format!("−{:.1}%", -change)
    }
}

/// One value of a figure.
pub(crate) fn metric_value(unit: Unit, value: f64) -> String {
    match unit {
        Unit::EventsPerSecond => eps(value),
        Unit::BytesPerSecond => megabytes_per_second(value),
        Unit::Micros => format!("{:.2} ms", value / 1000.0),
        Unit::Seconds if value.is_infinite() => "never".to_owned(),
        Unit::Seconds => seconds(value),
        Unit::Records | Unit::Count | Unit::CheckFailed => trim_decimals(value),
    }
}

fn trim_decimals(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

/// The runs of one side: the median, and the range of the runs when they differ.
pub(crate) fn spread(unit: Unit, spread: &Spread) -> String {
    if unit == Unit::CheckFailed {
        let failing = (spread.mean * spread.runs as f64).round() as usize;
        return match failing {
            0 => "holds".to_owned(),
            f if f >= spread.runs => "fails".to_owned(),
            f => format!("fails in {f} of {}", spread.runs),
        };
    }
    let median = metric_value(unit, spread.median);
    let (min, max) = (bare_number(unit, spread.min), bare_number(unit, spread.max));
    if spread.runs < 2 || min == max {
        median
    } else {
        format!("{median} ({min}–{max})")
    }
}

/// A value without its unit, for a range printed next to a value with one.
fn bare_number(unit: Unit, value: f64) -> String {
    match unit {
        Unit::EventsPerSecond => format!("{value:.0}"),
        Unit::BytesPerSecond => format!("{:.2}", value / 1e6),
        Unit::Micros => format!("{:.2}", value / 1000.0),
        Unit::Seconds if value.is_infinite() => "never".to_owned(),
        Unit::Seconds if value.abs() < 60.0 => format!("{value:.1}"),
        Unit::Seconds => format!("{value:.0}"),
        Unit::Records | Unit::Count | Unit::CheckFailed => trim_decimals(value),
    }
}

/// A side that may have no value.
pub(crate) fn optional_spread(unit: Unit, spread_or_none: Option<&Spread>) -> String {
    spread_or_none.map_or_else(|| "–".to_owned(), |s| spread(unit, s))
}

/// The change of a median, or a dash when there is none to give.
pub(crate) fn optional_change(change: Option<f64>) -> String {
    change.map_or_else(|| "–".to_owned(), percent_change)
}

/// A verdict as a word.
pub(crate) fn change_word(change: Change) -> &'static str {
    match change {
        Change::Regressed => "regressed",
        Change::Improved => "improved",
        Change::WithinNoise => "within noise",
        Change::Unchanged => "unchanged",
        Change::NotCompared => "not compared",
    }
}

/// A verdict as a mark that survives plain-text rendering.
pub(crate) fn change_mark(change: Change) -> &'static str {
    match change {
        Change::Regressed => "🔴",
        Change::Improved => "🟢",
        Change::WithinNoise => "≈",
        Change::Unchanged => "=",
        Change::NotCompared => "–",
    }
}

/// The headline of a comparison.
pub(crate) fn verdict_headline(change: Change) -> &'static str {
    match change {
        Change::Regressed => "Regression",
        Change::Improved => "Improvement, no regression",
        Change::WithinNoise => "No regression (changes within noise)",
        Change::Unchanged | Change::NotCompared => "No regression",
    }
}

/// What the two sides ran, for a title.
pub(crate) fn compared_scenarios(comparison: &Comparison) -> String {
    let join = |names: &[String]| {
        if names.is_empty() {
            "no runs".to_owned()
        } else {
            names.join(", ")
        }
    };
    if comparison.baseline_scenarios == comparison.candidate_scenarios {
        join(&comparison.baseline_scenarios)
    } else {
        format!(
            "{} against {}",
            join(&comparison.candidate_scenarios),
            join(&comparison.baseline_scenarios)
        )
    }
}

/// The tolerances in one sentence.
pub(crate) fn tolerances(t: &Tolerances) -> String {
    format!(
        "Tolerances: throughput −{}%; latency +{}% (changes under {} ignored); max lag +{}% \
         (under {} records ignored); lag recovery +{}% (under {} ignored); anomalies: {}; \
         newly failing checks: {}.",
        trim_decimals(t.throughput_drop_percent),
        trim_decimals(t.latency_rise_percent),
        metric_value(Unit::Micros, t.latency_floor_us),
        trim_decimals(t.lag_rise_percent),
        trim_decimals(t.lag_floor_records),
        trim_decimals(t.recovery_rise_percent),
        seconds(t.recovery_floor_seconds),
        if t.anomaly_increase_allowed == 0 {
            "any new one regresses".to_owned()
        } else {
            format!("up to {} more allowed", t.anomaly_increase_allowed)
        },
        if t.failing_check_regresses {
            "regression"
        } else {
            "reported only"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(ms(13_402_111), "13402.11 ms");
        assert_eq!(eps(399.6), "400 events/s");
        assert_eq!(megabytes_per_second(207_555.8), "0.21 MB/s");
        assert_eq!(seconds(9.0), "9.0 s");
        assert_eq!(seconds(75.4), "75 s");
        assert_eq!(percent_change(12.54), "+12.5%");
        assert_eq!(percent_change(-3.0), "−3.0%");
        assert_eq!(percent_change(0.01), "0.0%");
        assert_eq!(percent_change(f64::INFINITY), "+∞");
    }

    #[test]
    fn typed_check_values_read_with_their_unit() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(value(&Value::Records(5000)), "5,000 records");
        assert_eq!(value(&Value::Seconds(0.0134)), "13.4 ms");
        assert_eq!(value(&Value::Seconds(9.04)), "9.0 s");
        assert_eq!(value(&Value::EventsPerSecond(1199.6)), "1,200 events/s");
        assert_eq!(value(&Value::Fraction(0.95)), "95%");
        assert_eq!(value(&Value::Fraction(0.987)), "98.7%");
        assert_eq!(limit(&Limit::AtMost(Value::Count(0))), "0");
        assert_eq!(limit(&Limit::AtMost(Value::Count(5))), "≤ 5");
        assert_eq!(limit(&Limit::AtLeast(Value::Fraction(0.9))), "≥ 90%");
        assert_eq!(limit(&Limit::Equals(Value::Count(3))), "= 3");
        assert_eq!(limit(&Limit::Any), "any");
    }
}
