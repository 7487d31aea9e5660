//! Times the engagement stage (`History::load`) on event logs and prints the result.
//!
//! `cargo run --release --example engagement_bench -- EVENTS.csv [MORE...]`. Prints the elapsed
//! time, the log statistics (JSON) and a checksum line that `scripts/bench_engagement.sh`
//! compares with the DuckDB and polars-Python versions of the same aggregation.

use std::path::PathBuf;
use std::time::Instant;

use listwash::engagement::{EngagementRules, History};

fn main() -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    anyhow::ensure!(
        !paths.is_empty(),
        "usage: engagement_bench EVENTS.csv [MORE...]"
    );
    let started = Instant::now();
    let history = History::load(&paths, &EngagementRules::default())?;
    let elapsed = started.elapsed();
    let (mut sent, mut delivered, mut engaged, mut bounced, mut after_bounce, mut since) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for (_, p) in history.iter() {
        sent += p.sends;
        delivered += p.deliveries;
        if p.last_engagement().is_some() {
            engaged += 1;
            since += p.sends_since_engagement;
        }
        if p.last_hard_bounce.is_some() {
            bounced += 1;
            after_bounce += p.deliveries_after_last_hard_bounce;
        }
    }
    #[expect(clippy::print_stdout, reason = "an example's output")]
    {
        println!("stats: {}", serde_json::to_string(history.stats())?);
        println!(
            "checksum: addresses={} sent={sent} delivered={delivered} engaged={engaged} sends_after_engagement={since} hard_bounced={bounced} deliveries_after_bounce={after_bounce}",
            history.len()
        );
        println!("elapsed: {:.3} s", elapsed.as_secs_f64());
    }
    Ok(())
}
