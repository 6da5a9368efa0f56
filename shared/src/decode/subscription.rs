//! CloudWatch Logs subscription payloads: base64 → gzip (size-capped) → JSON.
//!
//! The Lambda event is `{"awslogs":{"data":"<base64 of gzip of JSON>"}}`; a Kinesis or Firehose
//! destination carries the gzip bytes without the base64 layer, hence the two entry points.

use std::borrow::Cow;
use std::io::Read;

use base64::Engine as _;
use serde::Deserialize;

/// The event a subscription filter sends to a Lambda function.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct SubscriptionEvent {
    pub awslogs: AwsLogs,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct AwsLogs {
    /// base64 of the gzip-compressed JSON payload.
    pub data: String,
}

/// The decoded payload. Strings borrow from the decompressed buffer unless they hold escapes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsPayload<'a> {
    #[serde(borrow)]
    pub message_type: Cow<'a, str>,
    #[serde(borrow)]
    pub owner: Cow<'a, str>,
    #[serde(borrow)]
    pub log_group: Cow<'a, str>,
    #[serde(borrow)]
    pub log_stream: Cow<'a, str>,
    #[serde(borrow, default)]
    pub subscription_filters: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub policy_level: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub log_events: Vec<LogEvent<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct LogEvent<'a> {
    /// A string of digits from CloudWatch Logs; a JSON number is accepted too (moto sends one).
    #[serde(borrow, deserialize_with = "string_or_integer")]
    pub id: Cow<'a, str>,
    /// Milliseconds since the epoch as CloudWatch recorded it. Kept as a JSON number so that an
    /// absurd value (negative, fractional, far future) is judged later instead of failing the
    /// whole payload.
    pub timestamp: serde_json::Number,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

/// A string, borrowed where it has no escapes, or an integer as its decimal text.
fn string_or_integer<'de: 'a, 'a, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cow<'a, str>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an integer")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
    }
    deserializer.deserialize_any(Visitor)
}

impl LogEvent<'_> {
    /// The timestamp as whole milliseconds; fractions are cut and out-of-range values saturate
    /// (the plausibility check downstream then rejects them).
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp.as_i64().or_else(|| self.timestamp.as_f64().map(|f| f as i64))
    }
}

/// What kind of payload this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Data,
    /// Sent by CloudWatch Logs to check that a destination is reachable; carries no log data.
    Control,
}

/// Why a payload could not be decoded. A retry cannot fix any of these: they are dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("payload is not valid base64: {0}")]
    InvalidBase64(#[from] base64::DecodeError),
    #[error("payload is not gzip (first bytes {0:02x?})")]
    NotGzip(Vec<u8>),
    #[error("gzip stream is corrupt or truncated: {0}")]
    CorruptGzip(std::io::Error),
    #[error("decompressed payload exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("decompressed payload is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("payload is not a CloudWatch Logs subscription message: {0}")]
    InvalidJson(#[from] serde_json::Error),
    #[error("unknown messageType {0:?}")]
    UnknownMessageType(String),
    #[error("DATA_MESSAGE carries no logEvents")]
    EmptyLogEvents,
}

impl DecodeError {
    /// A short stable name for the error, used in dead letters and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::InvalidBase64(_) => "invalid_base64",
            DecodeError::NotGzip(_) => "not_gzip",
            DecodeError::CorruptGzip(_) => "corrupt_gzip",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::InvalidUtf8 { .. } => "invalid_utf8",
            DecodeError::InvalidJson(_) => "invalid_json",
            DecodeError::UnknownMessageType(_) => "unknown_message_type",
            DecodeError::EmptyLogEvents => "empty_log_events",
        }
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// base64 text (the `awslogs.data` field) → decompressed JSON bytes, at most `limit` of them.
pub fn decompress_base64(data: &str, limit: usize) -> Result<Vec<u8>, DecodeError> {
    let compressed = base64::engine::general_purpose::STANDARD.decode(data.trim().as_bytes())?;
    decompress_gzip(&compressed, limit)
}

/// gzip bytes → decompressed bytes, refusing to produce more than `limit` bytes (a gzip bomb
/// is bad input, not an out-of-memory kill).
pub fn decompress_gzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if !compressed.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::NotGzip(compressed.iter().take(4).copied().collect()));
    }
    // A gzip trailer states the size modulo 2^32: a good first guess for the buffer.
    let hinted = compressed
        .len()
        .checked_sub(4)
        .and_then(|at| compressed.get(at..))
        .map(|tail| u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize)
        .unwrap_or(0);
    let mut out = Vec::with_capacity(hinted.min(limit).saturating_add(1));
    // One byte past the limit tells a payload over it; `usize::MAX` means no limit (not a wrap to 0).
    let mut decoder = flate2::read::GzDecoder::new(compressed).take((limit as u64).saturating_add(1));
    decoder.read_to_end(&mut out).map_err(DecodeError::CorruptGzip)?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

