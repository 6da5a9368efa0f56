//! Units of a large hour as concurrent invocations of the unit function: the run invokes them
//! through the real Lambda client against a local server that speaks Lambda's Invoke API and runs
//! each unit as the function does ([`compactor::handle_unit`]), on S3 in moto. Every record ends
//! up once (read back by pyarrow); a unit that does not answer stops the run before its switch and
//! keeps the lease, and the run after it removes what the silent unit wrote.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use compactor::{Config, UnitEvent, handle_unit};
use loglake::compact::run::{CompactOptions, UnitInvokerRef, compact};
use loglake::compact::state::{CompactError, load_state};
use loglake::compact::view::local_readers;
use loglake::ingest::cloudwatch::{StoredLogEvent, ingest_log_events};
use loglake::lake::storage::{ObjectStore, S3Store, load_aws_config};
use loglake::testing::{integration_python, read_bucket_table_with_pyarrow, unique_bucket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A bucket with six log groups' events in one hour (and 200 of one group's delivered twice).
async fn lake(tag: &str) -> (Config, S3Store, Vec<String>) {
    let bucket = unique_bucket(tag);
    let config = Config::from_lookup(|name| match name {
        "LOGLAKE_BUCKET" => Some(bucket.clone()),
        "LOGLAKE_GLUE_DATABASE" => Some("db".into()),
        "LOGLAKE_COMPACT_GRACE_MINUTES" => Some("0".into()),
        "LOGLAKE_COMPACT_DELETE_DELAY_MINUTES" => Some("0".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let aws = load_aws_config().await;
    let s3 = S3Store::new(&aws, &bucket, config.lake.force_path_style);
    s3.client().create_bucket().bucket(&bucket).send().await.unwrap();
    // The start of the last full hour, so that every event is in one hour.
    let hour = (loglake::function::now_ms() / 3_600_000 - 1) * 3_600_000;
    let mut ids = Vec::new();
    for group in 0..6 {
        let events: Vec<StoredLogEvent> = (0..400)
            .map(|i| StoredLogEvent {
                id: format!("g{group}-{i:04}"),
                log_stream: "s".into(),
                timestamp_ms: hour + i * 8_000,
                message: format!(
                    "{{\"level\":\"info\",\"group\":{group},\"n\":{i},\"pad\":\"{}\"}}",
                    "x".repeat(i as usize % 50)
                ),
            })
            .collect();
        ids.extend(events.iter().map(|e| e.id.clone()));
        // Group 2's first 200 events are delivered again in a second payload (other staging keys).
        let deliveries: &[&[StoredLogEvent]] = if group == 2 { &[&events, &events[..200]] } else { &[&events] };
        for delivery in deliveries {
            let mut report = loglake::ingest::report::IngestReport::default();
            let log_group = format!("/app/svc-{group}");
            ingest_log_events("123456789012", &log_group, delivery, &config.lake.pipeline, hour, &s3, &mut report)
                .await
                .unwrap();
        }
    }
    ids.sort();
    (config, s3, ids)
}

/// What the local Invoke server does with one unit.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    /// Runs the unit and answers with its output (or its error, as Lambda reports one).
    Run,
    /// Closes the connection at once, then runs the unit anyway: an invocation whose answer was
    /// lost while the function went on.
    RunSilently,
    /// Answers as Lambda does for a function that failed, without running the unit.
    Fail,
}

struct InvokeServer {
    endpoint: String,
    in_flight: Arc<AtomicUsize>,
    most_at_once: Arc<AtomicUsize>,
    invocations: Arc<AtomicUsize>,
    /// The units run after their connection closed, to wait for.
    silent: Arc<tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

/// Serves `POST /2015-03-31/functions/<name>/invocations` as Lambda does for a synchronous
/// invocation: the response body is the function's answer, `X-Amz-Function-Error` marks an error.
/// `answer` decides by the unit's index.
async fn invoke_server(config: Config, store: S3Store, answer: fn(usize) -> Answer) -> InvokeServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = InvokeServer {
        endpoint: format!("http://{}", listener.local_addr().unwrap()),
        in_flight: Arc::default(),
        most_at_once: Arc::default(),
        invocations: Arc::default(),
        silent: Arc::default(),
    };
    let (config, store) = (Arc::new(config), Arc::new(store));
    let (in_flight, most, invocations, silent) =
        (server.in_flight.clone(), server.most_at_once.clone(), server.invocations.clone(), server.silent.clone());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (config, store) = (config.clone(), store.clone());
            let (in_flight, most, invocations, silent) =
                (in_flight.clone(), most.clone(), invocations.clone(), silent.clone());
            tokio::spawn(async move {
                let (head, body) = read_request(&mut socket).await;
                assert!(head.starts_with("POST /2015-03-31/functions/loglake-units/invocations"), "{head}");
                let event: UnitEvent = serde_json::from_slice(&body).unwrap();
                invocations.fetch_add(1, Ordering::SeqCst);
                let index = event.unit.index;
                let run = move || async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let spill = tempfile::tempdir().unwrap();
                    let result = handle_unit(&config, &*store, spill.path(), "unit", &event.unit).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    result
                };
                if answer(index) == Answer::RunSilently {
                    drop(socket);
                    silent.lock().await.push(tokio::spawn(async move {
                        run().await.unwrap();
                    }));
                    return;
                }
                let result = match answer(index) {
                    Answer::Fail => Err(CompactError::Worker("out of memory (a test's unit)".into())),
                    _ => run().await,
                };
                let (error, body) = match result {
                    Ok(output) => (None, serde_json::to_vec(&output).unwrap()),
                    Err(error) => (
                        Some("Unhandled"),
                        serde_json::to_vec(&serde_json::json!({"errorType": "Loglake.CompactionError", "errorMessage": error.to_string()}))
                            .unwrap(),
                    ),
                };
                let error = error.map_or(String::new(), |kind| format!("X-Amz-Function-Error: {kind}\r\n"));
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Amz-Executed-Version: $LATEST\r\n{error}Connection: close\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(&body).await.unwrap();
                socket.shutdown().await.ok();
            });
        }
    });
    server
}

