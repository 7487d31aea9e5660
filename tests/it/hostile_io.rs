//! Issue 16 in the DNS cache, the rules file, the suppression lists and the command line:
//! listwash never replaces a file it did not make, no panic escapes the cache, and every size
//! and count a user controls has a limit and a clear error.

use std::process::Command;
use std::time::Duration;

use crate::support::dns::{DnsFixture, Mode};
use crate::support::run::{RunResult, TestRun};

const CONTACTS: &str = "email,name\nann@acme-widgets.com,A\nkim@gmail.com,K\n";

/// `clean` with DNS against `dns`, plus `extra` arguments.
fn dns_clean(run: TestRun, dns: &DnsFixture, extra: &[&str]) -> RunResult {
    let server = dns.addr.to_string();
    run.args([
        "clean",
        "{dir}/in.csv",
        "--out-dir",
        "{dir}/out",
        "--dns-server",
        server.as_str(),
        "--dns-timeout",
        "500",
        "--as-of",
        "2026-11-01",
    ])
    .args(extra)
    // The tests read the warnings and the summary on stderr themselves.
    .stderr_allowed()
    .run()
}

fn warning_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("warning")).collect()
}

fn report_warnings(run: &RunResult) -> Vec<String> {
    run.report()["domains"]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_string())
        .collect()
}

