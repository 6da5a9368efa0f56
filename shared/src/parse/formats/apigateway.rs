//! API Gateway access logs in a JSON format (REST, HTTP and WebSocket APIs): a JSON object with
//! `requestId`, `status` and `httpMethod`, `routeKey` or `eventType`. Keys become snake_case
//! attributes (`http_method`, `route_key`, `resource_path`, `status`, `response_length`,
//! `integration_latency` …); `requestId` is the request id, `requestTime` (CLF time) or
//! `requestTimeEpoch` the event time; 5xx is an error and 4xx a warning.

use std::borrow::Cow;

use crate::parse::fields::{LineFields, snake_case};
use crate::parse::raw_json::{self, Entries};

pub(crate) fn is_record(entries: &Entries<'_>) -> bool {
    let has = |key: &str| raw_json::find(entries, key).is_some();
    has("requestId") && has("status") && (has("httpMethod") || has("routeKey") || has("eventType"))
}

pub(crate) fn parse<'a>(entries: Entries<'a>, out: &mut LineFields<'a>) {
    for (key, raw) in entries {
        let Some(text) = raw_json::text(raw) else { continue };
        match key.as_ref() {
            "requestId" => {
                out.request_id = Some(text);
                continue;
            }
            "requestTime" => {
                if let Some(ms) = super::access_log::clf_time_ms(&text) {
                    out.time_ms = Some(ms);
                }
            }
            "requestTimeEpoch" => {
                if let Some(ms) = text.parse::<f64>().ok().and_then(crate::parse::timestamp::epoch_number_to_ms) {
                    out.time_ms = Some(ms);
                }
            }
            "status" => out.level = text.parse::<u16>().ok().map(super::http_status_level),
            _ => {}
        }
        out.attributes.push((Cow::Owned(snake_case(&key)), text));
    }
}
