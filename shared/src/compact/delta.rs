//! Late data into an hour already compacted: a small delta file beside the hour's curated files,
//! not a rewrite of the hour (docs/compaction-design.md, "Late data: delta files").
//!
//! A delta holds the new staging rows of the hour, merged and deduplicated among themselves and
//! against the hour's visible curated rows. The curated side of that check reads only what can
//! hold one of the new records: curated files are sorted by (`log_group`, `event_time`,
//! `event_id`), so each row group's `log_group` and `event_time` statistics bound the keys it
//! holds; only the row groups whose bounds take one of the new records' (group, time) are read,
//! and of them only the three key columns (ranged reads of the footer and those column chunks).
//! One late record in a 20 GB hour costs its own bytes plus one or two row groups' key columns.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch, StringArray, TimestampMillisecondArray};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::statistics::Statistics;

use crate::lake::conform::{conform, is_logs_schema, is_schema, read_options, reader_builder};
use crate::lake::storage::{ListedObject, ObjectStore, StorageError};
use crate::lake::typed::CuratedTable;

/// What makes two rows the same record: the merge's sort key.
pub type RecordKey = (String, i64, String);

#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A curated file that cannot be searched this way (not loglake's schema, a damaged footer):
    /// the hour is merged whole instead, which sets such a file aside.
    #[error("curated file {key} cannot be searched for keys: {reason}")]
    Unsearchable { key: String, reason: String },
}

/// The records a delta is about to add, as the curated side is searched for them.
#[derive(Debug, Default)]
pub struct NewKeys {
    keys: HashSet<RecordKey>,
    /// (group, time) of every key, ordered as the curated files are.
    group_times: BTreeSet<(String, i64)>,
}

impl NewKeys {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds the keys of one staging file. A file that cannot be read as the table's rows adds
    /// none: the merge sets it aside.
    pub fn add_file(&mut self, parquet: Vec<u8>) {
        let Ok(batches) = read_keys(Bytes::from(parquet)) else { return };
        for batch in batches {
            if let Ok(keys) = keys_of(&batch) {
                for key in keys {
                    self.group_times.insert((key.0.clone(), key.1));
                    self.keys.insert(key);
                }
            }
        }
    }

    /// Whether a row group with these `log_group` and `event_time` bounds may hold a new key. The
    /// bounds may be truncated (long group names): only exact equal group bounds narrow the search
    /// by time; otherwise every new key whose group lies between them is a candidate.
    fn may_hold_any(&self, row_group: &RowGroupMetaData, group_column: usize, time_column: usize) -> bool {
        let group = match row_group.column(group_column).statistics() {
            Some(Statistics::ByteArray(s)) => s,
            _ => return true,
        };
        let (Some(min), Some(max)) = (group.min_opt(), group.max_opt()) else { return true };
        let (Ok(min), Ok(max)) = (std::str::from_utf8(min.data()), std::str::from_utf8(max.data())) else {
            return true;
        };
        let times = match row_group.column(time_column).statistics() {
            Some(Statistics::Int64(s)) => s.min_opt().copied().zip(s.max_opt().copied()),
            _ => None,
        };
        let one_group = min == max && group.min_is_exact() && group.max_is_exact();
        match (one_group, times) {
            (true, Some((first, last))) => {
                self.group_times.range((min.to_owned(), first)..=(min.to_owned(), last)).next().is_some()
            }
            _ => self.group_times.range((min.to_owned(), i64::MIN)..=(max.to_owned(), i64::MAX)).next().is_some(),
        }
    }
}

/// What the search of an hour's curated files found.
#[derive(Debug, Default)]
pub struct Found {
    /// The new keys that some curated row has already.
    pub known: HashSet<RecordKey>,
    /// Bytes read for it (footers and key column chunks).
    pub bytes_read: u64,
    /// Row groups read, of all the files' row groups.
    pub row_groups_read: usize,
    pub row_groups: usize,
}

/// The keys of `new` that the curated files already hold, reading as little of them as the
/// statistics allow.
pub async fn search_curated(
    store: &dyn ObjectStore,
    curated: &[ListedObject],
    new: &NewKeys,
) -> Result<Found, DeltaError> {
    let mut found = Found::default();
    if new.is_empty() {
        return Ok(found);
    }
    for object in curated {
        let unsearchable = |reason: String| DeltaError::Unsearchable { key: object.key.clone(), reason };
        let (metadata, footer_bytes) = read_footer(store, object).await?;
        found.bytes_read += footer_bytes;
        let arrow = ArrowReaderMetadata::try_new(Arc::clone(&metadata), read_options())
            .map_err(|e| unsearchable(e.to_string()))?;
        let table = CuratedTable::of_input(&object.key);
        if !is_schema(arrow.schema(), &table.schema()) {
            return Err(unsearchable(format!("not in the {} table's schema", table.name())));
        }
        let column = |name: &str| arrow.schema().index_of(name).map_err(|e| unsearchable(e.to_string()));
        // The key columns come before every nested column (`attributes`, a typed table's
        // structs), so their index among the schema's fields is their index among the file's
        // leaf columns too.
        let key_columns = [column("log_group")?, column("event_time")?, column("event_id")?];
        let [group_column, time_column, _] = key_columns;
        let row_groups: Vec<usize> = (0..metadata.num_row_groups())
            .filter(|&i| new.may_hold_any(metadata.row_group(i), group_column, time_column))
            .collect();
        found.row_groups += metadata.num_row_groups();
        found.row_groups_read += row_groups.len();
        if row_groups.is_empty() {
            continue;
        }
        let mut chunks = Vec::new();
        for &i in &row_groups {
            for &c in &key_columns {
                let (start, length) = metadata.row_group(i).column(c).byte_range();
                let body = store.get_range(&object.key, start..start + length).await?;
                found.bytes_read += body.len() as u64;
                chunks.push((start, Bytes::from(body)));
            }
        }
        let file = SparseFile { len: object.size, chunks };
        let projection = ProjectionMask::roots(metadata.file_metadata().schema_descr(), key_columns);
        let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(file, arrow)
            .with_projection(projection)
            .with_row_groups(row_groups)
            .with_batch_size(8192)
            .build()
            .map_err(|e| unsearchable(e.to_string()))?;
        for batch in batches {
            let batch = batch.map_err(|e| unsearchable(e.to_string()))?;
            for key in keys_of(&batch).map_err(unsearchable)? {
                if new.keys.contains(&key) {
                    found.known.insert(key);
                }
            }
        }
    }
    Ok(found)
}

