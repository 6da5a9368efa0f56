//! The compaction state (`_loglake/compaction/state.json`): what readers must not see and how far
//! runs have got — the one object a run switches. The run ([`crate::compact::run`]) writes it;
//! the reader view ([`crate::compact::view`]) is a function of it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::compact::merge::MergeError;
use crate::lake::layout::{COMPACTION_STATE_KEY, curated_run_marker};
use crate::lake::storage::{ObjectStore, StorageError};

/// What readers must not see, and how far runs have got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompactionState {
    /// The number the next run takes. Curated files of that run (`r<next_run>-…`) are hidden.
    pub next_run: u64,
    /// Hours (`dt=…/hour=…`) the run in progress writes into, so the next run can delete what a
    /// crash left there.
    pub writing: BTreeSet<String>,
    /// Curated keys replaced at a switch and not yet deleted: hidden.
    pub replaced: BTreeSet<String>,
    /// Hours compacted within the retry horizon, until when (ms since the epoch): their staging
    /// rows are hidden where a visible curated row has the same `log_group` and `event_id`.
    pub deduplicated: BTreeMap<String, i64>,
}

impl CompactionState {
    /// The file-name part that marks the files of the run in progress.
    pub fn pending_run_marker(&self) -> String {
        curated_run_marker(self.next_run)
    }

    pub fn curated_visible(&self, key: &str) -> bool {
        let in_progress = key.rsplit('/').next().is_some_and(|name| name.starts_with(&self.pending_run_marker()));
        !in_progress && !self.replaced.contains(key)
    }

    pub fn deduplicated_hours(&self) -> BTreeSet<&str> {
        self.deduplicated.keys().map(String::as_str).collect()
    }

    /// The deduplicated hours as `dt` value → `hour` values.
    pub fn deduplicated_days(&self) -> BTreeMap<String, Vec<String>> {
        let mut days: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for partition in self.deduplicated.keys() {
            if let Some((dt, hour)) = partition.split_once('/')
                && let (Some(dt), Some(hour)) = (dt.strip_prefix("dt="), hour.strip_prefix("hour="))
            {
                days.entry(dt.to_owned()).or_default().push(hour.to_owned());
            }
        }
        days
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("compaction state {COMPACTION_STATE_KEY} is unreadable: {0}")]
    State(serde_json::Error),
    #[error("spill directory: {0}")]
    Spill(std::io::Error),
    #[error("writing a curated file failed: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("publishing the reader view failed: {0}")]
    View(String),
    #[error("a merge worker stopped: {0}")]
    Worker(String),
}

/// A record of one run, kept under `_loglake/compaction/runs/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunRecord {
    pub run: u64,
    pub hours: Vec<String>,
    pub staging_in: usize,
    pub curated_in: usize,
    pub files_out: usize,
    pub rows_in: usize,
    pub rows_out: usize,
    pub duplicates: usize,
    pub bytes_in: usize,
    pub bytes_out: usize,
    pub deleted: usize,
    pub duration_ms: u64,
}

pub async fn load_state(store: &dyn ObjectStore) -> Result<CompactionState, CompactError> {
    match store.get(COMPACTION_STATE_KEY).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(CompactError::State),
        // A lake that was never compacted has no state (local: NotFound; S3: NoSuchKey).
        Err(_) if store.list(COMPACTION_STATE_KEY).await?.is_empty() => Ok(CompactionState::default()),
        Err(error) => Err(error.into()),
    }
}

pub async fn save_state(store: &dyn ObjectStore, state: &CompactionState) -> Result<(), CompactError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(CompactError::State)?;
    Ok(store.put(COMPACTION_STATE_KEY, bytes).await?)
}
