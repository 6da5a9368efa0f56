//! Bad input never panics and is never lost silently: thousands of corrupted payloads, Kinesis
//! and Firehose records, and random lines go through the real pipeline; each payload or record
//! either lands whole or becomes one dead letter.

mod common;

use std::borrow::Cow;

use base64::Engine as _;
use loglake::config::PipelineConfig;
use loglake::decode::bounds::InputBounds;
use loglake::decode::subscription::{encode_data, gzip};
use loglake::ingest::cloudwatch::ingest_cloudwatch_data;
use loglake::ingest::firehose::{FirehoseEvent, ResultStatus, TransformOptions, transform_batch};
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, ingest_kinesis_batch};
use loglake::lake::storage::LocalStore;
use loglake::parse::line::{LineContext, normalize_line};
use loglake::testing::Rng;

const NOW: i64 = 1_795_168_900_000;

const LINES: &[&str] = &[
    "{\"level\":\"info\",\"message\":\"a \\\"quoted\\\" thing\",\"n\":{\"m\":[1,2,{\"x\":null}]},\"time\":\"2026-11-20T10:00:00.000Z\"}",
    "REPORT RequestId: 4c7e\tDuration: 25.31 ms\tBilled Duration: 26 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB\t\nXRAY TraceId: 1-a\tSegmentId: b\tSampled: true\n",
    "START RequestId: 4c7e Version: $LATEST",
    "2026-11-20T10:00:10.190Z\t4c7e\tINFO\tfetching",
    "[ERROR]\t2026-11-20T10:00:11.000Z\t9d8c\tboom",
    "{\"time\":\"2026-11-20T10:00:16.300Z\",\"type\":\"platform.report\",\"record\":{\"requestId\":\"6e5d\",\"metrics\":{\"durationMs\":1},\"tracing\":{\"value\":\"Root=1-x;Parent=y\"}}}",
    "plain WARN text with ünïcödé 🦀",
];

fn payload() -> Vec<u8> {
    let events: Vec<_> = LINES
        .iter()
        .enumerate()
        .map(|(i, m)| serde_json::json!({"id": i.to_string(), "timestamp": 1_795_168_800_000i64 + i as i64, "message": m}))
        .collect();
    serde_json::json!({"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":events})
        .to_string()
        .into_bytes()
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            bytes.push(b'{');
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = rng.next_u64() as u8,
            1 => bytes.truncate(at),
            2 => {
                let specials = b"{}[]\",:\\\x00\xff\t";
                bytes.insert(at, specials[rng.below(specials.len())]);
            }
            _ => {
                bytes.remove(at);
            }
        }
    }
}

#[tokio::test]
async fn corrupted_payloads_land_whole_or_as_one_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig {
        bounds: InputBounds { decoded_bytes: 64 * 1024, ..InputBounds::default() },
        ..PipelineConfig::default()
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let json = payload();
    let (mut landed, mut dead) = (0, 0);
    for round in 0..1500 {
        // Corrupt the JSON, the gzip stream, or the base64 text.
        let data = match round % 3 {
            0 => {
                let mut j = json.clone();
                mutate(&mut rng, &mut j);
                encode_data(&j)
            }
            1 => {
                let mut z = gzip(&json);
                mutate(&mut rng, &mut z);
                base64::engine::general_purpose::STANDARD.encode(z)
            }
            _ => {
                let mut b = encode_data(&json).into_bytes();
                mutate(&mut rng, &mut b);
                String::from_utf8_lossy(&b).into_owned()
            }
        };
        let report = ingest_cloudwatch_data(&data, &config, NOW, &store).await.expect("only storage can fail");
        let whole = report.dead_letters.is_empty() && report.records == report.log_events;
        let rejected = report.dead_letters.len() == 1 && report.records == 0;
        let control = report.control_messages == 1 && report.records == 0 && report.dead_letters.is_empty();
        assert!(whole || rejected || control, "round {round}: {report:?}");
        if rejected {
            dead += 1;
        } else {
            landed += 1;
        }
    }
    assert!(dead > 500 && landed > 20, "the corruption should exercise both paths: {dead} dead, {landed} landed");
}

