//! The runner on the real Athena client with the SDK's own mocks (aws-smithy-mocks), for the
//! states a server cannot be made to produce on demand: throttling, FAILED and CANCELLED with
//! their reasons, a query that outlives the invocation, a result too large for a summary.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_athena::Client;
use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_athena::operation::start_query_execution::{StartQueryExecutionError, StartQueryExecutionOutput};
use aws_sdk_athena::types::error::TooManyRequestsException;
use aws_sdk_athena::types::{
    AthenaError, ColumnInfo, Datum, QueryExecution, QueryExecutionState, QueryExecutionStatistics,
    QueryExecutionStatus, ResultReuseInformation, ResultSet, ResultSetMetadata, Row,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use loglake::function::FunctionConfig;
use loglake::function::FunctionError;
use loglake::lake::layout::summary_key;
use loglake::lake::storage::{LocalStore, ObjectStore};
use loglake::rollup::query_file::{Window, WindowBounds};
use query_runner::{Athena, Config, Outcome, RunError, RunEvent, Runner, WindowResult};

const QUERY: &str = "errors_by_group_hourly";
const FIRED: &str = "2026-11-20T10:20:00Z"; // the window 2026-11-20T09

fn config(summary_max_rows: usize) -> Config {
    Config {
        lake: FunctionConfig { bucket: "lake".into(), force_path_style: false, pipeline: Default::default() },
        workgroup: "loglake".into(),
        database: "loglake".into(),
        result_reuse_minutes: 60,
        summary_max_rows,
        lookback_days: 3,
        max_windows: 4,
    }
}

/// A lake whose hour `partition` (`dt=…/hour=…`) compaction run `run` compacted, with nothing
/// left in staging: the runner lists it, and Athena (mocked) reads it.
async fn compacted(store: &LocalStore, partition: &str, run: u64) {
    let state = serde_json::json!({"next_run": run + 1});
    store.put("_loglake/compaction/state.json", state.to_string().into_bytes()).await.unwrap();
    store.put(&format!("logs/{partition}/r{run:06}-0000.parquet"), b"PAR1".to_vec()).await.unwrap();
}

fn client(rules: &[&Rule]) -> Client {
    // No SDK retries here: a throttling error reaches the runner at once.
    mock_client!(aws_sdk_athena, RuleMode::MatchAny, rules.iter().copied(), |c| c
        .retry_config(aws_sdk_athena::config::retry::RetryConfig::disabled()))
}

fn scheduled(time: &str) -> RunEvent {
    RunEvent { query: QUERY.into(), window: None, scheduled_time: Some(time.into()) }
}

fn hour(name: &str) -> WindowBounds {
    WindowBounds::parse(Window::Hourly, name, chrono_tz::Tz::UTC).unwrap()
}

fn execution(id: &str, state: QueryExecutionState) -> QueryExecution {
    QueryExecution::builder()
        .query_execution_id(id)
        .status(QueryExecutionStatus::builder().state(state).build())
        .statistics(
            QueryExecutionStatistics::builder()
                .data_scanned_in_bytes(123_456_789)
                .engine_execution_time_in_millis(2_500)
                .result_reuse_information(ResultReuseInformation::builder().reused_previous_result(false).build())
                .build(),
        )
        .build()
}

fn execution_rule(id: &'static str, state: QueryExecutionState) -> Rule {
    mock!(Client::get_query_execution)
        .match_requests(move |r| r.query_execution_id() == Some(id))
        .then_output(move || GetQueryExecutionOutput::builder().query_execution(execution(id, state.clone())).build())
}

fn start_rule(id: &'static str, tokens: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::start_query_execution).then_compute_output(move |request| {
        tokens.lock().unwrap().push(request.client_request_token().unwrap_or_default().to_owned());
        StartQueryExecutionOutput::builder().query_execution_id(id).build()
    })
}

