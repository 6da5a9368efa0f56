//! One normalized log record: a row of the `logs` table before it is encoded.

use std::borrow::Cow;

/// Normalized severity. The names are the values stored in the `level` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Reads the spellings loggers use (`warning`, `Err`, `CRITICAL`, `notice` …), any case.
    pub fn parse(name: &str) -> Option<Level> {
        let name = name.trim();
        if name.is_empty() || name.len() > 11 {
            return None;
        }
        let mut buf = [0u8; 11];
        let upper = &mut buf[..name.len()];
        upper.copy_from_slice(name.as_bytes());
        upper.make_ascii_uppercase();
        Some(match &*upper {
            b"TRACE" | b"VERBOSE" => Level::Trace,
            b"DEBUG" | b"DBG" => Level::Debug,
            b"INFO" | b"INFORMATION" | b"NOTICE" | b"LOG" => Level::Info,
            b"WARN" | b"WARNING" => Level::Warn,
            b"ERROR" | b"ERR" => Level::Error,
            b"FATAL" | b"CRITICAL" | b"CRIT" | b"ALERT" | b"EMERG" | b"EMERGENCY" | b"PANIC" => Level::Fatal,
            _ => return None,
        })
    }

    /// Numeric levels of bunyan / pino (10 trace … 60 fatal).
    pub fn from_number(n: f64) -> Option<Level> {
        Some(match n as i64 {
            10 => Level::Trace,
            20 => Level::Debug,
            30 => Level::Info,
            40 => Level::Warn,
            50 => Level::Error,
            60 => Level::Fatal,
            _ => return None,
        })
    }
}

/// The message kinds the normalizer recognises; stored in the `format` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Json,
    Lambda,
    Text,
    VpcFlow,
    Alb,
    Nlb,
    ElbClassic,
    AlbConnection,
    CloudTrail,
    CloudFront,
    ApiGateway,
    AccessLog,
    Syslog,
    Logfmt,
}

impl Format {
    pub const ALL: [Format; 14] = [
        Format::Json,
        Format::Lambda,
        Format::Text,
        Format::VpcFlow,
        Format::Alb,
        Format::Nlb,
        Format::ElbClassic,
        Format::AlbConnection,
        Format::CloudTrail,
        Format::CloudFront,
        Format::ApiGateway,
        Format::AccessLog,
        Format::Syslog,
        Format::Logfmt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Lambda => "lambda",
            Format::Text => "text",
            Format::VpcFlow => "vpc_flow",
            Format::Alb => "alb",
            Format::Nlb => "nlb",
            Format::ElbClassic => "elb_classic",
            Format::AlbConnection => "alb_connection",
            Format::CloudTrail => "cloudtrail",
            Format::CloudFront => "cloudfront",
            Format::ApiGateway => "apigateway",
            Format::AccessLog => "access_log",
            Format::Syslog => "syslog",
            Format::Logfmt => "logfmt",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// A row of the `logs` table. Strings borrow from the decoded payload where they can.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// Milliseconds since the Unix epoch, UTC.
    pub event_time_ms: i64,
    pub ingest_time_ms: i64,
    pub event_id: Cow<'a, str>,
    pub source: &'static str,
    pub account_id: Cow<'a, str>,
    pub region: Cow<'a, str>,
    pub log_group: Cow<'a, str>,
    pub log_stream: Cow<'a, str>,
    pub format: Format,
    pub level: Option<Level>,
    /// The original line, unmodified.
    pub message: Cow<'a, str>,
    pub request_id: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    /// Fields parsed from the message. Keys are unique (the first occurrence wins).
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}
