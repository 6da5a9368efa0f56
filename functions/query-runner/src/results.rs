//! Athena result pages → one Arrow batch, typed by the result's column metadata. Summaries hold
//! text, integers, floating point numbers and booleans; a query casts anything else.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use aws_sdk_athena::types::ResultSet;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResultError {
    #[error("the result has no column metadata")]
    NoColumns,
    #[error("column {column} has Athena type {athena_type}, which a summary does not store (CAST it)")]
    UnsupportedType { column: String, athena_type: String },
    #[error("column {column} row {row}: {value:?} is not a {athena_type}")]
    BadValue { column: String, row: usize, value: String, athena_type: String },
    #[error("row {row} has {found} values for {expected} columns")]
    RowWidth { row: usize, found: usize, expected: usize },
    #[error("building the batch: {0}")]
    Arrow(String),
}

fn arrow_type(athena_type: &str) -> Option<DataType> {
    Some(match athena_type.to_ascii_lowercase().as_str() {
        "varchar" | "char" | "string" => DataType::Utf8,
        "bigint" | "integer" | "int" | "smallint" | "tinyint" => DataType::Int64,
        "double" | "float" | "real" => DataType::Float64,
        "boolean" => DataType::Boolean,
        _ => return None,
    })
}

/// The pages of one `GetQueryResults` sequence. The first row of a `SELECT`'s first page is
/// the header (the column names), and is skipped.
pub fn to_record_batch(pages: &[ResultSet]) -> Result<(SchemaRef, RecordBatch), ResultError> {
    let columns = pages
        .first()
        .and_then(|p| p.result_set_metadata())
        .map(|m| m.column_info())
        .filter(|c| !c.is_empty())
        .ok_or(ResultError::NoColumns)?;
    let mut fields = Vec::new();
    for column in columns {
        let data_type = arrow_type(column.r#type()).ok_or_else(|| ResultError::UnsupportedType {
            column: column.name().to_owned(),
            athena_type: column.r#type().to_owned(),
        })?;
        fields.push(Field::new(column.name(), data_type, true));
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
    let mut cells: Vec<Vec<Option<&str>>> = vec![Vec::new(); columns.len()];
    for (page_index, page) in pages.iter().enumerate() {
        for (row_index, row) in page.rows().iter().enumerate() {
            let values: Vec<Option<&str>> = row.data().iter().map(|d| d.var_char_value()).collect();
            if page_index == 0
                && row_index == 0
                && values.iter().map(|v| v.unwrap_or_default()).eq(names.iter().copied())
            {
                continue;
            }
            if values.len() != columns.len() {
                return Err(ResultError::RowWidth {
                    row: cells[0].len(),
                    found: values.len(),
                    expected: columns.len(),
                });
            }
            for (column, value) in values.into_iter().enumerate() {
                cells[column].push(value);
            }
        }
    }
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for ((field, column), values) in fields.iter().zip(columns).zip(&cells) {
        let bad = |row: usize, value: &str| ResultError::BadValue {
            column: column.name().to_owned(),
            row,
            value: value.chars().take(40).collect(),
            athena_type: column.r#type().to_owned(),
        };
        let array: ArrayRef = match field.data_type() {
            DataType::Int64 => Arc::new(parse_all::<i64, Int64Array>(values, bad)?),
            DataType::Float64 => Arc::new(parse_all::<f64, Float64Array>(values, bad)?),
            DataType::Boolean => Arc::new(parse_all::<bool, BooleanArray>(values, bad)?),
            _ => Arc::new(values.iter().copied().collect::<StringArray>()),
        };
        arrays.push(array);
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| ResultError::Arrow(e.to_string()))?;
    Ok((schema, batch))
}

/// A column of text cells parsed as `T`; a null stays null, a cell that does not parse is `bad`.
fn parse_all<T: std::str::FromStr, A: FromIterator<Option<T>>>(
    values: &[Option<&str>],
    bad: impl Fn(usize, &str) -> ResultError,
) -> Result<A, ResultError> {
    values.iter().enumerate().map(|(row, v)| v.map(|v| v.parse::<T>().map_err(|_| bad(row, v))).transpose()).collect()
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use aws_sdk_athena::types::{ColumnInfo, Datum, ResultSetMetadata, Row};

    use super::*;

    pub(crate) fn page(columns: &[(&str, &str)], rows: &[&[Option<&str>]]) -> ResultSet {
        let info = columns.iter().map(|(n, t)| ColumnInfo::builder().name(*n).r#type(*t).build().unwrap());
        let row = |values: &[Option<&str>]| {
            Row::builder()
                .set_data(Some(
                    values.iter().map(|v| Datum::builder().set_var_char_value(v.map(str::to_owned)).build()).collect(),
                ))
                .build()
        };
        ResultSet::builder()
            .result_set_metadata(ResultSetMetadata::builder().set_column_info(Some(info.collect())).build())
            .set_rows(Some(rows.iter().map(|r| row(r)).collect()))
            .build()
    }

    #[test]
    fn rows_become_typed_columns_without_the_header_and_nulls_stay_null() {
        let columns = [("log_group", "varchar"), ("events", "bigint"), ("p50", "double")];
        let first =
            page(&columns, &[&[Some("log_group"), Some("events"), Some("p50")], &[Some("/a"), Some("3"), None]]);
        let second = page(&columns, &[&[Some("/b'; DROP"), Some("-7"), Some("1.5E2")]]);
        let (schema, batch) = to_record_batch(&[first, second]).unwrap();
        assert_eq!(schema.field(1).data_type(), &DataType::Int64);
        assert_eq!(batch.num_rows(), 2);
        let p50 = batch.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(p50.is_null(0));
        assert_eq!(p50.value(1), 150.0);
        let groups = batch.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(groups.value(1), "/b'; DROP");
    }

    #[test]
    fn results_a_summary_cannot_hold_are_refused_with_the_reason() {
        let timestamp = page(&[("t", "timestamp")], &[]);
        assert!(matches!(to_record_batch(&[timestamp]), Err(ResultError::UnsupportedType { .. })));
        let bad = page(&[("n", "bigint")], &[&[Some("n")], &[Some("twelve")]]);
        assert!(to_record_batch(&[bad]).unwrap_err().to_string().contains("\"twelve\" is not a bigint"));
        let narrow = page(&[("a", "varchar"), ("b", "varchar")], &[&[Some("x")]]);
        assert!(matches!(to_record_batch(&[narrow]), Err(ResultError::RowWidth { .. })));
        assert_eq!(to_record_batch(&[]).unwrap_err(), ResultError::NoColumns);
    }
}
