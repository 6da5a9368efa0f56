//! The local query engine: DataFusion over a local lake, standing in for Athena. Tables as in
//! Glue: `logs` (curated), `logs_staging`, the view `logs_all` (the compaction state's rules),
//! every summary under `summaries/`, and `query_runs`; partitions are columns. Queries are
//! Athena SQL, translated in one place ([`crate::dialect`]); what each one read is reported as
//! the bytes Athena would have scanned.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::prelude::SessionContext;
use futures_util::stream::BoxStream;
use loglake::compact::state::{CompactionState, load_state};
use loglake::compact::view::{
    VIEW_NAME, typed_view_name, typed_view_sql_over_visible_files, view_sql_over_visible_files,
};
use loglake::lake::layout::{QUERY_RUNS_PREFIX, SUMMARIES_PREFIX};
use loglake::lake::schema::{Table, logs_schema};
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::lake::typed::{CuratedTable, TYPED_TABLES};
use loglake::rollup::runs::query_runs_schema;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, PutMultipartOptions, PutOptions,
    PutPayload, PutResult,
};

use crate::dialect::athena_to_datafusion;

/// Which files the tables hold: the whole lake, or one side of it (for `loglake cost`, which
/// prices the same query over each). The views are the same in every case; a side left out is an
/// empty table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Curated and staging, each record once (the views Athena reads).
    Lake,
    /// The curated tables (`logs` and the typed ones), under the compaction state's views.
    CuratedOnly,
    /// Staging as ingest wrote it, under the views of a lake never compacted.
    StagingOnly,
}

pub struct Engine {
    ctx: SessionContext,
    read: Arc<ReadRanges>,
}

/// A query's result and what it read.
pub struct QueryOutput {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Bytes read from Parquet files (column chunks and footers): what Athena bills.
    pub bytes_scanned: u64,
    pub elapsed_ms: u64,
}

