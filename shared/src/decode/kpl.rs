//! De-aggregation of Kinesis Producer Library (KPL) aggregated records.
//!
//! Format: the 4-byte magic `F3 89 9A C2`, a protobuf `AggregatedRecord`, and the MD5 digest of
//! that protobuf. A record that starts with the magic but fails the checksum or the protobuf
//! parse is bad input (the producer wrote it that way; a retry cannot fix it).
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table     = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records                 = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index     = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes  data                    = 3;
//!   repeated Tag    tags                    = 4;
//! }
//! ```
//!
//! The decoder is written out here (a few dozen lines of wire format) rather than pulling a
//! protobuf code generator into every Lambda build.

use md5::{Digest, Md5};

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// One user record inside an aggregated record, borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord<'a> {
    pub partition_key: &'a str,
    pub explicit_hash_key: Option<&'a str>,
    pub data: &'a [u8],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KplError {
    #[error("KPL record shorter than its magic and checksum ({0} bytes)")]
    TooShort(usize),
    #[error("KPL checksum mismatch: the MD5 trailer does not match the protobuf body")]
    ChecksumMismatch,
    #[error("KPL protobuf is malformed at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: &'static str },
    #[error("KPL record {record} refers to {table} index {index}, but the table has {len} entries")]
    IndexOutOfRange { record: usize, table: &'static str, index: u64, len: usize },
}

impl KplError {
    /// A short stable name for the error, used in dead letters and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            KplError::TooShort(_) => "kpl_too_short",
            KplError::ChecksumMismatch => "kpl_checksum",
            KplError::Malformed { .. } | KplError::IndexOutOfRange { .. } => "kpl_malformed",
        }
    }
}

/// Whether `data` is a KPL aggregated record (by its magic).
pub fn is_aggregated(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// The user records of an aggregated record, in order. Checks the MD5 trailer first.
pub fn deaggregate(data: &[u8]) -> Result<Vec<UserRecord<'_>>, KplError> {
    if data.len() < MAGIC.len() + DIGEST_LEN || !is_aggregated(data) {
        return Err(KplError::TooShort(data.len()));
    }
    let body = &data[MAGIC.len()..data.len() - DIGEST_LEN];
    let digest = &data[data.len() - DIGEST_LEN..];
    if Md5::digest(body).as_slice() != digest {
        return Err(KplError::ChecksumMismatch);
    }

    let mut partition_keys: Vec<&str> = Vec::new();
    let mut hash_keys: Vec<&str> = Vec::new();
    // (partition key index, explicit hash key index, data) until the tables are complete:
    // protobuf does not promise the tables come before the records.
    let mut raw_records: Vec<(u64, Option<u64>, &[u8])> = Vec::new();
    let mut reader = Reader { bytes: body, at: 0, base: MAGIC.len() };
    while !reader.done() {
        let (field, wire) = reader.key()?;
        match (field, wire) {
            (1, 2) => partition_keys.push(reader.string()?),
            (2, 2) => hash_keys.push(reader.string()?),
            (3, 2) => {
                let bytes = reader.bytes()?;
                let base = reader.base + reader.at - bytes.len();
                raw_records.push(parse_record(Reader { bytes, at: 0, base })?);
            }
            _ => reader.skip(wire)?,
        }
    }
    raw_records
        .into_iter()
        .enumerate()
        .map(|(record, (pk, ehk, data))| {
            let partition_key = *partition_keys.get(pk as usize).ok_or(KplError::IndexOutOfRange {
                record,
                table: "partition key",
                index: pk,
                len: partition_keys.len(),
            })?;
            let explicit_hash_key = match ehk {
                None => None,
                Some(i) => Some(*hash_keys.get(i as usize).ok_or(KplError::IndexOutOfRange {
                    record,
                    table: "explicit hash key",
                    index: i,
                    len: hash_keys.len(),
                })?),
            };
            Ok(UserRecord { partition_key, explicit_hash_key, data })
        })
        .collect()
}

fn parse_record(mut reader: Reader<'_>) -> Result<(u64, Option<u64>, &[u8]), KplError> {
    let (mut pk, mut ehk, mut data) = (None, None, None);
    while !reader.done() {
        let (field, wire) = reader.key()?;
        match (field, wire) {
            (1, 0) => pk = Some(reader.varint()?),
            (2, 0) => ehk = Some(reader.varint()?),
            (3, 2) => data = Some(reader.bytes()?),
            _ => reader.skip(wire)?,
        }
    }
    match (pk, data) {
        (Some(pk), Some(data)) => Ok((pk, ehk, data)),
        _ => Err(reader.error("record without partition_key_index or data")),
    }
}

