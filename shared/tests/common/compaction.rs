//! What the compaction tests share: a lake filled through the Kinesis path, the Glue view as
//! Athena would hold it, and the two readers (the local state rules, and the view text on DuckDB).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow_array::cast::AsArray;
use async_trait::async_trait;
use loglake::compact::merge::MergeOptions;
use loglake::compact::run::CompactOptions;
use loglake::compact::state::CompactionState;
use loglake::compact::view::{ReaderView, Readers, VIEW_NAME, ViewPublisher, view_sql, visible_rows};
use loglake::config::PipelineConfig;
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, ingest_kinesis_batch};
use loglake::lake::storage::LocalStore;
use serde_json::json;

use super::cloudwatch_payload;

pub const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z
/// What "$path" starts with in these tests (Athena: `s3://bucket/`); scripts/run_reader_view.py
/// gives DuckDB's tables the same.
pub const PATH_PREFIX: &str = "lake://";

pub fn options(spill: &std::path::Path) -> (CompactOptions, std::path::PathBuf) {
    // The objects' modification times are real: so is the run's clock. Deleted at once unless a
    // test says otherwise: the crash tests count every delete.
    let options = CompactOptions {
        merge: MergeOptions { memory_budget_bytes: 64 * 1024, batch_rows: 500, ..MergeOptions::default() },
        workers: 2,
        file_bytes: 16 * 1024,
        zstd_level: 1,
        ..CompactOptions::for_local_lake(loglake::function::now_ms() + 1_000, "test")
    };
    (options, spill.to_path_buf())
}

/// The options with the clock set to now: the objects' modification times are real.
pub fn fresh(options: &CompactOptions) -> CompactOptions {
    CompactOptions { now_ms: loglake::function::now_ms() + 1_000, ..options.clone() }
}

/// Stands in for Glue: keeps the view text Athena would read, and can fail a publication.
pub struct RecordedView {
    /// What the view says now: the template's text until a run publishes.
    pub current: Mutex<String>,
    published: Mutex<usize>,
    fail_at: Option<usize>,
}

impl RecordedView {
    pub fn new(fail_at: Option<usize>) -> RecordedView {
        let initial = view_sql(&CompactionState::default(), PATH_PREFIX);
        RecordedView { current: Mutex::new(initial), published: Mutex::new(0), fail_at }
    }

    pub fn text(&self) -> String {
        self.current.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        *self.published.lock().unwrap()
    }
}

#[async_trait]
impl ViewPublisher for RecordedView {
    async fn publish(&self, view: &ReaderView) -> Result<(), String> {
        // `logs_all` only: the typed views are published after it, from the same state.
        if view.name != VIEW_NAME {
            return Ok(());
        }
        let sql = &view.sql;
        let mut published = self.published.lock().unwrap();
        if Some(*published) == self.fail_at {
            return Err("injected: Glue unavailable".into());
        }
        *published += 1;
        *self.current.lock().unwrap() = sql.to_owned();
        Ok(())
    }
}

pub fn readers(view: &RecordedView) -> Readers<'_> {
    Readers { view, path_prefix: PATH_PREFIX.to_owned() }
}

/// Ingests `batches` Kinesis batches of CloudWatch payloads across two hours; returns all ids.
pub async fn fill(store: &LocalStore, first: usize, batches: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for b in first..first + batches {
        let events = batch_events(b);
        ids.extend(events.iter().map(|e| e.0.clone()));
        ingest(store, b, "/aws/ecs/web", &events).await;
    }
    ids.sort();
    ids
}

/// The events of [`fill`]'s batch `batch`: (id, event time, message).
pub fn batch_events(batch: usize) -> Vec<(String, i64, String)> {
    (0..300)
        .map(|i| {
            let ts = 1_795_168_800_000 - 1_800_000 + (batch as i64 * 300 + i) * 20_000 % 3_600_000;
            (format!("b{batch:03}-{i:04}"), ts, format!("{{\"level\":\"info\",\"msg\":\"batch {batch} line {i}\"}}"))
        })
        .collect()
}

/// Ingests one CloudWatch payload of `events` for `log_group` through the Kinesis path, as the
/// record with sequence number `seq` (which names its staging objects).
pub async fn ingest(store: &LocalStore, seq: usize, log_group: &str, events: &[(String, i64, String)]) {
    let seq = format!("{seq:056}");
    let event: KinesisEvent = serde_json::from_value(json!({"Records": [{
        "kinesis": {"partitionKey": "k", "sequenceNumber": seq, "data": cloudwatch_payload(log_group, events)},
        "eventID": format!("shardId-000000000000:{seq}"),
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "awsRegion": "us-east-1"
    }]}))
    .unwrap();
    let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };
    let report = ingest_kinesis_batch(&event, &config, NOW, store, &BatchOptions::default()).await;
    assert_eq!(report.retry_from, None);
}

/// What time does to a crashed run's lease: it lapses, and the next run may take it. (A run that
/// fails by itself releases its lease; one stopped by a failing store, as in these tests, cannot.)
pub async fn lapse_the_lease(store: &LocalStore) {
    use loglake::lake::storage::ObjectStore;
    store.delete(loglake::lake::layout::COMPACTION_LEASE_KEY).await.unwrap();
}

