//! Joining the lines of one event that a log stream split into several (a container's stdout
//! reaches CloudWatch Logs one line per event): Java stack traces (`at …`, `Caused by: …`,
//! `... N more`, the exception line under a log line), Python tracebacks (from `Traceback …` to
//! the exception line), and any line indented under the line before.
//!
//! [`groups`] only decides which consecutive lines belong together; the pipeline normalizes
//! each group's first line (its id and time are the event's) and stores the joined text as the
//! message, so nothing is dropped. A batch that starts with a continuation line (its head was in
//! an earlier batch) keeps it as an event of its own, marked.

/// Lines joined into one event at most: a longer run of continuation lines goes on in a new
/// event, marked as a continuation like the head of a batch. One record stays a readable size
/// (and far below Athena's 32 MB row limit) however many indented lines a stream sends.
pub const MAX_JOINED_LINES: usize = 1000;

/// Consecutive lines that form one event: `first..first + lines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub first: usize,
    pub lines: usize,
    /// The group starts with a continuation line: its head was in an earlier batch.
    pub orphan: bool,
}

/// Java's `java.lang.IllegalStateException: …` / `com.example.FooError` line.
fn is_exception_line(line: &str) -> bool {
    let name = line.split([':', ' ']).next().unwrap_or("");
    name.contains('.')
        && (name.ends_with("Exception") || name.ends_with("Error") || name.ends_with("Throwable"))
        && name
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$'))
}

/// Python's last traceback line: `ValueError: bad input`, `requests.exceptions.Timeout`.
fn is_python_exception_line(line: &str) -> bool {
    let name = line.split(':').next().unwrap_or("");
    !name.is_empty()
        && name.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

fn indented(line: &str) -> bool {
    line.starts_with([' ', '\t']) && !line.trim().is_empty()
}

/// Whether `line` continues the event whose lines so far are described by `state`.
fn continues(line: &str, state: &State) -> bool {
    indented(line)
        || line.starts_with("Caused by: ")
        || (state.traceback && state.last_indented && is_python_exception_line(line))
        || (state.lines == 1 && is_exception_line(line) && !is_exception_line(state.head))
}

/// Marks that make a line the start of a continuation when it opens a batch.
fn looks_continued(line: &str) -> bool {
    indented(line) || line.starts_with("Caused by: ")
}

struct State<'l> {
    head: &'l str,
    lines: usize,
    traceback: bool,
    last_indented: bool,
}

/// The events of a batch of lines of one log stream, in order.
pub fn groups<'l>(lines: impl IntoIterator<Item = &'l str>) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut state: Option<State<'l>> = None;
    for (i, line) in lines.into_iter().enumerate() {
        let line = line.trim_end_matches(['\n', '\r']);
        if let (Some(current), Some(group)) = (state.as_mut(), out.last_mut())
            && continues(line, current)
            && group.lines < MAX_JOINED_LINES
        {
            group.lines += 1;
            current.lines += 1;
            let was_indented = current.last_indented;
            current.last_indented = indented(line);
            // A traceback ends at its exception line: the first unindented line after the frames.
            if current.traceback && was_indented && !current.last_indented {
                current.traceback = false;
            }
            continue;
        }
        // A continuation with no event to join (the batch's first line, or one past the join
        // bound) is an event of its own, marked.
        let orphan = (i == 0 || state.as_ref().is_some_and(|s| continues(line, s))) && looks_continued(line);
        out.push(Group { first: i, lines: 1, orphan });
        state = Some(State {
            head: line,
            lines: 1,
            traceback: line.starts_with("Traceback (most recent call last):"),
            last_indented: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(lines: &[&str]) -> Vec<(usize, usize, bool)> {
        groups(lines.iter().copied()).into_iter().map(|g| (g.first, g.lines, g.orphan)).collect()
    }

    #[test]
    fn a_java_stack_trace_is_one_event() {
        let lines = [
            "2026-11-20 10:00:01,123 ERROR [main] c.e.Checkout - order failed",
            "java.lang.IllegalStateException: cart is empty",
            "\tat com.example.Checkout.place(Checkout.java:42)",
            "\tat com.example.Main.main(Main.java:7)",
            "Caused by: java.io.IOException: pricing unreachable",
            "\tat com.example.Pricing.get(Pricing.java:9)",
            "\t... 2 more",
            "2026-11-20 10:00:02,000 INFO [main] c.e.Checkout - next order",
        ];
        assert_eq!(shape(&lines), [(0, 7, false), (7, 1, false)]);
    }

    #[test]
    fn a_join_stops_at_its_bound_and_goes_on_as_a_marked_continuation() {
        let mut lines = vec!["ERROR boom"];
        lines.extend(std::iter::repeat_n("\tat com.example.Deep.call(Deep.java:1)", 2 * MAX_JOINED_LINES + 10));
        lines.push("next event");
        assert_eq!(
            shape(&lines),
            [
                (0, MAX_JOINED_LINES, false),
                (MAX_JOINED_LINES, MAX_JOINED_LINES, true),
                (2 * MAX_JOINED_LINES, 11, true),
                (2 * MAX_JOINED_LINES + 11, 1, false)
            ]
        );
    }

    #[test]
    fn a_python_traceback_ends_at_its_exception_line() {
        let lines = [
            "Traceback (most recent call last):",
            "  File \"/app/worker.py\", line 42, in <module>",
            "    main()",
            "ValueError: bad input",
            "worker restarted",
        ];
        assert_eq!(shape(&lines), [(0, 4, false), (4, 1, false)]);
        // Cut short: the line after the frames is not an exception line, so not part of it.
        let cut = ["Traceback (most recent call last):", "  File \"/app/worker.py\", line 42", "level=debug msg=x"];
        assert_eq!(shape(&cut), [(0, 2, false), (2, 1, false)]);
    }

    #[test]
    fn indented_lines_join_the_line_above_and_plain_lines_stay_apart() {
        let lines = ["config loaded:", "  port: 8080", "  workers: 4", "listening", "", "done"];
        assert_eq!(shape(&lines), [(0, 3, false), (3, 1, false), (4, 1, false), (5, 1, false)]);
    }

    #[test]
    fn a_batch_that_starts_inside_an_event_keeps_it_apart_and_marked() {
        let lines = ["\tat com.example.Main.main(Main.java:7)", "\t... 2 more", "next event"];
        assert_eq!(shape(&lines), [(0, 2, true), (2, 1, false)]);
    }

    #[test]
    fn two_exception_lines_in_a_row_are_two_events() {
        let lines = ["java.lang.IllegalStateException: a", "java.lang.IllegalStateException: b"];
        assert_eq!(shape(&lines), [(0, 1, false), (1, 1, false)]);
    }
}
