//! A check's [`Report`] as one self-contained HTML page: [`render_html`].
//!
//! The page needs no network: CSS, SVG and a three-line script are inline. It shows
//!
//! - the verdict, the model and the figures, and why (the counterexample's sentence, or the
//!   cause of an unknown verdict);
//! - a timeline: one lane per process, each op a bar from its invocation to its completion,
//!   coloured by outcome (`ok` green, `fail` grey, `info` amber and open-ended: it may take
//!   effect at any time after its invocation). The op that cannot be linearized is outlined
//!   in red; the ops of the longest linearizable prefix carry their step number;
//! - that prefix as an ordered list, with the model's state after each step, ending with the
//!   op that cannot follow it.
//!
//! The time axis is *event order*: each distinct invocation or completion instant gets one
//! column, so the drawing keeps exactly the real-time order linearizability depends on (and
//! equal instants line up: an op that returns at the instant another is invoked overlaps
//! it), but not the lengths of gaps. Tick labels give the real times.
//!
//! A history can have many thousands of ops; the timeline shows at most [`MAX_SHOWN`] of
//! them, around the op that cannot be linearized (for a keyed history, of its key only), and
//! the list the last [`MAX_STEPS`] steps. The page says what it leaves out.

use crate::check::Report;
use crate::counterexample::{Counterexample, OpSummary};
use crate::operation::{Operation, Outcome};
use crate::verdict::Validity;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// At most this many ops are drawn on the timeline.
pub const MAX_SHOWN: usize = 200;
/// At most this many steps of the linearizable prefix are listed.
pub const MAX_STEPS: usize = 300;

const LANE_H: u32 = 30;
const BAR_H: u32 = 20;
/// Width of the process labels.
const GUTTER: u32 = 64;
/// Where the first instant is drawn.
const LEFT: u32 = 14;
const TOP: u32 = 34;
/// How far right of the last instant an open-ended (info) bar runs.
const TAIL: u32 = 60;

/// Renders `report` on the history whose paired operations are `ops` (from
/// [`operations`](crate::operations); an empty slice if the history could not be paired) as
/// a self-contained HTML page titled `title` (usually the history file's name).
///
/// ```
/// use checkers::{check, operations, render_html, CheckOptions, ModelKind};
/// use histories::{Event, EventType, Process};
/// use serde_json::{json, Value};
///
/// let ev = |index, kind, process, f: &str, value| Event {
///     index, time: index * 10, kind, process: Process::Client(process), f: f.into(), value,
///     error: None, node: None };
/// use EventType::*;
/// let history = vec![
///     ev(0, Invoke, 1, "write", json!(1)),
///     ev(1, Ok, 1, "write", json!(1)),
///     ev(2, Invoke, 2, "read", Value::Null),
///     ev(3, Ok, 2, "read", json!(2)),
/// ];
/// let opts = CheckOptions { independent: false, ..CheckOptions::for_model(ModelKind::Register) };
/// let report = check(&history, &opts);
/// let page = render_html("a <bad> history", &operations(&history).unwrap(), &report);
/// assert!(page.contains("NOT linearizable"));
/// assert!(page.contains("a &lt;bad&gt; history"));
/// ```
pub fn render_html(title: &str, ops: &[Operation], report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let (class, headline) = match report.valid {
        Validity::Valid => ("valid", "Linearizable"),
        Validity::Invalid => ("invalid", "NOT linearizable"),
        Validity::Unknown => ("unknown", "Undecided"),
    };
    let _ = writeln!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{headline}: {t} — squall check</title><style>{STYLE}</style></head><body>\n\
         <header class=\"{class}\"><h1>{headline}</h1><p><b>{t}</b> · model <b>{model}</b> · \
         {ops} ops · {keys} · checked in {ms} ms</p></header>",
        t = esc(title),
        model = esc(&report.model),
        ops = report.ops,
        keys = plural(report.keys, "key"),
        ms = report.check_ms,
    );
    let c = report.counterexample.as_ref();
    if let Some(c) = c {
        let _ = write!(
            page,
            "<section><h2>Why</h2><p class=\"why\">{}</p>",
            esc(&c.to_string())
        );
        if let Some(key) = &c.key {
            let _ = write!(
                page,
                "<p class=\"note\">Keys are checked separately; shown below: key <code>{}</code>.</p>",
                esc(&key.to_string())
            );
        }
        page.push_str("</section>\n");
    }
    if let Some(cause) = &report.cause {
        let _ = writeln!(
            page,
            "<section><h2>Why</h2><p class=\"why\">{}</p></section>",
            esc(cause)
        );
    }
    timeline(&mut page, ops, c);
    if let Some(c) = c {
        prefix_list(&mut page, c);
    }
    page.push_str(
        "<footer>Made by <code>squall check</code>. Ops: invocation → completion. \
         Semantics: an <code>ok</code> op happened between its invocation and completion; a \
         <code>fail</code> op did not happen; an <code>info</code> op may have happened at \
         any time after its invocation, or never.</footer>\n",
    );
    page.push_str(SCRIPT);
    page.push_str("</body></html>\n");
    page
}

