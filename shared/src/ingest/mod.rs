//! The ingest paths, written once: decode → parse → group by partition → encode → write.
//! A CloudWatch Logs subscription payload ([`cloudwatch`], and a log group's history for
//! backfill), a Kinesis batch ([`kinesis`]) and a Firehose transformation batch ([`firehose`])
//! differ only in how they unwrap their event; each stream record goes through
//! [`stream_record`], each CloudWatch payload through [`payload`], and everything reaches the lake
//! through [`write`] (staging objects keyed by what they hold, dead letters), counted in
//! [`report`].
//!
//! Uses [`crate::decode`], [`crate::parse`], [`crate::lake`] and [`crate::config`].

pub mod cloudwatch;
pub mod firehose;
pub mod kinesis;
pub mod payload;
pub mod report;
pub mod s3;
pub mod stream_record;
pub mod write;
