//! CloudTrail records (one per log event, as CloudTrail delivers them to CloudWatch Logs): the
//! top-level fields as snake_case attributes (`event_name`, `event_source`, `aws_region`,
//! `source_ip_address`, `error_code` …), `userIdentity` one level deep (`user_identity_arn`,
//! `user_identity_type` …), and nested documents (`request_parameters`, `resources` …) as JSON
//! text. `eventTime` is the event time, `requestID` the request id; a call that failed
//! (`errorCode`) is an error.

use std::borrow::Cow;

use crate::lake::record::Level;
use crate::parse::fields::{LineFields, snake_case};
use crate::parse::raw_json::{self, Entries};
use crate::parse::timestamp::parse_text_ms;

/// The elements of a CloudTrail `Records` array (`{"Records": [{…}, …]}`, as in CloudTrail's
/// files), each as its own JSON text; none unless every element is a CloudTrail record.
pub(crate) fn records_array(message: &str) -> Option<Vec<&str>> {
    // Only a message that opens with the `Records` key: a scan of every JSON line would cost.
    let trimmed = message.trim();
    let after_brace = trimmed.strip_prefix('{')?.trim_start();
    if !after_brace.starts_with("\"Records\"") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "Records", borrow, deserialize_with = "only_records")]
        records: Vec<&'a str>,
    }
    let envelope: Envelope<'_> = serde_json::from_str(trimmed).ok()?;
    (!envelope.records.is_empty()).then_some(envelope.records)
}

/// The elements of a `Records` array, refused at the first that is not a CloudTrail record:
/// an array of a million `{}` is not held in memory to be looked at afterwards.
fn only_records<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<&'de str>, D::Error> {
    struct Elements;
    impl<'de> serde::de::Visitor<'de> for Elements {
        type Value = Vec<&'de str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of CloudTrail records")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut records = Vec::new();
            while let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? {
                if !raw_json::parse_object(raw.get()).is_some_and(|entries| is_record(&entries)) {
                    return Err(serde::de::Error::custom("not a CloudTrail record"));
                }
                records.push(raw.get());
            }
            Ok(records)
        }
    }
    deserializer.deserialize_seq(Elements)
}

/// A CloudTrail record: `eventVersion` and `eventTime`, and `eventSource` (API calls, service
/// and console events) or `eventType` (Insights events have no source).
pub(crate) fn is_record(entries: &Entries<'_>) -> bool {
    let has = |key: &str| raw_json::find(entries, key).is_some();
    has("eventVersion") && has("eventTime") && (has("eventSource") || has("eventType"))
}

pub(crate) fn parse<'a>(entries: Entries<'a>, out: &mut LineFields<'a>) {
    let mut failed = false;
    for (key, raw) in entries {
        match key.as_ref() {
            "eventTime" => out.time_ms = raw_json::string(raw).and_then(|t| parse_text_ms(&t)),
            "requestID" => out.request_id = raw_json::scalar_text(raw),
            "errorCode" => failed = true,
            _ => {}
        }
        if key == "userIdentity"
            && raw_json::is_object(raw)
            && let Some(identity) = raw_json::parse_object(raw.get())
        {
            for (sub, value) in identity {
                if let Some(text) = raw_json::text(value) {
                    out.attributes.push((Cow::Owned(format!("user_identity_{}", snake_case(&sub))), text));
                }
            }
            continue;
        }
        if let Some(text) = raw_json::text(raw) {
            let name = match key.as_ref() {
                "sourceIPAddress" => Cow::Borrowed("source_ip_address"),
                "requestID" => Cow::Borrowed("request_id"),
                "eventID" => Cow::Borrowed("event_id"),
                "sharedEventID" => Cow::Borrowed("shared_event_id"),
                other => Cow::Owned(snake_case(other)),
            };
            out.attributes.push((name, text));
        }
    }
    out.level = Some(if failed { Level::Error } else { Level::Info });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_array_is_split_only_when_every_element_is_a_record() {
        let record = r#"{"eventVersion":"1.08","eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com"}"#;
        let two = format!(r#"{{"Records":[{record},{record}]}}"#);
        assert_eq!(records_array(&two), Some(vec![record, record]));
        // A million empty objects: refused at the first, never collected.
        let empties = format!(r#"{{"Records":[{record},{}]}}"#, vec!["{}"; 1_000_000].join(","));
        assert_eq!(records_array(&empties), None);
        assert_eq!(records_array(r#"{"Records":[]}"#), None);
    }
}
