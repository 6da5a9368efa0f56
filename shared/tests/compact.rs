//! Compaction is invisible to readers: a crash after every single step of a run (each write,
//! each delete, the switch) leaves a lake whose visible rows are exactly the input, and the next
//! run converges. Duplicates across staging files are stored once; late data joins its hour.

mod common;

use std::path::PathBuf;

use common::compaction::{
    PATH_PREFIX, RecordedView, assert_exactly, assert_views_on_duckdb, fill, fresh, lapse_the_lease, options, python,
    readers, run_views_on_duckdb, snapshot, view,
};
use loglake::compact::merge::MergeOptions;
use loglake::compact::run::{CompactOptions, compact, compact_until};
use loglake::compact::state::{CompactError, CompactionState, load_state};
use loglake::compact::view::{local_readers, view_sql, visible_rows};
use loglake::lake::layout::COMPACTION_LEASE_KEY;
use loglake::lake::storage::{FailAfter, LocalStore, ObjectStore};

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

    // The last step releases the lease: a run that cannot release it has finished its work, and
    // the lease expires by itself (the lease tests cover that), so crashes stop before it.
    assert_eq!(counting.written().last().map(String::as_str), Some(COMPACTION_LEASE_KEY), "the last step");
    let crashes = (0..store_steps - 1).map(|n| (Some(n), None)).chain((0..publications).map(|n| (None, Some(n))));
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

        // The next run stops again after its first write or delete (after taking the lease): what
        // it cleans up first (a crash's leftovers, replaced files) must already be hidden from the
        // view Athena holds.
        lapse_the_lease(&store).await;
        let stopped = FailAfter::new(LocalStore::new(dir.path()), 2);
        let _ = compact(&stopped, &readers(&glue), &fresh(&options), &spill_dir).await;
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, format!("recovery stopped after its first step ({context})")));

        // The next run converges: staging empty, nothing hidden, every record once.
        lapse_the_lease(&store).await;
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
    assert_views_on_duckdb(&cases, &input);
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

    // The next run stops after one write or delete (after taking the lease); Glue still holds
    // the old view.
    let glue = RecordedView::new(None);
    *glue.current.lock().unwrap() = failing.text();
    let stopped = FailAfter::new(LocalStore::new(dir.path()), 2);
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

/// A lake whose state object is gone (a restore or copy that skipped `_loglake/`, a delete) is
/// refused by runs and readers alike: without the state, which curated files are visible is
/// unknown, and a run starting again at run 0 would write `r000000-*` over files readers see.
/// Putting the state back lets the next run go on with nothing lost. (Old code: the run started
/// from the default state and overwrote the curated files.)
#[tokio::test]
async fn a_lake_whose_state_is_missing_is_refused_and_left_as_it_is() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut input = fill(&store, 0, 2).await;
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    let state = store.get("_loglake/compaction/state.json").await.unwrap();
    let curated = lake_files(dir.path(), "logs");
    assert!(!curated.is_empty());

    store.delete("_loglake/compaction/state.json").await.unwrap();
    input.extend(fill(&store, 2, 2).await);
    input.sort();
    let refused = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap_err();
    assert!(
        matches!(refused, CompactError::StateMissing { curated_files } if curated_files == curated.len()),
        "{refused}"
    );
    assert_eq!(lake_files(dir.path(), "logs"), curated, "curated files untouched");
    assert!(matches!(load_state(&store).await, Err(CompactError::StateMissing { .. })), "readers refuse too");
    assert!(visible_rows(&store).await.is_err());

    store.put("_loglake/compaction/state.json", state).await.unwrap();
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_exactly(&view(&store).await, &input, "after the state was restored");
}

/// A state object older than the lake (restored from a backup, copied from another bucket)
/// would reuse run numbers: the run is refused, nothing is written or deleted. (Old code: the run
/// wrote its files over those of the run that came after the old state.)
#[tokio::test]
async fn a_state_older_than_the_curated_files_is_refused() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut input = fill(&store, 0, 2).await;
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    let old_state = store.get("_loglake/compaction/state.json").await.unwrap();
    input.extend(fill(&store, 2, 2).await);
    input.sort();
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    let latest_state = store.get("_loglake/compaction/state.json").await.unwrap();

    store.put("_loglake/compaction/state.json", old_state).await.unwrap();
    input.extend(fill(&store, 4, 1).await);
    input.sort();
    let before = (lake_files(dir.path(), "logs"), lake_files(dir.path(), "staging"));
    let refused = compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap_err();
    assert!(matches!(refused, CompactError::StateBehind { .. }), "{refused}");
    assert_eq!((lake_files(dir.path(), "logs"), lake_files(dir.path(), "staging")), before, "nothing changed");

    store.put("_loglake/compaction/state.json", latest_state).await.unwrap();
    compact(&store, &readers(&glue), &fresh(&options), &spill_dir).await.unwrap();
    assert_exactly(&view(&store).await, &input, "after the latest state was restored");
}

