//! The compactor against moto in server mode through the real S3 and Glue clients: a run moves
//! staging into curated files, the Glue view `logs_all` holds the text of the state it left, and
//! a Glue failure at the switch fails the run before anything is deleted.

use base64::Engine as _;
use compactor::{Config, GlueView, handle};
use loglake::compact::state::{CompactionState, load_state};
use loglake::compact::view::Readers;
use loglake::compact::view::{VIEW_NAME, view_sql};
use loglake::ingest::cloudwatch::{StoredLogEvent, ingest_log_events};
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config};
use loglake::testing::{integration_python, read_bucket_table_with_pyarrow, unique_bucket};

/// The `originalSql` of the Presto view document in the view's Glue text.
async fn view_text(glue: &aws_sdk_glue::Client, database: &str) -> String {
    let table = glue.get_table().database_name(database).name(VIEW_NAME).send().await.unwrap();
    let text = table.table().unwrap().view_original_text().unwrap().to_owned();
    let encoded = text.strip_prefix("/* Presto View: ").unwrap().strip_suffix(" */").unwrap();
    let document: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(document["schema"], database);
    document["originalSql"].as_str().unwrap().to_owned()
}

/// A bucket with 400 staged events over two hours, a Glue database, and (unless `view` is
/// false) the view as the template creates it.
async fn lake(tag: &str, view: bool) -> (Config, S3Store, aws_sdk_glue::Client, Vec<String>) {
    let bucket = unique_bucket(tag);
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.clone()),
        "LOGLAKE_GLUE_DATABASE" => Some(format!("db_{}", bucket.replace('-', "_"))),
        "LOGLAKE_COMPACT_GRACE_MINUTES" => Some("0".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let aws = load_aws_config().await;
    let s3 = S3Store::new(&aws, &bucket, config.lake.force_path_style);
    s3.client().create_bucket().bucket(&bucket).send().await.unwrap();
    let glue = aws_sdk_glue::Client::new(&aws);
    let database = aws_sdk_glue::types::DatabaseInput::builder().name(&config.glue_database).build().unwrap();
    glue.create_database().database_input(database).send().await.unwrap();
    if view {
        let publisher = GlueView { client: glue.clone(), database: config.glue_database.clone() };
        let table = publisher.table_input(&view_sql(&CompactionState::default(), "")).unwrap();
        glue.create_table().database_name(&config.glue_database).table_input(table).send().await.unwrap();
    }
    let start = loglake::function::now_ms() - 2 * 3_600_000;
    let mut ids = Vec::new();
    for batch in 0..4 {
        let events: Vec<StoredLogEvent> = (0..100)
            .map(|i| StoredLogEvent {
                id: format!("e{batch}-{i:03}"),
                log_stream: "s".into(),
                timestamp_ms: start + (batch * 100 + i) * 15_000,
                message: format!("{{\"level\":\"info\",\"n\":{i}}}"),
            })
            .collect();
        ids.extend(events.iter().map(|e| e.id.clone()));
        let mut report = loglake::ingest::report::IngestReport::default();
        ingest_log_events("123456789012", "/app/web", &events, &config.lake.pipeline, start, &s3, &mut report)
            .await
            .unwrap();
    }
    ids.sort();
    (config, s3, glue, ids)
}

#[tokio::test]
async fn a_run_publishes_the_view_of_its_state_to_glue() {
    let Some(python) = integration_python() else { return };
    let (config, s3, glue, ids) = lake("compactor-glue", true).await;
    let view = GlueView { client: glue.clone(), database: config.glue_database.clone() };
    let readers = Readers { view: &view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    let spill = tempfile::tempdir().unwrap();
    let record = handle(&config, &s3, &readers, spill.path()).await.unwrap();
    assert_eq!((record.rows_out, record.hours.len()), (ids.len(), record.files_out));
    assert!(s3.list("staging/").await.unwrap().is_empty());

    let state = load_state(&s3).await.unwrap();
    assert_eq!(state.next_run, 1);
    let sql = view_text(&glue, &config.glue_database).await;
    assert_eq!(sql, view_sql(&state, &readers.path_prefix));
    assert!(sql.contains("NOT LIKE '%/r000001-%'") && sql.contains("NOT EXISTS"), "{sql}");

    let rows = read_bucket_table_with_pyarrow(&s3, &python, "logs").await;
    let mut seen: Vec<String> = rows.iter().map(|r| r["event_id"].as_str().unwrap().to_owned()).collect();
    seen.sort();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_glue_failure_fails_the_run_before_anything_is_deleted() {
    if integration_python().is_none() {
        return;
    }
    let (config, s3, glue, _) = lake("compactor-noview", false).await;
    let staged = s3.list("staging/").await.unwrap();
    let view = GlueView { client: glue, database: config.glue_database.clone() };
    let readers = Readers { view: &view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    let spill = tempfile::tempdir().unwrap();
    let error = handle(&config, &s3, &readers, spill.path()).await.unwrap_err();
    assert!(error.to_string().contains("glue:GetTable"), "{error}");
    assert_eq!(s3.list("staging/").await.unwrap(), staged, "nothing consumed");
    assert!(s3.list("logs/").await.unwrap().is_empty());
}
