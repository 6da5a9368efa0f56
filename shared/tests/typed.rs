//! The typed tables (issue 18): the compactor writes the rows of VPC flow, load balancer,
//! CloudFront, CloudTrail, API Gateway and Lambda lines into `vpc_flow_logs`, `alb_logs`,
//! `nlb_logs`, `elb_logs`, `cloudfront_logs`, `cloudtrail_logs`, `apigateway_logs` and
//! `lambda_logs`, with the AWS documentation's column names and types (where it has a table);
//! every record lands in exactly one table, once, and nothing parsed is
//! lost (a field no typed column holds, or one that does not read as its type, stays in
//! `attributes`). Read back with pyarrow, an independent reader.

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use common::compaction::{NOW, ingest, options};
use loglake::compact::run::{CompactOptions, compact};
use loglake::compact::view::local_readers;
use loglake::lake::encode::{encode_batches, to_record_batch};
use loglake::lake::record::Record;
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::lake::typed::{
    ALB_LOGS, APIGATEWAY_LOGS, CLOUDFRONT_LOGS, CLOUDTRAIL_LOGS, CuratedTable, ELB_LOGS, LAMBDA_LOGS, NLB_LOGS,
    VPC_FLOW_LOGS, split_by_table, typed_batch,
};
use loglake::parse::line::{LineContext, LineFormatChoice, normalize_line};
use serde_json::Value;

const VPC: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1795168200 1795168260 ACCEPT OK";
const VPC_REJECT: &str =
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1795168200 1795168260 REJECT OK";
const ALB: &str = r#"https 2026-11-20T09:30:00.123456Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-11-20T09:29:59.975000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd"#;
const TRAIL: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:ci","arn":"arn:aws:sts::210987654321:assumed-role/deploy/ci","accountId":"210987654321","accessKeyId":"ASIAEXAMPLE"},"eventTime":"2026-11-20T09:40:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15","errorCode":"AccessDenied","errorMessage":"Access Denied","requestParameters":{"bucketName":"b"},"responseElements":null,"requestID":"R1","eventID":"E1","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"}],"eventType":"AwsApiCall","recipientAccountId":"210987654321","eventCategory":"Data"}"#;

const NLB: &str = "tls 2.0 2026-11-20T09:20:00 net/edge/1a2b3c4d5e6f7081 0a1b2c3d4e5f6071 198.51.100.7:40000 10.0.0.9:443 12 3 500 900 - arn:aws:acm:eu-west-1:210987654321:certificate/x - ECDHE-RSA-AES128-SHA tlsv12 - edge.example.org - - - 2026-11-20T09:19:48";
const CLASSIC: &str = "2026-11-20T09:21:00.000100Z legacy-lb 198.51.100.8:5123 10.0.0.4:80 0.000050 0.002 0.000040 404 404 0 120 \"GET http://legacy.example.org:80/missing HTTP/1.1\" \"curl/8.5.0\" - -";
/// A Transit Gateway flow log line, all 36 default fields (the VPC User Guide's field order).
const TGW: &str = "6 TransitGateway 123456789010 tgw-0123abcd tgw-attach-0456ef 123456789010 210987654321 vpc-0aa vpc-0bb subnet-0aa subnet-0bb eni-0aa eni-0bb use1-az1 use1-az2 tgw-attach-0789 10.0.0.1 10.1.0.1 40000 443 6 5 900 1795168800 1795168860 OK IPv4 0 3 0 0 2 us-east-1 ingress - -";
const CLOUDFRONT: &str = "2026-11-20\t09:58:07\tFRA56-P3\t2390\t198.51.100.10\tGET\td1234abcd.cloudfront.net\t/img/logo.png\t200\thttps://example.org/\tMozilla/5.0%20(X11)\t-\t-\tHit\tR4nd0mID==\twww.example.org\thttps\t180\t0.051\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t54321\t0.047\tHit\timage/png\t2390\t-\t-";
const APIGATEWAY: &str = r#"{"requestId":"Q1","ip":"203.0.113.9","requestTimeEpoch":"1795168800000","httpMethod":"POST","routeKey":"POST /orders","status":"502","protocol":"HTTP/1.1","responseLength":"10","integrationLatency":"29","errorMessage":"Internal Server Error","customKey":"x"}"#;
const LAMBDA_REPORT: &str = "REPORT RequestId: 8f5a2a9d-4c3e-4d7b-9a55-0c1d2e3f4a5b\tDuration: 2.02 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 72 MB\tInit Duration: 148.58 ms\t";

fn context() -> LineContext<'static> {
    LineContext {
        source: "cloudwatch",
        account_id: "111122223333".into(),
        region: "eu-west-1".into(),
        log_group: "/test/typed".into(),
        log_stream: "s".into(),
        ingest_time_ms: NOW,
        max_event_time_skew_secs: 3600,
        envelope: vec![("subscription_filters".into(), "loglake".into())],
        line_format: &LineFormatChoice::Auto,
    }
}

