//! Every shipped rollup, run on the local engine, against a brute-force computation in plain
//! Rust over the same records (read through the compaction state's rules, not DataFusion).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, MapArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use loglake::compact::run::CompactOptions;
use loglake::config::PipelineConfig;
use loglake::ingest::cloudwatch::{StoredLogEvent, ingest_log_events};
use loglake::ingest::report::IngestReport;
use loglake::lake::layout::summary_key;
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::rollup::query_file::{Window, WindowBounds};
use loglake::testing::Rng;

use super::*;

const T0: i64 = 1_795_161_600_000; // 2026-11-20T08:00:00Z

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn clf(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// Log groups of every kind the rollups read, over two hours, plus noise they must ignore.
fn log_groups(rng: &mut Rng) -> BTreeMap<String, Vec<StoredLogEvent>> {
    let mut groups: BTreeMap<String, Vec<StoredLogEvent>> = BTreeMap::new();
    let mut push = |group: &str, ms: i64, message: String| {
        let events = groups.entry(group.to_owned()).or_default();
        let id = format!("{:056}", events.len() + 1_000 * group.len());
        events.push(StoredLogEvent { id, log_stream: "s1".into(), timestamp_ms: ms, message });
    };
    for i in 0..1_400i64 {
        let ms = T0 + i * 5_100 + rng.below(1_000) as i64; // spans 08:00 to about 09:59
        // Applications (one with a quote in its name: log content is never SQL).
        let level = ["info", "info", "warn", "error", "debug", "fatal"][rng.below(6)];
        let app = ["/app/checkout", "/app/o'brien", "/app/search"][rng.below(3)];
        push(app, ms, format!(r#"{{"level":"{level}","msg":"order {i} '; DROP TABLE logs; --"}}"#));
        // Lambda runtime lines: START / REPORT (some cold) / END.
        let function = ["/aws/lambda/resize", "/aws/lambda/thumbnail"][rng.below(2)];
        let request = format!("{:08x}-0000-4000-8000-{:012x}", rng.next_u64() as u32, i);
        let duration = 1.0 + rng.below(50_000) as f64 / 100.0;
        let init = if rng.below(10) == 0 {
            format!("\tInit Duration: {:.2} ms", 100.0 + rng.below(9_000) as f64 / 10.0)
        } else {
            String::new()
        };
        push(function, ms, format!("START RequestId: {request} Version: $LATEST"));
        push(
            function,
            ms + 1,
            format!(
                "REPORT RequestId: {request}\tDuration: {duration:.2} ms\tBilled Duration: {} ms\tMemory Size: 512 MB\tMax Memory Used: {} MB{init}\t",
                duration.ceil() as i64,
                60 + rng.below(200)
            ),
        );
        push(function, ms + 2, format!("END RequestId: {request}"));
        // ALB: two target groups, some requests no target answered (-1).
        let tg = ["cart/0123456789abcdef", "web/fedcba9876543210"][rng.below(2)];
        let status = [200, 200, 201, 301, 404, 500, 503][rng.below(7)];
        let (req, target, resp) = if status == 503 && rng.below(2) == 0 {
            ("-1".to_owned(), "-1".to_owned(), "-1".to_owned())
        } else {
            (format!("0.00{}", rng.below(9)), format!("0.{:03}", rng.below(900)), "0.000".to_owned())
        };
        push(
            "/elb/shop",
            ms,
            format!(
                "https {} app/shop-front/0f1e2d3c4b5a6978 203.0.113.{}:61234 10.20.1.17:8080 {req} {target} {resp} {status} {status} 812 1204 \"GET https://shop.example.org:443/api/x HTTP/1.1\" \"curl/8\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/{tg} \"Root=1-673da1b6-0a1b2c3d4e5f60718293a4b5\" \"shop.example.org\" \"-\" 0 {} \"forward\" \"-\" \"-\" \"10.20.1.17:8080\" \"{status}\" \"-\" \"-\"",
                iso(ms),
                rng.below(250),
                iso(ms - 200)
            ),
        );
        // API Gateway: REST records with a latency, HTTP API records with a route key.
        let status = [200, 200, 204, 400, 403, 502][rng.below(6)];
        let api = if rng.below(2) == 0 {
            format!(
                r#"{{"requestId":"r{i}","ip":"1.128.0.1","requestTime":"{}","httpMethod":"GET","resourcePath":"/pets/{{petId}}","status":"{status}","protocol":"HTTP/1.1","responseLength":"49","responseLatency":"{}"}}"#,
                clf(ms),
                5 + rng.below(400)
            )
        } else {
            format!(
                r#"{{"requestId":"q{i}","ip":"1.128.0.1","requestTime":"{}","httpMethod":"POST","routeKey":"POST /orders","status":"{status}","protocol":"HTTP/1.1","responseLength":"10","integrationLatency":"{}"}}"#,
                clf(ms),
                5 + rng.below(400)
            )
        };
        push("/apigw/shop", ms, api);
        // VPC flow logs: many pairs (more than the top 100), some rejected.
        for _ in 0..2 {
            let (src, dst) = (rng.below(40), rng.below(9));
            let action = if rng.below(5) == 0 { "REJECT" } else { "ACCEPT" };
            let port = [22, 443, 3306, 5432][rng.below(4)];
            push(
                "/vpc/flows",
                ms,
                format!(
                    "2 123456789012 eni-0a1b2c3d 10.0.1.{src} 10.0.2.{dst} 49152 {port} 6 {} {} {} {} {action} OK",
                    1 + rng.below(20),
                    40 + rng.below(100_000),
                    ms / 1000 - 60,
                    ms / 1000
                ),
            );
        }
    }
    groups
}

async fn build_lake(lake: &Path) {
    let store = LocalStore::new(lake);
    let config = PipelineConfig::default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut report = IngestReport::default();
    for (group, events) in log_groups(&mut rng) {
        // Two deliveries of the first half, so staging holds duplicates for compaction to fold.
        for chunk in events.chunks(500) {
            ingest_log_events("123456789012", &group, chunk, &config, T0 + 7_300_000, &store, &mut report)
                .await
                .unwrap();
        }
    }
    assert!(report.dead_letters.is_empty(), "{:?}", report.dead_letters);
}

/// One record as the brute force sees it.
#[derive(Debug, Clone)]
struct Row {
    dt: String,
    hour: String,
    log_group: String,
    format: String,
    level: Option<String>,
    attributes: BTreeMap<String, String>,
}

async fn rows(lake: &Path) -> Vec<Row> {
    let batches = loglake::compact::view::visible_rows(&LocalStore::new(lake)).await.unwrap();
    let mut out = Vec::new();
    for batch in batches {
        let strings = |name: &str| batch.column_by_name(name).unwrap().as_string::<i32>().clone();
        let (groups, formats, levels) = (strings("log_group"), strings("format"), strings("level"));
        let times = batch
            .column_by_name("event_time")
            .unwrap()
            .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>()
            .clone();
        let maps = batch.column_by_name("attributes").unwrap().as_any().downcast_ref::<MapArray>().unwrap().clone();
        for row in 0..batch.num_rows() {
            let attributes = loglake::testing::attributes_of(&maps, row);
            let time = chrono::DateTime::from_timestamp_millis(times.value(row)).unwrap();
            out.push(Row {
                dt: time.format("%Y-%m-%d").to_string(),
                hour: time.format("%H").to_string(),
                log_group: groups.value(row).to_owned(),
                format: formats.value(row).to_owned(),
                level: levels.is_valid(row).then(|| levels.value(row).to_owned()),
                attributes,
            });
        }
    }
    out
}

/// A summary partition as rows of text cells, keyed by column name, read with the parquet
/// crate from the stored file.
async fn summary(lake: &Path, output: &str, bounds: &WindowBounds) -> Vec<BTreeMap<String, Cell>> {
    let body = LocalStore::new(lake).get(&summary_key(output, &bounds.partition())).await.unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body))
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        for row in 0..batch.num_rows() {
            let mut cells = BTreeMap::new();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let cell = if column.is_null(row) {
                    Cell::Null
                } else if let Some(c) = column.as_string_opt::<i32>() {
                    Cell::Text(c.value(row).to_owned())
                } else if let Some(c) = column.as_primitive_opt::<Int64Type>() {
                    Cell::Int(c.value(row))
                } else if let Some(c) = column.as_primitive_opt::<Float64Type>() {
                    Cell::Float(c.value(row))
                } else {
                    panic!("{output}.{}: unexpected type {}", field.name(), field.data_type())
                };
                cells.insert(field.name().clone(), cell);
            }
            out.push(cells);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            other => panic!("{other:?} is not text"),
        }
    }
    fn int(&self) -> i64 {
        match self {
            Cell::Int(v) => *v,
            other => panic!("{other:?} is not an integer"),
        }
    }
    fn float(&self) -> Option<f64> {
        match self {
            Cell::Float(v) => Some(*v),
            Cell::Null => None,
            other => panic!("{other:?} is not a float"),
        }
    }
}

