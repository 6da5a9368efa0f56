//! `loglake compact --lake DIR`: the staging files written by `invoke` become curated files, and
//! the record of the run says what happened.

use std::path::Path;
use std::process::Command;

#[test]
fn compact_turns_staging_into_curated_files_and_reports_the_run() {
    let lake = tempfile::tempdir().unwrap();
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/ingest-kinesis");
    let invoke = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["invoke", "ingest-kinesis", "--event"])
        .arg(&events)
        .arg("--lake")
        .arg(lake.path())
        .output()
        .unwrap();
    assert!(invoke.status.success(), "{}", String::from_utf8_lossy(&invoke.stderr));
    let compact = |lake: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_loglake")).args(["compact", "--lake"]).arg(lake).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (record, progress) = compact(lake.path());
    assert_eq!(record["rows_in"], 21);
    assert_eq!(record["rows_out"], 21);
    assert!(record["files_out"].as_u64().unwrap() >= 2, "{record}");
    assert!(progress.contains("compacted dt=2026-11-20/hour=10"), "{progress}");
    assert!(lake.path().join("logs/dt=2026-11-20/hour=10").is_dir());
    assert!(!lake.path().join("staging/logs/dt=2026-11-20/hour=10").read_dir().unwrap().any(|e| e.is_ok()));
    assert!(lake.path().join("errors/kinesis").read_dir().unwrap().count() == 4, "errors/ untouched");
    // Nothing new: nothing to do.
    let (again, _) = compact(lake.path());
    assert_eq!(again["files_out"], 0);

    // Another process at work (its lease held, its spill files in use): this one does nothing
    // and leaves them alone.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let lease = serde_json::json!({"holder": "cli-other", "expires_ms": now_ms + 600_000});
    std::fs::write(lake.path().join("_loglake/compaction/lease.json"), lease.to_string()).unwrap();
    let spill = lake.path().join("_loglake/spill/run-in-progress");
    std::fs::create_dir_all(spill.parent().unwrap()).unwrap();
    std::fs::write(&spill, b"sorted run").unwrap();
    let (skipped, said) = compact(lake.path());
    assert!(skipped["skipped"].as_str().unwrap().contains("cli-other"), "{skipped}");
    assert!(said.contains("nothing done"), "{said}");
    assert!(spill.exists(), "the other process's spill files are left alone");
}
