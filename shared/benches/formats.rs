//! Parse throughput per log format on one thread: `normalize_line` over generated lines of each
//! format (the project's own, varied by a seeded generator), MB/s of line text. Run it through
//! bench/formats.sh, or: `cargo bench -p loglake --bench formats`.

use std::borrow::Cow;
use std::time::Instant;

use loglake::lake::record::LineFormat;
use loglake::parse::line::LineFormatChoice;
use loglake::parse::line::{LineContext, normalize_line};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NOW: i64 = 1_795_168_800_000;

use loglake::testing::Rng;

fn ip(rng: &mut Rng) -> String {
    format!("10.{}.{}.{}", rng.below(255), rng.below(255), rng.below(255))
}

fn line(format: &str, rng: &mut Rng, i: usize) -> String {
    let t = NOW / 1000 - 600 + (i as i64 % 600);
    match format {
        "vpc_flow" => format!(
            "2 210987654321 eni-0a1b2c3d4e5f{:05} {} {} {} {} 6 {} {} {t} {} {} OK",
            rng.below(99_999),
            ip(rng),
            ip(rng),
            rng.below(65_535),
            [443, 80, 22, 5432][i % 4],
            rng.below(500),
            rng.below(900_000),
            t + 60,
            ["ACCEPT", "REJECT"][i % 2]
        ),
        "alb" => format!(
            "https 2026-11-20T09:{:02}:{:02}.{:06}Z app/shop/0f1e2d3c4b5a6978 {}:{} {}:8080 0.001 0.{:03} 0.000 {} {} {} {} \"GET https://shop.example.org:443/api/items/{}?page={} HTTP/1.1\" \"Mozilla/5.0 (X11; Linux x86_64)\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/shop/0123456789abcdef \"Root=1-673da1b6-{:024x}\" \"shop.example.org\" \"arn:aws:acm:eu-west-1:210987654321:certificate/abc\" 3 2026-11-20T09:00:00.000000Z \"forward\" \"-\" \"-\" \"10.0.1.7:8080\" \"200\" \"-\" \"-\" TID_{:016x}",
            i % 60,
            (i / 60) % 60,
            rng.below(999_999),
            ip(rng),
            rng.below(65_535),
            ip(rng),
            rng.below(999),
            [200, 200, 404, 503][i % 4],
            [200, 200, 404, 503][i % 4],
            rng.below(4000),
            rng.below(90_000),
            rng.below(9999),
            rng.below(9),
            rng.next_u64() as u128,
            rng.next_u64()
        ),
        "cloudtrail" => format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROA:{}","arn":"arn:aws:sts::210987654321:assumed-role/deploy/s{}","accountId":"210987654321","accessKeyId":"ASIA{:016X}"}},"eventTime":"2026-11-20T09:{:02}:{:02}Z","eventSource":"s3.amazonaws.com","eventName":"{}","awsRegion":"eu-west-1","sourceIPAddress":"{}","userAgent":"aws-cli/2.15","requestParameters":{{"bucketName":"data-{}","key":"k/{}"}},"responseElements":null,"requestID":"{:016X}","eventID":"{:032x}","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"210987654321"}}"#,
            rng.below(999),
            rng.below(99),
            rng.next_u64(),
            i % 60,
            (i / 60) % 60,
            ["GetObject", "PutObject", "ListObjects"][i % 3],
            ip(rng),
            rng.below(9),
            rng.below(99_999),
            rng.next_u64(),
            rng.next_u64() as u128
        ),
        "cloudfront" => format!(
            "2026-11-20\t09:{:02}:{:02}\tFRA56-P3\t{}\t{}\tGET\td1234abcd.cloudfront.net\t/img/{}.png\t{}\t-\tMozilla/5.0%20(X11)\t-\t-\tHit\t{:016x}==\twww.example.org\thttps\t{}\t0.0{:02}\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t{}\t0.001\tHit\timage/png\t{}\t-\t-",
            i % 60,
            (i / 60) % 60,
            rng.below(90_000),
            ip(rng),
            rng.below(9999),
            [200, 304, 404][i % 3],
            rng.next_u64(),
            rng.below(900),
            rng.below(99),
            rng.below(65_535),
            rng.below(90_000)
        ),
        "apigateway" => format!(
            r#"{{"requestId":"{:08x}-1111-2222-3333-{:012x}","ip":"{}","requestTime":"20/Nov/2026:09:{:02}:{:02} +0000","httpMethod":"GET","routeKey":"GET /pets/{{id}}","status":"{}","protocol":"HTTP/1.1","responseLength":"{}","integrationLatency":"{}"}}"#,
            rng.next_u64() as u32,
            rng.below(1 << 40),
            ip(rng),
            i % 60,
            (i / 60) % 60,
            [200, 404, 500][i % 3],
            rng.below(9000),
            rng.below(300)
        ),
        "access_log" => format!(
            r#"{} - - [20/Nov/2026:09:{:02}:{:02} +0000] "GET /shop/item/{}?ref={} HTTP/1.1" {} {} "https://example.org/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0""#,
            ip(rng),
            i % 60,
            (i / 60) % 60,
            rng.below(99_999),
            rng.below(99),
            [200, 301, 404][i % 3],
            rng.below(90_000)
        ),
        "syslog" => format!(
            "Nov 20 09:{:02}:{:02} web-{} sshd[{}]: Accepted publickey for deploy from {} port {} ssh2: ED25519 SHA256:{:016x}",
            i % 60,
            (i / 60) % 60,
            rng.below(9),
            rng.below(99_999),
            ip(rng),
            rng.below(65_535),
            rng.next_u64()
        ),
        "logfmt" => format!(
            r#"time="2026-11-20T09:{:02}:{:02}.{:03}Z" level={} msg="request handled" method=GET path=/api/items/{} status={} duration_ms={} trace={:016x}"#,
            i % 60,
            (i / 60) % 60,
            rng.below(999),
            ["info", "warn", "error"][i % 3],
            rng.below(9999),
            [200, 404, 500][i % 3],
            rng.below(900),
            rng.next_u64()
        ),
        "json" => format!(
            r#"{{"level":"info","time":"2026-11-20T09:{:02}:{:02}.{:03}Z","msg":"request handled","method":"GET","path":"/api/items/{}","status":{},"duration_ms":{},"user":{{"id":"u-{}","plan":"pro"}}}}"#,
            i % 60,
            (i / 60) % 60,
            rng.below(999),
            rng.below(9999),
            [200, 404][i % 2],
            rng.below(900),
            rng.below(99_999)
        ),
        _ => format!(
            "worker {} finished job {} after {} ms with {} retries",
            rng.below(9),
            rng.below(99_999),
            rng.below(9000),
            rng.below(3)
        ),
    }
}

