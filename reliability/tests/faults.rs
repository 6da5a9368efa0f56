//! Every function through a proxy that injects faults between it and S3 (and Glue, Athena) at
//! 10% and 30% of requests: 503 SlowDown, 500, connection resets before and after the upstream
//! acted, truncated bodies, stalls past the attempt timeout (scripts/fault_proxy.py, in front of
//! moto). The functions run with their own retry logic ([`TEST_POLICY`]: their policy with
//! shorter waits), and an invocation that still fails is invoked again, as its source would.
//! What readers then see holds every record exactly once, and nothing is in `errors/`.
//!
//! Each test prints the requests, the faults injected by kind and the failed invocations
//! (`cargo nextest run -p loglake-reliability --success-output final`). CI runs the workloads as
//! they are; `LOGLAKE_FAULT_SCALE=4` runs four times as much, thousands of requests per function
//! and rate, for RELIABILITY.md's figures.

use std::time::Duration;

use base64::Engine as _;
use loglake::function::{State, now_ms};
use loglake::ingest::firehose::TransformOptions;
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config, retry_partition};
use loglake::testing::{FaultProxy, cloudwatch_payload, integration_python};
use loglake_reliability::{
    CompactorLake, LOG_GROUP, ROLLUP_QUERY, RollupLake, STALL, SourceRetries, TEST_POLICY, assert_every_event_once,
    bucket, by_id, compactor_lake, fault_scale, staging_rows, state_on, subscription_event, visible_curated_rows,
    workload,
};
use serde_json::{Value, json};

/// A function's state as it is built in production, its S3 client going through the proxy.
async fn state_through(proxy: &FaultProxy, bucket: &str) -> State {
    state_on(&proxy.sdk_config(&TEST_POLICY).await, bucket)
}

fn report(function: &str, rate: f64, proxy: &FaultProxy, retries: SourceRetries) {
    println!(
        "{function} at {:.0}% faults: {} inputs, {} failed invocations retried, proxy {:?}",
        rate * 100.0,
        retries.inputs,
        retries.failed_invocations,
        proxy.counts()
    );
    for (error, count) in &retries.errors {
        println!("  {count} × {error}");
    }
}

async fn cloudwatch_through_faults(rate: f64, seed: u64) {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-cw").await;
    let proxy = FaultProxy::start(&python, rate, seed, STALL);
    let state = state_through(&proxy, &bucket).await;
    let now = now_ms();
    let payloads = workload(600 * fault_scale(), 20, now);
    let mut retries = SourceRetries::default();
    for events in &payloads {
        let event = subscription_event(events);
        retries.until_ok("ingest-cloudwatch", || ingest_cloudwatch::handle_at(&state, &event, now)).await;
    }
    report("ingest-cloudwatch", rate, &proxy, retries);
    assert_every_event_once(&direct, staging_rows(&direct, &python).await, &by_id(payloads.iter().flatten())).await;
}

#[tokio::test]
async fn ingest_cloudwatch_at_10_percent_faults_lands_every_event_once() {
    cloudwatch_through_faults(0.10, 11).await;
}

#[tokio::test]
async fn ingest_cloudwatch_at_30_percent_faults_lands_every_event_once() {
    cloudwatch_through_faults(0.30, 31).await;
}

