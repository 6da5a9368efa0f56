//! What the benchmarks share: a small seeded generator, so every run sees the same workload.
#![allow(dead_code)] // each bench uses a different part

/// xorshift64*: fast, seeded, good enough to vary generated log lines.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
