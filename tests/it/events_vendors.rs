//! Engagement logs as each email service exports them (issue 11): one fixture per service
//! dialect with each contact's expected outcome, the same events in every format, the
//! options and rules that read any other log, and the warnings that keep failures loud.
//! Fixtures: `tests/fixtures/events/` (written by `scripts/make_event_fixtures.py`; see its
//! README for the documentation pages each field comes from).

use std::path::{Path, PathBuf};

use crate::support::run::{RunResult, TestRun};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// Small fixtures: two sends since the last human engagement are enough for `inactive`.
const RULES: &str = "[engagement]\ninactive_min_sends = 2\n";

/// A clean run of the fixtures' contacts with the log `name` (as `log_name`).
fn run_with(log_name: &str, log: Vec<u8>, extra: &[&str]) -> RunResult {
    let log_arg = format!("{{dir}}/{log_name}");
    let mut args = vec!["--engagement", &log_arg, "--rules", "{dir}/rules.toml"];
    args.extend_from_slice(extra);
    TestRun::new()
        .file("in.csv", read("contacts.csv"))
        .file("rules.toml", RULES)
        .file(log_name, log)
        .clean(&args)
}

/// The contacts and what each must become (`keep` or a reason).
const EVERYONE: [(&str, &str); 9] = [
    ("complainer", "complained"),
    ("hardbounce", "hard_bounced"),
    ("trap", "suspected_recycled_trap"),
    ("inactive", "inactive"),
    ("machine", "inactive"),
    ("softactive", "keep"),
    ("unsub", "unsubscribed"),
    ("resignup", "keep"),
    ("cobounce", "keep"),
];

fn outcomes(result: &RunResult) -> Vec<(String, String)> {
    EVERYONE
        .iter()
        .map(|(who, _)| {
            let email = format!("{who}@acme-mail.com");
            ((*who).to_owned(), result.reason_of(&email))
        })
        .collect()
}

fn expected(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    EVERYONE
        .iter()
        .map(|(who, outcome)| {
            let outcome = changes
                .iter()
                .find(|(w, _)| w == who)
                .map_or(*outcome, |(_, o)| *o);
            ((*who).to_owned(), outcome.to_owned())
        })
        .collect()
}

/// A fixture: file, dialect, format, outcomes that differ from [`EVERYONE`], machine opens.
type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], bool);

// See: #11 part 2 (and the tests the issue asks for: one fixture per vendor dialect)
#[test]
fn every_services_log_gives_each_contact_its_outcome() {
    let cases: &[Case] = &[
        ("sendgrid.json", "sendgrid", "json", &[], true),
        ("sendgrid.csv", "sendgrid", "csv", &[], true),
        ("mailgun.json", "mailgun", "json", &[], false),
        // One SES bounce names two recipients: both hard-bounced.
        (
            "ses.ndjson",
            "ses",
            "ndjson",
            &[("cobounce", "hard_bounced")],
            false,
        ),
        // SNS notifications carry bounces, complaints and deliveries only.
        (
            "ses_sns.json",
            "ses",
            "json",
            &[("cobounce", "hard_bounced"), ("unsub", "keep")],
            false,
        ),
        ("postmark.json", "postmark", "json", &[], false),
        ("mailjet.json", "mailjet", "json", &[], false),
        ("brevo.json", "brevo", "json", &[], true),
        ("sparkpost.json", "sparkpost", "json", &[], false),
        ("klaviyo.csv", "klaviyo", "csv", &[], true),
        // Mailchimp's email activity holds opens, clicks and bounces only: no deliveries
        // after the trap's bounce, no complaint, no unsubscribe, no sends.
        (
            "mailchimp.json",
            "mailchimp",
            "json",
            &[
                ("complainer", "keep"),
                ("trap", "hard_bounced"),
                ("inactive", "keep"),
                ("machine", "keep"),
                ("unsub", "keep"),
            ],
            false,
        ),
        ("generic.csv", "generic", "csv", &[], true),
    ];
    for (file, dialect, format, changes, machine) in cases {
        let result = run_with(file, read(file), &[]);
        assert_eq!(outcomes(&result), expected(changes), "{file}");
        let logs = &result.report()["engagement"]["logs"];
        assert_eq!(logs["per_file"][0]["dialect"], *dialect, "{file}");
        assert_eq!(logs["per_file"][0]["format"], *format, "{file}");
        assert_eq!(logs["unparsed_rows"], 0, "{file}");
        assert_eq!(
            logs["machine_opens_discarded"].as_u64().unwrap() > 0,
            *machine,
            "{file}"
        );
        // The soft bounce (5.2.2) is soft in every service's words.
        assert_eq!(logs["bounces"]["soft"], 1, "{file}");
    }
}

// See: #11 part 2
#[test]
fn a_mailgun_refusal_to_send_to_a_complainer_is_not_a_bounce() {
    let result = run_with("mailgun.json", read("mailgun.json"), &[]);
    let logs = &result.report()["engagement"]["logs"];
    assert_eq!(logs["dropped_by_service"], 1);
    assert_eq!(result.reason_of("complainer@acme-mail.com"), "complained");
    let row = result
        .rows("suppressed.csv")
        .into_iter()
        .find(|r| r["email"] == "complainer@acme-mail.com")
        .unwrap();
    assert!(!row["listwash_detail"].contains("hard"), "{row:?}");
}

