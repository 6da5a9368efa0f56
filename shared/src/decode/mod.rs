//! Decoding what arrives, before any line is read: CloudWatch Logs subscription payloads
//! (base64 → gzip, size-capped → JSON: [`subscription`]), KPL aggregated records ([`kpl`]), and
//! what the data of one Kinesis or Firehose record holds ([`stream_data`]), S3 object-created
//! notifications ([`s3_notification`]) and the log objects they name ([`s3_object`]); the bounds
//! on what one input may cost ([`bounds`]).
//!
//! Pure functions over bytes; each refusal is a typed error with a stable kind for dead letters.
//! Uses no other stage.

pub mod bounds;
pub mod kpl;
pub mod s3_notification;
pub mod s3_object;
pub mod stream_data;
pub mod subscription;
