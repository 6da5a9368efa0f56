//! Athena, as the runner uses it: start a query (idempotent by its request token, with result
//! reuse), ask how it stands, and read its result pages. Every answer is typed here, so the
//! runner's state machine ([`crate::runner`]) never handles an SDK type or a state name.

use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_athena::operation::get_query_results::GetQueryResultsError;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionError;
use aws_sdk_athena::types::{
    QueryExecution, QueryExecutionContext, QueryExecutionState, ResultReuseByAgeConfiguration,
    ResultReuseConfiguration, ResultSet,
};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::error::RunError;

/// The Athena client with the workgroup, database and reuse age every query runs with.
#[derive(Debug, Clone)]
pub struct Athena {
    client: aws_sdk_athena::Client,
    workgroup: String,
    database: String,
    result_reuse_minutes: i32,
}

/// How an execution stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Execution {
    /// Queued or running.
    Running,
    Finished(FinishedExecution),
}

/// A finished execution: how it ended, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedExecution {
    pub end: QueryEnd,
    pub bytes_scanned: u64,
    pub engine_ms: u64,
    /// Athena served the result of an earlier identical query (nothing scanned or billed).
    pub reused: bool,
    pub completed: Option<DateTime<Utc>>,
}

/// Athena's terminal states, with the reason it gave for the unhappy ones.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryEnd {
    Succeeded,
    /// FAILED: the error type, category and message.
    Failed {
        reason: String,
    },
    /// CANCELLED: by someone, or by the workgroup's bytes-scanned cutoff.
    Cancelled {
        reason: String,
    },
}

/// A result's pages, or the news that it holds more rows than a summary may.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPages {
    Pages(Vec<ResultSet>),
    MoreRowsThan(usize),
}

impl Athena {
    pub fn new(client: aws_sdk_athena::Client, config: &Config) -> Athena {
        Athena {
            client,
            workgroup: config.workgroup.clone(),
            database: config.database.clone(),
            result_reuse_minutes: config.result_reuse_minutes,
        }
    }

    /// Starts `sql`; the same `request_token` returns the execution already started (a retried
    /// start after a crash does not run the query twice).
    pub async fn start(&self, sql: &str, request_token: &str) -> Result<String, RunError> {
        let mut start = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&self.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder().catalog("AwsDataCatalog").database(&self.database).build(),
            )
            .client_request_token(request_token);
        if self.result_reuse_minutes > 0 {
            start = start.result_reuse_configuration(
                ResultReuseConfiguration::builder()
                    .result_reuse_by_age_configuration(
                        ResultReuseByAgeConfiguration::builder()
                            .enabled(true)
                            .max_age_in_minutes(self.result_reuse_minutes)
                            .build(),
                    )
                    .build(),
            );
        }
        let started = start
            .send()
            .await
            .map_err(athena_error("StartQueryExecution", StartQueryExecutionError::is_too_many_requests_exception))?;
        match started.query_execution_id() {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(RunError::Athena { operation: "StartQueryExecution", message: "no execution id".into() }),
        }
    }

    /// How the execution stands now.
    pub async fn status(&self, execution_id: &str) -> Result<Execution, RunError> {
        let output = self
            .client
            .get_query_execution()
            .query_execution_id(execution_id)
            .send()
            .await
            .map_err(athena_error("GetQueryExecution", |_| false))?;
        Ok(match output.query_execution() {
            Some(execution) => execution_of(execution),
            None => Execution::Running,
        })
    }

    /// The result's pages, read until the end or until they hold more than `max_rows` rows.
    pub async fn result_pages(&self, execution_id: &str, max_rows: usize) -> Result<ResultPages, RunError> {
        let mut pages = Vec::new();
        let mut next_token: Option<String> = None;
        let mut rows = 0usize;
        loop {
            let page = self
                .client
                .get_query_results()
                .query_execution_id(execution_id)
                .max_results(1000)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(athena_error("GetQueryResults", GetQueryResultsError::is_too_many_requests_exception))?;
            next_token = page.next_token().map(str::to_owned);
            if let Some(set) = page.result_set() {
                rows += set.rows().len();
                pages.push(set.clone());
            }
            // The first row of a SELECT's result is its header.
            if rows > max_rows + 1 {
                return Ok(ResultPages::MoreRowsThan(max_rows));
            }
            if next_token.is_none() {
                return Ok(ResultPages::Pages(pages));
            }
        }
    }
}

