use firehose_transform::{Config, State, handle};
use loglake::ingest::firehose::FirehoseEvent;
use loglake_lambda::{Error, LambdaEvent};

// The system allocator, as in ingest-kinesis: batches are processed in windows whose memory
// glibc returns, where mimalloc would keep it.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = loglake_lambda::start(Config::from_lookup)?;
    let state = &State::from_config(config).await;
    loglake_lambda::serve(move |event: LambdaEvent<FirehoseEvent>| async move {
        handle(state, &event.payload).await.map(|(response, _)| response)
    })
    .await
}
