//! Backfill: a log group's history, read with FilterLogEvents page by page and sent through the
//! same pipeline as live delivery (CloudWatch event ids, so the two deduplicate). After every
//! page the position is saved, so an interrupted backfill resumes where it stopped; a page
//! written twice rewrites the same objects.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use loglake::config::PipelineConfig;
use loglake::function::now_ms;
use loglake::ingest::cloudwatch::ingest_log_events;
use loglake::ingest::report::IngestReport;
use loglake::ingest::write::IngestError;
use loglake::lake::storage::ObjectStore;

use crate::{ApiError, LogsApi};

/// Where a backfill stands; saved after every page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillState {
    pub log_group: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The token of the next page to read; none before the first page and after the last.
    pub next_token: Option<String>,
    pub pages: usize,
    pub events: usize,
    pub message_bytes: usize,
    /// The time of the latest event read: how far through the window the backfill is.
    pub last_event_ms: Option<i64>,
    pub done: bool,
}

impl BackfillState {
    pub fn new(log_group: &str, start_ms: i64, end_ms: i64) -> BackfillState {
        BackfillState {
            log_group: log_group.to_owned(),
            start_ms,
            end_ms,
            next_token: None,
            pages: 0,
            events: 0,
            message_bytes: 0,
            last_event_ms: None,
            done: false,
        }
    }

    /// The share of the time window read so far (events come back roughly in time order).
    pub fn fraction(&self) -> f64 {
        if self.done {
            return 1.0;
        }
        let span = (self.end_ms - self.start_ms).max(1) as f64;
        self.last_event_ms.map_or(0.0, |t| ((t - self.start_ms) as f64 / span).clamp(0.0, 1.0))
    }
}

#[derive(Debug, Clone, Default)]
pub struct BackfillOptions {
    /// Events per page (FilterLogEvents' default when none).
    pub page_size: Option<i32>,
    /// Stop after this many pages (the state says where to go on).
    pub max_pages: Option<usize>,
    /// Where the position is saved; without it the backfill cannot resume.
    pub state_path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("log group {0:?} does not exist")]
    NoSuchGroup(String),
    #[error("backfill state {path}: {reason}")]
    State { path: String, reason: String },
}

fn state_error(path: &Path, reason: impl ToString) -> BackfillError {
    BackfillError::State { path: path.display().to_string(), reason: reason.to_string() }
}

/// Reads a saved state, if there is one for this same group and window.
fn load_state(path: &Path, fresh: &BackfillState) -> Result<BackfillState, BackfillError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh.clone()),
        Err(e) => return Err(state_error(path, e)),
    };
    let saved: BackfillState = serde_json::from_slice(&bytes).map_err(|e| state_error(path, e))?;
    if (saved.log_group.as_str(), saved.start_ms, saved.end_ms)
        != (fresh.log_group.as_str(), fresh.start_ms, fresh.end_ms)
    {
        return Err(state_error(
            path,
            format!(
                "saved for {} [{}, {}], not this backfill: remove it or choose another --state",
                saved.log_group, saved.start_ms, saved.end_ms
            ),
        ));
    }
    Ok(saved)
}

/// Written to a temporary file and renamed, so a crash never leaves half a state.
fn save_state(path: &Path, state: &BackfillState) -> Result<(), BackfillError> {
    let temporary = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| state_error(path, e))?;
    std::fs::write(&temporary, bytes).map_err(|e| state_error(path, e))?;
    std::fs::rename(&temporary, path).map_err(|e| state_error(path, e))
}

/// Backfills `log_group` over `[start_ms, end_ms]` into `store`, calling `progress` after
/// every page. Resumes from `options.state_path` when it holds this backfill's position.
#[allow(clippy::too_many_arguments)]
pub async fn backfill(
    api: &dyn LogsApi,
    store: &dyn ObjectStore,
    config: &PipelineConfig,
    log_group: &str,
    start_ms: i64,
    end_ms: i64,
    options: &BackfillOptions,
    mut progress: impl FnMut(&BackfillState),
) -> Result<(BackfillState, IngestReport), BackfillError> {
    let fresh = BackfillState::new(log_group, start_ms, end_ms);
    let mut state = match &options.state_path {
        Some(path) => load_state(path, &fresh)?,
        None => fresh,
    };
    let mut report = IngestReport::default();
    if state.done {
        return Ok((state, report));
    }
    let group = api
        .log_groups(Some(log_group))
        .await?
        .into_iter()
        .find(|g| g.name == log_group)
        .ok_or_else(|| BackfillError::NoSuchGroup(log_group.to_owned()))?;
    let account_id = group.arn.split(':').nth(4).unwrap_or_default().to_owned();
    let mut pages_now = 0;
    while !state.done && options.max_pages.is_none_or(|max| pages_now < max) {
        let (events, next_token) =
            api.filter_events(log_group, start_ms, end_ms, state.next_token.clone(), options.page_size).await?;
        ingest_log_events(&account_id, log_group, &events, config, now_ms(), store, &mut report).await?;
        pages_now += 1;
        state.pages += 1;
        state.events += events.len();
        state.message_bytes += events.iter().map(|e| e.message.len()).sum::<usize>();
        state.last_event_ms = events.iter().map(|e| e.timestamp_ms).max().max(state.last_event_ms);
        state.done = next_token.is_none();
        state.next_token = next_token;
        if let Some(path) = &options.state_path {
            save_state(path, &state)?;
        }
        progress(&state);
    }
    Ok((state, report))
}
