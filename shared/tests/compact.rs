//! Compaction is invisible to readers: a crash after every single step of a run (each write,
//! each delete, the switch) leaves a lake whose visible rows are exactly the input, and the next
//! run converges. Duplicates across staging files are stored once; late data joins its hour.

mod common;

use common::{cloudwatch_payload, read_rows};
use loglake::PipelineConfig;
use loglake::compact::{CompactOptions, compact, load_state, visible_keys};
use loglake::kinesis::{BatchOptions, KinesisEvent, ingest_kinesis_batch};
use loglake::merge::MergeOptions;
use loglake::storage::{FailAfter, LocalStore, ObjectStore};
use serde_json::json;

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z

fn options(spill: &std::path::Path) -> (CompactOptions, std::path::PathBuf) {
    let options = CompactOptions {
        merge: MergeOptions { memory_budget_bytes: 64 * 1024, batch_rows: 500 },
        rows_per_file: 700,
        zstd_level: 1,
        hidden_staging_ms: 7 * 24 * 3_600_000,
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

/// The event ids a reader sees, sorted, duplicates kept.
async fn view(store: &LocalStore) -> Vec<String> {
    let mut ids = Vec::new();
    for key in visible_keys(store).await.unwrap() {
        ids.extend(read_rows(store.get(&key).await.unwrap()).into_iter().map(|r| r.event_id));
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn a_crash_after_any_step_is_invisible_and_the_next_run_converges() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());

    // Count the steps (writes and deletes) of a whole run.
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 6).await;
    let counting = FailAfter::new(LocalStore::new(dir.path()), usize::MAX);
    let record = compact(&counting, &fresh(&options), &spill_dir).await.unwrap();
    let steps = counting.written().len();
    assert!(record.files_out >= 2 && record.staging_in >= 6, "{record:?}");
    assert!(steps >= 12, "{steps} steps: {:?}", counting.written());
    assert_exactly(&view(&store).await, &input, "after a whole run");

    for crash_after in 0..steps {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let input = fill(&store, 0, 6).await;
        let crashing = FailAfter::new(LocalStore::new(dir.path()), crash_after);
        assert!(compact(&crashing, &fresh(&options), &spill_dir).await.is_err(), "step {crash_after}");
        let written = crashing.written();
        assert_exactly(
            &view(&store).await,
            &input,
            &format!("crash after step {crash_after} of {steps} ({:?})", written.last()),
        );

        // The next run converges: staging empty, nothing hidden, every record once.
        compact(&store, &fresh(&options), &spill_dir).await.unwrap();
        assert_exactly(
            &view(&store).await,
            &input,
            &format!("after the recovery run (crash after step {crash_after})"),
        );
        assert!(store.list("staging/").await.unwrap().is_empty());
        assert!(load_state(&store).await.unwrap().hidden_curated.is_empty());
        let again = compact(&store, &fresh(&options), &spill_dir).await.unwrap();
        assert_eq!((again.files_out, again.deleted), (0, 0), "nothing left to do");
    }
}

#[tokio::test]
async fn duplicates_are_stored_once_and_late_data_joins_its_hour() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let first = fill(&store, 0, 3).await;
    compact(&store, &fresh(&options), &spill_dir).await.unwrap();
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
    let record = compact(&store, &fresh(&options), &spill_dir).await.unwrap();
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
    let record = compact(&store, &fresh(&options), &spill_dir).await.unwrap();
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
    let record = compact(&store, &patient, &spill_dir).await.unwrap();
    assert_eq!((record.staging_in, record.files_out), (0, 0), "too young");
    assert!(store.list("logs/").await.unwrap().is_empty());
    assert_exactly(&view(&store).await, &input, "still visible in staging");

    let later = CompactOptions { now_ms: options.now_ms + 2 * 3_600_000, ..patient };
    let record = compact(&store, &later, &spill_dir).await.unwrap();
    assert!(record.staging_in > 0 && record.files_out > 0, "{record:?}");
    assert_exactly(&view(&store).await, &input, "compacted once old enough");
}
