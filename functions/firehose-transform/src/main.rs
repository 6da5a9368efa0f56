use firehose_transform::{Config, State, handle};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use loglake::firehose::FirehoseEvent;

// The system allocator, as in ingest-kinesis: batches are processed in windows whose memory
// glibc returns, where mimalloc would keep it.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    let state = &State::from_config(config).await;
    run(service_fn(move |event: LambdaEvent<FirehoseEvent>| async move {
        handle(state, &event.payload).await.map(|(response, _)| response)
    }))
    .await
}
