//! The soak's `index.html`: self-contained (no network), findings first (each signature with
//! its seeds, shortest first), then one row per seed — verdict, anomaly, ops, ok ops, faults,
//! duration, and a link to its run's report (`report.html` where the run wrote one, else its
//! `results.json`), relative to the page so the folder can be moved or served as it is.

use super::layout::relative;
use super::summary::Summary;
use std::fmt::Write as _;
use std::path::Path;

pub use checkers::html_escape as escape;

/// A link to a run's report from a page in folder `page_dir`: its report.html if it exists,
/// else its results.json; `None` for a run with neither.
pub fn report_link(run: &Path, page_dir: &Path) -> Option<(String, &'static str)> {
    ["report.html", "results.json"].into_iter().find_map(|f| {
        let p = run.join(f);
        p.exists()
            .then(|| (relative(&p, page_dir).display().to_string(), f))
    })
}

/// The page of a soak summary, to be written into `page_dir`.
pub fn render(summary: &Summary, page_dir: &Path) -> String {
    let mut h = String::new();
    let title = format!("squall soak: {}", summary.test);
    let _ = write!(
        h,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}}\
         .valid{{color:#070}}.invalid{{color:#b00;font-weight:bold}}.unknown,.none{{color:#a60}}\
         code{{font-size:90%}}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let _ = writeln!(h, "<p>{}</p>", escape(&summary.counts_line()));
    if !summary.findings.is_empty() {
        h.push_str("<h2>Findings</h2>\n<table><tr><th>anomaly</th><th>seeds</th><th>seeds, shortest first</th><th>rerun the shortest</th></tr>\n");
        for f in &summary.findings {
            let seeds: Vec<String> = f
                .seeds
                .iter()
                .map(|s| format!("<a href=\"#seed-{s}\">{s}</a>"))
                .collect();
            let rerun = f
                .seeds
                .first()
                .and_then(|s| summary.seeds.iter().find(|r| r.seed == *s))
                .map(|r| r.rerun.clone())
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&f.signature.to_string()),
                f.seeds.len(),
                seeds.join(", "),
                escape(&rerun)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Seeds</h2>\n<table><tr><th>seed</th><th>verdict</th><th>anomaly</th><th>ops</th><th>ok</th><th>faults</th><th>duration</th><th>run</th></tr>\n");
    for r in &summary.seeds {
        let (class, verdict) = match (r.verdict, r.interrupted) {
            (Some(v), false) => (v.as_str(), v.as_str().to_string()),
            (Some(v), true) => ("unknown", format!("{} (interrupted)", v.as_str())),
            (None, _) => ("none", "no verdict".to_string()),
        };
        let anomaly = r.anomaly();
        let link = r
            .run_dir
            .as_deref()
            .and_then(|d| report_link(d, page_dir))
            .map(|(href, name)| format!("<a href=\"{}\">{name}</a>", escape(&href)))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr id=\"seed-{s}\"><td>{s}</td><td class=\"{class}\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{:.1}s</td><td>{link}</td></tr>",
            escape(&verdict),
            escape(&anomaly),
            r.ops,
            r.ok.map_or("-".to_string(), |n| n.to_string()),
            r.faults,
            r.test_phase_s,
            s = r.seed
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_the_report_else_the_results() {
        let dir = std::env::temp_dir().join(format!("sqsoak-html-{}", std::process::id()));
        let run = dir.join("seeds/3/t/run");
        std::fs::create_dir_all(&run).unwrap();
        assert_eq!(report_link(&run, &dir), None);
        std::fs::write(run.join("results.json"), "{}").unwrap();
        assert_eq!(
            report_link(&run, &dir),
            Some(("seeds/3/t/run/results.json".into(), "results.json"))
        );
        std::fs::write(run.join("report.html"), "").unwrap();
        assert_eq!(
            report_link(&run, &dir),
            Some(("seeds/3/t/run/report.html".into(), "report.html"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
