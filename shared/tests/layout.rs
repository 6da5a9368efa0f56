//! The lake's layout is written down twice for people — the README's storage layout table and
//! the documentation of `lake::layout` — and defined once in code. These keep the three equal.

use loglake::lake::layout::ALL_PREFIXES;

/// The lines of the first fenced block after `marker` (`//! ` stripped in Rust docs).
fn table_after(text: &str, marker: &str) -> Vec<String> {
    let rest = &text[text.find(marker).unwrap_or_else(|| panic!("no {marker:?}"))..];
    let lines: Vec<&str> = rest.lines().map(|l| l.strip_prefix("//! ").unwrap_or(l)).collect();
    let open = lines.iter().position(|l| l.starts_with("```")).expect("a fenced block");
    let close = open + 1 + lines[open + 1..].iter().position(|l| l.starts_with("```")).expect("its end");
    lines[open + 1..close].iter().map(|l| l.to_string()).collect()
}

fn readme_table() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    table_after(&readme, "## Storage layout and schema")
}

#[test]
fn the_readme_layout_table_is_the_layout_module_table() {
    let module = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lake/layout.rs")).unwrap();
    assert_eq!(readme_table(), table_after(&module, "//! The layout of the lake"));
}

#[test]
fn every_prefix_of_the_code_is_in_the_table_and_every_row_is_under_one() {
    let table = readme_table();
    assert!(table.len() >= ALL_PREFIXES.len(), "{table:?}");
    for prefix in ALL_PREFIXES {
        assert!(table.iter().any(|row| row.starts_with(prefix)), "{prefix} is not in the README's layout table");
    }
    for row in &table {
        assert!(
            ALL_PREFIXES.iter().any(|prefix| row.starts_with(prefix)),
            "{row:?} is under no prefix of lake::layout"
        );
    }
}
