//! `loglake invoke`: event files and directories, in order, one JSON response per event.

use std::path::Path;
use std::process::Command;

/// `loglake invoke FUNCTION --event EVENT --lake LAKE`, asserted to succeed; its stdout.
fn invoke(function: &str, event: &Path, lake: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["invoke", function, "--event"])
        .arg(event)
        .arg("--lake")
        .arg(lake)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/ingest-cloudwatch")
}

#[test]
fn invoke_runs_every_event_of_a_directory_in_name_order() {
    let lake = tempfile::tempdir().unwrap();
    let out = invoke("ingest-cloudwatch", &events_dir(), lake.path());
    let responses: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<String> = responses
        .iter()
        .map(|r| Path::new(r["event"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "control-message.json",
            "json-batch.json",
            "lambda-runtime-batch.json",
            "text-batch.json",
            "truncated-gzip.json"
        ]
    );
    assert_eq!(responses[0]["control_messages"], 1);
    assert_eq!(responses[1]["records"], 8);
    assert_eq!(responses[2]["records"], 13);
    // The sample's Python traceback arrives as two events: one record (multi-line joining).
    assert_eq!((responses[3]["records"].as_u64(), responses[3]["joined_lines"].as_u64()), (Some(9), Some(1)));
    assert_eq!(responses[4]["dead_letters"][0]["kind"], "corrupt_gzip");
    assert!(lake.path().join("staging/logs/dt=2026-11-20/hour=10").is_dir());
}

#[test]
fn invoke_ingest_kinesis_reports_each_batch_and_its_batch_item_failures() {
    let lake = tempfile::tempdir().unwrap();
    let out = invoke("ingest-kinesis", &events_dir().join("../ingest-kinesis"), lake.path());
    let responses: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary: Vec<(String, u64, usize)> = responses
        .iter()
        .map(|r| {
            let name = Path::new(r["event"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (name, r["records"].as_u64().unwrap(), r["dead_letters"].as_array().unwrap().len())
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("agent-batch.json".to_owned(), 6, 0),
            ("bad-records.json".into(), 2, 4),
            ("cloudwatch-via-kinesis.json".into(), 4, 0),
            ("kpl-batch.json".into(), 9, 0),
        ]
    );
    for response in &responses {
        assert_eq!(response["response"], serde_json::json!({"batchItemFailures": []}));
        assert!(response["retry_from"].is_null());
    }
    assert!(lake.path().join("errors/kinesis").is_dir());
}

#[test]
fn invoke_firehose_transform_returns_one_result_per_record() {
    let lake = tempfile::tempdir().unwrap();
    let out =
        invoke("firehose-transform", &events_dir().join("../firehose-transform/firehose-batch.json"), lake.path());
    let line: serde_json::Value = serde_json::from_str(&out).unwrap();
    let results: Vec<&str> =
        line["response"]["records"].as_array().unwrap().iter().map(|r| r["result"].as_str().unwrap()).collect();
    // A payload in one hour, a control message, a payload across the hour (to staging), Fluent
    // Bit lines, a plain line, a binary record.
    assert_eq!(results, ["Ok", "Dropped", "Dropped", "Ok", "Ok", "ProcessingFailed"]);
    assert_eq!(line["written_to_staging"], 1);
    assert_eq!(
        line["response"]["records"][0]["metadata"]["partitionKeys"],
        serde_json::json!({"dt": "2026-11-20", "hour": "10"})
    );
    assert!(lake.path().join("errors/firehose").is_dir());
    assert!(lake.path().join("staging/logs/dt=2026-11-20/hour=09").is_dir());
}

#[test]
fn invoke_reports_a_file_that_is_not_an_event_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let not_event = dir.path().join("not-an-event.json");
    std::fs::write(&not_event, br#"{"Records": []}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["invoke", "ingest-cloudwatch", "--event"])
        .arg(&not_event)
        .arg(events_dir().join("text-batch.json"))
        .arg("--lake")
        .arg(dir.path().join("lake"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["errorType"], "Loglake.InvalidEvent");
    assert!(lines[0]["errorMessage"].as_str().unwrap().contains("not a CloudWatch Logs subscription event"));
    assert_eq!(lines[1]["records"], 9, "the next event still runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 event(s) failed"));
}

#[test]
fn invoke_without_lake_or_bucket_names_the_missing_setting() {
    let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["invoke", "ingest-cloudwatch", "--event"])
        .arg(events_dir().join("text-batch.json"))
        .env_remove("LOGLAKE_BUCKET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LOGLAKE_BUCKET is not set"));
}
