//! The runner's settings, read once at cold start.

use loglake::config::{ConfigError, number_setting};
use loglake::function::FunctionConfig;

pub mod vars {
    pub const WORKGROUP: &str = "LOGLAKE_ATHENA_WORKGROUP";
    pub const GLUE_DATABASE: &str = "LOGLAKE_GLUE_DATABASE";
    pub const RESULT_REUSE_MINUTES: &str = "LOGLAKE_RESULT_REUSE_MINUTES";
    pub const SUMMARY_MAX_ROWS: &str = "LOGLAKE_SUMMARY_MAX_ROWS";
    pub const LOOKBACK_DAYS: &str = "LOGLAKE_ROLLUP_LOOKBACK_DAYS";
    pub const MAX_WINDOWS: &str = "LOGLAKE_ROLLUP_MAX_WINDOWS";
    pub const ALL: &[&str] =
        &[WORKGROUP, GLUE_DATABASE, RESULT_REUSE_MINUTES, SUMMARY_MAX_ROWS, LOOKBACK_DAYS, MAX_WINDOWS];
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub lake: FunctionConfig,
    /// The workgroup: its enforced result location and bytes-scanned cutoff apply.
    pub workgroup: String,
    pub database: String,
    /// Athena may serve a result this young instead of scanning again (0: never).
    pub result_reuse_minutes: i32,
    /// A result with more rows is not a summary: the run is recorded NOT_STORED.
    pub summary_max_rows: usize,
    /// How many local days back a scheduled run looks for windows compacted since their summary
    /// (late data): older windows are re-run only when named.
    pub lookback_days: i64,
    /// Windows one invocation runs at most (oldest first; the rest wait for the next).
    pub max_windows: usize,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let lake = FunctionConfig::from_lookup_into(&lookup, &mut problems);
        let mut required = |name: &str, what: &str| {
            let value = lookup(name).unwrap_or_default();
            if value.trim().is_empty() {
                problems.push(format!("{name} is not set: {what}"));
            }
            value
        };
        let workgroup = required(vars::WORKGROUP, "the Athena workgroup");
        let database = required(vars::GLUE_DATABASE, "the Glue database of logs_all");
        let mut number = |name: &str, default: i64, range: std::ops::RangeInclusive<i64>| {
            number_setting(lookup(name), name, default, range, &mut problems)
        };
        // Athena's maximum reuse age is 7 days.
        let result_reuse_minutes = number(vars::RESULT_REUSE_MINUTES, 60, 0..=10_080) as i32;
        let summary_max_rows = number(vars::SUMMARY_MAX_ROWS, 100_000, 1..=10_000_000) as usize;
        let lookback_days = number(vars::LOOKBACK_DAYS, 3, 0..=31);
        let max_windows = number(vars::MAX_WINDOWS, 4, 1..=48) as usize;
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config { lake, workgroup, database, result_reuse_minutes, summary_max_rows, lookback_days, max_windows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loglake::testing::lookup;

    #[test]
    fn settings_have_defaults_and_missing_ones_are_named() {
        let config = Config::from_lookup(lookup(&[
            ("LOGLAKE_BUCKET", "lake"),
            ("LOGLAKE_GLUE_DATABASE", "db"),
            ("LOGLAKE_ATHENA_WORKGROUP", "loglake"),
        ]))
        .unwrap();
        assert_eq!((config.result_reuse_minutes, config.summary_max_rows), (60, 100_000));
        let error = Config::from_lookup(lookup(&[("LOGLAKE_RESULT_REUSE_MINUTES", "99999")])).unwrap_err().to_string();
        for name in
            ["LOGLAKE_BUCKET", "LOGLAKE_GLUE_DATABASE", "LOGLAKE_ATHENA_WORKGROUP", "LOGLAKE_RESULT_REUSE_MINUTES"]
        {
            assert!(error.contains(name), "{error}");
        }
    }
}
