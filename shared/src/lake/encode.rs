//! Records → Arrow → ZSTD Parquet bytes, in the `logs` schema.

use std::sync::Arc;

use arrow_array::builder::{MapBuilder, MapFieldNames, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::lake::record::Record;
use crate::lake::schema::logs_schema;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("building the Arrow batch failed: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("writing Parquet failed: {0}")]
    Parquet(#[from] ParquetError),
}

/// Writer settings: ZSTD at `zstd_level`; page-level statistics (min/max, null count) on the
/// columns readers filter on, so Athena and DuckDB can skip pages; none on `message` and the
/// attribute values, whose min/max prune nothing and cost a comparison per value; dictionary
/// encoding for the low-cardinality columns only — for `message` and `event_id` a dictionary
/// costs time and never pays.
pub fn writer_properties(zstd_level: i32) -> WriterProperties {
    properties(zstd_level, false)
}

/// [`writer_properties`] with statistics on every column, `message` and attribute values
/// included (truncated to 64 bytes): curated files are read for years, and written once.
pub fn curated_writer_properties(zstd_level: i32) -> WriterProperties {
    properties(zstd_level, true)
}

fn properties(zstd_level: i32, every_statistic: bool) -> WriterProperties {
    let level = ZstdLevel::try_new(zstd_level).unwrap_or_default();
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_statistics_truncate_length(Some(64))
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(1 << 20))
        .set_created_by(format!("loglake {}", env!("CARGO_PKG_VERSION")));
    let path = |dotted: &str| ColumnPath::new(dotted.split('.').map(str::to_owned).collect());
    for column in ["message", "event_id", "attributes.key_value.value"] {
        builder = builder.set_column_dictionary_enabled(path(column), false);
    }
    if !every_statistic {
        for column in ["message", "attributes.key_value.value"] {
            builder = builder.set_column_statistics_enabled(path(column), EnabledStatistics::None);
        }
    }
    builder.build()
}

/// The records as one Arrow batch in the `logs` schema.
pub fn to_record_batch(records: &[&Record<'_>]) -> Result<RecordBatch, EncodeError> {
    let n = records.len();
    fn strings<'r>(records: &[&'r Record<'_>], f: impl Fn(&'r Record<'_>) -> &'r str) -> ArrayRef {
        Arc::new(records.iter().map(|r| Some(f(r))).collect::<StringArray>())
    }
    fn optional<'r>(records: &[&'r Record<'_>], f: impl Fn(&'r Record<'_>) -> Option<&'r str>) -> ArrayRef {
        Arc::new(records.iter().map(|r| f(r)).collect::<StringArray>())
    }
    fn times(records: &[&Record<'_>], f: impl Fn(&Record<'_>) -> i64) -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from_iter_values(records.iter().map(|r| f(r))).with_timezone("UTC"))
    }

    let names = MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
    let attribute_count: usize = records.iter().map(|r| r.attributes.len()).sum();
    let mut attributes = MapBuilder::with_capacity(
        Some(names),
        StringBuilder::with_capacity(attribute_count, attribute_count * 12),
        StringBuilder::with_capacity(attribute_count, attribute_count * 24),
        n,
    )
    .with_keys_field(Arc::new(arrow_schema::Field::new("key", arrow_schema::DataType::Utf8, false)))
    .with_values_field(Arc::new(arrow_schema::Field::new("value", arrow_schema::DataType::Utf8, true)));
    for record in records {
        for (key, value) in &record.attributes {
            attributes.keys().append_value(key);
            attributes.values().append_value(value);
        }
        attributes.append(true)?;
    }

    let columns: Vec<ArrayRef> = vec![
        times(records, |r| r.event_time_ms),
        times(records, |r| r.ingest_time_ms),
        strings(records, |r| &r.event_id),
        strings(records, |r| r.source),
        strings(records, |r| &r.account_id),
        strings(records, |r| &r.region),
        strings(records, |r| &r.log_group),
        strings(records, |r| &r.log_stream),
        strings(records, |r| r.format.as_str()),
        optional(records, |r| r.level.map(|l| l.as_str())),
        strings(records, |r| &r.message),
        optional(records, |r| r.request_id.as_deref()),
        optional(records, |r| r.trace_id.as_deref()),
        Arc::new(attributes.finish()),
    ];
    Ok(RecordBatch::try_new(logs_schema(), columns)?)
}

/// The records as one Parquet file, in memory.
pub fn encode_parquet(records: &[&Record<'_>], zstd_level: i32) -> Result<Vec<u8>, EncodeError> {
    let batch = to_record_batch(records)?;
    let mut out = Vec::with_capacity(records.iter().map(|r| r.message.len()).sum::<usize>() / 4 + 4096);
    let mut writer = ArrowWriter::try_new(&mut out, logs_schema(), Some(writer_properties(zstd_level)))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}

/// Small tables loglake writes besides the logs (summaries, query runs): any schema, ZSTD,
/// statistics on every column.
pub fn encode_batches(schema: arrow_schema::SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, EncodeError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("loglake {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::lake::record::{Level, LineFormat};

    fn record(i: usize) -> Record<'static> {
        Record {
            event_time_ms: 1_795_168_800_000 + i as i64,
            ingest_time_ms: 1_795_168_900_000,
            event_id: Cow::Owned(format!("id-{i}")),
            source: "cloudwatch",
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            log_group: "/aws/lambda/f".into(),
            log_stream: "s".into(),
            format: LineFormat::Json,
            level: i.is_multiple_of(2).then_some(Level::Info),
            message: Cow::Owned(format!("{{\"n\":{i}}}")),
            request_id: None,
            trace_id: None,
            attributes: vec![("n".into(), Cow::Owned(i.to_string()))],
        }
    }

    #[test]
    fn column_settings_reach_nested_columns() {
        let records: Vec<Record<'static>> = (0..100).map(record).collect();
        let refs: Vec<&Record<'_>> = records.iter().collect();
        let bytes = encode_parquet(&refs, 1).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let row_group = reader.metadata().row_group(0);
        for column in row_group.columns() {
            let path = column.column_path().string();
            assert_eq!(column.compression(), Compression::ZSTD(ZstdLevel::try_new(1).unwrap()), "{path}");
            let dictionary = column.dictionary_page_offset().is_some();
            let statistics = column.statistics().is_some();
            match path.as_str() {
                "message" | "attributes.key_value.value" => assert!(!dictionary && !statistics, "{path}"),
                "event_id" => assert!(!dictionary && statistics, "{path}"),
                _ => assert!(statistics, "{path}"),
            }
        }
        assert_eq!(row_group.num_rows(), 100);
    }
}
