//! Late data into an hour already compacted costs in proportion to the late data: it goes into a
//! delta file beside the hour's curated files, deduplicated against them by reading only the row
//! groups that may hold its records; once the deltas pass their fraction of the hour, the hour is
//! merged whole again.

mod common;

use std::collections::BTreeSet;

use common::compaction::{
    RecordedView, assert_every_crash_is_invisible, assert_exactly, assert_views_on_duckdb, batch_events, fill, fresh,
    ingest, options, readers, snapshot, view,
};
use loglake::compact::run::{CompactOptions, compact};
use loglake::lake::storage::{LocalStore, ObjectStore};

const HOUR_09: &str = "dt=2026-11-20/hour=09";

fn delta_options(spill: &std::path::Path) -> (CompactOptions, std::path::PathBuf) {
    let (options, spill_dir) = options(spill);
    // Files of several row groups (flushed at half the 64 KiB budget), as a large hour has.
    (CompactOptions { file_bytes: 1 << 20, ..options }, spill_dir)
}

async fn curated(store: &LocalStore, hour: &str) -> Vec<(String, u64)> {
    store.list_objects(&format!("logs/{hour}/")).await.unwrap().into_iter().map(|o| (o.key, o.size)).collect()
}

/// 20 new records in one minute of hour 09, and 5 that the hour has already (a redelivery).
async fn late_records(store: &LocalStore) -> Vec<String> {
    let at = 1_795_168_800_000 - 1_200_000; // 09:40
    let mut events: Vec<(String, i64, String)> =
        (0..20).map(|i| (format!("late-{i:04}"), at + i * 1_000, format!("late line {i}"))).collect();
    let redelivered: Vec<_> = batch_events(3).into_iter().take(5).collect();
    assert!(redelivered.iter().all(|e| e.1 < 1_795_168_800_000), "hour 09");
    events.extend(redelivered);
    ingest(store, 1_000, "/aws/ecs/web", &events).await;
    (0..20).map(|i| format!("late-{i:04}")).collect()
}

#[tokio::test]
async fn a_late_record_in_a_compacted_hour_is_a_delta_that_reads_only_the_row_groups_it_may_repeat() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = delta_options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let first = fill(&store, 0, 100).await;
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    let before = curated(&store, HOUR_09).await;
    let hour_bytes: u64 = before.iter().map(|(_, size)| size).sum();

    let late = late_records(&store).await;
    let record = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(record.delta_hours, vec![HOUR_09.to_owned()], "{record:?}");
    assert_eq!((record.curated_in, record.rows_out, record.duplicates), (0, 20, 5), "{record:?}");
    let after = curated(&store, HOUR_09).await;
    assert!(before.iter().all(|file| after.contains(file)), "the hour's files stay as they were");
    let added: Vec<&String> =
        after.iter().map(|(key, _)| key).filter(|k| !before.iter().any(|(b, _)| b == *k)).collect();
    assert!(added.len() == 1 && added[0].contains("/r000001-"), "one delta file: {added:?}");
    // The search read the footer and the key columns of the row groups that may hold the new
    // records' times (09:30–09:31 and 09:40) only: 3 of the hour's 31 row groups of 500 rows.
    assert_eq!((record.delta_row_groups_read, record.delta_row_groups), (3, 31), "{record:?}");
    assert!(
        record.delta_search_bytes * 2 < hour_bytes,
        "searched {} of the hour's {hour_bytes} bytes",
        record.delta_search_bytes
    );

    let mut expected = [first, late].concat();
    expected.sort();
    assert_exactly(&view(&store).await, &expected, "the delta's records once, the redelivered ones not again");
    let snapshots = tempfile::tempdir().unwrap();
    let path = snapshots.path().join("delta");
    snapshot(dir.path(), &glue.text(), &path);
    assert_views_on_duckdb(&[(path, "after a delta".into())], &expected);
}

