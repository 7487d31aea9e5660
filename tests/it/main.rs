//! The single integration-test binary.

#![allow(unreachable_pub, reason = "helpers are shared between test modules")]
#![allow(clippy::print_stderr, reason = "tests explain failures on stderr")]

mod clean;
mod cli;
mod columns;
mod conformance;
mod cron_dns;
mod cron_formats;
mod cron_guards;
mod cron_sample;
mod dns;
mod dns_clean;
mod engagement;
mod events_vendors;
mod hardening;
mod hostile_io;
mod interrupt;
mod messages;
mod outputs;
mod privacy;
mod props;
mod shared_cache;
mod support;
mod tests;
mod wait;
mod warehouse;
