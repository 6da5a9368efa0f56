//! Normalization of one log line into a [`Record`]: JSON, Lambda runtime lines, plain text.
//!
//! The original line always stays in `message`; what is parsed from it goes to the typed
//! columns (`level`, `request_id`, `trace_id`, `event_time`) and to `attributes`.

use std::borrow::Cow;

use crate::config::LogFormat;
use crate::formats;
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
    /// How this log group's lines are read (`LOGLAKE_LOG_FORMATS`; detected by default).
    pub log_format: &'a LogFormat,
}

/// Nested objects are flattened to dotted keys down to this depth; deeper values stay JSON text.
const MAX_FLATTEN_DEPTH: usize = 8;
/// At most this many attributes per record (a record with thousands of keys is kept whole in
/// `message`; the map would only bloat the file).
pub const MAX_ATTRIBUTES: usize = 256;

/// Normalizes one line. `cloudwatch_ms` is the timestamp the transport recorded, when any.
/// Never fails: a line that fits no known shape is `text`. Everything parsed borrows from
/// `message` unless it had to be unescaped.
pub fn normalize_line<'a>(
    ctx: &LineContext<'a>,
    event_id: Cow<'a, str>,
    cloudwatch_ms: Option<i64>,
    message: &'a str,
) -> Record<'a> {
    normalize_line_as(ctx, ctx.log_format, event_id, cloudwatch_ms, message)
}

/// [`normalize_line`] reading the line as `log_format` (which the record never borrows from):
/// a payload's flow log header names the format of the lines after it.
pub(crate) fn normalize_line_as<'a>(
    ctx: &LineContext<'a>,
    log_format: &LogFormat,
    event_id: Cow<'a, str>,
    cloudwatch_ms: Option<i64>,
    message: &'a str,
) -> Record<'a> {
    let mut parsed = Parsed::default();
    let line = message.trim_end_matches(['\n', '\r']);
    let transport_ms = cloudwatch_ms.filter(|&ms| timestamp::plausible_cloudwatch_ms(ms, ctx.ingest_time_ms));
    let reference_ms = transport_ms.unwrap_or(ctx.ingest_time_ms);
    let format = parse_line(line, log_format, reference_ms, &mut parsed);

    let mut attributes = Vec::with_capacity(ctx.envelope.len() + parsed.attributes.len() + 2);
    attributes.extend(ctx.envelope.iter().cloned());
    attributes.append(&mut parsed.attributes);
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
    dedup_attributes(&mut attributes);

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
        attributes,
        message: Cow::Borrowed(message),
    }
}

/// What a parser found in a line, borrowed from it where possible.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'a> {
    pub(crate) level: Option<Level>,
    pub(crate) time_ms: Option<i64>,
    pub(crate) request_id: Option<Cow<'a, str>>,
    pub(crate) trace_id: Option<Cow<'a, str>>,
    pub(crate) attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Parsed<'a> {
    pub(crate) fn attr(&mut self, key: &'static str, value: impl Into<Cow<'a, str>>) {
        self.attributes.push((Cow::Borrowed(key), value.into()));
    }
}

/// Detection, cheapest test first: a JSON object (Lambda platform record, CloudTrail record or
/// any JSON), then the shapes of AWS service logs by their first bytes, then Lambda runtime text.
/// A log group configured with a format is read as that format, and as text where a line is not.
fn parse_line<'a>(line: &'a str, configured: &LogFormat, reference_ms: i64, out: &mut Parsed<'a>) -> Format {
    let parsed = match configured {
        LogFormat::Auto => detect(line, reference_ms, out),
        LogFormat::Only(format) => parse_as(line, *format, reference_ms, out).then_some(*format),
        LogFormat::VpcFlow(fields) => formats::vpc_flow::parse(line, Some(fields), out).then_some(Format::VpcFlow),
    };
    parsed.unwrap_or_else(|| {
        out.level = sniff_level(line);
        Format::Text
    })
}

