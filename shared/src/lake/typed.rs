//! The typed tables: one per AWS service log loglake parses, with the column names and types of
//! the AWS documentation's Athena table for that log (`vpc_flow_logs.bytes bigint`,
//! `alb_logs.elb_status_code int`, `cloudtrail_logs.useridentity.arn`), so that a user can copy
//! an AWS sample query and change only the table name. docs/typed-layout.md says why these are
//! tables of their own rather than columns of `logs`.
//!
//! A typed table's row is a `logs` row of its format, rearranged:
//! - the envelope columns of `logs` (`event_time`, `event_id`, `log_group`, `message`, …), with
//!   the same names, except where the AWS table has a column of the same name: VPC flow logs'
//!   `account_id` and `region` are the flow's, and the envelope's are `source_account_id` and
//!   `source_region`;
//! - the typed columns, each read from a parsed attribute;
//! - `attributes`: every attribute no typed column holds. A value that cannot be read as its
//!   column's type (`bytes` = `abc`) leaves the column null and stays here as text, so nothing the
//!   parser found is lost; the original line is `message`, as in `logs`.
//!
//! Staging files stay in the `logs` schema: the compactor converts the rows of each typed format
//! as it writes the curated files ([`typed_batch`]). Everything about a table — its Arrow schema,
//! its Athena DDL, its Glue columns — is derived from the definitions here.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow_array::builder::{
    ArrayBuilder, Date32Builder, Float32Builder, Float64Builder, Int32Builder, Int64Builder, MapBuilder, MapFieldNames,
    StringBuilder, StructBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, MapArray, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};

use crate::lake::layout::{CURATED_PREFIX, curated_run_marker, partition_of};
use crate::lake::record::LineFormat;
use crate::lake::schema::logs_schema;

/// The type of a typed column, as the AWS documentation's table declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `string`: the attribute's text.
    Text,
    /// `int`: a 32-bit integer.
    Int,
    /// `bigint`
    BigInt,
    /// `double`: a finite number.
    Double,
    /// `float` (Athena's `real`): a finite number that a 32-bit float holds.
    Float,
    /// `date`: a day, `YYYY-MM-DD`.
    Date,
    /// `struct<…:string>`: named text fields, each from an attribute (`useridentity`). Null when
    /// none of them is present.
    TextStruct(&'static [(&'static str, &'static str)]),
}

/// A typed column: its AWS name, the attribute it is read from (unused for a struct, whose
/// fields name theirs) and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedColumn {
    pub name: &'static str,
    pub attribute: &'static str,
    pub kind: Kind,
}

const fn column(name: &'static str, attribute: &'static str, kind: Kind) -> TypedColumn {
    TypedColumn { name, attribute, kind }
}

/// A typed table: its name, the one line format whose rows it holds, and its typed columns.
#[derive(Debug, PartialEq, Eq)]
pub struct TypedTable {
    pub name: &'static str,
    pub format: LineFormat,
    pub columns: &'static [TypedColumn],
    /// Where the AWS table is partitioned by a day (VPC flow logs' `date`): the name under which
    /// the reader view `<table>_all` has the partition's day, `dt` as a `date`, so that the AWS
    /// sample queries that select or filter it run as written.
    pub partition_day: Option<&'static str>,
}

use Kind::{BigInt, Double, Int, Text};

