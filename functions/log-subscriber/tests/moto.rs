//! The reconciler against a real CloudWatch Logs API: moto in server mode on 127.0.0.1, through
//! the real aws-sdk-cloudwatchlogs client. Write calls are counted on their way to the client.
//!
//! Needs `AWS_ENDPOINT_URL` (moto) and `LOGLAKE_TEST_PYTHON` (boto3, to create the Kinesis
//! stream the filters point at); scripts/test.sh sets both.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use log_subscriber::backfill::{BackfillOptions, backfill};
use log_subscriber::{Action, ApiError, Config, Filter, LogGroup, LogsApi, Report, Scope, SdkLogs, reconcile};
use loglake::config::PipelineConfig;
use loglake::ingest::cloudwatch::StoredLogEvent;
use loglake::lake::storage::{LocalStore, load_aws_config};
use loglake::testing::{integration_python, read_lake_with_pyarrow, unique_bucket};

/// The real client, with its write calls counted.
struct Counting {
    inner: SdkLogs,
    writes: AtomicUsize,
}

#[async_trait]
impl LogsApi for Counting {
    async fn log_groups(&self, prefix: Option<&str>) -> Result<Vec<LogGroup>, ApiError> {
        self.inner.log_groups(prefix).await
    }
    async fn filters(&self, group: &str) -> Result<Vec<Filter>, ApiError> {
        self.inner.filters(group).await
    }
    async fn tags(&self, group_arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        self.inner.tags(group_arn).await
    }
    async fn put_filter(&self, group: &str, filter: &Filter) -> Result<(), ApiError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put_filter(group, filter).await
    }
    async fn put_retention(&self, group: &str, days: i32) -> Result<(), ApiError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put_retention(group, days).await
    }
    async fn filter_events(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        token: Option<String>,
        limit: Option<i32>,
    ) -> Result<(Vec<StoredLogEvent>, Option<String>), ApiError> {
        self.inner.filter_events(group, start_ms, end_ms, token, limit).await
    }
}