/// Batches of CloudWatch payloads from one shard. A batch that reports a record to retry from
/// is sent again from that record on, as the event source mapping does.
async fn kinesis_through_faults(rate: f64, seed: u64) {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-kinesis").await;
    let proxy = FaultProxy::start(&python, rate, seed, STALL);
    let state = state_through(&proxy, &bucket).await;
    let now = now_ms();
    let payloads = workload(600 * fault_scale(), 20, now);
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, events)| {
            let sequence = format!("4959{i:020}");
            json!({"kinesis": {"partitionKey": "p", "sequenceNumber": sequence, "data": cloudwatch_payload(LOG_GROUP, events),
                               "approximateArrivalTimestamp": now as f64 / 1000.0},
                   "eventID": format!("shardId-000000000000:{sequence}"),
                   "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/logs", "awsRegion": "us-east-1"})
        })
        .collect();
    let mut retries = SourceRetries::default();
    for batch in records.chunks(25) {
        let mut from = 0;
        while from < batch.len() {
            let event = serde_json::from_value(json!({"Records": &batch[from..]})).unwrap();
            let outcome = ingest_kinesis::handle_at(&state, &event, now, &Default::default()).await;
            retries.inputs += 1;
            match outcome.retry_from {
                Some(retry) => {
                    retries.failed_invocations += 1;
                    assert!(retries.failed_invocations < 40 * records.len(), "no progress: {}", retry.reason);
                    let at =
                        batch.iter().position(|r| r["kinesis"]["sequenceNumber"] == retry.sequence_number.as_str());
                    from = at.expect("retry_from names a record of the batch");
                }
                None => from = batch.len(),
            }
        }
    }
    report("ingest-kinesis", rate, &proxy, retries);
    assert_every_event_once(&direct, staging_rows(&direct, &python).await, &by_id(payloads.iter().flatten())).await;
}

#[tokio::test]
async fn ingest_kinesis_at_10_percent_faults_lands_every_event_once() {
    kinesis_through_faults(0.10, 12).await;
}

#[tokio::test]
async fn ingest_kinesis_at_30_percent_faults_lands_every_event_once() {
    kinesis_through_faults(0.30, 32).await;
}

/// Batches of CloudWatch payloads through a delivery stream. A payload over two hours, and
/// those past a response budget made small, go straight to staging (through the proxy); the
/// rows of the last response of each batch are what Firehose delivers.
async fn firehose_through_faults(rate: f64, seed: u64) {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-firehose").await;
    let proxy = FaultProxy::start(&python, rate, seed, STALL);
    let state = state_through(&proxy, &bucket).await;
    let now = now_ms();
    let payloads = workload(600 * fault_scale(), 20, now);
    let mut retries = SourceRetries::default();
    let mut delivered = Vec::new();
    for (b, batch) in payloads.chunks(4).enumerate() {
        let records: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(i, events)| {
                json!({"recordId": format!("{b}-{i}"), "approximateArrivalTimestamp": now,
                                      "data": cloudwatch_payload(LOG_GROUP, events)})
            })
            .collect();
        let event = serde_json::from_value(json!({
            "invocationId": format!("invocation-{b}"), "region": "us-east-1", "records": records,
            "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/logs"}))
        .unwrap();
        let options = TransformOptions { response_budget_bytes: 16 << 10, ..Default::default() };
        let (response, _) = retries
            .until_ok("firehose-transform", || firehose_transform::handle_at(&state, &event, now, &options))
            .await;
        for result in response.records {
            let ndjson = base64::engine::general_purpose::STANDARD.decode(&result.data).unwrap();
            delivered.extend(
                ndjson
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| serde_json::from_slice::<Value>(l).unwrap()),
            );
        }
    }
    report("firehose-transform", rate, &proxy, retries);
    assert!(!delivered.is_empty() && !direct.list("staging/").await.unwrap().is_empty(), "both ways exercised");
    delivered.extend(staging_rows(&direct, &python).await);
    assert_every_event_once(&direct, delivered, &by_id(payloads.iter().flatten())).await;
}

#[tokio::test]
async fn firehose_transform_at_10_percent_faults_lands_every_event_once() {
    firehose_through_faults(0.10, 13).await;
}

#[tokio::test]
async fn firehose_transform_at_30_percent_faults_lands_every_event_once() {
    firehose_through_faults(0.30, 33).await;
}

