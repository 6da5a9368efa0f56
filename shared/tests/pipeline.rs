//! The pipeline end to end on a local lake: what goes in comes out, once, in the right
//! partition; bad input is dead-lettered; a storage failure fails the call.

mod common;

use std::collections::BTreeMap;

use common::lake_rows;
use loglake::config::PipelineConfig;
use loglake::decode::subscription::encode_data;
use loglake::ingest::cloudwatch::ingest_cloudwatch_data;
use loglake::ingest::write::IngestError;
use loglake::lake::storage::{FailAfter, LocalStore, ObjectStore};
use serde_json::json;

const NOW: i64 = 1_795_168_900_000; // 2026-11-20T10:01:40Z

fn payload(group: &str, events: &[(&str, i64, &str)]) -> String {
    let events: Vec<_> =
        events.iter().map(|(id, ts, msg)| json!({"id": id, "timestamp": ts, "message": msg})).collect();
    let body = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
        "logStream": "2026/11/20/[$LATEST]abc", "subscriptionFilters": ["loglake"], "logEvents": events
    });
    encode_data(body.to_string().as_bytes())
}

fn config() -> PipelineConfig {
    PipelineConfig { region: "eu-west-1".into(), ..PipelineConfig::default() }
}

#[tokio::test]
async fn every_event_lands_once_with_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let events = [
        ("e1", 1_795_168_800_000, "{\"level\":\"warn\",\"message\":\"disk 91%\",\"requestId\":\"r-1\"}"),
        ("e2", 1_795_168_801_000, "START RequestId: r-2 Version: $LATEST\n"),
        ("e3", 1_795_165_200_000, "plain ERROR in the previous hour"),
        ("e4", 1_795_168_802_000, "caf\u{e9} \"quoted\" \\ \u{1f980}"),
    ];
    let data = payload("/aws/lambda/orders", &events);
    let report = ingest_cloudwatch_data(&data, &config(), NOW, &store).await.unwrap();
    assert_eq!((report.log_events, report.records, report.dead_letters.len()), (4, 4, 0));
    assert_eq!(report.objects.len(), 2, "two hours, two partitions");
    assert_eq!(report.formats, BTreeMap::from([("json", 1), ("lambda", 1), ("text", 2)]));
    assert_eq!(report.message_bytes, events.iter().map(|e| e.2.len()).sum::<usize>());

    let keys = store.list("staging/logs/").await.unwrap();
    assert!(keys[0].starts_with("staging/logs/dt=2026-11-20/hour=09/cloudwatch-aws_lambda_orders-"), "{keys:?}");
    assert!(keys[1].starts_with("staging/logs/dt=2026-11-20/hour=10/"), "{keys:?}");

    let rows = lake_rows(&store).await;
    assert_eq!(rows.len(), 4);
    for (row, (id, ts, message)) in rows.iter().zip(events) {
        assert_eq!((row.event_id.as_str(), row.event_time, row.message.as_str()), (id, ts, message));
        assert_eq!(
            (row.source.as_str(), row.account_id.as_str(), row.region.as_str()),
            ("cloudwatch", "123456789012", "eu-west-1")
        );
        assert_eq!(
            (row.log_group.as_str(), row.log_stream.as_str()),
            ("/aws/lambda/orders", "2026/11/20/[$LATEST]abc")
        );
        assert_eq!(row.attributes.get("subscription_filters").map(String::as_str), Some("loglake"));
    }
    assert_eq!(
        (rows[0].format.as_str(), rows[0].level.as_deref(), rows[0].request_id.as_deref()),
        ("json", Some("WARN"), Some("r-1"))
    );
    assert_eq!(rows[0].attributes.get("msg").map(String::as_str), Some("disk 91%"));
    assert_eq!((rows[1].format.as_str(), rows[1].request_id.as_deref()), ("lambda", Some("r-2")));
    assert_eq!(rows[2].level.as_deref(), Some("ERROR"));
    assert_eq!(rows[3].level, None);
}

