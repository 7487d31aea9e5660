//! Contact exports as the vendors write them (issue 10 parts 5-8): signup dates per vendor and
//! day/month order, vendor status columns as evidence, consent, `--suppress` with a vendor
//! export, and the end-of-run notices. Every row of every fixture in
//! `tests/fixtures/contacts/` (sources in its README) has its expected outcome asserted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::support::run::{RunResult, TestRun};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/contacts");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

/// Every row of the clean, review and suppressed outputs: address → `keep` or its reason.
fn outcomes(run: &RunResult, email_column: &str) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for file in ["clean.csv", "review.csv", "suppressed.csv"] {
        let bytes = run.out_bytes(file);
        let text = String::from_utf8(bytes).expect("UTF-8 output");
        let text = text.trim_start_matches('\u{feff}');
        let first = text.lines().next().unwrap_or_default();
        let delimiter = if first.contains(';') { b';' } else { b',' };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let header = reader.headers().expect("header").clone();
        let email = header
            .iter()
            .position(|h| h == email_column)
            .expect("email column");
        let reason = header.iter().position(|h| h == "listwash_reason");
        for record in reader.records() {
            let record = record.expect("record");
            let outcome = reason.map_or("keep", |i| &record[i]).to_string();
            all.insert(record[email].to_string(), outcome);
        }
    }
    all
}

/// Asserts the outcome of every row (and that there are no others).
fn assert_outcomes(run: &RunResult, email_column: &str, expected: &[(&str, &str)]) {
    let expected: BTreeMap<String, String> = expected
        .iter()
        .map(|(e, o)| (e.to_string(), o.to_string()))
        .collect();
    assert_eq!(outcomes(run, email_column), expected);
}

/// A clean run of a fixture (as `in.csv`) with extra arguments.
fn clean(name: &str, extra: &[&str]) -> RunResult {
    TestRun::new().file("in.csv", fixture(name)).clean(extra)
}

/// An event log: twelve sends in 2024 and never an open or click, for each address.
fn old_sends(addresses: &[&str]) -> String {
    let mut log = String::from("email,event,timestamp,machine\n");
    for address in addresses {
        for month in 1..=12 {
            let _ = writeln!(log, "{address},sent,2024-{month:02}-03T09:00:00Z,");
        }
    }
    log
}

/// The `contacts.signup_dates` entry of a report for `column`.
fn signup_column(run: &RunResult, column: &str) -> serde_json::Value {
    let report = run.report();
    report["contacts"]["signup_dates"]
        .as_array()
        .expect("signup_dates")
        .iter()
        .find(|c| c["column"] == column)
        .cloned()
        .unwrap_or_else(|| panic!("no signup column {column}: {report}"))
}

