//! Issue 18's remaining layout measurement (docs/typed-layout.md): what typed columns in `logs`
//! cost ingest. Every event of a workload (bench/gen_workload.py --mix typed) is decoded and
//! normalized once per round. Its records are then encoded to Parquet twice:
//! - as today: the 14 columns, every parsed field in the `attributes` map;
//! - wide: the same, plus the typed columns of VPC flow logs, ALB and CloudTrail (65, null in
//!   other formats' rows), with those fields taken out of the map.
//!
//! The wide encoding includes moving the fields out of the map. A parser that wrote typed fields
//! directly would not pay that, so the figure errs against the wide layout. It prints MB/s of
//! message text for the encoding alone and for normalize + encode, the best of three rounds,
//! and the ratio wide/today. Run: `cargo bench -p loglake --bench typed_encode -- EVENTS_DIR`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use loglake::config::PipelineConfig;
use loglake::decode::subscription::{SubscriptionEvent, decompress_base64, parse_payload};
use loglake::ingest::payload::normalize_payload;
use loglake::lake::encode::{to_record_batch, writer_properties};
use loglake::lake::record::{LineFormat, Record};
use parquet::arrow::ArrowWriter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const INGEST_MS: i64 = 1_795_169_000_000;

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Decimal,
}

/// The typed columns of docs/typed-layout.md: (format, column, attribute, type).
const TYPED: &[(LineFormat, &str, &str, Kind)] = {
    use Kind::*;
    use LineFormat::{Alb, CloudTrail, VpcFlow};
    &[
        (VpcFlow, "vpc_version", "version", Integer),
        (VpcFlow, "vpc_account_id", "account_id", Text),
        (VpcFlow, "vpc_interface_id", "interface_id", Text),
        (VpcFlow, "vpc_srcaddr", "src_addr", Text),
        (VpcFlow, "vpc_dstaddr", "dst_addr", Text),
        (VpcFlow, "vpc_srcport", "src_port", Integer),
        (VpcFlow, "vpc_dstport", "dst_port", Integer),
        (VpcFlow, "vpc_protocol", "protocol", Integer),
        (VpcFlow, "vpc_packets", "packets", Integer),
        (VpcFlow, "vpc_bytes", "bytes", Integer),
        (VpcFlow, "vpc_start", "start", Integer),
        (VpcFlow, "vpc_end", "end", Integer),
        (VpcFlow, "vpc_action", "action", Text),
        (VpcFlow, "vpc_log_status", "log_status", Text),
        (Alb, "alb_type", "type", Text),
        (Alb, "alb_elb", "elb", Text),
        (Alb, "alb_client_ip", "client_ip", Text),
        (Alb, "alb_client_port", "client_port", Integer),
        (Alb, "alb_target_ip", "target_ip", Text),
        (Alb, "alb_target_port", "target_port", Integer),
        (Alb, "alb_request_processing_time", "request_processing_time", Decimal),
        (Alb, "alb_target_processing_time", "target_processing_time", Decimal),
        (Alb, "alb_response_processing_time", "response_processing_time", Decimal),
        (Alb, "alb_elb_status_code", "elb_status_code", Integer),
        (Alb, "alb_target_status_code", "target_status_code", Text),
        (Alb, "alb_received_bytes", "received_bytes", Integer),
        (Alb, "alb_sent_bytes", "sent_bytes", Integer),
        (Alb, "alb_request_verb", "http_method", Text),
        (Alb, "alb_request_url", "url", Text),
        (Alb, "alb_request_proto", "http_version", Text),
        (Alb, "alb_user_agent", "user_agent", Text),
        (Alb, "alb_ssl_cipher", "ssl_cipher", Text),
        (Alb, "alb_ssl_protocol", "ssl_protocol", Text),
        (Alb, "alb_target_group_arn", "target_group_arn", Text),
        (Alb, "alb_domain_name", "domain_name", Text),
        (Alb, "alb_chosen_cert_arn", "chosen_cert_arn", Text),
        (Alb, "alb_matched_rule_priority", "matched_rule_priority", Text),
        (Alb, "alb_request_creation_time", "request_creation_time", Text),
        (Alb, "alb_actions_executed", "actions_executed", Text),
        (Alb, "alb_redirect_url", "redirect_url", Text),
        (Alb, "alb_lambda_error_reason", "error_reason", Text),
        (Alb, "alb_target_port_list", "target_port_list", Text),
        (Alb, "alb_target_status_code_list", "target_status_code_list", Text),
        (Alb, "alb_classification", "classification", Text),
        (Alb, "alb_classification_reason", "classification_reason", Text),
        (CloudTrail, "ct_eventversion", "event_version", Text),
        (CloudTrail, "ct_useridentity_type", "user_identity_type", Text),
        (CloudTrail, "ct_useridentity_arn", "user_identity_arn", Text),
        (CloudTrail, "ct_useridentity_accountid", "user_identity_account_id", Text),
        (CloudTrail, "ct_useridentity_principalid", "user_identity_principal_id", Text),
        (CloudTrail, "ct_eventsource", "event_source", Text),
        (CloudTrail, "ct_eventname", "event_name", Text),
        (CloudTrail, "ct_awsregion", "aws_region", Text),
        (CloudTrail, "ct_sourceipaddress", "source_ip_address", Text),
        (CloudTrail, "ct_useragent", "user_agent", Text),
        (CloudTrail, "ct_errorcode", "error_code", Text),
        (CloudTrail, "ct_errormessage", "error_message", Text),
        (CloudTrail, "ct_requestparameters", "request_parameters", Text),
        (CloudTrail, "ct_responseelements", "response_elements", Text),
        (CloudTrail, "ct_requestid", "request_id", Text),
        (CloudTrail, "ct_eventid", "event_id", Text),
        (CloudTrail, "ct_readonly", "read_only", Text),
        (CloudTrail, "ct_eventtype", "event_type", Text),
        (CloudTrail, "ct_recipientaccountid", "recipient_account_id", Text),
        (CloudTrail, "ct_eventcategory", "event_category", Text),
    ]
};

