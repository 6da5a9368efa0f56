//! One line through every line format (detected, and each format forced): never a panic, the
//! message is the line unaltered, attribute names are unique and at most MAX_ATTRIBUTES.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use loglake::lake::record::LineFormat;
use loglake::parse::fields::MAX_ATTRIBUTES;
use loglake::parse::line::{LineContext, LineFormatChoice, normalize_line_as};

const NOW: i64 = 1_795_168_900_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(line) = std::str::from_utf8(rest) else { return };
    let choice = match LineFormat::ALL.get(selector as usize % (LineFormat::ALL.len() + 1)) {
        Some(format) => LineFormatChoice::Only(*format),
        None => LineFormatChoice::Auto,
    };
    let ctx = LineContext {
        source: "fuzz",
        account_id: Cow::Borrowed("111122223333"),
        region: Cow::Borrowed("us-east-1"),
        log_group: Cow::Borrowed("/aws/lambda/fuzz"),
        log_stream: Cow::Borrowed("s"),
        ingest_time_ms: NOW,
        max_event_time_skew_secs: 3600,
        envelope: vec![(Cow::Borrowed("subscription_filters"), Cow::Borrowed("f"))],
        line_format: &choice,
    };
    let record = normalize_line_as(&ctx, &choice, Cow::Borrowed("id"), Some(NOW - 1000), line);
    assert_eq!(record.message, line, "the message is never altered");
    assert!(record.attributes.len() <= MAX_ATTRIBUTES);
    for (at, (name, _)) in record.attributes.iter().enumerate() {
        assert!(record.attributes[..at].iter().all(|(other, _)| other != name), "duplicate attribute {name}");
    }
});
