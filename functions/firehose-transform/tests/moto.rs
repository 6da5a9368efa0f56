//! The transform against a real S3 API (moto in server mode, through the real aws-sdk-s3
//! client): a batch whose output cannot all go back through the response — records across an
//! hour, and more rows than fit in 6 MB — is delivered once, partly in the response and partly as
//! staging Parquet that pyarrow reads back.
//!
//! Needs `AWS_ENDPOINT_URL` (moto) and `LOGLAKE_TEST_PYTHON` (pyarrow); scripts/test.sh sets both.

use base64::Engine as _;
use firehose_transform::{Config, State, handle_at};
use loglake::decode::subscription::gzip;
use loglake::ingest::firehose::{FirehoseEvent, ResultStatus, TransformOptions};
use loglake::lake::storage::{S3Store, load_aws_config};
use loglake::testing::{integration_python, read_bucket_with_pyarrow, unique_bucket};
use serde_json::{Value, json};

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z

fn payload(prefix: &str, n: usize, start_ms: i64) -> (String, Vec<String>) {
    let events: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("{prefix}-{i:05}"), "timestamp": start_ms + i as i64 * 10, "message": format!("{{\"level\":\"info\",\"msg\":\"{prefix} {i} {}\"}}", "y".repeat(150))}))
        .collect();
    let ids = events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let body = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/ecs/web",
        "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events});
    (base64::engine::general_purpose::STANDARD.encode(gzip(body.to_string().as_bytes())), ids)
}

#[tokio::test]
async fn overflow_and_hour_crossing_records_land_in_s3_once() {
    let Some(python) = integration_python() else { return };
    let bucket = unique_bucket("firehose");
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.clone()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let s3 = S3Store::new(&load_aws_config().await, &bucket, config.force_path_style);
    s3.client().create_bucket().bucket(&bucket).send().await.expect("create bucket in moto");
    let state = State::from_config(config).await;

    let mut records = Vec::new();
    let mut expected = Vec::new();
    for r in 0..30 {
        // Record 0 starts 5 s before the hour and its 12 s of events cross it; the rest are in hour 10.
        let start = if r == 0 { 1_795_168_795_000 } else { NOW - 60_000 };
        let (data, ids) = payload(&format!("r{r:02}"), 1200, start);
        expected.extend(ids);
        records.push(json!({"recordId": format!("rec-{r:02}"), "approximateArrivalTimestamp": NOW, "data": data}));
    }
    expected.sort();
    let event: FirehoseEvent = serde_json::from_value(json!({
        "invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/web",
        "region": "us-east-1", "records": records
    }))
    .unwrap();

    let (response, report) = handle_at(&state, &event, NOW, &TransformOptions::default()).await.unwrap();
    assert!(serde_json::to_vec(&response).unwrap().len() <= 6 * 1024 * 1024);
    assert_eq!(response.records[0].result, ResultStatus::Dropped, "crosses the hour: written to staging");
    assert!(report.written_to_staging > 1, "the response filled up: {report:?}");

    let mut ids: Vec<String> = read_bucket_with_pyarrow(&s3, &python)
        .await
        .iter()
        .map(|row| row["event_id"].as_str().unwrap().to_owned())
        .collect();
    for result in response.records.iter().filter(|r| r.result == ResultStatus::Ok) {
        let rows = base64::engine::general_purpose::STANDARD.decode(&result.data).unwrap();
        for line in String::from_utf8(rows).unwrap().lines() {
            ids.push(serde_json::from_str::<Value>(line).unwrap()["event_id"].as_str().unwrap().to_owned());
        }
    }
    ids.sort();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(ids, expected, "every line once, through the response or S3");
}
