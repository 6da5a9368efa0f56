//! `loglake compact`: the staging files of a local lake into sorted, deduplicated curated files,
//! with the compactor function's code.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use loglake::compact::merge::MergeOptions;
use loglake::compact::run::{CompactOptions, compact_with_progress};
use loglake::compact::view::local_readers;
use loglake::function::now_ms;
use loglake::lake::layout::LOCAL_SPILL_DIR;
use loglake::lake::storage::LocalStore;

/// The compaction settings of the CLI (and the demo).
pub fn compact_options(memory_mb: usize, file_mb: usize, grace_minutes: i64) -> CompactOptions {
    // A moment ahead, so that what was written this millisecond counts as old enough.
    let local = CompactOptions::for_local_lake(now_ms() + 1_000, &format!("cli-{}", std::process::id()));
    CompactOptions {
        merge: MergeOptions { memory_budget_bytes: memory_mb << 20, ..MergeOptions::default() },
        file_bytes: file_mb << 20,
        grace_ms: grace_minutes * 60_000,
        ..local
    }
}

pub async fn run(lake: &Path, memory_mb: usize, file_mb: usize, grace_minutes: i64) -> Result<()> {
    // A panic ends the process, as in the compactor function (built with panic = "abort"): the
    // run stops without a word, and the next one finds the input file it was reading
    // (loglake::compact::probe). Unwinding instead would fail the hour on every run.
    let print_panic = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print_panic(info);
        std::process::abort();
    }));
    let store = LocalStore::new(lake);
    let spill = lake.join(LOCAL_SPILL_DIR);
    let terminal = std::io::stderr().is_terminal();
    let record = compact_with_progress(
        &store,
        &local_readers(),
        &compact_options(memory_mb, file_mb, grace_minutes),
        &spill,
        |done, total, hour| {
            if terminal {
                let filled = (done * 30).checked_div(total).unwrap_or(30).min(30);
                eprint!("\r[{}{}] {done}/{total} hours  {hour}   ", "#".repeat(filled), ".".repeat(30 - filled));
                let _ = std::io::stderr().flush();
            } else if done > 0 {
                eprintln!("compacted {hour} ({done}/{total} hours)");
            }
        },
    )
    .await
    .with_context(|| format!("compacting {} (a failed run leaves a state the next run completes)", lake.display()))?;
    if terminal {
        eprintln!();
    }
    if let Some(reason) = &record.skipped {
        // The spill directory is the running process's: leave it.
        eprintln!("nothing done: {reason}");
    } else {
        let _ = std::fs::remove_dir_all(&spill);
    }
    println!("{}", serde_json::to_string(&record)?);
    Ok(())
}
