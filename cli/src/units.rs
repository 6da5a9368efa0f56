//! How the commands print sizes.

/// `1.5 MiB`, `12.0 KiB`, `512 B`.
pub fn human(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_printed_in_the_largest_unit_that_fits() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(12 * 1024), "12.0 KiB");
        assert_eq!(human(3 << 19), "1.5 MiB");
    }
}
