//! One compaction at a time, without a server: a run holds a lease object
//! (`_loglake/compaction/lease.json`) while it works. Taking it is a conditional write — create
//! it if absent (`If-None-Match: *`), or replace an expired one by the version that was read
//! (`If-Match`) — so of two runs that try at once exactly one gets it. It expires, so a run that
//! crashed cannot keep it; a run renews it as it goes and stops before it could lapse, and the
//! lease outlasts the function's timeout, so a live holder never loses it to another run.
//!
//! The lease keeps runs apart; the state's own conditional writes ([`crate::compact::state`])
//! fence what a holder that lost its lease anyway could still write.

use serde::{Deserialize, Serialize};

use crate::compact::state::CompactError;
use crate::lake::layout::COMPACTION_LEASE_KEY;
use crate::lake::storage::{Expected, ObjectStore, StorageError, Version};

/// What the lease object says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LeaseBody {
    /// Who holds it (an invocation's request id, or `cli-<host>-<pid>`): for people reading it.
    holder: String,
    /// Until when (ms since the epoch); after that any run may take it.
    expires_ms: i64,
}

/// A lease held by this run.
#[derive(Debug)]
pub struct Lease {
    version: Version,
    body: LeaseBody,
}

/// The outcome of trying to take the lease.
#[derive(Debug)]
pub enum Taken {
    Held(Lease),
    /// Another run holds it: this one has nothing to do.
    Busy {
        holder: String,
        expires_ms: i64,
    },
}

/// Takes the lease for `duration_ms` unless another run holds it.
pub async fn take(store: &dyn ObjectStore, holder: &str, duration_ms: i64) -> Result<Taken, CompactError> {
    let now = wall_clock_ms();
    let body = LeaseBody { holder: holder.to_owned(), expires_ms: now + duration_ms };
    let current = store.get_versioned(COMPACTION_LEASE_KEY).await?;
    let written = match &current {
        None => write(store, &body, Expected::Absent).await,
        Some((bytes, version)) => {
            // An unreadable lease (a partial hand edit) is treated as expired: its version still
            // makes the replacement conditional.
            if let Ok(other) = serde_json::from_slice::<LeaseBody>(bytes)
                && other.expires_ms > now
            {
                return Ok(Taken::Busy { holder: other.holder, expires_ms: other.expires_ms });
            }
            write(store, &body, Expected::Version(version)).await
        }
    };
    match written {
        Ok(version) => Ok(Taken::Held(Lease { version, body })),
        // Another run took it between our read and our write.
        Err(CompactError::Storage(StorageError::Conflict { .. })) => {
            Ok(Taken::Busy { holder: "another run".into(), expires_ms: now + duration_ms })
        }
        Err(error) => Err(error),
    }
}

impl Lease {
    /// Extends the lease by `duration_ms` from now, if this run still holds it.
    pub async fn renew(&mut self, store: &dyn ObjectStore, duration_ms: i64) -> Result<(), CompactError> {
        self.ensure_held()?;
        let body = LeaseBody { expires_ms: wall_clock_ms() + duration_ms, ..self.body.clone() };
        self.version = write(store, &body, Expected::Version(&self.version)).await.map_err(lost)?;
        self.body = body;
        Ok(())
    }

    /// [`Lease::renew`] once half of the lease has passed (a write per half lease, not per step).
    pub async fn renew_after_half(&mut self, store: &dyn ObjectStore, duration_ms: i64) -> Result<(), CompactError> {
        if self.body.expires_ms - wall_clock_ms() < duration_ms / 2 {
            self.renew(store, duration_ms).await?;
        }
        self.ensure_held()
    }

    /// Fails once the lease has lapsed (or is about to): a run must not write or delete then.
    pub fn ensure_held(&self) -> Result<(), CompactError> {
        // A margin for the step about to be taken: no single store operation takes this long.
        const MARGIN_MS: i64 = 30_000;
        if wall_clock_ms() + MARGIN_MS >= self.body.expires_ms {
            return Err(CompactError::LeaseLost { holder: self.body.holder.clone() });
        }
        Ok(())
    }

    /// Ends the lease now, so the next run need not wait for it to expire.
    pub async fn release(self, store: &dyn ObjectStore) -> Result<(), CompactError> {
        let body = LeaseBody { expires_ms: wall_clock_ms(), ..self.body };
        write(store, &body, Expected::Version(&self.version)).await.map(|_| ()).map_err(lost)
    }

    /// When the lease runs out unless renewed (ms since the epoch).
    pub fn expires_ms(&self) -> i64 {
        self.body.expires_ms
    }

    pub fn holder(&self) -> &str {
        &self.body.holder
    }
}

async fn write(store: &dyn ObjectStore, body: &LeaseBody, expected: Expected<'_>) -> Result<Version, CompactError> {
    let bytes = serde_json::to_vec_pretty(body).map_err(CompactError::State)?;
    Ok(store.put_if(COMPACTION_LEASE_KEY, bytes, expected).await?)
}

/// A conditional write of our own lease that failed: another run has taken it.
fn lost(error: CompactError) -> CompactError {
    match error {
        CompactError::Storage(StorageError::Conflict { .. }) => {
            CompactError::LeaseLost { holder: "this run (another run has taken the lease)".into() }
        }
        other => other,
    }
}

/// The lease is about real time, not the run's logical clock.
pub(crate) fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::storage::LocalStore;

    #[tokio::test]
    async fn one_run_holds_the_lease_until_it_releases_it_or_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let Taken::Held(mut first) = take(&store, "first", 600_000).await.unwrap() else { panic!("free lease") };
        let Taken::Busy { holder, .. } = take(&store, "second", 600_000).await.unwrap() else {
            panic!("a held lease is not taken")
        };
        assert_eq!(holder, "first");
        first.renew(&store, 600_000).await.unwrap();
        first.release(&store).await.unwrap();
        let Taken::Held(second) = take(&store, "second", 600_000).await.unwrap() else { panic!("released") };

        // A holder that crashed: its lease expires and the next run takes it over.
        drop(second);
        let expired = LeaseBody { holder: "crashed".into(), expires_ms: wall_clock_ms() - 1 };
        store.put(COMPACTION_LEASE_KEY, serde_json::to_vec(&expired).unwrap()).await.unwrap();
        let Taken::Held(third) = take(&store, "third", 600_000).await.unwrap() else { panic!("expired") };
        assert_eq!(third.holder(), "third");
    }

    #[tokio::test]
    async fn a_holder_whose_lease_was_taken_over_can_neither_renew_nor_release_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        // A lease so short it lapses at once (a holder paused longer than its lease).
        let Taken::Held(mut stale) = take(&store, "stale", 1).await.unwrap() else { panic!("free lease") };
        assert!(matches!(stale.ensure_held(), Err(CompactError::LeaseLost { .. })));
        std::thread::sleep(std::time::Duration::from_millis(5));
        let Taken::Held(_) = take(&store, "new", 600_000).await.unwrap() else { panic!("lapsed") };
        assert!(matches!(stale.renew(&store, 600_000).await, Err(CompactError::LeaseLost { .. })));
        assert!(matches!(stale.release(&store).await, Err(CompactError::LeaseLost { .. })));
        let Taken::Busy { holder, .. } = take(&store, "other", 600_000).await.unwrap() else { panic!("held") };
        assert_eq!(holder, "new");
    }
}
