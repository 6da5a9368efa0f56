//! The records of one CloudWatch Logs payload: every event normalized, lines a stream split
//! joined, CloudTrail `Records` arrays split, and a flow log header applied to the lines after it.

use std::borrow::Cow;

use crate::config::PipelineConfig;
use crate::decode::bounds::{InputBudget, TooLarge};
use crate::decode::subscription::LogsPayload;
use crate::ingest::report::IngestReport;
use crate::lake::record::Record;
use crate::parse::formats::cloudtrail;
use crate::parse::formats::vpc_flow::FlowFields;
use crate::parse::line::{LineContext, LineFormatChoice, normalize_line, normalize_line_as};
use crate::parse::multiline;

/// The records of a DATA_MESSAGE, and how their number differs from its log events'.
#[derive(Debug, Default)]
pub struct NormalizedPayload<'a> {
    pub records: Vec<Record<'a>>,
    /// Events joined to the event above them (lines a stream split from one event).
    pub joined_lines: usize,
    /// Records beyond the first made from events holding several (CloudTrail `Records` arrays).
    pub split_records: usize,
}

impl NormalizedPayload<'_> {
    /// Adds the counts to a report (the records are counted when delivered).
    pub fn count(&self, report: &mut IngestReport, log_events: usize) {
        report.log_events += log_events;
        report.joined_lines += self.joined_lines;
        report.split_records += self.split_records;
    }
}

/// Where every loglake stack's functions log (`/loglake/<stack>/<function>`, template.yaml).
/// Events of these groups are never ingested, by any stack: an account-level subscription
/// policy can exclude only the groups it names, so without this two stacks' policies would feed
/// each stack's function logs to the other, and back.
pub const OWN_LOG_GROUP_PREFIX: &str = "/loglake/";

pub fn is_own_log_group(log_group: &str) -> bool {
    log_group.starts_with(OWN_LOG_GROUP_PREFIX)
}

/// Turns every log event of a DATA_MESSAGE into records: one per event, except that lines a
/// stream split from one event are joined (runtime log groups, [`multiline`]) and a CloudTrail
/// `Records` array becomes one record per element (ids `<event id>:<index>`, each element's
/// JSON as its message). `source` is how the payload came: straight from the subscription, or
/// through a Kinesis / Firehose stream. Each record made is added to `budget` (the input's), and
/// the payload is refused as soon as it goes past a bound.
pub fn normalize_payload<'a>(
    payload: &'a LogsPayload<'a>,
    source: &'static str,
    config: &'a PipelineConfig,
    ingest_time_ms: i64,
    budget: &mut InputBudget,
) -> Result<NormalizedPayload<'a>, TooLarge> {
    let mut envelope = Vec::new();
    match payload.subscription_filters.as_slice() {
        [] => {}
        [one] => envelope.push((Cow::Borrowed("subscription_filters"), Cow::Borrowed(one.as_ref()))),
        many => envelope.push((Cow::Borrowed("subscription_filters"), Cow::Owned(many.join(",")))),
    }
    if let Some(level) = &payload.policy_level {
        envelope.push((Cow::Borrowed("policy_level"), Cow::Borrowed(level.as_ref())));
    }
    let ctx = LineContext {
        source,
        account_id: Cow::Borrowed(payload.owner.as_ref()),
        region: Cow::Borrowed(config.region.as_str()),
        log_group: Cow::Borrowed(payload.log_group.as_ref()),
        log_stream: Cow::Borrowed(payload.log_stream.as_ref()),
        ingest_time_ms,
        max_event_time_skew_secs: config.max_event_time_skew_secs,
        envelope,
        line_format: config.line_formats.for_log_group(payload.log_group.as_ref()),
    };
    let events = &payload.log_events;
    let groups = if config.multiline.for_log_group(&payload.log_group) {
        multiline::groups(events.iter().map(|e| e.message.as_ref()))
    } else {
        (0..events.len()).map(|first| multiline::Group { first, lines: 1, orphan: false }).collect()
    };
    let mut out = NormalizedPayload { records: Vec::with_capacity(events.len()), ..NormalizedPayload::default() };
    // A flow log header line (`version srcaddr …`, as at the top of flow log files) names the
    // field order of the lines after it in this payload.
    let mut header_format: Option<LineFormatChoice> = None;
    for group in groups {
        let event = &events[group.first];
        // A header is one line: one the joiner took lines after is read as any other group (else
        // the lines it joined were dropped).
        if group.lines == 1
            && matches!(ctx.line_format, LineFormatChoice::Auto | LineFormatChoice::VpcFlow(_))
            && let Some(fields) = FlowFields::from_header(event.message.as_ref())
        {
            header_format = Some(LineFormatChoice::VpcFlow(fields));
            let mut record =
                normalize_line(&ctx, Cow::Borrowed(event.id.as_ref()), event.timestamp_ms(), event.message.as_ref());
            record.attributes.push((Cow::Borrowed("flow_log_header"), Cow::Borrowed("true")));
            budget.add_record(record.attributes.len())?;
            out.records.push(record);
            continue;
        }
        let line_format = header_format.as_ref().unwrap_or(ctx.line_format);
        if group.lines == 1
            && let Some(elements) = cloudtrail::records_array(event.message.as_ref())
        {
            out.split_records += elements.len().saturating_sub(1);
            for (index, element) in elements.into_iter().enumerate() {
                let id = Cow::Owned(format!("{}:{index}", event.id));
                let record = normalize_line(&ctx, id, event.timestamp_ms(), element);
                budget.add_record(record.attributes.len())?;
                out.records.push(record);
            }
            continue;
        }
        let id = Cow::Borrowed(event.id.as_ref());
        let mut record = normalize_line_as(&ctx, line_format, id, event.timestamp_ms(), event.message.as_ref());
        if group.lines > 1 {
            // Lines a stream split from one event: the first line's record, with the whole text.
            let lines = &events[group.first..group.first + group.lines];
            let text: Vec<&str> = lines.iter().map(|e| e.message.trim_end_matches(['\n', '\r'])).collect();
            record.message = Cow::Owned(text.join("\n"));
            record.attributes.push((Cow::Borrowed("multiline_lines"), Cow::Owned(group.lines.to_string())));
            out.joined_lines += group.lines - 1;
        }
        if group.orphan {
            record.attributes.push((Cow::Borrowed("multiline"), Cow::Borrowed("continuation")));
        }
        budget.add_record(record.attributes.len())?;
        out.records.push(record);
    }
    Ok(out)
}
