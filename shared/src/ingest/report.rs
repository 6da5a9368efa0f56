//! What one invocation did: the function's response and what the CLI prints.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lake::record::Record;
use crate::metrics::{Measurement, Metric};

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

    /// The metrics of this invocation ([`crate::metrics`]).
    pub fn measurement(&self, at_ms: i64) -> Measurement {
        Measurement::new(
            at_ms,
            vec![
                (Metric::RecordsWritten, self.records as f64),
                (Metric::MessageBytes, self.message_bytes as f64),
                (Metric::DeadLetters, self.dead_letters.len() as f64),
            ],
        )
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
