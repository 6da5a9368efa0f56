//! Elastic Load Balancing access logs: Application Load Balancer (HTTP, HTTPS, HTTP/2, gRPC,
//! WebSockets), Network Load Balancer TLS listeners, Classic Load Balancer, and ALB connection
//! logs. Space-separated fields, some in double quotes, in a fixed order per kind; newer log
//! versions append fields, so lines may have more (kept as they come) or fewer trailing ones.

use std::borrow::Cow;

use crate::lake::record::LineFormat;
use crate::parse::fields::LineFields;
use crate::parse::timestamp::parse_text_ms;

/// ALB fields in order. `client:port` and `target:port` are split into `_ip` and `_port`.
const ALB: &[&str] = &[
    "type",
    "time",
    "elb",
    "client:port",
    "target:port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
    "target_port_list",
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
    "transformed_host",
    "transformed_uri",
    "request_transform_status",
];
/// Fields every ALB line has (up to `target_group_arn`).
const ALB_MIN: usize = 17;

const NLB: &[&str] = &[
    "type",
    "version",
    "time",
    "elb",
    "listener",
    "client:port",
    "destination:port",
    "connection_time",
    "tls_handshake_time",
    "received_bytes",
    "sent_bytes",
    "incoming_tls_alert",
    "chosen_cert_arn",
    "chosen_cert_serial",
    "tls_cipher",
    "tls_protocol_version",
    "tls_named_group",
    "domain_name",
    "alpn_fe_protocol",
    "alpn_be_protocol",
    "alpn_client_preference_list",
    "tls_connection_creation_time",
];
const NLB_MIN: usize = 16;

const CLASSIC: &[&str] = &[
    "time",
    "elb",
    "client:port",
    "backend:port",
    "request_processing_time",
    "backend_processing_time",
    "response_processing_time",
    "elb_status_code",
    "backend_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
];
const CLASSIC_MIN: usize = 11;

const CONNECTION: &[&str] = &[
    "time",
    "client_ip",
    "client_port",
    "listener_port",
    "tls_protocol",
    "tls_cipher",
    "tls_handshake_latency",
    "leaf_client_cert_subject",
    "leaf_client_cert_validity",
    "leaf_client_cert_serial_number",
    "tls_verify_status",
    "conn_trace_id",
];
const CONNECTION_MIN: usize = 11;

/// Fields, with double-quoted ones unquoted (a backslash escapes a quote inside them). None when
/// a quote is not closed.
fn tokens(line: &str) -> Option<Vec<&str>> {
    let mut out = Vec::with_capacity(32);
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => i += 1,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if j >= bytes.len() {
                    return None;
                }
                out.push(&line[start..j]);
                i = j + 1;
            }
            _ => {
                let start = i;
                while i < bytes.len() && bytes[i] != b' ' {
                    i += 1;
                }
                out.push(&line[start..i]);
            }
        }
    }
    Some(out)
}

/// Which kind of ELB line this may be, from its first bytes (no splitting).
pub(crate) fn kind(line: &str) -> Option<LineFormat> {
    let (first, rest) = line.split_once(' ')?;
    match first {
        "http" | "https" | "h2" | "grpcs" | "ws" | "wss" => Some(LineFormat::Alb),
        "tls" if rest.starts_with("2.0 ") => Some(LineFormat::Nlb),
        _ if first.len() >= 20
            && first.as_bytes()[4] == b'-'
            && first.as_bytes()[10] == b'T'
            && first.ends_with('Z') =>
        {
            // Classic: `time elb client:port …`; connection log: `time client_ip client_port …`.
            let second = rest.split(' ').nth(1)?;
            if second.bytes().all(|b| b.is_ascii_digit()) {
                Some(LineFormat::AlbConnection)
            } else {
                Some(LineFormat::ElbClassic)
            }
        }
        _ => None,
    }
}