fn attr<'r>(row: &'r Row, key: &str) -> Option<&'r str> {
    row.attributes.get(key).map(String::as_str)
}

fn number(row: &Row, key: &str) -> Option<f64> {
    attr(row, key).and_then(|v| v.parse().ok())
}

/// An approximate percentile is right when its rank is within 2% of the exact one (DataFusion's
/// t-digest keeps 100 centroids; Athena's q-digest has a rank error of about 1%).
fn assert_percentile(what: &str, got: Option<f64>, values: &[f64], p: f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        assert_eq!(got, None, "{what}");
        return;
    }
    let got = got.unwrap_or_else(|| panic!("{what}: no percentile"));
    let rank = p * (sorted.len() - 1) as f64;
    let slack = 0.02 * sorted.len() as f64 + 1.0;
    let lo = sorted[(rank - slack).floor().max(0.0) as usize];
    let hi = sorted[((rank + slack).ceil() as usize).min(sorted.len() - 1)];
    assert!(lo - 1e-9 <= got && got <= hi + 1e-9, "{what}: {got} not within [{lo}, {hi}] (n={})", sorted.len());
}

fn close(what: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{what}: {g} != {w}"),
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_rollup_equals_a_brute_force_computation_and_a_rerun_leaves_one_copy() {
    check_rollups(true).await;
}

/// A lake compacted before typed tables holds the VPC and ALB records in `logs`: the typed views
/// read them there, and the rollups give the same figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollups_are_the_same_on_a_lake_without_typed_tables() {
    check_rollups(false).await;
}