fn batch_of(records: &[Record<'_>]) -> RecordBatch {
    to_record_batch(&records.iter().collect::<Vec<_>>()).unwrap()
}

/// The attributes of a row of a map column, as a map.
fn attributes(batch: &RecordBatch, row: usize) -> BTreeMap<String, String> {
    let map = batch.column_by_name("attributes").unwrap().as_map();
    let entries = map.value(row);
    let (keys, values) = (entries.column(0).as_string::<i32>(), entries.column(1).as_string::<i32>());
    (0..entries.len()).map(|i| (keys.value(i).to_owned(), values.value(i).to_owned())).collect()
}

#[test]
fn typed_columns_hold_the_aws_fields_and_attributes_keep_the_rest() {
    let ctx = context();
    let vpc = normalize_line(&ctx, Cow::Borrowed("v"), Some(NOW), VPC);
    let typed = typed_batch(&VPC_FLOW_LOGS, &batch_of(&[vpc])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("bytes").as_primitive::<Int64Type>().value(0), 4249);
    assert_eq!(column("dstport").as_primitive::<Int32Type>().value(0), 22);
    assert_eq!(column("version").as_primitive::<Int32Type>().value(0), 2);
    assert_eq!(column("srcaddr").as_string::<i32>().value(0), "172.31.16.139");
    assert_eq!(column("action").as_string::<i32>().value(0), "ACCEPT");
    // The flow's account is `account_id`, as AWS names it; the envelope's is renamed.
    assert_eq!(column("account_id").as_string::<i32>().value(0), "123456789010");
    assert_eq!(column("source_account_id").as_string::<i32>().value(0), "111122223333");
    assert!(column("tcp_flags").is_null(0), "a field the line does not have is null");
    assert_eq!(column("message").as_string::<i32>().value(0), VPC, "the line is kept as it was");
    // What no typed column holds stays in `attributes`, and only that.
    assert_eq!(attributes(&typed, 0), BTreeMap::from([("subscription_filters".to_owned(), "loglake".to_owned())]),);

    // A Transit Gateway flow: its own fields in their columns, the shared ones in the VPC's.
    let tgw = normalize_line(&ctx, Cow::Borrowed("w"), Some(NOW), TGW);
    let typed = typed_batch(&VPC_FLOW_LOGS, &batch_of(&[tgw])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("resource_type").as_string::<i32>().value(0), "TransitGateway");
    assert_eq!(column("tgw_attachment_id").as_string::<i32>().value(0), "tgw-attach-0456ef");
    assert_eq!(column("tgw_dst_vpc_account_id").as_string::<i32>().value(0), "210987654321");
    assert_eq!(column("tgw_pair_attachment_id").as_string::<i32>().value(0), "tgw-attach-0789");
    assert_eq!(column("packets_lost_blackhole").as_primitive::<Int64Type>().value(0), 3);
    assert_eq!(column("packets_lost_no_route").as_primitive::<Int64Type>().value(0), 0);
    assert_eq!(column("bytes").as_primitive::<Int64Type>().value(0), 900);
    assert_eq!(column("dstport").as_primitive::<Int32Type>().value(0), 443);
    assert_eq!(column("flow_direction").as_string::<i32>().value(0), "ingress");
    assert!(column("interface_id").is_null(0), "a VPC field the line does not have");
    assert_eq!(attributes(&typed, 0), BTreeMap::from([("subscription_filters".to_owned(), "loglake".to_owned())]));

    let alb = normalize_line(&ctx, Cow::Borrowed("a"), Some(NOW), ALB);
    let typed = typed_batch(&ALB_LOGS, &batch_of(&[alb])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("elb_status_code").as_primitive::<Int32Type>().value(0), 200);
    assert_eq!(column("client_port").as_primitive::<Int32Type>().value(0), 2817);
    assert_eq!(column("target_processing_time").as_primitive::<Float64Type>().value(0), 0.048);
    assert_eq!(column("sent_bytes").as_primitive::<Int64Type>().value(0), 57);
    assert_eq!(column("request_verb").as_string::<i32>().value(0), "GET");
    assert_eq!(column("request_url").as_string::<i32>().value(0), "https://www.example.com:443/");
    assert_eq!(column("conn_trace_id").as_string::<i32>().value(0), "TID_1234abcd");
    assert!(column("redirect_url").is_null(0), "`-` is no value");

    assert_eq!(column("time").as_string::<i32>().value(0), "2026-11-20T09:30:00.123456Z", "as written");

    let nlb = normalize_line(&ctx, Cow::Borrowed("n"), Some(NOW), NLB);
    let typed = typed_batch(&NLB_LOGS, &batch_of(&[nlb])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("listener_id").as_string::<i32>().value(0), "0a1b2c3d4e5f6071");
    assert_eq!(column("target_ip").as_string::<i32>().value(0), "10.0.0.9");
    assert_eq!(column("target_port").as_primitive::<Int32Type>().value(0), 443);
    assert_eq!(column("tcp_connection_time_ms").as_primitive::<Float64Type>().value(0), 12.0);
    assert_eq!(column("sent_bytes").as_primitive::<Int64Type>().value(0), 900);
    assert_eq!(column("tls_cipher_suite").as_string::<i32>().value(0), "ECDHE-RSA-AES128-SHA");
    assert_eq!(column("time").as_string::<i32>().value(0), "2026-11-20T09:20:00");
    assert!(column("incoming_tls_alert").is_null(0), "`-` is no value");

    let classic = normalize_line(&ctx, Cow::Borrowed("c"), Some(NOW), CLASSIC);
    let typed = typed_batch(&ELB_LOGS, &batch_of(&[classic])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("timestamp").as_string::<i32>().value(0), "2026-11-20T09:21:00.000100Z");
    assert_eq!(column("elb_name").as_string::<i32>().value(0), "legacy-lb");
    assert_eq!(column("request_port").as_primitive::<Int32Type>().value(0), 5123);
    assert_eq!(column("elb_response_code").as_string::<i32>().value(0), "404", "text, as AWS declares it");
    assert_eq!(column("client_response_time").as_primitive::<Float64Type>().value(0), 0.00004);
    assert_eq!(column("url").as_string::<i32>().value(0), "http://legacy.example.org:80/missing");
    assert_eq!(column("protocol").as_string::<i32>().value(0), "HTTP/1.1");

    let cloudfront = normalize_line(&ctx, Cow::Borrowed("f"), Some(NOW), CLOUDFRONT);
    let typed = typed_batch(&CLOUDFRONT_LOGS, &batch_of(&[cloudfront])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    // 2026-11-20 is day 20,777 after 1970-01-01.
    assert_eq!(column("date").as_primitive::<Date32Type>().value(0), 20_777);
    assert_eq!(column("time").as_string::<i32>().value(0), "09:58:07");
    assert_eq!(column("sc_bytes").as_primitive::<Int64Type>().value(0), 2390);
    assert_eq!(column("sc_status").as_primitive::<Int32Type>().value(0), 200);
    assert_eq!(column("cs_referrer").as_string::<i32>().value(0), "https://example.org/", "the log's cs(Referer)");
    assert_eq!(column("time_taken").as_primitive::<Float32Type>().value(0), 0.051);
    assert_eq!(column("time_to_first_byte").as_primitive::<Float32Type>().value(0), 0.047);
    assert_eq!(column("c_port").as_primitive::<Int32Type>().value(0), 54321);
    assert_eq!(column("sc_content_type").as_string::<i32>().value(0), "image/png");
    assert!(column("sc_range_start").is_null(0) && column("cs_uri_query").is_null(0), "`-` is no value");
    assert_eq!(
        column("event_time").as_primitive::<arrow_array::types::TimestampMillisecondType>().value(0),
        1_795_168_687_000
    );
    assert_eq!(attributes(&typed, 0), BTreeMap::from([("subscription_filters".to_owned(), "loglake".to_owned())]));

    let trail = normalize_line(&ctx, Cow::Borrowed("t"), Some(NOW), TRAIL);
    let typed = typed_batch(&CLOUDTRAIL_LOGS, &batch_of(&[trail])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    let identity = column("useridentity");
    let identity = identity.as_struct();
    assert_eq!(
        identity.column_by_name("arn").unwrap().as_string::<i32>().value(0),
        "arn:aws:sts::210987654321:assumed-role/deploy/ci"
    );
    assert!(identity.column_by_name("username").unwrap().is_null(0));
    assert_eq!(column("eventname").as_string::<i32>().value(0), "GetObject");
    assert_eq!(column("errorcode").as_string::<i32>().value(0), "AccessDenied");
    assert_eq!(column("readonly").as_string::<i32>().value(0), "true");
    let rest = attributes(&typed, 0);
    assert!(rest.contains_key("resources") && rest.contains_key("event_category"), "{rest:?}");
    assert!(!rest.keys().any(|k| k.starts_with("user_identity_")), "{rest:?}");

    let api = normalize_line(&ctx, Cow::Borrowed("g"), Some(NOW), APIGATEWAY);
    let typed = typed_batch(&APIGATEWAY_LOGS, &batch_of(&[api])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("status").as_primitive::<Int32Type>().value(0), 502);
    assert_eq!(column("route_key").as_string::<i32>().value(0), "POST /orders");
    assert_eq!(column("http_method").as_string::<i32>().value(0), "POST");
    assert_eq!(column("ip").as_string::<i32>().value(0), "203.0.113.9");
    assert_eq!(column("response_length").as_primitive::<Int64Type>().value(0), 10);
    assert_eq!(column("integration_latency").as_primitive::<Int64Type>().value(0), 29);
    assert_eq!(column("request_time_epoch").as_primitive::<Int64Type>().value(0), 1_795_168_800_000);
    assert_eq!(column("error_message").as_string::<i32>().value(0), "Internal Server Error");
    assert!(column("response_latency").is_null(0));
    assert_eq!(column("request_id").as_string::<i32>().value(0), "Q1", "the envelope's request id");
    assert!(attributes(&typed, 0).contains_key("custom_key"), "a key of a custom format stays");

    let report = normalize_line(&ctx, Cow::Borrowed("l"), Some(NOW), LAMBDA_REPORT);
    let typed = typed_batch(&LAMBDA_LOGS, &batch_of(&[report])).unwrap();
    let column = |name: &str| typed.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
    assert_eq!(column("lambda_event").as_string::<i32>().value(0), "report");
    assert_eq!(column("duration_ms").as_primitive::<Float64Type>().value(0), 2.02);
    assert_eq!(column("billed_duration_ms").as_primitive::<Int64Type>().value(0), 3);
    assert_eq!(column("memory_size_mb").as_primitive::<Int32Type>().value(0), 128);
    assert_eq!(column("max_memory_used_mb").as_primitive::<Int32Type>().value(0), 72);
    assert_eq!(column("init_duration_ms").as_primitive::<Float64Type>().value(0), 148.58);
    assert!(column("restore_duration_ms").is_null(0));
    assert_eq!(column("request_id").as_string::<i32>().value(0), "8f5a2a9d-4c3e-4d7b-9a55-0c1d2e3f4a5b");
}

/// A value that does not read as its column's type is not dropped: the column is null and the
/// text stays in `attributes`. Every attribute of every row is in exactly one place.
#[test]
fn a_value_that_is_not_of_its_columns_type_stays_in_attributes() {
    let ctx = context();
    let mut records: Vec<Record<'_>> =
        [VPC, VPC_REJECT].iter().map(|l| normalize_line(&ctx, "x".into(), None, l)).collect();
    for (key, value) in &mut records[1].attributes {
        match key.as_ref() {
            "bytes" => *value = "lots".into(),
            "dst_port" => *value = "99999999999".into(),
            _ => {}
        }
    }
    let logs = batch_of(&records);
    let typed = typed_batch(&VPC_FLOW_LOGS, &logs).unwrap();
    assert!(typed.column_by_name("bytes").unwrap().is_null(1));
    assert!(typed.column_by_name("dstport").unwrap().is_null(1), "out of int's range");
    let rest = attributes(&typed, 1);
    assert_eq!(rest.get("bytes").map(String::as_str), Some("lots"));
    assert_eq!(rest.get("dst_port").map(String::as_str), Some("99999999999"));
    assert_eq!(attributes(&typed, 0).get("bytes"), None);

    // Every attribute is held once: by a typed column (equal as text, or as a number) or in the rest.
    for row in 0..2 {
        let original = attributes(&logs, row);
        let rest = attributes(&typed, row);
        for (key, value) in &original {
            let column = VPC_FLOW_LOGS.columns.iter().find(|c| c.attribute == key);
            let typed_text = column.and_then(|c| {
                let array = typed.column_by_name(c.name).unwrap();
                (!array.is_null(row)).then(|| cell_text(array.as_ref(), row))
            });
            match (typed_text, rest.get(key)) {
                (Some(text), None) => assert_eq!(&text, value, "{key}"),
                (None, Some(text)) => assert_eq!(text, value, "{key}"),
                other => panic!("{key} is held {other:?}"),
            }
        }
    }
}

/// A number or text cell as text.
fn cell_text(array: &dyn Array, row: usize) -> String {
    match array.data_type() {
        arrow_schema::DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        arrow_schema::DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        arrow_schema::DataType::Float64 => array.as_primitive::<Float64Type>().value(row).to_string(),
        _ => array.as_string::<i32>().value(row).to_owned(),
    }
}

/// Rows of other formats stay `logs` rows; each typed format's go to its table.
#[test]
fn a_batch_splits_by_table_and_every_row_lands_once() {
    let ctx = context();
    let lines = [VPC, "{\"level\":\"info\",\"msg\":\"hello\"}", ALB, TRAIL, VPC_REJECT, "plain text"];
    let records: Vec<Record<'_>> =
        lines.iter().enumerate().map(|(i, l)| normalize_line(&ctx, format!("e{i}").into(), Some(NOW), l)).collect();
    let parts = split_by_table(&batch_of(&records)).unwrap();
    let by_table: BTreeMap<&str, Vec<String>> = parts
        .iter()
        .map(|(table, rows)| {
            let ids = rows.column_by_name("event_id").unwrap().as_string::<i32>();
            (table.name(), ids.iter().map(|id| id.unwrap().to_owned()).collect())
        })
        .collect();
    assert_eq!(
        by_table,
        BTreeMap::from([
            ("logs", vec!["e1".to_owned(), "e5".to_owned()]),
            ("vpc_flow_logs", vec!["e0".to_owned(), "e4".to_owned()]),
            ("alb_logs", vec!["e2".to_owned()]),
            ("cloudtrail_logs", vec!["e3".to_owned()]),
        ])
    );
    for (table, rows) in &parts {
        assert_eq!(rows.schema(), table.schema(), "{}", table.name());
    }
}

fn events(prefix: &str, lines: &[&str]) -> Vec<(String, i64, String)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("{prefix}-{i}"), NOW - 3_600_000 + i as i64, l.to_string()))
        .collect()
}

