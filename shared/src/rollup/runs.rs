//! The history of rollup runs: one row per finished run in the `query_runs` table
//! (`_loglake/query_runs/dt=<the window's day>/…parquet`), and the same figures as CloudWatch
//! metrics in embedded metric format. Athena runs and local DataFusion runs write the same rows.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

use crate::lake::encode::{EncodeError, encode_batches};
use crate::lake::layout::query_run_key;
use crate::metrics::{Measurement, Metric};
use crate::rollup::query_file::WindowBounds;

/// What Athena charges for a query that scanned `bytes`: $5 per TB, each query billed at least
/// 10 MB, bytes rounded up to the megabyte.
pub fn athena_cost_usd(bytes: u64) -> f64 {
    const MB: u64 = 1 << 20;
    let billed = bytes.div_ceil(MB).max(10) * MB;
    billed as f64 / 1e12 * 5.0
}

/// How a run ended. Every terminal state of an Athena query, and the runner's own outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Succeeded,
    /// Athena's `FAILED`, with its reason (error type and message).
    Failed(String),
    /// Athena's `CANCELLED` (someone stopped it, or the workgroup's bytes-scanned cutoff).
    Cancelled(String),
    /// The query succeeded but its result could not be stored (too large, a type the summary
    /// cannot hold, a write that failed): the reason says which.
    NotStored(String),
}

/// How a run ended, without the reason: what `query_runs.state` and the runner's window state
/// store (`SUCCEEDED`, `FAILED`, `CANCELLED`, `NOT_STORED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStateKind {
    Succeeded,
    Failed,
    Cancelled,
    NotStored,
}

impl RunStateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStateKind::Succeeded => "SUCCEEDED",
            RunStateKind::Failed => "FAILED",
            RunStateKind::Cancelled => "CANCELLED",
            RunStateKind::NotStored => "NOT_STORED",
        }
    }
}

impl RunState {
    pub fn kind(&self) -> RunStateKind {
        match self {
            RunState::Succeeded => RunStateKind::Succeeded,
            RunState::Failed(_) => RunStateKind::Failed,
            RunState::Cancelled(_) => RunStateKind::Cancelled,
            RunState::NotStored(_) => RunStateKind::NotStored,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            RunState::Succeeded => None,
            RunState::Failed(r) | RunState::Cancelled(r) | RunState::NotStored(r) => Some(r),
        }
    }
}

/// One finished run of one query for one window.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRun {
    pub query: String,
    pub window: WindowBounds,
    /// `athena` or `datafusion`.
    pub engine: &'static str,
    /// Athena's query execution id; locally `local-<start ms>`.
    pub execution_id: String,
    pub state: RunState,
    pub bytes_scanned: u64,
    pub engine_ms: u64,
    /// Athena served the result of an earlier identical query (nothing scanned, nothing billed).
    pub reused: bool,
    /// Rows stored in the summary (None when nothing was stored).
    pub rows: Option<u64>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

impl QueryRun {
    /// What Athena bills for the run: nothing for a reused result, else $5/TB with the 10 MB
    /// minimum (also for a failed query that scanned something: Athena bills those).
    pub fn cost_usd(&self) -> f64 {
        if self.reused || (self.bytes_scanned == 0 && self.state != RunState::Succeeded) {
            0.0
        } else {
            athena_cost_usd(self.bytes_scanned)
        }
    }

    /// The run's row: `_loglake/query_runs/dt=<window's day>/<query>-<window>-<execution id>.parquet`
    /// ([`query_run_key`]): none of its parts is a time of the run, so a run recorded again after
    /// a crash writes the same key.
    pub fn key(&self) -> String {
        query_run_key(
            &self.window.start.format("%Y-%m-%d").to_string(),
            &self.query,
            &self.window.name(),
            &self.execution_id,
        )
    }

    pub fn to_parquet(&self) -> Result<Vec<u8>, EncodeError> {
        let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
        let ms = |t: DateTime<Utc>| {
            Arc::new(TimestampMillisecondArray::from(vec![t.timestamp_millis()]).with_timezone("UTC")) as ArrayRef
        };
        let columns: Vec<ArrayRef> = vec![
            text(&self.query),
            text(&self.window.name()),
            ms(self.window.start_utc()),
            text(self.engine),
            text(&self.execution_id),
            text(self.state.name()),
            Arc::new(StringArray::from(vec![self.state.reason()])),
            Arc::new(Int64Array::from(vec![self.bytes_scanned as i64])),
            Arc::new(Int64Array::from(vec![self.engine_ms as i64])),
            Arc::new(Float64Array::from(vec![self.cost_usd()])),
            Arc::new(BooleanArray::from(vec![self.reused])),
            Arc::new(Int64Array::from(vec![self.rows.map(|r| r as i64)])),
            ms(self.started),
            ms(self.finished),
        ];
        let batch = RecordBatch::try_new(query_runs_schema(), columns)?;
        encode_batches(query_runs_schema(), &[batch])
    }

