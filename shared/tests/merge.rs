//! The external merge compaction builds on: many staging files, a memory budget far smaller than
//! the input, duplicates across files — out come the rows once each, in (log_group, event_time,
//! event_id) order.

mod common;

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use loglake::compact::merge::{MergeOptions, RunWriter};
use loglake::lake::encode::encode_parquet;
use loglake::parse::line::{LineContext, normalize_line};
use loglake::testing::Rng;

const NOW: i64 = 1_795_168_900_000;

/// (log_group, event_time, event_id): the sort key of a row.
type Key = (String, i64, String);

/// `files` staging files of `per_file` records each; every 7th record is a copy of an earlier
/// one (same id, time, group and message: a redelivery).
fn staging_files(files: usize, per_file: usize) -> (Vec<Vec<u8>>, Vec<Key>) {
    let mut rng = Rng(7);
    let mut unique: Vec<(i64, String, String, String)> = Vec::new();
    let mut out = Vec::new();
    for f in 0..files {
        let mut rows = Vec::new();
        for i in 0..per_file {
            let row = if i % 7 == 3 && !unique.is_empty() {
                unique[(rng.next_u64() % unique.len() as u64) as usize].clone()
            } else {
                let time = 1_795_168_800_000 + (rng.next_u64() % 3_600_000) as i64;
                let group = format!("/aws/lambda/fn-{}", rng.next_u64() % 4);
                let row = (
                    time,
                    group,
                    format!("id-{f:04}-{i:05}"),
                    format!("message {f} {i} {}", "x".repeat((rng.next_u64() % 200) as usize)),
                );
                unique.push(row.clone());
                row
            };
            rows.push(row);
        }
        let contexts: Vec<LineContext<'_>> = rows
            .iter()
            .map(|(_, group, _, _)| LineContext {
                source: "cloudwatch",
                account_id: "123456789012".into(),
                region: "eu-west-1".into(),
                log_group: Cow::Owned(group.clone()),
                log_stream: "s".into(),
                ingest_time_ms: NOW,
                max_event_time_skew_secs: 3600,
                envelope: vec![],
                line_format: &loglake::parse::line::LineFormatChoice::Auto,
            })
            .collect();
        let records: Vec<_> = rows
            .iter()
            .zip(&contexts)
            .map(|((time, _, id, message), ctx)| normalize_line(ctx, Cow::Borrowed(id.as_str()), Some(*time), message))
            .collect();
        let refs: Vec<_> = records.iter().collect();
        out.push(encode_parquet(&refs, 1).unwrap());
    }
    let mut expected: Vec<Key> = unique.into_iter().map(|(t, g, id, _)| (g, t, id)).collect();
    expected.sort();
    (out, expected)
}

#[test]
fn many_files_merge_sorted_and_deduplicated_in_a_small_budget() {
    let (files, expected) = staging_files(60, 500);
    let input_bytes: usize = files.iter().map(Vec::len).sum();
    let spill = tempfile::tempdir().unwrap();
    let options = MergeOptions { memory_budget_bytes: 256 * 1024, batch_rows: 1000, ..MergeOptions::default() };
    let mut runs = RunWriter::new(spill.path(), options);
    for file in files {
        runs.add_file(file).unwrap();
    }
    let mut merger = runs.finish().unwrap();
    let mut got: Vec<Key> = Vec::new();
    let mut largest_batch = 0;
    while let Some(batch) = merger.next_batch().unwrap() {
        largest_batch = largest_batch.max(batch.num_rows());
        let times = batch.column_by_name("event_time").unwrap().as_primitive::<TimestampMillisecondType>();
        let groups = batch.column_by_name("log_group").unwrap().as_string::<i32>();
        let ids = batch.column_by_name("event_id").unwrap().as_string::<i32>();
        for i in 0..batch.num_rows() {
            got.push((groups.value(i).to_owned(), times.value(i), ids.value(i).to_owned()));
        }
    }
    let stats = merger.stats().clone();
    assert!(stats.runs >= 10, "the budget forces many runs ({} runs for {input_bytes} bytes)", stats.runs);
    assert!(stats.merged_runs > 0, "more runs than the budget merges at once: merged in groups first");
    assert!(largest_batch <= 1000);
    assert!(got.windows(2).all(|w| w[0] <= w[1]), "sorted by group, time, id");
    assert_eq!(got, expected, "every record once");
    assert_eq!(stats.rows_in, 60 * 500);
    assert_eq!(stats.rows_out + stats.duplicates, stats.rows_in);
    assert_eq!(stats.duplicates, 60 * 500 - expected.len());
}

#[test]
fn no_input_merges_to_nothing() {
    let spill = tempfile::tempdir().unwrap();
    let mut merger = RunWriter::new(spill.path(), MergeOptions::default()).finish().unwrap();
    assert!(merger.next_batch().unwrap().is_none());
    assert_eq!(merger.stats().runs, 0);
}

