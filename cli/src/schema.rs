//! `loglake schema`: the Athena DDL of a lake table, derived from the schema the writer uses; of
//! the reader view `logs_all`; or of the summary tables, their columns planned from the queries.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::ValueEnum;
use loglake::compact::state::load_state;
use loglake::compact::view::{VIEW_NAME, typed_view_name, typed_view_sql, view_sql};
use loglake::lake::layout::SUMMARIES_PREFIX;
use loglake::lake::schema::{self, athena_ddl, check_bucket_name, hive_type, projected_table_ddl};
use loglake::lake::storage::LocalStore;
use loglake::lake::typed::{TYPED_TABLES, typed_ddl};
use loglake::rollup::query_file::{Window, WindowBounds};

use crate::engine::{Engine, Source};
use crate::rollups::queries;

#[derive(Clone, Copy, ValueEnum)]
pub enum Table {
    Logs,
    Staging,
    LogsAll,
    /// The summary table of every shipped rollup.
    Summaries,
    /// The typed tables (vpc_flow_logs, alb_logs, cloudtrail_logs) and their `_all` views.
    Typed,
}

pub async fn run(table: Table, bucket: &str, lake: Option<&Path>) -> Result<()> {
    let ddl = match table {
        Table::Logs => athena_ddl(schema::Table::Logs, bucket).map_err(anyhow::Error::msg)?,
        Table::Staging => athena_ddl(schema::Table::Staging, bucket).map_err(anyhow::Error::msg)?,
        Table::LogsAll => view_ddl(bucket, lake).await?,
        Table::Summaries => summaries_ddl(bucket).await?,
        Table::Typed => typed_tables_ddl(bucket, lake).await?,
    };
    print!("{ddl}");
    Ok(())
}

/// `CREATE OR REPLACE VIEW logs_all`: for a new lake in `bucket`, or for a local lake's state.
async fn view_ddl(bucket: &str, lake: Option<&Path>) -> Result<String> {
    check_bucket_name(bucket).map_err(anyhow::Error::msg)?;
    let (state, path_prefix) = match lake {
        Some(lake) => {
            let state = load_state(&LocalStore::new(lake))
                .await
                .with_context(|| format!("reading the compaction state of {}", lake.display()))?;
            (state, "lake://".to_owned())
        }
        None => (Default::default(), format!("s3://{bucket}/")),
    };
    let sql = view_sql(&state, &path_prefix);
    Ok(format!("CREATE OR REPLACE VIEW \"{VIEW_NAME}\" AS\n{sql};\n"))
}

/// Each typed table's `CREATE EXTERNAL TABLE` and `CREATE OR REPLACE VIEW <table>_all`.
async fn typed_tables_ddl(bucket: &str, lake: Option<&Path>) -> Result<String> {
    check_bucket_name(bucket).map_err(anyhow::Error::msg)?;
    let (state, path_prefix) = match lake {
        Some(lake) => (load_state(&LocalStore::new(lake)).await?, "lake://".to_owned()),
        None => (Default::default(), format!("s3://{bucket}/")),
    };
    let mut out = String::new();
    for table in TYPED_TABLES {
        out.push_str(&typed_ddl(table, bucket).map_err(anyhow::Error::msg)?);
        let sql = typed_view_sql(table, &state, &path_prefix);
        out.push_str(&format!("CREATE OR REPLACE VIEW \"{}\" AS\n{sql};\n", typed_view_name(table)));
    }
    Ok(out)
}

/// Athena DDL of every shipped query's summary table in `bucket`: the columns the query returns
/// (planned by the local engine, as template.yaml's tables are checked to be).
pub async fn summaries_ddl(bucket: &str) -> Result<String> {
    check_bucket_name(bucket).map_err(anyhow::Error::msg)?;
    // The engine plans over an empty lake: nothing is read.
    let scratch = tempfile::tempdir().context("a scratch directory to plan the queries in")?;
    let engine = Engine::open(scratch.path(), Source::Lake).await?;
    let mut out = String::new();
    for query in queries(None)? {
        let bounds = WindowBounds::containing(query.window, Utc::now(), chrono_tz::Tz::UTC); // for its columns only
        let schema = engine.output_schema(&query.render(&bounds)?).await.with_context(|| query.name.clone())?;
        let columns: Vec<(String, String)> =
            schema.fields().iter().map(|f| (f.name().clone(), hive_type(f.data_type()))).collect();
        let location = format!("s3://{bucket}/{SUMMARIES_PREFIX}{}/", query.output);
        out.push_str(&projected_table_ddl(&query.output, &location, &columns, query.window == Window::Hourly));
    }
    Ok(out)
}
