//! `loglake`: the same handler code as the Lambda functions, on one machine, with a local
//! directory standing in for the bucket.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use loglake::cloudwatch::SubscriptionEvent;
use loglake::config::PipelineConfig;
use loglake::firehose::FirehoseEvent;
use loglake::function::{FunctionConfig, State};
use loglake::kinesis::KinesisEvent;
use loglake::schema::{Table, athena_ddl};
use loglake::storage::LocalStore;

mod backfill;
mod demo;
mod dialect;
mod engine;
mod rollups;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "loglake", version, about = "A serverless log data lake, run on one machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a function's handler on event files, one JSON response per event on stdout.
    Invoke {
        function: Function,
        /// Event files, or directories of *.json event files (processed in name order).
        #[arg(long = "event", required = true, num_args = 1..)]
        events: Vec<PathBuf>,
        /// A local directory to use as the bucket. Without it, LOGLAKE_BUCKET (and the usual AWS
        /// settings, AWS_ENDPOINT_URL included) name the bucket.
        #[arg(long)]
        lake: Option<PathBuf>,
    },
    /// Runs the sample events through the pipeline into a local lake and shows what happened.
    Demo {
        #[arg(long, default_value = "loglake-demo")]
        lake: PathBuf,
    },
    /// Reads a log group's history (FilterLogEvents) into the lake through the same pipeline,
    /// resumably: the position is saved after every page.
    Backfill {
        #[arg(long)]
        log_group: String,
        /// Start of the window: RFC 3339 (2026-11-20T00:00:00Z) or epoch milliseconds.
        #[arg(long)]
        start: String,
        /// End of the window (inclusive), same forms.
        #[arg(long)]
        end: String,
        /// A local directory to use as the bucket (else LOGLAKE_BUCKET and the AWS settings).
        #[arg(long)]
        lake: Option<PathBuf>,
        /// Where the position is saved [default: loglake-backfill-<log group>.json].
        #[arg(long)]
        state: Option<PathBuf>,
        /// Events per FilterLogEvents page.
        #[arg(long)]
        page_size: Option<i32>,
    },
    /// Compacts the staging files of a local lake into sorted, deduplicated curated files.
    Compact {
        #[arg(long)]
        lake: PathBuf,
        /// Memory for sorting before runs spill to disk.
        #[arg(long, default_value_t = 256)]
        memory_mb: usize,
        /// Size at which a curated file is closed, in MB.
        #[arg(long, default_value_t = 256)]
        file_mb: usize,
        /// Leave staging files younger than this for a later run.
        #[arg(long, default_value_t = 0)]
        grace_minutes: i64,
    },
    /// Runs Athena SQL over a local lake with DataFusion: tables `logs`, `logs_staging`, the
    /// view `logs_all`, every summary and `query_runs`; prints the result and what the same scan
    /// would cost on Athena.
    Query {
        #[arg(long)]
        lake: PathBuf,
        sql: String,
    },
    /// Runs the shipped rollups (queries/*.sql) over a local lake and stores each window's
    /// result as summaries/<output>/dt=…/[hour=…/]part-00000.parquet, replacing it.
    Rollup {
        #[arg(long)]
        lake: PathBuf,
        /// One query (file name without .sql); default: all.
        #[arg(long)]
        query: Option<String>,
        /// One window: YYYY-MM-DDTHH (hourly) or YYYY-MM-DD (daily); default: every window with data.
        #[arg(long)]
        window: Option<String>,
    },
    /// Per shipped query: bytes scanned over raw staging, over the curated table, and reading its
    /// summary, with the ratios and Athena's price.
    Cost {
        #[arg(long)]
        lake: PathBuf,
    },
    /// Prints the Athena DDL of a lake table, derived from the schema the writer uses, of the
    /// reader view `logs_all` (curated and staging, each record once), or of the summary tables.
    Schema {
        #[arg(long, value_enum, default_value = "logs")]
        table: TableArg,
        /// The bucket the table's LOCATION points at.
        #[arg(long, default_value = "my-loglake-bucket")]
        bucket: String,
        /// `logs-all` only: the view for this local lake's compaction state, its "$path" being
        /// `lake://` + the object key (as scripts/run_reader_view.py gives DuckDB).
        #[arg(long)]
        lake: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Function {
    IngestCloudwatch,
    IngestKinesis,
    FirehoseTransform,
}

#[derive(Clone, Copy, ValueEnum)]
enum TableArg {
    Logs,
    Staging,
    LogsAll,
    /// The summary table of every shipped rollup.
    Summaries,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Invoke { function, events, lake } => invoke(function, &events, lake.as_deref()).await,
        Command::Demo { lake } => demo::run(&lake).await,
        Command::Compact { lake, memory_mb, file_mb, grace_minutes } => {
            compact(&lake, memory_mb, file_mb, grace_minutes).await
        }
        Command::Backfill { log_group, start, end, lake, state, page_size } => {
            backfill::run(&log_group, &start, &end, lake.as_deref(), state, page_size).await
        }
        Command::Query { lake, sql } => query(&lake, &sql).await,
        Command::Rollup { lake, query, window } => rollup(&lake, query.as_deref(), window.as_deref()).await,
        Command::Cost { lake } => cost(&lake).await,
        Command::Schema { table, bucket, lake } => match table {
            TableArg::Logs => athena_ddl(Table::Logs, &bucket).map(|ddl| print!("{ddl}")),
            TableArg::Staging => athena_ddl(Table::Staging, &bucket).map(|ddl| print!("{ddl}")),
            TableArg::LogsAll => view_ddl(&bucket, lake.as_deref()).await.map(|ddl| print!("{ddl}")),
            TableArg::Summaries => rollups::summaries_ddl(&bucket).await.map(|ddl| print!("{ddl}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("loglake: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `CREATE OR REPLACE VIEW logs_all`: for a new lake in `bucket`, or for a local lake's state.
async fn view_ddl(bucket: &str, lake: Option<&Path>) -> Result<String, String> {
    loglake::schema::check_bucket_name(bucket)?;
    let (state, path_prefix) = match lake {
        Some(lake) => {
            let state = loglake::compact::load_state(&LocalStore::new(lake)).await.map_err(|e| e.to_string())?;
            (state, "lake://".to_owned())
        }
        None => (Default::default(), format!("s3://{bucket}/")),
    };
    let sql = loglake::reader_view::view_sql(&state, &path_prefix);
    Ok(format!("CREATE OR REPLACE VIEW \"{}\" AS\n{sql};\n", loglake::reader_view::VIEW_NAME))
}

async fn query(lake: &Path, sql: &str) -> Result<(), String> {
    let engine = engine::Engine::open(lake, engine::Source::Lake).await?;
    let output = engine.run(sql).await?;
    println!("{}", engine::pretty(&output.batches));
    println!(
        "{} rows in {} ms; scanned {} — on Athena ${:.6} ($5/TB, 10 MB minimum)",
        output.rows(),
        output.elapsed_ms,
        demo::human(output.bytes_scanned as usize),
        loglake::rollup::athena_cost_usd(output.bytes_scanned)
    );
    Ok(())
}

async fn rollup(lake: &Path, name: Option<&str>, window: Option<&str>) -> Result<(), String> {
    let queries = rollups::queries(name)?;
    for run in rollups::run(lake, &queries, window).await? {
        println!(
            "{:<24} {:<14} {:>5} rows  scanned {:>10}  → {}",
            run.query,
            run.window.name(),
            run.rows.unwrap_or(0),
            demo::human(run.bytes_scanned as usize),
            loglake::rollup::summary_key(
                &queries.iter().find(|q| q.name == run.query).map_or(run.query.clone(), |q| q.output.clone()),
                &run.window
            )
        );
    }
    Ok(())
}

async fn cost(lake: &Path) -> Result<(), String> {
    let queries = rollups::queries(None)?;
    let staging = rollups::scan_queries(lake, &queries, engine::Source::StagingOnly).await?;
    let curated = rollups::scan_queries(lake, &queries, engine::Source::CuratedOnly).await?;
    let summary = rollups::scan_summaries(lake, &queries).await?;
    print!("{}", rollups::cost_table(&queries, &staging, &curated, &summary));
    Ok(())
}

/// The compaction settings of the CLI (and the demo).
pub fn compact_options(memory_mb: usize, file_mb: usize, grace_minutes: i64) -> loglake::compact::CompactOptions {
    loglake::compact::CompactOptions {
        merge: loglake::merge::MergeOptions { memory_budget_bytes: memory_mb << 20, batch_rows: 8192 },
        workers: loglake::compact::default_workers(),
        file_bytes: file_mb << 20,
        zstd_level: 3,
        retry_horizon_ms: 48 * 3_600_000,
        grace_ms: grace_minutes * 60_000,
        // A moment ahead, so that what was written this millisecond counts as old enough.
        now_ms: loglake::function::now_ms() + 1_000,
    }
}

async fn compact(lake: &Path, memory_mb: usize, file_mb: usize, grace_minutes: i64) -> Result<(), String> {
    use std::io::{IsTerminal, Write};
    let store = LocalStore::new(lake);
    let spill = lake.join("_loglake").join("spill");
    let terminal = std::io::stderr().is_terminal();
    let record = loglake::compact::compact_with_progress(
        &store,
        &loglake::compact::local_readers(),
        &compact_options(memory_mb, file_mb, grace_minutes),
        &spill,
        |done, total, hour| {
            if terminal {
                let filled = (done * 30).checked_div(total).unwrap_or(30).min(30);
                eprint!("\r[{}{}] {done}/{total} hours  {hour}   ", "#".repeat(filled), ".".repeat(30 - filled));
                let _ = std::io::stderr().flush();
            } else if done > 0 {
                eprintln!("compacted {hour} ({done}/{total} hours)");
            }
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    if terminal {
        eprintln!();
    }
    let _ = std::fs::remove_dir_all(&spill);
    println!("{}", serde_json::to_string(&record).unwrap_or_default());
    Ok(())
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The state the handler runs with: the local lake, or the bucket of the environment.
pub async fn state_for(lake: Option<&Path>) -> Result<State, String> {
    match lake {
        Some(dir) => {
            let pipeline = PipelineConfig::from_lookup(env_lookup).map_err(|e| e.to_string())?;
            Ok(State { pipeline, store: Box::new(LocalStore::new(dir)) })
        }
        None => {
            let config = FunctionConfig::from_lookup(env_lookup).map_err(|e| format!("{e} (or pass --lake DIR)"))?;
            Ok(State::from_config(config).await)
        }
    }
}

/// Expands directories into their *.json files, in name order.
pub fn event_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read directory {}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Reads an event file as the event type `T` of a function; `shape` describes it for errors.
pub fn read_event<T: serde::de::DeserializeOwned>(path: &Path, shape: &str) -> Result<T, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{} is not {shape}: {e}", path.display()))
}

const SUBSCRIPTION_EVENT: &str = "a CloudWatch Logs subscription event ({\"awslogs\":{\"data\":…}})";
const KINESIS_EVENT: &str = "a Kinesis event ({\"Records\":[{\"kinesis\":{…}}]})";
const FIREHOSE_EVENT: &str = "a Firehose transformation event ({\"records\":[{\"recordId\":…,\"data\":…}]})";

/// Runs the handler of `function` on one event file: its report as a JSON line, and whether
/// the invocation failed (for Kinesis: whether it reported records for retry).
async fn invoke_one(function: Function, state: &State, path: &Path) -> Result<serde_json::Value, serde_json::Value> {
    let failure = |error_type: &str, message: String| serde_json::json!({"event": path, "errorType": error_type, "errorMessage": message});
    let invalid = |message| failure("Loglake.InvalidEvent", message);
    match function {
        Function::IngestCloudwatch => {
            let event: SubscriptionEvent = read_event(path, SUBSCRIPTION_EVENT).map_err(invalid)?;
            match ingest_cloudwatch::handle(state, &event).await {
                Ok(report) => Ok(response_line(path, &report)),
                Err(error) => Err(failure(error.0.error_type(), error.to_string())),
            }
        }
        Function::IngestKinesis => {
            let event: KinesisEvent = read_event(path, KINESIS_EVENT).map_err(invalid)?;
            let report = ingest_kinesis::handle(state, &event, None).await;
            let mut line = response_line(path, &report);
            if let Some(object) = line.as_object_mut() {
                object.insert("response".into(), serde_json::json!(report.response()));
            }
            if report.retry_from.is_some() { Err(line) } else { Ok(line) }
        }
        Function::FirehoseTransform => {
            let event: FirehoseEvent = read_event(path, FIREHOSE_EVENT).map_err(invalid)?;
            match firehose_transform::handle(state, &event).await {
                Ok((response, report)) => {
                    let mut line = response_line(path, &report);
                    if let Some(object) = line.as_object_mut() {
                        object.insert("response".into(), serde_json::json!(response));
                    }
                    Ok(line)
                }
                Err(error) => Err(failure(error.0.error_type(), error.to_string())),
            }
        }
    }
}

async fn invoke(function: Function, paths: &[PathBuf], lake: Option<&Path>) -> Result<(), String> {
    let state = state_for(lake).await?;
    let mut failures = 0;
    for path in event_files(paths)? {
        let line = invoke_one(function, &state, &path).await.unwrap_or_else(|line| {
            failures += 1;
            line
        });
        println!("{line}");
    }
    if failures > 0 { Err(format!("{failures} event(s) failed")) } else { Ok(()) }
}

fn response_line(path: &Path, report: &impl serde::Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("event".into(), serde_json::json!(path));
    }
    value
}