/// Decompressed bytes → the payload, borrowing from `json`.
pub fn parse_payload(json: &[u8]) -> Result<(MessageType, LogsPayload<'_>), DecodeError> {
    let text = std::str::from_utf8(json).map_err(|e| DecodeError::InvalidUtf8 { offset: e.valid_up_to() })?;
    let payload: LogsPayload<'_> = serde_json::from_str(text)?;
    let kind = match payload.message_type.as_ref() {
        "DATA_MESSAGE" => MessageType::Data,
        "CONTROL_MESSAGE" => MessageType::Control,
        other => {
            return Err(DecodeError::UnknownMessageType(other.chars().take(64).collect()));
        }
    };
    if kind == MessageType::Data && payload.log_events.is_empty() {
        return Err(DecodeError::EmptyLogEvents);
    }
    Ok((kind, payload))
}

/// Builds the gzip + base64 `awslogs.data` string for a decoded payload, the way CloudWatch
/// Logs does. Used by tests, the sample-event generator and the benchmark workload.
pub fn encode_data(json: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(gzip(json))
}

/// gzip at level 6, as CloudWatch Logs compresses.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    /// Found by reading (a benchmark passed no limit): `limit + 1` wrapped to 0 for `usize::MAX`,
    /// and the payload decoded to nothing in a release build (a panic in a debug one).
    #[test]
    fn no_limit_decodes_the_whole_payload() {
        assert_eq!(decompress_gzip(&gzip(b"hello, lake"), usize::MAX).unwrap(), b"hello, lake");
        assert!(matches!(decompress_gzip(&gzip(b"hello, lake"), 5), Err(DecodeError::TooLarge { limit: 5 })));
    }

    fn payload_json(events: &str) -> String {
        format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/f","logStream":"s","subscriptionFilters":["all"],"logEvents":[{events}]}}"#
        )
    }

    #[test]
    fn round_trips_a_data_message() {
        let json = payload_json(r#"{"id":"1","timestamp":1700000000000,"message":"hello \"you\""}"#);
        let bytes = decompress_base64(&encode_data(json.as_bytes()), LIMIT).unwrap();
        let (kind, payload) = parse_payload(&bytes).unwrap();
        assert_eq!(kind, MessageType::Data);
        assert_eq!(payload.owner, "123456789012");
        assert_eq!(payload.subscription_filters, vec!["all"]);
        assert_eq!(payload.log_events[0].message, "hello \"you\"");
        assert_eq!(payload.log_events[0].timestamp_ms(), Some(1_700_000_000_000));
    }

    #[test]
    fn event_ids_are_borrowed_strings_or_integers_as_text() {
        let json = payload_json(
            r#"{"id":"3710","timestamp":1,"message":"a"},{"id":7,"timestamp":2,"message":"b"},{"id":"x\u0041","timestamp":3,"message":"c"}"#,
        );
        let (_, payload) = parse_payload(json.as_bytes()).unwrap();
        let ids: Vec<&str> = payload.log_events.iter().map(|e| e.id.as_ref()).collect();
        assert_eq!(ids, ["3710", "7", "xA"]);
        assert!(matches!(payload.log_events[0].id, Cow::Borrowed(_)));
        for bad in [r#"{"id":1.5,"timestamp":1,"message":"a"}"#, r#"{"id":null,"timestamp":1,"message":"a"}"#] {
            assert_eq!(parse_payload(payload_json(bad).as_bytes()).unwrap_err().kind(), "invalid_json", "{bad}");
        }
    }

    #[test]
    fn control_message_is_recognised() {
        let json = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1700000000000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        let (kind, _) = parse_payload(json.as_bytes()).unwrap();
        assert_eq!(kind, MessageType::Control);
    }

    #[test]
    fn invalid_base64_is_a_clear_error() {
        let err = decompress_base64("H4sI!!!not base64…", LIMIT).unwrap_err();
        assert_eq!(err.kind(), "invalid_base64");
    }

    #[test]
    fn not_gzip_is_a_clear_error() {
        let data = base64::engine::general_purpose::STANDARD.encode(b"{\"plain\":\"json\"}");
        let err = decompress_base64(&data, LIMIT).unwrap_err();
        assert_eq!(err.kind(), "not_gzip");
        assert!(err.to_string().contains("7b"), "{err}");
    }

    #[test]
    fn zlib_is_not_gzip() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, payload_json("").as_bytes()).unwrap();
        let err = decompress_gzip(&enc.finish().unwrap(), LIMIT).unwrap_err();
        assert_eq!(err.kind(), "not_gzip");
    }

    #[test]
    fn truncated_gzip_is_a_clear_error() {
        let json = payload_json(r#"{"id":"1","timestamp":1,"message":"x"}"#).repeat(20);
        let gz = gzip(json.as_bytes());
        for cut in [gz.len() / 2, gz.len() - 3, 11] {
            let err = decompress_gzip(&gz[..cut], LIMIT).unwrap_err();
            assert_eq!(err.kind(), "corrupt_gzip", "cut at {cut}");
        }
    }

    #[test]
    fn oversize_payload_is_refused_without_inflating_it_all() {
        let bomb = gzip(&vec![b' '; 8 * LIMIT]);
        assert!(bomb.len() < 64 * 1024, "the test input must be a small bomb");
        let err = decompress_gzip(&bomb, LIMIT).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { limit } if limit == LIMIT));
        // Exactly at the limit is accepted.
        assert_eq!(decompress_gzip(&gzip(&vec![b' '; LIMIT]), LIMIT).unwrap().len(), LIMIT);
    }

    #[test]
    fn invalid_json_is_a_clear_error() {
        for bad in [&b"{\"messageType\":"[..], b"[]", b"{}", b"null", b""] {
            let err = parse_payload(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid_json", "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let mut bytes = payload_json(r#"{"id":"1","timestamp":1,"message":"caf"}"#).into_bytes();
        let at = bytes.iter().position(|&b| b == b'f').unwrap() + 1;
        bytes.insert(at, 0xff);
        let err = parse_payload(&bytes).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidUtf8 { offset } if offset == at));
    }

    #[test]
    fn empty_log_events_is_an_error() {
        let err = parse_payload(payload_json("").as_bytes()).unwrap_err();
        assert_eq!(err.kind(), "empty_log_events");
    }

    #[test]
    fn unknown_message_type_is_an_error() {
        let json = payload_json(r#"{"id":"1","timestamp":1,"message":"x"}"#).replace("DATA_MESSAGE", "SURPRISE");
        assert_eq!(parse_payload(json.as_bytes()).unwrap_err().kind(), "unknown_message_type");
    }

    #[test]
    fn absurd_timestamps_still_parse() {
        let json = payload_json(
            r#"{"id":"1","timestamp":-5,"message":"a"},{"id":"2","timestamp":1e300,"message":"b"},{"id":"3","timestamp":99999999999999999999,"message":"c"}"#,
        );
        let (_, payload) = parse_payload(json.as_bytes()).unwrap();
        assert_eq!(payload.log_events[0].timestamp_ms(), Some(-5));
        assert_eq!(payload.log_events[1].timestamp_ms(), Some(i64::MAX));
        assert_eq!(payload.log_events[2].timestamp_ms(), Some(i64::MAX));
    }
}
