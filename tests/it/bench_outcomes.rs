//! `listwash bench` with two rule files and an outcomes file: precision and recall per
//! outcome kind, engaged contacts suppressed and overlaps, all computed by hand below.

use crate::support::run::TestRun;

const INPUT: &str = "email\n\
info@corp.com\n\
x@mailinator.com\n\
bad@@x.com\n\
good1@corp.com\n\
good2@corp.com\n\
good3@corp.com\n\
sales@corp.com\n";

// Mixed spellings and case on purpose; `soft_bounce` is not an outcome listwash knows, and
// `not an address` cannot match any row.
const OUTCOMES: &str = "email,outcome\n\
info@corp.com,hard_bounce\n\
x@mailinator.com,Trap_Hit\n\
bad@@x.com,bounced\n\
not an address,trap\n\
GOOD1@corp.com,COMPLAINT\n\
good2@corp.com,engaged\n\
good3@corp.com,delivered\n\
sales@corp.com,Engaged\n\
nobody@corp.com,soft_bounce\n";

/// Rule set B: role accounts suppressed, disposable domains kept.
const B: &str = "[actions]\nrole_account = \"suppress\"\ndisposable = \"keep\"\n";

fn bench_json() -> serde_json::Value {
    let run = TestRun::new()
        .file("in.csv", INPUT)
        .file("a.toml", "")
        .file("b.toml", B)
        .file("outcomes.csv", OUTCOMES)
        .args([
            "bench",
            "--rules",
            "a.toml",
            "--rules",
            "b.toml",
            "in.csv",
            "--outcomes",
            "outcomes.csv",
            "--no-dns",
            "--json-out",
            "bench.json",
        ])
        .stdout_allowed()
        .run();
    let text = std::fs::read_to_string(run.dir.join("bench.json")).expect("bench.json written");
    assert!(run.stdout.contains("precision"), "{}", run.stdout);
    serde_json::from_str(&text).expect("bench.json is JSON")
}

fn score(report: &serde_json::Value, set: usize, kind: &str) -> (f64, f64) {
    let s = &report["rule_sets"][set]["scores"]["by_outcome"][kind];
    let get = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{kind} {k}: {s}"));
    (get("precision"), get("recall"))
}

fn close(actual: (f64, f64), expected: (f64, f64)) {
    assert!(
        (actual.0 - expected.0).abs() < 1e-9 && (actual.1 - expected.1).abs() < 1e-9,
        "(precision, recall) {actual:?}, expected {expected:?}"
    );
}

#[test]
fn precision_and_recall_of_two_rule_sets_match_the_hand_count() {
    // See: #12 part 4
    let report = bench_json();
    assert_eq!(report["rows"], 7);
    // Every row of the list has a known outcome (nobody@ is not in the list; `bad@@x.com` is
    // matched by its normalised form even though its syntax is invalid).
    assert_eq!(report["rows_with_outcome"], 7);
    let file = &report["outcomes_file"];
    assert_eq!(file["rows"], 9);
    assert_eq!(file["unknown_values"], 1);
    assert_eq!(file["unknown_lines"], serde_json::json!([10]));
    assert_eq!(file["unmatched_addresses"], 1);

    // A (defaults): info review, x suppress, bad suppress, sales review, good1-3 kept. Not
    // kept: info (bounced), x (trap), bad (bounced), sales (engaged) = 4.
    // Bounced: 2 rows (info, bad), both caught.
    close(score(&report, 0, "bounced"), (2.0 / 4.0, 1.0));
    close(score(&report, 0, "complained"), (0.0, 0.0));
    close(score(&report, 0, "trap"), (1.0 / 4.0, 1.0));
    // Bad: info, x, bad, good1 = 4 rows; caught 3.
    close(score(&report, 0, "any_bad"), (3.0 / 4.0, 3.0 / 4.0));
    let a = &report["rule_sets"][0]["scores"];
    assert_eq!(
        a["engaged_suppressed"], 0,
        "sales@ is only reviewed under A"
    );
    assert_eq!(a["engaged_suppressed_share"], 0.0);

    // B: info suppress, x kept, bad suppress, sales suppress. Not kept: info, bad (bounced),
    // sales (engaged) = 3.
    close(score(&report, 1, "bounced"), (2.0 / 3.0, 1.0));
    close(score(&report, 1, "complained"), (0.0, 0.0));
    close(score(&report, 1, "trap"), (0.0, 0.0));
    close(score(&report, 1, "any_bad"), (2.0 / 3.0, 2.0 / 4.0));
    let b = &report["rule_sets"][1]["scores"];
    assert_eq!(b["engaged_suppressed"], 1);
    assert_eq!(b["engaged_suppressed_share"], 0.5);

    // Suppressed by A and kept by B: x@mailinator.com; the other way round: none (info@
    // and sales@ are reviewed, not kept, under A).
    assert_eq!(
        report["overlaps"],
        serde_json::json!([
            {"suppressed_by": "a.toml", "kept_by": "b.toml", "rows": 1},
            {"suppressed_by": "b.toml", "kept_by": "a.toml", "rows": 0},
        ])
    );
}

#[test]
fn one_pass_gives_each_rule_set_what_a_run_of_its_own_gives() {
    // See: #12 part 4: one decider per rule set over shared rows must not mix them up.
    let report = bench_json();
    let actions = |set: usize| report["rule_sets"][set]["actions"].clone();
    assert_eq!(
        actions(0),
        serde_json::json!({"keep": 3, "review": 2, "suppress": 2})
    );
    assert_eq!(actions(1), serde_json::json!({"keep": 4, "suppress": 3}));
}

#[test]
fn rule_sets_share_one_set_of_dns_lookups() {
    // See: #12 part 4: DNS is asked once per domain, not once per rule set.
    use crate::support::dns::DnsFixture;
    let dns = DnsFixture::with_fixture_zones();
    let list = "email\nann@acme-widgets.com\nbob@nullmx.net\nfi@no-such-domain-here.com\n\
                kim@gmail.com\nzed@acme-widgets.com\n";
    let bench = |rules: &[&str]| {
        let mut args = vec!["bench".to_string(), "in.csv".into()];
        for r in rules {
            args.extend(["--rules".to_string(), (*r).to_string()]);
        }
        args.extend([
            "--dns-server".to_string(),
            dns.addr.to_string(),
            "--no-cache".into(),
            "--json".into(),
        ]);
        dns.reset_counts();
        let run = TestRun::new()
            .file("in.csv", list)
            .file("a.toml", "")
            .file("b.toml", B)
            .args(args)
            .stdout_allowed()
            .run();
        let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        (report, dns.total())
    };
    let (one, queries_one) = bench(&["a.toml"]);
    let (two, queries_two) = bench(&["a.toml", "b.toml"]);
    assert!(queries_one > 0);
    assert_eq!(
        queries_two, queries_one,
        "the second rule set sent queries of its own"
    );
    for set in 0..2 {
        let reasons = &two["rule_sets"][set]["reasons"];
        assert_eq!(reasons["no_domain"], 1, "{reasons}");
        assert_eq!(reasons["null_mx"], 1, "{reasons}");
    }
    assert_eq!(
        one["rule_sets"][0]["reasons"],
        two["rule_sets"][0]["reasons"]
    );
}
