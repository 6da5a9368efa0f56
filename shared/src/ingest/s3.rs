//! The log objects AWS services deliver to S3 (ALB, CloudTrail, VPC flow logs, CloudFront …),
//! named by object-created notifications that arrive through SQS, into staging on the one
//! pipeline.
//!
//! Exactly once from at-least-once notifications:
//!
//! - Each object is read as a stream of **chunks** of whole lines ([`ObjectText`]); a chunk's
//!   lines are parsed, written as staging objects and forgotten before the next is decoded.
//!   Chunks fall where the text says, so a repeated notification makes the same chunks.
//! - A line's `event_id` is `<object hash>:<line index>` (CloudTrail records:
//!   `<object hash>:<line index>:<record index>`), the object hash being of its bucket, key and
//!   content identity (version id, else ETag). Staging keys are hashes of those ids
//!   ([`write_staging`]), so a redelivered or retried notification rewrites the same objects,
//!   and an overwritten object (a new ETag) is read anew under new ids.
//! - Reads are pinned to the notified content (`versionId`, else `If-Match` on the ETag): an
//!   object deleted or overwritten since is a dead letter `object_gone`, never a mix of two.
//! - An object that cannot be finished before the invocation's deadline leaves a **progress**
//!   object (`_loglake/ingest-s3/progress/<object hash>.json`: lines and decoded bytes done) and
//!   its message is reported for retry; the next delivery continues from there — a plain object
//!   from that byte, a gzip object by decoding and dropping what was done — without writing any
//!   of it again. The progress object is deleted when the object is done.
//! - A message whose body is no S3 notification, and an object that cannot be read (unknown
//!   layout and content, binary, truncated or corrupt gzip, over a bound, gone, unreadable) is a
//!   dead letter; lines before the failure land. Only what a retry can fix (a failed write to the
//!   lake, a source read that failed in transit, the deadline) reports the message for retry.

use std::borrow::Cow;
use std::time::Instant;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::config::PipelineConfig;
use crate::decode::s3_notification::{CreatedObject, parse_message_body};
use crate::decode::s3_object::{Chunk, ObjectLimits, ObjectLogKind, ObjectText, is_gzip, key_layout};
use crate::ingest::kinesis::{BatchItemFailure, BatchResponse};
use crate::ingest::report::IngestReport;
use crate::ingest::write::{IngestError, Rejection, dead_letter, write_staging};
use crate::lake::layout::{self, InputHasher};
use crate::lake::record::{LineFormat, Record};
use crate::lake::source::{ObjectSource, SourceError, SourceObject};
use crate::lake::storage::{ObjectStore, StorageError};
use crate::parse::formats::cloudfront::CloudFrontFields;
use crate::parse::formats::cloudtrail;
use crate::parse::formats::vpc_flow::FlowFields;
use crate::parse::line::{LineContext, LineFormatChoice, normalize_line, normalize_line_as};

pub const SOURCE_S3: &str = "s3";

/// Bytes of an object per ranged GET.
pub const RANGE_BYTES: u64 = 4 * 1024 * 1024;

/// A service log line's own time is its event time when within a day of the object's creation:
/// AWS services deliver within minutes (CloudTrail within about 15), and a log a person copies
/// into the bucket later keeps the times of its lines.
pub const OBJECT_EVENT_TIME_SKEW_SECS: i64 = 24 * 3600;

/// The event of an SQS event source mapping.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SqsMessage {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}

/// Limits of one batch.
#[derive(Debug, Clone)]
pub struct S3Options {
    pub limits: ObjectLimits,
    /// Stop writing (saving progress, reporting the rest for retry) once this has passed. The
    /// first chunk of an invocation is always written, so every invocation makes progress.
    pub deadline: Option<Instant>,
    pub range_bytes: u64,
}

impl S3Options {
    pub fn new(limits: ObjectLimits) -> S3Options {
        S3Options { limits, deadline: None, range_bytes: RANGE_BYTES }
    }
}

/// A message left for SQS to deliver again.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RetryMessage {
    pub message_id: String,
    pub error_type: &'static str,
    pub reason: String,
}

