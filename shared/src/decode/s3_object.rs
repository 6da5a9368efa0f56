//! Log objects AWS services deliver to S3: which log an object holds, told by its key layout,
//! and its text — gzip or plain — decoded as a stream into chunks of whole lines, each bounded.
//!
//! Key layouts (the AWS documentation of each service):
//!
//! | key | log |
//! |---|---|
//! | `[prefix/]AWSLogs/[o-org/]<account>/elasticloadbalancing/<region>/YYYY/MM/DD/…log.gz` | ALB, NLB, Classic ELB |
//! | `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail[-Insight]/<region>/YYYY/MM/DD/…json.gz` | CloudTrail (`{"Records":[…]}` documents) |
//! | `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail-Digest/…` | CloudTrail digests: not logs, skipped |
//! | `[prefix/]AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/…log.gz` (also `aws-account-id=…/` Hive form) | VPC / Transit Gateway flow logs, header line first |
//! | `[prefix/]AWSLogs/<account>/<other service>/<region>/…` (WAFLogs, network-firewall …) | lines, each detected |
//! | `[prefix/]<distribution id>.YYYY-MM-DD-HH.<unique>.gz` | CloudFront standard logs |
//! | `[prefix/]YYYY-MM-DD-HH-MM-SS-<unique>` | S3 server access logs |
//!
//! Any other key: the object's lines are read if its first line is a format loglake knows
//! (decided by the ingest path, which can parse), and refused otherwise.
//!
//! Pure over bytes: the reading of ranges is the ingest path's.

use std::io::Write as _;

/// What an object holds, as its key tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectLogKind {
    LoadBalancer,
    CloudTrail,
    /// CloudTrail digest files: hashes of log files, not logs.
    CloudTrailDigest,
    VpcFlow,
    CloudFront,
    S3Access,
    /// An `AWSLogs/` layout of another service (WAF, Network Firewall …): lines, each detected.
    AwsLogsOther,
    /// A key of no known layout.
    Unknown,
}

impl ObjectLogKind {
    /// Whether a line may be a header naming the fields of the lines after it (flow logs,
    /// CloudFront's `#Fields`); load balancer, CloudTrail and S3 access logs have none.
    pub fn may_have_header_lines(self) -> bool {
        !matches!(self, ObjectLogKind::LoadBalancer | ObjectLogKind::CloudTrail | ObjectLogKind::S3Access)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectLogKind::LoadBalancer => "elb",
            ObjectLogKind::CloudTrail => "cloudtrail",
            ObjectLogKind::CloudTrailDigest => "cloudtrail_digest",
            ObjectLogKind::VpcFlow => "vpc_flow",
            ObjectLogKind::CloudFront => "cloudfront",
            ObjectLogKind::S3Access => "s3_access",
            ObjectLogKind::AwsLogsOther => "aws_logs",
            ObjectLogKind::Unknown => "unknown",
        }
    }
}

/// What a key says about its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout<'k> {
    pub kind: ObjectLogKind,
    pub account_id: Option<&'k str>,
    pub region: Option<&'k str>,
    /// The part of the key that names where the log comes from, without dates and file name
    /// (`AWSLogs/1234/elasticloadbalancing/eu-west-1`, `cf-logs/E2EXAMPLE`): the `log_group`.
    pub origin: &'k str,
}

/// Reads a key's layout. Never fails: a key of no known layout is [`ObjectLogKind::Unknown`].
pub fn key_layout(key: &str) -> KeyLayout<'_> {
    if let Some(layout) = aws_logs_layout(key) {
        return layout;
    }
    let (directory, file) = key.rsplit_once('/').map_or(("", key), |(d, f)| (d, f));
    if let Some(distribution) = cloudfront_distribution(file) {
        // The origin is `<directory>/<distribution id>`: a slice of the key when there is a directory.
        let end = key.len() - file.len() + distribution.len();
        return KeyLayout { kind: ObjectLogKind::CloudFront, account_id: None, region: None, origin: &key[..end] };
    }
    let undated = undated_prefix(directory);
    if is_s3_access_log_name(file) {
        return KeyLayout { kind: ObjectLogKind::S3Access, account_id: None, region: None, origin: undated };
    }
    KeyLayout { kind: ObjectLogKind::Unknown, account_id: None, region: None, origin: undated }
}

