//! No address reaches stderr, on any error path we can reach, with files full of addresses.
//! See: #16 item 7 and the privacy principle.

use crate::support::run::{RunResult, TestRun};

/// A marker every address in these fixtures carries; it must never appear on stderr.
const SECRET: &str = "secret-domain-xyz";

fn addresses(n: usize) -> String {
    (0..n)
        .map(|i| format!("person{i}@{SECRET}.com\n"))
        .collect()
}

fn assert_private(run: &RunResult, what: &str) {
    assert!(
        !run.stderr.contains(SECRET) && !run.stdout.contains(SECRET),
        "{what}: an address reached the terminal (exit {}): {}",
        run.status,
        run.stderr
    );
    assert!(
        !run.stderr.is_empty() || run.status == 0,
        "{what}: no message"
    );
}

fn contacts() -> String {
    let mut text = String::from("email,name\n");
    for i in 0..50 {
        text.push_str(&format!("person{i}@{SECRET}.com,P{i}\n"));
    }
    text
}

#[test]
fn contact_file_errors_quote_no_address() {
    // A headerless file: its first row is data.
    let headerless = TestRun::new()
        .file("in.csv", addresses(50))
        .expect_status(1)
        .stderr_allowed()
        .clean(&[]);
    assert_eq!(headerless.status, 1);
    assert_private(&headerless, "headerless contacts");
    // A mistyped --email-column.
    let mistyped = TestRun::new()
        .file(
            "in.csv",
            format!("person0@{SECRET}.com,x\n{}", addresses(10)),
        )
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--email-column", "mail"]);
    assert_eq!(mistyped.status, 1);
    assert_private(&mistyped, "mistyped --email-column");
    // A mistyped --signup-column.
    let signup = TestRun::new()
        .file("in.csv", contacts())
        .file("events.csv", "email,event,timestamp\n")
        .expect_status(1)
        .stderr_allowed()
        .clean(&[
            "--signup-column",
            "joined",
            "--engagement",
            "{dir}/events.csv",
        ]);
    assert_private(&signup, "mistyped --signup-column");
    // Binary junk with addresses in it.
    let mut junk = addresses(20).into_bytes();
    junk.extend_from_slice(&[0, 159, 146, 150, 0, 0, 1, 2]);
    let binary = TestRun::new()
        .file("in.csv", junk)
        .expect_status(1)
        .stderr_allowed()
        .clean(&[]);
    assert_private(&binary, "binary contacts");
}

#[test]
fn event_log_errors_quote_no_address() {
    // One stray quote early in a log of many addresses.
    let mut log = String::from("email,event,timestamp\n");
    log.push_str(&format!("\"person0@{SECRET}.com,open,2026-01-01\n"));
    for i in 1..2_000 {
        log.push_str(&format!("person{i}@{SECRET}.com,open,2026-01-01\n"));
    }
    let stray = TestRun::new()
        .file("in.csv", contacts())
        .file("events.csv", log)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--engagement", "{dir}/events.csv"]);
    assert_private(&stray, "stray quote in an event log");
    // A headerless log.
    let headerless = TestRun::new()
        .file("in.csv", contacts())
        .file(
            "events.csv",
            (0..50)
                .map(|i| format!("person{i}@{SECRET}.com,open,2026-01-01\n"))
                .collect::<String>(),
        )
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--engagement", "{dir}/events.csv"]);
    assert_eq!(headerless.status, 1);
    assert_private(&headerless, "headerless event log");
    // JSON that is not what listwash reads.
    let json = TestRun::new()
        .file("in.csv", contacts())
        .file(
            "events.json",
            format!("[{{\"email\": \"person0@{SECRET}.com\", \"event\": \"open\",]"),
        )
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--engagement", "{dir}/events.json"]);
    assert_private(&json, "malformed JSON log");
    // Wrong field counts and unreadable values.
    let ragged = TestRun::new()
        .file("in.csv", contacts())
        .file(
            "events.csv",
            format!(
                "email,event,timestamp\nperson0@{SECRET}.com,open\nperson1@{SECRET}.com,open,2026-01-01,extra,more\nperson2@{SECRET}.com,open,not-a-date\n"
            ),
        )
        .expect_status(0)
        .stderr_allowed()
        .clean(&["--engagement", "{dir}/events.csv"]);
    assert_private(&ragged, "ragged event log");
}

#[test]
fn suppression_and_outcome_errors_quote_no_address() {
    let mut list = String::from("email,reason\n");
    list.push_str(&format!("\"person0@{SECRET}.com,unsubscribed\n"));
    list.push_str(&addresses(100));
    let stray = TestRun::new()
        .file("in.csv", contacts())
        .file("suppress.csv", list)
        .expect_status(0)
        .stderr_allowed()
        .clean(&["--suppress", "{dir}/suppress.csv"]);
    assert_private(&stray, "stray quote in a suppression list");
    let no_column = TestRun::new()
        .file("in.csv", contacts())
        .file(
            "suppress.csv",
            format!("contact;note\nperson0@{SECRET}.com;x\n"),
        )
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--suppress", "{dir}/suppress.csv"]);
    assert_private(&no_column, "suppression list without an address column");
    // A list without a header whose first line has two cells: not a header to print.
    let headerless = TestRun::new()
        .file("in.csv", contacts())
        .file(
            "suppress.csv",
            format!("person0@{SECRET}.com,unsubscribed\nperson1@{SECRET}.com,complained\n"),
        )
        .expect_status(0)
        .stderr_allowed()
        .clean(&["--suppress", "{dir}/suppress.csv"]);
    assert_private(&headerless, "headerless two-column suppression list");
    let outcomes = TestRun::new()
        .file("in.csv", contacts())
        .file("rules.toml", "")
        .file(
            "outcomes.csv",
            format!(
                "email,outcome\nperson0@{SECRET}.com,exploded\n\"person1@{SECRET}.com,bounced\n"
            ),
        )
        .args([
            "bench",
            "{dir}/in.csv",
            "--rules",
            "{dir}/rules.toml",
            "--outcomes",
            "{dir}/outcomes.csv",
            "--no-dns",
        ])
        // An unknown outcome is counted, not fatal (see: #12 part 4); still no address shown.
        .expect_status(0)
        .stdout_allowed()
        .run();
    assert_private(&outcomes, "bench outcomes");
}
