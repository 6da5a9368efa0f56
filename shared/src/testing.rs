//! Helpers of the tests of every crate (feature `testing`, never in a Lambda binary): settings
//! from a list ([`lookup`]), a seeded generator ([`Rng`]), the local moto server the integration
//! tests run against, reading a bucket back with an independent Parquet reader (pyarrow,
//! through scripts/read_lake.py), and a store that pauses a run at a chosen step
//! ([`PausingStore`]).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::lake::storage::{Expected, ListedObject, ObjectStore, S3Store, StorageError, Version};

/// Settings as a function reads them, from `(name, value)` pairs instead of the environment.
pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let settings: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| settings.get(name).cloned()
}

/// The entries of row `row` of an `attributes` column, null values left out: what a brute force
/// over records reads.
pub fn attributes_of(maps: &arrow_array::MapArray, row: usize) -> std::collections::BTreeMap<String, String> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let entries = maps.value(row);
    let (keys, values) = (entries.column(0).as_string::<i32>(), entries.column(1).as_string::<i32>());
    (0..keys.len())
        .filter(|&i| values.is_valid(i))
        .map(|i| (keys.value(i).to_owned(), values.value(i).to_owned()))
        .collect()
}

/// xorshift64*: deterministic pseudo-random input, so that a failure reproduces.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The Python with pyarrow that reads the lake back, when `AWS_ENDPOINT_URL` points at a local
/// server. Without both the test says it was skipped, and fails instead when
/// `LOGLAKE_REQUIRE_INTEGRATION=1` (as in CI). scripts/test.sh sets all three.
pub fn integration_python() -> Option<String> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").ok().filter(|e| e.contains("127.0.0.1") || e.contains("localhost"));
    let python = std::env::var("LOGLAKE_TEST_PYTHON").ok();
    match (endpoint, python) {
        (Some(_), Some(python)) => Some(python),
        _ if std::env::var("LOGLAKE_REQUIRE_INTEGRATION").as_deref() == Ok("1") => {
            panic!("LOGLAKE_REQUIRE_INTEGRATION=1 but AWS_ENDPOINT_URL (local moto) or LOGLAKE_TEST_PYTHON is not set")
        }
        _ => {
            eprintln!(
                "SKIPPED: moto integration test needs AWS_ENDPOINT_URL=http://127.0.0.1:PORT and LOGLAKE_TEST_PYTHON; run scripts/test.sh"
            );
            None
        }
    }
}

/// A CloudWatch Logs DATA_MESSAGE of account 123456789012 with `events` (id, timestamp ms,
/// message), as JSON.
pub fn cloudwatch_payload_json<S: AsRef<str>>(log_group: &str, events: &[(S, i64, S)]) -> Vec<u8> {
    let events: Vec<Value> = events
        .iter()
        .map(|(id, ts, m)| serde_json::json!({"id": id.as_ref(), "timestamp": ts, "message": m.as_ref()}))
        .collect();
    let body = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": log_group, "logStream": "s",
        "subscriptionFilters": ["loglake"], "logEvents": events
    });
    body.to_string().into_bytes()
}

/// [`cloudwatch_payload_json`] gzipped, in base64: `awslogs.data` of a subscription event, and
/// the `data` of a Kinesis or Firehose record the subscription forwarded.
pub fn cloudwatch_payload<S: AsRef<str>>(log_group: &str, events: &[(S, i64, S)]) -> String {
    use base64::Engine as _;
    let gzipped = crate::decode::subscription::gzip(&cloudwatch_payload_json(log_group, events));
    base64::engine::general_purpose::STANDARD.encode(gzipped)
}

