//! Firehose transformation end to end: every record gets one result (Ok with `logs` rows as
//! NDJSON and partition keys, Dropped, ProcessingFailed), and output that cannot go through the
//! response — several partitions, or more than fits in 6 MB — lands in staging instead, so every
//! line is delivered exactly once.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::{cloudwatch_payload, control_payload, lake_rows};
use loglake::config::PipelineConfig;
use loglake::decode::subscription::gzip;
use loglake::ingest::firehose::{FirehoseEvent, FirehoseResponse, ResultStatus, TransformOptions, transform_batch};
use loglake::lake::layout::Partition;
use loglake::lake::storage::{FailAfter, LocalStore, ObjectStore};
use serde_json::{Value, json};

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z
const STREAM_ARN: &str = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/app-logs";
const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn record(id: &str, data: String) -> Value {
    json!({"recordId": id, "approximateArrivalTimestamp": NOW - 60_000, "data": data})
}

fn batch(records: Vec<Value>) -> FirehoseEvent {
    serde_json::from_value(json!({
        "invocationId": "inv-1", "deliveryStreamArn": STREAM_ARN, "region": "eu-west-1", "records": records
    }))
    .unwrap()
}

fn config() -> PipelineConfig {
    PipelineConfig { region: "eu-west-1".into(), ..PipelineConfig::default() }
}

/// The rows of every `Ok` result, with the partition keys it was given.
fn delivered_rows(response: &FirehoseResponse) -> Vec<(Value, Option<(String, String)>)> {
    let mut rows = Vec::new();
    for result in response.records.iter().filter(|r| r.result == ResultStatus::Ok) {
        let keys = result.metadata.as_ref().map(|m| (m.partition_keys.dt.clone(), m.partition_keys.hour.clone()));
        for line in String::from_utf8(unb64(&result.data)).unwrap().lines() {
            rows.push((serde_json::from_str::<Value>(line).unwrap(), keys.clone()));
        }
    }
    rows
}

/// Event ids delivered through the response and through staging, together, sorted.
async fn all_ids(response: &FirehoseResponse, store: &LocalStore) -> Vec<String> {
    let mut ids: Vec<String> =
        delivered_rows(response).iter().map(|(row, _)| row["event_id"].as_str().unwrap().to_owned()).collect();
    ids.extend(lake_rows(store).await.into_iter().map(|row| row.event_id));
    ids.sort();
    ids
}

fn events(prefix: &str, n: usize, start_ms: i64, message_len: usize) -> Vec<(String, i64, String)> {
    (0..n)
        .map(|i| {
            let message = format!("{{\"level\":\"info\",\"msg\":\"{prefix} {i} {}\"}}", "x".repeat(message_len));
            (format!("{prefix}-{i:05}"), start_ms + i as i64, message)
        })
        .collect()
}

#[tokio::test]
async fn every_record_gets_one_result_and_every_line_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let one_hour = events("cw", 3, NOW - 10_000, 5);
    let two_hours = vec![
        ("edge-a".to_owned(), 1_795_168_799_000, "09:59:59 line".to_owned()),
        ("edge-b".to_owned(), 1_795_168_801_000, "10:00:01 line".to_owned()),
    ];
    let agent = concat!(
        r#"{"log":"GET / 200\n","stream":"stdout","time":"2026-11-20T10:00:05Z"}"#,
        "\n",
        r#"{"log":"GET /x 404\n","stream":"stdout","time":"2026-11-20T10:00:06Z"}"#,
        "\n"
    );
    let truncated = gzip(b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}");
    let event = batch(vec![
        record("r1", cloudwatch_payload("/aws/lambda/orders", &one_hour)),
        record("r2", control_payload(NOW)),
        record("r3", b64(agent.as_bytes())),
        record("r4", cloudwatch_payload("/aws/lambda/orders", &two_hours)),
        record("r5", b64(&[0xff, 0xfe, 0, 1])),
        record("r6", String::new()),
        record("r7", "not base64 !!!".into()),
        record("r8", b64(&truncated[..truncated.len() / 2])),
        record("r9", b64(b"a plain text line\n")),
    ]);
    let (response, report) =
        transform_batch(&event, &config(), NOW, &store, &TransformOptions::default()).await.unwrap();

    let results: Vec<(&str, ResultStatus)> =
        response.records.iter().map(|r| (r.record_id.as_str(), r.result)).collect();
    use ResultStatus::*;
    assert_eq!(
        results,
        [
            ("r1", Ok),
            ("r2", Dropped),
            ("r3", Ok),
            ("r4", Dropped),
            ("r5", ProcessingFailed),
            ("r6", ProcessingFailed),
            ("r7", ProcessingFailed),
            ("r8", ProcessingFailed),
            ("r9", Ok)
        ]
    );
    assert_eq!((report.ok, report.dropped, report.processing_failed, report.written_to_staging), (3, 2, 4, 1));
    // The failed records are dead-lettered with their reason, and given back for Firehose's error prefix.
    let kinds: Vec<&str> = report.ingest.dead_letters.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, ["binary_record", "empty_record", "invalid_base64", "corrupt_gzip"]);
    assert_eq!(response.records[4].data, event.records[4].data);
    let letter: Value = serde_json::from_slice(&store.get(&report.ingest.dead_letters[0].key).await.unwrap()).unwrap();
    assert_eq!((letter["origin"]["record_id"].as_str(), letter["source"].as_str()), (Some("r5"), Some("firehose")));

    // Ok rows have exactly the columns of the logs table, and the partition keys of their time.
    let columns: Vec<String> = loglake::lake::schema::hive_columns().into_iter().map(|(name, _)| name).collect();
    let rows = delivered_rows(&response);
    for (row, keys) in &rows {
        let mut names: Vec<&String> = row.as_object().unwrap().keys().collect();
        let mut expected: Vec<&String> = columns.iter().collect();
        names.sort();
        expected.sort();
        assert_eq!(names, expected);
        let partition = Partition::of(row["event_time"].as_i64().unwrap(), chrono_tz::UTC);
        assert_eq!(keys.clone(), Some((partition.dt(), partition.hour())));
        assert_eq!(row["source"], "firehose");
    }
    let agent_row = rows.iter().find(|(r, _)| r["message"] == "GET / 200\n").unwrap();
    assert_eq!(agent_row.0["attributes"]["stream"], "stdout");
    assert_eq!(agent_row.0["event_id"], "app-logs:r3:0");
    assert_eq!(agent_row.0["log_group"], "app-logs");

    // Every line once, through the response or staging; the two-hour payload is in two objects.
    let mut expected: Vec<String> = one_hour.iter().chain(&two_hours).map(|e| e.0.clone()).collect();
    expected.extend(["app-logs:r3:0".into(), "app-logs:r3:1".into(), "app-logs:r9:0".into()]);
    expected.sort();
    assert_eq!(all_ids(&response, &store).await, expected);
    assert_eq!(store.list("staging/").await.unwrap().len(), 2);
}