/// `…AWSLogs/[o-org/]<account>/<service>/<region>/…`, also in the Hive form
/// (`aws-account-id=<account>/aws-service=<service>/aws-region=<region>/`).
fn aws_logs_layout(key: &str) -> Option<KeyLayout<'_>> {
    let start = if key.starts_with("AWSLogs/") { 0 } else { key.find("/AWSLogs/")? + 1 };
    let rest_at = start + "AWSLogs/".len();
    let mut segments = key[rest_at..].split('/');
    let mut account = segments.next()?;
    let mut consumed = account.len() + 1;
    if account.starts_with("o-") {
        account = segments.next()?;
        consumed += account.len() + 1;
    }
    let service = segments.next()?;
    let region = segments.next()?;
    // The region is followed by at least a file name.
    segments.next()?;
    consumed += service.len() + 1 + region.len();
    let value = |segment: &'static str, text: &str| -> String { text.strip_prefix(segment).unwrap_or(text).to_owned() };
    let account_id = account.strip_prefix("aws-account-id=").unwrap_or(account);
    let service_name = value("aws-service=", service);
    let region_name = region.strip_prefix("aws-region=").unwrap_or(region);
    if !(account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let kind = match service_name.as_str() {
        "elasticloadbalancing" => ObjectLogKind::LoadBalancer,
        "CloudTrail" | "CloudTrail-Insight" => ObjectLogKind::CloudTrail,
        "CloudTrail-Digest" => ObjectLogKind::CloudTrailDigest,
        "vpcflowlogs" => ObjectLogKind::VpcFlow,
        _ => ObjectLogKind::AwsLogsOther,
    };
    Some(KeyLayout {
        kind,
        account_id: Some(account_id),
        region: Some(region_name),
        origin: &key[..rest_at + consumed],
    })
}

/// `E2EXAMPLE.2026-11-20-10.a1b2c3d4.gz` → `E2EXAMPLE`.
fn cloudfront_distribution(file: &str) -> Option<&str> {
    let mut parts = file.split('.');
    let distribution = parts.next()?;
    let hour = parts.next()?;
    let unique = parts.next()?;
    let hour_shape = hour.len() == 13
        && hour.bytes().enumerate().all(|(i, b)| if matches!(i, 4 | 7 | 10) { b == b'-' } else { b.is_ascii_digit() });
    let id_shape = !distribution.is_empty() && distribution.bytes().all(|b| b.is_ascii_alphanumeric());
    (hour_shape && id_shape && !unique.is_empty()).then_some(distribution)
}

/// `2026-11-20-10-05-00-0123456789ABCDEF`
fn is_s3_access_log_name(file: &str) -> bool {
    let b = file.as_bytes();
    b.len() > 20
        && b[..19]
            .iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 4 | 7 | 10 | 13 | 16) { *c == b'-' } else { c.is_ascii_digit() })
        && b[19] == b'-'
}

/// The directory up to its first dated segment (`2026`, `year=2026`, `2026-11-20`).
fn undated_prefix(directory: &str) -> &str {
    let mut end = 0;
    for segment in directory.split('/') {
        let bare = segment.strip_prefix("year=").unwrap_or(segment).as_bytes();
        let year = bare.len() >= 4 && bare[..4].iter().all(u8::is_ascii_digit);
        if year && (bare.len() == 4 || bare[4] == b'-') {
            break;
        }
        end += segment.len() + 1;
    }
    directory.get(..end.saturating_sub(1)).unwrap_or(directory)
}

/// Bounds on what one object may cost, derived from the function's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLimits {
    /// Decoded bytes per chunk: a chunk's lines are parsed, encoded and written before the next
    /// is decoded.
    pub chunk_bytes: usize,
    /// The longest line (a CloudTrail file is one line: its document) held whole.
    pub max_line_bytes: usize,
    /// Decoded bytes per object; past it the rest of the object is a dead letter.
    pub max_object_bytes: u64,
    /// Lines per object; past it the rest of the object is a dead letter.
    pub max_object_lines: u64,
}

impl ObjectLimits {
    /// Chunks of 1/32 of the memory (8 MiB at 256 MB), lines up to a quarter of it, objects up to
    /// 16 times it decoded (4 GiB at 256 MB: a few minutes of work) and a line per 32 bytes of that.
    pub fn for_memory_mb(memory_mb: u64) -> ObjectLimits {
        let memory = memory_mb.max(128) * 1024 * 1024;
        ObjectLimits {
            chunk_bytes: (memory / 32) as usize,
            max_line_bytes: (memory / 4) as usize,
            max_object_bytes: memory * 16,
            max_object_lines: memory * 16 / 32,
        }
    }
}

