//! Compaction is invisible to readers: a crash after every single step of a run (each write,
//! each delete, the switch) leaves a lake whose visible rows are exactly the input, and the next
//! run converges. Duplicates across staging files are stored once; late data joins its hour.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow_array::cast::AsArray;
use async_trait::async_trait;
use common::cloudwatch_payload;
use loglake::compact::merge::MergeOptions;
use loglake::compact::run::{CompactOptions, compact};
use loglake::compact::state::{CompactionState, load_state};
use loglake::compact::view::{Readers, local_readers};
use loglake::compact::view::{ViewPublisher, view_sql, visible_rows};
use loglake::config::PipelineConfig;
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, ingest_kinesis_batch};
use loglake::lake::storage::{FailAfter, LocalStore, ObjectStore};
use serde_json::json;

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z
/// What "$path" starts with in these tests (Athena: `s3://bucket/`); scripts/run_reader_view.py
/// gives DuckDB's tables the same.
const PATH_PREFIX: &str = "lake://";

fn options(spill: &std::path::Path) -> (CompactOptions, std::path::PathBuf) {
    let options = CompactOptions {
        merge: MergeOptions { memory_budget_bytes: 64 * 1024, batch_rows: 500 },
        workers: 2,
        file_bytes: 16 * 1024,
        zstd_level: 1,
        retry_horizon_ms: 48 * 3_600_000,
        grace_ms: 0,
        // The objects' modification times are real: so is the run's clock.
        now_ms: loglake::function::now_ms() + 1_000,
    };
    (options, spill.to_path_buf())
}

/// The options with the clock set to now: the objects' modification times are real.
fn fresh(options: &CompactOptions) -> CompactOptions {
    CompactOptions { now_ms: loglake::function::now_ms() + 1_000, ..options.clone() }
}

/// Stands in for Glue: keeps the view text Athena would read, and can fail a publication.
struct RecordedView {
    /// What the view says now: the template's text until a run publishes.
    current: Mutex<String>,
    published: Mutex<usize>,
    fail_at: Option<usize>,
}

impl RecordedView {
    fn new(fail_at: Option<usize>) -> RecordedView {
        let initial = view_sql(&CompactionState::default(), PATH_PREFIX);
        RecordedView { current: Mutex::new(initial), published: Mutex::new(0), fail_at }
    }

    fn text(&self) -> String {
        self.current.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        *self.published.lock().unwrap()
    }
}

#[async_trait]
impl ViewPublisher for RecordedView {
    async fn publish(&self, sql: &str) -> Result<(), String> {
        let mut published = self.published.lock().unwrap();
        if Some(*published) == self.fail_at {
            return Err("injected: Glue unavailable".into());
        }
        *published += 1;
        *self.current.lock().unwrap() = sql.to_owned();
        Ok(())
    }
}

fn readers(view: &RecordedView) -> Readers<'_> {
    Readers { view, path_prefix: PATH_PREFIX.to_owned() }
}

/// Ingests `batches` Kinesis batches of CloudWatch payloads across two hours; returns all ids.
async fn fill(store: &LocalStore, first: usize, batches: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for b in first..first + batches {
        let events: Vec<(String, i64, String)> = (0..300)
            .map(|i| {
                let ts = 1_795_168_800_000 - 1_800_000 + (b as i64 * 300 + i) * 20_000 % 3_600_000;
                (format!("b{b:03}-{i:04}"), ts, format!("{{\"level\":\"info\",\"msg\":\"batch {b} line {i}\"}}"))
            })
            .collect();
        ids.extend(events.iter().map(|e| e.0.clone()));
        let seq = format!("{b:056}");
        let event: KinesisEvent = serde_json::from_value(json!({"Records": [{
            "kinesis": {"partitionKey": "k", "sequenceNumber": seq, "data": cloudwatch_payload("/aws/ecs/web", &events)},
            "eventID": format!("shardId-000000000000:{seq}"),
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "awsRegion": "us-east-1"
        }]}))
        .unwrap();
        let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };
        let report = ingest_kinesis_batch(&event, &config, NOW, store, &BatchOptions::default()).await;
        assert_eq!(report.retry_from, None);
    }
    ids.sort();
    ids
}

/// Fails with a short account (counts, a few ids) when a reader's view is not exactly `expected`.
fn assert_exactly(view: &[String], expected: &[String], context: &str) {
    if view == expected {
        return;
    }
    let twice: Vec<&String> = view.windows(2).filter(|w| w[0] == w[1]).map(|w| &w[0]).take(5).collect();
    let missing: Vec<&String> = expected.iter().filter(|id| view.binary_search(id).is_err()).take(5).collect();
    panic!(
        "{context}: {} rows seen for {} records; seen twice e.g. {twice:?}; missing e.g. {missing:?}",
        view.len(),
        expected.len()
    );
}

