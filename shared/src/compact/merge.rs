//! External merge for compaction: the rows of many staging files, sorted by
//! (`log_group`, `event_time`, `event_id`) with repeated event ids dropped, in bounded memory.
//!
//! Phase 1 reads input files batch by batch until about `memory_budget_bytes` of Arrow data is
//! held, sorts that chunk and spills it to a local run file (small row groups); phase 2 merges
//! the runs, holding one small batch per run. When there are more runs than the budget holds
//! batches of, groups of runs are merged into longer runs first, so memory depends on the budget,
//! not on the size of the input. A record delivered twice has the same id, time and group — the same sort
//! key — so its copies are adjacent in this order and only the first is kept.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_row::{OwnedRow, RowConverter, Rows, SortField};
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::lake::conform::{conform_to, is_schema, reader_builder};
use crate::lake::typed::{CuratedTable, split_by_table};

/// Rows per row group of a run file, and per batch read back from one: what a run holds in
/// memory while it is merged.
const SPILL_ROWS: usize = 2048;

fn spill_properties(options: &MergeOptions) -> WriterProperties {
    // Plain, no statistics: run files live for one compaction, on local disk, and are read once,
    // in order. Compressed (ZSTD level 1) unless told otherwise: uncompressed they take about
    // seven times the input's size on /tmp (bench/compact_backlog.sh), which bounds what one run can take.
    let compression = match options.compress_spill {
        true => parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::try_new(1).unwrap_or_default()),
        false => parquet::basic::Compression::UNCOMPRESSED,
    };
    WriterProperties::builder()
        .set_max_row_group_row_count(Some(SPILL_ROWS))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .set_compression(compression)
        .build()
}

/// The sort order of curated files: by log group first, so each group's rows (and mostly one
/// format) are contiguous. Page and row-group statistics on `log_group` and `format` then let
/// a query for one kind of log skip the pages of the others (bench/rollup_cost.sh: sorted by
/// time first, the VPC rollups read 4.6x more of the curated hour than of raw staging), and
/// the columns that repeat within a group compress better.
pub const SORT_COLUMNS: [&str; 3] = ["log_group", "event_time", "event_id"];

