//! Compaction: staging files into sorted, deduplicated curated files, invisible to readers.
//!
//! Readers see the view of [`crate::compact::view`], a function of the state
//! ([`crate::compact::state`]; see docs/compaction-design.md). Run `N` (the state's `next_run`):
//!
//! 1. publishes the view of the state it finds (a crash may have stopped the last run between
//!    its switch and the publication), then deletes what earlier runs left: files of an
//!    unfinished run `N` (never visible: the view shows only runs before `next_run`), and the
//!    curated files switches replaced and the staging objects they consumed once the delete
//!    delay has passed (hidden meanwhile, but readable by queries planned before the switch);
//! 2. takes the staging objects older than the grace period and not consumed already, grouped
//!    by hour, and records the hours it is about to write (bookkeeping for step 1 of the next
//!    run, not visibility);
//! 3. for each hour merges the hour's visible curated files with its staging files (external
//!    merge, duplicates by `event_id` dropped) into new files `r<N>-<part>.parquet`, hours in
//!    parallel on worker threads;
//! 4. **switches**: one write of the state (`next_run = N + 1`, the hour's old curated files
//!    replaced and its staging consumed, both until the delete delay has passed, the hours
//!    deduplicated against staging for the retry horizon), then publishes the view;
//! 5. without a delete delay (a local lake), deletes them now and writes the state without
//!    them; then records the run.
//!
//! Every state is consistent for readers: before the switch they see exactly what they saw
//! before the run; after it the new files, and staging rows only where no visible curated row
//! has the same id. That last rule also hides a staging key that an upstream retry wrote again
//! after it was consumed; the next run folds such a copy in and deletes it.

use std::collections::{BTreeMap, HashSet};

use crate::compact::delta::{DeltaError, Found, NewKeys, RecordKey, drop_known, search_curated};
use crate::compact::lease::{self, Lease, Taken};
use crate::compact::merge::{MergeError, MergeOptions, MergeStats, TableRuns};
use crate::compact::probe::Probe;
use crate::compact::state::{
    CompactError, CompactionState, Consumed, FailedHour, RunRecord, SetAside, StoredState, read_state,
};
use crate::compact::units::{KeyRange, PARTS_PER_UNIT, Unit, plan_units};
use crate::compact::view::Readers;
use crate::lake::encode::curated_writer_properties;
use crate::lake::layout::{STAGING_PREFIX, compaction_run_key, compaction_set_aside_key, curated_run_of, partition_of};
use crate::lake::storage::{ListedObject, ObjectStore};
use crate::lake::typed::{CuratedTable, TYPED_TABLES, curated_hour_of};

#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// The memory budget of the whole run, shared by its workers.
    pub merge: MergeOptions,
    /// Hours merged at once, each on its own thread with its share of the budget.
    pub workers: usize,
    /// Size a curated file is closed at (the last file of an hour holds the rest).
    pub file_bytes: usize,
    pub zstd_level: i32,
    /// How long a compacted hour's staging rows are deduplicated against the curated rows in
    /// the view: longer than any upstream retry can rewrite a staging key.
    pub retry_horizon_ms: i64,
    /// Staging objects younger than this wait for a later run, so that runs take complete,
    /// larger batches (correctness does not depend on it).
    pub grace_ms: i64,
    pub now_ms: i64,
    /// Who runs (an invocation's request id, `cli-<pid>`): written into the lease for people.
    pub holder: String,
    /// How long the lease a run holds lasts: longer than a run can take between renewals (the
    /// function's timeout), so that only a crashed run's lease ever expires.
    pub lease_ms: i64,
    /// How long replaced curated files and consumed staging objects stay after a switch (hidden
    /// from the new view), so that a query planned under the previous view can still read them:
    /// no shorter than the longest query. At most the retry horizon, which keeps consumed
    /// staging rows hidden until they are deleted.
    pub delete_delay_ms: i64,
    /// The input one run takes at most (staging plus the curated files it rewrites), oldest
    /// hours first; the rest waits for the next run. An hour larger than this is taken alone.
    pub max_input_bytes: u64,
    /// Late data into a compacted hour is written as a delta file beside its curated files while
    /// the hour's deltas and new staging stay within this fraction of its base (the files of the
    /// last run that merged it whole); past it the hour is merged whole again. 0: always whole.
    pub delta_fraction: f64,
    /// An hour whose merge reads more than this is split into units of about this size
    /// ([`crate::compact::units`]), each merged on its own.
    pub unit_bytes: u64,
    /// Where units run: elsewhere, at once (the compactor's unit function), or — `None` — in this
    /// process, one after another.
    pub unit_invoker: Option<UnitInvokerRef>,
    /// Rows of the typed formats (those of [`crate::lake::typed::TYPED_TABLES`]) go to their typed tables
    /// ([`crate::lake::typed`]) rather than `logs`, from this run on and for good (the state
    /// keeps it). On in the functions and the CLI; off only to stand for a lake written before
    /// typed tables existed.
    pub typed_tables: bool,
}

/// How a unit that ran elsewhere failed.
#[derive(Debug)]
pub enum UnitError {
    /// It ran and failed: nothing of it runs any more.
    Failed(String),
    /// No answer (a lost connection, a client timeout): it may still be running.
    Unanswered(String),
}

