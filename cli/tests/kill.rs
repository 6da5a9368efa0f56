//! kill -9 in a loop: `loglake compact` and `loglake rollup` (the compactor's and the rollups'
//! code on a local lake) killed at random moments, new staging arriving between kills. After
//! every kill, what readers see (the `logs_all` view Athena would run, on DuckDB) holds every
//! event once; the next run recovers
//! (once the killed run's lease has lapsed, which the test does at once, as time would); at
//! the end every staging file is consumed and the summaries equal those of runs never killed.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{keys_under, loglake, summaries, test_python};
use loglake::lake::layout::COMPACTION_LEASE_KEY;
use loglake::testing::{Rng, cloudwatch_payload};

const NOW_MS: i64 = 1_795_168_800_000; // 2026-11-20T10:00Z, the samples' day

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loglake")).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

/// Stages `payloads` subscription payloads of 50 events each, numbered from `first`, over six
/// hours, through `loglake invoke ingest-cloudwatch`. Returns the events staged.
fn stage(lake: &Path, first: usize, payloads: usize) -> usize {
    let events_dir = tempfile::tempdir().unwrap();
    for p in first..first + payloads {
        let events: Vec<(String, i64, String)> = (0..50)
            .map(|e| {
                let time = NOW_MS - 6 * 3_600_000 + (p * 50 + e) as i64 * 1_700;
                (format!("{p:05}-{e:02}"), time, format!("{{\"level\":\"error\",\"n\":{e},\"payload\":{p}}}"))
            })
            .collect();
        let group = ["/app/api", "/app/web", "/app/worker"][p % 3];
        let event = serde_json::json!({"awslogs": {"data": cloudwatch_payload(group, &events)}});
        std::fs::write(events_dir.path().join(format!("{p:05}.json")), event.to_string()).unwrap();
    }
    loglake(&[
        "invoke",
        "ingest-cloudwatch",
        "--event",
        events_dir.path().to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ]);
    payloads * 50
}

/// Rows and distinct event ids readers see: the `logs_all` view text of the lake's state
/// (`loglake schema --table logs-all`), run by DuckDB over the lake's files
/// (scripts/run_reader_view.py), as Athena would run it.
fn view_counts(lake: &Path, python: &str) -> (u64, u64) {
    let ddl = loglake(&["schema", "--table", "logs-all", "--lake", lake.to_str().unwrap()]);
    let select = ddl.split_once(" AS\n").unwrap().1.trim_end().trim_end_matches(';');
    std::fs::write(lake.join("view.sql"), select).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/run_reader_view.py");
    let out = Command::new(python).arg(script).arg(lake).output().unwrap();
    std::fs::remove_file(lake.join("view.sql")).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids: Vec<&str> = ids
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let rows = ids.len() as u64;
    ids.dedup();
    (rows, ids.len() as u64)
}

/// Starts `args`, kills it with SIGKILL at a random moment of `run_ms`, the time a whole run
/// takes (every other kill near its end, where a run commits), unless it ended first; whether it
/// was killed.
fn kill_at_random(args: &[&str], rng: &mut Rng, run_ms: usize) -> bool {
    let run_ms = run_ms.max(10);
    let at = if rng.below(2) == 0 { rng.below(run_ms) } else { run_ms * 8 / 10 + rng.below(run_ms * 3 / 10) };
    let mut child = spawn(args);
    std::thread::sleep(Duration::from_millis(at as u64));
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        // Child::kill sends SIGKILL on Unix: no handler runs, nothing is flushed.
        child.kill().unwrap();
    }
    child.wait().unwrap();
    killed
}

#[test]
fn compaction_and_rollups_killed_at_random_moments_recover_with_every_event_once() {
    let Some(python) = test_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let compact = ["compact", "--lake", lake_arg, "--grace-minutes", "0"];
    let mut rng = Rng(0x6b111);
    let (mut staged, mut killed) = (0u64, 0);
    const KILLS: usize = 16;
    for round in 0..KILLS {
        if round % 4 == 0 {
            staged += stage(&lake, staged as usize / 50, 60) as u64;
        }
        // A run on a copy says how long one lasts now: the kill lands anywhere in it.
        let copy = dir.path().join(format!("copy-{round}"));
        copy_dir(&lake, &copy);
        let started = std::time::Instant::now();
        loglake(&["compact", "--lake", copy.to_str().unwrap(), "--grace-minutes", "0"]);
        let run_ms = started.elapsed().as_millis() as usize;
        std::fs::remove_dir_all(&copy).unwrap();
        killed += kill_at_random(&compact, &mut rng, run_ms) as usize;
        // What time does to a killed run's lease: it lapses, and the next run may take it.
        let _ = std::fs::remove_file(lake.join(COMPACTION_LEASE_KEY));
        assert_eq!(view_counts(&lake, &python), (staged, staged), "after kill {round}: every event once");
    }
    loglake(&compact);
    assert_eq!(view_counts(&lake, &python), (staged, staged), "after the last run");
    let state = std::fs::read_to_string(lake.join("_loglake/compaction/state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let consumed = state["consumed"].as_object().map_or(0, |c| c.len());
    let staging_left =
        keys_under(&lake, "staging").iter().filter(|key| state["consumed"].get(key.as_str()).is_none()).count();
    assert_eq!(staging_left, 0, "every staging file consumed ({consumed} consumed)");

    // Rollups: a copy of the lake rolled up without a kill is what the killed one must reach.
    let calm = dir.path().join("calm");
    copy_dir(&lake, &calm);
    let started = std::time::Instant::now();
    loglake(&["rollup", "--lake", calm.to_str().unwrap()]);
    let rollup_ms = started.elapsed().as_millis() as usize;
    let mut rollups_killed = 0;
    for _ in 0..8 {
        rollups_killed += kill_at_random(&["rollup", "--lake", lake_arg], &mut rng, rollup_ms) as usize;
        // Every summary written is whole (one rename each): pyarrow reads them all.
        summaries(&lake, &python);
    }
    loglake(&["rollup", "--lake", lake_arg]);
    assert_eq!(summaries(&lake, &python), summaries(&calm, &python), "the summaries of runs never killed");
    println!(
        "{staged} events; compaction killed {killed} of {KILLS} times (the state reached run {}), rollups {rollups_killed} of 8; every view after a kill held each event once",
        state["next_run"]
    );
    assert!(killed >= KILLS / 4 && rollups_killed > 0, "the kills landed mid-run");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
