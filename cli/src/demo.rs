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
use loglake::lake::layout::LOCAL_SPILL_DIR;
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
    print!("{}", summary(lake, "CloudWatch Logs subscription events", &total));
    print!("{}", summary(lake, "Kinesis records", &kinesis));

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
        "  bytes            {} received (base64), {} decoded, {} of message text → {} Parquet\n",
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
