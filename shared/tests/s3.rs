//! The log objects of other buckets, end to end on a local lake with a directory as the source
//! bucket: ALB, CloudTrail and VPC flow objects notified through the three ways S3 notifies
//! (S3 event, SNS envelope, EventBridge) land once — also when notified twice, after a failed
//! write at any point, and across invocations cut short by the deadline — and every bad object
//! or message is a dead letter with its reason while the rest of the batch lands.

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use common::{Row, lake_rows};
use loglake::config::PipelineConfig;
use loglake::decode::s3_object::ObjectLimits;
use loglake::ingest::s3::{S3Options, S3Report, SqsEvent, ingest_sqs_batch};
use loglake::lake::source::LocalSource;
use loglake::lake::storage::{FailAfter, LocalStore, ObjectStore};
use serde_json::json;

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z
const CREATED: &str = "2026-11-20T10:00:30.000Z";
const ACCOUNT: &str = "123456789012";

const ALB_KEY: &str = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20/123456789012_elasticloadbalancing_eu-west-1_app.shop.0f1e2d3c_20261120T1000Z_10.0.0.1_abc.log.gz";
const TRAIL_KEY: &str = "trail/AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/20/123456789012_CloudTrail_eu-west-1_20261120T1000Z_x.json.gz";
const FLOW_KEY: &str = "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/11/20/123456789012_vpcflowlogs_eu-west-1_fl-1_20261120T1000Z_h.log.gz";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn alb_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "https 2026-11-20T09:{:02}:{:02}.123456Z app/shop/0f1e2d3c 203.0.113.{}:61234 10.20.1.17:8080 0.001 0.245 0.000 {} 200 812 1204 \"GET https://shop.example.org:443/item/{i} HTTP/1.1\" \"curl/8\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/cart/0123 \"Root=1-673da1b6-0a1b2c3d4e5f60718293a4b5\" \"shop.example.org\" \"-\" 3 2026-11-20T09:15:01.877000Z \"forward\" \"-\" \"-\" \"10.20.1.17:8080\" \"200\" \"-\" \"-\"",
                50 + i / 60 % 10,
                i % 60,
                i % 250,
                if i % 7 == 0 { 503 } else { 200 },
            )
        })
        .collect()
}

fn trail_records(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            json!({"eventVersion": "1.09", "eventTime": format!("2026-11-20T09:58:{:02}Z", i % 60),
                "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "eu-west-1",
                "sourceIPAddress": "198.51.100.7", "requestID": format!("REQ{i}"), "eventID": format!("ev-{i}"),
                "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/app/x"}})
        })
        .collect()
}

const FLOW_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

fn flow_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "2 123456789012 eni-0a1b2c3d 10.0.{}.{} 10.0.9.9 {} 443 6 10 {} 1795168740 1795168800 {} OK",
                i / 200,
                i % 200,
                40_000 + i,
                840 + i,
                if i % 5 == 0 { "REJECT" } else { "ACCEPT" }
            )
        })
        .collect()
}

/// The three objects, written under `source`: (key, lines or records they hold).
struct Objects {
    alb: Vec<String>,
    trail: Vec<serde_json::Value>,
    flow: Vec<String>,
}

fn write_objects(source: &Path, alb: usize, trail: usize, flow: usize) -> Objects {
    let objects = Objects { alb: alb_lines(alb), trail: trail_records(trail), flow: flow_lines(flow) };
    let put = |key: &str, body: Vec<u8>| {
        let path = source.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    };
    put(ALB_KEY, gzip((objects.alb.join("\n") + "\n").as_bytes()));
    put(TRAIL_KEY, gzip(json!({"Records": objects.trail}).to_string().as_bytes()));
    let flow = std::iter::once(FLOW_HEADER.to_owned()).chain(objects.flow.iter().cloned()).collect::<Vec<_>>();
    put(FLOW_KEY, gzip((flow.join("\n") + "\n").as_bytes()));
    objects
}

/// S3 URL-encodes keys in its notifications (`=` → `%3D`, space → `+`).
fn url_encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            b' ' => "+".into(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn s3_event(key: &str, etag: &str) -> String {
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
        "eventTime": CREATED, "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "central-logs", "arn": "arn:aws:s3:::central-logs"},
               "object": {"key": url_encode(key), "size": 1, "eTag": etag, "sequencer": "0A"}}}]})
    .to_string()
}

fn sns_envelope(inner: &str) -> String {
    json!({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:logs",
        "Subject": "Amazon S3 Notification", "Message": inner, "Timestamp": CREATED})
    .to_string()
}