/// VPC flow logs, as the AWS documentation's `vpc_flow_logs` table (the default fields and the
/// later ones it lists, in its order), and Transit Gateway flow logs, which share the format. The
/// AWS documentation gives no Athena table for those: their own fields follow, named as the flow
/// log field names are (`tgw-attachment-id` → `tgw_attachment_id`), the packet counts `bigint`
/// as `packets` is.
pub const VPC_FLOW_LOGS: TypedTable = TypedTable {
    name: "vpc_flow_logs",
    format: LineFormat::VpcFlow,
    partition_day: Some("date"),
    columns: &[
        column("version", "version", Int),
        column("account_id", "account_id", Text),
        column("interface_id", "interface_id", Text),
        column("srcaddr", "src_addr", Text),
        column("dstaddr", "dst_addr", Text),
        column("srcport", "src_port", Int),
        column("dstport", "dst_port", Int),
        column("protocol", "protocol", BigInt),
        column("packets", "packets", BigInt),
        column("bytes", "bytes", BigInt),
        column("start", "start", BigInt),
        column("end", "end", BigInt),
        column("action", "action", Text),
        column("log_status", "log_status", Text),
        column("vpc_id", "vpc_id", Text),
        column("subnet_id", "subnet_id", Text),
        column("instance_id", "instance_id", Text),
        column("tcp_flags", "tcp_flags", Int),
        column("type", "type", Text),
        column("pkt_srcaddr", "pkt_src_addr", Text),
        column("pkt_dstaddr", "pkt_dst_addr", Text),
        column("region", "region", Text),
        column("az_id", "az_id", Text),
        column("sublocation_type", "sublocation_type", Text),
        column("sublocation_id", "sublocation_id", Text),
        column("pkt_src_aws_service", "pkt_src_aws_service", Text),
        column("pkt_dst_aws_service", "pkt_dst_aws_service", Text),
        column("flow_direction", "flow_direction", Text),
        column("traffic_path", "traffic_path", Int),
        column("resource_type", "resource_type", Text),
        column("tgw_id", "tgw_id", Text),
        column("tgw_attachment_id", "tgw_attachment_id", Text),
        column("tgw_src_vpc_account_id", "tgw_src_vpc_account_id", Text),
        column("tgw_dst_vpc_account_id", "tgw_dst_vpc_account_id", Text),
        column("tgw_src_vpc_id", "tgw_src_vpc_id", Text),
        column("tgw_dst_vpc_id", "tgw_dst_vpc_id", Text),
        column("tgw_src_subnet_id", "tgw_src_subnet_id", Text),
        column("tgw_dst_subnet_id", "tgw_dst_subnet_id", Text),
        column("tgw_src_eni", "tgw_src_eni", Text),
        column("tgw_dst_eni", "tgw_dst_eni", Text),
        column("tgw_src_az_id", "tgw_src_az_id", Text),
        column("tgw_dst_az_id", "tgw_dst_az_id", Text),
        column("tgw_pair_attachment_id", "tgw_pair_attachment_id", Text),
        column("packets_lost_no_route", "packets_lost_no_route", BigInt),
        column("packets_lost_blackhole", "packets_lost_blackhole", BigInt),
        column("packets_lost_mtu_exceeded", "packets_lost_mtu_exceeded", BigInt),
        column("packets_lost_ttl_expired", "packets_lost_ttl_expired", BigInt),
    ],
};

/// Application Load Balancer access logs, as the AWS documentation's `alb_logs` table. Its
/// `time` is the line's text (`event_time` the same instant, to the millisecond), and its
/// `trace_id` the envelope's (the root id).
pub const ALB_LOGS: TypedTable = TypedTable {
    name: "alb_logs",
    format: LineFormat::Alb,
    partition_day: None,
    columns: &[
        column("type", "type", Text),
        column("time", "time", Text),
        column("elb", "elb", Text),
        column("client_ip", "client_ip", Text),
        column("client_port", "client_port", Int),
        column("target_ip", "target_ip", Text),
        column("target_port", "target_port", Int),
        column("request_processing_time", "request_processing_time", Double),
        column("target_processing_time", "target_processing_time", Double),
        column("response_processing_time", "response_processing_time", Double),
        column("elb_status_code", "elb_status_code", Int),
        column("target_status_code", "target_status_code", Text),
        column("received_bytes", "received_bytes", BigInt),
        column("sent_bytes", "sent_bytes", BigInt),
        column("request_verb", "http_method", Text),
        column("request_url", "url", Text),
        column("request_proto", "http_version", Text),
        column("user_agent", "user_agent", Text),
        column("ssl_cipher", "ssl_cipher", Text),
        column("ssl_protocol", "ssl_protocol", Text),
        column("target_group_arn", "target_group_arn", Text),
        column("domain_name", "domain_name", Text),
        column("chosen_cert_arn", "chosen_cert_arn", Text),
        column("matched_rule_priority", "matched_rule_priority", Text),
        column("request_creation_time", "request_creation_time", Text),
        column("actions_executed", "actions_executed", Text),
        column("redirect_url", "redirect_url", Text),
        column("lambda_error_reason", "error_reason", Text),
        column("target_port_list", "target_port_list", Text),
        column("target_status_code_list", "target_status_code_list", Text),
        column("classification", "classification", Text),
        column("classification_reason", "classification_reason", Text),
        column("conn_trace_id", "conn_trace_id", Text),
    ],
};

