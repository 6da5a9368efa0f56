//! The `logs` table, defined once as an Arrow schema. The Parquet writer, the Athena DDL the
//! CLI prints and the Glue columns in template.yaml are all derived from (and tested against)
//! this definition.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::lake::layout::{CURATED_PREFIX, STAGING_PREFIX};

pub const SCHEMA_VERSION: u32 = 1;

/// The `dt` values partition projection enumerates: every day a writer can produce. Event times
/// are trusted from 2000-01-01T00:00Z to a day past arrival (`parse::timestamp`'s
/// `MIN_PLAUSIBLE_MS`, `MAX_FUTURE_MS`; shared/tests/layout.rs checks the two agree); in the
/// partition zone (UTC-12 to UTC+14) that is 1999-12-31 to two days past today's UTC date. (Starting at 2020, rows of
/// 2000–2019 were written but never seen through any table.)
pub const PROJECTION_DT_RANGE: &str = "1999-12-31,NOW+2DAYS";

/// Partition columns, in order. They live in the object keys, not in the files.
pub const PARTITION_COLUMNS: [&str; 2] = ["dt", "hour"];

fn utc_millis() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The map type of `attributes`, with the field names the Parquet spec uses for MAP.
pub fn attributes_type() -> DataType {
    let entries = Field::new(
        "key_value",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The Arrow schema of the `logs` table (data columns only).
pub fn logs_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("event_time", utc_millis(), false),
                Field::new("ingest_time", utc_millis(), false),
                Field::new("event_id", DataType::Utf8, false),
                Field::new("source", DataType::Utf8, false),
                Field::new("account_id", DataType::Utf8, false),
                Field::new("region", DataType::Utf8, false),
                Field::new("log_group", DataType::Utf8, false),
                Field::new("log_stream", DataType::Utf8, false),
                Field::new("format", DataType::Utf8, false),
                Field::new("level", DataType::Utf8, true),
                Field::new("message", DataType::Utf8, false),
                Field::new("request_id", DataType::Utf8, true),
                Field::new("trace_id", DataType::Utf8, true),
                Field::new("attributes", attributes_type(), false),
            ]))
        })
        .clone()
}

/// The Hive / Athena type of an Arrow type used in this schema.
pub fn hive_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Timestamp(_, _) => "timestamp".to_owned(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::Int32 => "int".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Float32 => "float".to_owned(),
        DataType::Date32 => "date".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                format!("map<{},{}>", hive_type(fields[0].data_type()), hive_type(fields[1].data_type()))
            }
            other => format!("unsupported<{other}>"),
        },
        DataType::Struct(fields) => {
            let fields: Vec<String> =
                fields.iter().map(|f| format!("{}:{}", f.name(), hive_type(f.data_type()))).collect();
            format!("struct<{}>", fields.join(","))
        }
        other => format!("unsupported<{other}>"),
    }
}

/// The Presto / Trino type of an Arrow type used in this schema (Athena view documents use these).
pub fn presto_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Timestamp(_, _) => "timestamp(3)".to_owned(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::Int32 => "integer".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Float32 => "real".to_owned(),
        DataType::Date32 => "date".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                format!("map({},{})", presto_type(fields[0].data_type()), presto_type(fields[1].data_type()))
            }
            other => format!("unsupported<{other}>"),
        },
        DataType::Struct(fields) => {
            let fields: Vec<String> =
                fields.iter().map(|f| format!("{} {}", f.name(), presto_type(f.data_type()))).collect();
            format!("row({})", fields.join(", "))
        }
        other => format!("unsupported<{other}>"),
    }
}

/// `(name, hive type)` for every data column, in order: what Glue's `Columns` must list.
pub fn hive_columns() -> Vec<(String, String)> {
    logs_schema().fields().iter().map(|f| (f.name().clone(), hive_type(f.data_type()))).collect()
}

