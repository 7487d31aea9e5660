//! The output folder: outputs never replace inputs, one run per folder, the five files
//! published as a whole, owner-only permissions whatever the umask.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::run::{OUTPUTS, TestRun};

fn contacts(rows: usize) -> String {
    let mut text = String::from("email,name\n");
    for i in 0..rows {
        text.push_str(&format!("person{i}@company{}.com,Name {i}\n", i % 97));
    }
    text
}

/// Every entry of `dir` that is not one of the five outputs.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read out dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !OUTPUTS.contains(&n.as_str()))
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

use crate::support::run::clean_command;

#[test]
fn an_input_inside_the_out_dir_named_like_an_output_is_refused() {
    // See: #16 item 2
    let input = contacts(399);
    let run = TestRun::new().file("out/clean.csv", &input);
    let result = run
        .args([
            "clean",
            "{dir}/out/clean.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
            "--quiet",
        ])
        .expect_status(1)
        .stderr_allowed()
        .run();
    assert_eq!(result.status, 1, "{}", result.stderr);
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
    assert!(
        result.stderr.matches("out/clean.csv").count() >= 2 && result.stderr.contains("input"),
        "the message names the output and the input: {}",
        result.stderr
    );
    assert_eq!(result.out("clean.csv"), input, "the input was changed");
    assert_eq!(leftovers(&result.dir.join("out")), Vec::<String>::new());
    assert!(!result.dir.join("out/report.json").exists());
}

#[test]
fn a_suppression_list_reached_through_a_symlink_is_refused() {
    // See: #16 item 2
    let run = TestRun::new()
        .file("in.csv", contacts(3))
        .file("out/suppressed.csv", "person1@company1.com\n");
    std::os::unix::fs::symlink(
        run.dir().join("out/suppressed.csv"),
        run.dir().join("list.txt"),
    )
    .expect("symlink");
    let result = run
        .expect_status(1)
        .stderr_allowed()
        .clean(&["--suppress", "{dir}/list.txt"]);
    assert_eq!(result.status, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("suppressed.csv")
            && result.stderr.contains("suppression list")
            && result.stderr.contains("list.txt"),
        "{}",
        result.stderr
    );
    assert_eq!(result.out("suppressed.csv"), "person1@company1.com\n");
}

/// Takes the output folder's lock the way a run does, from this process.
fn hold_lock(out: &Path) -> File {
    std::fs::create_dir_all(out).expect("mkdir");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out.join(".listwash.lock"))
        .expect("open lock");
    file.try_lock().expect("lock");
    writeln!(file, "{}", std::process::id()).expect("write pid");
    file
}

#[test]
fn a_run_on_a_locked_out_dir_is_refused_naming_the_holder() {
    // See: #16 item 3
    let run = TestRun::new().file("in.csv", contacts(5)).file(
        "out/.clean.csv.a1b2c3.listwash-tmp",
        "another run's temporary file",
    );
    let out = run.dir().join("out");
    let input = run.dir().join("in.csv");
    let lock = hold_lock(&out);
    let refused = clean_command(&input, &out).output().expect("run");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("PID {}", std::process::id())) && stderr.contains("--out-dir"),
        "{stderr}"
    );
    assert!(!out.join("clean.csv").exists());
    assert!(out.join(".clean.csv.a1b2c3.listwash-tmp").exists());
    drop(lock);
    // A lock file left behind (its holder gone) is taken over.
    let after = clean_command(&input, &out).output().expect("run");
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert!(out.join("clean.csv").exists());
    // A run never removes temporary files it did not create.
    assert_eq!(leftovers(&out), [".clean.csv.a1b2c3.listwash-tmp"]);
}

