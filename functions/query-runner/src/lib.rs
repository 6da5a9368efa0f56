//! query-runner: an EventBridge schedule names a shipped rollup (and the time it fired); the
//! function runs it on Athena for the last closed window, stores the result as the window's
//! summary (`summaries/<output>/dt=…/[hour=…/]part-00000.parquet`, one object, replaced by a
//! re-run), and records the run (`query_runs` row and embedded-metric-format line).
//!
//! Why a `SELECT` whose rows the function writes as Parquet, and not `UNLOAD` or CTAS: Athena
//! reuses results for `SELECT` only (a re-run within the reuse age scans nothing); a summary is
//! small (one window, one partition: `UNLOAD`'s 100-partition limit never applies); and one PUT
//! of one key replaces a window atomically, where `UNLOAD` needs an empty prefix and leaves
//! orphans after a failure, and `INSERT INTO` appends a second copy.
//!
//! A query still running when the invocation nears its deadline stays recorded as running
//! (`_loglake/query-runner/running/…`); the next invocation for the same query polls it to
//! the end instead of starting it again. The `ClientRequestToken` is derived from the query,
//! the window and the window's generation, so a retried start after a crash returns the
//! execution already started.

use std::time::{Duration, Instant};

use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_athena::operation::get_query_results::GetQueryResultsError;
use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionError;
use aws_sdk_athena::types::{
    QueryExecutionContext, QueryExecutionState, ResultReuseByAgeConfiguration, ResultReuseConfiguration,
};
use chrono::{DateTime, Utc};
use lambda_runtime::Diagnostic;
use loglake::config::ConfigError;
use loglake::function::FunctionConfig;
use loglake::query_runs::{QueryRun, RunState};
use loglake::rollup::{QueryFile, WindowBounds, summary_key};
use loglake::storage::{ObjectStore, StorageError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod results;

pub use results::{ResultError, to_record_batch};

pub mod vars {
    pub const WORKGROUP: &str = "LOGLAKE_ATHENA_WORKGROUP";
    pub const GLUE_DATABASE: &str = "LOGLAKE_GLUE_DATABASE";
    pub const RESULT_REUSE_MINUTES: &str = "LOGLAKE_RESULT_REUSE_MINUTES";
    pub const SUMMARY_MAX_ROWS: &str = "LOGLAKE_SUMMARY_MAX_ROWS";
    pub const ALL: &[&str] = &[WORKGROUP, GLUE_DATABASE, RESULT_REUSE_MINUTES, SUMMARY_MAX_ROWS];
}

/// Where the runner keeps what it is doing.
pub const RUNNER_PREFIX: &str = "_loglake/query-runner/";

/// Settings, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub lake: FunctionConfig,
    /// The workgroup: its enforced result location and bytes-scanned cutoff apply.
    pub workgroup: String,
    pub database: String,
    /// Athena may serve a result this young instead of scanning again (0: never).
    pub result_reuse_minutes: i32,
    /// A result with more rows is not a summary: the run is recorded NOT_STORED.
    pub summary_max_rows: usize,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let lake = FunctionConfig::from_lookup_into(&lookup, &mut problems);
        let mut required = |name: &str, what: &str| {
            let value = lookup(name).unwrap_or_default();
            if value.trim().is_empty() {
                problems.push(format!("{name} is not set: {what}"));
            }
            value
        };
        let workgroup = required(vars::WORKGROUP, "the Athena workgroup");
        let database = required(vars::GLUE_DATABASE, "the Glue database of logs_all");
        let mut number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| {
            loglake::config::number_setting(lookup(name), name, default, range, &mut problems)
        };
        // Athena's maximum reuse age is 7 days.
        let result_reuse_minutes = number(vars::RESULT_REUSE_MINUTES, 60, 0..=10_080) as i32;
        let summary_max_rows = number(vars::SUMMARY_MAX_ROWS, 100_000, 1..=10_000_000) as usize;
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config { lake, workgroup, database, result_reuse_minutes, summary_max_rows })
    }
}

/// What the schedule sends: the query, and either the time the schedule fired (the window is
/// the last one closed by then, so a retried invocation runs the same window) or a window by
/// name (a backfill or a deliberate re-run, which replaces the stored summary).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct RunEvent {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<String>,
}