fn results_rule(rows: usize) -> Rule {
    mock!(Client::get_query_results).then_output(move || {
        let columns = [("log_group", "varchar"), ("events", "bigint"), ("errors", "bigint"), ("warnings", "bigint")];
        let info = columns.iter().map(|(n, t)| ColumnInfo::builder().name(*n).r#type(*t).build().unwrap()).collect();
        let row = |values: Vec<String>| {
            Row::builder()
                .set_data(Some(values.into_iter().map(|v| Datum::builder().var_char_value(v).build()).collect()))
                .build()
        };
        let mut all = vec![row(columns.iter().map(|(n, _)| n.to_string()).collect())];
        all.extend((0..rows).map(|i| row(vec![format!("/app/{i}"), "10".into(), format!("{i}"), "1".into()])));
        GetQueryResultsOutput::builder()
            .result_set(
                ResultSet::builder()
                    .result_set_metadata(ResultSetMetadata::builder().set_column_info(Some(info)).build())
                    .set_rows(Some(all))
                    .build(),
            )
            .build()
    })
}

async fn keys(store: &LocalStore, prefix: &str) -> Vec<String> {
    store.list(prefix).await.unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn a_throttled_start_fails_the_invocation_and_leaves_nothing_started() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    compacted(&store, "dt=2026-11-20/hour=09", 0).await;
    let config = config(1000);
    let throttled = mock!(Client::start_query_execution).then_error(|| {
        StartQueryExecutionError::TooManyRequestsException(
            TooManyRequestsException::builder().message("Rate exceeded").build(),
        )
    });
    let runner = Runner {
        config: &config,
        athena: Athena::new(client(&[&throttled]), &config),
        store: &store,
        queries: loglake::rollup::query_file::shipped().unwrap(),
    };
    let error = runner.handle(&scheduled(FIRED), soon()).await.unwrap_err();
    assert!(matches!(error, RunError::Throttled { operation: "StartQueryExecution", .. }), "{error}");
    assert_eq!(error.error_type(), "Loglake.AthenaThrottled");
    assert!(keys(&store, "_loglake/query-runner/").await.is_empty(), "nothing recorded as started");

    // The schedule's retry starts it.
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (start, done, results) = (
        start_rule("exec-1", tokens.clone()),
        execution_rule("exec-1", QueryExecutionState::Succeeded),
        results_rule(3),
    );
    let runner = Runner { athena: Athena::new(client(&[&start, &done, &results]), &config), ..runner };
    let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Stored { rows: 3, reused: false });
    assert_eq!(out[0].window, "2026-11-20T09");
    assert_eq!(keys(&store, &summary_key(QUERY, &hour("2026-11-20T09").partition())).await.len(), 1);
}

#[tokio::test]
async fn failed_and_cancelled_queries_are_recorded_with_their_reasons() {
    for (state, expected) in [(QueryExecutionState::Failed, "FAILED"), (QueryExecutionState::Cancelled, "CANCELLED")] {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        compacted(&store, "dt=2026-11-20/hour=09", 0).await;
        let config = config(1000);
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let start = start_rule("exec-f", tokens);
        let ended = mock!(Client::get_query_execution).then_output(move || {
            let reason = if state == QueryExecutionState::Failed {
                "SYNTAX_ERROR: line 3:5: Column 'lvl' cannot be resolved"
            } else {
                "Query exhausted the bytes scanned limit of the workgroup"
            };
            let mut execution = execution("exec-f", state.clone());
            execution.status = Some(
                QueryExecutionStatus::builder()
                    .state(state.clone())
                    .state_change_reason(reason)
                    .athena_error(
                        AthenaError::builder().error_category(2).error_type(1006).error_message(reason).build(),
                    )
                    .build(),
            );
            GetQueryExecutionOutput::builder().query_execution(execution).build()
        });
        let runner = Runner {
            config: &config,
            athena: Athena::new(client(&[&start, &ended]), &config),
            store: &store,
            queries: loglake::rollup::query_file::shipped().unwrap(),
        };
        let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
        let reason = match &out[0].outcome {
            Outcome::Failed { reason } if expected == "FAILED" => reason.clone(),
            Outcome::Cancelled { reason } if expected == "CANCELLED" => reason.clone(),
            other => panic!("{expected}: {other:?}"),
        };
        assert!(
            reason.contains("category 2") && (reason.contains("lvl") || reason.contains("bytes scanned")),
            "{reason}"
        );
        assert!(keys(&store, "summaries/").await.is_empty(), "no summary for a {expected} query");
        assert!(keys(&store, "_loglake/query-runner/running/").await.is_empty());
        let runs = keys(&store, "_loglake/query_runs/dt=2026-11-20/").await;
        assert_eq!(runs.len(), 1);
        let row = read_run(&store, &runs[0]).await;
        assert_eq!((row.0.as_str(), row.1.as_deref()), (expected, Some(reason.as_str())));
        assert_eq!(row.2, 123_456_789);
        assert!(row.3 > 0.0, "Athena bills what a failed query scanned");

        // The schedule again, nothing new compacted: not retried every hour, and not reported
        // as stored.
        let again = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
        match &again[..] {
            [WindowResult { outcome: Outcome::Waiting { reason }, .. }] => {
                assert!(reason.contains(expected) && reason.contains("compacted"), "{reason}")
            }
            other => panic!("{expected}: {other:?}"),
        }
        assert_eq!(start.num_calls(), 1);
    }
}

