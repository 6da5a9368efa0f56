//! Plain text (`text`): a line no other format reads keeps only a level, sniffed from its start.

use crate::lake::record::Level;

/// Finds a severity word near the start of a line: `ERROR`, `[warn]`, `level=debug`, `W/`…
/// Only the first 200 bytes are looked at: severity is written early, and a long message that
/// merely mentions "error" later on is not an error line.
pub fn sniff_level(line: &str) -> Option<Level> {
    let head = &line.as_bytes()[..line.len().min(200)];
    if head.starts_with(b"Traceback (most recent call last)") {
        return Some(Level::Error);
    }
    let mut start = 0;
    while start < head.len() {
        if !head[start].is_ascii_alphabetic() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < head.len() && head[end].is_ascii_alphabetic() {
            end += 1;
        }
        let word = &head[start..end];
        let before = if start > 0 { head[start - 1] } else { b' ' };
        let after = head.get(end).copied().unwrap_or(b' ');
        // Upper-case words stand on their own; lower-case ones only inside [..] or after level=.
        let all_upper = word.iter().all(u8::is_ascii_uppercase);
        let marked =
            (before == b'[' && after == b']') || (before == b'=' && start >= 6 && head[..start].ends_with(b"level="));
        if (3..=8).contains(&word.len()) && (all_upper || marked) && after != b'_' && before != b'_' {
            // SAFETY of from_utf8: the word is ASCII letters only.
            let text = std::str::from_utf8(word).unwrap_or("");
            if let Some(level) = Level::parse(text) {
                let strong = !matches!(
                    text.to_ascii_uppercase().as_str(),
                    "LOG" | "NOTICE" | "ALERT" | "PANIC" | "DBG" | "INFORMATION" | "VERBOSE"
                );
                if strong || marked {
                    return Some(level);
                }
            }
        }
        start = end;
    }
    None
}
