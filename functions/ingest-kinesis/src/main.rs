use ingest_kinesis::{Config, State, handle, stop_writing_at};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::function::now_ms;
use loglake::kinesis::{BatchResponse, KinesisEvent};

// The system allocator, not mimalloc: a batch is processed in windows, and glibc hands each
// window's memory back, which keeps a 6 MB batch near 47 MB; mimalloc keeps what it freed for
// reuse and peaks above 110 MB on the same batch (bench/README.md).

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
