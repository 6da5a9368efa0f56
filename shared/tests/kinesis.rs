//! Kinesis batches end to end on a local lake: every kind of record data lands once, bad records
//! are dead-lettered with their origin, and a storage failure half-way is retried from a clean
//! cut without duplicating a record.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use common::{cloudwatch_payload, control_payload, lake_rows};
use loglake::config::PipelineConfig;
use loglake::config::RecordDataByStream;
use loglake::decode::subscription::gzip;
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, KinesisReport, ingest_kinesis_batch};
use loglake::lake::storage::{FailAfter, LocalStore, ObjectStore};
use serde_json::{Value, json};

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z
const SHARD: &str = "shardId-000000000001";
const STREAM_ARN: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/app-logs";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn seq(n: usize) -> String {
    format!("4959033827149025660855969253836157109592157598913{n:05}")
}

/// A record as the event source mapping delivers it; `data` is already base64.
fn record(n: usize, data: String, partition_key: &str) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": seq(n),
            "data": data, "approximateArrivalTimestamp": NOW as f64 / 1000.0 - 60.0
        },
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": format!("{SHARD}:{}", seq(n)),
        "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/loglake",
        "awsRegion": "eu-west-1", "eventSourceARN": STREAM_ARN
    })
}

fn batch(records: Vec<Value>) -> KinesisEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn kpl_fixture(name: &str) -> String {
    let fixtures: Value = serde_json::from_str(include_str!("fixtures/kpl.json")).unwrap();
    fixtures[name]["data"].as_str().unwrap().to_owned()
}

fn config() -> PipelineConfig {
    PipelineConfig { region: "eu-west-1".into(), ..PipelineConfig::default() }
}

async fn ingest(event: &KinesisEvent, store: &dyn ObjectStore, options: &BatchOptions) -> KinesisReport {
    ingest_kinesis_batch(event, &config(), NOW, store, options).await
}

fn id(n: usize, line: usize) -> String {
    format!("{SHARD}:{}:{line}", seq(n))
}

