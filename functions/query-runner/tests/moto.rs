//! The runner against moto in server mode through the real Athena and S3 clients: the query
//! text Athena receives is the rendered file, the result moto serves becomes the window's
//! summary (read back by pyarrow), the run is a `query_runs` row, a retried schedule starts
//! nothing, and a named re-run replaces the summary with one copy.
//!
//! moto runs no SQL: the test queues the rows Athena would return
//! (`/moto-api/static/athena/query-results`), one result per execution, in start order.

use std::time::{Duration, Instant};

use aws_sdk_athena::types::{ResultConfiguration, WorkGroupConfiguration};
use loglake::lake::layout::summary_key;
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config};
use loglake::rollup::query_file::{Window, WindowBounds};
use loglake::testing::{integration_python, queue_athena_result, read_bucket_table_with_pyarrow, unique_bucket};
use query_runner::{Athena, Config, Outcome, RunEvent, Runner};

/// Queues one Athena result in moto: `rows` of the errors_by_group_hourly query.
fn queue_result(rows: &[(&str, i64, i64, i64)]) {
    let columns = [("log_group", "varchar"), ("events", "bigint"), ("errors", "bigint"), ("warnings", "bigint")];
    let rows: Vec<Vec<String>> =
        rows.iter().map(|(g, e, r, w)| vec![g.to_string(), e.to_string(), r.to_string(), w.to_string()]).collect();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    queue_athena_result(&region, &columns, &rows);
}

#[tokio::test]
async fn a_scheduled_rollup_runs_on_athena_and_a_rerun_replaces_its_summary() {
    let Some(python) = integration_python() else { return };
    let bucket = unique_bucket("rollup");
    let workgroup = format!("wg-{bucket}");
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.clone()),
        "LOGLAKE_GLUE_DATABASE" => Some("loglake".into()),
        "LOGLAKE_ATHENA_WORKGROUP" => Some(workgroup.clone()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let aws = load_aws_config().await;
    let s3 = S3Store::new(&aws, &bucket, config.lake.force_path_style);
    s3.client().create_bucket().bucket(&bucket).send().await.unwrap();
    let athena = aws_sdk_athena::Client::new(&aws);
    // The workgroup as the template makes it: enforced result location, a bytes-scanned cutoff.
    athena
        .create_work_group()
        .name(&workgroup)
        .configuration(
            WorkGroupConfiguration::builder()
                .result_configuration(
                    ResultConfiguration::builder().output_location(format!("s3://{bucket}/_athena/")).build(),
                )
                .enforce_work_group_configuration(true)
                .bytes_scanned_cutoff_per_query(100 << 30)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let queries = loglake::rollup::query_file::shipped().unwrap();
    let query = queries.iter().find(|q| q.name == "errors_by_group_hourly").unwrap().clone();
    let runner = Runner { config: &config, athena: Athena::new(athena.clone(), &config), store: &s3, queries };
    let until = || Instant::now() + Duration::from_secs(20);
    let window = WindowBounds::parse(Window::Hourly, "2026-11-20T09", chrono_tz::Tz::UTC).unwrap();
    let scheduled =
        RunEvent { query: query.name.clone(), window: None, scheduled_time: Some("2026-11-20T10:20:00Z".into()) };

    // Hour 09 as compaction run 0 left it (the runner lists it; moto's Athena reads nothing).
    s3.put("_loglake/compaction/state.json", br#"{"next_run": 1}"#.to_vec()).await.unwrap();
    s3.put("logs/dt=2026-11-20/hour=09/r000000-0000.parquet", b"PAR1".to_vec()).await.unwrap();
    queue_result(&[("/app/checkout", 120, 7, 3), ("/app/o'brien", 40, 0, 2)]);
    let out = runner.handle(&scheduled, until()).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Stored { rows: 2, reused: false });
    let execution_id = out[0].execution_id.clone().unwrap();
    let execution = athena.get_query_execution().query_execution_id(&execution_id).send().await.unwrap();
    let execution = execution.query_execution().unwrap();
    assert_eq!(execution.query(), Some(query.render(&window).unwrap().as_str()), "the rendered file, nothing else");
    assert_eq!(execution.query_execution_context().and_then(|c| c.database()), Some("loglake"));

    let rows = read_bucket_table_with_pyarrow(&s3, &python, "summaries/errors_by_group_hourly").await;
    let mut seen: Vec<(String, i64, i64, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["log_group"].as_str().unwrap().to_owned(),
                r["events"].as_i64().unwrap(),
                r["errors"].as_i64().unwrap(),
                r["warnings"].as_i64().unwrap(),
                r["dt"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("/app/checkout".into(), 120, 7, 3, "2026-11-20".into()),
            ("/app/o'brien".into(), 40, 0, 2, "2026-11-20".into())
        ]
    );
    let runs = read_bucket_table_with_pyarrow(&s3, &python, "_loglake/query_runs").await;
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0]["state"].as_str(), runs[0]["engine"].as_str()), (Some("SUCCEEDED"), Some("athena")));
    assert_eq!(runs[0]["execution_id"].as_str(), Some(execution_id.as_str()));
    assert_eq!(runs[0]["window"].as_str(), Some("2026-11-20T09"));
    assert!(runs[0]["cost_usd"].as_f64().unwrap() > 0.0, "the 10 MB minimum");

    // The schedule retried: nothing starts.
    let out = runner.handle(&scheduled, until()).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::AlreadyStored);
    let executions = athena.list_query_executions().work_group(&workgroup).send().await.unwrap();
    assert_eq!(executions.query_execution_ids().len(), 1);

    // A named re-run (late data arrived): a new execution, and the summary holds its rows only.
    queue_result(&[("/app/checkout", 125, 8, 3)]);
    let rerun = RunEvent { query: query.name.clone(), window: Some("2026-11-20T09".into()), scheduled_time: None };
    let out = runner.handle(&rerun, until()).await.unwrap();
    assert_eq!(out[0].outcome, Outcome::Stored { rows: 1, reused: false });
    assert_eq!(s3.list("summaries/").await.unwrap(), [summary_key(&query.output, &window.partition())]);
    let rows = read_bucket_table_with_pyarrow(&s3, &python, "summaries/errors_by_group_hourly").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["events"].as_i64(), Some(125));
    assert_eq!(read_bucket_table_with_pyarrow(&s3, &python, "_loglake/query_runs").await.len(), 2);
    let executions = athena.list_query_executions().work_group(&workgroup).send().await.unwrap();
    assert_eq!(executions.query_execution_ids().len(), 2);
}