/// The value of a typed column in `r`: none in other formats' rows, when absent, or `-`.
fn typed_value<'r>(r: &'r Record<'_>, format: LineFormat, attr: &str) -> Option<&'r str> {
    if r.format != format {
        return None;
    }
    r.attributes.iter().find(|(k, _)| k == attr).map(|(_, v)| v.as_ref()).filter(|v| *v != "-")
}

/// The wide encoding: today's columns with the typed fields out of the map, then the typed
/// columns of every typed format. Returns the file and the time to build its batch.
fn encode_wide(records: &[Record<'_>], zstd_level: i32) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let batch = typed_batch(records, |_| true);
    let built = start.elapsed();
    (write(&batch, zstd_level), built)
}

/// The per-format tables: the records of each typed format in a file of that format's columns
/// only, the rest in a file as today. Returns the files' bytes and the time to build batches.
fn encode_tables(records: &[Record<'_>], zstd_level: i32) -> (usize, Duration) {
    let (mut bytes, mut built) = (0, Duration::ZERO);
    let formats = [LineFormat::VpcFlow, LineFormat::Alb, LineFormat::CloudTrail];
    for format in formats {
        let start = Instant::now();
        let mine: Vec<Record<'_>> = records.iter().filter(|r| r.format == format).cloned().collect();
        if mine.is_empty() {
            continue;
        }
        let batch = typed_batch(&mine, |f| f == format);
        built += start.elapsed();
        bytes += write(&batch, zstd_level).len();
    }
    let start = Instant::now();
    let rest: Vec<&Record<'_>> = records.iter().filter(|r| !formats.contains(&r.format)).collect();
    if !rest.is_empty() {
        let batch = to_record_batch(&rest).unwrap();
        built += start.elapsed();
        bytes += write(&batch, zstd_level).len();
    }
    (bytes, built)
}

/// Today's columns for `records` with the typed fields out of the map, then the typed columns
/// of the formats `columns_of` picks.
fn typed_batch(records: &[Record<'_>], columns_of: impl Fn(LineFormat) -> bool) -> RecordBatch {
    let typed_attr = |format: LineFormat, key: &str| TYPED.iter().any(|(f, _, a, _)| *f == format && *a == key);
    let rest: Vec<Record<'_>> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.attributes.retain(|(k, _)| !typed_attr(r.format, k));
            r
        })
        .collect();
    let base = to_record_batch(&rest.iter().collect::<Vec<_>>()).unwrap();
    let mut fields: Vec<Field> = base.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = base.columns().to_vec();
    for (format, column, attr, kind) in TYPED.iter().filter(|(f, ..)| columns_of(*f)) {
        let value = |r| typed_value(r, *format, attr);
        let (array, data_type): (ArrayRef, DataType) = match kind {
            Kind::Text => {
                let mut b = StringBuilder::new();
                records.iter().for_each(|r| b.append_option(value(r)));
                (Arc::new(b.finish()), DataType::Utf8)
            }
            Kind::Integer => {
                let mut b = Int64Builder::new();
                records.iter().for_each(|r| b.append_option(value(r).and_then(|v| v.parse().ok())));
                (Arc::new(b.finish()), DataType::Int64)
            }
            Kind::Decimal => {
                let mut b = Float64Builder::new();
                records.iter().for_each(|r| b.append_option(value(r).and_then(|v| v.parse().ok())));
                (Arc::new(b.finish()), DataType::Float64)
            }
        };
        fields.push(Field::new(*column, data_type, true));
        columns.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// `batch` as a Parquet file, with the writer settings ingest uses.
fn write(batch: &RecordBatch, zstd_level: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(writer_properties(zstd_level))).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .expect("usage: typed_encode EVENTS_DIR (bench/gen_workload.py --mix typed)");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("workload directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("event-")))
        .collect();
    files.sort();
    let payloads: Vec<Vec<u8>> = files
        .iter()
        .map(|p| {
            let event: SubscriptionEvent = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            decompress_base64(&event.awslogs.data, usize::MAX).unwrap()
        })
        .collect();
    let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };

    let (mut normalize, mut today, mut wide) = (Vec::new(), Vec::new(), Vec::new());
    let (mut today_built, mut wide_built) = (Vec::new(), Vec::new());
    let (mut tables, mut tables_built, mut tables_bytes) = (Vec::new(), Vec::new(), 0);
    let (mut message_bytes, mut today_bytes, mut wide_bytes) = (0, 0, 0);
    for _ in 0..3 {
        let (mut n, mut t, mut w, mut b, mut tb) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let (mut p, mut pb) = (Duration::ZERO, Duration::ZERO);
        tables_bytes = 0;
        (message_bytes, today_bytes, wide_bytes) = (0, 0, 0);
        for json in &payloads {
            let start = Instant::now();
            let (_, payload) = parse_payload(json).unwrap();
            let records = normalize_payload(&payload, "cloudwatch", &config, INGEST_MS, &mut config.bounds.budget())
                .unwrap()
                .records;
            n += start.elapsed();
            message_bytes += records.iter().map(|r| r.message.len()).sum::<usize>();
            let start = Instant::now();
            let batch = to_record_batch(&records.iter().collect::<Vec<_>>()).unwrap();
            tb += start.elapsed();
            today_bytes += write(&batch, config.zstd_level).len();
            t += start.elapsed();
            let start = Instant::now();
            let (bytes, built) = encode_wide(&records, config.zstd_level);
            wide_bytes += bytes.len();
            w += start.elapsed();
            b += built;
            let start = Instant::now();
            let (bytes, built) = encode_tables(&records, config.zstd_level);
            tables_bytes += bytes;
            p += start.elapsed();
            pb += built;
        }
        normalize.push(n);
        today.push(t);
        wide.push(w);
        wide_built.push(b);
        today_built.push(tb);
        tables.push(p);
        tables_built.push(pb);
    }
    let best = |d: &[Duration]| *d.iter().min().unwrap();
    let mbps = |d: Duration| message_bytes as f64 / 1e6 / d.as_secs_f64();
    let (n, t, w) = (best(&normalize), best(&today), best(&wide));
    println!("{} payloads, {:.1} MB of message text; best of 3 rounds", payloads.len(), message_bytes as f64 / 1e6);
    println!("encode today      {:7.1} MB/s   ({} bytes of Parquet)", mbps(t), today_bytes);
    println!(
        "encode wide       {:7.1} MB/s   ({} bytes of Parquet)   wide/today {:.2}x",
        mbps(w),
        wide_bytes,
        mbps(w) / mbps(t)
    );
    println!(
        "normalize+encode  today {:.1} MB/s, wide {:.1} MB/s   wide/today {:.2}x",
        mbps(n + t),
        mbps(n + w),
        mbps(n + w) / mbps(n + t)
    );
    // The Parquet writing alone (the rounds' batch building taken out): what the extra columns
    // cost the writer, whatever builds them.
    let (tw, ww) = (best(&today) - best(&today_built), best(&wide) - best(&wide_built));
    let pw = best(&tables) - best(&tables_built);
    println!(
        "encode tables     {:7.1} MB/s   ({tables_bytes} bytes of Parquet)   tables/today {:.2}x",
        mbps(best(&tables)),
        mbps(best(&tables)) / mbps(t)
    );
    println!(
        "parquet writing alone: today {:.1} MB/s, wide {:.1} MB/s ({:.2}x), tables {:.1} MB/s ({:.2}x)",
        mbps(tw),
        mbps(ww),
        mbps(ww) / mbps(tw),
        mbps(pw),
        mbps(pw) / mbps(tw)
    );
    println!(
        "rounds (normalize, today, wide; batch building today, wide): {normalize:?} {today:?} {wide:?} {today_built:?} {wide_built:?}"
    );
}