/// Athena's description of an execution, typed.
fn execution_of(execution: &QueryExecution) -> Execution {
    let status = execution.status();
    let reason = || {
        let mut parts = Vec::new();
        if let Some(error) = status.and_then(|s| s.athena_error()) {
            parts.push(format!(
                "error type {} category {}",
                error.error_type().unwrap_or_default(),
                error.error_category().unwrap_or_default()
            ));
            parts.extend(error.error_message().map(str::to_owned));
        }
        parts.extend(status.and_then(|s| s.state_change_reason()).map(str::to_owned));
        if parts.is_empty() { "no reason given".to_owned() } else { parts.join(": ") }
    };
    let end = match status.and_then(|s| s.state()) {
        Some(QueryExecutionState::Succeeded) => QueryEnd::Succeeded,
        Some(QueryExecutionState::Failed) => QueryEnd::Failed { reason: reason() },
        Some(QueryExecutionState::Cancelled) => QueryEnd::Cancelled { reason: reason() },
        _ => return Execution::Running,
    };
    let statistics = execution.statistics();
    Execution::Finished(FinishedExecution {
        end,
        bytes_scanned: statistics.and_then(|s| s.data_scanned_in_bytes()).unwrap_or(0).max(0) as u64,
        engine_ms: statistics.and_then(|s| s.engine_execution_time_in_millis()).unwrap_or(0).max(0) as u64,
        reused: statistics.and_then(|s| s.result_reuse_information()).is_some_and(|r| r.reused_previous_result()),
        completed: status
            .and_then(|s| s.completion_date_time())
            .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
    })
}

/// An SDK error (after the SDK's own retries) as a [`RunError`]: throttling, by its modeled
/// type or its code, is told apart because the schedule's retry is its remedy.
fn athena_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    modeled_throttle: fn(&E) -> bool,
) -> impl FnOnce(aws_sdk_athena::error::SdkError<E>) -> RunError {
    move |error| {
        let throttled = matches!(error.code(), Some("TooManyRequestsException" | "ThrottlingException"))
            || error.as_service_error().is_some_and(modeled_throttle);
        let message = DisplayErrorContext(&error).to_string();
        if throttled { RunError::Throttled { operation, message } } else { RunError::Athena { operation, message } }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_athena::types::{AthenaError, QueryExecutionStatistics, QueryExecutionStatus};

    use super::*;

    fn execution(
        state: QueryExecutionState,
        status: impl FnOnce(
            aws_sdk_athena::types::builders::QueryExecutionStatusBuilder,
        ) -> aws_sdk_athena::types::builders::QueryExecutionStatusBuilder,
    ) -> QueryExecution {
        QueryExecution::builder()
            .status(status(QueryExecutionStatus::builder().state(state)).build())
            .statistics(
                QueryExecutionStatistics::builder()
                    .data_scanned_in_bytes(2048)
                    .engine_execution_time_in_millis(7)
                    .build(),
            )
            .build()
    }

    #[test]
    fn every_athena_state_is_typed_with_its_reason() {
        assert_eq!(execution_of(&execution(QueryExecutionState::Queued, |s| s)), Execution::Running);
        assert_eq!(execution_of(&execution(QueryExecutionState::Running, |s| s)), Execution::Running);
        let Execution::Finished(done) = execution_of(&execution(QueryExecutionState::Succeeded, |s| s)) else {
            panic!("a succeeded execution is finished")
        };
        assert_eq!((done.end, done.bytes_scanned, done.engine_ms, done.reused), (QueryEnd::Succeeded, 2048, 7, false));
        let failed = execution(QueryExecutionState::Failed, |s| {
            s.athena_error(
                AthenaError::builder().error_type(1001).error_category(2).error_message("SYNTAX_ERROR").build(),
            )
        });
        let Execution::Finished(FinishedExecution { end: QueryEnd::Failed { reason }, .. }) = execution_of(&failed)
        else {
            panic!("FAILED is Failed")
        };
        assert_eq!(reason, "error type 1001 category 2: SYNTAX_ERROR");
        let cancelled = execution(QueryExecutionState::Cancelled, |s| s.state_change_reason("bytes scanned cutoff"));
        assert!(matches!(
            execution_of(&cancelled),
            Execution::Finished(FinishedExecution { end: QueryEnd::Cancelled { reason }, .. }) if reason == "bytes scanned cutoff"
        ));
    }
}
