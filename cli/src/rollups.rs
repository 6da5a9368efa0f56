//! `loglake rollup` and `loglake cost`: the shipped query files run on the local engine, their
//! results stored in the same layout the Athena runner writes, and what each would cost.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::Utc;
use loglake::lake::encode::encode_batches;
use loglake::lake::layout::{STAGING_PREFIX, SUMMARIES_PREFIX, summary_key};
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::lake::typed::CuratedTable;
use loglake::rollup::query_file::{QueryFile, Window, WindowBounds, shipped};
use loglake::rollup::runs::{QueryRun, RunState, athena_cost_usd};

use crate::engine::{Engine, Source};
use crate::units::human;

/// `loglake rollup`: runs the queries (or the one named) for their windows and prints each run.
pub async fn rollup(lake: &Path, name: Option<&str>, window: Option<&str>) -> Result<()> {
    let queries = queries(name)?;
    for run in run(lake, &queries, window).await? {
        let output = queries.iter().find(|q| q.name == run.query).map_or(run.query.as_str(), |q| q.output.as_str());
        println!(
            "{:<24} {:<14} {:>5} rows  scanned {:>10}  → {}",
            run.query,
            run.window.name(),
            run.rows.unwrap_or(0),
            human(run.bytes_scanned as usize),
            summary_key(output, &run.window.partition())
        );
    }
    Ok(())
}

/// `loglake cost`: what each shipped query scans over raw staging, the curated table and its
/// summary.
pub async fn cost(lake: &Path) -> Result<()> {
    let queries = queries(None)?;
    let staging = scan_queries(lake, &queries, Source::StagingOnly).await?;
    let curated = scan_queries(lake, &queries, Source::CuratedOnly).await?;
    let summary = scan_summaries(lake, &queries).await?;
    print!("{}", cost_table(&queries, &staging, &curated, &summary));
    Ok(())
}

/// The shipped queries, or the one named.
pub fn queries(name: Option<&str>) -> Result<Vec<QueryFile>> {
    let all = shipped()?;
    match name {
        None => Ok(all),
        Some(name) => {
            let names: Vec<&str> = all.iter().map(|q| q.name.as_str()).collect();
            let known = names.join(", ");
            all.iter()
                .find(|q| q.name == name)
                .cloned()
                .map(|q| vec![q])
                .ok_or_else(|| anyhow!("no query {name:?} (shipped: {known})"))
        }
    }
}

/// The zone of the lake's partitions, as `loglake invoke` wrote them
/// (`LOGLAKE_PARTITION_TIME_ZONE`, UTC by default): the rollup windows' clock.
pub fn partition_zone() -> Result<chrono_tz::Tz> {
    Ok(loglake::config::PipelineConfig::from_lookup(crate::lake::environment)?.partition_time_zone)
}

/// The hours that hold data in the lake (curated or staging), oldest first: listed once per
/// command, each query's windows derived from them ([`windows_of`]).
pub async fn data_hours(store: &LocalStore) -> Result<Vec<WindowBounds>> {
    let zone = partition_zone()?;
    let mut hours = BTreeMap::new();
    // Every curated table (an hour of VPC flows alone is only in `vpc_flow_logs/`), and staging.
    let prefixes = CuratedTable::all().map(|table| table.prefix()).chain([STAGING_PREFIX.to_owned()]);
    for prefix in prefixes {
        for key in store.list(&prefix).await? {
            if let Some(hour) = WindowBounds::hour_of_key(&key, &prefix, zone) {
                hours.insert(hour.start, hour);
            }
        }
    }
    Ok(hours.into_values().collect())
}

/// The windows of `kind` that contain any of `hours`, oldest first.
pub fn windows_of(hours: &[WindowBounds], kind: Window) -> Vec<WindowBounds> {
    let windows: BTreeMap<_, _> =
        hours.iter().map(|h| WindowBounds::containing_local(kind, h.start, h.zone)).map(|w| (w.start, w)).collect();
    windows.into_values().collect()
}

/// The windows a query runs for: the one named (an hour names its day for a daily query), or
/// every window with data.
fn windows_for(hours: &[WindowBounds], query: &QueryFile, named: Option<&str>) -> Result<Vec<WindowBounds>> {
    match named {
        None => Ok(windows_of(hours, query.window)),
        Some(text) => {
            let zone = partition_zone()?;
            let bounds = WindowBounds::parse(query.window, text, zone)
                .or_else(|_| {
                    WindowBounds::parse(Window::Hourly, text, zone)
                        .map(|h| WindowBounds::containing_local(query.window, h.start, zone))
                })
                .map_err(|e| anyhow!("--window {e}"))?;
            Ok(vec![bounds])
        }
    }
}

