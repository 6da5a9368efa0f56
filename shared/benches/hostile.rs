//! Peak memory of the worst inputs under the bounds of a 128 MB function: the KPL aggregate bomb
//! (refused at 8 MiB), and the largest inputs the bounds accept — one Kinesis record whose
//! CloudWatch Logs payload decodes to nearly 8 MiB, with 16,000 events (the lines bound is
//! 16,384) of four attributes each (64,000), or with 4,000 longer events; and one at the
//! attributes bound (524,288): 16,000 events of 32 attributes of one character each.
//! An input the old bound accepted (16 MiB, no bound on lines) is measured too.
//! Each batch goes through
//! `ingest_kinesis_batch` into a local lake, in a process of its own. Prints the peak resident
//! memory (VmHWM) of that process and the time per case.
//!
//! `cargo bench -p loglake --bench hostile`

use std::time::Instant;

use base64::Engine as _;
use loglake::config::PipelineConfig;
use loglake::decode::kpl;
use loglake::decode::subscription::gzip;
use loglake::ingest::kinesis::{BatchOptions, KinesisEvent, ingest_kinesis_batch};
use loglake::lake::storage::LocalStore;
use serde_json::{Value, json};

#[path = "common/rss.rs"]
mod rss;
use rss::status_kb;

const NOW: i64 = 1_795_168_900_000;
const EVENT_MS: i64 = 1_795_168_800_000;

fn payload(messages: impl Iterator<Item = String>) -> Vec<u8> {
    let events: Vec<Value> = messages
        .enumerate()
        .map(|(i, m)| json!({"id": format!("{i}"), "timestamp": EVENT_MS + i as i64, "message": m}))
        .collect();
    json!({"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/app/hostile","logStream":"s",
           "subscriptionFilters":["f"],"logEvents":events})
    .to_string()
    .into_bytes()
}

fn event_json(data: &[u8]) -> Value {
    let seq = format!("{:056}", 1);
    json!({"Records": [{
        "kinesis": {"partitionKey": "k", "sequenceNumber": seq,
                    "data": base64::engine::general_purpose::STANDARD.encode(data)},
        "eventID": format!("shardId-000000000000:{seq}"),
        "eventSourceARN": "arn:aws:kinesis:us-east-1:111122223333:stream/hostile", "awsRegion": "us-east-1"}]})
}

/// Builds each case as an event file, then measures each in a process of its own (this binary
/// again, `run <file>`), so that the peak is the ingest's and not what building the case cost.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, run, path] = args.as_slice()
        && run == "run"
    {
        return measure(std::path::Path::new(path));
    }
    let member = gzip(&payload(std::iter::once("a".repeat(6 << 20))));
    let members: Vec<&[u8]> = (0..64).map(|_| member.as_slice()).collect();
    // Three fields plus the subscription-filter envelope attribute: four attributes an event.
    let events = |n: usize, pad: usize| {
        let pad = "p".repeat(pad);
        gzip(&payload((0..n).map(|i| format!(r#"{{"a":"{pad}","b":{i},"c":"x"}}"#))))
    };
    // 31 one-character fields plus the envelope attribute: 32 attributes an event.
    let wide_events = |n: usize| {
        let fields: Vec<String> = (0..31).map(|k| format!(r#""k{k}":"v""#)).collect();
        let line = format!("{{{}}}", fields.join(","));
        gzip(&payload((0..n).map(|_| line.clone())))
    };
    let cases = [
        ("KPL aggregate bomb (64 x 6 MiB members in 1 MiB)", 128, kpl::aggregate("bomb", &members)),
        ("many events (16,000 events, 64,000 attributes)", 128, events(16_000, 430)),
        ("long events (4,000 events, 16,000 attributes)", 128, events(4_000, 1_900)),
        ("many attributes (16,000 events, 512,000 attributes)", 128, wide_events(16_000)),
        ("the old default's largest (65,000 events, 260,000 attributes)", 2048, events(65_000, 150)),
    ];
    let config = PipelineConfig::default();
    println!(
        "bounds of a 128 MB function: {} MiB decoded, {} lines, {} attributes per input",
        config.bounds.decoded_bytes >> 20,
        config.bounds.lines,
        config.bounds.attributes
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, memory_mb, data) in cases {
        let path = dir.path().join("event.json");
        std::fs::write(&path, serde_json::to_vec(&event_json(&data)).unwrap()).unwrap();
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["run", path.to_str().unwrap()])
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .output()
            .unwrap();
        print!("{name}: {} KB record; {}", data.len() / 1024, String::from_utf8_lossy(&output.stdout));
    }
}

fn measure(path: &std::path::Path) {
    let event: KinesisEvent = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let config = PipelineConfig::from_lookup(|name| std::env::var(name).ok()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let lake = tempfile::tempdir().unwrap();
    let before_kb = status_kb("VmHWM:");
    let start = Instant::now();
    let report = runtime.block_on(ingest_kinesis_batch(
        &event,
        &config,
        NOW,
        &LocalStore::new(lake.path()),
        &BatchOptions::default(),
    ));
    let seconds = start.elapsed().as_secs_f64();
    let peak_kb = status_kb("VmHWM:");
    let reasons: Vec<&str> = report.ingest.dead_letters.iter().map(|d| d.reason.as_str()).collect();
    println!(
        "{:.1} MB decoded, {} records written, dead letters {reasons:?}; {:.2} s; peak RSS {:.0} MB ({:.0} MB before the batch)",
        report.ingest.decompressed_bytes as f64 / 1e6,
        report.ingest.records,
        seconds,
        peak_kb as f64 / 1024.0,
        before_kb as f64 / 1024.0,
    );
}
