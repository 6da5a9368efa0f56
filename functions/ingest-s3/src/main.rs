use std::convert::Infallible;

use ingest_s3::{Config, State, handle, stop_writing_at};
use loglake::function::now_ms;
use loglake::ingest::s3::SqsEvent;
use loglake_lambda::{Error, LambdaEvent, Metrics};

// The system allocator, as in ingest-kinesis: objects are read chunk by chunk, and glibc hands
// each chunk's memory back.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = loglake_lambda::start(Config::from_lookup)?;
    let state = &State::from_config(config).await;
    let metrics = &Metrics::from_environment(env!("CARGO_PKG_NAME"));
    // Never a failed invocation: failures are reported per message (batchItemFailures).
    loglake_lambda::serve(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = stop_writing_at(event.context.deadline, now_ms());
        let report = handle(state, &event.payload, deadline).await;
        metrics.emit(&report.ingest.measurement(now_ms()));
        Ok::<_, Infallible>(report.response())
    })
    .await
}