/// Which of the copies one merge holds is kept: the one whose `source` sorts first. Copies of a
/// record that came by one path are equal but for their arrival time; by two paths (a stream
/// read by both ingest-kinesis and Firehose), `source` tells them apart. Choosing by it, not by
/// the order files were listed or rows were sorted in, makes a merge's result the same whatever
/// order its copies arrived in. (A copy arriving after its record was compacted is dropped
/// against the curated row instead: what readers saw stays.)
const COPY_ORDER_COLUMN: &str = "source";

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("reading or writing Parquet failed: {0}")]
    Parquet(#[from] ParquetError),
    #[error("Arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("spill file {path}: {source}")]
    Spill {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("input has no column {0}")]
    MissingColumn(&'static str),
    /// The input file's own fault: it cannot be read, or not as rows of the table.
    #[error("{0}")]
    Input(String),
    #[error("an input file failed after part of it was merged: {0}")]
    PartlyRead(String),
}

fn input(error: impl std::fmt::Display) -> MergeError {
    MergeError::Input(error.to_string())
}

#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// Arrow data held before a sorted run is spilled.
    pub memory_budget_bytes: usize,
    /// Rows per batch read and emitted.
    pub batch_rows: usize,
    /// Sorted runs spilled ZSTD-compressed (level 1) rather than plain.
    pub compress_spill: bool,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions { memory_budget_bytes: 64 * 1024 * 1024, batch_rows: 8192, compress_spill: true }
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MergeStats {
    pub rows_in: usize,
    pub rows_out: usize,
    pub duplicates: usize,
    /// Sorted runs spilled by phase 1.
    pub runs: usize,
    /// Bytes of those runs on local disk (what /tmp must hold, with the output file).
    pub spilled_bytes: u64,
    /// Runs written by merging groups of runs (when the budget holds fewer than all of them).
    pub merged_runs: usize,
}

impl MergeStats {
    /// Adds the counts of another merge that ran after this one (the spill is the larger: one
    /// merge's spill is on disk at a time).
    pub fn add(&mut self, other: &MergeStats) {
        self.rows_in += other.rows_in;
        self.rows_out += other.rows_out;
        self.duplicates += other.duplicates;
        self.runs += other.runs;
        self.spilled_bytes = self.spilled_bytes.max(other.spilled_bytes);
        self.merged_runs += other.merged_runs;
    }
}

/// A reader of a file of a table's rows, and whether it is in another schema (cast by [`conform_to`]).
fn file_reader(
    parquet: bytes::Bytes,
    table: &SchemaRef,
    batch_rows: usize,
) -> Result<(bool, ParquetRecordBatchReader), MergeError> {
    let builder = reader_builder(parquet).map_err(input)?;
    let foreign = !is_schema(builder.schema(), table);
    Ok((foreign, builder.with_batch_size(batch_rows).build().map_err(input)?))
}

/// `batch` if its arrays are what their types promise. parquet-rs does not check what it decodes
/// from a damaged file: a footer whose map keys are optional gave a map of non-null keys holding
/// nulls (the staging_parquet fuzz target). Such a batch read without an error, was written to a
/// sorted run, and reading that run back panicked (arrow asserts what it reads), after the probe
/// had read the file alone and found nothing. Checked here, the file is an input fault instead.
fn valid(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    for column in batch.columns() {
        column.to_data().validate_full()?;
    }
    Ok(batch)
}

/// Reads a file through as [`read_file`] would, keeping nothing: whether it can be read, and
/// cast to the table of its key (`logs` for staging), in full. [`MergeError::Input`] when it cannot.
pub fn check_file(key: &str, parquet: bytes::Bytes, batch_rows: usize) -> Result<(), MergeError> {
    check_file_of(parquet, &CuratedTable::of_input(key).schema(), batch_rows)
}

fn check_file_of(parquet: bytes::Bytes, table: &SchemaRef, batch_rows: usize) -> Result<(), MergeError> {
    let (foreign, batches) = file_reader(parquet, table, batch_rows)?;
    for batch in batches {
        let batch = batch.and_then(valid).map_err(input)?;
        if foreign {
            conform_to(&batch, Arc::clone(table)).map_err(input)?;
        }
    }
    Ok(())
}

/// Reads one Parquet file of `table`'s rows, batch by batch, into `each`. A file in another
/// schema (a foreign writer, an older version) is cast to it ([`conform_to`]); such a file is read
/// through once first, so that one that cannot be read or cast adds no rows. A file's own fault
/// is [`MergeError::Input`]: the caller sets it aside and goes on.
pub fn read_file(
    parquet: Vec<u8>,
    table: &SchemaRef,
    batch_rows: usize,
    mut each: impl FnMut(RecordBatch) -> Result<(), MergeError>,
) -> Result<(), MergeError> {
    let parquet = bytes::Bytes::from(parquet);
    let (foreign, batches) = file_reader(parquet.clone(), table, batch_rows)?;
    // A foreign file is read whole once before any of its rows are added, so that a file
    // that fails partway is set aside alone (loglake's own files are read once).
    let batches = match foreign {
        true => {
            check_file_of(parquet.clone(), table, batch_rows)?;
            file_reader(parquet, table, batch_rows)?.1
        }
        false => batches,
    };
    let mut added = false;
    for batch in batches {
        // Once rows of the file are in, a failure can no longer set the file aside alone.
        let batch =
            batch.and_then(valid).map_err(|e| if added { MergeError::PartlyRead(e.to_string()) } else { input(e) })?;
        added = true;
        let batch = match foreign {
            true => conform_to(&batch, Arc::clone(table)).map_err(|e| MergeError::Input(e.to_string()))?,
            false => batch,
        };
        each(batch)?;
    }
    Ok(())
}

/// Phase 1: sorted runs. Feed input files with [`RunWriter::add_file`] (or batches with
/// [`RunWriter::add_batch`]), then [`RunWriter::finish`].
pub struct RunWriter<'d> {
    spill_dir: &'d Path,
    /// Names its run files apart from other writers' in the same directory.
    name: String,
    options: MergeOptions,
    schema: SchemaRef,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
    runs: Vec<PathBuf>,
    /// Run files written so far (names stay unique when runs are merged into longer ones).
    spilled: usize,
    /// Bytes of the sorted runs written.
    spilled_bytes: u64,
    rows_in: usize,
    /// The largest Arrow size per row seen in a chunk: what a merged run costs per row.
    row_bytes: usize,
}