// See: #10 part 5
#[test]
fn mailchimp_confirm_time_stands_in_for_an_empty_optin_time_so_a_new_signup_is_not_inactive() {
    let events = old_sends(&[
        "anna.berg@lindenhof-verlag.de",
        "ben.okafor@northwind-traders.com",
    ]);
    let run = TestRun::new()
        .file("in.csv", fixture("mailchimp_subscribed.csv"))
        .file("events.csv", events)
        .clean(&["--engagement", "{dir}/events.csv"]);
    assert_outcomes(
        &run,
        "Email Address",
        &[
            ("anna.berg@lindenhof-verlag.de", "inactive"),
            // OPTIN_TIME empty (imported), CONFIRM_TIME a month ago: within the signup grace.
            ("ben.okafor@northwind-traders.com", "keep"),
            ("carla.diaz@blue-harbor.co.uk", "keep"),
            ("dev.patel@quarry-analytics.io", "keep"),
        ],
    );
    let report = run.report();
    let columns: Vec<&str> = report["contacts"]["signup_dates"]
        .as_array()
        .expect("signup_dates")
        .iter()
        .map(|c| c["column"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(columns, ["OPTIN_TIME", "CONFIRM_TIME"]);
    assert_eq!(
        report["contacts"]["consent"]["by_evidence"]["opt_in_date"],
        3
    );
    assert_eq!(report["contacts"]["consent"]["by_evidence"]["none"], 1);
    assert_eq!(
        report["contacts"]["consent"]["by_column"]["CONFIRM_TIME"]["opt_in_date"],
        1
    );
}

// See: #10 parts 6 and 7
#[test]
fn mailchimp_unsubscribed_and_cleaned_exports_are_decided_from_their_status_columns() {
    let run = clean("mailchimp_unsubscribed.csv", &[]);
    assert_outcomes(
        &run,
        "Email Address",
        &[
            ("erik.lund@fjord-studio.no", "unsubscribed"),
            ("fatima.zahra@atlas-tiles.ma", "unsubscribed"),
        ],
    );
    let suppressed = run.rows("suppressed.csv");
    assert_eq!(
        suppressed[0]["listwash_detail"],
        "the exporting service marks it unsubscribed: `UNSUB_TIME` = 2025-07-08 14:22:19"
    );
    let report = run.report();
    assert_eq!(report["contacts"]["decided_by_status"], 2);
    assert_eq!(
        report["contacts"]["status_columns"][0]["decided"]["unsubscribed"],
        2
    );
    let run = clean("mailchimp_cleaned.csv", &[]);
    assert_outcomes(
        &run,
        "Email Address",
        &[
            ("gus.miller@old-mill-bakery.com", "hard_bounced"),
            ("hana.sato@kumo-design.jp", "hard_bounced"),
        ],
    );
    assert!(
        run.rows("suppressed.csv")[0]["listwash_detail"].contains("`CLEAN_TIME` = 2025-11-30"),
        "{:?}",
        run.rows("suppressed.csv")
    );
}

// See: #10 parts 6 and 7
#[test]
fn klaviyo_consent_values_decide_and_count_as_consent_evidence() {
    let expected = [
        ("ines.moreau@atelier-lumiere.fr", "keep"),
        ("jonas.weber@kraftwerk-cycles.de", "unsubscribed"),
        ("kofi.mensah@gold-coast-coffee.com", "suppression_list"),
        ("lena.novak@vltava-books.cz", "keep"),
    ];
    let run = clean("klaviyo.csv", &[]);
    assert_outcomes(&run, "Email", &expected);
    let by_column = &run.report()["contacts"]["consent"]["by_column"]["Email Marketing Consent"];
    assert_eq!(by_column["consent_column"], 1, "{by_column}");
    assert_eq!(by_column["negative"], 3, "{by_column}");
    let run = clean("klaviyo.csv", &["--require-consent"]);
    let mut expected = expected;
    expected[3].1 = "no_consent";
    assert_outcomes(&run, "Email", &expected);
    assert_eq!(
        run.rows("review.csv")[0]["listwash_detail"],
        "no consent: `Email Marketing Consent` = NEVER_SUBSCRIBED"
    );
}

// See: #10 parts 5-7
#[test]
fn hubspot_unsubscribed_from_all_email_and_create_date_which_is_no_consent() {
    let run = clean("hubspot.csv", &[]);
    let mut expected = [
        ("mara.rossi@trattoria-sole.it", "keep"),
        ("nils.berg@granite-peak.se", "unsubscribed"),
        ("olu.adeyemi@lagos-looms.ng", "keep"),
    ];
    assert_outcomes(&run, "Email", &expected);
    assert_eq!(signup_column(&run, "Create Date")["unreadable"], 0);
    // A record's creation is not consent: with --require-consent the others go to review.
    let run = clean("hubspot.csv", &["--require-consent"]);
    expected[0].1 = "no_consent";
    expected[2].1 = "no_consent";
    assert_outcomes(&run, "Email", &expected);
}

// See: #10 parts 5 and 6
#[test]
fn brevo_blacklisted_and_day_first_added_time() {
    let run = clean("brevo.csv", &[]);
    assert_outcomes(
        &run,
        "EMAIL",
        &[
            ("paula.costa@porto-wines.pt", "keep"),
            ("quentin.roux@lyon-optique.fr", "unsubscribed"),
            ("rita.horvat@adria-sails.hr", "keep"),
        ],
    );
    let added = signup_column(&run, "ADDED_TIME");
    assert_eq!(added["order"]["order"], "dmy", "{added}");
    assert_eq!(added["order"]["why"], "first_part_over_12", "{added}");
    assert_eq!(added["unreadable"], 0, "{added}");
}

// See: #10 parts 5 and 6
#[test]
fn mailjet_excluded_from_campaigns_and_month_first_created_at() {
    let run = clean("mailjet.csv", &[]);
    assert_outcomes(
        &run,
        "Email",
        &[
            ("sam.taylor@prairie-seeds.com", "keep"),
            ("tess.young@harbor-lights.ca", "suppression_list"),
            ("umar.khan@indus-textiles.pk", "keep"),
        ],
    );
    let created = signup_column(&run, "CreatedAt");
    assert_eq!(created["order"]["order"], "mdy", "{created}");
    assert_eq!(created["order"]["why"], "second_part_over_12", "{created}");
}

// See: #10 parts 5 and 6
#[test]
fn activecampaign_status_and_salesforce_opt_out_and_bounce_columns() {
    let run = clean("activecampaign.csv", &[]);
    assert_outcomes(
        &run,
        "Email",
        &[
            ("vera.ivanova@neva-press.ru", "keep"),
            ("will.brown@oak-and-ash.com", "unsubscribed"),
            ("xia.chen@jade-river.cn", "hard_bounced"),
            ("yusuf.demir@bosphorus-tea.com.tr", "keep"),
        ],
    );
    assert_eq!(signup_column(&run, "Date Created")["unreadable"], 0);
    let run = clean("salesforce.csv", &[]);
    assert_outcomes(
        &run,
        "Email",
        &[
            ("zoe.clark@clark-farms.com", "keep"),
            ("adam.fox@fox-legal.com", "unsubscribed"),
            ("bea.lopez@lopez-imports.com", "hard_bounced"),
        ],
    );
    let created = signup_column(&run, "Created Date");
    assert_eq!(created["order"]["order"], "mdy", "{created}");
    assert_eq!(created["unreadable"], 0, "{created}");
}

// See: #10 parts 6 and 7
#[test]
fn shopify_accepts_email_marketing_no_is_no_consent_not_an_unsubscribe() {
    let run = clean("shopify.csv", &[]);
    let mut expected = [
        ("cleo.hart@hart-ceramics.com", "keep"),
        ("dan.ross@ross-outdoors.com", "keep"),
    ];
    assert_outcomes(&run, "Email", &expected);
    assert_eq!(run.report()["contacts"]["decided_by_status"], 0);
    let run = clean("shopify.csv", &["--require-consent"]);
    expected[1].1 = "no_consent";
    assert_outcomes(&run, "Email", &expected);
    assert_eq!(
        run.rows("review.csv")[0]["listwash_detail"],
        "no consent: `Accepts Email Marketing` = no"
    );
    let consent = &run.report()["contacts"]["consent"];
    assert_eq!(consent["required"], true);
    assert_eq!(
        consent["by_column"]["Accepts Email Marketing"]["negative"],
        1
    );
}

// See: #10 parts 5 and 8
#[test]
fn excel_german_and_us_dates_and_the_unreadable_date_warning() {
    let run = clean("excel_de.csv", &[]);
    assert_outcomes(
        &run,
        "E-Mail",
        &[
            ("emma.schulz@lindenhof-verlag.de", "keep"),
            ("felix.wagner@alpen-sport.at", "keep"),
            ("greta.koch@hanse-kontor.de", "keep"),
            ("hans.vogel@moselwein.de", "keep"),
        ],
    );
    let column = signup_column(&run, "Anmeldedatum");
    assert_eq!(column["order"]["order"], "dmy", "{column}");
    assert_eq!(column["unreadable"], 1, "{column}");
    assert_eq!(column["first_unreadable_lines"], serde_json::json!([4]));
    assert_eq!(run.report()["input"]["unreadable_signup_dates"], 1);
    let run = clean("excel_us.csv", &[]);
    assert_outcomes(
        &run,
        "Email",
        &[
            ("ivy.green@maple-row.com", "keep"),
            ("jack.hill@cedar-point.net", "keep"),
            ("kate.moss@river-bend.org", "keep"),
        ],
    );
    let column = signup_column(&run, "Signup Date");
    assert_eq!(column["order"]["order"], "mdy", "{column}");
    assert_eq!(column["unreadable"], 0, "{column}");
    // Not --quiet: one warning line with the count and line, then the summary's note.
    let run = TestRun::new()
        .file("in.csv", fixture("excel_de.csv"))
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
            "--as-of",
            "2026-11-01",
            "--progress",
            "never",
        ])
        .stderr_allowed()
        .run();
    let warning = "1 signup cell could not be read as a date: 1 in `Anmeldedatum` (line 4)";
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.contains(warning)).count(),
        2,
        "{}",
        run.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("listwash: warning:") && l.contains(warning)),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("31.02.2023"), "{}", run.stderr);
}

