//! Compaction: staging files into sorted, deduplicated curated files, invisible to readers.
//!
//! Readers see `curated ∪ staging` minus what the compaction state hides (see
//! docs/compaction-design.md). A run:
//!
//! 1. finishes what a crashed run left: deletes every hidden curated file (none is visible);
//!    then takes the staging objects older than the grace period;
//! 2. hides the files it is about to write (the prefix `logs/dt=…/hour=…/r<run>-`) — one write;
//! 3. for each hour with staging files, merges the hour's visible curated files with its staging
//!    files (external merge, duplicates by `event_id` dropped) into new files under that prefix;
//! 4. **switches** — one write of the state: its new files visible; the hour's old curated files
//!    and the consumed staging keys hidden;
//! 5. deletes the old curated files and the consumed staging objects;
//! 6. writes the state again without the deleted curated files, and a record of the run.
//!
//! Every state is consistent for readers: before the switch they see exactly what they saw
//! before the run, after it exactly the new files and whatever staging arrived since. Consumed
//! staging keys stay hidden for `hidden_staging_ms` because a retried invocation can write the
//! same key again (same records): the next run folds such a copy in and deletes it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::keys::STAGING_PREFIX;
use crate::merge::{MergeError, MergeOptions, RunWriter};
use crate::parquet_encode::writer_properties;
use crate::storage::{ObjectStore, StorageError};

pub const CURATED_PREFIX: &str = "logs/";
pub const STATE_KEY: &str = "_loglake/compaction/state.json";
pub const RUNS_PREFIX: &str = "_loglake/compaction/runs/";

/// What readers must not see, and how far runs have got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactionState {
    /// The number the next run takes.
    pub next_run: u64,
    /// Curated keys, or key prefixes ending in `-`, hidden from readers.
    pub hidden_curated: BTreeSet<String>,
    /// Consumed staging keys, hidden until the time given (ms since the epoch).
    pub hidden_staging: BTreeMap<String, i64>,
}

impl CompactionState {
    pub fn curated_visible(&self, key: &str) -> bool {
        !self
            .hidden_curated
            .iter()
            .any(|hidden| key == hidden || (hidden.ends_with('-') && key.starts_with(hidden.as_str())))
    }

    pub fn staging_visible(&self, key: &str) -> bool {
        !self.hidden_staging.contains_key(key)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error("compaction state {STATE_KEY} is unreadable: {0}")]
    State(serde_json::Error),
    #[error("spill directory: {0}")]
    Spill(std::io::Error),
    #[error("writing a curated file failed: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

#[derive(Debug, Clone)]
pub struct CompactOptions {
    pub merge: MergeOptions,
    /// Rows per curated file (the last file of an hour holds the rest).
    pub rows_per_file: usize,
    pub zstd_level: i32,
    /// How long consumed staging keys stay hidden: longer than any upstream retry.
    pub hidden_staging_ms: i64,
    /// Staging objects younger than this wait for a later run, so that runs take complete,
    /// larger batches (correctness does not depend on it: staging is hidden by key).
    pub grace_ms: i64,
    pub now_ms: i64,
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
    match store.get(STATE_KEY).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(CompactError::State),
        // A lake that was never compacted has no state (local: NotFound; S3: NoSuchKey).
        Err(_) if store.list(STATE_KEY).await?.is_empty() => Ok(CompactionState::default()),
        Err(error) => Err(error.into()),
    }
}

async fn save_state(store: &dyn ObjectStore, state: &CompactionState) -> Result<(), CompactError> {
    let bytes = serde_json::to_vec_pretty(state).map_err(CompactError::State)?;
    Ok(store.put(STATE_KEY, bytes).await?)
}

/// The keys a reader of the lake sees now: visible curated files and visible staging files.
pub async fn visible_keys(store: &dyn ObjectStore) -> Result<Vec<String>, CompactError> {
    let state = load_state(store).await?;
    let mut keys: Vec<String> =
        store.list(CURATED_PREFIX).await?.into_iter().filter(|k| state.curated_visible(k)).collect();
    keys.extend(store.list(STAGING_PREFIX).await?.into_iter().filter(|k| state.staging_visible(k)));
    Ok(keys)
}

/// `dt=…/hour=…` of a key under a table prefix.
fn partition_of(key: &str, prefix: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?;
    let mut parts = rest.splitn(3, '/');
    let (dt, hour) = (parts.next()?, parts.next()?);
    (dt.starts_with("dt=") && hour.starts_with("hour=") && parts.next().is_some()).then(|| format!("{dt}/{hour}"))
}

/// Runs one compaction over everything in staging.
pub async fn compact(
    store: &dyn ObjectStore,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
) -> Result<RunRecord, CompactError> {
    compact_with_progress(store, options, spill_dir, |_, _, _| {}).await
}

