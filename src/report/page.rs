//! `report.html`: one self-contained page per run (no network, no external script or
//! style), written from the run's folder alone — `results.json`, `test.toml`,
//! `history.jsonl` and the `nodes/` folder — so the end of a run and `squall report
//! RUN_DIR` write the same page.
//!
//! It shows the test, seed, rerun line and verdict, each checker's explanation, the run's
//! figures, the faults, the latency and rate plots with their fault bands
//! ([`super::plots`]), the timeline of every op ([`super::timeline`]) and links to the files
//! of the run (node logs, kept data directories, the checker's own page).
//!
//! Memory stays bounded however long the history: it is read twice as a stream
//! ([`super::scan`]); the first pass fills the plots' [`Grid`] and the faults, the second
//! encodes the timeline straight into the page.

use super::faults::Faults;
use super::grid::{Grid, Outcome, MAX_FS};
use super::scan::{scan, Item};
use super::svg::esc;
use super::timeline::{self, Encoder};
use crate::histogram::Histogram;
use anyhow::{Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// Numbers the op functions in order of first appearance; beyond [`MAX_FS`] they share the
/// last number.
#[derive(Default)]
struct Functions {
    names: Vec<String>,
}

impl Functions {
    fn id(&mut self, f: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == f) {
            return i;
        }
        if self.names.len() + 1 < MAX_FS {
            self.names.push(f.to_string());
            self.names.len() - 1
        } else {
            if self.names.len() + 1 == MAX_FS {
                self.names.push("other".into());
            }
            MAX_FS - 1
        }
    }
}

/// What the first pass learns.
struct First {
    grid: Grid,
    faults: Faults,
    fs: Functions,
    /// Per function: ops by outcome, and ok latencies.
    counts: Vec<([u64; 3], Histogram)>,
    max_process: u64,
    summary: super::scan::Summary,
}

fn first_pass(history: &Path) -> Result<First> {
    let mut grid = Grid::default();
    let mut faults = Faults::default();
    let mut fs = Functions::default();
    let mut counts: Vec<([u64; 3], Histogram)> = Vec::new();
    let mut max_process = 0;
    let summary = scan(history, |item| match item {
        Item::Op(op) => {
            let f = fs.id(op.f);
            let latency = op.end - op.start;
            grid.add(f, op.outcome, op.end, latency);
            if counts.len() <= f {
                counts.resize_with(f + 1, Default::default);
            }
            counts[f].0[op.outcome as usize] += 1;
            if op.outcome == Outcome::Ok {
                counts[f].1.record(latency);
            }
            max_process = max_process.max(op.process);
        }
        Item::Nemesis {
            kind,
            f,
            value,
            error,
            time,
        } => faults.event(kind, f, value, error, time),
    })
    .with_context(|| format!("read {}", history.display()))?;
    faults.finish(summary.end);
    Ok(First {
        grid,
        faults,
        fs,
        counts,
        max_process,
        summary,
    })
}

fn read_json(path: &Path) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// A checker's verdict (and its parts) as a block.
fn checker_block(out: &mut String, v: &Value) {
    let valid = match &v["valid"] {
        Value::Bool(true) => "valid",
        Value::Bool(false) => "invalid",
        _ => "unknown",
    };
    let _ = write!(
        out,
        "<div class=\"check {valid}\"><h3>{} — {valid}</h3><pre>{}</pre>",
        esc(v["checker"].as_str().unwrap_or("checker")),
        esc(v["explanation"].as_str().unwrap_or(""))
    );
    if let Some(c) = v["cause"].as_str() {
        let _ = write!(out, "<p><b>cause:</b> {}</p>", esc(c));
    }
    out.push_str("</div>\n");
}

/// The files of the run worth a link, relative to its folder.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = [
        "results.json",
        "test.toml",
        "plan.jsonl",
        "history.jsonl",
        "history.edn",
        "squall.log",
        "linearizability.html",
    ]
    .iter()
    .filter(|f| dir.join(f).exists())
    .map(|f| f.to_string())
    .collect();
    let mut nodes: Vec<_> = std::fs::read_dir(dir.join("nodes"))
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    nodes.sort();
    for node in nodes {
        let mut entries: Vec<_> = std::fs::read_dir(&node)
            .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            if let (Some(n), Some(e)) = (node.file_name().and_then(|n| n.to_str()), e.to_str()) {
                out.push(format!("nodes/{n}/{e}"));
            }
        }
    }
    out
}