/// Which table of the lake: the curated one, or the staging files ingest writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Logs,
    Staging,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Logs => "logs",
            Table::Staging => "logs_staging",
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Table::Logs => CURATED_PREFIX,
            Table::Staging => STAGING_PREFIX,
        }
    }
}

/// Refuses a bucket name S3 would refuse (it reaches SQL text and locations).
pub fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if valid { Ok(()) } else { Err(format!("{bucket:?} is not a valid S3 bucket name")) }
}

/// Athena DDL for a table of the lake in `bucket`, with partition projection so that neither a
/// crawler nor `MSCK REPAIR TABLE` is needed. `bucket` is checked: it reaches SQL text.
pub fn athena_ddl(table: Table, bucket: &str) -> Result<String, String> {
    check_bucket_name(bucket)?;
    let location = format!("s3://{bucket}/{}", table.prefix());
    Ok(projected_table_ddl(table.name(), &location, &hive_columns(), true))
}

/// `CREATE EXTERNAL TABLE` for Parquet under `location` (`s3://…/`), partitioned by `dt` (and
/// `hour` when `hourly`) with partition projection. Names and types are loglake's own.
pub fn projected_table_ddl(name: &str, location: &str, columns: &[(String, String)], hourly: bool) -> String {
    let columns = columns.iter().map(|(name, ty)| format!("  `{name}` {ty}")).collect::<Vec<_>>().join(",\n");
    let (partitions, hour, template) = if hourly {
        (
            "`dt` string, `hour` string",
            "'projection.hour.type'='integer',\n'projection.hour.range'='0,23',\n'projection.hour.digits'='2',\n",
            "dt=${dt}/hour=${hour}/",
        )
    } else {
        ("`dt` string", "", "dt=${dt}/")
    };
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{name}` (\n{columns}\n)\n\
PARTITIONED BY ({partitions})\n\
STORED AS PARQUET\n\
LOCATION '{location}'\n\
TBLPROPERTIES (\n\
  'projection.enabled'='true',\n\
  'projection.dt.type'='date',\n\
  'projection.dt.format'='yyyy-MM-dd',\n\
  'projection.dt.range'='{PROJECTION_DT_RANGE}',\n\
  'projection.dt.interval'='1',\n\
  'projection.dt.interval.unit'='DAYS',\n\
{hour}\
  'storage.location.template'='{location}{template}',\n\
  'parquet.compression'='ZSTD',\n\
  'loglake.schema_version'='{SCHEMA_VERSION}'\n\
);\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_columns_follow_the_design() {
        let cols = hive_columns();
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "event_time",
                "ingest_time",
                "event_id",
                "source",
                "account_id",
                "region",
                "log_group",
                "log_stream",
                "format",
                "level",
                "message",
                "request_id",
                "trace_id",
                "attributes"
            ]
        );
        assert_eq!(cols[0].1, "timestamp");
        assert_eq!(cols[13].1, "map<string,string>");
        assert!(cols.iter().all(|(_, t)| !t.starts_with("unsupported")));
    }

    #[test]
    fn ddl_lists_every_column_and_projection() {
        let ddl = athena_ddl(Table::Logs, "my-lake").unwrap();
        for (name, ty) in hive_columns() {
            assert!(ddl.contains(&format!("`{name}` {ty}")), "{name}");
        }
        assert!(ddl.contains("LOCATION 's3://my-lake/logs/'"));
        assert!(ddl.contains("'storage.location.template'='s3://my-lake/logs/dt=${dt}/hour=${hour}/'"));
        assert!(athena_ddl(Table::Staging, "my-lake").unwrap().contains("s3://my-lake/staging/logs/"));
    }

    #[test]
    fn ddl_refuses_a_bucket_name_that_could_inject_sql() {
        assert!(athena_ddl(Table::Logs, "x'; DROP TABLE logs; --").is_err());
        assert!(athena_ddl(Table::Logs, "UPPER").is_err());
    }
}