#[tokio::test]
async fn a_retried_invocation_rewrites_the_same_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let data = payload("g", &[("a", 1_795_168_800_000, "one"), ("b", 1_795_165_200_000, "two")]);
    let first = ingest_cloudwatch_data(&data, &config(), NOW, &store).await.unwrap();
    let second = ingest_cloudwatch_data(&data, &config(), NOW + 60_000, &store).await.unwrap();
    let first_keys: Vec<_> = first.objects.iter().map(|o| o.key.clone()).collect();
    let second_keys: Vec<_> = second.objects.iter().map(|o| o.key.clone()).collect();
    assert_eq!(first_keys, second_keys);
    assert_eq!(store.list("").await.unwrap(), first_keys);
    assert_eq!(lake_rows(&store).await.len(), 2);

    // Other events make other objects.
    let other = payload("g", &[("c", 1_795_168_800_000, "three")]);
    ingest_cloudwatch_data(&other, &config(), NOW, &store).await.unwrap();
    assert_eq!(lake_rows(&store).await.len(), 3);
}

#[tokio::test]
async fn partitions_follow_the_configured_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let tokyo = PipelineConfig { partition_time_zone: chrono_tz::Asia::Tokyo, ..config() };
    // 2026-11-20T15:30:00Z is 2026-11-21 00:30 in Tokyo.
    let data = payload("g", &[("a", 1_795_188_600_000, "late UTC, early Tokyo")]);
    let report = ingest_cloudwatch_data(&data, &tokyo, 1_795_188_600_000, &store).await.unwrap();
    assert_eq!(report.objects[0].partition, "dt=2026-11-21/hour=00");
    let rows = lake_rows(&store).await;
    assert_eq!(rows[0].event_time, 1_795_188_600_000, "event_time itself stays UTC");
}

