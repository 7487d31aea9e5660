//! The command line (clap derive). Reached only from `main.rs`.
//!
//! Every number a user gives has bounds, checked here at parse time (exit 2, naming the value
//! and the allowed range): `--jobs` 1 to 4 × the cores (at least 8), `--max-field-bytes`
//! 1024 to 1 GiB, `--file-mode` owner-readable and at most 644, `--dns-timeout` 1 to 60000 ms,
//! `--dns-concurrency` 1 to 10000. A `--fail-if` threshold is parsed here too, by
//! [`listwash::guard`]: a malformed one is exit 2 naming it and the accepted forms.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Clean email contact lists before they are mailed.
#[derive(Debug, Parser)]
#[command(name = "listwash", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Let error messages quote the data they failed on (cells, records); off by default so
    /// that no address reaches a terminal or a log.
    #[arg(long, global = true)]
    pub(crate) show_values: bool,
    /// Messages on stderr as text for people, or as JSON for machines (one object per line:
    /// start, warnings, errors, progress, summary, thresholds, end).
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// The subcommand's name, for the `start` log event.
    pub(crate) fn command_name(&self) -> &'static str {
        match self.command {
            Command::Clean(_) => "clean",
            Command::Check(_) => "check",
            Command::Bench(_) => "bench",
            Command::Rules(_) => "rules",
            Command::Cache(_) => "cache",
            Command::Completions(_) => "completions",
            Command::Man => "man",
            Command::Profiles(_) => "profiles",
            Command::Events(_) => "events",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read a contact CSV, decide keep / review / suppress for every row, write the outputs.
    Clean(CleanArgs),
    /// Decide single addresses given on the command line.
    Check(CheckArgs),
    /// Compare rule sets on the same list, side by side.
    Bench(BenchArgs),
    /// Print the default rules file, commented.
    Rules(RulesArgs),
    /// Inspect (`stats`) or prune expired entries from (`prune`) the DNS domain cache.
    Cache(CacheArgs),
    // See: #13 part 7.
    /// Print a shell completion script (bash, zsh or fish).
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
    // See: #14 parts 2-3.
    /// Engagement profiles from event logs (Parquet), merge profile shards, or print the same
    /// aggregation as SQL for a warehouse.
    Profiles(ProfilesArgs),
    /// Event-log tools: `normalize` writes the normalised event table warehouses hold.
    Events(EventsArgs),
}

/// `listwash profiles LOG… --out FILE`, `listwash profiles --merge FILE… --out FILE`,
/// `listwash profiles --sql ENGINE` (issue 14).
#[derive(Debug, Args)]
pub(crate) struct ProfilesArgs {
    /// Event logs (any format `clean --engagement` reads), or with `--merge` profile files.
    #[arg(
        value_name = "FILE",
        required_unless_present = "sql",
        conflicts_with = "sql"
    )]
    pub(crate) files: Vec<PathBuf>,
    /// The profile file to write (Parquet).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "sql",
        conflicts_with = "sql"
    )]
    pub(crate) out: Option<PathBuf>,
    /// The FILEs are profile files (shards split by address or by time): write their merge.
    #[arg(long, conflicts_with = "sql")]
    pub(crate) merge: bool,
    /// Print the query that computes the profiles from a table `events` in the normalised
    /// schema, for this engine: duckdb, spark, bigquery or postgres.
    #[arg(long, value_name = "ENGINE", value_parser = parse_engine)]
    pub(crate) sql: Option<listwash::profile::sql::Engine>,
    #[command(flatten)]
    pub(crate) events: EventArgs,
}

/// `listwash events normalize LOG… --out FILE` (issue 14 part 2).
#[derive(Debug, Args)]
pub(crate) struct EventsArgs {
    /// What to do: `normalize`.
    #[arg(value_enum, value_name = "ACTION")]
    pub(crate) action: EventsAction,
    /// Event logs (any format `clean --engagement` reads).
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The event table to write (Parquet).
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) events: EventArgs,
}

/// What `listwash events` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EventsAction {
    Normalize,
}

/// How `profiles` and `events` read logs: as `clean --engagement` does.
/// How event logs are read: the service's dialect and the columns, for `clean`, `profiles`
/// and `events normalize` alike.
#[derive(Debug, Args)]
pub(crate) struct EventColumns {
    /// The email service that wrote the event logs, instead of detecting it from each log's
    /// header or first record: generic, sendgrid, mailgun, ses, postmark, mailjet, mailchimp,
    /// klaviyo, brevo or sparkpost.
    #[arg(long, value_name = "NAME", value_parser = parse_events_format)]
    pub(crate) events_format: Option<listwash::engagement::Dialect>,
    /// The event logs' address column (a dotted field path in JSON logs).
    #[arg(long, value_name = "NAME")]
    pub(crate) events_email_column: Option<String>,
    /// The event logs' event name column (a dotted field path in JSON logs).
    #[arg(long, value_name = "NAME")]
    pub(crate) events_type_column: Option<String>,
    /// The event logs' time column (a dotted field path in JSON logs).
    #[arg(long, value_name = "NAME")]
    pub(crate) events_time_column: Option<String>,
}

