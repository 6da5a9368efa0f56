//! The handler on a genuine Kinesis batch, against a real S3 API. scripts/moto_kinesis_batch.py
//! makes the batch in moto (server mode, 127.0.0.1): a CloudWatch Logs subscription forwarding to
//! the stream, a Fluent Bit record and a KPL record, read back from the shard. The handler writes
//! through the real aws-sdk-s3 client; pyarrow reads the bucket back record by record.
//!
//! Needs `AWS_ENDPOINT_URL` (moto) and `LOGLAKE_TEST_PYTHON` (a Python with boto3, pyarrow and
//! aws-kinesis-agg); scripts/test.sh sets both.

use std::collections::BTreeMap;

use ingest_kinesis::{Config, State, handle_at};
use loglake::function::now_ms;
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent};
use loglake::lake::storage::{FailAfter, ObjectStore, S3Store, load_aws_config};
use loglake::testing::{integration_python, read_bucket_with_pyarrow, repo_root, unique_bucket};
use serde_json::Value;

struct MotoBatch {
    event: KinesisEvent,
    log_group: String,
    cloudwatch_messages: Vec<String>,
    /// event id → message, for the records the producers put.
    lines: BTreeMap<String, String>,
}

fn moto_batch(python: &str, stream: &str) -> MotoBatch {
    let out = std::process::Command::new(python)
        .arg(repo_root().join("scripts/moto_kinesis_batch.py"))
        .arg(stream)
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    MotoBatch {
        event: serde_json::from_value(made["event"].clone()).unwrap(),
        log_group: made["log_group"].as_str().unwrap().to_owned(),
        cloudwatch_messages: made["cloudwatch_messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect(),
        lines: made["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["event_id"].as_str().unwrap().to_owned(), l["message"].as_str().unwrap().to_owned()))
            .collect(),
    }
}

/// The production configuration path, with the bucket of this test, and that bucket created.
async fn state_and_bucket(bucket: &str) -> (State, S3Store) {
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.to_owned()),
        other => std::env::var(other).ok(),
    })
    .expect("configuration");
    let s3 = S3Store::new(&load_aws_config().await, bucket, config.force_path_style);
    s3.client().create_bucket().bucket(bucket).send().await.expect("create bucket in moto");
    (State::from_config(config).await, s3)
}

/// Every row once: CloudWatch events by message (their ids are CloudWatch's), producer lines by id.
fn assert_every_record_once(rows: &[Value], batch: &MotoBatch) {
    assert_eq!(rows.len(), batch.cloudwatch_messages.len() + batch.lines.len(), "every record exactly once");
    let mut ids: Vec<&str> = rows.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "no event id twice");
    let mut cloudwatch: Vec<&str> = rows
        .iter()
        .filter(|r| r["log_group"] == batch.log_group.as_str())
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    cloudwatch.sort();
    let mut sent: Vec<&str> = batch.cloudwatch_messages.iter().map(String::as_str).collect();
    sent.sort();
    assert_eq!(cloudwatch, sent);
    for (id, message) in &batch.lines {
        let row = rows.iter().find(|r| r["event_id"] == id.as_str()).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(row["message"].as_str().unwrap(), message, "{id}");
    }
    assert!(rows.iter().all(|r| r["source"] == "kinesis"));
}

#[tokio::test]
async fn a_genuine_batch_lands_in_s3_once_and_pyarrow_reads_it_back() {
    let Some(python) = integration_python() else { return };
    let bucket = unique_bucket("kinesis");
    let batch = moto_batch(&python, &bucket);
    assert_eq!(batch.event.records.len(), 3, "a forwarded CloudWatch payload, a Fluent Bit record, a KPL record");
    let (state, s3) = state_and_bucket(&bucket).await;

    let report = handle_at(&state, &batch.event, now_ms(), &BatchOptions::default()).await;
    assert_eq!(report.retry_from, None);
    assert_eq!(report.ingest.dead_letters, vec![]);
    assert_eq!(report.ingest.records, batch.cloudwatch_messages.len() + batch.lines.len());
    let keys = s3.list("").await.unwrap();

    // Lambda may deliver the batch again: nothing is added.
    handle_at(&state, &batch.event, now_ms(), &BatchOptions::default()).await;
    assert_eq!(s3.list("").await.unwrap(), keys);

    let rows = read_bucket_with_pyarrow(&s3, &python).await;
    assert_every_record_once(&rows, &batch);
    let agent = rows.iter().find(|r| r["message"] == "GET /healthz 200\n").unwrap();
    assert_eq!(agent["attributes"]["kubernetes.pod_name"], "web-1");
    let forwarded = rows.iter().find(|r| r["message"].as_str().unwrap().contains("payment declined")).unwrap();
    assert_eq!(forwarded["level"], "ERROR");
}

