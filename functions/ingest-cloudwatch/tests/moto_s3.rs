//! The handler against a real S3 API: moto in server mode on 127.0.0.1, through the real
//! aws-sdk-s3 client configured the production way (`AWS_ENDPOINT_URL`, path-style setting).
//! The Parquet it writes is read back by pyarrow and compared record by record with the input.
//!
//! Needs `AWS_ENDPOINT_URL` pointing at moto and `LOGLAKE_TEST_PYTHON` (a Python with pyarrow);
//! `scripts/test.sh` sets both. Without them the test says it was skipped, and fails instead
//! when `LOGLAKE_REQUIRE_INTEGRATION=1` (as in CI).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ingest_cloudwatch::{Config, State, handle_at};
use loglake::decode::subscription::SubscriptionEvent;
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config};
use loglake::testing::{integration_python, read_bucket_with_pyarrow, unique_bucket};
use serde_json::Value;

const NOW: i64 = 1_795_168_900_000;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/ingest-cloudwatch")
}

/// The production configuration path, with the bucket of this test.
async fn state_for(bucket: &str) -> State {
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.to_owned()),
        other => std::env::var(other).ok(),
    })
    .expect("configuration");
    assert!(config.force_path_style, "scripts/test.sh sets LOGLAKE_S3_FORCE_PATH_STYLE=true for moto");
    State::from_config(config).await
}

fn read_event(name: &str) -> SubscriptionEvent {
    serde_json::from_slice(&std::fs::read(events_dir().join(name)).unwrap()).unwrap()
}

fn decoded_events(name: &str) -> (Value, Vec<Value>) {
    let payload: Value =
        serde_json::from_slice(&std::fs::read(events_dir().join("decoded").join(name)).unwrap()).unwrap();
    let events = payload["logEvents"].as_array().unwrap().clone();
    (payload, events)
}

#[tokio::test]
async fn handler_writes_parquet_to_s3_that_pyarrow_reads_back_record_by_record() {
    let Some(python) = integration_python() else { return };
    let bucket = unique_bucket("ingest");
    let sdk = load_aws_config().await;
    let s3 = S3Store::new(&sdk, &bucket, true);
    s3.client().create_bucket().bucket(&bucket).send().await.expect("create bucket in moto");
    let state = state_for(&bucket).await;

    let mut expected: BTreeMap<String, (String, String)> = BTreeMap::new();
    for name in ["text-batch.json", "json-batch.json", "lambda-runtime-batch.json"] {
        let report = handle_at(&state, &read_event(name), NOW).await.expect(name);
        let (payload, events) = decoded_events(name);
        assert_eq!((report.records + report.joined_lines, report.dead_letters.len()), (events.len(), 0), "{name}");
        // A record per event, or per group of lines a stream split from one event (runtime logs).
        let group = payload["logGroup"].as_str().unwrap();
        let messages: Vec<&str> = events.iter().map(|e| e["message"].as_str().unwrap()).collect();
        let groups = if loglake::config::Multiline::default().for_log_group(group) {
            loglake::parse::multiline::groups(messages.iter().copied())
        } else {
            (0..messages.len())
                .map(|first| loglake::parse::multiline::Group { first, lines: 1, orphan: false })
                .collect()
        };
        assert_eq!(groups.len(), report.records, "{name}");
        for g in groups {
            let text = if g.lines == 1 {
                messages[g.first].to_owned()
            } else {
                messages[g.first..g.first + g.lines]
                    .iter()
                    .map(|m| m.trim_end_matches('\n'))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let previous =
                expected.insert(events[g.first]["id"].as_str().unwrap().to_owned(), (text, group.to_owned()));
            assert!(previous.is_none());
        }
    }
    let control = handle_at(&state, &read_event("control-message.json"), NOW).await.unwrap();
    assert_eq!((control.control_messages, control.records), (1, 0));
    let bad =
        handle_at(&state, &read_event("truncated-gzip.json"), NOW).await.expect("bad input is not a failed invocation");
    assert_eq!(bad.dead_letters.len(), 1);
    assert_eq!(bad.dead_letters[0].kind, "corrupt_gzip");

    // Retrying every event (as Lambda may) must not add a record.
    for name in ["text-batch.json", "json-batch.json", "lambda-runtime-batch.json", "truncated-gzip.json"] {
        handle_at(&state, &read_event(name), NOW + 1000).await.unwrap();
    }

    let keys = s3.list("").await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.starts_with("errors/")).count(), 1, "{keys:?}");
    let letter: Value =
        serde_json::from_slice(&s3.get(keys.iter().find(|k| k.starts_with("errors/")).unwrap()).await.unwrap())
            .unwrap();
    assert_eq!(letter["raw"], read_event("truncated-gzip.json").awslogs.data.as_str());
    let rows = read_bucket_with_pyarrow(&s3, &python).await;

    assert_eq!(rows.len(), expected.len(), "every record exactly once");
    let mut seen = BTreeMap::new();
    for row in &rows {
        let id = row["event_id"].as_str().unwrap();
        let (message, group) = expected.get(id).unwrap_or_else(|| panic!("unexpected id {id}"));
        assert_eq!(row["message"].as_str().unwrap(), message, "{id}");
        assert_eq!(row["log_group"].as_str().unwrap(), group, "{id}");
        assert_eq!(row["source"], "cloudwatch");
        assert_eq!(row["account_id"], "123456789012");
        // The partition columns come from the event time.
        let event_time = row["event_time"].as_i64().unwrap();
        let partition = loglake::lake::layout::Partition::of(event_time, chrono_tz::Tz::UTC);
        assert_eq!(
            (row["dt"].as_str().unwrap(), row["hour"].as_str().unwrap()),
            (partition.dt().as_str(), partition.hour().as_str())
        );
        assert!(seen.insert(id.to_owned(), ()).is_none(), "{id} twice");
    }
    let report_row =
        rows.iter().find(|r| r["message"].as_str().unwrap().starts_with("REPORT RequestId: 4c7e")).unwrap();
    assert_eq!(report_row["attributes"]["init_duration_ms"], "178.55");
    assert_eq!(report_row["trace_id"], "1-673db5aa-0123456789abcdef01234567");
}

#[tokio::test]
async fn a_missing_bucket_fails_the_invocation_as_a_retryable_storage_error() {
    let Some(_) = integration_python() else { return };
    let state = state_for(&unique_bucket("missing")).await;
    let error = handle_at(&state, &read_event("json-batch.json"), NOW).await.unwrap_err();
    assert!(error.is_retryable());
    let diagnostic = loglake_lambda::diagnostic(&error);
    assert_eq!(diagnostic.error_type, "Loglake.StorageError");
    assert!(diagnostic.error_message.contains("NoSuchBucket"), "{}", diagnostic.error_message);
}
