use compactor::{Config, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::storage::{S3Store, load_aws_config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = &Config::from_lookup(|name| std::env::var(name).ok())?;
    let store = &S3Store::new(&load_aws_config().await, &config.lake.bucket, config.lake.force_path_style);
    // Lambda's only writable disk; sorted runs spill here.
    let spill = &std::env::temp_dir().join("loglake-compaction");
    run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move { handle(config, store, spill).await })).await
}
