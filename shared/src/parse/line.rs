//! One log line into a [`Record`]: its format detected (or taken from the log group's setting),
//! the line read by that format's parser ([`crate::parse::formats`]), its event time judged.
//!
//! The original line always stays in `message`; what is parsed from it goes to the typed
//! columns (`level`, `request_id`, `trace_id`, `event_time`) and to `attributes`.

use std::borrow::Cow;

use crate::lake::record::{LineFormat, Record};
use crate::parse::fields::{LineFields, MAX_ATTRIBUTES};
use crate::parse::formats;
use crate::parse::formats::cloudfront::CloudFrontFields;
use crate::parse::formats::vpc_flow::FlowFields;
use crate::parse::raw_json;
use crate::parse::timestamp;

/// How the lines of a log group are read (chosen per group in `LOGLAKE_LOG_FORMATS`).
#[derive(Debug, Clone, PartialEq)]
pub enum LineFormatChoice {
    /// Each line's format is detected (docs/formats.md).
    Auto,
    /// Every line is read as this format (as text where a line is not).
    Only(LineFormat),
    /// VPC flow logs created with a custom field order.
    VpcFlow(FlowFields),
    /// CloudFront logs whose `#Fields` header names chosen fields in a chosen order.
    CloudFront(CloudFrontFields),
}

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
    pub line_format: &'a LineFormatChoice,
}

/// Normalizes one line. `cloudwatch_ms` is the timestamp the transport recorded, when any.
/// Never fails: a line that fits no known shape is `text`. Everything parsed borrows from
/// `message` unless it had to be unescaped.
pub fn normalize_line<'a>(
    ctx: &LineContext<'a>,
    event_id: Cow<'a, str>,
    cloudwatch_ms: Option<i64>,
    message: &'a str,
) -> Record<'a> {
    normalize_line_as(ctx, ctx.line_format, event_id, cloudwatch_ms, message)
}

/// [`normalize_line`] reading the line as `line_format` (which the record never borrows from):
/// a payload's flow log header names the format of the lines after it.
pub fn normalize_line_as<'a>(
    ctx: &LineContext<'a>,
    line_format: &LineFormatChoice,
    event_id: Cow<'a, str>,
    cloudwatch_ms: Option<i64>,
    message: &'a str,
) -> Record<'a> {
    let mut parsed = LineFields::default();
    let line = message.trim_end_matches(['\n', '\r']);
    let transport_ms = cloudwatch_ms.filter(|&ms| timestamp::plausible_cloudwatch_ms(ms, ctx.ingest_time_ms));
    let reference_ms = transport_ms.unwrap_or(ctx.ingest_time_ms);
    let format = parse_line(line, line_format, reference_ms, &mut parsed);

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

/// The attribute of a `text` record that looks like a VPC flow record in a custom field order
/// loglake does not know: the log group needs `vpc_flow:<fields>` (docs/formats.md).
pub const FLOW_LOG_ORDER_UNKNOWN: (&str, &str) = ("flow_log_order", "unknown");

/// Detection, cheapest test first: a JSON object (Lambda platform record, CloudTrail record or
/// any JSON), then the shapes of AWS service logs by their first bytes, then Lambda runtime text.
/// A log group configured with a format is read as that format, and as text where a line is not.
fn parse_line<'a>(
    line: &'a str,
    configured: &LineFormatChoice,
    reference_ms: i64,
    out: &mut LineFields<'a>,
) -> LineFormat {
    let parsed = match configured {
        LineFormatChoice::Auto => detect(line, reference_ms, out),
        LineFormatChoice::Only(format) => parse_as(line, *format, reference_ms, out).then_some(*format),
        LineFormatChoice::VpcFlow(fields) => {
            formats::vpc_flow::parse(line, Some(fields), out).then_some(LineFormat::VpcFlow)
        }
        LineFormatChoice::CloudFront(fields) => {
            formats::cloudfront::parse_with(line, fields, out).then_some(LineFormat::CloudFront)
        }
    };
    parsed.unwrap_or_else(|| {
        out.level = formats::text::sniff_level(line);
        // A flow record in an order nobody named: said on the record, and counted in the report.
        if formats::vpc_flow::looks_like_unknown_order(line) {
            out.attr(FLOW_LOG_ORDER_UNKNOWN.0, Cow::Borrowed(FLOW_LOG_ORDER_UNKNOWN.1));
        }
        LineFormat::Text
    })
}