/// Network Load Balancer access logs (TLS listeners), as the AWS documentation's `nlb_tls_logs`
/// table; the parser's names for its fields are older (`listener`, `destination_ip`,
/// `connection_time` …).
pub const NLB_LOGS: TypedTable = TypedTable {
    name: "nlb_logs",
    format: LineFormat::Nlb,
    partition_day: None,
    columns: &[
        column("type", "type", Text),
        column("version", "version", Text),
        column("time", "time", Text),
        column("elb", "elb", Text),
        column("listener_id", "listener", Text),
        column("client_ip", "client_ip", Text),
        column("client_port", "client_port", Int),
        column("target_ip", "destination_ip", Text),
        column("target_port", "destination_port", Int),
        column("tcp_connection_time_ms", "connection_time", Double),
        column("tls_handshake_time_ms", "tls_handshake_time", Double),
        column("received_bytes", "received_bytes", BigInt),
        column("sent_bytes", "sent_bytes", BigInt),
        column("incoming_tls_alert", "incoming_tls_alert", Int),
        column("cert_arn", "chosen_cert_arn", Text),
        column("certificate_serial", "chosen_cert_serial", Text),
        column("tls_cipher_suite", "tls_cipher", Text),
        column("tls_protocol_version", "tls_protocol_version", Text),
        column("tls_named_group", "tls_named_group", Text),
        column("domain_name", "domain_name", Text),
        column("alpn_fe_protocol", "alpn_fe_protocol", Text),
        column("alpn_be_protocol", "alpn_be_protocol", Text),
        column("alpn_client_preference_list", "alpn_client_preference_list", Text),
        column("tls_connection_creation_time", "tls_connection_creation_time", Text),
    ],
};

/// Classic Load Balancer access logs, as the AWS documentation's `elb_logs` table.
pub const ELB_LOGS: TypedTable = TypedTable {
    name: "elb_logs",
    format: LineFormat::ElbClassic,
    partition_day: None,
    columns: &[
        column("timestamp", "time", Text),
        column("elb_name", "elb", Text),
        column("request_ip", "client_ip", Text),
        column("request_port", "client_port", Int),
        column("backend_ip", "backend_ip", Text),
        column("backend_port", "backend_port", Int),
        column("request_processing_time", "request_processing_time", Double),
        column("backend_processing_time", "backend_processing_time", Double),
        column("client_response_time", "response_processing_time", Double),
        column("elb_response_code", "elb_status_code", Text),
        column("backend_response_code", "backend_status_code", Text),
        column("received_bytes", "received_bytes", BigInt),
        column("sent_bytes", "sent_bytes", BigInt),
        column("request_verb", "http_method", Text),
        column("url", "url", Text),
        column("protocol", "http_version", Text),
        column("user_agent", "user_agent", Text),
        column("ssl_cipher", "ssl_cipher", Text),
        column("ssl_protocol", "ssl_protocol", Text),
    ],
};

/// CloudFront standard logs, as the AWS documentation's `cloudfront_standard_logs` table (its
/// `cs_referrer` is the log's `cs(Referer)`). `date` and `time` are the line's UTC day and time,
/// `event_time` the same instant. A `#Version` / `#Fields` header line is a row with every typed
/// column null (the AWS table skips them).
pub const CLOUDFRONT_LOGS: TypedTable = TypedTable {
    name: "cloudfront_logs",
    format: LineFormat::CloudFront,
    partition_day: None,
    columns: &[
        column("date", "date", Kind::Date),
        column("time", "time", Text),
        column("x_edge_location", "x_edge_location", Text),
        column("sc_bytes", "sc_bytes", BigInt),
        column("c_ip", "c_ip", Text),
        column("cs_method", "cs_method", Text),
        column("cs_host", "cs_host", Text),
        column("cs_uri_stem", "cs_uri_stem", Text),
        column("sc_status", "sc_status", Int),
        column("cs_referrer", "cs_referer", Text),
        column("cs_user_agent", "cs_user_agent", Text),
        column("cs_uri_query", "cs_uri_query", Text),
        column("cs_cookie", "cs_cookie", Text),
        column("x_edge_result_type", "x_edge_result_type", Text),
        column("x_edge_request_id", "x_edge_request_id", Text),
        column("x_host_header", "x_host_header", Text),
        column("cs_protocol", "cs_protocol", Text),
        column("cs_bytes", "cs_bytes", BigInt),
        column("time_taken", "time_taken", Kind::Float),
        column("x_forwarded_for", "x_forwarded_for", Text),
        column("ssl_protocol", "ssl_protocol", Text),
        column("ssl_cipher", "ssl_cipher", Text),
        column("x_edge_response_result_type", "x_edge_response_result_type", Text),
        column("cs_protocol_version", "cs_protocol_version", Text),
        column("fle_status", "fle_status", Text),
        column("fle_encrypted_fields", "fle_encrypted_fields", Int),
        column("c_port", "c_port", Int),
        column("time_to_first_byte", "time_to_first_byte", Kind::Float),
        column("x_edge_detailed_result_type", "x_edge_detailed_result_type", Text),
        column("sc_content_type", "sc_content_type", Text),
        column("sc_content_len", "sc_content_len", BigInt),
        column("sc_range_start", "sc_range_start", BigInt),
        column("sc_range_end", "sc_range_end", BigInt),
    ],
};

