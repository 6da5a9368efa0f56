//! The layout of the lake: every prefix, the shape of every key under it, and the partition a key
//! is in — defined here and nowhere else. This table is the README's "Storage layout" table (a
//! test keeps the two equal):
//!
//! ```text
//! staging/logs/dt=YYYY-MM-DD/hour=HH/cloudwatch-<log group slug>-<hash>.parquet  ingest-cloudwatch
//! staging/logs/dt=YYYY-MM-DD/hour=HH/kinesis-<stream slug>-<hash>.parquet        ingest-kinesis
//! staging/logs/dt=YYYY-MM-DD/hour=HH/firehose-<delivery stream>-….parquet        Firehose, from the transform's rows
//! staging/logs/dt=YYYY-MM-DD/hour=HH/firehose-<slug>-<hash>.parquet              firehose-transform, directly
//! staging/logs/dt=YYYY-MM-DD/hour=HH/s3-<source bucket slug>-<hash>.parquet    ingest-s3: lines of the log objects of other buckets
//! logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet                               compactor: curated, sorted
//! vpc_flow_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet                      compactor: typed tables (lake::typed)
//! alb_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet                           (docs/typed-layout.md)
//! nlb_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet
//! elb_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet
//! cloudfront_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet
//! cloudtrail_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet
//! apigateway_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet
//! lambda_logs/dt=YYYY-MM-DD/hour=HH/r<run>-<part>.parquet
//! _loglake/compaction/state.json                                                 compaction state: what readers must not see
//! _loglake/compaction/lease.json                                                 the lease of the one compaction run at work
//! _loglake/compaction/reading.json                                               the file a run is reading alone, after a run failed or died in its hour
//! _loglake/compaction/runs/<run>.json                                            a record of every compaction run
//! summaries/<query output>/dt=YYYY-MM-DD/[hour=HH/]part-00000.parquet            rollup results: one object per window
//! _loglake/query_runs/dt=YYYY-MM-DD/<query>-<window>-<execution>.parquet         one row per rollup run
//! _loglake/query-runner/running/…, windows/…                                     Athena executions in flight, window generations
//! _loglake/ingest-s3/progress/<object hash>.json                                 ingest-s3: where a large object's reading continues
//! _loglake/spill/                                                                a local lake's compaction spill directory
//! _athena/results/                                                               Athena's own result files (expire after 8 days)
//! errors/<source>/<hash>.json                                                    dead letters
//! errors/compaction/<input key>[.json]                                           compactor: an input file it set aside, and why
//! errors/firehose-delivery/<error type>/dt=YYYY-MM-DD/…                          Firehose's own failures
//! ```
//!
//! Log content reaches a key only through [`slug`] (a restricted alphabet) and a hash, so no log
//! group name can add a path segment, a `..`, or a character S3 or a filesystem treats specially.
//! Keys of ingested data are deterministic functions of the input, so that a retried invocation
//! rewrites the same objects.

use chrono::{DateTime, Datelike, TimeZone, Timelike};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};