/// Parses an ELB line of the given kind. False, with nothing set, when a field is not what that
/// kind of log writes there.
pub(crate) fn parse<'a>(line: &'a str, kind: LineFormat, out: &mut LineFields<'a>) -> bool {
    let Some(values) = tokens(line) else { return false };
    let (names, min) = match kind {
        LineFormat::Alb => (ALB, ALB_MIN),
        LineFormat::Nlb => (NLB, NLB_MIN),
        LineFormat::ElbClassic => (CLASSIC, CLASSIC_MIN),
        LineFormat::AlbConnection => (CONNECTION, CONNECTION_MIN),
        _ => return false,
    };
    if values.len() < min {
        return false;
    }
    let fields = || names.iter().copied().zip(values.iter().copied());
    if !fields().all(|(name, value)| valid(name, value)) {
        return false;
    }
    let mut attributes = Vec::with_capacity(names.len() + 4);
    let mut time_ms = None;
    let mut trace_id = None;
    let mut status = None;
    for (name, value) in fields() {
        match name {
            "time" => time_ms = parse_text_ms(value),
            "trace_id" => trace_id = value.strip_prefix("Root=").map(|root| root.split(';').next().unwrap_or(root)),
            "request" => {
                attributes.push(("request", value));
                let mut parts = value.splitn(3, ' ');
                if let (Some(method), Some(url), Some(version)) = (parts.next(), parts.next(), parts.next()) {
                    attributes.extend([("http_method", method), ("url", url), ("http_version", version)]);
                }
                continue;
            }
            _ => {}
        }
        // `time` is also kept as written (microseconds, as the AWS tables' `time` column holds it).
        if value == "-" || value.is_empty() || name == "trace_id" {
            continue;
        }
        if name == "elb_status_code" {
            status = value.parse::<u16>().ok();
        }
        match name.split_once(":port") {
            Some((host, "")) => match value.rsplit_once(':') {
                Some((ip, port)) => {
                    attributes.push((ip_name(host), ip));
                    attributes.push((port_name(host), port));
                }
                None => attributes.push((ip_name(host), value)),
            },
            _ => attributes.push((name, value)),
        }
    }
    let Some(time_ms) = time_ms else { return false };
    out.time_ms = Some(time_ms);
    out.trace_id = trace_id.map(Cow::Borrowed);
    out.level = status.map(super::http_status_level);
    for (name, value) in attributes {
        out.attr(name, Cow::Borrowed(value));
    }
    true
}

fn ip_name(host: &str) -> &'static str {
    match host {
        "client" => "client_ip",
        "target" => "target_ip",
        "backend" => "backend_ip",
        _ => "destination_ip",
    }
}

fn port_name(host: &str) -> &'static str {
    match host {
        "client" => "client_port",
        "target" => "target_port",
        "backend" => "backend_port",
        _ => "destination_port",
    }
}

