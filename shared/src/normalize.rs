//! Normalization of one log line into a [`Record`]: JSON, Lambda runtime lines, plain text.
//!
//! The original line always stays in `message`; what is parsed from it goes to the typed
//! columns (`level`, `request_id`, `trace_id`, `event_time`) and to `attributes`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::record::{Format, Level, Record};
use crate::timestamp;

/// Where a line came from: everything a record needs besides the line itself.
#[derive(Debug, Clone)]
pub struct LineContext<'a> {
    pub source: &'static str,
    pub account_id: Cow<'a, str>,
    pub region: Cow<'a, str>,
    pub log_group: Cow<'a, str>,
    pub log_stream: Cow<'a, str>,
    pub ingest_time_ms: i64,
    pub max_event_time_skew_secs: i64,
    /// Attributes of the envelope (subscription filters …), given to every record. They take
    /// precedence over fields of the same name parsed from a line.
    pub envelope: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// Keys that carry the severity, in the order they are looked up.
const LEVEL_KEYS: &[&str] = &["level", "levelname", "severity", "log.level", "loglevel", "lvl", "level_name", "status"];
/// Keys that carry the human message; its text is stored as the `msg` attribute.
const MESSAGE_KEYS: &[&str] = &["message", "msg", "@message", "log"];
const TIME_KEYS: &[&str] = &["timestamp", "time", "@timestamp", "ts", "datetime", "date", "asctime"];
const REQUEST_ID_KEYS: &[&str] =
    &["requestId", "request_id", "AWSRequestId", "aws_request_id", "awsRequestId", "RequestId", "requestID", "req_id"];
const TRACE_ID_KEYS: &[&str] =
    &["traceId", "trace_id", "xray_trace_id", "xrayTraceId", "TraceId", "traceID", "dd.trace_id", "_X_AMZN_TRACE_ID"];

/// Nested objects are flattened to dotted keys down to this depth; deeper values stay JSON text.
const MAX_FLATTEN_DEPTH: usize = 8;
/// At most this many attributes per record (a record with thousands of keys is kept whole in
/// `message`; the map would only bloat the file).
pub const MAX_ATTRIBUTES: usize = 256;

/// Normalizes one line. `cloudwatch_ms` is the timestamp the transport recorded, when any.
/// Never fails: a line that fits no known shape is `text`.
pub fn normalize_line<'a>(
    ctx: &LineContext<'a>,
    event_id: Cow<'a, str>,
    cloudwatch_ms: Option<i64>,
    message: Cow<'a, str>,
) -> Record<'a> {
    let mut parsed = Parsed::default();
    // Parsing looks at an owned copy only where it must; `message` itself is moved in untouched.
    let line = message.as_ref().trim_end_matches(['\n', '\r']);
    let format = parse_line(line, &mut parsed);

    let mut attributes: Vec<(Cow<'a, str>, Cow<'a, str>)> = ctx.envelope.clone();
    attributes.extend(parsed.attributes);
    let transport_ms = cloudwatch_ms.filter(|&ms| timestamp::plausible_cloudwatch_ms(ms, ctx.ingest_time_ms));
    let reference_ms = transport_ms.unwrap_or(ctx.ingest_time_ms);
    let event_time_ms = match parsed.time_ms {
        Some(ms) if timestamp::plausible_record_ms(ms, reference_ms, ctx.max_event_time_skew_secs) => ms,
        _ => reference_ms,
    };
    if transport_ms.is_none() {
        // Keep what the transport said, and say that arrival time stands in for it.
        attributes.push((Cow::Borrowed("event_time_source"), Cow::Borrowed("arrival")));
        if let Some(ms) = cloudwatch_ms {
            attributes.push((Cow::Borrowed("transport_timestamp"), Cow::Owned(ms.to_string())));
        }
    }

    Record {
        event_time_ms,
        ingest_time_ms: ctx.ingest_time_ms,
        event_id,
        source: ctx.source,
        account_id: ctx.account_id.clone(),
        region: ctx.region.clone(),
        log_group: ctx.log_group.clone(),
        log_stream: ctx.log_stream.clone(),
        format,
        level: parsed.level,
        request_id: parsed.request_id,
        trace_id: parsed.trace_id,
        attributes: dedup_attributes(attributes),
        message,
    }
}