/// Runs units elsewhere: the compactor's unit function, invoked synchronously, one invocation per
/// unit, many at once.
#[async_trait::async_trait]
pub trait UnitInvoker: Send + Sync {
    async fn invoke(&self, unit: &Unit) -> Result<HourOutput, UnitError>;
}

/// A [`UnitInvoker`] in [`CompactOptions`].
#[derive(Clone)]
pub struct UnitInvokerRef(pub std::sync::Arc<dyn UnitInvoker>);

impl PartialEq for UnitInvokerRef {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for UnitInvokerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnitInvoker")
    }
}

/// How long before its run's lease expires a unit run elsewhere stops starting writes: more than
/// one upload of a curated file takes.
pub const UNIT_WRITE_MARGIN_MS: i64 = 3 * 60_000;

/// Delta runs an hour may have before it is merged whole again, however small they are: each adds
/// at least one file a query opens.
pub const MAX_DELTA_RUNS_PER_HOUR: usize = 8;

impl CompactOptions {
    /// A run on a local lake (the CLI, tests, benchmarks) at `now_ms`: every staging object
    /// taken at once (no grace, no input bound), nothing kept for queries planned before the
    /// switch (no local query outlives a run), ZSTD level 3 files of up to 256 MB.
    pub fn for_local_lake(now_ms: i64, holder: &str) -> CompactOptions {
        CompactOptions {
            merge: MergeOptions::default(),
            workers: default_workers(),
            file_bytes: 256 << 20,
            zstd_level: 3,
            retry_horizon_ms: 48 * 3_600_000,
            grace_ms: 0,
            now_ms,
            holder: holder.to_owned(),
            // Renewed as the run goes: a long local run keeps it.
            lease_ms: 20 * 60_000,
            delete_delay_ms: 0,
            max_input_bytes: u64::MAX,
            delta_fraction: DEFAULT_DELTA_FRACTION,
            unit_bytes: u64::MAX,
            unit_invoker: None,
            typed_tables: true,
        }
    }
}

/// Deltas up to a tenth of the hour's base: a query of a compacted hour reads at most that much
/// unmerged on top of its sorted files.
pub const DEFAULT_DELTA_FRACTION: f64 = 0.1;

/// Workers for this machine: one per core, at most four.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Runs one compaction over everything in staging.
pub async fn compact(
    store: &dyn ObjectStore,
    readers: &Readers<'_>,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
) -> Result<RunRecord, CompactError> {
    compact_with_progress(store, readers, options, spill_dir, |_, _, _| {}).await
}

/// Runs compactions one after another while hours wait and another run fits before `deadline`
/// (each run bounded by `max_input_bytes`, with its own switch, so a stop between runs loses
/// nothing): a backlog drains within one invocation as far as its time allows. A run is assumed
/// to take up to twice the longest one so far. Returns the records of the runs.
pub async fn compact_until(
    store: &dyn ObjectStore,
    readers: &Readers<'_>,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
    deadline: std::time::Instant,
) -> Result<Vec<RunRecord>, CompactError> {
    let first = std::time::Instant::now();
    let mut longest = std::time::Duration::ZERO;
    let mut records = Vec::new();
    loop {
        let started = std::time::Instant::now();
        let now_ms = options.now_ms + first.elapsed().as_millis() as i64;
        let record = compact(store, readers, &CompactOptions { now_ms, ..options.clone() }, spill_dir).await?;
        longest = longest.max(started.elapsed());
        let more = record.hours_waiting > 0 && record.skipped.is_none() && record.failed_hours.is_empty();
        records.push(record);
        if !more || std::time::Instant::now() + longest * 2 > deadline {
            return Ok(records);
        }
    }
}

/// [`compact`], calling `progress(hours done, hours, hour)` as each hour is merged.
///
/// A run holds the compaction lease while it works ([`crate::compact::lease`]); a run that finds
/// it held by another run does nothing and says so in its record (`skipped`).
pub async fn compact_with_progress(
    store: &dyn ObjectStore,
    readers: &Readers<'_>,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
    progress: impl FnMut(usize, usize, &str),
) -> Result<RunRecord, CompactError> {
    let mut lease = match lease::take(store, &options.holder, options.lease_ms).await? {
        Taken::Held(lease) => lease,
        Taken::Busy { holder, expires_ms } => {
            let reason =
                format!("another run ({holder}) holds the compaction lease until {expires_ms} (ms since the epoch)");
            tracing::info!(reason, "compaction skipped");
            return Ok(RunRecord { skipped: Some(reason), ..RunRecord::default() });
        }
    };
    let result = run_holding(store, readers, options, spill_dir, &mut lease, progress).await;
    // Whether the run finished or not, the next run need not wait for the lease to expire: it
    // continues from the state. A lease that cannot be released expires by itself. One kept on
    // purpose: a unit that did not answer may write until shortly before it expires.
    if let Err(CompactError::UnitUnanswered { .. }) = &result {
        tracing::warn!("a unit did not answer: the lease is kept until it expires");
        return result;
    }
    if let Err(error) = lease.release(store).await {
        tracing::warn!(error = %error, "the compaction lease was not released; it expires by itself");
    }
    result
}

