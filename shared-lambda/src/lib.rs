//! The Lambda-only glue every function binary shares: start-up (tracing, settings from the
//! environment) and serving the handler through the runtime API with each error reported as
//! its typed Lambda error ([`loglake::function::FunctionError`]).
//!
//! Only the functions' `main.rs` use this crate, through their `lambda` feature (on by default):
//! the handlers in their `lib.rs`, the shared crate and the `loglake` CLI stay free of
//! `lambda_runtime` (the orphan rule would otherwise make every function wrap its errors itself).

use std::future::Future;

use lambda_runtime::{Diagnostic, service_fn};
use loglake::config::ConfigError;
use loglake::config::vars;
use loglake::function::FunctionError;
use loglake::metrics::{Measurement, emf_line};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use lambda_runtime::{Error, LambdaEvent};

/// What a function does at cold start before its settings: structured logs (the template's
/// `LoggingConfig` makes them JSON), then its settings from the environment, every problem named.
pub fn start<C>(read: impl FnOnce(fn(&str) -> Option<String>) -> Result<C, ConfigError>) -> Result<C, Error> {
    lambda_runtime::tracing::init_default_subscriber();
    Ok(read(environment)?)
}

/// A setting from the process environment.
fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Prints a function's metrics as embedded-metric-format lines on standard output, where
/// CloudWatch Logs extracts them ([`loglake::metrics`]). The stack comes from `LOGLAKE_STACK`
/// (the template sets it on every function); without it nothing is printed.
pub struct Metrics {
    stack: Option<String>,
    function: &'static str,
}

impl Metrics {
    /// The metrics of `function` (its crate name: `ingest-cloudwatch`, `compactor` …).
    pub fn from_environment(function: &'static str) -> Metrics {
        Metrics { stack: environment(vars::STACK).filter(|s| !s.is_empty()), function }
    }

    pub fn emit(&self, measurement: &Measurement) {
        if let Some(line) = self.stack.as_deref().and_then(|stack| emf_line(stack, self.function, measurement)) {
            // One line, alone: CloudWatch reads EMF from a log event that is the JSON object.
            println!("{line}");
        }
    }
}

/// Serves `handler` until the runtime stops. A failed invocation is reported with the error's
/// type (`Loglake.StorageError` …), so Lambda's retries, metrics and on-failure destinations can
/// tell what a retry can fix.
pub async fn serve<Event, Response, Failure, Handler, Invocation>(handler: Handler) -> Result<(), Error>
where
    Event: DeserializeOwned,
    Response: Serialize,
    Failure: FunctionError,
    Handler: Fn(LambdaEvent<Event>) -> Invocation,
    Invocation: Future<Output = Result<Response, Failure>>,
{
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let invocation = handler(event);
        async move { invocation.await.map_err(|failure| diagnostic(&failure)) }
    }))
    .await
}

/// The error report Lambda records for a failed invocation.
pub fn diagnostic(error: &dyn FunctionError) -> Diagnostic {
    Diagnostic { error_type: error.error_type().to_owned(), error_message: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loglake::ingest::write::IngestError;
    use loglake::lake::storage::StorageError;

    #[test]
    fn a_failed_write_is_reported_as_a_storage_error_with_its_context() {
        let error = IngestError::Storage(StorageError::S3 {
            op: "PutObject",
            bucket: "lake".into(),
            key: "staging/logs/x.parquet".into(),
            detail: "SlowDown".into(),
        });
        let report = diagnostic(&error);
        assert_eq!(report.error_type, "Loglake.StorageError");
        assert_eq!(report.error_message, "S3 PutObject s3://lake/staging/logs/x.parquet failed: SlowDown");
    }
}
