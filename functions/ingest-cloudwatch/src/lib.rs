//! ingest-cloudwatch: a CloudWatch Logs subscription filter invokes this function with
//! `{"awslogs":{"data":…}}`; the shared pipeline writes the records as staging Parquet.
//!
//! The handler is an ordinary async function over the parsed event and its dependencies, so
//! tests and the `loglake` CLI call it directly, without the Lambda runtime.

use lambda_runtime::Diagnostic;
use loglake::cloudwatch::SubscriptionEvent;
use loglake::config::{self, ConfigError, PipelineConfig, vars};
use loglake::storage::{ObjectStore, S3Store, load_aws_config};
use loglake::{IngestError, IngestReport};

/// Settings of the function, read once at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub bucket: String,
    pub force_path_style: bool,
    pub pipeline: PipelineConfig,
}

impl Config {
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
            Some(bucket) if problems.is_empty() => Ok(Config { bucket, force_path_style, pipeline }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// What the function keeps between invocations: built once, borrowed by every invocation.
pub struct State {
    pub pipeline: PipelineConfig,
    pub store: Box<dyn ObjectStore>,
}

impl State {
    /// The production state: an S3 client for the configured bucket.
    pub async fn from_config(config: Config) -> State {
        let sdk_config = load_aws_config().await;
        let store = S3Store::new(&sdk_config, config.bucket, config.force_path_style);
        State { pipeline: config.pipeline, store: Box::new(store) }
    }
}

/// A failed invocation. Its Lambda error type says whether a retry can help.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvocationError(#[from] pub IngestError);

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Diagnostic {
        Diagnostic { error_type: error.0.error_type().to_owned(), error_message: error.0.to_string() }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Handles one subscription event. Undecodable input is dead-lettered and the invocation
/// succeeds (a retry cannot fix it); a storage failure fails it (a retry can).
pub async fn handle(state: &State, event: &SubscriptionEvent) -> Result<IngestReport, InvocationError> {
    handle_at(state, event, now_ms()).await
}

/// [`handle`] with the arrival time given, for tests.
pub async fn handle_at(
    state: &State,
    event: &SubscriptionEvent,
    ingest_time_ms: i64,
) -> Result<IngestReport, InvocationError> {
    let result = loglake::pipeline::ingest_cloudwatch_data(
        &event.awslogs.data,
        &state.pipeline,
        ingest_time_ms,
        state.store.as_ref(),
    )
    .await;
    match &result {
        Ok(report) => tracing::info!(
            log_events = report.log_events,
            records = report.records,
            message_bytes = report.message_bytes,
            input_bytes = report.input_bytes,
            parquet_bytes = report.parquet_bytes,
            objects = report.objects.len(),
            dead_letters = report.dead_letters.len(),
            control_messages = report.control_messages,
            "ingested"
        ),
        Err(error) => {
            tracing::error!(error_type = error.error_type(), retryable = error.is_retryable(), error = %error, "ingest failed")
        }
    }
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn config_reads_bucket_path_style_and_pipeline_settings() {
        let config = Config::from_lookup(lookup(&[
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
        let error =
            Config::from_lookup(lookup(&[("LOGLAKE_S3_FORCE_PATH_STYLE", "maybe"), ("LOGLAKE_ZSTD_LEVEL", "0")]))
                .unwrap_err();
        let text = error.to_string();
        for name in ["LOGLAKE_BUCKET", "LOGLAKE_S3_FORCE_PATH_STYLE", "LOGLAKE_ZSTD_LEVEL"] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
    }
}