impl<'d> RunWriter<'d> {
    /// A writer of `logs` rows.
    pub fn new(spill_dir: &'d Path, options: MergeOptions) -> RunWriter<'d> {
        RunWriter::of_table(spill_dir, options, CuratedTable::Logs)
    }

    /// A writer of `table`'s rows.
    pub fn of_table(spill_dir: &'d Path, options: MergeOptions, table: CuratedTable) -> RunWriter<'d> {
        let name = match table {
            CuratedTable::Logs => String::new(),
            other => format!("{}-", other.name()),
        };
        RunWriter {
            spill_dir,
            name,
            options,
            schema: table.schema(),
            pending: Vec::new(),
            pending_bytes: 0,
            runs: Vec::new(),
            spilled: 0,
            spilled_bytes: 0,
            rows_in: 0,
            row_bytes: 0,
        }
    }

    /// Reads one Parquet file of the table's rows ([`read_file`]).
    pub fn add_file(&mut self, parquet: Vec<u8>) -> Result<(), MergeError> {
        self.add_file_where(parquet, Ok)
    }

    /// [`RunWriter::add_file`], keeping only the rows `keep` returns of each batch (cast already).
    pub fn add_file_where(
        &mut self,
        parquet: Vec<u8>,
        keep: impl Fn(RecordBatch) -> Result<RecordBatch, String>,
    ) -> Result<(), MergeError> {
        let schema = Arc::clone(&self.schema);
        let batch_rows = self.options.batch_rows;
        read_file(parquet, &schema, batch_rows, |batch| {
            let batch = keep(batch).map_err(MergeError::PartlyRead)?;
            self.add_batch(batch)?;
            if self.pending_bytes >= self.options.memory_budget_bytes {
                self.spill()?;
            }
            Ok(())
        })
    }

    /// Holds a batch of the table's rows; the caller spills ([`RunWriter::spill`]) when what
    /// is held passes its budget.
    pub fn add_batch(&mut self, batch: RecordBatch) -> Result<(), MergeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows_in += batch.num_rows();
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
        Ok(())
    }

    /// Arrow bytes held, not yet spilled.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Sorts what is held and writes it to a run file.
    pub fn spill(&mut self) -> Result<(), MergeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.pending);
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        self.row_bytes = self.row_bytes.max(self.pending_bytes.div_ceil(rows.max(1)));
        self.pending_bytes = 0;
        let schema = batches[0].schema();
        let path = self.next_run_path();
        let file = std::fs::File::create(&path).map_err(|source| MergeError::Spill { path: path.clone(), source })?;
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(spill_properties(&self.options)))?;
        let all = arrow_select::concat::concat_batches(&schema, &batches)?;
        drop(batches);
        let mut columns = SORT_COLUMNS
            .iter()
            .map(|name| {
                let values = all.column_by_name(name).cloned().ok_or(MergeError::MissingColumn(name))?;
                Ok(SortColumn { values, options: None })
            })
            .collect::<Result<Vec<_>, MergeError>>()?;
        // Copies of a record next to each other, the one to keep first.
        columns.extend(
            all.column_by_name(COPY_ORDER_COLUMN).map(|values| SortColumn { values: values.clone(), options: None }),
        );
        let order = lexsort_to_indices(&columns, None)?;
        for start in (0..all.num_rows()).step_by(self.options.batch_rows) {
            let len = self.options.batch_rows.min(all.num_rows() - start);
            let indices = order.slice(start, len);
            let sorted = arrow_select::take::take_record_batch(&all, &indices)?;
            writer.write(&sorted)?;
        }
        writer.close()?;
        self.spilled_bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.schema = schema;
        self.runs.push(path);
        Ok(())
    }

    fn next_run_path(&mut self) -> PathBuf {
        self.spilled += 1;
        self.spill_dir.join(format!("{}run-{:05}.parquet", self.name, self.spilled))
    }

    /// Spills what is held and returns the merger over all runs.
    pub fn finish(mut self) -> Result<Merger, MergeError> {
        self.spill()?;
        let sorted_runs = self.runs.len();
        // A run being merged holds about two batches of SPILL_ROWS rows (read and decoded).
        let per_run = 2 * SPILL_ROWS * self.row_bytes.max(1);
        let fan_in = (self.options.memory_budget_bytes / per_run).max(2);
        let mut duplicates = 0;
        while self.runs.len() > fan_in {
            let group: Vec<PathBuf> = self.runs.drain(..fan_in).collect();
            let path = self.next_run_path();
            let file =
                std::fs::File::create(&path).map_err(|source| MergeError::Spill { path: path.clone(), source })?;
            let mut writer = ArrowWriter::try_new(file, self.schema.clone(), Some(spill_properties(&self.options)))?;
            let mut merger = Merger::new(&group, self.schema.clone(), self.options.clone(), 0)?;
            while let Some(batch) = merger.next_batch()? {
                writer.write(&batch)?;
            }
            writer.close()?;
            duplicates += merger.stats.duplicates;
            for done in &group {
                let _ = std::fs::remove_file(done);
            }
            self.runs.push(path);
        }
        let merged_runs = self.spilled - sorted_runs;
        let mut merger = Merger::new(&self.runs, self.schema, self.options, self.rows_in)?;
        merger.stats.duplicates += duplicates;
        merger.stats.runs = sorted_runs;
        merger.stats.merged_runs = merged_runs;
        merger.stats.spilled_bytes = self.spilled_bytes;
        Ok(merger)
    }
}

