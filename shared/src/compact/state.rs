//! The compaction state (`_loglake/compaction/state.json`): what readers must not see and how far
//! runs have got — the one object a run switches. The run ([`crate::compact::run`]) writes it;
//! the reader view ([`crate::compact::view`]) is a function of it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::compact::merge::MergeError;
use crate::lake::layout::{COMPACTION_STATE_KEY, curated_run_marker, curated_run_of};
use crate::lake::storage::{Expected, ObjectStore, StorageError, Version};
use crate::lake::typed::{ALB_LOGS, CLOUDTRAIL_LOGS, CuratedTable, TypedTable, VPC_FLOW_LOGS};
use crate::metrics::{Measurement, Metric};

/// What readers must not see, and how far runs have got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompactionState {
    /// The number the next run takes. Curated files of that run (`r<next_run>-…`), and of any
    /// later one, are hidden: a query still reading under an older state never sees the files of
    /// runs after it (their inputs stay for the delete delay).
    pub next_run: u64,
    /// Hours (`dt=…/hour=…`) the run in progress writes into, so the next run can delete what a
    /// crash left there.
    pub writing: BTreeSet<String>,
    /// Hours a run failed in, or stopped in without a word (it was still writing them when the
    /// next run began): the next run that takes one reads its files alone first
    /// ([`crate::compact::probe`]), to find a file that ends the process.
    pub suspect_hours: BTreeSet<String>,
    /// Curated keys replaced at a switch and not yet deleted: hidden, and deleted by the first run
    /// after the time given (ms since the epoch), so that a query planned before the switch can
    /// still read them. (States written before the delay existed hold a list: due at once.)
    #[serde(deserialize_with = "keys_or_deadlines")]
    pub replaced: BTreeMap<String, i64>,
    /// Staging objects a switch merged and not yet deleted (hidden by the staging rule of their
    /// deduplicated hour), kept as long as replaced files; never merged again unless the key was
    /// written again since (a different modification time).
    pub consumed: BTreeMap<String, Consumed>,
    /// Hours compacted within the retry horizon, until when (ms since the epoch): their staging
    /// rows are hidden where a visible curated row has the same `log_group` and `event_id`.
    pub deduplicated: BTreeMap<String, i64>,
    /// For each typed table ([`crate::lake::typed`]), the first run that wrote its rows to it,
    /// set by that run's switch and kept: from it on, that table's rows go to it, not `logs`, in
    /// every run. `logs` files of earlier runs may still hold such rows (the table's view reads
    /// them there); files of later runs never do. A table added to loglake later starts at the
    /// first run after the upgrade; until then it has no entry, and its view reads every `logs`
    /// file. (States written when typed tables began hold one run for the tables of then.)
    #[serde(deserialize_with = "runs_per_table")]
    pub typed_from_run: BTreeMap<String, u64>,
}

/// A staging object a switch merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    /// Its modification time when it was listed for the merge (ms since the epoch).
    pub modified_ms: i64,
    /// When it may be deleted.
    pub delete_after_ms: i64,
}

/// The typed tables of the first states that held `typed_from_run`, as one run for them all.
const FIRST_TYPED_TABLES: [&TypedTable; 3] = [&VPC_FLOW_LOGS, &ALB_LOGS, &CLOUDTRAIL_LOGS];

/// `typed_from_run` as a map, or as the one run (or null) of the first states that held it.
fn runs_per_table<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum RunsOrRun {
        Runs(BTreeMap<String, u64>),
        Run(Option<u64>),
    }
    Ok(match RunsOrRun::deserialize(deserializer)? {
        RunsOrRun::Runs(runs) => runs,
        RunsOrRun::Run(run) => {
            run.into_iter().flat_map(|run| FIRST_TYPED_TABLES.map(|table| (table.name.to_owned(), run))).collect()
        }
    })
}

/// `replaced` as a map of deadlines, or as the list older states hold (deadline 0: due now).
fn keys_or_deadlines<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum KeysOrDeadlines {
        Deadlines(BTreeMap<String, i64>),
        Keys(BTreeSet<String>),
    }
    Ok(match KeysOrDeadlines::deserialize(deserializer)? {
        KeysOrDeadlines::Deadlines(deadlines) => deadlines,
        KeysOrDeadlines::Keys(keys) => keys.into_iter().map(|key| (key, 0)).collect(),
    })
}

impl CompactionState {
    /// Whether typed tables are on: since [`CompactionState::typed_from_run`].
    pub fn typed_tables(&self) -> bool {
        !self.typed_from_run.is_empty()
    }

    /// The first run that wrote `table`'s rows to it, if one has.
    pub fn typed_table_from_run(&self, table: &TypedTable) -> Option<u64> {
        self.typed_from_run.get(table.name).copied()
    }

    /// The file-name part that marks the files of the run in progress.
    pub fn pending_run_marker(&self) -> String {
        curated_run_marker(self.next_run)
    }

