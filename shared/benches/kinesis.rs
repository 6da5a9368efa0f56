//! Throughput of the Kinesis ingest and the Firehose transform on one thread, over the batches
//! of bench/gen_kinesis_workload.py: per kind of record data, records/s, lines/s and MB/s of log
//! message text (best of 3). Kinesis: decode → normalize → Parquet → local write. Firehose:
//! decode → normalize → NDJSON response rows, and Parquet → local write for what does not fit.
//! Run it through bench/run.sh, or:
//!
//!     cargo bench -p loglake --bench kinesis -- /path/to/kinesis-workload

use std::time::{Duration, Instant};

use loglake::config::PipelineConfig;
use loglake::ingest::firehose::{FirehoseEvent, TransformOptions, transform_batch};
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, ingest_kinesis_batch};
use loglake::lake::storage::LocalStore;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const INGEST_MS: i64 = 1_795_200_000_000;

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .expect("usage: kinesis WORKLOAD_DIR (made by bench/gen_kinesis_workload.py)");
    let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for kind in ["cloudwatch", "agent", "kpl", "text", "6mb"] {
        let path = std::path::Path::new(&dir).join(format!("kinesis-{kind}.json"));
        let event: KinesisEvent = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut rounds = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let lake = tempfile::tempdir().unwrap();
            let store = LocalStore::new(lake.path());
            let start = Instant::now();
            let report =
                runtime.block_on(ingest_kinesis_batch(&event, &config, INGEST_MS, &store, &BatchOptions::default()));
            rounds.push(start.elapsed());
            assert!(report.retry_from.is_none() && report.ingest.dead_letters.is_empty(), "{kind}: {report:?}");
            last = Some(report.ingest);
        }
        let report = last.unwrap();
        let best = *rounds.iter().min().unwrap();
        let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
        let mbps = per_s(report.message_bytes, best) / 1e6;
        println!(
            "kinesis {kind:<10} {:>6} records, {:>7} lines, {:>5.1} MB text: {:>9.0} records/s {:>9.0} lines/s {:>6.1} MB/s of message text, {} objects (best of 3; rounds {})",
            report.payloads,
            report.records,
            report.message_bytes as f64 / 1e6,
            per_s(report.payloads, best),
            per_s(report.records, best),
            mbps,
            report.objects.len(),
            rounds.iter().map(|d| format!("{:.2}s", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
        );
        println!("RESULT kinesis_{kind}_mbps={mbps:.2}");
    }
    for kind in ["cloudwatch", "agent", "kpl", "text", "6mb"] {
        let path = std::path::Path::new(&dir).join(format!("firehose-{kind}.json"));
        let event: FirehoseEvent = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut rounds = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let lake = tempfile::tempdir().unwrap();
            let store = LocalStore::new(lake.path());
            let start = Instant::now();
            let (response, report) = runtime
                .block_on(transform_batch(&event, &config, INGEST_MS, &store, &TransformOptions::default()))
                .unwrap();
            rounds.push(start.elapsed());
            assert_eq!(report.processing_failed, 0, "{kind}");
            std::hint::black_box(response);
            last = Some(report);
        }
        let report = last.unwrap();
        let best = *rounds.iter().min().unwrap();
        let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
        let mbps = per_s(report.ingest.message_bytes, best) / 1e6;
        println!(
            "firehose {kind:<10} {:>6} records, {:>7} lines, {:>5.1} MB text: {:>9.0} records/s {:>9.0} lines/s {:>6.1} MB/s of message text; {} Ok, {} to staging, response {:.1} MB (best of 3; rounds {})",
            report.ingest.payloads,
            report.ingest.records,
            report.ingest.message_bytes as f64 / 1e6,
            per_s(report.ingest.payloads, best),
            per_s(report.ingest.records, best),
            mbps,
            report.ok,
            report.written_to_staging,
            report.response_bytes as f64 / 1e6,
            rounds.iter().map(|d| format!("{:.2}s", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
        );
        println!("RESULT firehose_{kind}_mbps={mbps:.2}");
    }
}