/// What one batch did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct S3Report {
    #[serde(flatten)]
    pub ingest: IngestReport,
    /// Objects read to their end (or to a dead letter).
    pub objects_read: usize,
    /// Objects that hold no logs (CloudTrail digests, folder markers).
    pub objects_skipped: usize,
    /// Notifications that create nothing to read (test events, removals …).
    pub events_skipped: usize,
    /// Objects left unfinished at the deadline, to continue when their message comes again.
    pub objects_continued: usize,
    pub retry: Vec<RetryMessage>,
}

impl S3Report {
    /// The function's response: the messages SQS must deliver again (`ReportBatchItemFailures`).
    pub fn response(&self) -> BatchResponse {
        BatchResponse {
            batch_item_failures: self
                .retry
                .iter()
                .map(|retry| BatchItemFailure { item_identifier: retry.message_id.clone() })
                .collect(),
        }
    }
}

/// Why a message is left for retry.
enum Stop {
    Storage(IngestError),
    Source(SourceError),
    Deadline,
}

impl Stop {
    fn error_type(&self) -> &'static str {
        match self {
            Stop::Storage(error) => error.error_type(),
            Stop::Source(_) => "Loglake.SourceUnavailable",
            Stop::Deadline => "Loglake.Continued",
        }
    }

    fn reason(&self) -> String {
        match self {
            Stop::Storage(error) => error.to_string(),
            Stop::Source(error) => error.to_string(),
            Stop::Deadline => "the invocation's deadline came first; progress saved, continued on redelivery".into(),
        }
    }
}

impl From<StorageError> for Stop {
    fn from(error: StorageError) -> Stop {
        Stop::Storage(IngestError::Storage(error))
    }
}

impl From<IngestError> for Stop {
    fn from(error: IngestError) -> Stop {
        Stop::Storage(error)
    }
}

/// Everything an invocation's objects share.
struct Run<'a> {
    config: &'a PipelineConfig,
    options: &'a S3Options,
    ingest_time_ms: i64,
    store: &'a dyn ObjectStore,
    source: &'a dyn ObjectSource,
    /// Chunks written by this invocation (the first is always written, deadline or not).
    chunks_written: usize,
}