/// How one window's run ended in this invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The summary holds the result.
    Stored { rows: u64, reused: bool },
    /// Athena's FAILED, with its error.
    Failed { reason: String },
    /// Athena's CANCELLED (by someone, or by the workgroup's bytes-scanned cutoff).
    Cancelled { reason: String },
    /// The query succeeded but its result is no summary (too many rows, a type not stored).
    NotStored { reason: String },
    /// Still queued or running at the deadline: the next invocation picks it up.
    StillRunning,
    /// A scheduled window whose summary is already stored (a retried invocation).
    AlreadyStored,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowResult {
    pub query: String,
    pub window: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("bad event: {0}")]
    BadEvent(String),
    #[error("Athena is throttling {operation}: {message} (the schedule retries the invocation)")]
    Throttled { operation: &'static str, message: String },
    #[error("athena:{operation}: {message}")]
    Athena { operation: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the runner's state {key} is unreadable: {message}")]
    State { key: String, message: String },
}

impl RunError {
    pub fn error_type(&self) -> &'static str {
        match self {
            RunError::BadEvent(_) => "Loglake.InvalidEvent",
            RunError::Throttled { .. } => "Loglake.AthenaThrottled",
            RunError::Athena { .. } => "Loglake.AthenaError",
            RunError::Storage(_) => "Loglake.StorageError",
            RunError::State { .. } => "Loglake.StateError",
        }
    }
}

impl From<RunError> for Diagnostic {
    fn from(error: RunError) -> Diagnostic {
        Diagnostic { error_type: error.error_type().to_owned(), error_message: error.to_string() }
    }
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

/// A window's history: which generation the next start uses (its request token), and how the
/// last run ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct WindowState {
    generation: u32,
    last_state: Option<String>,
}

/// An execution started and not yet finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Running {
    window: String,
    execution_id: String,
    generation: u32,
    started_ms: i64,
}

fn state_key(query: &str, window: &WindowBounds) -> String {
    format!("{RUNNER_PREFIX}windows/{query}/{}.json", window.name())
}

fn running_prefix(query: &str) -> String {
    format!("{RUNNER_PREFIX}running/{query}/")
}

fn running_key(query: &str, window: &WindowBounds) -> String {
    format!("{}{}.json", running_prefix(query), window.name())
}

/// The idempotency token of one start: the same query, window and generation give the same
/// execution.
fn request_token(query: &QueryFile, window: &WindowBounds, generation: u32, sql: &str) -> String {
    let mut hash = Sha256::new();
    for part in [query.name.as_str(), &window.name(), &generation.to_string(), sql] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Runner<'a> {
    pub config: &'a Config,
    pub athena: aws_sdk_athena::Client,
    pub store: &'a dyn ObjectStore,
    pub queries: Vec<QueryFile>,
}

