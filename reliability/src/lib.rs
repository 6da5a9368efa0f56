//! The tests of what RELIABILITY.md promises, across functions: every function through a proxy
//! that injects S3 and AWS API faults (tests/faults.rs), and many invocations at once with
//! compaction (tests/concurrency.rs), and the query-runner killed mid-run (tests/kill.rs, through
//! the `query-runner-once` binary). This library holds what those tests share — the client
//! policy they run with, the source's retries, the workload, a lake in moto and how it is read
//! back — and is no part of any function.

use std::collections::BTreeMap;
use std::time::Duration;

use loglake::compact::state::CompactionState;
use loglake::function::{FunctionConfig, State};
use loglake::lake::storage::{AwsClientPolicy, ObjectStore, S3Store, load_aws_config};
use loglake::testing::{
    cloudwatch_payload, read_bucket_table_with_pyarrow, read_lake_table_with_pyarrow, unique_bucket,
};
use serde_json::{Value, json};

/// The log group of the workload's events.
pub const LOG_GROUP: &str = "/app/reliability";

/// The functions' policy ([`AwsClientPolicy::FUNCTIONS`]) with the waits shortened, so that a
/// test of thousands of calls runs in seconds: the same attempts, the same logic.
pub const TEST_POLICY: AwsClientPolicy = AwsClientPolicy {
    initial_backoff: Duration::from_millis(10),
    max_backoff: Duration::from_millis(200),
    connect_timeout: Duration::from_secs(1),
    attempt_timeout: Duration::from_secs(1),
    ..AwsClientPolicy::FUNCTIONS
};

/// How long a stalled request of the fault proxy hangs: past [`TEST_POLICY`]'s attempt timeout.
pub const STALL: Duration = Duration::from_secs(2);

/// How many times the fault tests' default workloads to run: `LOGLAKE_FAULT_SCALE`, 1 unless set.
/// CI runs them at 1 (hundreds of requests per function and rate); RELIABILITY.md's figures come
/// from a run at 4 (thousands).
pub fn fault_scale() -> usize {
    std::env::var("LOGLAKE_FAULT_SCALE").ok().and_then(|s| s.parse().ok()).filter(|&n| n > 0).unwrap_or(1)
}

/// Invocations a source makes of one input at most, here. (Lambda's async retries stop at 3
/// and Kinesis's at the mapping's setting; a test that needs more has found a function that
/// cannot get through the fault rate.)
pub const SOURCE_ATTEMPTS: usize = 30;

/// What the source did to get one input through: invocations that failed before one succeeded.
#[derive(Debug, Default, Clone)]
pub struct SourceRetries {
    pub inputs: usize,
    pub failed_invocations: usize,
    /// Why invocations failed: each distinct error (its first 160 characters), and how often.
    pub errors: BTreeMap<String, usize>,
}

impl SourceRetries {
    /// Invokes until an invocation succeeds, as a source retries a failed one; panics after
    /// [`SOURCE_ATTEMPTS`].
    pub async fn until_ok<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
        &mut self,
        what: &str,
        mut invoke: impl FnMut() -> F,
    ) -> T {
        self.inputs += 1;
        for _ in 0..SOURCE_ATTEMPTS {
            match invoke().await {
                Ok(value) => return value,
                Err(error) => {
                    self.failed_invocations += 1;
                    let text: String = error.to_string().chars().take(160).collect();
                    *self.errors.entry(text).or_default() += 1;
                }
            }
        }
        match invoke().await {
            Ok(value) => value,
            Err(error) => panic!("{what}: {SOURCE_ATTEMPTS} invocations failed, the last with {error}"),
        }
    }
}

/// One log event of the workload: its id, time and message.
pub type Event = (String, i64, String);

/// `payloads` groups of `per_payload` events with unique ids, in time order as CloudWatch Logs
/// sends them, over the two hours before `now_ms` (a payload spans half an hour, so that many
/// span two partitions): JSON and text lines of a web service.
pub fn workload(payloads: usize, per_payload: usize, now_ms: i64) -> Vec<Vec<Event>> {
    let mut rng = loglake::testing::Rng(0x5eed_1234 ^ payloads as u64);
    let first = now_ms - 2 * 3_600_000;
    (0..payloads)
        .map(|p| {
            let start = first + (p as i64 * 7_200_000) / payloads as i64;
            let mut times: Vec<i64> = (0..per_payload).map(|_| start + rng.below(1_800_000) as i64).collect();
            times.sort();
            times
                .into_iter()
                .enumerate()
                .map(|(e, time)| {
                    let id = format!("{p:05}-{e:03}");
                    let message = match rng.below(3) {
                        0 => format!("{{\"level\":\"info\",\"path\":\"/api/{}\",\"id\":\"{id}\"}}", rng.below(50)),
                        1 => format!("GET /static/{} 200 {} id={id}", rng.below(1000), rng.below(5000)),
                        _ => format!("WARN retrying upstream {} after {} ms ({id})", rng.below(8), rng.below(900)),
                    };
                    (id, time, message)
                })
                .collect()
        })
        .collect()
}