impl Run<'_> {
    fn past_deadline(&self) -> bool {
        self.chunks_written > 0 && self.options.deadline.is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// Ingests one SQS batch. Never fails as a whole: bad messages and objects are dead-lettered,
/// and a message that a retry can finish is in [`S3Report::retry`].
pub async fn ingest_sqs_batch(
    event: &SqsEvent,
    config: &PipelineConfig,
    options: &S3Options,
    ingest_time_ms: i64,
    store: &dyn ObjectStore,
    source: &dyn ObjectSource,
) -> S3Report {
    let mut report = S3Report::default();
    let mut run = Run { config, options, ingest_time_ms, store, source, chunks_written: 0 };
    for message in &event.records {
        report.ingest.payloads += 1;
        let outcome = if run.past_deadline() {
            Err(Stop::Deadline)
        } else {
            ingest_message(message, &mut run, &mut report).await
        };
        if let Err(stop) = outcome {
            if matches!(stop, Stop::Deadline) {
                tracing::info!(message_id = %message.message_id, "left for redelivery at the deadline");
            } else {
                tracing::error!(message_id = %message.message_id, error_type = stop.error_type(), reason = %stop.reason(), "message left for retry");
            }
            report.retry.push(RetryMessage {
                message_id: message.message_id.clone(),
                error_type: stop.error_type(),
                reason: stop.reason(),
            });
        }
    }
    report
}

async fn ingest_message(message: &SqsMessage, run: &mut Run<'_>, report: &mut S3Report) -> Result<(), Stop> {
    let notification = match parse_message_body(&message.body) {
        Ok(notification) => notification,
        Err(error) => {
            let rejection = Rejection { kind: error.kind(), reason: error.to_string() };
            let origin = [("message_id", message.message_id.as_str())];
            let raw = base64::engine::general_purpose::STANDARD.encode(&message.body);
            let letter = dead_letter(run.store, SOURCE_S3, &rejection, &origin, &raw, run.ingest_time_ms).await?;
            report.ingest.dead_letters.push(letter);
            return Ok(());
        }
    };
    report.events_skipped += notification.skipped_events.len();
    for object in &notification.created {
        ingest_object(object, message, run, report).await?;
    }
    Ok(())
}

/// Reads one object to its end or to a dead letter, continuing where an earlier invocation left
/// it; its progress object goes once it is done.
async fn ingest_object(
    object: &CreatedObject,
    message: &SqsMessage,
    run: &mut Run<'_>,
    report: &mut S3Report,
) -> Result<(), Stop> {
    let layout = key_layout(&object.key);
    if object.key.ends_with('/') || layout.kind == ObjectLogKind::CloudTrailDigest {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = layout.kind.as_str(), "object holds no logs; skipped");
        report.objects_skipped += 1;
        return Ok(());
    }
    let object_hash = InputHasher::new().part(&object.bucket).part(&object.key).part(object.content_identity()).hex(20);
    let progress_key = layout::s3_progress_key(&object_hash);
    let progress: Option<Progress> = match run.store.get_versioned(&progress_key).await? {
        Some((body, _)) => serde_json::from_slice(&body).ok(),
        None => None,
    };
    let log_group = match layout.origin.trim_matches('/') {
        "" => format!("s3://{}", object.bucket),
        origin => format!("s3://{}/{origin}", object.bucket),
    };
    let mut state = ObjectRun {
        object,
        message,
        kind: layout.kind,
        account_id: layout.account_id.or(object.account_id.as_deref()).unwrap_or(""),
        region: layout.region.or(object.region.as_deref()).unwrap_or(run.config.region.as_str()),
        log_group,
        header_line: progress.as_ref().and_then(|p| p.header_line.clone()),
        object_hash,
    };
    state.read(progress.as_ref(), run, report).await?;
    if progress.is_some() {
        run.store.delete(&progress_key).await?;
    }
    report.objects_read += 1;
    Ok(())
}

/// Where an unfinished object continues.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Progress {
    gzip: bool,
    /// Lines and decoded bytes written.
    lines: u64,
    bytes: u64,
    /// The last header line (a flow log's, a CloudFront `#Fields`), which names the order of the
    /// fields of the lines after it.
    #[serde(default)]
    header_line: Option<String>,
}

/// One object being read: what its lines' records say about their origin, and how far it got.
struct ObjectRun<'o> {
    object: &'o CreatedObject,
    message: &'o SqsMessage,
    kind: ObjectLogKind,
    object_hash: String,
    account_id: &'o str,
    region: &'o str,
    log_group: String,
    header_line: Option<String>,
}

