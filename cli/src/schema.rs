//! `loglake schema`: the Athena DDL of a lake table, derived from the schema the writer uses; of
//! the reader view `logs_all`; or of the summary tables, their columns planned from the queries.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::ValueEnum;
use loglake::compact::state::load_state;
use loglake::compact::view::{ReaderView, VIEW_NAME, typed_view_name, typed_view_sql, view_sql};
use loglake::lake::layout::SUMMARIES_PREFIX;
use loglake::lake::schema::{self, athena_ddl, check_bucket_name, hive_type, projected_table_ddl};
use loglake::lake::storage::LocalStore;
use loglake::lake::typed::{CuratedTable, TYPED_TABLES, TypedTable, typed_ddl};
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
    /// The typed tables (vpc_flow_logs, alb_logs, nlb_logs, elb_logs, cloudfront_logs,
    /// cloudtrail_logs, apigateway_logs, lambda_logs) and their `_all` views.
    Typed,
    /// The typed tables and their views as template.yaml's Glue resources (a test checks that
    /// the template holds exactly these).
    TypedTemplate,
}

pub async fn run(table: Table, bucket: &str, lake: Option<&Path>) -> Result<()> {
    let ddl = match table {
        Table::Logs => athena_ddl(schema::Table::Logs, bucket).map_err(anyhow::Error::msg)?,
        Table::Staging => athena_ddl(schema::Table::Staging, bucket).map_err(anyhow::Error::msg)?,
        Table::LogsAll => view_ddl(bucket, lake).await?,
        Table::Summaries => summaries_ddl(bucket).await?,
        Table::Typed => typed_tables_ddl(bucket, lake).await?,
        Table::TypedTemplate => typed_template_resources(),
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

/// A typed table's logical ID stem in template.yaml: `vpc_flow_logs` → `VpcFlowLogs`.
pub fn logical_id(table: &TypedTable) -> String {
    let word = |w: &str| w[..1].to_uppercase() + &w[1..];
    table.name.split('_').map(word).collect()
}

/// The Glue table and the reader view of each typed table, as CloudFormation YAML in the shape of
/// template.yaml's `LogsTable` and `LogsAllView` (the view's text for a lake never compacted;
/// the compactor replaces it at each switch).
fn typed_template_resources() -> String {
    let columns = |columns: &[(String, String)], indent: &str| -> String {
        let quoted = |t: &str| if t.contains(['<', ',', ':']) { format!("\"{t}\"") } else { t.to_owned() };
        columns.iter().map(|(name, ty)| format!("{indent}- {{ Name: {name}, Type: {} }}\n", quoted(ty))).collect()
    };
    let mut out = String::new();
    for table in TYPED_TABLES {
        let id = logical_id(table);
        let name = table.name;
        let hive = CuratedTable::Typed(table).hive_columns();
        out.push_str(&format!(
            "  {id}Table:
    Type: AWS::Glue::Table
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseName: !Ref LakeDatabase
      TableInput:
        Name: {name}
        TableType: EXTERNAL_TABLE
        Parameters:
          classification: parquet
          parquet.compression: ZSTD
          projection.enabled: \"true\"
          projection.dt.type: date
          projection.dt.format: yyyy-MM-dd
          projection.dt.range: \"1999-12-31,NOW+2DAYS\"
          projection.dt.interval: \"1\"
          projection.dt.interval.unit: DAYS
          projection.hour.type: integer
          projection.hour.range: 0,23
          projection.hour.digits: \"2\"
          storage.location.template: !Sub \"s3://${{LakeBucket}}/{name}/dt=${{!dt}}/hour=${{!hour}}/\"
        PartitionKeys:
          - {{ Name: dt, Type: string }}
          - {{ Name: hour, Type: string }}
        StorageDescriptor:
          Location: !Sub \"s3://${{LakeBucket}}/{name}/\"
          InputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat
          OutputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat
          SerdeInfo:
            SerializationLibrary: org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe
          Columns:
{}
",
            columns(&hive, "            ")
        ));
        let view = ReaderView {
            name: typed_view_name(table),
            table: CuratedTable::Typed(table),
            sql: typed_view_sql(table, &Default::default(), "s3://bucket/"),
        };
        let document = loglake::compact::view::presto_view_document(&view, "${LakeDatabase}");
        out.push_str(&format!(
            "  {id}AllView:
    Type: AWS::Glue::Table
    DependsOn: [{id}Table, LogsTable, LogsStagingTable]
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseName: !Ref LakeDatabase
      TableInput:
        Name: {}
        TableType: VIRTUAL_VIEW
        Parameters:
          presto_view: \"true\"
          comment: Presto View
        ViewExpandedText: /* Presto View */
        ViewOriginalText: !Join
          - \"\"
          - - \"/* Presto View: \"
            - Fn::Base64:
                Fn::Sub: |-
                  {document}
            - \" */\"
        StorageDescriptor:
          SerdeInfo: {{}}
          Columns:
{}
",
            view.name,
            columns(&view.hive_columns(), "            ")
        ));
    }
    out
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