#[tokio::test]
async fn a_batch_mixing_every_kind_lands_once_and_bad_records_are_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let agent_lines = concat!(
        r#"{"log":"GET /healthz 200\n","stream":"stdout","time":"2026-11-20T10:00:00.5Z","kubernetes":{"pod_name":"web-1"}}"#,
        "\n",
        r#"{"log":"{\"level\":\"error\",\"msg\":\"boom\"}\n","stream":"stderr","time":"2026-11-20T10:00:01Z"}"#,
        "\n",
        r#"{"date":1795168802.0,"message":"Accepted publickey for ec2-user","ident":"sshd"}"#,
        "\n"
    );
    let kpl = kpl_fixture("mixed");
    let mut bad_kpl = base64::engine::general_purpose::STANDARD.decode(&kpl).unwrap();
    bad_kpl[10] ^= 0x20;
    let good_gzip = gzip(b"{\"messageType\":\"DATA_MESSAGE\"");
    let event = batch(vec![
        record(
            1,
            cloudwatch_payload("/aws/lambda/orders", &[("cw-1", NOW - 5_000, "one"), ("cw-2", NOW - 4_000, "two")]),
            "pk",
        ),
        record(2, control_payload(NOW), "pk"),
        record(3, b64(agent_lines.as_bytes()), "web-1"),
        record(4, kpl, "pod-a"),
        record(5, b64(b"plain text line\n"), "host-1"),
        record(6, "!!! not base64".into(), "pk"),
        record(7, b64(&[0xff, 0xfe, 0x00, 0x01]), "pk"),
        record(8, String::new(), "pk"),
        record(9, b64(&bad_kpl), "pk"),
        record(10, b64(&good_gzip[..good_gzip.len() - 6]), "pk"),
        record(11, b64(&gzip(b"hello")), "pk"),
        record(12, b64(b"after the bad ones\n"), "host-1"),
    ]);
    let report = ingest(&event, &store, &BatchOptions::default()).await;
    assert_eq!(report.retry_from, None);
    assert!(report.response().batch_item_failures.is_empty());
    assert_eq!((report.ingest.payloads, report.ingest.control_messages), (12, 1));

    let kinds: Vec<&str> = report.ingest.dead_letters.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        ["invalid_base64", "binary_record", "empty_record", "kpl_checksum", "corrupt_gzip", "invalid_json"]
    );
    for (letter, n) in report.ingest.dead_letters.iter().zip(6..) {
        let body: Value = serde_json::from_slice(&store.get(&letter.key).await.unwrap()).unwrap();
        assert_eq!(body["origin"]["shard_id"], SHARD);
        assert_eq!(body["origin"]["sequence_number"], seq(n).as_str());
        assert_eq!(body["origin"]["stream_arn"], STREAM_ARN);
        assert_eq!(body["raw"], event.records[n - 1].kinesis.data.as_str(), "the raw data is kept as received");
        assert_eq!(body["source"], "kinesis");
    }

    let rows = lake_rows(&store).await;
    let mut expected = vec![
        "cw-1".to_owned(),
        "cw-2".into(),
        id(3, 0),
        id(3, 1),
        id(3, 2),
        id(4, 0),
        id(4, 1),
        "1".into(), // the CloudWatch event inside the KPL record keeps its CloudWatch id
        id(4, 3),
        id(5, 0),
        id(12, 0),
    ];
    expected.sort();
    assert_eq!(rows.iter().map(|r| r.event_id.clone()).collect::<Vec<_>>(), expected, "every line once");
    assert_eq!(report.ingest.records, expected.len());
    assert!(rows.iter().all(|r| r.source == "kinesis" && r.region == "eu-west-1"));

    let row = |id: &str| rows.iter().find(|r| r.event_id == id).unwrap();
    let cw = row("cw-1");
    assert_eq!((cw.log_group.as_str(), cw.message.as_str(), cw.event_time), ("/aws/lambda/orders", "one", NOW - 5_000));
    let agent = row(&id(3, 0));
    assert_eq!(agent.message, "GET /healthz 200\n", "the application's line, unescaped");
    assert_eq!((agent.log_group.as_str(), agent.log_stream.as_str()), ("app-logs", "web-1"));
    assert_eq!(agent.event_time, 1_795_168_800_500, "the agent's time");
    assert_eq!(agent.attributes.get("stream").map(String::as_str), Some("stdout"));
    assert_eq!(agent.attributes.get("kubernetes.pod_name").map(String::as_str), Some("web-1"));
    let nested = row(&id(3, 1));
    assert_eq!(nested.level.as_deref(), Some("ERROR"), "the application's JSON line is parsed");
    assert_eq!(row(&id(3, 2)).attributes.get("ident").map(String::as_str), Some("sshd"));
    assert_eq!(row(&id(4, 1)).log_stream, "pod-b", "a KPL user record's own partition key");
    assert_eq!(row(&id(4, 3)).message, "unicode ✓ ünïcödé");
    let text = row(&id(5, 0));
    assert_eq!(
        (text.message.as_str(), text.format.as_str()),
        ("plain text line", "text"),
        "a line without its newline"
    );
    assert_eq!(text.account_id, "123456789012");
    assert_eq!(text.event_time, NOW - 60_000, "the arrival time stands in for the event time");

    // Everything is keyed by where it came from: the same batch again changes nothing.
    let keys = store.list("").await.unwrap();
    let again = ingest(&event, &store, &BatchOptions::default()).await;
    assert_eq!(again.ingest.records, report.ingest.records);
    assert_eq!(store.list("").await.unwrap(), keys);
}

