//! Engagement history through the library API: `History::load` on hand-written logs, then
//! `evaluate`. Fixtures: `tests/fixtures/engagement/`. See: issue 4.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use listwash::Reason;
use listwash::engagement::{Context, EngagementRules, History, Profile, evaluate};
use listwash::normalize::key_of;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/engagement")
        .join(name)
}

fn load(names: &[&str]) -> History {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    History::load(&paths, &EngagementRules::default()).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn profile<'h>(history: &'h History, email: &str) -> Option<&'h Profile> {
    history.get(key_of(email).unwrap())
}

/// The findings for `email` as of 2026-11-29, as (reason, detail).
fn findings(
    history: &History,
    email: &str,
    signup: Option<&str>,
    parked: bool,
) -> Vec<(Reason, String)> {
    let context = Context {
        as_of: date("2026-11-29"),
        signup: signup.map(date),
        parked,
    };
    evaluate(
        profile(history, email),
        &context,
        &EngagementRules::default(),
    )
    .findings
    .into_iter()
    .map(|f| (f.reason, f.detail))
    .collect()
}

fn reasons(history: &History, email: &str) -> Vec<Reason> {
    findings(history, email, None, false)
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

#[test]
fn inactive_day_boundaries() {
    let h = load(&["boundaries.csv"]);
    assert_eq!(reasons(&h, "d-minus-1@example.com"), []);
    assert_eq!(reasons(&h, "d-exact@example.com"), []);
    assert_eq!(
        findings(&h, "d-plus-1@example.com", None, false),
        [(
            Reason::Inactive,
            "no human open or click since 2025-11-28 (366 days before 2026-11-29), 12 sends since"
                .into()
        )]
    );
    let context = Context {
        as_of: date("2026-11-29"),
        signup: None,
        parked: false,
    };
    let e = evaluate(
        profile(&h, "  D-Exact@Example.COM "),
        &context,
        &EngagementRules::default(),
    );
    assert_eq!(e.days_since_engagement, Some(365));
}

#[test]
fn inactive_send_boundaries() {
    let h = load(&["boundaries.csv"]);
    assert_eq!(
        profile(&h, "sends-9@example.com")
            .unwrap()
            .sends_since_engagement,
        9
    );
    assert_eq!(reasons(&h, "sends-9@example.com"), []);
    assert_eq!(
        findings(&h, "sends-10@example.com", None, false),
        [(
            Reason::Inactive,
            "no human open or click since 2024-08-30 (821 days before 2026-11-29), 10 sends since"
                .into()
        )]
    );
}

#[test]
fn signup_grace_period() {
    let h = load(&["boundaries.csv"]);
    assert_eq!(reasons(&h, "grace-90@example.com"), []);
    assert_eq!(
        findings(&h, "grace-91@example.com", None, false),
        [(
            Reason::Inactive,
            "never opened or clicked, 12 sends since first event 2026-08-30".into()
        )]
    );
    // A signup date from the contacts file wins over the first event.
    assert_eq!(
        findings(&h, "grace-91@example.com", Some("2026-08-31"), false),
        []
    );
    assert_eq!(
        findings(&h, "grace-90@example.com", Some("2026-01-10"), false),
        [(
            Reason::Inactive,
            "never opened or clicked, 12 sends since signup 2026-01-10".into()
        )]
    );
}

#[test]
fn machine_opens_are_not_engagement() {
    let h = load(&["boundaries.csv"]);
    let p = profile(&h, "proxy@example.com").unwrap();
    assert_eq!(
        (p.last_human_open, p.last_human_click, p.machine_events),
        (None, None, 3)
    );
    assert_eq!(
        findings(&h, "proxy@example.com", None, false),
        [(
            Reason::Inactive,
            "never opened or clicked, 12 sends since first event 2024-01-01".into()
        )]
    );
    assert_eq!(h.stats().machine_opens_discarded, 2);
    assert_eq!(h.stats().machine_clicks_discarded, 1);
}

#[test]
fn bounces_then_deliveries() {
    let h = load(&["boundaries.csv"]);
    assert_eq!(
        findings(&h, "bounce-0@example.com", None, false),
        [(
            Reason::HardBounced,
            "hard bounce 2024-03-02, no delivery since".into()
        )]
    );
    assert_eq!(
        profile(&h, "bounce-2@example.com")
            .unwrap()
            .deliveries_after_last_hard_bounce,
        2
    );
    assert_eq!(reasons(&h, "bounce-2@example.com"), []);
    assert_eq!(
        findings(&h, "bounce-3@example.com", None, false),
        [(
            Reason::SuspectedRecycledTrap,
            "hard bounce 2024-03-02, delivered 3 times since, no human open or click since 2023-01-14".into()
        )]
    );
    assert_eq!(
        findings(&h, "bounce-3@example.com", None, true)[0].1,
        "hard bounce 2024-03-02, delivered 3 times since, no human open or click since 2023-01-14; also parked domain"
    );
    assert_eq!(reasons(&h, "reengaged@example.com"), []);
    assert_eq!(
        findings(&h, "bounce-twice@example.com", None, false),
        [(
            Reason::HardBounced,
            "hard bounce 2024-03-02, no delivery since (2 hard bounces since 2023-05-01)".into()
        )]
    );
}

#[test]
fn complaints_unsubscribes_and_strangers() {
    let h = load(&["boundaries.csv"]);
    assert_eq!(
        findings(&h, "complainer@example.com", None, false),
        [(Reason::Complained, "complaint 2025-06-01".into())]
    );
    // 23:30 at -01:00 is the next day in UTC.
    assert_eq!(
        findings(&h, "leaver@example.com", None, false),
        [(Reason::Unsubscribed, "unsubscribed 2025-06-02".into())]
    );
    // Listed but no events: nothing applies. Not listed but in the log: a profile nobody asks for.
    assert!(profile(&h, "nobody@example.com").is_none());
    assert_eq!(findings(&h, "nobody@example.com", None, false), []);
    assert!(profile(&h, "stranger@example.com").is_some());
    let stats = h.stats();
    assert_eq!(stats.rows_read, 132);
    assert_eq!(stats.rows_used, 132);
    assert_eq!(stats.unparsed_rows, 0);
    assert_eq!(stats.distinct_addresses, 16);
    assert_eq!(stats.sends_counted_from, "sent");
    assert!(!h.is_empty());
    assert!(History::empty().is_empty());
}

#[test]
fn scanner_clicks_without_a_machine_column() {
    let h = load(&["scanner.csv"]);
    assert_eq!(h.stats().scanner_clicks_discarded, 3);
    let scan = profile(&h, "scan@example.com").unwrap();
    assert_eq!((scan.last_human_click, scan.scanner_clicks), (None, 2));
    assert_eq!(
        findings(&h, "scan@example.com", None, false),
        [(
            Reason::Inactive,
            "never opened or clicked, 13 sends since first event 2024-01-01".into()
        )]
    );
    assert_eq!(
        profile(&h, "edge@example.com").unwrap().last_human_click,
        None
    );
    assert!(
        profile(&h, "human@example.com")
            .unwrap()
            .last_human_click
            .is_some()
    );
    assert!(
        profile(&h, "before@example.com")
            .unwrap()
            .last_human_click
            .is_some()
    );
    // Turned off: every click is human.
    let rules = EngagementRules {
        scanner_click_seconds: 0,
        ..EngagementRules::default()
    };
    let h = History::load(&[fixture("scanner.csv")], &rules).unwrap();
    assert_eq!(h.stats().scanner_clicks_discarded, 0);
    assert!(
        profile(&h, "scan@example.com")
            .unwrap()
            .last_human_click
            .is_some()
    );
}

#[test]
fn esp_synonyms_across_several_files() {
    let h = load(&[
        "synonyms_sendgrid.csv",
        "synonyms_mailgun.csv",
        "synonyms_other.csv",
    ]);
    let p = |email: &str| {
        profile(&h, email)
            .cloned()
            .unwrap_or_else(|| panic!("no profile for {email}"))
    };
    for email in ["sg-processed", "mg-accepted", "o-sent", "o-queued"] {
        assert_eq!(p(&format!("{email}@example.com")).sends, 1, "{email}");
    }
    for email in ["sg-delivered", "mg-delivered"] {
        assert_eq!(p(&format!("{email}@example.com")).deliveries, 1, "{email}");
    }
    for email in ["sg-open", "mg-opened"] {
        assert!(
            p(&format!("{email}@example.com")).last_human_open.is_some(),
            "{email}"
        );
    }
    for email in ["sg-click", "mg-clicked"] {
        assert!(
            p(&format!("{email}@example.com"))
                .last_human_click
                .is_some(),
            "{email}"
        );
    }
    for email in [
        "sg-bounce",
        "mg-permanent",
        "o-hard",
        "o-hardbounce",
        "o-bounced-hard",
        "o-bounce-none",
    ] {
        assert_eq!(
            p(&format!("{email}@example.com")).hard_bounces,
            1,
            "{email}"
        );
    }
    // See: #11 part 4: SendGrid's `blocked` bounce type is a block of the sender, never held
    // against the recipient.
    let blocked = p("sg-blocked@example.com");
    assert_eq!(
        (
            blocked.sender_blocks,
            blocked.soft_bounces,
            blocked.hard_bounces
        ),
        (1, 0, 0)
    );
    for email in ["mg-temporary", "o-soft", "o-softbounce", "o-bounced-soft"] {
        let profile = p(&format!("{email}@example.com"));
        assert_eq!(
            (profile.soft_bounces, profile.hard_bounces),
            (1, 0),
            "{email}"
        );
    }
    for email in [
        "sg-spamreport",
        "mg-complained",
        "o-spam_report",
        "o-abuse",
        "o-complaint",
    ] {
        assert_eq!(p(&format!("{email}@example.com")).complaints, 1, "{email}");
    }
    for email in [
        "sg-unsubscribe",
        "sg-group",
        "mg-unsubscribed",
        "o-unsubscribed",
    ] {
        assert_eq!(
            p(&format!("{email}@example.com")).unsubscribes,
            1,
            "{email}"
        );
    }
    assert!(profile(&h, "sg-dropped@example.com").is_none());
    assert!(profile(&h, "o-deferred@example.com").is_none());
    assert_eq!(h.stats().ignored_events, 2);
    assert_eq!(h.stats().unparsed_rows, 0);
    assert_eq!(h.stats().files.len(), 3);
    // Unix seconds and milliseconds land on the same instant.
    assert_eq!(
        p("sg-bounce@example.com").last_hard_bounce,
        Some(1_709_373_600)
    );
    assert_eq!(
        p("mg-permanent@example.com").last_hard_bounce,
        Some(1_709_373_600)
    );
}

#[test]
fn every_timestamp_form() {
    let h = load(&["timestamps.csv"]);
    assert_eq!(h.stats().unparsed_rows, 0);
    assert_eq!(
        profile(&h, "date@example.com").unwrap().last_hard_bounce,
        Some(1_709_337_600)
    );
    for email in [
        "datetime",
        "space",
        "zulu",
        "fraction",
        "offset",
        "offset-west",
        "seconds",
        "millis",
    ] {
        let p = profile(&h, &format!("{email}@example.com")).unwrap();
        assert_eq!(p.last_hard_bounce, Some(1_709_368_200), "{email}");
    }
}

#[test]
fn partly_garbage_log_is_counted_not_skipped() {
    let h = load(&["garbage.csv"]);
    let stats = h.stats();
    assert_eq!(stats.rows_read, 9);
    assert_eq!(stats.rows_used, 3);
    assert_eq!(stats.ignored_events, 1);
    assert_eq!(stats.unparsed_rows, 5);
    assert_eq!(
        (
            stats.unparsed.empty_email,
            stats.unparsed.unknown_event,
            stats.unparsed.bad_timestamp,
            stats.unparsed.not_an_address
        ),
        (1, 1, 1, 2)
    );
    let lines: Vec<(u64, &str)> = stats
        .first_unparsed
        .iter()
        .map(|r| (r.line, r.problem.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (3, "empty_email"),
            (4, "unknown_event"),
            (5, "bad_timestamp"),
            (6, "not_an_address"),
            (7, "not_an_address")
        ]
    );
    assert!(
        stats
            .first_unparsed
            .iter()
            .all(|r| r.file.ends_with("garbage.csv"))
    );
    let good = profile(&h, "good@example.com").unwrap();
    assert_eq!((good.sends, good.machine_events), (1, 1));
    assert_eq!(good.last_human_open, Some(1_709_452_800));
    let json = serde_json::to_value(stats).unwrap();
    assert_eq!(json["unparsed_rows"], 5);
    assert_eq!(json["first_unparsed"][0]["line"], 3);
}

#[test]
fn parquet_log_with_typed_columns() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.parquet");
    let ms = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    };
    let mut frame = df!(
        "Email" => ["pq@example.com", "pq@example.com", "PQ@example.com", "pq@example.com"],
        "Event" => ["hard_bounce", "delivered", "delivered", "delivered"],
        "Timestamp" => [ms("2024-03-02"), ms("2024-04-01"), ms("2024-05-01"), ms("2024-06-01")],
        "Machine" => [false, false, false, false],
    )
    .unwrap();
    frame
        .with_column(
            frame
                .column("Timestamp")
                .unwrap()
                .cast(&DataType::Datetime(
                    TimeUnit::Milliseconds,
                    Some(TimeZone::UTC),
                ))
                .unwrap(),
        )
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    let h = History::load(&[path], &EngagementRules::default()).unwrap();
    assert_eq!(h.stats().rows_used, 4);
    assert_eq!(
        reasons(&h, "pq@example.com"),
        [Reason::SuspectedRecycledTrap]
    );
}

