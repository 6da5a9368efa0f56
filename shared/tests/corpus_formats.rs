//! Real AWS service logs written by others (../shared/corpus/logs/aws, read through
//! `LOGLAKE_CORPUS`, never copied into the project): for every file, the share of lines
//! recognised as their format and fully parsed. Target: at least 99% of the lines of each file
//! (docs/formats.md names the lines that are not, and why). Without `LOGLAKE_CORPUS` the check
//! says it was skipped (and fails when `LOGLAKE_REQUIRE_CORPUS=1`, as scripts/test.sh sets).

mod common;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use common::corpus;
use loglake::lake::record::LineFormat;
use loglake::parse::formats::vpc_flow::FlowFields;
use loglake::parse::line::LineFormatChoice;
use loglake::parse::line::{LineContext, normalize_line};

/// Formats a directory's files hold.
const DIRECTORIES: &[(&str, &[LineFormat])] = &[
    ("logs/aws/vpcflow", &[LineFormat::VpcFlow]),
    ("logs/aws/elb", &[LineFormat::Alb, LineFormat::Nlb, LineFormat::ElbClassic, LineFormat::AlbConnection]),
    ("logs/aws/cloudtrail", &[LineFormat::CloudTrail]),
    ("logs/aws/cloudfront", &[LineFormat::CloudFront]),
    ("logs/aws/apigateway", &[LineFormat::ApiGateway, LineFormat::AccessLog]),
    ("logs/apache_access", &[LineFormat::AccessLog]),
];

/// Other real logs of the formats loglake reads (not AWS services): the share is printed, and
/// must reach the given minimum.
const OTHER_FILES: &[(&str, LineFormat, f64)] = &[
    ("logs/lnav/logfile_access_log.0", LineFormat::AccessLog, 0.99),
    ("logs/lnav/logfile_shop_access_log.0", LineFormat::AccessLog, 0.99),
    ("logs/lnav/logfile_syslog.0", LineFormat::Syslog, 0.99),
    ("logs/lnav/logfile_logfmt.0", LineFormat::Logfmt, 0.99),
    ("logs/loghub/Linux_2k.log", LineFormat::Syslog, 0.99),
    ("logs/loghub/OpenSSH_2k.log", LineFormat::Syslog, 0.99),
];

/// Files whose records are not one per line (pretty-printed documents, the `Records` array
/// form): not yet read by loglake, listed by the check.
fn one_record_per_line(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(name.ends_with(".json") || name.ends_with(".txt") || name.ends_with(".format"))
}

