//! Unit tests of the output writer: routing, formatting, counts, publishing, the lock, the
//! private folder and collisions. See: #9 part 6

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::read::{Batch, Input, Item, ReadOptions};

/// Parses `text` (a contact CSV) and hands its records to `each` with a fresh [`Outputs`]
/// in `dir`; returns the outputs, unfinished.
fn write_all(
    dir: &Path,
    text: &str,
    bom: bool,
    cells: CellPolicy,
    mut each: impl FnMut(&mut Outputs, Item<'_>),
) -> Outputs {
    let reader = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
    let mut input =
        Input::from_reader(reader, Path::new("in.csv"), &ReadOptions::default()).expect("input");
    let mut outputs = Outputs::create(dir, input.header(), input.delimiter(), bom, cells)
        .expect("create outputs");
    let mut batch = Batch::default();
    loop {
        let more = input.read_chunk(1 << 20, &mut batch).expect("read");
        batch.parse(&input.shape());
        for item in batch.items() {
            each(&mut outputs, item);
        }
        if !more {
            return outputs;
        }
    }
}

/// Routes each row by its `action` column (keep / review / suppress); reason and detail come
/// from the `reason` and `detail` columns.
fn route(outputs: &mut Outputs, item: Item<'_>) {
    match item {
        Item::Row(row) => {
            let action = match row.text(1) {
                "review" => Action::Review,
                "suppress" => Action::Suppress,
                _ => Action::Keep,
            };
            outputs
                .write_row(&row, action, row.text(2), row.text(3))
                .expect("write row");
        }
        Item::Rejected(rejected) => outputs.write_rejected(rejected).expect("write rejected"),
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const ROUTED: &str = "email,action,reason,detail\n\
    a@x.com,keep,,\n\
    b@x.com,review,role_account,\"did you mean, maybe \"\"gmail.com\"\"?\nnext line\"\n\
    c@x.com,suppress,duplicate,first on line 2\n\
    e@x.com,keep\n";

#[test]
fn rows_go_to_their_file_with_reason_and_detail_appended() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let outputs = write_all(&out, ROUTED, false, CellPolicy::Unchanged, route);
    let counts = outputs.counts();
    assert_eq!(
        (
            counts.clean,
            counts.review,
            counts.suppressed,
            counts.rejected
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(counts.total(), 4);
    outputs.finish(b"{}\n").expect("finish");
    assert_eq!(
        read(&out, "clean.csv"),
        "email,action,reason,detail\na@x.com,keep,,\n"
    );
    // The detail holds the delimiter, quotes and a line end: quoted, quotes doubled.
    assert_eq!(
        read(&out, "review.csv"),
        "email,action,reason,detail,listwash_reason,listwash_detail\n\
         b@x.com,review,role_account,\"did you mean, maybe \"\"gmail.com\"\"?\nnext line\",\
         role_account,\"did you mean, maybe \"\"gmail.com\"\"?\nnext line\"\n"
    );
    assert_eq!(
        read(&out, "suppressed.csv"),
        "email,action,reason,detail,listwash_reason,listwash_detail\n\
         c@x.com,suppress,duplicate,first on line 2,duplicate,first on line 2\n"
    );
    // A record with two fields where the header has four: rejected with its line, the error
    // and its text (quoted: it holds the delimiter).
    let rejected = read(&out, "rejected.csv");
    let mut reader = csv::Reader::from_reader(rejected.as_bytes());
    assert_eq!(
        reader.headers().expect("header"),
        &csv::StringRecord::from(vec!["line", "error", "raw"])
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), 1, "{rejected}");
    assert_eq!(&records[0][0], "6");
    assert!(!records[0][1].is_empty());
    assert_eq!(&records[0][2], "e@x.com,keep");
    assert!(rejected.ends_with(",\"e@x.com,keep\"\n"), "{rejected}");
    assert_eq!(read(&out, "report.json"), "{}\n");
}

#[test]
fn the_delimiter_and_bom_are_kept_and_reason_columns_use_the_delimiter() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let text = "\u{feff}email;action;reason;detail\n\
        a@x.com;review;typo_domain;\"a;b\"\n\
        b@x.com;suppress;duplicate;\"one\ntwo\"\n";
    let outputs = write_all(&out, text, true, CellPolicy::Unchanged, route);
    outputs.finish(b"{}").expect("finish");
    assert_eq!(
        read(&out, "review.csv"),
        "\u{feff}email;action;reason;detail;listwash_reason;listwash_detail\n\
         a@x.com;review;typo_domain;\"a;b\";typo_domain;\"a;b\"\n"
    );
    assert_eq!(
        read(&out, "clean.csv"),
        "\u{feff}email;action;reason;detail\n"
    );
    // A detail with only a line end is quoted too.
    assert_eq!(
        read(&out, "suppressed.csv"),
        "\u{feff}email;action;reason;detail;listwash_reason;listwash_detail\n\
         b@x.com;suppress;duplicate;\"one\ntwo\";duplicate;\"one\ntwo\"\n"
    );
    // rejected.csv is listwash's own file: comma-delimited, no BOM.
    assert_eq!(read(&out, "rejected.csv"), "line,error,raw\n");
}

const FORMULAS: &str = "email,action,a,b\n=1+1@x.com,keep,@SUM(A1),-3\nplain@x.com,keep,x,y\n";

#[test]
fn formula_like_cells_are_counted_and_written_unchanged_by_default() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let outputs = write_all(&out, FORMULAS, false, CellPolicy::Unchanged, route);
    assert_eq!(outputs.formula_cells(), 3);
    outputs.finish(b"{}").expect("finish");
    assert_eq!(read(&out, "clean.csv"), FORMULAS);
}

#[test]
fn excel_safe_prefixes_formula_like_cells_with_a_quote() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let outputs = write_all(&out, FORMULAS, false, CellPolicy::ExcelSafe, route);
    assert_eq!(outputs.formula_cells(), 3);
    outputs.finish(b"{}").expect("finish");
    assert_eq!(
        read(&out, "clean.csv"),
        "email,action,a,b\n'=1+1@x.com,keep,'@SUM(A1),'-3\nplain@x.com,keep,x,y\n"
    );
    for cell in ["=", "+1", "-", "@", "\tx", "\rx"] {
        assert!(is_formula_risk(cell.as_bytes()), "{cell:?}");
    }
    for cell in ["", "a=", " =1", "1-"] {
        assert!(!is_formula_risk(cell.as_bytes()), "{cell:?}");
    }
}