/// One op as the timeline draws it.
struct Bar<'a> {
    op: &'a Operation,
    /// Its value(s) with the key stripped, for a keyed history.
    invoke: &'a Value,
    completion: Option<&'a Value>,
    /// Its step in the linearizable prefix (1-based).
    step: Option<usize>,
    culprit: bool,
}

/// The second element of a `[key value]` pair when `keyed`.
fn unkey(v: &Value, keyed: bool) -> &Value {
    match v {
        Value::Array(kv) if keyed && kv.len() == 2 => &kv[1],
        _ => v,
    }
}

/// Draws the timeline section.
fn timeline(page: &mut String, ops: &[Operation], c: Option<&Counterexample>) {
    let key = c.and_then(|c| c.key.as_ref());
    let mine: Vec<&Operation> = ops
        .iter()
        .filter(|o| match key {
            None => true,
            Some(k) => o
                .invoke_value
                .as_array()
                .is_some_and(|a| a.len() == 2 && &a[0] == k),
        })
        .collect();
    page.push_str("<section><h2>Timeline</h2>\n");
    if mine.is_empty() {
        page.push_str("<p class=\"note\">No client operations.</p></section>\n");
        return;
    }
    let steps: HashMap<u64, usize> = c
        .map(|c| {
            c.linearized
                .iter()
                .enumerate()
                .map(|(i, s)| (s.op.invoke_index, i + 1))
                .collect()
        })
        .unwrap_or_default();
    let culprit = c.map(|c| c.op.invoke_index);
    let at = culprit
        .and_then(|i| mine.iter().position(|o| o.invoke_index == i))
        .unwrap_or(0);
    let (lo, hi) = window(mine.len(), at);
    let keyed = key.is_some();
    let bars: Vec<Bar> = mine[lo..hi]
        .iter()
        .map(|&op| Bar {
            op,
            invoke: unkey(&op.invoke_value, keyed),
            completion: op.completion_value.as_ref().map(|v| unkey(v, keyed)),
            step: steps.get(&op.invoke_index).copied(),
            culprit: Some(op.invoke_index) == culprit,
        })
        .collect();
    let _ = writeln!(
        page,
        "<p class=\"note\">{} <span class=\"sw ok\"></span> ok <span class=\"sw fail\"></span> \
         fail <span class=\"sw info\"></span> info (open-ended) <span class=\"sw culprit\"></span> \
         cannot be linearized <span class=\"badge\">7</span> step in the linearizable prefix. \
         Horizontal: event order (real-time order kept, gaps not to scale). Hover a bar for \
         details.</p>",
        if hi - lo < mine.len() {
            format!(
                "Showing ops {}–{} of {} (in invocation order).",
                lo + 1,
                hi,
                mine.len()
            )
        } else {
            format!("{}.", plural(mine.len(), "op"))
        }
    );
    draw(page, &bars);
    page.push_str("</section>\n");
}

/// The range of ops to draw: all if few, else [`MAX_SHOWN`] ending a little after `at`.
fn window(len: usize, at: usize) -> (usize, usize) {
    if len <= MAX_SHOWN {
        return (0, len);
    }
    let hi = (at + MAX_SHOWN / 4).clamp(MAX_SHOWN, len);
    (hi - MAX_SHOWN, hi)
}

