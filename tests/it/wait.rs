//! `--wait`: a run waits for the one holding its output folder instead of exiting 1.
//! See: #13 part 2 (built on the per-folder lock of #16 item 3).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::run::Expect;

/// Holds `out/.listwash.lock` as another run would (an flock, with a PID in it).
fn hold_the_folder(out: &std::path::Path) -> std::fs::File {
    std::fs::create_dir_all(out).expect("mkdir out");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(out.join(".listwash.lock"))
        .expect("open lock file");
    file.try_lock().expect("lock the folder");
    writeln!(file, "4242").expect("write PID");
    file
}

fn clean(dir: &std::path::Path, wait: &[&str]) -> std::process::Child {
    std::fs::write(dir.join("in.csv"), "email\na@example.com\n").expect("write input");
    Command::new(env!("CARGO_BIN_EXE_listwash"))
        .args(["clean", "in.csv", "--out-dir", "out", "--no-dns", "--quiet"])
        .args(wait)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start listwash")
}

#[test]
fn a_waiting_run_goes_on_when_the_holder_lets_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let holder = hold_the_folder(&dir.path().join("out"));
    let mut child = clean(dir.path(), &["--wait", "60"]);
    // Longer than the lock's 100 attempts × 50 ms, which waiting once used up.
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the run did not wait for the holder"
    );
    drop(holder);
    let output = child.wait_with_output().expect("wait");
    Expect::new().assert_output("clean --wait 60", &output);
    assert!(dir.path().join("out/clean.csv").exists());
}

#[test]
fn a_wait_that_runs_out_names_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _holder = hold_the_folder(&dir.path().join("out"));
    let output = clean(dir.path(), &["--wait", "1"])
        .wait_with_output()
        .expect("wait");
    Expect::new()
        .status(1)
        .stderr_contains("another listwash run (PID 4242)")
        .assert_output("clean --wait 1", &output);
    assert!(!dir.path().join("out/clean.csv").exists());
}

#[test]
fn wait_without_seconds_waits_as_long_as_it_takes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let holder = hold_the_folder(&dir.path().join("out"));
    let mut child = clean(dir.path(), &["--wait"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().expect("try_wait").is_none());
    drop(holder);
    let output = child.wait_with_output().expect("wait");
    Expect::new().assert_output("clean --wait", &output);
}
