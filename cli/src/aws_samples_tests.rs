//! The AWS documentation's sample queries for ALB, NLB and Classic load balancer access logs,
//! VPC flow logs, CloudFront standard logs and CloudTrail, run on the local engine with only the
//! table name changed (and a `dt` filter where the sample filters on its own date partition, and
//! the dates of a sample's time window moved to the lake's), against a brute-force computation
//! over the parsed records of a twin lake without typed tables (their attributes, read through
//! the compaction state's rules in Rust, not DataFusion).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, MapArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use loglake::compact::run::{CompactOptions, compact};
use loglake::compact::view::{local_readers, visible_rows};
use loglake::config::PipelineConfig;
use loglake::ingest::cloudwatch::{StoredLogEvent, ingest_log_events};
use loglake::ingest::report::IngestReport;
use loglake::lake::storage::LocalStore;
use loglake::testing::Rng;

use crate::engine::{Engine, Source};

const T0: i64 = 1_795_161_600_000; // 2026-11-20T08:00:00Z

fn alb_line(rng: &mut Rng, i: usize) -> String {
    let verb = ["GET", "POST"][rng.below(2)];
    let client = format!("192.168.1.{}", 1 + rng.below(4));
    let status = [200, 200, 302, 404, 500, 503][rng.below(6)];
    // Seven Safari users: the sample's LIMIT 10 returns them all.
    let agent = if i.is_multiple_of(9) && i < 63 {
        "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15"
    } else {
        "curl/8.4.0"
    };
    format!(
        "https 2026-11-20T08:{:02}:{:02}.000000Z app/shop/50dc6c495c0c9188 {client}:2817 10.0.0.1:80 0.001 0.002 0.000 {status} {status} 34 366 \
\"{verb} https://shop.example.org:443/item/{i} HTTP/1.1\" \"{agent}\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 \
arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/shop/73e2d6bc24d8a067 \"Root=1-58337281-1d84f3d73c47ec4e58577259\" \
\"shop.example.org\" \"-\" 1 2026-11-20T08:00:00.000000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"{status}\" \"-\" \"-\"",
        i / 60,
        i % 60
    )
}

fn vpc_line(rng: &mut Rng, i: usize) -> String {
    let dst = format!("10.1.0.{}", 1 + rng.below(6));
    let port = [443, 443, 22, 80][rng.below(4)];
    let action = if rng.below(5) == 0 { "REJECT" } else { "ACCEPT" };
    let start = T0 / 1000 + i as i64;
    format!(
        "2 123456789010 eni-1235b8ca123456789 10.0.0.{} {dst} 40{:03} {port} 6 {} {} {start} {} {action} OK",
        1 + rng.below(9),
        i % 1000,
        1 + rng.below(90),
        100 + rng.below(9_000),
        start + 60
    )
}

fn trail_line(rng: &mut Rng, i: usize) -> String {
    let anonymous = rng.below(3) == 0;
    let identity = if anonymous {
        r#"{"type":"AWSAccount","principalId":"","accountId":"anonymous"}"#.to_owned()
    } else {
        r#"{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"}"#.to_owned()
    };
    let (source, name) =
        [("s3.amazonaws.com", "GetObject"), ("s3.amazonaws.com", "PutObject"), ("iam.amazonaws.com", "ListUsers")]
            [rng.below(3)];
    let bucket = ["shop-assets", "shop-logs"][rng.below(2)];
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventTime":"2026-11-20T08:{:02}:{:02}Z","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.{}","userAgent":"aws-cli/2.13","requestParameters":{{"bucketName":"{bucket}","key":"k{i}"}},"requestID":"R{i}","eventID":"e-{i}","eventType":"AwsApiCall","recipientAccountId":"123456789012"}}"#,
        i / 60,
        i % 60,
        1 + rng.below(20)
    )
}