#[test]
fn aws_service_logs_in_the_corpus_are_recognised_and_parsed() {
    let Some(root) = corpus() else { return };
    let mut failures = Vec::new();
    let mut not_yet = Vec::new();
    for (directory, expected) in DIRECTORIES {
        let mut files: Vec<PathBuf> = walk(&root.join(directory));
        files.sort();
        assert!(!files.is_empty(), "{directory} has no files");
        for path in files {
            let name = path.strip_prefix(&root).unwrap().display().to_string();
            if name.ends_with(".json") && directory.ends_with("cloudtrail") {
                // A CloudTrail document (`Records` form, pretty-printed): one message.
                let records = whole_file_records(&path);
                let parsed = records.iter().filter(|f| **f == LineFormat::CloudTrail).count();
                println!("{name}: {parsed}/{} records of the document parsed", records.len());
                if records.is_empty() || parsed < records.len() {
                    failures.push(format!("{name}: {parsed}/{}", records.len()));
                }
                continue;
            }
            if !one_record_per_line(&path) {
                if !name.ends_with(".format") {
                    not_yet.push(name);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // A `.format` file beside a flow log names its fields, as the log group's setting would.
            let mut format = match std::fs::read_to_string(path.with_extension("format")) {
                Ok(fields) => LineFormatChoice::VpcFlow(FlowFields::parse(&fields).unwrap()),
                Err(_) => LineFormatChoice::Auto,
            };
            let (mut lines, mut parsed) = (0, 0);
            for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                if let Some(header) = FlowFields::from_header(line) {
                    format = LineFormatChoice::VpcFlow(header);
                    continue;
                }
                lines += 1;
                let record = normalize_line(&context(&format), "id".into(), None, line);
                if expected.contains(&record.format) {
                    parsed += 1;
                } else {
                    eprintln!("  {name}:{}: read as {}", number + 1, record.format.as_str());
                }
            }
            let share = if lines == 0 { 1.0 } else { parsed as f64 / lines as f64 };
            println!("{name}: {parsed}/{lines} lines parsed ({:.1}%)", share * 100.0);
            if share < 0.99 {
                failures.push(format!("{name}: {parsed}/{lines}"));
            }
        }
    }
    for (file, format, minimum) in OTHER_FILES {
        let text = String::from_utf8_lossy(&std::fs::read(root.join(file)).unwrap()).into_owned();
        let (lines, parsed) = text.lines().filter(|l| !l.trim().is_empty()).fold((0, 0), |(lines, parsed), line| {
            let record = normalize_line(&context(&LineFormatChoice::Auto), "id".into(), None, line);
            (lines + 1, parsed + usize::from(record.format == *format))
        });
        let share = parsed as f64 / lines.max(1) as f64;
        println!("{file}: {parsed}/{lines} lines read as {} ({:.1}%)", format.as_str(), share * 100.0);
        if share < *minimum {
            failures.push(format!("{file}: {parsed}/{lines}"));
        }
    }
    println!("not read yet (not one record per line): {not_yet:?}");
    assert!(failures.is_empty(), "below 99%: {failures:?}");
}

/// The AWS documentation's flow log examples in a custom field order (`awsdocs_*.log`, their
/// order in the `.format` beside them) are read without configuration, each value under the
/// name the configured order gives it. The one example without a version first (the NAT
/// gateway's `instance-id interface-id …`) does not look like a flow record and stays `text`;
/// a documented line with two columns swapped fits no known order and says so.
#[test]
fn documented_custom_flow_log_orders_are_read_without_configuration() {
    let Some(root) = corpus() else { return };
    let dir = root.join("logs/aws/vpcflow");
    let mut read = 0;
    for path in walk(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("awsdocs_") && name.ends_with(".log")) {
            continue;
        }
        let order = std::fs::read_to_string(path.with_extension("format")).unwrap();
        let configured = LineFormatChoice::VpcFlow(FlowFields::parse(&order).unwrap());
        let versioned = order.starts_with("version");
        for line in std::fs::read_to_string(&path).unwrap().lines().filter(|l| !l.trim().is_empty()) {
            let auto = normalize_line(&context(&LineFormatChoice::Auto), "id".into(), None, line);
            let named = normalize_line(&context(&configured), "id".into(), None, line);
            assert_eq!(named.format, LineFormat::VpcFlow, "{name}: {line}");
            if versioned {
                assert_eq!(auto.format, LineFormat::VpcFlow, "{name}: {line}");
                assert_eq!(auto.attributes, named.attributes, "{name}: {line}");
                read += 1;
            } else {
                assert_eq!(auto.format, LineFormat::Text, "{name}: {line}");
            }
        }
    }
    assert!(read >= 10, "documented lines read: {read}");

    // The transit gateway example with `srcaddr` and `srcport` swapped: no known order fits.
    let swapped = "3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb \
                   i-01234567890123456 39812 10.40.2.236 10.20.33.164 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK";
    let record = normalize_line(&context(&LineFormatChoice::Auto), "id".into(), None, swapped);
    assert_eq!(record.format, LineFormat::Text);
    let attributes: Vec<(&str, &str)> = record.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    assert!(attributes.contains(&loglake::parse::line::FLOW_LOG_ORDER_UNKNOWN), "{attributes:?}");
}

/// The formats of the records a whole file makes as one log event.
fn whole_file_records(path: &Path) -> Vec<LineFormat> {
    let text = std::fs::read_to_string(path).unwrap();
    let payload = loglake::decode::subscription::LogsPayload {
        message_type: "DATA_MESSAGE".into(),
        owner: "".into(),
        log_group: "corpus".into(),
        log_stream: "".into(),
        subscription_filters: Vec::new(),
        policy_level: None,
        log_events: vec![loglake::decode::subscription::LogEvent {
            id: "id".into(),
            timestamp: serde_json::Number::from(1_900_000_000_000_i64),
            message: Cow::Borrowed(text.as_str()),
        }],
    };
    let config = loglake::config::PipelineConfig::default();
    let normalized = loglake::ingest::payload::normalize_payload(
        &payload,
        "corpus",
        &config,
        1_900_000_000_000,
        &mut config.bounds.budget(),
    )
    .unwrap();
    normalized.records.iter().map(|r| r.format).collect()
}

fn context(line_format: &LineFormatChoice) -> LineContext<'_> {
    LineContext {
        source: "corpus",
        account_id: "".into(),
        region: "".into(),
        log_group: Cow::Borrowed("corpus"),
        log_stream: "".into(),
        ingest_time_ms: 1_900_000_000_000,
        max_event_time_skew_secs: 3600,
        envelope: vec![],
        line_format,
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
