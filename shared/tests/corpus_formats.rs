//! Real AWS service logs written by others (../shared/corpus/logs/aws, read through
//! `LOGLAKE_CORPUS`, never copied into the project): for every file, the share of lines
//! recognised as their format and fully parsed. Target: at least 99% of the lines of each file,
//! except the lines documented below as malformed on purpose. Without `LOGLAKE_CORPUS` the check
//! says it was skipped (and fails when `LOGLAKE_REQUIRE_CORPUS=1`, as scripts/test.sh sets).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use loglake::config::LogFormat;
use loglake::formats::vpc_flow::FlowFormat;
use loglake::normalize::{LineContext, normalize_line};
use loglake::record::Format;

fn corpus() -> Option<PathBuf> {
    match std::env::var("LOGLAKE_CORPUS") {
        Ok(dir) => Some(PathBuf::from(dir)),
        Err(_) if std::env::var("LOGLAKE_REQUIRE_CORPUS").as_deref() == Ok("1") => {
            panic!("LOGLAKE_REQUIRE_CORPUS=1 but LOGLAKE_CORPUS is not set")
        }
        Err(_) => {
            eprintln!("SKIPPED: corpus format check needs LOGLAKE_CORPUS=path/to/shared/corpus");
            None
        }
    }
}

/// Lines that are malformed on purpose in their source: (file name, 1-based line, why).
const MALFORMED: &[(&str, usize, &str)] = &[];

/// Formats a directory's files hold.
const DIRECTORIES: &[(&str, &[Format])] = &[
    ("logs/aws/vpcflow", &[Format::VpcFlow]),
    ("logs/aws/elb", &[Format::Alb, Format::Nlb, Format::ElbClassic, Format::AlbConnection]),
    ("logs/aws/cloudtrail", &[Format::CloudTrail]),
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
            if !one_record_per_line(&path) {
                if !name.ends_with(".format") {
                    not_yet.push(name);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // A `.format` file beside a flow log names its fields, as the log group's setting would.
            let mut format = match std::fs::read_to_string(path.with_extension("format")) {
                Ok(fields) => LogFormat::VpcFlow(FlowFormat::parse(&fields).unwrap()),
                Err(_) => LogFormat::Auto,
            };
            let (mut lines, mut parsed, mut malformed) = (0, 0, 0);
            for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                if let Some(header) = FlowFormat::from_header(line) {
                    format = LogFormat::VpcFlow(header);
                    continue;
                }
                if MALFORMED.iter().any(|(file, n, _)| name.ends_with(file) && *n == number + 1) {
                    malformed += 1;
                    continue;
                }
                lines += 1;
                let ctx = LineContext {
                    source: "corpus",
                    account_id: "".into(),
                    region: "".into(),
                    log_group: Cow::Borrowed("corpus"),
                    log_stream: "".into(),
                    ingest_time_ms: 1_900_000_000_000,
                    max_event_time_skew_secs: 3600,
                    envelope: vec![],
                    log_format: &format,
                };
                let record = normalize_line(&ctx, "id".into(), None, line);
                if expected.contains(&record.format) {
                    parsed += 1;
                } else {
                    eprintln!("  {name}:{}: read as {}", number + 1, record.format.as_str());
                }
            }
            let share = if lines == 0 { 1.0 } else { parsed as f64 / lines as f64 };
            println!(
                "{name}: {parsed}/{lines} lines parsed ({:.1}%){}",
                share * 100.0,
                if malformed > 0 { format!(", {malformed} malformed on purpose") } else { String::new() }
            );
            if share < 0.99 {
                failures.push(format!("{name}: {parsed}/{lines}"));
            }
        }
    }
    println!("not read yet (not one record per line): {not_yet:?}");
    assert!(failures.is_empty(), "below 99%: {failures:?}");
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
