use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use log_subscriber::{Config, Report, SdkLogs, TriggerEvent, reconcile};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = &Config::from_lookup(|name| std::env::var(name).ok())?;
    let api = &SdkLogs::new(&loglake::storage::load_aws_config().await);
    run(service_fn(move |event: LambdaEvent<TriggerEvent>| async move {
        let dry_run = event.payload.dry_run.unwrap_or(config.dry_run);
        let report = reconcile(api, config, &event.payload.scope(), dry_run).await;
        tracing::info!(examined = report.examined, write_calls = report.write_calls, counts = ?report.counts, dry_run, "reconciled");
        Ok::<Report, Error>(report)
    }))
    .await
}
