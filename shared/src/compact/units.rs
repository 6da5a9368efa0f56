//! An hour larger than one unit of work is split into units by ranges of event time, each merged
//! on its own — in this process one after another, or as concurrent invocations of the compactor
//! (docs/compaction-design.md, "Units").
//!
//! Two copies of a record share their event time, so they fall in the same range and still meet
//! in one merge: deduplication stays exact. Time, not log group, because that is how the inputs
//! are local: a staging file holds one delivery (a Kinesis or Firehose batch mixes many groups,
//! but its events lie within minutes), and the curated files a unit writes hold its time range.
//! A unit reads the files whose statistics may hold a row of its range and keeps only those rows;
//! its files are parts `unit × PARTS_PER_UNIT + i` of the run, so units never write the same key.
//! Nothing of a unit is visible before the run's switch, which happens only when every unit of
//! the hour has answered.

use std::sync::Arc;

use arrow_array::{Array, BooleanArray, RecordBatch, TimestampMillisecondArray};
use parquet::file::statistics::Statistics;
use serde::{Deserialize, Serialize};

use crate::compact::delta::read_footer;
use crate::lake::storage::{ListedObject, ObjectStore, StorageError};

/// Parts numbers a unit may use: unit `u` writes parts from `u × PARTS_PER_UNIT`. A unit closes a
/// file at the curated file size, so this is far more than one unit writes.
pub const PARTS_PER_UNIT: usize = 10_000;

/// The rows whose `event_time` (ms) is from `from` (inclusive) until `until` (exclusive); `None`
/// is open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyRange {
    pub from: Option<i64>,
    pub until: Option<i64>,
}

impl KeyRange {
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    fn contains(&self, time: i64) -> bool {
        self.from.is_none_or(|from| time >= from) && self.until.is_none_or(|until| time < until)
    }

    /// Whether a file whose rows lie within `lowest..=highest` may hold a row of this range.
    fn overlaps(&self, lowest: i64, highest: i64) -> bool {
        self.from.is_none_or(|from| highest >= from) && self.until.is_none_or(|until| lowest < until)
    }

    /// The rows of `batch` in this range.
    pub fn filter(&self, batch: RecordBatch) -> Result<RecordBatch, String> {
        if self.is_all() {
            return Ok(batch);
        }
        let times = batch
            .column_by_name("event_time")
            .and_then(|c| c.as_any().downcast_ref::<TimestampMillisecondArray>())
            .ok_or("no event_time column of the table's type")?;
        // A null time sorts first, as the merge sorts it.
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|i| Some(self.contains(if times.is_null(i) { i64::MIN } else { times.value(i) })))
            .collect();
        if keep.false_count() == 0 {
            return Ok(batch);
        }
        arrow_select::filter::filter_record_batch(&batch, &keep).map_err(|e| e.to_string())
    }
}

/// One unit of a run's work: the rows of `range` in an hour, from the files that may hold them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub hour: String,
    pub run: u64,
    /// Its place among the hour's units; its files are parts from `index × PARTS_PER_UNIT`.
    pub index: usize,
    pub range: KeyRange,
    pub curated: Vec<String>,
    pub staging: Vec<String>,
    /// The bytes of its input files (some shared with other units).
    pub input_bytes: u64,
    /// A unit run elsewhere starts no write at or after this time (ms since the epoch): the
    /// run's lease less a margin, so that no write of it can land after another run has taken
    /// the lease and cleaned up. `None` in the process holding the lease.
    pub write_until_ms: Option<i64>,
    /// Rows of the typed formats go to the typed tables (the run's, so that a unit run elsewhere
    /// splits as the run does).
    #[serde(default)]
    pub typed_tables: bool,
}

impl Unit {
    /// The whole hour as one unit.
    pub fn whole(hour: &str, run: u64, curated: Vec<String>, staging: Vec<String>, input_bytes: u64) -> Unit {
        Unit {
            hour: hour.to_owned(),
            run,
            index: 0,
            range: KeyRange::default(),
            curated,
            staging,
            input_bytes,
            write_until_ms: None,
            typed_tables: false,
        }
    }
}

/// Where an input file's rows lie in event time, from its footer's statistics.
#[derive(Debug)]
struct Span {
    key: String,
    size: u64,
    curated: bool,
    /// `None`: no usable statistics (the file goes to every unit), or no readable footer (the
    /// file goes to the first unit only, whose merge sets it aside).
    bounds: Option<(i64, i64)>,
    readable: bool,
}