#[test]
fn finish_publishes_the_five_files_and_leaves_nothing_else() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let mut outputs = write_all(&out, ROUTED, false, CellPolicy::Unchanged, route);
    outputs.set_file_mode(0o640);
    assert!(outputs.staging.path().starts_with(&out));
    outputs.finish(b"{\"n\": 1}\n").expect("finish");
    let mut expected: Vec<String> = OUTPUT_NAMES.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(entries(&out), expected);
    for name in OUTPUT_NAMES {
        let mode = std::fs::metadata(out.join(name))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "{name}");
    }
    assert_eq!(read(&out, "report.json"), "{\"n\": 1}\n");
}

#[test]
fn dropping_unfinished_outputs_removes_their_temporaries_and_the_lock() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let outputs = write_all(&out, ROUTED, false, CellPolicy::Unchanged, route);
    let staging = outputs.staging.path().to_path_buf();
    assert!(staging.join("clean.csv").exists());
    assert!(out.join(LOCK_FILE).exists());
    drop(outputs);
    assert_eq!(entries(&out), Vec::<String>::new());
}

#[test]
fn the_mode_is_set_on_the_file_not_through_a_swapped_symlink() {
    // See: #16 item 8
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let victim = temp.path().join("victim");
    std::fs::write(&victim, "secret").expect("victim");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut outputs = write_all(&out, ROUTED, false, CellPolicy::Unchanged, route);
    outputs.set_file_mode(0o644);
    // What an attacker with write access to the folder would do.
    let staged = outputs.staging.file("clean.csv");
    std::fs::remove_file(&staged).expect("rm");
    std::os::unix::fs::symlink(&victim, &staged).expect("symlink");
    let _ = outputs.finish(b"{}");
    let mode = std::fs::metadata(&victim)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the victim's mode was changed");
}