impl Runner<'_> {
    /// One invocation: first every run of this query an earlier invocation left running, then
    /// the event's window. Polling stops at `poll_until` (the deadline, less the time needed to
    /// store a result).
    pub async fn handle(&self, event: &RunEvent, poll_until: Instant) -> Result<Vec<WindowResult>, RunError> {
        let query = self.queries.iter().find(|q| q.name == event.query).ok_or_else(|| {
            let names: Vec<&str> = self.queries.iter().map(|q| q.name.as_str()).collect();
            RunError::BadEvent(format!("no query {:?} (shipped: {})", event.query, names.join(", ")))
        })?;
        let (window, forced) = match (&event.window, &event.scheduled_time) {
            (Some(name), _) => (WindowBounds::parse(query.window, name).map_err(RunError::BadEvent)?, true),
            (None, Some(time)) => {
                let time = DateTime::parse_from_rfc3339(time)
                    .map_err(|e| RunError::BadEvent(format!("scheduled_time {time:?}: {e}")))?;
                (WindowBounds::last_closed(query.window, time.with_timezone(&Utc)), false)
            }
            (None, None) => (WindowBounds::last_closed(query.window, Utc::now()), false),
        };
        let mut results = Vec::new();
        for key in self.store.list(&running_prefix(&query.name)).await? {
            let running: Running = self
                .read_json(&key)
                .await?
                .ok_or_else(|| RunError::State { key: key.clone(), message: "listed but missing".into() })?;
            let earlier = WindowBounds::parse(query.window, &running.window)
                .map_err(|message| RunError::State { key: key.clone(), message })?;
            if earlier != window {
                results.push(self.poll_and_finish(query, &earlier, running, poll_until).await?);
            }
        }
        results.push(self.run_window(query, &window, forced, poll_until).await?);
        Ok(results)
    }

    async fn read_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, RunError> {
        match self.store.get(key).await {
            Ok(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| RunError::State { key: key.to_owned(), message: e.to_string() }),
            // Missing (local: NotFound; S3: NoSuchKey), or unreadable.
            Err(_) if self.store.list(key).await?.is_empty() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn write_json(&self, key: &str, value: &impl Serialize) -> Result<(), RunError> {
        let body =
            serde_json::to_vec(value).map_err(|e| RunError::State { key: key.to_owned(), message: e.to_string() })?;
        Ok(self.store.put(key, body).await?)
    }

    async fn run_window(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        forced: bool,
        poll_until: Instant,
    ) -> Result<WindowResult, RunError> {
        if let Some(running) = self.read_json::<Running>(&running_key(&query.name, window)).await? {
            return self.poll_and_finish(query, window, running, poll_until).await;
        }
        let state: WindowState = self.read_json(&state_key(&query.name, window)).await?.unwrap_or_default();
        if !forced && state.last_state.as_deref() == Some("SUCCEEDED") {
            return Ok(WindowResult {
                query: query.name.clone(),
                window: window.name(),
                execution_id: None,
                outcome: Outcome::AlreadyStored,
            });
        }
        let sql = query.render(window).map_err(|e| RunError::BadEvent(format!("{}: {e}", query.name)))?;
        let mut start = self
            .athena
            .start_query_execution()
            .query_string(&sql)
            .work_group(&self.config.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder().catalog("AwsDataCatalog").database(&self.config.database).build(),
            )
            .client_request_token(request_token(query, window, state.generation, &sql));
        if self.config.result_reuse_minutes > 0 {
            start = start.result_reuse_configuration(
                ResultReuseConfiguration::builder()
                    .result_reuse_by_age_configuration(
                        ResultReuseByAgeConfiguration::builder()
                            .enabled(true)
                            .max_age_in_minutes(self.config.result_reuse_minutes)
                            .build(),
                    )
                    .build(),
            );
        }
        let started = start
            .send()
            .await
            .map_err(athena_error("StartQueryExecution", StartQueryExecutionError::is_too_many_requests_exception))?;
        let execution_id = started.query_execution_id().unwrap_or_default().to_owned();
        if execution_id.is_empty() {
            return Err(RunError::Athena { operation: "StartQueryExecution", message: "no execution id".into() });
        }
        let running = Running {
            window: window.name(),
            execution_id,
            generation: state.generation,
            started_ms: Utc::now().timestamp_millis(),
        };
        self.write_json(&running_key(&query.name, window), &running).await?;
        self.poll_and_finish(query, window, running, poll_until).await
    }

    /// Polls with backoff until the execution ends or `poll_until`; then stores and records.
    async fn poll_and_finish(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        running: Running,
        poll_until: Instant,
    ) -> Result<WindowResult, RunError> {
        let mut wait = Duration::from_millis(250);
        let execution = loop {
            let output = self
                .athena
                .get_query_execution()
                .query_execution_id(&running.execution_id)
                .send()
                .await
                .map_err(athena_error("GetQueryExecution", |_| false))?;
            let execution = output.query_execution().cloned().unwrap_or_else(|| {
                aws_sdk_athena::types::QueryExecution::builder().query_execution_id(&running.execution_id).build()
            });
            let state = execution.status().and_then(|s| s.state()).cloned();
            match state {
                Some(QueryExecutionState::Succeeded | QueryExecutionState::Failed | QueryExecutionState::Cancelled) => {
                    break execution;
                }
                _ => {
                    let now = Instant::now();
                    if now >= poll_until {
                        tracing::info!(query = %query.name, window = %window.name(), execution_id = %running.execution_id, "still running at the deadline; the next invocation picks it up");
                        return Ok(WindowResult {
                            query: query.name.clone(),
                            window: window.name(),
                            execution_id: Some(running.execution_id),
                            outcome: Outcome::StillRunning,
                        });
                    }
                    tokio::time::sleep(wait.min(poll_until - now)).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        };
        self.finish(query, window, running, &execution).await
    }

    async fn finish(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        running: Running,
        execution: &aws_sdk_athena::types::QueryExecution,
    ) -> Result<WindowResult, RunError> {
        let status = execution.status();
        let statistics = execution.statistics();
        let reused = statistics.and_then(|s| s.result_reuse_information()).is_some_and(|r| r.reused_previous_result());
        let reason = || {
            let error = status.and_then(|s| s.athena_error());
            let mut parts = Vec::new();
            if let Some(error) = error {
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
        let (state, outcome) = match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => {
                match self.store_summary(query, window, &running.execution_id).await? {
                    Ok(rows) => (RunState::Succeeded, Outcome::Stored { rows, reused }),
                    Err(reason) => (RunState::NotStored(reason.clone()), Outcome::NotStored { reason }),
                }
            }
            Some(QueryExecutionState::Cancelled) => {
                let reason = reason();
                (RunState::Cancelled(reason.clone()), Outcome::Cancelled { reason })
            }
            _ => {
                let reason = reason();
                (RunState::Failed(reason.clone()), Outcome::Failed { reason })
            }
        };
        let started = DateTime::from_timestamp_millis(running.started_ms).unwrap_or_else(Utc::now);
        let rows = match &outcome {
            Outcome::Stored { rows, .. } => Some(*rows),
            _ => None,
        };
        let run = QueryRun {
            query: query.name.clone(),
            window: *window,
            engine: "athena",
            execution_id: running.execution_id.clone(),
            state,
            bytes_scanned: statistics.and_then(|s| s.data_scanned_in_bytes()).unwrap_or(0).max(0) as u64,
            engine_ms: statistics.and_then(|s| s.engine_execution_time_in_millis()).unwrap_or(0).max(0) as u64,
            reused,
            rows,
            started,
            finished: status
                .and_then(|s| s.completion_date_time())
                .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?))
                .unwrap_or_else(Utc::now),
        };
        let parquet = run.to_parquet().map_err(|e| RunError::State { key: run.key(), message: e.to_string() })?;
        self.store.put(&run.key(), parquet).await?;
        // The metrics, in embedded metric format: CloudWatch reads them from the log.
        println!("{}", run.emf_line());
        // The next start of this window gets a new token; then the execution is no longer running.
        let state = WindowState { generation: running.generation + 1, last_state: Some(run.state.name().to_owned()) };
        self.write_json(&state_key(&query.name, window), &state).await?;
        self.store.delete(&running_key(&query.name, window)).await?;
        Ok(WindowResult {
            query: query.name.clone(),
            window: window.name(),
            execution_id: Some(running.execution_id),
            outcome,
        })
    }

    /// Reads the result pages and replaces the window's summary. `Ok(Err(reason))`: the result
    /// is not storable as a summary.
    async fn store_summary(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        execution_id: &str,
    ) -> Result<Result<u64, String>, RunError> {
        let mut pages = Vec::new();
        let mut next_token: Option<String> = None;
        let mut rows = 0usize;
        loop {
            let page = self
                .athena
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
            if rows > self.config.summary_max_rows + 1 {
                return Ok(Err(format!("more than {} rows: not a summary", self.config.summary_max_rows)));
            }
            if next_token.is_none() {
                break;
            }
        }
        let (schema, batch) = match to_record_batch(&pages) {
            Ok(converted) => converted,
            Err(error) => return Ok(Err(error.to_string())),
        };
        let stored = batch.num_rows() as u64;
        let parquet = loglake::parquet_encode::encode_batches(schema, &[batch])
            .map_err(|e| RunError::State { key: summary_key(&query.output, window), message: e.to_string() })?;
        self.store.put(&summary_key(&query.output, window), parquet).await?;
        Ok(Ok(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn settings_have_defaults_and_missing_ones_are_named() {
        let config = Config::from_lookup(lookup(&[
            ("LOGLAKE_BUCKET", "lake"),
            ("LOGLAKE_GLUE_DATABASE", "db"),
            ("LOGLAKE_ATHENA_WORKGROUP", "loglake"),
        ]))
        .unwrap();
        assert_eq!((config.result_reuse_minutes, config.summary_max_rows), (60, 100_000));
        let error = Config::from_lookup(lookup(&[("LOGLAKE_RESULT_REUSE_MINUTES", "99999")])).unwrap_err().to_string();
        for name in
            ["LOGLAKE_BUCKET", "LOGLAKE_GLUE_DATABASE", "LOGLAKE_ATHENA_WORKGROUP", "LOGLAKE_RESULT_REUSE_MINUTES"]
        {
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn a_token_names_one_query_window_and_generation() {
        let query = loglake::rollup::shipped().unwrap().remove(0);
        let window = WindowBounds::last_closed(query.window, Utc::now());
        let sql = query.render(&window).unwrap();
        let token = request_token(&query, &window, 0, &sql);
        assert_eq!(token.len(), 64, "Athena accepts 32 to 128 characters");
        assert_eq!(token, request_token(&query, &window, 0, &sql));
        assert_ne!(token, request_token(&query, &window, 1, &sql));
        let other = WindowBounds { start: window.start - chrono::Duration::hours(1), ..window };
        assert_ne!(token, request_token(&query, &other, 0, &query.render(&other).unwrap()));
    }
}