/// (state, reason, bytes_scanned, cost_usd) of a `query_runs` file.
async fn read_run(store: &LocalStore, key: &str) -> (String, Option<String>, i64, f64) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    let body = store.get(key).await.unwrap();
    let mut reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body))
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    let text = |name: &str| batch.column_by_name(name).unwrap().as_string::<i32>().clone();
    let (state, reason) = (text("state"), text("reason"));
    (
        state.value(0).to_owned(),
        arrow_array::Array::is_valid(&reason, 0).then(|| reason.value(0).to_owned()),
        batch.column_by_name("bytes_scanned").unwrap().as_primitive::<Int64Type>().value(0),
        batch.column_by_name("cost_usd").unwrap().as_primitive::<Float64Type>().value(0),
    )
}

#[tokio::test]
async fn a_query_outliving_the_deadline_is_picked_up_by_the_next_invocation_and_never_started_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    compacted(&store, "dt=2026-11-20/hour=09", 0).await;
    let config = config(1000);
    let queries = loglake::rollup::query_file::shipped().unwrap();
    let tokens = Arc::new(Mutex::new(Vec::new()));

    // First invocation: the query is still running when polling must stop.
    let (start, running) =
        (start_rule("exec-1", tokens.clone()), execution_rule("exec-1", QueryExecutionState::Running));
    let runner = Runner {
        config: &config,
        athena: Athena::new(client(&[&start, &running]), &config),
        store: &store,
        queries: queries.clone(),
    };
    let started = Instant::now();
    let out = runner.handle(&scheduled(FIRED), Instant::now() + Duration::from_millis(700)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "polling stops at the deadline");
    assert_eq!(out[0].outcome, Outcome::StillRunning);
    assert!(running.num_calls() >= 2, "polled with backoff: {} calls", running.num_calls());
    assert_eq!(keys(&store, "_loglake/query-runner/running/").await.len(), 1);

    // A retried invocation for the same window polls the running query; it starts nothing.
    let out = runner.handle(&scheduled(FIRED), Instant::now() + Duration::from_millis(300)).await.unwrap();
    assert_eq!((out.len(), &out[0].outcome), (1, &Outcome::StillRunning));
    assert_eq!(start.num_calls(), 1);

    // The next hour's invocation finishes the earlier query first, then runs its own window.
    compacted(&store, "dt=2026-11-20/hour=10", 1).await;
    let start = start_rule("exec-2", tokens.clone());
    let (done_1, done_2, results) = (
        execution_rule("exec-1", QueryExecutionState::Succeeded),
        execution_rule("exec-2", QueryExecutionState::Succeeded),
        results_rule(2),
    );
    let runner = Runner { athena: Athena::new(client(&[&start, &done_1, &done_2, &results]), &config), ..runner };
    let out = runner.handle(&scheduled("2026-11-20T11:20:00Z"), soon()).await.unwrap();
    let summary: Vec<(&str, Option<&str>, &Outcome)> =
        out.iter().map(|r| (r.window.as_str(), r.execution_id.as_deref(), &r.outcome)).collect();
    assert_eq!(
        summary,
        [
            ("2026-11-20T09", Some("exec-1"), &Outcome::Stored { rows: 2, reused: false }),
            ("2026-11-20T10", Some("exec-2"), &Outcome::Stored { rows: 2, reused: false }),
        ]
    );
    assert_eq!(start.num_calls(), 1, "only the new window was started");
    assert!(keys(&store, "_loglake/query-runner/running/").await.is_empty());
    for window in ["2026-11-20T09", "2026-11-20T10"] {
        assert_eq!(keys(&store, &summary_key(QUERY, &hour(window).partition())).await.len(), 1);
    }

    // A retried schedule of a stored window does nothing; a named window runs again, with a new
    // request token, and replaces the summary.
    let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::AlreadyStored);
    assert_eq!(start.num_calls(), 1);
    let rerun = RunEvent { query: QUERY.into(), window: Some("2026-11-20T09".into()), scheduled_time: None };
    let out = runner.handle(&rerun, soon()).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::Stored { rows: 2, reused: false });
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 3);
    assert_ne!(tokens[0], tokens[2], "a re-run of 09 is a new execution, not Athena's idempotent replay");
    assert_eq!(keys(&store, "summaries/errors_by_group_hourly/dt=2026-11-20/hour=09/").await.len(), 1);
    assert_eq!(keys(&store, "_loglake/query_runs/dt=2026-11-20/").await.len(), 3);
}

