//! `loglake`: the same handler code as the Lambda functions, on one machine, with a local
//! directory standing in for the bucket. This file reads the command line and hands each command
//! to its module; an error is printed with its whole chain of context.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backfill;
mod compact;
mod cost_model;
mod demo;
mod dialect;
mod engine;
mod invoke;
mod lake;
mod query;
mod rollups;
mod schema;
mod units;

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
        function: invoke::Function,
        /// Event files, or directories of *.json event files (processed in name order).
        #[arg(long = "event", required = true, num_args = 1..)]
        events: Vec<PathBuf>,
        /// A local directory to use as the bucket. Without it, LOGLAKE_BUCKET (and the usual AWS
        /// settings, AWS_ENDPOINT_URL included) name the bucket.
        #[arg(long)]
        lake: Option<PathBuf>,
        /// ingest-s3 only: a local directory holding the notified objects, each at
        /// `DIR/<key>` (the bucket name ignored). Without it, objects are read from S3.
        #[arg(long)]
        source: Option<PathBuf>,
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
    /// What a TB of log text costs on each ingest path (Lambda, S3, Kinesis, Firehose,
    /// compaction, storage, the rollups' Athena scans) and on Firehose to S3 or S3 Tables and
    /// CloudWatch Logs: measured on the CloudWatch Logs events given, through the pipeline into a
    /// scratch lake, priced from cost/prices.json with the throughputs of cost/model.json.
    CostPerTb {
        /// CloudWatch Logs subscription event files, or directories of *.json events.
        #[arg(long = "event", required = true, num_args = 1..)]
        events: Vec<PathBuf>,
        /// Keep the measured lake here (default: a temporary directory).
        #[arg(long)]
        lake: Option<PathBuf>,
        /// Prices to use instead of the shipped cost/prices.json.
        #[arg(long)]
        prices: Option<PathBuf>,
        /// Throughputs and settings instead of the shipped cost/model.json.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Prints the Athena DDL of a lake table, derived from the schema the writer uses, of the
    /// reader view `logs_all` (curated and staging, each record once), or of the summary tables.
    Schema {
        #[arg(long, value_enum, default_value = "logs")]
        table: schema::Table,
        /// The bucket the table's LOCATION points at.
        #[arg(long, default_value = "my-loglake-bucket")]
        bucket: String,
        /// `logs-all` only: the view for this local lake's compaction state, its "$path" being
        /// `lake://` + the object key (as scripts/run_reader_view.py gives DuckDB).
        #[arg(long)]
        lake: Option<PathBuf>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Invoke { function, events, lake, source } => {
            invoke::run(function, &events, lake.as_deref(), source.as_deref()).await
        }
        Command::Demo { lake } => demo::run(&lake).await,
        Command::Backfill { log_group, start, end, lake, state, page_size } => {
            backfill::run(&log_group, &start, &end, lake.as_deref(), state, page_size).await
        }
        Command::Compact { lake, memory_mb, file_mb, grace_minutes } => {
            compact::run(&lake, memory_mb, file_mb, grace_minutes).await
        }
        Command::Query { lake, sql } => query::run(&lake, &sql).await,
        Command::Rollup { lake, query, window } => rollups::rollup(&lake, query.as_deref(), window.as_deref()).await,
        Command::Cost { lake } => rollups::cost(&lake).await,
        Command::CostPerTb { events, lake, prices, model } => {
            cost_model::run(&events, lake.as_deref(), prices.as_deref(), model.as_deref()).await
        }
        Command::Schema { table, bucket, lake } => schema::run(table, &bucket, lake.as_deref()).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}`: the error with its causes, outermost first ("compacting …: S3 …: SlowDown").
            eprintln!("loglake: {error:#}");
            ExitCode::FAILURE
        }
    }
}
