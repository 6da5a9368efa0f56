//! `loglake demo`: the sample events, embedded in the binary, through the real pipeline into a
//! local lake, and a summary of what happened.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use loglake::compact::run::compact;
use loglake::compact::view::local_readers;
use loglake::config::PipelineConfig;
use loglake::decode::subscription::SubscriptionEvent;
use loglake::function::State;
use loglake::ingest::kinesis::KinesisEvent;
use loglake::ingest::report::IngestReport;
use loglake::ingest::s3::SqsEvent;
use loglake::lake::layout::LOCAL_SPILL_DIR;
use loglake::lake::source::LocalSource;
use loglake::lake::storage::LocalStore;

use crate::compact::compact_options;
use crate::engine::{Engine, Source, pretty};
use crate::lake::environment;
use crate::rollups::{cost_table, queries, scan_queries, scan_summaries};
use crate::units::human;

/// The sample events of events/ingest-cloudwatch, in the order the demo sends them.
pub const SAMPLE_EVENTS: &[(&str, &str)] = &[
    ("control-message.json", include_str!("../../events/ingest-cloudwatch/control-message.json")),
    ("text-batch.json", include_str!("../../events/ingest-cloudwatch/text-batch.json")),
    ("json-batch.json", include_str!("../../events/ingest-cloudwatch/json-batch.json")),
    ("lambda-runtime-batch.json", include_str!("../../events/ingest-cloudwatch/lambda-runtime-batch.json")),
    ("truncated-gzip.json", include_str!("../../events/ingest-cloudwatch/truncated-gzip.json")),
];

/// The sample batches of events/ingest-kinesis.
pub const KINESIS_SAMPLE_EVENTS: &[(&str, &str)] = &[
    ("cloudwatch-via-kinesis.json", include_str!("../../events/ingest-kinesis/cloudwatch-via-kinesis.json")),
    ("agent-batch.json", include_str!("../../events/ingest-kinesis/agent-batch.json")),
    ("kpl-batch.json", include_str!("../../events/ingest-kinesis/kpl-batch.json")),
    ("bad-records.json", include_str!("../../events/ingest-kinesis/bad-records.json")),
];

/// The sample log objects of events/ingest-s3 (at their keys under its source/), and the SQS
/// batch that notifies them.
pub const S3_SAMPLE_OBJECTS: &[(&str, &[u8])] = &[
    (
        "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20/123456789012_elasticloadbalancing_eu-west-1_app.shop-front.0f1e2d3c4b5a6978_20261120T1000Z_10.20.1.5_2f8x9c1d.log.gz",
        include_bytes!(
            "../../events/ingest-s3/source/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20/123456789012_elasticloadbalancing_eu-west-1_app.shop-front.0f1e2d3c4b5a6978_20261120T1000Z_10.20.1.5_2f8x9c1d.log.gz"
        ),
    ),
    (
        "AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/20/123456789012_CloudTrail_eu-west-1_20261120T1000Z_Kp3vQ9xZ.json.gz",
        include_bytes!(
            "../../events/ingest-s3/source/AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/20/123456789012_CloudTrail_eu-west-1_20261120T1000Z_Kp3vQ9xZ.json.gz"
        ),
    ),
    (
        "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/11/20/123456789012_vpcflowlogs_eu-west-1_fl-0a1b2c3d4e5f60718_20261120T1000Z_5c1e.log.gz",
        include_bytes!(
            "../../events/ingest-s3/source/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/11/20/123456789012_vpcflowlogs_eu-west-1_fl-0a1b2c3d4e5f60718_20261120T1000Z_5c1e.log.gz"
        ),
    ),
];
pub const S3_SAMPLE_NOTIFICATIONS: &str = include_str!("../../events/ingest-s3/notifications.json");

/// The sample S3 objects through ingest-s3, read from a directory standing in for their bucket.
async fn ingest_s3_samples(state: State) -> Result<(State, IngestReport)> {
    let source = tempfile::tempdir().context("a directory for the sample objects")?;
    for (key, body) in S3_SAMPLE_OBJECTS {
        let path = source.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap_or(source.path()))?;
        std::fs::write(&path, body).with_context(|| path.display().to_string())?;
    }
    let s3_state = ingest_s3::State::with_source(state, Box::new(LocalSource::new(source.path())), environment)?;
    let event: SqsEvent = serde_json::from_str(S3_SAMPLE_NOTIFICATIONS).context("embedded notifications")?;
    let report = ingest_s3::handle(&s3_state, &event, None).await;
    if let Some(retry) = report.retry.first() {
        bail!("notifications.json: message {} left for retry: {}", retry.message_id, retry.reason);
    }
    let state = State { pipeline: s3_state.pipeline, store: s3_state.store };
    Ok((state, report.ingest))
}