    /// The metrics of this run ([`crate::metrics`]), by Query and then Query and State; a
    /// window whose query failed, was cancelled or gave no storable summary counts as failed.
    pub fn measurement(&self) -> Measurement {
        let failed = !matches!(self.state, RunState::Succeeded);
        Measurement {
            values: vec![
                (Metric::QueryRuns, 1.0),
                (Metric::BytesScanned, self.bytes_scanned as f64),
                (Metric::EngineTime, self.engine_ms as f64),
                (Metric::CostUSD, self.cost_usd()),
                (Metric::RollupWindowsFailed, if failed { 1.0 } else { 0.0 }),
            ],
            dimensions: vec![("Query", self.query.clone()), ("State", self.state.name().to_owned())],
            at_ms: self.finished.timestamp_millis(),
        }
    }
}

/// The `query_runs` table (partitioned by `dt`, the day of the window the run was for).
pub fn query_runs_schema() -> SchemaRef {
    let ms = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("query", DataType::Utf8, false),
        Field::new("window", DataType::Utf8, false),
        Field::new("window_start", ms.clone(), false),
        Field::new("engine", DataType::Utf8, false),
        Field::new("execution_id", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, true),
        Field::new("bytes_scanned", DataType::Int64, false),
        Field::new("engine_ms", DataType::Int64, false),
        Field::new("cost_usd", DataType::Float64, false),
        Field::new("reused", DataType::Boolean, false),
        Field::new("rows", DataType::Int64, true),
        Field::new("started", ms.clone(), false),
        Field::new("finished", ms, false),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::query_file::Window;

    fn run(state: RunState, bytes: u64, reused: bool) -> QueryRun {
        let window = WindowBounds::parse(Window::Hourly, "2026-11-20T09", chrono_tz::Tz::UTC).unwrap();
        QueryRun {
            query: "errors_by_group_hourly".into(),
            window,
            engine: "athena",
            execution_id: "a1b2c3d4-0000-1111-2222-333344445555".into(),
            state,
            bytes_scanned: bytes,
            engine_ms: 1200,
            reused,
            rows: Some(3),
            started: window.end_utc(),
            finished: window.end_utc() + chrono::Duration::seconds(2),
        }
    }

    #[test]
    fn a_run_is_one_row_with_its_cost_and_its_metrics() {
        let r = run(RunState::Succeeded, 3 << 30, false);
        assert_eq!(
            r.key(),
            "_loglake/query_runs/dt=2026-11-20/errors_by_group_hourly-2026-11-20T09-a1b2c3d4-0000-1111-2222-333344445555.parquet"
        );
        assert!((r.cost_usd() - athena_cost_usd(3 << 30)).abs() < 1e-12);
        let bytes = r.to_parquet().unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches[0].num_rows(), 1);
        assert_eq!(batches[0].schema().fields().len(), query_runs_schema().fields().len());
        let measured = r.measurement();
        assert!(measured.values.contains(&(Metric::BytesScanned, (3u64 << 30) as f64)));
        assert!(measured.values.contains(&(Metric::RollupWindowsFailed, 0.0)));
        assert_eq!(measured.dimensions[1], ("State", "SUCCEEDED".to_owned()));
        let failed = run(RunState::Cancelled("cutoff".into()), 1 << 30, false).measurement();
        assert!(failed.values.contains(&(Metric::RollupWindowsFailed, 1.0)));
    }

    #[test]
    fn reused_results_and_queries_that_scanned_nothing_cost_nothing() {
        assert_eq!(run(RunState::Succeeded, 5 << 30, true).cost_usd(), 0.0);
        assert_eq!(run(RunState::Failed("SYNTAX".into()), 0, false).cost_usd(), 0.0);
        assert!(run(RunState::Succeeded, 0, false).cost_usd() > 0.0, "the 10 MB minimum");
        assert!(run(RunState::Cancelled("cutoff".into()), 1 << 30, false).cost_usd() > 0.0);
    }

    #[test]
    fn athena_bills_ten_megabytes_at_least_at_five_dollars_a_terabyte() {
        assert_eq!(athena_cost_usd(0), athena_cost_usd(10 << 20));
        assert!((athena_cost_usd(0) - 10.0 * 1_048_576.0 / 1e12 * 5.0).abs() < 1e-12);
        assert_eq!(athena_cost_usd((10 << 20) + 1), athena_cost_usd(11 << 20), "rounded up to the megabyte");
        assert!((athena_cost_usd(1_000_000_000_000) - 5.0).abs() < 1e-3);
    }
}
