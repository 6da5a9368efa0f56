//! Replays: every sample event of the ingest paths (events/: CloudWatch Logs subscriptions,
//! Kinesis batches with KPL, agent and CloudWatch records, S3 object notifications, a Firehose
//! transformation batch) delivered three times each in a shuffled order, then compaction and
//! every rollup. What readers see — the rows of `logs_all`, every summary, the dead letters —
//! equals what one delivery of each leaves. The Firehose batch's `Ok` rows are written as
//! Firehose writes them: a new object per delivery (INT96 timestamps, SNAPPY), so a re-delivery
//! is a second copy of its rows under another key, which compaction must fold away. A Firehose
//! batch delivered again also returns the same response, row for row.

mod common;

use std::path::{Path, PathBuf};

use common::{keys_under, loglake, summaries, test_python};
use loglake::testing::Rng;

fn events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// One delivery: a function and one event file.
#[derive(Clone, Debug)]
struct Delivery {
    function: &'static str,
    event: PathBuf,
}

impl Delivery {
    /// Delivers the event; `n` numbers the delivery (Firehose names each delivery's object anew).
    /// Returns the event ids of the rows written as Firehose would.
    fn invoke(&self, lake: &Path, python: &str, n: usize) -> Vec<String> {
        let event = self.event.to_str().unwrap();
        let mut args = vec!["invoke", self.function, "--event", event, "--lake", lake.to_str().unwrap()];
        let source = events().join("ingest-s3/source");
        if self.function == "ingest-s3" {
            args.extend(["--source", source.to_str().unwrap()]);
        }
        let out = loglake(&args);
        match self.function {
            "firehose-transform" => write_as_firehose(lake, python, n, &out),
            _ => Vec::new(),
        }
    }
}

/// What Firehose does with a transformation's response: the `Ok` records' rows, by their
/// partition keys, into a new object of each partition (scripts/write_foreign_staging.py).
fn write_as_firehose(lake: &Path, python: &str, n: usize, out: &str) -> Vec<String> {
    let mut by_partition: std::collections::BTreeMap<(String, String), String> = Default::default();
    for (_, result, metadata, rows) in firehose_results_with_arrival(out, true) {
        if result != "Ok" {
            continue;
        }
        let keys = &metadata["partitionKeys"];
        let partition = (keys["dt"].as_str().unwrap().to_owned(), keys["hour"].as_str().unwrap().to_owned());
        let ndjson = by_partition.entry(partition).or_default();
        for row in rows {
            ndjson.push_str(&row.to_string());
            ndjson.push('\n');
        }
    }
    let mut ids = Vec::new();
    let scratch = tempfile::tempdir().unwrap();
    let schema = scratch.path().join("schema.parquet");
    std::fs::write(&schema, loglake::lake::encode::encode_parquet(&[], 1).unwrap()).unwrap();
    for ((dt, hour), ndjson) in by_partition {
        let rows = scratch.path().join("rows.ndjson");
        std::fs::write(&rows, ndjson).unwrap();
        let dir = lake.join(format!("staging/logs/dt={dt}/hour={hour}"));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join(format!("firehose-loglake-1-{dt}-{hour}-delivery-{n:03}.parquet"));
        let script = events().join("../scripts/write_foreign_staging.py");
        let written = std::process::Command::new(python)
            .arg(script)
            .args([Path::new("firehose-rows"), &schema, &rows, &target])
            .output()
            .unwrap();
        assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
        ids.extend(serde_json::from_slice::<Vec<String>>(&written.stdout).unwrap());
    }
    ids
}

fn deliveries() -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for (function, dir) in [("ingest-cloudwatch", "ingest-cloudwatch"), ("ingest-kinesis", "ingest-kinesis")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(events().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        deliveries.extend(files.into_iter().map(|event| Delivery { function, event }));
    }
    deliveries.push(Delivery { function: "ingest-s3", event: events().join("ingest-s3/notifications.json") });
    deliveries.push(Delivery {
        function: "firehose-transform",
        event: events().join("firehose-transform/firehose-batch.json"),
    });
    deliveries
}

/// What readers of the lake see, after compaction and every rollup: the rows of `logs_all` (the
/// arrival time aside, which differs by delivery), each summary's rows, the dead letters' keys.
#[derive(Debug, PartialEq)]
struct Seen {
    /// `logs_all` as `loglake query` prints it.
    rows: Vec<String>,
    /// Each summary table and its rows (JSON, sorted).
    summaries: Vec<(String, Vec<String>)>,
    dead_letters: Vec<String>,
}

fn what_readers_see(lake: &Path, python: &str) -> Seen {
    let lake_arg = lake.to_str().unwrap();
    loglake(&["compact", "--lake", lake_arg, "--grace-minutes", "0"]);
    loglake(&["rollup", "--lake", lake_arg]);
    let rows = loglake(&[
        "query",
        "--lake",
        lake_arg,
        "SELECT event_id, source, account_id, log_group, log_stream, event_time, format, message, \
         level, attributes, dt, hour FROM logs_all ORDER BY log_group, event_id",
    ]);
    let rows: Vec<String> = rows.lines().filter(|l| l.starts_with('|')).map(str::to_owned).collect();
    let summaries = summaries(lake, python);
    let dead_letters = keys_under(lake, "errors");
    Seen { rows, summaries, dead_letters }
}

