//! Times found inside log records, and the plausibility rule that decides whether to trust them.

use chrono::{DateTime, NaiveDateTime};

/// 2000-01-01T00:00:00Z: nothing loglake ingests is older than this.
pub const MIN_PLAUSIBLE_MS: i64 = 946_684_800_000;
/// How far past the arrival time a CloudWatch timestamp may lie (clock skew of the sender).
pub const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;

/// Epoch number of unknown unit → milliseconds, guessing the unit from its magnitude
/// (seconds until the year 5138, then ms, µs, ns).
pub fn epoch_number_to_ms(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n < 1e11 {
        n * 1e3
    } else if n < 1e14 {
        n
    } else if n < 1e17 {
        n / 1e3
    } else {
        n / 1e6
    };
    (ms < 9.2e18).then_some(ms as i64)
}

/// Text timestamp → milliseconds since the epoch. Accepts RFC 3339 (`2024-05-01T12:00:00.123Z`,
/// `+09:00` offsets), the same with a space instead of `T`, naive `YYYY-MM-DD HH:MM:SS[.,fff]`
/// (read as UTC), and epoch numbers written as strings.
pub fn parse_text_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 10 {
        return None;
    }
    if bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return text.parse::<f64>().ok().and_then(epoch_number_to_ms);
    }
    // Cheap shape test before handing over to chrono: YYYY-MM-DD.
    if !(bytes[0..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' && bytes[7] == b'-') {
        return None;
    }
    if let Some(ms) = parse_utc_millis_fast(bytes) {
        return Some(ms);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    if bytes.len() > 10 && bytes[10] == b' ' {
        let with_t = format!("{}T{}", &text[..10], &text[11..]);
        if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
            return Some(t.timestamp_millis());
        }
    }
    // Python logging writes a comma before the milliseconds.
    let normalized = text.replacen(',', ".", 1);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&normalized, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    None
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (what JavaScript, Lambda and most AWS services write) without
/// going through a general parser. `None` for anything else, which then takes the slow path.
fn parse_utc_millis_fast(b: &[u8]) -> Option<i64> {
    if b.len() != 24 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli)
}

/// Whether a CloudWatch timestamp can be believed: after 2000 and not far past arrival.
pub fn plausible_cloudwatch_ms(ms: i64, ingest_ms: i64) -> bool {
    ms >= MIN_PLAUSIBLE_MS && ms <= ingest_ms.saturating_add(MAX_FUTURE_MS)
}

/// Whether a time found inside a record can be believed: within `skew_secs` of the reference.
pub fn plausible_record_ms(ms: i64, reference_ms: i64, skew_secs: i64) -> bool {
    ms >= MIN_PLAUSIBLE_MS && ms.saturating_sub(reference_ms).saturating_abs() <= skew_secs.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_spellings() {
        let expect = 1_714_564_800_123; // 2024-05-01T12:00:00.123Z
        for text in [
            "2024-05-01T12:00:00.123Z",
            "2024-05-01T21:00:00.123+09:00",
            "2024-05-01 12:00:00.123Z",
            "2024-05-01 12:00:00,123",
            "2024-05-01T12:00:00.123",
            "1714564800.123",
            "1714564800123",
        ] {
            assert_eq!(parse_text_ms(text), Some(expect), "{text}");
        }
        assert_eq!(parse_text_ms("2024-05-01 12:00:00"), Some(1_714_564_800_000));
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2024-02-29T23:59:59.999Z",
            "1970-01-01T00:00:00.000Z",
            "2026-11-20T10:00:16.300Z",
            "2100-03-01T00:00:00.001Z",
            "1999-12-31T12:34:56.789Z",
        ] {
            let chrono = chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis();
            assert_eq!(parse_utc_millis_fast(text.as_bytes()), Some(chrono), "{text}");
        }
        for bad in [
            "2023-02-29T00:00:00.000Z",
            "2024-04-31T00:00:00.000Z",
            "2024-01-01T24:00:00.000Z",
            "2024-01-01T00:00:00.0a0Z",
        ] {
            assert_eq!(parse_utc_millis_fast(bad.as_bytes()), None, "{bad}");
            assert_eq!(parse_text_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for text in ["", "yesterday", "2024-13-45T99:00:00Z", "12345", "abcd-ef-ghT"] {
            assert_eq!(parse_text_ms(text), None, "{text}");
        }
    }

    #[test]
    fn epoch_units_are_guessed_by_magnitude() {
        let ms = 1_714_564_800_000.0;
        assert_eq!(epoch_number_to_ms(ms / 1e3), Some(1_714_564_800_000));
        assert_eq!(epoch_number_to_ms(ms), Some(1_714_564_800_000));
        assert_eq!(epoch_number_to_ms(ms * 1e3), Some(1_714_564_800_000));
        assert_eq!(epoch_number_to_ms(ms * 1e6), Some(1_714_564_800_000));
        assert_eq!(epoch_number_to_ms(-1.0), None);
        assert_eq!(epoch_number_to_ms(f64::INFINITY), None);
        assert_eq!(epoch_number_to_ms(1e300), None);
    }

    #[test]
    fn plausibility_rules() {
        let now = 1_714_564_800_000;
        assert!(plausible_cloudwatch_ms(now - 30 * 86_400_000, now));
        assert!(!plausible_cloudwatch_ms(0, now));
        assert!(!plausible_cloudwatch_ms(now + 2 * MAX_FUTURE_MS, now));
        assert!(plausible_record_ms(now - 59_000, now, 60));
        assert!(!plausible_record_ms(now - 61_000, now, 60));
        assert!(!plausible_record_ms(i64::MIN, now, i64::MAX));
    }
}
