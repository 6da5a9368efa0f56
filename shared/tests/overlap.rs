//! Two compaction runs at once — a retried invocation, a run overlapping the next schedule, the
//! CLI against the same bucket — never lose, hide or double a record. One run is paused before
//! each of its store operations in turn while another runs to its end; then the paused one
//! resumes, and a third run follows. After the two and after the third, both readers (the local
//! state rules, and the published view text on DuckDB) see exactly the input.

mod common;

use std::path::PathBuf;

use common::compaction::{
    RecordedView, assert_exactly, assert_views_on_duckdb, fill, fresh, lapse_the_lease, options, readers, snapshot,
    view,
};
use loglake::compact::run::compact;
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::testing::PausingStore;

/// For every operation of a run: that run paused before it while a second run goes from start to
/// end, then the first resumes (it may stop on finding it was overtaken; it must not corrupt the
/// lake), then a third run. Every record is seen exactly once at the end of each phase, by both
/// readers, and the third run leaves nothing behind.
#[tokio::test]
async fn a_run_paused_at_any_step_while_another_runs_leaves_every_record_visible_once() {
    let spill = tempfile::tempdir().unwrap();
    let (options, _) = options(spill.path());
    let snapshots = tempfile::tempdir().unwrap();
    let mut cases: Vec<(PathBuf, String)> = Vec::new();

    // How many store operations a whole run makes on this lake.
    let dir = tempfile::tempdir().unwrap();
    let input = fill(&LocalStore::new(dir.path()), 0, 6).await;
    let counting = PausingStore::new(LocalStore::new(dir.path()), usize::MAX);
    compact(&counting, &readers(&RecordedView::new(None)), &fresh(&options), &spill.path().join("count"))
        .await
        .unwrap();
    let operations = counting.operations();
    assert!(operations >= 20, "{operations}");

    // Twice: with the paused run's lease held (the second run finds it busy), and with it lapsed
    // (a holder paused past its lease, which the function's timeout rules out but a suspended CLI
    // does not): then only the state's conditional writes keep the paused run from harm.
    for (pause_at, lapse) in (0..operations).flat_map(|n| [(n, false), (n, true)]) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        assert_eq!(fill(&store, 0, 6).await, input);
        let glue = RecordedView::new(None);
        let paused = PausingStore::new(LocalStore::new(dir.path()), pause_at);
        let (first_readers, first_options, first_spill) = (readers(&glue), fresh(&options), spill.path().join("first"));
        let first = compact(&paused, &first_readers, &first_options, &first_spill);
        let second = async {
            paused.paused().await;
            if lapse {
                lapse_the_lease(&store).await;
            }
            let result = compact(&store, &readers(&glue), &fresh(&options), &spill.path().join("second")).await;
            paused.resume();
            result
        };
        let (first, second) = tokio::join!(first, second);
        let lease = if lapse { "lapsed" } else { "held" };
        let context = format!("first run paused before operation {pause_at} of {operations}, its lease {lease}");
        second.unwrap_or_else(|e| panic!("{context}: the second run failed: {e}"));
        // The first run may stop with an error once it finds it was overtaken; either way the
        // lake must be whole.
        let _ = first;
        assert_exactly(&view(&store).await, &input, &format!("{context}, after both"));
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, format!("{context}, after both")));

        let third = compact(&store, &readers(&glue), &fresh(&options), &spill.path().join("third")).await;
        third.unwrap_or_else(|e| panic!("{context}: the third run failed: {e}"));
        assert_exactly(&view(&store).await, &input, &format!("{context}, after a third run"));
        assert!(store.list("staging/").await.unwrap().is_empty(), "{context}: staging left behind");
        let path = snapshots.path().join(format!("case-{}", cases.len()));
        snapshot(dir.path(), &glue.text(), &path);
        cases.push((path, format!("{context}, after a third run")));
    }

    assert_views_on_duckdb(&cases, &input);
}
