//! ingest-kinesis: a Kinesis Data Streams event source mapping invokes this function with a
//! batch of records from one shard; the shared pipeline writes them as staging Parquet and the
//! response names the record Lambda must retry from, if any (`ReportBatchItemFailures`).
//!
//! The handler never fails the invocation: a failed invocation makes Lambda retry (and, with
//! bisect on error, split) the whole batch, while a reported item retries only from a clean cut.

use std::time::{Duration, Instant};

use loglake::function::now_ms;
pub use loglake::function::{FunctionConfig as Config, State};
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, KinesisReport, ingest_kinesis_batch};

/// Writing stops this long before the invocation's deadline (at most a fifth of the time the
/// invocation has), so the batch ends with a clean cut reported for retry rather than a timeout
/// that retries it whole.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// When to stop writing, from the invocation deadline (ms since the epoch): [`DEADLINE_MARGIN`]
/// before it ([`loglake::function::stop_writing_at`]).
pub fn stop_writing_at(deadline_ms: u64, now_ms: i64) -> Option<Instant> {
    loglake::function::stop_writing_at(deadline_ms, now_ms, DEADLINE_MARGIN)
}

/// Handles one batch. Bad records are dead-lettered; a storage failure ends the batch with the
/// sequence number to retry from in the report (and in its `response()`).
pub async fn handle(state: &State, event: &KinesisEvent, deadline: Option<Instant>) -> KinesisReport {
    handle_at(state, event, now_ms(), &BatchOptions { deadline, ..BatchOptions::default() }).await
}

/// [`handle`] with the arrival time and batch options given, for tests.
pub async fn handle_at(
    state: &State,
    event: &KinesisEvent,
    ingest_time_ms: i64,
    options: &BatchOptions,
) -> KinesisReport {
    let report = ingest_kinesis_batch(event, &state.pipeline, ingest_time_ms, state.store.as_ref(), options).await;
    let ingest = &report.ingest;
    let ms_to_stop = options.deadline.map(|at| at.saturating_duration_since(Instant::now()).as_millis() as u64);
    tracing::info!(
        ms_to_stop,
        kinesis_records = ingest.payloads,
        log_events = ingest.log_events,
        records = ingest.records,
        message_bytes = ingest.message_bytes,
        input_bytes = ingest.input_bytes,
        parquet_bytes = ingest.parquet_bytes,
        objects = ingest.objects.len(),
        dead_letters = ingest.dead_letters.len(),
        control_messages = ingest.control_messages,
        retry_from = report.retry_from.as_ref().map(|r| r.sequence_number.as_str()),
        "ingested"
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_stops_a_margin_before_the_deadline() {
        let now = 1_795_168_900_000;
        let left =
            |deadline_ms: u64| stop_writing_at(deadline_ms, now).unwrap().saturating_duration_since(Instant::now());
        let minute = left(now as u64 + 60_000);
        assert!(minute > Duration::from_secs(54) && minute <= Duration::from_secs(55), "{minute:?}");
        // A short invocation keeps four fifths of its time for writing.
        let short = left(now as u64 + 3_000);
        assert!(short > Duration::from_millis(2_300) && short <= Duration::from_millis(2_400), "{short:?}");
        assert_eq!(left(now as u64 - 1_000), Duration::ZERO);
        // cargo lambda watch sends the timeout itself (600000) where an epoch time belongs.
        assert_eq!(stop_writing_at(600_000, now), None);
    }
}