fn detect<'a>(line: &'a str, reference_ms: i64, out: &mut Parsed<'a>) -> Option<Format> {
    // JSON may be pretty-printed, starting with a newline or spaces.
    let object = line.trim_start();
    if object.starts_with('{')
        && let Some(entries) = json::parse_object(object)
    {
        // An agent's envelope around one service log line: `{"message": "<flow record>"}`.
        if let [(key, value)] = entries.as_slice()
            && matches!(key.as_ref(), "message" | "log" | "msg")
            && let Some(Cow::Borrowed(inner)) = json::string(value)
            && let Some(format) = detect_text(inner, reference_ms, out)
        {
            return Some(format);
        }
        return Some(if json::is_lambda_platform_record(&entries) {
            parse_lambda_platform(entries, out);
            Format::Lambda
        } else if formats::cloudtrail::is_record(&entries) {
            formats::cloudtrail::parse(entries, out);
            Format::CloudTrail
        } else if formats::apigateway::is_record(&entries) {
            formats::apigateway::parse(entries, out);
            Format::ApiGateway
        } else {
            parse_json_object(entries, out);
            Format::Json
        });
    }
    detect_text(line, reference_ms, out)
}

/// The text formats: AWS service logs by their first bytes, then Lambda runtime lines.
fn detect_text<'a>(line: &'a str, reference_ms: i64, out: &mut Parsed<'a>) -> Option<Format> {
    if formats::vpc_flow::might_be(line) && formats::vpc_flow::parse(line, None, out) {
        return Some(Format::VpcFlow);
    }
    if let Some(kind) = formats::elb::kind(line)
        && formats::elb::parse(line, kind, out)
    {
        return Some(kind);
    }
    if formats::cloudfront::might_be(line) && formats::cloudfront::parse(line, out) {
        return Some(Format::CloudFront);
    }
    if formats::syslog::might_be(line) && formats::syslog::parse(line, reference_ms, out) {
        return Some(Format::Syslog);
    }
    if formats::access_log::might_be(line) && formats::access_log::parse(line, out) {
        return Some(Format::AccessLog);
    }
    if parse_lambda_text(line, out) {
        return Some(Format::Lambda);
    }
    (formats::logfmt::might_be(line) && formats::logfmt::parse(line, out)).then_some(Format::Logfmt)
}

/// Reads `line` as `format` only; false (nothing set) when it is not one.
fn parse_as<'a>(line: &'a str, format: Format, reference_ms: i64, out: &mut Parsed<'a>) -> bool {
    let object = line.trim_start();
    let entries = || object.starts_with('{').then(|| json::parse_object(object)).flatten();
    match format {
        Format::Json => entries().map(|entries| parse_json_object(entries, out)).is_some(),
        Format::CloudTrail => match entries() {
            Some(entries) if formats::cloudtrail::is_record(&entries) => {
                formats::cloudtrail::parse(entries, out);
                true
            }
            _ => false,
        },
        Format::Lambda => match entries() {
            Some(entries) if json::is_lambda_platform_record(&entries) => {
                parse_lambda_platform(entries, out);
                true
            }
            _ => parse_lambda_text(line, out),
        },
        Format::ApiGateway => match entries() {
            Some(entries) if formats::apigateway::is_record(&entries) => {
                formats::apigateway::parse(entries, out);
                true
            }
            _ => formats::access_log::parse(line, out),
        },
        Format::VpcFlow => formats::vpc_flow::parse(line, None, out),
        Format::CloudFront => formats::cloudfront::parse(line, out),
        Format::Syslog => formats::syslog::parse(line, reference_ms, out),
        Format::AccessLog => formats::access_log::parse(line, out),
        Format::Logfmt => formats::logfmt::parse(line, out),
        Format::Alb | Format::Nlb | Format::ElbClassic | Format::AlbConnection => {
            formats::elb::kind(line) == Some(format) && formats::elb::parse(line, format, out)
        }
        Format::Text => false,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON lines

/// Borrowed JSON: an object's entries with their values as raw JSON text, parsed only as far
/// as a field needs. Strings are unescaped (and so copied) only when they hold escapes.
pub(crate) mod json {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;

    pub type Entries<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

    /// The entries of `text` when it is exactly one JSON object, in document order.
    pub fn parse_object(text: &str) -> Option<Entries<'_>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let entries = de.deserialize_map(EntriesVisitor).ok()?;
        de.end().ok()?;
        Some(entries)
    }

    struct EntriesVisitor;

    impl<'de> Visitor<'de> for EntriesVisitor {
        type Value = Entries<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
            while let Some(Key(key)) = map.next_key()? {
                entries.push((key, map.next_value::<&'de RawValue>()?));
            }
            Ok(entries)
        }
    }

    /// A key, borrowed when it has no escapes (`Cow<str>` itself always deserializes owned).
    struct Key<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            deserializer.deserialize_str(KeyVisitor)
        }
    }

    /// A JSON string's value, unescaped; `None` for anything but a string.
    pub fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
        let text = raw.get();
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            serde_json::from_str::<String>(text).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    /// The text an attribute stores: strings unescaped, numbers / booleans / arrays / objects as
    /// written; `None` for null.
    pub fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
        match raw.get().as_bytes().first() {
            Some(b'"') => string(raw),
            Some(b'n') | None => None,
            _ => Some(Cow::Borrowed(raw.get())),
        }
    }

    /// [`text`] for strings, numbers and booleans only: an id is never an object or a list.
    pub fn scalar_text(raw: &RawValue) -> Option<Cow<'_, str>> {
        match raw.get().as_bytes().first() {
            Some(b'{' | b'[') => None,
            _ => text(raw),
        }
    }

    pub fn number(raw: &RawValue) -> Option<f64> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => text.parse().ok(),
            _ => None,
        }
    }

    pub fn is_object(raw: &RawValue) -> bool {
        raw.get().starts_with('{')
    }

    pub fn find<'e, 'a>(entries: &'e Entries<'a>, key: &str) -> Option<&'e &'a RawValue> {
        entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn is_lambda_platform_record(entries: &Entries<'_>) -> bool {
        find(entries, "type").and_then(|t| string(t)).is_some_and(|t| t.starts_with("platform."))
            && find(entries, "time").is_some()
    }
}