/// The SVG of the bars.
fn draw(page: &mut String, bars: &[Bar]) {
    // Columns: every distinct instant, in order.
    let instants: BTreeSet<u64> = bars
        .iter()
        .flat_map(|b| std::iter::once(b.op.start).chain(b.op.end))
        .collect();
    let column: BTreeMap<u64, u32> = instants
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u32))
        .collect();
    let n = instants.len() as u32;
    let step = (1200 / n.max(1)).clamp(16, 44);
    let lanes: BTreeSet<u64> = bars.iter().map(|b| b.op.process).collect();
    let lane: BTreeMap<u64, u32> = lanes
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, i as u32))
        .collect();
    let right = LEFT + n.saturating_sub(1) * step + TAIL;
    let width = right + 20;
    let height = TOP + lanes.len() as u32 * LANE_H + 10;
    let x = |t: u64| LEFT + column[&t] * step;
    let culprit_x = bars.iter().find(|b| b.culprit).map_or(0, |b| x(b.op.start));
    // The process labels stay put while the bars scroll under them.
    let _ = write!(
        page,
        "<div class=\"timeline\"><svg class=\"procs\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{GUTTER}\" height=\"{height}\">"
    );
    for (&p, &i) in &lane {
        let y = TOP + i * LANE_H;
        let _ = writeln!(
            page,
            "<rect class=\"lane{}\" x=\"0\" y=\"{y}\" width=\"{GUTTER}\" height=\"{LANE_H}\"/>\
             <text class=\"proc\" x=\"{}\" y=\"{}\">p{p}</text>",
            if i % 2 == 1 { " odd" } else { "" },
            GUTTER - 10,
            y + LANE_H / 2 + 4,
        );
    }
    let _ = writeln!(
        page,
        "</svg><div class=\"scroll\" data-focus=\"{culprit_x}\">\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         style=\"min-width:100%\">\
         <defs><linearGradient id=\"fade\"><stop offset=\"0.6\" stop-color=\"#f6d58e\"/>\
         <stop offset=\"1\" stop-color=\"#f6d58e\" stop-opacity=\"0\"/></linearGradient></defs>"
    );
    for &i in lane.values() {
        let _ = writeln!(
            page,
            "<rect class=\"lane{}\" x=\"0\" y=\"{}\" width=\"100%\" height=\"{LANE_H}\"/>",
            if i % 2 == 1 { " odd" } else { "" },
            TOP + i * LANE_H,
        );
    }
    // Ticks: real time (relative to the first instant) every ~110 px.
    let timed = bars.iter().any(|b| b.op.invoke_time != 0);
    let first = instants.first().copied().unwrap_or(0);
    let every = (110 / step).max(1) as usize;
    for (i, &t) in instants.iter().enumerate().step_by(every) {
        let tx = x(t);
        let label = if timed {
            format_ns(t - first)
        } else {
            format!("#{i}")
        };
        let _ = writeln!(
            page,
            "<line class=\"tick\" x1=\"{tx}\" y1=\"{}\" x2=\"{tx}\" y2=\"{}\"/>\
             <text class=\"time\" x=\"{tx}\" y=\"{}\">{label}</text>",
            TOP - 6,
            height - 10,
            TOP - 12,
        );
    }
    for b in bars {
        bar(page, b, &lane, step, right, &x);
    }
    page.push_str("</svg></div></div>\n");
}

/// One op's bar, clipped label, tooltip, step badge.
fn bar(
    page: &mut String,
    b: &Bar,
    lane: &BTreeMap<u64, u32>,
    step: u32,
    right: u32,
    x: &dyn Fn(u64) -> u32,
) {
    let op = b.op;
    let x0 = x(op.start) + 1;
    let x1 = op.end.map_or(right, |e| x(e).max(x(op.start) + step / 2));
    let w = x1.saturating_sub(x0).max(6);
    let y = TOP + lane[&op.process] * LANE_H + (LANE_H - BAR_H) / 2;
    let class = match (b.culprit, op.outcome) {
        (true, _) => "culprit",
        (_, Outcome::Ok) => "ok",
        (_, Outcome::Fail) => "fail",
        (_, Outcome::Info) => "info",
    };
    let text = label(&op.f, b.invoke, b.completion, op.outcome);
    let _ = write!(
        page,
        "<g class=\"op {class}\"{}><title>{}</title>\
         <svg x=\"{x0}\" y=\"{y}\" width=\"{w}\" height=\"{BAR_H}\">\
         <rect x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"3\"/>\
         <text x=\"4\" y=\"{}\">{}</text></svg>",
        if b.culprit { " id=\"culprit\"" } else { "" },
        esc(&tooltip(b)),
        w - 1,
        BAR_H - 1,
        BAR_H / 2 + 4,
        esc(&text),
    );
    if let Some(s) = b.step {
        let digits = s.to_string().len() as u32;
        let bw = 6 + 6 * digits;
        let _ = write!(
            page,
            "<rect class=\"badge\" x=\"{}\" y=\"{}\" width=\"{bw}\" height=\"11\" rx=\"5\"/>\
             <text class=\"badge\" x=\"{}\" y=\"{}\">{s}</text>",
            x0 + w.saturating_sub(bw + 2),
            y - 5,
            x0 + w.saturating_sub(bw + 2) + bw / 2,
            y + 4,
        );
    }
    if b.culprit {
        let _ = write!(
            page,
            "<text class=\"mark\" x=\"{}\" y=\"{}\">✗</text>",
            x0 + w + 3,
            y + BAR_H / 2 + 5
        );
    }
    page.push_str("</g>\n");
}

