//! One record of a stream — a Kinesis Data Streams record or a Firehose record — through the
//! shared pipeline's first steps: its data decoded (base64, KPL, gzip, each refusal a
//! [`Rejection`]), parsed (borrowing), and normalized into log records.
//!
//! The two stages keep ownership simple: [`decode`] makes owned [`Part`]s, and [`parse`] and
//! [`normalize`] borrow from them, so the records of many stream records can be held at once.

use std::borrow::Cow;

use base64::Engine as _;

use crate::config::PipelineConfig;
use crate::decode::bounds::{InputBounds, InputBudget, TooLarge};
use crate::decode::kpl;
use crate::decode::stream_data::{self, RecordDataChoice, RecordDataKind};
use crate::decode::subscription::{self, DecodeError, LogsPayload, MessageType};
use crate::ingest::payload::{is_own_log_group, normalize_payload};
use crate::ingest::report::IngestReport;
use crate::ingest::write::Rejection;
use crate::lake::record::Record;
use crate::parse::agent::{AgentLine, split_agent_line};
use crate::parse::line::{LineContext, normalize_line};
use crate::parse::timestamp;

/// Where a stream record came from: what its lines' records say about their origin.
#[derive(Debug, Clone)]
pub struct StreamRecord<'a> {
    /// `kinesis` or `firehose`.
    pub source: &'static str,
    /// The stream (or delivery stream): the `log_group` of lines that are not CloudWatch events.
    pub stream_name: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// Event ids of lines are `<id_prefix>:<line index in the record>`: for Kinesis
    /// `<shard id>:<sequence number>`, stable across retries.
    pub id_prefix: String,
    /// When the stream received the record: the transport time of its lines.
    pub arrival_ms: Option<i64>,
}

/// Owned data of one record after base64, KPL and gzip: what needs no borrowing.
pub enum Part {
    /// A decompressed CloudWatch Logs subscription payload (JSON).
    CloudWatch(Vec<u8>),
    /// Text lines, read as agent JSON lines or as plain lines.
    Lines { agent: bool, partition_key: String, text: String },
}

impl Part {
    /// Bytes of decoded data.
    pub fn decoded_bytes(&self) -> usize {
        match self {
            Part::CloudWatch(json) => json.len(),
            Part::Lines { text, .. } => text.len(),
        }
    }
}

/// A record's data (base64, as both event sources deliver it) decoded into owned parts: one for
/// a plain record, one per user record of a KPL aggregate. Anything unreadable is a rejection,
/// and so is data past `bounds.decoded_bytes` — all of a KPL aggregate's user records together,
/// each decompressed no further than the budget left.
pub fn decode(
    data: &str,
    partition_key: &str,
    format: RecordDataChoice,
    bounds: &InputBounds,
) -> Result<Vec<Part>, Rejection> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim().as_bytes())
        .map_err(|e| Rejection::from(&DecodeError::InvalidBase64(e)))?;
    let data_error = |e: stream_data::DataError| Rejection { kind: e.kind(), reason: e.to_string() };
    let mut budget = bounds.budget();
    match stream_data::detect_as(&bytes, format).map_err(data_error)? {
        RecordDataKind::Aggregated => {
            let user_records =
                kpl::deaggregate(&bytes).map_err(|e| Rejection { kind: e.kind(), reason: e.to_string() })?;
            if user_records.is_empty() {
                // Nothing to write, and nothing would say so: refuse it like any empty record.
                return Err(Rejection { kind: "empty_record", reason: "KPL aggregate holds no user records".into() });
            }
            let mut parts = Vec::with_capacity(user_records.len());
            for (index, user) in user_records.iter().enumerate() {
                let in_user_record = |mut rejection: Rejection| {
                    rejection.reason = format!("KPL user record {index}: {}", rejection.reason);
                    rejection
                };
                let kind = stream_data::detect_as(user.data, format).map_err(data_error).map_err(in_user_record)?;
                let part =
                    to_part(kind, user.data.to_vec(), user.partition_key, &mut budget).map_err(in_user_record)?;
                parts.push(part);
            }
            Ok(parts)
        }
        kind => Ok(vec![to_part(kind, bytes, partition_key, &mut budget)?]),
    }
}

fn to_part(
    kind: RecordDataKind,
    bytes: Vec<u8>,
    partition_key: &str,
    budget: &mut InputBudget,
) -> Result<Part, Rejection> {
    let agent = match kind {
        RecordDataKind::CloudWatchLogs => {
            let json = subscription::decompress_gzip(&bytes, budget.bytes_left()).map_err(|e| match e {
                DecodeError::TooLarge { .. } => Rejection::from(budget.bytes_exceeded()),
                other => Rejection::from(&other),
            })?;
            budget.add_bytes(json.len())?;
            return Ok(Part::CloudWatch(json));
        }
        RecordDataKind::Aggregated => {
            return Err(Rejection { kind: "kpl_nested", reason: "a KPL record inside a KPL record".into() });
        }
        RecordDataKind::AgentJson => true,
        RecordDataKind::Text => false,
    };
    budget.add_bytes(bytes.len())?;
    // detect() has already checked that the bytes are UTF-8.
    let text = String::from_utf8(bytes)
        .map_err(|e| Rejection::from(&DecodeError::InvalidUtf8 { offset: e.utf8_error().valid_up_to() }))?;
    Ok(Part::Lines { agent, partition_key: partition_key.to_owned(), text })
}

