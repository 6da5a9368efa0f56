//! Kinesis Data Streams batches (the event of an event source mapping) through the one pipeline,
//! with partial batch failures that Lambda retries without duplicating anything.
//!
//! When a write fails, the function reports one sequence number and Lambda retries the shard
//! from there. That is only safe if the reported record is a clean cut: everything before it is
//! durably in the lake, and whatever the retry rebuilds gets the same object keys as before. So:
//!
//! - Records are written as **runs** in sequence order: a run is a stretch of consecutive lines
//!   of one shard in one partition, written as one object keyed by shard and the first and last
//!   (sequence number, line) it holds. Runs are written one after another; the first failure
//!   stops the batch and reports the first record of the failed run.
//! - A record whose lines fall into more than one run **starts a new run**, and a rejected
//!   (dead-lettered) record ends one. The runs that hold part of the reported record then
//!   depend on that record's content alone, so the retry rebuilds them under the same keys.
//!
//! Memory is bounded by decoding the batch in **windows** of about [`WINDOW_DECODED_BYTES`] of
//! decoded data; a window ends at a record boundary (which keeps the cut clean) and its runs are
//! written before the next window is decoded.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::config::PipelineConfig;
use crate::ingest::report::IngestReport;
use crate::ingest::stream_record::{self, ParsedPart, Part, StreamRecord};
use crate::ingest::write::{IngestError, Rejection, dead_letter, partitions_of, write_object};
use crate::lake::layout::{self, InputHasher, Partition};
use crate::lake::record::Record;
use crate::lake::storage::ObjectStore;
use crate::parse::timestamp;

pub const SOURCE_KINESIS: &str = "kinesis";

/// Decoded bytes per window. A full 6 MB batch of CloudWatch Logs payloads inflates to five
/// to ten times that; windows keep the function well inside 128 MB whatever the input expands
/// to (a window's records, Arrow arrays and Parquet buffers are a few times its decoded size).
pub const WINDOW_DECODED_BYTES: usize = 2 * 1024 * 1024;

/// The event of a Kinesis event source mapping.
#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEvent {
    #[serde(rename = "Records")]
    pub records: Vec<KinesisEventRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KinesisEventRecord {
    pub kinesis: KinesisRecordData,
    /// `shardId-000000000000:<sequence number>`
    #[serde(rename = "eventID", default)]
    pub event_id: String,
    #[serde(rename = "eventSourceARN", default)]
    pub event_source_arn: String,
    #[serde(rename = "awsRegion", default)]
    pub aws_region: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecordData {
    #[serde(default)]
    pub partition_key: String,
    pub sequence_number: String,
    /// base64 of the record's data.
    pub data: String,
    /// Seconds since the epoch, with fractions.
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<f64>,
}

impl KinesisEventRecord {
    pub fn shard_id(&self) -> &str {
        match self.event_id.split_once(':') {
            Some((shard, _)) if !shard.is_empty() => shard,
            _ => "unknown-shard",
        }
    }

    /// `arn:aws:kinesis:<region>:<account>:stream/<name>` → name.
    pub fn stream_name(&self) -> &str {
        self.event_source_arn.rsplit_once(":stream/").map_or("unknown-stream", |(_, name)| name)
    }

    fn account_id(&self) -> &str {
        self.event_source_arn.split(':').nth(4).unwrap_or("")
    }

    fn arrival_ms(&self) -> Option<i64> {
        self.kinesis.approximate_arrival_timestamp.and_then(timestamp::epoch_number_to_ms)
    }
}

/// The function's response: the record Lambda must retry from, if any.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Where and why a batch stopped: Lambda retries the shard from `sequence_number`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RetryFrom {
    pub shard_id: String,
    pub sequence_number: String,
    /// Records from this one to the end of the batch, none of them written.
    pub records_not_written: usize,
    pub error_type: &'static str,
    pub reason: String,
}

/// What one batch did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct KinesisReport {
    #[serde(flatten)]
    pub ingest: IngestReport,
    pub retry_from: Option<RetryFrom>,
}

impl KinesisReport {
    pub fn response(&self) -> BatchResponse {
        BatchResponse {
            batch_item_failures: self
                .retry_from
                .iter()
                .map(|retry| BatchItemFailure { item_identifier: retry.sequence_number.clone() })
                .collect(),
        }
    }
}