/// One run, holding the lease: every write and delete happens while it is held, and every
/// state write expects the state this run read.
async fn run_holding(
    store: &dyn ObjectStore,
    readers: &Readers<'_>,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
    lease: &mut Lease,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<RunRecord, CompactError> {
    use futures_util::StreamExt;

    let started = std::time::Instant::now();
    let mut stored = read_state(store).await?;
    let run = stored.state.next_run;
    let mut record = RunRecord { run, ..RunRecord::default() };
    let curated_listing = list_curated(store).await?;
    refuse_reused_run_numbers(&curated_listing, &stored)?;

    // 1. Readers follow the state; then what the last run left goes: an unfinished run's files,
    // and what earlier switches replaced or consumed once its delay has passed. Every delete
    // checks the lease first: a run whose lease ran out (a suspended CLI) deletes nothing more.
    // The view published is of the state as it is now: a run that overtook this one since its
    // read (one paused between its reads, its lease lapsed) has published a newer one.
    stored.ensure_current(store).await?;
    let state = &mut stored.state;
    readers.publish(state).await?;
    let before = state.clone();
    // An hour the last run was still writing when it stopped is suspect: it may hold the file
    // that ended the run.
    state.suspect_hours.extend(state.writing.iter().cloned());
    for hour in std::mem::take(&mut state.writing) {
        for key in list_run_files(store, &hour, &state.pending_run_marker()).await? {
            lease.ensure_held()?;
            store.delete(&key).await?;
            record.deleted += 1;
        }
    }
    let staging_listing = store.list_objects(STAGING_PREFIX).await?;
    let sizes: BTreeMap<&str, u64> = staging_listing.iter().map(|o| (o.key.as_str(), o.size)).collect();
    let mut staging: BTreeMap<String, i64> = staging_listing.iter().map(|o| (o.key.clone(), o.modified_ms)).collect();
    record.deleted += delete_due(store, state, &mut staging, options.now_ms, lease).await?;
    state.deduplicated.retain(|_, until| *until > options.now_ms);

    // 2. The staging objects old enough and not merged already, by hour.
    let mut ready: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, &modified_ms) in &staging {
        if modified_ms > options.now_ms - options.grace_ms
            || state.consumed.get(key).is_some_and(|consumed| consumed.modified_ms == modified_ms)
        {
            continue;
        }
        let key = key.clone();
        if let Some(partition) = partition_of(&key, STAGING_PREFIX) {
            ready.entry(partition).or_default().push(key);
        }
    }
    // An hour with nothing left to merge is no longer anyone's risk.
    state.suspect_hours.retain(|hour| ready.contains_key(hour));
    // A run's work is bounded, so that it ends well within one invocation (time, memory, /tmp):
    // hours oldest first while their input — staging and the curated files a merge rewrites —
    // stays within `max_input_bytes` (always at least one hour). A backlog converges run after
    // run; what waits is counted.
    // An hour already compacted takes its new staging as a delta while that stays small
    // against its base; otherwise (and for a new hour) the merge rewrites the hour's files.
    let mut curated_by_hour: BTreeMap<String, CuratedHour> = BTreeMap::new();
    for object in curated_listing.iter().filter(|o| state.curated_visible(&o.key)) {
        if let Some(hour) = curated_hour_of(&object.key) {
            curated_by_hour.entry(hour).or_default().add(object);
        }
    }
    let mut hours: BTreeMap<String, HourPlan> = BTreeMap::new();
    let mut taken_bytes = 0;
    for (hour, keys) in ready {
        let staging_bytes = keys.iter().map(|k| sizes.get(k.as_str()).copied().unwrap_or(0)).sum::<u64>();
        let curated = curated_by_hour.get(&hour);
        let delta = curated.is_some_and(|c| c.takes_delta(staging_bytes, options.delta_fraction));
        let bytes = match delta {
            true => staging_bytes,
            false => staging_bytes + curated.map_or(0, |c| c.bytes()),
        };
        if !hours.is_empty() && (record.hours_waiting > 0 || taken_bytes + bytes > options.max_input_bytes) {
            record.hours_waiting += 1;
            continue;
        }
        taken_bytes += bytes;
        hours.insert(hour, HourPlan { staging: keys, delta, set_aside: BTreeMap::new() });
    }
    if hours.is_empty() {
        record.oldest_staging_age_ms = oldest_waiting_ms(&staging, state, options.now_ms);
        if *state != before {
            stored.save(store).await?;
            readers.publish(&stored.state).await?;
        }
        return Ok(record);
    }
    state.writing = hours.keys().cloned().collect();
    stored.save(store).await?;
    let state = &mut stored.state;

    // A suspect hour's files are first read alone, each after saying which it is: a file that
    // ends the process is named to the next run, and set aside once two runs died on it.
    let suspect: Vec<&String> = hours.keys().filter(|hour| state.suspect_hours.contains(*hour)).collect();
    if !suspect.is_empty() {
        let mut probe = Probe::start(store, options.merge.batch_rows).await?;
        let mut found = Vec::new();
        for hour in suspect {
            let curated = curated_listing
                .iter()
                .filter(|o| state.curated_visible(&o.key) && curated_hour_of(&o.key).as_ref() == Some(hour))
                .map(|o| &o.key);
            for key in curated.chain(&hours[hour].staging) {
                if let Some(reason) = probe.read(store, key, lease).await? {
                    tracing::warn!(hour, key, reason, "an input file of a suspect hour cannot be used");
                    found.push((hour.clone(), key.clone(), reason));
                }
            }
        }
        probe.finish(store, lease).await?;
        for (hour, key, reason) in found {
            if let Some(plan) = hours.get_mut(&hour) {
                plan.set_aside.insert(key, reason);
            }
        }
    }

    // 3. Merge the hours, a few at once.
    let workers = options.workers.max(1);
    let hour_options = CompactOptions {
        merge: MergeOptions {
            memory_budget_bytes: options.merge.memory_budget_bytes / workers,
            ..options.merge.clone()
        },
        // Once on, for good: readers' views follow the state.
        typed_tables: options.typed_tables || state.typed_tables(),
        ..options.clone()
    };
    // Units run elsewhere write only while the lease, as last renewed, has time left.
    let lease_expires_ms = std::sync::atomic::AtomicI64::new(lease.expires_ms());
    let sizes = &sizes;
    let mut merged = futures_util::stream::iter(hours.iter())
        .map(|(hour, plan)| {
            let state = &*state;
            let hour_options = &hour_options;
            let lease_expires_ms = &lease_expires_ms;
            async move {
                let merged = async {
                    let curated: Vec<ListedObject> = list_curated_hour(store, hour)
                        .await?
                        .into_iter()
                        .filter(|o| state.curated_visible(&o.key))
                        .collect();
                    // Files set aside already are replaced or consumed with the others, not read.
                    let (curated, curated_aside): (Vec<ListedObject>, Vec<ListedObject>) =
                        curated.into_iter().partition(|o| !plan.set_aside.contains_key(&o.key));
                    let staging_keys: Vec<String> =
                        plan.staging.iter().filter(|key| !plan.set_aside.contains_key(*key)).cloned().collect();
                    let replaced = || curated.iter().chain(&curated_aside).map(|o| o.key.clone()).collect::<Vec<_>>();
                    if plan.delta {
                        match merge_delta(store, hour, run, &curated, &staging_keys, hour_options, spill_dir).await {
                            Ok(out) => {
                                let aside = curated_aside.iter().map(|o| o.key.clone()).collect();
                                return Ok::<_, CompactError>((aside, out));
                            }
                            Err(HourError::Unsearchable(reason)) => {
                                tracing::warn!(hour, reason, "a delta could not search the hour; merging it whole");
                            }
                            Err(HourError::Compact(error)) => return Err(error),
                        }
                    }
                    let staging: Vec<ListedObject> = staging_keys
                        .iter()
                        .map(|key| ListedObject {
                            key: key.clone(),
                            modified_ms: 0,
                            size: sizes.get(key.as_str()).copied().unwrap_or(0),
                        })
                        .collect();
                    let units = plan_units(store, hour, run, &curated, &staging, hour_options.unit_bytes).await?;
                    let write_until_ms =
                        lease_expires_ms.load(std::sync::atomic::Ordering::Relaxed) - UNIT_WRITE_MARGIN_MS;
                    let out = run_units(store, units, write_until_ms, hour_options, spill_dir).await?;
                    Ok((replaced(), out))
                };
                (hour, merged.await)
            }
        })
        .buffer_unordered(workers);
    let mut replaced: Vec<String> = Vec::new();
    let mut consumed: Vec<String> = Vec::new();
    // A failed hour stops only itself: its inputs wait for the next run. A lost lease stops the
    // run; the other hours still run to their end (each removes its spill directory): dropping
    // them would leave their blocking workers writing into directories a retry in the same
    // process reuses.
    let mut failure = None;
    let mut failed_hours: Vec<(&String, CompactError)> = Vec::new();
    let mut unusable: Vec<(String, String)> = Vec::new();
    while let Some((hour, result)) = merged.next().await {
        let (curated, out): (Vec<String>, HourOutput) = match result {
            Ok(merged_hour) if failure.is_none() => merged_hour,
            Ok(_) => continue,
            Err(error @ CompactError::UnitUnanswered { .. }) => {
                tracing::error!(hour, error = %error, "a unit did not answer: the run stops before its switch");
                failure.get_or_insert(error);
                continue;
            }
            Err(error) => {
                tracing::error!(hour, error = %error, "compacting an hour failed; the other hours go on");
                failed_hours.push((hour, error));
                continue;
            }
        };
        let staging = &hours[hour].staging;
        if out.delta {
            record.delta_hours.push(hour.clone());
        }
        record.delta_search_bytes += out.search.bytes_read;
        record.delta_row_groups_read += out.search.row_groups_read;
        record.delta_row_groups += out.search.row_groups;
        record.units += out.units;
        record.rows_in += out.stats.rows_in;
        record.spilled_bytes = record.spilled_bytes.max(out.stats.spilled_bytes);
        record.rows_out += out.stats.rows_out;
        record.duplicates += out.stats.duplicates;
        record.bytes_in += out.bytes_in;
        record.bytes_out += out.bytes_out;
        record.files_out += out.files;
        record.curated_in += curated.len();
        record.staging_in += staging.len();
        record.hours.push(hour.clone());
        unusable.extend(out.set_aside);
        unusable.extend(hours[hour].set_aside.iter().map(|(key, reason)| (key.clone(), reason.clone())));
        replaced.extend(curated);
        consumed.extend(staging.iter().cloned());
        progress(record.hours.len(), hours.len(), hour);
        // A long run keeps its lease (renewed once half of it has passed).
        if failure.is_none() {
            match lease.renew_after_half(store, options.lease_ms).await {
                Ok(()) => lease_expires_ms.store(lease.expires_ms(), std::sync::atomic::Ordering::Relaxed),
                Err(error) => failure = Some(error),
            }
        }
    }
    drop(merged);
    if let Some(error) = failure {
        return Err(error);
    }
    if record.hours.is_empty()
        && let Some((_, error)) = failed_hours.pop()
    {
        return Err(error); // every hour failed: the run did nothing
    }
    for (key, reason) in unusable {
        record.set_aside.push(set_aside(store, &key, &reason, options.now_ms).await?);
    }
    // What a failed hour wrote would be visible once `next_run` passes it: the switch hides it as
    // replaced (due at once). Not deleted here: only the switch's conditional write proves this
    // run still owns run number N (a run that lost its lease would delete the files of the run
    // that took over).
    let mut abandoned = Vec::new();
    for (hour, error) in failed_hours {
        abandoned.extend(list_run_files(store, hour, &state.pending_run_marker()).await?);
        record.failed_hours.push(FailedHour { hour: hour.clone(), reason: error.to_string() });
    }
    record.hours.sort();
    record.delta_hours.sort();

    // 4. The switch.
    state.next_run = run + 1;
    if hour_options.typed_tables {
        for table in TYPED_TABLES {
            state.typed_from_run.entry(table.name.to_owned()).or_insert(run);
        }
    }
    state.writing.clear();
    state.suspect_hours.retain(|hour| !record.hours.contains(hour));
    state.suspect_hours.extend(record.failed_hours.iter().map(|failed| failed.hour.clone()));
    let delete_after_ms = options.now_ms + options.delete_delay_ms;
    state.replaced.extend(replaced.into_iter().map(|key| (key, delete_after_ms)));
    state.replaced.extend(abandoned.into_iter().map(|key| (key, options.now_ms)));
    for key in consumed {
        let modified_ms = staging.get(&key).copied().unwrap_or_default();
        state.consumed.insert(key, Consumed { modified_ms, delete_after_ms });
    }
    for hour in &record.hours {
        state.deduplicated.insert(hour.clone(), options.now_ms + options.retry_horizon_ms);
    }
    lease.ensure_held()?;
    stored.save(store).await?;
    readers.publish(&stored.state).await?;
    record.oldest_staging_age_ms = oldest_waiting_ms(&staging, &stored.state, options.now_ms);

    // 5. Delete what the new files replace, if no delay keeps it (a local lake: none).
    if options.delete_delay_ms <= 0 {
        let switched = stored.state.clone();
        let mut staging: BTreeMap<String, i64> =
            store.list_objects(STAGING_PREFIX).await?.into_iter().map(|o| (o.key, o.modified_ms)).collect();
        record.deleted += delete_due(store, &mut stored.state, &mut staging, options.now_ms, lease).await?;
        // 6. Forget the deleted files.
        if stored.state != switched {
            stored.save(store).await?;
            readers.publish(&stored.state).await?;
        }
    }

    // Keep a record of the run.
    record.duration_ms = started.elapsed().as_millis() as u64;
    let body = serde_json::to_vec_pretty(&record).map_err(CompactError::State)?;
    store.put(&compaction_run_key(run), body).await?;
    Ok(record)
}

