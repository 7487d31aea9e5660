//! Generates a large, realistic contact export for benchmarks (`scripts/bench_e2e.sh`).
//!
//! ```text
//! cargo run --release --example gen_contacts -- OUT.csv [ROWS=2000000] [SEED=1]
//! ```
//!
//! About 200 bytes per row: `email,first_name,last_name,company,phone,city,country,signup_date,
//! source,notes`. Addresses: ~65% big mailbox providers, the rest spread over ~50,000 generated
//! company domains (Zipf-like: a few big companies, a long tail); ~2% invalid syntax, ~1% exact
//! duplicates of an earlier address in other case or with spaces, and a sprinkle of role
//! accounts, typo domains, disposable domains, plus-tags and IDN domains. Deterministic for a
//! given seed. Rows are streamed to a buffered writer; the only state kept is a set of 64-bit
//! hashes of the addresses written (to keep accidental duplicates out) and a small ring of
//! recent addresses to duplicate from.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use chrono::{Days, NaiveDate};
use xxhash_rust::xxh3::xxh3_64;

#[path = "support/splitmix.rs"]
mod splitmix;

use splitmix::Rng;

impl Rng {
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// Weighted pick from `(item, weight)` pairs.
    fn weighted<'a>(&mut self, items: &[(&'a str, u32)]) -> &'a str {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