// See: #10 part 5
#[test]
fn an_ambiguous_date_column_is_read_day_first_unless_date_order_says_otherwise() {
    let events = old_sends(&["liam.ward@stone-bridge.com", "mia.ford@willow-lane.com"]);
    let run = |extra: &[&str]| {
        let mut args = vec!["--engagement", "{dir}/events.csv"];
        args.extend_from_slice(extra);
        TestRun::new()
            .file("in.csv", fixture("excel_ambiguous.csv"))
            .file("events.csv", events.clone())
            .clean(&args)
    };
    // 05/08/2026: 5 August (within 90 days of the signup grace) or 8 May (not).
    let day_first = run(&[]);
    assert_outcomes(
        &day_first,
        "Email",
        &[
            ("liam.ward@stone-bridge.com", "keep"),
            ("mia.ford@willow-lane.com", "inactive"),
        ],
    );
    let column = signup_column(&day_first, "Signup Date");
    assert_eq!(column["order"]["why"], "ambiguous_default", "{column}");
    let month_first = run(&["--date-order", "mdy"]);
    assert_outcomes(
        &month_first,
        "Email",
        &[
            ("liam.ward@stone-bridge.com", "inactive"),
            ("mia.ford@willow-lane.com", "inactive"),
        ],
    );
    let column = signup_column(&month_first, "Signup Date");
    assert_eq!(column["order"]["order"], "mdy", "{column}");
    assert_eq!(column["order"]["why"], "ambiguous", "{column}");
}

