//! logfmt (`time=… level=info msg="cache miss" key=user:42`): every field of the line is a
//! `key=value` pair, values bare or double-quoted (backslash escapes), or a bare key (a flag,
//! `true`, as go-logfmt and Vector read it) while those are fewer than the pairs. Keys become
//! attributes as written; `level`/`lvl`/`severity` give the level and
//! `time`/`ts`/`timestamp`/`@timestamp` the time.

use std::borrow::Cow;

use crate::lake::record::Level;
use crate::parse::fields::LineFields;
use crate::parse::timestamp::parse_text_ms;

fn key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@' | b'/' | b'#')
}

/// A quick test: the line starts with `key=`.
pub(crate) fn might_be(line: &str) -> bool {
    let b = line.as_bytes();
    let key = b.iter().take_while(|&&c| key_char(c)).count();
    key > 0 && b.get(key) == Some(&b'=')
}

/// The pairs of a line that is logfmt all through; none otherwise.
fn pairs(line: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut flags = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && key_char(bytes[i]) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let key = &line[start..i];
        if matches!(bytes.get(i), None | Some(b' ')) {
            // A bare key: a flag.
            flags += 1;
            out.push((key, Cow::Borrowed("true")));
            continue;
        }
        if bytes[i] != b'=' {
            return None;
        }
        i += 1;
        let value = if bytes.get(i) == Some(&b'"') {
            let value_start = i + 1;
            let mut j = value_start;
            let mut escaped = false;
            while j < bytes.len() && bytes[j] != b'"' {
                if bytes[j] == b'\\' {
                    escaped = true;
                    j += 1;
                }
                j += 1;
            }
            if j >= bytes.len() {
                return None;
            }
            let raw = &line[value_start..j];
            i = j + 1;
            if !matches!(bytes.get(i), None | Some(b' ')) {
                return None; // `"…"x`: not a value and a key
            }
            if escaped { Cow::Owned(unescape(raw)) } else { Cow::Borrowed(raw) }
        } else {
            let value_start = i;
            while i < bytes.len() && bytes[i] != b' ' {
                if bytes[i] == b'"' {
                    return None;
                }
                i += 1;
            }
            Cow::Borrowed(&line[value_start..i])
        };
        out.push((key, value));
    }
    // Prose with an equals sign in it is not logfmt: pairs must outnumber the bare words.
    let pairs = out.len() - flags;
    (pairs >= 2 && flags < pairs).then_some(out)
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

pub(crate) fn parse<'a>(line: &'a str, out: &mut LineFields<'a>) -> bool {
    let Some(pairs) = pairs(line) else { return false };
    for (key, value) in pairs {
        match key {
            "level" | "lvl" | "severity" if out.level.is_none() => out.level = Level::parse(&value),
            "time" | "ts" | "timestamp" | "@timestamp" if out.time_ms.is_none() => out.time_ms = parse_text_ms(&value),
            _ => {}
        }
        out.attributes.push((Cow::Borrowed(key), value));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_quoted_values_level_and_time() {
        let line = r#"time="2026-11-20T09:59:59.5Z" level=warning msg="retry \"pricing\" in 2s" attempt=3 empty="#;
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, &mut out));
        assert_eq!(out.level, Some(Level::Warn));
        assert_eq!(out.time_ms, Some(1_795_168_799_500));
        let attrs: Vec<(&str, &str)> = out.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert!(attrs.contains(&("msg", r#"retry "pricing" in 2s"#)) && attrs.contains(&("empty", "")), "{attrs:?}");
    }

    /// Vector's examples (../shared/corpus/fixtures/vrl_parse_examples): a bare key is a flag, and
    /// keys may hold `@` and `#`.
    #[test]
    fn bare_keys_are_flags_and_keys_hold_at_and_hash_signs() {
        let line = "zork=zook plonk zonk=nork";
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, &mut out));
        let attrs: Vec<(&str, &str)> = out.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(attrs, [("zork", "zook"), ("plonk", "true"), ("zonk", "nork")]);

        let line = r#"@timestamp="2021-01-10T16:47:39Z" level=info tag#production=stopping_fetchers id=C-1"#;
        let mut out = LineFields::default();
        assert!(might_be(line) && parse(line, &mut out));
        assert_eq!(out.time_ms, Some(1_610_297_259_000));
        assert!(out.attributes.iter().any(|(k, v)| k == "tag#production" && v == "stopping_fetchers"));
    }

    #[test]
    fn prose_with_an_equals_sign_is_not_logfmt() {
        for line in [
            "x=1 and then some words",
            "a=1",
            r#"a="unclosed b=2"#,
            "a=1 b=\"2\"x c=3",
            "= nothing",
            "a=1 b=2 but not c=3 logfmt",
        ] {
            let mut out = LineFields::default();
            assert!(!parse(line, &mut out), "{line}");
            assert!(out.attributes.is_empty());
        }
    }
}
