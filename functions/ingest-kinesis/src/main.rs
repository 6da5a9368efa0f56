use std::convert::Infallible;

use ingest_kinesis::{Config, State, handle, stop_writing_at};
use loglake::function::now_ms;
use loglake::ingest::kinesis::KinesisEvent;
use loglake_lambda::{Error, LambdaEvent, Metrics};

// The system allocator, not mimalloc: a batch is processed in windows, and glibc hands each
// window's memory back, which keeps a 6 MB batch near 47 MB; mimalloc keeps what it freed for
// reuse and peaks above 110 MB on the same batch (bench/README.md).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = loglake_lambda::start(Config::from_lookup)?;
    let state = &State::from_config(config).await;
    let metrics = &Metrics::from_environment(env!("CARGO_PKG_NAME"));
    // Never a failed invocation: failures are reported per record (batchItemFailures).
    loglake_lambda::serve(move |event: LambdaEvent<KinesisEvent>| async move {
        let deadline = stop_writing_at(event.context.deadline, now_ms());
        let report = handle(state, &event.payload, deadline).await;
        metrics.emit(&report.ingest.measurement(now_ms()));
        Ok::<_, Infallible>(report.response())
    })
    .await
}
