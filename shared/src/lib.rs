//! loglake: everything the functions and the `loglake` command have in common, laid out by the
//! stages of the data's way through the lake.
//!
//! | stage | what it owns | may use |
//! |---|---|---|
//! | [`lake`] | the `logs` table and where it lives: a row, the schema and DDL, every prefix and key, Parquet encoding, storage (S3 or a directory) | |
//! | [`decode`] | what arrives, before any line is read: CloudWatch Logs payloads, KPL aggregates, what a stream record's data holds, S3 notifications and log objects | |
//! | [`parse`] | one line into one record: every line format, agent envelopes, multi-line events, times in lines | `lake` |
//! | [`config`] | settings read once, and the per-group / per-stream rules that choose how input is read | `lake`, `decode`, `parse` |
//! | [`metrics`] | the metrics the functions emit (names, units, dimensions) and their embedded-metric-format lines | |
//! | [`ingest`] | the ingest paths (CloudWatch, Kinesis, Firehose, S3 objects, backfill): decode → parse → partition → encode → write | `lake`, `decode`, `parse`, `config`, `metrics` |
//! | [`compact`] | staging into curated files, invisible to readers: the run, the external merge, the state, the reader view | `lake`, `metrics` |
//! | [`rollup`] | query files, windows, the record and cost of every run | `lake`, `metrics` |
//! | [`function`] | what every function reads at cold start, and how its errors name themselves | `lake`, `config`, `ingest`, `compact` |
//! | [`testing`] | helpers of the tests of every crate (feature `testing`; any stage's tests may use it) | `decode`, `lake` |
//!
//! A stage uses only the stages its row names, and files import each other by the path of the
//! file that defines an item, never through a re-export; `python3 scripts/check_modules.py`
//! checks both, and that no two files import each other (directly or around a cycle).
//!
//! Everything here is pure over bytes and records except [`lake::storage`] and [`lake::source`]; nothing reads the
//! environment (configuration comes in through a lookup function, [`config::PipelineConfig`]).
//! The Lambda runtime is not here either: the function binaries start it through
//! `loglake-lambda` (shared-lambda/).

pub mod compact;
pub mod config;
pub mod decode;
pub mod function;
pub mod ingest;
pub mod lake;
pub mod metrics;
pub mod parse;
pub mod rollup;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