/// Why an object's text stopped being read. Lines before the reported line were read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ObjectTextError {
    #[error("gzip data is corrupt after {decoded_bytes} decoded bytes: {reason}")]
    CorruptGzip { decoded_bytes: u64, reason: String },
    #[error("gzip data ends before its end (truncated object) after {decoded_bytes} decoded bytes")]
    TruncatedGzip { decoded_bytes: u64 },
    #[error("line {line} is not UTF-8 text (byte {offset} of the line)")]
    NotText { line: u64, offset: usize },
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong { line: u64, limit: usize },
    #[error("the object decodes to more than {limit} bytes (line {line})")]
    ObjectTooLarge { line: u64, limit: u64 },
    #[error("the object has more than {limit} lines")]
    TooManyLines { line: u64, limit: u64 },
}

impl ObjectTextError {
    pub fn kind(&self) -> &'static str {
        match self {
            ObjectTextError::CorruptGzip { .. } => "corrupt_gzip",
            ObjectTextError::TruncatedGzip { .. } => "truncated_gzip",
            ObjectTextError::NotText { .. } => "not_text",
            ObjectTextError::LineTooLong { .. } => "line_too_long",
            ObjectTextError::ObjectTooLarge { .. } | ObjectTextError::TooManyLines { .. } => "too_large",
        }
    }
}

/// Whole lines of an object: `text` holds lines `first_line ..` (0-based), each with its `\n`
/// (the last line of an object may have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub first_line: u64,
    /// Decoded bytes of the object before this chunk.
    pub offset: u64,
    pub text: String,
}

/// Most bytes one [`ObjectText::feed`] takes: what it adds to the pending text stays small even
/// for input that inflates a thousandfold.
const FEED_BYTES: usize = 16 * 1024;

/// An object's bytes, fed in order, as chunks of whole lines. Chunks are cut at the first line
/// end at or after `chunk_bytes` into the chunk, so where they fall depends on the text alone,
/// not on how the bytes were fed: the same object always gives the same chunks.
pub struct ObjectText {
    gzip: Option<flate2::write::MultiGzDecoder<Vec<u8>>>,
    plain: Vec<u8>,
    limits: ObjectLimits,
    /// Decoded bytes handed out as chunks (or skipped) so far.
    taken_bytes: u64,
    taken_lines: u64,
    /// Decoded bytes to drop before the first chunk: a continuation's work already done.
    skip_bytes: u64,
    ended: bool,
    failed: Option<ObjectTextError>,
}

impl ObjectText {
    /// `gzip` from the object's first bytes ([`is_gzip`]).
    pub fn new(gzip: bool, limits: ObjectLimits) -> ObjectText {
        ObjectText {
            gzip: gzip.then(|| flate2::write::MultiGzDecoder::new(Vec::new())),
            plain: Vec::new(),
            limits,
            taken_bytes: 0,
            taken_lines: 0,
            skip_bytes: 0,
            ended: false,
            failed: None,
        }
    }

    /// Continues after `lines` lines and `bytes` decoded bytes that an earlier invocation wrote:
    /// decoded bytes up to there are dropped (for a plain object, the caller reads from `bytes`
    /// and feeds only what follows: then `skip` is false).
    pub fn resume_at(&mut self, lines: u64, bytes: u64, skip: bool) {
        self.taken_lines = lines;
        self.taken_bytes = bytes;
        self.skip_bytes = if skip { bytes } else { 0 };
    }

    fn pending(&mut self) -> &mut Vec<u8> {
        match &mut self.gzip {
            Some(decoder) => decoder.get_mut(),
            None => &mut self.plain,
        }
    }