/// Waits until a run is writing its outputs in `out` (a temporary file of a few KiB, in the
/// folder or in a private folder inside it).
fn wait_until_writing(out: &Path) {
    let entries = |dir: &Path| {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        // Hidden files in `out`, or any file in a hidden folder of `out`.
        let writing = entries(out)
            .into_iter()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .flat_map(|e| {
                let inner = entries(&e.path());
                std::iter::once(e).chain(inner)
            })
            .any(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() > 4096));
        if writing {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the first run never started writing");
}

#[test]
fn two_runs_on_one_out_dir_give_one_success_and_one_refusal() {
    // See: #16 item 3
    let run = TestRun::new()
        .file("big.csv", contacts(300_000))
        .file("small.csv", contacts(3));
    let out = run.dir().join("out");
    let first = clean_command(&run.dir().join("big.csv"), &out)
        .arg("--jobs")
        .arg("1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let first_pid = first.id();
    wait_until_writing(&out);
    let second = clean_command(&run.dir().join("small.csv"), &out)
        .output()
        .expect("second run");
    let first = first.wait_with_output().expect("first run");
    let first_stderr = String::from_utf8_lossy(&first.stderr);
    let second_stderr = String::from_utf8_lossy(&second.stderr);
    assert!(first.status.success(), "{first_stderr}");
    assert_eq!(second.status.code(), Some(1), "{second_stderr}");
    assert!(
        second_stderr.contains(&format!("PID {first_pid}")),
        "{second_stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("report"))
            .expect("json");
    assert_eq!(report["input"]["rows"], 300_000, "the first run's outputs");
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn a_failed_publish_leaves_the_previous_set_byte_identical() {
    // See: #16 item 4
    let run = TestRun::new()
        .file(
            "in.csv",
            "email\na@acme-widgets.com\nbad\nx@mailinator.com\n",
        )
        .file("other.csv", contacts(20));
    let dir = run.dir().to_path_buf();
    let out = dir.join("out");
    let first = run.clean(&[]);
    assert_eq!(first.status, 0, "{}", first.stderr);
    // A directory where suppressed.csv must go: the third move fails, after clean.csv and
    // review.csv were already moved.
    std::fs::remove_file(out.join("suppressed.csv")).expect("rm");
    std::fs::create_dir_all(out.join("suppressed.csv/inside")).expect("mkdir");
    let before: Vec<(PathBuf, Vec<u8>)> =
        ["clean.csv", "review.csv", "rejected.csv", "report.json"]
            .iter()
            .map(|n| (out.join(n), std::fs::read(out.join(n)).expect("read")))
            .collect();
    let failed = clean_command(&dir.join("other.csv"), &out)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    for (path, bytes) in &before {
        assert_eq!(
            &std::fs::read(path).expect("read"),
            bytes,
            "{} changed",
            path.display()
        );
    }
    assert!(
        stderr.contains("suppressed.csv") && stderr.contains("move it away"),
        "{stderr}"
    );
    assert!(out.join("suppressed.csv/inside").is_dir());
    assert_eq!(leftovers(&out), Vec::<String>::new(), "temporaries left");
}

#[test]
fn the_out_dir_is_created_owner_only_whatever_the_umask() {
    // See: #16 item 8
    let run = TestRun::new().file("in.csv", contacts(3));
    let dir = run.dir().to_path_buf();
    let script = format!(
        "umask 0; exec {} clean in.csv --out-dir new/out --no-dns --quiet --file-mode 644",
        env!("CARGO_BIN_EXE_listwash")
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .output()
        .expect("sh");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mode(&dir.join("new")), 0o700);
    assert_eq!(mode(&dir.join("new/out")), 0o700);
    for name in OUTPUTS {
        assert_eq!(mode(&dir.join("new/out").join(name)), 0o644, "{name}");
    }
}

#[test]
fn an_existing_out_dir_keeps_its_mode() {
    // See: #16 item 8
    let run = TestRun::new().file("in.csv", contacts(3));
    let out = run.dir().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o751)).expect("chmod");
    let result = run.clean(&[]);
    assert_eq!(result.status, 0, "{}", result.stderr);
    assert_eq!(mode(&out), 0o751);
    assert_eq!(mode(&out.join("clean.csv")), 0o600);
}