/// The decided outputs of a run, byte for byte.
fn outputs(result: &RunResult) -> Vec<Vec<u8>> {
    ["clean.csv", "review.csv", "suppressed.csv"]
        .iter()
        .map(|name| result.out_bytes(name))
        .collect()
}

/// generic.csv as Parquet (every column text, as an export would hold it).
fn generic_parquet() -> Vec<u8> {
    use polars::prelude::*;
    let mut frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_parse_options(CsvParseOptions::default().with_separator(b';'))
        .try_into_reader_with_file_path(Some(fixture("generic.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut frame).unwrap();
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

// See: #11 part 1 (the same events as CSV, Parquet, JSON and NDJSON give identical decisions)
#[test]
fn the_same_events_in_every_format_decide_alike() {
    let csv = run_with("events.csv", read("generic.csv"), &[]);
    let reference = outputs(&csv);
    assert_eq!(outcomes(&csv), expected(&[]));
    for (name, bytes) in [
        ("events.parquet", generic_parquet()),
        ("events.json", read("generic.json")),
        ("events.ndjson", read("generic.ndjson")),
        ("events.json.gz", gzip(&read("generic.json"))),
        ("events.ndjson.gz", gzip(&read("generic.ndjson"))),
        ("events.csv.gz", gzip(&read("generic.csv"))),
    ] {
        let result = run_with(name, bytes, &[]);
        assert_eq!(outputs(&result), reference, "{name}");
    }
}

// See: #11 part 3
#[test]
fn any_log_reads_with_the_column_options_and_the_rules_names() {
    let log = "Empfänger|Ereignis|Zeit\n\
               unsub@acme-mail.com|Zugestellt|2026-04-01T10:00:00Z\n\
               unsub@acme-mail.com|Abgemeldet|2026-04-02T10:00:00Z\n\
               complainer@acme-mail.com|Spam gemeldet|2026-01-06T10:00:00Z\n";
    let rules = "[engagement.event_names]\n\
                 Zugestellt = \"delivered\"\n\
                 Abgemeldet = \"unsubscribe\"\n\
                 \"Spam gemeldet\" = \"complaint\"\n";
    let result = TestRun::new()
        .file("in.csv", read("contacts.csv"))
        .file("rules.toml", rules)
        .file("log.csv", log)
        .clean(&[
            "--engagement",
            "{dir}/log.csv",
            "--rules",
            "{dir}/rules.toml",
            "--events-email-column",
            "Empfänger",
            "--events-type-column",
            "Ereignis",
            "--events-time-column",
            "Zeit",
        ]);
    assert_eq!(result.reason_of("unsub@acme-mail.com"), "unsubscribed");
    assert_eq!(result.reason_of("complainer@acme-mail.com"), "complained");

    // Without the options: one line naming the file, the columns found and the options.
    TestRun::new()
        .file("in.csv", read("contacts.csv"))
        .file("log.csv", log)
        .expect_status(1)
        .expect_stderr_contains("log.csv")
        .expect_stderr_contains("Ereignis")
        .expect_stderr_contains("--events-email-column")
        .expect_stderr_contains("[engagement.event_names]")
        .clean(&["--engagement", "{dir}/log.csv"]);
}

// See: #11 part 2
#[test]
fn events_format_overrides_the_detected_dialect() {
    // A Mailjet log detected as generic would count `sent` as a send, not a delivery.
    let log = "email,event,time\n\
               trap@acme-mail.com,bounce,2025-01-10T10:00:00Z\n\
               trap@acme-mail.com,sent,2025-03-10T10:00:00Z\n\
               trap@acme-mail.com,sent,2025-04-10T10:00:00Z\n\
               trap@acme-mail.com,sent,2025-05-10T10:00:00Z\n";
    let generic = run_with("log.csv", log.into(), &[]);
    assert_eq!(generic.reason_of("trap@acme-mail.com"), "hard_bounced");
    let mailjet = run_with("log.csv", log.into(), &["--events-format", "mailjet"]);
    assert_eq!(
        mailjet.reason_of("trap@acme-mail.com"),
        "suspected_recycled_trap"
    );
    assert_eq!(
        mailjet.report()["engagement"]["logs"]["per_file"][0]["dialect"],
        "mailjet"
    );
}

// See: #11 part 6
#[test]
fn events_after_as_of_are_ignored_and_counted() {
    let log = "email,event,timestamp\n\
               unsub@acme-mail.com,delivered,2026-10-01T10:00:00Z\n\
               unsub@acme-mail.com,unsubscribe,2026-11-02T00:00:00Z\n\
               complainer@acme-mail.com,complaint,2026-11-01T23:59:59Z\n";
    let result = run_with("log.csv", log.into(), &[]);
    assert_eq!(result.reason_of("unsub@acme-mail.com"), "keep");
    assert_eq!(result.reason_of("complainer@acme-mail.com"), "complained");
    assert_eq!(
        result.report()["engagement"]["logs"]["events_after_as_of"],
        1
    );
}

// See: #11 part 5
#[test]
fn a_streak_of_soft_bounces_goes_to_review() {
    let mut log = String::from("email,event,timestamp,status\n");
    log.push_str("softactive@acme-mail.com,delivered,2026-01-01T10:00:00Z,\n");
    log.push_str("unsub@acme-mail.com,delivered,2026-01-01T10:00:00Z,\n");
    for day in 1..=7 {
        log.push_str(&format!(
            "softactive@acme-mail.com,bounce,2026-02-{day:02}T10:00:00Z,452 4.2.2 over quota\n"
        ));
        if day < 7 {
            log.push_str(&format!(
                "unsub@acme-mail.com,soft_bounce,2026-02-{day:02}T10:00:00Z,\n"
            ));
        }
    }
    // A delivery between breaks the streak.
    log.push_str("resignup@acme-mail.com,soft_bounce,2026-02-01T10:00:00Z,\n");
    log.push_str("resignup@acme-mail.com,delivered,2026-02-02T10:00:00Z,\n");
    for day in 3..=8 {
        log.push_str(&format!(
            "resignup@acme-mail.com,soft_bounce,2026-02-{day:02}T10:00:00Z,\n"
        ));
    }
    let result = run_with("log.csv", log.into_bytes(), &[]);
    assert_eq!(
        result.reason_of("softactive@acme-mail.com"),
        "repeated_soft_bounce"
    );
    assert_eq!(result.reason_of("unsub@acme-mail.com"), "keep");
    assert_eq!(result.reason_of("resignup@acme-mail.com"), "keep");
    let row = result
        .rows("review.csv")
        .into_iter()
        .find(|r| r["email"] == "softactive@acme-mail.com")
        .unwrap();
    assert_eq!(
        row["listwash_detail"],
        "7 soft bounces since the last delivery 2026-01-01 (last 2026-02-07)"
    );
}

/// `clean` without `--quiet`, so that warnings reach stderr.
fn loud(log: &str) -> TestRun {
    TestRun::new()
        .file("in.csv", read("contacts.csv"))
        .file("log.csv", log)
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
            "--progress",
            "never",
            "--as-of",
            "2026-11-01",
            "--engagement",
            "{dir}/log.csv",
        ])
}

// See: #11 part 4
#[test]
fn a_policy_block_is_the_senders_and_a_high_share_warns() {
    let mut log = String::from("email,event,timestamp,type,reason\n");
    for who in ["hardbounce", "trap", "inactive", "machine", "unsub"] {
        log.push_str(&format!(
            "{who}@acme-mail.com,bounce,2026-02-01T10:00:00Z,bounce,550 5.7.1 Message rejected due to sender reputation\n"
        ));
    }
    log.push_str(
        "complainer@acme-mail.com,bounce,2026-02-01T10:00:00Z,blocked,550 5.1.1 user unknown\n",
    );
    let result = loud(&log)
        .expect_stderr_contains("5 of 6 bounces in the event logs are blocks of the sender")
        .run();
    assert_eq!(result.reason_of("hardbounce@acme-mail.com"), "keep");
    // The code beats the label, and the detail says so.
    let row = result
        .rows("suppressed.csv")
        .into_iter()
        .find(|r| r["email"] == "complainer@acme-mail.com")
        .unwrap();
    assert_eq!(row["listwash_reason"], "hard_bounced");
    assert!(
        row["listwash_detail"]
            .starts_with("hard bounce 2026-02-01 (5.1.1; the service labelled it otherwise"),
        "{row:?}"
    );
    let bounces = &result.report()["engagement"]["logs"]["bounces"];
    assert_eq!(
        (
            &bounces["sender"],
            &bounces["hard"],
            &bounces["relabelled_by_code"]
        ),
        (&5.into(), &1.into(), &6.into())
    );
}

// See: #11 part 7
#[test]
fn a_log_of_mostly_unknown_events_warns_and_one_of_none_fails() {
    let mut log = String::from("email,event,timestamp\n");
    log.push_str("unsub@acme-mail.com,unsubscribe,2026-04-02T10:00:00Z\n");
    for i in 0..100 {
        let name = if i % 3 == 0 {
            "Zugestellt"
        } else {
            "Geöffnet\u{1b}[31m"
        };
        log.push_str(&format!(
            "unsub@acme-mail.com,{name},2026-04-02T10:00:00Z\n"
        ));
    }
    let result = loud(&log)
        .expect_stderr_contains("log.csv: 100 of 101 events not used")
        .expect_stderr_contains("`Geöffnet\\u{1b}[31m` (66), `Zugestellt` (34)")
        .expect_stderr_contains("[engagement.event_names]")
        .run();
    assert_eq!(result.reason_of("unsub@acme-mail.com"), "unsubscribed");

    let none = "email,event,timestamp\nunsub@acme-mail.com,Zugestellt,2026-04-02T10:00:00Z\n";
    loud(none)
        .expect_status(1)
        .expect_stderr_contains("log.csv")
        .expect_stderr_contains("no event in it is one listwash understands")
        .run();
}