/// CloudTrail records, as the AWS documentation's `cloudtrail_logs` table. `resources` and
/// `tlsdetails` (an array and a struct there) stay in `attributes` as JSON text.
pub const CLOUDTRAIL_LOGS: TypedTable = TypedTable {
    name: "cloudtrail_logs",
    format: LineFormat::CloudTrail,
    partition_day: None,
    columns: &[
        column("eventversion", "event_version", Text),
        column(
            "useridentity",
            "",
            Kind::TextStruct(&[
                ("type", "user_identity_type"),
                ("principalid", "user_identity_principal_id"),
                ("arn", "user_identity_arn"),
                ("accountid", "user_identity_account_id"),
                ("invokedby", "user_identity_invoked_by"),
                ("accesskeyid", "user_identity_access_key_id"),
                ("username", "user_identity_user_name"),
            ]),
        ),
        column("eventtime", "event_time", Text),
        column("eventsource", "event_source", Text),
        column("eventname", "event_name", Text),
        column("awsregion", "aws_region", Text),
        column("sourceipaddress", "source_ip_address", Text),
        column("useragent", "user_agent", Text),
        column("errorcode", "error_code", Text),
        column("errormessage", "error_message", Text),
        column("requestparameters", "request_parameters", Text),
        column("responseelements", "response_elements", Text),
        column("additionaleventdata", "additional_event_data", Text),
        column("requestid", "request_id", Text),
        column("eventid", "event_id", Text),
        column("eventtype", "event_type", Text),
        column("apiversion", "api_version", Text),
        column("readonly", "read_only", Text),
        column("recipientaccountid", "recipient_account_id", Text),
        column("serviceeventdetails", "service_event_details", Text),
        column("sharedeventid", "shared_event_id", Text),
        column("vpcendpointid", "vpc_endpoint_id", Text),
    ],
};

/// API Gateway access logs in JSON (REST, HTTP and WebSocket APIs). The AWS documentation gives
/// no Athena table for them: the columns are the keys of its example formats and of the
/// `$context` variables most formats add, snake_cased as the parser names them (`httpMethod` →
/// `http_method`). Its `requestId` is the envelope's `request_id`; the keys of a custom format
/// that no column names stay in `attributes`.
pub const APIGATEWAY_LOGS: TypedTable = TypedTable {
    name: "apigateway_logs",
    format: LineFormat::ApiGateway,
    partition_day: None,
    columns: &[
        column("ip", "ip", Text),
        column("caller", "caller", Text),
        column("user", "user", Text),
        column("request_time", "request_time", Text),
        column("request_time_epoch", "request_time_epoch", BigInt),
        column("http_method", "http_method", Text),
        column("resource_path", "resource_path", Text),
        column("route_key", "route_key", Text),
        column("path", "path", Text),
        column("status", "status", Int),
        column("protocol", "protocol", Text),
        column("response_length", "response_length", BigInt),
        column("response_latency", "response_latency", BigInt),
        column("integration_latency", "integration_latency", BigInt),
        column("integration_status", "integration_status", Text),
        column("error_message", "error_message", Text),
        column("integration_error_message", "integration_error_message", Text),
        column("domain_name", "domain_name", Text),
        column("api_id", "api_id", Text),
        column("stage", "stage", Text),
        column("user_agent", "user_agent", Text),
    ],
};

/// Lambda's own lines (format `lambda`): `START`, `END`, `REPORT`, `INIT_START`, the platform
/// records of its JSON log format, and the runtimes' tab-separated application lines. The
/// columns are what a `REPORT` line or a `platform.report` record holds, with the types of the
/// Telemetry API's `platform.report` metrics (durations in ms as doubles, billed durations and
/// memory as integers); `lambda_event` says which line a row is (`report`, `start` …).
pub const LAMBDA_LOGS: TypedTable = TypedTable {
    name: "lambda_logs",
    format: LineFormat::Lambda,
    partition_day: None,
    columns: &[
        column("lambda_event", "lambda_event", Text),
        column("version", "version", Text),
        column("duration_ms", "duration_ms", Double),
        column("billed_duration_ms", "billed_duration_ms", BigInt),
        column("memory_size_mb", "memory_size_mb", Int),
        column("max_memory_used_mb", "max_memory_used_mb", Int),
        column("init_duration_ms", "init_duration_ms", Double),
        column("restore_duration_ms", "restore_duration_ms", Double),
        column("billed_restore_duration_ms", "billed_restore_duration_ms", BigInt),
        column("status", "status", Text),
        column("runtime_version", "runtime_version", Text),
        column("runtime_version_arn", "runtime_version_arn", Text),
    ],
};