/// Half compacted (with typed tables or without), half still in staging with duplicates of
/// compacted records: the views show each record once.
async fn build_compacted_lake(lake: &Path, typed_tables: bool) {
    build_lake(lake).await;
    let spill = lake.join("spill");
    let options = CompactOptions { typed_tables, ..crate::compact::compact_options(64, 256, 0) };
    loglake::compact::run::compact(&LocalStore::new(lake), &loglake::compact::view::local_readers(), &options, &spill)
        .await
        .unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let store = LocalStore::new(lake);
    for (group, events) in log_groups(&mut rng) {
        let late: Vec<StoredLogEvent> = events.into_iter().skip(300).take(400).collect();
        let mut report = IngestReport::default();
        ingest_log_events(
            "123456789012",
            &group,
            &late,
            &PipelineConfig::default(),
            T0 + 7_400_000,
            &store,
            &mut report,
        )
        .await
        .unwrap();
    }
    assert!(!store.list(loglake::lake::layout::STAGING_PREFIX).await.unwrap().is_empty());
    for table in ["vpc_flow_logs/", "alb_logs/"] {
        assert_eq!(store.list(table).await.unwrap().is_empty(), !typed_tables, "{table}");
    }
}

async fn check_rollups(typed_tables: bool) {
    // The brute force reads the records as `logs_all` showed them before typed tables: from a
    // twin lake without them.
    let reference = tempfile::tempdir().unwrap();
    build_compacted_lake(reference.path(), false).await;
    let all = rows(reference.path()).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path();
    build_compacted_lake(lake, typed_tables).await;
    let store = LocalStore::new(lake);

    let queries = queries(None).unwrap();
    assert_eq!(queries.len(), 5);
    let runs = run(lake, &queries, None).await.unwrap();
    // Flow records start a minute before they are logged: the first ones fall into 07:59.
    let hours: Vec<WindowBounds> = all
        .iter()
        .map(|r| format!("{}T{}", r.dt, r.hour))
        .collect::<BTreeSet<_>>()
        .iter()
        .map(|h| WindowBounds::parse(Window::Hourly, h, chrono_tz::Tz::UTC).unwrap())
        .collect();
    let per_hour: BTreeMap<String, usize> = all.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(format!("{}T{} {}", r.dt, r.hour, r.format)).or_default() += 1;
        m
    });
    assert_eq!(
        hours.iter().map(WindowBounds::name).collect::<Vec<_>>(),
        ["2026-11-20T07", "2026-11-20T08", "2026-11-20T09"],
        "{per_hour:?}"
    );
    let day = WindowBounds::parse(Window::Daily, "2026-11-20", chrono_tz::Tz::UTC).unwrap();
    assert_eq!(runs.len(), 4 * hours.len() + 1, "each hourly query for every hour, the daily one once");
    // (07:59 holds flow records only: row-group statistics let the other queries skip them.)
    assert!(runs.iter().filter(|r| !r.window.name().ends_with("T07")).all(|r| r.bytes_scanned > 0), "{runs:?}");

    for bounds in &hours {
        let in_hour: Vec<&Row> = all
            .iter()
            .filter(|r| {
                r.dt == bounds.start.format("%Y-%m-%d").to_string() && r.hour == bounds.start.format("%H").to_string()
            })
            .collect();
        if bounds.name().ends_with("T07") {
            continue; // a handful of flow records only
        }
        assert!(in_hour.len() > 1_000, "{} rows in {}", in_hour.len(), bounds.name());
        check_errors(lake, bounds, &in_hour).await;
        check_lambda(lake, bounds, &in_hour).await;
        check_http(lake, bounds, &in_hour).await;
        check_top_talkers(lake, bounds, &in_hour).await;
    }
    let in_day: Vec<&Row> = all.iter().filter(|r| r.dt == "2026-11-20").collect();
    check_rejects(lake, &day, &in_day).await;

    // A re-run of a window replaces its summary: one file, the same rows; the run is recorded.
    let sorted = |mut rows: Vec<BTreeMap<String, Cell>>| {
        rows.sort_by_key(|r| format!("{r:?}"));
        rows
    };
    let before = sorted(summary(lake, "errors_by_group_hourly", &hours[1]).await);
    let rerun = run(lake, &queries[..1], Some("2026-11-20T08")).await.unwrap();
    assert_eq!(rerun.len(), 1);
    assert_eq!(sorted(summary(lake, "errors_by_group_hourly", &hours[1]).await), before);
    let files = store.list("summaries/errors_by_group_hourly/dt=2026-11-20/hour=08/").await.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let engine = crate::engine::Engine::open(lake, crate::engine::Source::Lake).await.unwrap();
    let counted = engine
        .run("SELECT count(*) AS n FROM errors_by_group_hourly WHERE dt = '2026-11-20' AND hour = '08'")
        .await
        .unwrap();
    assert_eq!(counted.batches[0].column(0).as_primitive::<Int64Type>().value(0), before.len() as i64);
    let recorded = engine
        .run("SELECT count(*) FROM query_runs WHERE query = 'errors_by_group_hourly' AND \"window\" = '2026-11-20T08'")
        .await
        .unwrap();
    assert_eq!(recorded.batches[0].column(0).as_primitive::<Int64Type>().value(0), 2);
}

