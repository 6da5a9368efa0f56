//! Firehose data transformation: each input record comes back `Ok` (its log records as
//! newline-delimited JSON in the shape of the `logs` table, with the `dt` / `hour` keys for
//! dynamic partitioning), `Dropped`, or `ProcessingFailed` — never silently lost.
//!
//! An undecodable record is dead-lettered in `errors/firehose/` with its reason (like every
//! ingest function's) and returned as `ProcessingFailed`, so Firehose also keeps it in its error
//! prefix.
//!
//! One Firehose record carries one partition key set, and the response may not exceed Lambda's
//! 6 MB. A record whose lines fall into more than one partition, or whose output no longer fits
//! in [`RESPONSE_BUDGET_BYTES`], is therefore written straight to staging as Parquet (the same
//! objects ingest-cloudwatch writes, keyed by the records' ids so a retry rewrites them) and
//! returned as `Dropped`: Firehose has nothing left to deliver for it. If that write fails, the
//! invocation fails and Firehose retries it; after its retries Firehose puts the whole batch in
//! its `processing-failed` error prefix.

use std::borrow::Cow;

use base64::Engine as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::config::PipelineConfig;
use crate::ingest::report::IngestReport;
use crate::ingest::stream_record::{self, Part, StreamRecord};
use crate::ingest::write::{IngestError, Rejection, dead_letter, partitions_of, write_staging};
use crate::lake::layout::Partition;
use crate::lake::record::Record;
use crate::lake::storage::ObjectStore;

pub const SOURCE_FIREHOSE: &str = "firehose";

/// Lambda returns at most 6 MB (6,291,456 bytes); the results are kept under this, which leaves
/// room for JSON framing the estimate below does not count.
pub const RESPONSE_BUDGET_BYTES: usize = 5 * 1024 * 1024;

/// What a result costs in the response besides its data: `recordId`, `result`, the partition
/// keys and the JSON around them (measured at ~120 bytes; rounded up).
const RESULT_OVERHEAD_BYTES: usize = 192;

/// Decoded bytes per window: as for Kinesis, memory is bounded by window, not by batch.
pub const WINDOW_DECODED_BYTES: usize = 2 * 1024 * 1024;

/// The event of a Firehose data transformation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    #[serde(default)]
    pub invocation_id: String,
    /// `arn:aws:firehose:<region>:<account>:deliverystream/<name>`
    #[serde(default)]
    pub delivery_stream_arn: String,
    #[serde(default)]
    pub region: String,
    pub records: Vec<FirehoseRecord>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    pub record_id: String,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
    /// base64 of the record's data.
    pub data: String,
    /// Present when the delivery stream reads a Kinesis data stream.
    #[serde(default)]
    pub kinesis_record_metadata: Option<KinesisRecordMetadata>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecordMetadata {
    pub shard_id: String,
    #[serde(default)]
    pub partition_key: String,
    pub sequence_number: String,
    /// Set for user records Firehose took out of a KPL aggregate (a number or a string).
    #[serde(default)]
    pub subsequence_number: Option<serde_json::Value>,
}

impl FirehoseEvent {
    pub fn delivery_stream_name(&self) -> &str {
        self.delivery_stream_arn.rsplit_once(":deliverystream/").map_or("unknown-delivery-stream", |(_, name)| name)
    }

    fn account_id(&self) -> &str {
        self.delivery_stream_arn.split(':').nth(4).unwrap_or("")
    }
}

impl FirehoseRecord {
    /// Event ids of the record's lines are `<prefix>:<line>`: the Kinesis shard and sequence
    /// number when Firehose reads a stream, else the delivery stream and Firehose's record id.
    fn id_prefix(&self, delivery_stream: &str) -> String {
        match &self.kinesis_record_metadata {
            Some(meta) => match meta.subsequence_number.as_ref().map(subsequence_text) {
                Some(sub) if sub != "0" => format!("{}:{}.{sub}", meta.shard_id, meta.sequence_number),
                _ => format!("{}:{}", meta.shard_id, meta.sequence_number),
            },
            None => format!("{delivery_stream}:{}", self.record_id),
        }
    }

    fn partition_key(&self) -> &str {
        self.kinesis_record_metadata.as_ref().map_or("", |meta| meta.partition_key.as_str())
    }
}