impl QueryOutput {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

impl Engine {
    pub async fn open(lake: &Path, source: Source) -> Result<Engine> {
        let lake = std::fs::canonicalize(lake).with_context(|| format!("the lake {}", lake.display()))?;
        let store = LocalStore::new(&lake);
        let state = load_state(&store).await.context("reading the compaction state")?;
        // The engine registers whole directories, so a curated file the state hides (a run
        // interrupted between writing and switching, or replaced files not yet deleted) would
        // be read twice. `loglake compact` finishes or undoes such a run.
        let mut hidden = Vec::new();
        for table in CuratedTable::all() {
            hidden.extend(store.list(&table.prefix()).await?);
        }
        if let Some(key) = hidden.iter().find(|key| !state.curated_visible(key)) {
            bail!(
                "{} holds {key}, which an interrupted compaction left hidden: run `loglake compact --lake {}` first",
                lake.display(),
                lake.display()
            );
        }
        // Footers are read on their own: with a size hint DataFusion reads a small file whole
        // with its footer and counts none of it as scanned.
        let mut config = datafusion::prelude::SessionConfig::new();
        config.options_mut().execution.parquet.metadata_size_hint = None;
        // `CAST(… AS VARCHAR)` is Utf8, as the tables' text columns are (and Athena's varchar):
        // a summary's columns do not depend on how a query made its text.
        config.options_mut().sql_parser.map_string_types_to_utf8view = false;
        // Athena (Trino) sorts nulls last in either direction; DataFusion's default puts them
        // first in a descending order, so `ORDER BY x DESC LIMIT 10` would return other rows.
        config.options_mut().sql_parser.default_null_ordering = "nulls_last".into();
        // No caches: each query reads what it reads (footers included), as on Athena, and
        // sees files written since the engine opened.
        let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_metadata_cache_limit(0)
            .with_object_list_cache_limit(0)
            .with_file_statistics_cache_limit(0)
            .build_arc()
            .context("the query engine")?;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        for function in crate::dialect::athena_functions() {
            ctx.register_udf(function);
        }
        // DataFusion 55 pushes field reads (`get_field(attributes, …)`, `useridentity.arn`) down
        // through a union, and then fails to plan a filter beside them, or reads the wrong
        // column, when the union's first arm is a table read as it is: the reader views are such
        // unions. Without these two rules a field is read from its whole column, as Athena reads
        // a map. (`the_typed_tables_and_their_views_are_queried_like_athenas` fails with them.)
        for rule in ["extract_leaf_expressions", "push_down_leaf_projections"] {
            ctx.remove_optimizer_rule(rule);
        }
        let read = Arc::new(ReadRanges::default());
        let files = CountingStore { inner: LocalFileSystem::new(), read: read.clone() };
        let url = url::Url::parse("file://")?;
        ctx.runtime_env().register_object_store(&url, Arc::new(files));
        let hive = [("dt", DataType::Utf8), ("hour", DataType::Utf8)];
        let (curated, staging) = (source != Source::StagingOnly, source != Source::CuratedOnly);
        let logs_dir = lake.join(Table::Logs.prefix());
        register(&ctx, Table::Logs.name(), curated.then_some(logs_dir.as_path()), &hive, logs_schema()).await?;
        let staging_dir = lake.join(Table::Staging.prefix());
        register(&ctx, Table::Staging.name(), staging.then_some(staging_dir.as_path()), &hive, logs_schema()).await?;
        for table in TYPED_TABLES {
            let dir = lake.join(table.name);
            register(&ctx, table.name, curated.then_some(dir.as_path()), &hive, table.schema()).await?;
        }
        register(&ctx, "query_runs", Some(&lake.join(QUERY_RUNS_PREFIX)), &hive[..1], query_runs_schema()).await?;
        for (name, dir, hourly) in summary_tables(&lake.join(SUMMARIES_PREFIX))? {
            register_summary(&ctx, &name, &dir, if hourly { &hive } else { &hive[..1] }).await?;
        }
        // Staging alone is a lake before its first compaction.
        let state = if staging && !curated { CompactionState::default() } else { state };
        let view = athena_to_datafusion(&view_sql_over_visible_files(&state));
        ctx.sql(&format!("CREATE VIEW \"{VIEW_NAME}\" AS {view}")).await.context("the view logs_all")?;
        // The typed tables' views (lake::typed), as in Athena.
        for table in TYPED_TABLES {
            let view = athena_to_datafusion(&typed_view_sql_over_visible_files(table, &state));
            let name = typed_view_name(table);
            ctx.sql(&format!("CREATE VIEW \"{name}\" AS {view}")).await.with_context(|| format!("the view {name}"))?;
        }
        Ok(Engine { ctx, read })
    }

    /// The columns a statement of Athena SQL returns, without running it.
    pub async fn output_schema(&self, athena_sql: &str) -> Result<SchemaRef> {
        let frame = self.ctx.sql(&athena_to_datafusion(athena_sql)).await.context("planning")?;
        Ok(Arc::new(frame.schema().as_arrow().clone()))
    }

