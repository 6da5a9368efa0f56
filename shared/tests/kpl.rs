//! De-aggregation of records produced by an independent implementation: the aws-kinesis-agg
//! Python package (scripts/make_kpl_fixtures.py wrote tests/fixtures/kpl.json).

use base64::Engine as _;
use loglake::decode::kpl::{KplError, deaggregate, is_aggregated};
use serde_json::Value;

fn b64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text.as_str().unwrap()).unwrap()
}

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures/kpl.json")).unwrap()
}

#[test]
fn reference_aggregated_records_yield_their_user_records_in_order() {
    for (name, fixture) in fixtures().as_object().unwrap() {
        let data = b64(&fixture["data"]);
        assert!(is_aggregated(&data), "{name}");
        let records = deaggregate(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = fixture["user_records"].as_array().unwrap();
        assert_eq!(records.len(), expected.len(), "{name}");
        for (record, want) in records.iter().zip(expected) {
            assert_eq!(record.partition_key, want["partition_key"].as_str().unwrap(), "{name}");
            assert_eq!(record.explicit_hash_key, want["explicit_hash_key"].as_str(), "{name}");
            assert_eq!(record.data, b64(&want["data"]).as_slice(), "{name}");
        }
    }
}

#[test]
fn a_reference_record_with_one_flipped_byte_fails_its_checksum() {
    let fixtures = fixtures();
    let data = b64(&fixtures["mixed"]["data"]);
    for at in [4, data.len() / 2, data.len() - 17] {
        let mut bad = data.clone();
        bad[at] ^= 0x20;
        assert_eq!(deaggregate(&bad), Err(KplError::ChecksumMismatch), "byte {at}");
    }
}
