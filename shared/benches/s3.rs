//! ingest-s3's path on one thread: a gzip ALB log object of SIZE_MB decoded megabytes (default
//! 500) read from a local source directory in 4 MiB ranges, decoded chunk by chunk, parsed,
//! encoded as Parquet and written to a local lake. Prints MB/s of log text and the peak resident
//! memory of the read (VmHWM, reset before it) with the bounds of a 128 MB and a 256 MB function.
//! The system allocator, as in the binary. Run it through bench/run.sh, or:
//!
//!     cargo bench -p loglake --bench s3 -- 500

use std::io::Write as _;
use std::time::Instant;

use loglake::config::PipelineConfig;
use loglake::decode::s3_object::ObjectLimits;
use loglake::ingest::s3::{S3Options, SqsEvent, ingest_sqs_batch};
use loglake::lake::source::LocalSource;
use loglake::lake::storage::LocalStore;

#[path = "common/rss.rs"]
mod rss;
use rss::status_kb;

const KEY: &str = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/20/123456789012_elasticloadbalancing_us-east-1_app.bench.0f1e_20261120T1000Z_10.0.0.1_x.log.gz";
const INGEST_MS: i64 = 1_795_200_000_000;

/// Writes the object through a gzip encoder line by line: the generator holds no more than a line.
fn write_alb_object(path: &std::path::Path, decoded_mb: usize) -> (usize, usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut gzip = flate2::write::GzEncoder::new(file, flate2::Compression::new(6));
    let (mut bytes, mut lines) = (0, 0);
    while bytes < decoded_mb << 20 {
        let i = lines;
        let line = format!(
            "https 2026-11-20T09:{:02}:{:02}.{:06}Z app/bench/0f1e2d3c4b5a6978 203.0.{}.{}:{} 10.20.1.{}:8080 0.001 {:.3} 0.000 {} {} {} {} \"GET https://shop.example.org:443/product/{}?session={:x} HTTP/1.1\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/{}.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef \"Root=1-673da1b6-{:024x}\" \"shop.example.org\" \"arn:aws:acm:us-east-1:123456789012:certificate/abc\" 0 2026-11-20T09:{:02}:{:02}.000000Z \"forward\" \"-\" \"-\" \"10.20.1.{}:8080\" \"{}\" \"-\" \"-\"\n",
            (i / 60_000) % 60,
            (i / 1000) % 60,
            i % 1_000_000,
            (i / 256) % 256,
            i % 256,
            1024 + i % 60_000,
            10 + i % 40,
            (i % 997) as f64 / 1000.0,
            [200, 200, 200, 404, 503][i % 5],
            [200, 200, 200, 404, 503][i % 5],
            200 + i % 900,
            1000 + i % 20_000,
            i % 100_000,
            i.wrapping_mul(2_654_435_761) % (1 << 32),
            100 + i % 30,
            i,
            (i / 60_000) % 60,
            (i / 1000) % 60,
            10 + i % 40,
            [200, 200, 200, 404, 503][i % 5],
        );
        gzip.write_all(line.as_bytes()).unwrap();
        bytes += line.len();
        lines += 1;
    }
    gzip.finish().unwrap().flush().unwrap();
    (bytes, lines)
}

fn main() {
    let decoded_mb: usize =
        std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(500);
    let source = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (bytes, lines) = write_alb_object(&source.path().join(KEY), decoded_mb);
    let compressed = std::fs::metadata(source.path().join(KEY)).unwrap().len();
    println!(
        "object: {:.0} MB of ALB lines ({lines} lines), {:.1} MB gzip, made in {:.1} s",
        bytes as f64 / 1e6,
        compressed as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let body = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "eventTime": "2026-11-20T10:00:30Z",
        "s3": {"bucket": {"name": "bench"}, "object": {"key": KEY, "eTag": "e"}}}]});
    let event: SqsEvent =
        serde_json::from_value(serde_json::json!({"Records": [{"messageId": "m", "body": body.to_string()}]})).unwrap();
    let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for memory_mb in [128, 256] {
        let lake = tempfile::tempdir().unwrap();
        let options = S3Options::new(ObjectLimits::for_memory_mb(memory_mb));
        // Peak resident memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before_kb = status_kb("VmRSS:");
        let start = Instant::now();
        let report = runtime.block_on(ingest_sqs_batch(
            &event,
            &config,
            &options,
            INGEST_MS,
            &LocalStore::new(lake.path()),
            &LocalSource::new(source.path()),
        ));
        let seconds = start.elapsed().as_secs_f64();
        assert!(report.retry.is_empty() && report.ingest.dead_letters.is_empty(), "{report:?}");
        assert_eq!(report.ingest.records, lines);
        let peak_kb = status_kb("VmHWM:");
        println!(
            "limits of {memory_mb} MB (chunks of {} MiB): {:.1} MB/s of log text ({:.1} s), {} staging files, {:.1} MB Parquet; peak RSS {:.0} MB ({:.0} MB before the read)",
            options.limits.chunk_bytes >> 20,
            report.ingest.message_bytes as f64 / 1e6 / seconds,
            seconds,
            report.ingest.objects.len(),
            report.ingest.parquet_bytes as f64 / 1e6,
            peak_kb as f64 / 1024.0,
            before_kb as f64 / 1024.0,
        );
    }
}
