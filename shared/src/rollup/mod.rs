//! Rollups: the query files (`queries/*.sql`) with the windows they run for and the only values
//! that become SQL — the window's bounds, as typed literals ([`query_file`]); and the record of
//! every run, with its cost ([`runs`]). The Athena runner (functions/query-runner) and the local
//! engine (cli) both build on these.
//!
//! Uses [`crate::lake`] only.

pub mod query_file;
pub mod runs;
