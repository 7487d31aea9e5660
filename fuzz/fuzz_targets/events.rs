//! The event-log reader (polars scan, event names, timestamps, machine flags, garbage rows)
//! never panics, and every row it reads is either used, ignored or counted as unparsed.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use listwash::engagement::{EngagementRules, History};

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary directory"))
}

fuzz_target!(|data: &[u8]| {
    let path = dir().path().join("events.csv");
    let Ok(mut file) = std::fs::File::create(&path) else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    drop(file);
    let _ = History::load(&[path], &EngagementRules::default());
});
