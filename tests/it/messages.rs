//! What reaches the terminal: never a panic, never an escape sequence from a file.

use std::process::{Command, Stdio};

use crate::support::run::TestRun;

/// Runs listwash with stderr on /dev/full (every write to it fails).
fn with_full_stderr(args: &[&str], dir: &std::path::Path) -> Option<i32> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .stdout(Stdio::null())
        .stderr(full)
        .status()
        .expect("run listwash")
        .code()
}

#[test]
fn a_stderr_that_cannot_be_written_is_not_a_panic() {
    // See: #16 item 12
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("in.csv"), "email\na@example.com\n").expect("write");
    let failing = ["clean", "missing.csv", "--out-dir", "out", "--no-dns"];
    assert_eq!(with_full_stderr(&failing, dir.path()), Some(1));
    let working = ["clean", "in.csv", "--out-dir", "out", "--no-dns"];
    assert_eq!(with_full_stderr(&working, dir.path()), Some(0));
    assert!(dir.path().join("out/clean.csv").exists());
    let warning = ["check", "a@example.com", "--no-cache"];
    assert_eq!(with_full_stderr(&warning, dir.path()), Some(0));
}

#[test]
fn escape_sequences_from_a_header_never_reach_the_terminal() {
    // See: #16 item 9
    let run = TestRun::new()
        .file(
            "in.csv",
            "\"e\u{1b}[2J\u{1b}[31mmail\",\"na\u{202e}me\"\na@example.com,A\n",
        )
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--email-column", "address"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(!run.stderr.contains('\u{202e}'), "{:?}", run.stderr);
    assert!(run.stderr.contains("address"), "{}", run.stderr);
}

#[test]
fn an_out_dir_that_is_not_a_folder_says_so_and_what_to_do() {
    // See: #16 item 15
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("in.csv"), "email\na@example.com\n").expect("write");
    std::fs::write(dir.path().join("a-file"), "x").expect("write");
    std::os::unix::fs::symlink("/nonexistent/folder", dir.path().join("dangling")).expect("ln");
    for (out, what) in [
        ("a-file", "is a file, not a folder"),
        ("dangling", "is a symbolic link to nothing, not a folder"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_listwash"))
            .args(["clean", "in.csv", "--no-dns", "--quiet", "--out-dir", out])
            .current_dir(dir.path())
            .output()
            .expect("run listwash");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("listwash: {out}: {what}; give --out-dir a folder (it is created if missing)")
        );
    }
    assert_eq!(
        std::fs::read(dir.path().join("a-file")).expect("still there"),
        b"x"
    );
}

#[test]
fn a_missing_file_says_to_check_the_path() {
    let run = TestRun::new()
        .args(["clean", "missing.csv", "--out-dir", "out", "--no-dns"])
        .expect_status(1)
        .stderr_allowed()
        .run();
    assert_eq!(run.status, 1);
    assert_eq!(
        run.stderr.trim_end(),
        "listwash: missing.csv: cannot read (check the path): No such file or directory (os error 2)"
    );
}

#[test]
fn a_folder_given_as_a_list_or_bad_rules_say_what_to_do() {
    // See: #16 ("every error message says what to do next")
    let run = TestRun::new()
        .file("in.csv", "email\na@example.com\n")
        .file("lists/one.txt", "b@example.com\n")
        .expect_status(1)
        .expect_stderr_contains("give the list file inside this folder")
        .clean(&["--suppress", "{dir}/lists"]);
    assert!(run.stderr.contains("lists"), "{}", run.stderr);
    TestRun::new()
        .file("in.csv", "email\na@example.com\n")
        .file("rules.toml", "retry = 3\n")
        .expect_status(1)
        .expect_stderr_contains("unknown field `retry`")
        .expect_stderr_contains("`listwash rules --defaults` shows every key")
        .clean(&["--rules", "{dir}/rules.toml"]);
}