/// A local lake of its own, and compaction options for it (their spill directory kept with it).
struct TestLake {
    spill: tempfile::TempDir,
    dir: tempfile::TempDir,
    store: LocalStore,
    options: CompactOptions,
    spill_dir: std::path::PathBuf,
}

fn test_lake() -> TestLake {
    let spill = tempfile::tempdir().unwrap();
    let (options, spill_dir) = options(spill.path());
    // A lake written before typed tables: each test turns them on when it means to.
    let options = CompactOptions { typed_tables: false, ..options };
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    TestLake { spill, dir, store, options, spill_dir }
}

/// `options` on the clock of now: the objects' modification times are real.
fn fresh(options: &CompactOptions) -> CompactOptions {
    CompactOptions { now_ms: loglake::function::now_ms() + 1_000, ..options.clone() }
}

/// The `event_id` of every row of `batches`, sorted.
fn event_ids(batches: &[RecordBatch]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for batch in batches {
        let column = batch.column_by_name("event_id").unwrap().as_string::<i32>();
        ids.extend(column.iter().map(|id| id.unwrap().to_owned()));
    }
    ids.sort();
    ids
}

fn ids_in(rows: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = rows.iter().map(|r| r["event_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// Compaction with typed tables: each record once, in its table, read back by pyarrow with the
/// AWS types; a redelivery and late data change nothing but add the late rows.
#[tokio::test]
async fn compaction_writes_each_typed_format_to_its_table_once() {
    let Some(python) = common::compaction::python() else { return };
    let TestLake { spill: _spill, dir, store, options, spill_dir } = test_lake();
    let typed = CompactOptions { typed_tables: true, ..options };

    let flows = events("vpc", &[VPC, VPC_REJECT, VPC]);
    let mixed = events("mix", &[ALB, TRAIL, "{\"level\":\"warn\",\"msg\":\"x\"}", ALB]);
    ingest(&store, 1, "/vpc/flows", &flows).await;
    ingest(&store, 2, "/mixed", &mixed).await;
    // The same payload delivered again (an upstream retry under another record).
    ingest(&store, 3, "/mixed", &mixed).await;
    let record = compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    assert_eq!((record.rows_in, record.rows_out, record.duplicates), (11, 7, 4), "{record:?}");

    let read = |table: &str| loglake::testing::read_lake_table_with_pyarrow(dir.path(), &python, table);
    let expected = |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}-{i}")).collect::<Vec<_>>();
    let vpc = read("vpc_flow_logs");
    assert_eq!(ids_in(&vpc), expected("vpc", 3));
    assert_eq!(ids_in(&read("alb_logs")), ["mix-0", "mix-3"]);
    assert_eq!(ids_in(&read("cloudtrail_logs")), ["mix-1"]);
    assert_eq!(ids_in(&read("logs")), ["mix-2"]);
    let reject = vpc.iter().find(|r| r["event_id"] == "vpc-1").unwrap();
    assert_eq!((reject["dstport"].as_i64(), reject["action"].as_str()), (Some(3389), Some("REJECT")));
    assert_eq!(reject["message"], VPC_REJECT);
    let trail = &read("cloudtrail_logs")[0];
    assert_eq!(trail["useridentity"]["accountid"], "210987654321");

    // The types a reader sees are the AWS documentation's.
    let schema = std::process::Command::new(&python)
        .args(["-c", "import sys, pyarrow.dataset as ds; s = ds.dataset(sys.argv[1], format='parquet', partitioning='hive').schema; print({f.name: str(f.type) for f in s})"])
        .arg(dir.path().join("vpc_flow_logs"))
        .output()
        .unwrap();
    let schema = String::from_utf8_lossy(&schema.stdout);
    for (name, ty) in [
        ("'bytes'", "'int64'"),
        ("'dstport'", "'int32'"),
        ("'srcaddr'", "'string'"),
        ("'event_time'", "'timestamp[ms, tz=UTC]'"),
    ] {
        assert!(schema.contains(&format!("{name}: {ty}")), "{name} {ty} in {schema}");
    }

    // Late data into the compacted hour, and another redelivery: each record still once.
    let late = events("late", &[VPC, ALB]);
    ingest(&store, 4, "/late", &late).await;
    ingest(&store, 5, "/vpc/flows", &flows).await;
    compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    let mut vpc_expected = expected("vpc", 3);
    vpc_expected.push("late-0".into());
    vpc_expected.sort();
    assert_eq!(ids_in(&read("vpc_flow_logs")), vpc_expected);
    assert_eq!(ids_in(&read("alb_logs")), ["late-1", "mix-0", "mix-3"]);
    assert_eq!(ids_in(&read("logs")), ["mix-2"]);
    assert!(store.list("staging/").await.unwrap().is_empty(), "a local lake deletes what it merged");
}

/// A lake compacted before typed tables holds VPC rows in `logs`: merging the hour again with
/// typed tables moves them to their table, once.
#[tokio::test]
async fn typed_tables_take_the_typed_rows_of_logs_files_written_before_them() {
    let Some(python) = common::compaction::python() else { return };
    let TestLake { spill: _spill, dir, store, options, spill_dir } = test_lake();
    ingest(&store, 1, "/vpc/flows", &events("vpc", &[VPC, VPC_REJECT])).await;
    ingest(&store, 2, "/app", &events("app", &["{\"msg\":\"a\"}"])).await;
    compact(&store, &local_readers(), &fresh(&options), &spill_dir).await.unwrap();
    let read = |table: &str| ids_in(&loglake::testing::read_lake_table_with_pyarrow(dir.path(), &python, table));
    assert_eq!(read("logs"), ["app-0", "vpc-0", "vpc-1"]);

    // New data for the hour, merged whole (no delta), with typed tables.
    ingest(&store, 3, "/vpc/flows", &events("more", &[VPC])).await;
    let typed = CompactOptions { typed_tables: true, delta_fraction: 0.0, ..options };
    compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    assert_eq!(read("logs"), ["app-0"]);
    assert_eq!(read("vpc_flow_logs"), ["more-0", "vpc-0", "vpc-1"]);
}

/// Schema evolution: a typed table's file written before a column was added (here, as if
/// `action` were new) merges with the new files; the column is null in its rows only.
#[tokio::test]
async fn a_typed_file_without_a_later_column_is_merged_with_it_null() {
    let TestLake { spill: _spill, dir: _dir, store, options, spill_dir } = test_lake();
    let ctx = context();
    let old = normalize_line(&ctx, "old-0".into(), Some(NOW - 3_600_000), VPC);
    let mut old = typed_batch(&VPC_FLOW_LOGS, &batch_of(&[old])).unwrap();
    let at = old.schema().index_of("action").unwrap();
    old.remove_column(at);
    let times = old.column_by_name("event_time").unwrap();
    let time = times.as_primitive::<arrow_array::types::TimestampMillisecondType>().value(0);
    let hour = loglake::lake::layout::Partition::of(time, chrono_tz::UTC).path();
    let file = encode_batches(old.schema(), &[old]).unwrap();
    let typed = CompactOptions { typed_tables: true, delta_fraction: 0.0, ..options };
    ingest(&store, 1, "/vpc/flows", &events("new", &[VPC_REJECT])).await;
    compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    // The old file joins the hour (a file not named by a run is visible), and the hour is merged again.
    store.put(&format!("vpc_flow_logs/{hour}/imported.parquet"), file).await.unwrap();
    ingest(&store, 2, "/vpc/flows", &events("more", &[VPC])).await;
    let record = compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    assert!(record.set_aside.is_empty() && record.curated_in == 2, "{record:?}");
    let keys = store.list("vpc_flow_logs/").await.unwrap();
    assert!(keys.iter().all(|k| !k.ends_with("imported.parquet")), "the old file was merged: {keys:?}");
    let mut rows = Vec::new();
    for key in keys {
        let body = bytes::Bytes::from(store.get(&key).await.unwrap());
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(body).unwrap().build().unwrap();
        rows.extend(reader.map(Result::unwrap));
    }
    let mut actions: Vec<(String, Option<String>)> = rows
        .iter()
        .flat_map(|batch| {
            let ids = batch.column_by_name("event_id").unwrap().as_string::<i32>().clone();
            let actions = batch.column_by_name("action").unwrap().as_string::<i32>().clone();
            (0..batch.num_rows())
                .map(move |i| (ids.value(i).to_owned(), actions.is_valid(i).then(|| actions.value(i).to_owned())))
        })
        .collect();
    actions.sort();
    let action = |id: &str, action: Option<&str>| (id.to_owned(), action.map(str::to_owned));
    assert_eq!(actions, [action("more-0", Some("ACCEPT")), action("new-0", Some("REJECT")), action("old-0", None)]);
}

/// The typed view reads each record once at every moment: before compaction from staging (the
/// typed columns read from `attributes`), after it from the table, and with late data and a
/// redelivery waiting, both, the redelivered rows hidden. The view text Athena gets, run on
/// DuckDB, sees the same rows and values as the local rules.
#[tokio::test]
async fn the_typed_view_sees_each_record_once_before_and_after_compaction() {
    use loglake::compact::state::load_state;
    use loglake::compact::view::{typed_view_sql, visible_rows_of};
    let Some(python) = common::compaction::python() else { return };
    let TestLake { spill: _spill, dir, store, options, spill_dir } = test_lake();
    let typed = CompactOptions { typed_tables: true, ..options };
    let table = CuratedTable::Typed(&VPC_FLOW_LOGS);
    // (event_id, bytes, dstport, action) of every visible row, sorted.
    let seen = |batches: Vec<RecordBatch>| {
        let mut rows: Vec<(String, i64, i32, String)> = Vec::new();
        for batch in batches {
            let column = |name: &str| batch.column_by_name(name).unwrap().clone();
            let (ids, bytes, ports, actions) =
                (column("event_id"), column("bytes"), column("dstport"), column("action"));
            for row in 0..batch.num_rows() {
                rows.push((
                    ids.as_string::<i32>().value(row).to_owned(),
                    bytes.as_primitive::<Int64Type>().value(row),
                    ports.as_primitive::<Int32Type>().value(row),
                    actions.as_string::<i32>().value(row).to_owned(),
                ));
            }
        }
        rows.sort();
        rows
    };

    let flows = events("vpc", &[VPC, VPC_REJECT, VPC]);
    ingest(&store, 1, "/vpc/flows", &flows).await;
    ingest(&store, 2, "/app", &events("app", &["{\"msg\":\"not a flow\"}"])).await;
    let before = seen(visible_rows_of(&store, table).await.unwrap());
    assert_eq!(before.len(), 3);
    let before_typed = loglake::compact::view::visible_rows(&store).await.unwrap();
    assert_eq!(before_typed.iter().map(RecordBatch::num_rows).sum::<usize>(), 4, "no run has typed tables yet");
    assert_eq!(before[1], ("vpc-1".to_owned(), 4249, 3389, "REJECT".to_owned()));

    compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    assert_eq!(seen(visible_rows_of(&store, table).await.unwrap()), before, "the same rows, now from the table");

    ingest(&store, 3, "/vpc/flows", &flows).await; // redelivered
    ingest(&store, 4, "/vpc/late", &events("late", &[VPC_REJECT])).await;
    let mut expected = before.clone();
    expected.push(("late-0".to_owned(), 4249, 3389, "REJECT".to_owned()));
    expected.sort();
    assert_eq!(seen(visible_rows_of(&store, table).await.unwrap()), expected);

    // The view text, on DuckDB, over the same files.
    let state = load_state(&store).await.unwrap();
    let sql = typed_view_sql(&VPC_FLOW_LOGS, &state, "lake://");
    // Typed tables from the first run: no `logs` file holds a flow, and the view reads none.
    assert_eq!(state.typed_table_from_run(&VPC_FLOW_LOGS), Some(0));
    assert!(!sql.contains("FROM \"logs\""), "{sql}");
    let rows: Vec<(String, i64, i32, String)> = common::compaction::run_typed_view_on_duckdb(
        &python,
        dir.path(),
        &sql,
        "vpc_flow_logs",
        "event_id, bytes, dstport, action",
    );
    assert_eq!(rows, expected, "the view text on DuckDB");

    // `logs_all` is every log: with typed tables on, it reads the flows from their table (and
    // staging), each once, beside the other logs.
    assert!(state.typed_tables());
    let mut every: Vec<String> = expected.iter().map(|row| row.0.clone()).chain(["app-0".to_owned()]).collect();
    every.sort();
    assert_eq!(event_ids(&loglake::compact::view::visible_rows(&store).await.unwrap()), every);
    std::fs::write(dir.path().join("view.sql"), loglake::compact::view::view_sql(&state, "lake://")).unwrap();
    let seen = common::compaction::run_views_on_duckdb(&python, &[dir.path().to_path_buf()]);
    assert_eq!(seen[dir.path().to_str().unwrap()], serde_json::json!(every), "logs_all on DuckDB");
}

/// Typed tables may be turned on at any time: an hour compacted before keeps its flows in `logs`
/// until it is merged again, and the typed view reads them there, once, with a redelivery of
/// them hidden; `logs_all` shows every record once, from whichever table holds it. Before the fix
/// the view read only its own table and staging: the flows of such an hour were in no typed view.
#[tokio::test]
async fn turning_typed_tables_on_leaves_every_record_in_one_view_once() {
    use loglake::compact::state::load_state;
    use loglake::compact::view::{typed_view_sql, view_sql, visible_rows, visible_rows_of};
    let Some(python) = common::compaction::python() else { return };
    let TestLake { spill: _spill, dir, store, options, spill_dir } = test_lake();
    // Hour A (09:00) and hour B (08:00), each with flows and an application log.
    let at = |prefix: &str, lines: &[&str], hours_ago: i64| {
        let mut events = events(prefix, lines);
        for event in &mut events {
            event.1 -= (hours_ago - 1) * 3_600_000;
        }
        events
    };
    let flows_a = at("vpc-a", &[VPC, VPC_REJECT], 1);
    ingest(&store, 1, "/vpc/flows", &flows_a).await;
    ingest(&store, 2, "/vpc/flows", &at("vpc-b", &[VPC], 2)).await;
    ingest(&store, 3, "/app", &at("app-a", &["{\"msg\":\"a\"}"], 1)).await;
    ingest(&store, 4, "/app", &at("app-b", &["{\"msg\":\"b\"}"], 2)).await;
    compact(&store, &local_readers(), &fresh(&options), &spill_dir).await.unwrap();

    // New flows for hour B only, merged with typed tables: hour A keeps its flows in `logs`.
    ingest(&store, 5, "/vpc/flows", &at("more", &[VPC_REJECT], 2)).await;
    let typed = CompactOptions { typed_tables: true, delta_fraction: 0.0, ..options };
    let record = compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    assert_eq!(record.hours.len(), 1, "{record:?}");
    let read = |table: &str| ids_in(&loglake::testing::read_lake_table_with_pyarrow(dir.path(), &python, table));
    assert_eq!(read("vpc_flow_logs"), ["more-0", "vpc-b-0"]);
    assert_eq!(read("logs"), ["app-a-0", "app-b-0", "vpc-a-0", "vpc-a-1"], "hour A not merged again");
    let flows = ["more-0", "vpc-a-0", "vpc-a-1", "vpc-b-0"];
    let table = CuratedTable::Typed(&VPC_FLOW_LOGS);
    assert_eq!(event_ids(&visible_rows_of(&store, table).await.unwrap()), flows, "hour A's flows from `logs`");
    // Hour A's flows delivered again: staged duplicates of rows in `logs`.
    ingest(&store, 6, "/vpc/flows", &flows_a).await;

    let state = load_state(&store).await.unwrap();
    assert_eq!(state.typed_table_from_run(&VPC_FLOW_LOGS), Some(record.run));
    assert_eq!(event_ids(&visible_rows_of(&store, table).await.unwrap()), flows, "the typed view, in Rust");
    let every = ["app-a-0", "app-b-0", "more-0", "vpc-a-0", "vpc-a-1", "vpc-b-0"];
    assert_eq!(event_ids(&visible_rows(&store).await.unwrap()), every, "logs_all, in Rust");
    let rows = visible_rows_of(&store, table).await.unwrap();
    let reject = rows.iter().flat_map(|b| {
        let ids = b.column_by_name("event_id").unwrap().as_string::<i32>().clone();
        let ports = b.column_by_name("dstport").unwrap().as_primitive::<Int32Type>().clone();
        (0..b.num_rows()).map(move |r| (ids.value(r).to_owned(), ports.value(r)))
    });
    assert!(reject.collect::<Vec<_>>().contains(&("vpc-a-1".to_owned(), 3389)), "typed from a logs file");

    // The same views as Athena's text, on DuckDB.
    let sql = typed_view_sql(&VPC_FLOW_LOGS, &state, "lake://");
    assert!(sql.contains(&format!("-1) < {}", record.run)), "only logs files of earlier runs: {sql}");
    let rows: Vec<(String, i32)> =
        common::compaction::run_typed_view_on_duckdb(&python, dir.path(), &sql, "vpc_flow_logs", "event_id, dstport");
    let seen: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(seen, flows, "the typed view on DuckDB");
    assert!(rows.contains(&("vpc-a-1".to_owned(), 3389)));
    std::fs::write(dir.path().join("view.sql"), view_sql(&state, "lake://")).unwrap();
    let seen = common::compaction::run_views_on_duckdb(&python, &[dir.path().to_path_buf()]);
    assert_eq!(seen[dir.path().to_str().unwrap()], serde_json::json!(every), "logs_all on DuckDB");
}

/// A typed table added by a later version has no first run in the state of a lake that turned
/// typed tables on before it: the next switch gives it that run, and the tables already on keep
/// theirs (so their views' bounds on `logs` files stay). Before per-table runs, one run stood for
/// every table and a table added later got none.
#[tokio::test]
async fn a_typed_table_added_later_takes_the_next_switchs_run_and_the_others_keep_theirs() {
    use loglake::compact::state::{load_state, read_state};
    use loglake::compact::view::visible_rows_of;
    let TestLake { spill: _spill, dir: _dir, store, options, spill_dir } = test_lake();
    let typed = CompactOptions { typed_tables: true, delta_fraction: 0.0, ..options };
    ingest(&store, 1, "/vpc/flows", &events("vpc", &[VPC])).await;
    let first = compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    // The state as a version without `alb_logs` left it.
    let mut stored = read_state(&store).await.unwrap();
    stored.state.typed_from_run.remove(ALB_LOGS.name);
    stored.save(&store).await.unwrap();
    assert_eq!(load_state(&store).await.unwrap().typed_table_from_run(&ALB_LOGS), None);

    ingest(&store, 2, "/alb", &events("alb", &[ALB])).await;
    let second = compact(&store, &local_readers(), &fresh(&typed), &spill_dir).await.unwrap();
    assert!(second.run > first.run);
    let state = load_state(&store).await.unwrap();
    assert_eq!(state.typed_table_from_run(&ALB_LOGS), Some(second.run));
    assert_eq!(state.typed_table_from_run(&VPC_FLOW_LOGS), Some(first.run));
    assert_eq!(state.typed_table_from_run(&CLOUDTRAIL_LOGS), Some(first.run));
    let alb = event_ids(&visible_rows_of(&store, CuratedTable::Typed(&ALB_LOGS)).await.unwrap());
    assert_eq!(alb, ["alb-0"]);
}