fn eventbridge_event(key: &str, etag: &str) -> String {
    json!({"version": "0", "id": "e", "detail-type": "Object Created", "source": "aws.s3", "account": ACCOUNT,
        "time": "2026-11-20T10:00:30Z", "region": "eu-west-1", "resources": ["arn:aws:s3:::central-logs"],
        "detail": {"version": "0", "bucket": {"name": "central-logs"},
                   "object": {"key": key, "size": 1, "etag": etag, "sequencer": "1"}, "reason": "PutObject"}})
    .to_string()
}

fn sqs_event(bodies: &[String]) -> SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({"messageId": format!("msg-{i}"), "receiptHandle": "r", "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:loglake-s3",
                "awsRegion": "eu-west-1"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn three_ways() -> SqsEvent {
    sqs_event(&[
        s3_event(ALB_KEY, "e-alb"),
        sns_envelope(&s3_event(TRAIL_KEY, "e-trail")),
        eventbridge_event(FLOW_KEY, "e-flow"),
    ])
}

fn small_options() -> S3Options {
    let limits = ObjectLimits {
        chunk_bytes: 4_096,
        max_line_bytes: 1 << 20,
        max_object_bytes: 1 << 30,
        max_object_lines: 1 << 30,
    };
    S3Options { limits, deadline: None, range_bytes: 1_500 }
}

async fn ingest(event: &SqsEvent, store: &dyn ObjectStore, source: &Path, options: &S3Options) -> S3Report {
    let config = PipelineConfig { region: "eu-west-1".into(), ..PipelineConfig::default() };
    ingest_sqs_batch(event, &config, options, NOW, store, &LocalSource::new(source)).await
}

/// Every line of the three objects once, with what its key and lines say.
fn assert_every_line_once(rows: &[Row], objects: &Objects) {
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "no event id twice");
    let of = |key: &str| rows.iter().filter(|r| r.log_stream == key).collect::<Vec<_>>();

    let alb = of(ALB_KEY);
    let mut messages: Vec<&str> = alb.iter().map(|r| r.message.as_str()).collect();
    messages.sort();
    let mut expected: Vec<&str> = objects.alb.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(messages, expected, "every ALB line once");
    assert!(alb.iter().all(|r| r.format == "alb" && r.source == "s3"));
    assert!(alb.iter().all(|r| r.log_group == "s3://central-logs/AWSLogs/123456789012/elasticloadbalancing/eu-west-1"));
    assert!(alb.iter().all(|r| r.account_id == ACCOUNT && r.region == "eu-west-1"));
    // The line's own time (09:5x), not the object's creation (10:00:30).
    assert!(alb.iter().all(|r| r.event_time < 1_795_168_800_000), "{:?}", alb[0]);

    let trail = of(TRAIL_KEY);
    let mut request_ids: Vec<String> = trail.iter().map(|r| r.request_id.clone().unwrap()).collect();
    request_ids.sort();
    let mut sent: Vec<String> = objects.trail.iter().map(|r| r["requestID"].as_str().unwrap().to_owned()).collect();
    sent.sort();
    assert_eq!(request_ids, sent, "every CloudTrail record once");
    assert!(trail.iter().all(|r| r.format == "cloudtrail"));
    assert!(trail.iter().all(|r| r.log_group == "s3://central-logs/trail/AWSLogs/123456789012/CloudTrail/eu-west-1"));

    let flow = of(FLOW_KEY);
    assert_eq!(flow.len(), objects.flow.len() + 1, "every flow line and the header");
    assert_eq!(flow.iter().filter(|r| r.attributes.contains_key("flow_log_header")).count(), 1);
    let parsed: Vec<&&Row> = flow.iter().filter(|r| r.format == "vpc_flow").collect();
    assert_eq!(parsed.len(), objects.flow.len());
    assert!(parsed.iter().all(|r| r.attributes.get("interface_id").map(String::as_str) == Some("eni-0a1b2c3d")));
    assert_eq!(rows.len(), objects.alb.len() + objects.trail.len() + objects.flow.len() + 1);
}

#[tokio::test]
async fn alb_cloudtrail_and_vpc_objects_land_once_however_often_they_are_notified() {
    let (lake, source) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let objects = write_objects(source.path(), 300, 120, 250);
    let store = LocalStore::new(lake.path());
    let event = three_ways();
    let report = ingest(&event, &store, source.path(), &small_options()).await;
    assert!(report.retry.is_empty() && report.ingest.dead_letters.is_empty(), "{report:?}");
    assert_eq!((report.objects_read, report.ingest.records), (3, 300 + 120 + 251));
    assert!(report.ingest.objects.len() > 6, "several chunks per object: {}", report.ingest.objects.len());
    let rows = lake_rows(&store).await;
    assert_every_line_once(&rows, &objects);
    let keys = store.list("staging/logs/").await.unwrap();

    // The same notifications again, and each message twice in one batch: the same objects.
    let twice = sqs_event(&[
        s3_event(ALB_KEY, "e-alb"),
        eventbridge_event(FLOW_KEY, "e-flow"),
        sns_envelope(&s3_event(TRAIL_KEY, "e-trail")),
        s3_event(ALB_KEY, "e-alb"),
    ]);
    let again = ingest(&twice, &store, source.path(), &small_options()).await;
    assert!(again.retry.is_empty());
    assert_eq!(store.list("staging/logs/").await.unwrap(), keys, "a repeated notification rewrites the same keys");
    assert_eq!(lake_rows(&store).await, rows);

    // Chunks fall where the text says: another range size reads into the same keys.
    let other_ranges = S3Options { range_bytes: 777, ..small_options() };
    ingest(&event, &store, source.path(), &other_ranges).await;
    assert_eq!(store.list("staging/logs/").await.unwrap(), keys);
}

#[tokio::test]
async fn a_failed_write_at_any_point_is_retried_without_a_duplicate() {
    let source = tempfile::tempdir().unwrap();
    let objects = write_objects(source.path(), 120, 30, 90);
    let event = three_ways();
    let total_writes = {
        let lake = tempfile::tempdir().unwrap();
        ingest(&event, &LocalStore::new(lake.path()), source.path(), &small_options()).await.ingest.objects.len()
    };
    for allowed in 0..total_writes {
        let lake = tempfile::tempdir().unwrap();
        let failing = FailAfter::new(LocalStore::new(lake.path()), allowed);
        let first = ingest(&event, &failing, source.path(), &small_options()).await;
        assert!(!first.retry.is_empty(), "a write failed after {allowed}: some message is retried");
        assert!(first.retry.iter().all(|r| r.error_type == "Loglake.StorageError"));
        // SQS delivers the failed messages again.
        let retried: Vec<String> = event
            .records
            .iter()
            .filter(|m| first.retry.iter().any(|r| r.message_id == m.message_id))
            .map(|m| m.body.clone())
            .collect();
        let store = LocalStore::new(lake.path());
        let second = ingest(&sqs_event(&retried), &store, source.path(), &small_options()).await;
        assert!(second.retry.is_empty());
        assert_every_line_once(&lake_rows(&store).await, &objects);
    }
}

#[tokio::test]
async fn an_object_cut_short_by_the_deadline_continues_where_it_stopped() {
    for plain in [false, true] {
        let (lake, source) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let objects = write_objects(source.path(), 400, 10, 10);
        if plain {
            let text = objects.alb.join("\n") + "\n";
            std::fs::write(source.path().join(ALB_KEY), text).unwrap();
        }
        let store = LocalStore::new(lake.path());
        let event = sqs_event(&[s3_event(ALB_KEY, "e-alb")]);
        // A deadline already passed: every invocation writes one chunk, then saves its progress.
        let options = S3Options { deadline: Some(Instant::now()), ..small_options() };
        let mut written: Vec<String> = Vec::new();
        let mut invocations = 0;
        loop {
            invocations += 1;
            let report = ingest(&event, &store, source.path(), &options).await;
            written.extend(report.ingest.objects.iter().map(|o| o.key.clone()));
            if report.retry.is_empty() {
                break;
            }
            assert_eq!(report.retry[0].error_type, "Loglake.Continued");
            assert_eq!(report.objects_continued, 1);
            assert_eq!(store.list("_loglake/ingest-s3/progress/").await.unwrap().len(), 1);
            assert!(invocations < 200, "no progress");
        }
        assert!(invocations > 5, "plain={plain}: {invocations}");
        let unique: BTreeSet<&String> = written.iter().collect();
        assert_eq!(unique.len(), written.len(), "plain={plain}: nothing done was written again");
        assert!(store.list("_loglake/ingest-s3/progress/").await.unwrap().is_empty(), "progress removed when done");
        let rows = lake_rows(&store).await;
        let mut messages: Vec<&str> = rows.iter().map(|r| r.message.as_str()).collect();
        messages.sort();
        let mut expected: Vec<&str> = objects.alb.iter().map(String::as_str).collect();
        expected.sort();
        assert_eq!(messages, expected, "plain={plain}");
        // The same rows as one uninterrupted read.
        let whole = tempfile::tempdir().unwrap();
        let whole_store = LocalStore::new(whole.path());
        ingest(&event, &whole_store, source.path(), &small_options()).await;
        assert_eq!(lake_rows(&whole_store).await, rows, "plain={plain}");
    }
}

#[tokio::test]
async fn bad_objects_and_messages_are_dead_letters_and_the_rest_of_the_batch_lands() {
    let (lake, source) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let objects = write_objects(source.path(), 50, 5, 5);
    let put = |key: &str, body: &[u8]| {
        let path = source.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    };
    let alb_text = objects.alb.join("\n") + "\n";
    let zipped = gzip(alb_text.as_bytes());
    let dir = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20/";
    put(&format!("{dir}truncated.log.gz"), &zipped[..zipped.len() / 2]);
    put(&format!("{dir}binary.log"), &[0u8, 159, 146, 150, 255, 1, 2, 3, 10, 200, 201]);
    put(&format!("{dir}empty.log"), b"");
    let long = format!("{}\n{}\n{}\n", objects.alb[0], "x".repeat(5_000), objects.alb[1]);
    put(&format!("{dir}long-line.log"), long.as_bytes());
    put("exports/2026/notes.txt", b"dear diary, nothing here is a log format\nsecond line\n");
    let bodies = [
        s3_event(&format!("{dir}truncated.log.gz"), "t"),
        s3_event(&format!("{dir}binary.log"), "b"),
        s3_event(&format!("{dir}empty.log"), "e"),
        s3_event(&format!("{dir}long-line.log"), "l"),
        s3_event("exports/2026/notes.txt", "n"),
        s3_event(&format!("{dir}deleted.log.gz"), "d"),
        "{\"hello\": \"not a notification\"}".to_owned(),
        "not json at all".to_owned(),
        s3_event(ALB_KEY, "e-alb"),
        json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "central-logs"}).to_string(),
        s3_event("AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2026/11/20/digest.json.gz", "g"),
    ];
    let options =
        S3Options { limits: ObjectLimits { max_line_bytes: 1_000, ..small_options().limits }, ..small_options() };
    let store = LocalStore::new(lake.path());
    let report = ingest(&sqs_event(&bodies), &store, source.path(), &options).await;
    assert!(report.retry.is_empty(), "bad input is never retried: {:?}", report.retry);
    let kinds: Vec<&str> = report.ingest.dead_letters.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            "truncated_gzip",
            "not_text",
            "empty_object",
            "line_too_long",
            "unknown_log_type",
            "object_gone",
            "not_an_s3_notification",
            "invalid_json"
        ]
    );
    assert_eq!((report.events_skipped, report.objects_skipped), (1, 1));
    let rows = lake_rows(&store).await;
    // The good object whole; the lines before the truncation and before the long line.
    let good = rows.iter().filter(|r| r.log_stream == ALB_KEY).count();
    assert_eq!(good, 50);
    let truncated = rows.iter().filter(|r| r.log_stream.ends_with("truncated.log.gz")).count();
    assert!(truncated > 0 && truncated < 50, "{truncated}");
    let long_line = rows.iter().filter(|r| r.log_stream.ends_with("long-line.log")).count();
    assert_eq!(long_line, 1);
    // Each dead letter says where the object is, from which line, and keeps the notification.
    let letter: serde_json::Value =
        serde_json::from_slice(&store.get(&report.ingest.dead_letters[3].key).await.unwrap()).unwrap();
    assert_eq!(letter["origin"]["key"], format!("{dir}long-line.log"));
    assert_eq!(letter["origin"]["from_line_index"], "1");
    assert_eq!(letter["error_kind"], "line_too_long");
}

