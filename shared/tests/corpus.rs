//! Real CloudWatch Logs events and payloads written by others (../shared/corpus, read through
//! `LOGLAKE_CORPUS`, never copied into the project) go through the pipeline: every data message
//! lands whole, the known-bad ones become dead letters, and Lambda runtime lines are recognised.
//! Without `LOGLAKE_CORPUS` the test says it was skipped (and fails when
//! `LOGLAKE_REQUIRE_CORPUS=1`, as scripts/test.sh sets when the corpus is beside the checkout).

use std::path::PathBuf;

mod common;

use common::corpus;
use loglake::config::PipelineConfig;
use loglake::decode::subscription::{SubscriptionEvent, decompress_base64, encode_data, parse_payload};
use loglake::ingest::cloudwatch::ingest_cloudwatch_data;
use loglake::ingest::payload::normalize_payload;
use loglake::lake::record::LineFormat;
use loglake::lake::storage::LocalStore;

/// Well after every corpus timestamp, so CloudWatch timestamps are plausible.
const NOW: i64 = 1_900_000_000_000;

#[tokio::test]
async fn real_subscription_events_land_or_are_dead_lettered_as_expected() {
    let Some(root) = corpus() else { return };
    let cases = [
        ("fixtures/aws_lambda_events/example-cloudwatch_logs-event.json", None),
        ("fixtures/aws_lambda_go/cloudwatch-logs-event.json", None),
        ("fixtures/powertools_python/cloudWatchLogEvent.json", None),
        // Hand-made with zlib instead of gzip (see SOURCES.md).
        ("fixtures/powertools_python/cloudWatchLogEventWithPolicyLevel.json", Some("not_gzip")),
        // The base64 is elided with "..." in the documentation.
        ("fixtures/awsdocs/lambda-cloudwatchlogs-event-elided.json", Some("invalid_base64")),
    ];
    for (file, expected_dead_letter) in cases {
        let event: SubscriptionEvent = serde_json::from_slice(&std::fs::read(root.join(file)).unwrap()).unwrap();
        let lake = tempfile::tempdir().unwrap();
        let report =
            ingest_cloudwatch_data(&event.awslogs.data, &PipelineConfig::default(), NOW, &LocalStore::new(lake.path()))
                .await
                .unwrap();
        match expected_dead_letter {
            None => {
                assert!(report.dead_letters.is_empty(), "{file}: {:?}", report.dead_letters);
                assert!(report.log_events > 0 && report.records == report.log_events, "{file}: {report:?}");
            }
            Some(kind) => {
                assert_eq!(report.dead_letters.len(), 1, "{file}");
                assert_eq!(report.dead_letters[0].kind, kind, "{file}");
            }
        }
    }
}

#[tokio::test]
async fn real_decoded_payloads_land_whole_and_lambda_lines_are_parsed() {
    let Some(root) = corpus() else { return };
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["fixtures/datadog_forwarder/integration_snapshots", "fixtures/datadog_forwarder/events"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with("cloudwatch")
                || path.file_name().unwrap().to_string_lossy().starts_with("step_functions")
            {
                files.push(path);
            }
        }
    }
    for name in ["cwl-subscription-payload-decoded-lambda-example.json", "lambda-cloudwatchlogs-payload-decoded.json"] {
        files.push(root.join("fixtures/awsdocs").join(name));
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let (mut total, mut reports, mut starts) = (0, 0, 0);
    for path in &files {
        let json = std::fs::read(path).unwrap();
        let data = encode_data(&json);
        let lake = tempfile::tempdir().unwrap();
        let report = ingest_cloudwatch_data(&data, &PipelineConfig::default(), NOW, &LocalStore::new(lake.path()))
            .await
            .unwrap();
        assert!(report.dead_letters.is_empty(), "{}: {:?}", path.display(), report.dead_letters);
        assert_eq!(report.records, report.log_events, "{}", path.display());
        total += report.records;

        let decompressed = decompress_base64(&data, 1 << 24).unwrap();
        let (_, payload) = parse_payload(&decompressed).unwrap();
        let config = PipelineConfig::default();
        for record in normalize_payload(
            &payload,
            loglake::ingest::cloudwatch::SOURCE_CLOUDWATCH,
            &config,
            NOW,
            &mut config.bounds.budget(),
        )
        .unwrap()
        .records
        {
            let attr = |k: &str| record.attributes.iter().find(|(key, _)| key == k).map(|(_, v)| v.to_string());
            if record.message.starts_with("REPORT RequestId: ") {
                reports += 1;
                assert_eq!(record.format, LineFormat::Lambda);
                assert!(record.request_id.is_some() && attr("duration_ms").is_some(), "{}", record.message);
                if record.message.contains("Status: timeout") {
                    assert_eq!(record.level, Some(loglake::lake::record::Level::Error));
                }
            }
            if record.message.starts_with("START RequestId: ") {
                starts += 1;
                assert_eq!(
                    (record.format, record.request_id.is_some()),
                    (LineFormat::Lambda, true),
                    "{}",
                    record.message
                );
            }
        }
    }
    assert!(reports > 0 && starts > 0, "the corpus has Lambda runtime lines: {reports} REPORT, {starts} START");
    println!("corpus: {} payloads, {total} records, {reports} REPORT and {starts} START lines parsed", files.len());
}