impl EventColumns {
    /// The reading options these flags give (`as_of`: events from the day after on are left
    /// out).
    pub(crate) fn options(
        &self,
        as_of: Option<chrono::NaiveDate>,
    ) -> listwash::engagement::EventOptions {
        listwash::engagement::EventOptions {
            format: self.events_format,
            email_column: self.events_email_column.clone(),
            event_column: self.events_type_column.clone(),
            time_column: self.events_time_column.clone(),
            as_of,
            keep: None,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct EventArgs {
    /// A TOML rules file (its `[engagement]` section: event names, `scanner_click_seconds`).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// Leave out events from the day after DATE on, as `clean --as-of DATE` does (default:
    /// keep every event).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub(crate) as_of: Option<chrono::NaiveDate>,
    /// How the logs are read (as in `clean`).
    #[command(flatten)]
    pub(crate) columns: EventColumns,
    /// No summary line or warnings on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// `--sql ENGINE`. See: #14 part 3.
fn parse_engine(name: &str) -> Result<listwash::profile::sql::Engine, String> {
    listwash::profile::sql::Engine::from_name(name)
        .ok_or_else(|| "unknown engine; use one of duckdb, spark, bigquery, postgres".to_string())
}

/// `listwash cache stats|prune [--cache FILE] [--json]` (issue 13, part 4).
#[derive(Debug, Args)]
pub(crate) struct CacheArgs {
    /// `stats`: entries, by status, ages, size on disk; `prune`: remove expired entries.
    #[arg(value_enum, value_name = "ACTION")]
    pub(crate) action: CacheAction,
    /// The cache file (default: the one `clean` uses, in the user's cache directory), or the
    /// `postgres://` URL of a shared cache.
    #[arg(long, value_name = "FILE|URL")]
    pub(crate) cache: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What `listwash cache` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CacheAction {
    Stats,
    Prune,
}

/// `--log-format`. See: #13 part 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The contact CSV.
    pub(crate) input: PathBuf,
    /// A rules file to compare; give it twice or more.
    #[arg(long = "rules", value_name = "FILE", required = true)]
    pub(crate) rule_files: Vec<PathBuf>,
    /// Known outcomes of a later send: a CSV with `email` and `outcome` (engaged, delivered,
    /// bounced, complained, trap).
    #[arg(long, value_name = "FILE")]
    pub(crate) outcomes: Option<PathBuf>,
    /// The column holding the address (default: detected from the header).
    #[arg(long, value_name = "NAME")]
    pub(crate) email_column: Option<String>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write the comparison as JSON to this file (bench.json).
    #[arg(long, value_name = "FILE")]
    pub(crate) json_out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) decide: DecideOptions,
}

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// The contact CSV (plain or gzip), or `-` for standard input.
    pub(crate) input: PathBuf,
    /// Where to write clean.csv, review.csv, suppressed.csv, rejected.csv and report.json;
    /// `-` sends the clean rows to standard output once the run is complete (then
    /// `--report-dir` is required and receives the other outputs and report.json).
    /// Required unless `--sample`.
    #[arg(long, value_name = "DIR", required_unless_present = "sample")]
    pub(crate) out_dir: Option<PathBuf>,
    // See: #13 part 3.
    /// With `--out-dir -`: the folder for review, suppressed, rejected and report.json (the
    /// run refuses `--out-dir -` without it, so no row is ever dropped).
    #[arg(long, value_name = "DIR", required_if_eq("out_dir", "-"))]
    pub(crate) report_dir: Option<PathBuf>,
    /// The format of the four row outputs: csv (the input's dialect) or parquet (every input
    /// column as text; clean.parquet, …).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormatArg::Csv)]
    pub(crate) output_format: OutputFormatArg,
    /// Gzip the CSV outputs: clean.csv.gz, review.csv.gz, suppressed.csv.gz, rejected.csv.gz
    /// (Parquet files are compressed already: no effect with `--output-format parquet`).
    #[arg(long)]
    pub(crate) compress: bool,
    /// The column holding the address (default: detected from the header).
    #[arg(long, value_name = "NAME")]
    pub(crate) email_column: Option<String>,
    /// The column holding the signup date (default: detected, e.g. `signup_date`, `OPTIN_TIME`).
    #[arg(long, value_name = "NAME")]
    pub(crate) signup_column: Option<String>,
    /// How to read signup dates such as 03/04/2024 when a column's values do not settle it
    /// (a first part over 12 settles day first, a second part over 12 month first): dmy, mdy
    /// or ymd (default: dmy). report.json says which order each column was read in and why.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub(crate) date_order: Option<DateOrderArg>,
    /// Send rows without consent evidence (no opt-in or confirmation date, a consent column
    /// that is empty or says no) to review as `no_consent`.
    #[arg(long)]
    pub(crate) require_consent: bool,
    /// Neutralise cells that start like a spreadsheet formula (prefix `'`).
    #[arg(long)]
    pub(crate) excel_safe: bool,
    /// Do not write report.html (the report for people, beside report.json).
    #[arg(long)]
    pub(crate) no_html: bool,
    /// Permission bits of the output files, in octal (default: owner only): owner-readable,
    /// and at most 644 (never writable by group or others, never executable).
    #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
    pub(crate) file_mode: u32,
    /// Records with a longer field go to rejected.csv (1024 to 1073741824 bytes).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = parse_field_bytes)]
    pub(crate) max_field_bytes: usize,
    /// Worker threads (default: all cores; at most 4 × the cores, and at least 8 allowed).
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub(crate) jobs: Option<u16>,
    /// When another run is writing to the output folder, wait for it to finish (at most
    /// SECONDS, or as long as it takes) instead of exiting 1.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1)]
    pub(crate) wait: Option<Option<u64>>,
    /// Exit 3 (outputs still written) when a threshold trips: NAME>N, NAME>=N, NAME<N or
    /// NAME<=N, with N a number of rows or a percentage of the input rows, NAME an output
    /// (clean, review, suppressed, rejected) or a reason code; may be given more than once
    /// (e.g. `--fail-if 'suppressed>15%' --fail-if 'rejected>0'`).
    #[arg(long = "fail-if", value_name = "EXPR", value_parser = parse_threshold)]
    pub(crate) fail_if: Vec<listwash::guard::Threshold>,
    /// Preview instead of a run: decide a uniform random sample of N rows (1 to 1000000) and
    /// print the projected counts for the whole list with 95% intervals (JSON on stdout, a
    /// table on stderr). Writes no files, so takes no `--out-dir`.
    #[arg(long, value_name = "N", conflicts_with_all = ["out_dir", "fail_if", "wait"],
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub(crate) sample: Option<u64>,
    /// The sample's random seed (default 0): the same seed and input give the same sample.
    #[arg(long, value_name = "S", requires = "sample")]
    pub(crate) seed: Option<u64>,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Progress on stderr: on a terminal only (auto), always, or never.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub(crate) progress: ProgressMode,
    #[command(flatten)]
    pub(crate) decide: DecideArgs,
}

/// `--date-order`. See: #10 part 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DateOrderArg {
    Dmy,
    Mdy,
    Ymd,
}

impl DateOrderArg {
    /// The library's order.
    pub(crate) fn order(self) -> listwash::dates::DateOrder {
        match self {
            DateOrderArg::Dmy => listwash::dates::DateOrder::Dmy,
            DateOrderArg::Mdy => listwash::dates::DateOrder::Mdy,
            DateOrderArg::Ymd => listwash::dates::DateOrder::Ymd,
        }
    }
}

/// `--output-format`. See: #13 part 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormatArg {
    Csv,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressMode {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Addresses to decide.
    #[arg(required = true, value_name = "ADDRESS")]
    pub(crate) addresses: Vec<String>,
    /// One JSON object per address.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) decide: DecideArgs,
}

/// Decision options of `clean` and `check`: one rules file, and the rest.
#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// A TOML rules file (`listwash rules --defaults` prints the defaults).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) options: DecideOptions,
}

