use compactor::{Config, GlueView, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::compact::Readers;
use loglake::storage::{S3Store, load_aws_config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = &Config::from_lookup(|name| std::env::var(name).ok())?;
    let aws = load_aws_config().await;
    let store = &S3Store::new(&aws, &config.lake.bucket, config.lake.force_path_style);
    let view = &GlueView { client: aws_sdk_glue::Client::new(&aws), database: config.glue_database.clone() };
    // Athena's "$path" of an object: s3://bucket/key.
    let readers = &Readers { view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    // Lambda's only writable disk; sorted runs spill here.
    let spill = &std::env::temp_dir().join("loglake-compaction");
    run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move { handle(config, store, readers, spill).await }))
        .await
}
