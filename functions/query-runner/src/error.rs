//! Why an invocation of the runner failed. A query that failed on Athena is not here: it is an
//! outcome, recorded like any other run.

use loglake::function::FunctionError;
use loglake::lake::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("bad event: {0}")]
    BadEvent(String),
    #[error("Athena is throttling {operation}: {message} (the schedule retries the invocation)")]
    Throttled { operation: &'static str, message: String },
    #[error("athena:{operation}: {message}")]
    Athena { operation: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the runner's state {key} is unreadable: {message}")]
    State { key: String, message: String },
}

impl FunctionError for RunError {
    fn error_type(&self) -> &'static str {
        match self {
            RunError::BadEvent(_) => "Loglake.InvalidEvent",
            RunError::Throttled { .. } => "Loglake.AthenaThrottled",
            RunError::Athena { .. } => "Loglake.AthenaError",
            RunError::Storage(_) => "Loglake.StorageError",
            RunError::State { .. } => "Loglake.StateError",
        }
    }
}