    pub fn curated_visible(&self, key: &str) -> bool {
        let switched_in = curated_run_of(key).is_none_or(|run| run < self.next_run);
        switched_in && !self.replaced.contains_key(key)
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
    #[error(
        "the lake has {curated_files} curated files under logs/ but no compaction state ({COMPACTION_STATE_KEY}): \
which of them readers may see is unknown, so nothing is compacted, published or read. Restore the \
state object (with bucket versioning: its latest version)"
    )]
    StateMissing { curated_files: usize },
    #[error(
        "the compaction state is older than the lake: {key} exists, but the state's next run is {next_run} \
(a restored or copied state?); a run would hide or overwrite curated files. Restore the latest state"
    )]
    StateBehind { key: String, next_run: u64 },
    #[error(
        "another compaction run changed {COMPACTION_STATE_KEY} since this run read it: this run stops, the \
next one continues from the new state"
    )]
    Overtaken,
    #[error("the compaction lease of {holder} lapsed before the run ended: it stops before writing anything more")]
    LeaseLost { holder: String },
    /// A unit run elsewhere did not answer (a lost connection, a client timeout): it may still be
    /// writing, so the run neither switches nor releases its lease; the run after the lease's
    /// expiry — past every unit's last write — removes what the run wrote.
    #[error("unit {unit} of hour {hour} did not answer: {reason}")]
    UnitUnanswered { hour: String, unit: usize, reason: String },
    /// A unit run elsewhere answered with an error: the hour waits for the next run.
    #[error("unit {unit} of hour {hour} failed: {reason}")]
    UnitFailed { hour: String, unit: usize, reason: String },
}

/// A record of one run, kept under `_loglake/compaction/runs/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunRecord {
    pub run: u64,
    /// Why the run did nothing: another run held the lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
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
    /// The largest spill of one hour's merge (sorted runs on local disk, /tmp in a Lambda).
    pub spilled_bytes: u64,
    /// Input files set aside under `errors/compaction/` (unreadable, or not castable to the
    /// table), each with its reason; the rest of their hour was compacted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<SetAside>,
    /// Hours with staging ready that this run left for the next (its input bound was reached).
    #[serde(skip_serializing_if = "is_zero")]
    pub hours_waiting: usize,
    /// Hours that failed; their inputs wait for the next run, the other hours were compacted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_hours: Vec<FailedHour>,
    /// Hours whose new staging went into a delta file beside their curated files (late data),
    /// and the bytes of curated files read to deduplicate against them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delta_hours: Vec<String>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub delta_search_bytes: u64,
    /// Row groups of those hours' curated files the search read, of all their row groups: only
    /// those whose statistics admit one of the new records.
    #[serde(skip_serializing_if = "is_zero")]
    pub delta_row_groups_read: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub delta_row_groups: usize,
    /// Units merged: one per hour merged whole in one, more for an hour split by key ranges.
    #[serde(default)]
    pub units: usize,
    /// Age of the oldest staging object left to a later run once this one switched (0: none).
    #[serde(default)]
    pub oldest_staging_age_ms: u64,
    pub duration_ms: u64,
}

