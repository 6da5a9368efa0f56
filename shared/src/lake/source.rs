//! The objects of other buckets that ingest-s3 reads (the logs AWS services deliver to S3), in
//! byte ranges, pinned to the content that was notified: an S3 bucket through the SDK, or a
//! local directory standing in for every bucket (`<dir>/<key>`, the bucket name ignored).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata as _;

use crate::lake::storage::{check_key, s3_client};

/// One object as a notification names it.
#[derive(Debug, Clone, Copy)]
pub struct SourceObject<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// Read this version (a versioned bucket): immutable, even after an overwrite.
    pub version_id: Option<&'a str>,
    /// Else read only while the object still has this ETag (`If-Match`).
    pub etag: Option<&'a str>,
}

/// Why an object could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    /// The object as notified is not there any more: deleted, or overwritten since (its ETag
    /// changed; the new content has its own notification).
    #[error("s3://{bucket}/{key} is gone: {detail}")]
    Gone { bucket: String, key: String, detail: String },
    /// The function may not read it (access denied, a KMS key it may not use, a customer-provided
    /// key, an archived storage class): no retry changes that.
    #[error("s3://{bucket}/{key} cannot be read: {detail}")]
    Unreadable { bucket: String, key: String, detail: String },
    /// Throttling, a server error, the network: a retry may succeed.
    #[error("reading s3://{bucket}/{key} failed: {detail}")]
    Retryable { bucket: String, key: String, detail: String },
}

impl SourceError {
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Gone { .. } => "object_gone",
            SourceError::Unreadable { .. } => "object_unreadable",
            SourceError::Retryable { .. } => "source_unavailable",
        }
    }
}

/// Where ingest-s3 reads objects from.
#[async_trait]
pub trait ObjectSource: Send + Sync {
    /// The bytes `range` of the object: fewer at its end, none past it.
    async fn read_range(&self, object: &SourceObject<'_>, range: Range<u64>) -> Result<Vec<u8>, SourceError>;
}

/// Objects of any bucket the function's role may read.
pub struct S3Source {
    client: aws_sdk_s3::Client,
}

impl S3Source {
    pub fn new(sdk_config: &aws_config::SdkConfig, force_path_style: bool) -> Self {
        S3Source { client: s3_client(sdk_config, force_path_style) }
    }

    /// A source reading through this client (the lake's own, or one pointed at a test server).
    pub fn with_client(client: aws_sdk_s3::Client) -> Self {
        S3Source { client }
    }
}

#[async_trait]
impl ObjectSource for S3Source {
    async fn read_range(&self, object: &SourceObject<'_>, range: Range<u64>) -> Result<Vec<u8>, SourceError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = self
            .client
            .get_object()
            .bucket(object.bucket)
            .key(object.key)
            // HTTP ranges name the last byte, not the one after it.
            .range(format!("bytes={}-{}", range.start, range.end - 1));
        request = match (object.version_id, object.etag) {
            (Some(version), _) => request.version_id(version),
            (None, Some(etag)) => request.if_match(format!("\"{etag}\"")),
            (None, None) => request,
        };
        let fail = |detail: String| (object.bucket.to_owned(), object.key.to_owned(), detail);
        let output = match request.send().await {
            Ok(output) => output,
            Err(error) => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let code = error.code().unwrap_or_default().to_owned();
                let (bucket, key, detail) = fail(aws_sdk_s3::error::DisplayErrorContext(&error).to_string());
                return match (status, code.as_str()) {
                    (_, "RequestTimeout" | "SlowDown" | "InternalError" | "ServiceUnavailable") => {
                        Err(SourceError::Retryable { bucket, key, detail })
                    }
                    // A range that starts at the end of the object: nothing more to read.
                    (Some(416), _) | (_, "InvalidRange") => Ok(Vec::new()),
                    (Some(404 | 412), _) | (_, "NoSuchKey" | "NoSuchVersion" | "PreconditionFailed") => {
                        Err(SourceError::Gone { bucket, key, detail })
                    }
                    (Some(400 | 403), _) | (_, "AccessDenied" | "InvalidObjectState" | "InvalidRequest") => {
                        Err(SourceError::Unreadable { bucket, key, detail })
                    }
                    _ => Err(SourceError::Retryable { bucket, key, detail }),
                };
            }
        };
        match output.body.collect().await {
            Ok(bytes) => Ok(bytes.into_bytes().to_vec()),
            Err(error) => {
                let (bucket, key, detail) = fail(aws_sdk_s3::error::DisplayErrorContext(&error).to_string());
                Err(SourceError::Retryable { bucket, key, detail })
            }
        }
    }
}

/// A directory standing in for every bucket: `<root>/<key>`, the bucket name ignored (the
/// `loglake invoke ingest-s3 --source DIR` of the local lake). Version and ETag are not checked.
pub struct LocalSource {
    root: PathBuf,
}

impl LocalSource {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalSource { root: root.into() }
    }
}

#[async_trait]
impl ObjectSource for LocalSource {
    async fn read_range(&self, object: &SourceObject<'_>, range: Range<u64>) -> Result<Vec<u8>, SourceError> {
        let error = |detail: String| (object.bucket.to_owned(), object.key.to_owned(), detail);
        if let Err(refused) = check_key(object.key) {
            let (bucket, key, detail) = error(refused.to_string());
            return Err(SourceError::Unreadable { bucket, key, detail });
        }
        let path = self.root.join(object.key);
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (bucket, key, detail) = error(format!("{} does not exist", path.display()));
                return Err(SourceError::Gone { bucket, key, detail });
            }
            Err(e) => {
                let (bucket, key, detail) = error(format!("{}: {e}", path.display()));
                return Err(SourceError::Unreadable { bucket, key, detail });
            }
        };
        let mut out = Vec::new();
        let read = file
            .seek(SeekFrom::Start(range.start))
            .and_then(|_| file.take(range.end.saturating_sub(range.start)).read_to_end(&mut out));
        match read {
            Ok(_) => Ok(out),
            Err(e) => {
                let (bucket, key, detail) = error(format!("{}: {e}", path.display()));
                Err(SourceError::Retryable { bucket, key, detail })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_source_reads_ranges_and_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/log.txt"), b"0123456789").unwrap();
        let source = LocalSource::new(dir.path());
        let object = SourceObject { bucket: "any", key: "a/b/log.txt", version_id: None, etag: None };
        assert_eq!(source.read_range(&object, 2..5).await.unwrap(), b"234");
        assert_eq!(source.read_range(&object, 8..20).await.unwrap(), b"89");
        assert_eq!(source.read_range(&object, 20..30).await.unwrap(), b"");
        let missing = SourceObject { key: "a/none", ..object };
        assert_eq!(source.read_range(&missing, 0..5).await.unwrap_err().kind(), "object_gone");
        let escaping = SourceObject { key: "../etc/passwd", ..object };
        assert_eq!(source.read_range(&escaping, 0..5).await.unwrap_err().kind(), "object_unreadable");
    }
}
