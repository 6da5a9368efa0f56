//! Files loglake did not write, files it cannot read, and an hour that fails: none of them stops
//! the rest of the lake from being compacted, and no record is lost without a trace. A
//! Firehose-style staging file (INT96 timestamps, a column of a newer schema missing) beside
//! loglake's own is cast to the table; a file that cannot be read or cast is set aside under
//! `errors/compaction/` with the reason; an hour whose reads fail waits for the next run while
//! the other hours are compacted. (Old code: the INT96 file failed its hour, and the hour the
//! whole run — on every run.)

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use common::compaction::{RecordedView, assert_exactly, fill, fresh, options, python, readers, view};
use loglake::compact::run::compact;
use loglake::compact::state::RunRecord;
use loglake::lake::storage::{Expected, ListedObject, LocalStore, ObjectStore, StorageError, Version};
use loglake::metrics::Metric;
use loglake::testing::read_lake_table_with_pyarrow;

/// A store whose reads of keys containing `failing` fail (a permission or a network fault on
/// one hour's objects).
struct FailingReads {
    inner: LocalStore,
    failing: &'static str,
}

impl FailingReads {
    fn check(&self, key: &str) -> Result<(), StorageError> {
        match key.contains(self.failing) {
            true => Err(StorageError::S3 {
                op: "GetObject",
                bucket: "lake".into(),
                key: key.to_owned(),
                detail: "AccessDenied (injected)".into(),
            }),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl ObjectStore for FailingReads {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError> {
        self.inner.put(key, body).await
    }
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        self.inner.put_file(key, path).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        self.check(key)?;
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.inner.list(prefix).await
    }
    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.inner.list_objects(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.inner.delete(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        self.check(key)?;
        self.inner.get_versioned(key).await
    }
    async fn put_if(&self, key: &str, body: Vec<u8>, expected: Expected<'_>) -> Result<Version, StorageError> {
        self.inner.put_if(key, body, expected).await
    }
}

/// Writes a foreign staging file next to `source` (scripts/write_foreign_staging.py); returns
/// its key and the event ids it holds.
fn foreign_file(python: &str, lake: &Path, source: &str, kind: &str, name: &str) -> (String, Vec<String>) {
    let key = format!("{}/{name}", source.rsplit_once('/').unwrap().0);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/write_foreign_staging.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(kind)
        .arg(lake.join(source))
        .arg(lake.join(&key))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (key, serde_json::from_slice(&out.stdout).unwrap())
}

#[tokio::test]
async fn foreign_files_are_cast_unusable_ones_set_aside_and_a_failing_hour_stops_only_itself() {
    let Some(python) = python() else { return };
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut input = fill(&store, 0, 2).await;
    let staged = store.list("staging/").await.unwrap();
    let ten = staged.iter().find(|k| k.contains("/hour=10/")).unwrap();
    assert!(staged.iter().any(|k| k.contains("/hour=09/")));

    // Hour 10: loglake's files, a Firehose-style file (new records), a file with a column the
    // table lacks and one that is not Parquet at all.
    let (firehose, firehose_ids) =
        foreign_file(&python, dir.path(), ten, "firehose", "firehose-delivery-1-2026-11-20-10-00-00-abc.parquet");
    input.extend(firehose_ids.iter().cloned());
    input.sort();
    let (extra, extra_ids) = foreign_file(&python, dir.path(), ten, "extra-column", "imported-extra.parquet");
    let garbage = format!("{}/truncated.parquet", ten.rsplit_once('/').unwrap().0);
    store.put(&garbage, b"PAR1 not really".to_vec()).await.unwrap();

    let originals = [(extra.clone(), store.get(&extra).await.unwrap()), (garbage.clone(), b"PAR1 not really".to_vec())];

    // Hour 09's reads fail: hour 10 is compacted all the same.
    let failing = FailingReads { inner: LocalStore::new(dir.path()), failing: "/hour=09/" };
    let glue = RecordedView::new(None);
    let first = compact(&failing, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(first.hours, ["dt=2026-11-20/hour=10"], "{first:?}");
    assert_eq!(first.failed_hours.len(), 1, "{first:?}");
    assert!(first.failed_hours[0].hour.ends_with("hour=09") && first.failed_hours[0].reason.contains("AccessDenied"));
    let mut set_aside: Vec<&str> = first.set_aside.iter().map(|s| s.key.as_str()).collect();
    set_aside.sort();
    let mut expected = vec![extra.as_str(), garbage.as_str()];
    expected.sort();
    assert_eq!(set_aside, expected, "{first:?}");
    for aside in &first.set_aside {
        let original = &originals.iter().find(|(key, _)| *key == aside.key).unwrap().1;
        assert_eq!(&store.get(&aside.moved_to).await.unwrap(), original, "moved byte for byte");
        let note: serde_json::Value =
            serde_json::from_slice(&store.get(&format!("{}.json", aside.moved_to)).await.unwrap()).unwrap();
        assert_eq!(note["origin"]["key"], aside.key.as_str());
        assert!(!note["reason"].as_str().unwrap().is_empty());
    }
    let extra_reason = &first.set_aside.iter().find(|s| s.key == extra).unwrap().reason;
    assert!(extra_reason.contains("columns the table does not have: bytes"), "{extra_reason}");
    // Set aside, they leave the view: the records of the file with the extra column are in
    // errors/compaction/ (counted above), not in the table.
    assert!(extra_ids.iter().all(|id| input.binary_search(id).is_err()));
    let left: Vec<String> = store.list("staging/").await.unwrap();
    assert!(left.iter().all(|k| k.contains("/hour=09/")), "hour 10's inputs, foreign ones too, consumed: {left:?}");
    assert!(!left.contains(&firehose));
    assert!(store.list("logs/dt=2026-11-20/hour=09/").await.unwrap().is_empty(), "the failed hour left no files");
    assert_exactly(&view(&store).await, &input, "after the first run (hour 09 still in staging)");
    // What the compactor emits: two dead letters, the failed hour, and hour 09's staging waiting.
    let waited = |record: &RunRecord| {
        let measured = RunRecord::measurement(std::slice::from_ref(record), 0).values;
        let value = |metric: Metric| measured.iter().find(|(m, _)| *m == metric).map(|(_, v)| *v);
        (value(Metric::DeadLetters), value(Metric::CompactionHoursFailed), value(Metric::OldestStagingAge))
    };
    let (letters, failed, age) = waited(&first);
    assert_eq!((letters, failed), (Some(2.0), Some(1.0)));
    assert!(age.unwrap() >= 1.0, "hour 09's staging is a second old at the run's clock: {age:?}");

    // The next run, without the fault, compacts hour 09.
    let second = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!((second.hours.len(), second.failed_hours.len()), (1, 0), "{second:?}");
    assert_eq!(waited(&second), (Some(0.0), Some(0.0), Some(0.0)), "nothing waits");
    assert!(store.list("staging/").await.unwrap().is_empty());
    assert_exactly(&view(&store).await, &input, "after the second run");

    // An independent reader of the curated files: every record once, the Firehose rows with
    // their times to the millisecond (INT96 nanoseconds cast, not shifted).
    let rows = read_lake_table_with_pyarrow(dir.path(), &python, "logs");
    let mut ids: Vec<String> = rows.iter().map(|r| r["event_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, input);
    let time_of = |id: &str| rows.iter().find(|r| r["event_id"] == id).map(|r| r["event_time"].clone()).unwrap();
    let copied = &firehose_ids[0];
    assert_eq!(time_of(copied), time_of(copied.strip_prefix("fh-").unwrap()));
    assert!(
        rows.iter().filter(|r| r["event_id"].as_str().unwrap().starts_with("fh-")).all(|r| r["trace_id"].is_null())
    );
}

/// A staging file whose embedded Arrow schema (`ARROW:schema` in its footer) is damaged, as the
/// staging_parquet fuzz target made it (fuzz/regressions/staging_parquet/). Read by its Parquet
/// schema, its three rows are the table's. (Old code: arrow-ipc panicked decoding the embedded
/// schema, and a panic aborts a Lambda: every compaction run of that hour crashed.)
#[test]
fn a_file_with_a_damaged_embedded_arrow_schema_is_read_by_its_parquet_schema() {
    use arrow_array::cast::AsArray;
    use loglake::compact::merge::{MergeOptions, RunWriter};
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/damaged-arrow-schema.parquet");
    let spill = tempfile::tempdir().unwrap();
    let mut writer = RunWriter::new(spill.path(), MergeOptions::default());
    writer.add_file(std::fs::read(fixture).unwrap()).unwrap();
    let mut merger = writer.finish().unwrap();
    let mut ids = Vec::new();
    while let Some(batch) = merger.next_batch().unwrap() {
        let column = batch.column_by_name("event_id").unwrap().as_string::<i32>();
        ids.extend(column.iter().map(|id| id.unwrap().to_owned()));
    }
    assert_eq!(ids, ["e0", "e1", "e2"]);
}

/// A staging file one bit of whose footer makes the `attributes` map's keys optional (found by
/// the staging_parquet fuzz target in its campaign; fuzz/regressions/staging_parquet/). pyarrow
/// refuses it ("Map keys must be annotated as required"); parquet-rs read it without an error
/// into a map the merge wrote to its sorted run, and reading that run back panicked — after the
/// probe had read the file alone and found nothing, so every run of its hour would have died.
/// Now the probe and the merge both refuse the file, and the merge of the rest goes on. (Old
/// code: `check_file` accepted it.)
#[test]
fn a_file_whose_map_keys_are_optional_is_refused_by_the_probe_and_the_merge() {
    use loglake::compact::merge::{MergeError, MergeOptions, RunWriter, check_file};
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/map-keys-optional.parquet");
    let file = std::fs::read(fixture).unwrap();
    let checked = check_file("staging/logs/dt=2026-11-20/hour=09/x.parquet", file.clone().into(), 8192);
    assert!(matches!(checked, Err(MergeError::Input(_))), "{checked:?}");
    let spill = tempfile::tempdir().unwrap();
    let mut writer = RunWriter::new(spill.path(), MergeOptions::default());
    let added = writer.add_file(file);
    assert!(matches!(added, Err(MergeError::Input(_))), "{added:?}");
    assert_eq!(writer.finish().unwrap().stats().rows_in, 0, "no row of it is in");
}

/// A staging file whose reading panics inside arrow-buffer (found by the staging_parquet fuzz
/// target; fuzz/regressions/staging_parquet/). Where panics unwind, as here, the merge's worker
/// dies and its hour fails; the hour is then suspect, and the next run reads its files alone
/// first, finds the panic and sets the file aside, and compacts the rest of the hour. (Old code:
/// the hour failed on every run. Where a panic ends the process, see cli/tests/kill.rs.)
#[tokio::test]
async fn a_file_whose_reading_panics_is_set_aside_by_the_next_run_and_its_hour_compacted() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let (input, hour_ten) = lake_with_a_file_that_panics(&store).await;
    let damaged = format!("{hour_ten}/zz-damaged.parquet");
    let glue = RecordedView::new(None);

    let first = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(first.hours, ["dt=2026-11-20/hour=09"], "{first:?}");
    assert_eq!(first.failed_hours.len(), 1, "{first:?}");
    assert!(first.failed_hours[0].reason.contains("panic"), "{first:?}");
    let state = loglake::compact::state::load_state(&store).await.unwrap();
    assert_eq!(state.suspect_hours.iter().collect::<Vec<_>>(), ["dt=2026-11-20/hour=10"]);
    // (No reader is asked here: the damaged file is still in staging, and a reader of it panics.)

    let second = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(
        (second.hours.as_slice(), second.failed_hours.len()),
        (["dt=2026-11-20/hour=10".to_owned()].as_slice(), 0)
    );
    assert_eq!(second.set_aside.len(), 1, "{second:?}");
    assert_eq!(second.set_aside[0].key, damaged);
    assert!(second.set_aside[0].reason.starts_with("reading it panicked"), "{second:?}");
    assert_eq!(store.get(&second.set_aside[0].moved_to).await.unwrap().len(), 4450, "moved whole");
    let state = loglake::compact::state::load_state(&store).await.unwrap();
    assert!(state.suspect_hours.is_empty(), "{state:?}");
    assert!(store.list("_loglake/compaction/reading").await.unwrap().is_empty(), "nothing left being read");
    assert!(store.list("staging/").await.unwrap().is_empty());
    assert_exactly(&view(&store).await, &input, "after the second run");
}

/// Two hours of staging; hour 10's folder (returned) also holds `zz-damaged.parquet`, the file
/// whose reading panics arrow (found by the staging_parquet fuzz target). Returns the event ids.
async fn lake_with_a_file_that_panics(store: &LocalStore) -> (Vec<String>, String) {
    let input = fill(store, 0, 2).await;
    let staged = store.list("staging/").await.unwrap();
    let ten = staged.iter().find(|k| k.contains("/hour=10/")).unwrap();
    let folder = ten.rsplit_once('/').unwrap().0.to_owned();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panics-arrow-buffer.parquet");
    store.put(&format!("{folder}/zz-damaged.parquet"), std::fs::read(fixture).unwrap()).await.unwrap();
    (input, folder)
}

/// In a suspect hour, a file that fails to decode without a panic (cut short) is set aside by the
/// reading alone too, with the decoder's error as its reason, beside the file that panics.
#[tokio::test]
async fn a_suspect_hours_file_that_fails_to_decode_is_set_aside_with_its_error() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let (input, folder) = lake_with_a_file_that_panics(&store).await;
    let glue = RecordedView::new(None);
    let first = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(first.failed_hours.len(), 1, "{first:?}");

    // Before the next run, a file cut short arrives in the suspect hour.
    let whole = store.get(&store.list(&format!("{folder}/")).await.unwrap()[0]).await.unwrap();
    let cut = format!("{folder}/zz-cut.parquet");
    store.put(&cut, whole[..whole.len() / 2].to_vec()).await.unwrap();
    let second = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_eq!(second.failed_hours.len(), 0, "{second:?}");
    let reasons: BTreeMap<&str, &str> = second.set_aside.iter().map(|s| (s.key.as_str(), s.reason.as_str())).collect();
    assert_eq!(reasons.len(), 2, "{second:?}");
    assert!(reasons[cut.as_str()].to_lowercase().contains("parquet"), "{second:?}");
    assert!(!reasons[cut.as_str()].contains("panicked"), "{second:?}");
    assert_exactly(&view(&store).await, &input, "after the second run");
}

/// A suspect hour whose staging is gone before the next run (an operator removed the damaged
/// file and its neighbours) is no longer suspect, and nothing is read alone for it.
#[tokio::test]
async fn a_suspect_hour_with_nothing_left_to_merge_is_no_longer_suspect() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let (_, folder) = lake_with_a_file_that_panics(&store).await;
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    let state = loglake::compact::state::load_state(&store).await.unwrap();
    assert_eq!(state.suspect_hours.len(), 1, "{state:?}");

    for key in store.list(&format!("{folder}/")).await.unwrap() {
        store.delete(&key).await.unwrap();
    }
    let second = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert!(second.hours.is_empty() && second.set_aside.is_empty(), "{second:?}");
    let state = loglake::compact::state::load_state(&store).await.unwrap();
    assert!(state.suspect_hours.is_empty(), "{state:?}");
    assert!(store.list("_loglake/compaction/reading").await.unwrap().is_empty(), "nothing read alone");
}

/// The lake's own files, read by their Parquet schema alone, are of the table's schema as they
/// are: compaction casts none of them.
#[test]
fn the_lakes_own_files_read_by_their_parquet_schema_need_no_cast() {
    use loglake::lake::conform::{is_logs_schema, reader_builder};
    let lake = tempfile::tempdir().unwrap();
    let store = LocalStore::new(lake.path());
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(fill(&store, 0, 1));
    let key = walk_parquet(lake.path()).pop().expect("a staging file");
    let builder = reader_builder(bytes::Bytes::from(std::fs::read(key).unwrap())).unwrap();
    assert!(is_logs_schema(builder.schema()), "{:?}", builder.schema());
}

fn walk_parquet(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_parquet(&path));
        } else if path.extension().is_some_and(|x| x == "parquet") {
            files.push(path);
        }
    }
    files
}
