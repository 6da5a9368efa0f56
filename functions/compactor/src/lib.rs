//! compactor: an EventBridge schedule runs one compaction of the lake's staging files into the
//! curated `logs` table (see docs/compaction-design.md). The run is the shared crate's
//! [`loglake::compact::run`]; this crate reads its settings, publishes the reader views
//! (`logs_all` and the typed tables' `<table>_all`) to Glue for Athena ([`GlueView`]); a failed
//! run is a `Loglake.CompactionError`. The same binary, deployed a second time, merges one unit of a large hour per invocation ([`handle_unit`]), which
//! a run invokes through [`units::LambdaUnits`].

use aws_sdk_glue::error::DisplayErrorContext;
use loglake::compact::merge::MergeOptions;
use loglake::compact::run::{CompactOptions, HourOutput, UnitInvokerRef, compact_until, default_workers, merge_unit};
use loglake::compact::state::{CompactError, CompactionState, RunRecord};
use loglake::compact::units::Unit;
use loglake::compact::view::{ReaderView, Readers, ViewPublisher, glue_view_original_text, reader_views};
use loglake::config::ConfigError;
use loglake::function::{FunctionConfig, now_ms};
use loglake::lake::storage::ObjectStore;

#[cfg(feature = "lambda")]
pub mod units;

pub mod vars {
    pub const MEMORY_MB: &str = "LOGLAKE_COMPACT_MEMORY_MB";
    pub const FILE_MB: &str = "LOGLAKE_COMPACT_FILE_MB";
    pub const ZSTD_LEVEL: &str = "LOGLAKE_COMPACT_ZSTD_LEVEL";
    pub const WORKERS: &str = "LOGLAKE_COMPACT_WORKERS";
    pub const RETRY_HORIZON_HOURS: &str = "LOGLAKE_COMPACT_RETRY_HORIZON_HOURS";
    pub const GRACE_MINUTES: &str = "LOGLAKE_COMPACT_GRACE_MINUTES";
    pub const GLUE_DATABASE: &str = "LOGLAKE_GLUE_DATABASE";
    pub const LEASE_MINUTES: &str = "LOGLAKE_COMPACT_LEASE_MINUTES";
    pub const DELETE_DELAY_MINUTES: &str = "LOGLAKE_COMPACT_DELETE_DELAY_MINUTES";
    pub const MAX_INPUT_MB: &str = "LOGLAKE_COMPACT_MAX_INPUT_MB";
    pub const DELTA_PERCENT: &str = "LOGLAKE_COMPACT_DELTA_PERCENT";
    pub const UNIT_FUNCTION: &str = "LOGLAKE_COMPACT_UNIT_FUNCTION";
    pub const UNIT_CONCURRENCY: &str = "LOGLAKE_COMPACT_UNIT_CONCURRENCY";
    pub const ALL: &[&str] = &[
        MEMORY_MB,
        FILE_MB,
        ZSTD_LEVEL,
        WORKERS,
        RETRY_HORIZON_HOURS,
        GRACE_MINUTES,
        GLUE_DATABASE,
        LEASE_MINUTES,
        DELETE_DELAY_MINUTES,
        MAX_INPUT_MB,
        DELTA_PERCENT,
        UNIT_FUNCTION,
        UNIT_CONCURRENCY,
    ];
}

