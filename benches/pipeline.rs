//! Criterion benchmarks of each stage on seeded synthetic data (no network, no files
//! committed). The end-to-end comparison against a plain CSV copy is `scripts/bench_e2e.sh`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use listwash::decide::{Decider, NotChecked, RowInput};
use listwash::engagement::History;
use listwash::read::{BATCH_BYTES, Batch, Input, InputSource, ReadOptions};
use listwash::reason::{Finding, Reason};
use listwash::rules::RuleSet;
use listwash::suppress::SuppressionSet;
use listwash::write::{CellPolicy, Outputs};

/// The generators' seeded RNG, so runs are comparable.
#[path = "../examples/support/splitmix.rs"]
mod splitmix;

use splitmix::Rng;

fn addresses(n: usize) -> Vec<String> {
    let providers = [
        "gmail.com",
        "yahoo.com",
        "outlook.com",
        "hotmail.com",
        "icloud.com",
    ];
    let mut rng = Rng(42);
    (0..n)
        .map(|i| match rng.next_u64() % 100 {
            0..=1 => format!("broken address {i}"),
            2 => format!("info@company{}.com", rng.next_u64() % 5000),
            3 => format!("u{i}@gmial.com"),
            4..=64 => format!(
                "first.last{}@{}",
                rng.next_u64() % 1_000_000,
                providers[(rng.next_u64() % 5) as usize]
            ),
            _ => format!("person{i}@company{}.co.uk", rng.next_u64() % 50_000),
        })
        .collect()
}

fn csv_text(n: usize) -> String {
    let mut text =
        String::from("email,first_name,last_name,company,city,country,signup_date,notes\n");
    for (i, a) in addresses(n).iter().enumerate() {
        text.push_str(&format!("{a},Firstname{i},Lastname,Company {i} Ltd,Manchester,GB,2024-03-0{},\"note, with comma\"\n", i % 9 + 1));
    }
    text
}

fn stages(c: &mut Criterion) {
    let addrs = addresses(10_000);
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Elements(addrs.len() as u64));
    group.bench_function("syntax_check", |b| {
        b.iter(|| {
            addrs
                .iter()
                .filter(|a| listwash::syntax::check(a).is_ok())
                .count()
        })
    });
    group.bench_function("normalize", |b| {
        b.iter(|| {
            addrs
                .iter()
                .filter_map(|a| listwash::normalize::normalize(a))
                .count()
        })
    });
    let rules = RuleSet::defaults();
    let domains: Vec<String> = addrs
        .iter()
        .filter_map(|a| a.rsplit_once('@').map(|(_, d)| d.to_string()))
        .collect();
    group.bench_function("typo_and_disposable_per_domain", |b| {
        b.iter(|| {
            domains
                .iter()
                .filter(|d| {
                    rules.lists.typo_suggestion(d).is_some()
                        || rules.lists.disposable_match(d).is_some()
                })
                .count()
        })
    });
    let findings = [
        Finding::new(Reason::RoleAccount, "role"),
        Finding::new(Reason::Inactive, "x"),
        Finding::new(Reason::Complained, "y"),
    ];
    group.bench_function("ruleset_decide", |b| {
        b.iter(|| {
            (0..addrs.len())
                .filter(|_| rules.decide(black_box(&findings)).action == listwash::Action::Suppress)
                .count()
        })
    });
    group.bench_function("decider_decide_batch", |b| {
        b.iter_batched(
            || {
                Decider::new(
                    Arc::new(RuleSet::defaults()),
                    SuppressionSet::default(),
                    History::empty(),
                    chrono::NaiveDate::MIN,
                    Box::new(NotChecked::default()),
                )
            },
            |mut decider| {
                let rows: Vec<RowInput<'_>> = addrs
                    .iter()
                    .enumerate()
                    .map(|(i, a)| RowInput {
                        line: i as u64,
                        email: a,
                        signup: None,
                        row: None,
                    })
                    .collect();
                decider.decide_batch(&rows).len()
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn csv_io(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.csv");
    std::fs::write(&path, csv_text(20_000)).expect("write bench input");
    let mut group = c.benchmark_group("csv");
    group.throughput(Throughput::Elements(20_000));
    group.bench_function("read_batches", |b| {
        b.iter(|| {
            let mut input = Input::open(&InputSource::Path(path.clone()), &ReadOptions::default())
                .expect("open");
            let mut batch = Batch::default();
            let mut rows = 0;
            while input.read_batch(BATCH_BYTES, &mut batch).expect("read") {
                rows += batch.len();
            }
            rows + batch.len()
        })
    });
    let mut input =
        Input::open(&InputSource::Path(path.clone()), &ReadOptions::default()).expect("open");
    let header = input.header().clone();
    let mut batch = Batch::default();
    input.read_batch(usize::MAX, &mut batch).expect("read");
    group.bench_function("write_outputs", |b| {
        b.iter(|| {
            let out = dir.path().join("out");
            let mut outputs =
                Outputs::create(&out, &header, b',', false, CellPolicy::Unchanged).expect("create");
            for row in batch.rows() {
                outputs
                    .write_row(&row, listwash::Action::Keep, "", "")
                    .expect("write");
            }
            outputs.finish(b"{}").expect("finish");
        })
    });
    group.finish();
}

/// Suppression lists: a CSV list with a header must load about as fast as the same digests
/// one per line (#16 item 14: it took 30 times as long, a csv reader per line).
fn suppression_lists(c: &mut Criterion) {
    use sha2::Digest;
    let dir = tempfile::tempdir().expect("tempdir");
    let digests: Vec<String> = (0..100_000u32)
        .map(|i| hex::encode(sha2::Sha256::digest(i.to_le_bytes())))
        .collect();
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, digests.join("\n")).expect("write plain list");
    let csv = dir.path().join("list.csv");
    let rows: Vec<String> = digests
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{i},{d},crm"))
        .collect();
    std::fs::write(&csv, format!("id,hash,source\n{}", rows.join("\n"))).expect("write CSV list");
    let mut group = c.benchmark_group("suppression");
    group.throughput(Throughput::Elements(digests.len() as u64));
    for (name, path) in [("plain_sha256", &plain), ("csv_sha256_with_header", &csv)] {
        group.bench_function(name, |b| {
            b.iter(|| SuppressionSet::load(std::slice::from_ref(path)).expect("load"))
        });
    }
    group.finish();
}

criterion_group!(benches, stages, csv_io, suppression_lists);
criterion_main!(benches);
