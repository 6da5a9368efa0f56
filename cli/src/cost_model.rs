//! `loglake cost-per-tb`: what a terabyte of log text costs on each ingest path, and on the
//! services users compare loglake with. The figures that depend on the data — Parquet bytes and
//! objects per byte of text, what compaction writes, what the shipped rollups scan — are measured
//! here, on the events given, through the real pipeline into a scratch local lake. Throughputs
//! and settings come from cost/model.json (the benchmarks' figures), prices from
//! cost/prices.json (dated, one region); both are compiled in and can be replaced by flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::compact::compact_options;
use crate::engine::Source;
use crate::rollups::{queries, scan_queries};
use loglake::compact::run::compact;
use loglake::compact::view::local_readers;
use loglake::config::PipelineConfig;
use loglake::decode::subscription::SubscriptionEvent;
use loglake::function::State;
use loglake::ingest::report::IngestReport;
use loglake::lake::layout::LOCAL_SPILL_DIR;
use loglake::lake::storage::LocalStore;

const PRICES: &str = include_str!("../../cost/prices.json");
const MODEL: &str = include_str!("../../cost/model.json");
const TB: f64 = 1e12;
const GB: f64 = 1e9;
/// Memory that buys one vCPU on Lambda.
const MB_PER_VCPU: f64 = 1769.0;

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub region: String,
    pub as_of: String,
    pub lambda_arm64_gb_second: f64,
    pub lambda_request: f64,
    pub s3_standard_gb_month: f64,
    pub s3_put_per_1000: f64,
    pub s3_get_per_1000: f64,
    pub s3_list_per_1000: f64,
    pub athena_tb_scanned: f64,
    pub athena_min_bytes_per_query: f64,
    pub kinesis_on_demand_stream_hour: f64,
    pub kinesis_on_demand_gb_ingested: f64,
    pub kinesis_on_demand_gb_retrieved: f64,
    pub kinesis_on_demand_retention_gb_month: f64,
    pub kinesis_provisioned_shard_hour: f64,
    pub kinesis_provisioned_put_units_per_million: f64,
    pub kinesis_provisioned_retention_shard_hour: f64,
    pub firehose_gb_ingested: f64,
    pub firehose_format_conversion_gb: f64,
    pub firehose_dynamic_partitioning_gb: f64,
    pub firehose_dynamic_partitioning_objects_per_1000: f64,
    pub firehose_iceberg_gb: f64,
    pub s3_tables_gb_month: f64,
    pub s3_tables_compaction_gb: f64,
    pub s3_tables_compaction_objects_per_1000: f64,
    pub cloudwatch_logs_gb_ingested: f64,
    pub cloudwatch_logs_gb_month_stored: f64,
    pub cloudwatch_logs_insights_gb_scanned: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Model {
    pub tb_per_month: f64,
    pub ingest_cloudwatch_mb_s: f64,
    pub ingest_cloudwatch_memory_mb: f64,
    pub ingest_kinesis_mb_s: f64,
    pub ingest_kinesis_memory_mb: f64,
    pub firehose_transform_mb_s: f64,
    pub firehose_transform_memory_mb: f64,
    pub compactor_input_mb_s: f64,
    pub compactor_memory_mb: f64,
    pub record_bytes_per_message_byte: f64,
    pub kinesis_batch_bytes: f64,
    pub kinesis_put_unit_bytes: f64,
    pub firehose_invocation_bytes: f64,
    pub firehose_object_bytes: f64,
    pub compaction_reads_per_staging_byte: f64,
    pub compaction_runs_per_month: f64,
    pub rollup_runs_per_day: f64,
    pub rollup_queries: f64,
}

pub fn shipped_prices() -> Result<Prices> {
    serde_json::from_str(PRICES).context("cost/prices.json")
}

pub fn shipped_model() -> Result<Model> {
    serde_json::from_str(MODEL).context("cost/model.json")
}

