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
use loglake::lake::layout::{COMPACTION_LEASE_KEY, COMPACTION_READING_KEY};
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

/// Events readers see once, plus those in files compaction set aside; panics if readers see one
/// twice. A run killed while it reads an input file alone (after a killed run, its hours are
/// suspect: loglake::compact::probe) names that file; a file two runs in a row were killed on is
/// set aside, as a file that ends the process would be. Rare here, and allowed: such a file is in
/// `errors/compaction/` with its reason, its events counted from there.
fn seen_once(lake: &Path, python: &str) -> u64 {
    let (rows, distinct) = view_counts(lake, python);
    assert_eq!(rows, distinct, "an event seen twice");
    let aside: Vec<String> =
        keys_under(lake, "errors/compaction").into_iter().filter(|k| k.ends_with(".parquet")).collect();
    if aside.is_empty() {
        return rows;
    }
    for key in &aside {
        let note: serde_json::Value =
            serde_json::from_slice(&std::fs::read(lake.join(format!("{key}.json"))).unwrap()).unwrap();
        assert!(note["reason"].as_str().unwrap().contains("compaction runs stopped while reading"), "{note}");
    }
    let count = "import sys, pyarrow.parquet as pq; print(sum(pq.read_metadata(p).num_rows for p in sys.argv[1:]))";
    let out = Command::new(python).args(["-c", count]).args(aside.iter().map(|k| lake.join(k))).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    rows + String::from_utf8_lossy(&out.stdout).trim().parse::<u64>().unwrap()
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
        assert_eq!(seen_once(&lake, &python), staged, "after kill {round}: every event once");
    }
    loglake(&compact);
    assert_eq!(seen_once(&lake, &python), staged, "after the last run");
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
        "{staged} events; compaction killed {killed} of {KILLS} times (the state reached run {}), rollups {rollups_killed} of 8; every view after a kill held each event once; {} files set aside",
        state["next_run"],
        keys_under(&lake, "errors/compaction").len() / 2
    );
    assert!(killed >= KILLS / 4 && rollups_killed > 0, "the kills landed mid-run");
}

/// A staging file whose reading panics inside arrow-buffer (found by the staging_parquet fuzz
/// target). In `loglake compact`, as in the compactor function, a panic ends the process: the run
/// stops without a word. The hour it was merging is then suspect; the next runs read its files
/// alone, naming each in `_loglake/compaction/reading.json` first, and die on the same file; once
/// two have, the next sets it aside and compacts the rest. (Old code: every run died.)
#[test]
fn a_file_that_ends_the_compaction_process_is_set_aside_once_two_runs_died_reading_it() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let staged = stage(&lake, 0, 6) as u64;
    let first = keys_under(&lake, "staging").into_iter().next().unwrap();
    let damaged = format!("{}/zz-damaged.parquet", first.rsplit_once('/').unwrap().0);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/fixtures/panics-arrow-buffer.parquet");
    std::fs::copy(fixture, lake.join(&damaged)).unwrap();
    let compact = ["compact", "--lake", lake.to_str().unwrap(), "--grace-minutes", "0"];
    let reading = |lake: &Path| -> Option<serde_json::Value> {
        let text = std::fs::read(lake.join(COMPACTION_READING_KEY)).ok()?;
        Some(serde_json::from_slice(&text).unwrap())
    };
    // The first run dies merging; the next two die reading the file alone.
    for attempts in [None, Some(1), Some(2)] {
        let status = Command::new(env!("CARGO_BIN_EXE_loglake")).args(compact).stderr(Stdio::null()).status().unwrap();
        assert_eq!(status.signal(), Some(6), "the run ended by SIGABRT ({status:?})");
        let named = reading(&lake).map(|r| (r["key"].as_str().unwrap().to_owned(), r["attempts"].as_u64().unwrap()));
        assert_eq!(named, attempts.map(|n| (damaged.clone(), n)), "what the run was reading when it died");
        // What time does to a dead run's lease: it lapses.
        std::fs::remove_file(lake.join(COMPACTION_LEASE_KEY)).unwrap();
    }
    let record: serde_json::Value = serde_json::from_str(&loglake(&compact)).unwrap();
    assert_eq!(record["set_aside"].as_array().unwrap().len(), 1, "{record}");
    assert_eq!(record["set_aside"][0]["key"], damaged.as_str());
    let reason = record["set_aside"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("2 compaction runs stopped while reading this file alone"), "{reason}");
    assert!(record["failed_hours"].is_null(), "{record}");
    assert!(reading(&lake).is_none(), "nothing left being read");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("_loglake/compaction/state.json")).unwrap()).unwrap();
    assert_eq!(state["suspect_hours"], serde_json::json!([]), "{state}");
    assert!(keys_under(&lake, "staging").is_empty(), "every staging file consumed");
    if let Some(python) = test_python() {
        assert_eq!(view_counts(&lake, &python), (staged, staged), "every event of the other files once");
    }
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
