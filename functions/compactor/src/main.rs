use compactor::units::LambdaUnits;
use compactor::{Config, GlueView, UnitEvent, handle, handle_unit};
use loglake::compact::run::UnitInvokerRef;
use loglake::compact::state::{CompactError, RunRecord};
use loglake::compact::view::Readers;
use loglake::lake::storage::{S3Store, load_aws_config, retry_partition};
use loglake_lambda::{Error, LambdaEvent, Metrics};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut config = loglake_lambda::start(Config::from_lookup)?;
    let aws = load_aws_config().await;
    if let Some(function) = &config.unit_function {
        let units = LambdaUnits::new(&aws, function, config.unit_concurrency, None);
        config.unit_invoker = Some(UnitInvokerRef(std::sync::Arc::new(units)));
    }
    let config = &config;
    let store = &S3Store::new(&aws, &config.lake.bucket, config.lake.force_path_style);
    let glue_config = aws_sdk_glue::config::Builder::from(&aws).retry_partition(retry_partition("glue")).build();
    let view =
        &GlueView { client: aws_sdk_glue::Client::from_conf(glue_config), database: config.glue_database.clone() };
    // Athena's "$path" of an object: s3://bucket/key.
    let readers = &Readers { view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    // Lambda's only writable disk; sorted runs spill here.
    let spill = &std::env::temp_dir().join("loglake-compaction");
    let metrics = &Metrics::from_environment(env!("CARGO_PKG_NAME"));
    loglake_lambda::serve(move |event: LambdaEvent<serde_json::Value>| async move {
        let request_id = &event.context.request_id;
        // A unit of a large hour, sent by a run of the scheduled compactor.
        if event.payload.get("unit").is_some() {
            let unit: UnitEvent = serde_json::from_value(event.payload)
                .map_err(|e| CompactError::Worker(format!("not a unit event: {e}")))?;
            let output = handle_unit(config, store, spill, request_id, &unit.unit).await?;
            return serde_json::to_value(output).map_err(CompactError::State);
        }
        // Runs stop two minutes before the invocation's deadline (a run is bounded; the next
        // schedule goes on with what waits).
        let left_ms = (event.context.deadline as i64 - loglake::function::now_ms() - 120_000).max(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(left_ms as u64);
        let records = handle(config, store, readers, spill, request_id, deadline).await?;
        metrics.emit(&RunRecord::measurement(&records, loglake::function::now_ms()));
        serde_json::to_value(records).map_err(CompactError::State)
    })
    .await
}
