//! ingest-s3: an SQS event source mapping invokes this function with S3 object-created
//! notifications (S3 → SQS, S3 → SNS → SQS, S3 → EventBridge → SQS); the shared pipeline reads
//! each named log object as a stream and writes its lines as staging Parquet
//! ([`loglake::ingest::s3`]). The response names the messages SQS must deliver again
//! (`ReportBatchItemFailures`).
//!
//! The handler never fails the invocation: a failed invocation would make SQS deliver the whole
//! batch again, while a reported message is delivered again alone.

use std::time::{Duration, Instant};

use loglake::config::{ConfigError, PipelineConfig, number_setting};
use loglake::decode::s3_object::ObjectLimits;
use loglake::function::{FunctionConfig, now_ms};
use loglake::ingest::s3::{S3Options, S3Report, SqsEvent, ingest_sqs_batch};
use loglake::lake::source::{ObjectSource, S3Source};
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config};

pub mod vars {
    /// Set by Lambda: the function's memory, from which the bounds per object are derived.
    pub const MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    pub const MAX_OBJECT_BYTES: &str = "LOGLAKE_S3_MAX_OBJECT_BYTES";
    pub const MAX_LINE_BYTES: &str = "LOGLAKE_S3_MAX_LINE_BYTES";
    pub const MAX_OBJECT_LINES: &str = "LOGLAKE_S3_MAX_OBJECT_LINES";
    /// The settings of this function besides the shared ones (the template may set these).
    pub const ALL: &[&str] = &[MAX_OBJECT_BYTES, MAX_LINE_BYTES, MAX_OBJECT_LINES];
}

/// The memory assumed where Lambda does not say (the CLI, tests): the template's size.
pub const DEFAULT_MEMORY_MB: i64 = 256;

/// Writing stops this long before the invocation's deadline (at most a fifth of the time): the
/// object in hand saves its progress and its message is delivered again.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub lake: FunctionConfig,
    pub limits: ObjectLimits,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let lake = FunctionConfig::from_lookup_into(&lookup, &mut problems);
        let limits = object_limits(&lookup, &mut problems);
        if problems.is_empty() { Ok(Config { lake, limits }) } else { Err(ConfigError { problems }) }
    }
}

