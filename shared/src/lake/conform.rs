//! Files the lake did not write in its own schema — a Firehose Parquet conversion (its Hive writer
//! stores timestamps as INT96, read as nanoseconds), a file of an older schema version, a file
//! copied in by hand — read as rows of the `logs` table: every column found by name and cast to
//! the table's type. What cannot be cast is refused with the reason, never guessed or dropped: a
//! column the table does not have, a required column missing or null, a value out of range.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{
    Array, ArrayRef, Int64Array, MapArray, RecordBatch, StringArray, StructArray, TimestampMillisecondArray,
    UInt32Array, new_null_array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::lake::schema::logs_schema;

/// How every file of the table is opened for reading: from its Parquet schema alone, without the
/// Arrow schema a writer may embed (`ARROW:schema`). Decoding a damaged embedded schema panics
/// inside arrow-ipc (found by fuzzing a staging file), which in a Lambda aborts the process: a
/// damaged object would crash every compaction run of its hour. The Parquet schema says all the
/// table needs; the logical types carry the time zone.
pub fn read_options() -> parquet::arrow::arrow_reader::ArrowReaderOptions {
    parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true)
}

/// A reader of a file of the table, opened with [`read_options`], its footer checked
/// ([`check_column_chunks`]).
pub fn reader_builder(
    parquet: bytes::Bytes,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<bytes::Bytes>, parquet::errors::ParquetError>
{
    let file_len = parquet.len() as u64;
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new_with_options(parquet, read_options())?;
    check_column_chunks(builder.metadata(), file_len)?;
    Ok(builder)
}

/// Refuses a footer that places a column chunk at a negative offset or size, or past the end of
/// the file: parquet-rs asserts on such a chunk while reading it (a panic, found by fuzzing).
pub fn check_column_chunks(
    metadata: &parquet::file::metadata::ParquetMetaData,
    file_len: u64,
) -> Result<(), parquet::errors::ParquetError> {
    for row_group in metadata.row_groups() {
        for column in row_group.columns() {
            let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset());
            let len = column.compressed_size();
            let end = u64::try_from(start).ok().zip(u64::try_from(len).ok()).and_then(|(s, l)| s.checked_add(l));
            if end.is_none_or(|end| end > file_len) {
                return Err(parquet::errors::ParquetError::General(format!(
                    "column chunk of {} at offset {start}, {len} bytes, is not within the file ({file_len} bytes)",
                    column.column_path()
                )));
            }
        }
    }
    Ok(())
}

/// Why a file's rows cannot be rows of the `logs` table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConformError(pub String);

/// Whether a file of this schema holds the table's rows as they are (the files loglake writes):
/// the same columns, in order, of the same types. Nullability may be looser; [`conform`] checks it.
pub fn is_logs_schema(schema: &Schema) -> bool {
    is_schema(schema, &logs_schema())
}

/// [`is_logs_schema`] for any table of the lake (the typed tables').
pub fn is_schema(schema: &Schema, table: &Schema) -> bool {
    schema.fields().len() == table.fields().len()
        && schema
            .fields()
            .iter()
            .zip(table.fields())
            .all(|(found, wanted)| found.name() == wanted.name() && same_type(found.data_type(), wanted.data_type()))
}

/// Maps compare by their key and value types: the names of their inner fields differ between
/// writers (`key_value`, `entries`) and do not change the data.
fn same_type(found: &DataType, wanted: &DataType) -> bool {
    match (found, wanted) {
        (DataType::Map(found, _), DataType::Map(wanted, _)) => match (found.data_type(), wanted.data_type()) {
            (DataType::Struct(found), DataType::Struct(wanted)) => {
                found.len() == wanted.len()
                    && found.iter().zip(wanted.iter()).all(|(f, w)| f.data_type() == w.data_type())
            }
            _ => false,
        },
        _ => found == wanted,
    }
}

/// The batch as a batch of the `logs` schema: columns matched by name (then ignoring case),
/// cast to the table's types (timestamps of any unit and zone to milliseconds UTC, any string
/// type to UTF-8, maps rebuilt with the table's field names); a missing nullable column is null.
pub fn conform(batch: &RecordBatch) -> Result<RecordBatch, ConformError> {
    conform_to(batch, logs_schema())
}

