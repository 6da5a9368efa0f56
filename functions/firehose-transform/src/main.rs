use firehose_transform::{Config, State, handle};
use loglake::function::now_ms;
use loglake::ingest::firehose::FirehoseEvent;
use loglake::ingest::write::IngestError;
use loglake_lambda::{Error, LambdaEvent, Metrics};

// The system allocator, as in ingest-kinesis: batches are processed in windows whose memory
// glibc returns, where mimalloc would keep it.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = loglake_lambda::start(Config::from_lookup)?;
    let state = &State::from_config(config).await;
    let metrics = &Metrics::from_environment(env!("CARGO_PKG_NAME"));
    loglake_lambda::serve(move |event: LambdaEvent<FirehoseEvent>| async move {
        let (response, report) = handle(state, &event.payload).await?;
        metrics.emit(&report.ingest.measurement(now_ms()));
        Ok::<_, IngestError>(response)
    })
    .await
}