/// The role a top-level key of a JSON line plays, with its precedence (lower wins). The message
/// text, whatever its key, is stored as the `msg` attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Level,
    Time,
    Message,
    RequestId,
    TraceId,
}

fn role(key: &str) -> Option<(Role, u8)> {
    Some(match key {
        "level" => (Role::Level, 0),
        "levelname" => (Role::Level, 1),
        "severity" => (Role::Level, 2),
        "log.level" => (Role::Level, 3),
        "loglevel" => (Role::Level, 4),
        "lvl" => (Role::Level, 5),
        "level_name" => (Role::Level, 6),
        "status" => (Role::Level, 7),
        "timestamp" => (Role::Time, 0),
        "time" => (Role::Time, 1),
        "@timestamp" => (Role::Time, 2),
        "ts" => (Role::Time, 3),
        "datetime" => (Role::Time, 4),
        "date" => (Role::Time, 5),
        "asctime" => (Role::Time, 6),
        "message" => (Role::Message, 0),
        "msg" => (Role::Message, 1),
        "@message" => (Role::Message, 2),
        "log" => (Role::Message, 3),
        "requestId" => (Role::RequestId, 0),
        "request_id" => (Role::RequestId, 1),
        "AWSRequestId" => (Role::RequestId, 2),
        "aws_request_id" => (Role::RequestId, 3),
        "awsRequestId" => (Role::RequestId, 4),
        "RequestId" => (Role::RequestId, 5),
        "requestID" => (Role::RequestId, 6),
        "req_id" => (Role::RequestId, 7),
        "traceId" => (Role::TraceId, 0),
        "trace_id" => (Role::TraceId, 1),
        "xray_trace_id" => (Role::TraceId, 2),
        "xrayTraceId" => (Role::TraceId, 3),
        "TraceId" => (Role::TraceId, 4),
        "traceID" => (Role::TraceId, 5),
        "dd.trace_id" => (Role::TraceId, 6),
        "_X_AMZN_TRACE_ID" => (Role::TraceId, 7),
        _ => return None,
    })
}

fn json_level(raw: &serde_json::value::RawValue) -> Option<Level> {
    match json::string(raw) {
        Some(name) => Level::parse(&name),
        None => json::number(raw).and_then(Level::from_number),
    }
}

pub(crate) fn json_time_ms(raw: &serde_json::value::RawValue) -> Option<i64> {
    match json::string(raw) {
        Some(text) => timestamp::parse_text_ms(&text),
        None => json::number(raw).and_then(timestamp::epoch_number_to_ms),
    }
}

