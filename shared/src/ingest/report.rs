//! What one invocation did: the function's response and what the CLI prints.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lake::record::{LineFormat, Record};
use crate::metrics::{Measurement, Metric};
use crate::parse::line::FLOW_LOG_ORDER_UNKNOWN;

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
    /// Log events of loglake's own log groups (`/loglake/…`), never ingested.
    #[serde(skip_serializing_if = "is_zero")]
    pub own_log_events: usize,
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
    /// Records that look like VPC flow records in a custom field order loglake does not know
    /// (stored as `text` with `flow_log_order=unknown`): their log group needs
    /// `vpc_flow:<fields>` in `LOGLAKE_LOG_FORMATS`.
    #[serde(skip_serializing_if = "is_zero")]
    pub flow_log_order_unknown: usize,
    pub objects: Vec<WrittenObject>,
    pub dead_letters: Vec<DeadLetter>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl IngestReport {
    /// Counts records that reached the lake (or, for Firehose, the response): records, message
    /// bytes and records per format.
    pub fn count_delivered<'r, 'a: 'r>(&mut self, records: impl IntoIterator<Item = &'r Record<'a>>) {
        for record in records {
            *self.formats.entry(record.format.as_str()).or_default() += 1;
            if record.format == LineFormat::Text
                && record.attributes.iter().any(|(k, v)| (k.as_ref(), v.as_ref()) == FLOW_LOG_ORDER_UNKNOWN)
            {
                self.flow_log_order_unknown += 1;
            }
            self.message_bytes += record.message.len();
            self.records += 1;
        }
    }

    /// Whether the invocation held nothing but loglake's own log events (and wrote nothing).
    pub fn only_own_logs(&self) -> bool {
        self.own_log_events > 0 && self.records == 0 && self.objects.is_empty() && self.dead_letters.is_empty()
    }

    /// The metrics of this invocation ([`crate::metrics`]). An invocation that only skipped
    /// loglake's own log events measures nothing: a line it printed would be a log event that a
    /// subscription could deliver to another stack, whose invocation would print one back.
    pub fn measurement(&self, at_ms: i64) -> Measurement {
        if self.only_own_logs() {
            return Measurement::new(at_ms, Vec::new());
        }
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
        self.own_log_events += other.own_log_events;
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
