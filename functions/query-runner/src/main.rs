use std::time::{Duration, Instant};

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::storage::{S3Store, load_aws_config};
use query_runner::{Config, RunEvent, Runner};

/// Time kept after polling stops, to read a result and write the summary and the run.
const STORE_TIME: Duration = Duration::from_secs(20);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = &Config::from_lookup(|name| std::env::var(name).ok())?;
    let aws = load_aws_config().await;
    let store = &S3Store::new(&aws, &config.lake.bucket, config.lake.force_path_style);
    let queries = loglake::rollup::shipped()?;
    let runner = &Runner { config, athena: aws_sdk_athena::Client::new(&aws), store, queries };
    run(service_fn(move |event: LambdaEvent<RunEvent>| async move {
        let remaining = event.context.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
        let poll_until = Instant::now() + remaining.saturating_sub(STORE_TIME);
        runner.handle(&event.payload, poll_until).await
    }))
    .await
}
