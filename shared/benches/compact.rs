//! Compaction benchmark, in two steps so that peak RSS is measured for compaction alone:
//!
//!     cargo bench -p loglake --bench compact -- generate LAKE FILES ROWS_PER_FILE
//!     cargo bench -p loglake --bench compact -- compact LAKE MEMORY_MB
//!
//!     cargo bench -p loglake --bench compact -- late-add LAKE ROWS ROWS_PER_FILE
//!     cargo bench -p loglake --bench compact -- late LAKE MEMORY_MB DELTA_PERCENT
//!
//!     cargo bench -p loglake --bench compact -- generate-batches LAKE FILES ROWS_PER_FILE
//!     cargo bench -p loglake --bench compact -- units LAKE MEMORY_MB UNIT_MB
//!
//! `generate` writes FILES staging files of synthetic log records (JSON, Lambda and text lines
//! spread over 6 hours, one file per writer and hour, as ingest writes them); `compact` runs one compaction with a
//! MEMORY_MB sort budget and prints MB/s of staging data, files in → out and rows. bench/compact.sh
//! runs both under /usr/bin/time and DuckDB on the same files as the baseline. `late-add` writes ROWS
//! late records (and ten a writer delivered already) into a compacted hour; `late` compacts them
//! with deltas up to DELTA_PERCENT of the hour (0: the hour merged whole) and prints what it read
//! and wrote; bench/compact_late.sh runs both on copies of one lake. `generate-batches` writes the
//! same kind of records as deliveries do (each file a few minutes of many log groups' events, the
//! files one after another over 6 hours); `units` compacts with hours split into units of
//! UNIT_MB (0: each hour whole) and prints units, bytes read against the input, MB/s and the
//! largest spill; bench/compact_units.sh runs both.

use std::borrow::Cow;
use std::time::Instant;

use loglake::compact::merge::MergeOptions;
use loglake::compact::run::{CompactOptions, compact};
use loglake::compact::state::RunRecord;
use loglake::lake::encode::encode_parquet;
use loglake::lake::layout::Partition;
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::parse::line::{LineContext, normalize_line};

// The system allocator, as in the compactor function (glibc returns freed runs and batches).

const BASE_MS: i64 = 1_795_168_800_000;

use loglake::testing::Rng;

const WORDS: &[&str] = &["order", "payment", "cart", "user", "session", "retry", "timeout", "queue", "worker", "shard"];

fn message(rng: &mut Rng, i: usize) -> String {
    let words: Vec<&str> =
        (0..8 + rng.next_u64() % 16).map(|_| WORDS[(rng.next_u64() % WORDS.len() as u64) as usize]).collect();
    match i % 3 {
        0 => format!(
            "{{\"level\":\"info\",\"msg\":\"{}\",\"order\":{{\"id\":\"A-{}\",\"items\":{}}}}}",
            words.join(" "),
            rng.next_u64() % 99_999,
            rng.next_u64() % 9
        ),
        1 => format!("2026-11-20T10:00:00.000Z\t{:08x}-aaaa\tINFO\t{}\n", rng.next_u64() as u32, words.join(" ")),
        _ => format!(
            "10.0.{}.{} - - \"GET /{}/{} HTTP/1.1\" 200 {} {}",
            rng.next_u64() % 255,
            rng.next_u64() % 255,
            words[0],
            rng.next_u64() % 9999,
            rng.next_u64() % 90_000,
            words.join(" ")
        ),
    }
}

fn bench_context(log_group: String) -> LineContext<'static> {
    LineContext {
        source: "cloudwatch",
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        log_group: Cow::Owned(log_group),
        log_stream: "2026/11/20/[$LATEST]abc".into(),
        ingest_time_ms: BASE_MS + 7 * 3_600_000,
        max_event_time_skew_secs: 3600,
        envelope: vec![],
        line_format: &loglake::parse::line::LineFormatChoice::Auto,
    }
}

/// The time `generate` gives row `i` of writer `f`.
fn generated_time(f: usize, i: usize, rows_per_file: usize) -> i64 {
    BASE_MS + ((f * rows_per_file + i) as i64 * 7_919) % (6 * 3_600_000)
}

