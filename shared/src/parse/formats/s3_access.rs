//! Amazon S3 server access logs: space-separated fields in the documented order, the time in
//! brackets and the request URI, referer and user agent in quotes, `-` for none
//! (`bucket_owner bucket [time] remote_ip requester request_id operation key "request_uri"
//! http_status error_code bytes_sent object_size total_time turn_around_time "referer"
//! "user_agent" version_id host_id signature_version cipher_suite authentication_type host_header
//! tls_version access_point_arn acl_required source_region`). AWS adds fields at the end over
//! time: lines of any length from `user_agent` on are read, fields past the known ones stay in
//! `message`.

use std::borrow::Cow;

use crate::parse::fields::LineFields;
use crate::parse::formats::access_log::{clf_time_ms, next_field};

const FIELDS: &[&str] = &[
    "bucket_owner",
    "bucket",
    "time",
    "remote_ip",
    "requester",
    "request_id",
    "operation",
    "key",
    "request_uri",
    "http_status",
    "error_code",
    "bytes_sent",
    "object_size",
    "total_time",
    "turn_around_time",
    "referer",
    "user_agent",
    "version_id",
    "host_id",
    "signature_version",
    "cipher_suite",
    "authentication_type",
    "host_header",
    "tls_version",
    "access_point_arn",
    "acl_required",
    "source_region",
];
/// Up to `user_agent`: the fields of the oldest logs.
const MIN_FIELDS: usize = 17;

/// A quick test: the bucket owner's canonical id (64 hex digits) or `-`, a bucket, then ` [`.
pub(crate) fn might_be(line: &str) -> bool {
    let mut fields = line.splitn(3, ' ');
    let (Some(owner), Some(bucket), Some(rest)) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let owner_shape = owner == "-" || (owner.len() == 64 && owner.bytes().all(|b| b.is_ascii_hexdigit()));
    owner_shape && !bucket.is_empty() && rest.starts_with('[')
}

pub(crate) fn parse<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    let mut rest = line;
    let mut values: Vec<&'a str> = Vec::with_capacity(FIELDS.len());
    while values.len() < FIELDS.len() && !rest.trim().is_empty() {
        let Some((value, tail)) = next_field(rest) else { return false };
        values.push(value);
        rest = tail;
    }
    if values.len() < MIN_FIELDS || !might_be(line) {
        return false;
    }
    let Some(time_ms) = clf_time_ms(values[2]) else { return false };
    let Ok(status) = values[9].parse::<u16>() else { return false };
    let numeric = |i: usize| values[i] == "-" || values[i].bytes().all(|b| b.is_ascii_digit());
    if ![11, 12, 13, 14].into_iter().all(numeric) {
        return false;
    }
    out.time_ms = Some(time_ms);
    out.level = Some(super::http_status_level(status));
    if values[5] != "-" {
        out.request_id = Some(Cow::Borrowed(values[5]));
    }
    for (name, value) in FIELDS.iter().zip(&values) {
        if *name != "time" && *value != "-" && !value.is_empty() {
            out.attr(name, Cow::Borrowed(*value));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::record::Level;

    const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

    #[test]
    fn a_server_access_log_line_of_every_generation() {
        let line = format!(
            "{OWNER} amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {OWNER} 3E57427F3EXAMPLE REST.GET.VERSIONING - \"GET /amzn-s3-demo-bucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" \"S3Console/0.4\" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -"
        );
        let mut out = LineFields::default();
        assert!(might_be(&line) && parse(&line, &mut out));
        let attr = |key: &str| out.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string());
        assert_eq!(attr("operation").as_deref(), Some("REST.GET.VERSIONING"));
        assert_eq!(attr("request_uri").as_deref(), Some("GET /amzn-s3-demo-bucket1?versioning HTTP/1.1"));
        assert_eq!(attr("user_agent").as_deref(), Some("S3Console/0.4"));
        assert_eq!(attr("tls_version").as_deref(), Some("TLSV1.2"));
        assert_eq!((attr("key"), attr("referer")), (None, None), "`-` is none");
        assert_eq!(out.request_id.as_deref(), Some("3E57427F3EXAMPLE"));
        assert_eq!(out.time_ms, Some(1_549_411_238_000));
        assert_eq!(out.level, Some(Level::Info));

        // An old line ends at the user agent; a newer one may have fields past the known ones.
        let old = line.split(" \"S3Console/0.4\"").next().unwrap().to_owned() + " \"S3Console/0.4\"";
        let failed = old.replace(" 200 - 113", " 403 AccessDenied 243");
        let mut out = LineFields::default();
        assert!(parse(&failed, &mut out));
        assert_eq!(out.level, Some(Level::Warn));
        assert!(parse(&format!("{line} us-east-1 extra-field"), &mut LineFields::default()));

        for bad in [
            line.replace("06/Feb/2019", "99/Feb/2019"),
            line.replace(" 113 ", " lots "),
            format!("{OWNER} bucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3"),
            line.replacen(OWNER, "not-an-owner", 1),
        ] {
            assert!(!parse(&bad, &mut LineFields::default()), "{bad}");
        }
    }
}