/// The issue's over-6-MB case: CloudWatch payloads whose lines, as JSON rows, come to far more
/// than a Lambda response may hold.
fn oversized_batch() -> (FirehoseEvent, Vec<String>) {
    let mut records = Vec::new();
    let mut ids = Vec::new();
    for r in 0..40 {
        let evs = events(&format!("p{r:02}"), 1500, NOW - 30_000, 120);
        ids.extend(evs.iter().map(|e| e.0.clone()));
        records.push(record(&format!("rec-{r:02}"), cloudwatch_payload("/aws/ecs/big", &evs)));
    }
    ids.sort();
    (batch(records), ids)
}

#[tokio::test]
async fn output_larger_than_a_lambda_response_is_split_between_response_and_staging() {
    let (event, ids) = oversized_batch();
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let (response, report) =
        transform_batch(&event, &config(), NOW, &store, &TransformOptions::default()).await.unwrap();
    let json = serde_json::to_vec(&response).unwrap();
    let delivered: usize = delivered_rows(&response).len();
    assert!(report.ingest.decompressed_bytes > LAMBDA_RESPONSE_LIMIT, "the input inflates past 6 MB");
    assert!(json.len() <= LAMBDA_RESPONSE_LIMIT, "response of {} bytes", json.len());
    assert_eq!(report.response_bytes, json.len());
    assert!(
        report.ok > 0 && report.written_to_staging > 0,
        "{} ok, {} to staging",
        report.ok,
        report.written_to_staging
    );
    assert_eq!(report.processing_failed, 0);
    assert_eq!(response.records.len(), event.records.len());
    assert!(delivered > 0);
    assert_eq!(all_ids(&response, &store).await, ids, "every line once, through the response or staging");
}

#[tokio::test]
async fn a_failed_staging_write_fails_the_invocation_and_the_retry_delivers_every_line_once() {
    let (event, ids) = oversized_batch();
    let dir = tempfile::tempdir().unwrap();
    let failing = FailAfter::new(LocalStore::new(dir.path()), 0);
    let error = transform_batch(&event, &config(), NOW, &failing, &TransformOptions::default()).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");

    // Firehose retries the invocation with the same records.
    let store = LocalStore::new(dir.path());
    let (response, _) = transform_batch(&event, &config(), NOW, &store, &TransformOptions::default()).await.unwrap();
    assert_eq!(all_ids(&response, &store).await, ids);
    // And a second retry (say, the response was lost) rewrites the same objects.
    let keys = store.list("").await.unwrap();
    transform_batch(&event, &config(), NOW, &store, &TransformOptions::default()).await.unwrap();
    assert_eq!(store.list("").await.unwrap(), keys);
}

#[tokio::test]
async fn event_ids_come_from_kinesis_metadata_when_firehose_reads_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let mut from_stream = record("r1", b64(b"one\n"));
    from_stream["kinesisRecordMetadata"] = json!({
        "shardId": "shardId-000000000003", "partitionKey": "pk-1", "approximateArrivalTimestamp": NOW,
        "sequenceNumber": "49590338271490256608559692538361571095921575989136588898", "subsequenceNumber": 0
    });
    let mut from_kpl = from_stream.clone();
    from_kpl["recordId"] = json!("r2");
    from_kpl["kinesisRecordMetadata"]["subsequenceNumber"] = json!("2");
    let event = batch(vec![from_stream, from_kpl, record("r3", b64(b"three\n"))]);
    let (response, _) = transform_batch(&event, &config(), NOW, &store, &TransformOptions::default()).await.unwrap();
    let rows: BTreeMap<String, String> = delivered_rows(&response)
        .into_iter()
        .map(|(row, _)| (row["event_id"].as_str().unwrap().to_owned(), row["log_stream"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        rows,
        BTreeMap::from([
            ("shardId-000000000003:49590338271490256608559692538361571095921575989136588898:0".into(), "pk-1".into()),
            ("shardId-000000000003:49590338271490256608559692538361571095921575989136588898.2:0".into(), "pk-1".into()),
            ("app-logs:r3:0".into(), "".into()),
        ])
    );
}
