//! `loglake query`, `rollup` and `cost` as a user runs them, on the lake the demo writes: results
//! and what they cost, and clear errors (never a panic) for bad SQL, queries and windows.

use std::process::{Command, Output};

fn loglake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loglake")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn query_rollup_and_cost_work_on_the_demo_lake_and_refuse_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.to_str().unwrap();
    let demo = loglake(&["demo", "--lake", lake]);
    assert!(demo.status.success(), "{}", text(&demo.stderr));
    assert!(text(&demo.stdout).contains("bytes each rollup scans:"));

    let out = loglake(&[
        "query",
        "--lake",
        lake,
        // Lambda's REPORT lines, by their typed column (compacted rows hold it there only).
        "SELECT format, count(*) AS n FROM lambda_logs_all WHERE lambda_event = 'report' GROUP BY format",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("| lambda |") && stdout.contains("1 rows in") && stdout.contains("on Athena $"),
        "{stdout}"
    );

    let out = loglake(&["query", "--lake", lake, "SELECT no_such_column FROM logs_all"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("loglake: planning:") && !stderr.contains("panicked"), "{stderr}");

    let out = loglake(&["rollup", "--lake", lake, "--query", "errors; DROP TABLE logs"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("shipped: errors_by_group_hourly"), "{}", text(&out.stderr));
    let out = loglake(&["rollup", "--lake", lake, "--query", "errors_by_group_hourly", "--window", "2026-11-20T25"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--window"), "{}", text(&out.stderr));
    let out = loglake(&["rollup", "--lake", lake, "--query", "vpc_rejects_daily", "--window", "2026-11-20T10"]);
    assert!(out.status.success(), "an hour names its day for a daily query: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("summaries/vpc_rejects_daily/dt=2026-11-20/part-00000.parquet"));

    let out = loglake(&["cost", "--lake", lake]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in [
        "errors_by_group_hourly",
        "lambda_reports_hourly",
        "http_requests_hourly",
        "vpc_top_talkers_hourly",
        "vpc_rejects_daily",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name} missing: {stdout}");
    }

    let out = loglake(&["schema", "--table", "summaries", "--bucket", "my-lake"]);
    let ddl = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ddl.matches("CREATE EXTERNAL TABLE").count(), 5, "{ddl}");
    assert!(ddl.contains("'storage.location.template'='s3://my-lake/summaries/vpc_rejects_daily/dt=${dt}/'"), "{ddl}");
    assert!(ddl.contains("PARTITIONED BY (`dt` string, `hour` string)\nSTORED AS PARQUET\nLOCATION 's3://my-lake/summaries/errors_by_group_hourly/'"), "{ddl}");
    let out = loglake(&["schema", "--table", "summaries", "--bucket", "x'; DROP"]);
    assert!(!out.status.success() && text(&out.stderr).contains("not a valid S3 bucket name"));

    let out = loglake(&["query", "--lake", &format!("{lake}/does-not-exist"), "SELECT 1"]);
    assert!(!out.status.success() && text(&out.stderr).starts_with("loglake: "), "{}", text(&out.stderr));
}
