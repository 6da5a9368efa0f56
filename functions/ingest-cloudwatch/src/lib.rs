//! ingest-cloudwatch: a CloudWatch Logs subscription filter invokes this function with
//! `{"awslogs":{"data":…}}`; the shared pipeline writes the records as staging Parquet.
//!
//! The handler is an ordinary async function over the parsed event and its dependencies, so
//! tests and the `loglake` CLI call it directly, without the Lambda runtime.

use loglake::decode::subscription::SubscriptionEvent;
use loglake::function::now_ms;
pub use loglake::function::{FunctionConfig as Config, State};
use loglake::ingest::report::IngestReport;
use loglake::ingest::write::IngestError;

/// Handles one subscription event. Undecodable input is dead-lettered and the invocation
/// succeeds (a retry cannot fix it); a storage failure fails it (a retry can).
pub async fn handle(state: &State, event: &SubscriptionEvent) -> Result<IngestReport, IngestError> {
    handle_at(state, event, now_ms()).await
}

/// [`handle`] with the arrival time given, for tests.
pub async fn handle_at(
    state: &State,
    event: &SubscriptionEvent,
    ingest_time_ms: i64,
) -> Result<IngestReport, IngestError> {
    let result = loglake::ingest::cloudwatch::ingest_cloudwatch_data(
        &event.awslogs.data,
        &state.pipeline,
        ingest_time_ms,
        state.store.as_ref(),
    )
    .await;
    match &result {
        // Nothing but loglake's own log events: nothing is written, not even a log line (see
        // `IngestReport::measurement`).
        Ok(report) if report.only_own_logs() => {
            tracing::debug!(own_log_events = report.own_log_events, "skipped loglake's own log events")
        }
        Ok(report) => tracing::info!(
            log_events = report.log_events,
            records = report.records,
            message_bytes = report.message_bytes,
            input_bytes = report.input_bytes,
            parquet_bytes = report.parquet_bytes,
            objects = report.objects.len(),
            dead_letters = report.dead_letters.len(),
            control_messages = report.control_messages,
            "ingested"
        ),
        Err(error) => {
            tracing::error!(error_type = error.error_type(), retryable = error.is_retryable(), error = %error, "ingest failed")
        }
    }
    result
}