fn detect<'a>(line: &'a str, reference_ms: i64, out: &mut LineFields<'a>) -> Option<LineFormat> {
    // JSON may be pretty-printed, starting with a newline or spaces.
    let object = line.trim_start();
    if object.starts_with('{')
        && let Some(entries) = raw_json::parse_object(object)
    {
        // An agent's envelope around one service log line: `{"message": "<flow record>"}`.
        if let [(key, value)] = entries.as_slice()
            && matches!(key.as_ref(), "message" | "log" | "msg")
            && let Some(inner) = raw_json::string(value)
        {
            match inner {
                Cow::Borrowed(inner) => {
                    if let Some(format) = detect_text(inner, reference_ms, out) {
                        return Some(format);
                    }
                }
                // Escapes in the string (an access log's quotes): the fields are read from the
                // unescaped line and kept as owned text.
                Cow::Owned(inner) => {
                    let mut fields = LineFields::default();
                    if let Some(format) = detect_text(&inner, reference_ms, &mut fields) {
                        *out = fields.into_owned();
                        return Some(format);
                    }
                }
            }
        }
        return Some(if formats::lambda::is_platform_record(&entries) {
            formats::lambda::parse_platform(entries, out);
            LineFormat::Lambda
        } else if formats::cloudtrail::is_record(&entries) {
            formats::cloudtrail::parse(entries, out);
            LineFormat::CloudTrail
        } else if formats::apigateway::is_record(&entries) {
            formats::apigateway::parse(entries, out);
            LineFormat::ApiGateway
        } else {
            formats::json::parse(entries, out);
            LineFormat::Json
        });
    }
    detect_text(line, reference_ms, out)
}

/// The text formats: AWS service logs by their first bytes, then Lambda runtime lines.
fn detect_text<'a>(line: &'a str, reference_ms: i64, out: &mut LineFields<'a>) -> Option<LineFormat> {
    if formats::vpc_flow::might_be(line) && formats::vpc_flow::parse(line, None, out) {
        return Some(LineFormat::VpcFlow);
    }
    if let Some(kind) = formats::elb::kind(line)
        && formats::elb::parse(line, kind, out)
    {
        return Some(kind);
    }
    if formats::cloudfront::might_be(line) && formats::cloudfront::parse(line, out) {
        return Some(LineFormat::CloudFront);
    }
    if formats::s3_access::might_be(line) && formats::s3_access::parse(line, out) {
        return Some(LineFormat::S3Access);
    }
    if formats::syslog::might_be(line) && formats::syslog::parse(line, reference_ms, out) {
        return Some(LineFormat::Syslog);
    }
    if formats::access_log::might_be(line) && formats::access_log::parse(line, out) {
        return Some(LineFormat::AccessLog);
    }
    if formats::error_log::might_be(line) && formats::error_log::parse(line, out) {
        return Some(LineFormat::ErrorLog);
    }
    if formats::lambda::parse_text(line, out) {
        return Some(LineFormat::Lambda);
    }
    (formats::logfmt::might_be(line) && formats::logfmt::parse(line, out)).then_some(LineFormat::Logfmt)
}

/// Reads `line` as `format` only; false (nothing set) when it is not one.
fn parse_as<'a>(line: &'a str, format: LineFormat, reference_ms: i64, out: &mut LineFields<'a>) -> bool {
    let object = line.trim_start();
    let entries = || object.starts_with('{').then(|| raw_json::parse_object(object)).flatten();
    match format {
        LineFormat::Json => entries().map(|entries| formats::json::parse(entries, out)).is_some(),
        LineFormat::CloudTrail => match entries() {
            Some(entries) if formats::cloudtrail::is_record(&entries) => {
                formats::cloudtrail::parse(entries, out);
                true
            }
            _ => false,
        },
        LineFormat::Lambda => match entries() {
            Some(entries) if formats::lambda::is_platform_record(&entries) => {
                formats::lambda::parse_platform(entries, out);
                true
            }
            _ => formats::lambda::parse_text(line, out),
        },
        LineFormat::ApiGateway => match entries() {
            Some(entries) if formats::apigateway::is_record(&entries) => {
                formats::apigateway::parse(entries, out);
                true
            }
            _ => formats::access_log::parse(line, out),
        },
        LineFormat::VpcFlow => formats::vpc_flow::parse(line, None, out),
        LineFormat::CloudFront => formats::cloudfront::parse(line, out),
        LineFormat::Syslog => formats::syslog::parse(line, reference_ms, out),
        LineFormat::AccessLog => formats::access_log::parse(line, out),
        LineFormat::ErrorLog => formats::error_log::parse(line, out),
        LineFormat::S3Access => formats::s3_access::parse(line, out),
        LineFormat::Logfmt => formats::logfmt::parse(line, out),
        LineFormat::Alb | LineFormat::Nlb | LineFormat::ElbClassic | LineFormat::AlbConnection => {
            formats::elb::kind(line) == Some(format) && formats::elb::parse(line, format, out)
        }
        LineFormat::Text => false,
    }
}

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
#[path = "line_tests.rs"]
mod tests;