/// Writes `DIR/report.html` for the run folder `dir`; returns its size in bytes. The page
/// is written to a temporary name and renamed, so a reader never sees half a page and a
/// failure leaves none.
pub fn write(dir: &Path) -> Result<u64> {
    let path = dir.join("report.html");
    let tmp = dir.join(".report.html.tmp");
    let result = write_to(dir, &tmp).and_then(|n| {
        std::fs::rename(&tmp, &path).with_context(|| format!("rename to {}", path.display()))?;
        Ok(n)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_to(dir: &Path, tmp: &Path) -> Result<u64> {
    let history = dir.join("history.jsonl");
    let results = read_json(&dir.join("results.json"));
    let toml: toml::Value = std::fs::read_to_string(dir.join("test.toml"))
        .ok()
        .and_then(|s| toml::from_str(&s).ok())
        .unwrap_or(toml::Value::Table(Default::default()));
    let first = first_pass(&history)?;
    // Lanes are workers: the run's concurrency, or (a history from elsewhere) its processes.
    let concurrency = toml
        .get("concurrency")
        .and_then(toml::Value::as_integer)
        .map_or(first.max_process + 1, |c| c.max(1) as u64)
        .min(1024);

    let mut page = String::with_capacity(256 * 1024);
    let test = results["test"].as_str().unwrap_or("run");
    let seed = results["seed"]
        .as_u64()
        .map_or("?".into(), |s| s.to_string());
    let verdict = results["verdict"]
        .as_str()
        .unwrap_or(match &results["valid"] {
            Value::Bool(true) => "valid",
            Value::Bool(false) => "invalid",
            _ => "unknown",
        });
    let class = match verdict {
        "valid" | "invalid" => verdict,
        _ => "unknown",
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{verdict}: {t} seed {seed} — squall</title><style>{STYLE}</style></head><body>\n\
         <header class=\"{class}\"><h1>{verdict}{int}</h1><p><b>{t}</b> · seed <b>{seed}</b> · \
         {ops} ops · {faults} faults · {dir}</p>",
        t = esc(test),
        int = if results["interrupted"] == Value::Bool(true) {
            " (interrupted)"
        } else {
            ""
        },
        ops = first.summary.ops,
        faults = first.faults.list.len() as u64 + first.faults.dropped,
        dir = esc(&dir.display().to_string()),
    );
    if let Some(r) = results["rerun"].as_str() {
        let _ = write!(page, "<p>rerun with: <code>{}</code></p>", esc(r));
    }
    page.push_str("</header>\n<section><h2>Checkers</h2>\n");
    let checks = &results["checks"];
    match checks["results"].as_array() {
        Some(parts) if !parts.is_empty() => parts.iter().for_each(|p| checker_block(&mut page, p)),
        _ if checks.is_object() => checker_block(&mut page, checks),
        _ => page.push_str("<p>No verdict recorded (see results.json).</p>"),
    }
    if dir.join("linearizability.html").exists() {
        page.push_str(
            "<p><a href=\"linearizability.html\">The linearizability checker's page</a>: the \
             failing op, the longest linearizable prefix and the model's states.</p>",
        );
    }
    page.push_str("</section>\n");

    // Figures.
    page.push_str("<section><h2>Run</h2><table class=\"figures\">");
    if let Some(run) = results["run"].as_object() {
        for (k, v) in run {
            if !v.is_null() && v != &Value::Array(vec![]) {
                let _ = write!(
                    page,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(k),
                    esc(&match v {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    })
                );
            }
        }
    }
    page.push_str(
        "</table>\n<table class=\"ops\"><tr><th>f</th><th>ok</th><th>fail</th>\
                   <th>info</th><th>ok latency p50</th><th>p99</th><th>max</th></tr>",
    );
    for (f, (c, h)) in first.counts.iter().enumerate() {
        let ms = |ns: u64| format!("{:.2} ms", ns as f64 / 1e6);
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&first.fs.names[f]),
            c[0],
            c[1],
            c[2],
            ms(h.percentile(50.0)),
            ms(h.percentile(99.0)),
            ms(h.max())
        );
    }
    page.push_str("</table>");
    if first.summary.bad_lines > 0 {
        let _ = write!(
            page,
            "<p class=\"note\">{} lines of history.jsonl did not parse and are left out.</p>",
            first.summary.bad_lines
        );
    }
    page.push_str("</section>\n");

    // Faults.
    let faults = &first.faults.list;
    let _ = write!(
        page,
        "<section><h2>Faults</h2><details{}><summary>{} faults</summary>\
         <table class=\"faults\"><tr><th>nemesis</th><th>fault</th>\
         <th>in force</th><th>for</th><th>error</th></tr>",
        if faults.len() <= 12 { " open" } else { "" },
        faults.len() as u64 + first.faults.dropped
    );
    for f in faults.iter().take(500) {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{:.2}s – {:.2}s</td><td>{:.2}s</td><td>{}</td></tr>",
            esc(&f.nemesis),
            esc(&f.description),
            f.start_s(),
            f.end_s(),
            f.end_s() - f.start_s(),
            esc(f.error.as_deref().unwrap_or(""))
        );
    }
    page.push_str("</table></details>");
    let more = (faults.len().saturating_sub(500)) as u64 + first.faults.dropped;
    if more > 0 {
        let _ = write!(
            page,
            "<p class=\"note\">{more} more faults are not listed (the plots show the first {}).</p>",
            faults.len()
        );
    }
    page.push_str("</section>\n<section><h2>Latency</h2>\n");
    super::plots::latency(&mut page, &first.grid, &first.fs.names, faults);
    page.push_str("</section>\n<section><h2>Throughput</h2>\n");
    super::plots::rate(&mut page, &first.grid, &first.fs.names, faults);
    page.push_str("</section>\n");

    // Timeline: the data streams in the second pass.
    let meta = serde_json::json!({
        "ops": first.summary.ops,
        "concurrency": concurrency,
        "fs": first.fs.names,
        "faults": faults.iter().map(|f| serde_json::json!([f.start / 1000, f.end.unwrap_or(f.start) / 1000, f.nemesis, f.description])).collect::<Vec<_>>(),
    });
    let _ = writeln!(
        page,
        "<section><h2>Timeline</h2><p class=\"note\">Every op, one lane per worker (w0 … w{}), \
         from invocation to completion; green ok, red fail, amber info (outcome unknown). \
         Wheel to zoom, drag to pan, click a bar for the op. <button id=\"tl-all\">whole run</button> \
         <button id=\"tl-in\">zoom in</button> <button id=\"tl-out\">zoom out</button> \
         <span id=\"tl-view\"></span></p><div class=\"tl\"><canvas id=\"tl-canvas\"></canvas>\
         <div id=\"tl-tip\"></div></div></section>",
        concurrency - 1
    );
    page.push_str("<section><h2>Files</h2><ul class=\"files\">");
    for f in files(dir) {
        let _ = write!(page, "<li><a href=\"{0}\">{0}</a></li>", esc(&f));
    }
    page.push_str(
        "</ul></section>\n<footer>Made by squall from this run's folder \
                   (<code>squall report DIR</code> writes it again).</footer>\n",
    );
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"tl-meta\">{}</script>\n\
         <script type=\"text/plain\" id=\"tl-data\">",
        // `</` cannot end the script early: JSON escapes it as `<\/`.
        meta.to_string().replace("</", "<\\/")
    );

    let file = std::fs::File::create(tmp).with_context(|| format!("create {}", tmp.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
    w.write_all(page.as_bytes())?;
    drop(page);
    let mut fs = first.fs;
    let mut enc = Encoder::new(w, concurrency);
    let mut err = None;
    scan(&history, |item| {
        if let (Item::Op(op), None) = (item, &err) {
            let f = fs.id(op.f);
            if let Err(e) = enc.op(&op, f) {
                err = Some(e);
            }
        }
    })
    .with_context(|| format!("read {}", history.display()))?;
    if let Some(e) = err {
        return Err(e).context("write report.html");
    }
    let mut w = enc.finish()?;
    w.write_all(b"</script>\n")?;
    w.write_all(timeline::SCRIPT.as_bytes())?;
    w.write_all(b"</body></html>\n")?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all().ok();
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:0 24px 40px;color:#222;max-width:1100px}
header{margin:0 -24px 12px;padding:12px 24px;border-bottom:3px solid #999}
header.valid{background:#e8f5e9;border-color:#2e7d32}header.invalid{background:#ffebee;border-color:#c62828}
header.unknown{background:#fff8e1;border-color:#ef8f00}h1{margin:0 0 4px;font-size:22px}
h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:6px 0}
code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;margin:4px 0;background:#f6f6f6;padding:6px}
.check{border-left:4px solid #999;padding:2px 10px;margin:8px 0}.check.valid{border-color:#2e7d32}
.check.invalid{border-color:#c62828}.check.unknown{border-color:#ef8f00}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;font-size:12px}
.note{color:#555;font-size:12px}.legend span{margin-right:14px;font-size:12px;white-space:nowrap}
.legend svg{vertical-align:middle;margin-right:3px}svg.plot{max-width:100%;height:auto;display:block}
.tl{position:relative;overflow-y:auto;max-height:70vh;border:1px solid #ddd}canvas{display:block;cursor:grab}
#tl-tip{display:none;position:absolute;background:#fff;border:1px solid #888;padding:3px 6px;font-size:12px;pointer-events:none;white-space:nowrap}
.files{columns:3;font-size:12px}
"#;
