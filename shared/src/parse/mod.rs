//! Reading log lines: one line into one record ([`line`]), by the parser of its format
//! ([`formats`], one file a format, JSON and Lambda's own lines included), filling
//! [`fields::LineFields`]. Beside them: the borrowed JSON reader the JSON formats share
//! ([`raw_json`]), agent envelopes around a line ([`agent`]), joining the lines of one event a
//! stream split ([`multiline`]), and times found in lines ([`timestamp`]).
//!
//! Pure functions over text; a line never fails to parse (what fits no format is `text`).
//! Uses [`crate::lake`] (the row it fills) and nothing else.

pub mod agent;
pub mod fields;
pub mod formats;
pub mod line;
pub mod multiline;
pub mod raw_json;
pub mod timestamp;