#[test]
fn a_second_lock_is_refused_with_the_holders_pid_until_the_first_is_dropped() {
    // See: #16 item 3
    let temp = tempfile::tempdir().expect("tempdir");
    let first = OutputLock::acquire(temp.path(), None).expect("first");
    assert_eq!(
        std::fs::read_to_string(first.path()).expect("pid"),
        format!("{}\n", std::process::id())
    );
    match OutputLock::acquire(temp.path(), Some(Duration::from_millis(120))) {
        Err(Error::OutputLocked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("expected OutputLocked, got {other:?}"),
    }
    // A waiting run gets the lock once the holder lets go.
    let released = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        drop(first);
    });
    let second = OutputLock::acquire(temp.path(), Some(Duration::from_secs(30))).expect("second");
    released.join().expect("thread");
    assert!(second.path().exists());
    drop(second);
    assert!(
        !temp.path().join(LOCK_FILE).exists(),
        "the lock file is removed"
    );
}

#[test]
fn a_symlink_at_the_lock_files_name_is_never_followed() {
    let temp = tempfile::tempdir().expect("tempdir");
    let victim = temp.path().join("victim");
    std::fs::write(&victim, "keep me").expect("victim");
    std::os::unix::fs::symlink(&victim, temp.path().join(LOCK_FILE)).expect("symlink");
    assert!(matches!(
        OutputLock::acquire(temp.path(), None),
        Err(Error::Lock { .. })
    ));
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep me");
}

/// Makes a private folder as a run killed between two moves leaves it: clean.csv and
/// report.json moved in (report.json had no previous version), review.csv not yet.
fn crashed_publish(out: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(out).expect("mkdir");
    for name in ["clean.csv", "review.csv"] {
        std::fs::write(out.join(name), format!("old {name}")).expect("old");
    }
    let folder = out.join(format!("{}crashed", staging::PREFIX));
    std::fs::create_dir(&folder).expect("folder");
    std::fs::write(folder.join("publishing"), "report.json\n").expect("journal");
    std::fs::rename(out.join("clean.csv"), folder.join("clean.csv.previous")).expect("aside");
    std::fs::write(out.join("clean.csv"), "new clean.csv").expect("new");
    std::fs::write(out.join("report.json"), "new report").expect("new");
    std::fs::write(folder.join("review.csv"), "new review.csv").expect("staged");
    folder
}

#[test]
fn the_next_run_restores_the_previous_set_after_a_crash_between_moves() {
    // See: #16 item 4
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    let folder = crashed_publish(&out);
    let lock = OutputLock::acquire(&out, None).expect("lock");
    let staging = Staging::create(&out).expect("repair");
    assert!(!folder.exists());
    assert_eq!(read(&out, "clean.csv"), "old clean.csv");
    assert_eq!(read(&out, "review.csv"), "old review.csv");
    assert!(!out.join("report.json").exists());
    drop((staging, lock));
}

#[test]
fn private_folders_of_live_runs_and_foreign_files_are_left_alone() {
    // See: #16 item 3
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path();
    let live = out.join(format!("{}live", staging::PREFIX));
    std::fs::create_dir(&live).expect("mkdir");
    std::fs::write(live.join("clean.csv"), "being written").expect("write");
    let held = std::fs::File::open(&live).expect("open");
    held.try_lock().expect("lock");
    std::fs::write(out.join(".clean.csv.x1.listwash-tmp"), "old style").expect("write");
    std::fs::create_dir(out.join(".listwash-mine")).expect("mkdir");
    let dead = out.join(format!("{}dead", staging::PREFIX));
    std::fs::create_dir(&dead).expect("mkdir");
    std::fs::write(dead.join("clean.csv"), "left by a killed run").expect("write");
    let staging = Staging::create(out).expect("create");
    assert!(live.join("clean.csv").exists());
    assert!(out.join(".clean.csv.x1.listwash-tmp").exists());
    assert!(out.join(".listwash-mine").exists());
    assert!(!dead.exists(), "a dead run's private folder is removed");
    drop(staging);
}

#[test]
fn a_failed_move_puts_the_previous_files_back() {
    // See: #16 item 4
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    write_all(&out, ROUTED, false, CellPolicy::Unchanged, route)
        .finish(b"old report")
        .expect("first");
    let before: Vec<Vec<u8>> = ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"]
        .iter()
        .map(|n| std::fs::read(out.join(n)).expect("read"))
        .collect();
    std::fs::remove_file(out.join("report.json")).expect("rm");
    std::fs::create_dir_all(out.join("report.json/x")).expect("mkdir");
    let second = write_all(&out, FORMULAS, false, CellPolicy::Unchanged, route);
    assert!(matches!(
        second.finish(b"new report"),
        Err(Error::OutputBlocked { .. })
    ));
    let after: Vec<Vec<u8>> = ["clean.csv", "review.csv", "suppressed.csv", "rejected.csv"]
        .iter()
        .map(|n| std::fs::read(out.join(n)).expect("read"))
        .collect();
    assert_eq!(after, before);
    assert_eq!(
        entries(&out),
        [
            "clean.csv",
            "rejected.csv",
            "report.json",
            "review.csv",
            "suppressed.csv"
        ]
    );
}

