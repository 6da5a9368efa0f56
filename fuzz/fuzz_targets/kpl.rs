//! KPL de-aggregation: never a panic; what it accepts aggregates again to the same user records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loglake::decode::kpl::{aggregate, deaggregate};

fuzz_target!(|data: &[u8]| {
    let Ok(records) = deaggregate(data) else { return };
    let datas: Vec<&[u8]> = records.iter().map(|r| r.data).collect();
    let again = aggregate("k", &datas);
    let reread = deaggregate(&again).expect("an aggregate loglake built is readable");
    let reread: Vec<&[u8]> = reread.iter().map(|r| r.data).collect();
    assert_eq!(reread, datas);
});