    /// Runs one statement of Athena SQL.
    pub async fn run(&self, athena_sql: &str) -> Result<QueryOutput> {
        let started = Instant::now();
        self.read.take_distinct_bytes();
        let sql = athena_to_datafusion(athena_sql);
        let frame = self.ctx.sql(&sql).await.context("planning")?;
        let plan = frame.create_physical_plan().await.context("planning")?;
        let batches = datafusion::physical_plan::collect(plan.clone(), self.ctx.task_ctx()).await.context("running")?;
        Ok(QueryOutput {
            schema: plan.schema(),
            batches,
            bytes_scanned: self.read.take_distinct_bytes(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// A table of the lake over the Parquet files under `dir`, partitioned by `partitions`; with no
/// `dir`, the same table empty.
async fn register(
    ctx: &SessionContext,
    name: &str,
    dir: Option<&Path>,
    partitions: &[(&str, DataType)],
    schema: SchemaRef,
) -> Result<()> {
    let Some(dir) = dir else {
        let fields = schema
            .fields()
            .iter()
            .cloned()
            .chain(partitions.iter().map(|(n, t)| Arc::new(Field::new(*n, t.clone(), false))));
        let empty = MemTable::try_new(Arc::new(Schema::new(fields.collect::<Vec<_>>())), vec![vec![]])?;
        ctx.register_table(name, Arc::new(empty)).with_context(|| format!("the table {name}"))?;
        return Ok(());
    };
    let (options, url) = listing(dir, partitions)?;
    ctx.register_listing_table(name, &url, options, Some(schema), None)
        .await
        .with_context(|| format!("the table {name}"))
}

/// A summary table: its columns are those of its files.
async fn register_summary(ctx: &SessionContext, name: &str, dir: &Path, partitions: &[(&str, DataType)]) -> Result<()> {
    let (options, url) = listing(dir, partitions)?;
    let table_url = datafusion::datasource::listing::ListingTableUrl::parse(&url).with_context(|| name.to_owned())?;
    let schema =
        options.infer_schema(&ctx.state(), &table_url).await.with_context(|| format!("the columns of {name}"))?;
    ctx.register_listing_table(name, &url, options, Some(schema), None)
        .await
        .with_context(|| format!("the table {name}"))
}

fn listing(dir: &Path, partitions: &[(&str, DataType)]) -> Result<(ListingOptions, String)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // No footer size hint: with one, a file smaller than the hint is read whole.
    let options = ListingOptions::new(Arc::new(ParquetFormat::default().with_metadata_size_hint(None)))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partitions.iter().map(|(n, t)| (n.to_string(), t.clone())).collect());
    Ok((options, format!("{}/", dir.display())))
}

/// `summaries/<name>/`: each directory with a Parquet file is a table; hourly if its files
/// sit under `hour=`.
fn summary_tables(root: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(Vec::new()) };
    let mut tables = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid || !entry.path().is_dir() {
            continue;
        }
        let files = parquet_files(&entry.path());
        let Some(first) = files.first() else { continue };
        let hourly = first.components().any(|c| c.as_os_str().to_string_lossy().starts_with("hour="));
        tables.push((name, entry.path(), hourly));
    }
    tables.sort();
    Ok(tables)
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The byte ranges of each file a query has read.
#[derive(Debug, Default)]
struct ReadRanges(Mutex<HashMap<String, Vec<Range<u64>>>>);

impl ReadRanges {
    fn record(&self, location: &ObjectPath, ranges: impl IntoIterator<Item = Range<u64>>) {
        if let Ok(mut map) = self.0.lock() {
            map.entry(location.to_string()).or_default().extend(ranges);
        }
    }

    /// The bytes of every file read at least once, and forgets them: the bytes a query scans
    /// on Athena, which reads each needed byte (footers, column chunks) once per query.
    fn take_distinct_bytes(&self) -> u64 {
        let Ok(mut map) = self.0.lock() else { return 0 };
        let mut total = 0;
        for (_, mut ranges) in map.drain() {
            ranges.sort_by_key(|r| r.start);
            let mut end = 0;
            for range in ranges {
                let start = range.start.max(end);
                if range.end > start {
                    total += range.end - start;
                    end = range.end;
                }
            }
        }
        total
    }
}

/// The local file system as DataFusion's object store, noting what is read from files.
/// (DataFusion's own `bytes_scanned` misses data read along with a footer, and counts
/// nothing twice only by accident.)
#[derive(Debug)]
struct CountingStore {
    inner: LocalFileSystem,
    read: Arc<ReadRanges>,
}

impl std::fmt::Display for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountingStore({})", self.inner)
    }
}

#[async_trait::async_trait]
impl object_store::ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> object_store::Result<GetResult> {
        let head = options.head;
        let result = self.inner.get_opts(location, options).await?;
        if !head {
            self.read.record(location, [result.range.clone()]);
        }
        Ok(result)
    }

    async fn get_ranges(&self, location: &ObjectPath, ranges: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
        let out = self.inner.get_ranges(location, ranges).await?;
        self.read.record(location, ranges.iter().cloned());
        Ok(out)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &ObjectPath, to: &ObjectPath, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// The result as a text table.
pub fn pretty(batches: &[RecordBatch]) -> String {
    datafusion::arrow::util::pretty::pretty_format_batches(batches).map(|t| t.to_string()).unwrap_or_default()
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "aws_samples_tests.rs"]
mod aws_samples_tests;
