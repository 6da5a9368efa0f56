//! S3 object-created notifications, as the body of an SQS message, delivered the three ways
//! users set them up: S3 → SQS (an S3 event notification), S3 → SNS → SQS (that notification as
//! the `Message` of an SNS envelope, unless raw message delivery is on), and S3 → EventBridge →
//! SQS (an EventBridge event, `detail-type: Object Created`).
//!
//! What comes out is the objects to read, each with what identifies its content (version id or
//! ETag). Everything else a bucket may send — the `s3:TestEvent` sent when a notification is
//! configured, removals, restores, lifecycle transitions — is counted and skipped.

use serde::Deserialize;
use serde_json::Value;

/// One object an S3 notification says was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    /// The object key, decoded (S3 event notifications URL-encode it; EventBridge does not).
    pub key: String,
    /// The version, on a versioned bucket: what to read, even after an overwrite.
    pub version_id: Option<String>,
    /// The ETag without quotes: what the content was when notified (reads are conditional on it).
    pub etag: Option<String>,
    pub size: Option<u64>,
    /// When the object was created, ms since the epoch.
    pub event_time_ms: Option<i64>,
    pub region: Option<String>,
    /// The bucket owner's account (EventBridge events name it; S3 event notifications do not).
    pub account_id: Option<String>,
}

impl CreatedObject {
    /// What identifies this object's content: its version id, else its ETag, else nothing
    /// more than its key (a notification without either: a hand-written one).
    pub fn content_identity(&self) -> &str {
        self.version_id.as_deref().or(self.etag.as_deref()).unwrap_or("")
    }
}

/// What one SQS message body said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    pub created: Vec<CreatedObject>,
    /// Events that create nothing to read (test events, removals, restores …), by name.
    pub skipped_events: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotificationError {
    #[error("message body is not JSON: {0}")]
    NotJson(String),
    #[error("message body is not an S3 notification (S3 event, SNS envelope or EventBridge event): {0}")]
    NotANotification(String),
    #[error("S3 notification record {index} is malformed: {reason}")]
    MalformedRecord { index: usize, reason: String },
}

impl NotificationError {
    /// The dead letter's `error_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            NotificationError::NotJson(_) => "invalid_json",
            NotificationError::NotANotification(_) => "not_an_s3_notification",
            NotificationError::MalformedRecord { .. } => "malformed_s3_notification",
        }
    }
}

/// Reads the body of one SQS message.
pub fn parse_message_body(body: &str) -> Result<Notification, NotificationError> {
    let value: Value = serde_json::from_str(body).map_err(|e| NotificationError::NotJson(e.to_string()))?;
    parse_value(&value, true)
}

fn parse_value(value: &Value, may_be_envelope: bool) -> Result<Notification, NotificationError> {
    let Some(object) = value.as_object() else {
        return Err(NotificationError::NotANotification("not a JSON object".into()));
    };
    if let Some(records) = object.get("Records") {
        return s3_event_records(records);
    }
    if object.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notification { created: Vec::new(), skipped_events: vec!["s3:TestEvent".into()] });
    }
    if object.get("source").and_then(Value::as_str) == Some("aws.s3") && object.contains_key("detail") {
        return eventbridge_event(value);
    }
    if may_be_envelope
        && object.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = object.get("Message").and_then(Value::as_str)
    {
        let inner: Value = serde_json::from_str(message)
            .map_err(|e| NotificationError::NotANotification(format!("SNS Message is not JSON: {e}")))?;
        return parse_value(&inner, false);
    }
    let keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
    Err(NotificationError::NotANotification(format!("a JSON object with keys {keys:?}")))
}

#[derive(Deserialize)]
struct S3EventRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    #[serde(rename = "eventTime", default)]
    event_time: Option<String>,
    #[serde(rename = "awsRegion", default)]
    region: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(rename = "eTag", default)]
    etag: Option<String>,
    #[serde(rename = "versionId", default)]
    version_id: Option<String>,
}