fn main() {
    let formats =
        ["vpc_flow", "alb", "cloudtrail", "cloudfront", "apigateway", "access_log", "syslog", "logfmt", "json", "text"];
    let auto = LineFormatChoice::Auto;
    let ctx = LineContext {
        source: "cloudwatch",
        account_id: "210987654321".into(),
        region: "eu-west-1".into(),
        log_group: Cow::Borrowed("/bench"),
        log_stream: "s".into(),
        ingest_time_ms: NOW,
        max_event_time_skew_secs: 3600,
        envelope: vec![],
        line_format: &auto,
    };
    println!("{:<12} {:>10} {:>10} {:>12}", "format", "lines", "MB/s", "lines/s");
    for name in formats {
        let mut rng = Rng(0x5EED);
        let lines: Vec<String> = (0..50_000).map(|i| line(name, &mut rng, i)).collect();
        let bytes: usize = lines.iter().map(String::len).sum();
        let expected = LineFormat::parse(name).unwrap_or(LineFormat::Text);
        // Every generated line must be read as its format: a bench of lines that fall through
        // to text would measure the wrong thing.
        let misread =
            lines.iter().filter(|l| normalize_line(&ctx, "id".into(), Some(NOW), l).format != expected).count();
        assert_eq!(misread, 0, "{name}: {misread} lines not read as {}", expected.as_str());
        let rounds = 5;
        let start = Instant::now();
        let mut attributes = 0;
        for _ in 0..rounds {
            for line in &lines {
                attributes += normalize_line(&ctx, "id".into(), Some(NOW), line).attributes.len();
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        std::hint::black_box(attributes);
        let mbps = (bytes * rounds) as f64 / 1e6 / seconds;
        println!("{name:<12} {:>10} {mbps:>10.1} {:>12.0}", lines.len(), (lines.len() * rounds) as f64 / seconds);
        println!("RESULT parse_{name}_mbps={mbps:.1}");
    }
}
