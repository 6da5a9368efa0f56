//! Everything ingest writes to the lake: records grouped by partition into staging objects keyed
//! by what they hold (so a retry rewrites the same keys), and dead letters under `errors/`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::PipelineConfig;
use crate::decode::bounds::TooLarge;
use crate::decode::subscription::DecodeError;
use crate::ingest::report::{DeadLetter, IngestReport, WrittenObject};
use crate::lake::encode::{EncodeError, encode_parquet};
use crate::lake::layout::{self, InputHasher, Partition};
use crate::lake::record::Record;
use crate::lake::storage::{ObjectStore, StorageError};

/// Why an invocation failed. Bad input is not here: it is dead-lettered and the invocation
/// succeeds, because a retry cannot fix it.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The lake could not be written. A retry can fix this: the invocation must fail.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Records could not be encoded as Parquet: a bug, reported loudly rather than dropped.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A page of a log group's history past the bounds of one input (backfill only: delivered
    /// input past them is dead-lettered).
    #[error("a page of log events is too large: {0}")]
    TooLarge(#[from] TooLarge),
}

impl IngestError {
    /// The error type a Lambda invocation reports, so that retryable failures can be told
    /// from bugs in metrics and on-failure destinations.
    pub fn error_type(&self) -> &'static str {
        match self {
            IngestError::Storage(_) => "Loglake.StorageError",
            IngestError::Encode(_) => "Loglake.EncodeError",
            IngestError::TooLarge(_) => "Loglake.TooLarge",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, IngestError::Storage(_))
    }
}

/// Groups records by partition and writes one staging object per partition. The key of each
/// object is a hash of what identifies its records (source, account, group, stream, partition,
/// event ids), so a retry of the same input rewrites the same objects.
pub async fn write_staging(
    records: Vec<Record<'_>>,
    source: &str,
    name: &str,
    config: &PipelineConfig,
    store: &dyn ObjectStore,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    // Records stay where they are: a permutation is sorted (by partition, then event time) and
    // each partition's run of it is encoded. Moving ~300-byte records around cost more than
    // everything else here.
    let partitions = partitions_of(&records, config.partition_time_zone);
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| (partitions[i], records[i].event_time_ms));
    for run in order.chunk_by(|&a, &b| partitions[a] == partitions[b]) {
        let partition = partitions[run[0]];
        let records: Vec<&Record<'_>> = run.iter().map(|&i| &records[i]).collect();
        let mut hasher = InputHasher::new();
        hasher.part(source).part(partition.path());
        let mut origin: Option<(&str, &str, &str)> = None;
        for record in &records {
            // The origin is hashed where it changes: once per payload in the usual case.
            let this = (record.account_id.as_ref(), record.log_group.as_ref(), record.log_stream.as_ref());
            if origin != Some(this) {
                hasher.part("origin").part(this.0).part(this.1).part(this.2);
                origin = Some(this);
            }
            hasher.part(record.event_id.as_ref());
        }
        let key = layout::staging_key(&partition, source, name, &hasher.hex(24));
        write_object(&records, partition, key, config, store, report).await?;
    }
    Ok(())
}