#[test]
fn unusable_logs_are_errors_that_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-time.csv");
    std::fs::write(&path, "email,event\na@example.com,open\n").unwrap();
    let error = History::load(&[path], &EngagementRules::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no-time.csv") && error.contains("no `timestamp` column"),
        "{error}"
    );
    let error = History::load(
        &[dir.path().join("missing.csv")],
        &EngagementRules::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("missing.csv") && error.contains("cannot read"),
        "{error}"
    );
}

#[test]
fn deliveries_stand_in_for_sends_when_a_log_has_no_sent_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("delivered-only.csv");
    let mut text = String::from("email,event,timestamp\nd@example.com,open,2024-01-01\n");
    for day in 10..20 {
        text.push_str(&format!("d@example.com,delivered,2024-02-{day}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let h = History::load(&[path], &EngagementRules::default()).unwrap();
    assert_eq!(h.stats().sends_counted_from, "delivered");
    assert_eq!(
        profile(&h, "d@example.com").unwrap().sends_since_engagement,
        10
    );
    assert_eq!(reasons(&h, "d@example.com"), [Reason::Inactive]);
}

#[test]
fn empty_machine_cells_get_the_scanner_heuristic() {
    let h = load(&["machine_blank.csv"]);
    let stats = h.stats();
    assert_eq!(
        (
            stats.scanner_clicks_discarded,
            stats.machine_clicks_discarded
        ),
        (1, 1)
    );
    // Empty cell, 4 s after a delivery: a link scanner.
    let blank = profile(&h, "blank@example.com").unwrap();
    assert_eq!((blank.last_human_click, blank.scanner_clicks), (None, 1));
    // An explicit `false` decides: human, however soon after the delivery.
    assert!(
        profile(&h, "explicit@example.com")
            .unwrap()
            .last_human_click
            .is_some()
    );
    // An explicit `true` decides: machine.
    let bot = profile(&h, "bot@example.com").unwrap();
    assert_eq!((bot.last_human_click, bot.machine_events), (None, 1));
    // Empty cell, but 30 s after the delivery: human.
    assert!(
        profile(&h, "late@example.com")
            .unwrap()
            .last_human_click
            .is_some()
    );
}
