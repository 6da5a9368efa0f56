//! The reader view `logs_all`: the curated table and not-yet-compacted staging, each record once
//! at every moment (docs/compaction-design.md).
//!
//! The view is a pure function of the compaction state ([`view_sql`]; [`crate::compact::state`]). Athena reads it as a Glue
//! view that the compactor replaces at each switch ([`ViewPublisher`]); one query resolves the
//! view once, so it sees one state. On a local lake the state file is the view, and
//! [`visible_rows`] applies the same rules in Rust.
//!
//! The rules:
//! - a curated file is visible unless it belongs to the run in progress (`r<next_run>-…`,
//!   written but not switched in, or left by a crash) or was replaced and not yet deleted;
//! - a staging row is visible unless its hour was compacted recently (within the retry horizon)
//!   and a visible curated row of that hour has the same `log_group` and `event_id`: it is a
//!   consumed row not yet deleted, or a retry that rewrote a consumed staging key.

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::{BooleanArray, RecordBatch};
use async_trait::async_trait;
use base64::Engine;

use crate::compact::merge::MergeError;
use crate::compact::state::{CompactError, CompactionState, load_state};
use crate::lake::conform::reader_builder;
use crate::lake::layout::{CURATED_RUN_OF_PATH_SQL, STAGING_PREFIX, partition_of};
use crate::lake::schema::{PARTITION_COLUMNS, Table, logs_schema, presto_type};
use crate::lake::storage::ObjectStore;
use crate::lake::typed::{CuratedTable, Kind, TYPED_TABLES, TypedTable, rows_for_table};

/// The Glue / Athena name of the view.
pub const VIEW_NAME: &str = "logs_all";

/// One reader view of a state: `logs_all`, or a typed table's `<table>_all`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReaderView {
    /// Its Glue / Athena name.
    pub name: String,
    /// The table whose columns it has (and then `dt`, `hour`).
    pub table: CuratedTable,
    /// Its `SELECT` ([`view_sql`], [`typed_view_sql`]).
    pub sql: String,
}

impl ReaderView {
    /// `(name, hive type)` of its columns: its table's, then the partitions, then the partition's
    /// day where its table has one ([`partition_day`]). What Glue lists.
    pub fn hive_columns(&self) -> Vec<(String, String)> {
        let partitions = PARTITION_COLUMNS.map(|name| (name.to_owned(), "string".to_owned()));
        let day = partition_day(self.table).map(|name| (name.to_owned(), "date".to_owned()));
        self.table.hive_columns().into_iter().chain(partitions).chain(day).collect()
    }
}

/// Every reader view of `state`, `logs_all` first: what a switch publishes. `path_prefix` turns a
/// key into the engine's `"$path"`.
pub fn reader_views(state: &CompactionState, path_prefix: &str) -> Vec<ReaderView> {
    let logs = ReaderView { name: VIEW_NAME.to_owned(), table: CuratedTable::Logs, sql: view_sql(state, path_prefix) };
    let typed = TYPED_TABLES.iter().map(|table| ReaderView {
        name: typed_view_name(table),
        table: CuratedTable::Typed(table),
        sql: typed_view_sql(table, state, path_prefix),
    });
    std::iter::once(logs).chain(typed).collect()
}

/// Where a view's text goes when a run switches (Glue for Athena; nowhere on a local lake).
#[async_trait]
pub trait ViewPublisher: Send + Sync {
    /// Replaces the text of the view named `view.name` with `view.sql`.
    async fn publish(&self, view: &ReaderView) -> Result<(), String>;
}

/// A local lake: readers apply the state file directly ([`visible_rows`]).
pub struct StateIsTheView;

#[async_trait]
impl ViewPublisher for StateIsTheView {
    async fn publish(&self, _view: &ReaderView) -> Result<(), String> {
        Ok(())
    }
}

/// Where readers are told: the view publisher and the prefix that turns a key into `"$path"`.
pub struct Readers<'a> {
    pub view: &'a dyn ViewPublisher,
    pub path_prefix: String,
}