fn kinesis_stream(python: &str, name: &str) -> String {
    let out = std::process::Command::new(python)
        .args(["-c", "import sys, boto3; k = boto3.client('kinesis'); k.create_stream(StreamName=sys.argv[1], ShardCount=1); print(k.describe_stream(StreamName=sys.argv[1])['StreamDescription']['StreamARN'])"])
        .arg(name)
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn actions(report: &Report, prefix: &str) -> BTreeMap<String, Vec<Action>> {
    let mut out: BTreeMap<String, Vec<Action>> = BTreeMap::new();
    for outcome in report.outcomes.iter().filter(|o| o.log_group.starts_with(prefix)) {
        out.entry(outcome.log_group[prefix.len()..].to_owned()).or_default().push(outcome.action);
    }
    out
}

#[tokio::test]
async fn reconciles_groups_idempotently_never_itself_and_never_a_foreign_filter() {
    let Some(python) = integration_python() else { return };
    let run = unique_bucket("subscriber");
    let stream_arn = kinesis_stream(&python, &run);
    let other_stream_arn = kinesis_stream(&python, &format!("{run}-other"));
    let p = format!("/{run}");
    let api = Counting { inner: SdkLogs::new(&load_aws_config().await), writes: AtomicUsize::new(0) };
    let client = api.inner.client();
    let role = "arn:aws:iam::123456789012:role/cwl-to-kinesis";

    let stack_tag = ("aws:cloudformation:stack-name".to_owned(), run.clone());
    for (name, tagged) in [
        ("/aws/lambda/orders", false),
        ("/aws/lambda/kept-long", false),
        ("/aws/lambda/kept-forever", false),
        ("/aws/lambda/loglake-ingest-kinesis", false),
        ("/aws/lambda/tagged-by-stack", true),
        ("/aws/lambda/full", false),
        ("/aws/lambda/already-delivered", false),
        ("/aws/lambda/debug-tool", false),
        ("/ecs/web", false),
    ] {
        let tags = tagged.then(|| std::collections::HashMap::from([stack_tag.clone()]));
        client.create_log_group().log_group_name(format!("{p}{name}")).set_tags(tags).send().await.unwrap();
    }
    // Retention: 7 days (lengthened to the minimum of 30), 365 days (kept), none (kept forever).
    for (group, days) in [("/aws/lambda/orders", 7), ("/aws/lambda/kept-long", 365)] {
        client
            .put_retention_policy()
            .log_group_name(format!("{p}{group}"))
            .retention_in_days(days)
            .send()
            .await
            .unwrap();
    }
    // Two filters someone else made to elsewhere, and one that already delivers to our stream.
    for (group, filter, destination) in [
        ("/aws/lambda/full", "theirs-1", &other_stream_arn),
        ("/aws/lambda/full", "theirs-2", &other_stream_arn),
        ("/aws/lambda/already-delivered", "legacy", &stream_arn),
    ] {
        client
            .put_subscription_filter()
            .log_group_name(format!("{p}{group}"))
            .filter_name(filter)
            .filter_pattern("ERROR")
            .destination_arn(destination)
            .role_arn(role)
            .send()
            .await
            .unwrap();
    }

    let config = Config::from_lookup(|name| {
        Some(match name {
            "LOGLAKE_SUBSCRIBER_INCLUDE" => format!("{p}/aws/lambda/*"),
            "LOGLAKE_SUBSCRIBER_EXCLUDE" => format!("{p}/aws/lambda/debug-*"),
            "LOGLAKE_SUBSCRIBER_OWN_PREFIXES" => format!("{p}/aws/lambda/loglake-"),
            "LOGLAKE_SUBSCRIBER_OWN_TAG" => format!("{}={}", stack_tag.0, stack_tag.1),
            "LOGLAKE_SUBSCRIBER_DESTINATION_ARN" => stream_arn.clone(),
            "LOGLAKE_SUBSCRIBER_ROLE_ARN" => role.to_owned(),
            "LOGLAKE_SUBSCRIBER_RETENTION_DAYS" => "30".to_owned(),
            _ => return None,
        })
    })
    .unwrap();

    // A dry run reports what it would do and writes nothing.
    let dry = reconcile(&api, &config, &Scope::All, true).await;
    assert_eq!(api.writes.load(Ordering::SeqCst), 0);
    assert_eq!(dry.write_calls, 0);
    assert_eq!(actions(&dry, &p)["/aws/lambda/orders"], [Action::Subscribed, Action::RetentionSet]);
    assert!(
        client
            .describe_subscription_filters()
            .log_group_name(format!("{p}/aws/lambda/orders"))
            .send()
            .await
            .unwrap()
            .subscription_filters()
            .is_empty()
    );

    let report = reconcile(&api, &config, &Scope::All, false).await;
    use Action::*;
    assert_eq!(
        actions(&report, &p),
        BTreeMap::from([
            ("/aws/lambda/already-delivered".to_owned(), vec![SkippedAlreadySubscribedElsewhere]),
            ("/aws/lambda/debug-tool".to_owned(), vec![SkippedExcluded]),
            ("/aws/lambda/full".to_owned(), vec![SkippedNoFreeFilterSlot]),
            ("/aws/lambda/kept-forever".to_owned(), vec![Subscribed]),
            ("/aws/lambda/kept-long".to_owned(), vec![Subscribed]),
            ("/aws/lambda/loglake-ingest-kinesis".to_owned(), vec![SkippedOwnLogGroup]),
            ("/aws/lambda/orders".to_owned(), vec![Subscribed, RetentionSet]),
            ("/aws/lambda/tagged-by-stack".to_owned(), vec![SkippedOwnLogGroup]),
            ("/ecs/web".to_owned(), vec![SkippedNotIncluded]),
        ])
    );
    assert_eq!(api.writes.load(Ordering::SeqCst), 4);

    // What CloudWatch Logs now holds.
    let filters = |group: &str| {
        let group = format!("{p}{group}");
        async move {
            let out = client.describe_subscription_filters().log_group_name(group).send().await.unwrap();
            out.subscription_filters()
                .iter()
                .map(|f| (f.filter_name().unwrap().to_owned(), f.destination_arn().unwrap().to_owned()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(filters("/aws/lambda/orders").await, [("loglake".to_owned(), stream_arn.clone())]);
    assert_eq!(
        filters("/aws/lambda/full").await.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["theirs-1", "theirs-2"]
    );
    assert!(filters("/aws/lambda/loglake-ingest-kinesis").await.is_empty(), "never subscribes itself");
    assert!(filters("/aws/lambda/tagged-by-stack").await.is_empty(), "never subscribes itself");
    let retention = |group: &str| {
        let group = format!("{p}{group}");
        async move {
            let out = client.describe_log_groups().log_group_name_prefix(&group).send().await.unwrap();
            out.log_groups().iter().find(|g| g.log_group_name() == Some(group.as_str())).unwrap().retention_in_days()
        }
    };
    assert_eq!(retention("/aws/lambda/orders").await, Some(30), "lengthened");
    assert_eq!(retention("/aws/lambda/kept-long").await, Some(365), "never shortened");
    assert_eq!(retention("/aws/lambda/kept-forever").await, None, "a group kept forever stays so");
    assert_eq!(retention("/aws/lambda/debug-tool").await, None, "an excluded group is not touched");

    // Idempotent: a second run makes no write call.
    let again = reconcile(&api, &config, &Scope::All, false).await;
    assert_eq!(api.writes.load(Ordering::SeqCst), 4, "{:?}", again.outcomes);
    assert_eq!(actions(&again, &p)["/aws/lambda/orders"], [AlreadyRight]);

    // A changed setting corrects loglake's own filter, in place, and nothing else.
    let narrower = Config { filter_pattern: "ERROR".into(), ..config.clone() };
    let corrected = reconcile(&api, &narrower, &Scope::Group(format!("{p}/aws/lambda/orders")), false).await;
    assert_eq!(actions(&corrected, &p)["/aws/lambda/orders"], [FilterUpdated]);
    assert_eq!(api.writes.load(Ordering::SeqCst), 5);
    let out =
        client.describe_subscription_filters().log_group_name(format!("{p}/aws/lambda/orders")).send().await.unwrap();
    let patterns: Vec<(&str, &str)> =
        out.subscription_filters().iter().map(|f| (f.filter_name().unwrap(), f.filter_pattern().unwrap())).collect();
    assert_eq!(patterns, [("loglake", "ERROR")]);

    // A CreateLogGroup event reconciles just the new group.
    client.create_log_group().log_group_name(format!("{p}/aws/lambda/new")).send().await.unwrap();
    let one = reconcile(&api, &config, &Scope::Group(format!("{p}/aws/lambda/new")), false).await;
    assert_eq!(one.examined, 1);
    // A new group keeps CloudWatch's default (never expire): no retention is given to it.
    assert_eq!(actions(&one, &p)["/aws/lambda/new"], [Subscribed]);
    assert_eq!(retention("/aws/lambda/new").await, None);
}

/// Backfill of a group with several pages of events, interrupted and resumed from its saved
/// state, compared record by record with what was put.
#[tokio::test]
async fn backfill_reads_every_page_resumes_and_matches_the_history() {
    let Some(python) = integration_python() else { return };
    let group = format!("/{}/backfill", unique_bucket("subscriber"));
    let api = SdkLogs::new(&load_aws_config().await);
    let client = api.client();
    client.create_log_group().log_group_name(&group).send().await.unwrap();
    let now = loglake::function::now_ms();
    let start = now - 3 * 3_600_000;
    let mut put: Vec<(String, i64, String)> = Vec::new();
    for stream in ["app/1", "app/2", "worker"] {
        client.create_log_stream().log_group_name(&group).log_stream_name(stream).send().await.unwrap();
        let events: Vec<_> = (0..90)
            .map(|i| {
                let ts = start + 600_000 + i * 60_000 + stream.len() as i64;
                let message = match i % 3 {
                    0 => format!("{{\"level\":\"error\",\"msg\":\"failure {i}\",\"stream\":\"{stream}\"}}"),
                    1 => format!("START RequestId: {i:08}-aaaa Version: $LATEST"),
                    _ => format!("plain line {i} of {stream} ünïcödé"),
                };
                put.push((stream.to_owned(), ts, message.clone()));
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(ts).message(message).build().unwrap()
            })
            .collect();
        client
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }
    put.sort();

    let lake = tempfile::tempdir().unwrap();
    let store = LocalStore::new(lake.path().join("lake"));
    let state_path = lake.path().join("state.json");
    let config = PipelineConfig { region: "us-east-1".into(), ..PipelineConfig::default() };
    let options = BackfillOptions { page_size: Some(40), max_pages: Some(2), state_path: Some(state_path.clone()) };
    let mut seen = Vec::new();
    let (state, _) =
        backfill(&api, &store, &config, &group, start, now, &options, |s| seen.push(s.pages)).await.unwrap();
    assert_eq!((state.pages, state.done, seen), (2, false, vec![1, 2]), "stopped after two pages");
    assert!(state.next_token.is_some());

    // Resumed from the saved state: the rest, and nothing twice.
    let options = BackfillOptions { max_pages: None, ..options };
    let (state, _) = backfill(&api, &store, &config, &group, start, now, &options, |_| {}).await.unwrap();
    assert!(state.done && state.pages >= 7, "{state:?}");
    assert_eq!(state.events, put.len());

    let rows = read_lake_with_pyarrow(&lake.path().join("lake"), &python);
    let mut got: Vec<(String, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["log_stream"].as_str().unwrap().to_owned(),
                r["event_time"].as_i64().unwrap(),
                r["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, put, "every event once, record by record");
    let mut ids: Vec<&str> = rows.iter().map(|r| r["event_id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), put.len());
    assert!(rows.iter().all(|r| r["source"] == "cloudwatch" && r["log_group"] == group.as_str()));

    // Done is done: running again reads nothing more.
    let (again, report) = backfill(&api, &store, &config, &group, start, now, &options, |_| {}).await.unwrap();
    assert_eq!((again.pages, report.records), (state.pages, 0));
}