#[tokio::test]
async fn a_result_too_large_for_a_summary_is_recorded_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    compacted(&store, "dt=2026-11-20/hour=09", 0).await;
    let config = config(2);
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (start, done, results) =
        (start_rule("exec-big", tokens), execution_rule("exec-big", QueryExecutionState::Succeeded), results_rule(5));
    let runner = Runner {
        config: &config,
        athena: Athena::new(client(&[&start, &done, &results]), &config),
        store: &store,
        queries: loglake::rollup::query_file::shipped().unwrap(),
    };
    let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
    match &out[0].outcome {
        Outcome::NotStored { reason } => assert!(reason.contains("more than 2 rows"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(keys(&store, "summaries/").await.is_empty());
    let runs = keys(&store, "_loglake/query_runs/").await;
    assert_eq!(read_run(&store, &runs[0]).await.0, "NOT_STORED");
}

#[tokio::test]
async fn an_unknown_query_or_a_bad_window_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = config(10);
    let runner = Runner {
        config: &config,
        athena: Athena::new(client(&[]), &config),
        store: &store,
        queries: loglake::rollup::query_file::shipped().unwrap(),
    };
    let unknown = RunEvent { query: "drop_table".into(), window: None, scheduled_time: None };
    assert!(runner.handle(&unknown, soon()).await.unwrap_err().to_string().contains("no query \"drop_table\""));
    let bad = RunEvent { query: QUERY.into(), window: Some("2026-11-20'; --".into()), scheduled_time: None };
    let error = runner.handle(&bad, soon()).await.unwrap_err();
    assert_eq!(error.error_type(), "Loglake.InvalidEvent", "{error}");
}

/// A lake partitioned on another clock: the scheduled run at 10:20 UTC takes the last closed
/// local hour — 04 in New York, 18 in Tokyo — and its SQL filters those partitions; the summary
/// lands under them. (Old code: the window was UTC hour 09 everywhere, which in New York is a
/// local hour still to come: an empty summary, stored for good.)
#[tokio::test]
async fn windows_follow_the_partition_time_zone() {
    for (zone, window) in [(chrono_tz::America::New_York, "2026-11-20T04"), (chrono_tz::Asia::Tokyo, "2026-11-20T18")] {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        compacted(&store, &format!("dt=2026-11-20/hour={}", &window[11..]), 0).await;
        let mut config = config(1000);
        config.lake.pipeline.partition_time_zone = zone;
        let sql = Arc::new(Mutex::new(Vec::new()));
        let seen = sql.clone();
        let start = mock!(Client::start_query_execution).then_compute_output(move |request| {
            seen.lock().unwrap().push(request.query_string().unwrap_or_default().to_owned());
            StartQueryExecutionOutput::builder().query_execution_id("exec-z").build()
        });
        let (done, results) = (execution_rule("exec-z", QueryExecutionState::Succeeded), results_rule(2));
        let runner = Runner {
            config: &config,
            athena: Athena::new(client(&[&start, &done, &results]), &config),
            store: &store,
            queries: loglake::rollup::query_file::shipped().unwrap(),
        };
        let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
        assert_eq!(out[0].window, window, "{zone}");
        let hour = &window[11..];
        let sql = sql.lock().unwrap()[0].clone();
        assert!(sql.contains(&format!("dt = '2026-11-20' AND hour = '{hour}'")), "{zone}: {sql}");
        let partition = WindowBounds::parse(Window::Hourly, window, zone).unwrap().partition();
        assert_eq!(keys(&store, &summary_key(QUERY, &partition)).await.len(), 1, "{zone}");
    }
}

/// Stages `ids` (events of 2026-11-20 09:xx, one log group) as one CloudWatch payload would.
async fn stage(store: &LocalStore, ids: &[&str]) {
    let events: Vec<loglake::ingest::cloudwatch::StoredLogEvent> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| loglake::ingest::cloudwatch::StoredLogEvent {
            id: (*id).to_owned(),
            log_stream: format!("s-{}", ids.join("-")), // another key for another delivery
            timestamp_ms: 1_795_165_200_000 + i as i64 * 1_000, // 2026-11-20T09:00:00Z
            message: "{\"level\":\"error\"}".into(),
        })
        .collect();
    let mut report = loglake::ingest::report::IngestReport::default();
    let config = loglake::config::PipelineConfig::default();
    loglake::ingest::cloudwatch::ingest_log_events(
        "123456789012",
        "/app/web",
        &events,
        &config,
        loglake::function::now_ms(),
        store,
        &mut report,
    )
    .await
    .unwrap();
}