/// The rows of `batch` whose key is not in `known`, and how many were dropped.
pub fn drop_known(batch: RecordBatch, known: &HashSet<RecordKey>) -> Result<(RecordBatch, usize), String> {
    if known.is_empty() {
        return Ok((batch, 0));
    }
    let keys = keys_of(&batch)?;
    let keep: arrow_array::BooleanArray = keys.iter().map(|key| Some(!known.contains(key))).collect();
    let dropped = keep.false_count();
    if dropped == 0 {
        return Ok((batch, 0));
    }
    let kept = arrow_select::filter::filter_record_batch(&batch, &keep).map_err(|e| e.to_string())?;
    Ok((kept, dropped))
}

/// The footer of a curated file: its last 8 bytes give the footer's length, then the footer.
pub(crate) async fn read_footer(
    store: &dyn ObjectStore,
    object: &ListedObject,
) -> Result<(Arc<ParquetMetaData>, u64), DeltaError> {
    let unsearchable = |e: ParquetError| DeltaError::Unsearchable { key: object.key.clone(), reason: e.to_string() };
    let mut tail_len = object.size.min(8);
    let mut bytes_read = 0;
    loop {
        let tail = Bytes::from(store.get_range(&object.key, object.size - tail_len..object.size).await?);
        bytes_read += tail.len() as u64;
        let mut reader = ParquetMetaDataReader::new();
        match reader.try_parse_sized(&tail, object.size) {
            Ok(()) => return Ok((Arc::new(reader.finish().map_err(unsearchable)?), bytes_read)),
            Err(ParquetError::NeedMoreData(needed)) if (needed as u64) > tail_len && (needed as u64) <= object.size => {
                tail_len = needed as u64;
            }
            Err(e) => return Err(unsearchable(e)),
        }
    }
}

/// The rows of a staging file (cast to the table's types when it is foreign).
fn read_keys(parquet: Bytes) -> Result<Vec<RecordBatch>, String> {
    let builder = reader_builder(parquet).map_err(|e| e.to_string())?;
    let foreign = !is_logs_schema(builder.schema());
    let reader = builder.build().map_err(|e| e.to_string())?;
    reader
        .map(|batch| {
            let batch = batch.map_err(|e| e.to_string())?;
            if foreign { conform(&batch).map_err(|e| e.to_string()) } else { Ok(batch) }
        })
        .collect()
}

fn keys_of(batch: &RecordBatch) -> Result<Vec<RecordKey>, String> {
    fn column<'b, T: 'static>(batch: &'b RecordBatch, name: &str) -> Result<&'b T, String> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| format!("no {name} column of the table's type"))
    }
    let groups = column::<StringArray>(batch, "log_group")?;
    let times = column::<TimestampMillisecondArray>(batch, "event_time")?;
    let ids = column::<StringArray>(batch, "event_id")?;
    if groups.null_count() + times.null_count() + ids.null_count() > 0 {
        return Err("a key column holds nulls".into());
    }
    Ok((0..batch.num_rows()).map(|i| (groups.value(i).to_owned(), times.value(i), ids.value(i).to_owned())).collect())
}

/// A file of which only some byte ranges were fetched: the footer's parse has been done, and the
/// reader asks only for the column chunks fetched.
struct SparseFile {
    len: u64,
    chunks: Vec<(u64, Bytes)>,
}

impl SparseFile {
    fn chunk_at(&self, start: u64, length: u64) -> parquet::errors::Result<(&Bytes, usize)> {
        self.chunks
            .iter()
            .find(|(at, bytes)| *at <= start && start + length <= at + bytes.len() as u64)
            .map(|(at, bytes)| (bytes, (start - at) as usize))
            .ok_or_else(|| ParquetError::General(format!("bytes {start}+{length} were not fetched")))
    }
}

impl Length for SparseFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for SparseFile {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        let (bytes, offset) = self.chunk_at(start, 0)?;
        Ok(bytes.slice(offset..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let (bytes, offset) = self.chunk_at(start, length as u64)?;
        Ok(bytes.slice(offset..offset + length))
    }
}
