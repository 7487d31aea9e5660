//! `clean --sample N`: a seeded uniform sample, decided like `clean`, projected onto the whole
//! list with 95% intervals. See: #13 part 6.

use serde_json::Value;

use crate::support::run::TestRun;

/// Rows of the generated list and its true counts.
const ROWS: usize = 20_000;
const INVALID: u64 = 2_000;
const ROLE: u64 = 1_000;
const DUPLICATE: u64 = 400;

/// 20,000 rows: exactly 10% invalid syntax, 5% role accounts, 2% duplicates (second copies
/// of clean addresses), the rest clean, in blocks of a kind (in that order, duplicates last),
/// so that a sample of the first or last rows would be far off.
fn generated_list() -> String {
    let mut rows: Vec<String> = Vec::with_capacity(ROWS);
    let clean = ROWS as u64 - INVALID - ROLE - DUPLICATE;
    rows.extend((0..INVALID).map(|i| format!("broken{i}.example.com")));
    rows.extend((0..ROLE).map(|i| format!("info@role{i}.example.com")));
    rows.extend((0..clean).map(|i| format!("person{i}@example.com")));
    rows.extend((0..DUPLICATE).map(|i| format!("person{}@example.com", i * 7)));
    let mut text = String::from("email\n");
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    text
}

/// `clean in.csv --sample N [more] --no-dns --quiet`: the preview's stdout.
fn sample(list: &str, extra: &[&str]) -> String {
    let run = TestRun::new()
        .file("in.csv", list)
        .args(["clean", "{dir}/in.csv", "--no-dns", "--quiet"])
        .args(["--as-of", "2026-11-01"])
        .args(extra)
        .stdout_allowed()
        .run();
    let files: Vec<_> = std::fs::read_dir(&run.dir)
        .expect("read the run's folder")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(files, ["in.csv"], "--sample writes no files");
    run.stdout
}

fn parse(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("the preview is JSON")
}

/// (sample, projected, low, high) of `section`'s `name`.
fn figures(preview: &Value, section: &str, name: &str) -> (u64, u64, u64, u64) {
    let e = &preview[section][name];
    let field = |f: &str| {
        e[f].as_u64()
            .unwrap_or_else(|| panic!("{section}.{name}.{f}"))
    };
    (
        field("sample"),
        field("projected"),
        field("low"),
        field("high"),
    )
}

// See: #13 part 6
#[test]
fn projected_intervals_hold_the_true_counts_for_several_seeds() {
    let list = generated_list();
    let truth = [
        ("outputs", "suppressed", INVALID + DUPLICATE),
        ("outputs", "review", ROLE),
        ("outputs", "clean", ROWS as u64 - INVALID - ROLE - DUPLICATE),
        ("reasons", "invalid_syntax", INVALID),
        ("reasons", "role_account", ROLE),
        ("reasons", "duplicate", DUPLICATE),
    ];
    // A 95% interval misses now and then: each must hold the truth for at least 17 of 20
    // seeds (19 expected; 16 or fewer has a chance under 2% if the intervals are right).
    let mut misses = std::collections::BTreeMap::new();
    for seed in 1..=20u64 {
        let seed_text = seed.to_string();
        let preview = parse(&sample(&list, &["--sample", "2000", "--seed", &seed_text]));
        assert_eq!(preview["rows_read"], ROWS as u64);
        assert_eq!(preview["sample_size"], 2000);
        assert_eq!(preview["seed"].as_u64(), Some(seed));
        assert_eq!(preview["exact"], false);
        for (section, name, expected) in truth {
            let (k, projected, low, high) = figures(&preview, section, name);
            assert_eq!(projected, (k as f64 * 10.0) as u64, "{name}: 2000 of 20000");
            if !(low <= expected && expected <= high) {
                eprintln!("seed {seed}: {name} true {expected} outside {low}..={high} ({k})");
                *misses.entry(name).or_insert(0) += 1;
            }
        }
    }
    assert!(
        misses.values().all(|&m| m <= 3),
        "misses per count: {misses:?}"
    );
}

// See: #13 part 6
#[test]
fn the_same_seed_gives_the_same_preview_and_another_seed_another() {
    let list = generated_list();
    let first = sample(&list, &["--sample", "500", "--seed", "42"]);
    let again = sample(&list, &["--sample", "500", "--seed", "42"]);
    assert_eq!(first, again, "byte-identical");
    let other = parse(&sample(&list, &["--sample", "500", "--seed", "43"]));
    let first = parse(&first);
    assert_ne!(
        (&first["outputs"], &first["reasons"]),
        (&other["outputs"], &other["reasons"]),
        "another seed, another sample"
    );
    // The default seed is documented as 0.
    let default = sample(&list, &["--sample", "500"]);
    assert_eq!(default, sample(&list, &["--sample", "500", "--seed", "0"]));
}

// See: #13 part 6
#[test]
fn a_sample_as_large_as_the_list_gives_the_exact_counts_of_clean() {
    let list = generated_list();
    let preview = parse(&sample(&list, &["--sample", "1000000"]));
    assert_eq!(preview["sample_size"], ROWS as u64);
    assert_eq!(preview["exact"], true);
    let run = TestRun::new().file("in.csv", &list).clean(&[]);
    let report = run.report();
    for section in ["outputs", "reasons"] {
        for (name, count) in report[section].as_object().expect("counts") {
            if name == "rejected" || count == 0 {
                continue;
            }
            let (k, projected, low, high) = figures(&preview, section, name);
            assert_eq!(Some(k), count.as_u64(), "{name}");
            assert_eq!((projected, low, high), (k, k, k), "{name}");
        }
    }
}

// See: #13 part 6
#[test]
fn the_preview_table_and_json_hold_no_address_and_out_dir_is_refused() {
    let list = "email,name\na@example.com,A\nb@example.com,B\n\"bad,x\n";
    let run = TestRun::new()
        .file("in.csv", list)
        .args(["clean", "{dir}/in.csv", "--no-dns", "--sample", "2"])
        .expect_stderr_contains("listwash: sample of 2 of 2 rows (seed 0)")
        .expect_stderr_contains("rejected")
        .stdout_allowed()
        .run();
    assert!(!run.stdout.contains('@') && !run.stderr.contains('@'));
    assert!(!run.stdout.contains("example") && !run.stderr.contains("example"));
    assert_eq!(parse(&run.stdout)["rejected"], 1);
    TestRun::new()
        .file("in.csv", list)
        .args([
            "clean",
            "{dir}/in.csv",
            "--sample",
            "2",
            "--out-dir",
            "{dir}/out",
        ])
        .expect_status(2)
        .expect_stderr_contains("'--sample <N>' cannot be used with '--out-dir <DIR>'")
        .run();
}

// See: #13 part 6 with #10 part 6: a sample reads the export's own status columns as `clean`
// does, so a preview of Mailchimp's unsubscribed export projects every row as unsubscribed.
#[test]
fn a_sample_of_a_vendor_export_reads_its_status_columns() {
    let export = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/contacts/mailchimp_unsubscribed.csv"
    ))
    .expect("fixture");
    let rows = export.lines().count() as u64 - 1;
    let preview = parse(&sample(&export, &["--sample", "1000"]));
    assert_eq!(preview["exact"], true, "{preview}");
    assert_eq!(
        figures(&preview, "reasons", "unsubscribed").1,
        rows,
        "{preview}"
    );
}
