//! The one ingest pipeline: decode → normalize → group by partition → encode Parquet → write.
//! Every ingest function calls into here; they differ only in how they unwrap their event.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloudwatch::{self, DecodeError, LogsPayload, MessageType};
use crate::config::LogFormat;
use crate::config::PipelineConfig;
use crate::formats::vpc_flow::FlowFormat;
use crate::keys::{self, InputHasher};
use crate::multiline;
use crate::normalize::{LineContext, normalize_line, normalize_line_as};
use crate::parquet_encode::{EncodeError, encode_parquet};
use crate::partition::Partition;
use crate::record::Record;
use crate::storage::{ObjectStore, StorageError};

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
}

impl IngestError {
    /// The error type a Lambda invocation reports, so that retryable failures can be told
    /// from bugs in metrics and on-failure destinations.
    pub fn error_type(&self) -> &'static str {
        match self {
            IngestError::Storage(_) => "Loglake.StorageError",
            IngestError::Encode(_) => "Loglake.EncodeError",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, IngestError::Storage(_))
    }
}

/// One object written to the lake.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WrittenObject {
    pub key: String,
    pub partition: String,
    pub records: usize,
    pub bytes: usize,
}

/// One input that went to `errors/`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetter {
    pub key: String,
    pub kind: &'static str,
    pub reason: String,
}

/// What one invocation did. This is the function's response and what the CLI prints.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct IngestReport {
    /// Payloads received (one per CloudWatch Logs event).
    pub payloads: usize,
    pub control_messages: usize,
    /// Log events decoded from the payloads.
    pub log_events: usize,
    /// Records written to the lake.
    pub records: usize,
    /// Log events joined to the event above them (lines of a stack trace a stream split).
    pub joined_lines: usize,
    /// Records beyond the first made from log events holding several (CloudTrail `Records`
    /// arrays): `records = log_events - joined_lines + split_records` when nothing failed.
    pub split_records: usize,
    /// Bytes of log message text in the records written.
    pub message_bytes: usize,
    /// Bytes received, as sent (base64 or gzip).
    pub input_bytes: usize,
    pub decompressed_bytes: usize,
    pub parquet_bytes: usize,
    pub formats: BTreeMap<&'static str, usize>,
    pub objects: Vec<WrittenObject>,
    pub dead_letters: Vec<DeadLetter>,
}

impl IngestReport {
    /// Counts records that reached the lake (or, for Firehose, the response): records, message
    /// bytes and records per format.
    pub fn count_delivered<'r, 'a: 'r>(&mut self, records: impl IntoIterator<Item = &'r Record<'a>>) {
        for record in records {
            *self.formats.entry(record.format.as_str()).or_default() += 1;
            self.message_bytes += record.message.len();
            self.records += 1;
        }
    }

    /// Adds another report's counts into this one (the CLI sums over many events).
    pub fn merge(&mut self, other: IngestReport) {
        self.payloads += other.payloads;
        self.control_messages += other.control_messages;
        self.log_events += other.log_events;
        self.records += other.records;
        self.joined_lines += other.joined_lines;
        self.split_records += other.split_records;
        self.message_bytes += other.message_bytes;
        self.input_bytes += other.input_bytes;
        self.decompressed_bytes += other.decompressed_bytes;
        self.parquet_bytes += other.parquet_bytes;
        for (format, n) in other.formats {
            *self.formats.entry(format).or_default() += n;
        }
        self.objects.extend(other.objects);
        self.dead_letters.extend(other.dead_letters);
    }
}

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
    let json = match cloudwatch::decompress_base64(data, config.max_decompressed_bytes) {
        Ok(json) => json,
        Err(error) => return reject(report, store, &error, data, ingest_time_ms).await,
    };
    report.decompressed_bytes = json.len();
    let (kind, payload) = match cloudwatch::parse_payload(&json) {
        Ok(parsed) => parsed,
        Err(error) => return reject(report, store, &error, data, ingest_time_ms).await,
    };
    if kind == MessageType::Control {
        report.control_messages = 1;
        return Ok(report);
    }
    let normalized = normalize_payload(&payload, SOURCE_CLOUDWATCH, config, ingest_time_ms);
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
                .map(|e| cloudwatch::LogEvent {
                    id: Cow::Borrowed(e.id.as_str()),
                    timestamp: serde_json::Number::from(e.timestamp_ms),
                    message: Cow::Borrowed(e.message.as_str()),
                })
                .collect(),
        })
        .collect();
    let mut records: Vec<Record<'_>> = Vec::new();
    for payload in &payloads {
        let normalized = normalize_payload(payload, SOURCE_CLOUDWATCH, config, ingest_time_ms);
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
    error: &DecodeError,
    data: &str,
    ingest_time_ms: i64,
) -> Result<IngestReport, IngestError> {
    let rejection = Rejection::from(error);
    report.dead_letters.push(dead_letter(store, SOURCE_CLOUDWATCH, &rejection, &[], data, ingest_time_ms).await?);
    Ok(report)
}