/// Phase 1 for every table an hour's rows go to: one [`RunWriter`] per table, sharing one memory
/// budget (the table holding the most spills when the sum passes it). With typed tables, the
/// rows of `logs` files (staging, and `logs` files written before the typed tables) are split by
/// their table ([`split_by_table`]); a typed table's own files go to its writer as they are.
pub struct TableRuns<'d> {
    spill_dir: &'d Path,
    options: MergeOptions,
    typed: bool,
    writers: Vec<(CuratedTable, RunWriter<'d>)>,
}

impl<'d> TableRuns<'d> {
    pub fn new(spill_dir: &'d Path, options: MergeOptions, typed: bool) -> TableRuns<'d> {
        TableRuns { spill_dir, options, typed, writers: Vec::new() }
    }

    /// Reads the input file `key` ([`read_file`], as rows of the table of its key), keeping the
    /// rows `keep` returns of each batch.
    pub fn add_file(
        &mut self,
        key: &str,
        parquet: Vec<u8>,
        keep: impl Fn(RecordBatch) -> Result<RecordBatch, String>,
    ) -> Result<(), MergeError> {
        let table = CuratedTable::of_input(key);
        let split = self.typed && table == CuratedTable::Logs;
        read_file(parquet, &table.schema(), self.options.batch_rows, |batch| {
            let batch = keep(batch).map_err(MergeError::PartlyRead)?;
            match split {
                true => {
                    let parts = split_by_table(&batch).map_err(|e| MergeError::PartlyRead(e.to_string()))?;
                    parts.into_iter().try_for_each(|(table, rows)| self.add(table, rows))
                }
                false => self.add(table, batch),
            }
        })
    }

    fn add(&mut self, table: CuratedTable, batch: RecordBatch) -> Result<(), MergeError> {
        let index = match self.writers.iter().position(|(t, _)| *t == table) {
            Some(index) => index,
            None => {
                let writer = RunWriter::of_table(self.spill_dir, self.options.clone(), table);
                self.writers.push((table, writer));
                self.writers.len() - 1
            }
        };
        self.writers[index].1.add_batch(batch)?;
        let held: usize = self.writers.iter().map(|(_, w)| w.pending_bytes()).sum();
        if held >= self.options.memory_budget_bytes
            && let Some((_, largest)) = self.writers.iter_mut().max_by_key(|(_, w)| w.pending_bytes())
        {
            largest.spill()?;
        }
        Ok(())
    }

    /// The writer of each table that received rows, in [`CuratedTable::all`]'s order.
    pub fn finish(mut self) -> Vec<(CuratedTable, RunWriter<'d>)> {
        let order = |table: &CuratedTable| CuratedTable::all().position(|t| t == *table);
        self.writers.sort_by_key(|(table, _)| order(table));
        self.writers
    }
}

/// One run being merged: its reader, current batch and that batch's sort keys.
struct Run {
    reader: ParquetRecordBatchReader,
    /// Index of the current batch in the merger's `sources`.
    source: usize,
    rows: Rows,
    at: usize,
}

/// Phase 2: yields merged, deduplicated batches.
pub struct Merger {
    schema: SchemaRef,
    converter: RowConverter,
    runs: Vec<Option<Run>>,
    /// Batches rows of the current output come from.
    sources: Vec<RecordBatch>,
    batch_rows: usize,
    /// The sort key of the last row kept: a row with the same key is the same record again.
    last_key: Option<OwnedRow>,
    stats: MergeStats,
}

fn key_columns(batch: &RecordBatch) -> Result<Vec<ArrayRef>, MergeError> {
    SORT_COLUMNS.iter().map(|name| batch.column_by_name(name).cloned().ok_or(MergeError::MissingColumn(name))).collect()
}

impl Merger {
    fn new(paths: &[PathBuf], schema: SchemaRef, options: MergeOptions, rows_in: usize) -> Result<Merger, MergeError> {
        let fields = SORT_COLUMNS
            .iter()
            .map(|name| Ok(SortField::new(schema.field_with_name(name)?.data_type().clone())))
            .collect::<Result<Vec<_>, MergeError>>()?;
        let mut merger = Merger {
            schema,
            converter: RowConverter::new(fields)?,
            runs: Vec::new(),
            sources: Vec::new(),
            batch_rows: options.batch_rows,
            last_key: None,
            stats: MergeStats { rows_in, runs: paths.len(), ..MergeStats::default() },
        };
        for path in paths {
            let file = std::fs::File::open(path).map_err(|source| MergeError::Spill { path: path.clone(), source })?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.with_batch_size(SPILL_ROWS).build()?;
            let run = merger.load(reader)?;
            merger.runs.push(run);
        }
        Ok(merger)
    }

