use compactor::{Config, GlueView, handle};
use loglake::compact::view::Readers;
use loglake::lake::storage::{S3Store, load_aws_config};
use loglake_lambda::{Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = &loglake_lambda::start(Config::from_lookup)?;
    let aws = load_aws_config().await;
    let store = &S3Store::new(&aws, &config.lake.bucket, config.lake.force_path_style);
    let view = &GlueView { client: aws_sdk_glue::Client::new(&aws), database: config.glue_database.clone() };
    // Athena's "$path" of an object: s3://bucket/key.
    let readers = &Readers { view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    // Lambda's only writable disk; sorted runs spill here.
    let spill = &std::env::temp_dir().join("loglake-compaction");
    loglake_lambda::serve(move |event: LambdaEvent<serde_json::Value>| async move {
        // Runs stop two minutes before the invocation's deadline (a run is bounded; the next
        // schedule goes on with what waits).
        let left_ms = (event.context.deadline as i64 - loglake::function::now_ms() - 120_000).max(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(left_ms as u64);
        handle(config, store, readers, spill, &event.context.request_id, deadline).await
    })
    .await
}
