//! Athena SQL → DataFusion SQL: the one place where the two dialects' differences are handled.
//! Query files (and `loglake query`) are written in Athena's dialect (Trino); the local engine
//! runs them after these renames. Only function names change, outside string literals, quoted
//! identifiers and comments; every shipped query is planned through this in the tests.
//!
//! | Athena (Trino)                  | DataFusion                          | why                                   |
//! |---------------------------------|-------------------------------------|---------------------------------------|
//! | `element_at(map, key)`          | `get_field(map, key)`               | DataFusion's `element_at` on a map returns a one-element list |
//! | `approx_percentile(x, p)`       | `approx_percentile_cont(x, p)`      | the name differs                      |
//!
//! Functions Athena has and DataFusion lacks are registered in the engine under Athena's names
//! ([`athena_functions`]): `parse_datetime(text, format)`, with a Joda-Time format, as the AWS
//! sample queries for ALB logs use it, `from_iso8601_timestamp(text)`, as those for NLB logs do,
//! and `date(text)` and `day_of_week(date)`, as those for VPC flow logs do.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Builder, Int64Builder, TimestampMillisecondBuilder};
use datafusion::arrow::datatypes::Date32Type;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::scalar::ScalarValue;

/// Function renames, by their Athena name (matched case-insensitively, followed by `(`).
const RENAMES: &[(&str, &str)] = &[("element_at", "get_field"), ("approx_percentile", "approx_percentile_cont")];

/// `sql` in DataFusion's dialect.
pub fn athena_to_datafusion(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 32);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        // Literals, quoted identifiers and comments are copied as they are.
        let skip_to = match c {
            b'\'' | b'"' => Some(closing_quote(bytes, i, c)),
            b'-' if bytes.get(i + 1) == Some(&b'-') => Some(sql[i..].find('\n').map_or(bytes.len(), |n| i + n)),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                Some(sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2))
            }
            _ => None,
        };
        if let Some(end) = skip_to {
            out.push_str(&sql[i..end]);
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            let word = &sql[i..end];
            let called = sql[end..].trim_start().starts_with('(');
            match RENAMES.iter().find(|(athena, _)| called && word.eq_ignore_ascii_case(athena)) {
                Some((_, datafusion)) => out.push_str(datafusion),
                None => out.push_str(word),
            }
            i = end;
            continue;
        }
        let width = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + width]);
        i += width;
    }
    out
}

/// The index just after the quote that closes the one at `start` (a doubled quote escapes).
fn closing_quote(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// The scalar functions of Athena's that DataFusion lacks, under their Athena names.
pub fn athena_functions() -> Vec<ScalarUDF> {
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    vec![
        create_udf(
            "parse_datetime",
            vec![DataType::Utf8, DataType::Utf8],
            utc.clone(),
            Volatility::Immutable,
            Arc::new(parse_datetime),
        ),
        create_udf(
            "from_iso8601_timestamp",
            vec![DataType::Utf8],
            utc,
            Volatility::Immutable,
            Arc::new(from_iso8601_timestamp),
        ),
        create_udf("date", vec![DataType::Utf8], DataType::Date32, Volatility::Immutable, Arc::new(date)),
        create_udf(
            "day_of_week",
            vec![DataType::Date32],
            DataType::Int64,
            Volatility::Immutable,
            Arc::new(day_of_week),
        ),
    ]
}

/// A function's `N` arguments as arrays; `usage` the error when it was given another number.
fn arguments<const N: usize>(args: &[ColumnarValue], usage: &str) -> datafusion::error::Result<[ArrayRef; N]> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    arrays.try_into().map_err(|_| DataFusionError::Execution(usage.to_owned()))
}

/// `array` as the function's result: a scalar when every argument is one.
fn result_of(args: &[ColumnarValue], array: ArrayRef) -> datafusion::error::Result<ColumnarValue> {
    match args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_))) {
        true => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?)),
        false => Ok(ColumnarValue::Array(array)),
    }
}

/// Athena's `date(text)`, `CAST(text AS date)`: a `YYYY-MM-DD` day. Null in, null out; other text
/// is an error, as on Athena.
fn date(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    let [texts] = arguments(args, "date takes a text")?;
    let texts = texts.as_string::<i32>();
    let mut out = Date32Builder::with_capacity(texts.len());
    for row in 0..texts.len() {
        if texts.is_null(row) {
            out.append_null();
            continue;
        }
        let text = texts.value(row);
        let day = loglake::lake::typed::days_since_epoch(text)
            .ok_or_else(|| DataFusionError::Execution(format!("date: {} is not a date", quoted_start(text))))?;
        out.append_value(day);
    }
    result_of(args, Arc::new(out.finish()))
}

