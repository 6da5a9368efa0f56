//! Inputs built to exhaust a function: each is one dead letter `too_large`, found while it is
//! decoded (its cost never grows past the input's bounds), and every other input of the batch
//! lands. The bounds are the defaults of the smallest function (128 MB) unless a test says so.

use base64::Engine as _;
use loglake::config::PipelineConfig;
use loglake::decode::bounds::InputBounds;
use loglake::decode::kpl;
use loglake::decode::subscription::{encode_data, gzip};
use loglake::ingest::cloudwatch::ingest_cloudwatch_data;
use loglake::ingest::firehose::{FirehoseEvent, ResultStatus, TransformOptions, transform_batch};
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, KinesisReport, ingest_kinesis_batch};
use loglake::lake::storage::LocalStore;
use serde_json::{Value, json};

const NOW: i64 = 1_795_168_900_000;
const EVENT_MS: i64 = 1_795_168_800_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A CloudWatch Logs payload of `messages`, as JSON.
fn payload_json(messages: &[String]) -> Vec<u8> {
    let events: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": format!("{i}"), "timestamp": EVENT_MS + i as i64, "message": m}))
        .collect();
    json!({"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/app/hostile","logStream":"s",
           "subscriptionFilters":["f"],"logEvents":events})
    .to_string()
    .into_bytes()
}

/// The KPL aggregate bomb: one Kinesis record of about 1 MiB holding 64 gzip members, each a
/// valid CloudWatch Logs payload of one 6 MiB event. Each member is under the bound (8 MiB at
/// 128 MB), and a cap per member, as before, would let them inflate to 384 MiB together.
fn kpl_bomb() -> Vec<u8> {
    let member = gzip(&payload_json(&["a".repeat(6 << 20)]));
    let members: Vec<&[u8]> = (0..64).map(|_| member.as_slice()).collect();
    let aggregate = kpl::aggregate("bomb", &members);
    assert!(aggregate.len() < 1 << 20, "a Kinesis record holds at most 1 MiB: {}", aggregate.len());
    aggregate
}

fn kinesis_event(datas: &[Vec<u8>]) -> KinesisEvent {
    let records: Vec<Value> = datas
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let seq = format!("{:056}", i + 1);
            json!({"kinesis": {"partitionKey": "k", "sequenceNumber": seq, "data": b64(data),
                               "approximateArrivalTimestamp": EVENT_MS as f64 / 1000.0},
                   "eventID": format!("shardId-000000000000:{seq}"),
                   "eventSourceARN": "arn:aws:kinesis:us-east-1:111122223333:stream/hostile", "awsRegion": "us-east-1"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn good_lines(n: usize) -> Vec<u8> {
    (0..n).map(|i| format!("{{\"level\":\"info\",\"msg\":\"good {i}\"}}\n")).collect::<String>().into_bytes()
}

fn dead_letter_kinds(report: &KinesisReport) -> Vec<&'static str> {
    report.ingest.dead_letters.iter().map(|d| d.kind).collect()
}

#[tokio::test]
async fn the_kpl_aggregate_bomb_is_one_too_large_dead_letter_and_the_batch_lands() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig::default();
    let event = kinesis_event(&[good_lines(5), kpl_bomb(), good_lines(7)]);
    let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
    assert_eq!(report.retry_from, None);
    assert_eq!(dead_letter_kinds(&report), ["too_large"]);
    let letter = &report.ingest.dead_letters[0];
    assert!(letter.reason.contains("KPL user record 1") && letter.reason.contains("decoded bytes"), "{letter:?}");
    assert_eq!(report.ingest.records, 12);
    // Only what the bound allows was decoded, not the aggregate's gigabyte.
    assert!(report.ingest.decompressed_bytes < 2 * config.bounds.decoded_bytes, "{}", report.ingest.decompressed_bytes);
}

#[tokio::test]
async fn a_whole_batch_of_bombs_is_dead_lettered_record_by_record_through_kinesis_and_firehose() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig::default();
    let bomb = kpl_bomb();
    // A gzip bomb of text lines: 64 MiB of one short line repeated, in one record.
    let text_bomb = gzip(&payload_json(&vec!["x".repeat(1 << 20); 64]));
    let mut datas = Vec::new();
    for i in 0..6 {
        datas.push(if i % 2 == 0 { bomb.clone() } else { text_bomb.clone() });
        datas.push(good_lines(3));
    }
    let event = kinesis_event(&datas);
    let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
    assert_eq!(report.retry_from, None);
    assert_eq!(dead_letter_kinds(&report), ["too_large"; 6]);
    assert_eq!(report.ingest.records, 18);

    let records: Vec<Value> = datas
        .iter()
        .enumerate()
        .map(|(i, data)| json!({"recordId": format!("r{i}"), "approximateArrivalTimestamp": EVENT_MS, "data": b64(data)}))
        .collect();
    let event: FirehoseEvent = serde_json::from_value(json!({
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/hostile", "records": records
    }))
    .unwrap();
    let (response, report) = transform_batch(&event, &config, NOW, &store, &TransformOptions::default()).await.unwrap();
    let statuses: Vec<ResultStatus> = response.records.iter().map(|r| r.result).collect();
    for (i, status) in statuses.iter().enumerate() {
        let expected = if i % 2 == 0 { ResultStatus::ProcessingFailed } else { ResultStatus::Ok };
        assert_eq!(*status, expected, "record {i}");
    }
    assert!(report.ingest.dead_letters.iter().all(|d| d.kind == "too_large"));
    assert_eq!(report.ingest.records, 18);
}

