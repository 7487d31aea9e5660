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
        let run = TestRun::new().args(&args).run();
        assert_eq!(run.status, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{args:?}");
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
        .run();
    assert_eq!(run.status, 0, "{}", run.stderr);
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
        .run();
    assert_eq!(text.status, 0);
    assert!(
        text.stdout
            .starts_with("x@gmail.con\treview\ttypo_domain\tdid you mean gmail.com?"),
        "{}",
        text.stdout
    );
}

#[test]
fn rules_defaults_are_commented_toml() {
    let run = TestRun::new().args(["rules", "--defaults"]).run();
    assert_eq!(run.status, 0);
    assert!(run.stdout.contains("# What each reason does"));
    let parsed: toml::Table = toml::from_str(&run.stdout).expect("valid TOML");
    assert!(parsed.contains_key("actions"));
}