/// Splits an hour into units of about `unit_bytes` of input each (at least one unit). Reads the
/// footers of the hour's files (ranged reads, a few at once) when it has more than one unit's
/// bytes; a smaller hour is one unit without reading anything.
pub async fn plan_units(
    store: &dyn ObjectStore,
    hour: &str,
    run: u64,
    curated: &[ListedObject],
    staging: &[ListedObject],
    unit_bytes: u64,
) -> Result<Vec<Unit>, StorageError> {
    use futures_util::StreamExt;

    let total: u64 = curated.iter().chain(staging).map(|o| o.size).sum();
    let keys = |objects: &[ListedObject]| objects.iter().map(|o| o.key.clone()).collect();
    if total <= unit_bytes.max(1) {
        return Ok(vec![Unit::whole(hour, run, keys(curated), keys(staging), total)]);
    }
    let inputs = curated.iter().map(|o| (o, true)).chain(staging.iter().map(|o| (o, false)));
    let spans: Vec<Span> = futures_util::stream::iter(inputs)
        .map(|(object, curated)| async move {
            let (bounds, readable) = match read_footer(store, object).await {
                Ok((metadata, _)) => (time_bounds(&metadata), true),
                Err(crate::compact::delta::DeltaError::Storage(error)) => return Err(error),
                Err(_) => (None, false),
            };
            Ok(Span { key: object.key.clone(), size: object.size, curated, bounds, readable })
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let count = total.div_ceil(unit_bytes.max(1)) as usize;
    let ranges = cut(&spans, count);
    let units = ranges
        .into_iter()
        .enumerate()
        .map(|(index, range)| {
            let mut unit = Unit { range, index, ..Unit::whole(hour, run, Vec::new(), Vec::new(), 0) };
            for span in &spans {
                let takes = match span.bounds {
                    Some((lowest, highest)) => unit.range.overlaps(lowest, highest),
                    None => span.readable || index == 0,
                };
                if takes {
                    unit.input_bytes += span.size;
                    if span.curated { &mut unit.curated } else { &mut unit.staging }.push(span.key.clone());
                }
            }
            unit
        })
        .collect();
    Ok(units)
}

/// At most `count` ranges of about equal bytes: each file's bytes are taken as spread evenly over
/// its time range (an estimate, which sets the units' sizes, never what they hold), and the cuts
/// fall where the running total passes each share.
fn cut(spans: &[Span], count: usize) -> Vec<KeyRange> {
    // Bytes per millisecond over each file's range, as (start, end, bytes) events swept in order.
    let bounded: Vec<(i64, i64, f64)> = spans
        .iter()
        .filter_map(|s| s.bounds.map(|(lo, hi)| (lo, hi.max(lo).saturating_add(1), s.size as f64)))
        .collect();
    let total: f64 = bounded.iter().map(|b| b.2).sum();
    let mut points: Vec<i64> = bounded.iter().flat_map(|b| [b.0, b.1]).collect();
    points.sort_unstable();
    points.dedup();
    let mut cuts: Vec<i64> = Vec::new();
    let mut before = 0.0;
    for window in points.windows(2) {
        let (start, end) = (window[0], window[1]);
        // The bytes in [start, end): every file covering it adds its share.
        let density: f64 = bounded
            .iter()
            .filter(|b| b.0 <= start && end <= b.1)
            .map(|b| b.2 / b.1.saturating_sub(b.0).max(1) as f64)
            .sum();
        let mut at = start;
        while cuts.len() + 1 < count && density > 0.0 && at < end {
            let goal = total * (cuts.len() + 1) as f64 / count as f64;
            let reached = before + density * end.saturating_sub(at) as f64;
            if reached < goal {
                break;
            }
            let point = at.saturating_add(((goal - before) / density).ceil() as i64);
            let point = point.clamp(at + 1, end);
            if cuts.last().is_none_or(|&last| point > last) {
                cuts.push(point);
            }
            before += density * point.saturating_sub(at) as f64;
            at = point;
        }
        before += density * end.saturating_sub(at) as f64;
    }
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut from = None;
    for cut in cuts {
        ranges.push(KeyRange { from, until: Some(cut) });
        from = Some(cut);
    }
    ranges.push(KeyRange { from, until: None });
    ranges
}

/// The lowest and highest event time a file may hold, from its row groups' statistics.
fn time_bounds(metadata: &Arc<parquet::file::metadata::ParquetMetaData>) -> Option<(i64, i64)> {
    let schema = metadata.file_metadata().schema_descr();
    let column = (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == "event_time")?;
    let (mut lowest, mut highest) = (i64::MAX, i64::MIN);
    for row_group in metadata.row_groups() {
        match row_group.column(column).statistics() {
            Some(Statistics::Int64(times)) if times.null_count_opt() == Some(0) => {
                lowest = lowest.min(*times.min_opt()?);
                highest = highest.max(*times.max_opt()?);
            }
            _ => return None,
        }
    }
    (lowest <= highest).then_some((lowest, highest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_their_lower_bound_and_not_their_upper() {
        let r = KeyRange { from: Some(10), until: Some(20) };
        assert!(r.contains(10) && r.contains(19));
        assert!(!r.contains(9) && !r.contains(20));
        assert!(KeyRange::default().contains(i64::MIN));
        assert!(r.overlaps(0, 10) && r.overlaps(19, 30) && !r.overlaps(0, 9) && !r.overlaps(20, 30));
    }

    fn span(lo: i64, hi: i64, size: u64) -> Span {
        Span { key: format!("{lo}-{hi}"), size, curated: false, bounds: Some((lo, hi)), readable: true }
    }

    #[test]
    fn cuts_share_the_bytes_evenly_over_time() {
        // 400 bytes spread evenly over [0, 400): four ranges of 100 ms.
        let ranges = cut(&[span(0, 199, 200), span(200, 399, 200)], 4);
        let cuts: Vec<_> = ranges.iter().filter_map(|r| r.until).collect();
        assert_eq!(cuts, [100, 200, 300]);
        // One large file and many small ones: the cuts follow the bytes, not the file count.
        let mut spans = vec![span(0, 99, 1_000)];
        spans.extend((0..10).map(|i| span(100 + i * 10, 109 + i * 10, 10)));
        let ranges = cut(&spans, 2);
        assert_eq!(ranges.len(), 2);
        assert!(ranges[0].until.unwrap() < 100, "{ranges:?}");
    }

    #[test]
    fn one_instant_cannot_be_split() {
        let ranges = cut(&[span(5, 5, 1_000), span(5, 5, 1_000)], 4);
        assert_eq!(ranges, [KeyRange { from: None, until: Some(6) }, KeyRange { from: Some(6), until: None }]);
    }
}
