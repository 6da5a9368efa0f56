//! Syslog lines: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) and RFC 3164 / BSD
//! (`[<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, as in /var/log/syslog). BSD lines carry no year:
//! it is the reference time's, or the year before when that would put the line more than a day
//! in the future (December lines read in January).

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use crate::lake::record::Level;
use crate::parse::fields::LineFields;
use crate::parse::formats::text::sniff_level;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/// `<PRI>` with a valid priority, and what follows it.
fn priority(line: &str) -> Option<(u8, &str)> {
    let rest = line.strip_prefix('<')?;
    let end = rest.find('>')?;
    let pri: u8 = rest[..end].parse().ok().filter(|p| *p < 192 && end <= 3)?;
    Some((pri, &rest[end + 1..]))
}

fn month(text: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == text).map(|i| i as u32 + 1)
}

/// A quick test: `<digits>` or a month name and a day.
pub(crate) fn might_be(line: &str) -> bool {
    let b = line.as_bytes();
    (b.first() == Some(&b'<') && b.get(1).is_some_and(u8::is_ascii_digit))
        || (b.len() > 16 && b[3] == b' ' && b[9] == b':' && month(&line[..3]).is_some())
}

pub(crate) fn parse<'a>(line: &'a str, reference_ms: i64, out: &mut LineFields<'a>) -> bool {
    let (pri, rest) = match priority(line) {
        Some((pri, rest)) => (Some(pri), rest),
        None => (None, line),
    };
    if let Some(after_version) = rest.strip_prefix("1 ")
        && pri.is_some()
    {
        return parse_5424(pri.unwrap_or_default(), after_version, out);
    }
    parse_3164(pri, rest, reference_ms, out)
}

fn set_priority(pri: u8, out: &mut LineFields<'_>) {
    let (facility, severity) = (pri / 8, pri % 8);
    out.attr("facility", Cow::Borrowed(FACILITIES[facility as usize]));
    out.attr("severity", Cow::Borrowed(SEVERITIES[severity as usize]));
    out.level = Some(match severity {
        0..=2 => Level::Fatal,
        3 => Level::Error,
        4 => Level::Warn,
        5 | 6 => Level::Info,
        _ => Level::Debug,
    });
}

