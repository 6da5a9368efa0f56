//! The window state machine: which window an event means, whether it is already stored, the
//! executions an earlier invocation left running, and what a finished execution leaves behind
//! (the summary, the `query_runs` row, the window's next generation). Athena itself is behind
//! [`Athena`]; the state lives in the lake (`_loglake/query-runner/…`).

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use loglake::compact::state::load_state;
use loglake::lake::encode::encode_batches;
use loglake::lake::layout::{
    COMPACTION_STATE_KEY, CURATED_PREFIX, STAGING_PREFIX, curated_run_of, query_running_key, query_running_prefix,
    query_window_key, summary_key,
};
use loglake::lake::storage::ObjectStore;
use loglake::metrics::Measurement;
use loglake::rollup::query_file::{QueryFile, WindowBounds};
use loglake::rollup::runs::{QueryRun, RunState, RunStateKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::athena::{Athena, Execution, FinishedExecution, QueryEnd, ResultPages};
use crate::config::Config;
use crate::error::RunError;
use crate::results::to_record_batch;

/// What the schedule sends: the query, and either the time the schedule fired or a window by
/// name (a backfill or a deliberate re-run, which replaces the stored summary). A scheduled run
/// runs the windows that are due at that time: closed, compacted (no staging left in their
/// hours: the view then counts every record once), and compacted again since their summary was
/// computed (late data) — so a retried invocation finds nothing more to do.
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
    /// The last closed window's summary was computed from its data as compacted now.
    AlreadyStored,
    /// The last closed window is not compacted yet (staging rows may hold a record twice): a
    /// later scheduled run computes it once it is.
    Waiting { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowResult {
    pub query: String,
    pub window: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The metrics of the window's finished run (none while it is still running or not due):
    /// the function prints them ([`loglake::metrics`]).
    #[serde(skip)]
    pub measurement: Option<Measurement>,
}

/// A window's history: which generation the next start uses (its request token), and how the
/// last run ended.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct WindowState {
    generation: u32,
    last_state: Option<RunStateKind>,
    /// The newest compaction run of the window's hours its last run read: a later one (late
    /// data compacted in) makes the window due again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    computed_from_run: Option<u64>,
}

/// An execution started and not yet finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Running {
    window: String,
    execution_id: String,
    generation: u32,
    started_ms: i64,
    /// The newest compaction run of the window's hours when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_run: Option<u64>,
}

/// What a scheduled run finds in the lake for one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct WindowData {
    /// The newest compaction run among the window's visible curated files.
    compacted_run: Option<u64>,
    /// Staging objects not yet compacted in its hours.
    pending_staging: bool,
}

/// What became of a succeeded query's result.
enum Summary {
    Stored {
        rows: u64,
    },
    /// Not storable as a summary: too many rows, or a type a summary does not hold.
    NotStorable {
        reason: String,
    },
}