/// The event ids a reader of the local lake sees (the state's rules), sorted, duplicates kept.
async fn view(store: &LocalStore) -> Vec<String> {
    let mut ids = Vec::new();
    for batch in visible_rows(store).await.unwrap() {
        let column = batch.column_by_name("event_id").unwrap().as_string::<i32>();
        ids.extend(column.iter().map(|id| id.unwrap().to_owned()));
    }
    ids.sort();
    ids
}

/// A copy of the lake's tables and the view text Athena would read at this moment.
fn snapshot(lake: &Path, view_text: &str, into: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
    for table in ["logs", "staging"] {
        if lake.join(table).exists() {
            copy(&lake.join(table), &into.join(table));
        }
    }
    std::fs::create_dir_all(into).unwrap();
    std::fs::write(into.join("view.sql"), view_text).unwrap();
}

/// The Python with DuckDB (scripts/test.sh sets it); the check is skipped, and says so, without.
fn python() -> Option<String> {
    match std::env::var("LOGLAKE_TEST_PYTHON") {
        Ok(python) => Some(python),
        Err(_) if std::env::var("LOGLAKE_REQUIRE_INTEGRATION").as_deref() == Ok("1") => {
            panic!("LOGLAKE_REQUIRE_INTEGRATION=1 but LOGLAKE_TEST_PYTHON is not set")
        }
        Err(_) => {
            eprintln!("SKIPPED: the view text on DuckDB needs LOGLAKE_TEST_PYTHON; run scripts/test.sh");
            None
        }
    }
}

/// Runs each snapshot's view text on DuckDB: the event ids it returns, by snapshot.
fn run_views_on_duckdb(python: &str, snapshots: &[PathBuf]) -> serde_json::Map<String, serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/run_reader_view.py");
    let output = std::process::Command::new(python).arg(script).args(snapshots).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap().as_object().unwrap().clone()
}

/// Crashes a run after each of its steps (each write and delete of the store, each publication
/// of the view). After each crash, both readers — the local lake's state rules and the Athena
/// view text (run on DuckDB) — see exactly the input; the next run converges.
#[tokio::test]
async fn a_crash_after_any_step_is_invisible_and_the_next_run_converges() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let snapshots = tempfile::tempdir().unwrap();
    let mut cases: Vec<(PathBuf, String)> = Vec::new();

    // Count the steps of a whole run: store writes and deletes, and publications.
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 6).await;
    let counting = FailAfter::new(LocalStore::new(dir.path()), usize::MAX);
    let glue = RecordedView::new(None);
    let record = compact(&counting, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    let (store_steps, publications) = (counting.written().len(), glue.count());
    assert!(record.files_out >= 2 && record.staging_in >= 6, "{record:?}");
    assert!(store_steps >= 12, "{store_steps} steps: {:?}", counting.written());
    assert!(publications >= 2, "the switch and the clean-up are published: {publications}");
    assert_exactly(&view(&store).await, &input, "after a whole run");
    let path = snapshots.path().join("whole-run");
    snapshot(dir.path(), &glue.text(), &path);
    cases.push((path, "after a whole run".into()));

    let crashes = (0..store_steps).map(|n| (Some(n), None)).chain((0..publications).map(|n| (None, Some(n))));
    for (store_crash, view_crash) in crashes {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        assert_eq!(fill(&store, 0, 6).await, input);
        let crashing = FailAfter::new(LocalStore::new(dir.path()), store_crash.unwrap_or(usize::MAX));
        let glue = RecordedView::new(view_crash);
        assert!(compact(&crashing, &readers(&glue), &fresh(&options), &spill_dir).await.is_err());
        let context = match store_crash {
            Some(n) => format!("crash after store step {n} of {store_steps} ({:?})", crashing.written().last()),
            None => format!("publication {} of {publications} failed", view_crash.unwrap_or_default()),
        };
        assert_exactly(&view(&store).await, &input, &context);
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, context.clone()));

        // Glue keeps what the crashed run published.
        let glue = RecordedView::new(None);
        *glue.current.lock().unwrap() =
            cases.last().map(|(p, _)| std::fs::read_to_string(p.join("view.sql")).unwrap()).unwrap();

        // The next run stops again after its first write or delete: what it cleans up first (a
        // crash's leftovers, replaced files) must already be hidden from the view Athena holds.
        let stopped = FailAfter::new(LocalStore::new(dir.path()), 1);
        let _ = compact(&stopped, &readers(&glue), &fresh(&options), &spill_dir).await;
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, format!("recovery stopped after its first step ({context})")));

        // The next run converges: staging empty, nothing hidden, every record once.
        compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
        assert_exactly(&view(&store).await, &input, &format!("after the recovery run ({context})"));
        assert!(store.list("staging/").await.unwrap().is_empty());
        let state = load_state(&store).await.unwrap();
        assert!(state.replaced.is_empty() && state.writing.is_empty(), "{state:?}");
        assert_eq!(glue.text(), view_sql(&state, PATH_PREFIX), "the view follows the state");
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, format!("after the recovery run ({context})")));
        let again = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
        assert_eq!((again.files_out, again.deleted), (0, 0), "nothing left to do");
    }

    // What Athena reads at each of those moments: the view text it had, over the files there were.
    let Some(python) = python() else { return };
    let paths: Vec<PathBuf> = cases.iter().map(|(path, _)| path.clone()).collect();
    let seen = run_views_on_duckdb(&python, &paths);
    for (path, context) in &cases {
        let ids: Vec<String> =
            seen[path.to_str().unwrap()].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect();
        assert_exactly(&ids, &input, &format!("Athena's view on DuckDB, {context}"));
    }
}

