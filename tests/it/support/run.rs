//! `TestRun`: runs the built `listwash` binary in a temporary directory, and checks how the run
//! ended (exit status, stdout, stderr) in one place, as casey/just's `Test` builder does.
//!
//! A run states what it expects before it runs: [`TestRun::expect_status`] (0 unless said),
//! and what may appear on stderr ([`TestRun::expect_stderr_contains`], [`TestRun::stderr_allowed`])
//! and stdout ([`TestRun::stdout_allowed`], [`TestRun::expect_stdout_contains`]). Anything else
//! fails the test when the run finishes, with the status, stdout and stderr in the message: an
//! unexpected warning or error cannot slip past a test that only looks at the outputs.
//!
//! `--quiet` hides DNS warnings from stderr; for such runs the warnings recorded in
//! `out/report.json` count as stderr, so `--quiet` cannot hide them from a test either. A panic
//! message on stderr always fails, whatever was allowed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The outcome of one run of the binary.
pub struct RunResult {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
    _temp: std::sync::Arc<tempfile::TempDir>,
}

impl RunResult {
    /// The text of an output file in `out/`.
    pub fn out(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join("out").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The bytes of an output file in `out/`.
    pub fn out_bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join("out").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// `report.json`, parsed.
    pub fn report(&self) -> serde_json::Value {
        serde_json::from_str(&self.out("report.json")).expect("report.json is JSON")
    }

    /// Rows of an output CSV as maps of column → value (comma-delimited outputs).
    pub fn rows(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let mut reader =
            csv::Reader::from_path(self.dir.join("out").join(name)).expect("output exists");
        let header = reader.headers().expect("header").clone();
        reader
            .records()
            .map(|r| {
                header
                    .iter()
                    .zip(r.expect("record").iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// The `listwash_reason` of the row whose `email` column is `email`, or `keep`.
    pub fn reason_of(&self, email: &str) -> String {
        for file in ["review.csv", "suppressed.csv"] {
            if let Some(row) = self
                .rows(file)
                .into_iter()
                .find(|r| r.get("email").map(String::as_str) == Some(email))
            {
                return row["listwash_reason"].clone();
            }
        }
        if self
            .rows("clean.csv")
            .iter()
            .any(|r| r.get("email").map(String::as_str) == Some(email))
        {
            return "keep".into();
        }
        panic!("{email} is in no output");
    }

    /// A path inside the run's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Asserts conservation as `report.json` and the files tell it: the four CSV outputs hold
    /// `input_rows` records between them, each file as many as the report says, and no
    /// temporary file is left in `out/`.
    pub fn assert_conserved(&self, input_rows: u64) {
        let report = self.report();
        let outputs = &report["outputs"];
        let total: u64 = ["clean", "review", "suppressed", "rejected"]
            .iter()
            .map(|k| outputs[k].as_u64().expect("a count per output"))
            .sum();
        assert_eq!(total, input_rows, "report: {report}");
        assert_eq!(report["input"]["rows"].as_u64(), Some(input_rows));
        for (name, key) in [
            ("clean.csv", "clean"),
            ("review.csv", "review"),
            ("suppressed.csv", "suppressed"),
            ("rejected.csv", "rejected"),
        ] {
            assert_eq!(
                self.rows(name).len() as u64,
                outputs[key].as_u64().expect("a count"),
                "{name}"
            );
        }
        let leftovers: Vec<String> = std::fs::read_dir(self.path("out"))
            .expect("out/ exists")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| !OUTPUTS.contains(&n.as_str()))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

/// The six files of a finished run, in `--out-dir` (report.html: see #12 part 2).
pub const OUTPUTS: [&str; 6] = [
    "clean.csv",
    "review.csv",
    "suppressed.csv",
    "rejected.csv",
    "report.json",
    "report.html",
];

/// What may appear on a stream.
#[derive(Debug, Clone)]
enum Allowed {
    /// Nothing at all.
    Nothing,
    /// Something, holding each of these.
    Containing(Vec<String>),
    /// Anything (the test looks at it itself).
    Anything,
}

impl Allowed {
    fn add(&mut self, needle: &str) {
        match self {
            Allowed::Containing(needles) => needles.push(needle.to_string()),
            _ => *self = Allowed::Containing(vec![needle.to_string()]),
        }
    }

    /// Why `text` breaks this rule, if it does.
    fn problem(&self, stream: &str, text: &str) -> Option<String> {
        match self {
            Allowed::Nothing if !text.is_empty() => Some(format!("unexpected {stream}")),
            Allowed::Containing(needles) => {
                let missing: Vec<&String> = needles.iter().filter(|n| !text.contains(*n)).collect();
                (!missing.is_empty()).then(|| format!("{stream} lacks {missing:?}"))
            }
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Allowed::Nothing => "empty".into(),
            Allowed::Containing(needles) => format!("containing {needles:?}"),
            Allowed::Anything => "anything".into(),
        }
    }
}

/// How a run must end: exit status, and what stdout and stderr may hold.
#[derive(Debug, Clone)]
pub struct Expect {
    status: i32,
    stdout: Allowed,
    stderr: Allowed,
}

impl Default for Expect {
    fn default() -> Expect {
        Expect {
            status: 0,
            stdout: Allowed::Nothing,
            stderr: Allowed::Nothing,
        }
    }
}

impl Expect {
    /// Exit status 0, nothing on stdout or stderr (then change what the run should do).
    pub fn new() -> Expect {
        Expect::default()
    }

    /// The exit status the run must end with.
    pub fn status(mut self, status: i32) -> Expect {
        self.status = status;
        self
    }

    /// stderr must hold `needle` (and may hold anything else).
    pub fn stderr_contains(mut self, needle: &str) -> Expect {
        self.stderr.add(needle);
        self
    }

    /// stderr may hold anything: the test checks it itself.
    pub fn stderr_allowed(mut self) -> Expect {
        self.stderr = Allowed::Anything;
        self
    }

    /// stdout must hold `needle`.
    pub fn stdout_contains(mut self, needle: &str) -> Expect {
        self.stdout.add(needle);
        self
    }

    /// stdout may hold anything: the test checks it itself.
    pub fn stdout_allowed(mut self) -> Expect {
        self.stdout = Allowed::Anything;
        self
    }

    /// Panics with the whole picture (command, status, stdout, stderr) unless the run ended as
    /// expected. `hidden_warnings` are warnings `--quiet` kept off stderr (from the report).
    pub fn assert(
        &self,
        what: &str,
        status: i32,
        stdout: &str,
        stderr: &str,
        hidden_warnings: &[String],
    ) {
        let mut seen_stderr = stderr.to_string();
        for warning in hidden_warnings {
            let _ = writeln!(
                seen_stderr,
                "listwash: warning: {warning} [hidden by --quiet]"
            );
        }
        let mut problems = Vec::new();
        if status != self.status {
            problems.push(format!("exit status {status}, expected {}", self.status));
        }
        problems.extend(self.stdout.problem("stdout", stdout));
        problems.extend(self.stderr.problem("stderr", &seen_stderr));
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            problems.push("a panic".into());
        }
        if problems.is_empty() {
            return;
        }
        panic!(
            "{what}\ndid not end as expected: {}\nexpected: status {}, stdout {}, stderr {}\n\
             --- status: {status}\n--- stdout:\n{}\n--- stderr:\n{}\n---",
            problems.join("; "),
            self.status,
            self.stdout.describe(),
            self.stderr.describe(),
            shorten(stdout),
            shorten(&seen_stderr),
        );
    }

    /// [`Expect::assert`] on a finished process.
    pub fn assert_output(&self, what: &str, output: &Output) {
        self.assert(
            what,
            output.status.code().unwrap_or(-1),
            &String::from_utf8_lossy(&output.stdout),
            &String::from_utf8_lossy(&output.stderr),
            &[],
        );
    }
}

/// The first and last 2,000 characters of a long text.
fn shorten(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 4_000 {
        return text.to_string();
    }
    let head: String = chars[..2_000].iter().collect();
    let tail: String = chars[chars.len() - 2_000..].iter().collect();
    format!("{head}\n[… {} characters …]\n{tail}", chars.len() - 4_000)
}

/// A builder for one run: files in a temp dir, then `listwash ARGS`, then the checks.
pub struct TestRun {
    temp: std::sync::Arc<tempfile::TempDir>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    expect: Expect,
}

impl TestRun {
    pub fn new() -> TestRun {
        TestRun {
            temp: std::sync::Arc::new(tempfile::tempdir().expect("tempdir")),
            args: Vec::new(),
            stdin: None,
            expect: Expect::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.temp.path()
    }

    /// Writes a file into the run's directory.
    pub fn file(self, name: &str, content: impl AsRef<[u8]>) -> TestRun {
        let path = self.temp.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, content).expect("write fixture");
        self
    }

    /// Adds arguments; `{dir}` is replaced by the run's directory.
    pub fn args<I, S>(mut self, args: I) -> TestRun
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let dir = self.temp.path().display().to_string();
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().replace("{dir}", &dir)));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> TestRun {
        self.stdin = Some(bytes.into());
        self
    }

    /// The exit status the run must end with (default 0).
    pub fn expect_status(mut self, status: i32) -> TestRun {
        self.expect = self.expect.status(status);
        self
    }

    /// stderr must hold `needle`; give it once per needle.
    pub fn expect_stderr_contains(mut self, needle: &str) -> TestRun {
        self.expect = self.expect.stderr_contains(needle);
        self
    }

    /// stderr may hold anything: the test checks it itself.
    #[allow(
        dead_code,
        reason = "for tests that read stderr themselves; none does at present"
    )]
    pub fn stderr_allowed(mut self) -> TestRun {
        self.expect = self.expect.stderr_allowed();
        self
    }

    /// stdout must hold `needle`.
    pub fn expect_stdout_contains(mut self, needle: &str) -> TestRun {
        self.expect = self.expect.stdout_contains(needle);
        self
    }

    /// stdout may hold anything: the test checks it itself.
    pub fn stdout_allowed(mut self) -> TestRun {
        self.expect = self.expect.stdout_allowed();
        self
    }

    /// `clean in.csv --out-dir out --no-dns --quiet` plus the extra arguments.
    pub fn clean(self, extra: &[&str]) -> RunResult {
        self.args([
            "clean",
            "{dir}/in.csv",
            "--out-dir",
            "{dir}/out",
            "--no-dns",
            "--quiet",
            "--as-of",
            "2026-11-01",
        ])
        .args(extra)
        .run()
    }

    /// Runs the binary and checks the status, stdout and stderr against what was expected.
    pub fn run(self) -> RunResult {
        let mut command = Command::new(env!("CARGO_BIN_EXE_listwash"));
        command
            .args(&self.args)
            .current_dir(self.temp.path())
            .env("XDG_CACHE_HOME", self.temp.path().join("cache"));
        let output: Output = match self.stdin {
            Some(bytes) => {
                use std::io::Write;
                command
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = command.spawn().expect("spawn listwash");
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(&bytes)
                    .expect("write stdin");
                child.wait_with_output().expect("wait")
            }
            None => command.output().expect("run listwash"),
        };
        let result = RunResult {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dir: self.temp.path().to_path_buf(),
            _temp: self.temp,
        };
        let quiet = self.args.iter().any(|a| a == "--quiet" || a == "-q");
        let hidden = if quiet {
            report_warnings(&result.path("out/report.json"))
        } else {
            Vec::new()
        };
        self.expect.assert(
            &format!("listwash {}", self.args.join(" ")),
            result.status,
            &result.stdout,
            &result.stderr,
            &hidden,
        );
        result
    }
}

/// The DNS warnings recorded in a report (none when there is no report).
fn report_warnings(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let report: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
    report["domains"]["warnings"]
        .as_array()
        .map(|warnings| {
            warnings
                .iter()
                .map(|w| w.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `listwash clean INPUT --out-dir OUT --no-dns --quiet --as-of 2026-11-01`, for tests that
/// run the binary themselves (concurrent runs, signals).
pub fn clean_command(input: &Path, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_listwash"));
    command.args([
        "clean",
        &input.display().to_string(),
        "--out-dir",
        &out.display().to_string(),
        "--no-dns",
        "--quiet",
        "--as-of",
        "2026-11-01",
    ]);
    command
}
