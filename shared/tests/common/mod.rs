//! Helpers of the integration tests: read the local lake back, and make CloudWatch Logs
//! payloads as a subscription sends them to a Kinesis or Firehose destination.
#![allow(dead_code)] // each test binary uses a different part

pub mod compaction;

use std::collections::BTreeMap;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use base64::Engine as _;
use loglake::lake::storage::{LocalStore, ObjectStore};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub event_time: i64,
    pub event_id: String,
    pub source: String,
    pub account_id: String,
    pub region: String,
    pub log_group: String,
    pub log_stream: String,
    pub format: String,
    pub level: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

pub fn read_rows(bytes: Vec<u8>) -> Vec<Row> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap().build().unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let s = |name: &str| batch.column_by_name(name).unwrap().as_string::<i32>().clone();
        let (ids, sources, accounts, regions, groups, streams, formats, levels, messages, requests) = (
            s("event_id"),
            s("source"),
            s("account_id"),
            s("region"),
            s("log_group"),
            s("log_stream"),
            s("format"),
            s("level"),
            s("message"),
            s("request_id"),
        );
        let times = batch.column_by_name("event_time").unwrap().as_primitive::<TimestampMillisecondType>().clone();
        let attributes = batch.column_by_name("attributes").unwrap().as_map().clone();
        for i in 0..batch.num_rows() {
            let entries = attributes.value(i);
            let keys = entries.column(0).as_string::<i32>();
            let values = entries.column(1).as_string::<i32>();
            let opt = |a: &arrow_array::StringArray| (!a.is_null(i)).then(|| a.value(i).to_owned());
            rows.push(Row {
                event_time: times.value(i),
                event_id: ids.value(i).to_owned(),
                source: sources.value(i).to_owned(),
                account_id: accounts.value(i).to_owned(),
                region: regions.value(i).to_owned(),
                log_group: groups.value(i).to_owned(),
                log_stream: streams.value(i).to_owned(),
                format: formats.value(i).to_owned(),
                level: opt(&levels),
                message: messages.value(i).to_owned(),
                request_id: opt(&requests),
                attributes: (0..keys.len()).map(|j| (keys.value(j).to_owned(), values.value(j).to_owned())).collect(),
            });
        }
    }
    rows
}

pub async fn lake_rows(store: &LocalStore) -> Vec<Row> {
    let mut rows = Vec::new();
    for key in store.list("staging/logs/").await.unwrap() {
        rows.extend(read_rows(store.get(&key).await.unwrap()));
    }
    rows.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    rows
}

pub use loglake::testing::cloudwatch_payload;

/// A CONTROL_MESSAGE as CloudWatch Logs sends it when a destination is created.
pub fn control_payload(timestamp_ms: i64) -> String {
    let body = serde_json::json!({
        "messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
        "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": timestamp_ms, "message": "CWL CONTROL MESSAGE: Checking health of destination."}]
    });
    base64::engine::general_purpose::STANDARD.encode(loglake::decode::subscription::gzip(body.to_string().as_bytes()))
}

/// The corpus of real samples beside the checkout (`LOGLAKE_CORPUS`); without it a check says
/// it was skipped, and fails when `LOGLAKE_REQUIRE_CORPUS=1` (scripts/test.sh sets both).
pub fn corpus() -> Option<std::path::PathBuf> {
    match std::env::var("LOGLAKE_CORPUS") {
        Ok(dir) => Some(std::path::PathBuf::from(dir)),
        Err(_) if std::env::var("LOGLAKE_REQUIRE_CORPUS").as_deref() == Ok("1") => {
            panic!("LOGLAKE_REQUIRE_CORPUS=1 but LOGLAKE_CORPUS is not set")
        }
        Err(_) => {
            eprintln!("SKIPPED: corpus check needs LOGLAKE_CORPUS=path/to/shared/corpus");
            None
        }
    }
}