/// A batch whose records straddle an hour: single lines on either side, records with lines in
/// both hours, a CloudWatch payload across the hour, control messages and bad records between.
fn straddling_batch() -> (KinesisEvent, Vec<String>) {
    let line = |time: &str, text: &str, n: usize| format!(r#"{{"time":"{time}","msg":"{text} {n}"}}"#);
    let before = "2026-11-20T09:59:58Z";
    let after = "2026-11-20T10:00:02Z";
    let mut records = Vec::new();
    let mut ids = Vec::new();
    for n in 1..=40 {
        let lines: Vec<String> = match n % 8 {
            0 => vec![line(after, "a", n), line(before, "b", n), line(after, "c", n)],
            1 | 2 => vec![line(before, "only", n)],
            3 => {
                let ts = |iso: &str| chrono::DateTime::parse_from_rfc3339(iso).unwrap().timestamp_millis();
                let (a, b) = (format!("cw-{n}-a"), format!("cw-{n}-b"));
                records.push(record(
                    n,
                    cloudwatch_payload("/g", &[(a.as_str(), ts(before), "x"), (b.as_str(), ts(after), "y")]),
                    "k",
                ));
                ids.extend([a, b]);
                continue;
            }
            4 => {
                records.push(record(n, if n % 16 == 4 { control_payload(NOW) } else { b64(&[0xff, 0]) }, "k"));
                continue;
            }
            _ => vec![line(after, "one", n), line(after, "two", n)],
        };
        ids.extend((0..lines.len()).map(|line| id(n, line)));
        records.push(record(n, b64(lines.join("\n").as_bytes()), "k"));
    }
    ids.sort();
    (batch(records), ids)
}

fn from(event: &KinesisEvent, sequence_number: &str) -> KinesisEvent {
    let records = event.records.iter().filter(|r| r.kinesis.sequence_number.as_str() >= sequence_number).cloned();
    KinesisEvent { records: records.collect() }
}

/// The proof the issue asks for: fail storage after every possible number of writes, retry as
/// Lambda would (from the reported sequence number, in batches of another size and windowing),
/// and check that the lake holds every record exactly once.
#[tokio::test]
async fn a_failure_half_way_is_retried_from_a_clean_cut_and_every_record_lands_once() {
    let (event, ids) = straddling_batch();
    let bad_records = 2; // records 12 and 28
    for window in [1, 300, usize::MAX] {
        let options = BatchOptions { window_decoded_bytes: window, ..BatchOptions::default() };
        let clean = tempfile::tempdir().unwrap();
        let clean_report = ingest(&event, &LocalStore::new(clean.path()), &options).await;
        let writes = clean_report.ingest.objects.len() + clean_report.ingest.dead_letters.len();
        assert!(clean_report.ingest.objects.len() > 10, "the batch is cut into many runs");
        assert_eq!(clean_report.ingest.dead_letters.len(), bad_records);

        for allowed in 0..writes {
            let dir = tempfile::tempdir().unwrap();
            let failing = FailAfter::new(LocalStore::new(dir.path()), allowed);
            let report = ingest(&event, &failing, &options).await;
            let retry = report.retry_from.clone().unwrap_or_else(|| panic!("window {window}, {allowed} writes"));
            assert_eq!(report.response().batch_item_failures.len(), 1);
            assert_eq!(report.response().batch_item_failures[0].item_identifier, retry.sequence_number);
            assert_eq!(retry.error_type, "Loglake.StorageError");

            // Lambda retries from the reported record; here in two smaller batches, with other windows.
            let store = LocalStore::new(dir.path());
            let rest = from(&event, &retry.sequence_number);
            let (first, second) = rest.records.split_at(rest.records.len() / 2);
            for part in [first, second] {
                let retry_options = BatchOptions { window_decoded_bytes: 200, ..BatchOptions::default() };
                let part = KinesisEvent { records: part.to_vec() };
                assert_eq!(ingest(&part, &store, &retry_options).await.retry_from, None);
            }
            let rows = lake_rows(&store).await;
            let got: Vec<String> = rows.iter().map(|r| r.event_id.clone()).collect();
            assert_eq!(
                got, ids,
                "window {window}, failure after {allowed} writes, retried from {}",
                retry.sequence_number
            );
            assert_eq!(store.list("errors/").await.unwrap().len(), bad_records);
        }
    }
}

#[tokio::test]
async fn a_passed_deadline_stops_after_the_first_write_and_reports_the_rest() {
    let (event, ids) = straddling_batch();
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let options = BatchOptions { deadline: Some(std::time::Instant::now()), ..BatchOptions::default() };
    let report = ingest(&event, &store, &options).await;
    let retry = report.retry_from.unwrap();
    assert_eq!(retry.error_type, "Loglake.Deadline");
    assert_eq!(report.ingest.objects.len(), 1, "one write, so that every invocation makes progress");
    let written = report.ingest.objects[0].records;
    assert!(retry.sequence_number > seq(1), "{}", retry.sequence_number);

    // The retry from there completes the lake.
    let rest = from(&event, &retry.sequence_number);
    assert_eq!(rest.records.len(), retry.records_not_written);
    assert_eq!(ingest(&rest, &store, &BatchOptions::default()).await.retry_from, None);
    let rows = lake_rows(&store).await;
    assert_eq!(rows.iter().map(|r| r.event_id.clone()).collect::<Vec<_>>(), ids);
    assert!(written < ids.len());
}

#[tokio::test]
async fn a_stream_configured_as_text_keeps_agent_lines_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let line = r#"{"log":"GET / 200\n","stream":"stdout"}"#;
    let event = batch(vec![record(1, b64(line.as_bytes()), "k")]);
    let config = PipelineConfig {
        record_data: RecordDataByStream::parse("other=agent_json,app-logs=text").unwrap(),
        ..config()
    };
    let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
    assert_eq!(report.ingest.records, 1);
    let rows = lake_rows(&store).await;
    assert_eq!(rows[0].message, line);
    assert_eq!(rows[0].attributes.get("msg").map(String::as_str), Some("GET / 200\n"), "parsed as the line's own JSON");
    assert_eq!(rows[0].attributes.get("stream").map(String::as_str), Some("stdout"));

    // And configured as cloudwatch_logs, text is bad input.
    let config = PipelineConfig { record_data: RecordDataByStream::parse("cloudwatch_logs").unwrap(), ..config };
    let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
    assert_eq!(report.ingest.dead_letters.iter().map(|d| d.kind).collect::<Vec<_>>(), ["not_gzip"]);
}