impl RunRecord {
    /// The metrics of one invocation's runs ([`crate::metrics`]); runs skipped (another held the
    /// lease) measure nothing, so an invocation of skipped runs only emits no line.
    pub fn measurement(records: &[RunRecord], at_ms: i64) -> Measurement {
        let done: Vec<&RunRecord> = records.iter().filter(|r| r.skipped.is_none()).collect();
        let Some(last) = done.last() else {
            return Measurement::new(at_ms, Vec::new());
        };
        let sum = |count: fn(&RunRecord) -> usize| done.iter().map(|r| count(r)).sum::<usize>() as f64;
        Measurement::new(
            at_ms,
            vec![
                (Metric::RowsCompacted, sum(|r| r.rows_out)),
                (Metric::DeadLetters, sum(|r| r.set_aside.len())),
                (Metric::CompactionHoursFailed, sum(|r| r.failed_hours.len())),
                (Metric::CompactionHoursWaiting, last.hours_waiting as f64),
                (Metric::OldestStagingAge, (last.oldest_staging_age_ms / 1000) as f64),
            ],
        )
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// An input file compaction could not use, and where it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetAside {
    pub key: String,
    pub moved_to: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedHour {
    pub hour: String,
    pub reason: String,
}

/// The state readers follow. A lake that was never compacted has none (the default state); a
/// lake with curated files and no state is refused ([`CompactError::StateMissing`]), never guessed.
pub async fn load_state(store: &dyn ObjectStore) -> Result<CompactionState, CompactError> {
    Ok(read_state(store).await?.state)
}

/// The state as a run read it, with the version its next write must find.
#[derive(Debug)]
pub struct StoredState {
    pub state: CompactionState,
    /// `None`: there was no state object (a new lake).
    version: Option<Version>,
}

/// [`load_state`] with the state's version, for a run that will write it.
pub async fn read_state(store: &dyn ObjectStore) -> Result<StoredState, CompactError> {
    match store.get_versioned(COMPACTION_STATE_KEY).await? {
        Some((bytes, version)) => {
            let state = serde_json::from_slice(&bytes).map_err(CompactError::State)?;
            Ok(StoredState { state, version: Some(version) })
        }
        None => {
            // Which curated files are visible is what the state says: without it, nobody knows.
            let mut curated_files = 0;
            for table in CuratedTable::all() {
                curated_files += store.list(&table.prefix()).await?.len();
            }
            if curated_files > 0 {
                return Err(CompactError::StateMissing { curated_files });
            }
            Ok(StoredState { state: CompactionState::default(), version: None })
        }
    }
}

impl StoredState {
    /// Writes the state, only over the version this run read (or only where there was none):
    /// a run another run has overtaken stops ([`CompactError::Overtaken`]) instead of writing an
    /// older state over a newer one.
    /// [`CompactError::Overtaken`] unless the stored state is still the one read: before a
    /// run publishes the view of the state it read, which another run may have replaced.
    pub async fn ensure_current(&self, store: &dyn ObjectStore) -> Result<(), CompactError> {
        let now = store.get_versioned(COMPACTION_STATE_KEY).await?.map(|(_, version)| version);
        match now == self.version {
            true => Ok(()),
            false => Err(CompactError::Overtaken),
        }
    }

    pub async fn save(&mut self, store: &dyn ObjectStore) -> Result<(), CompactError> {
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(CompactError::State)?;
        let expected = match &self.version {
            Some(version) => Expected::Version(version),
            None => Expected::Absent,
        };
        match store.put_if(COMPACTION_STATE_KEY, bytes, expected).await {
            Ok(version) => {
                self.version = Some(version);
                Ok(())
            }
            Err(StorageError::Conflict { .. }) => Err(CompactError::Overtaken),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state written before the delete delay existed (`replaced` a list) still reads: those
    /// files are due at once. What is written now reads back the same.
    #[test]
    fn a_state_of_the_previous_format_reads_with_its_replaced_files_due_now() {
        let old = r#"{"next_run": 7, "writing": [], "replaced": ["logs/dt=2026-11-20/hour=09/r000005-0000.parquet"],
            "deduplicated": {"dt=2026-11-20/hour=09": 1795300000000}}"#;
        let state: CompactionState = serde_json::from_str(old).unwrap();
        assert_eq!(state.next_run, 7);
        assert_eq!(
            state.replaced.into_iter().collect::<Vec<_>>(),
            [("logs/dt=2026-11-20/hour=09/r000005-0000.parquet".to_owned(), 0)]
        );
        assert!(state.consumed.is_empty());

        let mut now = CompactionState { next_run: 8, ..CompactionState::default() };
        now.replaced.insert("logs/dt=2026-11-20/hour=09/r000007-0000.parquet".into(), 1_795_300_000_000);
        now.consumed.insert(
            "staging/logs/dt=2026-11-20/hour=09/k-a-1.parquet".into(),
            Consumed { modified_ms: 1_795_290_000_000, delete_after_ms: 1_795_300_000_000 },
        );
        let read: CompactionState = serde_json::from_slice(&serde_json::to_vec(&now).unwrap()).unwrap();
        assert_eq!(read, now);
        assert!(!read.curated_visible("logs/dt=2026-11-20/hour=09/r000007-0000.parquet"), "replaced");
        assert!(!read.curated_visible("logs/dt=2026-11-20/hour=09/r000008-0000.parquet"), "in progress");
        assert!(!read.curated_visible("logs/dt=2026-11-20/hour=09/r000009-0000.parquet"), "a later run");
        assert!(read.curated_visible("logs/dt=2026-11-20/hour=09/r000006-0001.parquet"));
        assert!(read.curated_visible("logs/dt=2026-11-20/hour=09/imported.parquet"), "not named by a run");
    }

    /// States written when typed tables began hold one run (or null) for the three tables of
    /// then; a table added since has no run until a switch gives it one, and keeps it.
    #[test]
    fn a_state_with_one_typed_run_reads_as_that_run_for_the_first_typed_tables() {
        let one: CompactionState = serde_json::from_str(r#"{"next_run": 7, "typed_from_run": 3}"#).unwrap();
        let runs: Vec<(&str, u64)> = one.typed_from_run.iter().map(|(t, r)| (t.as_str(), *r)).collect();
        assert_eq!(runs, [("alb_logs", 3), ("cloudtrail_logs", 3), ("vpc_flow_logs", 3)]);
        assert_eq!(one.typed_table_from_run(&crate::lake::typed::VPC_FLOW_LOGS), Some(3));
        let none: CompactionState = serde_json::from_str(r#"{"next_run": 7, "typed_from_run": null}"#).unwrap();
        assert!(!none.typed_tables());
        let read: CompactionState = serde_json::from_slice(&serde_json::to_vec(&one).unwrap()).unwrap();
        assert_eq!(read, one);
    }
}