/// Encodes `records` (one partition) as one Parquet object, writes it under `key`, and counts it.
pub async fn write_object(
    records: &[&Record<'_>],
    partition: Partition,
    key: String,
    config: &PipelineConfig,
    store: &dyn ObjectStore,
    report: &mut IngestReport,
) -> Result<(), IngestError> {
    let body = encode_parquet(records, config.zstd_level)?;
    let bytes = body.len();
    store.put(&key, body).await?;
    report.count_delivered(records.iter().copied());
    report.parquet_bytes += bytes;
    report.objects.push(WrittenObject { key, partition: partition.path(), records: records.len(), bytes });
    Ok(())
}

/// The partition of every record. Zone offsets and their changes fall on quarter hours, so one
/// zone conversion per quarter hour of event time is enough (records mostly come in time order).
pub fn partitions_of(records: &[Record<'_>], zone: chrono_tz::Tz) -> Vec<Partition> {
    const QUARTER_HOUR_MS: i64 = 15 * 60 * 1000;
    let mut last: Option<(i64, Partition)> = None;
    records
        .iter()
        .map(|record| {
            let quarter = record.event_time_ms.div_euclid(QUARTER_HOUR_MS);
            match last {
                Some((q, partition)) if q == quarter => partition,
                _ => {
                    let partition = Partition::of(record.event_time_ms, zone);
                    last = Some((quarter, partition));
                    partition
                }
            }
        })
        .collect()
}

/// Why an input was rejected, in the words of the decoder that refused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// A stable, machine-readable name (`corrupt_gzip`, `kpl_checksum` …).
    pub kind: &'static str,
    pub reason: String,
}

impl From<TooLarge> for Rejection {
    fn from(error: TooLarge) -> Rejection {
        Rejection { kind: error.kind(), reason: error.to_string() }
    }
}

impl From<&DecodeError> for Rejection {
    fn from(error: &DecodeError) -> Rejection {
        Rejection { kind: error.kind(), reason: error.to_string() }
    }
}

/// The body of an `errors/` object: why, when, where from, and the raw input exactly as received.
#[derive(Debug, Serialize)]
struct DeadLetterBody<'a> {
    source: &'a str,
    error_kind: &'static str,
    reason: &'a str,
    received_at_ms: i64,
    /// Where the input came from (for Kinesis: stream, shard, sequence number, partition key).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    origin: BTreeMap<&'static str, &'a str>,
    input_bytes: usize,
    /// How `raw` is encoded: the input is kept as the base64 it came in.
    raw_encoding: &'static str,
    raw: &'a str,
}

/// Writes undecodable input to `errors/` under a key derived from its origin and the input
/// itself, so a retry rewrites the same dead letter.
pub async fn dead_letter(
    store: &dyn ObjectStore,
    source: &str,
    rejection: &Rejection,
    origin: &[(&'static str, &str)],
    raw_base64: &str,
    ingest_time_ms: i64,
) -> Result<DeadLetter, StorageError> {
    let mut hasher = InputHasher::new();
    hasher.part(source);
    for (name, value) in origin {
        hasher.part(name).part(value);
    }
    let key = layout::dead_letter_key(source, &hasher.part(raw_base64).hex(32));
    let body = DeadLetterBody {
        source,
        error_kind: rejection.kind,
        reason: &rejection.reason,
        received_at_ms: ingest_time_ms,
        origin: origin.iter().copied().collect(),
        input_bytes: raw_base64.len(),
        raw_encoding: "base64",
        raw: raw_base64,
    };
    // Serializing a struct of strings and integers cannot fail.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    store.put(&key, bytes).await?;
    tracing::warn!(source, kind = rejection.kind, key = %key, reason = %rejection.reason, input_bytes = raw_base64.len(), "input dead-lettered");
    Ok(DeadLetter { key, kind: rejection.kind, reason: rejection.reason.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::line::{LineContext, LineFormatChoice, normalize_line};

    /// The quarter-hour cache must give what a conversion per record gives, across a DST change,
    /// in 30- and 45-minute zones, and for records out of time order.
    #[test]
    fn cached_partitions_equal_a_conversion_per_record() {
        let ctx = LineContext {
            source: "cloudwatch",
            account_id: "1".into(),
            region: "r".into(),
            log_group: "g".into(),
            log_stream: "s".into(),
            ingest_time_ms: 1_900_000_000_000,
            max_event_time_skew_secs: 0,
            envelope: vec![],
            line_format: &LineFormatChoice::Auto,
        };
        // 2026-03-08T06:00Z, two hours before New York springs forward (07:00Z), minute by minute,
        // then the same minutes shuffled.
        let start = 1_772_949_600_000i64;
        let mut times: Vec<i64> = (0..240).map(|m| start + m * 60_000 + (m % 7) * 1_000).collect();
        times.extend((0..240).rev().map(|m| start + m * 61_000));
        let records: Vec<Record<'_>> = times.iter().map(|&t| normalize_line(&ctx, "id".into(), Some(t), "x")).collect();
        assert!(records.iter().zip(&times).all(|(r, t)| r.event_time_ms == *t));
        for zone in [chrono_tz::America::New_York, chrono_tz::Asia::Kolkata, chrono_tz::Asia::Kathmandu, chrono_tz::UTC]
        {
            let cached = partitions_of(&records, zone);
            for (record, partition) in records.iter().zip(cached) {
                assert_eq!(partition, Partition::of(record.event_time_ms, zone), "{zone} at {}", record.event_time_ms);
            }
        }
    }
}
