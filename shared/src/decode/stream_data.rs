//! What the data of one Kinesis (or Firehose) record is, told from its bytes alone: a CloudWatch
//! Logs payload sent to a Kinesis destination (gzip, no base64), a KPL aggregated record, agent
//! output (Fluent Bit / Fluentd: a JSON object per line), or plain text lines.

use crate::decode::kpl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDataKind {
    /// gzip: a CloudWatch Logs subscription payload (control messages included).
    CloudWatchLogs,
    /// KPL magic: de-aggregate with [`kpl::deaggregate`], then detect each user record.
    Aggregated,
    /// UTF-8 text whose first line is a JSON object: agent records, one per line.
    AgentJson,
    /// Any other UTF-8 text: one log line per line.
    Text,
}

impl RecordDataKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordDataKind::CloudWatchLogs => "cloudwatch_logs",
            RecordDataKind::Aggregated => "kpl",
            RecordDataKind::AgentJson => "agent_json",
            RecordDataKind::Text => "text",
        }
    }
}

/// How a stream's record data is read: told per record from its bytes (the default), or fixed
/// for a stream whose producers are known. KPL aggregation is framing, not a format: it is
/// always unpacked, and the format applies to the user records inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDataChoice {
    Auto,
    CloudWatchLogs,
    AgentJson,
    Text,
}

impl RecordDataChoice {
    pub const NAMES: &'static str = "auto, cloudwatch_logs, agent_json, text";

    pub fn parse(name: &str) -> Option<RecordDataChoice> {
        Some(match name.trim() {
            "auto" => RecordDataChoice::Auto,
            "cloudwatch_logs" => RecordDataChoice::CloudWatchLogs,
            "agent_json" => RecordDataChoice::AgentJson,
            "text" => RecordDataChoice::Text,
            _ => return None,
        })
    }
}

/// Record data no decoder can read: a retry cannot fix it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DataError {
    #[error("record data is empty")]
    Empty,
    #[error("record data is neither gzip, a KPL record nor UTF-8 text (first bad byte at offset {offset})")]
    Binary { offset: usize },
    #[error("record data is not gzip, but the stream is configured as cloudwatch_logs")]
    NotGzip,
}

impl DataError {
    pub fn kind(&self) -> &'static str {
        match self {
            DataError::Empty => "empty_record",
            DataError::Binary { .. } => "binary_record",
            DataError::NotGzip => "not_gzip",
        }
    }
}

/// Tells the kind of a record's data, cheaply: by magic bytes, then by its first character.
pub fn detect(data: &[u8]) -> Result<RecordDataKind, DataError> {
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::Empty);
    }
    if data.starts_with(&[0x1f, 0x8b]) {
        return Ok(RecordDataKind::CloudWatchLogs);
    }
    if kpl::is_aggregated(data) {
        return Ok(RecordDataKind::Aggregated);
    }
    let text = std::str::from_utf8(data).map_err(|e| DataError::Binary { offset: e.valid_up_to() })?;
    Ok(if text.trim_start().starts_with('{') { RecordDataKind::AgentJson } else { RecordDataKind::Text })
}

/// [`detect`], unless the stream's format is fixed: then only whether the data can be read
/// that way is checked.
pub fn detect_as(data: &[u8], format: RecordDataChoice) -> Result<RecordDataKind, DataError> {
    let detected = detect(data)?;
    if detected == RecordDataKind::Aggregated {
        return Ok(detected);
    }
    match format {
        RecordDataChoice::Auto => Ok(detected),
        RecordDataChoice::CloudWatchLogs if detected == RecordDataKind::CloudWatchLogs => Ok(detected),
        RecordDataChoice::CloudWatchLogs => Err(DataError::NotGzip),
        RecordDataChoice::AgentJson | RecordDataChoice::Text => {
            // gzip is binary to a text format.
            std::str::from_utf8(data).map_err(|e| DataError::Binary { offset: e.valid_up_to() })?;
            Ok(if format == RecordDataChoice::AgentJson { RecordDataKind::AgentJson } else { RecordDataKind::Text })
        }
    }
}

/// The non-empty lines of text data, without their line endings (agents end each record with a
/// newline; several lines may share a record).
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).filter(|line| !line.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_kind_by_its_bytes() {
        assert_eq!(detect(&crate::decode::subscription::gzip(b"{}")), Ok(RecordDataKind::CloudWatchLogs));
        assert_eq!(detect(&[0xF3, 0x89, 0x9A, 0xC2, 1, 2]), Ok(RecordDataKind::Aggregated));
        assert_eq!(detect(b"{\"log\":\"GET / 200\\n\",\"stream\":\"stdout\"}\n"), Ok(RecordDataKind::AgentJson));
        assert_eq!(detect(b"  \n{\"message\":\"x\"}"), Ok(RecordDataKind::AgentJson));
        assert_eq!(detect(b"plain text line\n"), Ok(RecordDataKind::Text));
        assert_eq!(detect("ünïcödé ✓".as_bytes()), Ok(RecordDataKind::Text));
    }

    #[test]
    fn empty_and_binary_data_are_errors() {
        assert_eq!(detect(b""), Err(DataError::Empty));
        assert_eq!(detect(b" \n\t"), Err(DataError::Empty));
        assert_eq!(detect(&[b'a', 0xff, 0xfe, 0x00]), Err(DataError::Binary { offset: 1 }));
        assert_eq!(detect(&[0x89, b'P', b'N', b'G']), Err(DataError::Binary { offset: 0 }));
    }

    #[test]
    fn a_fixed_format_overrides_detection_but_not_kpl_framing() {
        let json_line = b"{\"log\":\"x\"}\n";
        assert_eq!(detect_as(json_line, RecordDataChoice::Text), Ok(RecordDataKind::Text));
        assert_eq!(detect_as(b"plain", RecordDataChoice::AgentJson), Ok(RecordDataKind::AgentJson));
        assert_eq!(detect_as(b"plain", RecordDataChoice::CloudWatchLogs), Err(DataError::NotGzip));
        assert_eq!(
            detect_as(&crate::decode::subscription::gzip(b"{}"), RecordDataChoice::Text),
            Err(DataError::Binary { offset: 1 })
        );
        assert_eq!(detect_as(&[0xF3, 0x89, 0x9A, 0xC2, 1], RecordDataChoice::Text), Ok(RecordDataKind::Aggregated));
        assert_eq!(detect_as(b"", RecordDataChoice::Text), Err(DataError::Empty));
        for name in ["auto", "cloudwatch_logs", "agent_json", "text"] {
            assert!(RecordDataChoice::parse(name).is_some(), "{name}");
        }
        assert_eq!(RecordDataChoice::parse("json"), None);
    }

    #[test]
    fn lines_drop_endings_and_blank_lines() {
        let text = "one\r\ntwo\n\n  \nthree\n";
        assert_eq!(lines(text).collect::<Vec<_>>(), ["one", "two", "three"]);
        assert_eq!(lines("").count(), 0);
    }
}