/// One staging file per hour of `records`, named `name`, as ingest writes them; returns the bytes.
async fn write_by_hour(store: &LocalStore, records: &[loglake::lake::record::Record<'_>], name: &str) -> usize {
    let mut by_hour: std::collections::BTreeMap<Partition, Vec<_>> = Default::default();
    for record in records {
        by_hour.entry(Partition::of(record.event_time_ms, chrono_tz::UTC)).or_default().push(record);
    }
    let mut bytes = 0;
    for (partition, records) in by_hour {
        let body = encode_parquet(&records, 1).unwrap();
        bytes += body.len();
        store.put(&format!("staging/logs/{}/{name}.parquet", partition.path()), body).await.unwrap();
    }
    bytes
}

/// One compaction of the lake, and its seconds.
async fn timed_compaction(store: &LocalStore, lake: &str, options: &CompactOptions) -> (RunRecord, f64) {
    let spill = std::path::Path::new(lake).join("_loglake/spill");
    let start = Instant::now();
    let record = compact(store, &loglake::compact::view::local_readers(), options, &spill).await.unwrap();
    (record, start.elapsed().as_secs_f64())
}

async fn generate(lake: &str, files: usize, rows_per_file: usize) {
    let store = LocalStore::new(lake);
    let mut rng = Rng(0x5EED);
    let mut bytes = 0;
    for f in 0..files {
        let rows: Vec<(i64, String, String)> = (0..rows_per_file)
            .map(|i| (generated_time(f, i, rows_per_file), format!("{f:05}-{i:06}"), message(&mut rng, i)))
            .collect();
        let ctx = bench_context(format!("/aws/lambda/fn-{}", f % 20));
        let records: Vec<_> =
            rows.iter().map(|(t, id, m)| normalize_line(&ctx, Cow::Borrowed(id.as_str()), Some(*t), m)).collect();
        // One file per (writer, hour), as ingest writes them.
        bytes += write_by_hour(&store, &records, &format!("cloudwatch-bench-{f:05}")).await;
    }
    let count = store.list("staging/").await.unwrap().len();
    println!("generated {count} staging files, {:.1} MB", bytes as f64 / 1e6);
}

/// FILES deliveries one after another over 6 hours, each ROWS_PER_FILE events of 20 log groups
/// within its own few minutes (as a Kinesis or Firehose batch holds them).
async fn generate_batches(lake: &str, files: usize, rows_per_file: usize) {
    let store = LocalStore::new(lake);
    let mut rng = Rng(0xBA7C);
    let span = 6 * 3_600_000 / files as i64;
    let mut bytes = 0;
    for f in 0..files {
        let contexts: Vec<LineContext<'static>> =
            (0..20).map(|g| bench_context(format!("/aws/lambda/fn-{g}"))).collect();
        let rows: Vec<(i64, String, String)> = (0..rows_per_file)
            .map(|i| {
                let time = BASE_MS + f as i64 * span + (i as i64 * span) / rows_per_file as i64;
                // The Lambda lines carry their own time (which the parser takes): the row's.
                let at = chrono::DateTime::from_timestamp_millis(time).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ");
                (
                    time,
                    format!("{f:05}-{i:06}"),
                    message(&mut rng, i).replace("2026-11-20T10:00:00.000Z", &at.to_string()),
                )
            })
            .collect();
        let records: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, (t, id, m))| normalize_line(&contexts[i % 20], Cow::Borrowed(id.as_str()), Some(*t), m))
            .collect();
        bytes += write_by_hour(&store, &records, &format!("kinesis-bench-{f:05}")).await;
    }
    let count = store.list("staging/").await.unwrap().len();
    println!("generated {count} staging files (deliveries), {:.1} MB", bytes as f64 / 1e6);
}

/// One compaction with hours split into units of `unit_mb` (0: each hour merged whole).
async fn run_units(lake: &str, memory_mb: usize, unit_mb: u64) {
    let store = LocalStore::new(lake);
    let staged: u64 = store.list_objects("staging/").await.unwrap().iter().map(|o| o.size).sum();
    let unit_bytes = if unit_mb == 0 { u64::MAX } else { unit_mb << 20 };
    let options = CompactOptions { unit_bytes, ..bench_options(memory_mb, u64::MAX) };
    let (record, seconds) = timed_compaction(&store, lake, &options).await;
    let read_ratio = record.bytes_in as f64 / staged as f64;
    println!(
        "units of {unit_mb} MB (0: whole hours): {} hours in {} units, {:.1} MB of staging, {:.1} MB read ({read_ratio:.2}x), {} rows out, {} files, {seconds:.2} s, {:.1} MB/s of staging, largest spill {:.1} MB",
        record.hours.len(),
        record.units,
        staged as f64 / 1e6,
        record.bytes_in as f64 / 1e6,
        record.rows_out,
        record.files_out,
        staged as f64 / 1e6 / seconds,
        record.spilled_bytes as f64 / 1e6
    );
    println!("RESULT units_{unit_mb}_units={}", record.units);
    println!("RESULT units_{unit_mb}_read_ratio={read_ratio:.3}");
    println!("RESULT units_{unit_mb}_mbps={:.2}", staged as f64 / 1e6 / seconds);
    println!("RESULT units_{unit_mb}_largest_spill_mb={:.1}", record.spilled_bytes as f64 / 1e6);
}