impl Readers<'_> {
    /// Publishes every reader view of `state`, one after the other: each view is a consistent
    /// reading of one state (a query that reads two views may see two states).
    pub async fn publish(&self, state: &CompactionState) -> Result<(), CompactError> {
        for view in reader_views(state, &self.path_prefix) {
            self.view.publish(&view).await.map_err(CompactError::View)?;
        }
        Ok(())
    }
}

/// A local lake: the state file is the view.
pub fn local_readers() -> Readers<'static> {
    Readers { view: &StateIsTheView, path_prefix: String::new() }
}

/// A SQL string literal. The texts quoted here are object keys and partition values loglake
/// wrote itself, never log content; quotes are doubled all the same.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"$path"` of a curated file, as the engine reports it: `path_prefix` + key
/// (Athena: `s3://bucket/`). None: the engine's `logs` holds visible files only.
fn curated_visible_sql(state: &CompactionState, alias: &str, path_prefix: Option<&str>) -> Option<String> {
    let path_prefix = path_prefix?;
    // Files of this state's runs only: not the run in progress, nor (for a query that planned
    // under this state and lists files later) the runs after it.
    let run_of_path = CURATED_RUN_OF_PATH_SQL.replace("\"$path\"", &format!("{alias}\"$path\""));
    let mut sql = format!("{run_of_path} < {}", state.next_run);
    if !state.replaced.is_empty() {
        let keys: Vec<String> = state.replaced.keys().map(|key| literal(&format!("{path_prefix}{key}"))).collect();
        sql.push_str(&format!(" AND {alias}\"$path\" NOT IN ({})", keys.join(", ")));
    }
    Some(sql)
}

/// The view's `SELECT`: Trino (Athena engine 3) SQL, and also valid DuckDB, which the tests run
/// it on. `path_prefix` turns a key into the engine's `"$path"`.
pub fn view_sql(state: &CompactionState, path_prefix: &str) -> String {
    view(state, Some(path_prefix))
}

/// The view for an engine whose `logs` table holds only the curated files visible in `state`
/// (the local DataFusion engine registers them so): the same rules without `"$path"`.
pub fn view_sql_over_visible_files(state: &CompactionState) -> String {
    view(state, None)
}

fn view(state: &CompactionState, path_prefix: Option<&str>) -> String {
    view_of(CuratedTable::Logs, state, path_prefix)
}

/// The reader view of a typed table: `<table>_all`.
pub fn typed_view_name(table: &TypedTable) -> String {
    format!("{}_all", table.name)
}

/// [`view_sql`] for a typed table: its visible curated files, and the staging rows of its format
/// that no visible curated row of a compacted hour has, their typed columns read from
/// `attributes` as the compactor reads them (a value not of the column's type is null). Before
/// compaction such a row's `attributes` still hold the typed fields too.
pub fn typed_view_sql(table: &'static TypedTable, state: &CompactionState, path_prefix: &str) -> String {
    view_of(CuratedTable::Typed(table), state, Some(path_prefix))
}

/// [`view_sql_over_visible_files`] for a typed table.
pub fn typed_view_sql_over_visible_files(table: &'static TypedTable, state: &CompactionState) -> String {
    view_of(CuratedTable::Typed(table), state, None)
}

/// The name of the view column holding the partition's day, for a typed table whose AWS table is
/// partitioned by a day ([`TypedTable::partition_day`]).
fn partition_day(table: CuratedTable) -> Option<&'static str> {
    match table {
        CuratedTable::Typed(typed) => typed.partition_day,
        CuratedTable::Logs => None,
    }
}