/// The next window of `items` from `start`: items decoded one after another until their decoded
/// data reaches `limit` bytes (at least one item). Windows bound memory: the caller finishes a
/// window — its records encoded and written — before decoding the next.
pub fn next_window<'e, T>(
    items: &'e [T],
    start: usize,
    limit: usize,
    mut decode: impl FnMut(&'e T) -> Result<Vec<Part>, Rejection>,
) -> Vec<(&'e T, Result<Vec<Part>, Rejection>)> {
    let mut window = Vec::new();
    let mut bytes = 0;
    for item in items.iter().skip(start) {
        if !window.is_empty() && bytes >= limit {
            break;
        }
        let decoded = decode(item);
        bytes += decoded_len(&decoded);
        window.push((item, decoded));
    }
    window
}

/// Bytes of decoded data in a record's parts (none for a rejected record).
pub fn decoded_len(decoded: &Result<Vec<Part>, Rejection>) -> usize {
    decoded.as_ref().map_or(0, |parts| parts.iter().map(Part::decoded_bytes).sum())
}

/// A part parsed, borrowing from its [`Part`].
pub enum ParsedPart<'w> {
    Payload(LogsPayload<'w>),
    Control,
    Text { partition_key: &'w str, lines: Vec<&'w str> },
    Agent { partition_key: &'w str, lines: Vec<AgentLine<'w>> },
}

/// Parses the parts, borrowing from them. A CloudWatch payload that is not one rejects the record,
/// and so do more lines (or log events) than `bounds.lines`, all parts together: counted while
/// the lines are split, so a record of empty-looking lines never becomes a huge list.
pub fn parse<'p>(parts: &'p [Part], bounds: &InputBounds) -> Result<Vec<ParsedPart<'p>>, Rejection> {
    let mut budget = bounds.budget();
    let mut parsed = Vec::with_capacity(parts.len());
    for part in parts {
        let part = match part {
            Part::CloudWatch(json) => match subscription::parse_payload(json) {
                Ok((MessageType::Control, _)) => ParsedPart::Control,
                Ok((MessageType::Data, payload)) => {
                    budget.add_lines(payload.log_events.len())?;
                    ParsedPart::Payload(payload)
                }
                Err(error) => return Err(Rejection::from(&error)),
            },
            Part::Lines { agent, partition_key, text } => {
                let mut lines = Vec::new();
                for line in stream_data::lines(text) {
                    budget.add_lines(1)?;
                    lines.push(line);
                }
                if *agent {
                    ParsedPart::Agent { partition_key, lines: lines.into_iter().map(split_agent_line).collect() }
                } else {
                    ParsedPart::Text { partition_key, lines }
                }
            }
        };
        parsed.push(part);
    }
    Ok(parsed)
}

/// Normalizes the parts of one stream record into `records`. More records or attributes than
/// the bounds allow (counted as they are made) reject the record: its records are taken back out
/// and nothing of it is counted.
pub fn normalize<'p>(
    origin: &StreamRecord<'p>,
    parts: &'p [ParsedPart<'p>],
    config: &'p PipelineConfig,
    ingest_time_ms: i64,
    records: &mut Vec<Record<'p>>,
    report: &mut IngestReport,
) -> Result<(), Rejection> {
    let start = records.len();
    let mut counts = IngestReport::default();
    let mut budget = config.bounds.budget();
    match normalize_parts(origin, parts, config, ingest_time_ms, records, &mut counts, &mut budget) {
        Ok(()) => {
            report.merge(counts);
            Ok(())
        }
        Err(too_large) => {
            records.truncate(start);
            Err(Rejection::from(too_large))
        }
    }
}

fn normalize_parts<'p>(
    origin: &StreamRecord<'p>,
    parts: &'p [ParsedPart<'p>],
    config: &'p PipelineConfig,
    ingest_time_ms: i64,
    records: &mut Vec<Record<'p>>,
    report: &mut IngestReport,
    budget: &mut InputBudget,
) -> Result<(), TooLarge> {
    let arrival_ms = origin.arrival_ms;
    let context = |log_stream: &'p str| LineContext {
        source: origin.source,
        account_id: Cow::Borrowed(origin.account_id),
        region: Cow::Borrowed(origin.region),
        log_group: Cow::Borrowed(origin.stream_name),
        log_stream: Cow::Borrowed(log_stream),
        ingest_time_ms,
        max_event_time_skew_secs: config.max_event_time_skew_secs,
        envelope: Vec::new(),
        line_format: config.line_formats.for_log_group(origin.stream_name),
    };
    let start = records.len();
    let event_id = |records: &Vec<Record<'p>>| Cow::Owned(format!("{}:{}", origin.id_prefix, records.len() - start));
    for part in parts {
        match part {
            ParsedPart::Control => report.control_messages += 1,
            ParsedPart::Payload(payload) if is_own_log_group(&payload.log_group) => {
                report.own_log_events += payload.log_events.len()
            }
            ParsedPart::Payload(payload) => {
                let normalized = normalize_payload(payload, origin.source, config, ingest_time_ms, budget)?;
                normalized.count(report, payload.log_events.len());
                records.extend(normalized.records);
            }
            ParsedPart::Text { partition_key, lines } => {
                let ctx = context(partition_key);
                for line in lines {
                    let record = normalize_line(&ctx, event_id(records), arrival_ms, line);
                    budget.add_record(record.attributes.len())?;
                    records.push(record);
                    report.log_events += 1;
                }
            }
            ParsedPart::Agent { partition_key, lines } => {
                for line in lines {
                    let mut ctx = context(partition_key);
                    ctx.envelope.clone_from(&line.envelope);
                    // The agent's time is when the line was read: closer to the event than arrival.
                    let agent_ms = line.time_ms.filter(|&ms| timestamp::plausible_cloudwatch_ms(ms, ingest_time_ms));
                    let record = normalize_line(&ctx, event_id(records), agent_ms.or(arrival_ms), &line.message);
                    budget.add_record(record.attributes.len())?;
                    records.push(record);
                    report.log_events += 1;
                }
            }
        }
    }
    Ok(())
}
