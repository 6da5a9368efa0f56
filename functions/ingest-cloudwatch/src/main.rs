use ingest_cloudwatch::{Config, State, handle};
use loglake::decode::subscription::SubscriptionEvent;
use loglake::function::now_ms;
use loglake::ingest::write::IngestError;
use loglake_lambda::{Error, LambdaEvent, Metrics};

// glibc malloc hands the per-invocation buffers back to the kernel and faults them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = loglake_lambda::start(Config::from_lookup)?;
    let state = &State::from_config(config).await;
    let metrics = &Metrics::from_environment(env!("CARGO_PKG_NAME"));
    loglake_lambda::serve(move |event: LambdaEvent<SubscriptionEvent>| async move {
        let report = handle(state, &event.payload).await?;
        metrics.emit(&report.measurement(now_ms()));
        Ok::<_, IngestError>(report)
    })
    .await
}