/// [`conform`] to any table of the lake: a typed table's file written before a column was added
/// reads with that column null.
pub fn conform_to(batch: &RecordBatch, table: SchemaRef) -> Result<RecordBatch, ConformError> {
    let found = batch.schema();
    let unknown: Vec<&str> = found
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|name| table.fields().iter().all(|t| !t.name().eq_ignore_ascii_case(name)))
        .collect();
    if !unknown.is_empty() {
        // Dropping them would lose data the file holds.
        return Err(ConformError(format!("columns the table does not have: {}", unknown.join(", "))));
    }
    let columns = table
        .fields()
        .iter()
        .map(|field| {
            let index = found
                .index_of(field.name())
                .ok()
                .or_else(|| found.fields().iter().position(|f| f.name().eq_ignore_ascii_case(field.name())));
            let column = match index {
                Some(index) => cast_column(batch.column(index), field)?,
                None if field.is_nullable() => new_null_array(field.data_type(), batch.num_rows()),
                None => return Err(ConformError(format!("required column {} is missing", field.name()))),
            };
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(ConformError(format!(
                    "required column {} has {} nulls",
                    field.name(),
                    column.null_count()
                )));
            }
            Ok(column)
        })
        .collect::<Result<Vec<ArrayRef>, ConformError>>()?;
    RecordBatch::try_new(table, columns).map_err(|e| ConformError(format!("the cast columns do not form a row: {e}")))
}