/// Athena's `day_of_week(date)`: the ISO day of the week, 1 (Monday) to 7 (Sunday).
fn day_of_week(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    let [days] = arguments(args, "day_of_week takes a date")?;
    let days = days.as_primitive::<Date32Type>();
    let mut out = Int64Builder::with_capacity(days.len());
    for day in days.iter() {
        // Day 0, 1970-01-01, was a Thursday (4).
        out.append_option(day.map(|d| (i64::from(d) + 3).rem_euclid(7) + 1));
    }
    result_of(args, Arc::new(out.finish()))
}

/// A UTC timestamp for each row, from `read(row)` (`None`: null); a scalar when every argument
/// is one.
fn timestamps(
    args: &[ColumnarValue],
    rows: usize,
    mut read: impl FnMut(usize) -> datafusion::error::Result<Option<i64>>,
) -> datafusion::error::Result<ColumnarValue> {
    let mut out = TimestampMillisecondBuilder::with_capacity(rows);
    for row in 0..rows {
        out.append_option(read(row)?);
    }
    result_of(args, Arc::new(out.finish().with_timezone("UTC")))
}

/// The start of a value for an error message: it may be a whole log line.
fn quoted_start(text: &str) -> String {
    format!("{:?}", text.chars().take(64).collect::<String>())
}

/// Athena's `from_iso8601_timestamp(text)`: an ISO 8601 date and time with an offset
/// (`2026-11-20T08:00:00.5Z`, `…+02:00`), or without one (UTC, Athena's session zone), or a date
/// alone (its midnight). Null in, null out; other text is an error, as on Athena.
fn from_iso8601_timestamp(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    let [texts] = arguments(args, "from_iso8601_timestamp takes a text")?;
    let texts = texts.as_string::<i32>();
    timestamps(args, texts.len(), |row| {
        if texts.is_null(row) {
            return Ok(None);
        }
        let text = texts.value(row);
        iso8601_millis(text).map(Some).ok_or_else(|| {
            DataFusionError::Execution(format!(
                "from_iso8601_timestamp: {} is not an ISO 8601 time",
                quoted_start(text)
            ))
        })
    })
}

/// Milliseconds since the epoch of an ISO 8601 time (see [`from_iso8601_timestamp`]).
fn iso8601_millis(text: &str) -> Option<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc().timestamp_millis())
}

/// Athena's `parse_datetime(text, format)`: `text` read with a Joda-Time `format`, as a UTC
/// timestamp (a format with `Z` unquoted reads the offset in the text). Null in, null out; text
/// that does not match its format is an error, as on Athena.
fn parse_datetime(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    let [texts, formats] = arguments(args, "parse_datetime takes a text and a format")?;
    let (texts, formats) = (texts.as_string::<i32>(), formats.as_string::<i32>());
    // Formats are mostly one literal: translated once.
    let mut translated: Option<(String, String)> = None;
    timestamps(args, texts.len(), |row| {
        if texts.is_null(row) || formats.is_null(row) {
            return Ok(None);
        }
        let joda = formats.value(row);
        if translated.as_ref().is_none_or(|(from, _)| from != joda) {
            let chrono = joda_to_chrono(joda).map_err(DataFusionError::Execution)?;
            translated = Some((joda.to_owned(), chrono));
        }
        let chrono = translated.as_ref().map_or("", |(_, chrono)| chrono.as_str());
        let text = texts.value(row);
        parse_with(text, chrono).map(Some).ok_or_else(|| {
            DataFusionError::Execution(format!(
                "parse_datetime: {} does not match the format {joda:?}",
                quoted_start(text)
            ))
        })
    })
}

