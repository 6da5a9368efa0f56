//! Lines written by log agents (Fluent Bit, Fluentd) to Kinesis or Firehose: a JSON object per
//! line whose application log line sits under `log` (Fluent Bit, Docker) or `message` (Fluentd),
//! beside the agent's own fields (`stream`, `time`, `kubernetes.*`, `tag` …).
//!
//! The application's line becomes the record's `message` (and is normalized like any line);
//! the agent's fields become envelope attributes. A JSON line without a string `log` or
//! `message` is the application's own structured line and is kept whole.

use std::borrow::Cow;

use crate::parse::formats::json::{flatten_into, json_time_ms};
use crate::parse::raw_json;

/// One agent line, split into the application's line and the agent's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentLine<'a> {
    /// The application's log line, as the agent received it (its own newline included).
    pub message: Cow<'a, str>,
    /// The agent's other fields, flattened (`stream`, `kubernetes.pod_name` …).
    pub envelope: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The time the agent recorded (`time`, `@timestamp`, `timestamp` or `date`), if any.
    pub time_ms: Option<i64>,
}

/// Splits an agent line. Never fails: a line that is not a JSON object is returned whole.
pub fn split_agent_line(line: &str) -> AgentLine<'_> {
    let whole = || AgentLine { message: Cow::Borrowed(line), envelope: Vec::new(), time_ms: None };
    let Some(entries) = raw_json::parse_object(line) else { return whole() };
    let log_at = ["log", "message"]
        .iter()
        .find_map(|key| entries.iter().position(|(k, v)| k == key && raw_json::string(v).is_some()));
    let Some(log_at) = log_at else { return whole() };

    let mut message = Cow::Borrowed("");
    let mut envelope = Vec::with_capacity(entries.len());
    let mut time_ms = None;
    for (index, (key, raw)) in entries.into_iter().enumerate() {
        if index == log_at {
            message = raw_json::string(raw).unwrap_or_default();
            continue;
        }
        if time_ms.is_none() && matches!(key.as_ref(), "time" | "@timestamp" | "timestamp" | "date") {
            time_ms = json_time_ms(raw);
        }
        flatten_into(key, raw, 0, &mut envelope);
    }
    AgentLine { message, envelope, time_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr<'r>(line: &'r AgentLine<'_>, key: &str) -> Option<&'r str> {
        line.envelope.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    #[test]
    fn fluent_bit_docker_line() {
        let line = split_agent_line(
            r#"{"log":"GET /healthz 200 0.4ms\n","stream":"stdout","time":"2026-11-20T10:00:00.123Z","kubernetes":{"pod_name":"web-1","labels":{"app":"web"}}}"#,
        );
        assert_eq!(line.message, "GET /healthz 200 0.4ms\n");
        assert_eq!(line.time_ms, Some(1_795_168_800_123));
        assert_eq!(attr(&line, "stream"), Some("stdout"));
        assert_eq!(attr(&line, "kubernetes.pod_name"), Some("web-1"));
        assert_eq!(attr(&line, "kubernetes.labels.app"), Some("web"));
        assert_eq!(attr(&line, "log"), None);
    }

    #[test]
    fn fluentd_line_with_message_and_epoch_date() {
        let line = split_agent_line(
            r#"{"date":1795168800.5,"host":"ip-10-0-1-5","ident":"sshd","message":"Accepted publickey for ec2-user"}"#,
        );
        assert_eq!(line.message, "Accepted publickey for ec2-user");
        assert_eq!(line.time_ms, Some(1_795_168_800_500));
        assert_eq!(attr(&line, "ident"), Some("sshd"));
    }

    #[test]
    fn escaped_log_lines_are_unescaped() {
        let line = split_agent_line(r#"{"log":"{\"level\":\"error\",\"msg\":\"boom\"}\n"}"#);
        assert_eq!(line.message, "{\"level\":\"error\",\"msg\":\"boom\"}\n");
    }

    #[test]
    fn an_application_json_line_without_log_or_message_is_kept_whole() {
        for text in
            [r#"{"level":"info","msg":"hello"}"#, r#"{"log":{"not":"a string"},"x":1}"#, "not json at all", "{broken"]
        {
            let line = split_agent_line(text);
            assert_eq!((line.message.as_ref(), line.envelope.len(), line.time_ms), (text, 0, None), "{text}");
        }
    }

    #[test]
    fn log_wins_over_message() {
        let line = split_agent_line(r#"{"message":"envelope note","log":"the line"}"#);
        assert_eq!(line.message, "the line");
        assert_eq!(attr(&line, "message"), Some("envelope note"));
    }
}
