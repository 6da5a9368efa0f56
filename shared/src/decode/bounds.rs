//! What one input may cost. An input is what a source retries or dead-letters as one: a
//! CloudWatch Logs payload, a Kinesis record (all the user records of a KPL aggregate
//! together), a Firehose record. Its decoded bytes, its lines and the records made from them,
//! and their attributes each have a total bound, checked while the input is decoded, parsed and
//! normalized — never after it has all been built — so that one hostile input cannot exhaust a
//! function's memory. Past a bound the input is a dead letter `too_large`; the rest of the
//! batch lands.
//!
//! The defaults scale with the function's memory ([`InputBounds::for_memory_mb`]): at 128 MB an
//! input may decode to 8 MiB, hold 16,384 lines or records and 524,288 attributes.

/// Memory the bounds assume when the function's is unknown (the CLI, tests): the smallest
/// ingest function's.
pub const DEFAULT_MEMORY_MB: usize = 128;

/// The total bounds of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputBounds {
    /// Decoded (decompressed) bytes, every part of the input together.
    pub decoded_bytes: usize,
    /// Lines or log events of the input, and the records made from them.
    pub lines: usize,
    /// Parsed attributes of all the input's records together.
    pub attributes: usize,
}

impl InputBounds {
    /// Bounds for a function of `memory_mb`: decoded bytes 1/16 of the memory, 128 lines and
    /// 4,096 attributes per MB.
    ///
    /// Legitimate input must be well inside them at the smallest function. A CloudWatch Logs
    /// payload holds what one PutLogEvents call may: 10,000 events, 1 MiB of text. Its densest
    /// AWS service log is VPC flow logs, about 15 attributes per 110-byte line (8,000 lines and
    /// 120,000 attributes in 1 MiB); ALB lines have 30 each. A Kinesis record is at most 1 MiB.
    /// The attributes bound is one per 16 decoded bytes of the byte bound: 1 MiB of attributes of
    /// 4 bytes each fits twice. (It was 512 per MB, which refused a full payload of VPC flow logs
    /// or ALB lines at 128 and 256 MB.)
    ///
    /// An input at the bounds costs about six times its decoded bytes at the peak (its text, its
    /// events, its records, their Parquet encoding), and an input at the attribute bound with tiny
    /// attributes less: shared/benches/hostile.rs measures both inside a 128 MB function's
    /// memory with room for its runtime.
    pub fn for_memory_mb(memory_mb: usize) -> InputBounds {
        let mb = memory_mb.max(DEFAULT_MEMORY_MB);
        InputBounds { decoded_bytes: mb / 16 * 1024 * 1024, lines: mb * 128, attributes: mb * 4096 }
    }

    /// The running totals of one input against these bounds.
    pub fn budget(&self) -> InputBudget {
        InputBudget { bounds: *self, decoded_bytes: 0, lines: 0, attributes: 0 }
    }
}

impl Default for InputBounds {
    fn default() -> Self {
        InputBounds::for_memory_mb(DEFAULT_MEMORY_MB)
    }
}

/// One input's costs so far; each `add_*` refuses to go past its bound.
#[derive(Debug, Clone)]
pub struct InputBudget {
    bounds: InputBounds,
    decoded_bytes: usize,
    lines: usize,
    attributes: usize,
}

/// An input past one of its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the input holds more than {limit} {what} (the bound per input; it scales with the function's memory)")]
pub struct TooLarge {
    /// `decoded bytes`, `lines or records`, `attributes`.
    pub what: &'static str,
    pub limit: usize,
}

impl TooLarge {
    pub fn kind(&self) -> &'static str {
        "too_large"
    }
}

impl InputBudget {
    /// Decoded bytes the input may still produce: the cap for the next decompression.
    pub fn bytes_left(&self) -> usize {
        self.bounds.decoded_bytes - self.decoded_bytes
    }

    pub fn add_bytes(&mut self, bytes: usize) -> Result<(), TooLarge> {
        add(&mut self.decoded_bytes, bytes, self.bounds.decoded_bytes, "decoded bytes")
    }

    /// An input past its byte bound while decompressing (the cap was [`Self::bytes_left`]).
    pub fn bytes_exceeded(&self) -> TooLarge {
        TooLarge { what: "decoded bytes", limit: self.bounds.decoded_bytes }
    }

    pub fn add_lines(&mut self, lines: usize) -> Result<(), TooLarge> {
        add(&mut self.lines, lines, self.bounds.lines, "lines or records")
    }

    pub fn add_attributes(&mut self, attributes: usize) -> Result<(), TooLarge> {
        add(&mut self.attributes, attributes, self.bounds.attributes, "attributes")
    }

    /// One record made, with its attributes.
    pub fn add_record(&mut self, attributes: usize) -> Result<(), TooLarge> {
        self.add_lines(1)?;
        self.add_attributes(attributes)
    }
}

fn add(total: &mut usize, more: usize, limit: usize, what: &'static str) -> Result<(), TooLarge> {
    match total.checked_add(more) {
        Some(sum) if sum <= limit => {
            *total = sum;
            Ok(())
        }
        _ => Err(TooLarge { what, limit }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_scale_with_memory_and_never_fall_below_the_smallest_function() {
        let small = InputBounds::for_memory_mb(128);
        assert_eq!(small, InputBounds { decoded_bytes: 8 << 20, lines: 16_384, attributes: 524_288 });
        assert_eq!(InputBounds::for_memory_mb(0), small);
        let large = InputBounds::for_memory_mb(1024);
        assert_eq!(large.decoded_bytes, 64 << 20);
        assert_eq!(large.lines, 8 * small.lines);
    }

    #[test]
    fn a_budget_refuses_the_addition_that_passes_a_bound_and_keeps_its_total() {
        let mut budget = InputBounds { decoded_bytes: 10, lines: 2, attributes: 3 }.budget();
        assert_eq!(budget.add_bytes(6), Ok(()));
        assert_eq!(budget.bytes_left(), 4);
        assert_eq!(budget.add_bytes(5), Err(TooLarge { what: "decoded bytes", limit: 10 }));
        assert_eq!(budget.add_bytes(4), Ok(()));
        assert_eq!(budget.bytes_left(), 0);
        assert_eq!(budget.add_lines(2), Ok(()));
        assert!(budget.add_lines(1).is_err());
        assert!(budget.add_attributes(usize::MAX).is_err());
        assert_eq!(budget.add_attributes(3), Ok(()));
    }
}