/// What a parser found in a line. Values are owned: they outlive the line's borrow only
/// through the record, and most are short.
#[derive(Debug, Default)]
struct Parsed {
    level: Option<Level>,
    time_ms: Option<i64>,
    request_id: Option<Cow<'static, str>>,
    trace_id: Option<Cow<'static, str>>,
    attributes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Parsed {
    fn attr(&mut self, key: &'static str, value: &str) {
        self.attributes.push((Cow::Borrowed(key), Cow::Owned(value.to_owned())));
    }
}

fn parse_line(line: &str, out: &mut Parsed) -> Format {
    let first = line.as_bytes().first().copied();
    if first == Some(b'{') {
        if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line) {
            return if is_lambda_platform_record(&object) {
                parse_lambda_platform(object, out);
                Format::Lambda
            } else {
                parse_json_object(object, out);
                Format::Json
            };
        }
    }
    if parse_lambda_text(line, out) {
        return Format::Lambda;
    }
    out.level = sniff_level(line);
    Format::Text
}

// ---------------------------------------------------------------------------------------------
// JSON lines

fn take_first(object: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|k| object.remove(*k))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn json_time_ms(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => timestamp::parse_text_ms(s),
        Value::Number(n) => n.as_f64().and_then(timestamp::epoch_number_to_ms),
        _ => None,
    }
}

fn json_level(value: &Value) -> Option<Level> {
    match value {
        Value::String(s) => Level::parse(s),
        Value::Number(n) => n.as_f64().and_then(Level::from_number),
        _ => None,
    }
}

fn parse_json_object(mut object: Map<String, Value>, out: &mut Parsed) {
    // A key is consumed only when its value is understood; otherwise it stays an attribute.
    for key in LEVEL_KEYS {
        if let Some(level) = object.get(*key).and_then(json_level) {
            out.level = Some(level);
            object.remove(*key);
            break;
        }
    }
    for key in TIME_KEYS {
        if let Some(ms) = object.get(*key).and_then(json_time_ms) {
            out.time_ms = Some(ms);
            object.remove(*key);
            break;
        }
    }
    if let Some(text) = take_first(&mut object, MESSAGE_KEYS) {
        match text {
            Value::String(s) => out.attributes.push((Cow::Borrowed("msg"), Cow::Owned(s))),
            other => out.attributes.push((Cow::Borrowed("msg"), Cow::Owned(other.to_string()))),
        }
    }
    out.request_id = take_first(&mut object, REQUEST_ID_KEYS).as_ref().and_then(scalar_text).map(Cow::Owned);
    out.trace_id = take_first(&mut object, TRACE_ID_KEYS).as_ref().and_then(scalar_text).map(Cow::Owned);
    // Lambda's JSON application logs nest the X-Ray id as {"xray": {"traceId": …}}.
    flatten_into(String::new(), object, 0, &mut out.attributes);
    if out.trace_id.is_none() {
        if let Some(at) = out.attributes.iter().position(|(k, _)| k == "xray.traceId" || k == "tracing.value") {
            let (_, value) = out.attributes.remove(at);
            out.trace_id = Some(Cow::Owned(xray_root(&value).to_owned()));
        }
    }
}

fn flatten_into(
    prefix: String,
    object: Map<String, Value>,
    depth: usize,
    attributes: &mut Vec<(Cow<'static, str>, Cow<'static, str>)>,
) {
    for (key, value) in object {
        if attributes.len() >= MAX_ATTRIBUTES {
            return;
        }
        let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        match value {
            Value::Null => {}
            Value::String(s) => attributes.push((Cow::Owned(name), Cow::Owned(s))),
            Value::Object(inner) if depth < MAX_FLATTEN_DEPTH => flatten_into(name, inner, depth + 1, attributes),
            other => attributes.push((Cow::Owned(name), Cow::Owned(other.to_string()))),
        }
    }
}

/// `Root=1-abc-def;Parent=…;Sampled=1` → `1-abc-def`; anything else unchanged.
fn xray_root(value: &str) -> &str {
    value.split(';').find_map(|part| part.strip_prefix("Root=")).unwrap_or(value)
}

// ---------------------------------------------------------------------------------------------
// Lambda: JSON platform records and text runtime lines

