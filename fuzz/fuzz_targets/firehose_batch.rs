//! A Firehose batch of records of any bytes (the input split at 0xFF into up to 16 records)
//! through transform_batch, with a small response budget so that records also go straight to
//! staging. Never a panic; one result per record, in order, under its id; a refused record is in
//! `errors/firehose/` with its input, and its data is that input when the response has room
//! (empty otherwise, as the function's README says); the rows returned have unique event ids; the
//! response stays within its budget.
#![no_main]

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use loglake::config::PipelineConfig;
use loglake::decode::bounds::InputBounds;
use loglake::ingest::firehose::{FirehoseEvent, ResultStatus, TransformOptions, transform_batch};
use loglake::lake::storage::{Expected, ListedObject, ObjectStore, StorageError, Version};

/// The bucket, in memory: what the transform writes straight to staging and to `errors/`.
#[derive(Default)]
struct MemoryStore(Mutex<BTreeMap<String, Vec<u8>>>);

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError> {
        self.0.lock().unwrap().insert(key.to_owned(), body);
        Ok(())
    }
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        let body =
            std::fs::read(path).map_err(|source| StorageError::Local { op: "read", path: path.into(), source })?;
        self.put(key, body).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        self.0.lock().unwrap().get(key).cloned().ok_or(StorageError::Conflict { key: key.to_owned() })
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(self.0.lock().unwrap().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let objects = self.0.lock().unwrap();
        let listed = objects.iter().filter(|(k, _)| k.starts_with(prefix));
        Ok(listed.map(|(k, v)| ListedObject { key: k.clone(), modified_ms: 0, size: v.len() as u64 }).collect())
    }
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        Ok(self.0.lock().unwrap().get(key).map(|v| (v.clone(), Version(v.len().to_string()))))
    }
    async fn put_if(&self, key: &str, body: Vec<u8>, _: Expected<'_>) -> Result<Version, StorageError> {
        let version = Version(body.len().to_string());
        self.put(key, body).await?;
        Ok(version)
    }
}

fuzz_target!(|data: &[u8]| {
    let records: Vec<serde_json::Value> = data
        .split(|&b| b == 0xFF)
        .take(16)
        .enumerate()
        .map(|(i, bytes)| {
            serde_json::json!({"recordId": format!("r{i}"), "approximateArrivalTimestamp": 1_795_168_800_000i64,
                               "data": base64::engine::general_purpose::STANDARD.encode(bytes)})
        })
        .collect();
    let event: FirehoseEvent = serde_json::from_value(serde_json::json!({
        "invocationId": "fuzz", "region": "us-east-1", "records": records,
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/fuzz"}))
    .unwrap();
    let bounds = InputBounds { decoded_bytes: 256 << 10, lines: 300, attributes: 3000 };
    let config = PipelineConfig { bounds, region: "us-east-1".into(), ..PipelineConfig::default() };
    let options = TransformOptions { response_budget_bytes: 16 << 10, window_decoded_bytes: 64 << 10 };
    let store = MemoryStore::default();
    // One runtime for the whole fuzzing run: building one per input was most of an execution.
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap());
    let (response, report) = runtime
        .block_on(transform_batch(&event, &config, 1_795_168_900_000, &store, &options))
        .expect("an in-memory store never fails");
    assert_eq!(response.records.len(), event.records.len(), "one result per record");
    // (record id, raw input) of every dead letter written.
    let dead_letters: HashSet<(String, String)> = store
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(key, _)| key.starts_with("errors/firehose/"))
        .map(|(_, body)| {
            let letter: serde_json::Value = serde_json::from_slice(body).expect("a dead letter is JSON");
            let field = |v: &serde_json::Value| v.as_str().expect("a string").to_owned();
            (field(&letter["origin"]["record_id"]), field(&letter["raw"]))
        })
        .collect();
    let mut ids = HashSet::new();
    for (result, record) in response.records.iter().zip(&event.records) {
        assert_eq!(result.record_id, record.record_id, "in order, under its id");
        match result.result {
            ResultStatus::ProcessingFailed => {
                assert!(
                    dead_letters.contains(&(record.record_id.clone(), record.data.clone())),
                    "a refused record is dead-lettered with its input"
                );
                if !result.data.is_empty() {
                    assert_eq!(result.data, record.data, "the input, for the error prefix");
                }
            }
            ResultStatus::Dropped => assert!(result.data.is_empty()),
            ResultStatus::Ok => {
                let rows = base64::engine::general_purpose::STANDARD.decode(&result.data).unwrap();
                for line in rows.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let row: serde_json::Value = serde_json::from_slice(line).expect("each row is JSON");
                    let id = row["event_id"].as_str().expect("an event id").to_owned();
                    assert!(ids.insert(id), "an event id twice in one response");
                }
            }
        }
    }
    assert!(report.response_bytes <= options.response_budget_bytes, "{} bytes", report.response_bytes);
});
