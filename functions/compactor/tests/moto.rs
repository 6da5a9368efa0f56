//! The compactor against moto in server mode through the real S3 and Glue clients: a run moves
//! staging into curated files, the Glue view `logs_all` holds the text of the state it left, and
//! a Glue failure at the switch fails the run before anything is deleted. S3's conditional
//! writes keep one run at a time (the lease) and fence the state.

use base64::Engine as _;
use compactor::{Config, GlueView, handle};
use loglake::compact::lease::{self, Taken};
use loglake::compact::state::{CompactError, CompactionState, load_state, read_state};
use loglake::compact::view::Readers;
use loglake::compact::view::{VIEW_NAME, typed_view_name, typed_view_sql, view_sql};
use loglake::ingest::cloudwatch::{StoredLogEvent, ingest_log_events};
use loglake::lake::storage::{Expected, ObjectStore, S3Store, StorageError, load_aws_config};
use loglake::lake::typed::TYPED_TABLES;
use loglake::testing::{integration_python, read_bucket_table_with_pyarrow, unique_bucket};

/// An invocation's deadline, far enough not to matter.
fn later() -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(600)
}

/// The `originalSql` of the Presto view document in the view's Glue text.
async fn view_text(glue: &aws_sdk_glue::Client, database: &str, name: &str) -> String {
    let table = glue.get_table().database_name(database).name(name).send().await.unwrap();
    let text = table.table().unwrap().view_original_text().unwrap().to_owned();
    let encoded = text.strip_prefix("/* Presto View: ").unwrap().strip_suffix(" */").unwrap();
    let document: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(document["schema"], database);
    document["originalSql"].as_str().unwrap().to_owned()
}

/// A bucket with 400 staged events over two hours, a Glue database, and (unless `view` is
/// false) the views as the template creates them.
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
        publisher.create_views().await.unwrap();
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
    let record = handle(&config, &s3, &readers, spill.path(), "request", later()).await.unwrap().remove(0);
    assert_eq!((record.rows_out, record.hours.len()), (ids.len(), record.files_out));
    // Consumed staging stays for the delete delay (an hour by default), hidden by the view.
    let state = load_state(&s3).await.unwrap();
    let staged = s3.list("staging/").await.unwrap();
    assert!(!staged.is_empty() && staged.iter().all(|key| state.consumed.contains_key(key)), "{staged:?}");
    assert_eq!(state.next_run, 1);
    let sql = view_text(&glue, &config.glue_database, VIEW_NAME).await;
    assert_eq!(sql, view_sql(&state, &readers.path_prefix));
    assert!(sql.contains("AS BIGINT), -1) < 1") && sql.contains("NOT EXISTS"), "{sql}");
    // Each typed table's view too, with its own columns in Glue.
    for table in TYPED_TABLES {
        let name = typed_view_name(table);
        let sql = view_text(&glue, &config.glue_database, &name).await;
        assert_eq!(sql, typed_view_sql(table, &state, &readers.path_prefix), "{name}");
        let stored = glue.get_table().database_name(&config.glue_database).name(&name).send().await.unwrap();
        let columns = stored.table().unwrap().storage_descriptor().unwrap().columns();
        let day = usize::from(table.partition_day.is_some());
        assert_eq!(
            columns.len(),
            table.columns.len() + 16 + day,
            "{name}: envelope, typed, attributes, dt, hour[, date]"
        );
    }

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
    let error = handle(&config, &s3, &readers, spill.path(), "request", later()).await.unwrap_err();
    assert!(error.to_string().contains("glue:GetTable"), "{error}");
    assert_eq!(s3.list("staging/").await.unwrap(), staged, "nothing consumed");
    assert!(s3.list("logs/").await.unwrap().is_empty());
}

/// The conditional writes the lease and the state rely on, through the real S3 client: create
/// only where absent (`If-None-Match: *`), replace only the version read (`If-Match` on the ETag).
#[tokio::test]
async fn s3_conditional_writes_let_only_the_writer_who_read_the_latest_version_write() {
    if integration_python().is_none() {
        return;
    }
    let aws = load_aws_config().await;
    let bucket = unique_bucket("conditional");
    let s3 = S3Store::new(&aws, &bucket, true);
    s3.client().create_bucket().bucket(&bucket).send().await.unwrap();
    let key = "_loglake/compaction/probe.json";
    assert!(s3.get_versioned(key).await.unwrap().is_none());
    let first = s3.put_if(key, b"1".to_vec(), Expected::Absent).await.unwrap();
    let conflict = s3.put_if(key, b"2".to_vec(), Expected::Absent).await.unwrap_err();
    assert!(matches!(conflict, StorageError::Conflict { .. }), "{conflict}");
    let (body, read) = s3.get_versioned(key).await.unwrap().unwrap();
    assert_eq!((body, &read), (b"1".to_vec(), &first));
    let second = s3.put_if(key, b"3".to_vec(), Expected::Version(&read)).await.unwrap();
    assert_ne!(second, first);
    let stale = s3.put_if(key, b"4".to_vec(), Expected::Version(&first)).await.unwrap_err();
    assert!(matches!(stale, StorageError::Conflict { .. }), "{stale}");
    assert_eq!(s3.get(key).await.unwrap(), b"3");
}

