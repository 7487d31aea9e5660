//! The single integration-test binary.

#![allow(unreachable_pub, reason = "helpers are shared between test modules")]
#![allow(clippy::print_stderr, reason = "tests explain failures on stderr")]

mod bench_outcomes;
mod clean;
mod cli;
mod columns;
mod conformance;
mod contacts_vendors;
mod cron_dns;
mod cron_formats;
mod cron_guards;
mod cron_sample;
mod dns;
mod dns_clean;
mod dns_transport;
mod engagement;
mod events_vendors;
mod hardening;
mod hostile_io;
mod interrupt;
mod messages;
mod outputs;
mod privacy;
mod props;
mod reports;
mod shared_cache;
mod support;
mod syntax_intl;
mod tests;
mod wait;
mod warehouse;