/// Every typed table.
pub const TYPED_TABLES: &[&TypedTable] = &[
    &VPC_FLOW_LOGS,
    &ALB_LOGS,
    &NLB_LOGS,
    &ELB_LOGS,
    &CLOUDFRONT_LOGS,
    &CLOUDTRAIL_LOGS,
    &APIGATEWAY_LOGS,
    &LAMBDA_LOGS,
];

/// The typed table of a line format, if it has one.
pub fn table_of(format: LineFormat) -> Option<&'static TypedTable> {
    TYPED_TABLES.iter().copied().find(|t| t.format == format)
}

/// The typed table of a name.
pub fn table_named(name: &str) -> Option<&'static TypedTable> {
    TYPED_TABLES.iter().copied().find(|t| t.name == name)
}

/// A table the compactor writes: `logs`, or a typed table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CuratedTable {
    Logs,
    Typed(&'static TypedTable),
}

impl CuratedTable {
    /// Every curated table: `logs`, then the typed tables.
    pub fn all() -> impl Iterator<Item = CuratedTable> {
        std::iter::once(CuratedTable::Logs).chain(TYPED_TABLES.iter().map(|t| CuratedTable::Typed(t)))
    }

    pub fn name(self) -> &'static str {
        match self {
            CuratedTable::Logs => "logs",
            CuratedTable::Typed(table) => table.name,
        }
    }

    /// Where its files are: `logs/`, `vpc_flow_logs/` …
    pub fn prefix(self) -> String {
        match self {
            CuratedTable::Logs => CURATED_PREFIX.to_owned(),
            CuratedTable::Typed(table) => format!("{}/", table.name),
        }
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            CuratedTable::Logs => logs_schema(),
            CuratedTable::Typed(table) => table.schema(),
        }
    }

    /// `(name, hive type)` of every column but the partitions: what its Glue `Columns` list.
    pub fn hive_columns(self) -> Vec<(String, String)> {
        let schema = self.schema();
        schema.fields().iter().map(|f| (f.name().clone(), crate::lake::schema::hive_type(f.data_type()))).collect()
    }

    /// The table a curated key is in, and its hour (`dt=…/hour=…`).
    pub fn of_key(key: &str) -> Option<(CuratedTable, String)> {
        CuratedTable::all().find_map(|table| partition_of(key, &table.prefix()).map(|hour| (table, hour)))
    }

    /// The table whose rows an input file of a compaction holds: a curated file's own, or `logs`
    /// for a staging file.
    pub fn of_input(key: &str) -> CuratedTable {
        CuratedTable::of_key(key).map_or(CuratedTable::Logs, |(table, _)| table)
    }

    /// `<table>/<hour>/r<run>-<part>.parquet`, `hour` being `dt=…/hour=…`.
    pub fn key(self, hour: &str, run: u64, part: usize) -> String {
        format!("{}{hour}/{}{part:04}.parquet", self.prefix(), curated_run_marker(run))
    }
}

/// The hour (`dt=…/hour=…`) of a curated file of any table.
pub fn curated_hour_of(key: &str) -> Option<String> {
    CuratedTable::of_key(key).map(|(_, hour)| hour)
}

/// Rows of `logs` (a staging file's, or a `logs` file's written before typed tables) split by
/// the table they belong in: each typed format's rows as rows of its table, the rest as they are.
pub fn split_by_table(batch: &RecordBatch) -> Result<Vec<(CuratedTable, RecordBatch)>, ArrowError> {
    let tables = row_tables(batch)?;
    if tables.iter().all(Option::is_none) {
        return Ok(vec![(CuratedTable::Logs, batch.clone())]);
    }
    let mut out = Vec::new();
    for table in CuratedTable::all() {
        out.extend(rows_in(batch, &tables, table)?.map(|rows| (table, rows)));
    }
    Ok(out)
}