async fn check_errors(lake: &Path, bounds: &WindowBounds, rows: &[&Row]) {
    let mut want: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = want.entry(&r.log_group).or_default();
        e.0 += 1;
        match r.level.as_deref() {
            Some("ERROR" | "FATAL") => e.1 += 1,
            Some("WARN") => e.2 += 1,
            _ => {}
        }
    }
    want.retain(|_, (_, errors, warnings)| *errors + *warnings > 0);
    assert!(want.contains_key("/app/o'brien"));
    let got: BTreeMap<String, (i64, i64, i64)> = summary(lake, "errors_by_group_hourly", bounds)
        .await
        .into_iter()
        .map(|c| (c["log_group"].text(), (c["events"].int(), c["errors"].int(), c["warnings"].int())))
        .collect();
    let want: BTreeMap<String, (i64, i64, i64)> = want.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(got, want, "errors_by_group_hourly {}", bounds.name());
}

async fn check_lambda(lake: &Path, bounds: &WindowBounds, rows: &[&Row]) {
    let reports: Vec<&&Row> =
        rows.iter().filter(|r| r.format == "lambda" && attr(r, "lambda_event") == Some("report")).collect();
    let got = summary(lake, "lambda_reports_hourly", bounds).await;
    let groups: BTreeSet<&str> = reports.iter().map(|r| r.log_group.as_str()).collect();
    assert_eq!(got.len(), groups.len());
    assert_eq!(groups.len(), 2);
    for cells in got {
        let group = cells["log_group"].text();
        let mine: Vec<&&&Row> = reports.iter().filter(|r| r.log_group == group).collect();
        let values = |key: &str| mine.iter().filter_map(|r| number(r, key)).collect::<Vec<f64>>();
        let (durations, inits) = (values("duration_ms"), values("init_duration_ms"));
        let what = format!("lambda_reports_hourly {} {group}", bounds.name());
        assert_eq!(cells["invocations"].int(), mine.len() as i64, "{what}");
        for (column, p) in [("p50_duration_ms", 0.5), ("p95_duration_ms", 0.95), ("p99_duration_ms", 0.99)] {
            assert_percentile(&format!("{what} {column}"), cells[column].float(), &durations, p);
        }
        close(&what, cells["max_duration_ms"].float(), durations.iter().copied().reduce(f64::max));
        close(&what, cells["billed_duration_ms"].float(), Some(values("billed_duration_ms").iter().sum()));
        assert_eq!(cells["memory_size_mb"].int(), 512, "{what}");
        assert_eq!(
            cells["max_memory_used_mb"].int(),
            values("max_memory_used_mb").iter().copied().fold(0.0, f64::max) as i64
        );
        assert_eq!(cells["cold_starts"].int(), inits.len() as i64, "{what}");
        assert!(!inits.is_empty(), "{what}: the data has cold starts");
        close(&what, cells["avg_init_duration_ms"].float(), Some(inits.iter().sum::<f64>() / inits.len() as f64));
        close(&what, cells["max_init_duration_ms"].float(), inits.iter().copied().reduce(f64::max));
    }
}