/// Limits of one batch run.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Stop writing (and report the rest for retry) once this instant has passed: a batch cut
    /// short this way is retried from a clean cut, while a timed-out invocation is retried whole.
    /// The first write of a batch is always made, so that every invocation makes progress.
    pub deadline: Option<std::time::Instant>,
    /// Decoded bytes per window; [`WINDOW_DECODED_BYTES`] unless a test wants small windows.
    pub window_decoded_bytes: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions { deadline: None, window_decoded_bytes: WINDOW_DECODED_BYTES }
    }
}

/// Ingests one batch. Never fails as a whole: undecodable records are dead-lettered, and a
/// failed write (or reaching the deadline) ends the batch with [`KinesisReport::retry_from`].
pub async fn ingest_kinesis_batch(
    event: &KinesisEvent,
    config: &PipelineConfig,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
    options: &BatchOptions,
) -> KinesisReport {
    let mut report = KinesisReport::default();
    let records = &event.records;
    let mut start = 0;
    while start < records.len() {
        let window = stream_record::next_window(records, start, options.window_decoded_bytes, |record| {
            let format = config.record_data.for_stream(record.stream_name());
            stream_record::decode(&record.kinesis.data, &record.kinesis.partition_key, format, &config.bounds)
        });
        report.ingest.payloads += window.len();
        report.ingest.input_bytes += window.iter().map(|(record, _)| record.kinesis.data.len()).sum::<usize>();
        report.ingest.decompressed_bytes +=
            window.iter().map(|(_, decoded)| stream_record::decoded_len(decoded)).sum::<usize>();
        if let Err(stop) =
            ingest_window(&window, config, ingest_time_ms, store, options.deadline, &mut report.ingest).await
        {
            let record = window[stop.at].0;
            tracing::error!(error_type = stop.error_type, shard_id = record.shard_id(), sequence_number = %record.kinesis.sequence_number, reason = %stop.reason, "batch stopped; Lambda retries from this record");
            report.retry_from = Some(RetryFrom {
                shard_id: record.shard_id().to_owned(),
                sequence_number: record.kinesis.sequence_number.clone(),
                records_not_written: records.len() - start - stop.at,
                error_type: stop.error_type,
                reason: stop.reason,
            });
            break;
        }
        start += window.len();
    }
    report
}

/// Why a window stopped, and at which of its records.
struct Stop {
    at: usize,
    error_type: &'static str,
    reason: String,
}

/// What one record of a window became.
enum Outcome {
    /// Its records, as a range of the window's record list (empty for control messages).
    Records(Range<usize>),
    Rejected(Rejection),
}

/// One write of a window, in order.
enum Write<'w> {
    /// A run of records (one shard, one partition) that starts in the window's record `first`.
    Run {
        first: usize,
        records: Range<usize>,
        partition: Partition,
    },
    DeadLetter {
        at: usize,
        rejection: &'w Rejection,
    },
}

impl Write<'_> {
    fn first(&self) -> usize {
        match self {
            Write::Run { first, .. } => *first,
            Write::DeadLetter { at, .. } => *at,
        }
    }
}

