//! Silver's derivation of one event body: its window group, value and event time, as the
//! pipeline's SQL computes them.

use super::*;

#[derive(Deserialize)]
struct Body {
    event_type: Option<Value>,
    event_timestamp: Option<Value>,
    payload: Option<Map<String, Value>>,
}

/// Applies silver's derivation (`silver.sql`) to the body of a valid event: its type, metric
/// name, exact value (`DECIMAL(38, 9)`, half-up beyond 9 digits) and event time
/// (milliseconds, extra digits truncated). Not a validator: it only refuses bodies it cannot
/// derive these from. Numbers are read as the JSON text serde_json writes for them, which is
/// the generator's own text.
pub fn gold_input_from_body(send: SendId, body: &[u8], late: bool) -> Result<GoldInput, String> {
    let body: Body =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON event object: {e}"))?;
    let event_type: EventType = body
        .event_type
        .and_then(|t| serde_json::from_value(t).ok())
        .ok_or("event_type: not a known type")?;
    let stamp = match &body.event_timestamp {
        Some(Value::String(stamp)) => stamp.as_str(),
        _ => return Err("event_timestamp: not a string".to_owned()),
    };
    let event_time_us = parse_event_time_us(stamp)
        .ok_or_else(|| format!("event_timestamp: `{stamp}` is not an ISO 8601 UTC timestamp"))?;
    let payload = body.payload.ok_or("payload: not an object")?;
    let scalar = |field: &str| match payload.get(field) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let number = |field: &str| match payload.get(field) {
        Some(Value::Number(number)) => parse_decimal(&number.to_string())
            .ok_or_else(|| format!("payload.{field}: `{number}` overflows DECIMAL(38, 9)")),
        _ => Err(format!("payload.{field}: not a number")),
    };
    let (metric_name, value) = match event_type {
        EventType::MetricEvent => (
            scalar("metric_name").ok_or("payload.metric_name: missing")?,
            Some(number("metric_value")?),
        ),
        EventType::Transaction => (
            format!(
                "amount.{}",
                scalar("currency").ok_or("payload.currency: missing")?
            ),
            Some(number("amount")?),
        ),
        _ => ("events".to_owned(), None),
    };
    Ok(GoldInput {
        send,
        event_type,
        metric_name,
        value,
        event_time_us,
        late,
    })
}

/// A decimal text (optional sign, digits, fraction, exponent) unscaled at [`SCALE`], rounded
/// half-up as `CAST(… AS DECIMAL(38, 9))`; `None` when it is not a number or exceeds 38
/// digits.
pub fn parse_decimal(text: &str) -> Option<i128> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let shift = exponent.checked_sub(frac.len() as i32)?.checked_add(9)?;
    let value = if shift >= 0 {
        if digits.len() + shift as usize > 38 {
            return (digits.is_empty()).then_some(0);
        }
        digits.parse::<i128>().unwrap_or(0) * 10i128.pow(shift as u32)
    } else {
        let cut = shift.unsigned_abs() as usize;
        if cut > digits.len() {
            // below a tenth of the last kept place: rounds to zero
            0
        } else {
            let (kept, dropped) = digits.split_at(digits.len() - cut);
            if kept.len() > 38 {
                return None;
            }
            let kept = if kept.is_empty() {
                0
            } else {
                kept.parse::<i128>().ok()?
            };
            kept + i128::from(dropped.as_bytes().first() >= Some(&b'5'))
        }
    };
    if value >= 10i128.pow(38) {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// An event timestamp as silver accepts it (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]` with `Z`,
/// `+00:00` or `-00:00`, a real date) → µs since the epoch at millisecond precision.
pub fn parse_event_time_us(stamp: &str) -> Option<i64> {
    if !stamp.is_ascii() {
        return None;
    }
    let (body, zone_ok) = if let Some(body) = stamp.strip_suffix('Z') {
        (body, true)
    } else if stamp.len() > 6 {
        let (body, zone) = stamp.split_at(stamp.len() - 6);
        (body, zone == "+00:00" || zone == "-00:00")
    } else {
        (stamp, false)
    };
    let bytes = body.as_bytes();
    if !zone_ok || bytes.len() < 19 {
        return None;
    }
    let shape = bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':';
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let text = &body[range];
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let millis = match &body[19..] {
        "" => 0,
        fraction => {
            let digits = fraction.strip_prefix('.')?;
            if !(1..=9).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("{:0<3}", &digits[..digits.len().min(3)])
                .parse::<u32>()
                .ok()?
        }
    };
    if !shape {
        return None;
    }
    let at = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month as u32, day as u32)?
        .and_hms_milli_opt(hour as u32, minute as u32, second as u32, millis)?;
    // chrono takes a leap second (second 60); silver does not.
    (second < 60).then(|| at.and_utc().timestamp_micros())
}

/// µs since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_us(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| format!("{us} µs since the epoch"))
}
