//! CloudFront standard logs (legacy, v1): tab-separated fields in the documented order, `-` for
//! none; `#Version` / `#Fields` header lines are recognised as such.

use std::borrow::Cow;

use crate::parse::fields::LineFields;

/// The documented fields, with their attribute names (`cs(Host)` → `cs_host` …).
const FIELDS: &[&str] = &[
    "date",
    "time",
    "x_edge_location",
    "sc_bytes",
    "c_ip",
    "cs_method",
    "cs_host",
    "cs_uri_stem",
    "sc_status",
    "cs_referer",
    "cs_user_agent",
    "cs_uri_query",
    "cs_cookie",
    "x_edge_result_type",
    "x_edge_request_id",
    "x_host_header",
    "cs_protocol",
    "cs_bytes",
    "time_taken",
    "x_forwarded_for",
    "ssl_protocol",
    "ssl_cipher",
    "x_edge_response_result_type",
    "cs_protocol_version",
    "fle_status",
    "fle_encrypted_fields",
    "c_port",
    "time_to_first_byte",
    "x_edge_detailed_result_type",
    "sc_content_type",
    "sc_content_len",
    "sc_range_start",
    "sc_range_end",
];
/// The fields of the first version of the format (up to `cs-protocol-version`).
const MIN_FIELDS: usize = 24;

/// `YYYY-MM-DD<TAB>HH:MM:SS<TAB>`, or a `#Version:` / `#Fields:` header.
pub(crate) fn might_be(line: &str) -> bool {
    let b = line.as_bytes();
    (b.len() > 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'\t' && b[13] == b':' && b[19] == b'\t')
        || is_header(line)
}

fn is_header(line: &str) -> bool {
    line.starts_with("#Version:") || line.starts_with("#Fields:")
}

pub(crate) fn parse<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    if is_header(line) {
        out.attr("cloudfront_header", Cow::Borrowed("true"));
        return true;
    }
    let mut values: Vec<&str> = line.split('\t').collect();
    // A trailing tab leaves an empty field after the last one.
    while values.len() > FIELDS.len() && values.last() == Some(&"") {
        values.pop();
    }
    if values.len() < MIN_FIELDS || values.len() > FIELDS.len() {
        return false;
    }
    let Ok(time) = chrono::NaiveDateTime::parse_from_str(&format!("{} {}", values[0], values[1]), "%Y-%m-%d %H:%M:%S")
    else {
        return false;
    };
    let numeric = |i: usize| values.get(i).is_none_or(|v| *v == "-" || v.parse::<f64>().is_ok());
    if ![3, 8, 17, 18].into_iter().all(numeric) {
        return false;
    }
    out.time_ms = Some(time.and_utc().timestamp_millis());
    out.level = values[8].parse::<u16>().ok().map(super::http_status_level);
    for (name, value) in FIELDS.iter().zip(&values).skip(2) {
        if *value != "-" && !value.is_empty() {
            out.attr(name, Cow::Borrowed(*value));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::record::Level;

    #[test]
    fn a_standard_log_line_and_its_headers() {
        let mut fields = vec![
            "2026-11-20",
            "09:58:07",
            "FRA56-P3",
            "2390",
            "198.51.100.10",
            "GET",
            "d1234abcd.cloudfront.net",
            "/img/logo.png",
            "503",
            "https://example.org/",
            "Mozilla/5.0%20(X11)",
            "-",
            "-",
            "Error",
            "R4nd0mID==",
            "www.example.org",
            "https",
            "180",
            "0.051",
            "-",
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
            "Error",
            "HTTP/2.0",
        ];
        let line = fields.join("\t");
        let mut out = LineFields::default();
        assert!(might_be(&line) && parse(&line, &mut out));
        let attr = |key: &str| out.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string());
        assert_eq!(
            (attr("sc_status"), attr("cs_host"), attr("time_taken")),
            (Some("503".into()), Some("d1234abcd.cloudfront.net".into()), Some("0.051".into()))
        );
        assert_eq!(out.level, Some(Level::Error));
        assert_eq!(out.time_ms, Some(1_795_168_687_000));

        let mut header = LineFields::default();
        assert!(parse("#Fields: date time x-edge-location", &mut header));

        fields[3] = "lots";
        let bad = fields.join("\t");
        let mut out = LineFields::default();
        assert!(!parse(&bad, &mut out) && out.attributes.is_empty());
        assert!(!parse("2026-11-20\t09:58:07\tFRA56-P3", &mut LineFields::default()), "too few fields");
        assert!(!parse(&line.replace("09:58:07", "25:99:99"), &mut LineFields::default()), "no such time");
    }
}
