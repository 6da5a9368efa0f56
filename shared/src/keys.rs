//! Object keys. Log content reaches a key only through [`slug`] (a restricted alphabet) and
//! a hash, so no log group name can add a path segment, a `..`, or a character S3 or a
//! filesystem treats specially. Keys are deterministic functions of the input so that a
//! retried invocation rewrites the same objects.

use sha2::{Digest, Sha256};

use crate::partition::Partition;

pub const STAGING_PREFIX: &str = "staging/logs/";
pub const ERRORS_PREFIX: &str = "errors/";

/// A readable, safe stand-in for a name: ASCII letters, digits, `-` and `_` kept, runs of
/// anything else become one `_`, at most 48 bytes. Not unique: keys add a hash for that.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(48));
    for c in name.chars() {
        if out.len() >= 48 {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() { "x".to_owned() } else { trimmed.to_owned() }
}

/// Incremental hash of the parts that identify an input. Parts are length-prefixed so that
/// ("ab","c") and ("a","bc") differ.
#[derive(Clone, Default)]
pub struct InputHasher(Sha256);

impl InputHasher {
    pub fn new() -> Self {
        InputHasher(Sha256::new())
    }

    pub fn part(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The first `hex_len` hex digits of the digest (at most 64).
    pub fn hex(&self, hex_len: usize) -> String {
        let digest = self.0.clone().finalize();
        let mut out = String::with_capacity(64);
        for byte in digest {
            out.push_str(&format!("{byte:02x}"));
        }
        out.truncate(hex_len.min(64));
        out
    }
}

/// `staging/logs/dt=…/hour=…/<source>-<slug>-<hash>.parquet`
pub fn staging_key(partition: &Partition, source: &str, name: &str, input_hash: &str) -> String {
    format!("{STAGING_PREFIX}{}/{}-{}-{}.parquet", partition.path(), slug(source), slug(name), input_hash)
}

/// `errors/<source>/<hash>.json`
pub fn dead_letter_key(source: &str, input_hash: &str) -> String {
    format!("{ERRORS_PREFIX}{}/{}.json", slug(source), input_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_safe_segment(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=".contains(c)) && s != ".." && s != "."
    }

    #[test]
    fn hostile_log_group_names_stay_one_safe_segment() {
        let p = Partition { year: 2024, month: 5, day: 1, hour: 7 };
        for name in [
            "/aws/lambda/my-fn",
            "../../etc/passwd",
            "a/b/../../c",
            "name with spaces & ünïcödé 🦀",
            "'; DROP TABLE logs; --",
            "%2e%2e%2f",
            "",
            "////",
            &"x".repeat(600),
        ] {
            let key = staging_key(&p, "cloudwatch", name, "0123abcd");
            let rest = key.strip_prefix("staging/logs/dt=2024-05-01/hour=07/").expect(&key);
            assert!(is_safe_segment(rest), "{key}");
            assert!(rest.len() < 120, "{key}");
        }
    }

    #[test]
    fn slug_keeps_readable_names() {
        assert_eq!(slug("/aws/lambda/my-fn"), "aws_lambda_my-fn");
        assert_eq!(slug("🦀"), "x");
    }

    #[test]
    fn hash_parts_are_unambiguous() {
        let a = InputHasher::new().part("ab").part("c").hex(64);
        let b = InputHasher::new().part("a").part("bc").hex(64);
        assert_ne!(a, b);
        assert_eq!(a, InputHasher::new().part("ab").part("c").hex(64));
        assert_eq!(a.len(), 64);
    }
}