/// Decision options shared by `clean`, `check` and `bench` (which repeats `--rules`).
#[derive(Debug, Args)]
pub(crate) struct DecideOptions {
    /// An engagement event log (CSV with any delimiter, Parquet, a JSON array or JSON lines,
    /// each optionally gzip- or zstd-compressed), as any of the supported email services
    /// exports it; may be given more than once.
    #[arg(long, value_name = "FILE")]
    pub(crate) engagement: Vec<PathBuf>,
    // See: #14 part 4.
    /// Engagement profiles computed beforehand (`listwash profiles`, or the query of
    /// `listwash profiles --sql` in a warehouse), instead of `--engagement` logs; may be given
    /// more than once (shards are merged).
    #[arg(long, value_name = "FILE", conflicts_with = "engagement")]
    pub(crate) profiles: Vec<PathBuf>,
    /// How the event logs are read.
    #[command(flatten)]
    pub(crate) event_columns: EventColumns,
    /// A suppression list (addresses, or MD5/SHA-1/SHA-256 digests); may be given more than once.
    #[arg(long, value_name = "FILE")]
    pub(crate) suppress: Vec<PathBuf>,
    /// The day the engagement rules measure from, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub(crate) as_of: Option<chrono::NaiveDate>,
    /// Resolve against this nameserver instead of the system's; may be given more than once.
    #[arg(long, value_name = "IP:PORT", value_parser = parse_server)]
    pub(crate) dns_server: Vec<SocketAddr>,
    /// Skip all DNS; domain checks report `unchecked`.
    #[arg(long, conflicts_with_all = ["dns_server", "cache"])]
    pub(crate) no_dns: bool,
    /// Per-query DNS timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub(crate) dns_timeout: u64,
    /// DNS queries in flight at most.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) dns_concurrency: u64,
    /// The persistent domain cache: a file (default: in the user's cache directory), or a
    /// PostgreSQL database shared by several hosts (`postgres://user@host:port/database`).
    #[arg(long, value_name = "FILE|URL")]
    pub(crate) cache: Option<PathBuf>,
    /// Do not read or write the persistent domain cache.
    #[arg(long, conflicts_with = "cache")]
    pub(crate) no_cache: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// Print the shipped default rules.
    #[arg(long, required = true)]
    pub(crate) defaults: bool,
}

