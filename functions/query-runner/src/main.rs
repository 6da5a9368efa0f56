use std::time::{Duration, Instant};

use loglake::lake::storage::{S3Store, load_aws_config, retry_partition};
use loglake_lambda::{Error, LambdaEvent, Metrics};
use query_runner::{Athena, Config, RunError, RunEvent, Runner};

/// Time kept after polling stops, to read a result and write the summary and the run.
const STORE_TIME: Duration = Duration::from_secs(20);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = &loglake_lambda::start(Config::from_lookup)?;
    let aws = load_aws_config().await;
    let store = &S3Store::new(&aws, &config.lake.bucket, config.lake.force_path_style);
    let queries = loglake::rollup::query_file::shipped()?;
    let athena_config = aws_sdk_athena::config::Builder::from(&aws).retry_partition(retry_partition("athena")).build();
    let athena = Athena::new(aws_sdk_athena::Client::from_conf(athena_config), config);
    let runner = &Runner { config, athena, store, queries };
    let metrics = &Metrics::from_environment(env!("CARGO_PKG_NAME"));
    loglake_lambda::serve(move |event: LambdaEvent<RunEvent>| async move {
        let remaining = event.context.deadline().duration_since(std::time::SystemTime::now()).unwrap_or_default();
        let poll_until = Instant::now() + remaining.saturating_sub(STORE_TIME);
        let results = runner.handle(&event.payload, poll_until).await?;
        for measurement in results.iter().filter_map(|r| r.measurement.as_ref()) {
            metrics.emit(measurement);
        }
        Ok::<_, RunError>(results)
    })
    .await
}
