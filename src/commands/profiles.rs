//! `listwash profiles` and `listwash events normalize` (issue 14 parts 2–3): flags to the
//! library's [`listwash::profile`] calls, and the one summary line each prints on stderr.

use listwash::Error;
use listwash::engagement::{EngagementRules, EventOptions};
use listwash::profile;
use listwash::resolve::WarnSink;
use listwash::rules::RuleSet;

use crate::cli::{EventArgs, EventsAction, EventsArgs, ProfilesArgs};

/// The rules' `[engagement]` section and the event options of the flags.
fn reading(args: &EventArgs) -> Result<(EngagementRules, EventOptions), Error> {
    let rules = match &args.rules {
        Some(path) => RuleSet::load(path)?.engagement.clone(),
        None => RuleSet::defaults().engagement.clone(),
    };
    let options = args.columns.options(args.as_of);
    Ok((rules, options))
}

/// `listwash profiles`.
pub(crate) fn profiles(args: ProfilesArgs, warn: WarnSink) -> Result<(), Error> {
    let (rules, options) = reading(&args.events)?;
    if let Some(engine) = args.sql {
        return crate::commands::write_stdout(profile::sql::query(engine, &rules).as_bytes());
    }
    let out = args.out.unwrap_or_default();
    let (profiles, scanner) = if args.merge {
        let (profiles, scanners) = profile::read_merged_with_rules(&args.files)?;
        (profiles, profile::common_scanner(&scanners))
    } else {
        let (profiles, stats) = profile::compute(&args.files, &rules, &options)?;
        for warning in &stats.warnings {
            warn(warning);
        }
        (profiles, Some(rules.scanner_click_seconds))
    };
    profile::parquet::write(&out, &profiles, scanner)?;
    // The one summary line (text mode only: JSON logs carry no free text).
    if !args.events.quiet && !crate::json_logs() {
        crate::say(&format!(
            "listwash: wrote {} profiles to {}",
            profiles.len(),
            listwash::render::escape_controls(&out.display().to_string())
        ));
    }
    Ok(())
}

/// `listwash events normalize`.
pub(crate) fn events(args: EventsArgs, warn: WarnSink) -> Result<(), Error> {
    let EventsAction::Normalize = args.action;
    let (rules, options) = reading(&args.events)?;
    let (stats, rows) = profile::normalize::write_events(&args.files, &rules, &options, &args.out)?;
    for warning in &stats.warnings {
        warn(warning);
    }
    if !args.events.quiet && !crate::json_logs() {
        crate::say(&format!(
            "listwash: wrote {rows} events to {} ({} read; ignored, dropped, unreadable and later ones left out)",
            listwash::render::escape_controls(&args.out.display().to_string()),
            stats.rows_read
        ));
    }
    Ok(())
}