/// Staging written in rounds (straight to moto), each round compacted through the proxy: an
/// invocation is repeated, as the schedule would, until a run has compacted everything ready.
/// Then the curated table holds every event once, the state has consumed every staging file,
/// and the view in Glue is the state's.
async fn compactor_through_faults(rate: f64, seed: u64) {
    use loglake::compact::state::load_state;
    use loglake::compact::view::{Readers, reader_views};
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-compact").await;
    let CompactorLake { config, database, glue, publisher } = compactor_lake(&bucket).await;
    let direct_sdk = load_aws_config().await;
    let proxy = FaultProxy::start(&python, rate, seed, STALL);
    let sdk = proxy.sdk_config(&TEST_POLICY).await;
    let store = S3Store::new(&sdk, &bucket, true);
    let glue_config = aws_sdk_glue::config::Builder::from(&sdk).retry_partition(retry_partition("glue")).build();
    let view = compactor::GlueView { client: aws_sdk_glue::Client::from_conf(glue_config), database: database.clone() };
    let readers = Readers { view: &view, path_prefix: format!("s3://{bucket}/") };
    let spill = tempfile::tempdir().unwrap();
    let staging = state_on(&direct_sdk, &bucket);
    let now = now_ms();
    let payloads = workload(240 * fault_scale(), 20, now);
    let mut retries = SourceRetries::default();
    let mut runs = 0;
    for (round, payloads) in payloads.chunks(40).enumerate() {
        for events in payloads {
            ingest_cloudwatch::handle_at(&staging, &subscription_event(events), now).await.unwrap();
        }
        loop {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
            let request = format!("round-{round}-run-{runs}");
            let records = retries
                .until_ok("compactor", || {
                    compactor::handle(&config, &store, &readers, spill.path(), &request, deadline)
                })
                .await;
            runs += 1;
            assert!(runs < 20 * (round + 1), "compaction makes no progress: {records:?}");
            let last = records.last().expect("a run record");
            if last.skipped.is_none() && last.failed_hours.is_empty() && last.hours_waiting == 0 {
                break;
            }
        }
    }
    report("compactor", rate, &proxy, retries);
    let state = load_state(&direct).await.unwrap();
    let staged = direct.list("staging/").await.unwrap();
    assert!(staged.iter().all(|key| state.consumed.contains_key(key)), "every staging file consumed");
    for view in reader_views(&state, &readers.path_prefix) {
        let text = glue.get_table().database_name(&database).name(&view.name).send().await.unwrap();
        let text = text.table().unwrap().view_original_text().unwrap().to_owned();
        assert_eq!(text, publisher.table_input(&view).unwrap().view_original_text().unwrap(), "{}", view.name);
    }
    // Everything was compacted: the curated files the state shows hold every event by themselves.
    let rows = visible_curated_rows(&direct, &python, &state).await;
    assert_every_event_once(&direct, rows, &by_id(payloads.iter().flatten())).await;
}

#[tokio::test]
async fn compactor_at_10_percent_faults_compacts_every_event_once() {
    compactor_through_faults(0.10, 14).await;
}

#[tokio::test]
async fn compactor_at_30_percent_faults_compacts_every_event_once() {
    compactor_through_faults(0.30, 34).await;
}

/// A conditional write whose response is lost (the connection reset after S3 wrote it) is
/// retried by the SDK and then fails its condition against itself. The store reads the object
/// back and knows its own write: before, the lease and the compaction state took it for another
/// writer's (a run then found the lease busy, held by itself, until it expired).
#[tokio::test]
async fn a_conditional_write_whose_response_was_lost_is_known_as_its_own() {
    use loglake::lake::storage::{Expected, StorageError};
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-put-if").await;
    let proxy = FaultProxy::start_with(&python, 1.0, 1, STALL, &["--kinds", "reset_after", "--max-faults", "1"]);
    let store = S3Store::new(&proxy.sdk_config(&TEST_POLICY).await, &bucket, true);
    let version = store.put_if("lease.json", b"mine".to_vec(), Expected::Absent).await.expect("written once");
    assert_eq!(proxy.counts()["reset_after"], 1);
    assert_eq!(direct.get_versioned("lease.json").await.unwrap(), Some((b"mine".to_vec(), version.clone())));
    // Another writer's object is still a conflict, read back or not.
    let theirs = store.put_if("lease.json", b"theirs".to_vec(), Expected::Absent).await;
    assert!(matches!(theirs, Err(StorageError::Conflict { .. })), "{theirs:?}");
    let replaced = store.put_if("lease.json", b"next".to_vec(), Expected::Version(&version)).await.unwrap();
    assert_ne!(replaced, version);
}

