//! Hive partitions (`dt=YYYY-MM-DD/hour=HH`) computed from event time in a configured zone.

use chrono::{DateTime, Datelike, TimeZone, Timelike};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl Partition {
    /// The partition of an event time (ms since the epoch) in `zone`. Times outside chrono's
    /// range (±262,000 years) cannot occur: event times are clamped to plausible values first;
    /// should one slip through it lands in 1970-01-01/00 rather than panicking.
    pub fn of(event_time_ms: i64, zone: Tz) -> Partition {
        let utc = DateTime::from_timestamp_millis(event_time_ms).unwrap_or_default();
        let local = zone.from_utc_datetime(&utc.naive_utc());
        Partition { year: local.year(), month: local.month(), day: local.day(), hour: local.hour() }
    }

    /// `2024-05-01`
    pub fn dt(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `05`
    pub fn hour(&self) -> String {
        format!("{:02}", self.hour)
    }

    /// `dt=2024-05-01/hour=05`
    pub fn path(&self) -> String {
        format!("dt={}/hour={}", self.dt(), self.hour())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-05-01T23:30:00Z
    const T: i64 = 1_714_606_200_000;

    #[test]
    fn utc_partition() {
        assert_eq!(Partition::of(T, Tz::UTC).path(), "dt=2024-05-01/hour=23");
    }

    #[test]
    fn tokyo_partition_crosses_midnight() {
        assert_eq!(Partition::of(T, chrono_tz::Asia::Tokyo).path(), "dt=2024-05-02/hour=08");
    }

    #[test]
    fn half_hour_zone() {
        assert_eq!(Partition::of(T, chrono_tz::Asia::Kolkata).path(), "dt=2024-05-02/hour=05");
    }

    #[test]
    fn out_of_range_time_does_not_panic() {
        assert_eq!(Partition::of(i64::MAX, Tz::UTC).path(), "dt=1970-01-01/hour=00");
    }
}
