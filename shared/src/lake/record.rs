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

/// The format of a log line, as the parsers recognise it; stored in the `format` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineFormat {
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
    ErrorLog,
    S3Access,
    Syslog,
    Logfmt,
}

impl LineFormat {
    pub const ALL: [LineFormat; 16] = [
        LineFormat::Json,
        LineFormat::Lambda,
        LineFormat::Text,
        LineFormat::VpcFlow,
        LineFormat::Alb,
        LineFormat::Nlb,
        LineFormat::ElbClassic,
        LineFormat::AlbConnection,
        LineFormat::CloudTrail,
        LineFormat::CloudFront,
        LineFormat::ApiGateway,
        LineFormat::AccessLog,
        LineFormat::ErrorLog,
        LineFormat::S3Access,
        LineFormat::Syslog,
        LineFormat::Logfmt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LineFormat::Json => "json",
            LineFormat::Lambda => "lambda",
            LineFormat::Text => "text",
            LineFormat::VpcFlow => "vpc_flow",
            LineFormat::Alb => "alb",
            LineFormat::Nlb => "nlb",
            LineFormat::ElbClassic => "elb_classic",
            LineFormat::AlbConnection => "alb_connection",
            LineFormat::CloudTrail => "cloudtrail",
            LineFormat::CloudFront => "cloudfront",
            LineFormat::ApiGateway => "apigateway",
            LineFormat::AccessLog => "access_log",
            LineFormat::ErrorLog => "error_log",
            LineFormat::S3Access => "s3_access",
            LineFormat::Syslog => "syslog",
            LineFormat::Logfmt => "logfmt",
        }
    }

    pub fn parse(name: &str) -> Option<LineFormat> {
        LineFormat::ALL.into_iter().find(|f| f.as_str() == name)
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
    pub format: LineFormat,
    pub level: Option<Level>,
    /// The original line, unmodified.
    pub message: Cow<'a, str>,
    pub request_id: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    /// Fields parsed from the message. Keys are unique (the first occurrence wins).
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}
