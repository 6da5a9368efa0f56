//! A decompressed CloudWatch Logs payload (JSON) through parsing and normalization, with small
//! bounds: never a panic; a payload accepted within its bounds accounts for every event
//! (records = events - joined + split), holds no more than the bounds, and every record's
//! message is its event's text: unaltered, or the events a join took, or one element of a
//! CloudTrail `Records` array within it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loglake::config::PipelineConfig;
use loglake::decode::bounds::InputBounds;
use loglake::decode::subscription::{MessageType, parse_payload};
use loglake::ingest::payload::normalize_payload;

fuzz_target!(|data: &[u8]| {
    let Ok((MessageType::Data, payload)) = parse_payload(data) else { return };
    let bounds = InputBounds { decoded_bytes: 1 << 20, lines: 200, attributes: 2000 };
    let config = PipelineConfig { bounds, region: "us-east-1".into(), ..PipelineConfig::default() };
    let Ok(normalized) = normalize_payload(&payload, "fuzz", &config, 1_795_168_900_000, &mut bounds.budget()) else {
        return;
    };
    let events = &payload.log_events;
    assert_eq!(normalized.records.len() + normalized.joined_lines, events.len() + normalized.split_records);
    assert!(normalized.records.len() <= bounds.lines);
    assert!(normalized.records.iter().map(|r| r.attributes.len()).sum::<usize>() <= bounds.attributes);
    for record in &normalized.records {
        let joined =
            record.attributes.iter().find(|(k, _)| k == "multiline_lines").and_then(|(_, v)| v.parse::<usize>().ok());
        let ok = events.iter().enumerate().any(|(at, event)| match joined {
            Some(lines) if record.event_id == event.id => {
                let text: Vec<&str> = events[at..(at + lines).min(events.len())]
                    .iter()
                    .map(|e| e.message.trim_end_matches(['\n', '\r']))
                    .collect();
                record.message == text.join("\n")
            }
            Some(_) => false,
            None if record.event_id == event.id => record.message == event.message,
            None => record.event_id.starts_with(event.id.as_ref()) && event.message.contains(record.message.as_ref()),
        });
        assert!(ok, "record {} is not its event's text", record.event_id);
    }
});