#[rustfmt::skip]
const FIRST: &[&str] = &[
    "James", "Mary", "Michael", "Jessica", "David", "Laura", "Kevin", "Rachel", "Brian", "Megan",
    "Ryan", "Nicole", "Tyler", "Ashley", "Jason", "Emily", "Daniel", "Sarah", "Robert", "Linda",
    "Oliver", "Charlotte", "Harry", "Amelia", "George", "Isla", "Jack", "Poppy", "Thomas",
    "Freya", "Lukas", "Anna", "Jonas", "Lea", "Felix", "Hannah", "Maximilian", "Marie", "Jürgen",
    "Sabine", "Björn", "Katrin", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Noémie", "Théo",
    "Manon", "Mateo", "Lucía", "Sofía", "Martín", "Javier", "Elena", "Pablo", "Carmen", "José",
    "Inés", "Marco", "Giulia", "Luca", "Francesca", "Matteo", "Chiara", "Lars", "Ingrid",
    "Astrid", "Søren", "Freja", "Mikkel", "Åsa", "Daan", "Sanne", "Bram", "Fleur", "Łukasz",
    "Zofia", "Piotr", "Agnieszka", "Aoife", "Seán", "Niamh", "Cian", "Priya", "Arjun", "Ananya",
    "Rohan", "Wei", "Mei", "Hiroshi", "Yuki", "Min-jun", "Ji-woo", "Chinedu", "Amara", "Kwame",
    "Ngozi", "Aylin", "Emre", "Elif", "Omar", "Fatima", "Noah", "Liam", "Emma", "Olivia", "Ava",
];
#[rustfmt::skip]
const LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Young", "Hughes", "Evans", "Roberts", "Wright", "Walsh", "Thompson", "Edwards",
    "Green", "Hall", "Wood", "Turner", "Cooper", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Krüger", "Wolf", "Dubois",
    "Lefèvre", "Moreau", "Girard", "Bernard", "Laurent", "Fontaine", "Rousseau", "García",
    "Martínez", "López", "Sánchez", "Pérez", "Fernández", "Gómez", "Ruiz", "Rossi", "Russo",
    "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Johansson", "Andersson",
    "Nilsson", "Jensen", "Nielsen", "Hansen", "Lindqvist", "Berg", "de Vries", "Jansen",
    "Bakker", "Visser", "van Dijk", "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Murphy",
    "O'Brien", "Kelly", "Byrne", "O'Sullivan", "Doyle", "Patel", "Sharma", "Iyer", "Reddy",
    "Gupta", "Chen", "Wang", "Tanaka", "Sato", "Kim", "Park", "Nakamura", "Lee", "Okafor",
    "Mensah", "Adeyemi", "Nkosi", "Yılmaz", "Demir", "Şahin", "Haddad", "Nguyen", "Tremblay",
];
/// (country, cities, phone prefix)
#[rustfmt::skip]
const PLACES: &[(&str, &[&str], &str)] = &[
    ("United States", &["New York", "Austin", "Chicago", "Denver", "Seattle", "Boston"], "+1"),
    ("United Kingdom", &["London", "Manchester", "Leeds", "Bristol", "Glasgow"], "+44"),
    ("Germany", &["Berlin", "München", "Hamburg", "Köln", "Leipzig"], "+49"),
    ("France", &["Paris", "Lyon", "Marseille", "Toulouse", "Nantes"], "+33"),
    ("Spain", &["Madrid", "Barcelona", "Valencia", "Sevilla"], "+34"),
    ("Italy", &["Milano", "Roma", "Torino", "Bologna"], "+39"),
    ("Netherlands", &["Amsterdam", "Rotterdam", "Utrecht"], "+31"),
    ("Sweden", &["Stockholm", "Göteborg", "Malmö"], "+46"),
    ("Poland", &["Warszawa", "Kraków", "Wrocław"], "+48"),
    ("Ireland", &["Dublin", "Cork", "Galway"], "+353"),
    ("Canada", &["Toronto", "Montréal", "Vancouver"], "+1"),
    ("India", &["Bengaluru", "Mumbai", "Pune"], "+91"),
    ("Japan", &["Tokyo", "Osaka"], "+81"),
    ("Korea, Republic of", &["Seoul", "Busan"], "+82"),
    ("Australia", &["Sydney", "Melbourne", "Brisbane"], "+61"),
];
#[rustfmt::skip]
const PROVIDERS: &[(&str, u32)] = &[
    ("gmail.com", 420),
    ("yahoo.com", 120),
    ("hotmail.com", 90),
    ("outlook.com", 90),
    ("icloud.com", 60),
    ("aol.com", 25),
    ("gmx.de", 20),
    ("web.de", 15),
    ("yahoo.co.uk", 15),
    ("hotmail.co.uk", 10),
    ("orange.fr", 12),
    ("comcast.net", 10),
    ("btinternet.com", 8),
    ("libero.it", 6),
    ("me.com", 5),
];
#[rustfmt::skip]
const TYPOS: &[&str] = &[
    "gmial.com", "gmail.con", "gmai.com", "gamil.com", "hotmial.com", "yahooo.com", "outlok.com",
    "iclod.com", "gmail.co", "yaho.com",
];
#[rustfmt::skip]
const DISPOSABLE: &[&str] = &[
    "mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com", "sharklasers.com",
    "trashmail.com", "temp-mail.org",
];
#[rustfmt::skip]
const ROLES: &[&str] = &[
    "info", "sales", "support", "contact", "office", "admin", "marketing", "billing", "hr",
    "postmaster", "enquiries", "hello",
];
#[rustfmt::skip]
const IDN_DOMAINS: &[&str] = &[
    "müller.de", "bäckerei-köhler.de", "zürich-reisen.com", "café-lumière.fr",
];
#[rustfmt::skip]
const SOURCES: &[(&str, u32)] = &[
    ("checkout", 22),
    ("newsletter-footer", 18),
    ("webinar", 12),
    ("import-2023", 10),
    ("landing-page", 10),
    ("popup", 8),
    ("trade-show", 6),
    ("referral", 6),
    ("api", 4),
    ("partner-list", 4),
];
const NOTES: &[&str] = &[
    "Met at the Berlin trade show; interested in the annual plan and volume pricing",
    "Asked for a call back next quarter, prefers email over phone",
    "Downloaded the pricing guide and the onboarding checklist",
    "Customer since 2019, two orders a year, usually around Black Friday",
    "Requested invoice by post, finance contact is cc'd on renewals",
    "Webinar attendee: \"Deliverability in 2025\", stayed for the Q&A",
    "Imported from the old CRM, consent recorded on the paper form",
    "Prefers German-language newsletters; unsubscribed from SMS, kept email",
    "Reseller lead, passed to the partner team, follow up after the summer",
    "VIP segment, early access to launches, do not send discount codes",
    "Signed up during the spring campaign via the partner landing page; double opt-in confirmed",
    "Account manager: see ticket history; billing address differs from shipping address",
    "Opened a support case about SSO, resolved; satisfaction survey answered 9/10",
    "Trial user, converted after 14 days; wants the product roadmap and release notes",
    "",
];
#[rustfmt::skip]
const SYLLABLES: &[&str] = &[
    "al", "ber", "cor", "dan", "el", "fen", "gar", "hol", "in", "jor", "kel", "lum", "mar",
    "nor", "ost", "pra", "quin", "ros", "sol", "tri", "ul", "ver", "wes", "xan", "yor", "zen",
    "bright", "north", "stone", "river", "oak", "blue", "iron", "silver", "green", "red",
];
#[rustfmt::skip]
const SUFFIXES: &[&str] = &[
    "tech", "labs", "works", "group", "logistics", "partners", "media", "systems", "foods",
    "design", "consulting", "bau", "solutions", "capital", "health", "print", "",
];
const COMPANIES: u64 = 50_000;

