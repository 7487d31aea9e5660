//! Command-line behaviour: exit codes, `check`, `rules --defaults`.

use crate::support::run::TestRun;

#[test]
fn bad_command_lines_exit_2() {
    for args in [
        vec!["clean", "in.csv"],
        vec!["clean", "in.csv", "--out-dir", "o", "--as-of", "2026-13-01"],
        vec!["clean", "in.csv", "--out-dir", "o", "--jobs", "0"],
        vec![
            "clean",
            "in.csv",
            "--out-dir",
            "o",
            "--dns-server",
            "nameserver",
        ],
        vec!["clean", "in.csv", "--out-dir", "o", "--no-such-flag"],
        vec![
            "clean",
            "in.csv",
            "--out-dir",
            "o",
            "--progress",
            "sometimes",
        ],
        vec!["check"],
        vec!["frobnicate"],
        vec!["rules"],
    ] {
        // clap's own message; the harness fails on a panic.
        TestRun::new()
            .args(&args)
            .expect_status(2)
            .expect_stderr_contains("error:")
            .run();
    }
}

#[test]
fn check_prints_one_json_object_per_address_in_order() {
    let run = TestRun::new()
        .args([
            "check",
            "--no-dns",
            "--json",
            "Jane@Acme-Widgets.com",
            "Bad Address",
            "info@acme-widgets.com",
            "jane@acme-widgets.com",
        ])
        .stdout_allowed()
        .run();
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["address"], "Jane@Acme-Widgets.com");
    assert_eq!(lines[0]["normalized"], "jane@acme-widgets.com");
    assert_eq!(lines[0]["action"], "keep");
    assert_eq!(lines[0]["reason"], serde_json::Value::Null);
    assert_eq!(lines[1]["normalized"], serde_json::Value::Null);
    assert_eq!(lines[1]["action"], "suppress");
    assert_eq!(lines[1]["reason"], "invalid_syntax");
    assert_eq!(lines[2]["action"], "review");
    assert_eq!(lines[2]["reason"], "role_account");
    assert_eq!(lines[3]["reason"], "duplicate");
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5, "{line}");
        for key in ["address", "normalized", "action", "reason", "detail"] {
            assert!(keys.contains(&key), "{line} lacks {key}");
        }
    }
    let text = TestRun::new()
        .args(["check", "--no-dns", "x@gmail.con"])
        .stdout_allowed()
        .run();
    assert!(
        text.stdout
            .starts_with("x@gmail.con\treview\ttypo_domain\tdid you mean gmail.com?"),
        "{}",
        text.stdout
    );
}

#[test]
fn rules_defaults_are_commented_toml() {
    let run = TestRun::new()
        .args(["rules", "--defaults"])
        .expect_stdout_contains("# What each reason does")
        .run();
    let parsed: toml::Table = toml::from_str(&run.stdout).expect("valid TOML");
    assert!(parsed.contains_key("actions"));
}

#[test]
fn bench_compares_rule_sets_side_by_side_with_outcomes() {
    let run = TestRun::new()
        .file("in.csv", "email\ninfo@acme-widgets.com\njane@acme-widgets.com\nbad\nx@mailinator.com\n")
        .file("a.toml", "")
        .file("b.toml", "[actions]\nrole_account = \"suppress\"\n")
        .file("outcomes.csv", "email,outcome\ninfo@acme-widgets.com,engaged\njane@acme-widgets.com,bounced\nx@mailinator.com,trap\n")
        .args(["bench", "--rules", "{dir}/a.toml", "--rules", "{dir}/b.toml", "{dir}/in.csv", "--no-dns", "--outcomes", "{dir}/outcomes.csv", "--json"])
        .stdout_allowed()
        .run();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["rows"], 4);
    assert_eq!(report["rows_with_outcome"], 3);
    let (a, b) = (&report["rule_sets"][0], &report["rule_sets"][1]);
    assert_eq!(a["actions"]["review"], 1);
    assert_eq!(b["actions"]["suppress"], 3);
    assert_eq!(
        a["bad_caught"], 0.5,
        "the trap is suppressed, the bounce kept"
    );
    assert_eq!(a["engaged_lost"], 0.0);
    assert_eq!(
        b["engaged_lost"], 1.0,
        "suppressing role accounts loses the engaged info@"
    );
    let table = TestRun::new()
        .file("in.csv", "email\na@acme-widgets.com\n")
        .file("a.toml", "")
        .args([
            "bench",
            "--rules",
            "{dir}/a.toml",
            "--rules",
            "{dir}/a.toml",
            "{dir}/in.csv",
            "--no-dns",
        ])
        .stdout_allowed()
        .run();
    assert!(table.stdout.starts_with("1 rows\n"), "{}", table.stdout);
}
