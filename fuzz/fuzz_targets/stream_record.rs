//! The data of one Kinesis / Firehose record (any bytes: gzip payloads, KPL aggregates, agent
//! JSON lines, text) through decode → parse → normalize with small bounds: never a panic; an
//! accepted record stays within its bounds, and a text record's records are its lines, in order,
//! unaltered.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use loglake::config::PipelineConfig;
use loglake::decode::bounds::InputBounds;
use loglake::decode::stream_data::RecordDataChoice;
use loglake::ingest::report::IngestReport;
use loglake::ingest::stream_record::{self, ParsedPart, StreamRecord, decoded_len};

fuzz_target!(|data: &[u8]| {
    let bounds = InputBounds { decoded_bytes: 256 << 10, lines: 300, attributes: 3000 };
    let config = PipelineConfig { bounds, region: "us-east-1".into(), ..PipelineConfig::default() };
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let decoded = stream_record::decode(&encoded, "pk", RecordDataChoice::Auto, &bounds);
    assert!(decoded_len(&decoded) <= bounds.decoded_bytes);
    let Ok(parts) = decoded else { return };
    let Ok(parsed) = stream_record::parse(&parts, &bounds) else { return };
    let origin = StreamRecord {
        source: "kinesis",
        stream_name: "fuzz",
        account_id: "111122223333",
        region: "us-east-1",
        id_prefix: "shardId-000000000000:1".into(),
        arrival_ms: Some(1_795_168_800_000),
    };
    let mut records = Vec::new();
    let mut report = IngestReport::default();
    if stream_record::normalize(&origin, &parsed, &config, 1_795_168_900_000, &mut records, &mut report).is_err() {
        assert!(records.is_empty(), "a refused record leaves no records behind");
        assert_eq!(report, IngestReport::default(), "a refused record counts nothing");
        return;
    }
    assert!(records.len() <= bounds.lines);
    assert!(records.iter().map(|r| r.attributes.len()).sum::<usize>() <= bounds.attributes);
    if let [ParsedPart::Text { lines, .. }] = parsed.as_slice() {
        let messages: Vec<&str> = records.iter().map(|r| r.message.as_ref()).collect();
        assert_eq!(&messages, lines);
    }
});
