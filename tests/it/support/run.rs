//! `TestRun`: runs the built `listwash` binary in a temporary directory.

use std::collections::BTreeMap;
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

    /// Asserts that `shared/tools/check_outputs.py`-style conservation holds (own check: the
    /// shared tool is not in a user's clone).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// A builder for one run: files in a temp dir, then `listwash ARGS`.
pub struct TestRun {
    temp: std::sync::Arc<tempfile::TempDir>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
}

impl TestRun {
    pub fn new() -> TestRun {
        TestRun {
            temp: std::sync::Arc::new(tempfile::tempdir().expect("tempdir")),
            args: Vec::new(),
            stdin: None,
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
        RunResult {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dir: self.temp.path().to_path_buf(),
            _temp: self.temp,
        }
    }
}