/// Every curated file, of every table.
async fn list_curated(store: &dyn ObjectStore) -> Result<Vec<ListedObject>, CompactError> {
    let mut listing = Vec::new();
    for table in CuratedTable::all() {
        listing.extend(store.list_objects(&table.prefix()).await?);
    }
    Ok(listing)
}

/// The curated files of an hour, of every table.
async fn list_curated_hour(store: &dyn ObjectStore, hour: &str) -> Result<Vec<ListedObject>, CompactError> {
    let mut listing = Vec::new();
    for table in CuratedTable::all() {
        listing.extend(store.list_objects(&format!("{}{hour}/", table.prefix())).await?);
    }
    Ok(listing)
}

/// The files of the run whose file names start with `marker` in an hour, of every table.
async fn list_run_files(store: &dyn ObjectStore, hour: &str, marker: &str) -> Result<Vec<String>, CompactError> {
    let mut keys = Vec::new();
    for table in CuratedTable::all() {
        keys.extend(store.list(&format!("{}{hour}/{marker}", table.prefix())).await?);
    }
    Ok(keys)
}

/// How long the oldest staging object not merged yet (in `staging`, the listing, and not
/// consumed by `state`) has waited at `now_ms`; 0 when none waits. Healthy, this stays below the
/// schedule plus the grace period; a failing hour or a stopped compactor makes it grow.
fn oldest_waiting_ms(staging: &BTreeMap<String, i64>, state: &CompactionState, now_ms: i64) -> u64 {
    staging
        .iter()
        .filter(|(key, modified_ms)| {
            partition_of(key, STAGING_PREFIX).is_some()
                && state.consumed.get(*key).is_none_or(|consumed| consumed.modified_ms != **modified_ms)
        })
        .map(|(_, modified_ms)| (now_ms - modified_ms).max(0) as u64)
        .max()
        .unwrap_or(0)
}

