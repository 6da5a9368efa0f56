//! Athena SQL → DataFusion SQL: the one place where the two dialects' differences are handled.
//! Query files (and `loglake query`) are written in Athena's dialect (Trino); the local engine
//! runs them after these renames. Only function names change, outside string literals, quoted
//! identifiers and comments; every shipped query is planned through this in the tests.
//!
//! | Athena (Trino)                  | DataFusion                          | why                                   |
//! |---------------------------------|-------------------------------------|---------------------------------------|
//! | `element_at(map, key)`          | `get_field(map, key)`               | DataFusion's `element_at` on a map returns a one-element list |
//! | `approx_percentile(x, p)`       | `approx_percentile_cont(x, p)`      | the name differs                      |

/// Function renames, by their Athena name (matched case-insensitively, followed by `(`).
const RENAMES: &[(&str, &str)] = &[("element_at", "get_field"), ("approx_percentile", "approx_percentile_cont")];

/// `sql` in DataFusion's dialect.
pub fn athena_to_datafusion(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 32);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        // Literals, quoted identifiers and comments are copied as they are.
        let skip_to = match c {
            b'\'' | b'"' => Some(closing_quote(bytes, i, c)),
            b'-' if bytes.get(i + 1) == Some(&b'-') => Some(sql[i..].find('\n').map_or(bytes.len(), |n| i + n)),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                Some(sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2))
            }
            _ => None,
        };
        if let Some(end) = skip_to {
            out.push_str(&sql[i..end]);
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            let word = &sql[i..end];
            let called = sql[end..].trim_start().starts_with('(');
            match RENAMES.iter().find(|(athena, _)| called && word.eq_ignore_ascii_case(athena)) {
                Some((_, datafusion)) => out.push_str(datafusion),
                None => out.push_str(word),
            }
            i = end;
            continue;
        }
        let width = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + width]);
        i += width;
    }
    out
}

/// The index just after the quote that closes the one at `start` (a doubled quote escapes).
fn closing_quote(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_renamed_and_nothing_else() {
        let sql = "SELECT ELEMENT_AT(attributes, 'element_at(x)'), approx_percentile (d, 0.5), \"element_at\" -- element_at(\n, element_at_x(1), approx_percentile_cont(d, 0.5) /* approx_percentile( */ FROM t WHERE m = 'it''s element_at('";
        assert_eq!(
            athena_to_datafusion(sql),
            "SELECT get_field(attributes, 'element_at(x)'), approx_percentile_cont (d, 0.5), \"element_at\" -- element_at(\n, element_at_x(1), approx_percentile_cont(d, 0.5) /* approx_percentile( */ FROM t WHERE m = 'it''s element_at('"
        );
        assert_eq!(athena_to_datafusion("SELECT 'é', element_at(m, 'ü')"), "SELECT 'é', get_field(m, 'ü')");
        assert_eq!(athena_to_datafusion("SELECT 'unclosed element_at("), "SELECT 'unclosed element_at(");
    }
}