#[tokio::test]
async fn an_hour_whose_deltas_pass_their_fraction_is_merged_whole_again() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = delta_options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let first = fill(&store, 0, 100).await;
    compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    let late = late_records(&store).await;
    let delta = compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(delta.delta_hours, vec![HOUR_09.to_owned()]);

    // Twenty more batches: a fifth of what the hours hold, past the tenth a delta may be.
    let more = fill(&store, 100, 20).await;
    let whole = compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    assert!(whole.delta_hours.is_empty() && whole.curated_in > 0, "{whole:?}");
    let runs: BTreeSet<String> = curated(&store, HOUR_09)
        .await
        .iter()
        .map(|(key, _)| key.split('/').next_back().unwrap()[..8].to_owned())
        .collect();
    assert_eq!(runs, BTreeSet::from(["r000002-".to_owned()]), "base and delta merged into one run's files");

    let mut expected = [first, late, more].concat();
    expected.sort();
    assert_exactly(&view(&store).await, &expected, "after the whole merge");
}

#[tokio::test]
async fn deltas_off_merge_the_whole_hour_for_one_late_record() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = delta_options(spill.path());
    let options = CompactOptions { delta_fraction: 0.0, ..options };
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let first = fill(&store, 0, 100).await;
    compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    let before = curated(&store, HOUR_09).await;
    let late = late_records(&store).await;
    let record = compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    assert!(record.delta_hours.is_empty() && record.curated_in >= before.len(), "{record:?}");
    let mut expected = [first, late].concat();
    expected.sort();
    assert_exactly(&view(&store).await, &expected, "after the whole merge");
}

/// A curated file the search cannot read as the table's (an older schema: no `trace_id`) makes the
/// run merge the hour whole, which casts it; nothing is lost or doubled.
#[tokio::test]
async fn an_hour_with_a_curated_file_of_another_schema_is_merged_whole_instead_of_a_delta() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = delta_options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let staged = fill(&store, 0, 100).await;
    // A copy of one staging file of hour 09 without `trace_id`, as an older version wrote: its
    // records are in the lake already, so the merge drops them as duplicates.
    let source = store.list(&format!("staging/logs/{HOUR_09}/")).await.unwrap().remove(0);
    let legacy = without_column(store.get(&source).await.unwrap(), "trace_id");
    compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    store.put(&format!("logs/{HOUR_09}/legacy.parquet"), legacy).await.unwrap();

    let late = late_records(&store).await;
    let record = compact(&store, &readers(&RecordedView::new(None)), &fresh(&options), &spill_dir).await.unwrap();
    assert!(record.delta_hours.is_empty() && record.curated_in >= 2, "{record:?}");
    assert!(store.list(&format!("logs/{HOUR_09}/legacy")).await.unwrap().is_empty(), "replaced by the merge");
    let mut expected = [staged, late].concat();
    expected.sort();
    assert_exactly(&view(&store).await, &expected, "the legacy file's rows once");
}

fn without_column(parquet: Vec<u8>, column: &str) -> Vec<u8> {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(parquet))
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<arrow_array::RecordBatch> = reader.map(Result::unwrap).collect();
    let index = batches[0].schema().index_of(column).unwrap();
    let keep: Vec<usize> = (0..batches[0].num_columns()).filter(|&i| i != index).collect();
    let projected: Vec<_> = batches.iter().map(|b| b.project(&keep).unwrap()).collect();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, projected[0].schema(), None).unwrap();
    for batch in &projected {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    out
}

/// A crash after each step of a delta run (each store write and delete, each publication) leaves
/// both readers — the state's rules and the view text on DuckDB — seeing every record once, and
/// the next run converges.
#[tokio::test]
async fn a_crash_after_any_step_of_a_delta_run_is_invisible_and_the_next_run_converges() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = delta_options(spill.path());
    let prepare = || async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let first = fill(&store, 0, 100).await;
        let glue = RecordedView::new(None);
        compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
        let mut expected = [first, late_records(&store).await].concat();
        expected.sort();
        (dir, glue.text(), expected)
    };
    let check = |record: &loglake::compact::state::RunRecord| {
        assert_eq!(record.delta_hours, vec![HOUR_09.to_owned()]);
    };
    let cases = assert_every_crash_is_invisible("delta run", &options, &spill_dir, prepare, check).await;
    assert!(cases >= 8, "{cases} cases");
}