/// Deletes the replaced curated files and consumed staging objects whose delay has passed at
/// `now_ms`, and forgets them. A consumed key written again since it was merged (its modification
/// time in `staging`, the listing, differs) is new input: forgotten, not deleted. Returns how many
/// objects were deleted.
async fn delete_due(
    store: &dyn ObjectStore,
    state: &mut CompactionState,
    staging: &mut BTreeMap<String, i64>,
    now_ms: i64,
    lease: &Lease,
) -> Result<usize, CompactError> {
    let mut deleted = 0;
    let due: Vec<String> =
        state.replaced.iter().filter(|(_, after)| **after <= now_ms).map(|(k, _)| k.clone()).collect();
    for key in due {
        lease.ensure_held()?;
        store.delete(&key).await?;
        state.replaced.remove(&key);
        deleted += 1;
    }
    let due: Vec<(String, Consumed)> =
        state.consumed.iter().filter(|(_, c)| c.delete_after_ms <= now_ms).map(|(k, c)| (k.clone(), *c)).collect();
    for (key, consumed) in due {
        if staging.get(&key) == Some(&consumed.modified_ms) {
            lease.ensure_held()?;
            store.delete(&key).await?;
            staging.remove(&key);
            deleted += 1;
        }
        state.consumed.remove(&key);
    }
    Ok(deleted)
}

