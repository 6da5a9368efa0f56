//! Where the lake lives: one small trait, an S3 bucket or a local directory with the same keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `detail` is the SDK error with its whole chain of causes (service code, HTTP status,
    /// connection error), which is what a person debugging a failed write needs.
    #[error("S3 {op} s3://{bucket}/{key} failed: {detail}")]
    S3 { op: &'static str, bucket: String, key: String, detail: String },
    #[error("{op} {} failed: {source}", path.display())]
    Local {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// A conditional write found the object other than expected: another writer got there first.
    #[error("{key} changed since it was read: another writer got there first")]
    Conflict { key: String },
}

/// The version of an object as the store tells it (S3: its ETag; a local lake: a hash of its
/// bytes): what a conditional write compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub String);

/// An object as a listing tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    /// Last modified, ms since the epoch.
    pub modified_ms: i64,
    pub size: u64,
}

/// What a conditional write expects to find.
#[derive(Debug, Clone, Copy)]
pub enum Expected<'a> {
    /// No object has the key (S3: `If-None-Match: *`).
    Absent,
    /// The object is still this version (S3: `If-Match`).
    Version(&'a Version),
}

/// The operations the pipeline needs from a bucket.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Writes the whole object, replacing any object with the same key.
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError>;
    /// Writes the object from a local file without holding it in memory (large curated files).
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError>;
    /// The bytes `range` of the object (S3: a ranged GET), for reading a Parquet footer and a
    /// few column chunks of a large file. The default reads the whole object (test wrappers).
    async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StorageError> {
        let body = self.get(key).await?;
        let end = (range.end as usize).min(body.len());
        Ok(body.get(range.start as usize..end).unwrap_or_default().to_vec())
    }
    /// Every key that starts with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError>;
    /// [`ObjectStore::list`] with each object's last-modified time and size.
    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError>;
    /// Removes the object; removing one that does not exist succeeds (as on S3).
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// The object and its version, or `None` when no object has the key.
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError>;
    /// Writes the object only if it is as `expected` says, in one atomic step against every
    /// other writer; returns the new version, or [`StorageError::Conflict`]. A retried write that
    /// finds its own earlier attempt in place (its response was lost) succeeds.
    async fn put_if(&self, key: &str, body: Vec<u8>, expected: Expected<'_>) -> Result<Version, StorageError>;
}

/// Keys are relative, `/`-separated, without empty, `.` or `..` segments: the same rules make
/// them safe as S3 keys and as paths under the lake directory.
pub fn check_key(key: &str) -> Result<(), StorageError> {
    let reason = if key.is_empty() {
        Some("empty")
    } else if key.contains('\0') || key.contains('\\') {
        Some("contains NUL or backslash")
    } else if key.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        Some("has an empty, '.' or '..' segment")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StorageError::InvalidKey { key: key.chars().take(200).collect(), reason }),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------