/// The SQL expression for each column of `table`, from a staging row aliased `s`. A struct
/// column is built as Trino builds one (`CAST(ROW(…) AS ROW(…))`), or as DataFusion does
/// (`named_struct`) for the local engine (`datafusion`).
fn staging_columns(table: CuratedTable, datafusion: bool) -> Vec<String> {
    let logs = logs_schema();
    let quoted = |name: &str| format!("\"{name}\"");
    let CuratedTable::Typed(typed) = table else {
        return logs.fields().iter().map(|f| quoted(f.name())).collect();
    };
    // Only this format's rows have a value: a query's condition on a typed column may be
    // evaluated before the view's own `format` condition, on every row of the relation (DataFusion
    // evaluates a conjunction over whole batches), and must not see another format's attribute of
    // the same name (`from_iso8601_timestamp(time)` of an NLB query fails on a CloudFront `time`).
    let format = literal(typed.format.as_str());
    let attribute = |name: &str| {
        format!("CASE WHEN s.\"format\" = {format} THEN element_at(s.\"attributes\", {}) END", literal(name))
    };
    let (attributes, envelope) = logs.fields().split_last().expect("logs has columns");
    let mut columns: Vec<String> = envelope
        .iter()
        .map(|f| format!("s.{} AS {}", quoted(f.name()), quoted(&typed.envelope_name(f.name()))))
        .collect();
    for column in typed.columns {
        let value = match column.kind {
            Kind::Text => attribute(column.attribute),
            Kind::Int => format!("TRY_CAST({} AS INTEGER)", attribute(column.attribute)),
            Kind::BigInt => format!("TRY_CAST({} AS BIGINT)", attribute(column.attribute)),
            Kind::Double => format!("TRY_CAST({} AS DOUBLE)", attribute(column.attribute)),
            Kind::Float => format!("TRY_CAST({} AS REAL)", attribute(column.attribute)),
            Kind::Date => format!("TRY_CAST({} AS DATE)", attribute(column.attribute)),
            Kind::TextStruct(fields) => {
                let values: Vec<String> = fields.iter().map(|(_, a)| attribute(a)).collect();
                let types: Vec<String> = fields.iter().map(|(f, _)| format!("{} VARCHAR", quoted(f))).collect();
                let absent: Vec<String> = values.iter().map(|v| format!("{v} IS NULL")).collect();
                let row = match datafusion {
                    false => format!("CAST(ROW({}) AS ROW({}))", values.join(", "), types.join(", ")),
                    true => {
                        let pairs: Vec<String> =
                            fields.iter().zip(&values).map(|((f, _), v)| format!("{}, {v}", literal(f))).collect();
                        format!("named_struct({})", pairs.join(", "))
                    }
                };
                format!("CASE WHEN {} THEN NULL ELSE {row} END", absent.join(" AND "))
            }
        };
        columns.push(format!("{value} AS {}", quoted(column.name)));
    }
    columns.push(format!("s.{}", quoted(attributes.name())));
    columns
}

/// `"$path"` of a curated file (aliased) of a run before `run`.
fn run_before_sql(alias: &str, run: u64) -> String {
    format!("{} < {run}", CURATED_RUN_OF_PATH_SQL.replace("\"$path\"", &format!("{alias}\"$path\"")))
}