/// Moves an input file the merge could not use under `errors/compaction/`, with the reason beside
/// it; the switch then consumes or replaces it like the hour's other inputs. (A copy: the
/// original goes with the hour's other inputs, after the delete delay.)
async fn set_aside(store: &dyn ObjectStore, key: &str, reason: &str, now_ms: i64) -> Result<SetAside, CompactError> {
    let moved_to = compaction_set_aside_key(key);
    let body = store.get(key).await?;
    let note = serde_json::json!({
        "source": "compaction",
        "error_kind": "unusable_input_file",
        "reason": reason,
        "received_at_ms": now_ms,
        "origin": {"key": key},
        "input_bytes": body.len(),
    });
    store.put(&moved_to, body).await?;
    store.put(&format!("{moved_to}.json"), serde_json::to_vec_pretty(&note).map_err(CompactError::State)?).await?;
    tracing::warn!(key, moved_to, reason, "an input file was set aside");
    Ok(SetAside { key: key.to_owned(), moved_to, reason: reason.to_owned() })
}

/// Refuses a state older than the lake's curated files (a restored or copied state object): its
/// next run would write keys that exist, or hide files readers see. Run `N` may find only its
/// own leftovers (files `r<N>-…` in the hours the state says it was writing).
fn refuse_reused_run_numbers(curated: &[ListedObject], stored: &StoredState) -> Result<(), CompactError> {
    let state = &stored.state;
    for ListedObject { key, .. } in curated {
        let Some(run) = curated_run_of(key) else { continue };
        let leftover = run == state.next_run && curated_hour_of(key).is_some_and(|hour| state.writing.contains(&hour));
        if run > state.next_run || (run == state.next_run && !leftover) {
            return Err(CompactError::StateBehind { key: key.clone(), next_run: state.next_run });
        }
    }
    Ok(())
}

/// What merging one hour (or one unit of it) produced.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct HourOutput {
    stats: MergeStats,
    /// Input files the merge could not use, and why.
    set_aside: Vec<(String, String)>,
    files: usize,
    bytes_in: usize,
    bytes_out: usize,
    /// Units merged (1 for an hour merged whole in one).
    units: usize,
    /// Written as a delta beside the hour's curated files (which stay).
    delta: bool,
    /// What a delta read of the curated files to find the records they hold already.
    #[serde(skip)]
    search: Found,
}

/// The curated files of an hour, as a run finds them: its base (the files of the oldest visible
/// run, the last to merge the hour whole) and the deltas since.
#[derive(Debug, Default)]
struct CuratedHour {
    /// Bytes by run number.
    runs: BTreeMap<u64, u64>,
}

impl CuratedHour {
    fn add(&mut self, object: &ListedObject) {
        // A file not named by a run (written by hand) counts as the base.
        *self.runs.entry(curated_run_of(&object.key).unwrap_or(0)).or_default() += object.size;
    }

    fn bytes(&self) -> u64 {
        self.runs.values().sum()
    }

    /// Whether `staging_bytes` more go into a delta: the deltas with them stay within `fraction`
    /// of the base, and the hour has room for another delta run.
    fn takes_delta(&self, staging_bytes: u64, fraction: f64) -> bool {
        let Some((_, &base)) = self.runs.first_key_value() else { return false };
        let deltas: u64 = self.runs.values().skip(1).sum();
        base > 0
            && self.runs.len() <= MAX_DELTA_RUNS_PER_HOUR
            && (deltas + staging_bytes) as f64 <= fraction * base as f64
    }
}

/// What a run does with an hour.
#[derive(Debug)]
struct HourPlan {
    staging: Vec<String>,
    /// A delta (the hour's curated files stay) rather than a merge of the whole hour.
    delta: bool,
    /// Input files found unusable before the merge (a suspect hour's, read alone), and why: not
    /// read by the merge, set aside with its own.
    set_aside: BTreeMap<String, String>,
}

enum HourError {
    /// The curated files cannot be searched for the delta's records: merge the hour whole.
    Unsearchable(String),
    Compact(CompactError),
}

impl<E: Into<CompactError>> From<E> for HourError {
    fn from(error: E) -> Self {
        HourError::Compact(error.into())
    }
}