fn s3_event_records(records: &Value) -> Result<Notification, NotificationError> {
    let Some(records) = records.as_array() else {
        return Err(NotificationError::NotANotification("`Records` is not an array".into()));
    };
    let mut out = Notification::default();
    for (index, record) in records.iter().enumerate() {
        let malformed = |reason: String| NotificationError::MalformedRecord { index, reason };
        let parsed = S3EventRecord::deserialize(record).map_err(|e| malformed(e.to_string()))?;
        if !parsed.event_name.starts_with("ObjectCreated:") {
            out.skipped_events.push(parsed.event_name);
            continue;
        }
        let key = url_decode_plus(&parsed.s3.object.key)
            .ok_or_else(|| malformed("the object key is not URL-encoded UTF-8".into()))?;
        out.created.push(CreatedObject {
            bucket: parsed.s3.bucket.name,
            key,
            version_id: parsed.s3.object.version_id.filter(|v| !v.is_empty() && v != "null"),
            etag: parsed.s3.object.etag.map(unquote).filter(|e| !e.is_empty()),
            size: parsed.s3.object.size,
            event_time_ms: parsed.event_time.as_deref().and_then(rfc3339_ms),
            region: parsed.region.filter(|r| !r.is_empty()),
            account_id: None,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct EventBridgeEvent {
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    account: Option<String>,
    detail: EventBridgeDetail,
}

#[derive(Deserialize)]
struct EventBridgeDetail {
    bucket: S3Bucket,
    object: EventBridgeObject,
}

#[derive(Deserialize)]
struct EventBridgeObject {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(rename = "version-id", default)]
    version_id: Option<String>,
}

fn eventbridge_event(value: &Value) -> Result<Notification, NotificationError> {
    let malformed = |reason: String| NotificationError::MalformedRecord { index: 0, reason };
    let detail_type = value.get("detail-type").and_then(Value::as_str).unwrap_or_default();
    if detail_type != "Object Created" {
        return Ok(Notification { created: Vec::new(), skipped_events: vec![detail_type.to_owned()] });
    }
    let event = EventBridgeEvent::deserialize(value).map_err(|e| malformed(e.to_string()))?;
    Ok(Notification {
        created: vec![CreatedObject {
            bucket: event.detail.bucket.name,
            key: event.detail.object.key,
            version_id: event.detail.object.version_id.filter(|v| !v.is_empty() && v != "null"),
            etag: event.detail.object.etag.map(unquote).filter(|e| !e.is_empty()),
            size: event.detail.object.size,
            event_time_ms: event.time.as_deref().and_then(rfc3339_ms),
            region: event.region.filter(|r| !r.is_empty()),
            account_id: event.account.filter(|a| !a.is_empty()),
        }],
        skipped_events: Vec::new(),
    })
}

fn unquote(etag: String) -> String {
    etag.trim_matches('"').to_owned()
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// `application/x-www-form-urlencoded` decoding, as S3 event notifications encode keys
/// (`red flower.jpg` → `red+flower.jpg`, `a+b` → `a%2Bb`). `None` for a bad escape or non-UTF-8.
pub fn url_decode_plus(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S3_EVENT: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1",
        "eventTime":"2026-11-20T10:05:00.123Z","eventName":"ObjectCreated:Put",
        "s3":{"bucket":{"name":"logs-bucket","arn":"arn:aws:s3:::logs-bucket"},
        "object":{"key":"AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20/a+b%2Bc%3D.log.gz",
        "size":1234,"eTag":"\"0123abcd\"","versionId":"v1","sequencer":"0A"}}},
        {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;

    #[test]
    fn an_s3_event_names_the_created_object_with_its_key_decoded() {
        let n = parse_message_body(S3_EVENT).unwrap();
        assert_eq!(n.skipped_events, vec!["ObjectRemoved:Delete".to_owned()]);
        let object = &n.created[0];
        assert_eq!(object.key, "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/11/20/a b+c=.log.gz");
        assert_eq!((object.bucket.as_str(), object.size), ("logs-bucket", Some(1234)));
        assert_eq!((object.etag.as_deref(), object.version_id.as_deref()), (Some("0123abcd"), Some("v1")));
        assert_eq!(object.content_identity(), "v1");
        assert_eq!(object.event_time_ms, Some(1_795_169_100_123));
        assert_eq!(object.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn an_sns_envelope_holds_the_s3_event_as_its_message() {
        let envelope = serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": S3_EVENT}).to_string();
        assert_eq!(parse_message_body(&envelope).unwrap(), parse_message_body(S3_EVENT).unwrap());
        // An envelope inside an envelope is not something SNS sends.
        let twice = serde_json::json!({"Type": "Notification", "Message": envelope}).to_string();
        assert_eq!(parse_message_body(&twice).unwrap_err().kind(), "not_an_s3_notification");
    }

    #[test]
    fn an_eventbridge_event_keeps_its_key_as_written() {
        let event = r#"{"version":"0","id":"x","detail-type":"Object Created","source":"aws.s3",
            "account":"123456789012","time":"2026-11-20T10:05:00Z","region":"eu-west-1","resources":[],
            "detail":{"version":"0","bucket":{"name":"logs-bucket"},"object":{"key":"a+b c.log","size":5,
            "etag":"e1","sequencer":"1"},"reason":"PutObject"}}"#;
        let object = &parse_message_body(event).unwrap().created[0];
        assert_eq!(object.key, "a+b c.log");
        assert_eq!((object.account_id.as_deref(), object.content_identity()), (Some("123456789012"), "e1"));
        let deleted = event.replace("Object Created", "Object Deleted");
        assert_eq!(parse_message_body(&deleted).unwrap().skipped_events, vec!["Object Deleted".to_owned()]);
    }

    #[test]
    fn test_events_are_skipped_and_anything_else_is_refused_with_its_kind() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-20T10:05:00Z","Bucket":"b"}"#;
        assert_eq!(parse_message_body(test).unwrap().skipped_events, vec!["s3:TestEvent".to_owned()]);
        for (body, kind) in [
            ("not json", "invalid_json"),
            ("[1,2]", "not_an_s3_notification"),
            (r#"{"hello":"world"}"#, "not_an_s3_notification"),
            (r#"{"Records":{}}"#, "not_an_s3_notification"),
            (r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#, "malformed_s3_notification"),
            (
                r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}"#,
                "malformed_s3_notification",
            ),
            (r#"{"source":"aws.s3","detail-type":"Object Created","detail":{}}"#, "malformed_s3_notification"),
        ] {
            assert_eq!(parse_message_body(body).unwrap_err().kind(), kind, "{body}");
        }
    }

    #[test]
    fn url_decoding_reads_form_encoding() {
        assert_eq!(url_decode_plus("red+flower.jpg").as_deref(), Some("red flower.jpg"));
        assert_eq!(url_decode_plus("c%2B%2B%20x%C3%A9").as_deref(), Some("c++ xé"));
        assert_eq!(url_decode_plus("50%"), None);
        assert_eq!(url_decode_plus("%FF"), None);
    }
}
