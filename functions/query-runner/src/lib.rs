//! query-runner: an EventBridge schedule names a shipped rollup (and the time it fired); the
//! function runs it on Athena for the last closed window, stores the result as the window's
//! summary (`summaries/<output>/dt=…/[hour=…/]part-00000.parquet`, one object, replaced by a
//! re-run), and records the run (`query_runs` row and embedded-metric-format line).
//!
//! Why a `SELECT` whose rows the function writes as Parquet, and not `UNLOAD` or CTAS: Athena
//! reuses results for `SELECT` only (a re-run within the reuse age scans nothing); a summary is
//! small (one window, one partition: `UNLOAD`'s 100-partition limit never applies); and one PUT
//! of one key replaces a window atomically, where `UNLOAD` needs an empty prefix and leaves
//! orphans after a failure, and `INSERT INTO` appends a second copy.
//!
//! A query still running when the invocation nears its deadline stays recorded as running
//! (`_loglake/query-runner/running/…`); the next invocation for the same query polls it to
//! the end instead of starting it again. The `ClientRequestToken` is derived from the query,
//! the window and the window's generation, so a retried start after a crash returns the
//! execution already started.
//!
//! The parts: [`config`] (settings), [`athena`] (the Athena calls, typed), [`runner`] (the window
//! state machine), [`results`] (result pages → an Arrow batch), [`error`] (why an invocation
//! fails).

pub mod athena;
pub mod config;
pub mod error;
pub mod results;
pub mod runner;

pub use athena::Athena;
pub use config::{Config, vars};
pub use error::RunError;
pub use runner::{Outcome, RunEvent, Runner, WindowResult};