/// Runs each query for its windows, replaces each window's summary and records the run.
pub async fn run(lake: &Path, queries: &[QueryFile], window: Option<&str>) -> Result<Vec<QueryRun>> {
    let store = LocalStore::new(lake);
    let engine = Engine::open(lake, Source::Lake).await?;
    let hours = data_hours(&store).await?;
    let mut runs = Vec::new();
    for query in queries {
        for bounds in windows_for(&hours, query, window)? {
            let started = Utc::now();
            let sql = query.render(&bounds).with_context(|| query.name.clone())?;
            let output = engine.run(&sql).await.with_context(|| format!("{} for {}", query.name, bounds.name()))?;
            let parquet = encode_batches(output.schema.clone(), &output.batches)?;
            store.put(&summary_key(&query.output, &bounds.partition()), parquet).await?;
            let run = QueryRun {
                query: query.name.clone(),
                window: bounds,
                engine: "datafusion",
                execution_id: format!("local-{}", started.timestamp_millis()),
                state: RunState::Succeeded,
                bytes_scanned: output.bytes_scanned,
                engine_ms: output.elapsed_ms,
                reused: false,
                rows: Some(output.rows() as u64),
                started,
                finished: Utc::now(),
            };
            store.put(&run.key(), run.to_parquet()?).await?;
            runs.push(run);
        }
    }
    Ok(runs)
}

/// Bytes one query scans over its windows: `(windows, bytes, Athena cost)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scan {
    pub windows: usize,
    pub bytes: u64,
    pub cost_usd: f64,
}

/// What each query scans over `logs_all` restricted to one source, for every window with data.
pub async fn scan_queries(lake: &Path, queries: &[QueryFile], source: Source) -> Result<BTreeMap<String, Scan>> {
    let store = LocalStore::new(lake);
    let engine = Engine::open(lake, source).await?;
    let hours = data_hours(&store).await?;
    let mut out = BTreeMap::new();
    for query in queries {
        let mut scan = Scan::default();
        for bounds in windows_of(&hours, query.window) {
            let sql = query.render(&bounds)?;
            let output = engine.run(&sql).await.with_context(|| format!("{} for {}", query.name, bounds.name()))?;
            scan.windows += 1;
            scan.bytes += output.bytes_scanned;
            scan.cost_usd += athena_cost_usd(output.bytes_scanned);
        }
        out.insert(query.name.clone(), scan);
    }
    Ok(out)
}

/// What reading each query's summary scans, for the same windows.
pub async fn scan_summaries(lake: &Path, queries: &[QueryFile]) -> Result<BTreeMap<String, Scan>> {
    let store = LocalStore::new(lake);
    let engine = Engine::open(lake, Source::Lake).await?;
    let hours = data_hours(&store).await?;
    let mut out = BTreeMap::new();
    for query in queries {
        if !lake.join(SUMMARIES_PREFIX).join(&query.output).is_dir() {
            continue; // not rolled up yet
        }
        let mut scan = Scan::default();
        for bounds in windows_of(&hours, query.window) {
            let sql = format!("SELECT * FROM \"{}\" WHERE {}", query.output, bounds.partition_filter());
            let output = engine.run(&sql).await.context("reading a summary (run `loglake rollup` first)")?;
            scan.windows += 1;
            scan.bytes += output.bytes_scanned;
            scan.cost_usd += athena_cost_usd(output.bytes_scanned);
        }
        out.insert(query.name.clone(), scan);
    }
    Ok(out)
}

/// The cost table: per query, bytes scanned over raw staging, the curated table and its summary.
pub fn cost_table(
    queries: &[QueryFile],
    staging: &BTreeMap<String, Scan>,
    curated: &BTreeMap<String, Scan>,
    summary: &BTreeMap<String, Scan>,
) -> String {
    let percent = |part: u64, whole: u64| {
        if whole == 0 { "-".to_owned() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
    };
    let mut out = format!(
        "{:<24} {:>7} {:>14} {:>14} {:>12} {:>16} {:>16}\n",
        "query", "windows", "raw staging", "curated", "summary", "curated/staging", "summary/curated"
    );
    for query in queries {
        let get = |m: &BTreeMap<String, Scan>| m.get(&query.name).copied().unwrap_or_default();
        let (s, c) = (get(staging), get(curated));
        let r = summary.get(&query.name).copied();
        out.push_str(&format!(
            "{:<24} {:>7} {:>14} {:>14} {:>12} {:>16} {:>16}\n",
            query.name,
            c.windows.max(s.windows),
            human(s.bytes as usize),
            human(c.bytes as usize),
            r.map_or("not run".to_owned(), |r| human(r.bytes as usize)),
            percent(c.bytes, s.bytes),
            r.map_or("-".to_owned(), |r| percent(r.bytes, c.bytes)),
        ));
    }
    let total = |m: &BTreeMap<String, Scan>| m.values().map(|s| s.cost_usd).sum::<f64>();
    out.push_str(&format!(
        "Athena, $5/TB with a 10 MB minimum per query: staging ${:.6}, curated ${:.6}, summaries ${:.6} (bytes: what the local engine read from Parquet)\n",
        total(staging),
        total(curated),
        total(summary)
    ));
    let curated_bytes: u64 = curated.values().map(|s| s.bytes).sum();
    if curated_bytes < 10 << 20 {
        out.push_str(
            "(a lake this small: every query reads whole files and Athena bills its 10 MB minimum; bench/rollup_cost.sh measures the ratios at scale)\n",
        );
    }
    out
}

#[cfg(test)]
#[path = "rollups_tests.rs"]
mod tests;
