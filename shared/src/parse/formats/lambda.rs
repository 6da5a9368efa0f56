//! Lambda's own lines (`lambda`): the platform records of its JSON log format (`platform.start`,
//! `platform.report` …), the `START` / `END` / `REPORT` / `INIT_START` lines of its text format,
//! and the tab-separated application lines of the Node.js and Python runtimes.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::lake::record::Level;
use crate::parse::fields::{LineFields, snake_case};
use crate::parse::formats::json::{flatten_into, json_level, json_time_ms, xray_root};
use crate::parse::raw_json::{self, Entries};
use crate::parse::timestamp;

/// A JSON line that is a platform record of Lambda's JSON log format.
pub fn is_platform_record(entries: &Entries<'_>) -> bool {
    raw_json::find(entries, "type").and_then(|t| raw_json::string(t)).is_some_and(|t| t.starts_with("platform."))
        && raw_json::find(entries, "time").is_some()
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

pub fn parse_platform<'a>(entries: Entries<'a>, out: &mut LineFields<'a>) {
    for (key, raw) in entries {
        match key.as_ref() {
            "time" => out.time_ms = json_time_ms(raw),
            "type" => {
                if let Some(kind) = raw_json::string(raw) {
                    out.attr("lambda_event", platform_event_name(&kind));
                }
            }
            "record" => parse_platform_record(raw, out),
            "level" => out.level = json_level(raw).or(out.level),
            _ => flatten_into(key, raw, 0, &mut out.attributes),
        }
    }
}

fn parse_platform_record<'a>(raw: &'a RawValue, out: &mut LineFields<'a>) {
    let Some(record) = raw_json::parse_object(raw.get()) else {
        flatten_into(Cow::Borrowed("record"), raw, 0, &mut out.attributes);
        return;
    };
    for (key, value) in record {
        match key.as_ref() {
            "requestId" => out.request_id = raw_json::text(value),
            "metrics" => match raw_json::parse_object(value.get()) {
                Some(metrics) => {
                    for (name, metric) in metrics {
                        let name = lambda_metric_name(&name).map(Cow::Borrowed).unwrap_or(name);
                        if let Some(text) = raw_json::text(metric) {
                            out.attributes.push((name, text));
                        }
                    }
                }
                None => flatten_into(key, value, 1, &mut out.attributes),
            },
            "tracing" => match raw_json::parse_object(value.get()) {
                Some(tracing) => {
                    for (name, field) in tracing {
                        if name == "value" {
                            out.trace_id = raw_json::text(field).map(xray_root);
                        } else {
                            flatten_into(Cow::Owned(format!("tracing.{name}")), field, 1, &mut out.attributes);
                        }
                    }
                }
                None => flatten_into(key, value, 1, &mut out.attributes),
            },
            "status" => {
                if raw_json::string(value).is_some_and(|s| s != "success") {
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
pub fn parse_text<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
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
    parse_runtime_tab_line(line, out) || parse_platform_space_line(line, out)
}

/// Lines Lambda itself writes with spaces rather than tabs: `<time> <request id> <message>`, as
/// `2020-06-09T15:02:26.150Z 7c9567b5-…-0157ac21db52 Task timed out after 3.00 seconds`. The
/// request id must be a UUID, so that ordinary `<time> <word> …` lines stay text.
fn parse_platform_space_line<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    let mut parts = line.splitn(3, ' ');
    let (Some(time), Some(request_id), Some(message)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let uuid = request_id.len() == 36
        && request_id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    let Some(time_ms) = (uuid && time.ends_with('Z')).then(|| timestamp::parse_text_ms(time)).flatten() else {
        return false;
    };
    let message = message.trim_end_matches(['\n', '\r']).trim_end_matches("\\n");
    out.time_ms = Some(time_ms);
    out.request_id = Some(Cow::Borrowed(request_id));
    if message.starts_with("Task timed out after ") {
        out.level = Some(Level::Error);
        out.attr("lambda_event", "timeout");
    } else {
        out.level = crate::parse::formats::text::sniff_level(message);
    }
    out.attr("msg", message);
    true
}

/// Splits off the first word. A backslash ends it too: request ids never hold one, and some
/// forwarders deliver runtime lines with their tabs escaped as the two characters `\t`.
fn split_once_ws(text: &str) -> (&str, &str) {
    let end = text.find(['\t', ' ', '\n', '\\']).unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// `Duration: 2.02 ms\tBilled Duration: 3 ms\t…\nXRAY TraceId: 1-…\tSegmentId: …\tSampled: true`
fn parse_report_fields<'a>(fields: &'a str, out: &mut LineFields<'a>) {
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

/// Node.js: `2024-05-01T12:00:00.123Z\t<request id>\tINFO\tmessage`;
/// Python:  `[INFO]\t2024-05-01T12:00:00.123Z\t<request id>\tmessage`.
fn parse_runtime_tab_line<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
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
