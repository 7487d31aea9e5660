//! Progress reporting: a small trait the pipeline calls, and an indicatif bar on stderr.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Receives progress from a run. Implementations must be cheap: it is called once a batch.
pub trait Progress: Sync {
    /// A stage's name, before rows flow (e.g. loading history).
    fn message(&self, _text: &str) {}
    /// Rows start to flow; `total_bytes` is the input's size when known.
    fn start(&self, _total_bytes: Option<u64>) {}
    /// Rows written so far and input bytes read so far.
    fn update(&self, _rows: u64, _bytes: u64) {}
    /// The run is done.
    fn finish(&self) {}
}

/// No progress output (`--quiet`, `--progress never`, tests).
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {}

impl Default for Bar {
    fn default() -> Self {
        Bar::new()
    }
}

/// An indicatif bar on stderr: bytes with an ETA when the size is known, rows and rows/s.
/// It never prints an address.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on stderr; hidden by indicatif when stderr is not a terminal.
    pub fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar { bar }
    }
}

impl Progress for Bar {
    fn message(&self, text: &str) {
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        self.bar.set_message(text.to_string());
    }

    fn start(&self, total_bytes: Option<u64>) {
        let template = match total_bytes {
            Some(total) => {
                self.bar.set_length(total);
                "{bar:30} {percent:>3}% {msg} eta {eta}"
            }
            None => "{spinner} {msg}",
        };
        self.bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_message("starting");
    }

    fn update(&self, rows: u64, bytes: u64) {
        self.bar.set_position(bytes);
        let elapsed = self.bar.elapsed().as_secs_f64().max(1e-3);
        self.bar
            .set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / elapsed));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Progress as plain lines, at most one every five seconds (`--progress always` on a
/// non-terminal stderr, e.g. under cron). Writes to the writer it is given; write errors are
/// ignored (progress is never worth failing a run).
pub struct LogLines<W> {
    out: std::sync::Mutex<(W, Option<std::time::Instant>)>,
}

impl<W: std::io::Write + Send> LogLines<W> {
    /// Progress lines written to `out`.
    pub fn new(out: W) -> LogLines<W> {
        LogLines {
            out: std::sync::Mutex::new((out, None)),
        }
    }
}

impl<W: std::io::Write + Send> Progress for LogLines<W> {
    fn update(&self, rows: u64, _bytes: u64) {
        let Ok(mut guard) = self.out.lock() else {
            return;
        };
        let (out, last) = &mut *guard;
        let now = std::time::Instant::now();
        if last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(5)) {
            let _ = writeln!(out, "listwash: {rows} rows done");
            *last = Some(now);
        }
    }
}