/// Protobuf wire-format reader over a byte slice; `base` is its offset in the whole record,
/// for error messages.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn error(&self, reason: &'static str) -> KplError {
        KplError::Malformed { offset: self.base + self.at, reason }
    }

    fn varint(&mut self) -> Result<u64, KplError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at).ok_or_else(|| self.error("truncated varint"))?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error("varint longer than 10 bytes"))
    }

    fn key(&mut self) -> Result<(u64, u8), KplError> {
        let key = self.varint()?;
        Ok((key >> 3, (key & 7) as u8))
    }

    fn bytes(&mut self) -> Result<&'a [u8], KplError> {
        let len = self.varint()?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| self.at.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error("length runs past the end"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn string(&mut self) -> Result<&'a str, KplError> {
        let at = self.at;
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes)
            .map_err(|_| KplError::Malformed { offset: self.base + at, reason: "key is not UTF-8" })
    }

    fn skip(&mut self, wire: u8) -> Result<(), KplError> {
        let width = match wire {
            0 => return self.varint().map(drop),
            2 => return self.bytes().map(drop),
            1 => 8,
            5 => 4,
            _ => return Err(self.error("unsupported wire type")),
        };
        if self.at + width > self.bytes.len() {
            return Err(self.error("truncated fixed-width field"));
        }
        self.at += width;
        Ok(())
    }
}

/// Aggregates `records` under one partition key, as the KPL does: the inverse of
/// [`deaggregate`]. Tests, fuzz targets and benchmarks build their aggregates with this.
pub fn aggregate(partition_key: &str, records: &[&[u8]]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut n: u64) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    fn bytes_field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
        varint(out, (number << 3) | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    let mut body = Vec::new();
    bytes_field(&mut body, 1, partition_key.as_bytes());
    for data in records {
        let mut record = vec![0x08, 0x00]; // partition_key_index = 0
        bytes_field(&mut record, 3, data);
        bytes_field(&mut body, 3, &record);
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&Md5::digest(&body));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wraps a protobuf body the way the KPL does.
    fn wrap(body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(body);
        out.extend_from_slice(&Md5::digest(body));
        out
    }

    fn field(number: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn aggregate_is_the_inverse_of_deaggregate() {
        let big = vec![b'x'; 300];
        let data = aggregate("pk", &[b"one", b"", &big]);
        let records = deaggregate(&data).unwrap();
        let datas: Vec<&[u8]> = records.iter().map(|r| r.data).collect();
        assert_eq!(datas, [&b"one"[..], b"", &big]);
        assert!(records.iter().all(|r| r.partition_key == "pk"));
    }

    #[test]
    fn records_may_come_before_the_key_table() {
        let record = [&[0x08, 0x00][..], &field(3, b"hi")].concat();
        let body = [field(3, &record), field(1, b"pk")].concat();
        let data = wrap(&body);
        let records = deaggregate(&data).unwrap();
        assert_eq!(records, [UserRecord { partition_key: "pk", explicit_hash_key: None, data: b"hi" }]);
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        let body = [field(1, b"pk"), field(3, &[&[0x08, 0x00][..], &field(3, b"hi")].concat())].concat();
        let mut data = wrap(&body);
        let last = data.len() - 1;
        data[last] ^= 1;
        assert_eq!(deaggregate(&data), Err(KplError::ChecksumMismatch));
    }

    #[test]
    fn malformed_bodies_are_clear_errors() {
        // A length that runs past the end, a truncated varint, an index outside the table,
        // an unsupported wire type, a record without data: all with a valid checksum.
        let cases: Vec<Vec<u8>> = vec![
            vec![0x0a, 0x7f, b'x'],
            vec![0x0a, 0xff],
            [field(1, b"pk"), field(3, &[&[0x08, 0x05][..], &field(3, b"hi")].concat())].concat(),
            vec![0x0b],
            [field(1, b"pk"), field(3, &[0x08, 0x00])].concat(),
        ];
        for body in cases {
            let err = deaggregate(&wrap(&body)).unwrap_err();
            assert!(matches!(err, KplError::Malformed { .. } | KplError::IndexOutOfRange { .. }), "{body:?}: {err}");
        }
        assert_eq!(deaggregate(&MAGIC), Err(KplError::TooShort(4)));
    }

    #[test]
    fn truncation_anywhere_never_panics() {
        let body = [
            field(1, b"pk"),
            field(2, b"123"),
            field(3, &[&[0x08, 0x00, 0x10, 0x00][..], &field(3, b"data")].concat()),
        ]
        .concat();
        let data = wrap(&body);
        assert_eq!(deaggregate(&data).unwrap()[0].explicit_hash_key, Some("123"));
        for cut in 0..data.len() {
            assert!(deaggregate(&data[..cut]).is_err(), "cut at {cut}");
        }
    }
}