/// The rows of a `logs`-shaped batch that belong in `table`, as rows of `table` (`None`: no row
/// does); only that table's rows are converted.
pub fn rows_for_table(batch: &RecordBatch, table: CuratedTable) -> Result<Option<RecordBatch>, ArrowError> {
    rows_in(batch, &row_tables(batch)?, table)
}

/// The typed table of each row of a `logs`-shaped batch (`None`: `logs`), by its `format`.
fn row_tables(batch: &RecordBatch) -> Result<Vec<Option<&'static TypedTable>>, ArrowError> {
    let formats = batch
        .column_by_name("format")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| ArrowError::SchemaError("no format column of strings".into()))?;
    let table_of_row = |row: usize| match formats.is_null(row) {
        true => None,
        false => LineFormat::parse(formats.value(row)).and_then(table_of),
    };
    Ok((0..batch.num_rows()).map(table_of_row).collect())
}

fn rows_in(
    batch: &RecordBatch,
    tables: &[Option<&'static TypedTable>],
    table: CuratedTable,
) -> Result<Option<RecordBatch>, ArrowError> {
    let typed = match table {
        CuratedTable::Logs => None,
        CuratedTable::Typed(t) => Some(t.name),
    };
    let keep: arrow_array::BooleanArray = tables.iter().map(|t| Some(t.map(|t| t.name) == typed)).collect();
    if keep.true_count() == 0 {
        return Ok(None);
    }
    let rows = arrow_select::filter::filter_record_batch(batch, &keep)?;
    Ok(Some(match table {
        CuratedTable::Logs => rows,
        CuratedTable::Typed(t) => typed_batch(t, &rows)?,
    }))
}

/// What an envelope column of `logs` is called in a typed table whose own columns take its name.
const RENAMED_ENVELOPE_PREFIX: &str = "source_";

impl Kind {
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Int => DataType::Int32,
            Kind::BigInt => DataType::Int64,
            Kind::Double => DataType::Float64,
            Kind::Float => DataType::Float32,
            Kind::Date => DataType::Date32,
            Kind::TextStruct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }
}

fn struct_fields(fields: &[(&str, &str)]) -> Fields {
    fields.iter().map(|(name, _)| Field::new(*name, DataType::Utf8, true)).collect()
}

impl TypedTable {
    /// The name in this table of the `logs` column `envelope` (itself, or `source_<it>` where a
    /// typed column has its name).
    pub fn envelope_name(&self, envelope: &str) -> String {
        match self.columns.iter().any(|c| c.name == envelope) {
            true => format!("{RENAMED_ENVELOPE_PREFIX}{envelope}"),
            false => envelope.to_owned(),
        }
    }