pub async fn run(lake: &Path) -> Result<()> {
    let pipeline = PipelineConfig::from_lookup(environment)?;
    let state = State { pipeline, store: Box::new(LocalStore::new(lake)) };
    let mut total = IngestReport::default();
    for (name, text) in SAMPLE_EVENTS {
        let event: SubscriptionEvent = serde_json::from_str(text).with_context(|| format!("embedded event {name}"))?;
        let report = ingest_cloudwatch::handle(&state, &event).await.with_context(|| name.to_string())?;
        total.merge(report);
    }
    let mut kinesis = IngestReport::default();
    for (name, text) in KINESIS_SAMPLE_EVENTS {
        let event: KinesisEvent = serde_json::from_str(text).with_context(|| format!("embedded event {name}"))?;
        let report = ingest_kinesis::handle(&state, &event, None).await;
        if let Some(retry) = report.retry_from {
            bail!("{name}: stopped at sequence number {}: {}", retry.sequence_number, retry.reason);
        }
        kinesis.merge(report.ingest);
    }
    let (state, s3) = ingest_s3_samples(state).await?;
    print!("{}", summary(lake, "CloudWatch Logs subscription events", &total));
    print!("{}", summary(lake, "Kinesis records", &kinesis));
    print!("{}", summary(lake, "S3 notifications of ALB, CloudTrail and VPC flow log objects", &s3));

    // What the rollups would scan over raw staging, measured before compaction folds it.
    let queries = queries(None)?;
    let staging_scans = scan_queries(lake, &queries, Source::StagingOnly).await?;

    // Compaction: the staging files of both into sorted, deduplicated curated files.
    let spill = lake.join(LOCAL_SPILL_DIR);
    let record = compact(state.store.as_ref(), &local_readers(), &compact_options(64, 256, 0), &spill)
        .await
        .context("compaction")?;
    let _ = std::fs::remove_dir_all(&spill);
    print!(
        "loglake demo → {}: compaction\n\n  files            {} staging → {} curated (logs/), {} hours\n  bytes            {} → {}\n  rows             {} in, {} out, {} duplicates removed\n\n",
        lake.display(),
        record.staging_in,
        record.files_out,
        record.hours.len(),
        human(record.bytes_in),
        human(record.bytes_out),
        record.rows_in,
        record.rows_out,
        record.duplicates
    );

    // The rollups over the compacted lake, one of them shown, and what each costs.
    let runs = crate::rollups::run(lake, &queries, None).await?;
    let windows: BTreeSet<String> = runs.iter().map(|r| r.window.name()).collect();
    print!(
        "loglake demo → {}: rollups\n\n  {} queries over {} windows ({}) → summaries/\n\n",
        lake.display(),
        queries.len(),
        windows.len(),
        windows.into_iter().collect::<Vec<_>>().join(", ")
    );
    let engine = Engine::open(lake, Source::Lake).await?;
    let shown = engine
        .run("SELECT dt, hour, log_group, events, errors, warnings FROM errors_by_group_hourly ORDER BY dt, hour, log_group")
        .await?;
    print!("errors_by_group_hourly:\n{}\n\n", pretty(&shown.batches));
    let curated_scans = scan_queries(lake, &queries, Source::CuratedOnly).await?;
    let summary_scans = scan_summaries(lake, &queries).await?;
    print!("bytes each rollup scans:\n{}\n", cost_table(&queries, &staging_scans, &curated_scans, &summary_scans));
    print!("{}", query_hint(lake));
    Ok(())
}

pub fn summary(lake: &Path, what: &str, r: &IngestReport) -> String {
    let formats = r.formats.iter().map(|(f, n)| format!("{f} {n}")).collect::<Vec<_>>().join(", ");
    let partitions: BTreeSet<&str> = r.objects.iter().map(|o| o.partition.as_str()).collect();
    let mut out = String::new();
    out.push_str(&format!("loglake demo → {}: {what}\n\n", lake.display()));
    out.push_str(&format!(
        "  inputs           {} ({} control message, {} undecodable)\n",
        r.payloads,
        r.control_messages,
        r.dead_letters.len()
    ));
    out.push_str(&format!("  log events       {}\n", r.log_events));
    out.push_str(&format!("  records out      {}  ({formats})\n", r.records));
    out.push_str(&format!("  partitions       {}\n", partitions.into_iter().collect::<Vec<_>>().join(", ")));
    out.push_str(&format!("  files written    {}\n", r.objects.len()));
    for o in &r.objects {
        out.push_str(&format!("    {}  {} records, {}\n", o.key, o.records, human(o.bytes)));
    }
    out.push_str(&format!(
        "  bytes            {} received, {} decoded, {} of message text → {} Parquet\n",
        human(r.input_bytes),
        human(r.decompressed_bytes),
        human(r.message_bytes),
        human(r.parquet_bytes)
    ));
    out.push_str(&format!("  dead letters     {}\n", r.dead_letters.len()));
    for d in &r.dead_letters {
        out.push_str(&format!("    {}  {}\n", d.key, d.reason));
    }
    out.push('\n');
    out
}

pub fn query_hint(lake: &Path) -> String {
    format!(
        "Query it with `loglake query --lake {} \"SELECT … FROM logs_all\"` (Athena SQL, run by DataFusion), or with DuckDB (curated files; staging holds what arrived since the last compaction):\n  duckdb -c \"SELECT format, level, count(*) FROM read_parquet('{}/logs/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL\"\n",
        lake.display(),
        lake.display()
    )
}
