//! compactor: an EventBridge schedule runs one compaction of the lake's staging files into the
//! curated `logs` table (see docs/compaction-design.md). The run is the shared crate's
//! [`loglake::compact`]; this crate reads its settings and maps its errors.

use lambda_runtime::Diagnostic;
use loglake::compact::{CompactError, CompactOptions, RunRecord, compact};
use loglake::config::ConfigError;
use loglake::function::{FunctionConfig, now_ms};
use loglake::merge::MergeOptions;
use loglake::storage::ObjectStore;

pub mod vars {
    pub const MEMORY_MB: &str = "LOGLAKE_COMPACT_MEMORY_MB";
    pub const ROWS_PER_FILE: &str = "LOGLAKE_COMPACT_ROWS_PER_FILE";
    pub const ZSTD_LEVEL: &str = "LOGLAKE_COMPACT_ZSTD_LEVEL";
    pub const HIDE_CONSUMED_HOURS: &str = "LOGLAKE_COMPACT_HIDE_CONSUMED_HOURS";
    pub const GRACE_MINUTES: &str = "LOGLAKE_COMPACT_GRACE_MINUTES";
    pub const ALL: &[&str] = &[MEMORY_MB, ROWS_PER_FILE, ZSTD_LEVEL, HIDE_CONSUMED_HOURS, GRACE_MINUTES];
}

/// Settings, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub lake: FunctionConfig,
    pub memory_mb: usize,
    pub rows_per_file: usize,
    pub zstd_level: i32,
    pub hide_consumed_hours: i64,
    pub grace_minutes: i64,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let lake = FunctionConfig::from_lookup(&lookup).unwrap_or_else(|e| {
            problems.extend(e.problems);
            FunctionConfig { bucket: String::new(), force_path_style: false, pipeline: Default::default() }
        });
        let mut number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| match lookup(name) {
            None => default,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    problems.push(format!("{name}={text:?}: expected a number in {range:?}"));
                    default
                }
            },
        };
        let memory_mb = number(vars::MEMORY_MB, 256, 16..=8192) as usize;
        let rows_per_file = number(vars::ROWS_PER_FILE, 2_000_000, 1_000..=100_000_000) as usize;
        let zstd_level = number(vars::ZSTD_LEVEL, 3, 1..=22) as i32;
        let hide_consumed_hours = number(vars::HIDE_CONSUMED_HOURS, 168, 1..=8760);
        // Longer than every ingest path's delay between taking records and writing them.
        let grace_minutes = number(vars::GRACE_MINUTES, 30, 0..=1440);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config { lake, memory_mb, rows_per_file, zstd_level, hide_consumed_hours, grace_minutes })
    }

    pub fn options(&self, now_ms: i64) -> CompactOptions {
        CompactOptions {
            merge: MergeOptions { memory_budget_bytes: self.memory_mb << 20, batch_rows: 8192 },
            rows_per_file: self.rows_per_file,
            zstd_level: self.zstd_level,
            hidden_staging_ms: self.hide_consumed_hours * 3_600_000,
            grace_ms: self.grace_minutes * 60_000,
            now_ms,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvocationError(#[from] pub CompactError);

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Diagnostic {
        Diagnostic { error_type: "Loglake.CompactionError".to_owned(), error_message: error.0.to_string() }
    }
}

/// Runs one compaction; a failure leaves a state the next scheduled run completes.
pub async fn handle(
    config: &Config,
    store: &dyn ObjectStore,
    spill_dir: &std::path::Path,
) -> Result<RunRecord, InvocationError> {
    let result = compact(store, &config.options(now_ms()), spill_dir).await;
    match &result {
        Ok(record) => tracing::info!(
            run = record.run,
            hours = record.hours.len(),
            staging_in = record.staging_in,
            curated_in = record.curated_in,
            files_out = record.files_out,
            rows_out = record.rows_out,
            duplicates = record.duplicates,
            duration_ms = record.duration_ms,
            "compacted"
        ),
        Err(error) => tracing::error!(error = %error, "compaction failed; the next run completes it"),
    }
    let _ = std::fs::remove_dir_all(spill_dir);
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn settings_have_defaults_and_bad_ones_are_named() {
        let config = Config::from_lookup(lookup(&[("LOGLAKE_BUCKET", "lake")])).unwrap();
        assert_eq!(
            (config.memory_mb, config.rows_per_file, config.zstd_level, config.hide_consumed_hours),
            (256, 2_000_000, 3, 168)
        );
        assert_eq!(config.options(0).merge.memory_budget_bytes, 256 << 20);
        let error =
            Config::from_lookup(lookup(&[("LOGLAKE_COMPACT_MEMORY_MB", "4"), ("LOGLAKE_COMPACT_ZSTD_LEVEL", "x")]))
                .unwrap_err()
                .to_string();
        for name in ["LOGLAKE_BUCKET", "LOGLAKE_COMPACT_MEMORY_MB", "LOGLAKE_COMPACT_ZSTD_LEVEL"] {
            assert!(error.contains(name), "{name}: {error}");
        }
    }

    #[tokio::test]
    async fn a_run_on_a_local_lake_reports_what_it_did() {
        let lake = std::env::temp_dir().join(format!("loglake-compactor-test-{}", std::process::id()));
        let store = loglake::storage::LocalStore::new(&lake);
        let config = Config::from_lookup(lookup(&[("LOGLAKE_BUCKET", "lake")])).unwrap();
        let record = handle(&config, &store, &lake.join("spill")).await.unwrap();
        assert_eq!((record.files_out, record.staging_in), (0, 0));
        assert!(store.list("_loglake/compaction/").await.unwrap().iter().any(|k| k.ends_with("state.json")));
        let _ = std::fs::remove_dir_all(&lake);
    }
}
