//! The query files under `queries/`: their header, the windows they run for, and the only values that ever become part of their SQL — the window's bounds, as typed
//! literals. Log content never becomes SQL text.
//!
//! A query file is SQL with a header of `-- key: value` lines:
//!
//! ```sql
//! -- window: hourly            (hourly | daily)
//! -- schedule: cron(10 * * * ? *)
//! -- output: errors_by_group_hourly
//! SELECT … FROM logs_all WHERE dt = {{dt}} AND hour = {{hour}} …
//! ```
//!
//! Placeholders: `{{dt}}` (`'YYYY-MM-DD'`), `{{hour}}` (`'HH'`, hourly windows only), `{{start}}`
//! and `{{end}}` (`TIMESTAMP 'YYYY-MM-DD HH:MM:SS.000'`, the window is `[start, end)`).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::lake::layout::partition_of;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hourly,
    Daily,
}

impl Window {
    fn length(self) -> Duration {
        match self {
            Window::Hourly => Duration::hours(1),
            Window::Daily => Duration::days(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryFile {
    /// The file's name without `.sql`: `[a-z0-9_]+`.
    pub name: String,
    pub window: Window,
    /// An EventBridge schedule expression: `rate(…)` or `cron(…)`.
    pub schedule: String,
    /// The summary table the result goes to: `[a-z0-9_]+`.
    pub output: String,
    /// The SQL after the header, placeholders unrendered.
    pub sql: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueryFileError {
    #[error("{file}: {problem}")]
    Invalid { file: String, problem: String },
}

fn identifier(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl QueryFile {
    /// Reads a query file; `name` is its file name without `.sql`.
    pub fn parse(name: &str, text: &str) -> Result<QueryFile, QueryFileError> {
        let invalid = |problem: String| QueryFileError::Invalid { file: format!("{name}.sql"), problem };
        if !identifier(name) {
            return Err(invalid("the file name must be [a-z0-9_]+.sql".into()));
        }
        let (mut window, mut schedule, mut output) = (None, None, None);
        let mut sql = Vec::new();
        let mut in_header = true;
        for line in text.lines() {
            let header = line.strip_prefix("--").map(str::trim).and_then(|l| l.split_once(':'));
            match header {
                // A header line is `-- key: value` with a one-word key; the first other line
                // (SQL, or a prose comment) ends the header.
                Some((key, value)) if in_header && identifier(key.trim()) => {
                    let value = value.trim();
                    match key.trim() {
                        "window" => {
                            window = Some(match value {
                                "hourly" => Window::Hourly,
                                "daily" => Window::Daily,
                                other => return Err(invalid(format!("window {other:?}: expected hourly or daily"))),
                            })
                        }
                        "schedule" => {
                            let valid =
                                (value.starts_with("rate(") || value.starts_with("cron(")) && value.ends_with(')');
                            if !valid {
                                return Err(invalid(format!("schedule {value:?}: expected rate(…) or cron(…)")));
                            }
                            schedule = Some(value.to_owned());
                        }
                        "output" => {
                            if !identifier(value) {
                                return Err(invalid(format!("output {value:?}: expected [a-z0-9_]+")));
                            }
                            output = Some(value.to_owned());
                        }
                        other => return Err(invalid(format!("unknown header {other:?}"))),
                    }
                }
                _ => {
                    if !line.trim().is_empty() || !sql.is_empty() {
                        in_header = false;
                        sql.push(line);
                    }
                }
            }
        }
        let missing = |what: &str| invalid(format!("no `-- {what}:` header"));
        let query = QueryFile {
            name: name.to_owned(),
            window: window.ok_or_else(|| missing("window"))?,
            schedule: schedule.ok_or_else(|| missing("schedule"))?,
            output: output.ok_or_else(|| missing("output"))?,
            sql: sql.join("\n").trim().to_owned(),
        };
        if query.sql.is_empty() {
            return Err(invalid("no SQL after the header".into()));
        }
        // Every placeholder must be one a window of this kind can fill.
        query
            .render(&WindowBounds::containing(query.window, DateTime::UNIX_EPOCH, Tz::UTC))
            .map_err(|e| invalid(e.to_string()))?;
        Ok(query)
    }

    /// The SQL for one window, its placeholders replaced by typed literals of the bounds.
    pub fn render(&self, bounds: &WindowBounds) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.sql.len() + 64);
        let mut rest = self.sql.as_str();
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or(RenderError::Unclosed)?;
            let name = after[..close].trim();
            out.push_str(&bounds.literal(name)?);
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    #[error("a `{{{{` without its `}}}}`")]
    Unclosed,
    #[error("unknown placeholder {{{{{0}}}}} (the window's are dt, hour, start, end)")]
    Unknown(String),
    #[error("{{{{hour}}}} in a daily query")]
    HourInDailyWindow,
}

/// One window a query runs for: a local hour or day on the lake's partition clock (the zone the
/// `dt`/`hour` partitions are computed in, `LOGLAKE_PARTITION_TIME_ZONE`), so that its partition
/// filter names exactly the partitions holding its events. Across a daylight-saving change a
/// local hour may hold two real hours (clocks go back) or none (clocks go forward): the window's
/// instants `[start_utc, end_utc)` say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowBounds {
    pub window: Window,
    /// The window's first local hour (hourly) or midnight (daily), as the partitions name it.
    pub start: NaiveDateTime,
    /// The zone of the partitions.
    pub zone: Tz,
}

impl WindowBounds {
    /// The window of this kind that contains the instant `at`, on the partition clock of `zone`.
    pub fn containing(window: Window, at: DateTime<Utc>, zone: Tz) -> WindowBounds {
        WindowBounds::containing_local(window, at.with_timezone(&zone).naive_local(), zone)
    }

    /// The window of this kind that contains the local time `local` (a partition's hour).
    pub fn containing_local(window: Window, local: NaiveDateTime, zone: Tz) -> WindowBounds {
        let start = match window {
            Window::Hourly => local.date().and_hms_opt(local.hour(), 0, 0),
            Window::Daily => local.date().and_hms_opt(0, 0, 0),
        };
        WindowBounds { window, start: start.unwrap_or(local), zone }
    }

    /// The last window that has closed by `now`.
    pub fn last_closed(window: Window, now: DateTime<Utc>, zone: Tz) -> WindowBounds {
        let current = WindowBounds::containing(window, now, zone);
        WindowBounds { start: current.start - window.length(), ..current }
    }

    /// A window named as `YYYY-MM-DD` (daily) or `YYYY-MM-DDTHH` (hourly), on `zone`'s clock.
    pub fn parse(window: Window, text: &str, zone: Tz) -> Result<WindowBounds, String> {
        let bad =
            || format!("{text:?}: expected {}", if window == Window::Hourly { "YYYY-MM-DDTHH" } else { "YYYY-MM-DD" });
        let (date, hour) = match window {
            Window::Daily => (text, 0),
            Window::Hourly => {
                let (date, hour) = text.split_once('T').ok_or_else(bad)?;
                let hour: u32 = hour.parse().ok().filter(|h| *h < 24 && hour.len() == 2).ok_or_else(bad)?;
                (date, hour)
            }
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let start = date.and_hms_opt(hour, 0, 0).ok_or_else(bad)?;
        Ok(WindowBounds { window, start, zone })
    }

    /// The hourly window of a key's partition (`…/dt=2026-11-20/hour=09/…` under `prefix`), on
    /// `zone`'s clock; `None` for a key outside the partitions.
    pub fn hour_of_key(key: &str, prefix: &str, zone: Tz) -> Option<WindowBounds> {
        let partition = partition_of(key, prefix)?;
        // `dt=2026-11-20/hour=09` → `2026-11-20T09`
        let name = partition.replacen("dt=", "", 1).replacen("/hour=", "T", 1);
        WindowBounds::parse(Window::Hourly, &name, zone).ok()
    }

    /// The window's name, the form [`WindowBounds::parse`] reads: `2026-11-20T09`, `2026-11-20`.
    pub fn name(&self) -> String {
        match self.window {
            Window::Hourly => self.start.format("%Y-%m-%dT%H").to_string(),
            Window::Daily => self.start.format("%Y-%m-%d").to_string(),
        }
    }

    /// The Hive partition of the window's summary: `dt=2026-11-20/hour=09/` or `dt=2026-11-20/`.
    pub fn partition(&self) -> String {
        match self.window {
            Window::Hourly => self.start.format("dt=%Y-%m-%d/hour=%H/").to_string(),
            Window::Daily => self.start.format("dt=%Y-%m-%d/").to_string(),
        }
    }

    /// `dt = '…' AND hour = '…'` (daily: `dt = '…'`): the partitions of the window, as SQL.
    pub fn partition_filter(&self) -> String {
        match self.window {
            Window::Hourly => {
                format!("dt = '{}' AND hour = '{}'", self.start.format("%Y-%m-%d"), self.start.format("%H"))
            }
            Window::Daily => format!("dt = '{}'", self.start.format("%Y-%m-%d")),
        }
    }

    /// The first instant of the window.
    pub fn start_utc(&self) -> DateTime<Utc> {
        instant(self.zone, self.start)
    }

    /// The first instant after the window (the window is `[start_utc, end_utc)`; empty for a local
    /// hour that does not exist).
    pub fn end_utc(&self) -> DateTime<Utc> {
        instant(self.zone, self.start + self.window.length())
    }

    /// A placeholder's value as SQL: built from the bounds only, in a fixed shape. `start` and
    /// `end` are instants, as `event_time` holds them (UTC).
    fn literal(&self, name: &str) -> Result<String, RenderError> {
        Ok(match name {
            "dt" => format!("'{}'", self.start.format("%Y-%m-%d")),
            "hour" if self.window == Window::Hourly => format!("'{}'", self.start.format("%H")),
            "hour" => return Err(RenderError::HourInDailyWindow),
            "start" => format!("TIMESTAMP '{}'", self.start_utc().format("%Y-%m-%d %H:%M:%S%.3f")),
            "end" => format!("TIMESTAMP '{}'", self.end_utc().format("%Y-%m-%d %H:%M:%S%.3f")),
            other => return Err(RenderError::Unknown(other.to_owned())),
        })
    }
}

/// The instant a local wall-clock time on `zone` names: the first, when clocks going back make it
/// occur twice; when clocks going forward skip it, the instant they skip to.
fn instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // A gap is at most a few hours; step forward by minutes until the clock exists again.
    for _ in 0..24 * 60 {
        if let Some(at) = zone.from_local_datetime(&probe).earliest() {
            return at.with_timezone(&Utc);
        }
        probe += Duration::minutes(1);
    }
    local.and_utc()
}

/// The rollups loglake ships (`queries/*.sql`), embedded so every binary runs the same text.
const SHIPPED_FILES: &[(&str, &str)] = &[
    ("errors_by_group_hourly", include_str!("../../../queries/errors_by_group_hourly.sql")),
    ("lambda_reports_hourly", include_str!("../../../queries/lambda_reports_hourly.sql")),
    ("http_requests_hourly", include_str!("../../../queries/http_requests_hourly.sql")),
    ("vpc_top_talkers_hourly", include_str!("../../../queries/vpc_top_talkers_hourly.sql")),
    ("vpc_rejects_daily", include_str!("../../../queries/vpc_rejects_daily.sql")),
];

/// The shipped query files, parsed.
pub fn shipped() -> Result<Vec<QueryFile>, QueryFileError> {
    SHIPPED_FILES.iter().map(|(name, text)| QueryFile::parse(name, text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "-- window: hourly\n-- schedule: cron(10 * * * ? *)\n-- output: errors_hourly\n\nSELECT count(*) FROM logs_all\nWHERE dt = {{dt}} AND hour = {{ hour }} AND event_time >= {{start}} AND event_time < {{end}}\n";

    #[test]
    fn a_query_file_renders_its_window_as_typed_literals() {
        let query = QueryFile::parse("errors_hourly", FILE).unwrap();
        assert_eq!((query.window, query.output.as_str()), (Window::Hourly, "errors_hourly"));
        let bounds = WindowBounds::parse(Window::Hourly, "2026-11-20T09", Tz::UTC).unwrap();
        assert_eq!(
            query.render(&bounds).unwrap(),
            "SELECT count(*) FROM logs_all\nWHERE dt = '2026-11-20' AND hour = '09' AND event_time >= TIMESTAMP '2026-11-20 09:00:00.000' AND event_time < TIMESTAMP '2026-11-20 10:00:00.000'"
        );
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:07:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(WindowBounds::last_closed(Window::Hourly, now, Tz::UTC), bounds);
        let daily = WindowBounds::last_closed(Window::Daily, now, Tz::UTC);
        assert_eq!(
            (daily.start_utc().to_rfc3339(), daily.end_utc().to_rfc3339()),
            ("2026-11-19T00:00:00+00:00".into(), "2026-11-20T00:00:00+00:00".into())
        );
    }

    /// Windows follow the partition clock: the run at 10:07 UTC takes the last closed local hour
    /// and names its partitions; `{{start}}`/`{{end}}` are the instants (UTC) of that hour. (Old
    /// code: the window was the UTC hour 09, whose dt/hour in New York is still in the future.)
    #[test]
    fn windows_are_local_hours_and_days_of_the_partition_zone() {
        let query = QueryFile::parse("errors_hourly", FILE).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:07:00Z").unwrap().with_timezone(&Utc);
        let new_york = WindowBounds::last_closed(Window::Hourly, now, chrono_tz::America::New_York);
        assert_eq!(new_york.name(), "2026-11-20T04");
        assert_eq!(
            query.render(&new_york).unwrap(),
            "SELECT count(*) FROM logs_all\nWHERE dt = '2026-11-20' AND hour = '04' AND event_time >= TIMESTAMP '2026-11-20 09:00:00.000' AND event_time < TIMESTAMP '2026-11-20 10:00:00.000'"
        );
        let tokyo = WindowBounds::last_closed(Window::Hourly, now, chrono_tz::Asia::Tokyo);
        assert_eq!((tokyo.name(), tokyo.partition()), ("2026-11-20T18".into(), "dt=2026-11-20/hour=18/".into()));
        let tokyo_day = WindowBounds::last_closed(Window::Daily, now, chrono_tz::Asia::Tokyo);
        assert_eq!(tokyo_day.name(), "2026-11-19");
        assert_eq!(tokyo_day.start_utc().to_rfc3339(), "2026-11-18T15:00:00+00:00");

        // Clocks going back (New York, 2026-11-01): local hour 01 holds two real hours, and the
        // day 25. Clocks going forward (2026-03-08): local hour 02 holds none, the day 23.
        let zone = chrono_tz::America::New_York;
        let twice = WindowBounds::parse(Window::Hourly, "2026-11-01T01", zone).unwrap();
        assert_eq!((twice.end_utc() - twice.start_utc()).num_hours(), 2);
        let day = WindowBounds::parse(Window::Daily, "2026-11-01", zone).unwrap();
        assert_eq!((day.end_utc() - day.start_utc()).num_hours(), 25);
        let skipped = WindowBounds::parse(Window::Hourly, "2026-03-08T02", zone).unwrap();
        assert_eq!(skipped.start_utc(), skipped.end_utc(), "an hour that does not exist is empty");
        assert_eq!(skipped.start_utc().to_rfc3339(), "2026-03-08T07:00:00+00:00");
        let day = WindowBounds::parse(Window::Daily, "2026-03-08", zone).unwrap();
        assert_eq!((day.end_utc() - day.start_utc()).num_hours(), 23);
    }

    #[test]
    fn bad_files_and_windows_are_refused_with_the_reason() {
        let cases = [
            ("Bad-Name", FILE, "file name"),
            ("q", "-- window: weekly\n-- schedule: rate(1 hour)\n-- output: o\nSELECT 1", "window"),
            ("q", "-- window: daily\n-- schedule: every hour\n-- output: o\nSELECT 1", "schedule"),
            ("q", "-- window: daily\n-- schedule: rate(1 day)\n-- output: o; DROP\nSELECT 1", "output"),
            ("q", "-- window: daily\n-- schedule: rate(1 day)\nSELECT 1", "output"),
            ("q", "-- window: daily\n-- schedule: rate(1 day)\n-- output: o\n", "no SQL"),
            ("q", "-- window: daily\n-- schedule: rate(1 day)\n-- output: o\nSELECT {{hour}}", "daily"),
            (
                "q",
                "-- window: daily\n-- schedule: rate(1 day)\n-- output: o\nSELECT {{message}}",
                "unknown placeholder",
            ),
            ("q", "-- window: daily\n-- schedule: rate(1 day)\n-- output: o\nSELECT {{dt", "without"),
            ("q", "-- window: daily\n-- owner: me\n", "unknown header"),
        ];
        for (name, text, expected) in cases {
            let error = QueryFile::parse(name, text).unwrap_err().to_string();
            assert!(error.contains(expected), "{name}: {error:?} should say {expected:?}");
        }
        for (window, text) in [
            (Window::Hourly, "2026-11-20"),
            (Window::Hourly, "2026-11-20T24"),
            (Window::Daily, "2026-13-01"),
            (Window::Hourly, "2026-11-20T9'"),
        ] {
            assert!(WindowBounds::parse(window, text, Tz::UTC).is_err(), "{text}");
        }
    }
}
