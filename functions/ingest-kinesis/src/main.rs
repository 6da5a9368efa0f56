use ingest_kinesis::{Config, State, handle, stop_writing_at};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::function::now_ms;
use loglake::kinesis::{BatchResponse, KinesisEvent};

// glibc malloc hands the per-invocation buffers back to the kernel and faults them in again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    let state = &State::from_config(config).await;
    run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
        let deadline = stop_writing_at(event.context.deadline, now_ms());
        Ok::<BatchResponse, Error>(handle(state, &event.payload, deadline).await.response())
    }))
    .await
}