/// Staging: what the ingest paths write, partitioned by event time (table `logs_staging`).
pub const STAGING_PREFIX: &str = "staging/logs/";
/// The curated table `logs`: compacted, sorted files.
pub const CURATED_PREFIX: &str = "logs/";
/// Rollup results: `summaries/<output>/…`, one table per query output.
pub const SUMMARIES_PREFIX: &str = "summaries/";
/// Dead letters: what could not be decoded, with the reason and the raw input.
pub const ERRORS_PREFIX: &str = "errors/";
/// Input files the compactor could not use, each with its reason beside it.
pub const COMPACTION_SET_ASIDE_PREFIX: &str = "errors/compaction/";
/// Where Firehose writes the records it could not deliver (its error output prefix).
pub const FIREHOSE_DELIVERY_ERRORS_PREFIX: &str = "errors/firehose-delivery/";
/// The compaction state: what readers must not see, and the next run's number.
pub const COMPACTION_STATE_KEY: &str = "_loglake/compaction/state.json";
/// The lease a compaction run holds while it works: one run at a time.
pub const COMPACTION_LEASE_KEY: &str = "_loglake/compaction/lease.json";
/// The input file a compaction run is reading one by one, so that the next run knows which file a
/// run died on.
pub const COMPACTION_READING_KEY: &str = "_loglake/compaction/reading.json";
/// A record of every compaction run.
pub const COMPACTION_RUNS_PREFIX: &str = "_loglake/compaction/runs/";
/// The table `query_runs`: one row per rollup run.
pub const QUERY_RUNS_PREFIX: &str = "_loglake/query_runs/";
/// The query runner's executions in flight and window generations.
pub const QUERY_RUNNER_PREFIX: &str = "_loglake/query-runner/";
/// Where ingest-s3 continues reading an object it could not finish in one invocation.
pub const S3_PROGRESS_PREFIX: &str = "_loglake/ingest-s3/progress/";
/// A local lake's compaction spill directory (a directory of the lake, never an S3 object).
pub const LOCAL_SPILL_DIR: &str = "_loglake/spill";
/// Athena's own result files (the workgroup's enforced result location).
pub const ATHENA_RESULTS_PREFIX: &str = "_athena/results/";

/// Every prefix, for the test that keeps the README's table equal to this module.
pub const ALL_PREFIXES: &[&str] = &[
    STAGING_PREFIX,
    CURATED_PREFIX,
    SUMMARIES_PREFIX,
    ERRORS_PREFIX,
    FIREHOSE_DELIVERY_ERRORS_PREFIX,
    COMPACTION_SET_ASIDE_PREFIX,
    COMPACTION_STATE_KEY,
    COMPACTION_LEASE_KEY,
    COMPACTION_READING_KEY,
    COMPACTION_RUNS_PREFIX,
    QUERY_RUNS_PREFIX,
    QUERY_RUNNER_PREFIX,
    S3_PROGRESS_PREFIX,
    LOCAL_SPILL_DIR,
    ATHENA_RESULTS_PREFIX,
];

/// The Hive partition (`dt=YYYY-MM-DD/hour=HH`) of an event time in a configured zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl Partition {
    /// The partition of an event time (ms since the epoch) in `zone`. Times outside chrono's
    /// range (±262,000 years) cannot occur: event times are clamped to plausible values first;
    /// should one slip through it lands in 1970-01-01/00 rather than panicking.
    pub fn of(event_time_ms: i64, zone: Tz) -> Partition {
        let utc = DateTime::from_timestamp_millis(event_time_ms).unwrap_or_default();
        let local = zone.from_utc_datetime(&utc.naive_utc());
        Partition { year: local.year(), month: local.month(), day: local.day(), hour: local.hour() }
    }

    /// `2024-05-01`
    pub fn dt(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `05`
    pub fn hour(&self) -> String {
        format!("{:02}", self.hour)
    }

    /// `dt=2024-05-01/hour=05`
    pub fn path(&self) -> String {
        format!("dt={}/hour={}", self.dt(), self.hour())
    }
}

/// `dt=…/hour=…` of a key under a table prefix (`None` for a key outside any hour partition).
pub fn partition_of(key: &str, prefix: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?;
    let mut parts = rest.splitn(3, '/');
    let (dt, hour) = (parts.next()?, parts.next()?);
    (dt.starts_with("dt=") && hour.starts_with("hour=") && parts.next().is_some()).then(|| format!("{dt}/{hour}"))
}

/// `staging/logs/dt=…/hour=…/<source>-<slug>-<hash>.parquet`
pub fn staging_key(partition: &Partition, source: &str, name: &str, input_hash: &str) -> String {
    format!("{STAGING_PREFIX}{}/{}-{}-{}.parquet", partition.path(), slug(source), slug(name), input_hash)
}

/// The file-name prefix of the curated files of compaction run `run`: `r000042-`.
pub fn curated_run_marker(run: u64) -> String {
    format!("r{run:06}-")
}