/// A local directory standing in for the bucket.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// The keys under `prefix` and their files, sorted by key.
    fn walk(&self, prefix: &str) -> Result<Vec<(String, PathBuf)>, StorageError> {
        let mut keys = Vec::new();
        let mut pending = vec![self.root.clone()];
        while let Some(dir) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(local_err("list", &dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(local_err("list", &dir))?;
                let path = entry.path();
                let file_type = entry.file_type().map_err(local_err("stat", &path))?;
                let Ok(relative) = path.strip_prefix(&self.root) else { continue };
                let key = relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
                if file_type.is_dir() {
                    // Descend only where keys with the prefix can be.
                    let as_prefix = format!("{key}/");
                    if as_prefix.starts_with(prefix) || prefix.starts_with(&as_prefix) {
                        pending.push(path);
                    }
                } else if key.starts_with(prefix) && !key.contains(TEMP_MARKER) {
                    keys.push((key, path));
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

const TEMP_MARKER: &str = ".loglake-tmp-";

/// A file beside `path` for writing it (then renamed over it) or for its lock: hidden (a leading
/// `.`), so that a reader of the directory — pyarrow, DuckDB, Spark, Hive skip hidden files —
/// never takes one left by a killed process for a file of the table; `list` skips them too.
fn temp_path(path: &Path, suffix: &str) -> PathBuf {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    path.with_file_name(format!(".{file_name}{TEMP_MARKER}{suffix}"))
}

fn local_err<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> StorageError + 'p {
    move |source| StorageError::Local { op, path: path.to_owned(), source }
}

#[async_trait]
impl ObjectStore for LocalStore {
    // Plain blocking std::fs calls: the local lake serves one sequential process (the CLI,
    // tests), where handing each call to tokio's blocking pool costs more than the call itself.
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(local_err("create directory", parent))?;
        }
        // Write aside, then rename: a reader never sees half an object, as with S3.
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let temp = temp_path(&path, &format!("{}-{nanos}", std::process::id()));
        std::fs::write(&temp, body).map_err(local_err("write", &temp))?;
        std::fs::rename(&temp, &path).map_err(local_err("rename", &path))?;
        Ok(())
    }

    async fn put_file(&self, key: &str, from: &Path) -> Result<(), StorageError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(local_err("create directory", parent))?;
        }
        let temp = temp_path(&path, &format!("{}-copy", std::process::id()));
        std::fs::copy(from, &temp).map_err(local_err("copy", from))?;
        std::fs::rename(&temp, &path).map_err(local_err("rename", &path))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path(key)?;
        std::fs::read(&path).map_err(local_err("read", &path))
    }

    async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StorageError> {
        use std::io::{Read, Seek};
        let path = self.path(key)?;
        let mut file = std::fs::File::open(&path).map_err(local_err("read", &path))?;
        file.seek(std::io::SeekFrom::Start(range.start)).map_err(local_err("read", &path))?;
        let mut body = Vec::new();
        file.take(range.end.saturating_sub(range.start)).read_to_end(&mut body).map_err(local_err("read", &path))?;
        Ok(body)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        Ok(self.walk(prefix)?.into_iter().map(|(key, _)| key).collect())
    }

    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.walk(prefix)?
            .into_iter()
            .map(|(key, path)| {
                let metadata = std::fs::metadata(&path).map_err(local_err("stat", &path))?;
                let modified = metadata.modified().map_err(local_err("stat", &path))?;
                let modified_ms = modified.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
                Ok(ListedObject { key, modified_ms, size: metadata.len() })
            })
            .collect()
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(local_err("delete", &path)(e)),
            _ => Ok(()),
        }
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        let path = self.path(key)?;
        match std::fs::read(&path) {
            Ok(body) => {
                let version = local_version(&body);
                Ok(Some((body, version)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(local_err("read", &path)(e)),
        }
    }

    async fn put_if(&self, key: &str, body: Vec<u8>, expected: Expected<'_>) -> Result<Version, StorageError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(local_err("create directory", parent))?;
        }
        // Compare and replace under an exclusive lock on a file beside the object, which every
        // process writing this lake takes (the CLI and tests alike).
        let lock_path = temp_path(&path, "lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(local_err("open lock", &lock_path))?;
        lock.lock().map_err(local_err("lock", &lock_path))?;
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(local_version(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(local_err("read", &path)(e)),
        };
        let as_expected = match expected {
            Expected::Absent => current.is_none(),
            Expected::Version(version) => current.as_ref() == Some(version),
        };
        if !as_expected {
            return Err(StorageError::Conflict { key: key.to_owned() });
        }
        let version = local_version(&body);
        self.put(key, body).await?;
        Ok(version)
    }
}

/// A local object's version: a hash of its bytes. (Equal bytes are the same version; the objects
/// written conditionally never return to earlier bytes: the lease carries its holder and expiry,
/// the state its run number.)
fn local_version(body: &[u8]) -> Version {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    Version(digest.iter().take(16).map(|b| format!("{b:02x}")).collect())
}

// ---------------------------------------------------------------------------------------------

/// An S3 bucket through aws-sdk-s3, with the retries and timeouts of the SDK configuration
/// it is made from. The SDK retries a call until its response's headers; a GET whose body then
/// fails (a reset connection, a truncated body) is sent again here, as many times.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    attempts: u32,
    attempt_timeout: Option<Duration>,
}

/// The slowest upload rate an upload's attempt timeout allows for: a curated file of hundreds
/// of MB gets its time to send.
const UPLOAD_BYTES_PER_SEC: u64 = 4 << 20;

/// An S3 client; `force_path_style` addresses buckets as `endpoint/bucket/key`, which local
/// S3-compatible servers (moto, MinIO) need.
pub fn s3_client(sdk_config: &aws_config::SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(force_path_style)
        .retry_partition(retry_partition("s3"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The retry partition of loglake's clients of `service`: without the SDK's retry quota.
///
/// In the SDK's standard mode, every retry draws on a token bucket that the whole process shares
/// per service. Under faults that go on, the bucket drains and is refilled only by calls that
/// succeed at once, and then calls fail at their first fault. For loglake that trade is wrong. A
/// failed call fails the invocation, and the source sends the whole batch again, which costs more
/// requests than the call's own retries would. Measured (RELIABILITY.md) with the query-runner,
/// at 30% faults and four times the CI workload:
/// - with the quota: 111 of 192 invocations failed, and the runner made 4,926 requests;
/// - without it: 5 failed (about the 0.3^5 of calls whose five attempts all fault), with 4,419
///   requests.
///
/// Each call's retries stay bounded by [`AwsClientPolicy`]: 5 attempts, jittered backoff, and
/// the attempt timeout.
pub fn retry_partition(service: &'static str) -> aws_sdk_s3::config::retry::RetryPartition {
    use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
    RetryPartition::custom(format!("loglake-{service}")).token_bucket(TokenBucket::unlimited()).build()
}

/// How every AWS call of loglake retries and gives up, chosen rather than left to the SDK's
/// defaults (3 attempts, and no timeout but the connect one: a stalled S3 call ran until the
/// Lambda deadline, and the source retried the whole invocation).
///
/// Retries use the SDK's standard mode: exponential backoff with full jitter, on throttling
/// (503 SlowDown), 5xx, timeouts and connection errors, without its retry quota
/// ([`retry_partition`]). A call still
/// failing after `max_attempts` fails the invocation, and the source retries it (RELIABILITY.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AwsClientPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles with each retry up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    /// One attempt, until the response's headers. A body that stalls afterwards is stopped by the
    /// SDK's stalled-stream protection (under 1 byte/s for 5 s), and an S3 GET whose body fails
    /// is sent again (see [`S3Store`]).
    pub attempt_timeout: Duration,
}

impl AwsClientPolicy {
    /// The functions' policy. Five attempts span about 15 s of backoff at most (1, 2, 4, 8 s,
    /// jittered): longer than an S3 prefix's usual throttling burst, and within the 60 s of the
    /// shortest-lived function with time to spare for a stalled attempt.
    pub const FUNCTIONS: AwsClientPolicy = AwsClientPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(3),
        attempt_timeout: Duration::from_secs(15),
    };

    fn retry_config(&self) -> aws_config::retry::RetryConfig {
        aws_config::retry::RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    fn timeout_config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .build()
    }
}

/// Loads the AWS configuration the standard way (environment, profile, container and instance
/// credentials; `AWS_ENDPOINT_URL` for a local server) with an HTTPS client on rustls + ring,
/// and the functions' retries and timeouts ([`AwsClientPolicy::FUNCTIONS`]).
pub async fn load_aws_config() -> aws_config::SdkConfig {
    load_aws_config_with(&AwsClientPolicy::FUNCTIONS).await
}

/// [`load_aws_config`] with another policy (tests shorten the waits, not the logic).
pub async fn load_aws_config_with(policy: &AwsClientPolicy) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http_client =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(policy.retry_config())
        .timeout_config(policy.timeout_config())
        .load()
        .await
}

impl S3Store {
    /// `force_path_style` addresses the bucket as `endpoint/bucket/key`, which local
    /// S3-compatible servers (moto, MinIO) need.
    pub fn new(sdk_config: &aws_config::SdkConfig, bucket: impl Into<String>, force_path_style: bool) -> Self {
        S3Store {
            client: s3_client(sdk_config, force_path_style),
            bucket: bucket.into(),
            attempts: sdk_config.retry_config().map_or(1, |r| r.max_attempts()).max(1),
            attempt_timeout: sdk_config.timeout_config().and_then(|t| t.operation_attempt_timeout()),
        }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The object (or `range` of it) and its version, or `None` when no object has the key. A
    /// body that fails midway is read again with a new GET, up to the client's attempts.
    async fn get_object(&self, key: &str, range: Option<String>) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        check_key(key)?;
        let mut attempt = 1;
        loop {
            let request = self.client.get_object().bucket(&self.bucket).key(key).set_range(range.clone());
            let output = match request.send().await {
                Ok(output) => output,
                Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
                Err(error) => return Err(self.err("GetObject", key, error)),
            };
            let version = Version(output.e_tag().unwrap_or_default().to_owned());
            match output.body.collect().await {
                Ok(bytes) => return Ok(Some((bytes.into_bytes().to_vec(), version))),
                Err(error) if attempt < self.attempts => {
                    let error = aws_sdk_s3::error::DisplayErrorContext(&error);
                    tracing::warn!(key, attempt, error = %error, "S3 GET body failed; reading it again");
                    attempt += 1;
                }
                Err(error) => return Err(self.err("GetObject body", key, error)),
            }
        }
    }

    fn err(&self, op: &'static str, key: &str, error: impl std::error::Error) -> StorageError {
        let detail = aws_sdk_s3::error::DisplayErrorContext(error).to_string();
        StorageError::S3 { op, bucket: self.bucket.clone(), key: key.to_owned(), detail }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| self.err("PutObject", key, e))?;
        Ok(())
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        check_key(key)?;
        let body = aws_sdk_s3::primitives::ByteStream::from_path(path).await.map_err(|e| StorageError::Local {
            op: "read",
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        let mut request = self.client.put_object().bucket(&self.bucket).key(key).body(body).customize();
        if let Some(timeout) = self.attempt_timeout {
            let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
            let timeout = timeout + Duration::from_secs_f64(bytes as f64 / UPLOAD_BYTES_PER_SEC as f64);
            let timeouts = aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(timeout).build();
            request = request.config_override(aws_sdk_s3::config::Builder::default().timeout_config(timeouts));
        }
        request.send().await.map_err(|e| self.err("PutObject", key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        match self.get_object(key, None).await? {
            Some((body, _)) => Ok(body),
            None => Err(self.err("GetObject", key, NoSuchKey)),
        }
    }

    async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, StorageError> {
        check_key(key)?;
        if range.is_empty() {
            return Ok(Vec::new());
        }
        // HTTP ranges name the last byte, not the one after it.
        let range = format!("bytes={}-{}", range.start, range.end - 1);
        match self.get_object(key, Some(range)).await? {
            Some((body, _)) => Ok(body),
            None => Err(self.err("GetObject (range)", key, NoSuchKey)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.err("ListObjectsV2", prefix, e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        }
        keys.sort();
        Ok(keys)
    }

    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.err("ListObjectsV2", prefix, e))?;
            for object in page.contents() {
                let modified_ms = object.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(0);
                if let Some(key) = object.key() {
                    let size = object.size().unwrap_or(0).max(0) as u64;
                    keys.push(ListedObject { key: key.to_owned(), modified_ms, size });
                }
            }
        }
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(keys)
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        self.get_object(key, None).await
    }

    async fn put_if(&self, key: &str, body: Vec<u8>, expected: Expected<'_>) -> Result<Version, StorageError> {
        use aws_sdk_s3::error::ProvideErrorMetadata;
        check_key(key)?;
        let request = self.client.put_object().bucket(&self.bucket).key(key).body(body.clone().into());
        let request = match expected {
            Expected::Absent => request.if_none_match("*"),
            Expected::Version(version) => request.if_match(&version.0),
        };
        match request.send().await {
            Ok(output) => Ok(Version(output.e_tag().unwrap_or_default().to_owned())),
            // 412: the condition failed; 409: a concurrent conditional write won; NoSuchKey: the
            // version expected is gone.
            Err(error)
                if matches!(error.code(), Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey")) =>
            {
                // An attempt whose response was lost may have written it, and the SDK's retry
                // then fails the condition against that write: the object is then ours, as
                // written. (Equal bytes from another writer with the same condition would have
                // been the same write.)
                match self.get_object(key, None).await? {
                    Some((current, version)) if current == body => Ok(version),
                    _ => Err(StorageError::Conflict { key: key.to_owned() }),
                }
            }
            Err(error) => Err(self.err("PutObject", key, error)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.err("DeleteObject", key, e))?;
        Ok(())
    }
}

/// What a GET of an absent object fails with.
#[derive(Debug, thiserror::Error)]
#[error("NoSuchKey: no object has the key")]
struct NoSuchKey;

// ---------------------------------------------------------------------------------------------

/// Fault injection for tests and drills: a store whose writes (puts and deletes) fail after
/// `allowed` successful ones, the way S3 throttling or an outage — or a crash — stops them.
/// Successful writes really land in the inner store, and the keys written are kept in order.
pub struct FailAfter<S> {
    inner: S,
    allowed: usize,
    written: std::sync::Mutex<Vec<String>>,
}

impl<S: ObjectStore> FailAfter<S> {
    pub fn new(inner: S, allowed: usize) -> Self {
        FailAfter { inner, allowed, written: std::sync::Mutex::new(Vec::new()) }
    }

    /// The keys written so far, in order.
    pub fn written(&self) -> Vec<String> {
        self.written.lock().map(|keys| keys.clone()).unwrap_or_default()
    }

    /// Counts one write, or refuses it once `allowed` were made.
    fn allow(&self, key: &str) -> Result<(), StorageError> {
        let attempt = {
            let mut written = self.written.lock().map_err(|_| injected(key))?;
            if written.len() >= self.allowed {
                return Err(injected(key));
            }
            written.push(key.to_owned());
            written.len()
        };
        tracing::debug!(attempt, key, "write allowed by FailAfter");
        Ok(())
    }
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for FailAfter<S> {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StorageError> {
        self.allow(key)?;
        self.inner.put(key, body).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        self.allow(key)?;
        self.inner.put_file(key, path).await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        self.inner.list(prefix).await
    }
    async fn list_objects(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.inner.list_objects(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.allow(&format!("delete {key}"))?;
        self.inner.delete(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StorageError> {
        self.inner.get_versioned(key).await
    }
    async fn put_if(&self, key: &str, body: Vec<u8>, expected: Expected<'_>) -> Result<Version, StorageError> {
        self.allow(key)?;
        self.inner.put_if(key, body, expected).await
    }
}

fn injected(key: &str) -> StorageError {
    StorageError::S3 { op: "PutObject", bucket: "lake".into(), key: key.into(), detail: "SlowDown (injected)".into() }
}

#[cfg(test)]
mod tests {
    /// Found by the kill loop of `loglake rollup` (cli/tests/kill.rs): a process killed between
    /// writing a summary's temporary file and renaming it left
    /// `part-00000.parquet.loglake-tmp-…` beside the summaries, and pyarrow, reading the
    /// directory as a dataset, failed on it. Hidden, it is skipped.
    #[test]
    fn a_temporary_file_is_hidden_from_readers_of_the_directory() {
        for suffix in ["123-456", "123-copy", "lock"] {
            let temp = super::temp_path(std::path::Path::new("lake/summaries/q/part-00000.parquet"), suffix);
            let name = temp.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with(".part-00000.parquet.loglake-tmp-"), "{name}");
            assert_eq!(temp.parent(), Some(std::path::Path::new("lake/summaries/q")));
        }
    }

    use super::*;

    /// Of several processes creating the same object at once (each its own store, as the CLI and
    /// a test would be), exactly one succeeds; each later replace of the version read wins once.
    #[test]
    fn a_local_conditional_write_has_one_winner_among_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let key = "_loglake/compaction/lease.json";
        let attempt = |expected: Option<Version>, body: String| {
            let lake = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                let store = LocalStore::new(&lake);
                let expected = match &expected {
                    Some(version) => Expected::Version(version),
                    None => Expected::Absent,
                };
                runtime.block_on(store.put_if(key, body.into_bytes(), expected))
            })
        };
        let created: Vec<_> = (0..8).map(|i| attempt(None, format!("writer {i}"))).collect();
        let created: Vec<_> = created.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(created.iter().filter(|r| r.is_ok()).count(), 1, "{created:?}");
        assert!(created.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, StorageError::Conflict { .. })));

        let read = created.into_iter().find_map(Result::ok).unwrap();
        let replaced: Vec<_> = (0..8).map(|i| attempt(Some(read.clone()), format!("replacer {i}"))).collect();
        let replaced: Vec<_> = replaced.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(replaced.iter().filter(|r| r.is_ok()).count(), 1, "{replaced:?}");
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (body, version) = runtime.block_on(LocalStore::new(dir.path()).get_versioned(key)).unwrap().unwrap();
        assert!(String::from_utf8(body).unwrap().starts_with("replacer "));
        assert_eq!(Some(&version), replaced.iter().find_map(|r| r.as_ref().ok()));
    }

    #[tokio::test]
    async fn local_store_round_trips_and_lists_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        store.put("staging/logs/dt=2024-05-01/hour=01/a.parquet", b"one".to_vec()).await.unwrap();
        store.put("staging/logs/dt=2024-05-01/hour=02/b.parquet", b"two".to_vec()).await.unwrap();
        store.put("errors/cloudwatch/c.json", b"three".to_vec()).await.unwrap();
        store.put("errors/cloudwatch/c.json", b"three again".to_vec()).await.unwrap();
        assert_eq!(store.get("errors/cloudwatch/c.json").await.unwrap(), b"three again");
        assert_eq!(
            store.list("staging/").await.unwrap(),
            ["staging/logs/dt=2024-05-01/hour=01/a.parquet", "staging/logs/dt=2024-05-01/hour=02/b.parquet"]
        );
        assert_eq!(store.list("staging/logs/dt=2024-05-01/hour=02").await.unwrap().len(), 1);
        assert_eq!(store.list("").await.unwrap().len(), 3);
        assert!(store.list("nothing/").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn local_store_refuses_keys_that_escape_the_lake() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("lake"));
        for key in ["../outside", "a/../../b", "/etc/passwd", "a//b", "", "a\\b"] {
            let err = store.put(key, b"x".to_vec()).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidKey { .. }), "{key}: {err}");
        }
        assert!(!dir.path().join("outside").exists());
    }

    #[tokio::test]
    async fn local_store_get_of_a_missing_key_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = LocalStore::new(dir.path()).get("missing/key").await.unwrap_err();
        assert!(err.to_string().contains("missing/key"), "{err}");
    }
}