/// The name of the company of `rank` (1 = the biggest), derived from the rank alone.
fn company(rank: u64) -> (String, String) {
    let mut r = Rng(rank.wrapping_mul(0xA24B_AED4_963E_E407));
    let mut name = String::new();
    for _ in 0..2 + r.below(2) {
        name.push_str(r.pick(SYLLABLES));
    }
    let suffix = r.pick(SUFFIXES);
    let tld = r.weighted(&[
        ("com", 70),
        ("co.uk", 10),
        ("de", 10),
        ("net", 4),
        ("io", 4),
        ("fr", 2),
    ]);
    let display = {
        let mut c = name.chars();
        let first: String = c
            .next()
            .map(|f| f.to_uppercase().collect())
            .unwrap_or_default();
        let base = format!("{first}{}", c.as_str());
        if suffix.is_empty() {
            base
        } else {
            format!("{base} {}", capitalize(suffix))
        }
    };
    let domain = if suffix.is_empty() || r.chance(0.5) {
        format!("{name}{suffix}.{tld}")
    } else {
        format!("{name}-{suffix}.{tld}")
    };
    (display, domain)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Zipf-like rank in `1..=COMPANIES` (exponent 0.8: the biggest company holds ~2% of them).
fn zipf_rank(rng: &mut Rng) -> u64 {
    let a = 1.0 - 0.8;
    let n = (COMPANIES as f64).powf(a);
    let x = ((n - 1.0) * rng.unit() + 1.0).powf(1.0 / a);
    (x as u64).clamp(1, COMPANIES)
}

/// `Søren O'Brien` -> `soren`, `obrien`: ASCII for local parts.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'å' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'ø' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ç' => "c",
            'ñ' | 'ń' => "n",
            'ł' => "l",
            'ś' | 'ş' => "s",
            'Å' | 'Á' => "a",
            'Ł' => "l",
            'Ş' => "s",
            ' ' | '\'' => "",
            c if c.is_ascii_alphanumeric() || c == '-' => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(mapped);
    }
    out
}

fn local_part(rng: &mut Rng, first: &str, last: &str, numbered: bool) -> String {
    let (f, l) = (fold(first), fold(last));
    let mut local = match rng.below(10) {
        0..=3 => format!("{f}.{l}"),
        4 | 5 => format!("{f}{l}"),
        6 => format!("{}.{l}", f.get(..1).unwrap_or("x")),
        7 => format!("{f}_{l}"),
        8 => format!("{}{l}", f.get(..1).unwrap_or("x")),
        _ => format!("{l}.{f}"),
    };
    if numbered {
        let n = if rng.chance(0.3) {
            1950 + rng.below(56)
        } else {
            1 + rng.below(9999)
        };
        local.push_str(&n.to_string());
    }
    if rng.chance(0.02) {
        local.push('+');
        local.push_str(rng.pick(&["news", "shop", "promo", "list"]));
    }
    local
}

/// An address that a bulk-mail list should reject as syntax.
fn invalid(rng: &mut Rng, local: &str, domain: &str) -> String {
    match rng.below(12) {
        0 => format!("{local}{domain}"),
        1 => format!("{local}..x@{domain}"),
        2 => format!("{local}@{}", domain.replacen('.', "..", 1)),
        3 => format!("{local} x@{domain}"),
        4 => format!("\"{local}\"@{domain}"),
        5 => format!("{local}@[10.0.{}.{}]", rng.below(256), rng.below(256)),
        6 => format!("{local}@localhost"),
        7 => format!("{local}@shop.test"),
        8 => format!("{} <{local}@{domain}>", capitalize(local)),
        9 => format!("{local}@@{domain}"),
        10 => format!("{local}@"),
        _ => String::new(),
    }
}

/// Changes case or adds white space: the same normalised address, written differently.
fn disguise(rng: &mut Rng, email: &str) -> String {
    match rng.below(4) {
        0 => email.to_uppercase(),
        1 => capitalize(email),
        2 => format!(" {email}"),
        _ => match email.split_once('@') {
            Some((l, d)) => format!("{l}@{}", d.to_uppercase()),
            None => email.to_uppercase(),
        },
    }
}