/// Every file under `lake/table`, with its bytes' length and modification time: a fingerprint
/// that changes if any is written, rewritten or deleted.
fn lake_files(lake: &std::path::Path, table: &str) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut files = Vec::new();
    let mut dirs = vec![lake.join(table)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                files.push((entry.path().display().to_string(), meta.len(), meta.modified().unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// A query planned under the view before a switch (Athena resolves the view once, then lists and
/// reads the files it names) still reads every record after the switch: the curated files the
/// switch replaced and the staging objects it consumed stay until the delete delay has passed,
/// hidden from the new view; the first run after the delay deletes them. A consumed key written
/// again within the delay (an upstream retry) is merged again, not deleted with the old copy.
/// (Old code: deleted at once; the old view over what was left missed records.)
#[tokio::test]
async fn a_query_planned_before_a_switch_still_reads_every_record_until_the_delay_has_passed() {
    const MINUTE: i64 = 60_000;
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let options = CompactOptions { delete_delay_ms: 60 * MINUTE, ..options };
    let at = |minutes: i64| CompactOptions { now_ms: fresh(&options).now_ms + minutes * MINUTE, ..options.clone() };
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut input = fill(&store, 0, 3).await;
    let glue = RecordedView::new(None);
    compact(&store, &readers(&glue), &at(0), &spill_dir).await.unwrap();
    input.extend(fill(&store, 3, 3).await); // late data: the next run replaces the curated files
    input.sort();
    let before_switch = glue.text();
    let staged = store.list("staging/").await.unwrap();
    let curated = store.list("logs/").await.unwrap();

    // Staging holds the new objects and the ones the first run consumed (kept for the delay).
    let consumed_first = load_state(&store).await.unwrap().consumed.len();
    assert!(consumed_first > 0);

    let switch = compact(&store, &readers(&glue), &at(0), &spill_dir).await.unwrap();
    assert!(switch.curated_in > 0 && switch.staging_in == staged.len() - consumed_first, "{switch:?}");
    let kept: Vec<String> = staged.iter().chain(&curated).cloned().collect();
    let all_after = store.list("").await.unwrap();
    assert!(kept.iter().all(|key| all_after.contains(key)), "nothing the old view reads is deleted at the switch");
    assert_exactly(&view(&store).await, &input, "local reader, after the switch");
    let snapshots = tempfile::tempdir().unwrap();
    let mut cases = vec![];
    for (name, text) in [("old view after the switch", before_switch.clone()), ("new view", glue.text())] {
        let path = snapshots.path().join(name.replace(' ', "-"));
        snapshot(dir.path(), &text, &path);
        cases.push((path, name.to_owned()));
    }

    // An upstream retry writes a consumed key again (same records, new object) within the delay.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let rewritten = &staged[0];
    store.put(rewritten, store.get(rewritten).await.unwrap()).await.unwrap();

    // Within the delay a run deletes nothing the old view reads; it merges the rewritten key again.
    let within = compact(&store, &readers(&glue), &at(30), &spill_dir).await.unwrap();
    assert_eq!((within.staging_in, within.deleted), (1, 0), "{within:?}");
    assert!(within.duplicates > 0, "the rewritten copy is folded in: {within:?}");
    assert_exactly(&view(&store).await, &input, "local reader, within the delay");
    let path = snapshots.path().join("old-view-within-the-delay");
    snapshot(dir.path(), &before_switch, &path);
    cases.push((path, "old view, a run later, within the delay".into()));

    // After the delay the next run deletes what the switch replaced and consumed, but not the
    // rewritten key, whose own delay runs from its second merge.
    let after = compact(&store, &readers(&glue), &at(61), &spill_dir).await.unwrap();
    assert_eq!(after.deleted, curated.len() + staged.len() - 1, "{after:?}");
    assert_eq!(store.list("staging/").await.unwrap(), std::slice::from_ref(rewritten));
    assert_exactly(&view(&store).await, &input, "local reader, after the delay");
    let last = compact(&store, &readers(&glue), &at(95), &spill_dir).await.unwrap();
    assert!(last.deleted >= 1 && store.list("staging/").await.unwrap().is_empty(), "{last:?}");
    let state = load_state(&store).await.unwrap();
    assert!(state.replaced.is_empty() && state.consumed.is_empty(), "{state:?}");
    assert_exactly(&view(&store).await, &input, "local reader, at the end");
    let path = snapshots.path().join("end");
    snapshot(dir.path(), &glue.text(), &path);
    cases.push((path, "the view at the end".into()));

    assert_views_on_duckdb(&cases, &input);
}

/// A run takes at most its input bound, oldest hours first (an hour larger than the bound alone),
/// and says how many hours wait; a backlog converges run after run, every record visible once
/// at each step. (Old code: a run took everything in staging at once, however much.)
#[tokio::test]
async fn a_backlog_is_compacted_oldest_hours_first_within_each_runs_bound() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 4).await;
    let glue = RecordedView::new(None);
    let bounded = CompactOptions { max_input_bytes: 1, ..fresh(&options) };

    let first = compact(&store, &readers(&glue), &bounded, &spill_dir).await.unwrap();
    assert_eq!((first.hours.as_slice(), first.hours_waiting), (["dt=2026-11-20/hour=09".to_owned()].as_slice(), 1));
    assert!(store.list("staging/logs/dt=2026-11-20/hour=09/").await.unwrap().is_empty());
    assert!(!store.list("staging/logs/dt=2026-11-20/hour=10/").await.unwrap().is_empty(), "waits");
    assert_exactly(&view(&store).await, &input, "after the first bounded run");

    let second = compact(&store, &readers(&glue), &bounded, &spill_dir).await.unwrap();
    assert_eq!((second.hours.as_slice(), second.hours_waiting), (["dt=2026-11-20/hour=10".to_owned()].as_slice(), 0));
    assert!(store.list("staging/").await.unwrap().is_empty());
    assert_exactly(&view(&store).await, &input, "after the backlog converged");
    let third = compact(&store, &readers(&glue), &bounded, &spill_dir).await.unwrap();
    assert_eq!((third.files_out, third.hours_waiting), (0, 0));
}

/// Within one invocation, bounded runs follow one another while hours wait and time is left:
/// with time, the backlog drains in one call (a run per hour here); with none, one run only.
#[tokio::test]
async fn bounded_runs_follow_one_another_until_the_deadline() {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let bounded = CompactOptions { max_input_bytes: 1, ..fresh(&options) };
    let glue = RecordedView::new(None);
    let far = std::time::Instant::now() + std::time::Duration::from_secs(600);

    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 4).await;
    let runs = compact_until(&store, &readers(&glue), &bounded, &spill_dir, far).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.hours.len()).collect::<Vec<_>>(), [1, 1], "{runs:?}");
    assert!(store.list("staging/").await.unwrap().is_empty());
    assert_exactly(&view(&store).await, &input, "after draining in one call");

    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    fill(&store, 0, 4).await;
    let now = std::time::Instant::now();
    let runs = compact_until(&store, &readers(&glue), &bounded, &spill_dir, now).await.unwrap();
    assert_eq!((runs.len(), runs[0].hours_waiting), (1, 1), "no time for a second run");
}