async fn compact_now(store: &LocalStore, spill: &std::path::Path) -> loglake::compact::state::RunRecord {
    let options = loglake::compact::run::CompactOptions::for_local_lake(loglake::function::now_ms() + 1_000, "test");
    let readers = loglake::compact::view::local_readers();
    loglake::compact::run::compact(store, &readers, &options, spill).await.unwrap()
}

/// A summary is computed from deduplicated data only: a record delivered twice (a re-delivery
/// under another staging key) is in staging twice until compaction, so the scheduled run waits
/// while the window's hours hold staging, runs once they are compacted, does nothing more on a
/// retry, and runs the window again when late data is compacted into it. (Old code: the run at
/// 10:20 summarized hour 09 while both copies were in staging, and stored the double count for
/// good.)
#[tokio::test]
async fn a_window_is_summarized_once_compacted_and_again_when_late_data_is_compacted_in() {
    let dir = tempfile::tempdir().unwrap();
    let spill = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let config = config(1000);
    stage(&store, &["a", "b"]).await;
    stage(&store, &["a", "b", "c"]).await; // a re-delivery: a and b twice
    assert_eq!(keys(&store, "staging/").await.len(), 2);

    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (start, done, results) = (
        start_rule("exec-d", tokens.clone()),
        execution_rule("exec-d", QueryExecutionState::Succeeded),
        results_rule(1),
    );
    let runner = Runner {
        config: &config,
        athena: Athena::new(client(&[&start, &done, &results]), &config),
        store: &store,
        queries: loglake::rollup::query_file::shipped().unwrap(),
    };
    let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Waiting { reason: "not compacted yet".into() });
    assert_eq!(start.num_calls(), 0, "nothing computed over staging");

    let first = compact_now(&store, spill.path()).await;
    assert_eq!((first.rows_out, first.duplicates), (3, 2));
    let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
    assert_eq!(
        (out[0].window.as_str(), &out[0].outcome),
        ("2026-11-20T09", &Outcome::Stored { rows: 1, reused: false })
    );
    let out = runner.handle(&scheduled(FIRED), soon()).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::AlreadyStored);
    assert_eq!(start.num_calls(), 1);

    // Late data for 09: waiting while in staging, then run again once compacted — by the next
    // hour's schedule too (the lookback), with a new generation.
    stage(&store, &["d"]).await;
    let out = runner.handle(&scheduled("2026-11-20T11:20:00Z"), soon()).await.unwrap();
    assert_eq!(start.num_calls(), 1, "09 holds staging again: {out:?}");
    compact_now(&store, spill.path()).await;
    let out = runner.handle(&scheduled("2026-11-20T11:20:00Z"), soon()).await.unwrap();
    let runs: Vec<(&str, &Outcome)> = out.iter().map(|r| (r.window.as_str(), &r.outcome)).collect();
    assert!(runs.contains(&("2026-11-20T09", &Outcome::Stored { rows: 1, reused: false })), "{runs:?}");
    assert_eq!(start.num_calls(), 2);
    let tokens = tokens.lock().unwrap().clone();
    assert_ne!(tokens[0], tokens[1], "a new execution, not Athena's idempotent replay");
}

/// A named window older than the lookback (a backfill) records the compaction run its summary
/// read, so that the record says what the summary holds.
#[tokio::test]
async fn a_named_old_window_records_the_compaction_its_summary_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    compacted(&store, "dt=2026-11-10/hour=09", 3).await;
    let config = config(1000);
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (start, done, results) =
        (start_rule("exec-o", tokens), execution_rule("exec-o", QueryExecutionState::Succeeded), results_rule(1));
    let runner = Runner {
        config: &config,
        athena: Athena::new(client(&[&start, &done, &results]), &config),
        store: &store,
        queries: loglake::rollup::query_file::shipped().unwrap(),
    };
    let named = RunEvent { query: QUERY.into(), window: Some("2026-11-10T09".into()), scheduled_time: None };
    let out = runner.handle(&named, soon()).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::Stored { rows: 1, reused: false });
    let state: serde_json::Value = serde_json::from_slice(
        &store.get("_loglake/query-runner/windows/errors_by_group_hourly/2026-11-10T09.json").await.unwrap(),
    )
    .unwrap();
    assert_eq!(state["computed_from_run"], 3, "{state}");
}