/// The bounds per object: derived from the function's memory, each one settable.
pub fn object_limits(lookup: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> ObjectLimits {
    let memory_mb =
        number_setting(lookup(vars::MEMORY_SIZE), vars::MEMORY_SIZE, DEFAULT_MEMORY_MB, 128..=10_240, problems);
    let derived = ObjectLimits::for_memory_mb(memory_mb as u64);
    let mut number = |name: &str, default: u64, range: std::ops::RangeInclusive<i64>| {
        number_setting(lookup(name), name, default as i64, range, problems) as u64
    };
    ObjectLimits {
        max_object_bytes: number(vars::MAX_OBJECT_BYTES, derived.max_object_bytes, 1 << 20..=1 << 40),
        max_line_bytes: number(
            vars::MAX_LINE_BYTES,
            derived.max_line_bytes as u64,
            1 << 10..=derived.max_line_bytes as i64,
        ) as usize,
        max_object_lines: number(vars::MAX_OBJECT_LINES, derived.max_object_lines, 1..=1 << 40),
        chunk_bytes: derived.chunk_bytes,
    }
}

/// What the function keeps between invocations.
pub struct State {
    pub pipeline: PipelineConfig,
    pub limits: ObjectLimits,
    pub store: Box<dyn ObjectStore>,
    pub source: Box<dyn ObjectSource>,
}

impl State {
    /// The production state: the lake's bucket, and every bucket the role may read as source,
    /// through one S3 client (one connection pool).
    pub async fn from_config(config: Config) -> State {
        let store = S3Store::new(&load_aws_config().await, config.lake.bucket, config.lake.force_path_style);
        let source = S3Source::with_client(store.client().clone());
        State {
            pipeline: config.lake.pipeline,
            limits: config.limits,
            store: Box::new(store),
            source: Box::new(source),
        }
    }

    /// A lake's state with objects read from `source` (the `loglake` command, its demo), the
    /// bounds per object read through `lookup`.
    pub fn with_source(
        lake: loglake::function::State,
        source: Box<dyn ObjectSource>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<State, ConfigError> {
        let mut problems = Vec::new();
        let limits = object_limits(&lookup, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(State { pipeline: lake.pipeline, limits, store: lake.store, source })
    }
}

/// When to stop writing, from the invocation deadline (ms since the epoch): [`DEADLINE_MARGIN`]
/// before it ([`loglake::function::stop_writing_at`]).
pub fn stop_writing_at(deadline_ms: u64, now_ms: i64) -> Option<Instant> {
    loglake::function::stop_writing_at(deadline_ms, now_ms, DEADLINE_MARGIN)
}

/// Handles one batch of SQS messages.
pub async fn handle(state: &State, event: &SqsEvent, deadline: Option<Instant>) -> S3Report {
    handle_at(state, event, now_ms(), deadline).await
}

/// [`handle`] with the arrival time given, for tests.
pub async fn handle_at(state: &State, event: &SqsEvent, ingest_time_ms: i64, deadline: Option<Instant>) -> S3Report {
    let options = S3Options { deadline, ..S3Options::new(state.limits) };
    let report =
        ingest_sqs_batch(event, &state.pipeline, &options, ingest_time_ms, state.store.as_ref(), state.source.as_ref())
            .await;
    let ingest = &report.ingest;
    tracing::info!(
        messages = ingest.payloads,
        objects_read = report.objects_read,
        objects_skipped = report.objects_skipped,
        objects_continued = report.objects_continued,
        events_skipped = report.events_skipped,
        log_events = ingest.log_events,
        records = ingest.records,
        message_bytes = ingest.message_bytes,
        input_bytes = ingest.input_bytes,
        decompressed_bytes = ingest.decompressed_bytes,
        parquet_bytes = ingest.parquet_bytes,
        objects = ingest.objects.len(),
        dead_letters = ingest.dead_letters.len(),
        retry = report.retry.len(),
        "ingested"
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use loglake::testing::lookup;

    #[test]
    fn bounds_follow_the_memory_and_each_can_be_set() {
        let config =
            Config::from_lookup(lookup(&[("LOGLAKE_BUCKET", "lake"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")]))
                .unwrap();
        assert_eq!(config.limits, ObjectLimits::for_memory_mb(512));
        let config = Config::from_lookup(lookup(&[
            ("LOGLAKE_BUCKET", "lake"),
            ("LOGLAKE_S3_MAX_LINE_BYTES", "65536"),
            ("LOGLAKE_S3_MAX_OBJECT_LINES", "1000"),
        ]))
        .unwrap();
        assert_eq!((config.limits.max_line_bytes, config.limits.max_object_lines), (65_536, 1_000));
        assert_eq!(config.limits.chunk_bytes, ObjectLimits::for_memory_mb(256).chunk_bytes);
        // A line bound above what the memory allows is refused, with every other problem.
        let error = Config::from_lookup(lookup(&[
            ("LOGLAKE_S3_MAX_LINE_BYTES", "999999999999"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
        ]))
        .unwrap_err()
        .to_string();
        for name in ["LOGLAKE_BUCKET", "LOGLAKE_S3_MAX_LINE_BYTES", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] {
            assert!(error.contains(name), "{name}: {error}");
        }
    }

    #[test]
    fn writing_stops_a_margin_before_the_deadline() {
        let now = 1_795_168_900_000;
        let left =
            |deadline_ms: u64| stop_writing_at(deadline_ms, now).unwrap().saturating_duration_since(Instant::now());
        let minutes = left(now as u64 + 300_000);
        assert!(minutes > Duration::from_secs(289) && minutes <= Duration::from_secs(290), "{minutes:?}");
        assert_eq!(stop_writing_at(600_000, now), None);
    }
}
