//! How ingest-s3 tells what S3 answers when it reads a log object: through the real aws-sdk-s3
//! client against a loopback server that answers each key with one of S3's documented errors
//! (moto does not refuse what S3 refuses: an SSE-C object read without its key, a deleted
//! object's 403 without ListBucket). What no retry can change is a dead letter; what a retry can
//! is left for SQS to deliver again.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;

use loglake::lake::source::{ObjectSource, S3Source, SourceObject};

/// Answers `GET /<bucket>/<key>` by the key: `(status, S3 error code)`, or the body for `ok`.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let key = request_line.split(' ').nth(1).unwrap_or("").split('?').next().unwrap_or("").to_owned();
            let (status, code) = match key.rsplit('/').next().unwrap_or("") {
                "denied" => (403, "AccessDenied"),
                "kms" => (403, "AccessDenied"),
                "sse-c" => (400, "InvalidRequest"),
                "archived" => (403, "InvalidObjectState"),
                "deleted" => (404, "NoSuchKey"),
                "overwritten" => (412, "PreconditionFailed"),
                "past-the-end" => (416, "InvalidRange"),
                "throttled" => (503, "SlowDown"),
                "broken" => (500, "InternalError"),
                _ => (200, ""),
            };
            let body = if status == 200 {
                "log line\n".to_owned()
            } else {
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} for the test</Message><RequestId>R</RequestId></Error>"
                )
            };
            let kind = if status == 200 { "text/plain" } else { "application/xml" };
            let reason = if status == 200 { "OK" } else { "Error" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nx-amz-request-id: R\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn source(port: u16) -> S3Source {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http_client =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version_latest()
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
        .force_path_style(true)
        // One attempt: what the SDK would retry is the function's retry to report.
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .http_client(http_client)
        .build();
    S3Source::with_client(aws_sdk_s3::Client::from_conf(config))
}

#[tokio::test]
async fn what_s3_answers_is_a_dead_letter_a_retry_or_the_end_of_the_object() {
    let source = source(serve());
    let object = |key: &'static str| SourceObject { bucket: "logs", key, version_id: None, etag: Some("e1") };
    assert_eq!(source.read_range(&object("AWSLogs/ok"), 0..100).await.unwrap(), b"log line\n");
    assert_eq!(source.read_range(&object("AWSLogs/past-the-end"), 100..200).await.unwrap(), b"", "416: nothing more");
    for (key, kind) in [
        ("AWSLogs/denied", "object_unreadable"),
        ("AWSLogs/kms", "object_unreadable"),
        ("AWSLogs/sse-c", "object_unreadable"),
        ("AWSLogs/archived", "object_unreadable"),
        ("AWSLogs/deleted", "object_gone"),
        ("AWSLogs/overwritten", "object_gone"),
        ("AWSLogs/throttled", "source_unavailable"),
        ("AWSLogs/broken", "source_unavailable"),
    ] {
        let error = source.read_range(&object(key), 0..100).await.unwrap_err();
        assert_eq!(error.kind(), kind, "{key}: {error}");
        assert!(error.to_string().contains(key), "the reason names the object: {error}");
    }
}
