//! The lake a command works on: a local directory (`--lake DIR`), or the S3 bucket the
//! environment names (`LOGLAKE_BUCKET` and the usual AWS settings, `AWS_ENDPOINT_URL` included).

use std::path::Path;

use anyhow::{Context, Result};
use loglake::config::PipelineConfig;
use loglake::function::{FunctionConfig, State};
use loglake::lake::storage::LocalStore;

/// A setting from the process environment.
pub fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The state the functions' handlers run with: the local lake, or the bucket of the environment.
pub async fn handler_state(lake: Option<&Path>) -> Result<State> {
    match lake {
        Some(dir) => {
            let pipeline = PipelineConfig::from_lookup(environment)?;
            Ok(State { pipeline, store: Box::new(LocalStore::new(dir)) })
        }
        None => {
            let config = FunctionConfig::from_lookup(environment)
                .context("without --lake DIR, the bucket comes from the environment")?;
            Ok(State::from_config(config).await)
        }
    }
}