    /// The next non-empty batch of a run, registered as a source; none when the run is done.
    fn load(&mut self, mut reader: ParquetRecordBatchReader) -> Result<Option<Run>, MergeError> {
        for batch in reader.by_ref() {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let rows = self.converter.convert_columns(&key_columns(&batch)?)?;
            self.sources.push(batch);
            return Ok(Some(Run { reader, source: self.sources.len() - 1, rows, at: 0 }));
        }
        Ok(None)
    }

    pub fn stats(&self) -> &MergeStats {
        &self.stats
    }

    /// The value that decides which copy of a record is kept ([`COPY_ORDER_COLUMN`]).
    fn copy_order(&self, run: &Run) -> Option<&str> {
        let column = self.sources[run.source].column_by_name(COPY_ORDER_COLUMN)?.as_string_opt::<i32>()?;
        column.is_valid(run.at).then(|| column.value(run.at))
    }

    /// The next merged batch, or none when every run is done.
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, MergeError> {
        let mut picked: Vec<(usize, usize)> = Vec::with_capacity(self.batch_rows);
        while picked.len() < self.batch_rows {
            // The run whose current row sorts first (few runs: a scan beats a heap here).
            let mut best: Option<usize> = None;
            for (i, run) in self.runs.iter().enumerate() {
                let Some(run) = run else { continue };
                let better = match best.and_then(|b| self.runs[b].as_ref()) {
                    None => true,
                    Some(current) => match run.rows.row(run.at).cmp(&current.rows.row(current.at)) {
                        Ordering::Less => true,
                        // Two copies of a record: the one to keep comes first.
                        Ordering::Equal => self.copy_order(run) < self.copy_order(current),
                        Ordering::Greater => false,
                    },
                };
                if better {
                    best = Some(i);
                }
            }
            let Some(i) = best else { break };
            let Some(run) = self.runs[i].as_mut() else { break };
            let (source, at) = (run.source, run.at);
            let key = run.rows.row(at);
            if self.last_key.as_ref().is_some_and(|last| last.row() == key) {
                self.stats.duplicates += 1;
            } else {
                self.last_key = Some(key.owned());
                picked.push((source, at));
            }
            run.at += 1;
            if run.at == run.rows.num_rows() {
                let Some(done) = self.runs[i].take() else { break };
                self.runs[i] = self.load(done.reader)?;
            }
        }
        if picked.is_empty() {
            return Ok(None);
        }
        let columns = (0..self.schema.fields().len())
            .map(|c| {
                let arrays: Vec<&dyn Array> = self.sources.iter().map(|b| b.column(c).as_ref()).collect();
                arrow_select::interleave::interleave(&arrays, &picked)
            })
            .collect::<Result<Vec<ArrayRef>, ArrowError>>()?;
        self.stats.rows_out += picked.len();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        self.compact_sources();
        Ok(Some(batch))
    }

    /// Drops source batches no run points at any more, renumbering the runs' references.
    fn compact_sources(&mut self) {
        let mut kept = Vec::new();
        for run in self.runs.iter_mut().flatten() {
            kept.push(self.sources[run.source].clone());
            run.source = kept.len() - 1;
        }
        self.sources = kept;
    }
}
