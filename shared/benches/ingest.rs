//! Throughput of the CloudWatch ingest pipeline on one thread, over a workload made by
//! bench/gen_workload.py. Prints MB/s of log message text through decode → normalize →
//! Parquet → local write, and the time spent in each stage. Run it through bench/run.sh, or:
//!
//!     cargo bench -p loglake --bench ingest -- /path/to/workload

use std::time::{Duration, Instant};

use loglake::config::PipelineConfig;
use loglake::decode::subscription::{SubscriptionEvent, decompress_base64, parse_payload};
use loglake::ingest::cloudwatch::ingest_cloudwatch_data;
use loglake::ingest::payload::normalize_payload;
use loglake::lake::encode::encode_parquet;
use loglake::lake::storage::LocalStore;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const INGEST_MS: i64 = 1_795_200_000_000;

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("LOGLAKE_BENCH_WORKLOAD").ok())
        .expect("usage: ingest WORKLOAD_DIR (made by bench/gen_workload.py)");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("workload directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("event-")))
        .collect();
    files.sort();
    let events: Vec<String> = files
        .iter()
        .map(|p| serde_json::from_slice::<SubscriptionEvent>(&std::fs::read(p).unwrap()).unwrap().awslogs.data)
        .collect();
    let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let lake = tempfile::tempdir().unwrap();
    let store = LocalStore::new(lake.path());

    // End to end, three rounds; the best round is reported (the others show the spread).
    let mut rounds = Vec::new();
    let mut message_bytes = 0;
    let mut records = 0;
    let mut parquet_bytes = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let (mut m, mut r, mut p) = (0, 0, 0);
        for data in &events {
            let report = runtime.block_on(ingest_cloudwatch_data(data, &config, INGEST_MS, &store)).unwrap();
            assert!(report.dead_letters.is_empty());
            m += report.message_bytes;
            r += report.records;
            p += report.parquet_bytes;
        }
        rounds.push(start.elapsed());
        (message_bytes, records, parquet_bytes) = (m, r, p);
    }
    let best = *rounds.iter().min().unwrap();
    let mbps = |d: Duration| message_bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "workload: {} events, {records} records, {:.1} MB of message text",
        events.len(),
        message_bytes as f64 / 1e6
    );
    println!(
        "end to end (decode → normalize → Parquet → local write), 1 thread: {:.1} MB/s of message text (best of 3; rounds {})",
        mbps(best),
        rounds.iter().map(|d| format!("{:.2}s", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
    );
    println!(
        "parquet written: {:.1} MB ({:.1}% of message text)",
        parquet_bytes as f64 / 1e6,
        100.0 * parquet_bytes as f64 / message_bytes as f64
    );

    // The same without the local write: what the store costs.
    use loglake::lake::storage::{Expected, ListedObject, ObjectStore, StorageError, Version};
    struct Discard;
    #[async_trait::async_trait]
    impl ObjectStore for Discard {
        async fn put(&self, _: &str, body: Vec<u8>) -> Result<(), StorageError> {
            std::hint::black_box(body);
            Ok(())
        }
        async fn put_file(&self, _: &str, _: &std::path::Path) -> Result<(), StorageError> {
            Ok(())
        }
        async fn get(&self, _: &str) -> Result<Vec<u8>, StorageError> {
            Ok(Vec::new())
        }
        async fn list(&self, _: &str) -> Result<Vec<String>, StorageError> {
            Ok(Vec::new())
        }
        async fn list_objects(&self, _: &str) -> Result<Vec<ListedObject>, StorageError> {
            Ok(Vec::new())
        }
        async fn delete(&self, _: &str) -> Result<(), StorageError> {
            Ok(())
        }
        async fn get_versioned(&self, _: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
            Ok(None)
        }
        async fn put_if(&self, _: &str, _: Vec<u8>, _: Expected<'_>) -> Result<Version, StorageError> {
            Ok(Version(String::new()))
        }
    }
    let start = Instant::now();
    for data in &events {
        runtime.block_on(ingest_cloudwatch_data(data, &config, INGEST_MS, &Discard)).unwrap();
    }
    println!(
        "  without the write (store discards):  {:>7.1} MB/s  {:>6.2}s",
        mbps(start.elapsed()),
        start.elapsed().as_secs_f64()
    );

    // Stages, measured separately on the same events.
    let (mut decode, mut normalize, mut encode) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for data in &events {
        let t = Instant::now();
        let json = decompress_base64(data, config.bounds.decoded_bytes).unwrap();
        let (_, payload) = parse_payload(&json).unwrap();
        decode += t.elapsed();
        let t = Instant::now();
        let records = normalize_payload(
            &payload,
            loglake::ingest::cloudwatch::SOURCE_CLOUDWATCH,
            &config,
            INGEST_MS,
            &mut config.bounds.budget(),
        )
        .unwrap()
        .records;
        normalize += t.elapsed();
        let t = Instant::now();
        let rows: Vec<_> = records.iter().collect();
        let body = encode_parquet(&rows, config.zstd_level).unwrap();
        encode += t.elapsed();
        std::hint::black_box(body);
    }
    for (name, d) in [("decode (base64+gunzip+JSON)", decode), ("normalize", normalize), ("encode Parquet", encode)] {
        println!("  stage {name:<28} {:>7.1} MB/s  {:>6.2}s", mbps(d), d.as_secs_f64());
    }
    println!("RESULT rust_mbps={:.2}", mbps(best));
}