/// A compact label: `w 1`, `r 2`, `cas 1→2`, `a 3`, `txn w x 1 r y 0`, `acquire`.
fn label(f: &str, invoke: &Value, completion: Option<&Value>, outcome: Outcome) -> String {
    let arg = match (invoke, completion) {
        (Value::Null, Some(c)) => c,
        _ => invoke,
    };
    match f {
        "read" => match (outcome, completion) {
            (Outcome::Ok, Some(v)) => format!("r {}", compact(v)),
            _ => "r ?".into(),
        },
        "write" => format!("w {}", compact(arg)),
        "append" => format!("a {}", compact(arg)),
        "cas" => match arg {
            Value::Array(p) if p.len() == 2 => format!("cas {}→{}", compact(&p[0]), compact(&p[1])),
            v => format!("cas {}", compact(v)),
        },
        "txn" => {
            let micro = match (outcome, completion) {
                (Outcome::Ok, Some(c @ Value::Array(_))) => c,
                _ => invoke,
            };
            let parts: Vec<String> = micro
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .map(|m| match m.as_array().map(Vec::as_slice) {
                            Some([f, k, v]) => {
                                let f = match f.as_str() {
                                    Some("read") => "r",
                                    Some("write") => "w",
                                    Some(s) => s,
                                    None => "?",
                                };
                                let v = if v.is_null() { "?".into() } else { compact(v) };
                                format!("{f} {} {v}", compact(k))
                            }
                            _ => compact(m),
                        })
                        .collect()
                })
                .unwrap_or_default();
            parts.join(", ")
        }
        _ if arg.is_null() => f.to_string(),
        _ => format!("{f} {}", compact(arg)),
    }
}

/// A value in few characters: strings bare, the rest as JSON.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "nil".into(),
        other => other.to_string(),
    }
}

