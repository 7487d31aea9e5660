//! A real PostgreSQL server for the shared-cache tests: `initdb` into a temporary folder, then
//! `pg_ctl start` on a free loopback port with its socket in that folder; stopped and removed
//! when dropped. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
//! When its binaries are missing, `scripts/install-test-deps.sh postgresql` installs them
//! (Debian's package); the test fails with that script's output if that does not work.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One running server (user `listwash`, trust authentication, database `postgres`).
pub(crate) struct PgServer {
    _temp: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    /// The system user that runs the server (`postgres` when the tests run as root).
    run_as: Option<String>,
}

impl PgServer {
    /// initdb + start; panics with the server's words when that fails.
    pub(crate) fn start() -> PgServer {
        let bin = binaries();
        let temp = tempfile::tempdir().expect("temp dir");
        let run_as = is_root().then(|| "postgres".to_string());
        if run_as.is_some() {
            let uid = output(Command::new("id").args(["-u", "postgres"]));
            let uid: u32 = uid.trim().parse().expect("the postgres user's uid");
            std::os::unix::fs::chown(temp.path(), Some(uid), None).expect("chown temp dir");
        }
        let data = temp.path().join("data");
        let port = free_port();
        let mut server = PgServer {
            _temp: temp,
            data,
            bin,
            port,
            run_as,
        };
        server.tool(
            "initdb",
            &[
                "-D",
                &server.data.display().to_string(),
                "-U",
                "listwash",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // A port found free may be taken by a server another test starts at the same time:
        // then try another.
        for _ in 0..5 {
            if server.pg_ctl_start() {
                return server;
            }
            server.port = free_port();
        }
        let log = self_log(&server);
        panic!("PostgreSQL did not start on five ports; its log:\n{log}");
    }

    /// `postgresql://listwash@127.0.0.1:PORT/postgres`.
    pub(crate) fn url(&self) -> String {
        format!("postgresql://listwash@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections; false when it did not start.
    fn pg_ctl_start(&self) -> bool {
        let socket_dir = self.data.parent().expect("temp dir").display().to_string();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port
        );
        let log = self.data.parent().expect("temp dir").join("server.log");
        self.command("pg_ctl")
            .args(["-D", &self.data.display().to_string()])
            .args(["-l", &log.display().to_string()])
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl")
            .status
            .success()
    }

    /// Stops the server at once (`-m fast`: clients are disconnected).
    pub(crate) fn stop(&self) {
        self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// One SQL statement through psql; its unaligned output.
    pub(crate) fn psql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "listwash", "-d", "postgres", "-Atc", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql}: {}", describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits (at most `limit`) until `sql` prints `want`; true when it did.
    pub(crate) fn wait_for(&self, sql: &str, want: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.psql(sql) == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// A PostgreSQL program, to run as the server's user.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        }
    }

    /// Runs a PostgreSQL program as the server's user; panics with its output on failure.
    fn tool(&self, name: &str, args: &[&str]) {
        let out = self
            .command(name)
            .args(args)
            .output()
            .expect("run a PostgreSQL tool");
        assert!(out.status.success(), "{name} {args:?}: {}", describe(&out));
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// The server's log, for a failure message.
fn self_log(server: &PgServer) -> String {
    let log = server.data.parent().map(|d| d.join("server.log"));
    log.and_then(|l| std::fs::read_to_string(l).ok())
        .unwrap_or_default()
}

/// The folder of `initdb`, `pg_ctl` and `psql`, installing PostgreSQL when missing (once
/// for all the tests of the process).
fn binaries() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(install).clone()
}

fn install() -> PathBuf {
    if let Some(bin) = find_binaries() {
        return bin;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-deps.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("postgresql")
        .output()
        .expect("run scripts/install-test-deps.sh");
    assert!(
        out.status.success(),
        "installing PostgreSQL failed: {}",
        describe(&out)
    );
    find_binaries().expect("PostgreSQL installed, but no initdb under /usr/lib/postgresql")
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn find_binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).trim() == "0"
}

fn output(command: &mut Command) -> String {
    let out = command.output().expect("run a command");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A loopback port where no database answers, held until the test process ends (so that no
/// server started by a concurrent test takes it): every connection is accepted and closed at
/// once.
pub(crate) fn dead_port() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let guard = std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    (port, guard)
}

/// A loopback TCP port nothing listens on (at the time of asking).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
