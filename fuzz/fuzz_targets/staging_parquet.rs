//! Compaction reading a staging file it did not write (a foreign writer, a damaged object): the
//! input edits a valid staging Parquet file (each 3-byte step: a position and a byte XORed in,
//! or a cut), and RunWriter::add_file reads the result. A file refused adds no rows, and one
//! accepted adds its rows, cast to the `logs` schema.
//!
//! A panic inside arrow/parquet is allowed, and counted when the run ends: in a Lambda it ends the
//! process, and the runs after set the file aside (loglake::compact::probe; tests
//! `a_file_that_ends_the_compaction_process_is_set_aside_once_two_runs_died_reading_it` and
//! `a_file_whose_reading_panics_is_set_aside_by_the_next_run_and_its_hour_compacted`). The
//! property is then the probe's: reading the file alone (`check_file`) panics too, so the file
//! that ends a merge is the file a probe names.
#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use loglake::compact::merge::{MergeError, MergeOptions, RunWriter, check_file};
use loglake::lake::encode::encode_parquet;
use loglake::lake::record::{LineFormat, Record};

unsafe extern "C" {
    #[link_name = "atexit"]
    fn libc_atexit(f: extern "C" fn()) -> i32;
}

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

/// A run writer with a small budget, spilling into one directory for the whole fuzzing run.
fn writer() -> RunWriter<'static> {
    static SPILL: OnceLock<tempfile::TempDir> = OnceLock::new();
    let spill = SPILL.get_or_init(|| tempfile::tempdir().expect("spill directory"));
    RunWriter::new(spill.path(), MergeOptions { memory_budget_bytes: 1 << 20, ..MergeOptions::default() })
}

/// Inputs whose reading panicked (printed at exit, for the campaign's figures).
static PANICS: AtomicU64 = AtomicU64::new(0);

/// `f`'s result, or `None` if it panicked. libfuzzer-sys's panic hook aborts (a panic is a
/// finding); here the hook is set aside for the call.
fn quietly_catching_panics<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.ok()
}

extern "C" fn print_panics() {
    eprintln!(
        "staging_parquet: {} inputs panicked inside arrow/parquet (set aside by the probe)",
        PANICS.load(Ordering::Relaxed)
    );
}

fuzz_target!(|edits: &[u8]| {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| unsafe {
        libc_atexit(print_panics);
    });
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
    // What a probe does with a suspect hour's file, then what the merge does with it.
    let Some(checked) = quietly_catching_panics(|| check_file("staging/logs/dt=2026-11-20/hour=09/fuzz.parquet", file.clone().into(), 8192)) else {
        let merged = quietly_catching_panics(|| writer().add_file(file));
        assert!(merged.is_none(), "the probe panicked on a file the merge reads without a panic");
        PANICS.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut writer = writer();
    let added = writer.add_file(file);
    match (&checked, added) {
        (Ok(()), Ok(())) => {
            let mut merger = writer.finish().expect("runs of accepted rows merge");
            let mut rows = 0;
            while let Some(batch) = merger.next_batch().expect("merged rows read back") {
                assert!(loglake::lake::conform::is_logs_schema(&batch.schema()));
                rows += batch.num_rows();
            }
            assert!(rows <= merger.stats().rows_in);
        }
        (Err(MergeError::Input(_)), Err(MergeError::Input(_))) => {
            assert_eq!(writer.finish().expect("nothing to merge").stats().rows_in, 0)
        }
        // Rows of it were in when a later batch failed: the hour fails, is suspect, and the probe
        // sets the file aside (run.rs).
        (Err(MergeError::Input(_)), Err(MergeError::PartlyRead(_))) => {}
        (checked, added) => panic!("the probe ({checked:?}) and the merge ({added:?}) disagree"),
    }
});