/// A retry that rewrites a staging key after the compactor consumed it brings back records that
/// are already curated: neither reader sees them twice, and the next run folds them in.
#[tokio::test]
async fn a_staging_key_rewritten_after_compaction_is_not_seen_twice() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 2).await;
    let staged: Vec<(String, Vec<u8>)> = {
        let mut staged = Vec::new();
        for key in store.list("staging/").await.unwrap() {
            let body = store.get(&key).await.unwrap();
            staged.push((key, body));
        }
        staged
    };
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    for (key, body) in &staged {
        store.put(key, body.clone()).await.unwrap();
    }
    assert_exactly(&view(&store).await, &input, "rewritten keys, local reader");
    let snapshots = tempfile::tempdir().unwrap();
    let path = snapshots.path().join("rewritten");
    snapshot(dir.path(), &glue.text(), &path);

    // Once the retry horizon has passed, the view stops deduplicating those hours.
    let state = load_state(&store).await.unwrap();
    let expired = CompactionState { deduplicated: Default::default(), ..state };
    assert!(view_sql(&expired, PATH_PREFIX).len() < glue.text().len());

    let record = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(record.duplicates, input.len(), "{record:?}");
    assert_exactly(&view(&store).await, &input, "after the next run");
    assert!(store.list("staging/").await.unwrap().is_empty());

    if let Some(python) = python() {
        let seen = run_views_on_duckdb(&python, std::slice::from_ref(&path));
        let ids: Vec<String> =
            seen[path.to_str().unwrap()].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect();
        assert_exactly(&ids, &input, "rewritten keys, Athena's view on DuckDB");
    }
}

#[tokio::test]
async fn duplicates_are_stored_once_and_late_data_joins_its_hour() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let first = fill(&store, 0, 3).await;
    compact(&store, &local_readers(), &fresh(&options), &spill_dir).await.unwrap();
    let curated_before = store.list("logs/").await.unwrap();

    // The same events again under other keys (as a bisected retry would write them), and late
    // events for the hours already compacted.
    let redelivered = fill(&store, 0, 3).await;
    assert_eq!(redelivered, first);
    let dir2 = tempfile::tempdir().unwrap();
    let other = LocalStore::new(dir2.path());
    fill(&other, 0, 3).await;
    for key in other.list("staging/").await.unwrap() {
        store.put(&key.replace("kinesis-s-", "kinesis-s-again-"), other.get(&key).await.unwrap()).await.unwrap();
    }
    let late = fill(&store, 3, 2).await;
    let record = compact(&store, &local_readers(), &fresh(&options), &spill_dir).await.unwrap();
    assert!(record.duplicates >= first.len(), "{record:?}");
    assert!(record.curated_in >= 2, "late data merged with the hour's files: {record:?}");

    let mut expected = [first, late].concat();
    expected.sort();
    assert_exactly(&view(&store).await, &expected, "each record once");
    assert!(store.list("staging/").await.unwrap().is_empty());
    let curated_after = store.list("logs/").await.unwrap();
    assert!(curated_before.iter().all(|k| !curated_after.contains(k)), "replaced, not added to");
    assert_eq!(store.list("_loglake/compaction/runs/").await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_empty_run_changes_nothing() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let record = compact(&store, &local_readers(), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!((record.files_out, record.staging_in, record.deleted), (0, 0, 0));
    assert!(store.list("logs/").await.unwrap().is_empty());
}

#[tokio::test]
async fn staging_younger_than_the_grace_period_waits_for_a_later_run() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 2).await;
    let patient = CompactOptions { grace_ms: 3_600_000, ..fresh(&options) };
    let record = compact(&store, &local_readers(), &patient, &spill_dir).await.unwrap();
    assert_eq!((record.staging_in, record.files_out), (0, 0), "too young");
    assert!(store.list("logs/").await.unwrap().is_empty());
    assert_exactly(&view(&store).await, &input, "still visible in staging");

    let later = CompactOptions { now_ms: options.now_ms + 2 * 3_600_000, ..patient };
    let record = compact(&store, &local_readers(), &later, &spill_dir).await.unwrap();
    assert!(record.staging_in > 0 && record.files_out > 0, "{record:?}");
    assert_exactly(&view(&store).await, &input, "compacted once old enough");
}