/// The usual keys go to the typed columns — a key is consumed only when its value is
/// understood, otherwise it stays an attribute — and every other field is flattened.
fn parse_json_object<'a>(entries: json::Entries<'a>, out: &mut Parsed<'a>) {
    // In declaration order, so that `best[role as usize]` is that role's slot.
    const ROLES: [Role; 5] = [Role::Level, Role::Time, Role::Message, Role::RequestId, Role::TraceId];
    // For each role: (precedence, entry index) of the best usable candidate.
    let mut best: [Option<(u8, usize)>; 5] = [None; 5];
    for (index, (key, raw)) in entries.iter().enumerate() {
        let Some((role, rank)) = role(key) else { continue };
        let usable = match role {
            Role::Level => json_level(raw).is_some(),
            Role::Time => json_time_ms(raw).is_some(),
            Role::Message => true,
            Role::RequestId | Role::TraceId => json::scalar_text(raw).is_some(),
        };
        let slot = &mut best[role as usize];
        if usable && slot.is_none_or(|(r, _)| rank < r) {
            *slot = Some((rank, index));
        }
    }
    let consumed = |index: usize| best.iter().any(|b| matches!(b, Some((_, i)) if *i == index));
    for (slot, role) in best.iter().zip(ROLES) {
        let Some((_, index)) = *slot else { continue };
        let raw = entries[index].1;
        match role {
            Role::Level => out.level = json_level(raw),
            Role::Time => out.time_ms = json_time_ms(raw),
            Role::Message => {
                if let Some(text) = json::text(raw) {
                    out.attr("msg", text);
                }
            }
            Role::RequestId => out.request_id = json::scalar_text(raw),
            Role::TraceId => out.trace_id = json::scalar_text(raw),
        }
    }
    for (index, (key, raw)) in entries.into_iter().enumerate() {
        if !consumed(index) {
            flatten_into(key, raw, 0, &mut out.attributes);
        }
    }
    // Lambda's JSON application logs nest the X-Ray id as {"xray": {"traceId": …}}.
    if out.trace_id.is_none()
        && let Some(at) = out.attributes.iter().position(|(k, _)| k == "xray.traceId")
    {
        let (_, value) = out.attributes.remove(at);
        out.trace_id = Some(xray_root(value));
    }
}

/// Adds `name = value` to the attributes, objects flattened into dotted names.
pub(crate) fn flatten_into<'a>(
    name: Cow<'a, str>,
    raw: &'a serde_json::value::RawValue,
    depth: usize,
    attributes: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) {
    if attributes.len() >= MAX_ATTRIBUTES {
        return;
    }
    if depth < MAX_FLATTEN_DEPTH
        && json::is_object(raw)
        && let Some(inner) = json::parse_object(raw.get())
    {
        for (key, value) in inner {
            flatten_into(Cow::Owned(format!("{name}.{key}")), value, depth + 1, attributes);
        }
        return;
    }
    if let Some(text) = json::text(raw) {
        attributes.push((name, text));
    }
}

/// `Root=1-abc-def;Parent=…;Sampled=1` → `1-abc-def`; anything else unchanged.
fn xray_root(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(text) => Cow::Borrowed(text.split(';').find_map(|p| p.strip_prefix("Root=")).unwrap_or(text)),
        Cow::Owned(text) => match text.split(';').find_map(|p| p.strip_prefix("Root=")) {
            Some(root) => Cow::Owned(root.to_owned()),
            None => Cow::Owned(text),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Lambda: JSON platform records and text runtime lines

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

fn parse_lambda_platform<'a>(entries: json::Entries<'a>, out: &mut Parsed<'a>) {
    for (key, raw) in entries {
        match key.as_ref() {
            "time" => out.time_ms = json_time_ms(raw),
            "type" => {
                if let Some(kind) = json::string(raw) {
                    out.attr("lambda_event", platform_event_name(&kind));
                }
            }
            "record" => parse_platform_record(raw, out),
            "level" => out.level = json_level(raw).or(out.level),
            _ => flatten_into(key, raw, 0, &mut out.attributes),
        }
    }
}

fn parse_platform_record<'a>(raw: &'a serde_json::value::RawValue, out: &mut Parsed<'a>) {
    let Some(record) = json::parse_object(raw.get()) else {
        flatten_into(Cow::Borrowed("record"), raw, 0, &mut out.attributes);
        return;
    };
    for (key, value) in record {
        match key.as_ref() {
            "requestId" => out.request_id = json::text(value),
            "metrics" => match json::parse_object(value.get()) {
                Some(metrics) => {
                    for (name, metric) in metrics {
                        let name = lambda_metric_name(&name).map(Cow::Borrowed).unwrap_or(name);
                        if let Some(text) = json::text(metric) {
                            out.attributes.push((name, text));
                        }
                    }
                }
                None => flatten_into(key, value, 1, &mut out.attributes),
            },
            "tracing" => match json::parse_object(value.get()) {
                Some(tracing) => {
                    for (name, field) in tracing {
                        if name == "value" {
                            out.trace_id = json::text(field).map(xray_root);
                        } else {
                            flatten_into(Cow::Owned(format!("tracing.{name}")), field, 1, &mut out.attributes);
                        }
                    }
                }
                None => flatten_into(key, value, 1, &mut out.attributes),
            },
            "status" => {
                if json::string(value).is_some_and(|s| s != "success") {
                    out.level = Some(Level::Error);
                }
                flatten_into(key, value, 1, &mut out.attributes);
            }
            _ => flatten_into(key, value, 1, &mut out.attributes),
        }
    }
}

