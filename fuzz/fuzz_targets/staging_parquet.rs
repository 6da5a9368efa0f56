//! Compaction reading a staging file it did not write (a foreign writer, a damaged object): the
//! input edits a valid staging Parquet file (each 3-byte step: a position and a byte XORed in,
//! or a cut), and RunWriter::add_file reads the result. Never a panic; a file refused adds no
//! rows, and one accepted adds its rows, cast to the `logs` schema.
#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use loglake::compact::merge::{MergeError, MergeOptions, RunWriter};
use loglake::lake::encode::encode_parquet;
use loglake::lake::record::{LineFormat, Record};

/// A staging file of three records, as ingest writes it.
fn valid_file() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let records: Vec<Record<'static>> = (0..3)
            .map(|i| Record {
                event_time_ms: 1_795_168_800_000 + i,
                ingest_time_ms: 1_795_168_900_000,
                event_id: Cow::Owned(format!("e{i}")),
                source: "cloudwatch",
                account_id: Cow::Borrowed("111122223333"),
                region: Cow::Borrowed("us-east-1"),
                log_group: Cow::Borrowed("/app/fuzz"),
                log_stream: Cow::Borrowed("s"),
                format: LineFormat::Json,
                level: None,
                message: Cow::Owned(format!("{{\"n\":{i}}}")),
                request_id: None,
                trace_id: None,
                attributes: vec![(Cow::Borrowed("n"), Cow::Owned(i.to_string()))],
            })
            .collect();
        encode_parquet(&records.iter().collect::<Vec<_>>(), 1).expect("encode")
    })
}

fuzz_target!(|edits: &[u8]| {
    let mut file = valid_file().to_vec();
    for edit in edits.chunks_exact(3) {
        let at = u16::from_le_bytes([edit[0], edit[1]]) as usize % file.len().max(1);
        match edit[2] {
            0 => file.truncate(at),
            byte => file[at] ^= byte,
        }
        if file.is_empty() {
            break;
        }
    }
    let spill = tempfile::tempdir().expect("spill directory");
    let mut writer =
        RunWriter::new(spill.path(), MergeOptions { memory_budget_bytes: 1 << 20, ..MergeOptions::default() });
    match writer.add_file(file) {
        Ok(()) => {
            let mut merger = writer.finish().expect("runs of accepted rows merge");
            let mut rows = 0;
            while let Some(batch) = merger.next_batch().expect("merged rows read back") {
                assert!(loglake::lake::conform::is_logs_schema(&batch.schema()));
                rows += batch.num_rows();
            }
            assert!(rows <= merger.stats().rows_in);
        }
        Err(MergeError::Input(_)) => assert_eq!(writer.finish().expect("nothing to merge").stats().rows_in, 0),
        // Rows of it were in when a later batch failed: the hour fails and waits (run.rs).
        Err(MergeError::PartlyRead(_)) => {}
        Err(other) => panic!("a damaged file is an input error, not {other}"),
    }
});