/// Fails with a short account (counts, a few ids) when a reader's view is not exactly `expected`.
pub fn assert_exactly(view: &[String], expected: &[String], context: &str) {
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
pub async fn view(store: &LocalStore) -> Vec<String> {
    let mut ids = Vec::new();
    for batch in visible_rows(store).await.unwrap() {
        let column = batch.column_by_name("event_id").unwrap().as_string::<i32>();
        ids.extend(column.iter().map(|id| id.unwrap().to_owned()));
    }
    ids.sort();
    ids
}

/// A copy of the lake's tables and the view text Athena would read at this moment.
pub fn snapshot(lake: &Path, view_text: &str, into: &Path) {
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
pub fn python() -> Option<String> {
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

/// Runs a typed view's text `sql` on DuckDB over the lake in `dir` (its `table/`, `logs/` and
/// staging files): the rows of `columns`, sorted by the first.
pub fn run_typed_view_on_duckdb<T: serde::de::DeserializeOwned>(
    python: &str,
    dir: &std::path::Path,
    sql: &str,
    table: &str,
    columns: &str,
) -> Vec<T> {
    std::fs::write(dir.join("view.sql"), sql).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/run_reader_view.py");
    let output =
        std::process::Command::new(python).arg(script).args(["--typed", table, columns]).arg(dir).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs each snapshot's view text on DuckDB: the event ids it returns, by snapshot.
pub fn run_views_on_duckdb(python: &str, snapshots: &[PathBuf]) -> serde_json::Map<String, serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/run_reader_view.py");
    let output = std::process::Command::new(python).arg(script).args(snapshots).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap().as_object().unwrap().clone()
}

/// Runs each snapshot's view text on DuckDB and checks it sees exactly `input`: what Athena reads
/// at each of those moments (skipped, and said, without the test Python).
pub fn assert_views_on_duckdb(cases: &[(PathBuf, String)], input: &[String]) {
    let Some(python) = python() else { return };
    let paths: Vec<PathBuf> = cases.iter().map(|(path, _)| path.clone()).collect();
    let seen = run_views_on_duckdb(&python, &paths);
    for (path, context) in cases {
        let ids: Vec<String> =
            seen[path.to_str().unwrap()].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect();
        assert_exactly(&ids, input, &format!("Athena's view on DuckDB, {context}"));
    }
}

/// A lake made ready for the run under test: its directory, the view text published so far, and
/// the ids readers must see.
pub type Prepared = (tempfile::TempDir, String, Vec<String>);

/// A crash after each step of the run `prepare` sets up (each store write and delete, each
/// publication) leaves both readers — the state's rules and the view text on DuckDB — seeing every
/// record once, and the next run converges. `check` sees the record of the run without a crash.
/// Returns how many cases were checked.
pub async fn assert_every_crash_is_invisible<P, F>(
    label: &str,
    options: &CompactOptions,
    spill_dir: &Path,
    prepare: P,
    check: impl Fn(&loglake::compact::state::RunRecord),
) -> usize
where
    P: Fn() -> F,
    F: std::future::Future<Output = Prepared>,
{
    use loglake::compact::run::compact;
    use loglake::lake::storage::{FailAfter, ObjectStore};
    let snapshots = tempfile::tempdir().unwrap();
    let mut cases: Vec<(PathBuf, String)> = Vec::new();

    let (dir, published, expected) = prepare().await;
    let counting = FailAfter::new(LocalStore::new(dir.path()), usize::MAX);
    let glue = RecordedView::new(None);
    *glue.current.lock().unwrap() = published;
    check(&compact(&counting, &readers(&glue), &fresh(options), spill_dir).await.unwrap());
    assert_exactly(&view(&LocalStore::new(dir.path())).await, &expected, &format!("{label}: without a crash"));
    let (store_steps, publications) = (counting.written().len(), glue.count());

    let crashes = (0..store_steps - 1).map(|n| (Some(n), None)).chain((0..publications).map(|n| (None, Some(n))));
    for (store_crash, view_crash) in crashes {
        let (dir, published, expected) = prepare().await;
        let store = LocalStore::new(dir.path());
        let crashing = FailAfter::new(LocalStore::new(dir.path()), store_crash.unwrap_or(usize::MAX));
        let glue = RecordedView::new(view_crash);
        *glue.current.lock().unwrap() = published;
        assert!(compact(&crashing, &readers(&glue), &fresh(options), spill_dir).await.is_err());
        let context =
            format!("{label}: crash after store step {store_crash:?} of {store_steps} / publication {view_crash:?}");
        assert_exactly(&view(&store).await, &expected, &context);
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, context.clone()));

        lapse_the_lease(&store).await;
        let glue = RecordedView::new(None);
        *glue.current.lock().unwrap() =
            cases.last().map(|(p, _)| std::fs::read_to_string(p.join("view.sql")).unwrap()).unwrap();
        compact(&store, &readers(&glue), &fresh(options), spill_dir).await.unwrap();
        assert_exactly(&view(&store).await, &expected, &format!("after the recovery run ({context})"));
        assert!(store.list("staging/").await.unwrap().is_empty(), "{context}");
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, format!("after the recovery run ({context})")));
    }
    let expected = prepare().await.2;
    assert_views_on_duckdb(&cases, &expected);
    cases.len()
}