/// [`compact`], calling `progress(hours done, hours, hour)` as each hour is merged.
pub async fn compact_with_progress(
    store: &dyn ObjectStore,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<RunRecord, CompactError> {
    let started = std::time::Instant::now();
    let mut state = load_state(store).await?;
    let run = state.next_run;
    let mut record = RunRecord { run, ..RunRecord::default() };

    // 1. What a crashed run left is hidden: remove it.
    let leftovers: Vec<String> = state.hidden_curated.iter().cloned().collect();
    for hidden in &leftovers {
        let keys = if hidden.ends_with('-') { store.list(hidden).await? } else { vec![hidden.clone()] };
        for key in keys {
            store.delete(&key).await?;
            record.deleted += 1;
        }
    }
    state.hidden_curated.clear();
    state.hidden_staging.retain(|_, until| *until > options.now_ms);

    let mut hours: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, modified_ms) in store.list_modified(STAGING_PREFIX).await? {
        if modified_ms > options.now_ms - options.grace_ms {
            continue;
        }
        if let Some(partition) = partition_of(&key, STAGING_PREFIX) {
            hours.entry(partition).or_default().push(key);
        }
    }
    if hours.is_empty() {
        state.next_run = run + 1;
        save_state(store, &state).await?;
        return Ok(record);
    }

    // 2. Hide this run's files before any exists.
    let prefix = |hour: &str| format!("{CURATED_PREFIX}{hour}/r{run:06}-");
    for hour in hours.keys() {
        state.hidden_curated.insert(prefix(hour));
    }
    state.next_run = run + 1;
    save_state(store, &state).await?;

    // 3. Merge each hour.
    let mut replaced: Vec<String> = Vec::new();
    let mut consumed: Vec<String> = Vec::new();
    for (done, (hour, staging)) in hours.iter().enumerate() {
        progress(done, hours.len(), hour);
        let curated: Vec<String> = store
            .list(&format!("{CURATED_PREFIX}{hour}/"))
            .await?
            .into_iter()
            .filter(|k| state.curated_visible(k))
            .collect();
        let dir = tempfile_dir(spill_dir, run, hour)?;
        let mut runs = RunWriter::new(&dir, options.merge.clone());
        for key in curated.iter().chain(staging) {
            let body = store.get(key).await?;
            record.bytes_in += body.len();
            runs.add_file(body)?;
        }
        let mut merger = runs.finish()?;
        let mut writer: Option<parquet::arrow::ArrowWriter<Vec<u8>>> = None;
        let mut rows_in_file = 0;
        let mut part = 0;
        while let Some(batch) = merger.next_batch()? {
            let current = match &mut writer {
                Some(writer) => writer,
                None => writer.insert(parquet::arrow::ArrowWriter::try_new(
                    Vec::new(),
                    batch.schema(),
                    Some(writer_properties(options.zstd_level)),
                )?),
            };
            current.write(&batch)?;
            // A row group is held in memory until it is flushed: keep it within half the budget.
            if current.in_progress_size() >= options.merge.memory_budget_bytes / 2 {
                current.flush()?;
            }
            rows_in_file += batch.num_rows();
            if rows_in_file >= options.rows_per_file {
                if let Some(full) = writer.take() {
                    record.bytes_out += finish_file(store, full, &format!("{}{part:04}.parquet", prefix(hour))).await?;
                    record.files_out += 1;
                    part += 1;
                }
                rows_in_file = 0;
            }
        }
        if let Some(last) = writer.take() {
            record.bytes_out += finish_file(store, last, &format!("{}{part:04}.parquet", prefix(hour))).await?;
            record.files_out += 1;
        }
        let stats = merger.stats().clone();
        record.rows_in += stats.rows_in;
        record.rows_out += stats.rows_out;
        record.duplicates += stats.duplicates;
        record.curated_in += curated.len();
        record.staging_in += staging.len();
        record.hours.push(hour.clone());
        replaced.extend(curated);
        consumed.extend(staging.iter().cloned());
        let _ = std::fs::remove_dir_all(&dir);
        progress(done + 1, hours.len(), hour);
    }

    // 4. The switch.
    for hour in hours.keys() {
        state.hidden_curated.remove(&prefix(hour));
    }
    state.hidden_curated.extend(replaced.iter().cloned());
    for key in &consumed {
        state.hidden_staging.insert(key.clone(), options.now_ms + options.hidden_staging_ms);
    }
    save_state(store, &state).await?;

    // 5. Delete what the new files replace.
    for key in replaced.iter().chain(&consumed) {
        store.delete(key).await?;
        record.deleted += 1;
    }

    // 6. Forget the deleted curated files; keep a record of the run.
    state.hidden_curated.clear();
    save_state(store, &state).await?;
    record.duration_ms = started.elapsed().as_millis() as u64;
    let body = serde_json::to_vec_pretty(&record).map_err(CompactError::State)?;
    store.put(&format!("{RUNS_PREFIX}{run:06}.json"), body).await?;
    Ok(record)
}

fn tempfile_dir(spill_dir: &std::path::Path, run: u64, hour: &str) -> Result<std::path::PathBuf, CompactError> {
    let dir = spill_dir.join(format!("run-{run}-{}", hour.replace(['/', '='], "_")));
    std::fs::create_dir_all(&dir).map_err(CompactError::Spill)?;
    Ok(dir)
}

async fn finish_file(
    store: &dyn ObjectStore,
    writer: parquet::arrow::ArrowWriter<Vec<u8>>,
    key: &str,
) -> Result<usize, CompactError> {
    let body = writer.into_inner()?;
    let bytes = body.len();
    store.put(key, body).await?;
    Ok(bytes)
}
