//! Generates a seeded engagement event log (CSV) for benchmarks.
//!
//! `cargo run --release --example gen_events -- OUT.csv [--events N] [--contacts M] [--seed S]
//! [--contacts-out CONTACTS.csv]`. Defaults: 20,000,000 events for 1,000,000 contacts.
//! Columns: `email,event,timestamp,machine`; ISO-8601 timestamps with offsets (`Z`, `+02:00`,
//! `-05:00`) over three years; a realistic mix of sends, deliveries, opens and clicks (some
//! by machines), bounces, complaints and unsubscribes.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};

#[path = "support/splitmix.rs"]
mod splitmix;

use splitmix::Rng;

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "example.org",
    "corp.example.com",
    "mail.example.net",
];

/// Civil date from days since 1970-01-01 (H. Hinnant).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let (mut events, mut contacts, mut seed, mut contacts_out) =
        (20_000_000u64, 1_000_000u64, 42u64, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--events" => events = value().replace('_', "").parse().expect("--events N"),
            "--contacts" => contacts = value().replace('_', "").parse().expect("--contacts M"),
            "--seed" => seed = value().parse().expect("--seed S"),
            "--contacts-out" => contacts_out = Some(value()),
            _ => out = Some(arg),
        }
    }
    let out = out.expect(
        "usage: gen_events OUT.csv [--events N] [--contacts M] [--seed S] [--contacts-out FILE]",
    );
    let mut rng = Rng(seed);
    let mut writer = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    writer.write_all(b"email,event,timestamp,machine\n")?;
    let start = 1_672_531_200i64; // 2023-01-01
    let span = 3 * 365 * 86_400i64;
    let offsets = ["Z", "+02:00", "-05:00", "+00:00", "+05:30"];
    let offset_seconds = [0i64, 7_200, -18_000, 0, 19_800];
    let mut line = String::with_capacity(128);
    for _ in 0..events {
        let contact = rng.below(contacts);
        let roll = rng.below(10_000);
        let (event, machine) = match roll {
            0..4_000 => ("sent", false),
            4_000..7_800 => ("delivered", false),
            7_800..8_800 => ("open", false),
            8_800..9_400 => ("open", true),
            9_400..9_650 => ("click", false),
            9_650..9_750 => ("click", true),
            9_750..9_850 => ("soft_bounce", false),
            9_850..9_900 => ("hard_bounce", false),
            9_900..9_905 => ("complaint", false),
            9_905..9_935 => ("unsubscribe", false),
            9_935..9_970 => ("dropped", false),
            _ => ("deferred", false),
        };
        let at = start + rng.below(span as u64) as i64;
        let zone = rng.below(offsets.len() as u64) as usize;
        let local = at + offset_seconds[zone];
        let (y, m, d) = civil(local.div_euclid(86_400));
        let s = local.rem_euclid(86_400);
        line.clear();
        let domain = DOMAINS[(contact % DOMAINS.len() as u64) as usize];
        writeln!(
            line,
            "user{contact}@{domain},{event},{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{},{machine}",
            s / 3600,
            s / 60 % 60,
            s % 60,
            offsets[zone]
        )
        .expect("writing to a String cannot fail");
        writer.write_all(line.as_bytes())?;
    }
    writer.flush()?;
    if let Some(path) = contacts_out {
        let mut writer = BufWriter::new(std::fs::File::create(path)?);
        writer.write_all(b"email,signup_date\n")?;
        for contact in 0..contacts {
            let domain = DOMAINS[(contact % DOMAINS.len() as u64) as usize];
            let (y, m, d) = civil((start - 86_400 * rng.below(1_000) as i64).div_euclid(86_400));
            writeln!(writer, "user{contact}@{domain},{y:04}-{m:02}-{d:02}")?;
        }
        writer.flush()?;
    }
    Ok(())
}
