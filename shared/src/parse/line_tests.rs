use super::*;
use crate::lake::record::Level;

const CW: i64 = 1_795_168_800_000; // 2026-11-20T10:00:00Z
const NOW: i64 = CW + 5_000;

fn ctx() -> LineContext<'static> {
    LineContext {
        source: "cloudwatch",
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        log_group: "/aws/lambda/f".into(),
        log_stream: "s".into(),
        ingest_time_ms: NOW,
        max_event_time_skew_secs: 3600,
        envelope: vec![("subscription_filters".into(), "loglake".into())],
        line_format: &LineFormatChoice::Auto,
    }
}

fn norm(line: &str) -> Record<'_> {
    normalize_line(&ctx(), "id-1".into(), Some(CW), line)
}

fn attr<'r>(record: &'r Record<'_>, key: &str) -> Option<&'r str> {
    record.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
}

#[test]
fn message_is_kept_byte_for_byte() {
    for line in
        ["plain\n", "{\"level\":\"info\",\"msg\":\"x\"}\r\n", "REPORT RequestId: a\tDuration: 1 ms\t\n", "  spaced  "]
    {
        assert_eq!(norm(line).message, line);
    }
}

#[test]
fn json_usual_keys_go_to_columns_and_the_rest_to_attributes() {
    let r = norm(
        r#"{"level":"INFO","message":"order created","timestamp":"2026-11-20T10:00:00.120Z","requestId":"r-1","xray_trace_id":"1-abc","order":{"id":"A-1","total":42.5},"tags":["a"],"gone":null}"#,
    );
    assert_eq!(r.format, LineFormat::Json);
    assert_eq!(r.level, Some(Level::Info));
    assert_eq!(r.event_time_ms, CW + 120);
    assert_eq!(r.request_id.as_deref(), Some("r-1"));
    assert_eq!(r.trace_id.as_deref(), Some("1-abc"));
    assert_eq!(attr(&r, "msg"), Some("order created"));
    assert_eq!(attr(&r, "order.id"), Some("A-1"));
    assert_eq!(attr(&r, "order.total"), Some("42.5"));
    assert_eq!(attr(&r, "tags"), Some(r#"["a"]"#));
    assert_eq!(attr(&r, "gone"), None);
    for consumed in ["level", "message", "timestamp", "requestId", "xray_trace_id"] {
        assert_eq!(attr(&r, consumed), None, "{consumed}");
    }
}

#[test]
fn json_level_spellings() {
    for (line, level) in [
        (r#"{"level":50,"msg":"pino"}"#, Level::Error),
        (r#"{"severity":"warning"}"#, Level::Warn),
        (r#"{"levelname":"CRITICAL"}"#, Level::Fatal),
        (r#"{"log.level":"debug"}"#, Level::Debug),
        (r#"{"status":"error","message":"datadog style"}"#, Level::Error),
    ] {
        assert_eq!(norm(line).level, Some(level), "{line}");
    }
    let unknown = norm(r#"{"level":"loud","status":200}"#);
    assert_eq!(unknown.level, None);
    assert_eq!(attr(&unknown, "level"), Some("loud"), "an unknown level is kept as an attribute");
    assert_eq!(attr(&unknown, "status"), Some("200"));
}

#[test]
fn json_epoch_times_in_any_unit() {
    for line in [r#"{"time":1795168800250}"#, r#"{"ts":1795168800.25}"#, r#"{"timestamp":"1795168800250"}"#] {
        assert_eq!(norm(line).event_time_ms, CW + 250, "{line}");
    }
}

#[test]
fn implausible_record_time_falls_back_to_cloudwatch_time() {
    let r = norm(r#"{"time":"1999-01-01T00:00:00Z","message":"clock reset"}"#);
    assert_eq!(r.event_time_ms, CW);
    let far = norm(r#"{"time":"2026-11-20T12:00:01Z"}"#); // 2 h off, skew is 1 h
    assert_eq!(far.event_time_ms, CW);
    let near = norm(r#"{"time":"2026-11-20T10:59:59Z"}"#);
    assert_eq!(near.event_time_ms, CW + 3_599_000);
}

#[test]
fn absurd_cloudwatch_timestamp_uses_arrival_time_and_says_so() {
    for ts in [Some(-5), Some(0), Some(NOW + 10 * 86_400_000), Some(i64::MAX), None] {
        let r = normalize_line(&ctx(), "id".into(), ts, "hello");
        assert_eq!(r.event_time_ms, NOW, "{ts:?}");
        assert_eq!(attr(&r, "event_time_source"), Some("arrival"));
    }
    let r = normalize_line(&ctx(), "id".into(), Some(-5), "x");
    assert_eq!(attr(&r, "transport_timestamp"), Some("-5"));
}

#[test]
fn not_an_object_or_broken_json_is_text() {
    for line in ["[1,2,3]", r#"{"level":"error","message":"cut"#, "{", "{}x"] {
        assert_eq!(norm(line).format, LineFormat::Text, "{line}");
    }
    assert_eq!(norm("{}").format, LineFormat::Json);
}

#[test]
fn deeply_nested_json_does_not_overflow() {
    let deep = format!("{}{}", "{\"a\":".repeat(200), "1".to_owned() + &"}".repeat(200));
    let r = norm(&deep);
    assert_eq!(r.message, deep);
    let nested = format!("{}{}", "{\"a\":".repeat(20), "1".to_owned() + &"}".repeat(20));
    let r = norm(&nested);
    assert_eq!(r.format, LineFormat::Json);
    assert_eq!(
        r.attributes.len(),
        2,
        "the envelope and one attribute: flattened to depth 8, the rest kept as JSON text"
    );
}

#[test]
fn attributes_are_bounded_and_unique() {
    let many = format!("{{{}}}", (0..1000).map(|i| format!("\"k{i}\":{i}")).collect::<Vec<_>>().join(","));
    assert_eq!(norm(&many).attributes.len(), MAX_ATTRIBUTES);
    let clash = norm(r#"{"a.b":"flat","a":{"b":"nested"}}"#);
    let keys: Vec<&str> = clash.attributes.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(keys, ["subscription_filters", "a.b"]);
}

#[test]
fn lambda_start_end_report() {
    let start = norm("START RequestId: 4c7e9b1a-2d3f Version: $LATEST\n");
    assert_eq!(start.format, LineFormat::Lambda);
    assert_eq!(start.request_id.as_deref(), Some("4c7e9b1a-2d3f"));
    assert_eq!(attr(&start, "lambda_event"), Some("start"));
    assert_eq!(attr(&start, "version"), Some("$LATEST"));

    let end = norm("END RequestId: 4c7e9b1a-2d3f\n");
    assert_eq!((end.format, end.request_id.as_deref()), (LineFormat::Lambda, Some("4c7e9b1a-2d3f")));

    let report = norm(
        "REPORT RequestId: 4c7e\tDuration: 25.31 ms\tBilled Duration: 26 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB\tInit Duration: 178.55 ms\t\nXRAY TraceId: 1-673db5aa-0123\tSegmentId: 0a1b\tSampled: true\t\n",
    );
    assert_eq!(report.request_id.as_deref(), Some("4c7e"));
    assert_eq!(report.trace_id.as_deref(), Some("1-673db5aa-0123"));
    assert_eq!(report.level, None);
    for (k, v) in [
        ("lambda_event", "report"),
        ("duration_ms", "25.31"),
        ("billed_duration_ms", "26"),
        ("memory_size_mb", "128"),
        ("max_memory_used_mb", "71"),
        ("init_duration_ms", "178.55"),
        ("segment_id", "0a1b"),
        ("sampled", "true"),
    ] {
        assert_eq!(attr(&report, k), Some(v), "{k}");
    }
}

#[test]
fn lambda_timeout_report_is_an_error() {
    let r = norm(
        "REPORT RequestId: x\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 90 MB\tStatus: timeout\n",
    );
    assert_eq!(r.level, Some(Level::Error));
    assert_eq!(attr(&r, "status"), Some("timeout"));
    assert_eq!(attr(&r, "init_duration_ms"), None);
}

#[test]
fn lambda_platform_lines_written_with_spaces() {
    let timeout =
        norm("2026-11-20T10:00:13.150Z 7c9567b5-107b-4a6c-8798-0157ac21db52 Task timed out after 3.00 seconds\n\n");
    assert_eq!((timeout.format, timeout.level), (LineFormat::Lambda, Some(Level::Error)));
    assert_eq!(timeout.request_id.as_deref(), Some("7c9567b5-107b-4a6c-8798-0157ac21db52"));
    assert_eq!(attr(&timeout, "lambda_event"), Some("timeout"));
    assert_eq!(attr(&timeout, "msg"), Some("Task timed out after 3.00 seconds"));
    assert_eq!(timeout.event_time_ms, CW + 13_150);
    let oom = norm("2026-11-20T10:00:13.150Z 7c9567b5-107b-4a6c-8798-0157ac21db52 FATAL ERROR: heap out of memory");
    assert_eq!((oom.format, oom.level), (LineFormat::Lambda, Some(Level::Fatal)));
    // A time and a word that is no request id: text.
    assert_eq!(norm("2026-11-20T10:00:13.150Z worker-7 started").format, LineFormat::Text);
}

#[test]
fn web_server_error_logs_are_detected() {
    let nginx = norm(
        r#"2026/11/20 10:00:03 [error] 12#12: *5 upstream timed out, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1""#,
    );
    assert_eq!((nginx.format, nginx.level), (LineFormat::ErrorLog, Some(Level::Error)));
    assert_eq!(attr(&nginx, "client"), Some("10.0.0.1"));
    let apache =
        norm("[Fri Nov 20 10:00:03.000001 2026] [mpm_event:notice] [pid 1:tid 2] AH00489: resuming normal operations");
    assert_eq!((apache.format, apache.level), (LineFormat::ErrorLog, Some(Level::Info)));
    assert_eq!(attr(&apache, "module"), Some("mpm_event"));
}

#[test]
fn lambda_init_start() {
    let r =
        norm("INIT_START Runtime Version: nodejs:22.v41\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:0f\n");
    assert_eq!(r.format, LineFormat::Lambda);
    assert_eq!(attr(&r, "lambda_event"), Some("init_start"));
    assert_eq!(attr(&r, "runtime_version"), Some("nodejs:22.v41"));
    assert_eq!(attr(&r, "runtime_version_arn"), Some("arn:aws:lambda:us-east-1::runtime:0f"));
}

#[test]
fn node_and_python_runtime_lines() {
    let node = norm("2026-11-20T10:00:10.190Z\t4c7e9b1a\tINFO\tfetching order A-1001\n");
    assert_eq!(node.format, LineFormat::Lambda);
    assert_eq!(node.level, Some(Level::Info));
    assert_eq!(node.request_id.as_deref(), Some("4c7e9b1a"));
    assert_eq!(node.event_time_ms, CW + 10_190);
    assert_eq!(attr(&node, "msg"), Some("fetching order A-1001"));

    let python = norm("[WARNING]\t2026-11-20T10:00:11.000Z\t9d8c7b6a\tinventory low\tfor sku=XL-42\n");
    assert_eq!(python.format, LineFormat::Lambda);
    assert_eq!(python.level, Some(Level::Warn));
    assert_eq!(python.request_id.as_deref(), Some("9d8c7b6a"));
    assert_eq!(attr(&python, "msg"), Some("inventory low\tfor sku=XL-42"));

    let init_error = norm("2026-11-20T10:00:12.000Z\tundefined\tERROR\tUncaught Exception\n");
    assert_eq!((init_error.level, init_error.request_id.as_deref()), (Some(Level::Error), None));

    // Tabs alone do not make a runtime line.
    assert_eq!(norm("a\tb\tc\td").format, LineFormat::Text);
}

#[test]
fn lambda_json_platform_records() {
    let report = norm(
        r#"{"time":"2026-11-20T10:00:16.300Z","type":"platform.report","record":{"requestId":"6e5d","metrics":{"durationMs":182.4,"billedDurationMs":183,"memorySizeMB":256,"maxMemoryUsedMB":97,"initDurationMs":412.9},"tracing":{"spanId":"6b0e","type":"X-Amzn-Trace-Id","value":"Root=1-673db5b0-89ab;Parent=6b0e;Sampled=1"},"status":"success"}}"#,
    );
    assert_eq!(report.format, LineFormat::Lambda);
    assert_eq!(report.event_time_ms, CW + 16_300);
    assert_eq!(report.request_id.as_deref(), Some("6e5d"));
    assert_eq!(report.trace_id.as_deref(), Some("1-673db5b0-89ab"));
    assert_eq!(report.level, None);
    for (k, v) in [
        ("lambda_event", "report"),
        ("duration_ms", "182.4"),
        ("billed_duration_ms", "183"),
        ("memory_size_mb", "256"),
        ("max_memory_used_mb", "97"),
        ("init_duration_ms", "412.9"),
        ("status", "success"),
    ] {
        assert_eq!(attr(&report, k), Some(v), "{k}");
    }
    let init = norm(
        r#"{"time":"2026-11-20T10:00:16.000Z","type":"platform.initStart","record":{"runtimeVersion":"python:3.13.v20","functionName":"w"}}"#,
    );
    assert_eq!(attr(&init, "lambda_event"), Some("init_start"));
    assert_eq!(attr(&init, "runtimeVersion"), Some("python:3.13.v20"));
    let failed = norm(
        r#"{"time":"2026-11-20T10:00:16.000Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"timeout"}}"#,
    );
    assert_eq!((failed.level, attr(&failed, "lambda_event")), (Some(Level::Error), Some("runtime_done")));
}

#[test]
fn plain_text_level_sniffing() {
    for (line, level) in [
        ("2026-11-20 10:00:01,123 INFO  [main] Server - listening", Some(Level::Info)),
        ("2026-11-20 10:00:02,456 WARN  [pool-1] Cart - slow", Some(Level::Warn)),
        ("ERROR could not reach redis", Some(Level::Error)),
        ("2026/11/20 10:00:03 [error] upstream timed out", Some(Level::Error)),
        ("Traceback (most recent call last):", Some(Level::Error)),
        ("FATAL out of memory", Some(Level::Fatal)),
        ("<3>CRITICAL disk failure", Some(Level::Fatal)),
        ("GET /healthz 200 0.4ms", None),
        ("no errors were found", None),
        ("ERROR_CODE=5 is only a field", None),
        ("注文を受け付けました INFO ✓", Some(Level::Info)),
    ] {
        let r = norm(line);
        assert_eq!((r.format, r.level), (LineFormat::Text, level), "{line}");
    }
    let logfmt = norm("level=debug msg=\"cache miss\"");
    assert_eq!(
        (logfmt.format, logfmt.level),
        (LineFormat::Logfmt, Some(Level::Debug)),
        "logfmt is a format of its own"
    );
    let late = format!("{} ERROR", "x".repeat(300));
    assert_eq!(norm(&late).level, None, "only the head of a line is sniffed");
}

#[test]
fn level_parse_spellings() {
    assert_eq!(Level::parse("warning"), Some(Level::Warn));
    assert_eq!(Level::parse("Err"), Some(Level::Error));
    assert_eq!(Level::parse(" notice "), Some(Level::Info));
    assert_eq!(Level::parse("a-very-long-level-name"), None);
    assert_eq!(Level::parse(""), None);
}

#[test]
fn envelope_attributes_win_over_parsed_fields_of_the_same_name() {
    let r = norm(r#"{"subscription_filters":"from the line","other":"x"}"#);
    let filters: Vec<&str> =
        r.attributes.iter().filter(|(k, _)| k == "subscription_filters").map(|(_, v)| v.as_ref()).collect();
    assert_eq!(filters, ["loglake"]);
    assert_eq!(attr(&r, "other"), Some("x"));
}

#[test]
fn report_lines_with_escaped_tabs_are_parsed_like_real_ones() {
    let r = norm(
        "REPORT RequestId: db27-b63b\\tDuration: 1.76 ms\\tBilled Duration: 100 ms\\tMemory Size: 128 MB\\tMax Memory Used: 48 MB\\tInit Duration: 120.96 ms\\t\\n",
    );
    assert_eq!(r.request_id.as_deref(), Some("db27-b63b"));
    assert_eq!(attr(&r, "duration_ms"), Some("1.76"));
    assert_eq!(attr(&r, "init_duration_ms"), Some("120.96"));
    assert_eq!(attr(&r, "max_memory_used_mb"), Some("48"));
}

#[test]
fn ids_are_scalars_only() {
    let r = norm(r#"{"request_id":{"nested":1},"requestId":"r-2","trace_id":[1,2]}"#);
    assert_eq!(r.request_id.as_deref(), Some("r-2"));
    assert_eq!(r.trace_id, None);
    assert_eq!(attr(&r, "request_id.nested"), Some("1"), "an object under an id key stays an attribute");
    assert_eq!(attr(&r, "trace_id"), Some("[1,2]"));
}

// ---------------------------------------------------------------------------------------------
// AWS service formats (parsers: src/parse/formats/; their own tests hold the malformed lines)

fn norm_as<'a>(line_format: &'a LineFormatChoice, line: &'a str) -> Record<'a> {
    let ctx = LineContext { line_format, ..ctx() };
    normalize_line(&ctx, "id-1".into(), Some(CW), line)
}

fn attribute<'r>(record: &'r Record<'_>, key: &str) -> Option<&'r str> {
    record.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
}

#[test]
fn aws_service_lines_are_detected_and_keep_their_message() {
    let flow =
        "2 210987654321 eni-0a1b2c3d4e5f60718 10.1.2.3 10.1.9.8 51000 443 6 12 4800 1795168790 1795168850 REJECT OK";
    let alb = "h2 2026-11-20T09:59:58.500000Z app/web/0f1e2d3c 203.0.113.5:5000 10.0.0.7:80 0.001 0.010 0.000 200 200 10 20 \"GET https://web.example.org:443/ HTTP/2.0\" \"ua\" ECDHE TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/web/1 \"Root=1-673da1b6-0a1b2c3d4e5f60718293a4b5\" \"web.example.org\" \"-\" 1 2026-11-20T09:59:58.400000Z \"forward\" \"-\" \"-\"";
    let trail = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::210987654321:assumed-role/deploy/ci","accountId":"210987654321"},"eventTime":"2026-11-20T09:59:30Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9","errorCode":"AccessDenied","requestParameters":{"bucketName":"b","key":"k"},"requestID":"REQ123","eventID":"e-1"}"#;
    for (line, format, time) in [
        (flow, LineFormat::VpcFlow, 1_795_168_790_000),
        (alb, LineFormat::Alb, CW - 1_500),
        (trail, LineFormat::CloudTrail, CW - 30_000),
    ] {
        let record = norm(line);
        assert_eq!(record.format, format, "{line}");
        assert_eq!(record.event_time_ms, time, "{line}");
        assert_eq!(record.message, line, "the original line stays in message");
    }
    assert_eq!(attribute(&norm(flow), "action"), Some("REJECT"));
    let wrapped = format!("{{\"message\":\"{flow}\"}}");
    let record = norm(&wrapped);
    assert_eq!(
        (record.format, attribute(&record, "dst_port")),
        (LineFormat::VpcFlow, Some("443")),
        "an agent's envelope"
    );
    // Fluentd's CloudWatch plugin: an access log line, its quotes escaped in the JSON string.
    let apache =
        r#"{"message":"10.0.0.9 - - [20/Nov/2026:10:00:00 +0000] \"GET /cart HTTP/1.1\" 503 12 \"-\" \"curl/8.5\""}"#;
    let record = norm(apache);
    assert_eq!(
        (record.format, record.level),
        (LineFormat::AccessLog, Some(Level::Error)),
        "an access log in an envelope"
    );
    assert_eq!(attribute(&record, "request"), Some("GET /cart HTTP/1.1"));
    assert_eq!(record.message, apache, "the original line stays in message");
    let alb = norm(alb);
    assert_eq!(
        (attribute(&alb, "elb_status_code"), alb.trace_id.as_deref()),
        (Some("200"), Some("1-673da1b6-0a1b2c3d4e5f60718293a4b5"))
    );
    let trail = norm(trail);
    assert_eq!(attribute(&trail, "event_name"), Some("PutObject"));
    assert_eq!(attribute(&trail, "user_identity_arn"), Some("arn:aws:sts::210987654321:assumed-role/deploy/ci"));
    assert_eq!(attribute(&trail, "source_ip_address"), Some("203.0.113.9"));
    assert_eq!(attribute(&trail, "request_parameters"), Some(r#"{"bucketName":"b","key":"k"}"#));
    assert_eq!((trail.request_id.as_deref(), trail.level), (Some("REQ123"), Some(Level::Error)));
}

#[test]
fn a_log_group_configured_with_a_format_is_read_as_that_format() {
    // The choices LOGLAKE_LOG_FORMATS makes per log group (config.rs reads the setting).
    let custom = LineFormatChoice::VpcFlow(FlowFields::parse("version srcaddr dstaddr action log-status").unwrap());
    let record = norm_as(&custom, "5 10.0.0.5 52.94.1.1 ACCEPT OK");
    assert_eq!((record.format, attribute(&record, "dst_addr")), (LineFormat::VpcFlow, Some("52.94.1.1")));
    assert_eq!(norm_as(&custom, "not a flow record").format, LineFormat::Text, "a line that is not one stays text");
    let text = LineFormatChoice::Only(LineFormat::Text);
    assert_eq!(norm_as(&text, r#"{"level":"info"}"#).format, LineFormat::Text);
    let alb = LineFormatChoice::Only(LineFormat::Alb);
    assert_eq!(norm_as(&alb, r#"{"level":"info"}"#).format, LineFormat::Text, "only ALB");
}

#[test]
fn api_gateway_json_access_logs() {
    let rest = r#"{"requestId":"48752d0f-c99d-4cfa-a5a7-f3c6834d19e5","ip":"203.0.113.7","caller":"-","user":"-","requestTime":"20/Nov/2026:09:59:58 +0000","httpMethod":"POST","resourcePath":"/orders","status":"502","protocol":"HTTP/1.1","responseLength":"36","integrationLatency":"29001"}"#;
    let record = norm(rest);
    assert_eq!(record.format, LineFormat::ApiGateway);
    assert_eq!(record.request_id.as_deref(), Some("48752d0f-c99d-4cfa-a5a7-f3c6834d19e5"));
    assert_eq!((record.event_time_ms, record.level), (CW - 2_000, Some(Level::Error)));
    for (key, value) in [("http_method", "POST"), ("resource_path", "/orders"), ("integration_latency", "29001")] {
        assert_eq!(attribute(&record, key), Some(value), "{key}");
    }
    let http = r#"{"requestId":"GQIVriFLIAMEMsA=","ip":"203.0.113.8","requestTimeEpoch":1795168799,"routeKey":"GET /pets/{id}","status":404}"#;
    let record = norm(http);
    assert_eq!(
        (record.format, record.event_time_ms, record.level),
        (LineFormat::ApiGateway, CW - 1_000, Some(Level::Warn))
    );
    // Without a status it is some other JSON.
    assert_eq!(norm(r#"{"requestId":"r","httpMethod":"GET"}"#).format, LineFormat::Json);
}

#[test]
fn json_that_is_almost_cloudtrail_stays_json() {
    for line in [
        r#"{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#, // no eventTime
        r#"{"eventTime":"2026-11-20T09:59:30Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#, // no version
        r#"{"Records":[]}"#,
        r#"{"Records":"not a list"}"#,
    ] {
        assert_eq!(norm(line).format, LineFormat::Json, "{line}");
    }
    let insight = r#"{"eventVersion":"1.07","eventTime":"2026-11-20T09:59:00Z","eventType":"AwsCloudTrailInsight","insightDetails":{"state":"Start"}}"#;
    let record = norm(insight);
    assert_eq!(
        (record.format, attribute(&record, "event_type")),
        (LineFormat::CloudTrail, Some("AwsCloudTrailInsight"))
    );
    assert_eq!(record.level, Some(Level::Info));
}
