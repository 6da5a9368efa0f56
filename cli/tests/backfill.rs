//! `loglake backfill` end to end: a log group in moto (server mode) into a local lake, with
//! progress lines, the saved position, and a second run that finds the backfill done.

use std::process::Command;

use log_subscriber::SdkLogs;
use loglake::lake::storage::load_aws_config;
use loglake::testing::{integration_python, read_lake_with_pyarrow, unique_bucket};

#[test]
fn a_bad_window_is_refused_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_loglake"))
        .args(["backfill", "--log-group", "/g", "--start", "yesterday", "--end", "0", "--lake", "/nonexistent"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--start \"yesterday\": expected RFC 3339"));
}

#[tokio::test]
async fn backfill_writes_the_history_shows_progress_and_resumes_as_done() {
    let Some(python) = integration_python() else { return };
    let group = format!("/{}/cli-backfill", unique_bucket("cli"));
    let api = SdkLogs::new(&load_aws_config().await);
    let client = api.client();
    client.create_log_group().log_group_name(&group).send().await.unwrap();
    client.create_log_stream().log_group_name(&group).log_stream_name("s").send().await.unwrap();
    let now = loglake::function::now_ms();
    let events: Vec<_> = (0..25)
        .map(|i| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now - 600_000 + i * 1000)
                .message(format!("line {i}"))
                .build()
                .unwrap()
        })
        .collect();
    client
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("s")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_loglake"))
            .args(["backfill", "--log-group", &group, "--page-size", "10"])
            .args(["--start", &(now - 3_600_000).to_string(), "--end", &now.to_string()])
            .arg("--lake")
            .arg(dir.path().join("lake"))
            .arg("--state")
            .arg(dir.path().join("state.json"))
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["events"].as_u64(), summary["pages"].as_u64(), summary["done"].as_bool()),
        (Some(25), Some(3), Some(true))
    );
    let progress = String::from_utf8_lossy(&out.stderr);
    assert_eq!(progress.lines().filter(|l| l.starts_with(&format!("backfill {group}:"))).count(), 3, "{progress}");
    assert!(progress.contains("100%"), "{progress}");
    let rows = read_lake_with_pyarrow(&dir.path().join("lake"), &python);
    assert_eq!(rows.len(), 25);

    let again = run();
    assert!(again.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["records_written"], 0, "the saved state says it is done");
}
