//! log-subscriber: keeps every matching log group subscribed to loglake, and (when asked) its
//! retention no shorter than a minimum.
//!
//! An EventBridge rule on `CreateLogGroup` (through CloudTrail) reconciles the new group at once;
//! a schedule sweeps all groups. For each group whose name matches the include patterns and none
//! of the exclude patterns it ensures loglake's subscription filter (to the Kinesis stream or the
//! ingest function) and, when a retention is set, lengthens a shorter one (never shortens one, and
//! never gives one to a group that keeps events forever). It changes nothing that is already right, never touches a
//! filter loglake did not create, and never subscribes loglake's own log groups (a function whose
//! logs feed itself loops forever).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use loglake::config::ConfigError;
use loglake::ingest::cloudwatch::StoredLogEvent;

pub mod backfill;

/// The filter name loglake creates and recognises as its own.
pub const DEFAULT_FILTER_NAME: &str = "loglake";
/// CloudWatch Logs allows this many subscription filters per log group.
pub const MAX_FILTERS_PER_GROUP: usize = 2;
/// The retention periods CloudWatch Logs accepts.
pub const RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Settings, from the environment (`LOGLAKE_SUBSCRIBER_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Glob patterns (`*` any run of characters) a group name must match one of.
    pub include: Vec<String>,
    /// Glob patterns that exclude a group even if included.
    pub exclude: Vec<String>,
    /// Name prefixes of loglake's own log groups: never subscribed, whatever the patterns say.
    pub own_prefixes: Vec<String>,
    /// Tag (key, value) that marks loglake's own log groups (the stack's name tag).
    pub own_tag: Option<(String, String)>,
    pub destination_arn: String,
    /// The role CloudWatch Logs assumes to put records into a Kinesis destination.
    pub role_arn: Option<String>,
    pub filter_name: String,
    pub filter_pattern: String,
    pub retention_days: Option<i32>,
    pub dry_run: bool,
}

pub mod vars {
    pub const INCLUDE: &str = "LOGLAKE_SUBSCRIBER_INCLUDE";
    pub const EXCLUDE: &str = "LOGLAKE_SUBSCRIBER_EXCLUDE";
    pub const OWN_PREFIXES: &str = "LOGLAKE_SUBSCRIBER_OWN_PREFIXES";
    pub const OWN_TAG: &str = "LOGLAKE_SUBSCRIBER_OWN_TAG";
    pub const DESTINATION_ARN: &str = "LOGLAKE_SUBSCRIBER_DESTINATION_ARN";
    pub const ROLE_ARN: &str = "LOGLAKE_SUBSCRIBER_ROLE_ARN";
    pub const FILTER_NAME: &str = "LOGLAKE_SUBSCRIBER_FILTER_NAME";
    pub const FILTER_PATTERN: &str = "LOGLAKE_SUBSCRIBER_FILTER_PATTERN";
    pub const RETENTION_DAYS: &str = "LOGLAKE_SUBSCRIBER_RETENTION_DAYS";
    pub const DRY_RUN: &str = "LOGLAKE_SUBSCRIBER_DRY_RUN";
    pub const ALL: &[&str] = &[
        INCLUDE,
        EXCLUDE,
        OWN_PREFIXES,
        OWN_TAG,
        DESTINATION_ARN,
        ROLE_ARN,
        FILTER_NAME,
        FILTER_PATTERN,
        RETENTION_DAYS,
        DRY_RUN,
    ];
}

fn list(value: Option<String>) -> Vec<String> {
    value.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl Config {
    /// Reads every setting through `lookup` and names every missing or invalid one.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let include = list(lookup(vars::INCLUDE));
        if include.is_empty() {
            problems.push(format!(
                "{} is not set: comma-separated glob patterns of the log groups to subscribe",
                vars::INCLUDE
            ));
        }
        let destination_arn = non_empty(vars::DESTINATION_ARN).unwrap_or_default();
        if !destination_arn.starts_with("arn:") {
            problems.push(format!(
                "{}={destination_arn:?}: expected the ARN of a Kinesis stream or a Lambda function",
                vars::DESTINATION_ARN
            ));
        }
        let role_arn = non_empty(vars::ROLE_ARN);
        if destination_arn.contains(":kinesis:") && role_arn.is_none() {
            problems.push(format!(
                "{} is not set: a Kinesis destination needs the role CloudWatch Logs assumes",
                vars::ROLE_ARN
            ));
        }
        let own_tag = match non_empty(vars::OWN_TAG) {
            None => None,
            Some(text) => match text.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => Some((key.trim().to_owned(), value.trim().to_owned())),
                _ => {
                    problems.push(format!("{}={text:?}: expected KEY=VALUE", vars::OWN_TAG));
                    None
                }
            },
        };
        let own_prefixes = list(lookup(vars::OWN_PREFIXES));
        if own_prefixes.is_empty() && own_tag.is_none() {
            problems.push(format!(
                "neither {} nor {} is set: loglake's own log groups must be recognisable, or it would subscribe itself",
                vars::OWN_PREFIXES,
                vars::OWN_TAG
            ));
        }
        let retention_days = match non_empty(vars::RETENTION_DAYS) {
            None => None,
            Some(text) => match text.trim().parse::<i32>() {
                // 0 (the template's default): retention untouched.
                Ok(0) => None,
                Ok(days) if RETENTION_DAYS.contains(&days) => Some(days),
                _ => {
                    problems.push(format!(
                        "{}={text:?}: expected 0 (untouched) or one of {RETENTION_DAYS:?}",
                        vars::RETENTION_DAYS
                    ));
                    None
                }
            },
        };
        let dry_run = loglake::config::parse_bool(vars::DRY_RUN, lookup(vars::DRY_RUN)).unwrap_or_else(|e| {
            problems.extend(e.problems);
            false
        });
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            include,
            exclude: list(lookup(vars::EXCLUDE)),
            own_prefixes,
            own_tag,
            destination_arn,
            role_arn,
            filter_name: non_empty(vars::FILTER_NAME).unwrap_or_else(|| DEFAULT_FILTER_NAME.to_owned()),
            filter_pattern: lookup(vars::FILTER_PATTERN).unwrap_or_default(),
            retention_days,
            dry_run,
        })
    }
}

pub use loglake::config::glob_match;

/// A log group as the reconciler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroup {
    pub name: String,
    /// The group's ARN without the trailing `:*` (what ListTagsForResource takes).
    pub arn: String,
    pub retention_days: Option<i32>,
}

/// A subscription filter of a log group.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub name: String,
    pub destination_arn: String,
    pub pattern: String,
    pub role_arn: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("CloudWatch Logs {op} failed: {detail}")]
pub struct ApiError {
    pub op: &'static str,
    pub detail: String,
}

/// The CloudWatch Logs calls the reconciler makes: the SDK client in production.
#[async_trait]
pub trait LogsApi: Send + Sync {
    /// Every log group whose name starts with `prefix`, across all pages.
    async fn log_groups(&self, prefix: Option<&str>) -> Result<Vec<LogGroup>, ApiError>;
    async fn filters(&self, group: &str) -> Result<Vec<Filter>, ApiError>;
    async fn tags(&self, group_arn: &str) -> Result<BTreeMap<String, String>, ApiError>;
    async fn put_filter(&self, group: &str, filter: &Filter) -> Result<(), ApiError>;
    async fn put_retention(&self, group: &str, days: i32) -> Result<(), ApiError>;
    /// One page of FilterLogEvents over `[start_ms, end_ms]`, and the token of the next page
    /// (none after the last).
    async fn filter_events(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        token: Option<String>,
        limit: Option<i32>,
    ) -> Result<(Vec<StoredLogEvent>, Option<String>), ApiError>;
}

/// What happened to one log group.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    pub log_group: String,
    pub action: Action,
    /// Why, for skips; what changed, for changes.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Subscribed,
    FilterUpdated,
    RetentionSet,
    AlreadyRight,
    SkippedNotIncluded,
    SkippedExcluded,
    SkippedOwnLogGroup,
    SkippedNoFreeFilterSlot,
    SkippedAlreadySubscribedElsewhere,
    Failed,
}

/// The function's response.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub dry_run: bool,
    pub examined: usize,
    /// Write calls made (none in a dry run, none when everything is right).
    pub write_calls: usize,
    pub counts: BTreeMap<Action, usize>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    fn record(&mut self, log_group: &str, action: Action, detail: String) {
        tracing::info!(log_group, action = ?action, detail = %detail, dry_run = self.dry_run, "log group");
        *self.counts.entry(action).or_default() += 1;
        self.outcomes.push(Outcome { log_group: log_group.to_owned(), action, detail });
    }
}

/// What to reconcile: one new group, or all of them.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Group(String),
    All,
}

/// The events that start a run: the CloudTrail `CreateLogGroup` call through EventBridge, the
/// schedule, or a direct invocation (`{"log_group": …}` or `{"sweep": true}`).
#[derive(Debug, Clone, Deserialize)]
pub struct TriggerEvent {
    #[serde(rename = "detail-type", default)]
    pub detail_type: Option<String>,
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
    #[serde(default)]
    pub log_group: Option<String>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

impl TriggerEvent {
    pub fn scope(&self) -> Scope {
        let created = self
            .detail
            .as_ref()
            .filter(|d| d["eventName"] == "CreateLogGroup")
            .and_then(|d| d["requestParameters"]["logGroupName"].as_str());
        match created.or(self.log_group.as_deref()) {
            Some(name) => Scope::Group(name.to_owned()),
            None => Scope::All,
        }
    }
}

/// Brings the groups in `scope` to the configured state; with `dry_run`, only reports.
pub async fn reconcile(api: &dyn LogsApi, config: &Config, scope: &Scope, dry_run: bool) -> Report {
    let mut report = Report { dry_run, ..Report::default() };
    let groups = match scope {
        Scope::All => api.log_groups(None).await,
        Scope::Group(name) => {
            api.log_groups(Some(name)).await.map(|groups| groups.into_iter().filter(|g| &g.name == name).collect())
        }
    };
    let groups = match groups {
        Ok(groups) => groups,
        Err(error) => {
            report.record("*", Action::Failed, error.to_string());
            return report;
        }
    };
    for group in groups {
        report.examined += 1;
        if let Err(error) = reconcile_group(api, config, &group, &mut report).await {
            report.record(&group.name, Action::Failed, error.to_string());
        }
    }
    report
}

async fn reconcile_group(
    api: &dyn LogsApi,
    config: &Config,
    group: &LogGroup,
    report: &mut Report,
) -> Result<(), ApiError> {
    let name = group.name.as_str();
    if let Some(prefix) = config.own_prefixes.iter().find(|p| name.starts_with(p.as_str())) {
        report.record(name, Action::SkippedOwnLogGroup, format!("loglake's own log group (prefix {prefix})"));
        return Ok(());
    }
    if !config.include.iter().any(|p| glob_match(p, name)) {
        report.record(name, Action::SkippedNotIncluded, "matches no include pattern".into());
        return Ok(());
    }
    if let Some(pattern) = config.exclude.iter().find(|p| glob_match(p, name)) {
        report.record(name, Action::SkippedExcluded, format!("matches exclude pattern {pattern}"));
        return Ok(());
    }
    if let Some((key, value)) = &config.own_tag
        && api.tags(&group.arn).await?.get(key) == Some(value)
    {
        report.record(name, Action::SkippedOwnLogGroup, format!("loglake's own log group (tag {key}={value})"));
        return Ok(());
    }

    let mut changed = false;
    let wanted = Filter {
        name: config.filter_name.clone(),
        destination_arn: config.destination_arn.clone(),
        pattern: config.filter_pattern.clone(),
        role_arn: config.role_arn.clone(),
    };
    let filters = api.filters(name).await?;
    match filters.iter().find(|f| f.name == wanted.name) {
        Some(ours) if *ours == wanted => {}
        Some(_) => {
            write(report, api.put_filter(name, &wanted)).await?;
            report.record(
                name,
                Action::FilterUpdated,
                format!("filter {} set to {}", wanted.name, wanted.destination_arn),
            );
            changed = true;
        }
        None => {
            if let Some(other) = filters.iter().find(|f| f.destination_arn == wanted.destination_arn) {
                // Another filter already delivers here: a second one would deliver every event twice.
                report.record(
                    name,
                    Action::SkippedAlreadySubscribedElsewhere,
                    format!("filter {} already sends to the destination", other.name),
                );
                return Ok(());
            }
            if filters.len() >= MAX_FILTERS_PER_GROUP {
                let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
                report.record(
                    name,
                    Action::SkippedNoFreeFilterSlot,
                    format!("both filter slots are taken by {names:?}"),
                );
                return Ok(());
            }
            write(report, api.put_filter(name, &wanted)).await?;
            report.record(name, Action::Subscribed, format!("filter {} to {}", wanted.name, wanted.destination_arn));
            changed = true;
        }
    }
    // Retention only ever lengthens: a shorter one would make CloudWatch delete older events. A
    // group that never expires, or keeps events longer, is left as it is.
    if let Some(days) = config.retention_days
        && group.retention_days.is_some_and(|current| current < days)
    {
        write(report, api.put_retention(name, days)).await?;
        report.record(name, Action::RetentionSet, format!("{:?} -> {days} days", group.retention_days));
        changed = true;
    }
    if !changed {
        report.record(name, Action::AlreadyRight, String::new());
    }
    Ok(())
}

/// Makes a write call, unless this is a dry run.
async fn write(
    report: &mut Report,
    call: impl std::future::Future<Output = Result<(), ApiError>>,
) -> Result<(), ApiError> {
    if report.dry_run {
        return Ok(());
    }
    report.write_calls += 1;
    call.await
}

// ---------------------------------------------------------------------------------------------

/// [`LogsApi`] through aws-sdk-cloudwatchlogs. The SDK's standard retry mode backs off on
/// throttling; `max_attempts` raises its attempts for sweeps over many groups.
pub struct SdkLogs {
    client: aws_sdk_cloudwatchlogs::Client,
}

/// Sweeps call the API once or twice per log group: throttling is expected, and retried with
/// exponential backoff (the SDK's standard mode) up to 8 attempts per call.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(8)
}

impl SdkLogs {
    pub fn new(sdk_config: &aws_config::SdkConfig) -> SdkLogs {
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(sdk_config).retry_config(retry_config()).build();
        SdkLogs { client: aws_sdk_cloudwatchlogs::Client::from_conf(config) }
    }

    pub fn from_client(client: aws_sdk_cloudwatchlogs::Client) -> SdkLogs {
        SdkLogs { client }
    }

    pub fn client(&self) -> &aws_sdk_cloudwatchlogs::Client {
        &self.client
    }
}

fn api_error(op: &'static str, error: impl std::error::Error) -> ApiError {
    ApiError { op, detail: aws_sdk_cloudwatchlogs::error::DisplayErrorContext(error).to_string() }
}

#[async_trait]
impl LogsApi for SdkLogs {
    async fn log_groups(&self, prefix: Option<&str>) -> Result<Vec<LogGroup>, ApiError> {
        let mut pages = self
            .client
            .describe_log_groups()
            .set_log_group_name_prefix(prefix.map(str::to_owned))
            .into_paginator()
            .send();
        let mut groups = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| api_error("DescribeLogGroups", e))?;
            for group in page.log_groups() {
                let name = group.log_group_name().unwrap_or_default().to_owned();
                let arn = group.log_group_arn().or(group.arn()).unwrap_or_default().trim_end_matches(":*").to_owned();
                groups.push(LogGroup { name, arn, retention_days: group.retention_in_days() });
            }
        }
        Ok(groups)
    }

    async fn filters(&self, group: &str) -> Result<Vec<Filter>, ApiError> {
        let output = self
            .client
            .describe_subscription_filters()
            .log_group_name(group)
            .send()
            .await
            .map_err(|e| api_error("DescribeSubscriptionFilters", e))?;
        Ok(output
            .subscription_filters()
            .iter()
            .map(|f| Filter {
                name: f.filter_name().unwrap_or_default().to_owned(),
                destination_arn: f.destination_arn().unwrap_or_default().to_owned(),
                pattern: f.filter_pattern().unwrap_or_default().to_owned(),
                role_arn: f.role_arn().filter(|r| !r.is_empty()).map(str::to_owned),
            })
            .collect())
    }

    async fn tags(&self, group_arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        let output = self
            .client
            .list_tags_for_resource()
            .resource_arn(group_arn)
            .send()
            .await
            .map_err(|e| api_error("ListTagsForResource", e))?;
        Ok(output.tags().map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
    }

    async fn put_filter(&self, group: &str, filter: &Filter) -> Result<(), ApiError> {
        self.client
            .put_subscription_filter()
            .log_group_name(group)
            .filter_name(&filter.name)
            .filter_pattern(&filter.pattern)
            .destination_arn(&filter.destination_arn)
            .set_role_arn(filter.role_arn.clone())
            .send()
            .await
            .map_err(|e| api_error("PutSubscriptionFilter", e))?;
        Ok(())
    }

    async fn put_retention(&self, group: &str, days: i32) -> Result<(), ApiError> {
        self.client
            .put_retention_policy()
            .log_group_name(group)
            .retention_in_days(days)
            .send()
            .await
            .map_err(|e| api_error("PutRetentionPolicy", e))?;
        Ok(())
    }

    async fn filter_events(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        token: Option<String>,
        limit: Option<i32>,
    ) -> Result<(Vec<StoredLogEvent>, Option<String>), ApiError> {
        let output = self
            .client
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .end_time(end_ms)
            .set_next_token(token)
            .set_limit(limit)
            .send()
            .await
            .map_err(|e| api_error("FilterLogEvents", e))?;
        let events = output
            .events()
            .iter()
            .map(|e| StoredLogEvent {
                id: e.event_id().unwrap_or_default().to_owned(),
                log_stream: e.log_stream_name().unwrap_or_default().to_owned(),
                timestamp_ms: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_owned(),
            })
            .collect();
        Ok((events, output.next_token().map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loglake::testing::lookup;

    #[test]
    fn globs_match_like_shell_stars() {
        assert!(glob_match("/aws/lambda/*", "/aws/lambda/orders"));
        assert!(glob_match("*", "anything/at/all"));
        assert!(glob_match("/ecs/*/web", "/ecs/prod/eu/web"));
        assert!(glob_match("/exact", "/exact"));
        assert!(!glob_match("/exact", "/exact/more"));
        assert!(!glob_match("/aws/lambda/*", "/aws/ecs/x"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(!glob_match("ab*ba", "aba"), "prefix and suffix may not overlap");
    }

    #[test]
    fn config_needs_patterns_a_destination_and_a_way_to_know_its_own_groups() {
        let error = Config::from_lookup(lookup(&[
            ("LOGLAKE_SUBSCRIBER_DESTINATION_ARN", "arn:aws:kinesis:us-east-1:1:stream/s"),
            ("LOGLAKE_SUBSCRIBER_RETENTION_DAYS", "10"),
        ]))
        .unwrap_err()
        .to_string();
        for name in [vars::INCLUDE, vars::ROLE_ARN, vars::OWN_PREFIXES, vars::RETENTION_DAYS] {
            assert!(error.contains(name), "{name} missing from {error}");
        }
        let config = Config::from_lookup(lookup(&[
            ("LOGLAKE_SUBSCRIBER_INCLUDE", "/aws/lambda/*, /ecs/*"),
            ("LOGLAKE_SUBSCRIBER_DESTINATION_ARN", "arn:aws:lambda:us-east-1:1:function:ingest"),
            ("LOGLAKE_SUBSCRIBER_OWN_TAG", "aws:cloudformation:stack-name=loglake"),
            ("LOGLAKE_SUBSCRIBER_RETENTION_DAYS", "30"),
        ]))
        .unwrap();
        assert_eq!(config.include, ["/aws/lambda/*", "/ecs/*"]);
        assert_eq!(config.own_tag, Some(("aws:cloudformation:stack-name".into(), "loglake".into())));
        assert_eq!((config.retention_days, config.filter_name.as_str(), config.dry_run), (Some(30), "loglake", false));
    }

    #[test]
    fn a_create_log_group_event_scopes_the_run_to_that_group() {
        let created: TriggerEvent = serde_json::from_value(serde_json::json!({
            "source": "aws.logs", "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventSource": "logs.amazonaws.com", "eventName": "CreateLogGroup",
                       "requestParameters": {"logGroupName": "/aws/lambda/new"}}
        }))
        .unwrap();
        assert_eq!(created.scope(), Scope::Group("/aws/lambda/new".into()));
        let scheduled: TriggerEvent = serde_json::from_value(serde_json::json!({
            "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}
        }))
        .unwrap();
        assert_eq!(scheduled.scope(), Scope::All);
    }
}