#[test]
fn three_shuffled_deliveries_of_every_sample_leave_what_one_delivery_leaves() {
    let Some(python) = test_python() else { return };
    let once = tempfile::tempdir().unwrap();
    let mut written_as_firehose = Vec::new();
    for (n, delivery) in deliveries().iter().enumerate() {
        written_as_firehose.extend(delivery.invoke(once.path(), &python, n));
    }
    let replayed = tempfile::tempdir().unwrap();
    let mut queue: Vec<Delivery> = deliveries().into_iter().flat_map(|d| [d.clone(), d.clone(), d]).collect();
    let mut rng = Rng(0x7e91a7);
    for i in (1..queue.len()).rev() {
        queue.swap(i, rng.below(i + 1));
    }
    for (n, delivery) in queue.iter().enumerate() {
        delivery.invoke(replayed.path(), &python, n);
    }

    let staged_files = (keys_under(once.path(), "staging"), keys_under(replayed.path(), "staging"));
    // loglake's keys are a hash of what an object holds: a replay rewrites the objects of the
    // first delivery. Firehose's are new for each delivery: three copies of its rows.
    let (firehose_once, loglake_once): (Vec<&String>, Vec<&String>) =
        staged_files.0.iter().partition(|key| key.contains("/firehose-loglake-1-"));
    let (firehose_replayed, loglake_replayed): (Vec<&String>, Vec<&String>) =
        staged_files.1.iter().partition(|key| key.contains("/firehose-loglake-1-"));
    assert_eq!(loglake_once, loglake_replayed, "the same staging objects of loglake's");
    assert!(!firehose_once.is_empty() && firehose_replayed.len() == 3 * firehose_once.len(), "{firehose_replayed:?}");
    let Seen { rows, summaries, dead_letters } = what_readers_see(once.path(), &python);
    assert!(rows.len() > 100 && summaries.len() >= 3 && !dead_letters.is_empty(), "the samples reach every part");
    // Firehose's objects were read, not set aside: its rows are in the view.
    assert!(dead_letters.iter().all(|key| !key.starts_with("errors/compaction/")), "{dead_letters:?}");
    assert!(!written_as_firehose.is_empty());
    for id in &written_as_firehose {
        assert!(rows.iter().any(|row| row.contains(id.as_str())), "{id} written as Firehose is in logs_all");
    }
    let replay = what_readers_see(replayed.path(), &python);
    let summary_rows: usize = summaries.iter().map(|(_, rows)| rows.len()).sum();
    println!(
        "{} deliveries replayed as {}: {} rows in logs_all, {} summaries with {summary_rows} rows, {} dead letters; staging files, once and replayed: {:?}",
        deliveries().len(),
        queue.len(),
        rows.len(),
        summaries.len(),
        dead_letters.len(),
        (staged_files.0.len(), staged_files.1.len())
    );
    assert_eq!(replay.rows.len(), rows.len(), "logs_all: as many rows");
    assert!(replay.rows == rows, "logs_all: the same rows");
    assert_eq!(replay.summaries, summaries, "every summary");
    assert_eq!(replay.dead_letters, dead_letters, "the dead letters");
}

/// Each record's result, partition keys and rows, the arrival time (`ingest_time`) aside.
fn firehose_results(out: &str) -> Vec<(String, String, serde_json::Value, Vec<serde_json::Value>)> {
    firehose_results_with_arrival(out, false)
}

/// [`firehose_results`], with `ingest_time` kept or not.
fn firehose_results_with_arrival(
    out: &str,
    arrival: bool,
) -> Vec<(String, String, serde_json::Value, Vec<serde_json::Value>)> {
    use base64::Engine as _;
    let response: serde_json::Value = serde_json::from_str(out).unwrap();
    let records = response["response"]["records"].as_array().unwrap();
    records
        .iter()
        .map(|record| {
            let data = base64::engine::general_purpose::STANDARD.decode(record["data"].as_str().unwrap()).unwrap();
            let rows = match record["result"].as_str() {
                Some("Ok") => String::from_utf8(data)
                    .unwrap()
                    .lines()
                    .map(|line| {
                        let mut row: serde_json::Value = serde_json::from_str(line).unwrap();
                        if !arrival {
                            row.as_object_mut().unwrap().remove("ingest_time");
                        }
                        row
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let id = record["recordId"].as_str().unwrap().to_owned();
            (id, record["result"].as_str().unwrap().to_owned(), record["metadata"].clone(), rows)
        })
        .collect()
}

#[test]
fn a_firehose_batch_delivered_again_returns_the_same_response() {
    let lake = tempfile::tempdir().unwrap();
    let event = events().join("firehose-transform/firehose-batch.json");
    let lake_arg = lake.path().to_str().unwrap();
    let args = ["invoke", "firehose-transform", "--event", event.to_str().unwrap(), "--lake", lake_arg];
    let first = firehose_results(&loglake(&args));
    assert!(first.iter().any(|(_, result, _, rows)| result == "Ok" && !rows.is_empty()));
    for _ in 0..2 {
        assert!(firehose_results(&loglake(&args)) == first, "a re-delivery's response differs");
    }
}