fn cast_column(column: &ArrayRef, field: &Field) -> Result<ArrayRef, ConformError> {
    let wanted = field.data_type();
    if column.data_type() == wanted {
        return Ok(Arc::clone(column));
    }
    let refused = |detail: String| ConformError(format!("column {} ({}): {detail}", field.name(), column.data_type()));
    match (column.data_type(), wanted) {
        (DataType::Map(_, _), DataType::Map(entries, sorted)) => {
            let map = column.as_any().downcast_ref::<MapArray>().ok_or_else(|| refused("not a map".into()))?;
            let DataType::Struct(wanted_fields) = entries.data_type() else {
                return Err(refused("the table's map has no entries".into()));
            };
            let keys = cast_column(map.keys(), &wanted_fields[0])?;
            let values = cast_column(map.values(), &wanted_fields[1])?;
            if keys.null_count() > 0 {
                return Err(refused("a map key is null".into()));
            }
            let entries_array = StructArray::try_new(wanted_fields.clone(), vec![keys, values], None)
                .map_err(|e| refused(e.to_string()))?;
            // A null map (a writer without the column's NOT NULL) is an empty one: same offsets.
            let map = MapArray::try_new(Arc::clone(entries), map.offsets().clone(), entries_array, None, *sorted)
                .map_err(|e| refused(e.to_string()))?;
            Ok(Arc::new(map))
        }
        // An instant in any unit, to milliseconds. The values are instants whatever zone the
        // writer named (Parquet's, and INT96 as Hive writes it, are UTC): only the unit changes.
        (DataType::Timestamp(unit, _), DataType::Timestamp(TimeUnit::Millisecond, _)) => {
            let raw = match unit {
                TimeUnit::Second => column.as_primitive::<TimestampSecondType>().reinterpret_cast::<Int64Type>(),
                TimeUnit::Millisecond => {
                    column.as_primitive::<TimestampMillisecondType>().reinterpret_cast::<Int64Type>()
                }
                TimeUnit::Microsecond => {
                    column.as_primitive::<TimestampMicrosecondType>().reinterpret_cast::<Int64Type>()
                }
                TimeUnit::Nanosecond => {
                    column.as_primitive::<TimestampNanosecondType>().reinterpret_cast::<Int64Type>()
                }
            };
            let millis: Int64Array = match unit {
                TimeUnit::Second => raw
                    .try_unary(|s| s.checked_mul(1_000).ok_or(ArrowError::ComputeError("overflow".into())))
                    .map_err(|_| refused("a time is out of range".into()))?,
                TimeUnit::Millisecond => raw,
                TimeUnit::Microsecond => raw.unary(|us| us.div_euclid(1_000)),
                TimeUnit::Nanosecond => raw.unary(|ns| ns.div_euclid(1_000_000)),
            };
            let (_, values, nulls) = millis.into_parts();
            Ok(Arc::new(TimestampMillisecondArray::new(values, nulls).with_timezone("UTC")))
        }
        (DataType::LargeUtf8, DataType::Utf8) => {
            Ok(Arc::new(column.as_string::<i64>().iter().collect::<StringArray>()))
        }
        (DataType::Utf8View, DataType::Utf8) => Ok(Arc::new(column.as_string_view().iter().collect::<StringArray>())),
        (DataType::Dictionary(_, values), DataType::Utf8) if values.is_string() => {
            let dictionary = column.as_any_dictionary_opt().ok_or_else(|| refused("not a dictionary".into()))?;
            let keys: Vec<u32> = dictionary.normalized_keys().into_iter().map(|k| k as u32).collect();
            let keys = UInt32Array::new(keys.into(), dictionary.keys().nulls().cloned());
            let plain =
                arrow_select::take::take(dictionary.values(), &keys, None).map_err(|e| refused(e.to_string()))?;
            cast_column(&plain, field)
        }
        (other, _) => Err(refused(format!("cannot be read as {wanted}, other than {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{MapBuilder, MapFieldNames, StringBuilder};
    use arrow_array::{LargeStringArray, TimestampNanosecondArray};

    /// A batch as a foreign writer makes it: nanosecond timestamps without a zone (how INT96
    /// reads), large strings, a map with other field names and a null map, no `trace_id`
    /// column (an older schema), names in capitals.
    fn foreign_batch(extra: bool) -> RecordBatch {
        let ns = |ms: i64| ms * 1_000_000;
        let mut fields = vec![
            Field::new("EVENT_TIME", DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, None), true),
            Field::new("ingest_time", DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, None), true),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampNanosecondArray::from(vec![ns(1_795_168_800_123), ns(1_795_168_800_456)])),
            Arc::new(TimestampNanosecondArray::from(vec![ns(1_795_168_801_000), ns(1_795_168_801_000)])),
        ];
        for name in ["event_id", "source", "account_id", "region", "log_group", "format", "message"] {
            fields.push(Field::new(name, DataType::LargeUtf8, true));
            columns.push(Arc::new(LargeStringArray::from(vec![format!("{name}-1"), format!("{name}-2")])));
        }
        // Dictionary-encoded, as a writer's Arrow schema may ask.
        let streams: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
            vec!["stream-b", "stream-a"].into_iter().collect();
        fields.push(Field::new("log_stream", streams.data_type().clone(), true));
        columns.push(Arc::new(streams));
        fields.push(Field::new("level", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(vec![Some("ERROR"), None])));
        let names = MapFieldNames { entry: "entries".into(), key: "k".into(), value: "v".into() };
        let mut map = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
        map.keys().append_value("status");
        map.values().append_value("500");
        map.append(true).unwrap();
        map.append(false).unwrap();
        let map = map.finish();
        fields.push(Field::new("attributes", map.data_type().clone(), true));
        columns.push(Arc::new(map));
        if extra {
            fields.push(Field::new("bytes", DataType::Int64, true));
            columns.push(Arc::new(arrow_array::Int64Array::from(vec![1, 2])));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn a_foreign_file_is_read_as_rows_of_the_table_with_nothing_changed() {
        let batch = foreign_batch(false);
        assert!(!is_logs_schema(&batch.schema()));
        let rows = conform(&batch).unwrap();
        assert_eq!(rows.schema(), logs_schema());
        assert!(is_logs_schema(&rows.schema()));
        let times = rows.column_by_name("event_time").unwrap().as_primitive::<TimestampMillisecondType>();
        assert_eq!(times.values().to_vec(), [1_795_168_800_123, 1_795_168_800_456]);
        assert_eq!(rows.column_by_name("message").unwrap().as_string::<i32>().value(1), "message-2");
        assert_eq!(rows.column_by_name("log_stream").unwrap().as_string::<i32>().value(1), "stream-a");
        assert_eq!(rows.column_by_name("trace_id").unwrap().null_count(), 2, "missing nullable: null");
        let attributes = rows.column_by_name("attributes").unwrap().as_map();
        assert_eq!((attributes.value_length(0), attributes.value_length(1)), (1, 0), "a null map is empty");
        assert_eq!(attributes.keys().as_string::<i32>().value(0), "status");
        // The table's own rows pass through unchanged.
        assert_eq!(conform(&rows).unwrap(), rows);
    }

    #[test]
    fn what_cannot_be_cast_is_refused_with_the_reason() {
        let error = conform(&foreign_batch(true)).unwrap_err();
        assert!(error.0.contains("columns the table does not have: bytes"), "{error}");

        let batch = foreign_batch(false);
        let without_id = batch.project(&(0..batch.num_columns()).filter(|&i| i != 2).collect::<Vec<_>>()).unwrap();
        assert_eq!(conform(&without_id).unwrap_err().0, "required column event_id is missing");

        let mut columns = batch.columns().to_vec();
        columns[0] = Arc::new(TimestampNanosecondArray::from(vec![None, Some(1)]));
        let null_time = RecordBatch::try_new(batch.schema(), columns).unwrap();
        assert_eq!(conform(&null_time).unwrap_err().0, "required column event_time has 1 nulls");

        let mut columns = batch.columns().to_vec();
        let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        columns[3] = Arc::new(arrow_array::Int64Array::from(vec![1, 2]));
        fields[3] = Field::new("source", DataType::Int64, true);
        let wrong_type = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        assert!(conform(&wrong_type).unwrap_err().0.starts_with("column source (Int64): cannot be read as Utf8"));
    }
}
