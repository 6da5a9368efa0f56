//! loglake: the pipeline every ingest function shares.
//!
//! decode ([`cloudwatch`]) → normalize ([`normalize`]) → group by partition ([`partition`]) →
//! encode Parquet ([`parquet_encode`]) → write ([`storage`]), orchestrated by [`pipeline`].
//! Everything here is pure over bytes and records except [`storage`]; nothing reads the
//! environment (configuration comes in through [`config::PipelineConfig`]).

pub mod agent;
pub mod cloudwatch;
pub mod compact;
pub mod config;
pub mod firehose;
pub mod formats;
pub mod function;
pub mod keys;
pub mod kinesis;
pub mod kpl;
pub mod merge;
pub mod multiline;
pub mod normalize;
pub mod parquet_encode;
pub mod partition;
pub mod pipeline;
pub mod query_runs;
pub mod reader_view;
pub mod record;
pub mod record_data;
pub mod rollup;
pub mod schema;
pub mod storage;
pub mod stream_record;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timestamp;

pub use config::PipelineConfig;
pub use pipeline::{IngestError, IngestReport};
pub use record::{Level, Record};
pub use storage::{LocalStore, ObjectStore, S3Store, StorageError};