fn subsequence_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The function's response: one result per input record, in order.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FirehoseResponse {
    pub records: Vec<FirehoseResult>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FirehoseResult {
    #[serde(rename = "recordId")]
    pub record_id: String,
    pub result: ResultStatus,
    /// base64 of the output: newline-delimited JSON for `Ok`, the input for `ProcessingFailed`
    /// (Firehose keeps it in its error prefix), empty for `Dropped`.
    pub data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResultMetadata>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum ResultStatus {
    Ok,
    Dropped,
    ProcessingFailed,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResultMetadata {
    #[serde(rename = "partitionKeys")]
    pub partition_keys: PartitionKeys,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartitionKeys {
    pub dt: String,
    pub hour: String,
}

/// What one invocation did, besides the response.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FirehoseReport {
    /// Counts of the pipeline; `objects` are the staging objects written directly.
    #[serde(flatten)]
    pub ingest: IngestReport,
    pub ok: usize,
    pub dropped: usize,
    pub processing_failed: usize,
    /// Records (input) whose lines went straight to staging: several partitions, or no room left.
    pub written_to_staging: usize,
    /// Size of the response as JSON.
    pub response_bytes: usize,
}

/// Limits of one invocation (tests make them small).
#[derive(Debug, Clone)]
pub struct TransformOptions {
    pub response_budget_bytes: usize,
    pub window_decoded_bytes: usize,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions { response_budget_bytes: RESPONSE_BUDGET_BYTES, window_decoded_bytes: WINDOW_DECODED_BYTES }
    }
}

/// Transforms one batch. Fails only when a direct staging write fails (Firehose then retries
/// the invocation); everything else is a per-record result.
pub async fn transform_batch(
    event: &FirehoseEvent,
    config: &PipelineConfig,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
    options: &TransformOptions,
) -> Result<(FirehoseResponse, FirehoseReport), IngestError> {
    let mut report = FirehoseReport::default();
    let mut results = Vec::with_capacity(event.records.len());
    // Every record needs a result; reserve their cost first so that outputs never crowd it out.
    let mut budget = options
        .response_budget_bytes
        .saturating_sub(event.records.iter().map(|r| r.record_id.len() + RESULT_OVERHEAD_BYTES).sum::<usize>());
    let format = config.record_data.for_stream(event.delivery_stream_name());
    let mut start = 0;
    while start < event.records.len() {
        let window = stream_record::next_window(&event.records, start, options.window_decoded_bytes, |record| {
            stream_record::decode(&record.data, record.partition_key(), format, &config.bounds)
        });
        report.ingest.payloads += window.len();
        report.ingest.input_bytes += window.iter().map(|(record, _)| record.data.len()).sum::<usize>();
        report.ingest.decompressed_bytes +=
            window.iter().map(|(_, decoded)| stream_record::decoded_len(decoded)).sum::<usize>();
        transform_window(event, &window, config, ingest_time_ms, store, &mut budget, &mut results, &mut report).await?;
        start += window.len();
    }
    let response = FirehoseResponse { records: results };
    report.response_bytes = serde_json::to_vec(&response).map_or(0, |json| json.len());
    Ok((response, report))
}

#[allow(clippy::too_many_arguments)]
async fn transform_window(
    event: &FirehoseEvent,
    window: &[(&FirehoseRecord, Result<Vec<Part>, Rejection>)],
    config: &PipelineConfig,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
    budget: &mut usize,
    results: &mut Vec<FirehoseResult>,
    report: &mut FirehoseReport,
) -> Result<(), IngestError> {
    let delivery_stream = event.delivery_stream_name();
    let region = if event.region.is_empty() { config.region.as_str() } else { event.region.as_str() };
    let parsed: Vec<_> = window
        .iter()
        .map(|(_, decoded)| {
            decoded.as_ref().map_err(Clone::clone).and_then(|parts| stream_record::parse(parts, &config.bounds))
        })
        .collect();

    let mut direct: Vec<Record<'_>> = Vec::new();
    for ((record, _), parsed) in window.iter().zip(&parsed) {
        let normalized = parsed.as_ref().map_err(Clone::clone).and_then(|parts| {
            let origin = StreamRecord {
                source: SOURCE_FIREHOSE,
                stream_name: delivery_stream,
                account_id: event.account_id(),
                region,
                id_prefix: record.id_prefix(delivery_stream),
                arrival_ms: record.approximate_arrival_timestamp.map(|ms| ms as i64),
            };
            let mut records = Vec::new();
            stream_record::normalize(&origin, parts, config, ingest_time_ms, &mut records, &mut report.ingest)
                .map(|()| records)
        });
        let records = match normalized {
            Ok(records) => records,
            Err(rejection) => {
                let origin = [
                    ("delivery_stream_arn", event.delivery_stream_arn.as_str()),
                    ("record_id", record.record_id.as_str()),
                ];
                let letter =
                    dead_letter(store, SOURCE_FIREHOSE, &rejection, &origin, &record.data, ingest_time_ms).await?;
                report.ingest.dead_letters.push(letter);
                report.processing_failed += 1;
                // The input goes back too when it fits, for Firehose's processing-failed prefix.
                let data = if record.data.len() <= *budget { record.data.clone() } else { String::new() };
                *budget -= data.len();
                results.push(result(record, ResultStatus::ProcessingFailed, data, None));
                continue;
            }
        };
        if records.is_empty() {
            // Control messages only: nothing to deliver.
            report.dropped += 1;
            results.push(result(record, ResultStatus::Dropped, String::new(), None));
            continue;
        }
        let partitions = partitions_of(&records, config.partition_time_zone);
        let single = partitions.iter().all(|p| *p == partitions[0]);
        if single {
            let data = encode_ndjson(&records);
            if data.len() <= *budget {
                *budget -= data.len();
                report.ingest.count_delivered(&records);
                report.ok += 1;
                results.push(result(record, ResultStatus::Ok, data, Some(partitions[0])));
                continue;
            }
        }
        report.written_to_staging += 1;
        report.dropped += 1;
        results.push(result(record, ResultStatus::Dropped, String::new(), None));
        direct.extend(records);
    }
    if !direct.is_empty() {
        write_staging(direct, SOURCE_FIREHOSE, delivery_stream, config, store, &mut report.ingest).await?;
    }
    Ok(())
}

fn result(record: &FirehoseRecord, status: ResultStatus, data: String, partition: Option<Partition>) -> FirehoseResult {
    FirehoseResult {
        record_id: record.record_id.clone(),
        result: status,
        data,
        metadata: partition.map(|p| ResultMetadata { partition_keys: PartitionKeys { dt: p.dt(), hour: p.hour() } }),
    }
}

/// One `logs` row as JSON: the table's columns, times as epoch milliseconds (Firehose's Hive
/// JSON deserializer reads them with the `millis` timestamp format), `attributes` as an object.
#[derive(Serialize)]
struct JsonRow<'r> {
    event_time: i64,
    ingest_time: i64,
    event_id: &'r str,
    source: &'r str,
    account_id: &'r str,
    region: &'r str,
    log_group: &'r str,
    log_stream: &'r str,
    format: &'r str,
    level: Option<&'r str>,
    message: &'r str,
    request_id: Option<&'r str>,
    trace_id: Option<&'r str>,
    attributes: Attributes<'r>,
}

struct Attributes<'r>(&'r [(Cow<'r, str>, Cow<'r, str>)]);

impl Serialize for Attributes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key.as_ref(), value.as_ref())?;
        }
        map.end()
    }
}

/// The records as newline-delimited JSON, base64-encoded for the response.
pub fn encode_ndjson(records: &[Record<'_>]) -> String {
    let mut out = Vec::new();
    for record in records {
        let row = JsonRow {
            event_time: record.event_time_ms,
            ingest_time: record.ingest_time_ms,
            event_id: &record.event_id,
            source: record.source,
            account_id: &record.account_id,
            region: &record.region,
            log_group: &record.log_group,
            log_stream: &record.log_stream,
            format: record.format.as_str(),
            level: record.level.map(|l| l.as_str()),
            message: &record.message,
            request_id: record.request_id.as_deref(),
            trace_id: record.trace_id.as_deref(),
            attributes: Attributes(&record.attributes),
        };
        // A struct of strings and integers always serializes.
        let _ = serde_json::to_writer(&mut out, &row);
        out.push(b'\n');
    }
    base64::engine::general_purpose::STANDARD.encode(out)
}