/// Merges an hour's new staging into a delta: its rows that no curated row of the hour has
/// already, sorted and deduplicated, in files `r<run>-<part>.parquet` beside the curated ones.
async fn merge_delta(
    store: &dyn ObjectStore,
    hour: &str,
    run: u64,
    curated: &[ListedObject],
    staging: &[String],
    options: &CompactOptions,
    spill_dir: &std::path::Path,
) -> Result<HourOutput, HourError> {
    let mut new = NewKeys::default();
    for key in staging {
        new.add_file(store.get(key).await?);
    }
    let found = match search_curated(store, curated, &new).await {
        Ok(found) => found,
        Err(DeltaError::Unsearchable { key, reason }) => {
            return Err(HourError::Unsearchable(format!("{key}: {reason}")));
        }
        Err(DeltaError::Storage(error)) => return Err(error.into()),
    };
    let inputs = MergeInputs {
        hour,
        run,
        curated: &[],
        staging,
        known: &found.known,
        range: &KeyRange::default(),
        first_part: 0,
        write_until_ms: None,
    };
    let mut out = merge_hour(store, inputs, options, spill_dir).await?;
    out.delta = true;
    out.search = Found { known: Default::default(), ..found };
    Ok(out)
}

/// A message to an hour's merge worker.
enum Input {
    File {
        key: String,
        body: Vec<u8>,
    },
    /// Every input was sent: without it the worker writes nothing (a failed read must not
    /// produce a file of part of the hour).
    End,
}

/// What one merge reads, and the run its files belong to.
struct MergeInputs<'a> {
    hour: &'a str,
    run: u64,
    curated: &'a [String],
    staging: &'a [String],
    /// Records the hour's curated files hold already: a delta drops them.
    known: &'a HashSet<RecordKey>,
    /// The rows it takes of its inputs (a unit's range; all for a whole hour).
    range: &'a KeyRange,
    /// The part number of its first file.
    first_part: usize,
    /// No write starts at or after this time (ms since the epoch).
    write_until_ms: Option<i64>,
}

/// Merges an hour's units: one after another in this process, or all at once elsewhere (when an
/// invoker is set and the hour has more than one unit). The hour's output sums its units'; any
/// unit's failure is the hour's.
async fn run_units(
    store: &dyn ObjectStore,
    units: Vec<Unit>,
    write_until_ms: i64,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
) -> Result<HourOutput, CompactError> {
    let mut outputs = Vec::with_capacity(units.len());
    match &options.unit_invoker {
        Some(invoker) if units.len() > 1 => {
            let invocations = units.into_iter().map(|unit| {
                let unit = Unit { write_until_ms: Some(write_until_ms), typed_tables: options.typed_tables, ..unit };
                async move { (invoker.0.invoke(&unit).await, unit) }
            });
            // Every invocation runs to its answer before the hour's result is known: the switch
            // must not list the hour's files while a unit may still write one.
            let answers = futures_util::future::join_all(invocations).await;
            let mut failed = None;
            for (answer, unit) in answers {
                let (hour, unit) = (unit.hour, unit.index);
                match answer {
                    Ok(output) => outputs.push(output),
                    Err(UnitError::Unanswered(reason)) => {
                        return Err(CompactError::UnitUnanswered { hour, unit, reason });
                    }
                    Err(UnitError::Failed(reason)) => failed = Some(CompactError::UnitFailed { hour, unit, reason }),
                }
            }
            if let Some(error) = failed {
                return Err(error);
            }
        }
        _ => {
            for unit in &units {
                outputs.push(merge_unit(store, unit, options, spill_dir).await?);
            }
        }
    }
    let mut hour = HourOutput::default();
    for unit in outputs {
        hour.stats.add(&unit.stats);
        hour.files += unit.files;
        hour.bytes_in += unit.bytes_in;
        hour.bytes_out += unit.bytes_out;
        hour.units += 1;
        // A file every unit reads, and none can, is set aside once.
        for aside in unit.set_aside {
            if !hour.set_aside.contains(&aside) {
                hour.set_aside.push(aside);
            }
        }
    }
    Ok(hour)
}

/// Merges one unit of an hour: the rows of its range in its files, into parts from
/// `index × PARTS_PER_UNIT` of its run. What the compactor's unit function runs.
pub async fn merge_unit(
    store: &dyn ObjectStore,
    unit: &Unit,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
) -> Result<HourOutput, CompactError> {
    // A unit run elsewhere splits rows as the run that planned it does.
    let options = &CompactOptions { typed_tables: options.typed_tables || unit.typed_tables, ..options.clone() };
    let inputs = MergeInputs {
        hour: &unit.hour,
        run: unit.run,
        curated: &unit.curated,
        staging: &unit.staging,
        known: &HashSet::new(),
        range: &unit.range,
        first_part: unit.index * PARTS_PER_UNIT,
        write_until_ms: unit.write_until_ms,
    };
    merge_hour(store, inputs, options, spill_dir).await
}