// See: #10 part 6
#[test]
fn a_vendor_export_given_as_suppress_lists_only_the_rows_it_marks() {
    let contacts = "email\nerik.lund@fjord-studio.no\nines.moreau@atelier-lumiere.fr\n\
                    jonas.weber@kraftwerk-cycles.de\nkofi.mensah@gold-coast-coffee.com\n\
                    lena.novak@vltava-books.cz\n";
    let run = TestRun::new()
        .file("in.csv", contacts)
        .file("mailchimp_unsub.csv", fixture("mailchimp_unsubscribed.csv"))
        .file("klaviyo.csv", fixture("klaviyo.csv"))
        .clean(&[
            "--suppress",
            "{dir}/mailchimp_unsub.csv",
            "--suppress",
            "{dir}/klaviyo.csv",
        ]);
    assert_outcomes(
        &run,
        "email",
        &[
            ("erik.lund@fjord-studio.no", "suppression_list"),
            ("ines.moreau@atelier-lumiere.fr", "keep"),
            ("jonas.weber@kraftwerk-cycles.de", "suppression_list"),
            ("kofi.mensah@gold-coast-coffee.com", "suppression_list"),
            ("lena.novak@vltava-books.cz", "keep"),
        ],
    );
    let lists = &run.report()["suppression_lists"];
    assert_eq!(lists[0]["addresses"], 2, "{lists}");
    assert_eq!(lists[1]["addresses"], 2, "{lists}");
    assert_eq!(lists[1]["rows_not_marked"], 2, "{lists}");
    assert_eq!(
        lists[1]["status_columns"],
        serde_json::json!(["Email Marketing Consent"])
    );
}

// See: #10 part 8
#[test]
fn the_summary_notes_rows_decided_by_vendor_status_and_rejected_records() {
    let mut input = fixture("mailchimp_unsubscribed.csv");
    input.extend_from_slice(b"short,row\n");
    let run = TestRun::new()
        .file("in.csv", input)
        .args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
            "--as-of",
            "2026-11-01",
            "--progress",
            "never",
        ])
        .expect_stderr_contains("  notices\n")
        .expect_stderr_contains(
            "    2 rows decided by the exporting service's own status (`UNSUB_TIME`)",
        )
        .expect_stderr_contains("    1 record could not be read as a row of the header's shape")
        .run();
    assert!(!run.stderr.contains('@'), "{}", run.stderr);
}

// See: #10 part 6
#[test]
fn bench_reads_vendor_status_columns_as_clean_does() {
    let run = TestRun::new()
        .file("in.csv", fixture("mailchimp_cleaned.csv"))
        .file("a.toml", "")
        .file("b.toml", "[actions]\nhard_bounced = \"keep\"\n")
        .args([
            "bench",
            "--rules",
            "{dir}/a.toml",
            "--rules",
            "{dir}/b.toml",
            "{dir}/in.csv",
            "--no-dns",
            "--json",
        ])
        .stdout_allowed()
        .run();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let (a, b) = (&report["rule_sets"][0], &report["rule_sets"][1]);
    assert_eq!(a["reasons"]["hard_bounced"], 2, "{report}");
    assert_eq!(b["actions"]["keep"], 2, "{report}");
}