#[tokio::test]
async fn a_control_message_writes_nothing_and_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let body = json!({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":NOW,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]});
    let report =
        ingest_cloudwatch_data(&encode_data(body.to_string().as_bytes()), &config(), NOW, &store).await.unwrap();
    assert_eq!((report.control_messages, report.records, report.dead_letters.len()), (1, 0, 0));
    assert!(store.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn undecodable_input_is_dead_lettered_with_reason_and_raw_input() {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let good = loglake::decode::subscription::gzip(br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"x"}]}"#);
    let cases = [
        ("invalid_base64", "this is not base64!".to_owned()),
        ("not_gzip", b64(b"{\"messageType\":\"DATA_MESSAGE\"}")),
        ("corrupt_gzip", b64(&good[..good.len() / 2])),
        ("invalid_json", encode_data(b"{\"messageType\": nope")),
        ("invalid_utf8", encode_data(b"{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"\xff\"}")),
        (
            "empty_log_events",
            encode_data(br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#),
        ),
        ("too_large", encode_data(&vec![b' '; 4096])),
    ];
    let small = PipelineConfig {
        bounds: loglake::decode::bounds::InputBounds { decoded_bytes: 2048, ..Default::default() },
        ..config()
    };
    for (kind, data) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let report = ingest_cloudwatch_data(&data, &small, NOW, &store).await.expect(kind);
        assert_eq!(report.records, 0, "{kind}");
        assert_eq!(report.dead_letters.len(), 1, "{kind}");
        assert_eq!(report.dead_letters[0].kind, kind);
        let keys = store.list("").await.unwrap();
        assert_eq!(keys.len(), 1, "{kind}: only the dead letter is written");
        assert!(keys[0].starts_with("errors/cloudwatch/"), "{kind}: {keys:?}");
        let letter: serde_json::Value = serde_json::from_slice(&store.get(&keys[0]).await.unwrap()).unwrap();
        assert_eq!(letter["error_kind"], kind);
        assert_eq!(letter["raw"], data.as_str(), "{kind}: the raw input is kept as received");
        assert!(!letter["reason"].as_str().unwrap().is_empty());
        // The same bad input again does not add a second dead letter.
        ingest_cloudwatch_data(&data, &small, NOW + 1, &store).await.unwrap();
        assert_eq!(store.list("").await.unwrap().len(), 1, "{kind}");
    }
}

#[tokio::test]
async fn a_storage_failure_fails_the_call_and_the_retry_converges() {
    let dir = tempfile::tempdir().unwrap();
    let failing = FailAfter::new(LocalStore::new(dir.path()), 1);
    let data = payload("g", &[("a", 1_795_168_800_000, "one"), ("b", 1_795_165_200_000, "two")]);
    let error = ingest_cloudwatch_data(&data, &config(), NOW, &failing).await.unwrap_err();
    assert!(matches!(error, IngestError::Storage(_)));
    assert!(error.is_retryable());
    assert_eq!(error.error_type(), "Loglake.StorageError");
    assert!(error.to_string().contains("s3://lake/staging/logs/"), "{error}");

    // Lambda retries the whole payload: the object written before the failure is rewritten,
    // not duplicated.
    let store = LocalStore::new(dir.path());
    ingest_cloudwatch_data(&data, &config(), NOW, &store).await.unwrap();
    let rows = lake_rows(&store).await;
    assert_eq!(rows.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(store.list("").await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_dead_letter_that_cannot_be_written_fails_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let failing = FailAfter::new(LocalStore::new(dir.path()), 0);
    let error = ingest_cloudwatch_data("not base64!", &config(), NOW, &failing).await.unwrap_err();
    assert!(error.is_retryable(), "losing the dead letter would lose the input silently");
    assert!(failing.written().is_empty());
}

/// Backfill (FilterLogEvents) and live delivery (the subscription payload) of the same events
/// must make the same rows, so that deduplicating by `event_id` keeps exactly one of each.
#[tokio::test]
async fn backfilled_events_make_the_same_rows_as_delivered_ones() {
    use loglake::ingest::cloudwatch::{StoredLogEvent, ingest_log_events};
    use loglake::ingest::report::IngestReport;
    let events = [
        ("3733", 1_795_168_800_000, "{\"level\":\"warn\",\"message\":\"disk 91%\",\"requestId\":\"r-1\"}"),
        (
            "3734",
            1_795_168_801_000,
            "REPORT RequestId: r-2\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
        ),
        ("3735", 1_795_165_200_000, "plain ERROR in the previous hour"),
    ];
    let live_dir = tempfile::tempdir().unwrap();
    let live = LocalStore::new(live_dir.path());
    ingest_cloudwatch_data(&payload("/aws/lambda/orders", &events), &config(), NOW, &live).await.unwrap();

    let backfill_dir = tempfile::tempdir().unwrap();
    let backfill = LocalStore::new(backfill_dir.path());
    let stored: Vec<StoredLogEvent> = events
        .iter()
        .map(|(id, ts, m)| StoredLogEvent {
            id: id.to_string(),
            log_stream: "2026/11/20/[$LATEST]abc".into(),
            timestamp_ms: *ts,
            message: m.to_string(),
        })
        .collect();
    let mut report = IngestReport::default();
    ingest_log_events("123456789012", "/aws/lambda/orders", &stored, &config(), NOW, &backfill, &mut report)
        .await
        .unwrap();
    assert_eq!(report.records, 3);

    let mut live_rows = lake_rows(&live).await;
    let mut backfill_rows = lake_rows(&backfill).await;
    // The live payload names its subscription filter; history has none.
    for row in &mut live_rows {
        row.attributes.remove("subscription_filters");
    }
    for row in &mut backfill_rows {
        row.attributes.remove("subscription_filters");
    }
    assert_eq!(backfill_rows, live_rows);
}

/// A container's stack trace arrives one line per event: the lines are joined into one record
/// with the first line's id and time, nothing is dropped, a batch that starts inside a trace
/// keeps that line apart (marked), and a retry writes the same objects.
#[tokio::test]
async fn lines_a_stream_split_are_joined_into_their_event() {
    let events = [
        ("c0", 1_795_168_800_000, "\tat com.example.Queue.poll(Queue.java:88)"),
        ("c1", 1_795_168_800_001, "2026-11-20 10:00:01,000 ERROR [main] c.e.Checkout - order failed"),
        ("c2", 1_795_168_800_002, "java.lang.IllegalStateException: cart is empty"),
        ("c3", 1_795_168_800_003, "\tat com.example.Checkout.place(Checkout.java:42)"),
        ("c4", 1_795_168_800_004, "Caused by: java.io.IOException: pricing unreachable"),
        ("c5", 1_795_168_800_005, "\t... 2 more"),
        ("c6", 1_795_168_800_006, "2026-11-20 10:00:02,000 INFO [main] c.e.Checkout - next order"),
    ];
    let data = payload("/ecs/checkout", &events);
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let report = ingest_cloudwatch_data(&data, &config(), NOW, &store).await.unwrap();
    assert_eq!((report.log_events, report.records, report.joined_lines), (7, 3, 4));
    let rows = lake_rows(&store).await;
    let by_id: BTreeMap<&str, &common::Row> = rows.iter().map(|r| (r.event_id.as_str(), r)).collect();
    assert_eq!(by_id.keys().copied().collect::<Vec<_>>(), ["c0", "c1", "c6"]);
    let joined = by_id["c1"];
    let lines: Vec<&str> = events[1..6].iter().map(|e| e.2).collect();
    assert_eq!(joined.message, lines.join("\n"), "every line kept, in order");
    assert_eq!(joined.event_time, 1_795_168_800_001, "the first line's time");
    assert_eq!(joined.level.as_deref(), Some("ERROR"));
    assert_eq!(joined.attributes.get("multiline_lines").map(String::as_str), Some("5"));
    assert_eq!(by_id["c0"].attributes.get("multiline").map(String::as_str), Some("continuation"));

    let objects = store.list("staging/").await.unwrap();
    ingest_cloudwatch_data(&data, &config(), NOW, &store).await.unwrap();
    assert_eq!(store.list("staging/").await.unwrap(), objects, "a retry rewrites the same objects");
    assert_eq!(lake_rows(&store).await.len(), 3);

    // Off for this log group: one record per event.
    let off = PipelineConfig { multiline: loglake::config::Multiline::parse("/ecs/checkout=off").unwrap(), ..config() };
    let report =
        ingest_cloudwatch_data(&data, &off, NOW, &LocalStore::new(tempfile::tempdir().unwrap().path())).await.unwrap();
    assert_eq!((report.records, report.joined_lines), (7, 0));
    // Not a runtime log group: off by default.
    let other = payload("/custom/app", &events);
    let report = ingest_cloudwatch_data(&other, &config(), NOW, &LocalStore::new(tempfile::tempdir().unwrap().path()))
        .await
        .unwrap();
    assert_eq!(report.records, 7);
}

/// CloudTrail's `Records` form (one message holding many records) becomes one record per
/// element, each with its own JSON as the message and the event's id and index as its id; a
/// `Records` array of anything else stays one JSON record.
#[tokio::test]
async fn a_cloudtrail_records_array_is_one_record_per_element() {
    let record = |name: &str, second: u32| {
        format!(
            r#"{{"eventVersion":"1.09","eventTime":"2026-11-20T10:00:{second:02}Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","requestID":"req-{name}","userIdentity":{{"type":"Root","arn":"arn:aws:iam::123456789012:root"}}}}"#
        )
    };
    let elements = [record("CreateUser", 1), record("AttachUserPolicy", 2), record("DeleteUser", 3)];
    let array = format!(r#"{{"Records":[{}]}}"#, elements.join(","));
    let not_trail = r#"{"Records":[{"id":1},{"id":2}]}"#;
    let data = payload(
        "/aws/cloudtrail/org",
        &[("t1", 1_795_168_800_000, array.as_str()), ("t2", 1_795_168_800_500, not_trail)],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let report = ingest_cloudwatch_data(&data, &config(), NOW, &store).await.unwrap();
    assert_eq!((report.log_events, report.records, report.split_records), (2, 4, 2));
    let rows = lake_rows(&store).await;
    let by_id: BTreeMap<&str, &common::Row> = rows.iter().map(|r| (r.event_id.as_str(), r)).collect();
    assert_eq!(by_id.keys().copied().collect::<Vec<_>>(), ["t1:0", "t1:1", "t1:2", "t2"]);
    for (i, element) in elements.iter().enumerate() {
        let row = by_id[format!("t1:{i}").as_str()];
        assert_eq!((row.format.as_str(), row.message.as_str()), ("cloudtrail", element.as_str()));
        assert_eq!(row.event_time, 1_795_168_801_000 + 1000 * i as i64);
    }
    assert_eq!(by_id["t1:1"].attributes.get("event_name").map(String::as_str), Some("AttachUserPolicy"));
    assert_eq!((by_id["t2"].format.as_str(), by_id["t2"].message.as_str()), ("json", not_trail));
}

/// A flow log header line in a payload names the field order of the lines after it.
#[tokio::test]
async fn a_flow_log_header_names_the_fields_of_the_lines_after_it() {
    let events = [
        ("h0", 1_795_168_800_000, "version vpc-id srcaddr dstaddr pkt-srcaddr action log-status flow-direction"),
        ("h1", 1_795_168_800_001, "5 vpc-0123456789abcdef0 10.0.0.5 52.94.1.1 10.0.3.7 REJECT OK egress"),
        ("h2", 1_795_168_800_002, "5 vpc-0123456789abcdef0 10.0.0.6 52.94.1.2 - ACCEPT OK ingress"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    ingest_cloudwatch_data(&payload("/vpc/flows", &events), &config(), NOW, &store).await.unwrap();
    let rows = lake_rows(&store).await;
    let by_id: BTreeMap<&str, &common::Row> = rows.iter().map(|r| (r.event_id.as_str(), r)).collect();
    assert_eq!(by_id["h0"].attributes.get("flow_log_header").map(String::as_str), Some("true"));
    for (id, direction) in [("h1", "egress"), ("h2", "ingress")] {
        assert_eq!(by_id[id].format, "vpc_flow", "{id}");
        assert_eq!(by_id[id].attributes.get("flow_direction").map(String::as_str), Some(direction));
    }
    assert_eq!(by_id["h1"].attributes.get("pkt_src_addr").map(String::as_str), Some("10.0.3.7"));
    // Without the header the 8-field lines match no known order: text, marked, and counted in
    // the report so that the log group's order gets configured.
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let report = ingest_cloudwatch_data(&payload("/vpc/flows", &events[1..]), &config(), NOW, &store).await.unwrap();
    let rows = lake_rows(&store).await;
    assert!(rows.iter().all(|r| r.format == "text"));
    assert!(rows.iter().all(|r| r.attributes.get("flow_log_order").map(String::as_str) == Some("unknown")));
    assert_eq!(report.flow_log_order_unknown, 2);
}

/// Found by the cloudwatch_payload fuzz target's long campaign (its input is in
/// fuzz/regressions/cloudwatch_payload/): a line that reads as a flow log header
/// (`tgw-pair-attachment-id`, one field name) followed by lines the multi-line joiner took as
/// its continuation (`Caused by: …`). The header branch made one record of the first line and
/// dropped the two lines joined to it, uncounted. (Fails on the old code: 8 of 10 events.)
#[test]
fn lines_joined_to_a_header_looking_line_are_not_dropped() {
    use loglake::decode::subscription::{MessageType, parse_payload};
    use loglake::ingest::payload::normalize_payload;
    let input = "../fuzz/regressions/cloudwatch_payload/crash-a44fc26b034ea74eb1eedbe86eb1213425541e11";
    let data = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(input)).unwrap();
    let Ok((MessageType::Data, payload)) = parse_payload(&data) else { panic!("a data message") };
    let config = loglake::config::PipelineConfig::default();
    let out = normalize_payload(&payload, "cloudwatch", &config, NOW, &mut config.bounds.budget()).unwrap();
    let events = payload.log_events.len();
    assert_eq!(out.records.len() + out.joined_lines, events, "every event is a record or joined into one");
    let text: Vec<&str> = out.records.iter().map(|r| r.message.as_ref()).collect();
    let text = text.join("\n");
    for event in &payload.log_events {
        assert!(text.contains(event.message.trim_end()), "{:?} is in a record", event.message);
    }
}

/// Every loglake stack's functions log under `/loglake/` (template.yaml). Those events are never
/// ingested — by this stack or another — and an invocation holding nothing else writes nothing:
/// no object, no dead letter, no metric line (which would itself be a log event to deliver).
#[tokio::test]
async fn loglake_own_log_events_are_never_ingested_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let own = payload(
        "/loglake/other-stack/ingest-cloudwatch",
        &[("1", NOW, r#"{"level":"INFO","fields":{"message":"ingested"}}"#), ("2", NOW, "REPORT RequestId: 7f")],
    );
    let report = ingest_cloudwatch_data(&own, &config(), NOW, &store).await.unwrap();
    assert_eq!((report.own_log_events, report.records, report.dead_letters.len()), (2, 0, 0));
    assert!(store.list("").await.unwrap().is_empty());
    assert!(report.only_own_logs() && report.measurement(NOW).values.is_empty());

    // A group that merely contains the word is a user's: ingested and measured.
    let theirs = payload("/aws/loglake/app", &[("3", NOW, "hello")]);
    let report = ingest_cloudwatch_data(&theirs, &config(), NOW, &store).await.unwrap();
    assert_eq!((report.own_log_events, report.records), (0, 1));
    assert!(!report.only_own_logs() && !report.measurement(NOW).values.is_empty());
}