/// Runtime lines Lambda writes in its text log format, and the tab-separated application lines
/// of the Node.js and Python runtimes. Returns false when the line is none of them.
fn parse_lambda_text<'a>(line: &'a str, out: &mut Parsed<'a>) -> bool {
    if let Some(rest) = line.strip_prefix("START RequestId: ") {
        out.attr("lambda_event", "start");
        let (id, tail) = split_once_ws(rest);
        out.request_id = Some(Cow::Borrowed(id));
        if let Some(version) = tail.trim().strip_prefix("Version: ") {
            out.attr("version", version.trim());
        }
        return true;
    }
    if let Some(rest) = line.strip_prefix("END RequestId: ") {
        out.attr("lambda_event", "end");
        out.request_id = Some(Cow::Borrowed(split_once_ws(rest).0));
        return true;
    }
    if let Some(rest) = line.strip_prefix("REPORT RequestId: ") {
        out.attr("lambda_event", "report");
        let (id, tail) = split_once_ws(rest);
        out.request_id = Some(Cow::Borrowed(id));
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

/// Splits off the first word. A backslash ends it too: request ids never hold one, and some
/// forwarders deliver runtime lines with their tabs escaped as the two characters `\t`.
fn split_once_ws(text: &str) -> (&str, &str) {
    let end = text.find(['\t', ' ', '\n', '\\']).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// `Duration: 2.02 ms\tBilled Duration: 3 ms\t…\nXRAY TraceId: 1-…\tSegmentId: …\tSampled: true`
fn parse_report_fields<'a>(fields: &'a str, out: &mut Parsed<'a>) {
    // Real tabs and newlines separate the fields; escaped ones (`\t`, `\n` as two characters,
    // seen in lines that went through a forwarder twice) are read the same way.
    for field in fields.split(['\t', '\n']).flat_map(|f| f.split("\\t")).flat_map(|f| f.split("\\n")) {
        let Some((key, value)) = field.trim().split_once(": ") else {
            continue;
        };
        let key = key.strip_prefix("XRAY ").unwrap_or(key);
        let value = value.trim();
        if let Some(name) = lambda_metric_name(key) {
            out.attr(name, value.trim_end_matches(" ms").trim_end_matches(" MB").trim());
            continue;
        }
        match key {
            "TraceId" => out.trace_id = Some(Cow::Borrowed(value)),
            "Status" => {
                if value != "success" {
                    out.level = Some(Level::Error);
                }
                out.attr("status", value);
            }
            "SegmentId" => out.attr("segment_id", value),
            "Sampled" => out.attr("sampled", value),
            "Runtime Version" => out.attr("runtime_version", value),
            "Runtime Version ARN" => out.attr("runtime_version_arn", value),
            _ => {
                let name = snake_case(key);
                if !name.is_empty() {
                    out.attributes.push((Cow::Owned(name), Cow::Borrowed(value)));
                }
            }
        }
    }
}

pub(crate) fn snake_case(key: &str) -> String {
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
fn parse_runtime_tab_line<'a>(line: &'a str, out: &mut Parsed<'a>) -> bool {
    let mut parts = line.splitn(4, '\t');
    let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let text = parts.next().unwrap_or("");
    let (level, time, request_id) = if a.starts_with('[') && a.ends_with(']') && a.len() > 2 {
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
        out.request_id = Some(Cow::Borrowed(request_id));
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

/// Keeps the first attribute of each name (the envelope, then the line's own order) and at
/// most [`MAX_ATTRIBUTES`], in place.
fn dedup_attributes(attributes: &mut Vec<(Cow<'_, str>, Cow<'_, str>)>) {
    let mut kept = 0;
    for index in 0..attributes.len() {
        if kept == MAX_ATTRIBUTES {
            break;
        }
        // Attribute lists are short; a linear scan beats hashing here.
        if !attributes[..kept].iter().any(|(k, _)| *k == attributes[index].0) {
            attributes.swap(kept, index);
            kept += 1;
        }
    }
    attributes.truncate(kept);
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