/// A KPL aggregate that checks out (magic, protobuf, MD5) but holds no user record.
fn empty_kpl_aggregate() -> Vec<u8> {
    use md5::Digest as _;
    let body = [0x0a, 0x01, b'k']; // partition_key_table: ["k"], records: []
    let mut data = vec![0xF3, 0x89, 0x9A, 0xC2];
    data.extend(body);
    data.extend(md5::Md5::digest(body));
    data
}

#[tokio::test]
async fn an_aggregate_without_user_records_is_dead_lettered_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let event = batch(vec![record(1, b64(&empty_kpl_aggregate()), "k")]);
    let report = ingest(&event, &store, &BatchOptions::default()).await;
    assert_eq!(report.ingest.dead_letters.iter().map(|d| d.kind).collect::<Vec<_>>(), ["empty_record"]);
}

#[tokio::test]
async fn oversized_records_are_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig {
        bounds: loglake::decode::bounds::InputBounds { decoded_bytes: 1024, ..Default::default() },
        ..config()
    };
    let big_text = "x".repeat(2000);
    let bomb = gzip(&vec![b' '; 1 << 20]);
    let event = batch(vec![record(1, b64(big_text.as_bytes()), "k"), record(2, b64(&bomb), "k")]);
    let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
    let kinds: BTreeMap<&str, usize> = report.ingest.dead_letters.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d.kind).or_default() += 1;
        m
    });
    assert_eq!(kinds, BTreeMap::from([("too_large", 2)]));
    assert_eq!(report.ingest.records, 0);
}

/// CloudWatch Logs payloads of loglake's own log groups (`/loglake/…`) that reach the stream are
/// counted and dropped; the other payloads of the batch land.
#[tokio::test]
async fn loglake_own_log_events_in_a_batch_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let own = cloudwatch_payload("/loglake/prod/compactor", &[("1", NOW, "compacted"), ("2", NOW, "REPORT")]);
    let app = cloudwatch_payload("/app/orders", &[("3", NOW, "order placed")]);
    let event = batch(vec![record(1, own, "p"), record(2, app, "p")]);
    let report = ingest(&event, &store, &BatchOptions::default()).await;
    assert_eq!((report.ingest.own_log_events, report.ingest.records), (2, 1), "{report:?}");
    assert!(report.retry_from.is_none() && report.ingest.dead_letters.is_empty());
    let rows = lake_rows(&store).await;
    assert_eq!(rows.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["order placed"]);
}
