//! The tests of what RELIABILITY.md promises, across functions: every function through a proxy
//! that injects S3 and AWS API faults (tests/faults.rs). This library holds what those tests
//! share — the client policy they run with, the source's retries, the workload — and is no part
//! of any function.

use std::time::Duration;

use loglake::lake::storage::AwsClientPolicy;

/// The functions' policy ([`AwsClientPolicy::FUNCTIONS`]) with the waits shortened, so that a
/// test of thousands of calls runs in seconds: the same attempts, the same logic.
pub const TEST_POLICY: AwsClientPolicy = AwsClientPolicy {
    initial_backoff: Duration::from_millis(10),
    max_backoff: Duration::from_millis(200),
    connect_timeout: Duration::from_secs(1),
    attempt_timeout: Duration::from_secs(1),
    ..AwsClientPolicy::FUNCTIONS
};

/// How long a stalled request of the fault proxy hangs: past [`TEST_POLICY`]'s attempt timeout.
pub const STALL: Duration = Duration::from_secs(2);

/// Invocations a source makes of one input at most, here. (Lambda's async retries stop at 3
/// and Kinesis's at the mapping's setting; a test that needs more has found a function that
/// cannot get through the fault rate.)
pub const SOURCE_ATTEMPTS: usize = 30;

/// What the source did to get one input through: invocations that failed before one succeeded.
#[derive(Debug, Default, Clone, Copy)]
pub struct SourceRetries {
    pub inputs: usize,
    pub failed_invocations: usize,
}

impl SourceRetries {
    /// Invokes until an invocation succeeds, as a source retries a failed one; panics after
    /// [`SOURCE_ATTEMPTS`].
    pub async fn until_ok<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
        &mut self,
        what: &str,
        mut invoke: impl FnMut() -> F,
    ) -> T {
        self.inputs += 1;
        for _ in 0..SOURCE_ATTEMPTS {
            match invoke().await {
                Ok(value) => return value,
                Err(_) => self.failed_invocations += 1,
            }
        }
        match invoke().await {
            Ok(value) => value,
            Err(error) => panic!("{what}: {SOURCE_ATTEMPTS} invocations failed, the last with {error}"),
        }
    }
}

/// One log event of the workload: its id, time and message.
pub type Event = (String, i64, String);

/// `payloads` groups of `per_payload` events with unique ids, in time order as CloudWatch Logs
/// sends them, over the two hours before `now_ms` (a payload spans half an hour, so that many
/// span two partitions): JSON and text lines of a web service.
pub fn workload(payloads: usize, per_payload: usize, now_ms: i64) -> Vec<Vec<Event>> {
    let mut rng = loglake::testing::Rng(0x5eed_1234 ^ payloads as u64);
    let first = now_ms - 2 * 3_600_000;
    (0..payloads)
        .map(|p| {
            let start = first + (p as i64 * 7_200_000) / payloads as i64;
            let mut times: Vec<i64> = (0..per_payload).map(|_| start + rng.below(1_800_000) as i64).collect();
            times.sort();
            times
                .into_iter()
                .enumerate()
                .map(|(e, time)| {
                    let id = format!("{p:05}-{e:03}");
                    let message = match rng.below(3) {
                        0 => format!("{{\"level\":\"info\",\"path\":\"/api/{}\",\"id\":\"{id}\"}}", rng.below(50)),
                        1 => format!("GET /static/{} 200 {} id={id}", rng.below(1000), rng.below(5000)),
                        _ => format!("WARN retrying upstream {} after {} ms ({id})", rng.below(8), rng.below(900)),
                    };
                    (id, time, message)
                })
                .collect()
        })
        .collect()
}

/// The messages of `events` by event id, as a reader must see them.
pub fn by_id<'a>(events: impl IntoIterator<Item = &'a Event>) -> std::collections::BTreeMap<String, String> {
    events.into_iter().map(|(id, _, message)| (id.clone(), message.clone())).collect()
}