fn nlb_line(rng: &mut Rng, i: usize) -> String {
    let client = format!("198.51.100.{}", 1 + rng.below(5));
    let cert =
        ["arn:aws:acm:us-east-2:123456789012:certificate/shop", "arn:aws:acm:us-east-2:123456789012:certificate/api"]
            [rng.below(2)];
    // Every eighth connection ended before its handshake: `-` for its time, cipher and version.
    let (handshake, cipher, version) = match i % 8 {
        7 => ("-".to_owned(), "-", "-"),
        // Handshake times all differ: the ten slowest are one set.
        _ => (
            ((i * 37) % 101 + 1).to_string(),
            ["ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256"][rng.below(2)],
            ["tlsv1", "tlsv12", "tlsv12", "tlsv13"][rng.below(4)],
        ),
    };
    let (minute, second) = (i / 60, i % 60);
    format!(
        "tls 2.0 2026-11-20T08:{minute:02}:{second:02} net/edge/1a2b3c4d5e6f7081 0a1b2c3d4e5f6071 {client}:{} 10.0.0.9:443 {} {handshake} {} {} - {cert} - {cipher} {version} - edge.example.org - - - 2026-11-20T08:{minute:02}:{second:02}",
        40_000 + i,
        1 + rng.below(50),
        100 + rng.below(900),
        200 + rng.below(9_000)
    )
}

fn classic_line(rng: &mut Rng, i: usize) -> String {
    let status = [200, 200, 302, 404, 503][rng.below(5)];
    let backend = ["10.0.0.4", "10.0.0.5", "10.0.0.6"][rng.below(3)];
    let elb = ["legacy-lb", "admin-lb"][rng.below(2)];
    format!(
        "2026-11-20T08:{:02}:{:02}.000100Z {elb} 198.51.100.8:{} {backend}:80 0.000050 0.{:03} 0.000040 {status} {status} 0 120 \"GET http://legacy.example.org:80/p{} HTTP/1.1\" \"curl/8.5.0\" - -",
        i / 60,
        i % 60,
        5_000 + i,
        1 + rng.below(999),
        i % 7
    )
}

fn cloudfront_line(rng: &mut Rng, i: usize) -> String {
    // A quarter of the lines are of the day before: the sample filters on `date`.
    let date = if i.is_multiple_of(4) { "2026-11-19" } else { "2026-11-20" };
    let status = [200, 200, 304, 404][rng.below(4)];
    format!(
        "{date}\t08:{:02}:{:02}\tFRA56-P3\t{}\t198.51.100.{}\tGET\td1234abcd.cloudfront.net\t/img/{}.png\t{status}\t-\tMozilla/5.0\t-\t-\tHit\tR{i}==\twww.example.org\thttps\t180\t0.0{:02}\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t{}\t0.0{:02}\tHit\timage/png\t2390\t-\t-",
        i / 60,
        i % 60,
        100 + rng.below(5_000),
        1 + rng.below(9),
        i % 5,
        1 + rng.below(99),
        50_000 + i,
        1 + rng.below(99)
    )
}

/// Makes the `i`-th line of a log.
type LineMaker = fn(&mut Rng, usize) -> String;

/// The logs, the first 80% compacted (with or without typed tables) and the rest, with a
/// redelivery of some compacted records, still in staging.
async fn build_lake(lake: &Path, typed_tables: bool) {
    let store = LocalStore::new(lake);
    let mut rng = Rng(0x5eed);
    let groups: [(&str, LineMaker, usize); 6] = [
        ("/alb/shop", alb_line, 120),
        ("/vpc/flows", vpc_line, 300),
        ("/trail/org", trail_line, 90),
        ("/nlb/edge", nlb_line, 100),
        ("/elb/legacy", classic_line, 90),
        ("/cloudfront/site", cloudfront_line, 120),
    ];
    let mut late = Vec::new();
    for (group, line, count) in groups {
        let events: Vec<StoredLogEvent> = (0..count)
            .map(|i| StoredLogEvent {
                id: format!("{:056}", i),
                log_stream: "s1".into(),
                timestamp_ms: T0 + i as i64 * 1_000,
                message: line(&mut rng, i),
            })
            .collect();
        let cut = count * 4 / 5;
        ingest(&store, group, &events[..cut]).await;
        late.push((group, events[cut - 10..].to_vec()));
    }
    let spill = lake.join("spill");
    let options =
        CompactOptions { typed_tables, ..CompactOptions::for_local_lake(loglake::function::now_ms() + 1_000, "test") };
    compact(&store, &local_readers(), &options, &spill).await.unwrap();
    for (group, events) in late {
        ingest(&store, group, &events).await;
    }
}