/// An invocation that starts while another run holds the lease (a retry, an overlapping
/// schedule, `loglake compact` on the same bucket) does nothing; once the lease is released the
/// next invocation compacts. A run whose state was changed under it stops with `Overtaken`.
#[tokio::test]
async fn an_invocation_while_another_run_holds_the_lease_does_nothing() {
    let Some(python) = integration_python() else { return };
    let (config, s3, glue, ids) = lake("compactor-lease", true).await;
    let view = GlueView { client: glue.clone(), database: config.glue_database.clone() };
    let readers = Readers { view: &view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    let spill = tempfile::tempdir().unwrap();
    let Taken::Held(running) = lease::take(&s3, "cli-running", 20 * 60_000).await.unwrap() else {
        panic!("a new lake's lease is free")
    };
    let staged = s3.list("staging/").await.unwrap();
    let record = handle(&config, &s3, &readers, spill.path(), "request-2", later()).await.unwrap().remove(0);
    assert!(record.skipped.as_deref().is_some_and(|reason| reason.contains("cli-running")), "{record:?}");
    assert_eq!(s3.list("staging/").await.unwrap(), staged, "nothing consumed");
    assert!(s3.list("logs/").await.unwrap().is_empty() && load_state(&s3).await.unwrap() == CompactionState::default());

    running.release(&s3).await.unwrap();
    let record = handle(&config, &s3, &readers, spill.path(), "request-3", later()).await.unwrap().remove(0);
    assert_eq!((record.skipped, record.rows_out), (None, ids.len()));
    let rows = read_bucket_table_with_pyarrow(&s3, &python, "logs").await;
    assert_eq!(rows.len(), ids.len());

    // A state read, then changed by another writer: saving over it is refused.
    let mut stale = read_state(&s3).await.unwrap();
    let mut newer = read_state(&s3).await.unwrap();
    newer.state.next_run += 1;
    newer.save(&s3).await.unwrap();
    stale.state.replaced.insert("logs/dt=2026-01-01/hour=00/r000000-0000.parquet".into(), 0);
    assert!(matches!(stale.save(&s3).await, Err(CompactError::Overtaken)));
    assert_eq!(load_state(&s3).await.unwrap().next_run, 2);
}

/// Interleavings through the real S3 client: an invocation paused before one of its operations
/// while its lease lapses (as if paused past it) and a second invocation runs to its end; then
/// the first resumes, and a third follows. Every record stays visible exactly once (the state's
/// rules over what is in the bucket; pyarrow over `logs/` once staging is empty).
#[tokio::test]
async fn runs_interleaved_on_s3_leave_every_record_visible_once() {
    use arrow_array::cast::AsArray;
    use loglake::testing::PausingStore;
    let Some(python) = integration_python() else { return };
    async fn visible(s3: &S3Store) -> Vec<String> {
        let mut ids = Vec::new();
        for batch in loglake::compact::view::visible_rows(s3).await.unwrap() {
            let column = batch.column_by_name("event_id").unwrap().as_string::<i32>();
            ids.extend(column.iter().map(|id| id.unwrap().to_owned()));
        }
        ids.sort();
        ids
    }

    // How many operations a whole run makes.
    let (mut config, s3, glue, _) = lake("compactor-count", true).await;
    config.delete_delay_minutes = 0;
    let view = GlueView { client: glue.clone(), database: config.glue_database.clone() };
    let readers = Readers { view: &view, path_prefix: format!("s3://{}/", config.lake.bucket) };
    let spill = tempfile::tempdir().unwrap();
    let counting = PausingStore::new(s3, usize::MAX);
    handle(&config, &counting, &readers, spill.path(), "count", later()).await.unwrap();
    let operations = counting.operations();
    assert!(operations >= 20, "{operations}");

    for pause_at in [2, operations / 4, operations / 2, 3 * operations / 4, operations - 3] {
        let (mut config, s3, glue, ids) = lake("compactor-interleave", true).await;
        // Deleted at once, so that pyarrow over logs/ reads only visible files at the end.
        config.delete_delay_minutes = 0;
        let view = GlueView { client: glue.clone(), database: config.glue_database.clone() };
        let readers = Readers { view: &view, path_prefix: format!("s3://{}/", config.lake.bucket) };
        let paused = PausingStore::new(S3Store::new(&load_aws_config().await, &config.lake.bucket, true), pause_at);
        let (first_spill, second_spill) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = handle(&config, &paused, &readers, first_spill.path(), "first", later());
        let second = async {
            paused.paused().await;
            s3.delete(loglake::lake::layout::COMPACTION_LEASE_KEY).await.unwrap(); // lapsed
            let result = handle(&config, &s3, &readers, second_spill.path(), "second", later()).await;
            paused.resume();
            result
        };
        let (_, second) = tokio::join!(first, second);
        let context = format!("first run paused before operation {pause_at} of {operations}");
        second.unwrap_or_else(|e| panic!("{context}: the second run failed: {e}"));
        assert_eq!(visible(&s3).await, ids, "{context}, after both");
        let third = handle(&config, &s3, &readers, second_spill.path(), "third", later()).await;
        third.unwrap_or_else(|e| panic!("{context}: the third run failed: {e}"));
        assert_eq!(visible(&s3).await, ids, "{context}, after a third run");
        assert!(s3.list("staging/").await.unwrap().is_empty(), "{context}");
        let rows = read_bucket_table_with_pyarrow(&s3, &python, "logs").await;
        let mut seen: Vec<String> = rows.iter().map(|r| r["event_id"].as_str().unwrap().to_owned()).collect();
        seen.sort();
        assert_eq!(seen, ids, "{context}: pyarrow over logs/");
    }
}