/// The messages of `events` by event id, as a reader must see them.
pub fn by_id<'a>(events: impl IntoIterator<Item = &'a Event>) -> std::collections::BTreeMap<String, String> {
    events.into_iter().map(|(id, _, message)| (id.clone(), message.clone())).collect()
}

/// A fresh bucket, and a store on it that goes straight to moto (what the test reads with).
pub async fn bucket(tag: &str) -> (String, S3Store) {
    let bucket = unique_bucket(tag);
    let direct = S3Store::new(&load_aws_config().await, &bucket, true);
    direct.client().create_bucket().bucket(&bucket).send().await.expect("create bucket in moto");
    (bucket, direct)
}

/// A function's state as production builds it, on the S3 client of `sdk`.
pub fn state_on(sdk: &aws_config::SdkConfig, bucket: &str) -> State {
    let config = FunctionConfig::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.to_owned()),
        other => std::env::var(other).ok(),
    })
    .expect("configuration");
    let store = S3Store::new(sdk, bucket, config.force_path_style);
    State { pipeline: config.pipeline, store: Box::new(store) }
}

/// A CloudWatch Logs subscription event of `events`, from [`LOG_GROUP`].
pub fn subscription_event(events: &[Event]) -> loglake::decode::subscription::SubscriptionEvent {
    serde_json::from_value(json!({"awslogs": {"data": cloudwatch_payload(LOG_GROUP, events)}})).unwrap()
}

/// Every event once, its message whole, and no dead letter: `rows` (read by pyarrow) against
/// what was sent.
pub async fn assert_every_event_once(direct: &S3Store, rows: Vec<Value>, sent: &BTreeMap<String, String>) {
    let mut seen = BTreeMap::new();
    for row in &rows {
        let id = row["event_id"].as_str().expect("event_id").to_owned();
        let message = row["message"].as_str().expect("message").to_owned();
        assert!(seen.insert(id.clone(), message).is_none(), "{id} twice");
    }
    assert_eq!(seen.len(), sent.len(), "every event exactly once");
    assert!(seen == *sent, "the messages read back are the messages sent");
    assert_eq!(direct.list("errors/").await.unwrap(), Vec::<String>::new(), "no dead letters");
}

/// The staging rows of the bucket, read by pyarrow.
pub async fn staging_rows(direct: &S3Store, python: &str) -> Vec<Value> {
    read_bucket_table_with_pyarrow(direct, python, "staging/logs").await
}

/// The rows of the curated files `state` shows (what the `logs` side of the view reads), read by
/// pyarrow.
pub async fn visible_curated_rows(direct: &S3Store, python: &str, state: &CompactionState) -> Vec<Value> {
    let curated = tempfile::tempdir().expect("temporary directory");
    for key in direct.list("logs/").await.expect("list").into_iter().filter(|key| state.curated_visible(key)) {
        let path = curated.path().join(&key);
        std::fs::create_dir_all(path.parent().expect("a partition")).expect("create directory");
        std::fs::write(path, direct.get(&key).await.expect("get")).expect("write");
    }
    read_lake_table_with_pyarrow(curated.path(), python, "logs")
}

/// A compactor's configuration for `bucket` (no grace: staging is ready at once), with its
/// Glue database and the views in it as the template creates them, straight in moto.
pub struct CompactorLake {
    pub config: compactor::Config,
    pub database: String,
    pub glue: aws_sdk_glue::Client,
    pub publisher: compactor::GlueView,
}

pub async fn compactor_lake(bucket: &str) -> CompactorLake {
    let database = format!("db_{}", bucket.replace('-', "_"));
    let config = compactor::Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.to_owned()),
        "LOGLAKE_GLUE_DATABASE" => Some(database.clone()),
        "LOGLAKE_COMPACT_GRACE_MINUTES" => Some("0".into()),
        other => std::env::var(other).ok(),
    })
    .expect("compactor configuration");
    let glue = aws_sdk_glue::Client::new(&load_aws_config().await);
    let input = aws_sdk_glue::types::DatabaseInput::builder().name(&database).build().expect("database input");
    glue.create_database().database_input(input).send().await.expect("create the Glue database");
    let publisher = compactor::GlueView { client: glue.clone(), database: database.clone() };
    publisher.create_views().await.expect("create the views");
    CompactorLake { config, database, glue, publisher }
}

/// A lake for the query-runner in moto: its workgroup in `region` (moto serves queued Athena
/// results per region, so a test has a region of its own), and `windows` hourly windows of
/// compacted data from 2026-11-20T00 on (placeholder curated files of compaction run 0; moto's
/// Athena reads nothing). Each execution serves a queued result: one row, the same for every
/// window ([`ROLLUP_ROW`]).
pub struct RollupLake {
    pub config: query_runner::Config,
    pub windows: Vec<String>,
    pub region: String,
}

/// The query the rollup tests run, and the row every execution of it returns.
pub const ROLLUP_QUERY: &str = "errors_by_group_hourly";
pub const ROLLUP_ROW: [&str; 4] = ["/app/checkout", "120", "7", "3"];