/// The run that wrote a curated file, from its name: `…/r000042-0001.parquet` → 42. `None` for
/// a file not named by a run.
pub fn curated_run_of(key: &str) -> Option<u64> {
    let name = key.rsplit('/').next()?;
    let (digits, rest) = name.strip_prefix('r')?.split_once('-')?;
    let numeric = digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit());
    (numeric && rest.ends_with(".parquet")).then(|| digits.parse().ok()).flatten()
}

/// A SQL expression, valid in Trino and DuckDB, for the run number in a curated file's
/// `"$path"` (as [`curated_run_of`]), or -1 for a file not named by a run.
pub const CURATED_RUN_OF_PATH_SQL: &str =
    "COALESCE(TRY_CAST(NULLIF(regexp_extract(\"$path\", '/r([0-9]{6,})-[^/]*\\.parquet$', 1), '') AS BIGINT), -1)";

/// `logs/<hour>/r<run>-<part>.parquet`, `hour` being `dt=…/hour=…`.
pub fn curated_key(hour: &str, run: u64, part: usize) -> String {
    format!("{CURATED_PREFIX}{hour}/{}{part:04}.parquet", curated_run_marker(run))
}

/// `_loglake/compaction/runs/<run>.json`
pub fn compaction_run_key(run: u64) -> String {
    format!("{COMPACTION_RUNS_PREFIX}{run:06}.json")
}

/// Where the compactor moves an input file it cannot use (`errors/compaction/<its key>`); the
/// reason is beside it, in `<that>.json`.
pub fn compaction_set_aside_key(input_key: &str) -> String {
    format!("{COMPACTION_SET_ASIDE_PREFIX}{input_key}")
}

/// `errors/<source>/<hash>.json`
pub fn dead_letter_key(source: &str, input_hash: &str) -> String {
    format!("{ERRORS_PREFIX}{}/{}.json", slug(source), input_hash)
}

/// `summaries/<output>/<partition>part-00000.parquet`, `partition` being the window's
/// `dt=…/[hour=…/]`. One object a window: a re-run writes the same key, so the window is
/// replaced in one PUT and never holds two copies.
pub fn summary_key(output: &str, window_partition: &str) -> String {
    format!("{SUMMARIES_PREFIX}{output}/{window_partition}part-00000.parquet")
}

/// `_loglake/query_runs/dt=<day>/<query>-<window>-<execution id>.parquet`. The parts are
/// loglake's own (a `[a-z0-9_]` name, a window name, an id reduced to `[A-Za-z0-9-]`) and none
/// is a time of the run, so a run recorded again after a crash writes the same key.
pub fn query_run_key(day: &str, query: &str, window: &str, execution_id: &str) -> String {
    let id: String = execution_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(80).collect();
    format!("{QUERY_RUNS_PREFIX}dt={day}/{query}-{window}-{id}.parquet")
}

/// `_loglake/ingest-s3/progress/<object hash>.json`, the hash being of the object's bucket, key
/// and content identity (version or ETag): an overwritten object starts afresh.
pub fn s3_progress_key(object_hash: &str) -> String {
    format!("{S3_PROGRESS_PREFIX}{object_hash}.json")
}

/// `_loglake/query-runner/running/<query>/`: the query's executions in flight.
pub fn query_running_prefix(query: &str) -> String {
    format!("{QUERY_RUNNER_PREFIX}running/{query}/")
}

/// `_loglake/query-runner/running/<query>/<window>.json`
pub fn query_running_key(query: &str, window: &str) -> String {
    format!("{}{window}.json", query_running_prefix(query))
}

/// `_loglake/query-runner/windows/<query>/<window>.json`: the window's generation and last state.
pub fn query_window_key(query: &str, window: &str) -> String {
    format!("{QUERY_RUNNER_PREFIX}windows/{query}/{window}.json")
}