impl ObjectRun<'_> {
    /// Reads the object (from where `progress` says) to its end or to a dead letter.
    async fn read(
        &mut self,
        progress: Option<&Progress>,
        run: &mut Run<'_>,
        report: &mut S3Report,
    ) -> Result<(), Stop> {
        let object = self.object;
        let source_object = SourceObject {
            bucket: &object.bucket,
            key: &object.key,
            version_id: object.version_id.as_deref(),
            etag: object.etag.as_deref(),
        };
        // A plain object continues from the byte where it stopped; a gzip one is decoded again from
        // its start, dropping what was done.
        let mut position = progress.filter(|p| !p.gzip).map_or(0, |p| p.bytes);
        let mut text: Option<ObjectText> = None;
        loop {
            let range = position..position + run.options.range_bytes;
            let bytes = match run.source.read_range(&source_object, range).await {
                Ok(bytes) => bytes,
                Err(error @ SourceError::Retryable { .. }) => return Err(Stop::Source(error)),
                Err(error) => {
                    self.dead_letter(run, report, error.kind(), error.to_string(), 0).await?;
                    return Ok(());
                }
            };
            let at_end = (bytes.len() as u64) < run.options.range_bytes;
            position += bytes.len() as u64;
            report.ingest.input_bytes += bytes.len();
            let text = match &mut text {
                Some(text) => text,
                None if bytes.is_empty() && progress.is_none() => {
                    self.dead_letter(run, report, "empty_object", "the object is empty".into(), 0).await?;
                    return Ok(());
                }
                None => {
                    let gzip = progress.map_or_else(|| is_gzip(&bytes), |p| p.gzip);
                    // A CloudTrail file is one JSON document, on one line as CloudTrail writes
                    // it, across many when a person pretty-printed it: read it whole.
                    let limits = match self.kind {
                        ObjectLogKind::CloudTrail => {
                            ObjectLimits { chunk_bytes: run.options.limits.max_line_bytes, ..run.options.limits }
                        }
                        _ => run.options.limits,
                    };
                    let mut fresh = ObjectText::new(gzip, limits);
                    if let Some(p) = progress {
                        fresh.resume_at(p.lines, p.bytes, gzip);
                    }
                    text.insert(fresh)
                }
            };
            let mut input = bytes.as_slice();
            while !input.is_empty() {
                let used = text.feed(input);
                input = &input[used..];
                if !self.write_chunks(text, run, report).await? {
                    return Ok(());
                }
                if used == 0 {
                    break;
                }
            }
            if at_end {
                text.end();
                if !self.write_chunks(text, run, report).await? {
                    return Ok(());
                }
                break;
            }
        }
        Ok(())
    }

    /// Writes every chunk the text has ready. False when the object ended in a dead letter.
    async fn write_chunks(
        &mut self,
        text: &mut ObjectText,
        run: &mut Run<'_>,
        report: &mut S3Report,
    ) -> Result<bool, Stop> {
        loop {
            let chunk = match text.next_chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(true),
                Err(error) => {
                    let (lines, _) = text.position();
                    self.dead_letter(run, report, error.kind(), error.to_string(), lines).await?;
                    return Ok(false);
                }
            };
            if run.past_deadline() {
                // Not written: the chunk is made again when the message comes back.
                let (lines, bytes) = (chunk.first_line, chunk.offset);
                let progress = Progress { gzip: text.is_gzip(), lines, bytes, header_line: self.header_line.clone() };
                let body = serde_json::to_vec(&progress).unwrap_or_default();
                run.store.put(&layout::s3_progress_key(&self.object_hash), body).await?;
                report.objects_continued += 1;
                return Err(Stop::Deadline);
            }
            if !self.write_chunk(&chunk, run, report).await? {
                return Ok(false);
            }
        }
    }

    /// Parses and writes one chunk. False when the object turned out to be of no known type.
    async fn write_chunk(&mut self, chunk: &Chunk, run: &mut Run<'_>, report: &mut S3Report) -> Result<bool, Stop> {
        let line_format = run.config.line_formats.for_log_group(&self.log_group);
        // The first line of an object of no known layout must be a format loglake reads (judged
        // in the object's first chunk; a continuation starts past it).
        let judge_first_line = chunk.first_line == 0 && self.kind == ObjectLogKind::Unknown;
        let ctx = LineContext {
            source: SOURCE_S3,
            account_id: Cow::Borrowed(self.account_id),
            region: Cow::Borrowed(self.region),
            log_group: Cow::Borrowed(self.log_group.as_str()),
            log_stream: Cow::Borrowed(self.object.key.as_str()),
            ingest_time_ms: run.ingest_time_ms,
            max_event_time_skew_secs: run.config.max_event_time_skew_secs.max(OBJECT_EVENT_TIME_SKEW_SECS),
            envelope: Vec::new(),
            line_format,
        };
        // A header line — a flow log's (`version account-id …`, first in every file, and again
        // where files were joined), CloudFront's `#Fields` — names the order of the fields of the
        // lines after it.
        let mut header_format = self.header_line.as_deref().and_then(header_format_of);
        let created_ms = self.object.event_time_ms;
        let mut records: Vec<Record<'_>> = Vec::new();
        // A CloudTrail file pretty-printed across lines is one document: read as one line 0.
        let pretty_document = match self.kind {
            ObjectLogKind::CloudTrail if chunk.first_line == 0 && chunk.text.trim_end().contains('\n') => {
                Some(chunk.text.trim()).filter(|document| is_one_json_object(document))
            }
            _ => None,
        };
        let lines: Box<dyn Iterator<Item = (u64, &str)>> = match pretty_document {
            Some(document) => Box::new(std::iter::once((0, document))),
            None => Box::new(chunk.text.split('\n').enumerate().map(|(i, line)| (chunk.first_line + i as u64, line))),
        };
        for (line_index, line) in lines {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            report.ingest.log_events += 1;
            // A `Records` array (a CloudTrail file), or one record alone (as the documentation
            // shows events, pretty-printed): a record per element.
            let elements = cloudtrail::records_array(line).or_else(|| pretty_document.map(|document| vec![document]));
            if let Some(elements) = elements {
                report.ingest.split_records += elements.len().saturating_sub(1);
                for (element_index, element) in elements.into_iter().enumerate() {
                    let id = Cow::Owned(format!("{}:{line_index}:{element_index}", self.object_hash));
                    records.push(normalize_line(&ctx, id, created_ms, element));
                }
                continue;
            }
            let id = Cow::Owned(format!("{}:{line_index}", self.object_hash));
            if matches!(line_format, LineFormatChoice::Auto)
                && self.kind.may_have_header_lines()
                && let Some(format) = header_format_of(line)
            {
                let flow = matches!(format, LineFormatChoice::VpcFlow(_));
                header_format = Some(format);
                self.header_line = Some(line.to_owned());
                let mut record = normalize_line(&ctx, id, created_ms, line);
                if flow {
                    record.attributes.push((Cow::Borrowed("flow_log_header"), Cow::Borrowed("true")));
                }
                records.push(record);
                continue;
            }
            let record = match &header_format {
                Some(format) => normalize_line_as(&ctx, format, id, created_ms, line),
                None => normalize_line(&ctx, id, created_ms, line),
            };
            records.push(record);
        }
        if judge_first_line
            && matches!(line_format, LineFormatChoice::Auto)
            && records.first().is_some_and(|r| r.format == LineFormat::Text)
        {
            let reason = format!(
                "the key matches no known layout and its first line is no format loglake reads; \
                 name the format for log group {:?} in LOGLAKE_LOG_FORMATS to read it anyway",
                self.log_group
            );
            self.dead_letter(run, report, "unknown_log_type", reason, 0).await?;
            return Ok(false);
        }
        report.ingest.decompressed_bytes += chunk.text.len();
        write_staging(records, SOURCE_S3, &self.object.bucket, run.config, run.store, &mut report.ingest).await?;
        run.chunks_written += 1;
        Ok(true)
    }

    /// The rest of the object from `from_line` as a dead letter: the notification (as received)
    /// and where it points, with the reason.
    async fn dead_letter(
        &self,
        run: &Run<'_>,
        report: &mut S3Report,
        kind: &'static str,
        reason: String,
        from_line: u64,
    ) -> Result<(), Stop> {
        let from_line = from_line.to_string();
        let origin = [
            ("message_id", self.message.message_id.as_str()),
            ("bucket", self.object.bucket.as_str()),
            ("key", self.object.key.as_str()),
            ("content_identity", self.object.content_identity()),
            ("from_line_index", from_line.as_str()),
        ];
        let raw = base64::engine::general_purpose::STANDARD.encode(&self.message.body);
        let rejection = Rejection { kind, reason };
        let letter = dead_letter(run.store, SOURCE_S3, &rejection, &origin, &raw, run.ingest_time_ms).await?;
        report.ingest.dead_letters.push(letter);
        Ok(())
    }
}

/// The format a header line names for the lines after it: a flow log's field list, or a
/// CloudFront `#Fields` line in another than the documented order.
fn header_format_of(line: &str) -> Option<LineFormatChoice> {
    if let Some(fields) = FlowFields::from_header(line) {
        return Some(LineFormatChoice::VpcFlow(fields));
    }
    CloudFrontFields::from_header(line).map(LineFormatChoice::CloudFront)
}

/// Whether `text` is one JSON object (and nothing else).
fn is_one_json_object(text: &str) -> bool {
    serde_json::from_str::<&serde_json::value::RawValue>(text).is_ok_and(|raw| raw.get().starts_with('{'))
}
