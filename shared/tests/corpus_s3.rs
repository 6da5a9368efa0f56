//! Every ALB/ELB, CloudFront, CloudTrail, VPC flow log and WAF sample of ../shared/corpus (written by
//! others; read through `LOGLAKE_CORPUS`, never copied into the project) through the S3 path:
//! each file gzip-ed into a source directory at the key its service writes under, notified, and
//! read by ingest-s3's pipeline. Prints the share of lines each kind's parser recognised and
//! requires every line (CloudTrail: every record, pretty-printed documents included) to be.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;

use common::{corpus, lake_rows};
use loglake::config::PipelineConfig;
use loglake::decode::s3_object::ObjectLimits;
use loglake::ingest::s3::{S3Options, SqsEvent, ingest_sqs_batch};
use loglake::lake::source::LocalSource;
use loglake::lake::storage::LocalStore;
use serde_json::json;

/// Well after every sample's time: the samples are years old, their lines keep their own times.
const NOW: i64 = 1_900_000_000_000;

fn key_for(kind: &str, n: usize) -> String {
    match kind {
        "elb" => format!(
            "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/20/123456789012_elasticloadbalancing_us-east-1_app.lb_{n}.log.gz"
        ),
        "cloudfront" => format!("cf/E2EXAMPLE{n}.2026-11-20-10.abcd{n}.gz"),
        "cloudtrail" => format!(
            "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_{n}.json.gz"
        ),
        _ => format!(
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/123456789012_vpcflowlogs_us-east-1_fl_{n}.log.gz"
        ),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn every_aws_service_log_sample_is_read_through_the_s3_path() {
    let Some(root) = corpus() else { return };
    let logs = root.join("logs/aws");
    let (source, lake) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // key → (sample, kind, lines the parser should read)
    let mut objects: BTreeMap<String, (String, &str, usize)> = BTreeMap::new();
    let mut n = 0;
    for kind in ["elb", "cloudfront", "cloudtrail", "vpcflow"] {
        // The samples of the kind, and of its subfolders (awsdocs/).
        let mut files: Vec<_> = Vec::new();
        for dir in [logs.join(kind), logs.join(kind).join("awsdocs")] {
            if dir.is_dir() {
                files.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()));
            }
        }
        files.sort();
        for path in files {
            if path.is_dir() || path.extension().is_some_and(|x| x == "format" || x == "txt") {
                continue; // .format: a flow log's field list (below); .txt: documentation that is not JSON
            }
            let sample = format!("{kind}/{}", path.file_name().unwrap().to_string_lossy());
            let mut text = std::fs::read_to_string(&path).unwrap();
            if text.trim().is_empty() {
                continue;
            }
            let is_header = |l: &str| l.starts_with('#') || l.starts_with("version ");
            let lines = match kind {
                // A document of records: one per element; a line per record otherwise.
                "cloudtrail" => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(doc) if doc.get("Records").is_some() => doc["Records"].as_array().unwrap().len(),
                    Ok(doc) if doc.is_object() => 1,
                    _ => text.lines().filter(|l| !l.trim().is_empty()).count(),
                },
                _ => text.lines().filter(|l| !l.trim().is_empty() && !is_header(l)).count(),
            };
            // A flow log file in S3 starts with its fields as a header line (the format's names).
            let format = path.with_extension("format");
            if kind == "vpcflow" && format.exists() {
                let fields = std::fs::read_to_string(format).unwrap().replace("${", "").replace('}', "");
                text = format!("{}\n{text}", fields.trim());
            }
            n += 1;
            let key = key_for(kind, n);
            let file = source.path().join(&key);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, gzip(text.as_bytes())).unwrap();
            objects.insert(key, (sample, kind, lines));
        }
    }
    // WAF writes one JSON document per line (directly, or through Firehose); the sample is the
    // documentation's pretty-printed record, written here as WAF delivers it.
    let waf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join("waf/awslogparser_waf_log.json")).unwrap()).unwrap();
    let waf_key =
        "AWSLogs/123456789012/WAFLogs/us-east-1/acl/2026/11/20/10/05/123456789012_waflogs_us-east-1_acl_1.log.gz";
    let file = source.path().join(waf_key);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, gzip(format!("{waf}\n{waf}\n").as_bytes())).unwrap();
    objects.insert(waf_key.to_owned(), ("waf/awslogparser_waf_log.json".to_owned(), "waf", 2));
    let messages: Vec<_> = objects
        .keys()
        .enumerate()
        .map(|(i, key)| {
            let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "eventTime": "2026-11-20T10:05:00Z",
                "awsRegion": "us-east-1", "s3": {"bucket": {"name": "corpus"}, "object": {"key": key, "eTag": format!("e{i}")}}}]});
            json!({"messageId": format!("m{i}"), "body": body.to_string()})
        })
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({ "Records": messages })).unwrap();
    let store = LocalStore::new(lake.path());
    let options = S3Options::new(ObjectLimits::for_memory_mb(256));
    let report =
        ingest_sqs_batch(&event, &PipelineConfig::default(), &options, NOW, &store, &LocalSource::new(source.path()))
            .await;
    assert!(report.retry.is_empty() && report.ingest.dead_letters.is_empty(), "{:?}", report.ingest.dead_letters);
    assert_eq!(report.objects_read, objects.len());

    let rows = lake_rows(&store).await;
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut short = Vec::new();
    for (key, (sample, kind, lines)) in &objects {
        let formats: &[&str] = match *kind {
            "elb" => &["alb", "nlb", "elb_classic", "alb_connection"],
            "cloudfront" => &["cloudfront"],
            "cloudtrail" => &["cloudtrail"],
            "waf" => &["json"],
            _ => &["vpc_flow"],
        };
        let read = rows
            .iter()
            .filter(|r| &r.log_stream == key && formats.contains(&r.format.as_str()))
            .filter(|r| !r.attributes.contains_key("cloudfront_header"))
            .count();
        let entry = by_kind.entry(kind).or_default();
        entry.0 += lines;
        entry.1 += read.min(*lines);
        if read < *lines {
            short.push(format!("{sample}: {read} of {lines} lines recognised"));
        }
    }
    for (kind, (lines, read)) in &by_kind {
        println!(
            "{kind:<11} {read:>4} of {lines:>4} lines recognised ({:.1}%) through the S3 path",
            100.0 * *read as f64 / *lines as f64
        );
    }
    assert!(short.is_empty(), "well-formed samples not read whole:\n{}", short.join("\n"));
}
