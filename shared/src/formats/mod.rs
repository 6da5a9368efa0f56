//! Logs of AWS services, recognised per line by their shape and parsed into typed attributes
//! (docs/formats.md lists every format and its fields). `normalize` calls these after its JSON
//! test; each parser sets nothing unless the whole line is what it expects.

pub mod access_log;
pub mod apigateway;
pub mod cloudfront;
pub mod cloudtrail;
pub mod elb;
pub mod logfmt;
pub mod syslog;
pub mod vpc_flow;

use crate::record::Level;

/// The level of an HTTP response: ERROR for 5xx, WARN for 4xx, INFO otherwise.
pub(crate) fn http_status_level(code: u16) -> Level {
    match code {
        500.. => Level::Error,
        400.. => Level::Warn,
        _ => Level::Info,
    }
}
