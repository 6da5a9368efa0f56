//! Resident memory of this process, from /proc/self/status (Linux), in KB: `VmRSS:` now,
//! `VmHWM:` the peak. 0 where the file or field is missing.
pub fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
