//! Helpers for the integration tests of the functions (feature `testing`, never in a Lambda
//! binary): the local moto server the tests run against, and reading a bucket back with an
//! independent Parquet reader (pyarrow, through scripts/read_lake.py).

use std::path::Path;

use serde_json::Value;

use crate::storage::{ObjectStore, S3Store};

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
