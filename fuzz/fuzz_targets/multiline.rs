//! Joining a stream's lines: the groups cover every line once, in order, none empty and none
//! longer than MAX_JOINED_LINES.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loglake::parse::multiline::{MAX_JOINED_LINES, groups};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines: Vec<&str> = text.split('\n').collect();
    let mut next = 0;
    for group in groups(lines.iter().copied()) {
        assert_eq!(group.first, next, "groups are contiguous");
        assert!(group.lines >= 1 && group.lines <= MAX_JOINED_LINES);
        next += group.lines;
    }
    assert_eq!(next, lines.len(), "every line is in a group");
});
