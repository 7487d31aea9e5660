//! For cron jobs: `--fail-if` thresholds (exit 3), shell completions and a man page, and
//! `--log-format json`. See: #13 parts 1, 7 and 8.

use serde_json::Value;

use crate::support::run::TestRun;

/// Ten rows: three invalid (suppressed), one role account (review), six clean.
const TEN_ROWS: &str = "email\nnot-an-address\nalso bad\n@nope\ninfo@example.com\n\
     a@example.com\nb@example.com\nc@example.com\nd@example.com\ne@example.com\nf@example.com\n";

fn ten_rows() -> TestRun {
    TestRun::new().file("in.csv", TEN_ROWS)
}

/// The report's `thresholds`, as (expression, count, rows, tripped).
fn thresholds(report: &Value) -> Vec<(String, u64, u64, bool)> {
    report["thresholds"]
        .as_array()
        .expect("thresholds is an array")
        .iter()
        .map(|t| {
            (
                t["expression"].as_str().expect("expression").to_string(),
                t["count"].as_u64().expect("count"),
                t["rows"].as_u64().expect("rows"),
                t["tripped"].as_bool().expect("tripped"),
            )
        })
        .collect()
}

// See: #13 part 1
#[test]
fn a_tripped_threshold_exits_3_names_its_figure_and_still_writes_the_outputs() {
    let run = ten_rows()
        .expect_status(3)
        .expect_stderr_contains(
            "listwash: threshold suppressed>20% tripped: 30.0% (3 of 10 rows)\n",
        )
        .expect_stderr_contains("listwash: threshold invalid_syntax>=3 tripped: 3 rows (of 10)\n")
        .clean(&[
            "--fail-if",
            "suppressed>20%",
            "--fail-if",
            "rejected>0",
            "--fail-if",
            "invalid_syntax>=3",
            "--fail-if",
            "review < 1",
        ]);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    assert_eq!(run.out("clean.csv").lines().count(), 7);
    assert_eq!(run.out("suppressed.csv").lines().count(), 4);
    let report = run.report();
    assert_eq!(
        thresholds(&report),
        [
            ("suppressed>20%".into(), 3, 10, true),
            ("rejected>0".into(), 0, 10, false),
            ("invalid_syntax>=3".into(), 3, 10, true),
            ("review<1".into(), 1, 10, false),
        ]
    );
    let first = &report["thresholds"][0];
    assert_eq!(first["unit"], "percent");
    assert_eq!(first["operator"], ">");
    assert_eq!(first["limit"].as_f64(), Some(20.0));
    assert_eq!(first["value"].as_f64(), Some(30.0));
    // The fields that were there before are unchanged.
    assert_eq!(report["outputs"]["suppressed"], 3);
    assert_eq!(report["input"]["rows"], 10);
}

// See: #13 part 1
#[test]
fn a_share_exactly_at_the_limit_trips_only_with_or_equal() {
    let run = ten_rows().clean(&["--fail-if", "suppressed>30%", "--fail-if", "clean<60%"]);
    assert_eq!(
        thresholds(&run.report()),
        [
            ("suppressed>30%".into(), 3, 10, false),
            ("clean<60%".into(), 6, 10, false),
        ]
    );
    ten_rows()
        .expect_status(3)
        .expect_stderr_contains("threshold suppressed>=30% tripped: 30.0% (3 of 10 rows)")
        .clean(&["--fail-if", "suppressed>=30%"]);
    ten_rows()
        .expect_status(3)
        .expect_stderr_contains("threshold clean<=60% tripped: 60.0% (6 of 10 rows)")
        .clean(&["--fail-if", "clean<=60%"]);
}

// See: #13 part 1
#[test]
fn without_thresholds_the_report_lists_none() {
    let run = ten_rows().clean(&[]);
    assert_eq!(run.report()["thresholds"], serde_json::json!([]));
}

// See: #13 part 1
#[test]
fn a_malformed_threshold_is_a_usage_error_naming_the_expression() {
    for (expression, problem) in [
        (
            "supressed>15%",
            "`supressed` is not an output or a reason code",
        ),
        ("suppressed=15%", "no comparison"),
        ("suppressed>150%", "is not a percentage from 0 to 100"),
        ("rejected>0.5", "is not a whole number of rows"),
    ] {
        let run = ten_rows()
            .expect_status(2)
            .expect_stderr_contains(&format!("`{expression}`: "))
            .expect_stderr_contains(problem)
            .expect_stderr_contains("NAME>N, NAME>=N, NAME<N or NAME<=N")
            .expect_stderr_contains("--fail-if <EXPR>")
            .clean(&["--fail-if", "rejected>0", "--fail-if", expression]);
        assert!(
            !run.dir.join("out").exists(),
            "{expression}: nothing is run"
        );
    }
}