async fn check_http(lake: &Path, bounds: &WindowBounds, rows: &[&Row]) {
    // (format, target) → (statuses, latencies)
    let mut want: BTreeMap<(String, String), (Vec<i64>, Vec<f64>)> = BTreeMap::new();
    for r in rows {
        let (target, status, latency) = match r.format.as_str() {
            "alb" => {
                let times: Vec<f64> = ["request_processing_time", "target_processing_time", "response_processing_time"]
                    .iter()
                    .filter_map(|k| number(r, k))
                    .collect();
                let latency =
                    (times.len() == 3 && times.iter().all(|t| *t >= 0.0)).then(|| 1000.0 * times.iter().sum::<f64>());
                (attr(r, "target_group_arn").unwrap_or("-").to_owned(), number(r, "elb_status_code"), latency)
            }
            "apigateway" => {
                let target = attr(r, "route_key").map(str::to_owned).unwrap_or_else(|| {
                    format!("{} {}", attr(r, "http_method").unwrap(), attr(r, "resource_path").unwrap())
                });
                let latency = number(r, "response_latency").or_else(|| number(r, "integration_latency"));
                (target, number(r, "status"), latency)
            }
            _ => continue,
        };
        let entry = want.entry((r.format.clone(), target)).or_default();
        entry.0.push(status.unwrap() as i64);
        entry.1.extend(latency);
    }
    assert_eq!(want.len(), 4, "two target groups, two routes: {:?}", want.keys());
    let got = summary(lake, "http_requests_hourly", bounds).await;
    assert_eq!(got.len(), want.len());
    for cells in got {
        let key = (cells["format"].text(), cells["target"].text());
        let (statuses, latencies) = &want[&key];
        let what = format!("http_requests_hourly {} {key:?}", bounds.name());
        let class = |c: i64| statuses.iter().filter(|s| **s / 100 == c).count() as i64;
        assert_eq!(cells["requests"].int(), statuses.len() as i64, "{what}");
        for c in 2..=5 {
            assert_eq!(cells[&format!("status_{c}xx")].int(), class(c), "{what} {c}xx");
        }
        for (column, p) in [("p50_latency_ms", 0.5), ("p95_latency_ms", 0.95), ("p99_latency_ms", 0.99)] {
            assert_percentile(&format!("{what} {column}"), cells[column].float(), latencies, p);
        }
    }
}