/// Named runs of the hourly rollup, one per window over two days, through the proxy (Athena and
/// S3 both). moto runs no SQL: each execution serves a queued result, the same rows for every
/// window. Each window's summary then holds those rows once, and each window has one run
/// recorded per execution. Each test has its Athena in a region of its own: moto's queue of
/// results is per region.
async fn query_runner_through_faults(rate: f64, seed: u64, region: &'static str) {
    use query_runner::{Outcome, RunEvent};
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-rollup").await;
    let windows = 48 * fault_scale();
    // More results than windows: a start retried after a lost response may make an execution.
    let lake = RollupLake::new(&bucket, &direct, region, windows, windows * 3).await;
    let proxy = FaultProxy::start(&python, rate, seed, STALL);
    let sdk = proxy.sdk_config(&TEST_POLICY).await;
    let store = S3Store::new(&sdk, &bucket, true);
    let runner = lake.runner(&sdk, &store);
    let mut retries = SourceRetries::default();
    for window in &lake.windows {
        let event = RunEvent { query: ROLLUP_QUERY.into(), window: Some(window.clone()), scheduled_time: None };
        let until = || std::time::Instant::now() + std::time::Duration::from_secs(60);
        let out = retries.until_ok("query-runner", || runner.handle(&event, until())).await;
        assert!(matches!(out[0].outcome, Outcome::Stored { rows: 1, .. }), "{window}: {out:?}");
    }
    report("query-runner", rate, &proxy, retries);
    lake.check(&direct, &python, true).await;
}

#[tokio::test]
async fn query_runner_at_10_percent_faults_stores_each_summary_once() {
    query_runner_through_faults(0.10, 15, "us-west-1").await;
}

#[tokio::test]
async fn query_runner_at_30_percent_faults_stores_each_summary_once() {
    query_runner_through_faults(0.30, 35, "us-west-2").await;
}

/// A GET whose body is cut short (the connection reset halfway through it) is read again: the
/// SDK retries a call only until its response's headers, so before, the truncated body failed
/// the read and with it the invocation.
#[tokio::test]
async fn a_get_whose_body_is_cut_short_is_read_again() {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-get").await;
    let body: Vec<u8> = (0..100_000u32).flat_map(|n| n.to_le_bytes()).collect();
    direct.put("staging/object", body.clone()).await.unwrap();
    let proxy = FaultProxy::start_with(&python, 1.0, 1, STALL, &["--kinds", "truncate", "--max-faults", "1"]);
    let store = S3Store::new(&proxy.sdk_config(&TEST_POLICY).await, &bucket, true);
    assert!(store.get("staging/object").await.expect("read again after the cut") == body);
    assert_eq!(proxy.counts()["truncate"], 1);
}

/// A call that gets no answer is abandoned after the policy's attempt timeout and sent again: a
/// stalled S3 connection costs one attempt, not the invocation's whole time. The proxy stalls
/// each call's first attempt for a minute (after forwarding it: the write happened); each call
/// must end well before that. (Without an attempt timeout, the SDK's default, each waits out the
/// stall and the test fails.)
#[tokio::test]
async fn a_stalled_call_is_abandoned_after_the_attempt_timeout_and_sent_again() {
    let Some(python) = integration_python() else { return };
    let (bucket, direct) = bucket("faults-stall").await;
    direct.put("staging/object", b"written before".to_vec()).await.unwrap();
    let stall = Duration::from_secs(60);
    let proxy = FaultProxy::start_with(&python, 1.0, 1, stall, &["--kinds", "stall", "--max-faults", "2"]);
    let store = S3Store::new(&proxy.sdk_config(&TEST_POLICY).await, &bucket, true);
    // The bound: a few attempt timeouts, far below the stall.
    let bound = TEST_POLICY.attempt_timeout * 10;
    let read = tokio::time::timeout(bound, store.get("staging/object")).await;
    assert_eq!(read.expect("the stalled GET was abandoned and sent again").unwrap(), b"written before");
    let written = tokio::time::timeout(bound, store.put("staging/other", b"written through".to_vec())).await;
    written.expect("the stalled PUT was abandoned and sent again").unwrap();
    assert_eq!(direct.get("staging/other").await.unwrap(), b"written through");
    assert_eq!(proxy.counts()["stall"], 2, "both calls' first attempts stalled");
}