/// Queues one result in the local moto's Athena (`/moto-api/static/athena/query-results`; moto
/// runs no SQL and serves the queued results of a region one per execution, in start order): a
/// header row and `rows`, typed as `columns` (name, Athena type) say. Tests that queue results
/// in the same region at once take each other's.
pub fn queue_athena_result(region: &str, columns: &[(&str, &str)], rows: &[Vec<String>]) {
    use std::io::{Read, Write};
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: the local moto");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let row = |values: Vec<String>| serde_json::json!({"Data": values.into_iter().map(|v| serde_json::json!({"VarCharValue": v})).collect::<Vec<_>>()});
    let mut data = vec![row(columns.iter().map(|(name, _)| name.to_string()).collect())];
    data.extend(rows.iter().cloned().map(row));
    let column_info: Vec<Value> = columns
        .iter()
        .map(|(n, t)| serde_json::json!({"Name": n, "Label": n, "Type": t, "Nullable": "UNKNOWN"}))
        .collect();
    let body = serde_json::json!({
        "region": region,
        "results": [{"rows": data, "column_info": column_info}],
    })
    .to_string();
    let mut stream = std::net::TcpStream::connect(host).expect("connect to moto");
    write!(
        stream,
        "POST /moto-api/static/athena/query-results HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("queue the result");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("moto answers");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

/// A bucket name no other test uses.
pub fn unique_bucket(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("loglake-test-{tag}-{nanos}")
}

/// The repository's root (for scripts/ and events/).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Downloads every object of the bucket as it is, and returns the rows pyarrow reads from its
/// staging Parquet (one JSON object per row: the columns, `dt`, `hour`, times in epoch ms).
pub async fn read_bucket_with_pyarrow(s3: &S3Store, python: &str) -> Vec<Value> {
    read_bucket_table_with_pyarrow(s3, python, "staging/logs").await
}

/// The rows of one table of the bucket (`staging/logs` or `logs`), read by pyarrow.
pub async fn read_bucket_table_with_pyarrow(s3: &S3Store, python: &str, table: &str) -> Vec<Value> {
    let download = tempfile::tempdir().expect("temporary directory");
    for key in s3.list("").await.expect("list bucket") {
        let path = download.path().join(&key);
        std::fs::create_dir_all(path.parent().expect("key has a parent")).expect("create directory");
        std::fs::write(path, s3.get(&key).await.expect("get object")).expect("write object");
    }
    read_lake_table_with_pyarrow(download.path(), python, table)
}

/// The rows pyarrow reads from the staging Parquet of a local lake directory.
pub fn read_lake_with_pyarrow(lake: &Path, python: &str) -> Vec<Value> {
    read_lake_table_with_pyarrow(lake, python, "staging/logs")
}

/// The rows pyarrow reads from one table (`staging/logs` or `logs`) of a local lake directory.
pub fn read_lake_table_with_pyarrow(lake: &Path, python: &str, table: &str) -> Vec<Value> {
    if !lake.join(table).exists() {
        return Vec::new();
    }
    let out = std::process::Command::new(python)
        .arg(repo_root().join("scripts/read_lake.py"))
        .args(["--reader", "pyarrow"])
        .arg(lake)
        .arg(table)
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8").lines().map(|l| serde_json::from_str(l).expect("JSON row")).collect()
}

/// A store that stops before its `pause_at`-th operation (reads and lists included) until
/// [`PausingStore::resume`]: a run frozen at that point of its work, as a slow or suspended
/// invocation is, while the test lets another run go.
pub struct PausingStore<S> {
    inner: S,
    pause_at: usize,
    operations: std::sync::atomic::AtomicUsize,
    paused: tokio::sync::Notify,
    resumed: tokio::sync::Notify,
}

impl<S: ObjectStore> PausingStore<S> {
    /// `pause_at: usize::MAX` never pauses (to count a run's operations).
    pub fn new(inner: S, pause_at: usize) -> PausingStore<S> {
        PausingStore {
            inner,
            pause_at,
            operations: std::sync::atomic::AtomicUsize::new(0),
            paused: tokio::sync::Notify::new(),
            resumed: tokio::sync::Notify::new(),
        }
    }

    /// The operations made so far (the paused one included).
    pub fn operations(&self) -> usize {
        self.operations.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once the run is paused.
    pub async fn paused(&self) {
        self.paused.notified().await;
    }

    pub fn resume(&self) {
        self.resumed.notify_one();
    }

    async fn step(&self) {
        if self.operations.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == self.pause_at {
            self.paused.notify_one();
            self.resumed.notified().await;
        }
    }
}

#[async_trait::async_trait]
impl<S: ObjectStore> ObjectStore for PausingStore<S> {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError> {
        self.step().await;
        self.inner.put(key, body).await
    }
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        self.step().await;
        self.inner.put_file(key, path).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        self.step().await;
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.step().await;
        self.inner.list(prefix).await
    }
    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.step().await;
        self.inner.list_objects(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.step().await;
        self.inner.delete(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        self.step().await;
        self.inner.get_versioned(key).await
    }
    async fn put_if(&self, key: &str, body: Vec<u8>, expected: Expected<'_>) -> Result<Version, StorageError> {
        self.step().await;
        self.inner.put_if(key, body, expected).await
    }
}

/// scripts/fault_proxy.py on loopback in front of the local moto (`AWS_ENDPOINT_URL`): a fraction
/// `rate` of the requests through it fail — 503 SlowDown, 500, connection resets before and
/// after the upstream acted, truncated bodies, stalls of `stall` — chosen by a seeded generator.
/// Stopped when dropped.
pub struct FaultProxy {
    child: std::process::Child,
    port: u16,
}

impl FaultProxy {
    /// Every kind of fault, without limit.
    pub fn start(python: &str, rate: f64, seed: u64, stall: std::time::Duration) -> FaultProxy {
        FaultProxy::start_with(python, rate, seed, stall, &[])
    }

    /// Only `extra` faults: the proxy's own arguments (`--kinds reset_after`, `--max-faults 1`).
    pub fn start_with(python: &str, rate: f64, seed: u64, stall: std::time::Duration, extra: &[&str]) -> FaultProxy {
        use std::io::BufRead;
        let upstream = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: the moto the proxy fronts");
        let mut child = std::process::Command::new(python)
            .arg(repo_root().join("scripts/fault_proxy.py"))
            .args(["--upstream", &upstream, "--rate", &rate.to_string(), "--seed", &seed.to_string()])
            .args(["--stall", &stall.as_secs_f64().to_string()])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start scripts/fault_proxy.py");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("proxy stdout");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("proxy says its port");
        let port = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("fault proxy did not start: {line:?}"));
        FaultProxy { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The SDK configuration of the functions with `policy`, every service pointed at the proxy.
    /// (The environment's `AWS_ENDPOINT_URL` reaches a client through the service configuration,
    /// and wins over the `SdkConfig`'s endpoint: the proxy replaces it there.)
    pub async fn sdk_config(&self, policy: &crate::lake::storage::AwsClientPolicy) -> aws_config::SdkConfig {
        let config = crate::lake::storage::load_aws_config_with(policy).await.into_builder();
        config.service_config(ProxyEndpoint(self.endpoint())).endpoint_url(self.endpoint()).build()
    }

    /// The requests the proxy saw and the faults it injected, by kind.
    pub fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the proxy");
        stream.write_all(b"GET /__faults HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n").expect("ask the proxy");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("proxy answers");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or_else(|e| panic!("proxy counts {body:?}: {e}"))
    }
}

/// Service configuration naming one endpoint for every service, and nothing else.
#[derive(Debug)]
struct ProxyEndpoint(String);

impl aws_types::service_config::LoadServiceConfig for ProxyEndpoint {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL").then(|| self.0.clone())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