fn parse_date(value: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("`{value}` is not a date; write YYYY-MM-DD"))
}

/// Output modes must leave the owner able to read, and no one else able to write or run.
/// See: #16 item 16 (`--file-mode 000` and `777` were accepted).
fn parse_mode(value: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(value, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("`{value}` is not an octal file mode such as 600 or 644"))?;
    if mode & 0o400 == 0 {
        return Err(format!(
            "mode {mode:03o} makes the outputs unreadable to their owner; \
             use a mode from 400 to 644 with owner read, such as 600 (the default) or 644"
        ));
    }
    let problem = if mode & 0o022 != 0 {
        "writable by group or others"
    } else if mode & 0o111 != 0 {
        "executable"
    } else {
        return Ok(mode);
    };
    Err(format!(
        "mode {mode:03o} makes the outputs {problem}; \
         use a mode from 400 to 644 with owner read, such as 600 (the default) or 644"
    ))
}

/// The smallest `--max-field-bytes`: any address (at most 254 bytes) and ordinary cells fit.
pub(crate) const MIN_FIELD_BYTES: usize = 1 << 10;
/// The largest `--max-field-bytes` (1 GiB): a field is held in memory whole.
pub(crate) const MAX_FIELD_BYTES: usize = 1 << 30;

/// See: #16 item 16 (`--max-field-bytes 0` rejected every row with a garbled message).
fn parse_field_bytes(value: &str) -> Result<usize, String> {
    let bytes: usize = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number of bytes"))?;
    if !(MIN_FIELD_BYTES..=MAX_FIELD_BYTES).contains(&bytes) {
        return Err(format!(
            "{bytes} is out of range; use {MIN_FIELD_BYTES} to {MAX_FIELD_BYTES} bytes \
             (default 1048576)"
        ));
    }
    Ok(bytes)
}

/// The largest `--jobs`: 4 × the cores, and at least 8.
pub(crate) fn max_jobs() -> u16 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    u16::try_from(cores.saturating_mul(4).max(8)).unwrap_or(u16::MAX)
}

/// See: #16 item 11 (`--jobs 30000` panicked; 10,000 took a minute for 399 rows).
fn parse_jobs(value: &str) -> Result<u16, String> {
    let max = max_jobs();
    let jobs: u64 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number of threads"))?;
    if jobs == 0 || jobs > u64::from(max) {
        return Err(format!(
            "{jobs} is out of range; use 1 to {max} (4 × this machine's cores, at least 8), \
             or leave --jobs out to use every core"
        ));
    }
    Ok(u16::try_from(jobs).unwrap_or(max))
}

/// See: #13 part 1.
fn parse_threshold(value: &str) -> Result<listwash::guard::Threshold, String> {
    value
        .parse()
        .map_err(|e: listwash::guard::ThresholdParseError| e.to_string())
}

fn parse_server(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    value
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| {
            format!("`{value}` is not an IP address with an optional port (e.g. 127.0.0.1:5353)")
        })
}

/// `--events-format NAME`. See: #11 part 2.
fn parse_events_format(name: &str) -> Result<listwash::engagement::Dialect, String> {
    listwash::engagement::Dialect::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = listwash::engagement::Dialect::ALL
            .iter()
            .map(|d| d.as_str())
            .collect();
        format!("unknown format; use one of {}", names.join(", "))
    })
}