/// What was measured on the events, through the pipeline into a local lake.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// Log message text ingested (the "TB of log text" everything is per).
    pub message_bytes: f64,
    /// CloudWatch Logs payloads as delivered (base64 of gzip).
    pub payload_bytes: f64,
    pub invocations: f64,
    pub staging_objects: f64,
    pub staging_bytes: f64,
    pub curated_objects: f64,
    pub curated_bytes: f64,
    /// Bytes the shipped rollups scan over every window once, on curated files and on staging.
    pub rollup_scan_curated: f64,
    pub rollup_scan_staging: f64,
}

/// One priced line: what, how much of it per TB of text, and its dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub item: &'static str,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
}

impl Line {
    /// `quantity` of `unit` at `dollars_per_unit` each.
    pub fn priced(item: &'static str, quantity: f64, unit: &'static str, dollars_per_unit: f64) -> Line {
        Line { item, quantity, unit, usd: quantity * dollars_per_unit }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedPath {
    pub name: &'static str,
    pub lines: Vec<Line>,
}

impl PricedPath {
    pub fn total(&self) -> f64 {
        self.lines.iter().map(|l| l.usd).sum()
    }
}

/// GB-seconds of a single-threaded function with `memory_mb` that handles `mb_s` per vCPU, for
/// `bytes` of input: memory buys CPU in proportion up to one vCPU, so below 1,769 MB the
/// GB-seconds do not depend on the memory size.
pub fn lambda_gb_seconds(bytes: f64, mb_s: f64, memory_mb: f64) -> f64 {
    let vcpu = (memory_mb / MB_PER_VCPU).min(1.0);
    let seconds = bytes / 1e6 / (mb_s * vcpu);
    seconds * memory_mb / 1024.0
}

/// The cost of one TB of log text on each path.
pub fn per_tb(m: &Measured, p: &Prices, model: &Model) -> Vec<PricedPath> {
    let scale = TB / m.message_bytes.max(1.0);
    let staging_objects = m.staging_objects * scale;
    let staging_bytes = m.staging_bytes * scale;
    let curated_objects = m.curated_objects * scale;
    let curated_bytes = m.curated_bytes * scale;
    let record_bytes = TB * model.record_bytes_per_message_byte;
    let lambda = |item, bytes: f64, mb_s, memory| {
        let gb_s = lambda_gb_seconds(bytes, mb_s, memory);
        Line { item, quantity: gb_s, unit: "GB-s", usd: gb_s * p.lambda_arm64_gb_second }
    };
    let requests = |item, n: f64| Line { item, quantity: n, unit: "requests", usd: n * p.lambda_request };
    let puts = |item, n: f64| Line { item, quantity: n, unit: "PUT", usd: n / 1000.0 * p.s3_put_per_1000 };
    let athena = |item, bytes: f64| {
        let runs = model.rollup_runs_per_day * 30.0 / model.tb_per_month;
        let billed = bytes.max(runs * p.athena_min_bytes_per_query);
        Line { item, quantity: billed / GB, unit: "GB scanned", usd: billed / TB * p.athena_tb_scanned }
    };

    // After staging, every loglake path is the same: compaction, storage, rollups.
    let compaction_input = staging_bytes * model.compaction_reads_per_staging_byte;
    let lake = [
        lambda("compactor", compaction_input, model.compactor_input_mb_s, model.compactor_memory_mb),
        Line::priced(
            "compaction GET (staging read)",
            staging_objects * model.compaction_reads_per_staging_byte,
            "GET",
            p.s3_get_per_1000 / 1000.0,
        ),
        puts("compaction PUT (curated files)", curated_objects * model.compaction_reads_per_staging_byte),
        Line::priced(
            "compaction LIST (4 a run)",
            4.0 * model.compaction_runs_per_month / model.tb_per_month,
            "LIST",
            p.s3_list_per_1000 / 1000.0,
        ),
        Line::priced("S3 storage of curated logs, a month", curated_bytes / GB, "GB-month", p.s3_standard_gb_month),
        athena("Athena, shipped rollups on curated files", m.rollup_scan_curated * scale),
    ];
    let with_lake = |mut lines: Vec<Line>| {
        lines.extend(lake.iter().cloned());
        lines
    };

    let cloudwatch_ingest = Line::priced(
        "CloudWatch Logs ingestion (paid before any subscription)",
        TB / GB,
        "GB",
        p.cloudwatch_logs_gb_ingested,
    );
    let stream_hours = 730.0 / model.tb_per_month;
    let mb_s = TB * model.tb_per_month / (730.0 * 3600.0) / 1e6 * model.record_bytes_per_message_byte;
    let shards = mb_s.ceil().max(1.0); // a shard takes 1 MB/s
    let kinesis_function = || {
        let invocations = record_bytes / model.kinesis_batch_bytes;
        vec![
            lambda("ingest-kinesis", TB, model.ingest_kinesis_mb_s, model.ingest_kinesis_memory_mb),
            requests("ingest-kinesis invocations", invocations),
            puts("staging PUT", invocations),
        ]
    };
    let firehose_gb = record_bytes / GB;
    let gzip_bytes = m.payload_bytes * scale * 3.0 / 4.0;
    let firehose_to_parquet = Line::priced(
        "Firehose ingestion + Parquet conversion + dynamic partitioning",
        firehose_gb,
        "GB",
        p.firehose_gb_ingested + p.firehose_format_conversion_gb + p.firehose_dynamic_partitioning_gb,
    );
    vec![
        PricedPath {
            name: "loglake: CloudWatch Logs subscription -> ingest-cloudwatch",
            lines: with_lake(vec![
                cloudwatch_ingest.clone(),
                lambda("ingest-cloudwatch", TB, model.ingest_cloudwatch_mb_s, model.ingest_cloudwatch_memory_mb),
                requests("ingest-cloudwatch invocations", m.invocations * scale),
                puts("staging PUT", staging_objects),
            ]),
        },
        PricedPath {
            name: "loglake: agents -> Kinesis on-demand -> ingest-kinesis",
            lines: with_lake(
                [
                    vec![
                        Line::priced("Kinesis stream hours", stream_hours, "hours", p.kinesis_on_demand_stream_hour),
                        Line::priced(
                            "Kinesis data in + out",
                            firehose_gb,
                            "GB",
                            p.kinesis_on_demand_gb_ingested + p.kinesis_on_demand_gb_retrieved,
                        ),
                        Line::priced(
                            "Kinesis retention past 24 h (7 days)",
                            firehose_gb * 6.0 / 30.0,
                            "GB-month",
                            p.kinesis_on_demand_retention_gb_month,
                        ),
                    ],
                    kinesis_function(),
                ]
                .concat(),
            ),
        },
        PricedPath {
            name: "loglake: agents -> Kinesis provisioned -> ingest-kinesis",
            lines: with_lake(
                [
                    vec![
                        Line::priced(
                            "Kinesis shard hours (with 7-day retention)",
                            shards * stream_hours,
                            "shard-hours",
                            p.kinesis_provisioned_shard_hour + p.kinesis_provisioned_retention_shard_hour,
                        ),
                        Line::priced(
                            "Kinesis PUT payload units",
                            record_bytes / model.kinesis_put_unit_bytes,
                            "units",
                            p.kinesis_provisioned_put_units_per_million / 1e6,
                        ),
                    ],
                    kinesis_function(),
                ]
                .concat(),
            ),
        },
        PricedPath {
            name: "loglake: agents -> Firehose -> firehose-transform",
            lines: with_lake(vec![
                firehose_to_parquet.clone(),
                Line::priced(
                    "Firehose objects delivered",
                    record_bytes / model.firehose_object_bytes,
                    "objects",
                    p.firehose_dynamic_partitioning_objects_per_1000 / 1000.0,
                ),
                lambda("firehose-transform", TB, model.firehose_transform_mb_s, model.firehose_transform_memory_mb),
                requests("firehose-transform invocations", record_bytes / model.firehose_invocation_bytes),
                puts("staging PUT (Firehose's objects)", record_bytes / model.firehose_object_bytes),
            ]),
        },
        PricedPath {
            name: "compare: Firehose -> S3 Parquet (no compaction)",
            lines: vec![
                firehose_to_parquet.clone(),
                Line::priced(
                    "S3 storage (staging-sized Parquet), a month",
                    staging_bytes / GB,
                    "GB-month",
                    p.s3_standard_gb_month,
                ),
                athena("Athena, the same rollups on uncompacted files", m.rollup_scan_staging * scale),
            ],
        },
        PricedPath {
            name: "compare: Firehose -> S3 Tables (Iceberg)",
            lines: vec![
                Line::priced("Firehose ingestion into Iceberg", firehose_gb, "GB", p.firehose_iceberg_gb),
                Line::priced(
                    "S3 Tables storage (curated-sized), a month",
                    curated_bytes / GB,
                    "GB-month",
                    p.s3_tables_gb_month,
                ),
                Line {
                    item: "S3 Tables compaction",
                    quantity: staging_bytes / GB,
                    unit: "GB processed",
                    // Per GB processed and per object.
                    usd: staging_bytes / GB * p.s3_tables_compaction_gb
                        + staging_objects / 1000.0 * p.s3_tables_compaction_objects_per_1000,
                },
                athena("Athena, the same rollups on compacted files", m.rollup_scan_curated * scale),
            ],
        },
        PricedPath {
            name: "compare: kept in CloudWatch Logs, rollups with Logs Insights",
            lines: vec![
                cloudwatch_ingest,
                Line::priced(
                    "CloudWatch Logs storage (gzip-sized), a month",
                    gzip_bytes / GB,
                    "GB-month",
                    p.cloudwatch_logs_gb_month_stored,
                ),
                Line::priced(
                    "Logs Insights: each shipped rollup scans the text once",
                    TB / GB * model.rollup_queries,
                    "GB scanned",
                    p.cloudwatch_logs_insights_gb_scanned,
                ),
            ],
        },
    ]
}

/// Measures `events` (CloudWatch Logs subscription events) through the pipeline into `lake`.
pub async fn measure(events: &[PathBuf], lake: &Path) -> Result<Measured> {
    let pipeline = PipelineConfig::from_lookup(crate::lake::environment)?;
    let state = State { pipeline, store: Box::new(LocalStore::new(lake)) };
    let mut report = IngestReport::default();
    for path in crate::invoke::event_files(events)? {
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let event: SubscriptionEvent = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
        report.merge(ingest_cloudwatch::handle(&state, &event).await.with_context(|| path.display().to_string())?);
    }
    let queries = queries(None)?;
    let staging_scan = scan_queries(lake, &queries, Source::StagingOnly).await?;
    let spill = lake.join(LOCAL_SPILL_DIR);
    let record = compact(state.store.as_ref(), &local_readers(), &compact_options(256, 256, 0), &spill).await?;
    let _ = std::fs::remove_dir_all(&spill);
    let curated_scan = scan_queries(lake, &queries, Source::CuratedOnly).await?;
    Ok(Measured {
        message_bytes: report.message_bytes as f64,
        payload_bytes: report.input_bytes as f64,
        invocations: report.payloads as f64,
        staging_objects: report.objects.len() as f64,
        staging_bytes: report.parquet_bytes as f64,
        curated_objects: record.files_out as f64,
        curated_bytes: record.bytes_out as f64,
        rollup_scan_curated: curated_scan.values().map(|s| s.bytes as f64).sum(),
        rollup_scan_staging: staging_scan.values().map(|s| s.bytes as f64).sum(),
    })
}

/// The table `loglake cost-per-tb` prints.
pub fn table(m: &Measured, p: &Prices, model: &Model) -> String {
    let mut out = format!(
        "Measured: {:.1} MB of log text in {} payloads -> {} staging objects, {:.2} MB staging Parquet ({:.1}:1), \
         {} curated files, {:.2} MB ({:.1}:1); the shipped rollups scan {:.3} MB curated, {:.3} MB on staging.\n\
         Prices: {} as of {} (cost/prices.json). Per TB of log text ({} TB a month):\n\n",
        m.message_bytes / 1e6,
        m.invocations,
        m.staging_objects,
        m.staging_bytes / 1e6,
        m.message_bytes / m.staging_bytes.max(1.0),
        m.curated_objects,
        m.curated_bytes / 1e6,
        m.message_bytes / m.curated_bytes.max(1.0),
        m.rollup_scan_curated / 1e6,
        m.rollup_scan_staging / 1e6,
        p.region,
        p.as_of,
        model.tb_per_month,
    );
    for path in per_tb(m, p, model) {
        out += &format!("{}: ${:.2}\n", path.name, path.total());
        for line in &path.lines {
            out += &format!("    {:<62} {:>14.1} {:<12} ${:>8.3}\n", line.item, line.quantity, line.unit, line.usd);
        }
    }
    out
}

pub async fn run(events: &[PathBuf], lake: Option<&Path>, prices: Option<&Path>, model: Option<&Path>) -> Result<()> {
    let prices: Prices = match prices {
        Some(path) => serde_json::from_slice(&std::fs::read(path)?).with_context(|| path.display().to_string())?,
        None => shipped_prices()?,
    };
    let model: Model = match model {
        Some(path) => serde_json::from_slice(&std::fs::read(path)?).with_context(|| path.display().to_string())?,
        None => shipped_model()?,
    };
    let scratch = tempfile::tempdir()?;
    let lake = lake.unwrap_or(scratch.path());
    let measured = measure(events, lake).await?;
    print!("{}", table(&measured, &prices, &model));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_one_vcpu_the_gb_seconds_do_not_depend_on_memory() {
        // 1 GB at 10 MB/s per vCPU: 100 vCPU-seconds, whatever the memory buys of it.
        let small = lambda_gb_seconds(1e9, 10.0, 128.0);
        let large = lambda_gb_seconds(1e9, 10.0, 1024.0);
        assert!((small - large).abs() < 1e-9, "{small} {large}");
        assert!((small - 100.0 * MB_PER_VCPU / 1024.0).abs() < 1e-6, "{small}");
        // Past one vCPU the single-threaded work takes as long and costs more.
        assert!(lambda_gb_seconds(1e9, 10.0, 3538.0) > 1.9 * small);
    }

    /// The figures come from the pipeline: the sample events' text, the staging objects and
    /// bytes ingest wrote, what compaction made of them, and the rollups' scans, all read back.
    #[tokio::test]
    async fn the_figures_are_measured_through_the_pipeline() {
        let events =
            [PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/ingest-cloudwatch/json-batch.json"))];
        let lake = tempfile::tempdir().unwrap();
        let m = measure(&events, lake.path()).await.unwrap();
        assert_eq!((m.invocations, m.staging_objects, m.curated_objects), (1.0, 1.0, 1.0), "{m:?}");
        assert!(m.message_bytes > 500.0 && m.payload_bytes > 0.0, "{m:?}");
        let on_disk = |prefix: &str| -> f64 {
            walk(&lake.path().join(prefix)).iter().map(|f| std::fs::metadata(f).unwrap().len() as f64).sum()
        };
        // The curated file is on disk at the size measured (staging is deleted once compacted).
        assert_eq!(on_disk("logs"), m.curated_bytes);
        assert!(m.staging_bytes > 0.0 && m.rollup_scan_curated > 0.0, "{m:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path))
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path)
            }
        }
        files
    }

    #[test]
    fn the_shipped_prices_and_model_parse_and_every_path_is_priced() {
        let (prices, model) = (shipped_prices().unwrap(), shipped_model().unwrap());
        let measured = Measured {
            message_bytes: 100e6,
            payload_bytes: 20e6,
            invocations: 100.0,
            staging_objects: 100.0,
            staging_bytes: 20e6,
            curated_objects: 2.0,
            curated_bytes: 18e6,
            rollup_scan_curated: 1e6,
            rollup_scan_staging: 2e6,
        };
        let paths = per_tb(&measured, &prices, &model);
        assert_eq!(paths.len(), 7);
        for path in &paths {
            assert!(path.total() > 0.0 && path.lines.iter().all(|l| l.usd >= 0.0 && l.usd.is_finite()), "{path:?}");
        }
        // Scaled to a TB: 10,000 times the measured 100 MB; staging PUTs are 1 per object.
        let staging_put = paths[0].lines.iter().find(|l| l.item == "staging PUT").unwrap();
        assert_eq!(staging_put.quantity, 1_000_000.0);
        // CloudWatch Logs ingestion alone is $500 a TB: every path through CloudWatch pays it.
        assert_eq!(paths[0].lines[0].usd, 500.0);
        assert!(table(&measured, &prices, &model).contains("Per TB of log text"));
    }
}
