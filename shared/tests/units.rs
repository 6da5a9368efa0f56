//! An hour larger than one unit of work is split by ranges of `event_time` into
//! units merged on their own: duplicates still meet in one unit (the rows are exact), units write
//! distinct parts, and a crash after any step of such a run is invisible.

mod common;

use std::collections::BTreeSet;

use common::compaction::{
    RecordedView, assert_every_crash_is_invisible, assert_exactly, assert_views_on_duckdb, batch_events, fresh, ingest,
    options, readers, snapshot, view,
};
use loglake::compact::run::{CompactOptions, compact};
use loglake::compact::units::PARTS_PER_UNIT;
use loglake::lake::storage::{LocalStore, ObjectStore};

const HOUR_09: &str = "dt=2026-11-20/hour=09";

/// 24 batches from 8 log groups over two hours, and 4 of them delivered again under other keys
/// (a bisected Kinesis retry): the ids each reader must see once.
async fn fill_groups(store: &LocalStore) -> Vec<String> {
    let ids = fill_batches(store, 0..24).await;
    redeliver(store).await;
    ids
}

async fn fill_batches(store: &LocalStore, batches: std::ops::Range<usize>) -> Vec<String> {
    let mut ids = Vec::new();
    for b in batches {
        let events = batch_events(b);
        ids.extend(events.iter().map(|e| e.0.clone()));
        ingest(store, b, &format!("/aws/ecs/svc-{:02}", b % 8), &events).await;
    }
    ids.sort();
    ids
}

async fn redeliver(store: &LocalStore) {
    for b in [3, 9, 14, 22] {
        ingest(store, 1_000 + b, &format!("/aws/ecs/svc-{:02}", b % 8), &batch_events(b)).await;
    }
}

/// Units of about a quarter of an hour's input.
fn unit_options(spill: &std::path::Path) -> (CompactOptions, std::path::PathBuf) {
    let (options, spill_dir) = options(spill);
    (CompactOptions { unit_bytes: 60_000, ..options }, spill_dir)
}

/// The unit (part ÷ PARTS_PER_UNIT) of each curated file of an hour.
async fn units_of(store: &LocalStore, hour: &str) -> BTreeSet<usize> {
    store
        .list(&format!("logs/{hour}/"))
        .await
        .unwrap()
        .iter()
        .map(|key| {
            let name = key.rsplit('/').next().unwrap();
            let part: usize = name.split_once('-').unwrap().1.trim_end_matches(".parquet").parse().unwrap();
            part / PARTS_PER_UNIT
        })
        .collect()
}

#[tokio::test]
async fn an_hour_larger_than_a_unit_is_merged_in_units_by_time_range_and_every_record_is_seen_once() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = unit_options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let expected = fill_groups(&store).await;
    let staging_bytes: u64 = store.list_objects("staging/").await.unwrap().iter().map(|o| o.size).sum();
    assert!(staging_bytes / 2 > 3 * options.unit_bytes, "each hour is several units: {staging_bytes}");

    let glue = RecordedView::new(None);
    let record = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(record.hours.len(), 2, "{record:?}");
    assert!(record.units >= 6, "each hour in three units or more: {record:?}");
    // Every redelivered record met its first copy in one unit.
    assert_eq!(record.duplicates, 4 * 300, "{record:?}");
    assert_eq!(record.rows_out, expected.len(), "{record:?}");
    let units = units_of(&store, HOUR_09).await;
    assert!(units.len() >= 3, "the hour's files come from its units: {units:?}");
    assert_exactly(&view(&store).await, &expected, "after a run in units");
    let snapshots = tempfile::tempdir().unwrap();
    let path = snapshots.path().join("units");
    snapshot(dir.path(), &glue.text(), &path);
    assert_views_on_duckdb(&[(path, "after a run in units".into())], &expected);

    // Late data into a whole hour of units: merged whole again, in units, still exact.
    ingest(&store, 2_000, "/aws/ecs/svc-03", &batch_events(40)).await;
    let more = compact(&store, &readers(&glue), &fresh(&CompactOptions { delta_fraction: 0.0, ..options }), &spill_dir)
        .await
        .unwrap();
    assert!(more.units >= 3 && more.curated_in > 0, "{more:?}");
    let mut expected = [expected, batch_events(40).into_iter().map(|e| e.0).collect()].concat();
    expected.sort();
    assert_exactly(&view(&store).await, &expected, "after a second run in units");
}