/// (src_addr, dst_addr) and (bytes, packets, flows, rejected flows).
type Pair = (String, String);
type Talker = (i64, i64, i64, i64);
/// (src_addr, dst_port, protocol).
type RejectKey = (String, String, String);

async fn check_top_talkers(lake: &Path, bounds: &WindowBounds, rows: &[&Row]) {
    let mut pairs: BTreeMap<(String, String), (i64, i64, i64, i64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.format == "vpc_flow") {
        let e = pairs.entry((attr(r, "src_addr").unwrap().into(), attr(r, "dst_addr").unwrap().into())).or_default();
        e.0 += number(r, "bytes").unwrap() as i64;
        e.1 += number(r, "packets").unwrap() as i64;
        e.2 += 1;
        e.3 += i64::from(attr(r, "action") == Some("REJECT"));
    }
    assert!(pairs.len() > 100, "more pairs than the top 100: {}", pairs.len());
    let mut want: Vec<(Pair, Talker)> = pairs.into_iter().collect();
    want.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    want.truncate(100);
    let got: Vec<(Pair, Talker)> = summary(lake, "vpc_top_talkers_hourly", bounds)
        .await
        .into_iter()
        .map(|c| {
            (
                (c["src_addr"].text(), c["dst_addr"].text()),
                (c["bytes"].int(), c["packets"].int(), c["flows"].int(), c["rejected_flows"].int()),
            )
        })
        .collect();
    assert_eq!(got, want, "vpc_top_talkers_hourly {}", bounds.name());
}

async fn check_rejects(lake: &Path, bounds: &WindowBounds, rows: &[&Row]) {
    let mut want: BTreeMap<RejectKey, (i64, i64, BTreeSet<String>)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.format == "vpc_flow" && attr(r, "action") == Some("REJECT")) {
        let key = (
            attr(r, "src_addr").unwrap().into(),
            attr(r, "dst_port").unwrap().into(),
            attr(r, "protocol").unwrap().into(),
        );
        let e = want.entry(key).or_default();
        e.0 += 1;
        e.1 += number(r, "packets").unwrap() as i64;
        e.2.insert(attr(r, "dst_addr").unwrap().into());
    }
    let want: BTreeMap<(String, String, String), (i64, i64, i64)> =
        want.into_iter().map(|(k, (f, p, d))| (k, (f, p, d.len() as i64))).collect();
    assert!(want.len() > 20);
    let got: BTreeMap<(String, String, String), (i64, i64, i64)> = summary(lake, "vpc_rejects_daily", bounds)
        .await
        .into_iter()
        .map(|c| {
            (
                (c["src_addr"].text(), c["dst_port"].text(), c["protocol"].text()),
                (c["flows"].int(), c["packets"].int(), c["destinations"].int()),
            )
        })
        .collect();
    assert_eq!(got, want, "vpc_rejects_daily {}", bounds.name());
}

