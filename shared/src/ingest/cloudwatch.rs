//! The CloudWatch Logs path: a subscription payload (`awslogs.data`) into staging, and the events
//! of a log group's history (backfill) written as a subscription would have delivered them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::config::PipelineConfig;
use crate::decode::subscription::{self, LogEvent, LogsPayload, MessageType};
use crate::ingest::payload::{is_own_log_group, normalize_payload};
use crate::ingest::report::IngestReport;
use crate::ingest::write::{IngestError, Rejection, dead_letter, write_staging};
use crate::lake::record::Record;
use crate::lake::storage::ObjectStore;

pub const SOURCE_CLOUDWATCH: &str = "cloudwatch";

/// Ingests one CloudWatch Logs subscription payload (`awslogs.data`: base64 of gzip of JSON).
/// Undecodable input is dead-lettered and reported; only a failure to write fails the call.
pub async fn ingest_cloudwatch_data(
    data: &str,
    config: &PipelineConfig,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
) -> Result<IngestReport, IngestError> {
    let mut report = IngestReport { payloads: 1, input_bytes: data.len(), ..IngestReport::default() };
    let json = match subscription::decompress_base64(data, config.bounds.decoded_bytes) {
        Ok(json) => json,
        Err(error) => return reject(report, store, &Rejection::from(&error), data, ingest_time_ms).await,
    };
    report.decompressed_bytes = json.len();
    let (kind, payload) = match subscription::parse_payload(&json) {
        Ok(parsed) => parsed,
        Err(error) => return reject(report, store, &Rejection::from(&error), data, ingest_time_ms).await,
    };
    if kind == MessageType::Control {
        report.control_messages = 1;
        return Ok(report);
    }
    if is_own_log_group(&payload.log_group) {
        report.own_log_events = payload.log_events.len();
        return Ok(report);
    }
    // The events as decoded, then the records made from them, each against the bounds.
    let normalized = config.bounds.budget().add_lines(payload.log_events.len()).and_then(|()| {
        normalize_payload(&payload, SOURCE_CLOUDWATCH, config, ingest_time_ms, &mut config.bounds.budget())
    });
    let normalized = match normalized {
        Ok(normalized) => normalized,
        Err(too_large) => return reject(report, store, &Rejection::from(too_large), data, ingest_time_ms).await,
    };
    normalized.count(&mut report, payload.log_events.len());
    write_staging(normalized.records, SOURCE_CLOUDWATCH, &payload.log_group, config, store, &mut report).await?;
    Ok(report)
}

/// One log event read back from a log group's history (FilterLogEvents), for backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLogEvent {
    pub id: String,
    pub log_stream: String,
    pub timestamp_ms: i64,
    pub message: String,
}

/// Ingests events read from a log group's history as a subscription would have delivered them:
/// the same records (source `cloudwatch`, CloudWatch event ids), so that backfill and live
/// delivery of the same event deduplicate by `event_id`. Objects are keyed by the events' ids,
/// so ingesting the same page again rewrites them.
pub async fn ingest_log_events(
    account_id: &str,
    log_group: &str,
    events: &[StoredLogEvent],
    config: &PipelineConfig,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let mut streams: BTreeMap<&str, Vec<&StoredLogEvent>> = BTreeMap::new();
    for event in events {
        streams.entry(event.log_stream.as_str()).or_default().push(event);
    }
    let payloads: Vec<LogsPayload<'_>> = streams
        .into_iter()
        .map(|(log_stream, events)| LogsPayload {
            message_type: Cow::Borrowed("DATA_MESSAGE"),
            owner: Cow::Borrowed(account_id),
            log_group: Cow::Borrowed(log_group),
            log_stream: Cow::Borrowed(log_stream),
            subscription_filters: Vec::new(),
            policy_level: None,
            log_events: events
                .into_iter()
                .map(|e| LogEvent {
                    id: Cow::Borrowed(e.id.as_str()),
                    timestamp: serde_json::Number::from(e.timestamp_ms),
                    message: Cow::Borrowed(e.message.as_str()),
                })
                .collect(),
        })
        .collect();
    let mut records: Vec<Record<'_>> = Vec::new();
    // A page has the bounds of one delivered payload: a page past them fails the backfill and
    // names the bound to raise.
    let mut budget = config.bounds.budget();
    for payload in &payloads {
        let normalized = normalize_payload(payload, SOURCE_CLOUDWATCH, config, ingest_time_ms, &mut budget)?;
        normalized.count(report, payload.log_events.len());
        records.extend(normalized.records);
    }
    report.payloads += 1;
    report.input_bytes += events.iter().map(|e| e.message.len()).sum::<usize>();
    write_staging(records, SOURCE_CLOUDWATCH, log_group, config, store, report).await
}

async fn reject(
    mut report: IngestReport,
    store: &dyn ObjectStore,
    rejection: &Rejection,
    data: &str,
    ingest_time_ms: i64,
) -> Result<IngestReport, IngestError> {
    report.dead_letters.push(dead_letter(store, SOURCE_CLOUDWATCH, rejection, &[], data, ingest_time_ms).await?);
    Ok(report)
}
