//! The handler on genuine S3 notifications, against real S3 and SQS APIs.
//! scripts/moto_s3_notifications.py makes them in moto (server mode, 127.0.0.1): a log bucket
//! whose object-created notifications go to an SQS queue, ALB, CloudTrail and VPC flow log objects
//! put at the keys AWS writes them under, and the messages S3 sent read back from the queue. The
//! handler reads the objects and writes the lake through the real aws-sdk-s3 client; pyarrow reads
//! the lake bucket back.
//!
//! Needs `AWS_ENDPOINT_URL` (moto) and `LOGLAKE_TEST_PYTHON` (a Python with boto3 and pyarrow);
//! scripts/test.sh sets both.

use std::collections::{BTreeMap, BTreeSet};

use ingest_s3::{Config, State, handle_at};
use loglake::function::now_ms;
use loglake::ingest::s3::SqsEvent;
use loglake::lake::source::S3Source;
use loglake::lake::storage::{FailAfter, ObjectStore, S3Store, load_aws_config};
use loglake::testing::{integration_python, read_bucket_with_pyarrow, repo_root, unique_bucket};
use serde_json::Value;

/// What the script made: the SQS event, and per object key its kind and lines.
struct Notified {
    event: SqsEvent,
    objects: BTreeMap<String, (String, Vec<String>)>,
}

fn script(python: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(python)
        .arg(repo_root().join("scripts/moto_s3_notifications.py"))
        .args(args)
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn put(python: &str, bucket: &str, queue: &str, specs: &[&str]) -> Notified {
    let args: Vec<&str> = ["put", bucket, queue].into_iter().chain(specs.iter().copied()).collect();
    let made: Value = serde_json::from_slice(&script(python, &args)).unwrap();
    let objects = made["objects"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, o)| {
            let lines = o["lines"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()).collect();
            (key.clone(), (o["kind"].as_str().unwrap().to_owned(), lines))
        })
        .collect();
    Notified { event: serde_json::from_value(made["event"].clone()).unwrap(), objects }
}

struct Setup {
    python: String,
    source_bucket: String,
    lake_bucket: String,
    queue: String,
    lake: S3Store,
    config: Config,
}

async fn setup(tag: &str) -> Option<Setup> {
    let python = integration_python()?;
    let lake_bucket = unique_bucket(&format!("{tag}-lake"));
    let source_bucket = unique_bucket(&format!("{tag}-src"));
    let queue = format!("q-{}", &source_bucket[source_bucket.len() - 12..]);
    script(&python, &["setup", &source_bucket, &queue]);
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(lake_bucket.clone()),
        other => std::env::var(other).ok(),
    })
    .expect("configuration");
    let lake = S3Store::new(&load_aws_config().await, &lake_bucket, config.lake.force_path_style);
    lake.client().create_bucket().bucket(&lake_bucket).send().await.expect("create bucket in moto");
    Some(Setup { python, source_bucket, lake_bucket, queue, lake, config })
}

async fn state(setup: &Setup, store: Box<dyn ObjectStore>) -> State {
    let source = S3Source::new(&load_aws_config().await, setup.config.lake.force_path_style);
    let lake = loglake::function::State { pipeline: setup.config.lake.pipeline.clone(), store };
    State::with_source(lake, Box::new(source), |name| std::env::var(name).ok()).expect("bounds")
}

/// Each notified object's lines (or CloudTrail request ids) exactly once among `rows`.
fn assert_every_line_once(rows: &[Value], objects: &[&BTreeMap<String, (String, Vec<String>)>]) {
    let ids: BTreeSet<&str> = rows.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), rows.len(), "no event id twice");
    let mut expected = 0;
    for (key, (kind, lines)) in objects.iter().flat_map(|o| o.iter()) {
        let of_key: Vec<&Value> = rows.iter().filter(|r| r["log_stream"] == key.as_str()).collect();
        let mut got: Vec<String> = match kind.as_str() {
            "trail" => of_key.iter().map(|r| r["request_id"].as_str().unwrap().to_owned()).collect(),
            _ => of_key
                .iter()
                .filter(|r| r["attributes"]["flow_log_header"].is_null())
                .map(|r| r["message"].as_str().unwrap().to_owned())
                .collect(),
        };
        got.sort();
        let mut want = lines.clone();
        want.sort();
        assert_eq!(got, want, "{key}: every line once");
        expected += want.len() + usize::from(kind == "flow");
    }
    assert_eq!(rows.len(), expected, "every line exactly once");
}