fn is_lambda_platform_record(object: &Map<String, Value>) -> bool {
    matches!(object.get("type"), Some(Value::String(t)) if t.starts_with("platform.")) && object.contains_key("time")
}

/// Attribute names shared by REPORT lines and `platform.report` records.
fn lambda_metric_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "durationMs" | "Duration" => "duration_ms",
        "billedDurationMs" | "Billed Duration" => "billed_duration_ms",
        "memorySizeMB" | "Memory Size" => "memory_size_mb",
        "maxMemoryUsedMB" | "Max Memory Used" => "max_memory_used_mb",
        "initDurationMs" | "Init Duration" => "init_duration_ms",
        "restoreDurationMs" | "Restore Duration" => "restore_duration_ms",
        "billedRestoreDurationMs" | "Billed Restore Duration" => "billed_restore_duration_ms",
        _ => return None,
    })
}

/// `platform.initStart` → `init_start`: the same names as the text lines' `lambda_event`.
fn platform_event_name(kind: &str) -> String {
    let name = kind.strip_prefix("platform.").unwrap_or(kind);
    let mut out = String::with_capacity(name.len() + 2);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_lambda_platform(mut object: Map<String, Value>, out: &mut Parsed) {
    out.time_ms = object.get("time").and_then(json_time_ms);
    if let Some(Value::String(kind)) = object.remove("type") {
        out.attributes.push((Cow::Borrowed("lambda_event"), Cow::Owned(platform_event_name(&kind))));
    }
    let Some(Value::Object(mut record)) = object.remove("record") else {
        return;
    };
    out.request_id = record.remove("requestId").as_ref().and_then(scalar_text).map(Cow::Owned);
    if let Some(Value::Object(metrics)) = record.remove("metrics") {
        for (key, value) in metrics {
            let name = lambda_metric_name(&key).map(Cow::Borrowed).unwrap_or(Cow::Owned(key));
            if let Some(text) = scalar_text(&value) {
                out.attributes.push((name, Cow::Owned(text)));
            }
        }
    }
    if let Some(Value::Object(mut tracing)) = record.remove("tracing") {
        if let Some(Value::String(value)) = tracing.remove("value") {
            out.trace_id = Some(Cow::Owned(xray_root(&value).to_owned()));
        }
        flatten_into("tracing".to_owned(), tracing, 1, &mut out.attributes);
    }
    if matches!(record.get("status"), Some(Value::String(s)) if s != "success") {
        out.level = Some(Level::Error);
    }
    flatten_into(String::new(), record, 0, &mut out.attributes);
    if let Some(Value::String(level)) = object.get("level") {
        out.level = Level::parse(level).or(out.level);
    }
}

/// Runtime lines Lambda writes in its text log format, and the tab-separated application lines
/// of the Node.js and Python runtimes. Returns false when the line is none of them.
fn parse_lambda_text(line: &str, out: &mut Parsed) -> bool {
    if let Some(rest) = line.strip_prefix("START RequestId: ") {
        out.attr("lambda_event", "start");
        let (id, tail) = split_once_ws(rest);
        out.request_id = Some(Cow::Owned(id.to_owned()));
        if let Some(version) = tail.trim().strip_prefix("Version: ") {
            out.attr("version", version.trim());
        }
        return true;
    }
    if let Some(rest) = line.strip_prefix("END RequestId: ") {
        out.attr("lambda_event", "end");
        out.request_id = Some(Cow::Owned(split_once_ws(rest).0.to_owned()));
        return true;
    }
    if let Some(rest) = line.strip_prefix("REPORT RequestId: ") {
        out.attr("lambda_event", "report");
        let (id, tail) = split_once_ws(rest);
        out.request_id = Some(Cow::Owned(id.to_owned()));
        parse_report_fields(tail, out);
        return true;
    }
    for (prefix, event) in
        [("INIT_START ", "init_start"), ("INIT_REPORT ", "init_report"), ("RESTORE_REPORT ", "restore_report")]
    {
        if let Some(rest) = line.strip_prefix(prefix) {
            out.attr("lambda_event", event);
            parse_report_fields(rest, out);
            return true;
        }
    }
    parse_runtime_tab_line(line, out)
}

fn split_once_ws(text: &str) -> (&str, &str) {
    let end = text.find(['\t', ' ', '\n']).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// `Duration: 2.02 ms\tBilled Duration: 3 ms\t…\nXRAY TraceId: 1-…\tSegmentId: …\tSampled: true`
fn parse_report_fields(fields: &str, out: &mut Parsed) {
    for field in fields.split(['\t', '\n']) {
        let field = field.trim();
        let Some((key, value)) = field.split_once(": ") else {
            continue;
        };
        let key = key.strip_prefix("XRAY ").unwrap_or(key);
        let value = value.trim();
        if let Some(name) = lambda_metric_name(key) {
            let number = value.trim_end_matches(" ms").trim_end_matches(" MB").trim();
            out.attr(name, number);
            continue;
        }
        match key {
            "TraceId" => out.trace_id = Some(Cow::Owned(value.to_owned())),
            "Status" => {
                if value != "success" {
                    out.level = Some(Level::Error);
                }
                out.attr("status", value);
            }
            _ => {
                let name = snake_case(key);
                if !name.is_empty() {
                    out.attributes.push((Cow::Owned(name), Cow::Owned(value.to_owned())));
                }
            }
        }
    }
}

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
            previous_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Node.js: `2024-05-01T12:00:00.123Z\t<request id>\tINFO\tmessage`;
/// Python:  `[INFO]\t2024-05-01T12:00:00.123Z\t<request id>\tmessage`.
fn parse_runtime_tab_line(line: &str, out: &mut Parsed) -> bool {
    let mut parts = line.splitn(4, '\t');
    let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let text = parts.next().unwrap_or("");
    let (level, time, request_id) = if a.starts_with('[') && a.ends_with(']') {
        (Level::parse(&a[1..a.len() - 1]), timestamp::parse_text_ms(b), c)
    } else {
        (Level::parse(c), timestamp::parse_text_ms(a), b)
    };
    let (Some(level), Some(time)) = (level, time) else {
        return false;
    };
    out.level = Some(level);
    out.time_ms = Some(time);
    if !request_id.is_empty() && request_id != "undefined" {
        out.request_id = Some(Cow::Owned(request_id.to_owned()));
    }
    out.attr("msg", text);
    true
}

// ---------------------------------------------------------------------------------------------
// Plain text

/// Finds a severity word near the start of a line: `ERROR`, `[warn]`, `level=debug`, `W/`…
/// Only the first 200 bytes are looked at: severity is written early, and a long message that
/// merely mentions "error" later on is not an error line.
pub fn sniff_level(line: &str) -> Option<Level> {
    let head = &line.as_bytes()[..line.len().min(200)];
    if head.starts_with(b"Traceback (most recent call last)") {
        return Some(Level::Error);
    }
    let mut start = 0;
    while start < head.len() {
        if !head[start].is_ascii_alphabetic() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < head.len() && head[end].is_ascii_alphabetic() {
            end += 1;
        }
        let word = &head[start..end];
        let before = if start > 0 { head[start - 1] } else { b' ' };
        let after = head.get(end).copied().unwrap_or(b' ');
        // Upper-case words stand on their own; lower-case ones only inside [..] or after level=.
        let all_upper = word.iter().all(u8::is_ascii_uppercase);
        let marked =
            (before == b'[' && after == b']') || (before == b'=' && start >= 6 && head[..start].ends_with(b"level="));
        if (3..=8).contains(&word.len()) && (all_upper || marked) && after != b'_' && before != b'_' {
            // SAFETY of from_utf8: the word is ASCII letters only.
            let text = std::str::from_utf8(word).unwrap_or("");
            if let Some(level) = Level::parse(text) {
                let strong = !matches!(
                    text.to_ascii_uppercase().as_str(),
                    "LOG" | "NOTICE" | "ALERT" | "PANIC" | "DBG" | "INFORMATION" | "VERBOSE"
                );
                if strong || marked {
                    return Some(level);
                }
            }
        }
        start = end;
    }
    None
}

// ---------------------------------------------------------------------------------------------

fn dedup_attributes<'a>(attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
    let mut out: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(attributes.len().min(MAX_ATTRIBUTES));
    for (key, value) in attributes {
        if out.len() >= MAX_ATTRIBUTES {
            break;
        }
        // Attribute lists are short; a linear scan beats hashing here.
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, value));
        }
    }
    out
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