#[tokio::test]
async fn units_merge_the_same_rows_as_one_merge_of_the_hour() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = unit_options(spill.path());
    let mut outcomes = Vec::new();
    for unit_bytes in [options.unit_bytes, u64::MAX] {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        fill_groups(&store).await;
        let options = CompactOptions { unit_bytes, ..fresh(&options) };
        let record = compact(&store, &readers(&RecordedView::new(None)), &options, &spill_dir).await.unwrap();
        outcomes.push(((record.rows_in, record.rows_out, record.duplicates), record.units, view(&store).await));
    }
    assert_eq!(outcomes[0].0, outcomes[1].0, "rows in, out and duplicates");
    assert_eq!(outcomes[0].2, outcomes[1].2, "the rows readers see");
    assert!(outcomes[0].1 > outcomes[1].1 && outcomes[1].1 == 2, "units: {} and {}", outcomes[0].1, outcomes[1].1);
}

/// A crash after each step of a run in units (each store write and delete, each publication)
/// leaves both readers — the state's rules and the view text on DuckDB — seeing every record
/// once, and the next run converges.
#[tokio::test]
async fn a_crash_after_any_step_of_a_run_in_units_is_invisible_and_the_next_run_converges() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = unit_options(spill.path());
    // The hours compacted once; then four batches more and four delivered again, which the
    // crashing run merges with the hours' curated files, in units (staging holds duplicates only
    // of compacted records, which readers do not see twice).
    let options = CompactOptions { delta_fraction: 0.0, ..options };
    let prepare = || async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let first = fill_batches(&store, 0..24).await;
        let glue = RecordedView::new(None);
        compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
        let more = fill_batches(&store, 24..28).await;
        redeliver(&store).await;
        let mut expected = [first, more].concat();
        expected.sort();
        (dir, glue.text(), expected)
    };
    let check = |record: &loglake::compact::state::RunRecord| {
        assert!(record.units >= 6 && record.curated_in > 0 && record.duplicates == 4 * 300, "{record:?}");
    };
    let cases = assert_every_crash_is_invisible("units", &options, &spill_dir, prepare, check).await;
    assert!(cases >= 20, "{cases} cases");
}

/// A unit run elsewhere starts no write at or after its `write_until_ms` (the run's lease less a
/// margin): one sent too late fails with a lease error and leaves no file behind.
#[tokio::test]
async fn a_unit_past_its_write_deadline_writes_nothing() {
    use loglake::compact::run::merge_unit;
    use loglake::compact::state::CompactError;
    use loglake::compact::units::Unit;
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = unit_options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    fill_batches(&store, 0..4).await;
    let staging = store.list(&format!("staging/logs/{HOUR_09}/")).await.unwrap();
    let unit = Unit {
        write_until_ms: Some(loglake::function::now_ms() - 1),
        ..Unit::whole(HOUR_09, 0, Vec::new(), staging.clone(), 0)
    };
    let error = merge_unit(&store, &unit, &options, &spill_dir).await.unwrap_err();
    assert!(matches!(error, CompactError::LeaseLost { .. }), "{error}");
    assert!(store.list("logs/").await.unwrap().is_empty(), "no file written");
    // The same unit with time left writes its files.
    let unit = Unit { write_until_ms: Some(loglake::function::now_ms() + 60_000), ..unit };
    let output = merge_unit(&store, &unit, &options, &spill_dir).await.unwrap();
    assert!(!store.list("logs/").await.unwrap().is_empty(), "{output:?}");
}