async fn ingest(store: &LocalStore, group: &str, events: &[StoredLogEvent]) {
    let mut report = IngestReport::default();
    ingest_log_events("123456789012", group, events, &PipelineConfig::default(), T0 + 600_000, store, &mut report)
        .await
        .unwrap();
    assert!(report.dead_letters.is_empty(), "{:?}", report.dead_letters);
}

/// A parsed record as the brute force sees it: its format, id and attributes.
struct Record {
    format: String,
    event_id: String,
    attributes: BTreeMap<String, String>,
}

impl Record {
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
    fn number(&self, key: &str) -> i64 {
        self.get(key).unwrap().parse().unwrap()
    }
}

async fn records(lake: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    for batch in visible_rows(&LocalStore::new(lake)).await.unwrap() {
        let formats = batch.column_by_name("format").unwrap().as_string::<i32>().clone();
        let ids = batch.column_by_name("event_id").unwrap().as_string::<i32>().clone();
        let maps = batch.column_by_name("attributes").unwrap().as_any().downcast_ref::<MapArray>().unwrap().clone();
        for row in 0..batch.num_rows() {
            let attributes = loglake::testing::attributes_of(&maps, row);
            out.push(Record { format: formats.value(row).to_owned(), event_id: ids.value(row).to_owned(), attributes });
        }
    }
    out
}

/// The column `name` of a result, each value as text (null: None).
fn texts(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    texts_at(batches, |batch| batch.schema().index_of(name).unwrap())
}

