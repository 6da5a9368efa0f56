//! Settings, read once at cold start. Library code never reads the environment: callers pass a
//! lookup function (`std::env::var` in the functions, a map in tests), and every problem is named.
//!
//! The ingest settings ([`PipelineConfig`]) and the rules that choose, per log group or stream,
//! how the stages read their input ([`LineFormatsByGroup`], [`RecordDataByStream`],
//! [`Multiline`]); the stages themselves take the choice, never the setting.

use chrono_tz::Tz;

use crate::decode::bounds::{DEFAULT_MEMORY_MB, InputBounds};
use crate::decode::stream_data::RecordDataChoice;
use crate::lake::record::LineFormat;
use crate::parse::formats::vpc_flow::FlowFields;
use crate::parse::line::LineFormatChoice;

/// Default tolerance between a timestamp inside a record and the CloudWatch timestamp.
pub const DEFAULT_MAX_EVENT_TIME_SKEW_SECS: i64 = 3600;

#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// What one input (payload, stream record) may cost; past a bound it is dead-lettered as
    /// `too_large`. Derived from the function's memory unless set.
    pub bounds: InputBounds,
    /// A time found inside a record is used as `event_time` only when it lies within this many
    /// seconds of the CloudWatch timestamp; otherwise the CloudWatch timestamp is used.
    pub max_event_time_skew_secs: i64,
    /// Zone in which the `dt` / `hour` partitions are computed (UTC by default).
    pub partition_time_zone: Tz,
    /// Region recorded in the `region` column (the Lambda's own region).
    pub region: String,
    /// ZSTD level of the Parquet files (1 is ~2x faster than 3 for ~5% larger files).
    pub zstd_level: i32,
    /// How Kinesis / Firehose record data is read, per stream (`LOGLAKE_RECORD_FORMATS`).
    pub record_data: RecordDataByStream,
    /// How log lines are read, per log group (`LOGLAKE_LOG_FORMATS`; detected by default).
    pub line_formats: LineFormatsByGroup,
    /// Which log groups' split events are joined (runtime logs by default).
    pub multiline: Multiline,
}

/// Log groups whose events are joined when a stream split them (`multiline`): `GLOB=on|off`
/// entries separated by `;`, the first match wins; then the defaults, on for runtime logs
/// (Lambda, ECS, EKS, Batch, App Runner, Elastic Beanstalk), off for the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Multiline {
    pub groups: Vec<(String, bool)>,
}

/// Runtime log groups: containers and functions whose stdout arrives line by line.
pub const MULTILINE_DEFAULTS: &[&str] = &[
    "/aws/lambda/*",
    "/aws/ecs/*",
    "/ecs/*",
    "/aws/eks/*",
    "/aws/containerinsights/*",
    "/aws/batch/*",
    "/aws/apprunner/*",
    "/aws/elasticbeanstalk/*",
];

impl Default for Multiline {
    fn default() -> Self {
        Multiline { groups: MULTILINE_DEFAULTS.iter().map(|glob| (glob.to_string(), true)).collect() }
    }
}

impl Multiline {
    pub fn parse(text: &str) -> Result<Multiline, String> {
        let mut groups = Vec::new();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (glob, value) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not GLOB=on|off"))?;
            let on = match value.trim() {
                "on" | "true" => true,
                "off" | "false" => false,
                other => return Err(format!("{other:?} in {entry:?}: expected on or off")),
            };
            if glob.trim().is_empty() {
                return Err(format!("empty log group pattern in {entry:?}"));
            }
            groups.push((glob.trim().to_owned(), on));
        }
        groups.extend(Multiline::default().groups);
        Ok(Multiline { groups })
    }

    pub fn for_log_group(&self, log_group: &str) -> bool {
        self.groups.iter().find(|(glob, _)| glob_match(glob, log_group)).is_some_and(|(_, on)| *on)
    }
}

/// Formats by log group: `GLOB=FORMAT` entries separated by `;`, the first match wins, e.g.
/// `/vpc/custom-*=vpc_flow:version srcaddr dstaddr action log-status;/app/legacy=text`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineFormatsByGroup {
    pub groups: Vec<(String, LineFormatChoice)>,
}