fn bench_options(memory_mb: usize, max_input_bytes: u64) -> CompactOptions {
    CompactOptions {
        merge: MergeOptions {
            memory_budget_bytes: memory_mb << 20,
            batch_rows: 8192,
            compress_spill: std::env::var("LOGLAKE_BENCH_SPILL").as_deref() != Ok("plain"),
        },
        workers: std::env::var("LOGLAKE_BENCH_WORKERS")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(loglake::compact::run::default_workers),
        max_input_bytes,
        ..CompactOptions::for_local_lake(loglake::function::now_ms(), "bench")
    }
}

async fn run_compaction(lake: &str, memory_mb: usize) {
    let store = LocalStore::new(lake);
    let staging = store.list("staging/").await.unwrap();
    let options = bench_options(memory_mb, u64::MAX);
    let (record, seconds) = timed_compaction(&store, lake, &options).await;
    println!(
        "loglake compact: {} staging files ({:.1} MB) -> {} curated files ({:.1} MB), {} rows in, {} out, {} duplicates, {:.2} s, {:.1} MB/s of staging data, budget {memory_mb} MiB, {} workers",
        staging.len(),
        record.bytes_in as f64 / 1e6,
        record.files_out,
        record.bytes_out as f64 / 1e6,
        record.rows_in,
        record.rows_out,
        record.duplicates,
        seconds,
        record.bytes_in as f64 / 1e6 / seconds,
        options.workers
    );
    println!("RESULT compact_mbps={:.2}", record.bytes_in as f64 / 1e6 / seconds);
    println!("RESULT compact_seconds={seconds:.3}");
}

/// A backlog compacted in bounded runs, as the compactor function works through one: runs until
/// staging is empty, each taking at most `max_input_mb` (oldest hours first).
async fn run_backlog(lake: &str, memory_mb: usize, max_input_mb: u64) {
    let store = LocalStore::new(lake);
    let spill = std::path::Path::new(lake).join("_loglake/spill");
    let (mut runs, mut total_bytes, start) = (0, 0, Instant::now());
    let mut slowest: f64 = 0.0;
    let mut largest_spill: u64 = 0;
    while !store.list("staging/").await.unwrap().is_empty() {
        let options =
            CompactOptions { now_ms: loglake::function::now_ms(), ..bench_options(memory_mb, max_input_mb << 20) };
        let run_start = Instant::now();
        let record = compact(&store, &loglake::compact::view::local_readers(), &options, &spill).await.unwrap();
        let seconds = run_start.elapsed().as_secs_f64();
        runs += 1;
        total_bytes += record.bytes_in;
        slowest = slowest.max(seconds);
        largest_spill = largest_spill.max(record.spilled_bytes);
        println!(
            "run {}: {} hours ({} waiting), {:.1} MB in, {:.1} MB spilled, {:.2} s, {:.1} MB/s",
            record.run,
            record.hours.len(),
            record.hours_waiting,
            record.bytes_in as f64 / 1e6,
            record.spilled_bytes as f64 / 1e6,
            seconds,
            record.bytes_in as f64 / 1e6 / seconds
        );
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "backlog: {runs} runs of at most {max_input_mb} MB, {:.1} MB in, {seconds:.2} s, {:.1} MB/s, slowest run {slowest:.2} s",
        total_bytes as f64 / 1e6,
        total_bytes as f64 / 1e6 / seconds
    );
    println!("RESULT backlog_runs={runs}");
    println!("RESULT backlog_mbps={:.2}", total_bytes as f64 / 1e6 / seconds);
    println!("RESULT backlog_slowest_run_seconds={slowest:.2}");
    println!("RESULT backlog_largest_spill_mb={:.1}", largest_spill as f64 / 1e6);
}

