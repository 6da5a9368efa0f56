//! What a parser found in a line ([`LineFields`]), and the rules every parser names attributes by.

use std::borrow::Cow;

use crate::lake::record::Level;

/// At most this many attributes per record (a record with thousands of keys is kept whole in
/// `message`; the map would only bloat the file).
pub const MAX_ATTRIBUTES: usize = 256;

/// What a parser found in a line, borrowed from it where possible.
#[derive(Debug, Default)]
pub struct LineFields<'a> {
    pub level: Option<Level>,
    pub time_ms: Option<i64>,
    pub request_id: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> LineFields<'a> {
    pub fn attr(&mut self, key: &'static str, value: impl Into<Cow<'a, str>>) {
        self.attributes.push((Cow::Borrowed(key), value.into()));
    }

    /// The same fields, no longer borrowing the text they were read from.
    pub fn into_owned<'b>(self) -> LineFields<'b> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        LineFields {
            level: self.level,
            time_ms: self.time_ms,
            request_id: self.request_id.map(owned),
            trace_id: self.trace_id.map(owned),
            attributes: self.attributes.into_iter().map(|(k, v)| (owned(k), owned(v))).collect(),
        }
    }
}

/// `billedDurationMs`, `Billed Duration`, `user-agent` → `billed_duration_ms`, `billed_duration`,
/// `user_agent`: attribute names from the keys of a format.
pub fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
            previous_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}
