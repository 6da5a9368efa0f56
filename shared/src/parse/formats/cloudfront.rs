//! CloudFront standard logs (legacy, v1): tab-separated fields in the documented order, `-` for
//! none; `#Version` / `#Fields` header lines are recognised as such. `date` and `time` are kept as
//! attributes too (the line's own text, as the typed table `cloudfront_logs` declares them), beside
//! the event time they make.

use std::borrow::Cow;

use crate::parse::fields::{LineFields, snake_case};

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
    for (name, value) in FIELDS.iter().zip(&values) {
        if *value != "-" && !value.is_empty() {
            out.attr(name, Cow::Borrowed(*value));
        }
    }
    true
}

/// The field order a `#Fields:` header names, as attribute names (`cs(Host)` → `cs_host`): the
/// standard logs' own order needs none; CloudFront's standard logging v2 lets the fields be
/// chosen and ordered, and says so in this header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudFrontFields {
    attributes: Vec<String>,
}

impl CloudFrontFields {
    /// The order a `#Fields:` line names, unless it is the documented order (read without it).
    pub fn from_header(line: &str) -> Option<CloudFrontFields> {
        let names = line.strip_prefix("#Fields:")?;
        let attributes: Vec<String> = names.split_whitespace().map(snake_case).collect();
        let documented = attributes.len() <= FIELDS.len() && attributes.iter().zip(FIELDS).all(|(a, f)| a == f);
        (!attributes.is_empty() && !documented).then_some(CloudFrontFields { attributes })
    }
}

/// Reads a line whose tab-separated fields are in the order of `fields`: every one its attribute
/// (none for `-`), `date` and `time` (or an epoch `timestamp`) also the event time, `sc_status` the
/// level. False, and nothing set, unless the line has exactly those fields and a valid time.
pub(crate) fn parse_with<'a>(line: &'a str, fields: &CloudFrontFields, out: &mut LineFields<'a>) -> bool {
    if is_header(line) {
        return parse(line, out);
    }
    let mut values: Vec<&str> = line.split('\t').collect();
    while values.len() > fields.attributes.len() && values.last() == Some(&"") {
        values.pop();
    }
    if values.len() != fields.attributes.len() {
        return false;
    }
    let value = |name: &str| fields.attributes.iter().position(|a| a == name).map(|i| values[i]);
    let time_ms = match (value("date"), value("time"), value("timestamp")) {
        (Some(date), Some(time), _) => {
            chrono::NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc().timestamp_millis())
        }
        (_, _, Some(epoch)) => epoch.parse::<f64>().ok().and_then(crate::parse::timestamp::epoch_number_to_ms),
        _ => None,
    };
    let Some(time_ms) = time_ms else { return false };
    out.time_ms = Some(time_ms);
    out.level = value("sc_status").and_then(|s| s.parse::<u16>().ok()).map(super::http_status_level);
    for (name, value) in fields.attributes.iter().zip(&values) {
        if *value != "-" && !value.is_empty() {
            out.attributes.push((Cow::Owned(name.clone()), Cow::Borrowed(*value)));
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
        assert_eq!((attr("date"), attr("time")), (Some("2026-11-20".into()), Some("09:58:07".into())));
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

    #[test]
    fn a_fields_header_names_the_order_of_chosen_fields() {
        let documented = format!("#Fields: {}", "date time x-edge-location sc-bytes c-ip");
        assert_eq!(CloudFrontFields::from_header(&documented), None, "the documented order needs no header");
        let fields =
            CloudFrontFields::from_header("#Fields: timestamp c-ip sc-status cs(Host) cs-uri-stem time-taken").unwrap();
        let line = "1795168687.123\t198.51.100.10\t503\td1234abcd.cloudfront.net\t/img/logo.png\t0.051";
        let mut out = LineFields::default();
        assert!(parse_with(line, &fields, &mut out));
        let attr = |key: &str| out.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string());
        assert_eq!((attr("cs_host"), attr("sc_status")), (Some("d1234abcd.cloudfront.net".into()), Some("503".into())));
        assert_eq!((out.time_ms, out.level), (Some(1_795_168_687_123), Some(Level::Error)));
        assert!(!parse_with("1795168687\t198.51.100.10", &fields, &mut LineFields::default()), "too few fields");
        assert!(!parse_with(&line.replace("1795168687.123", "soon"), &fields, &mut LineFields::default()));
        assert!(parse_with("#Version: 1.0", &fields, &mut LineFields::default()), "headers stay headers");
    }
}
