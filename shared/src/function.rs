//! What every function needs besides its handler: settings read once at cold start, the lake
//! they write to, and how an error that fails an invocation names itself ([`FunctionError`]).
//! The Lambda runtime stays out of this crate: the function binaries start it through the
//! `loglake-lambda` crate, which turns a [`FunctionError`] into Lambda's error report.

use crate::compact::state::CompactError;
use crate::config::{self, ConfigError, PipelineConfig, vars};
use crate::ingest::write::IngestError;
use crate::lake::storage::{ObjectStore, S3Store, load_aws_config};

/// An error that fails an invocation. Its type names it in Lambda's error report, metrics and
/// on-failure destinations (`Loglake.StorageError` …), so that what a retry can fix is told
/// from what it cannot.
pub trait FunctionError: std::error::Error {
    fn error_type(&self) -> &'static str;
}

impl FunctionError for IngestError {
    fn error_type(&self) -> &'static str {
        IngestError::error_type(self)
    }
}

impl FunctionError for CompactError {
    fn error_type(&self) -> &'static str {
        match self {
            // No retry or later run mends these: a person must restore the state.
            CompactError::StateMissing { .. } | CompactError::StateBehind { .. } => "Loglake.CompactionStateInvalid",
            _ => "Loglake.CompactionError",
        }
    }
}

/// A handler that cannot fail (it reports failures in its response instead).
impl FunctionError for std::convert::Infallible {
    fn error_type(&self) -> &'static str {
        match *self {}
    }
}

/// Settings of a function, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub bucket: String,
    pub force_path_style: bool,
    pub pipeline: PipelineConfig,
}

impl FunctionConfig {
    /// [`FunctionConfig::from_lookup`] for a function with settings of its own: the problems
    /// go to `problems` (reported together with the function's), and an empty config stands in.
    pub fn from_lookup_into(lookup: impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Self {
        FunctionConfig::from_lookup(lookup).unwrap_or_else(|e| {
            problems.extend(e.problems);
            FunctionConfig { bucket: String::new(), force_path_style: false, pipeline: Default::default() }
        })
    }

    /// Reads every setting through `lookup` and names every missing or invalid one.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let bucket = lookup(vars::BUCKET).filter(|b| !b.trim().is_empty());
        if bucket.is_none() {
            problems.push(format!("{} is not set: the bucket of the lake", vars::BUCKET));
        }
        let force_path_style = config::parse_bool(vars::S3_FORCE_PATH_STYLE, lookup(vars::S3_FORCE_PATH_STYLE))
            .unwrap_or_else(|e| {
                problems.extend(e.problems);
                false
            });
        let pipeline = PipelineConfig::from_lookup(&lookup).unwrap_or_else(|e| {
            problems.extend(e.problems);
            PipelineConfig::default()
        });
        match bucket {
            Some(bucket) if problems.is_empty() => Ok(FunctionConfig { bucket, force_path_style, pipeline }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// What a function keeps between invocations: built once, borrowed by every invocation.
pub struct State {
    pub pipeline: PipelineConfig,
    pub store: Box<dyn ObjectStore>,
}

impl State {
    /// The production state: an S3 client for the configured bucket.
    pub async fn from_config(config: FunctionConfig) -> State {
        let sdk_config = load_aws_config().await;
        let store = S3Store::new(&sdk_config, config.bucket, config.force_path_style);
        State { pipeline: config.pipeline, store: Box::new(store) }
    }
}

/// When an invocation stops writing: `margin` (at most a fifth of the time it has) before its
/// deadline (ms since the epoch), so it ends with what it wrote reported rather than a timeout.
/// A deadline that is no epoch time at all (`cargo lambda watch` sends a duration) sets none.
pub fn stop_writing_at(deadline_ms: u64, now_ms: i64, margin: std::time::Duration) -> Option<std::time::Instant> {
    // 2001-09-09: any real deadline is later; a duration in milliseconds is far smaller.
    if deadline_ms < 1_000_000_000_000 {
        tracing::warn!(deadline_ms, "the runtime's deadline is not an epoch time; writing without a deadline");
        return None;
    }
    let remaining = std::time::Duration::from_millis((deadline_ms as i64).saturating_sub(now_ms).max(0) as u64);
    Some(std::time::Instant::now() + remaining.saturating_sub(margin.min(remaining / 5)))
}

/// Milliseconds since the epoch, now: the arrival time of an invocation's records.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::lookup;

    #[test]
    fn config_reads_bucket_path_style_and_pipeline_settings() {
        let config = FunctionConfig::from_lookup(lookup(&[
            ("LOGLAKE_BUCKET", "lake"),
            ("LOGLAKE_S3_FORCE_PATH_STYLE", "true"),
            ("LOGLAKE_PARTITION_TIME_ZONE", "Asia/Tokyo"),
        ]))
        .unwrap();
        assert_eq!((config.bucket.as_str(), config.force_path_style), ("lake", true));
        assert_eq!(config.pipeline.partition_time_zone, chrono_tz::Asia::Tokyo);
    }

    #[test]
    fn config_names_every_problem_at_once() {
        let error = FunctionConfig::from_lookup(lookup(&[
            ("LOGLAKE_S3_FORCE_PATH_STYLE", "maybe"),
            ("LOGLAKE_ZSTD_LEVEL", "0"),
        ]))
        .unwrap_err();
        let text = error.to_string();
        for name in ["LOGLAKE_BUCKET", "LOGLAKE_S3_FORCE_PATH_STYLE", "LOGLAKE_ZSTD_LEVEL"] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
    }
}
