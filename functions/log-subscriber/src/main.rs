use std::convert::Infallible;

use log_subscriber::{Config, SdkLogs, TriggerEvent, reconcile};
use loglake_lambda::{Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = &loglake_lambda::start(Config::from_lookup)?;
    let api = &SdkLogs::new(&loglake::lake::storage::load_aws_config().await);
    // Never a failed invocation: what a group's calls did, failures included, is the report.
    loglake_lambda::serve(move |event: LambdaEvent<TriggerEvent>| async move {
        let dry_run = event.payload.dry_run.unwrap_or(config.dry_run);
        let report = reconcile(api, config, &event.payload.scope(), dry_run).await;
        tracing::info!(examined = report.examined, write_calls = report.write_calls, counts = ?report.counts, dry_run, "reconciled");
        Ok::<_, Infallible>(report)
    })
    .await
}