/// What a field must look like for the line to be the kind it claims to be.
fn valid(name: &str, value: &str) -> bool {
    let number = || value == "-" || value.parse::<f64>().is_ok();
    match name {
        "time" => parse_text_ms(value).is_some(),
        "request_processing_time"
        | "target_processing_time"
        | "response_processing_time"
        | "backend_processing_time"
        | "connection_time"
        | "tls_handshake_time"
        | "received_bytes"
        | "sent_bytes"
        | "elb_status_code"
        | "target_status_code"
        | "backend_status_code"
        | "client_port"
        | "listener_port" => number(),
        "client:port" => value.contains(':'),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::record::Level;

    fn parsed(line: &str) -> Option<(LineFormat, LineFields<'_>)> {
        let kind = kind(line)?;
        let mut out = LineFields::default();
        parse(line, kind, &mut out).then_some((kind, out))
    }

    fn attr<'a>(out: &'a LineFields<'_>, key: &str) -> Option<&'a str> {
        out.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    #[test]
    fn an_alb_line_gives_status_timings_request_and_trace() {
        let line = "https 2026-11-20T09:15:02.123456Z app/shop-front/0f1e2d3c4b5a6978 203.0.113.50:61234 10.20.1.17:8080 0.001 0.245 0.000 503 503 812 1204 \"POST https://shop.example.org:443/api/cart?id=7 HTTP/1.1\" \"Mozilla/5.0 (X11; Linux)\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/cart/0123456789abcdef \"Root=1-673da1b6-0a1b2c3d4e5f60718293a4b5\" \"shop.example.org\" \"arn:aws:acm:eu-west-1:210987654321:certificate/abc\" 3 2026-11-20T09:15:01.877000Z \"forward\" \"-\" \"-\" \"10.20.1.17:8080\" \"503\" \"-\" \"-\" TID_0123abcd";
        let (kind, out) = parsed(line).unwrap();
        assert_eq!(kind, LineFormat::Alb);
        assert_eq!(attr(&out, "elb_status_code"), Some("503"));
        assert_eq!(attr(&out, "target_processing_time"), Some("0.245"));
        assert_eq!(attr(&out, "client_ip"), Some("203.0.113.50"));
        assert_eq!(attr(&out, "target_port"), Some("8080"));
        assert_eq!(attr(&out, "http_method"), Some("POST"));
        assert_eq!(attr(&out, "url"), Some("https://shop.example.org:443/api/cart?id=7"));
        assert_eq!(attr(&out, "user_agent"), Some("Mozilla/5.0 (X11; Linux)"));
        assert_eq!(attr(&out, "conn_trace_id"), Some("TID_0123abcd"));
        assert_eq!(out.trace_id.as_deref(), Some("1-673da1b6-0a1b2c3d4e5f60718293a4b5"));
        assert_eq!(out.level, Some(Level::Error));
        assert_eq!(out.time_ms, parse_text_ms("2026-11-20T09:15:02.123Z"));
        assert_eq!(attr(&out, "redirect_url"), None, "- is no value");
    }

    #[test]
    fn nlb_classic_and_connection_lines() {
        let nlb = "tls 2.0 2026-11-20T09:20:00 net/edge/1a2b3c4d5e6f7081 0a1b2c3d4e5f6071 198.51.100.7:40000 10.0.0.9:443 12 3 500 900 - arn:aws:acm:eu-west-1:210987654321:certificate/x - ECDHE-RSA-AES128-SHA tlsv12 - edge.example.org - - - 2026-11-20T09:19:48";
        let (kind, out) = parsed(nlb).unwrap();
        assert_eq!(kind, LineFormat::Nlb);
        assert_eq!((attr(&out, "listener"), attr(&out, "destination_port")), (Some("0a1b2c3d4e5f6071"), Some("443")));

        let classic = "2026-11-20T09:21:00.000100Z legacy-lb 198.51.100.8:5123 10.0.0.4:80 0.000050 0.002 0.000040 404 404 0 120 \"GET http://legacy.example.org:80/missing HTTP/1.1\" \"curl/8.5.0\" - -";
        let (kind, out) = parsed(classic).unwrap();
        assert_eq!(kind, LineFormat::ElbClassic);
        assert_eq!((attr(&out, "backend_ip"), attr(&out, "elb_status_code")), (Some("10.0.0.4"), Some("404")));
        assert_eq!(out.level, Some(Level::Warn));

        let connection = "2026-11-20T09:22:00.500000Z 198.51.100.9 50123 443 TLSv1.3 TLS_AES_128_GCM_SHA256 2.5 \"CN=client.example.org\" NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z 0A1B Success TID_99";
        let (kind, out) = parsed(connection).unwrap();
        assert_eq!(kind, LineFormat::AlbConnection);
        assert_eq!(
            (attr(&out, "tls_verify_status"), attr(&out, "leaf_client_cert_subject")),
            (Some("Success"), Some("CN=client.example.org"))
        );
    }

    #[test]
    fn malformed_lines_are_not_elb_records() {
        for line in [
            "https 2026-11-20T09:15:02.123456Z app/x 203.0.113.50:61234 - 0.001 0.2 0.0 200 200 1 2 \"GET / HTTP/1.1", // open quote
            "https yesterday app/x 203.0.113.50:61234 - 0.001 0.2 0.0 200 200 1 2 \"GET / HTTP/1.1\" \"ua\" - - arn",
            "https 2026-11-20T09:15:02.123456Z app/x 203.0.113.50:61234 - fast 0.2 0.0 200 200 1 2 \"GET / HTTP/1.1\" \"ua\" - - arn",
            "http 2026-11-20T09:15:02.123456Z app/x 203.0.113.50:61234",
            "http is a protocol",
        ] {
            if let Some(kind) = kind(line) {
                let mut out = LineFields::default();
                assert!(!parse(line, kind, &mut out), "{line}");
                assert!(out.attributes.is_empty());
            }
        }
    }
}