impl RollupLake {
    pub async fn new(bucket: &str, direct: &S3Store, region: &str, windows: usize, results: usize) -> RollupLake {
        let config = rollup_config(bucket);
        let athena = athena_in(&load_aws_config().await, region);
        let result_location = aws_sdk_athena::types::ResultConfiguration::builder()
            .output_location(format!("s3://{bucket}/_athena/"))
            .build();
        let workgroup_config = aws_sdk_athena::types::WorkGroupConfiguration::builder()
            .result_configuration(result_location)
            .enforce_work_group_configuration(true)
            .build();
        athena
            .create_work_group()
            .name(&config.workgroup)
            .configuration(workgroup_config)
            .send()
            .await
            .expect("create the workgroup in moto");
        let windows: Vec<String> = (0..windows).map(|h| format!("2026-11-{:02}T{:02}", 20 + h / 24, h % 24)).collect();
        direct.put("_loglake/compaction/state.json", br#"{"next_run": 1}"#.to_vec()).await.unwrap();
        for window in &windows {
            let (dt, hour) = window.split_once('T').unwrap();
            direct.put(&format!("logs/dt={dt}/hour={hour}/r000000-0000.parquet"), b"PAR1".to_vec()).await.unwrap();
        }
        let columns = [("log_group", "varchar"), ("events", "bigint"), ("errors", "bigint"), ("warnings", "bigint")];
        let rows = vec![ROLLUP_ROW.iter().map(|v| v.to_string()).collect()];
        for _ in 0..results {
            loglake::testing::queue_athena_result(region, &columns, &rows);
        }
        RollupLake { config, windows, region: region.to_owned() }
    }

    /// A runner on `sdk`'s clients.
    pub fn runner<'a>(&'a self, sdk: &aws_config::SdkConfig, store: &'a dyn ObjectStore) -> query_runner::Runner<'a> {
        rollup_runner(&self.config, &self.region, sdk, store)
    }

    /// Checks what readers of the rollup see: each summary whole and holding its window's row
    /// once, no execution recorded twice, and — when `complete` — a summary and a succeeded run
    /// for every window. Returns the summaries and the runs recorded.
    pub async fn check(&self, direct: &S3Store, python: &str, complete: bool) -> (usize, usize) {
        use loglake::rollup::query_file::{Window, WindowBounds};
        let summaries = direct.list(&format!("summaries/{ROLLUP_QUERY}/")).await.unwrap();
        let rows = read_bucket_table_with_pyarrow(direct, python, &format!("summaries/{ROLLUP_QUERY}")).await;
        assert_eq!(rows.len(), summaries.len(), "each summary holds its window's row once");
        assert!(rows.iter().all(|r| r["events"].as_i64() == Some(120) && r["errors"].as_i64() == Some(7)));
        let runs = read_bucket_table_with_pyarrow(direct, python, "_loglake/query_runs").await;
        let mut executions: Vec<&str> = runs.iter().map(|r| r["execution_id"].as_str().unwrap()).collect();
        executions.sort();
        let recorded = executions.len();
        executions.dedup();
        assert_eq!(executions.len(), recorded, "no run recorded twice");
        if complete {
            let expected: Vec<String> = self
                .windows
                .iter()
                .map(|w| {
                    let bounds = WindowBounds::parse(Window::Hourly, w, chrono_tz::Tz::UTC).unwrap();
                    loglake::lake::layout::summary_key(ROLLUP_QUERY, &bounds.partition())
                })
                .collect();
            assert_eq!(summaries, expected, "one summary per window");
            for window in &self.windows {
                let succeeded = |r: &&Value| r["window"] == window.as_str() && r["state"] == "SUCCEEDED";
                assert!(runs.iter().any(|r| succeeded(&r)), "{window} has a succeeded run");
            }
        }
        (summaries.len(), recorded)
    }
}

/// The query-runner's configuration for `bucket`, as the template sets it.
pub fn rollup_config(bucket: &str) -> query_runner::Config {
    query_runner::Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.to_owned()),
        "LOGLAKE_GLUE_DATABASE" => Some("loglake".into()),
        "LOGLAKE_ATHENA_WORKGROUP" => Some(format!("wg-{bucket}")),
        other => std::env::var(other).ok(),
    })
    .expect("query-runner configuration")
}

/// A query-runner of the shipped queries on `sdk`'s clients, its Athena in `region`.
pub fn rollup_runner<'a>(
    config: &'a query_runner::Config,
    region: &str,
    sdk: &aws_config::SdkConfig,
    store: &'a dyn ObjectStore,
) -> query_runner::Runner<'a> {
    let queries = loglake::rollup::query_file::shipped().expect("the shipped queries");
    let athena = query_runner::Athena::new(athena_in(sdk, region), config);
    query_runner::Runner { config, athena, store, queries }
}

/// An Athena client on `sdk`, in `region`.
pub fn athena_in(sdk: &aws_config::SdkConfig, region: &str) -> aws_sdk_athena::Client {
    let config = aws_sdk_athena::config::Builder::from(sdk)
        .region(aws_config::Region::new(region.to_owned()))
        .retry_partition(loglake::lake::storage::retry_partition("athena"))
        .build();
    aws_sdk_athena::Client::from_conf(config)
}