/// The request line and headers, and the body (by Content-Length).
async fn read_request(socket: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended early");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .expect("a Content-Length");
    while buffer.len() < end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the body ended early");
        buffer.extend_from_slice(&chunk[..n]);
    }
    (head, buffer[end..end + length].to_vec())
}

/// The run's options: units of about a fifth of the hour's 50 KB, invoked through the Lambda client.
async fn options(config: &Config, server: &InvokeServer, holder: &str) -> CompactOptions {
    let units =
        compactor::units::LambdaUnits::new(&load_aws_config().await, "loglake-units", 4, Some(&server.endpoint));
    CompactOptions {
        unit_bytes: 10_000,
        unit_invoker: Some(UnitInvokerRef(Arc::new(units))),
        ..config.options(loglake::function::now_ms(), holder)
    }
}

async fn curated_ids(s3: &S3Store, python: &str) -> Vec<String> {
    let rows = read_bucket_table_with_pyarrow(s3, python, "logs").await;
    let mut seen: Vec<String> = rows.iter().map(|r| r["event_id"].as_str().unwrap().to_owned()).collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn a_large_hour_runs_as_concurrent_unit_invocations_and_every_record_lands_once() {
    let Some(python) = integration_python() else { return };
    let (config, s3, ids) = lake("compactor-units").await;
    let staged: u64 = s3.list_objects("staging/").await.unwrap().iter().map(|o| o.size).sum();
    let server =
        invoke_server(config.clone(), S3Store::new(&load_aws_config().await, &config.lake.bucket, true), |_| {
            Answer::Run
        })
        .await;
    let options = options(&config, &server, "run").await;
    assert!(staged > 3 * options.unit_bytes, "the hour is several units: {staged} bytes");
    let spill = tempfile::tempdir().unwrap();
    let record = compact(&s3, &local_readers(), &options, spill.path()).await.unwrap();

    assert_eq!(record.hours.len(), 1, "{record:?}");
    assert!(record.units >= 3, "{record:?}");
    assert_eq!(server.invocations.load(Ordering::SeqCst), record.units, "one invocation per unit");
    assert!(server.most_at_once.load(Ordering::SeqCst) >= 2, "units ran at once");
    assert_eq!((record.rows_out, record.duplicates), (ids.len(), 200), "{record:?}");
    assert_eq!(curated_ids(&s3, &python).await, ids, "every record once, read back by pyarrow");
}

#[tokio::test]
async fn a_unit_that_does_not_answer_stops_the_run_and_the_next_run_removes_what_it_wrote() {
    let Some(python) = integration_python() else { return };
    let (config, s3, ids) = lake("compactor-silent-unit").await;
    let store = || async { S3Store::new(&load_aws_config().await, &config.lake.bucket, true) };
    let silent = invoke_server(config.clone(), store().await, |index| match index {
        1 => Answer::RunSilently,
        _ => Answer::Run,
    })
    .await;
    let spill = tempfile::tempdir().unwrap();
    let error =
        compact(&s3, &local_readers(), &options(&config, &silent, "first").await, spill.path()).await.unwrap_err();
    assert!(matches!(error, CompactError::UnitUnanswered { unit: 1, .. }), "{error}");
    // The silent unit goes on and writes its files: hidden, as its run never switched.
    for unit in silent.silent.lock().await.drain(..) {
        unit.await.unwrap();
    }
    let state = load_state(&s3).await.unwrap();
    assert_eq!((state.next_run, state.writing.len()), (0, 1), "no switch: {state:?}");
    assert!(!s3.list("logs/").await.unwrap().is_empty(), "the units wrote files");
    // The lease stays until it expires (past every unit's last write): a run now does nothing.
    let answering = invoke_server(config.clone(), store().await, |_| Answer::Run).await;
    let skipped =
        compact(&s3, &local_readers(), &options(&config, &answering, "second").await, spill.path()).await.unwrap();
    assert!(skipped.skipped.is_some(), "{skipped:?}");

    // Once it has expired, the next run removes the stopped run's files and merges the hour.
    s3.delete(loglake::lake::layout::COMPACTION_LEASE_KEY).await.unwrap();
    let record =
        compact(&s3, &local_readers(), &options(&config, &answering, "third").await, spill.path()).await.unwrap();
    assert!(record.deleted > 0 && record.units >= 3, "{record:?}");
    assert_eq!(curated_ids(&s3, &python).await, ids, "every record once, read back by pyarrow");
}

#[tokio::test]
async fn a_unit_that_fails_fails_its_hour_with_the_reason_and_the_next_run_lands_every_record_once() {
    let Some(python) = integration_python() else { return };
    let (config, s3, ids) = lake("compactor-failed-unit").await;
    let store = || async { S3Store::new(&load_aws_config().await, &config.lake.bucket, true) };
    let failing = invoke_server(config.clone(), store().await, |index| match index {
        2 => Answer::Fail,
        _ => Answer::Run,
    })
    .await;
    let spill = tempfile::tempdir().unwrap();
    let first = options(&config, &failing, "first").await;
    // The lake's one hour failed, so the run did nothing and says why (the unit's own report).
    let error = compact(&s3, &local_readers(), &first, spill.path()).await.unwrap_err();
    match &error {
        CompactError::UnitFailed { unit: 2, reason, .. } => assert!(reason.contains("out of memory"), "{reason}"),
        other => panic!("{other}"),
    }
    // Nothing switched: the other units' files stay hidden (the hour is still `writing`).
    let state = load_state(&s3).await.unwrap();
    assert_eq!((state.next_run, state.writing.len()), (0, 1), "{state:?}");
    assert!(!s3.list("logs/").await.unwrap().is_empty(), "the other units wrote files");

    // The unit answered, so the lease was released: the next run goes on at once, removes those
    // files and merges the hour.
    let answering = invoke_server(config.clone(), store().await, |_| Answer::Run).await;
    let record =
        compact(&s3, &local_readers(), &options(&config, &answering, "second").await, spill.path()).await.unwrap();
    assert!(record.skipped.is_none() && record.deleted > 0 && record.units >= 3, "{record:?}");
    assert_eq!(curated_ids(&s3, &python).await, ids, "every record once, read back by pyarrow");
}
