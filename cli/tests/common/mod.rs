//! What the tests that run the `loglake` binary over a local lake share: running it, the Python
//! that reads Parquet back, and reading a lake's files and summaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use loglake::testing::read_lake_table_with_pyarrow;

/// `loglake ARGS`, asserted to succeed; its stdout.
pub fn loglake(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_loglake")).args(args).output().unwrap();
    assert!(out.status.success(), "loglake {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The Python with pyarrow and DuckDB (`LOGLAKE_TEST_PYTHON`); without it the test says it was
/// skipped, and fails instead when `LOGLAKE_REQUIRE_INTEGRATION=1` (scripts/test.sh sets both).
pub fn test_python() -> Option<String> {
    let python = std::env::var("LOGLAKE_TEST_PYTHON").ok();
    if python.is_none() {
        assert!(std::env::var("LOGLAKE_REQUIRE_INTEGRATION").as_deref() != Ok("1"), "LOGLAKE_TEST_PYTHON is not set");
        eprintln!("SKIPPED: needs LOGLAKE_TEST_PYTHON (pyarrow, DuckDB); run scripts/test.sh");
    }
    python
}

/// The keys of the files under `prefix` of the lake, sorted.
pub fn keys_under(lake: &Path, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut pending = vec![lake.join(prefix)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                keys.push(path.strip_prefix(lake).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    keys.sort();
    keys
}

/// Each summary table of the lake and its rows (JSON, sorted), read by pyarrow.
pub fn summaries(lake: &Path, python: &str) -> Vec<(String, Vec<String>)> {
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(lake.join("summaries")).into_iter().flatten() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let mut rows: Vec<String> = read_lake_table_with_pyarrow(lake, python, &format!("summaries/{name}"))
            .iter()
            .map(|row| row.to_string())
            .collect();
        rows.sort();
        tables.push((name, rows));
    }
    tables.sort();
    tables
}
