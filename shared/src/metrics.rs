//! The metrics loglake's functions emit, as CloudWatch embedded-metric-format (EMF) lines: a
//! function prints the line on standard output and CloudWatch Logs turns it into metrics, with no
//! API call and no permission beyond writing its log.
//!
//! Every metric is in namespace [`NAMESPACE`] with the dimension `Stack` (the CloudFormation
//! stack, so that two stacks in one account never add up), alone and with `Function`; the
//! template's alarms watch the `Stack`-only series. The line is built here, from the counts a
//! run reports; the function binaries print it (`loglake-lambda`), so that the CLI and tests
//! print nothing.

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "loglake";
pub const STACK_DIMENSION: &str = "Stack";
pub const FUNCTION_DIMENSION: &str = "Function";

/// Every metric a function emits. The names are the CloudWatch metric names: the template's
/// alarms refer to them, and a test ties each alarm to a metric here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Records written to the lake (ingest functions).
    RecordsWritten,
    /// Bytes of log message text in those records.
    MessageBytes,
    /// Inputs written under `errors/` instead of the lake: undecodable input (ingest) and files
    /// compaction set aside. Nothing there is read again unless someone acts.
    DeadLetters,
    /// Rows written by a compaction run.
    RowsCompacted,
    /// Hours a compaction run could not merge (their staging waits for the next run).
    CompactionHoursFailed,
    /// Hours with staging ready that a run left for the next (its input bound was reached).
    CompactionHoursWaiting,
    /// Age of the oldest staging object not yet compacted, after a run: how far readers of
    /// `logs` (not `logs_all`) and the rollups lag behind what arrived.
    OldestStagingAge,
    /// One per rollup window run (with dimensions Query and State).
    QueryRuns,
    BytesScanned,
    EngineTime,
    CostUSD,
    /// Rollup windows whose query failed, was cancelled or gave no storable summary.
    RollupWindowsFailed,
}

impl Metric {
    pub const ALL: &[Metric] = &[
        Metric::RecordsWritten,
        Metric::MessageBytes,
        Metric::DeadLetters,
        Metric::RowsCompacted,
        Metric::CompactionHoursFailed,
        Metric::CompactionHoursWaiting,
        Metric::OldestStagingAge,
        Metric::QueryRuns,
        Metric::BytesScanned,
        Metric::EngineTime,
        Metric::CostUSD,
        Metric::RollupWindowsFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::RecordsWritten => "RecordsWritten",
            Metric::MessageBytes => "MessageBytes",
            Metric::DeadLetters => "DeadLetters",
            Metric::RowsCompacted => "RowsCompacted",
            Metric::CompactionHoursFailed => "CompactionHoursFailed",
            Metric::CompactionHoursWaiting => "CompactionHoursWaiting",
            Metric::OldestStagingAge => "OldestStagingAge",
            Metric::QueryRuns => "QueryRuns",
            Metric::BytesScanned => "BytesScanned",
            Metric::EngineTime => "EngineTime",
            Metric::CostUSD => "CostUSD",
            Metric::RollupWindowsFailed => "RollupWindowsFailed",
        }
    }

    /// The CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::MessageBytes | Metric::BytesScanned => "Bytes",
            Metric::OldestStagingAge => "Seconds",
            Metric::EngineTime => "Milliseconds",
            Metric::CostUSD => "None",
            _ => "Count",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.iter().copied().find(|m| m.name() == name)
    }
}

/// Values of one moment, and the dimensions beyond `Stack` and `Function` they belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub values: Vec<(Metric, f64)>,
    /// Further dimensions, each series adding the next one (`Query`, then `Query` and `State`).
    pub dimensions: Vec<(&'static str, String)>,
    pub at_ms: i64,
}

impl Measurement {
    pub fn new(at_ms: i64, values: Vec<(Metric, f64)>) -> Self {
        Measurement { values, dimensions: Vec::new(), at_ms }
    }
}

/// The EMF line of `measurement`, as function `function` of stack `stack` prints it; `None`
/// when it holds no value.
pub fn emf_line(stack: &str, function: &str, measurement: &Measurement) -> Option<String> {
    if measurement.values.is_empty() {
        return None;
    }
    let mut dimension_sets = vec![vec![STACK_DIMENSION], vec![STACK_DIMENSION, FUNCTION_DIMENSION]];
    for n in 1..=measurement.dimensions.len() {
        let mut set = vec![STACK_DIMENSION, FUNCTION_DIMENSION];
        set.extend(measurement.dimensions[..n].iter().map(|(name, _)| *name));
        dimension_sets.push(set);
    }
    let definitions: Vec<Value> =
        measurement.values.iter().map(|(m, _)| json!({"Name": m.name(), "Unit": m.unit()})).collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": measurement.at_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": dimension_sets, "Metrics": definitions}],
        }),
    );
    line.insert(STACK_DIMENSION.into(), stack.into());
    line.insert(FUNCTION_DIMENSION.into(), function.into());
    for (name, value) in &measurement.dimensions {
        line.insert((*name).into(), value.as_str().into());
    }
    for (metric, value) in &measurement.values {
        line.insert(metric.name().into(), json!(value));
    }
    Some(Value::Object(line).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_each_value_under_the_stack_alone_and_with_the_function() {
        let measurement = Measurement {
            values: vec![(Metric::DeadLetters, 2.0), (Metric::OldestStagingAge, 90.0)],
            dimensions: vec![("Query", "errors_by_hour".into()), ("State", "FAILED".into())],
            at_ms: 1_795_168_900_000,
        };
        let line: Value = serde_json::from_str(&emf_line("prod-logs", "compactor", &measurement).unwrap()).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "loglake");
        assert_eq!(
            declared["Dimensions"],
            json!([
                ["Stack"],
                ["Stack", "Function"],
                ["Stack", "Function", "Query"],
                ["Stack", "Function", "Query", "State"]
            ])
        );
        assert_eq!(declared["Metrics"][1], json!({"Name": "OldestStagingAge", "Unit": "Seconds"}));
        assert_eq!(line["_aws"]["Timestamp"], 1_795_168_900_000i64);
        assert_eq!(
            (&line["Stack"], &line["Function"], &line["State"]),
            (&json!("prod-logs"), &json!("compactor"), &json!("FAILED"))
        );
        assert_eq!((line["DeadLetters"].as_f64(), line["OldestStagingAge"].as_f64()), (Some(2.0), Some(90.0)));
        assert_eq!(emf_line("s", "f", &Measurement::new(0, vec![])), None);
    }

    #[test]
    fn names_are_distinct_and_found_again() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(*metric));
        }
        assert_eq!(Metric::from_name("Errors"), None);
    }
}