impl LineFormatsByGroup {
    pub fn parse(text: &str) -> Result<LineFormatsByGroup, String> {
        let mut formats = LineFormatsByGroup::default();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (glob, name) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not GLOB=FORMAT"))?;
            let (glob, name) = (glob.trim(), name.trim());
            if glob.is_empty() {
                return Err(format!("empty log group pattern in {entry:?}"));
            }
            let format = match name.split_once(':') {
                Some(("vpc_flow", fields)) => LineFormatChoice::VpcFlow(FlowFields::parse(fields)?),
                _ if name == "auto" => LineFormatChoice::Auto,
                _ => LineFormatChoice::Only(LineFormat::parse(name).ok_or_else(|| {
                    let names: Vec<&str> = LineFormat::ALL.iter().map(|f| f.as_str()).collect();
                    format!(
                        "unknown format {name:?} in {entry:?} (expected auto, {}, or vpc_flow:<fields>)",
                        names.join(", ")
                    )
                })?),
            };
            formats.groups.push((glob.to_owned(), format));
        }
        Ok(formats)
    }

    pub fn for_log_group(&self, log_group: &str) -> &LineFormatChoice {
        const AUTO: &LineFormatChoice = &LineFormatChoice::Auto;
        self.groups.iter().find(|(glob, _)| glob_match(glob, log_group)).map_or(AUTO, |(_, format)| format)
    }
}

/// `*` matches any run of characters (`/` included); everything else matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// How each stream's record data is read: detected by default, fixed where configured.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDataByStream {
    pub default: RecordDataChoice,
    /// (stream or delivery stream name, choice); the first match wins.
    pub streams: Vec<(String, RecordDataChoice)>,
}

impl Default for RecordDataByStream {
    fn default() -> Self {
        RecordDataByStream { default: RecordDataChoice::Auto, streams: Vec::new() }
    }
}