// See: #13 part 7
#[test]
fn completions_come_from_the_command_line_definitions() {
    let bash = TestRun::new()
        .args(["completions", "bash"])
        .stdout_allowed()
        .run();
    for needle in [
        "complete -F _listwash",
        "clean",
        "--out-dir",
        "--fail-if",
        "--log-format",
    ] {
        assert!(bash.stdout.contains(needle), "bash script lacks {needle}");
    }
    for (shell, marker) in [
        ("zsh", "#compdef listwash"),
        ("fish", "complete -c listwash"),
    ] {
        let script = TestRun::new()
            .args(["completions", shell])
            .stdout_allowed()
            .run();
        assert!(
            script.stdout.contains(marker)
                && script.stdout.contains("clean")
                && script.stdout.contains("out-dir"),
            "{shell} script lacks {marker}, clean or out-dir"
        );
    }
    TestRun::new()
        .args(["completions", "powershell"])
        .expect_status(2)
        .expect_stderr_contains("invalid value 'powershell'")
        .expect_stderr_contains("[possible values: bash, zsh, fish]")
        .run();
}

// See: #13 part 7
#[test]
fn the_man_page_is_roff_and_names_the_commands() {
    let man = TestRun::new().args(["man"]).stdout_allowed().run();
    assert!(
        man.stdout.lines().any(|l| l.starts_with(".TH listwash")),
        "no .TH line"
    );
    for command in ["clean", "check", "bench", "rules", "completions", "man"] {
        assert!(
            man.stdout.contains(&format!("listwash\\-{command}")),
            "the man page does not name {command}"
        );
    }
}

/// stderr as JSON objects, one a line; fails on any line that is not one.
fn events(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            for key in ["time", "level", "event", "message"] {
                assert!(event[key].is_string(), "no {key} in {line}");
            }
            event
        })
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default())
        .collect()
}

// See: #13 part 8
#[test]
fn json_logs_are_one_object_per_line_from_start_to_end() {
    let run = ten_rows()
        .args([
            "clean",
            "in.csv",
            "--out-dir",
            "out",
            "--no-dns",
            "--log-format",
            "json",
            "--progress",
            "always",
        ])
        .stderr_allowed()
        .run();
    let events = events(&run.stderr);
    assert_eq!(kinds(&events), ["start", "progress", "summary", "end"]);
    assert_eq!(events[0]["command"], "clean");
    assert_eq!(events[1]["rows"], 10);
    let summary = &events[2];
    assert_eq!(summary["level"], "info");
    assert_eq!(summary["rows"], 10);
    assert_eq!(summary["outputs"]["suppressed"], 3);
    assert_eq!(summary["reasons"]["invalid_syntax"], 3);
    assert!(summary["elapsed_ms"].is_u64());
    assert_eq!(events[3]["exit_code"], 0);
    assert!(!run.stderr.contains('@'), "an address reached the log");
}

// See: #13 part 8
#[test]
fn json_logs_carry_warnings_and_thresholds() {
    // A nameserver that never answers: the canaries time out and the run warns.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let server = silent.local_addr().expect("addr").to_string();
    let run = ten_rows()
        .args([
            "--log-format=json",
            "clean",
            "in.csv",
            "--out-dir",
            "out",
            "--dns-server",
            &server,
            "--dns-timeout",
            "50",
            "--no-cache",
            "--fail-if",
            "dns_unknown>5%",
        ])
        .expect_status(3)
        .stderr_allowed()
        .run();
    let events = events(&run.stderr);
    assert_eq!(
        kinds(&events),
        ["start", "warning", "summary", "threshold", "end"]
    );
    assert_eq!(events[1]["level"], "warning");
    assert!(
        events[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not answer")),
        "{}",
        events[1]
    );
    let threshold = &events[3];
    assert_eq!(threshold["level"], "error");
    assert_eq!(threshold["expression"], "dns_unknown>5%");
    assert_eq!(threshold["count"], 6);
    assert_eq!(threshold["rows"], 10);
    assert_eq!(threshold["value"].as_f64(), Some(60.0));
    assert_eq!(threshold["tripped"], true);
    assert_eq!(
        threshold["message"],
        "threshold dns_unknown>5% tripped: 60.0% (6 of 10 rows)"
    );
    assert_eq!(events[4]["exit_code"], 3);
    assert_eq!(events[4]["level"], "error");
    assert!(!run.stderr.contains('@'), "an address reached the log");
}

// See: #13 part 8
#[test]
fn json_logs_report_errors_and_usage_errors() {
    let run = TestRun::new()
        .args([
            "clean",
            "missing.csv",
            "--out-dir",
            "out",
            "--no-dns",
            "--log-format",
            "json",
        ])
        .expect_status(1)
        .stderr_allowed()
        .run();
    let logged = events(&run.stderr);
    assert_eq!(kinds(&logged), ["start", "error", "end"]);
    assert_eq!(logged[1]["level"], "error");
    assert!(
        logged[1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("missing.csv")),
        "{}",
        logged[1]
    );
    assert_eq!(logged[2]["exit_code"], 1);

    let usage = ten_rows()
        .args([
            "--log-format",
            "json",
            "clean",
            "in.csv",
            "--out-dir",
            "out",
            "--fail-if",
            "suppressed",
        ])
        .expect_status(2)
        .stderr_allowed()
        .run();
    let logged = events(&usage.stderr);
    assert_eq!(kinds(&logged), ["error", "end"]);
    assert!(
        logged[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`suppressed`: no comparison")),
        "{}",
        logged[0]
    );
    assert_eq!(logged[1]["exit_code"], 2);
}
