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