/// The column at `index` of a result (for a column the query left unnamed), each value as text.
fn texts_at(batches: &[RecordBatch], index: impl Fn(&RecordBatch) -> usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for batch in batches {
        let column = cast(batch.column(index(batch)), &DataType::Utf8).unwrap();
        let column = column.as_string::<i32>();
        out.extend((0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i).to_owned())));
    }
    out
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_sample_queries_equal_a_brute_force_computation() {
    let reference = tempfile::tempdir().unwrap();
    build_lake(reference.path(), false).await;
    let all = records(reference.path()).await;
    let of = |format: &str| all.iter().filter(|r| r.format == format).collect::<Vec<_>>();
    let (alb, vpc, trail) = (of("alb"), of("vpc_flow"), of("cloudtrail"));
    let (nlb, classic, cloudfront) = (of("nlb"), of("elb_classic"), of("cloudfront"));
    assert_eq!((alb.len(), vpc.len(), trail.len()), (120, 300, 90), "each record once");
    assert_eq!((nlb.len(), classic.len(), cloudfront.len()), (100, 90, 120), "each record once");

    for typed_tables in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        build_lake(dir.path(), typed_tables).await;
        let engine = Engine::open(dir.path(), Source::Lake).await.unwrap();
        let run = |sql: &'static str| {
            let engine = &engine;
            async move { engine.run(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:#}")).batches }
        };
        let context = format!("typed tables {typed_tables}");

        // ALB: "counts the number of HTTP GET requests received by the load balancer grouped by the
        // client IP address".
        let got = run("SELECT COUNT(request_verb) AS count, request_verb, client_ip FROM alb_logs_all GROUP BY request_verb, client_ip LIMIT 100;").await;
        let got: BTreeMap<(String, String), String> = texts(&got, "request_verb")
            .iter()
            .zip(texts(&got, "client_ip"))
            .zip(texts(&got, "count"))
            .map(|((verb, ip), n)| ((text(verb), text(&ip)), text(&n)))
            .collect();
        let mut want: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in &alb {
            *want.entry((r.get("http_method").unwrap().into(), r.get("client_ip").unwrap().into())).or_default() += 1;
        }
        let want: BTreeMap<_, _> = want.into_iter().map(|(k, n)| (k, n.to_string())).collect();
        assert_eq!(got, want, "ALB requests by verb and client, {context}");

        // ALB: "the URLs visited by Safari browser users".
        let got = run("SELECT request_url FROM alb_logs_all WHERE user_agent LIKE '%Safari%' LIMIT 10;").await;
        let got: BTreeSet<String> = texts(&got, "request_url").iter().map(text).collect();
        let want: BTreeSet<String> = alb
            .iter()
            .filter(|r| r.get("user_agent").unwrap().contains("Safari"))
            .map(|r| r.get("url").unwrap().to_owned())
            .collect();
        assert_eq!((got.len(), &got), (7, &want), "ALB Safari URLs, {context}");

        // ALB: "records that have ELB status code values greater than or equal to 500".
        let got = run("SELECT * FROM alb_logs_all WHERE elb_status_code >= 500").await;
        let got: BTreeSet<String> = texts(&got, "event_id").iter().map(text).collect();
        let want: BTreeSet<String> =
            alb.iter().filter(|r| r.number("elb_status_code") >= 500).map(|r| r.event_id.clone()).collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "ALB 5xx, {context}");

        // ALB: "how to parse the logs by datetime", its dates changed to a minute of the lake's
        // (`parse_datetime`: the engine's Athena functions, cli/src/dialect.rs).
        let got = run("SELECT client_ip, sum(received_bytes) \nFROM alb_logs_all\nWHERE parse_datetime(time,'yyyy-MM-dd''T''HH:mm:ss.SSSSSS''Z') \n     BETWEEN parse_datetime('2026-11-20-08:00:30','yyyy-MM-dd-HH:mm:ss') \n     AND parse_datetime('2026-11-20-08:01:30','yyyy-MM-dd-HH:mm:ss') \nGROUP BY client_ip;").await;
        let sums = texts_at(&got, |_| 1);
        let got: BTreeMap<String, String> =
            texts(&got, "client_ip").iter().zip(&sums).map(|(ip, sum)| (text(ip), text(sum))).collect();
        let mut want: BTreeMap<String, i64> = BTreeMap::new();
        // The lines' times are of one fixed width: as text, they sort as instants.
        let window = "2026-11-20T08:00:30.000000Z"..="2026-11-20T08:01:30.000000Z";
        for r in alb.iter().filter(|r| window.contains(&r.get("time").unwrap())) {
            *want.entry(r.get("client_ip").unwrap().into()).or_default() += r.number("received_bytes");
        }
        let want: BTreeMap<String, String> = want.into_iter().map(|(ip, n)| (ip, n.to_string())).collect();
        assert!(want.len() > 1);
        assert_eq!(got, want, "ALB bytes received by client in a time window, {context}");

        // VPC: "a maximum of 100 flow logs for the date specified", the date the lake's. The
        // view has the AWS table's partition column `date` (`dt` as a date).
        let got = run("SELECT * \nFROM vpc_flow_logs_all \nWHERE date = DATE('2026-11-20') \nLIMIT 100;").await;
        let ids: BTreeSet<&str> = vpc.iter().map(|r| r.event_id.as_str()).collect();
        let got_ids = texts(&got, "event_id");
        assert!(
            got_ids.len() == 100 && got_ids.iter().all(|id| ids.contains(text(id).as_str())),
            "VPC one day, {context}"
        );
        assert!(texts(&got, "date").iter().all(|d| d.as_deref() == Some("2026-11-20")), "VPC one day, {context}");
        let none = run("SELECT * FROM vpc_flow_logs_all WHERE date = DATE('2026-11-21') LIMIT 100;").await;
        assert!(texts(&none, "event_id").is_empty(), "no flow of another day, {context}");

        // VPC: "the rejected TCP connections", with "the day of the week for which these events
        // occurred" from the `date` partition column.
        let got = run("SELECT day_of_week(date) AS\n  day,\n  date,\n  interface_id,\n  srcaddr,\n  action,\n  protocol\nFROM vpc_flow_logs_all\nWHERE action = 'REJECT' AND protocol = 6\nLIMIT 100;").await;
        let mut got: Vec<Vec<String>> = (0..texts(&got, "day").len())
            .map(|row| {
                ["day", "date", "interface_id", "srcaddr", "action", "protocol"]
                    .iter()
                    .map(|column| text(&texts(&got, column)[row]))
                    .collect()
            })
            .collect();
        got.sort();
        let mut want: Vec<Vec<String>> = vpc
            .iter()
            .filter(|r| r.get("action") == Some("REJECT") && r.get("protocol") == Some("6"))
            .map(|r| {
                // 2026-11-20 was a Friday: 5, as ISO numbers it.
                let fields = [r.get("interface_id").unwrap(), r.get("src_addr").unwrap(), "REJECT", "6"];
                ["5", "2026-11-20"].into_iter().chain(fields).map(str::to_owned).collect()
            })
            .collect();
        want.sort();
        assert!(want.len() > 10 && want.len() < 100);
        assert_eq!(got, want, "VPC rejected TCP connections by day of the week, {context}");

        // VPC: "which one of your servers is receiving the highest number of HTTPS requests"
        // (the sample's `date > current_date - interval '7' day`: a day before the lake's).
        let got = run("SELECT SUM(packets) AS\n  packetcount,\n  dstaddr\nFROM vpc_flow_logs_all\nWHERE dstport = 443 AND date > DATE '2026-11-20' - interval '7' day\nGROUP BY dstaddr\nORDER BY packetcount DESC\nLIMIT 10;").await;
        let got: Vec<(String, i64)> = texts(&got, "dstaddr")
            .iter()
            .zip(texts(&got, "packetcount"))
            .map(|(addr, n)| (text(addr), text(&n).parse().unwrap()))
            .collect();
        let mut want: BTreeMap<String, i64> = BTreeMap::new();
        for r in vpc.iter().filter(|r| r.number("dst_port") == 443) {
            *want.entry(r.get("dst_addr").unwrap().into()).or_default() += r.number("packets");
        }
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "ordered by packets: {got:?}");
        assert_eq!(got.into_iter().collect::<BTreeMap<_, _>>(), want, "VPC HTTPS packets by server, {context}");

        // CloudTrail: anonymous (unauthenticated) S3 requests, with the struct fields.
        let got = run("SELECT * FROM cloudtrail_logs_all WHERE eventsource = 's3.amazonaws.com' AND eventname in ('GetObject') AND useridentity.accountid = 'anonymous' AND useridentity.arn IS NULL AND requestparameters LIKE '%shop-assets%';").await;
        let got: BTreeSet<String> = texts(&got, "event_id").iter().map(text).collect();
        let want: BTreeSet<String> = trail
            .iter()
            .filter(|r| {
                r.get("event_source") == Some("s3.amazonaws.com")
                    && r.get("event_name") == Some("GetObject")
                    && r.get("user_identity_account_id") == Some("anonymous")
                    && r.get("user_identity_arn").is_none()
                    && r.get("request_parameters").unwrap().contains("shop-assets")
            })
            .map(|r| r.event_id.clone())
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "CloudTrail anonymous S3 reads, {context}");

        // NLB: "how many times a certificate is used".
        let got =
            run("SELECT count(*) AS \n         ct,\n         cert_arn\nFROM \"nlb_logs_all\"\nGROUP BY  cert_arn;")
                .await;
        let got: BTreeMap<String, String> =
            texts(&got, "cert_arn").iter().zip(texts(&got, "ct")).map(|(cert, n)| (text(cert), text(&n))).collect();
        let mut want: BTreeMap<String, i64> = BTreeMap::new();
        for r in &nlb {
            *want.entry(r.get("chosen_cert_arn").unwrap().into()).or_default() += 1;
        }
        let want: BTreeMap<String, String> = want.into_iter().map(|(cert, n)| (cert, n.to_string())).collect();
        assert_eq!((got.len(), &got), (2, &want), "NLB connections by certificate, {context}");

        // NLB: "how many users are using a TLS version earlier than 1.3".
        let got = run("SELECT tls_protocol_version,\n         COUNT(tls_protocol_version) AS \n         num_connections,\n         client_ip\nFROM \"nlb_logs_all\"\nWHERE tls_protocol_version < 'tlsv13'\nGROUP BY tls_protocol_version, client_ip;").await;
        let got: BTreeMap<(String, String), String> = texts(&got, "tls_protocol_version")
            .iter()
            .zip(texts(&got, "client_ip"))
            .zip(texts(&got, "num_connections"))
            .map(|((version, ip), n)| ((text(version), text(&ip)), text(&n)))
            .collect();
        let mut want: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in nlb.iter().filter(|r| r.get("tls_protocol_version").is_some_and(|v| v < "tlsv13")) {
            let key = (r.get("tls_protocol_version").unwrap().into(), r.get("client_ip").unwrap().into());
            *want.entry(key).or_default() += 1;
        }
        let want: BTreeMap<_, _> = want.into_iter().map(|(k, n)| (k, n.to_string())).collect();
        assert!(want.keys().any(|(v, _)| v == "tlsv1") && want.keys().any(|(v, _)| v == "tlsv12"));
        assert_eq!(got, want, "NLB connections before TLS 1.3 by client, {context}");

        // NLB: "connections that take a long TLS handshake time". Athena sorts nulls last in
        // either direction (the connections that had no handshake): so does the engine.
        let got = run("SELECT *\nFROM \"nlb_logs_all\"\nORDER BY  tls_handshake_time_ms DESC \nLIMIT 10;").await;
        let got: Vec<String> = texts(&got, "event_id").iter().map(text).collect();
        let mut slowest: Vec<(f64, &str)> = nlb
            .iter()
            .filter_map(|r| Some((r.get("tls_handshake_time")?.parse().ok()?, r.event_id.as_str())))
            .collect();
        slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
        let want: Vec<String> = slowest.iter().take(10).map(|(_, id)| id.to_string()).collect();
        assert!(nlb.iter().any(|r| r.get("tls_handshake_time").is_none()), "some connections had no handshake");
        assert_eq!(got, want, "NLB slowest handshakes, {context}");

        // NLB: "TLS protocol versions and cipher suites negotiated in the past 30 days" (the
        // sample's `current_timestamp - interval '30' day` is an instant of the lake's day here).
        let got = run("SELECT tls_cipher_suite,\n         tls_protocol_version,\n         COUNT(*) AS ct\nFROM \"nlb_logs_all\"\nWHERE from_iso8601_timestamp(time) > from_iso8601_timestamp('2026-11-20T08:00:30Z')\n        AND NOT tls_protocol_version = '-'\nGROUP BY tls_cipher_suite, tls_protocol_version\nORDER BY ct DESC;").await;
        let counts: Vec<i64> = texts(&got, "ct").iter().map(|n| text(n).parse().unwrap()).collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "ordered by count: {counts:?}");
        let got: BTreeMap<(String, String), i64> = texts(&got, "tls_cipher_suite")
            .iter()
            .zip(texts(&got, "tls_protocol_version"))
            .zip(counts)
            .map(|((cipher, version), n)| ((text(cipher), text(&version)), n))
            .collect();
        let mut want: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in nlb.iter().filter(|r| r.get("time").unwrap() > "2026-11-20T08:00:30") {
            if let (Some(cipher), Some(version)) = (r.get("tls_cipher"), r.get("tls_protocol_version")) {
                *want.entry((cipher.into(), version.into())).or_default() += 1;
            }
        }
        assert!(want.values().sum::<i64>() < nlb.len() as i64 - 30, "the window leaves some out");
        assert_eq!(got, want, "NLB ciphers and versions in a window, {context}");

        // Classic: "the backend application servers that returned a 4XX or 5XX error response code".
        let got = run("SELECT\n timestamp,\n elb_name,\n backend_ip,\n backend_response_code\nFROM elb_logs_all\nWHERE backend_response_code LIKE '4%' OR\n      backend_response_code LIKE '5%'\nLIMIT 100;").await;
        let got: BTreeSet<(String, String, String, String)> = texts(&got, "timestamp")
            .iter()
            .zip(texts(&got, "elb_name"))
            .zip(texts(&got, "backend_ip"))
            .zip(texts(&got, "backend_response_code"))
            .map(|(((t, elb), ip), code)| (text(t), text(&elb), text(&ip), text(&code)))
            .collect();
        let want: BTreeSet<(String, String, String, String)> = classic
            .iter()
            .filter(|r| r.get("backend_status_code").is_some_and(|c| c.starts_with('4') || c.starts_with('5')))
            .map(|r| {
                let field = |k: &str| r.get(k).unwrap().to_owned();
                (field("time"), field("elb"), field("backend_ip"), field("backend_status_code"))
            })
            .collect();
        assert!(want.len() > 10);
        assert_eq!(got, want, "Classic backend errors, {context}");

        // Classic: "the response time of all the transactions grouped by the backend IP address
        // and Elastic Load Balancing instance name".
        let got = run("SELECT sum(backend_processing_time) AS\n total_ms,\n elb_name,\n backend_ip\nFROM elb_logs_all WHERE backend_ip <> ''\nGROUP BY backend_ip, elb_name\nLIMIT 100;").await;
        let got: BTreeMap<(String, String), f64> = texts(&got, "elb_name")
            .iter()
            .zip(texts(&got, "backend_ip"))
            .zip(texts(&got, "total_ms"))
            .map(|((elb, ip), total)| ((text(elb), text(&ip)), text(&total).parse().unwrap()))
            .collect();
        let mut want: BTreeMap<(String, String), f64> = BTreeMap::new();
        for r in &classic {
            let key = (r.get("elb").unwrap().into(), r.get("backend_ip").unwrap().into());
            *want.entry(key).or_default() += r.get("backend_processing_time").unwrap().parse::<f64>().unwrap();
        }
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "Classic groups, {context}");
        for (key, total) in &want {
            assert!((got[key] - total).abs() < 1e-9, "Classic time of {key:?}: {} ≠ {total}, {context}", got[key]);
        }

        // CloudFront: "the number of bytes served between June 9 and June 11, 2018", the dates
        // the lake's. The page's query sums `bytes`, a column its own `cloudfront_standard_logs`
        // table does not have (it has `sc_bytes`), so it fails on Athena as written; it runs
        // with `sc_bytes`.
        let got = run("SELECT SUM(sc_bytes) AS total_bytes\nFROM cloudfront_logs_all\nWHERE \"date\" BETWEEN DATE '2026-11-20' AND DATE '2026-11-22'\nLIMIT 100;").await;
        let want: i64 =
            cloudfront.iter().filter(|r| r.get("date") != Some("2026-11-19")).map(|r| r.number("sc_bytes")).sum();
        let all: i64 = cloudfront.iter().map(|r| r.number("sc_bytes")).sum();
        assert!(want < all, "the dates leave some out");
        assert_eq!(texts(&got, "total_bytes"), [Some(want.to_string())], "CloudFront bytes served, {context}");

        // CloudFront: "to eliminate duplicate rows".
        let got = run("SELECT DISTINCT *\nFROM cloudfront_logs_all\nLIMIT 10;").await;
        let got: BTreeSet<String> = texts(&got, "event_id").iter().map(text).collect();
        let ids: BTreeSet<&str> = cloudfront.iter().map(|r| r.event_id.as_str()).collect();
        assert!(
            got.len() == 10 && got.iter().all(|id| ids.contains(id.as_str())),
            "CloudFront distinct rows, {context}"
        );

        // CloudTrail: who called what, by the user identity's ARN.
        let got =
            run("SELECT useridentity.arn, eventname, sourceipaddress, eventtime FROM cloudtrail_logs_all LIMIT 100;")
                .await;
        assert_eq!(texts(&got, "eventname").len(), trail.len(), "every call, {context}");
    }
}
