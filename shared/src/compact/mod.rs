//! Compaction: staging files merged into sorted, deduplicated curated files, invisible to readers
//! (docs/compaction-design.md). The run and its steps ([`run`]), the external merge in bounded
//! memory ([`merge`]), the state a run switches ([`state`]), the lease that keeps runs from
//! overlapping ([`lease`]), finding an input file that kills a run ([`probe`]), late data written as delta files ([`delta`]), an hour split into units of work ([`units`]), and the reader view `logs_all` that is a function of the state
//! ([`view`]).
//!
//! Uses [`crate::lake`] only.

pub mod delta;
pub mod lease;
pub mod merge;
pub mod probe;
pub mod run;
pub mod state;
pub mod units;
pub mod view;