/// A Joda-Time pattern as a chrono one: the fields the AWS samples use (`yyyy MM dd HH hh mm ss`,
/// fractions `SSS`, `SSSSSS`, `SSSSSSSSS`, `a`, `Z`) and quoted literals (`''` is a quote).
fn joda_to_chrono(joda: &str) -> Result<String, String> {
    let chars: Vec<char> = joda.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        if c == '\'' {
            if run >= 2 {
                out.push('\'');
                i += 2;
                continue;
            }
            // A quoted literal up to the next lone quote.
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let field = match (c, run) {
            ('y', 4) => "%Y",
            ('y', 2) => "%y",
            ('M', 2) => "%m",
            ('d', 2) => "%d",
            ('H', 2) => "%H",
            ('h', 2) => "%I",
            ('m', 2) => "%M",
            ('s', 2) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', 1) => "%p",
            ('Z', 1) => "%z",
            _ if c.is_ascii_alphabetic() => {
                return Err(format!(
                    "parse_datetime: the format field {:?} is not supported",
                    c.to_string().repeat(run)
                ));
            }
            _ => {
                push_literal(&mut out, c);
                i += 1;
                continue;
            }
        };
        out.push_str(field);
        i += run;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Milliseconds since the epoch of `text` read with the chrono `format`: with an offset when the
/// format has one, else as UTC; a format without a time reads midnight.
fn parse_with(text: &str, format: &str) -> Option<i64> {
    if format.contains("%z") {
        return chrono::DateTime::parse_from_str(text, format).ok().map(|t| t.timestamp_millis());
    }
    match chrono::NaiveDateTime::parse_from_str(text, format) {
        Ok(time) => Some(time.and_utc().timestamp_millis()),
        Err(_) => chrono::NaiveDate::parse_from_str(text, format)
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|time| time.and_utc().timestamp_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_renamed_and_nothing_else() {
        let sql = "SELECT ELEMENT_AT(attributes, 'element_at(x)'), approx_percentile (d, 0.5), \"element_at\" -- element_at(\n, element_at_x(1), approx_percentile_cont(d, 0.5) /* approx_percentile( */ FROM t WHERE m = 'it''s element_at('";
        assert_eq!(
            athena_to_datafusion(sql),
            "SELECT get_field(attributes, 'element_at(x)'), approx_percentile_cont (d, 0.5), \"element_at\" -- element_at(\n, element_at_x(1), approx_percentile_cont(d, 0.5) /* approx_percentile( */ FROM t WHERE m = 'it''s element_at('"
        );
        assert_eq!(athena_to_datafusion("SELECT 'é', element_at(m, 'ü')"), "SELECT 'é', get_field(m, 'ü')");
        assert_eq!(athena_to_datafusion("SELECT 'unclosed element_at("), "SELECT 'unclosed element_at(");
    }

    #[test]
    fn joda_formats_read_as_athena_reads_them() {
        let alb = joda_to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").unwrap();
        assert_eq!(alb, "%Y-%m-%dT%H:%M:%S.%6fZ");
        assert_eq!(parse_with("2018-05-30T12:00:01.123456Z", &alb), Some(1_527_681_601_123));
        let plain = joda_to_chrono("yyyy-MM-dd-HH:mm:ss").unwrap();
        assert_eq!(parse_with("2018-05-30-12:00:00", &plain), Some(1_527_681_600_000));
        assert_eq!(parse_with("2018-05-30", &joda_to_chrono("yyyy-MM-dd").unwrap()), Some(1_527_638_400_000));
        assert_eq!(joda_to_chrono("HH 'o''clock' 100%").unwrap(), "%H o'clock 100%%");
        let offset = joda_to_chrono("yyyy-MM-dd HH:mm:ssZ").unwrap();
        assert_eq!(parse_with("2018-05-30 14:00:00+0200", &offset), Some(1_527_681_600_000));
        assert_eq!(parse_with("30/05/2018", &plain), None);
        assert!(joda_to_chrono("EEE, dd MMM yyyy").unwrap_err().contains("\"EEE\""));
    }

    #[test]
    fn days_of_the_week_are_isos() {
        let days =
            datafusion::arrow::array::Date32Array::from(vec![Some(0), Some(20_777), Some(20_779), Some(-1), None]);
        let ColumnarValue::Array(out) = day_of_week(&[ColumnarValue::Array(Arc::new(days))]).unwrap() else {
            panic!("an array in, an array out")
        };
        // 1970-01-01 a Thursday; 2026-11-20 a Friday, 2026-11-22 a Sunday; 1969-12-31 a Wednesday.
        let out: Vec<Option<i64>> = out.as_primitive::<datafusion::arrow::datatypes::Int64Type>().iter().collect();
        assert_eq!(out, [Some(4), Some(5), Some(7), Some(3), None]);
        let text = ColumnarValue::Scalar(ScalarValue::Utf8(Some("2026-11-20".into())));
        assert_eq!(date(&[text]).unwrap().to_array(1).unwrap().as_primitive::<Date32Type>().value(0), 20_777);
        let bad = ColumnarValue::Scalar(ScalarValue::Utf8(Some("2026-11-31".into())));
        assert!(date(&[bad]).unwrap_err().to_string().contains("\"2026-11-31\" is not a date"));
    }

    #[test]
    fn iso8601_times_read_as_athena_reads_them() {
        let cases = [
            ("2026-11-20T08:00:30Z", Some(1_795_161_630_000)),
            ("2026-11-20T08:00:30.250Z", Some(1_795_161_630_250)),
            ("2026-11-20T10:00:30+02:00", Some(1_795_161_630_000)),
            // No offset: UTC, the zone of Athena's sessions (NLB logs write their times so).
            ("2026-11-20T08:00:30", Some(1_795_161_630_000)),
            ("2026-11-20T08:00", Some(1_795_161_600_000)),
            ("2026-11-20", Some(1_795_132_800_000)),
            ("20/11/2026", None),
            ("2026-11-20T25:00:00", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(iso8601_millis(text), want, "{text}");
        }
    }
}
