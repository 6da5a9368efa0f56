use ingest_cloudwatch::{Config, State, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::cloudwatch::SubscriptionEvent;

// glibc malloc hands the per-invocation buffers back to the kernel and faults them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    let state = &State::from_config(config).await;
    run(service_fn(move |event: LambdaEvent<SubscriptionEvent>| async move { handle(state, &event.payload).await }))
        .await
}