impl RecordDataByStream {
    /// Reads `FORMAT` and `STREAM=FORMAT` entries separated by commas, e.g.
    /// `app-logs=agent_json,legacy=text` or `text`.
    pub fn parse(text: &str) -> Result<RecordDataByStream, String> {
        let mut formats = RecordDataByStream::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (stream, name) = match entry.split_once('=') {
                Some((stream, name)) => (Some(stream.trim()), name),
                None => (None, entry),
            };
            let format = RecordDataChoice::parse(name).ok_or_else(|| {
                format!("unknown format {name:?} in {entry:?} (expected one of {})", RecordDataChoice::NAMES)
            })?;
            match stream {
                Some("") => return Err(format!("empty stream name in {entry:?}")),
                Some(stream) => formats.streams.push((stream.to_owned(), format)),
                None => formats.default = format,
            }
        }
        Ok(formats)
    }

    pub fn for_stream(&self, stream: &str) -> RecordDataChoice {
        self.streams.iter().find(|(name, _)| name == stream).map_or(self.default, |(_, format)| *format)
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            bounds: InputBounds::default(),
            max_event_time_skew_secs: DEFAULT_MAX_EVENT_TIME_SKEW_SECS,
            partition_time_zone: Tz::UTC,
            region: String::new(),
            zstd_level: 1,
            record_data: RecordDataByStream::default(),
            line_formats: LineFormatsByGroup::default(),
            multiline: Multiline::default(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Names of the settings, shared by every function and the CLI.
pub mod vars {
    pub const MAX_DECOMPRESSED_BYTES: &str = "LOGLAKE_MAX_DECOMPRESSED_BYTES";
    pub const MAX_INPUT_LINES: &str = "LOGLAKE_MAX_INPUT_LINES";
    pub const MAX_INPUT_ATTRIBUTES: &str = "LOGLAKE_MAX_INPUT_ATTRIBUTES";
    /// Set by Lambda, never by the template: the bounds per input scale with it.
    pub const FUNCTION_MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    pub const MAX_EVENT_TIME_SKEW_SECS: &str = "LOGLAKE_MAX_EVENT_TIME_SKEW_SECS";
    pub const PARTITION_TIME_ZONE: &str = "LOGLAKE_PARTITION_TIME_ZONE";
    pub const ZSTD_LEVEL: &str = "LOGLAKE_ZSTD_LEVEL";
    pub const RECORD_FORMATS: &str = "LOGLAKE_RECORD_FORMATS";
    pub const LOG_FORMATS: &str = "LOGLAKE_LOG_FORMATS";
    pub const MULTILINE: &str = "LOGLAKE_MULTILINE";
    pub const REGION: &str = "AWS_REGION";
    pub const BUCKET: &str = "LOGLAKE_BUCKET";
    pub const S3_FORCE_PATH_STYLE: &str = "LOGLAKE_S3_FORCE_PATH_STYLE";
    /// The CloudFormation stack: the `Stack` dimension of the functions' metrics.
    pub const STACK: &str = "LOGLAKE_STACK";

    /// Every setting the functions read (the template may set only these).
    pub const ALL: &[&str] = &[
        MAX_DECOMPRESSED_BYTES,
        MAX_INPUT_LINES,
        MAX_INPUT_ATTRIBUTES,
        MAX_EVENT_TIME_SKEW_SECS,
        PARTITION_TIME_ZONE,
        ZSTD_LEVEL,
        RECORD_FORMATS,
        LOG_FORMATS,
        MULTILINE,
        REGION,
        BUCKET,
        S3_FORCE_PATH_STYLE,
        STACK,
    ];
}

impl PipelineConfig {
    /// Reads the settings through `lookup`; unset ones take their defaults. Every invalid value
    /// is reported, not just the first.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = PipelineConfig::default();
        let mut problems = Vec::new();
        let memory_mb = match lookup(vars::FUNCTION_MEMORY_SIZE) {
            None => DEFAULT_MEMORY_MB,
            Some(v) => v.trim().parse::<usize>().unwrap_or_else(|_| {
                problems.push(format!("{}={v:?}: expected megabytes", vars::FUNCTION_MEMORY_SIZE));
                DEFAULT_MEMORY_MB
            }),
        };
        config.bounds = InputBounds::for_memory_mb(memory_mb);
        // 0 (the template's default) keeps the bound derived from the memory size.
        let bounds = [
            (vars::MAX_DECOMPRESSED_BYTES, &mut config.bounds.decoded_bytes, 1024),
            (vars::MAX_INPUT_LINES, &mut config.bounds.lines, 1),
            (vars::MAX_INPUT_ATTRIBUTES, &mut config.bounds.attributes, 1),
        ];
        for (name, bound, least) in bounds {
            let Some(v) = lookup(name) else { continue };
            match v.trim().parse::<usize>() {
                Ok(0) => {}
                Ok(n) if n >= least => *bound = n,
                _ => problems.push(format!("{name}={v:?}: expected 0 (from the memory size) or at least {least}")),
            }
        }
        if let Some(v) = lookup(vars::MAX_EVENT_TIME_SKEW_SECS) {
            match v.trim().parse::<i64>() {
                Ok(n) if n >= 0 => config.max_event_time_skew_secs = n,
                _ => problems.push(format!(
                    "{}={v:?}: expected a non-negative number of seconds",
                    vars::MAX_EVENT_TIME_SKEW_SECS
                )),
            }
        }
        if let Some(v) = lookup(vars::PARTITION_TIME_ZONE) {
            match v.trim().parse::<Tz>() {
                Ok(tz) => config.partition_time_zone = tz,
                Err(_) => problems.push(format!(
                    "{}={v:?}: expected an IANA time zone such as UTC or Asia/Tokyo",
                    vars::PARTITION_TIME_ZONE
                )),
            }
        }
        if let Some(v) = lookup(vars::ZSTD_LEVEL) {
            match v.trim().parse::<i32>() {
                Ok(n) if (1..=22).contains(&n) => config.zstd_level = n,
                _ => problems.push(format!("{}={v:?}: expected 1..=22", vars::ZSTD_LEVEL)),
            }
        }
        if let Some(v) = lookup(vars::RECORD_FORMATS) {
            match RecordDataByStream::parse(&v) {
                Ok(formats) => config.record_data = formats,
                Err(problem) => problems.push(format!("{}={v:?}: {problem}", vars::RECORD_FORMATS)),
            }
        }
        if let Some(v) = lookup(vars::LOG_FORMATS) {
            match LineFormatsByGroup::parse(&v) {
                Ok(formats) => config.line_formats = formats,
                Err(problem) => problems.push(format!("{}={v:?}: {problem}", vars::LOG_FORMATS)),
            }
        }
        if let Some(v) = lookup(vars::MULTILINE) {
            match Multiline::parse(&v) {
                Ok(multiline) => config.multiline = multiline,
                Err(problem) => problems.push(format!("{}={v:?}: {problem}", vars::MULTILINE)),
            }
        }
        if let Some(v) = lookup(vars::REGION) {
            config.region = v;
        }
        if problems.is_empty() { Ok(config) } else { Err(ConfigError { problems }) }
    }
}

/// Reads a boolean setting (`true`/`false`/`1`/`0`), naming the variable when it is neither.
/// A whole-number setting: `default` when unset; a value that is not a number in `range` is
/// named in `problems` (and `default` returned, so every problem is found in one pass).
pub fn number_setting(
    value: Option<String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    problems: &mut Vec<String>,
) -> i64 {
    match value {
        None => default,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                problems.push(format!("{name}={text:?}: expected a number in {range:?}"));
                default
            }
        },
    }
}