/// Settings, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub lake: FunctionConfig,
    pub memory_mb: usize,
    pub file_mb: usize,
    pub zstd_level: i32,
    pub workers: usize,
    pub retry_horizon_hours: i64,
    pub grace_minutes: i64,
    /// How long a run's lease lasts: longer than the function's timeout, so that only a crashed
    /// run's lease ever lapses (and the run after it takes over).
    pub lease_minutes: i64,
    /// How long replaced and consumed files stay readable after a switch.
    pub delete_delay_minutes: i64,
    /// The input one run takes at most, oldest hours first.
    pub max_input_mb: u64,
    /// Late data into a compacted hour goes into a delta file while the hour's deltas stay
    /// within this percentage of its base; 0 merges the whole hour every time.
    pub delta_percent: i64,
    /// The function that merges units of a large hour (this binary, deployed a second time),
    /// invoked once per unit; none: units are merged in this process one after another.
    pub unit_function: Option<String>,
    /// Units invoked at once at most (the unit function's reserved concurrency).
    pub unit_concurrency: usize,
    /// The client for `unit_function`, set by the binary ([`units::LambdaUnits`]).
    pub unit_invoker: Option<UnitInvokerRef>,
    /// The Glue database of the `logs_all` view.
    pub glue_database: String,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let lake = FunctionConfig::from_lookup_into(&lookup, &mut problems);
        let mut number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| {
            loglake::config::number_setting(lookup(name), name, default, range, &mut problems)
        };
        let memory_mb = number(vars::MEMORY_MB, 256, 16..=8192) as usize;
        // Athena reads files of 128 MB and more best; Lambda's /tmp holds the file being written.
        let file_mb = number(vars::FILE_MB, 256, 1..=2048) as usize;
        let zstd_level = number(vars::ZSTD_LEVEL, 3, 1..=22) as i32;
        let workers = number(vars::WORKERS, default_workers() as i64, 1..=16) as usize;
        // Longer than any upstream retry can rewrite a staging key (Kinesis record age 24 h).
        let retry_horizon_hours = number(vars::RETRY_HORIZON_HOURS, 48, 1..=8760);
        // Longer than every ingest path's delay between taking records and writing them.
        let grace_minutes = number(vars::GRACE_MINUTES, 30, 0..=1440);
        // Lambda's longest timeout is 15 minutes.
        let lease_minutes = number(vars::LEASE_MINUTES, 20, 16..=1440);
        // Athena's DML query timeout is 30 minutes unless raised (at most 240), and a query may
        // queue before it runs: files a switch replaced stay an hour.
        let delete_delay_minutes = number(vars::DELETE_DELAY_MINUTES, 60, 0..=1440);
        // What one run merges well within its timeout and its /tmp (docs/compaction-design.md,
        // "Bounded runs"): the compressed spill takes about the input's size, plus one output file.
        let max_input_mb = number(vars::MAX_INPUT_MB, 2048, 16..=1_000_000) as u64;
        let unit_concurrency = number(vars::UNIT_CONCURRENCY, 16, 1..=1000) as usize;
        let unit_function = lookup(vars::UNIT_FUNCTION).filter(|name| !name.trim().is_empty());
        let delta_percent =
            number(vars::DELTA_PERCENT, (loglake::compact::run::DEFAULT_DELTA_FRACTION * 100.0) as i64, 0..=100);
        if delete_delay_minutes > retry_horizon_hours * 60 {
            problems.push(format!(
                "{} ({delete_delay_minutes}) is longer than {} ({retry_horizon_hours} h): consumed staging rows \
would show again before they are deleted",
                vars::DELETE_DELAY_MINUTES,
                vars::RETRY_HORIZON_HOURS
            ));
        }
        let glue_database = lookup(vars::GLUE_DATABASE).unwrap_or_default();
        if glue_database.is_empty() {
            problems.push(format!("{} is not set: the Glue database of the logs_all view", vars::GLUE_DATABASE));
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            lake,
            memory_mb,
            file_mb,
            zstd_level,
            workers,
            retry_horizon_hours,
            grace_minutes,
            lease_minutes,
            delete_delay_minutes,
            max_input_mb,
            delta_percent,
            unit_function,
            unit_concurrency,
            unit_invoker: None,
            glue_database,
        })
    }

    /// The options of one run; `holder` names it in the lease (the invocation's request id).
    pub fn options(&self, now_ms: i64, holder: &str) -> CompactOptions {
        CompactOptions {
            merge: MergeOptions { memory_budget_bytes: self.memory_mb << 20, ..MergeOptions::default() },
            workers: self.workers,
            file_bytes: self.file_mb << 20,
            zstd_level: self.zstd_level,
            retry_horizon_ms: self.retry_horizon_hours * 3_600_000,
            grace_ms: self.grace_minutes * 60_000,
            now_ms,
            holder: holder.to_owned(),
            lease_ms: self.lease_minutes * 60_000,
            delete_delay_ms: self.delete_delay_minutes * 60_000,
            // A unit is what one invocation merges; with a unit function a run takes as many
            // units as it may invoke at once.
            max_input_bytes: (self.max_input_mb << 20)
                * if self.unit_invoker.is_some() { self.unit_concurrency as u64 } else { 1 },
            delta_fraction: self.delta_percent as f64 / 100.0,
            unit_bytes: self.max_input_mb << 20,
            unit_invoker: self.unit_invoker.clone(),
            typed_tables: true,
        }
    }
}