fn parse_5424<'a>(pri: u8, rest: &'a str, out: &mut LineFields<'a>) -> bool {
    let mut fields = rest.splitn(6, ' ');
    let (Some(time), Some(host), Some(app), Some(proc_id), Some(msg_id), Some(rest)) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    let time_ms = if time == "-" {
        None
    } else {
        match crate::parse::timestamp::parse_text_ms(time) {
            Some(ms) => Some(ms),
            None => return false,
        }
    };
    // Structured data: `-` or `[id k="v" …]…` (`\]` and `\"` escaped inside values).
    let (structured, msg) = if let Some(msg) = rest.strip_prefix('-') {
        (None, msg)
    } else if rest.starts_with('[') {
        let bytes = rest.as_bytes();
        let (mut i, mut in_quotes, mut depth) = (0, false, 0);
        let mut end = None;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'"' => in_quotes = !in_quotes,
                b'[' if !in_quotes => depth += 1,
                b']' if !in_quotes => {
                    depth -= 1;
                    if depth == 0 && bytes.get(i + 1) != Some(&b'[') {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        let Some(end) = end else { return false };
        (Some(&rest[..end]), &rest[end..])
    } else {
        return false;
    };
    out.time_ms = time_ms;
    set_priority(pri, out);
    for (name, value) in [("hostname", host), ("app_name", app), ("proc_id", proc_id), ("msg_id", msg_id)] {
        if value != "-" {
            out.attr(name, Cow::Borrowed(value));
        }
    }
    out.attr("version", Cow::Borrowed("1"));
    if let Some(structured) = structured {
        out.attr("structured_data", Cow::Borrowed(structured));
        for (id, name, value) in structured_params(structured) {
            out.attributes.push((Cow::Owned(format!("{id}.{name}")), value));
        }
    }
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    if !msg.is_empty() {
        out.attr("msg", Cow::Borrowed(msg));
    }
    true
}

/// The parameters of structured data (`[id name="value" …]…`), as `(id, name, value)`; a space
/// after the `=` is tolerated. Stops at the first malformed element (the raw text stays in
/// `structured_data`).
fn structured_params(structured: &str) -> Vec<(&str, &str, Cow<'_, str>)> {
    let mut params = Vec::new();
    let mut rest = structured;
    while let Some(element) = rest.strip_prefix('[') {
        let id_end = element.find([' ', ']']).unwrap_or(element.len());
        let id = &element[..id_end];
        let mut inside = &element[id_end..];
        loop {
            inside = inside.trim_start_matches(' ');
            if let Some(after) = inside.strip_prefix(']') {
                rest = after;
                break;
            }
            let Some((name, after)) = inside.split_once('=') else { return params };
            let after = after.trim_start_matches(' ');
            let Some(quoted) = after.strip_prefix('"') else { return params };
            let bytes = quoted.as_bytes();
            let (mut i, mut escaped) = (0, false);
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            if i >= bytes.len() || name.is_empty() || name.contains(' ') {
                return params;
            }
            let raw = &quoted[..i];
            let value = match escaped {
                true => Cow::Owned(raw.replace("\\\"", "\"").replace("\\]", "]").replace("\\\\", "\\")),
                false => Cow::Borrowed(raw),
            };
            params.push((id, name, value));
            inside = &quoted[i + 1..];
        }
    }
    params
}

fn parse_3164<'a>(pri: Option<u8>, rest: &'a str, reference_ms: i64, out: &mut LineFields<'a>) -> bool {
    // `Mmm dd hh:mm:ss ` (the day space-padded).
    if rest.len() < 16 || !rest.is_char_boundary(16) || rest.as_bytes()[15] != b' ' {
        return false;
    }
    let (stamp, rest) = rest.split_at(16);
    // The stamp is ASCII; sliced at fixed offsets below, anything else could split a character.
    if !stamp.is_ascii() {
        return false;
    }
    let Some(month) = month(&stamp[..3]) else { return false };
    let Ok(day) = stamp[4..6].trim_start().parse::<u32>() else { return false };
    let hms: Vec<u32> = stamp[7..15].split(':').filter_map(|p| p.parse().ok()).collect();
    let [h, m, s] = hms[..] else { return false };
    let Some(reference) = Utc.timestamp_millis_opt(reference_ms).single() else { return false };
    let at = |year: i32| {
        NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .map(|t| t.and_utc().timestamp_millis())
    };
    let time_ms = match at(reference.year()) {
        Some(ms) if ms <= reference_ms + 86_400_000 => Some(ms),
        _ => at(reference.year() - 1),
    };
    let Some(time_ms) = time_ms else { return false };
    // `HOST TAG[PID]: MSG` (a tag is optional).
    let Some((host, rest)) = rest.split_once(' ') else { return false };
    if host.is_empty() {
        return false;
    }
    out.time_ms = Some(time_ms);
    match pri {
        Some(pri) => set_priority(pri, out),
        None => out.level = sniff_level(rest),
    }
    out.attr("hostname", Cow::Borrowed(host));
    let tag_end = rest.find(": ").filter(|&end| !rest[..end].contains(' '));
    match tag_end {
        Some(end) => {
            let tag = &rest[..end];
            match tag.split_once('[') {
                Some((app, pid)) if pid.ends_with(']') => {
                    out.attr("app_name", Cow::Borrowed(app));
                    out.attr("proc_id", Cow::Borrowed(&pid[..pid.len() - 1]));
                }
                _ => out.attr("app_name", Cow::Borrowed(tag)),
            }
            out.attr("msg", Cow::Borrowed(&rest[end + 2..]));
        }
        None => out.attr("msg", Cow::Borrowed(rest)),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: i64 = 1_795_168_800_000; // 2026-11-20T10:00:00Z

    fn attr<'a>(out: &'a LineFields<'_>, key: &str) -> Option<&'a str> {
        out.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// Found by the `line` fuzz target's long campaign (fuzz/regressions/line/): a 3164 stamp
    /// whose first three bytes end inside a character was sliced there, and panicked.
    #[test]
    fn a_bsd_stamp_with_a_character_across_its_month_is_not_syslog() {
        for line in ["<13>J文xxxxxxxxxxx host tag: m", "J文xxxxxxxxxxx host tag: m"] {
            let mut out = LineFields::default();
            assert!(!parse(line, REFERENCE, &mut out), "{line}");
        }
    }

    #[test]
    fn rfc_5424_with_and_without_structured_data() {
        let line = r#"<165>1 2026-11-20T09:59:58.003Z web-1.example.org checkout 4242 ID47 [exampleSDID@32473 iut="3" eventSource="App\]lication"] order placed"#;
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, REFERENCE, &mut out));
        assert_eq!((attr(&out, "facility"), attr(&out, "severity")), (Some("local4"), Some("notice")));
        assert_eq!(
            (attr(&out, "app_name"), attr(&out, "proc_id"), attr(&out, "msg_id")),
            (Some("checkout"), Some("4242"), Some("ID47"))
        );
        assert_eq!(attr(&out, "structured_data"), Some(r#"[exampleSDID@32473 iut="3" eventSource="App\]lication"]"#));
        assert_eq!(attr(&out, "exampleSDID@32473.iut"), Some("3"));
        assert_eq!(attr(&out, "exampleSDID@32473.eventSource"), Some("App]lication"));
        assert_eq!(attr(&out, "version"), Some("1"));
        assert_eq!(attr(&out, "msg"), Some("order placed"));
        assert_eq!(out.time_ms, Some(REFERENCE - 1_997));

        let mut out = LineFields::default();
        assert!(parse("<11>1 - host app - - - disk full", REFERENCE, &mut out));
        assert_eq!((out.level, out.time_ms, attr(&out, "msg")), (Some(Level::Error), None, Some("disk full")));
    }

    #[test]
    fn bsd_lines_take_the_year_of_the_reference() {
        let line = "Nov  3 09:23:38 veridian automount[7998]: lookup(file): lookup for foobar failed";
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, REFERENCE, &mut out));
        assert_eq!((attr(&out, "app_name"), attr(&out, "proc_id")), (Some("automount"), Some("7998")));
        assert_eq!(attr(&out, "msg"), Some("lookup(file): lookup for foobar failed"));
        assert_eq!(out.time_ms, Some(1_793_697_818_000)); // 2026-11-03T09:23:38Z

        let mut out = LineFields::default();
        assert!(parse("<38>Dec 31 23:59:59 gw sshd: session closed", REFERENCE - 320 * 86_400_000, &mut out));
        assert_eq!(out.time_ms, Some(1_767_225_599_000), "December read in January: the year before"); // 2025-12-31T23:59:59Z
        assert_eq!(attr(&out, "severity"), Some("info"));
    }

    #[test]
    fn malformed_lines_are_not_syslog() {
        for line in [
            "<999>1 2026-11-20T09:59:58Z h a p m - x",
            "<13>1 yesterday h a p m - x",
            "Nov 31 09:23:38 h x: y",
            "Nov  3 25:23:38 h x: y",
            "Nov  3 09:23:38",
            "<13>1 2026-11-20T09:59:58Z h a p m [unclosed x",
        ] {
            let mut out = LineFields::default();
            assert!(!parse(line, REFERENCE, &mut out), "{line}");
            assert!(out.attributes.is_empty());
        }
    }
}