pub fn parse_bool(name: &str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(false),
        Some("1") | Some("true") | Some("TRUE") | Some("True") => Ok(true),
        Some("0") | Some("false") | Some("FALSE") | Some("False") => Ok(false),
        Some(other) => Err(ConfigError { problems: vec![format!("{name}={other:?}: expected true or false")] }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::lookup;

    #[test]
    fn unset_settings_take_defaults() {
        assert_eq!(PipelineConfig::from_lookup(lookup(&[])).unwrap(), PipelineConfig::default());
    }

    #[test]
    fn reads_time_zone_and_limits() {
        let c = PipelineConfig::from_lookup(lookup(&[
            ("LOGLAKE_PARTITION_TIME_ZONE", "Asia/Tokyo"),
            ("LOGLAKE_MAX_DECOMPRESSED_BYTES", "2048"),
            ("LOGLAKE_MAX_EVENT_TIME_SKEW_SECS", "60"),
            ("AWS_REGION", "eu-west-1"),
        ]))
        .unwrap();
        assert_eq!(c.partition_time_zone, chrono_tz::Asia::Tokyo);
        assert_eq!(c.bounds.decoded_bytes, 2048);
        assert_eq!(c.max_event_time_skew_secs, 60);
        assert_eq!(c.region, "eu-west-1");
    }

    #[test]
    fn input_bounds_follow_the_function_memory_unless_set() {
        let c = PipelineConfig::from_lookup(lookup(&[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
            ("LOGLAKE_MAX_DECOMPRESSED_BYTES", "0"),
            ("LOGLAKE_MAX_INPUT_LINES", "100"),
        ]))
        .unwrap();
        let derived = InputBounds::for_memory_mb(512);
        assert_eq!(c.bounds, InputBounds { lines: 100, ..derived });
        assert_eq!(c.bounds.decoded_bytes, 32 << 20);
        let bad = PipelineConfig::from_lookup(lookup(&[
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
            ("LOGLAKE_MAX_INPUT_ATTRIBUTES", "-1"),
        ]))
        .unwrap_err();
        assert_eq!(bad.problems.len(), 2, "{bad}");
    }

    #[test]
    fn every_invalid_setting_is_named() {
        let err = PipelineConfig::from_lookup(lookup(&[
            ("LOGLAKE_PARTITION_TIME_ZONE", "Mars/Olympus"),
            ("LOGLAKE_MAX_DECOMPRESSED_BYTES", "lots"),
            ("LOGLAKE_ZSTD_LEVEL", "99"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 3);
        let text = err.to_string();
        assert!(text.contains("LOGLAKE_PARTITION_TIME_ZONE"));
        assert!(text.contains("LOGLAKE_MAX_DECOMPRESSED_BYTES"));
        assert!(text.contains("LOGLAKE_ZSTD_LEVEL"));
    }

    #[test]
    fn record_formats_are_per_stream_with_a_default() {
        let c = PipelineConfig::from_lookup(lookup(&[("LOGLAKE_RECORD_FORMATS", " app=agent_json, legacy=text ")]))
            .unwrap();
        let formats = &c.record_data;
        assert_eq!(formats.for_stream("app"), RecordDataChoice::AgentJson);
        assert_eq!(formats.for_stream("legacy"), RecordDataChoice::Text);
        assert_eq!(formats.for_stream("other"), RecordDataChoice::Auto);
        let formats = RecordDataByStream::parse("text,cwl=cloudwatch_logs").unwrap();
        assert_eq!(
            (formats.for_stream("x"), formats.for_stream("cwl")),
            (RecordDataChoice::Text, RecordDataChoice::CloudWatchLogs)
        );
        for bad in ["app=yaml", "=text", "csv"] {
            let err = PipelineConfig::from_lookup(lookup(&[("LOGLAKE_RECORD_FORMATS", bad)])).unwrap_err();
            assert!(err.to_string().contains("LOGLAKE_RECORD_FORMATS"), "{bad}: {err}");
        }
    }

    #[test]
    fn line_formats_are_chosen_per_log_group() {
        let formats = LineFormatsByGroup::parse(
            "/vpc/custom-*=vpc_flow:version srcaddr dstaddr action log-status; /app/raw=text; /elb/*=alb",
        )
        .unwrap();
        let fields = FlowFields::parse("version srcaddr dstaddr action log-status").unwrap();
        assert_eq!(formats.for_log_group("/vpc/custom-prod"), &LineFormatChoice::VpcFlow(fields));
        assert_eq!(formats.for_log_group("/app/raw"), &LineFormatChoice::Only(LineFormat::Text));
        assert_eq!(formats.for_log_group("/elb/x"), &LineFormatChoice::Only(LineFormat::Alb));
        assert_eq!(formats.for_log_group("/other"), &LineFormatChoice::Auto);
        for bad in ["/x=yaml", "=text", "/x", "/v=vpc_flow:version nonsense"] {
            assert!(LineFormatsByGroup::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_are_strict() {
        assert!(parse_bool("X", Some("true".into())).unwrap());
        assert!(!parse_bool("X", None).unwrap());
        assert!(parse_bool("X", Some("yes please".into())).is_err());
    }
}