#[test]
fn outputs_that_are_inputs_are_found_by_path_link_and_name() {
    // See: #16 item 2
    let temp = tempfile::tempdir().expect("tempdir");
    let base = temp.path();
    let out = base.join("out");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("review.csv"), "a").expect("write");
    std::fs::write(base.join("in.csv"), "b").expect("write");
    std::fs::hard_link(out.join("review.csv"), base.join("linked.csv")).expect("link");
    std::os::unix::fs::symlink(out.join("review.csv"), base.join("sym.csv")).expect("symlink");
    let collides = |role: &str, path: &Path| {
        check_collisions(
            &out,
            &[("input", base.join("in.csv").as_path()), (role, path)],
        )
    };
    assert!(collides("rules file", &base.join("in.csv")).is_ok());
    for path in [
        out.join("review.csv"),
        base.join("linked.csv"),
        base.join("sym.csv"),
        base.join("out/../out/./review.csv"),
        // Not there yet: the cache would be created where report.json goes.
        out.join("report.json"),
        out.join(LOCK_FILE),
    ] {
        match collides("DNS cache", &path) {
            Err(Error::OutputIsInput { role, input, .. }) => {
                assert_eq!(role, "DNS cache");
                assert_eq!(input, path);
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    // An output folder that does not exist yet, named through `..`.
    let later = base.join("new/../out");
    assert!(check_collisions(&later, &[("input", &out.join("clean.csv"))]).is_err());
    assert!(
        check_collisions(
            &base.join("elsewhere"),
            &[("input", &out.join("clean.csv"))]
        )
        .is_ok()
    );
}

#[test]
fn a_crash_between_the_moves_of_parquet_or_gzip_outputs_is_repaired_too() {
    // See: #13 part 3
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("review.parquet"), "old review").expect("old");
    let folder = out.join(format!("{}crashed", staging::PREFIX));
    std::fs::create_dir(&folder).expect("folder");
    std::fs::write(folder.join("publishing"), "clean.parquet\nclean.csv.gz\n").expect("journal");
    std::fs::write(out.join("clean.parquet"), "new clean").expect("new");
    std::fs::write(out.join("clean.csv.gz"), "new clean gz").expect("new");
    std::fs::rename(
        out.join("review.parquet"),
        folder.join("review.parquet.previous"),
    )
    .expect("aside");
    std::fs::write(out.join("review.parquet"), "new review").expect("new");
    let lock = OutputLock::acquire(&out, None).expect("lock");
    let staging = Staging::create(&out).expect("repair");
    assert!(!folder.exists());
    assert_eq!(read(&out, "review.parquet"), "old review");
    assert!(!out.join("clean.parquet").exists());
    assert!(!out.join("clean.csv.gz").exists());
    drop((staging, lock));
}

#[test]
fn compressed_and_parquet_outputs_are_published_alone_with_the_report() {
    // See: #13 part 3
    let temp = tempfile::tempdir().expect("tempdir");
    for (format, compress, suffix) in [
        (FileFormat::Csv, true, ".csv.gz"),
        (FileFormat::Parquet, false, ".parquet"),
    ] {
        let out = temp.path().join(suffix.trim_start_matches('.'));
        let options = OutputOptions {
            format,
            compress,
            clean_to_stdout: false,
        };
        let lock = lock_out_dir(&out, None).expect("lock");
        let header = csv::ByteRecord::from(vec!["email"]);
        let outputs =
            Outputs::create_with(lock, &header, b',', false, CellPolicy::Unchanged, options)
                .expect("create");
        outputs.finish(b"{}").expect("finish");
        let mut expected: Vec<String> = ["clean", "rejected", "review", "suppressed"]
            .iter()
            .map(|n| format!("{n}{suffix}"))
            .chain([String::from("report.json")])
            .collect();
        expected.sort();
        assert_eq!(entries(&out), expected);
        assert_eq!(options.names()[0], format!("clean{suffix}"));
    }
}