#[tokio::test]
async fn too_many_lines_in_one_record_is_found_while_splitting() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig::default();
    // 2 MiB of one-character lines: far more lines than the bound, in bytes well under it.
    let lines_bomb = "a\n".repeat(1 << 20).into_bytes();
    let agent_bomb = "{\"log\":\"a\"}\n".repeat(config.bounds.lines + 1).into_bytes();
    let event = kinesis_event(&[lines_bomb, good_lines(2), agent_bomb]);
    let report = ingest_kinesis_batch(&event, &config, NOW, &store, &BatchOptions::default()).await;
    assert_eq!(dead_letter_kinds(&report), ["too_large", "too_large"]);
    assert!(report.ingest.dead_letters[0].reason.contains("lines"), "{:?}", report.ingest.dead_letters[0]);
    assert_eq!(report.ingest.records, 2);
    assert_eq!(report.ingest.log_events, 2, "a refused record counts nothing");
}

#[tokio::test]
async fn records_and_attributes_past_their_bounds_refuse_the_payload_while_it_is_normalized() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig {
        bounds: InputBounds { decoded_bytes: 16 << 20, lines: 1000, attributes: 10_000 },
        ..PipelineConfig::default()
    };
    let trail = |i: usize| {
        json!({"eventVersion":"1.08","eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com",
               "eventName":"GetObject","requestID":format!("r{i}")})
    };
    // One event whose CloudTrail `Records` array splits into more records than the bound.
    let split = json!({"Records": (0..1001).map(trail).collect::<Vec<_>>()}).to_string();
    // 60 JSON lines of 200 attributes each: 12,000 attributes.
    let wide: Vec<String> = (0..60)
        .map(|line| {
            let fields: serde_json::Map<String, Value> = (0..200).map(|k| (format!("k{k}"), json!(line))).collect();
            Value::Object(fields).to_string()
        })
        .collect();
    for (name, messages, what) in
        [("split", vec![split.clone()], "lines or records"), ("wide", wide.clone(), "attributes")]
    {
        let report =
            ingest_cloudwatch_data(&encode_data(&payload_json(&messages)), &config, NOW, &store).await.unwrap();
        assert_eq!(report.dead_letters.len(), 1, "{name}");
        assert_eq!(report.dead_letters[0].kind, "too_large", "{name}");
        assert!(report.dead_letters[0].reason.contains(what), "{name}: {}", report.dead_letters[0].reason);
        assert_eq!(report.records, 0, "{name}");
    }
    // At the bound exactly, both land.
    let at_bound = json!({"Records": (0..1000).map(trail).collect::<Vec<_>>()}).to_string();
    let report = ingest_cloudwatch_data(&encode_data(&payload_json(&[at_bound])), &config, NOW, &store).await.unwrap();
    assert_eq!((report.records, report.dead_letters.len()), (1000, 0));
    let report = ingest_cloudwatch_data(&encode_data(&payload_json(&wide[..40])), &config, NOW, &store).await.unwrap();
    assert_eq!((report.records, report.dead_letters.len()), (40, 0));
}

/// As many lines as one PutLogEvents call may hold: 10,000 events and 1 MiB, each event counted
/// as its message plus 26 bytes. `line(i)` is the i-th; every line has the same length.
fn full_put_log_events_call(line: impl Fn(usize) -> String) -> Vec<String> {
    let count = (1_048_576 / (line(0).len() + 26)).min(10_000);
    (0..count).map(line).collect()
}

#[tokio::test]
async fn full_payloads_of_the_densest_aws_service_logs_land_within_the_smallest_functions_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = PipelineConfig::default();
    assert_eq!(config.bounds, InputBounds::for_memory_mb(128));
    // VPC flow logs: the most attributes per byte of the AWS service logs, 15 a line. The old
    // bound (512 attributes per MB, 65,536 here) refused a full payload of them. ALB lines: the
    // most attributes per line.
    let vpc = |i: usize| {
        format!(
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 2{i:04} 22 6 20 4249 1795168200 1795168260 ACCEPT OK"
        )
    };
    let alb = |i: usize| {
        format!(
            r#"https 2026-11-20T09:30:00.123456Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-11-20T09:29:59.975000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234a{i:05}"#
        )
    };
    // Whether the old bound refused the payload: the VPC one is as dense as the test means.
    let payloads = [("vpc", full_put_log_events_call(vpc), true), ("alb", full_put_log_events_call(alb), false)];
    for (name, messages, old_refused) in payloads {
        let payload = payload_json(&messages);
        let report = ingest_cloudwatch_data(&encode_data(&payload), &config, NOW, &store).await.unwrap();
        assert_eq!(report.dead_letters.len(), 0, "{name}: {:?}", report.dead_letters);
        assert_eq!(report.records, messages.len(), "{name}");
        let old = PipelineConfig { bounds: InputBounds { attributes: 65_536, ..config.bounds }, ..config.clone() };
        let report = ingest_cloudwatch_data(&encode_data(&payload), &old, NOW, &store).await.unwrap();
        assert_eq!(report.dead_letters.len() == 1, old_refused, "{name}: {:?}", report.dead_letters);
    }
    // A Kinesis record of 1 MiB of flow log lines, as an agent sends them: one input.
    let count = 1_048_576 / (vpc(0).len() + 1);
    let lines: String = (0..count).map(|i| vpc(i % 10_000) + "\n").collect();
    assert!(lines.len() <= 1 << 20);
    let report =
        ingest_kinesis_batch(&kinesis_event(&[lines.into_bytes()]), &config, NOW, &store, &BatchOptions::default())
            .await;
    assert_eq!(dead_letter_kinds(&report), Vec::<&str>::new());
    assert_eq!(report.ingest.records, count);
}
