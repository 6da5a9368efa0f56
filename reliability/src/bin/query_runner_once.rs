//! One scheduled query-runner invocation against the S3 and Athena of the environment (moto in
//! the tests), as a process a test can kill at any moment (tests/kill.rs):
//!
//!     query-runner-once BUCKET REGION SCHEDULED_TIME
//!
//! Runs `errors_by_group_hourly` for the windows due at SCHEDULED_TIME, with the functions' own
//! client policy, and prints each window's outcome.

use std::time::{Duration, Instant};

use loglake::lake::storage::{S3Store, load_aws_config};
use loglake_reliability::{ROLLUP_QUERY, rollup_config, rollup_runner};
use query_runner::RunEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bucket, region, scheduled_time] = args.as_slice() else {
        eprintln!("usage: query-runner-once BUCKET REGION SCHEDULED_TIME");
        return std::process::ExitCode::from(2);
    };
    let sdk = load_aws_config().await;
    let store = S3Store::new(&sdk, bucket, true);
    let config = rollup_config(bucket);
    let runner = rollup_runner(&config, region, &sdk, &store);
    let event = RunEvent { query: ROLLUP_QUERY.to_owned(), window: None, scheduled_time: Some(scheduled_time.clone()) };
    match runner.handle(&event, Instant::now() + Duration::from_secs(60)).await {
        Ok(results) => {
            for result in results {
                println!("{} {:?}", result.window, result.outcome);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("query-runner: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