    /// Feeds the next bytes of the object; returns how many it took (at least one, unless
    /// `input` is empty or reading has failed). Call [`ObjectText::next_chunk`] after each feed.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        if input.is_empty() || self.failed.is_some() {
            return 0;
        }
        let input = &input[..input.len().min(FEED_BYTES)];
        let used = match &mut self.gzip {
            None => {
                self.plain.extend_from_slice(input);
                input.len()
            }
            Some(decoder) => match decoder.write(input) {
                Ok(used) => used,
                Err(error) => {
                    let decoded_bytes = self.taken_bytes + decoder.get_ref().len() as u64;
                    self.failed = Some(ObjectTextError::CorruptGzip { decoded_bytes, reason: error.to_string() });
                    0
                }
            },
        };
        self.drop_skipped();
        used
    }

    /// Declares the end of the object's bytes: a gzip stream must be complete.
    pub fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        if self.failed.is_none()
            && let Some(decoder) = &mut self.gzip
            && let Err(error) = decoder.try_finish()
        {
            let decoded_bytes = self.taken_bytes + decoder.get_ref().len() as u64;
            self.failed = Some(
                if error.kind() == std::io::ErrorKind::UnexpectedEof || error.kind() == std::io::ErrorKind::InvalidInput
                {
                    ObjectTextError::TruncatedGzip { decoded_bytes }
                } else {
                    ObjectTextError::CorruptGzip { decoded_bytes, reason: error.to_string() }
                },
            );
        }
        self.drop_skipped();
    }

    fn drop_skipped(&mut self) {
        if self.skip_bytes == 0 {
            return;
        }
        let drop = (self.skip_bytes as usize).min(self.pending().len());
        self.pending().drain(..drop);
        self.skip_bytes -= drop as u64;
    }

    /// The next chunk of whole lines, when one is complete; after [`ObjectText::end`], the rest.
    /// An error ends the object: lines before it were handed out in chunks.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, ObjectTextError> {
        if self.skip_bytes > 0 && !self.ended {
            return Ok(None);
        }
        let limits = self.limits;
        let ended = self.ended;
        let failed = self.failed.clone();
        let pending = self.pending();
        // Every line of a chunk but its last is shorter than this, so only the last needs the
        // line bound checked below.
        let chunk_bytes = limits.chunk_bytes.min(limits.max_line_bytes).max(1);
        let cut =
            if pending.len() >= chunk_bytes { memchr_from(pending, chunk_bytes - 1).map(|nl| nl + 1) } else { None };
        let cut = match cut {
            Some(cut) => Some(cut),
            // The last complete lines before a failure, or everything at the end.
            None if failed.is_some() => pending.iter().rposition(|&b| b == b'\n').map(|nl| nl + 1),
            None if ended => (!pending.is_empty()).then_some(pending.len()),
            None => {
                // A line still open: refuse it once it is too long, after the lines before it.
                let open_from = pending.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
                if pending.len() - open_from > limits.max_line_bytes {
                    if open_from > 0 {
                        Some(open_from)
                    } else {
                        let line = self.taken_lines;
                        return Err(self.fail(ObjectTextError::LineTooLong { line, limit: limits.max_line_bytes }));
                    }
                } else {
                    None
                }
            }
        };
        let Some(mut cut) = cut else {
            return match failed {
                // An open line already past the bound before the failure is that error, as it
                // was when smaller reads showed it before the failure came.
                Some(_) if pending.len() > limits.max_line_bytes => {
                    let line = self.taken_lines;
                    Err(self.fail(ObjectTextError::LineTooLong { line, limit: limits.max_line_bytes }))
                }
                Some(error) => Err(error),
                None => Ok(None),
            };
        };
        // The chunk's last line, complete now, is refused as an open one would be had it come
        // in smaller reads: first the lines before it, then the error. How the bytes were fed
        // never changes the outcome.
        let body = pending[..cut].strip_suffix(b"\n").unwrap_or(&pending[..cut]);
        let last_from = body.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
        if body.len() - last_from > limits.max_line_bytes {
            if last_from == 0 {
                let line = self.taken_lines;
                return Err(self.fail(ObjectTextError::LineTooLong { line, limit: limits.max_line_bytes }));
            }
            cut = last_from;
        }
        let pending = self.pending();
        let bytes: Vec<u8> = pending.drain(..cut).collect();
        let chunk_start_line = self.taken_lines;
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(bytes.last() != Some(&b'\n'));
        // Bounds on the whole object: the chunk that crosses one is refused whole.
        if self.taken_bytes + bytes.len() as u64 > limits.max_object_bytes {
            return Err(
                self.fail(ObjectTextError::ObjectTooLarge { line: chunk_start_line, limit: limits.max_object_bytes })
            );
        }
        if chunk_start_line + lines > limits.max_object_lines {
            return Err(
                self.fail(ObjectTextError::TooManyLines { line: chunk_start_line, limit: limits.max_object_lines })
            );
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
                let line = chunk_start_line + valid.iter().filter(|&&b| b == b'\n').count() as u64;
                let offset = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
                return Err(self.fail(ObjectTextError::NotText { line, offset }));
            }
        };
        let chunk = Chunk { first_line: chunk_start_line, offset: self.taken_bytes, text };
        self.taken_bytes += chunk.text.len() as u64;
        self.taken_lines += lines;
        Ok(Some(chunk))
    }

    fn fail(&mut self, error: ObjectTextError) -> ObjectTextError {
        self.failed = Some(error.clone());
        // Nothing after a failure is handed out.
        self.pending().clear();
        error
    }

    pub fn is_gzip(&self) -> bool {
        self.gzip.is_some()
    }

    /// Lines and decoded bytes handed out so far: where a continuation resumes.
    pub fn position(&self) -> (u64, u64) {
        (self.taken_lines, self.taken_bytes)
    }
}