/// Merges one hour's files into `r<run>-<part>.parquet` files. The async side moves bytes (reads
/// inputs, writes outputs); a blocking thread sorts, merges and encodes, so hours run in parallel.
async fn merge_hour(
    store: &dyn ObjectStore,
    inputs: MergeInputs<'_>,
    options: &CompactOptions,
    spill_dir: &std::path::Path,
) -> Result<HourOutput, CompactError> {
    let MergeInputs { hour, run, curated, staging, known, range, first_part, write_until_ms } = inputs;
    let dir = tempfile_dir(spill_dir, run, hour, first_part)?;
    let (input_tx, mut input_rx) = tokio::sync::mpsc::channel::<Input>(1);
    // Finished files go to local disk and are uploaded from there: a curated file (hundreds of
    // MB) is never held in memory.
    let (output_tx, mut output_rx) = tokio::sync::mpsc::channel::<(CuratedTable, std::path::PathBuf)>(1);
    let worker = {
        let (dir, options, known, range) = (dir.clone(), options.clone(), known.clone(), range.clone());
        tokio::task::spawn_blocking(move || -> Result<(MergeStats, Vec<(String, String)>), CompactError> {
            let mut tables = TableRuns::new(&dir, options.merge.clone(), options.typed_tables);
            let mut set_aside = Vec::new();
            loop {
                match input_rx.blocking_recv() {
                    Some(Input::File { key, body }) => match tables.add_file(&key, body, |batch| range.filter(batch)) {
                        Ok(()) => {}
                        // The file's own fault: it goes aside, the hour goes on.
                        Err(MergeError::Input(reason)) => set_aside.push((key, reason)),
                        Err(other) => return Err(other.into()),
                    },
                    Some(Input::End) => break,
                    None => return Err(CompactError::Worker("inputs ended early".into())),
                }
            }
            let mut stats = MergeStats::default();
            let mut already_curated = 0;
            // Each table's rows are merged in turn, into files of their own.
            for (table, runs) in tables.finish() {
                let mut merger = runs.finish()?;
                let mut writer: Option<(std::path::PathBuf, parquet::arrow::ArrowWriter<std::fs::File>)> = None;
                let mut files = 0;
                let send = |(path, writer): (std::path::PathBuf, parquet::arrow::ArrowWriter<std::fs::File>)| {
                    writer.close()?;
                    output_tx.blocking_send((table, path)).map_err(|_| CompactError::Worker("writer stopped".into()))
                };
                while let Some(batch) = merger.next_batch()? {
                    // A delta keeps only what the hour's curated files do not have.
                    let (batch, dropped) = drop_known(batch, &known).map_err(CompactError::Worker)?;
                    already_curated += dropped;
                    if batch.num_rows() == 0 {
                        continue;
                    }
                    let (_, current) = match &mut writer {
                        Some(writer) => writer,
                        None => {
                            files += 1;
                            let path = dir.join(format!("out-{}-{files:04}.parquet", table.name()));
                            let file = std::fs::File::create(&path).map_err(CompactError::Spill)?;
                            let properties = curated_writer_properties(options.zstd_level);
                            writer.insert((
                                path,
                                parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))?,
                            ))
                        }
                    };
                    current.write(&batch)?;
                    // A row group is held in memory until it is flushed: keep it within half the budget.
                    if current.in_progress_size() >= options.merge.memory_budget_bytes / 2 {
                        current.flush()?;
                    }
                    if current.bytes_written() + current.in_progress_size() >= options.file_bytes
                        && let Some(full) = writer.take()
                    {
                        send(full)?;
                    }
                }
                if let Some(last) = writer.take() {
                    send(last)?;
                }
                // The tables' runs are on disk together: their spills add up.
                let spilled = stats.spilled_bytes + merger.stats().spilled_bytes;
                stats.add(merger.stats());
                stats.spilled_bytes = spilled;
            }
            stats.rows_out -= already_curated;
            stats.duplicates += already_curated;
            Ok((stats, set_aside))
        })
    };
    // Each side owns its end of a channel, so that finishing (or failing) closes it.
    let feed = async move {
        let mut bytes_in = 0;
        for key in curated.iter().chain(staging) {
            let body = store.get(key).await?;
            bytes_in += body.len();
            if input_tx.send(Input::File { key: key.clone(), body }).await.is_err() {
                return Ok(bytes_in); // the worker stopped: its error is the one to report
            }
        }
        let _ = input_tx.send(Input::End).await;
        Ok::<_, CompactError>(bytes_in)
    };
    let write = async move {
        let (mut files, mut bytes_out) = (0, 0);
        // Parts are numbered per table.
        let mut parts: BTreeMap<&'static str, usize> = BTreeMap::new();
        while let Some((table, path)) = output_rx.recv().await {
            bytes_out += std::fs::metadata(&path).map_err(CompactError::Spill)?.len() as usize;
            if let Some(until) = write_until_ms
                && crate::compact::lease::wall_clock_ms() >= until
            {
                return Err(CompactError::LeaseLost { holder: format!("the run of unit part {first_part}") });
            }
            let part = parts.entry(table.name()).or_default();
            store.put_file(&table.key(hour, run, first_part + *part), &path).await?;
            let _ = std::fs::remove_file(&path);
            *part += 1;
            files += 1;
        }
        Ok::<_, CompactError>((files, bytes_out))
    };
    let (fed, written) = futures_util::join!(feed, write);
    let merged = worker.await.map_err(|e| CompactError::Worker(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&dir);
    let (bytes_in, (files, bytes_out)) = (fed?, written?);
    let (stats, set_aside) = merged?;
    Ok(HourOutput { stats, files, bytes_in, bytes_out, set_aside, units: 1, ..HourOutput::default() })
}

fn tempfile_dir(
    spill_dir: &std::path::Path,
    run: u64,
    hour: &str,
    first_part: usize,
) -> Result<std::path::PathBuf, CompactError> {
    let dir = spill_dir.join(format!("run-{run}-{}-{first_part}", hour.replace(['/', '='], "_")));
    std::fs::create_dir_all(&dir).map_err(CompactError::Spill)?;
    Ok(dir)
}