#[tokio::test]
async fn an_overwritten_object_is_read_anew() {
    let (lake, source) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let objects = write_objects(source.path(), 20, 1, 1);
    let store = LocalStore::new(lake.path());
    ingest(&sqs_event(&[s3_event(ALB_KEY, "v1")]), &store, source.path(), &small_options()).await;
    let newer = alb_lines(35)[20..].to_vec();
    std::fs::write(source.path().join(ALB_KEY), gzip((newer.join("\n") + "\n").as_bytes())).unwrap();
    ingest(&sqs_event(&[s3_event(ALB_KEY, "v2")]), &store, source.path(), &small_options()).await;
    let rows = lake_rows(&store).await;
    let mut messages: Vec<&str> = rows.iter().map(|r| r.message.as_str()).collect();
    messages.sort();
    let mut expected: Vec<&str> = objects.alb.iter().chain(&newer).map(String::as_str).collect();
    expected.sort();
    assert_eq!(messages, expected, "both contents, each line once");
}

#[tokio::test]
async fn server_access_and_cloudfront_objects_are_read_by_their_formats() {
    let (lake, source) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
    let access: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "{owner} central-logs [20/Nov/2026:09:5{}:{:02} +0000] 192.0.2.{i} {owner} REQ{i:04} REST.GET.OBJECT logs/{i}.gz \"GET /central-logs/logs/{i}.gz HTTP/1.1\" {} - {} 4096 12 10 \"-\" \"aws-cli/2.17\" - hostid{i}= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader central-logs.s3.eu-west-1.amazonaws.com TLSv1.3 - -",
                i / 10,
                i * 3,
                if i % 5 == 0 { 404 } else { 200 },
                100 + i
            )
        })
        .collect();
    let cloudfront = [
        "#Version: 1.0".to_owned(),
        "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version".to_owned(),
        "2026-11-20\t09:58:07\tFRA56-P3\t2390\t198.51.100.10\tGET\td1234abcd.cloudfront.net\t/img/logo.png\t200\t-\tMozilla/5.0\t-\t-\tHit\tR4nd0mID==\twww.example.org\thttps\t180\t0.051\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0".to_owned(),
    ];
    // Standard logging v2: chosen fields, in a chosen order, named by the header.
    let chosen = [
        "#Version: 1.0".to_owned(),
        "#Fields: timestamp c-ip sc-status cs(Host) cs-uri-stem time-taken".to_owned(),
        "1795168687.123\t198.51.100.10\t503\td1234abcd.cloudfront.net\t/img/logo.png\t0.051".to_owned(),
        "1795168688.001\t198.51.100.11\t200\td1234abcd.cloudfront.net\t/index.html\t0.002".to_owned(),
    ];
    let chosen_key = "cf/E3CHOSEN.2026-11-20-10.b2c3d4e5.gz";
    let access_key = "access-logs/2026-11-20-10-05-00-0123456789ABCDEF";
    let cloudfront_key = "cf/E2EXAMPLE.2026-11-20-10.a1b2c3d4.gz";
    std::fs::create_dir_all(source.path().join("access-logs")).unwrap();
    std::fs::create_dir_all(source.path().join("cf")).unwrap();
    std::fs::write(source.path().join(access_key), access.join("\n") + "\n").unwrap();
    std::fs::write(source.path().join(cloudfront_key), gzip((cloudfront.join("\n") + "\n").as_bytes())).unwrap();
    std::fs::write(source.path().join(chosen_key), gzip((chosen.join("\n") + "\n").as_bytes())).unwrap();
    let store = LocalStore::new(lake.path());
    let event = sqs_event(&[s3_event(access_key, "a"), s3_event(cloudfront_key, "c"), s3_event(chosen_key, "v2")]);
    let report = ingest(&event, &store, source.path(), &small_options()).await;
    assert!(report.retry.is_empty() && report.ingest.dead_letters.is_empty(), "{report:?}");
    let rows = lake_rows(&store).await;
    let access_rows: Vec<&Row> = rows.iter().filter(|r| r.log_stream == access_key).collect();
    assert_eq!(access_rows.len(), 20);
    assert!(access_rows.iter().all(|r| r.format == "s3_access" && r.log_group == "s3://central-logs/access-logs"));
    assert_eq!(access_rows.iter().filter(|r| r.level.as_deref() == Some("WARN")).count(), 4);
    let cf: Vec<&Row> = rows.iter().filter(|r| r.log_stream == cloudfront_key).collect();
    assert_eq!(cf.len(), 3, "the two headers kept as records");
    assert_eq!(
        cf.iter().filter(|r| r.format == "cloudfront" && !r.attributes.contains_key("cloudfront_header")).count(),
        1
    );
    assert!(cf.iter().all(|r| r.log_group == "s3://central-logs/cf/E2EXAMPLE"));
    let v2: Vec<&Row> = rows.iter().filter(|r| r.log_stream == chosen_key && r.format == "cloudfront").collect();
    let lines: Vec<&&Row> = v2.iter().filter(|r| !r.attributes.contains_key("cloudfront_header")).collect();
    assert_eq!(lines.len(), 2, "{v2:?}");
    assert_eq!(
        lines.iter().map(|r| r.attributes["cs_uri_stem"].as_str()).collect::<BTreeSet<_>>(),
        BTreeSet::from(["/img/logo.png", "/index.html"])
    );
    assert!(lines.iter().any(|r| r.event_time == 1_795_168_687_123 && r.level.as_deref() == Some("ERROR")));
}