/// The Athena reader views in Glue (`logs_all` and each typed table's `<table>_all`), replaced
/// at each switch.
pub struct GlueView {
    pub client: aws_sdk_glue::Client,
    pub database: String,
}

impl GlueView {
    /// The view as Glue stores an Athena view: a Presto view document, and Hive columns.
    pub fn table_input(&self, view: &ReaderView) -> Result<aws_sdk_glue::types::TableInput, String> {
        use aws_sdk_glue::types::{Column, SerDeInfo, StorageDescriptor, TableInput};
        let mut columns = Vec::new();
        for (name, hive_type) in view.hive_columns() {
            columns.push(Column::builder().name(name).r#type(hive_type).build().map_err(|e| e.to_string())?);
        }
        TableInput::builder()
            .name(&view.name)
            .table_type("VIRTUAL_VIEW")
            .parameters("presto_view", "true")
            .parameters("comment", "Presto View")
            .view_original_text(glue_view_original_text(view, &self.database))
            .view_expanded_text("/* Presto View */")
            .storage_descriptor(
                StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .serde_info(SerDeInfo::builder().build())
                    .build(),
            )
            .build()
            .map_err(|e| e.to_string())
    }

    /// Creates every reader view of a lake never compacted, as the template does (for tests and
    /// a database made by hand).
    pub async fn create_views(&self) -> Result<(), String> {
        for view in reader_views(&CompactionState::default(), "") {
            let input = self.table_input(&view)?;
            let created = self.client.create_table().database_name(&self.database).table_input(input).send().await;
            created
                .map_err(|e| format!("glue:CreateTable {}.{}: {}", self.database, view.name, DisplayErrorContext(e)))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ViewPublisher for GlueView {
    async fn publish(&self, view: &ReaderView) -> Result<(), String> {
        let (database, name) = (&self.database, &view.name);
        let text = glue_view_original_text(view, database);
        let current = self.client.get_table().database_name(database).name(name).send().await;
        let current = current.map_err(|e| format!("glue:GetTable {database}.{name}: {}", DisplayErrorContext(e)))?;
        if current.table().and_then(|t| t.view_original_text()) == Some(text.as_str()) {
            return Ok(());
        }
        let table = self.table_input(view)?;
        // No archived version per switch: Glue keeps at most 100,000 versions of a table.
        self.client
            .update_table()
            .database_name(database)
            .table_input(table)
            .skip_archive(true)
            .send()
            .await
            .map_err(|e| format!("glue:UpdateTable {database}.{name}: {}", DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// Runs compactions until nothing waits or the next would not end before `deadline` (each run
/// bounded by `LOGLAKE_COMPACT_MAX_INPUT_MB`); a failure leaves a state the next scheduled run
/// completes.
pub async fn handle(
    config: &Config,
    store: &dyn ObjectStore,
    readers: &Readers<'_>,
    spill_dir: &std::path::Path,
    request_id: &str,
    deadline: std::time::Instant,
) -> Result<Vec<RunRecord>, CompactError> {
    let result = compact_until(store, readers, &config.options(now_ms(), request_id), spill_dir, deadline).await;
    for record in result.iter().flatten() {
        match &record.skipped {
            Some(reason) => tracing::info!(reason, "another run is at work: nothing to do"),
            None => tracing::info!(
                run = record.run,
                hours = record.hours.len(),
                units = record.units,
                staging_in = record.staging_in,
                curated_in = record.curated_in,
                files_out = record.files_out,
                rows_out = record.rows_out,
                duplicates = record.duplicates,
                set_aside = record.set_aside.len(),
                failed_hours = record.failed_hours.len(),
                hours_waiting = record.hours_waiting,
                duration_ms = record.duration_ms,
                "compacted"
            ),
        }
    }
    if let Err(error) = &result {
        tracing::error!(error = %error, "compaction failed; the next run completes it");
    }
    let _ = std::fs::remove_dir_all(spill_dir);
    result
}

/// The event that runs one unit of a large hour (sent by a run's [`units::LambdaUnits`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct UnitEvent {
    pub unit: Unit,
}

/// Merges one unit, as the unit function's invocation: nothing is written at or after its
/// `write_until_ms` (the run's lease less a margin), so no write lands after another run could
/// have taken over.
pub async fn handle_unit(
    config: &Config,
    store: &dyn ObjectStore,
    spill_dir: &std::path::Path,
    request_id: &str,
    unit: &Unit,
) -> Result<HourOutput, CompactError> {
    if unit.write_until_ms.is_some_and(|until| now_ms() >= until) {
        return Err(CompactError::LeaseLost { holder: format!("the run of unit {} of {}", unit.index, unit.hour) });
    }
    let options = CompactOptions { unit_invoker: None, ..config.options(now_ms(), request_id) };
    let result = merge_unit(store, unit, &options, spill_dir).await;
    match &result {
        Ok(_) => tracing::info!(hour = unit.hour, unit = unit.index, run = unit.run, "unit merged"),
        Err(error) => tracing::error!(hour = unit.hour, unit = unit.index, error = %error, "unit failed"),
    }
    let _ = std::fs::remove_dir_all(spill_dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use loglake::testing::lookup;

    #[test]
    fn settings_have_defaults_and_bad_ones_are_named() {
        let config =
            Config::from_lookup(lookup(&[("LOGLAKE_BUCKET", "lake"), ("LOGLAKE_GLUE_DATABASE", "db")])).unwrap();
        assert_eq!(
            (config.memory_mb, config.file_mb, config.zstd_level, config.retry_horizon_hours),
            (256, 256, 3, 48)
        );
        assert_eq!((config.max_input_mb, config.delete_delay_minutes), (2048, 60));
        assert_eq!((config.unit_function.as_deref(), config.unit_concurrency), (None, 16));
        let options = config.options(0, "request");
        // Without a unit function, a run takes one unit's input; units run in this process.
        assert_eq!((options.max_input_bytes, options.unit_bytes), (2048 << 20, 2048 << 20));
        assert_eq!((options.merge.memory_budget_bytes, options.lease_ms), (256 << 20, 20 * 60_000));
        let error =
            Config::from_lookup(lookup(&[("LOGLAKE_COMPACT_MEMORY_MB", "4"), ("LOGLAKE_COMPACT_ZSTD_LEVEL", "x")]))
                .unwrap_err()
                .to_string();
        for name in
            ["LOGLAKE_BUCKET", "LOGLAKE_COMPACT_MEMORY_MB", "LOGLAKE_COMPACT_ZSTD_LEVEL", "LOGLAKE_GLUE_DATABASE"]
        {
            assert!(error.contains(name), "{name}: {error}");
        }
    }

    #[tokio::test]
    async fn a_run_on_an_empty_local_lake_does_nothing() {
        let lake = std::env::temp_dir().join(format!("loglake-compactor-test-{}", std::process::id()));
        let store = loglake::lake::storage::LocalStore::new(&lake);
        let config =
            Config::from_lookup(lookup(&[("LOGLAKE_BUCKET", "lake"), ("LOGLAKE_GLUE_DATABASE", "db")])).unwrap();
        let later = std::time::Instant::now() + std::time::Duration::from_secs(600);
        let record =
            handle(&config, &store, &loglake::compact::view::local_readers(), &lake.join("spill"), "request", later)
                .await
                .unwrap();
        assert_eq!(record.len(), 1, "nothing waits: one run");
        assert_eq!((record[0].files_out, record[0].staging_in), (0, 0));
        // Nothing but the released lease: no state, no files.
        let lease = loglake::lake::layout::COMPACTION_LEASE_KEY;
        assert_eq!(store.list("").await.unwrap(), [lease], "an empty lake stays empty");
        let _ = std::fs::remove_dir_all(&lake);
    }
}
