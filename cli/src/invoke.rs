//! `loglake invoke`: a function's handler on event files, in order, in one process, one JSON
//! response per event on stdout.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use loglake::decode::subscription::SubscriptionEvent;
use loglake::function::{FunctionError, State};
use loglake::ingest::firehose::FirehoseEvent;
use loglake::ingest::kinesis::KinesisEvent;
use loglake::ingest::s3::SqsEvent;
use loglake::lake::source::{LocalSource, ObjectSource, S3Source};
use loglake::lake::storage::load_aws_config;

use crate::lake::{environment, handler_state};

/// The functions whose handlers run on event files.
#[derive(Clone, Copy, ValueEnum)]
pub enum Function {
    IngestCloudwatch,
    IngestKinesis,
    FirehoseTransform,
    IngestS3,
}

/// `source`: the directory ingest-s3 reads notified objects from (`<dir>/<key>`, the bucket
/// name ignored); without it, the buckets the notifications name, through the AWS settings.
pub async fn run(function: Function, paths: &[PathBuf], lake: Option<&Path>, source: Option<&Path>) -> Result<()> {
    let state = handler_state(lake).await?;
    let target = match function {
        Function::IngestS3 => Target::IngestS3(ingest_s3_state(state, source).await?),
        _ => Target::Lake(state),
    };
    let mut failures = 0;
    for path in event_files(paths)? {
        let invocation = match &target {
            Target::IngestS3(state) => invoke_ingest_s3(state, &path).await,
            Target::Lake(state) => invoke_one(function, state, &path).await,
        };
        let line = invocation.unwrap_or_else(|line| {
            failures += 1;
            line
        });
        println!("{line}");
    }
    if failures > 0 {
        bail!("{failures} event(s) failed");
    }
    Ok(())
}

/// What a handler runs with: the lake, and for ingest-s3 also where the objects are read from.
enum Target {
    Lake(State),
    IngestS3(ingest_s3::State),
}

async fn ingest_s3_state(state: State, source: Option<&Path>) -> Result<ingest_s3::State> {
    let source: Box<dyn ObjectSource> = match source {
        Some(dir) => Box::new(LocalSource::new(dir)),
        None => {
            let force_path_style = loglake::config::parse_bool(
                loglake::config::vars::S3_FORCE_PATH_STYLE,
                environment(loglake::config::vars::S3_FORCE_PATH_STYLE),
            )?;
            Box::new(S3Source::new(&load_aws_config().await, force_path_style))
        }
    };
    Ok(ingest_s3::State::with_source(state, source, environment)?)
}

const SQS_EVENT: &str = "an SQS event ({\"Records\":[{\"messageId\":…,\"body\":…}]})";

/// ingest-s3 on one event file; failed when it reported messages for SQS to deliver again.
async fn invoke_ingest_s3(state: &ingest_s3::State, path: &Path) -> Result<serde_json::Value, serde_json::Value> {
    let event: SqsEvent = read_event(path, SQS_EVENT).map_err(|error| {
        serde_json::json!({"event": path, "errorType": "Loglake.InvalidEvent", "errorMessage": format!("{error:#}")})
    })?;
    let report = ingest_s3::handle(state, &event, None).await;
    let mut line = response_line(path, &report);
    if let Some(object) = line.as_object_mut() {
        object.insert("response".into(), serde_json::json!(report.response()));
    }
    if report.retry.is_empty() { Ok(line) } else { Err(line) }
}

/// Expands directories into their *.json files, in name order.
pub fn event_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read directory {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Reads an event file as the event type `T` of a function; `shape` describes it for errors.
fn read_event<T: serde::de::DeserializeOwned>(path: &Path, shape: &str) -> Result<T> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("{} is not {shape}", path.display()))
}

const SUBSCRIPTION_EVENT: &str = "a CloudWatch Logs subscription event ({\"awslogs\":{\"data\":…}})";
const KINESIS_EVENT: &str = "a Kinesis event ({\"Records\":[{\"kinesis\":{…}}]})";
const FIREHOSE_EVENT: &str = "a Firehose transformation event ({\"records\":[{\"recordId\":…,\"data\":…}]})";

/// Runs the handler of `function` on one event file: its report as a JSON line, and whether
/// the invocation failed (for Kinesis: whether it reported records for retry).
async fn invoke_one(function: Function, state: &State, path: &Path) -> Result<serde_json::Value, serde_json::Value> {
    let failure = |error_type: &str, message: String| serde_json::json!({"event": path, "errorType": error_type, "errorMessage": message});
    let invalid = |error: anyhow::Error| failure("Loglake.InvalidEvent", format!("{error:#}"));
    match function {
        Function::IngestCloudwatch => {
            let event: SubscriptionEvent = read_event(path, SUBSCRIPTION_EVENT).map_err(invalid)?;
            match ingest_cloudwatch::handle(state, &event).await {
                Ok(report) => Ok(response_line(path, &report)),
                Err(error) => Err(failure(FunctionError::error_type(&error), error.to_string())),
            }
        }
        Function::IngestKinesis => {
            let event: KinesisEvent = read_event(path, KINESIS_EVENT).map_err(invalid)?;
            let report = ingest_kinesis::handle(state, &event, None).await;
            let mut line = response_line(path, &report);
            if let Some(object) = line.as_object_mut() {
                object.insert("response".into(), serde_json::json!(report.response()));
            }
            if report.retry_from.is_some() { Err(line) } else { Ok(line) }
        }
        Function::IngestS3 => Err(failure("Loglake.Bug", "ingest-s3 runs through invoke_ingest_s3".into())),
        Function::FirehoseTransform => {
            let event: FirehoseEvent = read_event(path, FIREHOSE_EVENT).map_err(invalid)?;
            match firehose_transform::handle(state, &event).await {
                Ok((response, report)) => {
                    let mut line = response_line(path, &report);
                    if let Some(object) = line.as_object_mut() {
                        object.insert("response".into(), serde_json::json!(response));
                    }
                    Ok(line)
                }
                Err(error) => Err(failure(FunctionError::error_type(&error), error.to_string())),
            }
        }
    }
}

fn response_line(path: &Path, report: &impl serde::Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("event".into(), serde_json::json!(path));
    }
    value
}
