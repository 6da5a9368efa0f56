//! JSON lines (`json`): the usual keys of loggers go to the typed columns (level, time, request
//! and trace ids; the message text as `msg`), every other field is flattened into dotted
//! attribute names. Also the flattening the other JSON formats and agent envelopes use.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::lake::record::Level;
use crate::parse::fields::{LineFields, MAX_ATTRIBUTES};
use crate::parse::raw_json::{self, Entries};
use crate::parse::timestamp;

/// Nested objects are flattened to dotted keys down to this depth; deeper values stay JSON text.
const MAX_FLATTEN_DEPTH: usize = 8;

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

pub fn json_level(raw: &RawValue) -> Option<Level> {
    match raw_json::string(raw) {
        Some(name) => Level::parse(&name),
        None => raw_json::number(raw).and_then(Level::from_number),
    }
}

pub fn json_time_ms(raw: &RawValue) -> Option<i64> {
    match raw_json::string(raw) {
        Some(text) => timestamp::parse_text_ms(&text),
        None => raw_json::number(raw).and_then(timestamp::epoch_number_to_ms),
    }
}

/// The usual keys go to the typed columns — a key is consumed only when its value is
/// understood, otherwise it stays an attribute — and every other field is flattened.
pub fn parse<'a>(entries: Entries<'a>, out: &mut LineFields<'a>) {
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
            Role::RequestId | Role::TraceId => raw_json::scalar_text(raw).is_some(),
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
                if let Some(text) = raw_json::text(raw) {
                    out.attr("msg", text);
                }
            }
            Role::RequestId => out.request_id = raw_json::scalar_text(raw),
            Role::TraceId => out.trace_id = raw_json::scalar_text(raw),
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
pub fn flatten_into<'a>(
    name: Cow<'a, str>,
    raw: &'a RawValue,
    depth: usize,
    attributes: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) {
    if attributes.len() >= MAX_ATTRIBUTES {
        return;
    }
    if depth < MAX_FLATTEN_DEPTH
        && raw_json::is_object(raw)
        && let Some(inner) = raw_json::parse_object(raw.get())
    {
        for (key, value) in inner {
            flatten_into(Cow::Owned(format!("{name}.{key}")), value, depth + 1, attributes);
        }
        return;
    }
    if let Some(text) = raw_json::text(raw) {
        attributes.push((name, text));
    }
}

/// `Root=1-abc-def;Parent=…;Sampled=1` → `1-abc-def`; anything else unchanged.
pub fn xray_root(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(text) => Cow::Borrowed(text.split(';').find_map(|p| p.strip_prefix("Root=")).unwrap_or(text)),
        Cow::Owned(text) => match text.split(';').find_map(|p| p.strip_prefix("Root=")) {
            Some(root) => Cow::Owned(root.to_owned()),
            None => Cow::Owned(text),
        },
    }
}
