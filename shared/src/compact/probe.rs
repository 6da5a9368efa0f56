//! Finding the input file that kills compaction. A damaged file can make a decoder of
//! arrow/parquet panic, or take more memory than the function has; in a Lambda (built with
//! `panic = "abort"`) either ends the process, so no error is returned and no file is named. The
//! next run would take the same hour and die the same way, every 15 minutes, for good.
//!
//! So an hour a run failed or died in is *suspect* (the state's `suspect_hours`), and the next run
//! that takes it first reads its input files alone, one after another, each read through in full
//! as the merge would ([`check_file`]), after writing which file it is reading to
//! `_loglake/compaction/reading.json`. A run that finds that object at its start knows the file
//! its predecessor died on. A file two runs died reading is set aside (`errors/compaction/`, with
//! the reason) instead of being read a third time; two, so that one unlucky stop (a timeout, a
//! `kill -9`) while reading an innocent file does not set it aside. A file that cannot be read
//! with an error, or whose reading panics where panics unwind (tests), is set aside at once, as
//! the merge does.
//!
//! Reading alone costs a write and a second read per file, only in suspect hours.

use serde::{Deserialize, Serialize};

use crate::compact::lease::Lease;
use crate::compact::merge::{MergeError, check_file};
use crate::compact::state::CompactError;
use crate::lake::layout::COMPACTION_READING_KEY;
use crate::lake::storage::ObjectStore;

/// Runs that died reading a file before the next sets it aside instead.
pub const DEATHS_BEFORE_SET_ASIDE: u32 = 2;

/// What `_loglake/compaction/reading.json` says: the file being read alone, and how many runs
/// have begun reading it this way without finishing (this one included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    key: String,
    attempts: u32,
}

/// The reading of suspect hours' files by one run.
#[derive(Debug)]
pub struct Probe {
    /// What the previous run was reading when it stopped, if it stopped while reading.
    died_reading: Option<Reading>,
    /// Whether the reading object may exist (found, or written by this run).
    marked: bool,
    batch_rows: usize,
}

impl Probe {
    /// Reads what the previous run left: the file it was reading alone when it stopped.
    pub async fn start(store: &dyn ObjectStore, batch_rows: usize) -> Result<Probe, CompactError> {
        let found = store.get_versioned(COMPACTION_READING_KEY).await?;
        let marked = found.is_some();
        // Unreadable (a hand edit): no file is named, nothing is set aside on its word.
        let died_reading = found.and_then(|(bytes, _)| serde_json::from_slice::<Reading>(&bytes).ok());
        if let Some(reading) = &died_reading {
            tracing::warn!(
                key = reading.key,
                attempts = reading.attempts,
                "the previous compaction run stopped while reading this file"
            );
        }
        Ok(Probe { marked, died_reading, batch_rows })
    }

    /// Reads one input file alone. `Some(reason)`: the file cannot be used and is to be set aside.
    pub async fn read(
        &mut self,
        store: &dyn ObjectStore,
        key: &str,
        lease: &Lease,
    ) -> Result<Option<String>, CompactError> {
        let deaths = match &self.died_reading {
            Some(reading) if reading.key == key => reading.attempts,
            _ => 0,
        };
        if deaths >= DEATHS_BEFORE_SET_ASIDE {
            return Ok(Some(format!(
                "{deaths} compaction runs stopped while reading this file alone (the process ended: a panic in \
                 a Parquet decoder, out of memory, or out of time); it is not read again"
            )));
        }
        lease.ensure_held()?;
        let reading = Reading { key: key.to_owned(), attempts: deaths + 1 };
        store.put(COMPACTION_READING_KEY, serde_json::to_vec(&reading).map_err(CompactError::State)?).await?;
        self.marked = true;
        let body = bytes::Bytes::from(store.get(key).await?);
        let (batch_rows, key) = (self.batch_rows, key.to_owned());
        match tokio::task::spawn_blocking(move || check_file(&key, body, batch_rows)).await {
            Ok(Ok(())) => Ok(None),
            Ok(Err(MergeError::Input(reason))) => Ok(Some(reason)),
            Ok(Err(other)) => Err(other.into()),
            // Where panics unwind (tests), the panic names its file at once.
            Err(error) if error.is_panic() => Ok(Some(format!("reading it panicked: {}", panic_message(error)))),
            Err(error) => Err(CompactError::Worker(error.to_string())),
        }
    }

    /// Every suspect file was read: the next run has nothing to look for.
    pub async fn finish(self, store: &dyn ObjectStore, lease: &Lease) -> Result<(), CompactError> {
        if self.marked {
            lease.ensure_held()?;
            store.delete(COMPACTION_READING_KEY).await?;
        }
        Ok(())
    }
}

fn panic_message(error: tokio::task::JoinError) -> String {
    let payload = error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
