//! Rollup query files (the `-- loglake:` header and `{{…}}` placeholders) and window names:
//! never a panic, and a parsed file renders for any window.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loglake::rollup::query_file::{QueryFile, Window, WindowBounds};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for window in [Window::Hourly, Window::Daily] {
        let _ = WindowBounds::parse(window, text, chrono_tz::Tz::America__New_York);
    }
    if let Ok(file) = QueryFile::parse("fuzz", text) {
        let at = chrono::DateTime::from_timestamp(1_795_168_900, 0).expect("a valid instant");
        let bounds = WindowBounds::last_closed(file.window, at, chrono_tz::Tz::UTC);
        let _ = file.render(&bounds);
    }
});