    /// A batch of this table as `logs` rows: the envelope under its `logs` names, and the
    /// attributes no typed column holds (the typed values are this table's alone).
    pub fn logs_rows(&self, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let logs = logs_schema();
        let columns = logs
            .fields()
            .iter()
            .map(|f| {
                let name = self.envelope_name(f.name());
                batch.column_by_name(&name).cloned().ok_or_else(|| ArrowError::SchemaError(format!("no column {name}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        RecordBatch::try_new(logs, columns)
    }

    /// The Arrow schema of the table's files: the envelope, the typed columns, `attributes`.
    pub fn schema(&self) -> SchemaRef {
        static SCHEMAS: OnceLock<Vec<SchemaRef>> = OnceLock::new();
        let schemas = SCHEMAS.get_or_init(|| TYPED_TABLES.iter().map(|t| t.build_schema()).collect());
        let index = TYPED_TABLES.iter().position(|t| *t == self);
        index.map_or_else(|| self.build_schema(), |i| Arc::clone(&schemas[i]))
    }

    fn build_schema(&self) -> SchemaRef {
        let logs = logs_schema();
        let (attributes, envelope) = logs.fields().split_last().expect("logs has columns");
        let mut fields: Vec<Field> =
            envelope.iter().map(|f| f.as_ref().clone().with_name(self.envelope_name(f.name()))).collect();
        fields.extend(self.columns.iter().map(|c| Field::new(c.name, c.kind.data_type(), true)));
        fields.push(attributes.as_ref().clone());
        Arc::new(Schema::new(fields))
    }
}

/// A builder of one typed column.
enum Builder {
    Text(StringBuilder),
    Int(Int32Builder),
    BigInt(Int64Builder),
    Double(Float64Builder),
    Float(Float32Builder),
    Date(Date32Builder),
    Struct(StructBuilder, usize),
}

impl Builder {
    fn new(kind: Kind, rows: usize) -> Builder {
        match kind {
            Kind::Text => Builder::Text(StringBuilder::with_capacity(rows, rows * 16)),
            Kind::Int => Builder::Int(Int32Builder::with_capacity(rows)),
            Kind::BigInt => Builder::BigInt(Int64Builder::with_capacity(rows)),
            Kind::Double => Builder::Double(Float64Builder::with_capacity(rows)),
            Kind::Float => Builder::Float(Float32Builder::with_capacity(rows)),
            Kind::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            Kind::TextStruct(fields) => {
                let builders: Vec<Box<dyn ArrayBuilder>> = fields
                    .iter()
                    .map(|_| Box::new(StringBuilder::with_capacity(rows, rows * 16)) as Box<dyn ArrayBuilder>)
                    .collect();
                Builder::Struct(StructBuilder::new(struct_fields(fields), builders), fields.len())
            }
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Text(mut b) => Arc::new(b.finish()),
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::BigInt(mut b) => Arc::new(b.finish()),
            Builder::Double(mut b) => Arc::new(b.finish()),
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Date(mut b) => Arc::new(b.finish()),
            Builder::Struct(mut b, _) => Arc::new(b.finish()),
        }
    }
}

/// Where an attribute goes: a typed column, or a field of a struct column.
#[derive(Clone, Copy)]
struct Target {
    column: usize,
    field: usize,
}

/// Whether `text` can be held by a column of `kind` (else it stays in `attributes`).
fn holds(kind: Kind, text: &str) -> bool {
    match kind {
        Kind::Text | Kind::TextStruct(_) => true,
        Kind::Int => text.parse::<i32>().is_ok(),
        Kind::BigInt => text.parse::<i64>().is_ok(),
        Kind::Double => text.parse::<f64>().is_ok_and(f64::is_finite),
        Kind::Float => text.parse::<f32>().is_ok_and(f32::is_finite),
        Kind::Date => days_since_epoch(text).is_some(),
    }
}

/// `YYYY-MM-DD` as days since 1970-01-01 (Arrow's `Date32`).
pub fn days_since_epoch(text: &str) -> Option<i32> {
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    i32::try_from(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp().div_euclid(86_400)).ok()
}

/// Rows of `logs` (all of `table`'s format) as rows of `table`.
pub fn typed_batch(table: &TypedTable, logs: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let rows = logs.num_rows();
    let attributes_index = logs.schema().index_of("attributes")?;
    let attributes: &MapArray = logs
        .column(attributes_index)
        .as_map_opt()
        .ok_or_else(|| ArrowError::SchemaError("attributes is not a map".into()))?;
    let keys = attributes.keys().as_string_opt::<i32>();
    let values = attributes.values().as_string_opt::<i32>();
    let (Some(keys), Some(values)) = (keys, values) else {
        return Err(ArrowError::SchemaError("attributes is not a map of strings".into()));
    };

    let mut targets: HashMap<&str, Target> = HashMap::new();
    for (column, typed) in table.columns.iter().enumerate() {
        match typed.kind {
            Kind::TextStruct(fields) => {
                for (field, (_, attribute)) in fields.iter().enumerate() {
                    targets.insert(attribute, Target { column, field });
                }
            }
            _ => {
                targets.insert(typed.attribute, Target { column, field: 0 });
            }
        }
    }
    let mut builders: Vec<Builder> = table.columns.iter().map(|c| Builder::new(c.kind, rows)).collect();
    let names = MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
    let mut rest = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
        .with_keys_field(Arc::new(Field::new("key", DataType::Utf8, false)))
        .with_values_field(Arc::new(Field::new("value", DataType::Utf8, true)));
    // The value of each typed column (or struct field) in the current row.
    let slots: Vec<usize> = table
        .columns
        .iter()
        .map(|c| match c.kind {
            Kind::TextStruct(fields) => fields.len(),
            _ => 1,
        })
        .collect();
    let mut row_values: Vec<Vec<Option<&str>>> = slots.iter().map(|n| vec![None; *n]).collect();
    let offsets = attributes.value_offsets();
    for row in 0..rows {
        for values in &mut row_values {
            values.iter_mut().for_each(|v| *v = None);
        }
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        for entry in start..end {
            let key = keys.value(entry);
            let value = (!values.is_null(entry)).then(|| values.value(entry));
            let held = match (targets.get(key), value) {
                (Some(target), Some(value)) => {
                    let slot = &mut row_values[target.column][target.field];
                    let fits = slot.is_none() && holds(table.columns[target.column].kind, value);
                    if fits {
                        *slot = Some(value);
                    }
                    fits
                }
                _ => false,
            };
            if !held {
                rest.keys().append_value(key);
                rest.values().append_option(value);
            }
        }
        rest.append(attributes.is_valid(row))?;
        for ((builder, values), typed) in builders.iter_mut().zip(&row_values).zip(table.columns) {
            append(builder, typed.kind, values)?;
        }
    }

    let schema = table.schema();
    let envelope = logs.schema().fields().len() - 1;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for index in 0..logs.num_columns() {
        if index != attributes_index {
            columns.push(Arc::clone(logs.column(index)));
        }
    }
    if columns.len() != envelope {
        return Err(ArrowError::SchemaError("the batch is not in the logs schema".into()));
    }
    columns.extend(builders.into_iter().map(Builder::finish));
    columns.push(Arc::new(rest.finish()));
    RecordBatch::try_new(schema, columns)
}

fn append(builder: &mut Builder, kind: Kind, values: &[Option<&str>]) -> Result<(), ArrowError> {
    let value = values.first().copied().flatten();
    // `holds` accepted each value, so these parses succeed; a failure would be null, never a panic.
    match builder {
        Builder::Text(b) => b.append_option(value),
        Builder::Int(b) => b.append_option(value.and_then(|v| v.parse().ok())),
        Builder::BigInt(b) => b.append_option(value.and_then(|v| v.parse().ok())),
        Builder::Double(b) => b.append_option(value.and_then(|v| v.parse().ok())),
        Builder::Float(b) => b.append_option(value.and_then(|v| v.parse().ok())),
        Builder::Date(b) => b.append_option(value.and_then(days_since_epoch)),
        Builder::Struct(b, fields) => {
            for (field, value) in values.iter().enumerate().take(*fields) {
                let Some(text) = b.field_builder::<StringBuilder>(field) else {
                    return Err(ArrowError::SchemaError(format!("{kind:?}: a struct field is not text")));
                };
                text.append_option(*value);
            }
            b.append(values.iter().any(Option::is_some));
        }
    }
    Ok(())
}

/// Athena DDL of a typed table in `bucket`, with partition projection, as [`athena_ddl`] for
/// `logs`. `bucket` is checked: it reaches SQL text.
///
/// [`athena_ddl`]: crate::lake::schema::athena_ddl
pub fn typed_ddl(table: &'static TypedTable, bucket: &str) -> Result<String, String> {
    crate::lake::schema::check_bucket_name(bucket)?;
    let location = format!("s3://{bucket}/{}/", table.name);
    let columns = CuratedTable::Typed(table).hive_columns();
    Ok(crate::lake::schema::projected_table_ddl(table.name, &location, &columns, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_floats_are_held_only_when_they_read_as_their_type() {
        assert_eq!(days_since_epoch("1970-01-01"), Some(0));
        assert_eq!(days_since_epoch("2026-11-20"), Some(20_777));
        assert_eq!(days_since_epoch("1969-12-31"), Some(-1));
        for text in ["2026-13-01", "2026-02-30", "20261120", "2026-11-20T09:58:07", "-", ""] {
            assert!(!holds(Kind::Date, text), "{text}");
        }
        assert!(holds(Kind::Float, "0.051") && holds(Kind::Float, "12"));
        // Beyond a 32-bit float's range, or not a number: the text stays in `attributes`.
        for text in ["1e39", "inf", "NaN", "0.05s"] {
            assert!(!holds(Kind::Float, text), "{text}");
        }
    }

    #[test]
    fn every_table_has_one_format_and_unique_column_names() {
        let mut formats: Vec<_> = TYPED_TABLES.iter().map(|t| t.format).collect();
        formats.dedup();
        assert_eq!(formats.len(), TYPED_TABLES.len());
        for table in TYPED_TABLES {
            let schema = table.schema();
            let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count, "{}", table.name);
            assert_eq!(table_of(table.format), Some(*table));
            assert_eq!(table_named(table.name), Some(*table));
            assert!(
                CuratedTable::Typed(table).hive_columns().iter().all(|(_, t)| !t.contains("unsupported")),
                "{}",
                table.name
            );
        }
        // The flow's account and region take the AWS names; the envelope's are renamed.
        let vpc = VPC_FLOW_LOGS.schema();
        assert!(vpc.field_with_name("source_account_id").is_ok() && vpc.field_with_name("source_region").is_ok());
        assert_eq!(ALB_LOGS.envelope_name("account_id"), "account_id");
    }
}