/// template.yaml has a Glue table per shipped query whose columns are what the query returns
/// (planned here by the local engine), partitioned like its window, with projection; and one
/// schedule per query, on the query file's schedule, naming the query.
#[tokio::test]
async fn the_template_has_a_summary_table_and_a_schedule_for_every_shipped_query() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = crate::engine::Engine::open(dir.path(), crate::engine::Source::Lake).await.unwrap();
    let tables: Vec<&serde_yaml::Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Glue::Table")
        .map(|r| &r["Properties"]["TableInput"])
        .collect();
    let runner = resources.values().find(|r| r["Metadata"]["BuildProperties"]["Binary"] == "query-runner").unwrap();
    let schedules: Vec<&serde_yaml::Value> = runner["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|e| e["Type"] == "ScheduleV2")
        .map(|e| &e["Properties"])
        .collect();
    let queries = queries(None).unwrap();
    assert_eq!(schedules.len(), queries.len(), "one schedule per query");
    let mut expected_yaml = String::new();
    for query in &queries {
        let bounds = WindowBounds::containing(query.window, chrono::Utc::now(), chrono_tz::Tz::UTC);
        let schema = engine.output_schema(&query.render(&bounds).unwrap()).await.unwrap();
        let want: Vec<(String, String)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), loglake::lake::schema::hive_type(f.data_type())))
            .collect();
        for (name, ty) in &want {
            let storable = ["string", "bigint", "double", "boolean"].contains(&ty.as_str());
            assert!(storable, "{}.{name} is {ty}: the Athena runner stores text, bigint, double, boolean", query.name);
        }
        expected_yaml.push_str(&format!("{}:\n", query.output));
        for (name, ty) in &want {
            expected_yaml.push_str(&format!("            - {{ Name: {name}, Type: {ty} }}\n"));
        }
        let table = tables.iter().find(|t| t["Name"] == query.output.as_str());
        let Some(table) = table else { panic!("no Glue table {}; its columns:\n{expected_yaml}", query.output) };
        let got: Vec<(String, String)> = table["StorageDescriptor"]["Columns"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| (c["Name"].as_str().unwrap().to_owned(), c["Type"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(got, want, "{}: columns\n{expected_yaml}", query.output);
        let partitions: Vec<&str> =
            table["PartitionKeys"].as_sequence().unwrap().iter().map(|k| k["Name"].as_str().unwrap()).collect();
        let hourly = query.window == Window::Hourly;
        assert_eq!(partitions, if hourly { vec!["dt", "hour"] } else { vec!["dt"] }, "{}", query.output);
        let parameters = &table["Parameters"];
        assert_eq!(parameters["projection.enabled"], "true", "{}", query.output);
        let location = format!("{:?}", parameters["storage.location.template"]);
        let partition = if hourly { "dt=${!dt}/hour=${!hour}/" } else { "dt=${!dt}/" };
        assert!(location.contains(&format!("/summaries/{}/{partition}", query.output)), "{}: {location}", query.output);

        let schedule = schedules.iter().find(|s| {
            let input: serde_json::Value = serde_json::from_str(s["Input"].as_str().unwrap_or("{}")).unwrap();
            input["query"] == query.name.as_str()
        });
        let schedule = schedule.unwrap_or_else(|| panic!("no schedule names {}", query.name));
        assert_eq!(schedule["ScheduleExpression"].as_str(), Some(query.schedule.as_str()), "{}", query.name);
        let input: serde_json::Value = serde_json::from_str(schedule["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["scheduled_time"], "<aws.scheduler.scheduled-time>", "{}", query.name);
    }
}