// See: #16 item 1
#[test]
fn a_cache_path_holding_the_input_is_left_untouched() {
    let dns = DnsFixture::with_fixture_zones();
    let run = dns_clean(
        TestRun::new().file("in.csv", CONTACTS),
        &dns,
        &["--cache", "{dir}/in.csv"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(run.path("in.csv")).unwrap(),
        CONTACTS.as_bytes(),
        "the input is unchanged byte for byte"
    );
    let warnings = warning_lines(&run.stderr);
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("in.csv")
            && warnings[0].contains("not a listwash cache")
            && warnings[0].contains("--no-cache"),
        "{}",
        warnings[0]
    );
    assert_eq!(run.reason_of("ann@acme-widgets.com"), "keep");

    // Under --quiet the terminal stays silent, and the report still holds the warning.
    let run = dns_clean(
        TestRun::new().file("in.csv", CONTACTS),
        &dns,
        &["--cache", "{dir}/in.csv", "--quiet"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert_eq!(
        std::fs::read(run.path("in.csv")).unwrap(),
        CONTACTS.as_bytes()
    );
    let warnings = report_warnings(&run);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("not a listwash cache"), "{warnings:?}");
}

// See: #16 item 1
#[cfg(unix)]
#[test]
fn a_cache_path_that_is_a_device_fifo_or_directory_is_left_untouched() {
    use std::os::unix::fs::FileTypeExt;
    let dns = DnsFixture::with_fixture_zones();
    let run = TestRun::new().file("in.csv", CONTACTS);
    std::fs::create_dir(run.dir().join("folder")).unwrap();
    let fifo = run.dir().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let run = dns_clean(run, &dns, &["--cache", "{dir}/folder", "--quiet"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.path("folder").is_dir());
    assert_eq!(std::fs::read_dir(run.path("folder")).unwrap().count(), 0);
    let warnings = report_warnings(&run);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("not a listwash cache (a directory)"),
        "{warnings:?}"
    );

    if made.is_ok_and(|s| s.success()) {
        let run = dns_clean(
            TestRun::new().file("in.csv", CONTACTS),
            &dns,
            &["--cache", fifo.to_str().unwrap(), "--quiet"],
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        let warnings = report_warnings(&run);
        assert!(
            warnings.len() == 1 && warnings[0].contains("(a FIFO)"),
            "{warnings:?}"
        );
    }

    // As root, the old code replaced the device node with a database file.
    let run = dns_clean(
        TestRun::new().file("in.csv", CONTACTS),
        &dns,
        &["--cache", "/dev/null", "--quiet"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null is intact");
    let warnings = report_warnings(&run);
    assert!(
        warnings.len() == 1 && warnings[0].contains("/dev/null is not a listwash cache (a device)"),
        "{warnings:?}"
    );
}

// See: #16 item 12
#[test]
fn a_cache_damaged_during_a_run_is_one_warning_and_no_panic() {
    // Run 1 fills the cache. Run 2 opens it (checked), then waits for slow answers while the
    // file is damaged behind its back; its final write meets the damage.
    let contacts: String = std::iter::once("email\n".to_string())
        .chain((0..40).map(|i| format!("p{i}@acme-widgets.com\n")))
        .collect();
    let fast = DnsFixture::with_fixture_zones();
    let first = dns_clean(
        TestRun::new().file("in.csv", &contacts),
        &fast,
        &["--cache", "{dir}/domains.redb", "--quiet"],
    );
    assert_eq!(first.status, 0, "{}", first.stderr);
    let cache = first.path("domains.redb");
    let mut bytes = std::fs::read(&cache).unwrap();
    assert!(bytes.len() > 8192);

    let slow = DnsFixture::builder(Mode::Authority)
        .fixture_zones()
        .delay(Duration::from_millis(2500))
        .start();
    let input = first.path("in2.csv");
    std::fs::write(&input, "email\nkim@gmail.com\nbob@nullmx.net\n").unwrap();
    let server = slow.addr.to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["clean", input.to_str().unwrap(), "--out-dir"])
        .arg(first.path("out2"))
        .args(["--dns-server", &server, "--dns-timeout", "10000", "--cache"])
        .arg(&cache)
        .args(["--as-of", "2026-11-01"])
        .env("RUST_BACKTRACE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    for (i, byte) in bytes.iter_mut().enumerate().skip(4096) {
        *byte = (i % 251) as u8;
    }
    std::fs::write(&cache, &bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let warnings = warning_lines(&stderr);
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("domains.redb") && warnings[0].contains("not saved"),
        "{stderr}"
    );
}

// See: #16 item 13
#[test]
fn an_oversized_rules_file_is_refused_before_it_is_held() {
    let big = "# a comment line of a rules file that goes on and on\n".repeat(25_000);
    TestRun::new()
        .file("in.csv", CONTACTS)
        .file("big.toml", &big)
        .expect_status(1)
        .expect_stderr_contains("big.toml")
        .expect_stderr_contains("limit of 1 MiB")
        .clean(&["--rules", "{dir}/big.toml"]);
    // An endless file stops at the limit (the old code read it into memory until killed).
    let run = TestRun::new()
        .file("in.csv", CONTACTS)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--rules", "/dev/zero"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stderr.contains("limit of 1 MiB"), "{}", run.stderr);
}

// See: #16 item 13
#[test]
fn dns_numbers_in_the_rules_are_bounded() {
    for (rules, key, line) in [
        ("[dns]\nretries = 4000000000\n", "dns.retries", 2),
        (
            "[actions]\n\n[dns]\nretry_backoff_ms = 18446744073709551615\n",
            "dns.retry_backoff_ms",
            4,
        ),
        (
            "[dns]\nnegative_max_ttl_secs = 9999999999\n",
            "dns.negative_max_ttl_secs",
            2,
        ),
    ] {
        let run = TestRun::new()
            .file("in.csv", CONTACTS)
            .file("r.toml", rules)
            .expect_status(1)
            .stderr_allowed()
            .clean(&["--rules", "{dir}/r.toml"]);
        assert_eq!(run.status, 1, "{rules}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("line {line}: {key}: "))
                && run.stderr.contains("use 0 to"),
            "{}",
            run.stderr
        );
    }
}

// See: #16 item 13
#[test]
fn an_overlong_suppression_line_is_an_error_naming_the_line() {
    let list = format!("a@example.com\n{}\nb@example.com\n", "x".repeat(100_000));
    TestRun::new()
        .file("in.csv", CONTACTS)
        .file("list.txt", &list)
        .expect_status(1)
        .expect_stderr_contains("list.txt")
        .expect_stderr_contains("line 2 is longer than 64 KiB")
        .clean(&["--suppress", "{dir}/list.txt"]);
    // In a CSV list too, and an endless line stops at the limit.
    let list = format!("id,email\n1,a@example.com\n2,\"{}\"\n", "y".repeat(70_000));
    let run = TestRun::new()
        .file("in.csv", CONTACTS)
        .file("list.csv", &list)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--suppress", "{dir}/list.csv"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stderr.contains("line 3 is longer"), "{}", run.stderr);
    let run = TestRun::new()
        .file("in.csv", CONTACTS)
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--suppress", "/dev/zero"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stderr.contains("line 1 is longer"), "{}", run.stderr);
}

/// Runs `clean` with `flag` naming a file called `name` (not UTF-8) that holds `content`;
/// returns `report.json`.
#[cfg(unix)]
fn clean_with_a_non_utf8_file(flag: &str, name: &[u8], content: &str) -> serde_json::Value {
    use std::os::unix::ffi::OsStrExt;
    let run = TestRun::new().file("in.csv", CONTACTS);
    let file = run.dir().join(std::ffi::OsStr::from_bytes(name));
    std::fs::write(&file, content).unwrap();
    let dir = run.dir().to_path_buf();
    let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
        .arg("clean")
        .arg(dir.join("in.csv"))
        .arg("--out-dir")
        .arg(dir.join("out"))
        .args(["--no-dns", "--quiet", "--as-of", "2026-11-01", flag])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&std::fs::read(dir.join("out/report.json")).unwrap()).unwrap()
}

// See: #16 item 15
#[cfg(unix)]
#[test]
fn a_suppression_list_with_a_non_utf8_name_works() {
    let report = clean_with_a_non_utf8_file("--suppress", b"unsub-\xff.txt", "kim@gmail.com\n");
    assert_eq!(report["reasons"]["suppression_list"], 1, "{report}");
    assert!(
        report["suppression_lists"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("unsub-\u{fffd}.txt"),
        "{report}"
    );
}

// See: #16 item 16
#[test]
fn an_empty_suppression_list_is_an_error_naming_it() {
    for content in ["", "email\n", "\n# nothing yet\n\n"] {
        TestRun::new()
            .file("in.csv", CONTACTS)
            .file("empty.txt", content)
            .expect_status(1)
            .expect_stderr_contains("empty.txt")
            .expect_stderr_contains("holds no entries")
            .clean(&["--suppress", "{dir}/empty.txt"]);
    }
}

// See: #16 item 16
#[test]
fn empty_canary_and_inverted_ttl_bounds_are_refused() {
    for (rules, expected) in [
        (
            "[dns]\ncanaries = [\"\"]\n",
            "line 2: dns.canaries: \"\" is not a domain",
        ),
        (
            "[dns]\nmin_ttl_secs = 86400\nmax_ttl_secs = 3600\n",
            "line 2: dns.min_ttl_secs: 86400 is more than max_ttl_secs = 3600",
        ),
    ] {
        let run = TestRun::new()
            .file("in.csv", CONTACTS)
            .file("r.toml", rules)
            .expect_status(1)
            .stderr_allowed()
            .clean(&["--rules", "{dir}/r.toml"]);
        assert_eq!(run.status, 1, "{rules}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
    }
}

// See: #16 items 11 and 16
#[test]
fn out_of_range_command_line_numbers_exit_2_naming_the_range() {
    for (args, expected) in [
        (
            ["--max-field-bytes", "0"],
            "0 is out of range; use 1024 to 1073741824 bytes",
        ),
        (["--max-field-bytes", "100"], "use 1024 to"),
        (["--file-mode", "000"], "unreadable to their owner"),
        (["--file-mode", "777"], "writable by group or others"),
        (["--file-mode", "664"], "writable by group or others"),
        (["--jobs", "30000"], "30000 is out of range; use 1 to"),
        (["--jobs", "0"], "0 is out of range; use 1 to"),
    ] {
        let run = TestRun::new()
            .file("in.csv", CONTACTS)
            .expect_status(2)
            .stderr_allowed()
            .clean(&args);
        assert_eq!(run.status, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.path("out").exists(), "nothing was started");
    }
    for args in [
        ["--file-mode", "644"],
        ["--file-mode", "400"],
        ["--max-field-bytes", "1024"],
        ["--jobs", "8"],
    ] {
        let run = TestRun::new().file("in.csv", CONTACTS).clean(&args);
        assert_eq!(run.status, 0, "{args:?}: {}", run.stderr);
    }
}

// See: #16 item 15 (the same for event logs)
#[cfg(unix)]
#[test]
fn an_event_log_with_a_non_utf8_name_works() {
    let report = clean_with_a_non_utf8_file(
        "--engagement",
        b"events-\xff.csv",
        "email,event,timestamp\nkim@gmail.com,complaint,2026-10-01\nnot-an-address,open,2026-10-01\n",
    );
    assert_eq!(report["reasons"]["complained"], 1, "{report}");
    let files = report["engagement"]["logs"]["files"].to_string();
    assert!(files.contains("events-\u{fffd}.csv"), "{report}");
}