/// A view's `SELECT`: the visible rows of the curated tables that hold its records, and the
/// staging rows of its formats that no visible curated row of a recently compacted hour has.
///
/// A typed table's records are in its own files, and also in the `logs` files of runs before
/// typed tables were on (an hour not merged since keeps them there): its view reads both, its
/// typed columns converted from `attributes` in the second, so that a lake may turn typed tables
/// on at any time and lose no record from any view. `logs_all` is every log: with typed tables on
/// it reads the typed tables too, as `logs` rows. Each record is in `logs_all` once, and, if its
/// format has a table, in that table's view once.
fn view_of(table: CuratedTable, state: &CompactionState, path_prefix: Option<&str>) -> String {
    let names: Vec<String> = table.schema().fields().iter().map(|f| format!("\"{}\"", f.name())).collect();
    let partitions = ["dt", "hour"].map(|name| format!("\"{name}\""));
    // The partition's day, as a date, of a relation aliased `alias`.
    let day = |alias: &str| partition_day(table).map(|name| format!("CAST({alias}\"dt\" AS DATE) AS \"{name}\""));
    let columns = names.iter().chain(&partitions).cloned().chain(day("")).collect::<Vec<_>>().join(", ");
    let (curated, staging, logs) = (table.name(), Table::Staging.name(), CuratedTable::Logs.name());
    // The rows of `logs` and staging that belong in this view (`alias` the relation's).
    let of_view = |alias: &str| match table {
        CuratedTable::Typed(typed) => Some(format!("{alias}\"format\" = {}", literal(typed.format.as_str()))),
        CuratedTable::Logs => None,
    };
    // `logs` files that may hold a typed table's rows: every one before its first run (all of
    // them while it has none).
    let logs_before = match table {
        CuratedTable::Typed(typed) => state.typed_table_from_run(typed),
        CuratedTable::Logs => None,
    };
    // A logs-shaped relation aliased `s`, read as this view's columns.
    let converted_columns = match table {
        CuratedTable::Logs => columns.clone(),
        CuratedTable::Typed(_) => {
            let partitions = partitions.iter().map(|p| format!("s.{p}"));
            // Without `"$path"`, the engine is the local one: DataFusion.
            let datafusion = path_prefix.is_none();
            let columns = staging_columns(table, datafusion).into_iter().chain(partitions).chain(day("s."));
            columns.collect::<Vec<_>>().join(", ")
        }
    };

    let visible = curated_visible_sql(state, "", path_prefix).map(|v| format!(" WHERE {v}")).unwrap_or_default();
    let mut arms = vec![format!("SELECT {columns} FROM \"{curated}\"{visible}")];
    // Each curated table this view's records may be in, with the condition on its rows (`c`).
    let mut holders = vec![(curated, Vec::new())];
    // `logs_all` is every log: with typed tables on, the typed tables' rows too, as `logs` rows
    // (the envelope, and the attributes no typed column holds).
    if table == CuratedTable::Logs && state.typed_tables() {
        for typed in TYPED_TABLES {
            let envelope: Vec<String> = logs_schema()
                .fields()
                .iter()
                .map(|f| format!("\"{}\" AS \"{}\"", typed.envelope_name(f.name()), f.name()))
                .chain(partitions.iter().cloned())
                .collect();
            arms.push(format!("SELECT {} FROM \"{}\"{visible}", envelope.join(", "), typed.name));
            holders.push((typed.name, Vec::new()));
        }
    }
    // A lake with typed tables from its first run has no `logs` file that may hold typed rows:
    // reading `logs` would only cost (its row groups mix formats, so statistics skip few).
    if matches!(table, CuratedTable::Typed(_)) && logs_before != Some(0) {
        let mut old: Vec<String> = of_view("s.").into_iter().collect();
        old.extend(curated_visible_sql(state, "s.", path_prefix));
        // Only its format's rows of `logs` can be a staging row's earlier copy: the condition
        // lets row-group statistics on `format` skip the rest.
        let mut bound: Vec<String> = of_view("c.").into_iter().collect();
        if let (Some(run), Some(_)) = (logs_before, path_prefix) {
            old.push(run_before_sql("s.", run));
            bound.push(run_before_sql("c.", run));
        }
        arms.push(format!("SELECT {converted_columns} FROM \"{logs}\" s WHERE {}", old.join(" AND ")));
        holders.push((logs, bound));
    }

    let mut staging_arm = format!("SELECT {converted_columns} FROM \"{staging}\" s");
    let mut conditions: Vec<String> = of_view("s.").into_iter().collect();
    let days = state.deduplicated_days();
    if !days.is_empty() {
        let hours: Vec<String> = days
            .iter()
            .map(|(dt, hours)| {
                let hours: Vec<String> = hours.iter().map(|h| literal(h)).collect();
                format!("(c.\"dt\" = {} AND c.\"hour\" IN ({}))", literal(dt), hours.join(", "))
            })
            .collect();
        for (holder, bound) in holders {
            let visible = curated_visible_sql(state, "c.", path_prefix).into_iter().chain(bound);
            let visible: String = visible.map(|v| format!(" AND {v}")).collect();
            conditions.push(format!(
                "NOT EXISTS (SELECT 1 FROM \"{holder}\" c WHERE c.\"dt\" = s.\"dt\" AND c.\"hour\" = s.\"hour\" \
AND c.\"log_group\" = s.\"log_group\" AND c.\"event_id\" = s.\"event_id\" AND ({}){visible})",
                hours.join(" OR "),
            ));
        }
    }
    if !conditions.is_empty() {
        staging_arm.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    arms.push(staging_arm);
    arms.join("\nUNION ALL\n")
}

/// Glue's `ViewOriginalText` for an Athena view: the Presto view document, base64-encoded.
pub fn glue_view_original_text(view: &ReaderView, database: &str) -> String {
    let document = presto_view_document(view, database);
    format!("/* Presto View: {} */", base64::engine::general_purpose::STANDARD.encode(document))
}

/// The Presto view document Athena stores for a view, as JSON text: its SQL, and its columns'
/// names and Presto types.
pub fn presto_view_document(view: &ReaderView, database: &str) -> String {
    // Structs, not `json!` maps: their key order does not depend on serde_json's features, so
    // every build makes the same text (the template holds it, and a publisher compares it).
    #[derive(serde::Serialize)]
    struct Column<'a> {
        name: &'a str,
        r#type: String,
    }
    #[derive(serde::Serialize)]
    struct Document<'a> {
        #[serde(rename = "originalSql")]
        original_sql: &'a str,
        catalog: &'a str,
        schema: &'a str,
        columns: Vec<Column<'a>>,
    }
    let schema = view.table.schema();
    let columns = schema
        .fields()
        .iter()
        .map(|f| Column { name: f.name(), r#type: presto_type(f.data_type()) })
        .chain(PARTITION_COLUMNS.map(|name| Column { name, r#type: "varchar".to_owned() }))
        .chain(partition_day(view.table).map(|name| Column { name, r#type: "date".to_owned() }))
        .collect();
    let document = Document { original_sql: &view.sql, catalog: "awsdatacatalog", schema: database, columns };
    // Serializing strings cannot fail.
    serde_json::to_string(&document).unwrap_or_default()
}

/// The rows a reader of a local lake sees now: [`view_sql`]'s rules applied to the files.
pub async fn visible_rows(store: &dyn ObjectStore) -> Result<Vec<RecordBatch>, CompactError> {
    visible_rows_of(store, CuratedTable::Logs).await
}

/// [`visible_rows`] of any table: for a typed table, its curated files, the rows of its format in
/// `logs` files, and its format's staging rows, converted as the compactor converts them. For
/// `logs` (every log), the typed tables' rows too, as `logs` rows.
pub async fn visible_rows_of(store: &dyn ObjectStore, table: CuratedTable) -> Result<Vec<RecordBatch>, CompactError> {
    let state = load_state(store).await?;
    let deduplicated = state.deduplicated_hours();
    let mut batches = Vec::new();
    let mut curated_ids: HashSet<(String, String, String)> = HashSet::new();
    // As the SQL view: a typed table's rows are in its files and in `logs` files written before
    // typed tables; with typed tables on, `logs_all` reads every table, the typed ones as `logs`
    // rows.
    let mut sources = vec![table];
    match table {
        CuratedTable::Typed(_) => sources.push(CuratedTable::Logs),
        CuratedTable::Logs if state.typed_tables() => {
            sources.extend(TYPED_TABLES.iter().map(|t| CuratedTable::Typed(t)))
        }
        CuratedTable::Logs => {}
    }
    for source in sources {
        let prefix = source.prefix();
        for key in store.list(&prefix).await? {
            if !state.curated_visible(&key) {
                continue;
            }
            let hour = partition_of(&key, &prefix);
            for batch in read_batches(store.get(&key).await?)? {
                let batch = match (source, table) {
                    (CuratedTable::Logs, CuratedTable::Typed(_)) => {
                        match rows_for_table(&batch, table).map_err(MergeError::from)? {
                            Some(rows) => rows,
                            None => continue,
                        }
                    }
                    (CuratedTable::Typed(typed), CuratedTable::Logs) => {
                        typed.logs_rows(&batch).map_err(MergeError::from)?
                    }
                    _ => batch,
                };
                if let Some(hour) = hour.as_ref().filter(|h| deduplicated.contains(h.as_str())) {
                    let (groups, ids) = group_and_id(&batch)?;
                    for row in 0..batch.num_rows() {
                        curated_ids.insert((hour.clone(), groups.value(row).to_owned(), ids.value(row).to_owned()));
                    }
                }
                batches.push(batch);
            }
        }
    }
    for key in store.list(STAGING_PREFIX).await? {
        let Some(hour) = partition_of(&key, STAGING_PREFIX) else { continue };
        for batch in read_batches(store.get(&key).await?)? {
            let batch = match table {
                CuratedTable::Logs => batch,
                CuratedTable::Typed(_) => match rows_for_table(&batch, table).map_err(MergeError::from)? {
                    Some(rows) => rows,
                    None => continue,
                },
            };
            if !deduplicated.contains(hour.as_str()) {
                batches.push(batch);
                continue;
            }
            let (groups, ids) = group_and_id(&batch)?;
            let keep: BooleanArray = (0..batch.num_rows())
                .map(|row| {
                    Some(!curated_ids.contains(&(
                        hour.clone(),
                        groups.value(row).to_owned(),
                        ids.value(row).to_owned(),
                    )))
                })
                .collect();
            batches.push(arrow_select::filter::filter_record_batch(&batch, &keep).map_err(MergeError::from)?);
        }
    }
    Ok(batches)
}

fn read_batches(body: Vec<u8>) -> Result<Vec<RecordBatch>, CompactError> {
    let reader = reader_builder(bytes::Bytes::from(body)).map_err(MergeError::from)?.build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>().map_err(MergeError::from)?)
}

fn group_and_id(batch: &RecordBatch) -> Result<(&arrow_array::StringArray, &arrow_array::StringArray), MergeError> {
    let column = |name: &'static str| {
        batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>()).ok_or(MergeError::MissingColumn(name))
    };
    Ok((column("log_group")?, column("event_id")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::typed::{ALB_LOGS, CLOUDTRAIL_LOGS, VPC_FLOW_LOGS};

    /// Each typed view reads the `logs` files of the runs before its table's first run: none for
    /// a table typed from run 0, every one for a table that has no first run yet (one added to
    /// loglake after the lake turned typed tables on).
    #[test]
    fn each_typed_view_reads_the_logs_files_before_its_own_tables_first_run() {
        let mut state = CompactionState { next_run: 9, ..CompactionState::default() };
        state.typed_from_run.insert(VPC_FLOW_LOGS.name.to_owned(), 0);
        state.typed_from_run.insert(ALB_LOGS.name.to_owned(), 3);
        // The bound on `logs` files (the visible files' own bound is `< 9`, the next run).
        let bounds = [run_before_sql("s.", 0), run_before_sql("s.", 3)];
        let vpc = typed_view_sql(&VPC_FLOW_LOGS, &state, "s3://lake/");
        assert!(!vpc.contains("FROM \"logs\""), "{vpc}");
        let alb = typed_view_sql(&ALB_LOGS, &state, "s3://lake/");
        assert!(alb.contains("FROM \"logs\" s") && alb.contains(&bounds[1]), "{alb}");
        let trail = typed_view_sql(&CLOUDTRAIL_LOGS, &state, "s3://lake/");
        assert!(trail.contains("FROM \"logs\" s"), "{trail}");
        assert!(bounds.iter().all(|bound| !trail.contains(bound)), "{trail}");
    }
}
