//! Every line format, one file each: JSON lines, Lambda's own lines, plain text, and the logs of
//! AWS services and common servers, recognised by their shape and parsed into typed attributes
//! (docs/formats.md lists every format and its fields). [`crate::parse::line`] tells which
//! format a line is and calls its parser; each parser sets nothing unless the whole line is
//! what it expects.

pub mod access_log;
pub mod apigateway;
pub mod cloudfront;
pub mod cloudtrail;
pub mod elb;
pub mod error_log;
pub mod json;
pub mod lambda;
pub mod logfmt;
pub mod s3_access;
pub mod syslog;
pub mod text;
pub mod vpc_flow;

use crate::lake::record::Level;

/// The level of an HTTP response: ERROR for 5xx, WARN for 4xx, INFO otherwise.
pub(crate) fn http_status_level(code: u16) -> Level {
    match code {
        500.. => Level::Error,
        400.. => Level::Warn,
        _ => Level::Info,
    }
}
