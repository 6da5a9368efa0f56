//! `loglake backfill`: a log group's history into the lake, with a progress bar on a terminal
//! and plain progress lines otherwise.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use log_subscriber::SdkLogs;
use log_subscriber::backfill::{BackfillOptions, BackfillState, backfill};
use loglake::lake::layout::slug;
use loglake::lake::storage::load_aws_config;
use loglake::parse::timestamp::parse_text_ms;

use crate::lake::handler_state;

/// RFC 3339 or epoch milliseconds.
fn parse_time(name: &str, text: &str) -> Result<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    parse_text_ms(text)
        .ok_or_else(|| anyhow!("--{name} {text:?}: expected RFC 3339 (2026-11-20T00:00:00Z) or epoch milliseconds"))
}

pub async fn run(
    log_group: &str,
    start: &str,
    end: &str,
    lake: Option<&Path>,
    state: Option<PathBuf>,
    page_size: Option<i32>,
) -> Result<()> {
    let (start_ms, end_ms) = (parse_time("start", start)?, parse_time("end", end)?);
    if end_ms < start_ms {
        bail!("--end {end} is before --start {start}");
    }
    let state_path = state.unwrap_or_else(|| PathBuf::from(format!("loglake-backfill-{}.json", slug(log_group))));
    let handler_state = handler_state(lake).await?;
    let api = SdkLogs::new(&load_aws_config().await);
    let options = BackfillOptions { page_size, max_pages: None, state_path: Some(state_path.clone()) };
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let (state, report) = backfill(
        &api,
        handler_state.store.as_ref(),
        &handler_state.pipeline,
        log_group,
        start_ms,
        end_ms,
        &options,
        |state| show_progress(state, started, terminal),
    )
    .await?;
    if terminal {
        eprintln!();
    }
    println!(
        "{}",
        serde_json::json!({
            "log_group": log_group, "pages": state.pages, "events": state.events, "done": state.done,
            "records_written": report.records, "objects": report.objects.len(), "state": state_path,
        })
    );
    Ok(())
}

fn show_progress(state: &BackfillState, started: Instant, terminal: bool) {
    let elapsed = started.elapsed().as_secs_f64();
    let fraction = state.fraction();
    let left = if fraction > 0.0 { elapsed / fraction - elapsed } else { f64::NAN };
    let text = format!(
        "{:>3.0}%  {} events  {:.1} MB  {} pages  {:.0}s elapsed  {}",
        fraction * 100.0,
        state.events,
        state.message_bytes as f64 / 1e6,
        state.pages,
        elapsed,
        if left.is_finite() { format!("~{left:.0}s left") } else { "time left unknown".into() }
    );
    if terminal {
        let filled = (fraction * 30.0).round() as usize;
        eprint!("\r[{}{}] {text}", "#".repeat(filled), ".".repeat(30 - filled.min(30)));
        let _ = std::io::stderr().flush();
    } else {
        eprintln!("backfill {}: {text}", state.log_group);
    }
}
