//! Web server error logs (`error_log`): nginx's and Apache httpd's.
//!
//! - nginx: `2021/04/01 13:02:31 [error] 31#31: *1 <message>, client: 172.17.0.1, server: …,
//!   request: "POST / HTTP/1.1", host: "…"` — the level, process and thread ids, the connection
//!   (`*1`), the message, and the context nginx appends after it.
//! - Apache 2.4: `[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416]
//!   [client 72.15.99.187:54321] AH00124: <message>`; 2.2 writes `[error]` without the module,
//!   and a CLF time (`[01/Mar/2021:12:00:19 +0000]`) is read too.
//!
//! Neither writes a time zone in its default time: the time is read as UTC.

use std::borrow::Cow;

use chrono::NaiveDateTime;

use crate::lake::record::Level;
use crate::parse::fields::LineFields;
use crate::parse::formats::access_log::clf_time_ms;

/// The context keys nginx appends after a message, in the order it writes them.
const NGINX_CONTEXT: [&str; 7] = ["client", "server", "request", "subrequest", "upstream", "host", "referrer"];

/// A quick test: nginx's `yyyy/mm/dd hh:mm:ss [` or Apache's leading `[`.
pub(crate) fn might_be(line: &str) -> bool {
    let b = line.as_bytes();
    (b.len() > 22 && b[4] == b'/' && b[7] == b'/' && b[10] == b' ' && &b[19..21] == b" [") || b.first() == Some(&b'[')
}

pub(crate) fn parse<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    if line.starts_with('[') { parse_apache(line, out) } else { parse_nginx(line, out) }
}

/// An error log's level word: Apache's `trace1`…`trace8` and the syslog names both use.
fn level(word: &str) -> Option<Level> {
    if word.strip_prefix("trace").is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit()) {
        return Some(Level::Trace);
    }
    Level::parse(word)
}

fn parse_nginx<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    let Some(time) = line.get(..19).and_then(|t| NaiveDateTime::parse_from_str(t, "%Y/%m/%d %H:%M:%S").ok()) else {
        return false;
    };
    let Some((severity, rest)) = line[19..].strip_prefix(" [").and_then(|r| r.split_once("] ")) else {
        return false;
    };
    let Some(level) = level(severity) else { return false };
    // `<pid>#<tid>: `
    let Some((ids, rest)) = rest.split_once(": ") else { return false };
    let Some((pid, tid)) = ids.split_once('#') else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(tid) {
        return false;
    }
    // `*<connection> ` when the message belongs to a connection.
    let (connection, rest) = match rest.strip_prefix('*').and_then(|r| r.split_once(' ')) {
        Some((id, after)) if digits(id) => (Some(id), after),
        _ => (None, rest),
    };
    let (message, context) = match rest.find(", client: ") {
        Some(at) => match nginx_context(&rest[at + 2..]) {
            Some(context) => (&rest[..at], context),
            None => (rest, Vec::new()),
        },
        None => (rest, Vec::new()),
    };
    out.time_ms = Some(time.and_utc().timestamp_millis());
    out.level = Some(level);
    out.attr("severity", Cow::Borrowed(severity));
    out.attr("pid", Cow::Borrowed(pid));
    out.attr("tid", Cow::Borrowed(tid));
    if let Some(connection) = connection {
        out.attr("connection", Cow::Borrowed(connection));
    }
    out.attr("msg", Cow::Borrowed(message));
    for (key, value) in context {
        out.attr(key, Cow::Borrowed(value));
    }
    true
}

/// `client: 1.2.3.4, server: x, request: "GET / HTTP/1.1", host: "y"`: every pair, or none when
/// the text is not exactly nginx's context (then it stays in the message).
fn nginx_context(mut rest: &str) -> Option<Vec<(&'static str, &str)>> {
    let mut pairs = Vec::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once(": ")?;
        let key = NGINX_CONTEXT.into_iter().find(|k| *k == key)?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => match after.find(", ") {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        pairs.push((key, value));
        rest = match after.strip_prefix(", ") {
            Some(next) => next,
            None if after.is_empty() => "",
            None => return None,
        };
    }
    Some(pairs)
}

/// The bracketed fields at the start of an Apache line, and the message after them.
fn parse_apache<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    let Some((time, mut rest)) = bracket(line) else { return false };
    let Some(time_ms) = apache_time_ms(time) else { return false };
    let Some((module_level, after)) = bracket(rest) else { return false };
    let (module, severity) = match module_level.split_once(':') {
        Some((module, severity)) => (Some(module), severity),
        None => (None, module_level),
    };
    let Some(level) = level(severity) else { return false };
    rest = after;
    let mut fields: Vec<(&'static str, &'a str)> = Vec::new();
    if let Some(module) = module {
        fields.push(("module", module));
    }
    fields.push(("severity", severity));
    if let Some((ids, after)) = bracket(rest).filter(|(ids, _)| ids.starts_with("pid ")) {
        let ids = &ids[4..];
        match ids.split_once(":tid ") {
            Some((pid, tid)) => fields.extend([("pid", pid), ("tid", tid)]),
            None => fields.push(("pid", ids)),
        }
        rest = after;
    }
    if let Some((client, after)) = bracket(rest).filter(|(client, _)| client.starts_with("client ")) {
        let client = &client[7..];
        // `ip:port`; an IPv6 address has colons of its own, the port is after the last.
        match client.rsplit_once(':').filter(|(ip, port)| {
            !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && ip.parse::<std::net::IpAddr>().is_ok()
        }) {
            Some((ip, port)) => fields.extend([("client_ip", ip), ("client_port", port)]),
            None => fields.push(("client_ip", client)),
        }
        rest = after;
    }
    let message = rest.trim_start_matches(' ');
    // Apache 2.4 starts its messages with an error code (`AH00124: `).
    if let Some((code, _)) = message.split_once(": ")
        && code.len() == 7
        && code.starts_with("AH")
        && code[2..].bytes().all(|b| b.is_ascii_digit())
    {
        fields.push(("error_code", code));
    }
    fields.push(("msg", message));
    out.time_ms = Some(time_ms);
    out.level = Some(level);
    for (key, value) in fields {
        out.attr(key, Cow::Borrowed(value));
    }
    true
}