/// A readable, safe stand-in for a name: ASCII letters, digits, `-` and `_` kept, runs of
/// anything else become one `_`, at most 48 bytes. Not unique: keys add a hash for that.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(48));
    for c in name.chars() {
        if out.len() >= 48 {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() { "x".to_owned() } else { trimmed.to_owned() }
}

/// Incremental hash of the parts that identify an input. Parts are length-prefixed so that
/// ("ab","c") and ("a","bc") differ.
#[derive(Clone, Default)]
pub struct InputHasher(Sha256);

impl InputHasher {
    pub fn new() -> Self {
        InputHasher(Sha256::new())
    }

    pub fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The first `hex_len` hex digits of the digest (at most 64).
    pub fn hex(&self, hex_len: usize) -> String {
        let digest = self.0.clone().finalize();
        let mut out = String::with_capacity(64);
        for byte in digest {
            out.push_str(&format!("{byte:02x}"));
        }
        out.truncate(hex_len.min(64));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe_segment(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=".contains(c)) && s != ".." && s != "."
    }

    #[test]
    fn hostile_log_group_names_stay_one_safe_segment() {
        let p = Partition { year: 2024, month: 5, day: 1, hour: 7 };
        for name in [
            "/aws/lambda/my-fn",
            "../../etc/passwd",
            "a/b/../../c",
            "name with spaces & ünïcödé 🦀",
            "'; DROP TABLE logs; --",
            "%2e%2e%2f",
            "",
            "////",
            &"x".repeat(600),
        ] {
            let key = staging_key(&p, "cloudwatch", name, "0123abcd");
            let rest = key.strip_prefix("staging/logs/dt=2024-05-01/hour=07/").expect(&key);
            assert!(is_safe_segment(rest), "{key}");
            assert!(rest.len() < 120, "{key}");
        }
    }

    #[test]
    fn slug_keeps_readable_names() {
        assert_eq!(slug("/aws/lambda/my-fn"), "aws_lambda_my-fn");
        assert_eq!(slug("🦀"), "x");
    }

    #[test]
    fn hash_parts_are_unambiguous() {
        let a = InputHasher::new().part("ab").part("c").hex(64);
        let b = InputHasher::new().part("a").part("bc").hex(64);
        assert_ne!(a, b);
        assert_eq!(a, InputHasher::new().part("ab").part("c").hex(64));
        assert_eq!(a.len(), 64);
    }

    // 2024-05-01T23:30:00Z
    const T: i64 = 1_714_606_200_000;

    #[test]
    fn utc_partition() {
        assert_eq!(Partition::of(T, Tz::UTC).path(), "dt=2024-05-01/hour=23");
    }

    #[test]
    fn tokyo_partition_crosses_midnight() {
        assert_eq!(Partition::of(T, chrono_tz::Asia::Tokyo).path(), "dt=2024-05-02/hour=08");
    }

    #[test]
    fn half_hour_zone() {
        assert_eq!(Partition::of(T, chrono_tz::Asia::Kolkata).path(), "dt=2024-05-02/hour=05");
    }

    #[test]
    fn out_of_range_time_does_not_panic() {
        assert_eq!(Partition::of(i64::MAX, Tz::UTC).path(), "dt=1970-01-01/hour=00");
    }

    #[test]
    fn partitions_are_read_back_from_keys() {
        let p = Partition { year: 2024, month: 5, day: 1, hour: 7 };
        let key = staging_key(&p, "cloudwatch", "/aws/lambda/f", "abc");
        assert_eq!(partition_of(&key, STAGING_PREFIX).as_deref(), Some("dt=2024-05-01/hour=07"));
        assert_eq!(
            partition_of(&curated_key("dt=2024-05-01/hour=07", 3, 1), CURATED_PREFIX).as_deref(),
            Some("dt=2024-05-01/hour=07")
        );
        assert_eq!(curated_key("dt=2024-05-01/hour=07", 3, 1), "logs/dt=2024-05-01/hour=07/r000003-0001.parquet");
        assert_eq!(partition_of("staging/logs/dt=2024-05-01/a.parquet", STAGING_PREFIX), None);
        assert_eq!(partition_of("logs/dt=2024-05-01/hour=07/x", STAGING_PREFIX), None);
    }
}
