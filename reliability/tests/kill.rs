//! kill -9 of the query-runner at random moments, in a loop: scheduled invocations of the hourly
//! rollup against moto's S3 and Athena (`query-runner-once`, a process of its own), each killed
//! at a random moment of a run, the next picking up what the killed one left (executions in
//! flight, window generations). After every kill each summary is whole and holds its window's
//! rows once, and no execution is recorded twice; once runs go unkilled, every window has its
//! summary and a succeeded run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loglake::testing::{Rng, integration_python};
use loglake_reliability::{RollupLake, bucket};

/// After every window (24 hours of one day) has closed.
const SCHEDULED_TIME: &str = "2026-11-21T02:00:00Z";

fn runner_once(bucket: &str, region: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_query-runner-once"));
    command.args([bucket, region, SCHEDULED_TIME]).stdout(Stdio::null()).stderr(Stdio::null());
    command
}

#[tokio::test]
async fn the_query_runner_killed_at_random_moments_converges_with_each_summary_once() {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("kill-rollup").await;
    let region = "ap-southeast-2";
    let lake = RollupLake::new(&bucket, &direct, region, 24, 200).await;

    // One invocation on a copy of nothing: how long a run of 4 windows takes here.
    let (calm, calm_direct) = loglake_reliability::bucket("kill-rollup-calm").await;
    let calm_lake = RollupLake::new(&calm, &calm_direct, "ap-southeast-1", 24, 20).await;
    let started = Instant::now();
    assert!(runner_once(&calm, &calm_lake.region).status().unwrap().success());
    let run_ms = started.elapsed().as_millis().max(10) as u64;

    let mut rng = Rng(0x9e7a11);
    let (mut killed, kills) = (0, 12);
    for _ in 0..kills {
        let mut child = runner_once(&bucket, region).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(run_ms as usize) as u64));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL: nothing runs after it
            killed += 1;
        }
        child.wait().unwrap();
        lake.check(&direct, &python, false).await;
    }
    // Unkilled runs until every window is stored (4 windows per invocation).
    let mut runs = 0;
    loop {
        assert!(runner_once(&bucket, region).status().unwrap().success(), "an unkilled run succeeds");
        runs += 1;
        let (summaries, _) = lake.check(&direct, &python, false).await;
        if summaries == lake.windows.len() || runs == 12 {
            break;
        }
    }
    let (summaries, recorded) = lake.check(&direct, &python, true).await;
    println!(
        "query-runner: {killed} of {kills} invocations killed mid-run (a run took {run_ms} ms), then {runs} more: {summaries} summaries, {recorded} runs recorded"
    );
    assert!(killed >= kills / 2, "the kills landed mid-run");
}
