//! Borrowed JSON: an object's entries with their values as raw JSON text, parsed only as far as
//! a field needs. Strings are unescaped (and so copied) only when they hold escapes. The JSON
//! formats (JSON lines, Lambda platform records, CloudTrail, API Gateway) and agent envelopes
//! read lines through this.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

pub type Entries<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

/// Entries kept of one object: more than any reader of a line needs (at most
/// [`crate::parse::fields::MAX_ATTRIBUTES`] become attributes), few enough that a line of a
/// million tiny keys costs no more than its text. The rest are still checked as JSON.
pub const MAX_OBJECT_ENTRIES: usize = 1024;

/// The entries of `text` when it is exactly one JSON object, in document order (the first
/// [`MAX_OBJECT_ENTRIES`] of them).
pub fn parse_object(text: &str) -> Option<Entries<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = de.deserialize_map(EntriesVisitor).ok()?;
    de.end().ok()?;
    Some(entries)
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8).min(MAX_OBJECT_ENTRIES));
        while let Some(Key(key)) = map.next_key()? {
            if entries.len() == MAX_OBJECT_ENTRIES {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            entries.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(entries)
    }
}

/// A key, borrowed when it has no escapes (`Cow<str>` itself always deserializes owned).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A JSON string's value, unescaped; `None` for anything but a string.
pub fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The text an attribute stores: strings unescaped, numbers / booleans / arrays / objects as
/// written; `None` for null.
pub fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    match raw.get().as_bytes().first() {
        Some(b'"') => string(raw),
        Some(b'n') | None => None,
        _ => Some(Cow::Borrowed(raw.get())),
    }
}

/// [`text`] for strings, numbers and booleans only: an id is never an object or a list.
pub fn scalar_text(raw: &RawValue) -> Option<Cow<'_, str>> {
    match raw.get().as_bytes().first() {
        Some(b'{' | b'[') => None,
        _ => text(raw),
    }
}

pub fn number(raw: &RawValue) -> Option<f64> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => text.parse().ok(),
        _ => None,
    }
}

pub fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

pub fn find<'e, 'a>(entries: &'e Entries<'a>, key: &str) -> Option<&'e &'a RawValue> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_keeps_its_first_entries_and_is_still_checked_whole() {
        let wide: String = (0..5000).map(|k| format!("\"k{k}\":{k}")).collect::<Vec<_>>().join(",");
        let object = format!("{{{wide}}}");
        let entries = parse_object(&object).unwrap();
        assert_eq!(entries.len(), MAX_OBJECT_ENTRIES);
        assert_eq!(entries[MAX_OBJECT_ENTRIES - 1].0, format!("k{}", MAX_OBJECT_ENTRIES - 1));
        // Broken JSON after the kept entries still makes it no object.
        assert!(parse_object(&format!("{{{wide},\"late\":[1,}}")).is_none());
    }
}
