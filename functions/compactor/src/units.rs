//! Units of a large hour as concurrent invocations of the compactor's unit function (the same
//! binary, deployed a second time with its own reserved concurrency): one synchronous invocation
//! per unit, at most `LOGLAKE_COMPACT_UNIT_CONCURRENCY` at once (docs/compaction-design.md,
//! "Units").

use std::time::Duration;

use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use loglake::compact::run::{HourOutput, UnitError, UnitInvoker};
use loglake::compact::units::Unit;

use crate::UnitEvent;

/// What of a failed unit's answer goes into the run's error (the answer is the function's error
/// report, never log content).
const ANSWER_SHOWN: usize = 500;

pub struct LambdaUnits {
    client: aws_sdk_lambda::Client,
    function: String,
    permits: tokio::sync::Semaphore,
}

impl LambdaUnits {
    /// Invokes `function` for each unit, at most `concurrency` at once. The client waits longer
    /// for an answer than a unit invocation may take (Lambda's 15-minute limit), and does not
    /// retry: an invocation either answered (the unit ended) or did not (it may still run).
    /// `endpoint`: another Lambda endpoint than the configuration's (a local one in tests).
    pub fn new(aws: &aws_config::SdkConfig, function: &str, concurrency: usize, endpoint: Option<&str>) -> LambdaUnits {
        let mut config = aws_sdk_lambda::config::Builder::from(aws);
        config.set_endpoint_url(endpoint.map(str::to_owned));
        let config = config
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(16 * 60))
                    .build(),
            )
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        LambdaUnits {
            client: aws_sdk_lambda::Client::from_conf(config),
            function: function.to_owned(),
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
        }
    }
}

#[async_trait::async_trait]
impl UnitInvoker for LambdaUnits {
    async fn invoke(&self, unit: &Unit) -> Result<HourOutput, UnitError> {
        let _permit = self.permits.acquire().await.map_err(|e| UnitError::Failed(e.to_string()))?;
        let payload =
            serde_json::to_vec(&UnitEvent { unit: unit.clone() }).map_err(|e| UnitError::Failed(e.to_string()))?;
        let sent = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await;
        let output = match sent {
            Ok(output) => output,
            // Lambda refused the call (throttled, not found, not allowed): the unit never ran.
            Err(SdkError::ServiceError(error)) => {
                return Err(UnitError::Failed(format!(
                    "lambda:Invoke {}: {}",
                    self.function,
                    DisplayErrorContext(error.err())
                )));
            }
            // No answer: the unit may be running.
            Err(error) => {
                return Err(UnitError::Unanswered(format!(
                    "lambda:Invoke {}: {}",
                    self.function,
                    DisplayErrorContext(error)
                )));
            }
        };
        let answer = output.payload().map(|p| p.as_ref()).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            let shown = String::from_utf8_lossy(&answer[..answer.len().min(ANSWER_SHOWN)]).into_owned();
            return Err(UnitError::Failed(format!("{kind}: {shown}")));
        }
        serde_json::from_slice(answer)
            .map_err(|e| UnitError::Failed(format!("the unit's answer is not its output: {e}")))
    }
}