fn generate(path: &str, rows: u64, seed: u64) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut rng = Rng(seed ^ 0x5EED_0F11_57A5_0000);
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, File::create(path)?));
    out.write_record([
        "email",
        "first_name",
        "last_name",
        "company",
        "phone",
        "city",
        "country",
        "signup_date",
        "source",
        "notes",
    ])?;
    let epoch = NaiveDate::from_ymd_opt(2015, 1, 1).ok_or("bad date")?;
    let days = 4321; // to late 2026
    let mut written: HashSet<u64> = HashSet::with_capacity(rows as usize);
    let mut recent: Vec<String> = Vec::with_capacity(4096);
    let mut duplicates = 0u64;
    for row in 0..rows {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let (country, cities, prefix) = PLACES[rng.below(PLACES.len() as u64) as usize];
        let city = rng.pick(cities);
        let kind = rng.below(10_000);
        let mut company_name = String::new();
        let email = if kind < 100 && !recent.is_empty() {
            // ~1%: an earlier address again, in other case or with white space.
            duplicates += 1;
            let earlier = &recent[rng.below(recent.len() as u64) as usize];
            disguise(&mut rng, earlier)
        } else if kind < 300 {
            // ~2%: invalid syntax.
            let local = local_part(&mut rng, first, last, false);
            let domain = rng.weighted(PROVIDERS).to_string();
            invalid(&mut rng, &local, &domain)
        } else {
            // A well-formed address; regenerated with a number if it was already written.
            let mut numbered = false;
            loop {
                let (local, domain) = if kind < 350 {
                    let (name, domain) = company(zipf_rank(&mut rng));
                    company_name = name;
                    (rng.pick(ROLES).to_string(), domain)
                } else if kind < 380 {
                    (
                        local_part(&mut rng, first, last, true),
                        rng.pick(TYPOS).to_string(),
                    )
                } else if kind < 410 {
                    (
                        local_part(&mut rng, first, last, true),
                        rng.pick(DISPOSABLE).to_string(),
                    )
                } else if kind < 420 {
                    (
                        local_part(&mut rng, first, last, numbered),
                        rng.pick(IDN_DOMAINS).to_string(),
                    )
                } else if kind < 6_800 {
                    if rng.chance(0.5) {
                        company_name = company(zipf_rank(&mut rng)).0;
                    }
                    let numbered = numbered || rng.chance(0.8);
                    (
                        local_part(&mut rng, first, last, numbered),
                        rng.weighted(PROVIDERS).to_string(),
                    )
                } else {
                    let (name, domain) = company(zipf_rank(&mut rng));
                    company_name = name;
                    (local_part(&mut rng, first, last, numbered), domain)
                };
                let email = format!("{local}@{domain}");
                if written.insert(xxh3_64(email.to_lowercase().as_bytes())) {
                    if recent.len() < 4096 {
                        recent.push(email.clone());
                    } else {
                        recent[rng.below(4096) as usize] = email.clone();
                    }
                    break email;
                }
                numbered = true;
            }
        };
        let phone = format!(
            "{prefix} {} {:03} {:04}",
            100 + rng.below(900),
            rng.below(1000),
            rng.below(10_000)
        );
        let signup = epoch
            .checked_add_days(Days::new(rng.below(days)))
            .ok_or("bad date")?
            .format("%Y-%m-%d")
            .to_string();
        let source = rng.weighted(SOURCES);
        let mut notes = rng.pick(NOTES).to_string();
        if rng.chance(0.3) {
            // A second remark, added by someone else later.
            let more = rng.pick(NOTES);
            if !more.is_empty() && !notes.is_empty() && more != notes {
                notes.push_str(". ");
                notes.push_str(more);
            }
        }
        out.write_record([
            email.as_str(),
            first,
            last,
            company_name.as_str(),
            phone.as_str(),
            city,
            country,
            signup.as_str(),
            source,
            notes.as_str(),
        ])?;
        if row % 500_000 == 499_999 {
            eprintln!("gen_contacts: {} rows", row + 1);
        }
    }
    out.flush()?;
    Ok((rows, duplicates))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen_contacts OUT.csv [ROWS=2000000] [SEED=1]";
    let Some(path) = args.first() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let parse = |i: usize, default: u64| {
        args.get(i)
            .map_or(Ok(default), |s| s.replace('_', "").parse::<u64>())
    };
    let (Ok(rows), Ok(seed)) = (parse(1, 2_000_000), parse(2, 1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    match generate(path, rows, seed) {
        Ok((rows, duplicates)) => {
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!(
                "{path}: {rows} rows, {bytes} bytes ({:.0} bytes/row), {duplicates} duplicates",
                bytes as f64 / rows.max(1) as f64
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("gen_contacts: {path}: {err}");
            ExitCode::FAILURE
        }
    }
}