/// The records of a DATA_MESSAGE, and how their number differs from its log events'.
#[derive(Debug, Default)]
pub struct NormalizedPayload<'a> {
    pub records: Vec<Record<'a>>,
    /// Events joined to the event above them (lines a stream split from one event).
    pub joined_lines: usize,
    /// Records beyond the first made from events holding several (CloudTrail `Records` arrays).
    pub split_records: usize,
}

impl NormalizedPayload<'_> {
    /// Adds the counts to a report (the records are counted when delivered).
    pub fn count(&self, report: &mut IngestReport, log_events: usize) {
        report.log_events += log_events;
        report.joined_lines += self.joined_lines;
        report.split_records += self.split_records;
    }
}

/// Turns every log event of a DATA_MESSAGE into records: one per event, except that lines a
/// stream split from one event are joined (runtime log groups, [`multiline`]) and a CloudTrail
/// `Records` array becomes one record per element (ids `<event id>:<index>`, each element's
/// JSON as its message). `source` is how the payload came: straight from the subscription, or
/// through a Kinesis / Firehose stream.
pub fn normalize_payload<'a>(
    payload: &'a LogsPayload<'a>,
    source: &'static str,
    config: &'a PipelineConfig,
    ingest_time_ms: i64,
) -> NormalizedPayload<'a> {
    let mut envelope = Vec::new();
    match payload.subscription_filters.as_slice() {
        [] => {}
        [one] => envelope.push((Cow::Borrowed("subscription_filters"), Cow::Borrowed(one.as_ref()))),
        many => envelope.push((Cow::Borrowed("subscription_filters"), Cow::Owned(many.join(",")))),
    }
    if let Some(level) = &payload.policy_level {
        envelope.push((Cow::Borrowed("policy_level"), Cow::Borrowed(level.as_ref())));
    }
    let ctx = LineContext {
        source,
        account_id: Cow::Borrowed(payload.owner.as_ref()),
        region: Cow::Borrowed(config.region.as_str()),
        log_group: Cow::Borrowed(payload.log_group.as_ref()),
        log_stream: Cow::Borrowed(payload.log_stream.as_ref()),
        ingest_time_ms,
        max_event_time_skew_secs: config.max_event_time_skew_secs,
        envelope,
        log_format: config.log_formats.for_log_group(payload.log_group.as_ref()),
    };
    let events = &payload.log_events;
    let groups = if config.multiline.for_log_group(&payload.log_group) {
        multiline::groups(events.iter().map(|e| e.message.as_ref()))
    } else {
        (0..events.len()).map(|first| multiline::Group { first, lines: 1, orphan: false }).collect()
    };
    let mut out = NormalizedPayload { records: Vec::with_capacity(events.len()), ..NormalizedPayload::default() };
    // A flow log header line (`version srcaddr …`, as at the top of flow log files) names the
    // field order of the lines after it in this payload.
    let mut header_format: Option<LogFormat> = None;
    for group in groups {
        let event = &events[group.first];
        if matches!(ctx.log_format, LogFormat::Auto | LogFormat::VpcFlow(_))
            && let Some(fields) = FlowFormat::from_header(event.message.as_ref())
        {
            header_format = Some(LogFormat::VpcFlow(fields));
            let mut record =
                normalize_line(&ctx, Cow::Borrowed(event.id.as_ref()), event.timestamp_ms(), event.message.as_ref());
            record.attributes.push((Cow::Borrowed("flow_log_header"), Cow::Borrowed("true")));
            out.records.push(record);
            continue;
        }
        let log_format = header_format.as_ref().unwrap_or(ctx.log_format);
        if group.lines == 1
            && let Some(elements) = crate::formats::cloudtrail::records_array(event.message.as_ref())
        {
            out.split_records += elements.len().saturating_sub(1);
            for (index, element) in elements.into_iter().enumerate() {
                let id = Cow::Owned(format!("{}:{index}", event.id));
                out.records.push(normalize_line(&ctx, id, event.timestamp_ms(), element));
            }
            continue;
        }
        let id = Cow::Borrowed(event.id.as_ref());
        let mut record = normalize_line_as(&ctx, log_format, id, event.timestamp_ms(), event.message.as_ref());
        if group.lines > 1 {
            // Lines a stream split from one event: the first line's record, with the whole text.
            let lines = &events[group.first..group.first + group.lines];
            let text: Vec<&str> = lines.iter().map(|e| e.message.trim_end_matches(['\n', '\r'])).collect();
            record.message = Cow::Owned(text.join("\n"));
            record.attributes.push((Cow::Borrowed("multiline_lines"), Cow::Owned(group.lines.to_string())));
            out.joined_lines += group.lines - 1;
        }
        if group.orphan {
            record.attributes.push((Cow::Borrowed("multiline"), Cow::Borrowed("continuation")));
        }
        out.records.push(record);
    }
    out
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
        let key = keys::staging_key(&partition, source, name, &hasher.hex(24));
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
    let key = keys::dead_letter_key(source, &hasher.part(raw_base64).hex(32));
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
    use crate::normalize::{LineContext, normalize_line};

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
            log_format: &crate::config::LogFormat::Auto,
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
