//! Web server access logs: Apache / nginx Common Log Format and Combined
//! (`host ident user [time] "request" status bytes ["referer" "user agent"]`), which API Gateway's
//! CLF-style templates also follow (their trailing fields are kept as `trailing`). The time is
//! CLF's (`10/Oct/2000:13:55:36 -0700`) or RFC 3339. After Combined, nginx's own formats are read
//! too: one more quoted field (`"$http_x_forwarded_for"` of its `main` format, or a gzip ratio),
//! and ingress-nginx's upstream fields.

use std::borrow::Cow;

use crate::parse::fields::LineFields;

/// `10/Oct/2000:13:55:36 -0700` → ms since the epoch.
pub(crate) fn clf_time_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z").ok().map(|t| t.timestamp_millis())
}

/// A quick test: a host, two more fields, then ` [`.
pub(crate) fn might_be(line: &str) -> bool {
    let mut fields = line.splitn(4, ' ');
    let (Some(host), Some(_), Some(_), Some(rest)) = (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    !host.is_empty() && rest.starts_with('[')
}

/// The next field: `"…"` (backslash escapes), `[…]`, or up to a space.
pub(crate) fn next_field(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.trim_start_matches(' ');
    let bytes = rest.as_bytes();
    match bytes.first()? {
        b'"' => {
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            (i < bytes.len()).then(|| (&rest[1..i], &rest[i + 1..]))
        }
        b'[' => rest.find(']').map(|end| (&rest[1..end], &rest[end + 1..])),
        _ => Some(rest.split_once(' ').unwrap_or((rest, ""))),
    }
}

/// ingress-nginx's fields after Combined: `$request_length $request_time [$proxy_upstream_name]
/// [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length
/// $upstream_response_time $upstream_status $req_id`; none unless the tail is exactly that.
fn ingress_upstream(tail: &str) -> Option<Vec<(&'static str, &str)>> {
    const NAMES: [&str; 9] = [
        "request_length",
        "request_time",
        "proxy_upstream_name",
        "proxy_alternative_upstream_name",
        "upstream_addr",
        "upstream_response_length",
        "upstream_response_time",
        "upstream_status",
        "req_id",
    ];
    let mut rest = tail;
    let mut fields = Vec::with_capacity(NAMES.len());
    for (at, name) in NAMES.into_iter().enumerate() {
        let bracketed = rest.trim_start().starts_with('[');
        if bracketed != matches!(at, 2 | 3) {
            return None;
        }
        let (value, after) = next_field(rest)?;
        fields.push((name, value));
        rest = after;
    }
    let number = |at: usize| fields[at].1.parse::<f64>().is_ok();
    (rest.trim().is_empty() && number(0) && number(1) && !fields[8].1.is_empty())
        .then(|| fields.into_iter().filter(|(_, value)| !value.is_empty() && *value != "-").collect())
}

pub(crate) fn parse<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    let mut rest = line;
    let mut fields = Vec::with_capacity(9);
    for _ in 0..7 {
        let Some((field, tail)) = next_field(rest) else { return false };
        fields.push(field);
        rest = tail;
    }
    let [host, ident, user, time, request, status, bytes] = fields[..] else { return false };
    let Some(time_ms) =
        clf_time_ms(time).or_else(|| chrono::DateTime::parse_from_rfc3339(time).ok().map(|t| t.timestamp_millis()))
    else {
        return false;
    };
    let Ok(code) = status.parse::<u16>() else { return false };
    if !(bytes == "-" || bytes.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let mut attributes = vec![("remote_host", host), ("status", status), ("request", request)];
    for (name, value) in [("ident", ident), ("remote_user", user), ("body_bytes", bytes)] {
        if value != "-" {
            attributes.push((name, value));
        }
    }
    let mut parts = request.splitn(3, ' ');
    if let (Some(method), Some(path), Some(protocol)) = (parts.next(), parts.next(), parts.next()) {
        attributes.extend([("http_method", method), ("path", path), ("protocol", protocol)]);
    }
    let rest = rest.trim_start_matches(' ');
    if rest.starts_with('"') {
        // Combined: referer and user agent, quoted.
        let Some((referer, tail)) = next_field(rest) else { return false };
        let Some((agent, tail)) = next_field(tail) else { return false };
        attributes.extend([("referer", referer), ("user_agent", agent)]);
        let tail = tail.trim();
        if let Some(upstream) = ingress_upstream(tail) {
            attributes.extend(upstream);
        } else if let Some((quoted, after)) = tail.starts_with('"').then(|| next_field(tail)).flatten()
            && after.trim().is_empty()
        {
            // nginx `main`: `"$http_x_forwarded_for"`; Vector's `combined`: a gzip ratio.
            let name = if quoted.parse::<f64>().is_ok() { "gzip_ratio" } else { "http_x_forwarded_for" };
            attributes.push((name, quoted));
        } else if !tail.is_empty() {
            attributes.push(("trailing", tail));
        }
    } else if !rest.is_empty() {
        attributes.push(("trailing", rest.trim_end()));
    }
    out.time_ms = Some(time_ms);
    out.level = Some(super::http_status_level(code));
    for (name, value) in attributes {
        out.attr(name, Cow::Borrowed(value));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::record::Level;

    fn attr<'a>(out: &'a LineFields<'_>, key: &str) -> Option<&'a str> {
        out.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    #[test]
    fn common_combined_and_clf_templates() {
        let combined = r#"198.51.100.23 - alice [20/Nov/2026:10:00:01 +0100] "GET /shop/cart?id=7 HTTP/1.1" 404 512 "https://example.org/" "Mozilla/5.0 (X11)""#;
        let mut out = LineFields::default();
        assert!(might_be(combined) && parse(combined, &mut out));
        assert_eq!(
            (attr(&out, "status"), attr(&out, "path"), attr(&out, "remote_user")),
            (Some("404"), Some("/shop/cart?id=7"), Some("alice"))
        );
        assert_eq!(attr(&out, "user_agent"), Some("Mozilla/5.0 (X11)"));
        assert_eq!(out.time_ms, Some(1_795_165_201_000));
        assert_eq!(out.level, Some(Level::Warn));

        let common = r#"10.0.0.1 - - [20/Nov/2026:09:00:01 +0000] "POST /api HTTP/1.0" 201 -"#;
        let mut out = LineFields::default();
        assert!(parse(common, &mut out));
        assert_eq!((attr(&out, "http_method"), attr(&out, "body_bytes")), (Some("POST"), None));

        let api_gateway = r#"203.0.113.4 - - [20/Nov/2026:09:00:02 +0000] "GET /pets HTTP/1.1" 200 184 4f6c1a0e-1111-2222-3333-444455556666 Ab1CdEFGhIJKlMn="#;
        let mut out = LineFields::default();
        assert!(parse(api_gateway, &mut out));
        assert_eq!(attr(&out, "trailing"), Some("4f6c1a0e-1111-2222-3333-444455556666 Ab1CdEFGhIJKlMn="));
    }

    /// Vector's nginx and CLF examples (../shared/corpus/fixtures/vrl_parse_examples).
    #[test]
    fn nginx_main_ingress_and_an_rfc_3339_time() {
        let main = r#"172.24.0.3 - alice [31/Dec/2024:17:32:06 +0000] "GET / HTTP/1.1" 200 615 "https://domain.tld/path" "curl/8.11.1" "1.2.3.4, 10.10.1.1""#;
        let mut out = LineFields::default();
        assert!(parse(main, &mut out));
        assert_eq!(attr(&out, "http_x_forwarded_for"), Some("1.2.3.4, 10.10.1.1"));
        assert_eq!(attr(&out, "trailing"), None);

        let ingress = r#"0.0.0.0 - bob [18/Mar/2023:15:00:00 +0000] "GET /some/path HTTP/2.0" 200 12312 "https://10.0.0.1/some/referer" "Mozilla/5.0" 462 0.050 [some-upstream-service-9000] [some-other-upstream-5000] 10.0.50.80:9000 19437 0.049 200 752178adb17130b291aefd8c386279e7"#;
        let mut out = LineFields::default();
        assert!(parse(ingress, &mut out));
        assert_eq!(
            (attr(&out, "proxy_upstream_name"), attr(&out, "upstream_addr"), attr(&out, "req_id")),
            (Some("some-upstream-service-9000"), Some("10.0.50.80:9000"), Some("752178adb17130b291aefd8c386279e7"))
        );
        assert_eq!((attr(&out, "request_time"), attr(&out, "upstream_status")), (Some("0.050"), Some("200")));

        let iso = r#"127.0.0.1 bob frank [2000-10-10T20:55:36Z] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
        let mut out = LineFields::default();
        assert!(might_be(iso) && parse(iso, &mut out));
        assert_eq!(out.time_ms, Some(971_211_336_000));
    }

    #[test]
    fn malformed_lines_are_not_access_logs() {
        for line in [
            r#"10.0.0.1 - - [yesterday] "GET / HTTP/1.1" 200 1"#,
            r#"10.0.0.1 - - [20/Nov/2026:09:00:01 +0000] "GET / HTTP/1.1 200 1"#,
            r#"10.0.0.1 - - [20/Nov/2026:09:00:01 +0000] "GET / HTTP/1.1" ok 1"#,
            r#"10.0.0.1 - - [20/Nov/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 many"#,
            "10.0.0.1 - - [20/Nov/2026:09:00:01 +0000]",
        ] {
            let mut out = LineFields::default();
            assert!(!parse(line, &mut out), "{line}");
            assert!(out.attributes.is_empty());
        }
    }
}