/// ROWS records arriving late for 11:00–11:10 (the second hour) from one function, and ten rows of
/// that hour that writer 3 (the same function) wrote already, redelivered.
async fn add_late(lake: &str, rows: usize, rows_per_file: usize) {
    let store = LocalStore::new(lake);
    let mut rng = Rng(0x1A7E);
    let second_hour = BASE_MS + 3_600_000;
    let mut late: Vec<(i64, String, String)> = (0..rows)
        .map(|i| (second_hour + (i as i64 * 600_000) / rows as i64, format!("late-{i:06}"), message(&mut rng, i)))
        .collect();
    let in_second_hour =
        |i: &usize| (second_hour..second_hour + 3_600_000).contains(&generated_time(3, *i, rows_per_file));
    let redelivered: Vec<usize> = (0..rows_per_file).filter(in_second_hour).take(10).collect();
    late.extend(
        redelivered
            .into_iter()
            .map(|i| (generated_time(3, i, rows_per_file), format!("00003-{i:06}"), message(&mut rng, i))),
    );
    let ctx = bench_context("/aws/lambda/fn-3".into());
    let records: Vec<_> =
        late.iter().map(|(t, id, m)| normalize_line(&ctx, Cow::Borrowed(id.as_str()), Some(*t), m)).collect();
    let partition = Partition::of(second_hour, chrono_tz::UTC);
    let body = encode_parquet(&records.iter().collect::<Vec<_>>(), 1).unwrap();
    println!(
        "late: {} records ({} redelivered), {} bytes into {}",
        records.len(),
        records.len() - rows,
        body.len(),
        partition.path()
    );
    store.put(&format!("staging/logs/{}/cloudwatch-late.parquet", partition.path()), body).await.unwrap();
}

/// One run over the late records, with deltas up to `delta_percent` of an hour (0: merged whole).
async fn run_late(lake: &str, memory_mb: usize, delta_percent: u32) {
    let store = LocalStore::new(lake);
    let options =
        CompactOptions { delta_fraction: f64::from(delta_percent) / 100.0, ..bench_options(memory_mb, u64::MAX) };
    let (record, seconds) = timed_compaction(&store, lake, &options).await;
    let read = record.bytes_in as u64 + record.delta_search_bytes;
    println!(
        "late run (deltas up to {delta_percent}%): {} delta hours, {} curated files rewritten, {:.2} MB read ({:.2} MB searched in {} of {} row groups), {:.2} MB written, {} rows out, {} duplicates, {seconds:.3} s",
        record.delta_hours.len(),
        record.curated_in,
        read as f64 / 1e6,
        record.delta_search_bytes as f64 / 1e6,
        record.delta_row_groups_read,
        record.delta_row_groups,
        record.bytes_out as f64 / 1e6,
        record.rows_out,
        record.duplicates,
    );
    println!("RESULT late_{delta_percent}_read_mb={:.3}", read as f64 / 1e6);
    println!("RESULT late_{delta_percent}_written_mb={:.3}", record.bytes_out as f64 / 1e6);
    println!("RESULT late_{delta_percent}_seconds={seconds:.3}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["generate", lake, files, rows] => {
            runtime.block_on(generate(lake, files.parse().unwrap(), rows.parse().unwrap()))
        }
        ["compact", lake, memory_mb] => runtime.block_on(run_compaction(lake, memory_mb.parse().unwrap())),
        ["backlog", lake, memory_mb, max_input_mb] => {
            runtime.block_on(run_backlog(lake, memory_mb.parse().unwrap(), max_input_mb.parse().unwrap()))
        }
        ["late-add", lake, rows, rows_per_file] => {
            runtime.block_on(add_late(lake, rows.parse().unwrap(), rows_per_file.parse().unwrap()))
        }
        ["generate-batches", lake, files, rows] => {
            runtime.block_on(generate_batches(lake, files.parse().unwrap(), rows.parse().unwrap()))
        }
        ["units", lake, memory_mb, unit_mb] => {
            runtime.block_on(run_units(lake, memory_mb.parse().unwrap(), unit_mb.parse().unwrap()))
        }
        ["late", lake, memory_mb, delta_percent] => {
            runtime.block_on(run_late(lake, memory_mb.parse().unwrap(), delta_percent.parse().unwrap()))
        }
        _ => eprintln!(
            "usage: compact generate LAKE FILES ROWS_PER_FILE | compact compact LAKE MEMORY_MB | compact backlog LAKE MEMORY_MB MAX_INPUT_MB | compact late-add LAKE ROWS ROWS_PER_FILE | compact late LAKE MEMORY_MB DELTA_PERCENT | compact generate-batches LAKE FILES ROWS_PER_FILE | compact units LAKE MEMORY_MB UNIT_MB"
        ),
    }
}
