//! Many invocations at once: eight ingest-cloudwatch invocations at a time write into one lake
//! in moto while the compactor runs again and again beside them, as a schedule would during a
//! burst. Each invocation has its own state (its own S3 client), as separate Lambda instances
//! do. Then a last compaction: the curated files the state shows hold every event once, and
//! every staging file is consumed. Prints events/s and the process's peak memory
//! (`cargo nextest run -p loglake-reliability --test concurrency --no-capture`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use loglake::compact::state::load_state;
use loglake::compact::view::Readers;
use loglake::function::now_ms;
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config};
use loglake::testing::integration_python;
use loglake_reliability::{
    CompactorLake, assert_every_event_once, bucket, by_id, compactor_lake, state_on, subscription_event,
    visible_curated_rows, workload,
};

const INVOCATIONS_AT_ONCE: usize = 8;

/// Compacts until a run finds nothing left; the records of the runs that compacted something.
async fn compact(lake: &CompactorLake, store: &S3Store, request: &str) -> usize {
    let view = compactor::GlueView { client: lake.glue.clone(), database: lake.database.clone() };
    let readers = Readers { view: &view, path_prefix: format!("s3://{}/", lake.config.lake.bucket) };
    let spill = tempfile::tempdir().unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let records = compactor::handle(&lake.config, store, &readers, spill.path(), request, deadline).await.unwrap();
    records.iter().filter(|r| r.skipped.is_none() && r.files_out > 0).count()
}

/// The peak resident memory of this process, in MB.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok());
    kb.unwrap_or(0u64) / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_invocations_at_once_beside_compaction_runs_land_every_event_once() {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("concurrent").await;
    let lake = compactor_lake(&bucket).await;
    let sdk = load_aws_config().await;
    let now = now_ms();
    let payloads = workload(1200, 25, now);
    let events: usize = payloads.iter().map(Vec::len).sum();

    let store = S3Store::new(&sdk, &bucket, true);
    let started = Instant::now();
    let invokers: Vec<_> = (0..INVOCATIONS_AT_ONCE)
        .map(|i| {
            let mine: Vec<_> = payloads.iter().skip(i).step_by(INVOCATIONS_AT_ONCE).cloned().collect();
            let state = state_on(&sdk, &bucket);
            tokio::spawn(async move {
                for events in &mine {
                    ingest_cloudwatch::handle_at(&state, &subscription_event(events), now).await.unwrap();
                }
            })
        })
        .collect();
    let ingesting = AtomicBool::new(true);
    let all_invoked = async {
        for invoker in invokers {
            invoker.await.unwrap();
        }
        ingesting.store(false, Ordering::SeqCst);
        started.elapsed().as_secs_f64()
    };
    // The compactor, in this task, while the invocations run in theirs.
    let compaction = async {
        let (mut runs, mut compacted) = (0, 0);
        while ingesting.load(Ordering::SeqCst) {
            compacted += compact(&lake, &store, &format!("during-{runs}")).await;
            runs += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (runs, compacted)
    };
    let (ingest_secs, (runs_during, compacted_during)) = tokio::join!(all_invoked, compaction);
    compact(&lake, &store, "after").await;

    println!(
        "{} payloads, {events} events by {INVOCATIONS_AT_ONCE} invocations at once in {ingest_secs:.1} s ({:.0} events/s), \
         beside {runs_during} compaction runs ({compacted_during} compacted something); peak RSS {} MB",
        payloads.len(),
        events as f64 / ingest_secs,
        peak_rss_mb()
    );
    assert!(compacted_during > 0, "compaction ran beside the invocations");
    let state = load_state(&direct).await.unwrap();
    let staged = direct.list("staging/").await.unwrap();
    assert!(staged.iter().all(|key| state.consumed.contains_key(key)), "every staging file consumed");
    let rows = visible_curated_rows(&direct, &python, &state).await;
    assert_every_event_once(&direct, rows, &by_id(payloads.iter().flatten())).await;
}