/// Record data of every kind a stream carries, each corrupted at random.
fn corrupted_record_data(rng: &mut Rng, round: usize) -> Vec<u8> {
    let kpl: serde_json::Value = serde_json::from_str(include_str!("fixtures/kpl.json")).unwrap();
    let mut data = match round % 4 {
        0 => gzip(&payload()),
        1 => base64::engine::general_purpose::STANDARD.decode(kpl["mixed"]["data"].as_str().unwrap()).unwrap(),
        2 => LINES
            .iter()
            .map(|l| serde_json::json!({"log": l, "stream": "stdout"}).to_string() + "\n")
            .collect::<String>()
            .into_bytes(),
        _ => LINES.join("\n").into_bytes(),
    };
    mutate(rng, &mut data);
    data
}

#[tokio::test]
async fn corrupted_stream_records_land_whole_or_as_one_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig {
        bounds: InputBounds { decoded_bytes: 64 * 1024, ..InputBounds::default() },
        ..PipelineConfig::default()
    };
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (mut landed, mut dead) = (0, 0);
    for round in 0..1200 {
        let data = base64::engine::general_purpose::STANDARD.encode(corrupted_record_data(&mut rng, round));
        let (records, letters) = if round % 2 == 0 {
            let event: KinesisEvent = serde_json::from_value(serde_json::json!({"Records": [{
                "kinesis": {"partitionKey": "k", "sequenceNumber": format!("{round:056}"), "data": data},
                "eventID": format!("shardId-000000000000:{round:056}"),
                "eventSourceARN": "arn:aws:kinesis:us-east-1:1:stream/s", "awsRegion": "us-east-1"
            }]}))
            .unwrap();
            let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
            assert_eq!(report.retry_from, None, "round {round}");
            (report.ingest.records + report.ingest.control_messages, report.ingest.dead_letters.len())
        } else {
            let event: FirehoseEvent = serde_json::from_value(serde_json::json!({
                "deliveryStreamArn": "arn:aws:firehose:us-east-1:1:deliverystream/d",
                "records": [{"recordId": format!("r{round}"), "approximateArrivalTimestamp": NOW, "data": data}]
            }))
            .unwrap();
            let (response, report) = transform_batch(&event, &config, NOW, &store, &TransformOptions::default())
                .await
                .expect("only storage can fail");
            assert_eq!(response.records.len(), 1, "round {round}");
            let failed = response.records[0].result == ResultStatus::ProcessingFailed;
            assert_eq!(failed, report.ingest.dead_letters.len() == 1, "round {round}: {report:?}");
            (report.ingest.records + report.ingest.control_messages, report.ingest.dead_letters.len())
        };
        assert!(
            (letters == 1 && records == 0) || (letters == 0 && records > 0),
            "round {round}: {records} records, {letters} dead letters"
        );
        if letters == 1 {
            dead += 1;
        } else {
            landed += 1;
        }
    }
    assert!(dead > 200 && landed > 200, "the corruption should exercise both paths: {dead} dead, {landed} landed");
}

#[test]
fn random_lines_never_panic_and_keep_the_message() {
    let ctx = LineContext {
        source: "cloudwatch",
        account_id: "1".into(),
        region: "r".into(),
        log_group: "g".into(),
        log_stream: "s".into(),
        ingest_time_ms: NOW,
        max_event_time_skew_secs: 3600,
        envelope: vec![],
        line_format: &loglake::parse::line::LineFormatChoice::Auto,
    };
    let alphabet: Vec<char> = "{}[]\":,\\\t\n -.0123456789eEaZTtrufnl INFOERRORWARN=Root;é🦀".chars().collect();
    let prefixes = [
        "",
        "{",
        "{\"type\":\"platform.",
        "REPORT RequestId: ",
        "START RequestId: ",
        "INIT_START ",
        "[INFO]\t",
        "2026-11-20T10:00:00.000Z\t",
    ];
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let mut line = prefixes[rng.below(prefixes.len())].to_owned();
        for _ in 0..rng.below(80) {
            line.push(alphabet[rng.below(alphabet.len())]);
        }
        if rng.below(4) == 0 {
            let base = LINES[rng.below(LINES.len())];
            let cut = base.char_indices().map(|(i, _)| i).nth(rng.below(base.chars().count())).unwrap_or(0);
            line = format!("{}{}", &base[..cut], line);
        }
        let record = normalize_line(&ctx, Cow::Borrowed("id"), Some(NOW - 1000), &line);
        assert_eq!(record.message, line.as_str());
        assert!(record.attributes.len() <= loglake::parse::fields::MAX_ATTRIBUTES);
    }
}
