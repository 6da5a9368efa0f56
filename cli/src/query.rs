//! `loglake query`: Athena SQL over a local lake on DataFusion, with what the scan would cost on
//! Athena.

use std::path::Path;

use anyhow::Result;
use loglake::rollup::runs::athena_cost_usd;

use crate::engine::{Engine, Source};
use crate::units::human;

pub async fn run(lake: &Path, sql: &str) -> Result<()> {
    let engine = Engine::open(lake, Source::Lake).await?;
    let output = engine.run(sql).await?;
    println!("{}", crate::engine::pretty(&output.batches));
    println!(
        "{} rows in {} ms; scanned {} — on Athena ${:.6} ($5/TB, 10 MB minimum)",
        output.rows(),
        output.elapsed_ms,
        human(output.bytes_scanned as usize),
        athena_cost_usd(output.bytes_scanned)
    );
    Ok(())
}