#[tokio::test]
async fn alb_cloudtrail_and_vpc_objects_notified_through_sqs_land_once() {
    let Some(setup) = setup("s3ingest").await else { return };
    let notified = put(&setup.python, &setup.source_bucket, &setup.queue, &["alb", "trail", "flow"]);
    assert_eq!(notified.event.records.len(), 3);
    let state = state(&setup, Box::new(S3Store::new(&load_aws_config().await, &setup.lake_bucket, true))).await;
    let report = handle_at(&state, &notified.event, now_ms(), None).await;
    assert!(report.retry.is_empty() && report.ingest.dead_letters.is_empty(), "{report:?}");
    assert_eq!(report.objects_read, 3);
    let rows = read_bucket_with_pyarrow(&setup.lake, &setup.python).await;
    assert_every_line_once(&rows, &[&notified.objects]);
    for row in &rows {
        let key = row["log_stream"].as_str().unwrap();
        let format = match notified.objects[key].0.as_str() {
            "alb" => "alb",
            "trail" => "cloudtrail",
            _ if row["attributes"]["flow_log_header"].is_string() => "text",
            _ => "vpc_flow",
        };
        assert_eq!(row["format"], format, "{row}");
        assert_eq!((row["source"].as_str(), row["account_id"].as_str()), (Some("s3"), Some("123456789012")));
        assert!(
            row["log_group"]
                .as_str()
                .unwrap()
                .starts_with(&format!("s3://{}/AWSLogs/123456789012/", setup.source_bucket))
        );
    }
    let keys = setup.lake.list("staging/logs/").await.unwrap();

    // The same notifications delivered again: the same objects, the same rows.
    let again = handle_at(&state, &notified.event, now_ms(), None).await;
    assert!(again.retry.is_empty());
    assert_eq!(setup.lake.list("staging/logs/").await.unwrap(), keys);
    assert_eq!(read_bucket_with_pyarrow(&setup.lake, &setup.python).await.len(), rows.len());
}

#[tokio::test]
async fn a_batch_retried_after_a_failure_and_an_overwritten_object_leave_every_line_once() {
    let Some(setup) = setup("s3retry").await else { return };
    let notified = put(&setup.python, &setup.source_bucket, &setup.queue, &["alb", "trail", "flow"]);
    let sdk = load_aws_config().await;

    // A write fails half-way through the batch; SQS delivers the reported messages again.
    let failing = FailAfter::new(S3Store::new(&sdk, &setup.lake_bucket, true), 2);
    let first = handle_at(&state(&setup, Box::new(failing)).await, &notified.event, now_ms(), None).await;
    assert!(!first.retry.is_empty(), "{first:?}");
    let retried = SqsEvent {
        records: notified
            .event
            .records
            .iter()
            .filter(|m| first.retry.iter().any(|r| r.message_id == m.message_id))
            .cloned()
            .collect(),
    };
    let state = state(&setup, Box::new(S3Store::new(&sdk, &setup.lake_bucket, true))).await;
    let second = handle_at(&state, &retried, now_ms(), None).await;
    assert!(second.retry.is_empty(), "{second:?}");
    assert_every_line_once(&read_bucket_with_pyarrow(&setup.lake, &setup.python).await, &[&notified.objects]);

    // The ALB object overwritten: the new content is read anew, and the old notification, read
    // again now, finds its content gone (If-Match) rather than reading the new one under old ids.
    let overwritten = put(&setup.python, &setup.source_bucket, &setup.queue, &["alb:v2"]);
    let late = SqsEvent {
        records: vec![notified.event.records.iter().find(|m| m.body.contains("elasticloadbalancing")).unwrap().clone()],
    };
    let stale = handle_at(&state, &late, now_ms(), None).await;
    assert_eq!(stale.ingest.dead_letters.iter().map(|d| d.kind).collect::<Vec<_>>(), ["object_gone"]);
    let fresh = handle_at(&state, &overwritten.event, now_ms(), None).await;
    assert!(fresh.retry.is_empty() && fresh.ingest.dead_letters.is_empty(), "{fresh:?}");
    let rows = read_bucket_with_pyarrow(&setup.lake, &setup.python).await;
    let alb_key = overwritten.objects.keys().next().unwrap();
    let alb_rows = rows.iter().filter(|r| r["log_stream"] == alb_key.as_str()).count();
    assert_eq!(alb_rows, notified.objects[alb_key].1.len() + overwritten.objects[alb_key].1.len());
    let v2: BTreeSet<&str> = overwritten.objects[alb_key].1.iter().map(String::as_str).collect();
    assert_eq!(rows.iter().filter(|r| v2.contains(r["message"].as_str().unwrap())).count(), v2.len());
}