/// The proof against the real S3 API: S3 fails after each possible number of writes,
/// Lambda retries from the reported sequence number, and the bucket holds every record once.
#[tokio::test]
async fn a_storage_failure_half_way_is_retried_without_duplicates_in_s3() {
    let Some(python) = integration_python() else { return };
    let stream = unique_bucket("kinesis-retry");
    let batch = moto_batch(&python, &stream);
    // Small windows: every record is its own window, so the batch makes several writes.
    let options = BatchOptions { window_decoded_bytes: 1, ..BatchOptions::default() };
    for allowed in 0..3 {
        let bucket = format!("{stream}-{allowed}");
        let (state, s3) = state_and_bucket(&bucket).await;
        let failing = State { pipeline: state.pipeline.clone(), store: Box::new(FailAfter::new(s3.clone(), allowed)) };
        let report = handle_at(&failing, &batch.event, now_ms(), &options).await;
        let retry = report.retry_from.clone().expect("a write failed");
        assert_eq!(report.response().batch_item_failures[0].item_identifier, retry.sequence_number);
        assert_eq!(s3.list("").await.unwrap().len(), allowed, "the writes before the failure landed");

        let rest = KinesisEvent {
            records: batch
                .event
                .records
                .iter()
                .skip_while(|r| r.kinesis.sequence_number != retry.sequence_number)
                .cloned()
                .collect(),
        };
        assert_eq!(handle_at(&state, &rest, now_ms(), &options).await.retry_from, None);
        assert_every_record_once(&read_bucket_with_pyarrow(&s3, &python).await, &batch);
    }
}

#[tokio::test]
async fn a_missing_bucket_reports_the_first_record_for_retry() {
    let Some(python) = integration_python() else { return };
    let stream = unique_bucket("kinesis-missing");
    let batch = moto_batch(&python, &stream);
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(format!("{stream}-never-created")),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let state = State::from_config(config).await;
    let report = handle_at(&state, &batch.event, now_ms(), &BatchOptions::default()).await;
    let retry = report.retry_from.unwrap();
    assert_eq!(retry.sequence_number, batch.event.records[0].kinesis.sequence_number);
    assert_eq!(retry.error_type, "Loglake.StorageError");
    assert!(retry.reason.contains("NoSuchBucket"), "{}", retry.reason);
    assert_eq!(retry.records_not_written, batch.event.records.len());
}

/// Compaction through the real S3 client: the staging objects of a genuine batch become curated
/// files, the consumed objects are deleted, and pyarrow reads every record once from `logs/`.
#[tokio::test]
async fn compaction_in_s3_moves_every_record_to_curated_files_once() {
    let Some(python) = integration_python() else { return };
    let bucket = unique_bucket("compact");
    let batch = moto_batch(&python, &bucket);
    let (state, s3) = state_and_bucket(&bucket).await;
    handle_at(&state, &batch.event, now_ms(), &BatchOptions::default()).await;
    let spill = tempfile::tempdir().unwrap();
    let options = loglake::compact::run::CompactOptions::for_local_lake(now_ms() + 1_000, "test");
    let record = loglake::compact::run::compact(&s3, &loglake::compact::view::local_readers(), &options, spill.path())
        .await
        .unwrap();
    assert_eq!(record.rows_out, batch.cloudwatch_messages.len() + batch.lines.len());
    assert!(s3.list("staging/").await.unwrap().is_empty(), "consumed objects deleted");
    assert!(s3.list("_loglake/compaction/runs/").await.unwrap().len() == 1);
    let rows = loglake::testing::read_bucket_table_with_pyarrow(&s3, &python, "logs").await;
    assert_every_record_once(&rows, &batch);
    // One file per hour here: within each, rows come back in event-time order.
    let mut by_hour: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for row in &rows {
        let hour = (row["dt"].as_str().unwrap().to_owned(), row["hour"].as_str().unwrap().to_owned());
        by_hour.entry(hour).or_default().push(row["event_time"].as_i64().unwrap());
    }
    assert_eq!(by_hour.len(), record.files_out);
    assert!(by_hour.values().all(|times| times.windows(2).all(|w| w[0] <= w[1])), "sorted by event time");
}