async fn ingest_window(
    window: &[(&KinesisEventRecord, Result<Vec<Part>, Rejection>)],
    config: &PipelineConfig,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
    deadline: Option<std::time::Instant>,
    report: &mut IngestReport,
) -> Result<(), Stop> {
    let parsed: Vec<Result<Vec<ParsedPart<'_>>, Rejection>> = window
        .iter()
        .map(|(_, decoded)| {
            decoded.as_ref().map_err(Clone::clone).and_then(|parts| stream_record::parse(parts, &config.bounds))
        })
        .collect();

    let mut records: Vec<Record<'_>> = Vec::new();
    // For each record of the list: the window record it came from, and its line in that record.
    let mut positions: Vec<(usize, usize)> = Vec::new();
    let mut outcomes = Vec::with_capacity(window.len());
    for (at, ((event_record, _), parsed)) in window.iter().zip(&parsed).enumerate() {
        let parts = match parsed {
            Ok(parts) => parts,
            Err(rejection) => {
                outcomes.push(Outcome::Rejected(rejection.clone()));
                continue;
            }
        };
        let start = records.len();
        let origin = StreamRecord {
            source: SOURCE_KINESIS,
            stream_name: event_record.stream_name(),
            account_id: event_record.account_id(),
            region: if event_record.aws_region.is_empty() { &config.region } else { &event_record.aws_region },
            id_prefix: format!("{}:{}", event_record.shard_id(), event_record.kinesis.sequence_number),
            arrival_ms: event_record.arrival_ms(),
        };
        if let Err(rejection) = stream_record::normalize(&origin, parts, config, ingest_time_ms, &mut records, report) {
            outcomes.push(Outcome::Rejected(rejection));
            continue;
        }
        positions.extend((0..records.len() - start).map(|line| (at, line)));
        outcomes.push(Outcome::Records(start..records.len()));
    }

    let partitions = partitions_of(&records, config.partition_time_zone);
    let writes = plan_writes(&outcomes, &partitions, |at| window[at].0.shard_id());
    for write in writes {
        let first = write.first();
        let written = report.objects.len() + report.dead_letters.len();
        if written > 0 && deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
            return Err(Stop {
                at: first,
                error_type: "Loglake.Deadline",
                reason: "the invocation is about to time out".into(),
            });
        }
        let result = match write {
            Write::Run { first, records: range, partition } => {
                let first_record = window[first].0;
                let position = |index: usize| {
                    let (at, line) = positions[index];
                    (window[at].0.kinesis.sequence_number.as_str(), line)
                };
                let (first_seq, first_line) = position(range.start);
                let (last_seq, last_line) = position(range.end - 1);
                let hash = InputHasher::new()
                    .part(SOURCE_KINESIS)
                    .part(&first_record.event_source_arn)
                    .part(first_record.shard_id())
                    .part(partition.path())
                    .part(first_seq)
                    .part(first_line.to_string())
                    .part(last_seq)
                    .part(last_line.to_string())
                    .hex(24);
                let key = layout::staging_key(&partition, SOURCE_KINESIS, first_record.stream_name(), &hash);
                let mut run: Vec<&Record<'_>> = records[range].iter().collect();
                run.sort_by_key(|record| record.event_time_ms);
                write_object(&run, partition, key, config, store, report).await
            }
            Write::DeadLetter { at, rejection } => {
                let (record, _) = window[at];
                let origin = [
                    ("stream_arn", record.event_source_arn.as_str()),
                    ("shard_id", record.shard_id()),
                    ("sequence_number", record.kinesis.sequence_number.as_str()),
                    ("partition_key", record.kinesis.partition_key.as_str()),
                ];
                dead_letter(store, SOURCE_KINESIS, rejection, &origin, &record.kinesis.data, ingest_time_ms)
                    .await
                    .map(|letter| report.dead_letters.push(letter))
                    .map_err(IngestError::from)
            }
        };
        if let Err(error) = result {
            return Err(Stop { at: first, error_type: error.error_type(), reason: error.to_string() });
        }
    }
    Ok(())
}

/// Cuts a window into writes, in sequence order (see the module documentation): runs end where
/// the partition or the shard changes and at a rejected record; a record whose lines fall into
/// several partitions starts a new run.
fn plan_writes<'w, 's>(
    outcomes: &'w [Outcome],
    partitions: &[Partition],
    shard_of: impl Fn(usize) -> &'s str,
) -> Vec<Write<'w>> {
    let mut writes = Vec::new();
    let mut open: Option<(usize, Range<usize>, Partition)> = None;
    let close = |open: &mut Option<(usize, Range<usize>, Partition)>, writes: &mut Vec<Write>| {
        if let Some((first, records, partition)) = open.take() {
            writes.push(Write::Run { first, records, partition });
        }
    };
    for (at, outcome) in outcomes.iter().enumerate() {
        let range = match outcome {
            Outcome::Rejected(rejection) => {
                close(&mut open, &mut writes);
                writes.push(Write::DeadLetter { at, rejection });
                continue;
            }
            Outcome::Records(range) if range.is_empty() => continue,
            Outcome::Records(range) => range.clone(),
        };
        let single_partition = partitions[range.clone()].iter().all(|p| *p == partitions[range.start]);
        if let Some((first, records, partition)) = &mut open
            && single_partition
            && *partition == partitions[range.start]
            && shard_of(*first) == shard_of(at)
        {
            records.end = range.end;
            continue;
        }
        close(&mut open, &mut writes);
        let mut piece_start = range.start;
        for index in range.start + 1..=range.end {
            if index == range.end || partitions[index] != partitions[piece_start] {
                close(&mut open, &mut writes);
                open = Some((at, piece_start..index, partitions[piece_start]));
                piece_start = index;
            }
        }
    }
    close(&mut open, &mut writes);
    writes
}
