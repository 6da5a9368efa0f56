//! firehose-transform: a Firehose delivery stream invokes this function to transform each
//! buffer of records. Every record gets a result — `Ok` with its log records as NDJSON rows of
//! the `logs` table and the `dt` / `hour` partition keys, `Dropped` (control messages, and
//! records delivered straight to staging), or `ProcessingFailed` (undecodable, dead-lettered).

use loglake::function::now_ms;
pub use loglake::function::{FunctionConfig as Config, State};
use loglake::ingest::firehose::{FirehoseEvent, FirehoseReport, FirehoseResponse, TransformOptions, transform_batch};
use loglake::ingest::write::IngestError;

/// Transforms one batch. A failed direct staging write fails the invocation, and Firehose
/// retries the batch.
pub async fn handle(state: &State, event: &FirehoseEvent) -> Result<(FirehoseResponse, FirehoseReport), IngestError> {
    handle_at(state, event, now_ms(), &TransformOptions::default()).await
}

/// [`handle`] with the arrival time and limits given, for tests.
pub async fn handle_at(
    state: &State,
    event: &FirehoseEvent,
    ingest_time_ms: i64,
    options: &TransformOptions,
) -> Result<(FirehoseResponse, FirehoseReport), IngestError> {
    let result = transform_batch(event, &state.pipeline, ingest_time_ms, state.store.as_ref(), options).await;
    match &result {
        Ok((_, report)) => tracing::info!(
            records_in = report.ingest.payloads,
            ok = report.ok,
            dropped = report.dropped,
            processing_failed = report.processing_failed,
            written_to_staging = report.written_to_staging,
            log_events = report.ingest.log_events,
            response_bytes = report.response_bytes,
            staging_objects = report.ingest.objects.len(),
            dead_letters = report.ingest.dead_letters.len(),
            "transformed"
        ),
        Err(error) => {
            tracing::error!(error_type = error.error_type(), error = %error, "transform failed; Firehose retries the batch")
        }
    }
    result
}