/// The context of a line of `group` that came by `source`.
fn context<'a>(source: &'static str, group: &'a str) -> LineContext<'a> {
    LineContext {
        source,
        account_id: "123456789012".into(),
        region: "eu-west-1".into(),
        log_group: Cow::Borrowed(group),
        log_stream: "s".into(),
        ingest_time_ms: NOW,
        max_event_time_skew_secs: 3600,
        envelope: vec![],
        line_format: &loglake::parse::line::LineFormatChoice::Auto,
    }
}

/// Only the same record twice is a duplicate: the same id at the same time in two log groups
/// (ids are unique per source, not across them) is two records.
#[test]
fn the_same_id_in_two_log_groups_is_two_records() {
    let contexts: Vec<LineContext<'_>> = ["/a", "/b", "/a"].iter().map(|group| context("kinesis", group)).collect();
    let records: Vec<_> =
        contexts.iter().map(|ctx| normalize_line(ctx, Cow::Borrowed("shardId-0:1:0"), Some(NOW - 1000), "m")).collect();
    let spill = tempfile::tempdir().unwrap();
    let mut runs = RunWriter::new(spill.path(), MergeOptions::default());
    runs.add_file(encode_parquet(&records.iter().collect::<Vec<_>>(), 1).unwrap()).unwrap();
    let mut merger = runs.finish().unwrap();
    let batch = merger.next_batch().unwrap().unwrap();
    let groups: Vec<&str> = batch.column_by_name("log_group").unwrap().as_string::<i32>().iter().flatten().collect();
    assert_eq!(groups, ["/a", "/b"], "one duplicate (/a twice), two records");
    assert_eq!(merger.stats().duplicates, 1);
}

/// Sorted runs spill ZSTD-compressed by default: the same merge, a fraction of the local disk
/// (what bounds one compaction run on a Lambda's /tmp), the same records out.
#[test]
fn a_compressed_spill_merges_the_same_records_on_less_disk() {
    let (files, expected) = staging_files(30, 500);
    let merge = |compress_spill: bool| {
        let spill = tempfile::tempdir().unwrap();
        let options = MergeOptions { memory_budget_bytes: 256 * 1024, batch_rows: 1000, compress_spill };
        let mut runs = RunWriter::new(spill.path(), options);
        for file in &files {
            runs.add_file(file.clone()).unwrap();
        }
        let mut merger = runs.finish().unwrap();
        let mut got: Vec<Key> = Vec::new();
        while let Some(batch) = merger.next_batch().unwrap() {
            let times = batch.column_by_name("event_time").unwrap().as_primitive::<TimestampMillisecondType>();
            let groups = batch.column_by_name("log_group").unwrap().as_string::<i32>();
            let ids = batch.column_by_name("event_id").unwrap().as_string::<i32>();
            for i in 0..batch.num_rows() {
                got.push((groups.value(i).to_owned(), times.value(i), ids.value(i).to_owned()));
            }
        }
        (got, merger.stats().spilled_bytes)
    };
    let (plain, plain_bytes) = merge(false);
    let (compressed, compressed_bytes) = merge(true);
    assert_eq!(plain, expected);
    assert_eq!(compressed, expected);
    assert!(compressed_bytes * 2 < plain_bytes, "{compressed_bytes} compressed, {plain_bytes} plain");
}

/// Copies of one record that came by different paths (`source`) keep the same one whatever
/// order they arrived in, in one file or in files of their own: the one whose source sorts
/// first. Before, the first copy in file and sort order won, so a replay in another order could
/// show another `source` (the replay test found it).
#[test]
fn copies_by_different_paths_keep_the_same_one_in_any_arrival_order() {
    let sources = ["kinesis", "firehose", "cloudwatch"];
    let contexts: Vec<LineContext<'_>> = sources.iter().map(|&source| context(source, "/app")).collect();
    let copies: Vec<_> =
        contexts.iter().map(|ctx| normalize_line(ctx, Cow::Borrowed("id-1"), Some(NOW - 1000), "m")).collect();
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for order in orders {
        for one_file in [true, false] {
            let spill = tempfile::tempdir().unwrap();
            // A tiny budget: each file is a sorted run of its own.
            let options = MergeOptions { memory_budget_bytes: 1, ..MergeOptions::default() };
            let mut runs = RunWriter::new(spill.path(), options);
            let arrived: Vec<_> = order.iter().map(|&i| &copies[i]).collect();
            if one_file {
                runs.add_file(encode_parquet(&arrived, 1).unwrap()).unwrap();
            } else {
                for copy in arrived {
                    runs.add_file(encode_parquet(&[copy], 1).unwrap()).unwrap();
                }
            }
            let mut merger = runs.finish().unwrap();
            let batch = merger.next_batch().unwrap().unwrap();
            let kept: Vec<&str> = batch.column_by_name("source").unwrap().as_string::<i32>().iter().flatten().collect();
            assert_eq!(kept, ["cloudwatch"], "arrival order {order:?}, one file: {one_file}");
            assert_eq!(merger.stats().duplicates, 2);
        }
    }
}