fn memchr_from(bytes: &[u8], from: usize) -> Option<usize> {
    bytes.get(from..)?.iter().position(|&b| b == b'\n').map(|i| i + from)
}

/// Whether an object's first bytes are gzip.
pub fn is_gzip(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(&[0x1f, 0x8b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layouts_of_the_aws_documentation() {
        let cases = [
            (
                "AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/11/20/123456789012_elasticloadbalancing_us-east-2_app.my-lb.1234_20261120T1005Z_10.0.0.1_abc.log.gz",
                ObjectLogKind::LoadBalancer,
                "AWSLogs/123456789012/elasticloadbalancing/us-east-2",
            ),
            (
                "trail/AWSLogs/o-abc123/123456789012/CloudTrail/eu-west-1/2026/11/20/123456789012_CloudTrail_eu-west-1_20261120T1005Z_x.json.gz",
                ObjectLogKind::CloudTrail,
                "trail/AWSLogs/o-abc123/123456789012/CloudTrail/eu-west-1",
            ),
            (
                "AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2026/11/20/x.json.gz",
                ObjectLogKind::CloudTrailDigest,
                "AWSLogs/123456789012/CloudTrail-Digest/eu-west-1",
            ),
            (
                "flows/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=20/x.log.gz",
                ObjectLogKind::VpcFlow,
                "flows/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1",
            ),
            (
                "AWSLogs/123456789012/WAFLogs/us-east-1/acl/2026/11/20/10/05/x.log.gz",
                ObjectLogKind::AwsLogsOther,
                "AWSLogs/123456789012/WAFLogs/us-east-1",
            ),
            ("cf/E2EXAMPLE.2026-11-20-10.a1b2c3d4.gz", ObjectLogKind::CloudFront, "cf/E2EXAMPLE"),
            ("E2EXAMPLE.2026-11-20-10.a1b2c3d4.gz", ObjectLogKind::CloudFront, "E2EXAMPLE"),
            ("access/2026-11-20-10-05-00-0123456789ABCDEF", ObjectLogKind::S3Access, "access"),
            (
                "access/123456789012/us-east-1/bucket/2026/11/20/2026-11-20-10-05-00-0123456789ABCDEF",
                ObjectLogKind::S3Access,
                "access/123456789012/us-east-1/bucket",
            ),
            (
                "firehose/waf/2026/11/20/10/aws-waf-logs-x-1-2026-11-20-10-05-00-abc",
                ObjectLogKind::Unknown,
                "firehose/waf",
            ),
            ("notes.txt", ObjectLogKind::Unknown, ""),
            // Not an account id: no AWSLogs layout.
            (
                "AWSLogs/abc/elasticloadbalancing/us-east-1/x.log",
                ObjectLogKind::Unknown,
                "AWSLogs/abc/elasticloadbalancing/us-east-1",
            ),
        ];
        for (key, kind, origin) in cases {
            let layout = key_layout(key);
            assert_eq!((layout.kind, layout.origin), (kind, origin), "{key}");
        }
        let alb = key_layout(cases[0].0);
        assert_eq!((alb.account_id, alb.region), (Some("123456789012"), Some("us-east-2")));
        let hive = key_layout(cases[3].0);
        assert_eq!((hive.account_id, hive.region), (Some("123456789012"), Some("us-east-1")));
    }

    fn limits(chunk_bytes: usize, max_line_bytes: usize) -> ObjectLimits {
        ObjectLimits { chunk_bytes, max_line_bytes, max_object_bytes: 1 << 40, max_object_lines: 1 << 40 }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Feeds `object` in pieces of `piece` bytes; returns the chunks and the error, if any.
    fn read_all(object: &[u8], limits: ObjectLimits, piece: usize) -> (Vec<Chunk>, Option<ObjectTextError>) {
        let mut text = ObjectText::new(is_gzip(object), limits);
        let mut chunks = Vec::new();
        let drain = |text: &mut ObjectText, chunks: &mut Vec<Chunk>| -> Option<ObjectTextError> {
            loop {
                match text.next_chunk() {
                    Ok(Some(chunk)) => chunks.push(chunk),
                    Ok(None) => return None,
                    Err(error) => return Some(error),
                }
            }
        };
        for mut piece in object.chunks(piece) {
            while !piece.is_empty() {
                let used = text.feed(piece);
                if let Some(error) = drain(&mut text, &mut chunks) {
                    return (chunks, Some(error));
                }
                if used == 0 {
                    break;
                }
                piece = &piece[used..];
            }
        }
        text.end();
        let error = drain(&mut text, &mut chunks);
        (chunks, error)
    }

    fn lines_text(n: usize) -> String {
        (0..n).map(|i| format!("line {i} {}\n", "x".repeat(i % 37))).collect()
    }

    #[test]
    fn a_long_line_that_arrives_whole_is_refused_as_one_read_in_pieces_is() {
        // Found by the s3_object fuzz target: fed at once, the long line and its newline were in
        // one chunk, so the line bound was never checked (the chunk was taken, or the object
        // refused as too large), while fed in pieces the same object was `line_too_long`.
        let object = format!("ab\n{}\nc\n", "x".repeat(40));
        let expected = Some(ObjectTextError::LineTooLong { line: 1, limit: 16 });
        for piece in [1, 5, object.len()] {
            for gzipped in [false, true] {
                let bytes = if gzipped { gzip(object.as_bytes()) } else { object.clone().into_bytes() };
                let (chunks, error) = read_all(&bytes, limits(8, 16), piece);
                let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
                assert_eq!((texts, &error), (vec!["ab\n"], &expected), "pieces of {piece}, gzip {gzipped}");
            }
        }
    }

    #[test]
    fn chunks_hold_every_line_once_and_fall_where_the_text_says_however_it_is_fed() {
        let text = lines_text(2_000);
        let limits = limits(4_096, 1_024);
        let (reference, error) = read_all(text.as_bytes(), limits, text.len());
        assert_eq!(error, None);
        assert!(reference.len() > 10);
        assert_eq!(reference.iter().map(|c| c.text.as_str()).collect::<String>(), text);
        for pair in reference.windows(2) {
            assert_eq!(pair[1].first_line, pair[0].first_line + pair[0].text.lines().count() as u64);
            assert_eq!(pair[1].offset, pair[0].offset + pair[0].text.len() as u64);
        }
        for piece in [1, 7, 1000, 65_536] {
            assert_eq!(read_all(text.as_bytes(), limits, piece), (reference.clone(), None), "plain, piece {piece}");
            assert_eq!(
                read_all(&gzip(text.as_bytes()), limits, piece),
                (reference.clone(), None),
                "gzip, piece {piece}"
            );
        }
        // Two gzip members (as `cat a.gz b.gz` makes) are one object.
        let (first, second) = text.split_at(text.len() / 2 + 3);
        let members = [gzip(first.as_bytes()), gzip(second.as_bytes())].concat();
        assert_eq!(read_all(&members, limits, 999), (reference, None));
    }

    #[test]
    fn a_resumed_object_hands_out_the_chunks_after_the_done_ones() {
        let text = lines_text(1_000);
        let limits = limits(2_048, 1_024);
        let (all, _) = read_all(&gzip(text.as_bytes()), limits, 4_096);
        let done = &all[3];
        let mut resumed = ObjectText::new(true, limits);
        resumed.resume_at(
            done.first_line + done.text.lines().count() as u64,
            done.offset + done.text.len() as u64,
            true,
        );
        let object = gzip(text.as_bytes());
        let mut rest = Vec::new();
        for piece in object.chunks(500) {
            let mut piece = piece;
            while !piece.is_empty() {
                let used = resumed.feed(piece);
                piece = &piece[used..];
                while let Some(chunk) = resumed.next_chunk().unwrap() {
                    rest.push(chunk);
                }
            }
        }
        resumed.end();
        while let Some(chunk) = resumed.next_chunk().unwrap() {
            rest.push(chunk);
        }
        assert_eq!(rest, all[4..].to_vec());
    }

    #[test]
    fn bad_objects_end_with_the_reason_after_the_lines_before_it() {
        let text = lines_text(300);
        let limits = limits(1_000, 200);
        let zipped = gzip(text.as_bytes());

        let (chunks, error) = read_all(&zipped[..zipped.len() / 2], limits, 100);
        assert!(matches!(error, Some(ObjectTextError::TruncatedGzip { .. })), "{error:?}");
        assert!(text.starts_with(&chunks.iter().map(|c| c.text.as_str()).collect::<String>()));

        let mut corrupt = zipped.clone();
        for b in &mut corrupt[40..60] {
            *b ^= 0x55;
        }
        let (_, error) = read_all(&corrupt, limits, 100);
        assert_eq!(error.map(|e| e.kind()), Some("corrupt_gzip"));

        let long = format!("{}{}\nafter\n", &text[..500], "y".repeat(300));
        let (chunks, error) = read_all(long.as_bytes(), limits, 64);
        let before = &text[..text[..500].rfind('\n').unwrap() + 1];
        assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<String>(), before);
        assert_eq!(error, Some(ObjectTextError::LineTooLong { line: before.lines().count() as u64, limit: 200 }));

        let binary = [b"good line\n".as_slice(), &[0xff, 0xfe, 0x00, 0x10], b"\n"].concat();
        let (chunks, error) = read_all(&binary, limits, 3);
        assert!(chunks.is_empty());
        assert_eq!(error, Some(ObjectTextError::NotText { line: 1, offset: 0 }));

        let small = ObjectLimits { max_object_lines: 150, ..limits };
        let (chunks, error) = read_all(text.as_bytes(), small, 10_000);
        let landed: u64 = chunks.iter().map(|c| c.text.lines().count() as u64).sum();
        assert!(landed <= 150 && landed > 100, "{landed}");
        assert_eq!(error, Some(ObjectTextError::TooManyLines { line: landed, limit: 150 }));

        let byte_bound = ObjectLimits { max_object_bytes: 3_000, ..limits };
        let (chunks, error) = read_all(&zipped, byte_bound, 500);
        let landed: usize = chunks.iter().map(|c| c.text.len()).sum();
        assert!(landed <= 3_000 && landed > 1_000, "{landed}");
        let lines_landed: u64 = chunks.iter().map(|c| c.text.lines().count() as u64).sum();
        assert_eq!(error, Some(ObjectTextError::ObjectTooLarge { line: lines_landed, limit: 3_000 }));
        assert_eq!(error.map(|e| e.kind()), Some("too_large"));

        let (chunks, error) = read_all(b"", limits, 10);
        assert_eq!((chunks, error), (vec![], None));
        assert_eq!(read_all(b"last line without newline", limits, 4).0[0].text, "last line without newline");
    }

    #[test]
    fn a_gzip_bomb_is_read_in_bounded_steps() {
        // 64 MiB of zeros in ~64 KiB of gzip: every feed adds at most what one decoder step makes.
        let zeros = gzip(&vec![b'0'; 64 << 20]);
        let limits = ObjectLimits {
            chunk_bytes: 1 << 20,
            max_line_bytes: 4 << 20,
            max_object_bytes: 1 << 40,
            max_object_lines: 10,
        };
        let mut text = ObjectText::new(true, limits);
        let mut input = zeros.as_slice();
        let mut error = None;
        while !input.is_empty() && error.is_none() {
            let used = text.feed(input);
            assert!(text.pending().len() <= limits.max_line_bytes + (256 << 10), "{}", text.pending().len());
            input = &input[used..];
            if let Err(e) = text.next_chunk() {
                error = Some(e);
            }
            if used == 0 {
                break;
            }
        }
        assert_eq!(error, Some(ObjectTextError::LineTooLong { line: 0, limit: 4 << 20 }));
    }

    #[test]
    fn limits_follow_the_memory() {
        let small = ObjectLimits::for_memory_mb(128);
        let large = ObjectLimits::for_memory_mb(1024);
        assert_eq!(small.chunk_bytes, 4 << 20);
        assert_eq!(large.chunk_bytes, 32 << 20);
        assert!(small.max_line_bytes < large.max_line_bytes && small.max_object_bytes < large.max_object_bytes);
        assert_eq!(ObjectLimits::for_memory_mb(0), small);
    }
}
