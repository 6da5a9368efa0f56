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
    // The typed tables' prefixes are their names (lake::typed).
    let typed: Vec<String> =
        loglake::lake::typed::CuratedTable::all().map(|t| t.prefix()).filter(|p| p != "logs/").collect();
    let prefixes: Vec<&str> = ALL_PREFIXES.iter().copied().chain(typed.iter().map(String::as_str)).collect();
    assert!(table.len() >= prefixes.len(), "{table:?}");
    for prefix in &prefixes {
        assert!(table.iter().any(|row| row.starts_with(prefix)), "{prefix} is not in the README's layout table");
    }
    for row in &table {
        assert!(prefixes.iter().any(|prefix| row.starts_with(prefix)), "{row:?} is under no prefix of lake::layout");
    }
}

/// Partition projection enumerates every `dt` a writer can produce: the first day an event time
/// is trusted, in the westmost zone, to the last, in the eastmost (old code: projection started
/// at 2020 while 2000–2019 was written, and ended at today's UTC date while Tokyo's partitions
/// were already tomorrow's).
#[test]
fn projection_covers_every_partition_a_writer_can_produce() {
    use chrono::{DateTime, Duration};
    use loglake::lake::layout::Partition;
    use loglake::lake::schema::PROJECTION_DT_RANGE;
    use loglake::parse::timestamp::{MAX_FUTURE_MS, MIN_PLAUSIBLE_MS};

    let (first, last) = PROJECTION_DT_RANGE.split_once(',').unwrap();
    let westmost: chrono_tz::Tz = "Etc/GMT+12".parse().unwrap();
    let eastmost: chrono_tz::Tz = "Pacific/Kiritimati".parse().unwrap();
    let earliest = Partition::of(MIN_PLAUSIBLE_MS, westmost).path();
    assert_eq!(earliest.split('/').next().unwrap(), format!("dt={first}"), "{earliest}");

    // NOW+<n>DAYS, counted from the UTC date: the latest trusted time, in the eastmost zone.
    let days: i64 = last.strip_prefix("NOW+").and_then(|d| d.strip_suffix("DAYS")).unwrap().parse().unwrap();
    let now = DateTime::parse_from_rfc3339("2026-11-20T23:59:59Z").unwrap().timestamp_millis();
    let latest = Partition::of(now + MAX_FUTURE_MS, eastmost).path();
    let limit =
        (DateTime::from_timestamp_millis(now).unwrap() + Duration::days(days)).format("dt=%Y-%m-%d").to_string();
    assert!(latest.split('/').next().unwrap() <= limit.as_str(), "{latest} beyond {limit}");
}
