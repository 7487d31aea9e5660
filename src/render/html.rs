//! `report.html`: the run's report for people, one self-contained file. See: #12 part 2.
//!
//! Consumes a [`Report`] and the run's warnings; produces one HTML page with inline CSS and
//! inline SVG charts: outputs and reasons, list health before and after against the senders'
//! bands, the engagement-age histogram, top domains and providers, warnings and settings.
//! Never refers to anything outside the file (no scripts, fonts, images or links), and never
//! holds an address: only counts, reason codes, domain and provider names, and settings.

use std::fmt::Write as _;

use crate::engagement::HISTOGRAM_BUCKETS;
use crate::reason::Reason;
use crate::report::Report;
use crate::report::health::{HealthFigure, ListHealth};

const STYLE: &str = "
:root{--ink:#1d2430;--muted:#5b6575;--line:#d6dbe3;--clean:#2e7d4f;--review:#b7791f;
--suppressed:#b83232;--rejected:#6b7280;--bar:#3b6ea8;--best:#e3f1e8;--mid:#fbf3e0;--worst:#f8e1e1}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;
color:var(--ink);margin:0 auto;max-width:1040px;padding:24px;line-height:1.4;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.15em;margin:0 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
.sub{color:var(--muted);margin:0 0 18px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 18px}
section{border:1px solid var(--line);border-radius:6px;padding:14px 16px;margin:0 0 18px;break-inside:avoid}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.tile{border-radius:6px;padding:10px;color:#fff}.tile b{display:block;font-size:1.5em}
.t-clean{background:var(--clean)}.t-review{background:var(--review)}
.t-suppressed{background:var(--suppressed)}.t-rejected{background:var(--rejected)}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid var(--line)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
svg{width:100%;height:auto;display:block}svg text{font-size:12px;fill:var(--ink)}
.band-best{background:var(--best)}.band-between{background:var(--mid)}.band-worst{background:var(--worst)}
.note{color:var(--muted);font-size:.85em}ul.warn li{margin:2px 0}
.chart{break-inside:avoid;max-width:760px}
@media print{body{max-width:none;padding:0;font-size:10pt}section{border-color:#999;break-inside:auto}
.grid{display:block}
.tile{color:#000;border:1px solid #999;background:none!important}
h2{break-after:avoid}}
@media (max-width:700px){.tiles{grid-template-columns:repeat(2,1fr)}}
";

/// The whole page for `report`, with `warnings` listed as they are (escaped).
pub fn report(report: &Report, warnings: &[String]) -> String {
    let mut page = String::with_capacity(32 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    page.push_str("<title>listwash report</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n");
    let _ = writeln!(
        page,
        "<h1>listwash report</h1>\n<p class=\"sub\">{} rows read from {} &middot; as of {} &middot; listwash {} &middot; {:.1}s</p>",
        report.input.rows,
        esc(&report.input.path),
        esc(&report.as_of),
        esc(report.listwash_version),
        report.elapsed_ms as f64 / 1000.0
    );
    outputs(&mut page, report);
    health(&mut page, &report.list_health);
    page.push_str("<div class=\"grid\">\n");
    reasons(&mut page, report);
    engagement(&mut page, report);
    page.push_str("</div>\n<div class=\"grid\">\n");
    domains(&mut page, report);
    page.push_str("</div>\n");
    warnings_section(&mut page, warnings);
    settings(&mut page, report);
    page.push_str("</body>\n</html>\n");
    page
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // An address is never shown; a path that holds one is shown without its `@`.
            '@' => out.push_str("&#65312;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A horizontal bar chart: one row per item (label, count, share of `total`).
fn bars(items: &[(String, u64, &str)], total: u64, title: &str) -> String {
    let row_height = 22;
    let height = row_height * items.len().max(1) + 4;
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg viewBox=\"0 0 480 {height}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    for (i, (label, n, colour)) in items.iter().enumerate() {
        let y = i * row_height + 2;
        let width = (*n as f64 / max as f64 * 210.0).max(if *n > 0 { 1.0 } else { 0.0 });
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"160\" y=\"{}\" width=\"{width:.1}\" height=\"15\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{}\">{} ({:.1}%)</text>",
            y + 13,
            esc(label),
            y + 1,
            160.0 + width + 6.0,
            y + 13,
            n,
            percent(*n, total)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn outputs(page: &mut String, report: &Report) {
    let o = &report.outputs;
    let total = report.input.rows;
    page.push_str("<section><h2>Outputs</h2><div class=\"tiles\">");
    for (name, n) in [
        ("clean", o.clean),
        ("review", o.review),
        ("suppressed", o.suppressed),
        ("rejected", o.rejected),
    ] {
        let _ = write!(
            page,
            "<div class=\"tile t-{name}\"><b>{n}</b>{name} &middot; {:.1}%</div>",
            percent(n, total)
        );
    }
    page.push_str("</div>\n");
    // One stacked bar of the four outputs.
    page.push_str("<svg viewBox=\"0 0 640 24\" role=\"img\" aria-label=\"outputs\">");
    let mut x = 0.0;
    for (n, colour) in [
        (o.clean, "#2e7d4f"),
        (o.review, "#b7791f"),
        (o.suppressed, "#b83232"),
        (o.rejected, "#6b7280"),
    ] {
        let width = percent(n, total) * 6.4;
        let _ = write!(
            page,
            "<rect x=\"{x:.1}\" y=\"4\" width=\"{width:.1}\" height=\"16\" fill=\"{colour}\"/>"
        );
        x += width;
    }
    page.push_str("</svg></section>\n");
}

fn reasons(page: &mut String, report: &Report) {
    let mut items: Vec<(String, u64, &str)> = Reason::ALL
        .iter()
        .filter_map(|r| {
            let n = report.reasons.get(r.code()).copied().unwrap_or(0);
            let colour = match r.default_action() {
                crate::reason::Action::Review => "#b7791f",
                _ => "#b83232",
            };
            (n > 0).then(|| (r.code().to_string(), n, colour))
        })
        .collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    page.push_str("<section><h2>Reasons (deciding)</h2>");
    if items.is_empty() {
        page.push_str("<p>No row was reviewed or suppressed.</p>");
    } else {
        page.push_str(&bars(&items, report.input.rows, "reasons"));
    }
    page.push_str("</section>\n");
}

/// One component's before and after shares as two bars over the senders' bands (best:
/// green, between: amber, worst: red), on a 0..`scale`% axis.
fn health_chart(name: &str, figure: &HealthFigure) -> String {
    let scale = (figure.worst_senders_percent * 1.25)
        .max(figure.percent_before * 1.05)
        .max(figure.percent_after * 1.05)
        .max(1.0);
    let (left, span) = (150.0, 470.0);
    let x = |p: f64| left + p / scale * span;
    let (best, worst) = (
        x(figure.best_senders_percent),
        x(figure.worst_senders_percent),
    );
    let mut svg = format!(
        "<svg viewBox=\"0 0 640 70\" role=\"img\" aria-label=\"{name}\">\
         <rect x=\"{left}\" y=\"2\" width=\"{:.1}\" height=\"46\" fill=\"#e3f1e8\"/>\
         <rect x=\"{best:.1}\" y=\"2\" width=\"{:.1}\" height=\"46\" fill=\"#fbf3e0\"/>\
         <rect x=\"{worst:.1}\" y=\"2\" width=\"{:.1}\" height=\"46\" fill=\"#f8e1e1\"/>\
         <text x=\"{best:.1}\" y=\"64\" text-anchor=\"start\">| best {}%</text>\
         <text x=\"{worst:.1}\" y=\"64\" text-anchor=\"start\">| worst {}%</text>",
        best - left,
        worst - best,
        left + span - worst,
        figure.best_senders_percent,
        figure.worst_senders_percent
    );
    for (label, p, colour, y) in [
        ("before", figure.percent_before, "#b83232", 8),
        ("after", figure.percent_after, "#2e7d4f", 28),
    ] {
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{label} {p:.2}%</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"14\" fill=\"{colour}\"/>",
            y + 12,
            (x(p) - left).max(1.5),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn health(page: &mut String, health: &ListHealth) {
    page.push_str("<section><h2>List health: before and after cleaning</h2>");
    page.push_str(
        "<table><tr><th>estimate</th><th class=\"n\">before</th><th>band</th>\
         <th class=\"n\">after</th><th>band</th><th>fed by</th></tr>",
    );
    let components = [
        ("unknown users", &health.unknown_users),
        ("spam-trap risk", &health.trap_risk),
        ("complaint risk", &health.complaints),
    ];
    for (name, f) in components {
        let _ = write!(
            page,
            "<tr><td>{name}</td><td class=\"n\">{:.2}% ({})</td><td class=\"band-{}\">{}</td>\
             <td class=\"n\">{:.2}% ({})</td><td class=\"band-{}\">{}</td><td>{}</td></tr>",
            f.percent_before,
            f.rows_before,
            f.band_before,
            f.band_before,
            f.percent_after,
            f.rows_after,
            f.band_after,
            f.band_after,
            esc(&f.fed_by.join(", "))
        );
    }
    page.push_str("</table>");
    for (name, f) in components {
        let _ = write!(
            page,
            "<div class=\"chart\"><p><b>{name}</b></p>{}</div>",
            health_chart(name, f)
        );
    }
    let line = |l: &str| match l {
        "under_target" => "under the 0.1% target",
        "over_target" => "over the 0.1% target",
        _ => "at or over the 0.3% limit",
    };
    let _ = writeln!(
        page,
        "<p>Gmail and Yahoo bulk-sender complaint lines: keep under {}%, never reach {}%. \
         Before cleaning this list is {}; after, {}.</p><p class=\"note\">{} \
         Before = {} rows read; after = {} rows in clean.csv.</p></section>",
        health.complaint_lines.target_percent,
        health.complaint_lines.limit_percent,
        line(health.complaint_lines.before),
        line(health.complaint_lines.after),
        esc(health.method),
        health.rows_before,
        health.rows_after
    );
}

fn engagement(page: &mut String, report: &Report) {
    page.push_str("<section><h2>Days since last open or click</h2>");
    match &report.engagement {
        None => page.push_str("<p>No engagement log was given (<code>--engagement</code>).</p>"),
        Some(e) => {
            let h = &e.days_since_last_engagement;
            let items: Vec<(String, u64, &str)> = HISTOGRAM_BUCKETS
                .iter()
                .map(|b| {
                    let label = if *b == "never" {
                        "never engaged".to_string()
                    } else {
                        format!("{b} days")
                    };
                    (label, h.get(b), "#3b6ea8")
                })
                .collect();
            let total = items.iter().map(|i| i.1).sum();
            page.push_str(&bars(&items, total, "engagement age"));
            let _ = write!(
                page,
                "<p class=\"note\">{} log rows read, {} used, {} unparsed; machine opens \
                 discarded {}, machine or scanner clicks discarded {}.</p>",
                e.logs.rows_read,
                e.logs.rows_used,
                e.logs.unparsed_rows,
                e.logs.machine_opens_discarded,
                e.logs.machine_clicks_discarded + e.logs.scanner_clicks_discarded
            );
        }
    }
    page.push_str("</section>\n");
}

fn domains(page: &mut String, report: &Report) {
    let c = &report.concentration;
    let table =
        |page: &mut String, title: &str, rows: &[crate::report::health::Share], note: &str| {
            let _ = write!(page, "<section><h2>{title}</h2>");
            if rows.is_empty() {
                page.push_str("<p>None.</p>");
            } else {
                let items: Vec<(String, u64, &str)> = rows
                    .iter()
                    .map(|s| (s.name.clone(), s.rows, "#3b6ea8"))
                    .collect();
                page.push_str(&bars(&items, c.rows, title));
            }
            page.push_str(note);
            page.push_str("</section>\n");
        };
    let note = format!(
        "<p class=\"note\">{} distinct addresses; the largest domain holds {:.1}%, the five \
         largest {:.1}% (domain concentration index {:.0} of 10,000).</p>",
        c.rows, c.top_domain_percent, c.top_5_domains_percent, c.domain_hhi
    );
    table(page, "Top domains", &c.top_domains, &note);
    let none = if report.domains.checked {
        ""
    } else {
        "<p class=\"note\">Providers are recognised from DNS (MX) answers; DNS was not checked.</p>"
    };
    table(page, "Mailbox providers", &c.providers, none);
}

fn warnings_section(page: &mut String, warnings: &[String]) {
    page.push_str("<section><h2>Warnings</h2>");
    if warnings.is_empty() {
        page.push_str("<p>None.</p>");
    } else {
        page.push_str("<ul class=\"warn\">");
        for w in warnings {
            let _ = write!(page, "<li>{}</li>", esc(w));
        }
        page.push_str("</ul>");
    }
    page.push_str("</section>\n");
}

fn settings(page: &mut String, report: &Report) {
    let s = &report.settings;
    let d = &report.input.dialect;
    let mut rows: Vec<(&str, String)> = vec![
        ("rules", s.rules.clone()),
        ("as of", report.as_of.clone()),
        ("worker threads", s.jobs.to_string()),
        (
            "DNS",
            if report.domains.checked {
                format!("checked ({})", s.dns_servers.join(", "))
            } else {
                "not checked (--no-dns)".into()
            },
        ),
        (
            "input",
            format!(
                "{}, delimiter {:?}{}{}, address column {}",
                d.encoding,
                d.delimiter,
                if d.bom { ", BOM" } else { "" },
                if d.gzip { ", gzip" } else { "" },
                d.email_column
            ),
        ),
        (
            "suppression lists",
            report.suppression_lists.len().to_string(),
        ),
        (
            "engagement logs",
            report
                .engagement
                .as_ref()
                .map_or(0, |e| e.logs.files.len())
                .to_string(),
        ),
    ];
    let t = &report.timings_ms;
    rows.push((
        "time per stage (ms)",
        format!(
            "engagement {}, read {}, examine {}, DNS {}, decide {}, write {}",
            t.engagement, t.read, t.examine, t.dns, t.decide, t.write
        ),
    ));
    page.push_str("<section><h2>Settings</h2><table>");
    for (name, value) in rows {
        let _ = write!(page, "<tr><th>{name}</th><td>{}</td></tr>", esc(&value));
    }
    page.push_str("</table></section>\n");
}