/// A run whose lease runs out (a CLI suspended past it) deletes nothing more: every delete checks
/// the lease first, and the run stops with `LeaseLost`, its deletes left to the next run.
#[tokio::test]
async fn a_run_whose_lease_has_run_out_deletes_nothing() {
    const MINUTE: i64 = 60_000;
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let input = fill(&store, 0, 2).await;
    let glue = RecordedView::new(None);
    let delayed = CompactOptions { delete_delay_ms: 60 * MINUTE, ..fresh(&options) };
    compact(&store, &readers(&glue), &delayed, &spill_dir).await.unwrap();
    let before = store.list("").await.unwrap();
    assert!(!load_state(&store).await.unwrap().consumed.is_empty(), "deletes are due after the delay");

    // After the delay, with a lease that is already as good as over (less than the margin left).
    let lapsing = CompactOptions { now_ms: fresh(&options).now_ms + 61 * MINUTE, lease_ms: 1, ..delayed.clone() };
    let error = compact(&store, &readers(&glue), &lapsing, &spill_dir).await.unwrap_err();
    assert!(matches!(error, CompactError::LeaseLost { .. }), "{error}");
    let after: Vec<String> = store.list("").await.unwrap();
    assert_eq!(after, before, "nothing deleted");
    assert_exactly(&view(&store).await, &input, "after the stopped run");

    let next = CompactOptions { now_ms: fresh(&options).now_ms + 61 * MINUTE, ..delayed };
    let record = compact(&store, &readers(&glue), &next, &spill_dir).await.unwrap();
    assert!(record.deleted > 0 && store.list("staging/").await.unwrap().is_empty(), "{record:?}");
    assert_exactly(&view(&store).await, &input, "after the next run");
}