/// The bar's tooltip: everything about the op.
fn tooltip(b: &Bar) -> String {
    let op = b.op;
    let mut t = format!(
        "process {} · {} · {}",
        op.process,
        op.f,
        outcome(op.outcome)
    );
    let _ = write!(
        t,
        "\ninvoke: {} (history index {}",
        b.invoke, op.invoke_index
    );
    if op.invoke_time != 0 {
        let _ = write!(t, ", time {} ns", op.invoke_time);
    }
    t.push(')');
    match (op.completion_index, b.completion) {
        (Some(i), Some(v)) => {
            let _ = write!(t, "\ncompletion: {v} (history index {i}");
            if let Some(time) = op.completion_time.filter(|&t| t != 0) {
                let _ = write!(t, ", time {time} ns");
            }
            t.push(')');
        }
        _ => t.push_str("\nnever completed"),
    }
    if let Some(s) = b.step {
        let _ = write!(t, "\nstep {s} of the linearizable prefix");
    }
    if b.culprit {
        t.push_str("\ncannot be linearized");
    }
    t
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

/// The longest linearizable prefix, as an ordered list, then the op that cannot follow.
fn prefix_list(page: &mut String, c: &Counterexample) {
    let total = c.linearized.len();
    let skipped = total.saturating_sub(MAX_STEPS);
    let _ = writeln!(
        page,
        "<section><h2>Longest linearizable prefix</h2><p class=\"note\">{} linearized in this \
         order, each leaving the model in the state shown; the op after them cannot be.{}</p>",
        plural(total, "op"),
        if skipped > 0 {
            format!(" The first {skipped} steps are not listed.")
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        page,
        "<table class=\"steps\"><thead><tr><th>step</th><th>process</th><th>op</th>\
         <th>history index</th><th>state after</th></tr></thead><tbody>"
    );
    for (i, s) in c.linearized.iter().enumerate().skip(skipped) {
        let _ = writeln!(
            page,
            "<tr><td class=\"n\">{}</td><td>p{}</td><td>{}{}</td><td>{}</td><td><code>{}</code></td></tr>",
            i + 1,
            s.op.process,
            esc(&s.op.short()),
            if s.op.outcome == Outcome::Info {
                " <span class=\"tag info\">info</span>"
            } else {
                ""
            },
            indices(&s.op),
            esc(&s.state.to_string()),
        );
    }
    let before = c
        .linearized
        .last()
        .map_or_else(|| "the initial state".into(), |s| s.state.to_string());
    let read = match (c.op.f.as_str(), &c.op.completion_value) {
        ("read", Some(v)) => format!("read {v}"),
        _ => c.op.short(),
    };
    let _ = writeln!(
        page,
        "<tr class=\"culprit\"><td class=\"n\">✗</td><td>p{}</td><td>{}</td><td>{}</td>\
         <td>cannot happen in <code>{}</code>, nor after any other order</td></tr>\n\
         </tbody></table></section>",
        c.op.process,
        esc(&read),
        indices(&c.op),
        esc(&before),
    );
}

/// `12 → 15`, or `12 → never`.
fn indices(op: &OpSummary) -> String {
    match op.completion_index {
        Some(i) => format!("{} → {i}", op.invoke_index),
        None => format!("{} → never", op.invoke_index),
    }
}

/// `1 op`, `3 ops`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `0`, `850 µs`, `12.5 ms`, `3.20 s`.
fn format_ns(ns: u64) -> String {
    match ns {
        0 => "0".into(),
        n if n < 1_000_000 => format!("{} µs", n / 1000),
        n if n < 1_000_000_000 => format!("{:.1} ms", n as f64 / 1e6),
        n => format!("{:.2} s", n as f64 / 1e9),
    }
}

/// Escapes text for HTML content and attribute values (squall's run and soak pages use it
/// too).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232b;background:#fafbfc}
header{padding:14px 24px;color:#fff}header h1{margin:0;font-size:24px}header p{margin:4px 0 0}
header.valid{background:#2f7d4a}header.invalid{background:#b3261e}header.unknown{background:#8a6d1a}
section{padding:6px 24px}h2{font-size:17px;margin:14px 0 6px}
.why{font-size:15px;background:#fff;border-left:4px solid #b3261e;padding:8px 12px;margin:4px 0}
.note{color:#555;margin:4px 0}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.timeline{display:flex;background:#fff;border:1px solid #dde1e6;border-radius:4px}
.procs{flex:none;border-right:1px solid #dde1e6}.scroll{overflow-x:auto;flex:1}
svg text{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.lane{fill:#fff}.lane.odd{fill:#f3f5f7}
text.proc{text-anchor:end;fill:#333;font-weight:600}
text.time{text-anchor:middle;fill:#777;font-size:10px}
line.tick{stroke:#e3e6ea;stroke-width:1}
.op rect{stroke-width:1.2}.op text{fill:#1d232b}
.op.ok rect{fill:#bfe5c9;stroke:#2f7d4a}
.op.fail rect{fill:#e4e4e4;stroke:#8a8a8a}.op.fail text{fill:#666;text-decoration:line-through}
.op.info rect{fill:url(#fade);stroke:#b7860b;stroke-dasharray:4 2}
.op.culprit rect{fill:#ffc9c4;stroke:#d0021b;stroke-width:3}.op.culprit text{font-weight:700}
.op:hover rect{stroke-width:2.5}
g.op rect.badge{fill:#1f4e9c;stroke:none}g.op text.badge{fill:#fff;font-size:9px;font-weight:600;text-anchor:middle}
text.mark{fill:#d0021b;font-size:15px;font-weight:700}
.sw{display:inline-block;width:22px;height:11px;border-radius:3px;vertical-align:middle;border:1.2px solid}
.sw.ok{background:#bfe5c9;border-color:#2f7d4a}.sw.fail{background:#e4e4e4;border-color:#8a8a8a}
.sw.info{background:linear-gradient(90deg,#f6d58e 60%,#fff0);border:1.2px dashed #b7860b}
.sw.culprit{background:#ffc9c4;border:3px solid #d0021b}
span.badge{display:inline-block;background:#1f4e9c;color:#fff;border-radius:6px;font-size:10px;padding:0 5px}
table.steps{border-collapse:collapse;background:#fff;margin:6px 0 12px}
.steps th,.steps td{border:1px solid #dde1e6;padding:3px 10px;text-align:left;vertical-align:top}
.steps th{background:#eef1f4}.steps td.n{text-align:right;color:#555}
.steps tr.culprit td{background:#ffe3e0;font-weight:600}
.tag{font-size:11px;border-radius:3px;padding:0 4px}.tag.info{background:#f6d58e}
footer{color:#777;font-size:12px;padding:12px 24px 24px}
"#;

/// Scrolls the timeline to the op that cannot be linearized.
const SCRIPT: &str = "<script>for(const s of document.querySelectorAll('.scroll')){\
s.scrollLeft=Math.max(0,Number(s.dataset.focus)-s.clientWidth/2);}</script>\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check, CheckOptions, ModelKind};
    use crate::operation::operations;
    use histories::{Event, EventType, Process};
    use serde_json::json;

    fn ev(index: u64, kind: EventType, process: u64, f: &str, value: Value) -> Event {
        Event {
            index,
            time: (index + 1) * 1_000_000,
            kind,
            process: Process::Client(process),
            f: f.into(),
            value,
            error: None,
            node: None,
        }
    }

    fn page(history: &[Event], model: ModelKind) -> String {
        let opts = CheckOptions {
            independent: false,
            ..CheckOptions::for_model(model)
        };
        let report = check(history, &opts);
        render_html("h.edn", &operations(history).unwrap(), &report)
    }

    #[test]
    fn invalid_page_marks_the_culprit_and_lists_the_prefix() {
        use EventType::*;
        let h = vec![
            ev(0, Invoke, 1, "write", json!(1)),
            ev(1, Ok, 1, "write", json!(1)),
            ev(2, Invoke, 3, "write", json!("<b>")),
            ev(3, Info, 3, "write", json!("<b>")),
            ev(4, Invoke, 2, "read", Value::Null),
            ev(5, Ok, 2, "read", json!(7)),
        ];
        let html = page(&h, ModelKind::Register);
        assert!(html.contains("<h1>NOT linearizable</h1>"));
        assert_eq!(html.matches("id=\"culprit\"").count(), 1);
        assert!(html.contains("<text x=\"4\" y=\"14\">r 7</text>"), "{html}");
        assert!(html.contains("class=\"op info\""));
        assert!(html.contains("w &lt;b&gt;"), "values are escaped");
        assert!(!html.contains("<b>\""), "values are escaped");
        assert!(html.contains("<tr class=\"culprit\">"));
        assert!(
            !html.contains("src=") && !html.contains("<link"),
            "no network"
        );
    }

    #[test]
    fn valid_and_empty_pages() {
        use EventType::*;
        let h = vec![
            ev(0, Invoke, 1, "acquire", Value::Null),
            ev(1, Ok, 1, "acquire", Value::Null),
            ev(2, Invoke, 2, "release", Value::Null),
            ev(3, Fail, 2, "release", Value::Null),
        ];
        let html = page(&h, ModelKind::Mutex);
        assert!(html.contains("<h1>Linearizable</h1>"));
        assert!(html.contains("class=\"op fail\""));
        assert!(!html.contains("Longest linearizable prefix"));
        let html = page(&[], ModelKind::Mutex);
        assert!(html.contains("No client operations."));
    }

    #[test]
    fn long_histories_are_windowed() {
        assert_eq!(window(10, 3), (0, 10));
        assert_eq!(window(1000, 0), (0, MAX_SHOWN));
        assert_eq!(window(1000, 500), (350, 550));
        assert_eq!(window(1000, 990), (800, 1000));
    }

    #[test]
    fn labels() {
        let cases = [
            ("read", json!(null), Some(json!(2)), Outcome::Ok, "r 2"),
            ("read", json!(null), None, Outcome::Info, "r ?"),
            ("cas", json!([1, 2]), None, Outcome::Info, "cas 1→2"),
            ("append", json!("x"), Some(json!("x")), Outcome::Ok, "a x"),
            (
                "txn",
                json!([["read", "x", null], ["write", "y", 1]]),
                Some(json!([["read", "x", 3], ["write", "y", 1]])),
                Outcome::Ok,
                "r x 3, w y 1",
            ),
            (
                "acquire",
                json!(null),
                Some(json!(null)),
                Outcome::Ok,
                "acquire",
            ),
        ];
        for (f, i, c, o, want) in cases {
            assert_eq!(label(f, &i, c.as_ref(), o), want);
        }
        assert_eq!(
            esc("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(format_ns(12_500_000), "12.5 ms");
    }
}