/// The idempotency token of one start: the same query, window and generation give the same
/// execution.
pub(crate) fn request_token(query: &QueryFile, window: &WindowBounds, generation: u32, sql: &str) -> String {
    let mut hash = Sha256::new();
    for part in [query.name.as_str(), &window.name(), &generation.to_string(), sql] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Runner<'a> {
    pub config: &'a Config,
    pub athena: Athena,
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
        // Windows are hours and days of the partition clock, so their filters name their partitions.
        let zone = self.config.lake.pipeline.partition_time_zone;
        let now = match &event.scheduled_time {
            Some(time) => DateTime::parse_from_rfc3339(time)
                .map_err(|e| RunError::BadEvent(format!("scheduled_time {time:?}: {e}")))?
                .with_timezone(&Utc),
            None => Utc::now(),
        };
        let mut results = Vec::new();
        // Each window with the compaction run its data is at.
        let windows: Vec<(WindowBounds, Option<u64>)> = match &event.window {
            Some(name) => {
                let window = WindowBounds::parse(query.window, name, zone).map_err(RunError::BadEvent)?;
                // Its own day only, however old (a backfill).
                let data = self.window_data(query, std::iter::once(window.start.date())).await?;
                vec![(window, data.get(&window.start).and_then(|d| d.compacted_run))]
            }
            None => {
                let today = now.with_timezone(&zone).date_naive();
                let lookback = (0..=self.config.lookback_days).map(|back| today - chrono::Duration::days(back));
                let data = self.window_data(query, lookback).await?;
                let due = self.due_windows(query, now, &data).await?;
                let last = WindowBounds::last_closed(query.window, now, zone);
                if !due.iter().any(|(w, _)| *w == last) {
                    let outcome = self.not_due_outcome(query, &last, data.get(&last.start)).await?;
                    results.push(WindowResult {
                        query: query.name.clone(),
                        window: last.name(),
                        execution_id: None,
                        outcome,
                        measurement: None,
                    });
                }
                due
            }
        };
        for key in self.store.list(&query_running_prefix(&query.name)).await? {
            let running: Running = self
                .read_json(&key)
                .await?
                .ok_or_else(|| RunError::State { key: key.clone(), message: "listed but missing".into() })?;
            let earlier = WindowBounds::parse(query.window, &running.window, zone)
                .map_err(|message| RunError::State { key: key.clone(), message })?;
            if !windows.iter().any(|(w, _)| *w == earlier) {
                results.push(self.poll_and_finish(query, &earlier, running, poll_until).await?);
            }
        }
        // A scheduled window is due (see `due_windows`); a named one runs again regardless.
        for (window, from_run) in windows {
            results.push(self.run_window(query, &window, from_run, poll_until).await?);
        }
        Ok(results)
    }

    /// The lake's data by window of `query`, over the local `days` listed: the newest visible
    /// compaction run of each window's hours, and whether staging not yet compacted is left in
    /// them.
    async fn window_data(
        &self,
        query: &QueryFile,
        days: impl Iterator<Item = NaiveDate>,
    ) -> Result<BTreeMap<NaiveDateTime, WindowData>, RunError> {
        let zone = self.config.lake.pipeline.partition_time_zone;
        let state = load_state(self.store)
            .await
            .map_err(|e| RunError::State { key: COMPACTION_STATE_KEY.to_owned(), message: e.to_string() })?;
        let mut data: BTreeMap<NaiveDateTime, WindowData> = BTreeMap::new();
        for day in days {
            let day = day.format("dt=%Y-%m-%d/").to_string();
            for (prefix, curated) in [(CURATED_PREFIX, true), (STAGING_PREFIX, false)] {
                for key in self.store.list(&format!("{prefix}{day}")).await? {
                    let Some(hour) = WindowBounds::hour_of_key(&key, prefix, zone) else { continue };
                    let window = WindowBounds::containing_local(query.window, hour.start, zone);
                    let entry = data.entry(window.start).or_default();
                    if curated && state.curated_visible(&key) {
                        entry.compacted_run = entry.compacted_run.max(curated_run_of(&key));
                    } else if !curated && !state.consumed.contains_key(&key) {
                        entry.pending_staging = true;
                    }
                }
            }
        }
        Ok(data)
    }

    /// What to report for the last closed window when it is not due: why it waits, or that its
    /// summary is current.
    async fn not_due_outcome(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        data: Option<&WindowData>,
    ) -> Result<Outcome, RunError> {
        let waiting = |reason: &str| Ok(Outcome::Waiting { reason: reason.to_owned() });
        let compacted_run = match data {
            Some(d) if d.pending_staging => return waiting("not compacted yet"),
            None | Some(WindowData { compacted_run: None, .. }) => return waiting("no compacted data yet"),
            Some(WindowData { compacted_run: Some(run), .. }) => *run,
        };
        let state: WindowState =
            self.read_json(&query_window_key(&query.name, &window.name())).await?.unwrap_or_default();
        match state.last_state {
            _ if state.computed_from_run.is_none_or(|computed| computed < compacted_run) => {
                waiting("due, after the windows before it (LOGLAKE_ROLLUP_MAX_WINDOWS per invocation)")
            }
            Some(RunStateKind::Succeeded) => Ok(Outcome::AlreadyStored),
            other => waiting(&format!(
                "its last run ended {}: it runs again when more data is compacted into it, or when named",
                other.map_or("without a state", |kind| kind.as_str())
            )),
        }
    }

    /// The windows a scheduled run computes: closed, with compacted data and nothing left in
    /// staging, and compacted since their summary was last computed; oldest first, at most
    /// `max_windows`.
    async fn due_windows(
        &self,
        query: &QueryFile,
        now: DateTime<Utc>,
        data: &BTreeMap<NaiveDateTime, WindowData>,
    ) -> Result<Vec<(WindowBounds, Option<u64>)>, RunError> {
        let zone = self.config.lake.pipeline.partition_time_zone;
        let mut due = Vec::new();
        for (start, window_data) in data {
            let window = WindowBounds { window: query.window, start: *start, zone };
            let Some(run) = window_data.compacted_run else { continue };
            if window.end_utc() > now || window_data.pending_staging {
                continue;
            }
            let state: WindowState =
                self.read_json(&query_window_key(&query.name, &window.name())).await?.unwrap_or_default();
            if state.computed_from_run.is_none_or(|computed| computed < run) {
                due.push((window, Some(run)));
            }
            if due.len() == self.config.max_windows {
                break;
            }
        }
        Ok(due)
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
        from_run: Option<u64>,
        poll_until: Instant,
    ) -> Result<WindowResult, RunError> {
        let running_key = query_running_key(&query.name, &window.name());
        if let Some(running) = self.read_json::<Running>(&running_key).await? {
            return self.poll_and_finish(query, window, running, poll_until).await;
        }
        let state: WindowState =
            self.read_json(&query_window_key(&query.name, &window.name())).await?.unwrap_or_default();
        let sql = query.render(window).map_err(|e| RunError::BadEvent(format!("{}: {e}", query.name)))?;
        let token = request_token(query, window, state.generation, &sql);
        let execution_id = self.athena.start(&sql, &token).await?;
        let running = Running {
            window: window.name(),
            execution_id,
            generation: state.generation,
            started_ms: Utc::now().timestamp_millis(),
            from_run,
        };
        self.write_json(&running_key, &running).await?;
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
        let finished = loop {
            match self.athena.status(&running.execution_id).await? {
                Execution::Finished(finished) => break finished,
                Execution::Running => {
                    let now = Instant::now();
                    if now >= poll_until {
                        tracing::info!(query = %query.name, window = %window.name(), execution_id = %running.execution_id, "still running at the deadline; the next invocation picks it up");
                        return Ok(WindowResult {
                            query: query.name.clone(),
                            window: window.name(),
                            execution_id: Some(running.execution_id),
                            outcome: Outcome::StillRunning,
                            measurement: None,
                        });
                    }
                    tokio::time::sleep(wait.min(poll_until - now)).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        };
        self.finish(query, window, running, finished).await
    }

    /// Stores a succeeded result, records the run, and moves the window to its next generation.
    async fn finish(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        running: Running,
        finished: FinishedExecution,
    ) -> Result<WindowResult, RunError> {
        let (state, outcome) = match finished.end {
            QueryEnd::Succeeded => match self.store_summary(query, window, &running.execution_id).await? {
                Summary::Stored { rows } => (RunState::Succeeded, Outcome::Stored { rows, reused: finished.reused }),
                Summary::NotStorable { reason } => (RunState::NotStored(reason.clone()), Outcome::NotStored { reason }),
            },
            QueryEnd::Cancelled { reason } => (RunState::Cancelled(reason.clone()), Outcome::Cancelled { reason }),
            QueryEnd::Failed { reason } => (RunState::Failed(reason.clone()), Outcome::Failed { reason }),
        };
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
            bytes_scanned: finished.bytes_scanned,
            engine_ms: finished.engine_ms,
            reused: finished.reused,
            rows,
            started: DateTime::from_timestamp_millis(running.started_ms).unwrap_or_else(Utc::now),
            finished: finished.completed.unwrap_or_else(Utc::now),
        };
        let parquet = run.to_parquet().map_err(|e| RunError::State { key: run.key(), message: e.to_string() })?;
        self.store.put(&run.key(), parquet).await?;
        // The next start of this window gets a new token; then the execution is no longer running.
        // Whatever the outcome, this run read the data as compacted at `from_run`: the window is
        // due again once more data is compacted in (a failing query is not retried every hour).
        let state = WindowState {
            generation: running.generation + 1,
            last_state: Some(run.state.kind()),
            computed_from_run: running.from_run,
        };
        self.write_json(&query_window_key(&query.name, &window.name()), &state).await?;
        self.store.delete(&query_running_key(&query.name, &window.name())).await?;
        Ok(WindowResult {
            query: query.name.clone(),
            window: window.name(),
            execution_id: Some(running.execution_id),
            outcome,
            measurement: Some(run.measurement()),
        })
    }

    /// Reads the result and replaces the window's summary with it, if it is one.
    async fn store_summary(
        &self,
        query: &QueryFile,
        window: &WindowBounds,
        execution_id: &str,
    ) -> Result<Summary, RunError> {
        let pages = match self.athena.result_pages(execution_id, self.config.summary_max_rows).await? {
            ResultPages::Pages(pages) => pages,
            ResultPages::MoreRowsThan(limit) => {
                return Ok(Summary::NotStorable { reason: format!("more than {limit} rows: not a summary") });
            }
        };
        let (schema, batch) = match to_record_batch(&pages) {
            Ok(converted) => converted,
            Err(error) => return Ok(Summary::NotStorable { reason: error.to_string() }),
        };
        let key = summary_key(&query.output, &window.partition());
        let rows = batch.num_rows() as u64;
        let parquet = encode_batches(schema, &[batch])
            .map_err(|e| RunError::State { key: key.clone(), message: e.to_string() })?;
        self.store.put(&key, parquet).await?;
        Ok(Summary::Stored { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_one_query_window_and_generation() {
        let query = loglake::rollup::query_file::shipped().unwrap().remove(0);
        let window = WindowBounds::last_closed(query.window, Utc::now(), chrono_tz::Tz::UTC);
        let sql = query.render(&window).unwrap();
        let token = request_token(&query, &window, 0, &sql);
        assert_eq!(token.len(), 64, "Athena accepts 32 to 128 characters");
        assert_eq!(token, request_token(&query, &window, 0, &sql));
        assert_ne!(token, request_token(&query, &window, 1, &sql));
        let other = WindowBounds { start: window.start - chrono::Duration::hours(1), ..window };
        assert_ne!(token, request_token(&query, &other, 0, &query.render(&other).unwrap()));
    }

    #[test]
    fn a_window_state_reads_the_state_names_stored_before_it_was_typed() {
        let stored: WindowState = serde_json::from_str(r#"{"generation":3,"last_state":"SUCCEEDED"}"#).unwrap();
        assert_eq!(
            stored,
            WindowState { generation: 3, last_state: Some(RunStateKind::Succeeded), computed_from_run: None }
        );
        let written = serde_json::to_string(&WindowState {
            generation: 1,
            last_state: Some(RunStateKind::NotStored),
            computed_from_run: None,
        });
        assert_eq!(written.unwrap(), r#"{"generation":1,"last_state":"NOT_STORED"}"#);
        for name in ["FAILED", "CANCELLED", "NOT_STORED"] {
            let text = format!(r#"{{"generation":0,"last_state":"{name}"}}"#);
            let state: WindowState = serde_json::from_str(&text).unwrap();
            assert_eq!(state.last_state.map(RunStateKind::as_str), Some(name));
        }
    }
}