/// Curated files are closed at the target size (the last of an hour holds the rest) and carry
/// statistics on every column, `message` included.
#[tokio::test]
async fn curated_files_have_the_target_size_and_statistics_on_every_column() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    fill(&store, 0, 6).await;
    let options = CompactOptions {
        file_bytes: 4 * 1024,
        merge: MergeOptions { batch_rows: 100, ..options.merge.clone() },
        ..fresh(&options)
    };
    let record = compact(&store, &local_readers(), &options, &spill_dir).await.unwrap();
    let files = store.list("logs/").await.unwrap();
    assert_eq!(files.len(), record.files_out);
    let mut by_hour: std::collections::BTreeMap<String, Vec<(String, usize)>> = Default::default();
    for key in &files {
        let body = store.get(key).await.unwrap();
        let hour = key.rsplit_once('/').unwrap().0.to_owned();
        let reader = parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(body.clone())).unwrap();
        use parquet::file::reader::FileReader;
        for group in reader.metadata().row_groups() {
            for column in group.columns() {
                assert!(column.statistics().is_some(), "{key}: no statistics on {}", column.column_path());
            }
        }
        by_hour.entry(hour).or_default().push((key.clone(), body.len()));
    }
    for files in by_hour.values() {
        assert!(files.len() >= 2, "4 KiB target: several files per hour");
        for (key, size) in &files[..files.len() - 1] {
            assert!(*size >= options.file_bytes / 2, "{key}: {size} bytes, closed early");
        }
    }
}

/// A run whose switch reached the state but not Glue leaves Athena with the old view, which still
/// shows the files the switch replaced. The next run must publish the state's view before it
/// deletes those files: stopped right after its first delete, Athena still sees every record once.
#[tokio::test]
async fn a_run_republishes_the_view_before_it_deletes_what_the_last_switch_replaced() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut input = fill(&store, 0, 3).await;
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    input.extend(fill(&store, 3, 3).await); // late data: the next run replaces the curated files
    input.sort();

    // The switch is written to the state; its publication fails (the run's second).
    let failing = RecordedView::new(Some(1));
    *failing.current.lock().unwrap() = glue.text();
    assert!(compact(&store, &readers(&failing), &fresh(&options), &spill_dir).await.is_err());
    assert!(!load_state(&store).await.unwrap().replaced.is_empty(), "replaced files are waiting to be deleted");

    // The next run stops after one write or delete; Glue still holds the old view.
    let glue = RecordedView::new(None);
    *glue.current.lock().unwrap() = failing.text();
    let stopped = FailAfter::new(LocalStore::new(dir.path()), 1);
    let _ = compact(&stopped, &readers(&glue), &fresh(&options), &spill_dir).await;
    assert!(stopped.written().iter().any(|w| w.starts_with("delete logs/")), "{:?}", stopped.written());
    assert_exactly(&view(&store).await, &input, "local reader");
    let Some(python) = python() else { return };
    let snapshots = tempfile::tempdir().unwrap();
    let path = snapshots.path().join("republished");
    snapshot(dir.path(), &glue.text(), &path);
    let seen = run_views_on_duckdb(&python, std::slice::from_ref(&path));
    let ids: Vec<String> =
        seen[path.to_str().unwrap()].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect();
    assert_exactly(&ids, &input, "Athena's view on DuckDB after the first delete");
}
