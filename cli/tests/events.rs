//! Every sample event in events/ is used: the demo embeds each of them, and each one decodes
//! to the readable payload it was generated from (events/generate.py --check keeps the bytes
//! reproducible).

use std::path::Path;
use std::process::Command;

use loglake::decode::subscription::{SubscriptionEvent, decompress_base64, parse_payload};

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/ingest-cloudwatch")
}

fn kinesis_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/ingest-kinesis")
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_event_file_is_in_the_demo_and_decodes_to_its_source() {
    let files = json_files(&events_dir());
    // The demo embeds the event files; it must send every one of them.
    let lake = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_loglake")).arg("demo").arg("--lake").arg(lake.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8(out.stdout).unwrap();
    let inputs: Vec<&str> = summary.lines().filter_map(|l| l.trim().strip_prefix("inputs")).map(str::trim).collect();
    assert!(inputs[0].starts_with(&format!("{} ", files.len())), "demo sent {}, events/ has {files:?}", inputs[0]);
    let kinesis_records: usize = json_files(&kinesis_dir())
        .iter()
        .map(|name| {
            let event: serde_json::Value =
                serde_json::from_slice(&std::fs::read(kinesis_dir().join(name)).unwrap()).unwrap();
            event["Records"].as_array().unwrap().len()
        })
        .sum();
    assert!(inputs[1].starts_with(&format!("{kinesis_records} ")), "demo sent {} Kinesis records", inputs[1]);

    for name in files {
        let event: SubscriptionEvent = serde_json::from_slice(&std::fs::read(events_dir().join(&name)).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded = decompress_base64(&event.awslogs.data, 1 << 20);
        if name == "truncated-gzip.json" {
            assert_eq!(decoded.unwrap_err().kind(), "corrupt_gzip");
            continue;
        }
        let json = decoded.unwrap();
        parse_payload(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let source: serde_json::Value =
            serde_json::from_slice(&std::fs::read(events_dir().join("decoded").join(&name)).unwrap()).unwrap();
        let actual: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(actual, source, "{name}");
    }
}