/// `[text] rest` → (`text`, `rest` without its leading space).
fn bracket(text: &str) -> Option<(&str, &str)> {
    let inner = text.trim_start_matches(' ').strip_prefix('[')?;
    let end = inner.find(']')?;
    Some((&inner[..end], &inner[end + 1..]))
}

/// Apache's `Wed Oct 11 14:32:52[.123456] 2000` (read as UTC) or a CLF time.
fn apache_time_ms(text: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(text, "%a %b %d %H:%M:%S%.f %Y")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
        .or_else(|| clf_time_ms(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(out: &'a LineFields<'_>) -> Vec<(&'a str, &'a str)> {
        out.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect()
    }

    #[test]
    fn an_nginx_error_line_gives_its_ids_message_and_context() {
        let line = r#"2026/11/30 08:15:02 [crit] 1207#1207: *88 connect() to unix:/run/app.sock failed (2: No such file or directory), client: 10.1.4.9, server: shop.example, request: "GET /cart?id=7, 8 HTTP/2.0", upstream: "http://unix:/run/app.sock:/cart", host: "shop.example""#;
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, &mut out));
        assert_eq!(out.level, Some(Level::Fatal));
        assert_eq!(out.time_ms, Some(1_796_026_502_000));
        let attrs = attrs(&out);
        for pair in [
            ("pid", "1207"),
            ("tid", "1207"),
            ("connection", "88"),
            ("msg", "connect() to unix:/run/app.sock failed (2: No such file or directory)"),
            ("client", "10.1.4.9"),
            ("server", "shop.example"),
            ("request", "GET /cart?id=7, 8 HTTP/2.0"),
            ("upstream", "http://unix:/run/app.sock:/cart"),
            ("host", "shop.example"),
        ] {
            assert!(attrs.contains(&pair), "{pair:?} in {attrs:?}");
        }
    }

    #[test]
    fn an_nginx_message_without_context_or_connection_is_whole() {
        let line = "2026/11/30 08:15:02 [notice] 1#1: signal process started, client: elsewhere, mood: calm";
        let mut out = LineFields::default();
        assert!(parse(line, &mut out));
        let attrs = attrs(&out);
        assert!(attrs.contains(&("msg", "signal process started, client: elsewhere, mood: calm")), "{attrs:?}");
        assert!(!attrs.iter().any(|(k, _)| *k == "connection" || *k == "client"));
    }

    #[test]
    fn apache_error_lines_of_2_4_and_2_2_are_read() {
        let line = "[Mon Nov 30 08:15:02.483920 2026] [proxy_fcgi:error] [pid 4410:tid 139881] [client 2001:db8::7:51234] AH01071: Got error 'Primary script unknown'";
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, &mut out));
        assert_eq!(out.level, Some(Level::Error));
        assert_eq!(out.time_ms, Some(1_796_026_502_483));
        let found = attrs(&out);
        for pair in [
            ("module", "proxy_fcgi"),
            ("pid", "4410"),
            ("tid", "139881"),
            ("client_ip", "2001:db8::7"),
            ("client_port", "51234"),
            ("error_code", "AH01071"),
            ("msg", "AH01071: Got error 'Primary script unknown'"),
        ] {
            assert!(found.contains(&pair), "{pair:?} in {found:?}");
        }

        let old = "[Mon Nov 30 08:15:02 2026] [warn] [client 10.0.0.8] File does not exist: /var/www/favicon.ico";
        let mut out = LineFields::default();
        assert!(parse(old, &mut out));
        assert_eq!(out.level, Some(Level::Warn));
        assert!(attrs(&out).contains(&("client_ip", "10.0.0.8")));
    }

    #[test]
    fn lines_that_only_start_alike_are_not_error_logs() {
        for line in [
            "[INFO]\t2026-11-30T08:15:02.000Z\tabc\tstarted",
            "[Mon Nov 30 08:15:02 2026] [loud] something",
            "[not a time] [error] x",
            "2026/11/30 08:15:02 [error] nothing after",
            "2026/11/30 08:15:02 [error] 12: no thread",
            "2026/13/30 08:15:02 [error] 1#1: a month that is not",
        ] {
            let mut out = LineFields::default();
            assert!(!parse(line, &mut out), "{line}");
            assert!(out.attributes.is_empty() && out.time_ms.is_none(), "{line}");
        }
    }
}
