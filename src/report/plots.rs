//! The report's two plots, as SVG, from a [`Grid`]: **latency** (each op a point at its
//! completion time and latency, log scale; colour by outcome, shape by function — Jepsen's
//! latency-raw) and **rate** (ops per second over time, one line per function and outcome —
//! Jepsen's rate), both with the run's fault bands.

use super::faults::Fault;
use super::grid::{row_latency, Grid, Outcome, COLS};
use super::svg::{esc, nice_ceil, open_plot, Frame, Scale};
use std::fmt::Write as _;

/// Outcome colours (the timeline's too).
pub fn colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "#2e7d32",
        Outcome::Fail => "#c62828",
        Outcome::Info => "#ef8f00",
    }
}

/// A point's shape for function number `f`, as a path relative to its centre.
fn shape(f: usize) -> &'static str {
    const SHAPES: [&str; 6] = [
        "m-2,-2h4v4h-4z",                                   // square
        "m0,-2.6l2.6,4.5h-5.2z",                            // triangle
        "m0,-3l3,3-3,3-3-3z",                               // diamond
        "m-2.6,0a2.6,2.6 0 1,0 5.2,0a2.6,2.6 0 1,0-5.2,0z", // circle
        "m0,2.6l2.6,-4.5h-5.2z",                            // triangle down
        "m-1,-3h2v2h2v2h-2v2h-2v-2h-2v-2h2z",               // plus
    ];
    SHAPES[f % SHAPES.len()]
}

/// A line's dash pattern for function number `f`.
fn dash(f: usize) -> &'static str {
    const DASHES: [&str; 4] = ["", "6,3", "2,2", "8,3,2,3"];
    DASHES[f % DASHES.len()]
}

/// The x scale: 0 to the last completion (at least 1 s), rounded up.
fn time_scale(grid: &Grid, faults: &[Fault], f: &Frame) -> Scale {
    let last = faults
        .iter()
        .map(|x| x.end_s())
        .fold(grid.max_time as f64 / 1e9, f64::max);
    let (p0, p1) = f.xs();
    Scale {
        lo: 0.0,
        hi: nice_ceil(last.max(1.0)),
        p0,
        p1,
        log: false,
    }
}

/// The legend: one entry per series, after the plot, then one per nemesis's bands.
fn legend(out: &mut String, entries: &[(String, String)], faults: &[Fault]) {
    out.push_str("<div class=\"legend\">");
    let mut kinds: Vec<(&str, usize, f64)> = Vec::new();
    for f in faults {
        match kinds.iter_mut().find(|k| k.0 == f.nemesis) {
            Some(k) => {
                k.1 += 1;
                k.2 += f.end_s() - f.start_s();
            }
            None => kinds.push((&f.nemesis, 1, f.end_s() - f.start_s())),
        }
    }
    for (i, (n, count, secs)) in kinds.iter().enumerate() {
        let _ = write!(
            out,
            "<span><svg width=\"22\" height=\"12\" xmlns=\"http://www.w3.org/2000/svg\"><rect \
             width=\"22\" height=\"12\" fill=\"{}\" fill-opacity=\"0.5\"/></svg>{} in force \
             ({count} faults, {secs:.1} s)</span>",
            super::svg::band_colour(n, i),
            esc(n)
        );
    }
    for (swatch, label) in entries {
        let _ = write!(
            out,
            "<span><svg width=\"22\" height=\"12\" xmlns=\"http://www.w3.org/2000/svg\">{swatch}</svg>{}</span>",
            esc(label)
        );
    }
    out.push_str("</div>\n");
}

/// The latency plot (an `<svg id="latency">`, its legend and caption).
pub fn latency(out: &mut String, grid: &Grid, fs: &[String], faults: &[Fault]) {
    let frame = Frame::PLOT;
    let x = time_scale(grid, faults, &frame);
    let (lo, hi) = if grid.max_latency == 0 {
        (1e6, 1e9)
    } else {
        let lo = (grid.min_latency.max(1_000) as f64).log10().floor();
        // A little headroom: the top row's points (e.g. timeouts) sit inside the plot.
        let hi = ((grid.max_latency as f64).log10() + 0.1)
            .ceil()
            .max(lo + 1.0);
        (10f64.powf(lo), 10f64.powf(hi))
    };
    let (p0, p1) = frame.ys();
    let y = Scale {
        lo,
        hi,
        p0,
        p1,
        log: true,
    };
    open_plot(
        out,
        "latency",
        &frame,
        &x,
        &y,
        "time since the run's start (completion)",
        "latency",
        faults,
    );
    let (mut ops, mut points) = (0u64, 0u64);
    let mut entries = Vec::new();
    let col_s = grid.col_ns() / 1e9;
    for (f, o, s) in grid.series() {
        let mut d = String::new();
        for (c, r) in s.cells() {
            let _ = write!(
                d,
                "M{:.1},{:.1}{}",
                x.px((c as f64 + 0.5) * col_s),
                y.px(row_latency(r)),
                shape(f)
            );
            points += 1;
        }
        ops += s.ops;
        let name = fs.get(f).map_or("other", String::as_str);
        let _ = writeln!(
            out,
            "<path class=\"series\" data-f=\"{n}\" data-type=\"{t}\" d=\"{d}\" fill=\"{c}\" \
             fill-opacity=\"0.7\"><title>{n} {t}: {k} ops</title></path>",
            n = esc(name),
            t = o.as_str(),
            c = colour(o),
            k = s.ops
        );
        entries.push((
            format!("<path d=\"M11,6{}\" fill=\"{}\"/>", shape(f), colour(o)),
            format!("{name} {} ({})", o.as_str(), s.ops),
        ));
    }
    out.push_str("</svg>\n");
    legend(out, &entries, faults);
    let _ = writeln!(
        out,
        "<p class=\"note\">{ops} ops drawn as {points} points: one per occupied cell of \
         {COLS} time columns ({:.3} s each) × 1/20 decade of latency, so ops closer than a cell \
         share a point.</p>",
        col_s
    );
}

/// The rate plot (an `<svg id="rate">`, its legend and caption): ops per second per
/// function and outcome, in about 100 bins over the run, each at least a second long.
pub fn rate(out: &mut String, grid: &Grid, fs: &[String], faults: &[Fault]) {
    let frame = Frame::PLOT;
    let x = time_scale(grid, faults, &frame);
    // A bin is a whole number of columns.
    let col_ns = grid.col_ns();
    let used = ((grid.max_time as f64 / col_ns).floor() as usize + 1).min(COLS);
    // About 100 bins, none shorter than a second (a short run's rates would be noise).
    let per_bin = used
        .div_ceil(100)
        .max((1e9 / col_ns).ceil() as usize)
        .min(COLS);
    let bin_s = per_bin as f64 * col_ns / 1e9;
    let bins = used.div_ceil(per_bin);
    // The last bin ends at the last completion: its rate is over the part that ran.
    let last_bin_s =
        (grid.max_time as f64 / 1e9 - (bins - 1) as f64 * bin_s).clamp(bin_s / 100.0, bin_s);
    let mut lines = Vec::new();
    let mut max_rate = 0f64;
    for (f, o, s) in grid.series() {
        let rates: Vec<f64> = (0..bins)
            .map(|b| {
                let n: u64 = s.counts[b * per_bin..((b + 1) * per_bin).min(COLS)]
                    .iter()
                    .sum();
                n as f64 / if b + 1 == bins { last_bin_s } else { bin_s }
            })
            .collect();
        max_rate = rates.iter().copied().fold(max_rate, f64::max);
        lines.push((f, o, s.ops, rates));
    }
    let (p0, p1) = frame.ys();
    let y = Scale {
        lo: 0.0,
        hi: nice_ceil(max_rate.max(1.0)),
        p0,
        p1,
        log: false,
    };
    open_plot(
        out,
        "rate",
        &frame,
        &x,
        &y,
        "time since the run's start (completion)",
        "ops/s",
        faults,
    );
    let mut entries = Vec::new();
    for (f, o, ops, rates) in lines {
        let mut d = String::new();
        for (b, r) in rates.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if b == 0 { "M" } else { "L" },
                x.px((b as f64 + 0.5) * bin_s),
                y.px(*r)
            );
        }
        let name = fs.get(f).map_or("other", String::as_str);
        let _ = writeln!(
            out,
            "<path class=\"series\" data-f=\"{n}\" data-type=\"{t}\" d=\"{d}\" fill=\"none\" \
             stroke=\"{c}\" stroke-width=\"1.5\" stroke-dasharray=\"{da}\"><title>{n} {t}: {ops} ops</title></path>",
            n = esc(name),
            t = o.as_str(),
            c = colour(o),
            da = dash(f),
        );
        entries.push((
            format!(
                "<path d=\"M1,6H21\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/>",
                colour(o),
                dash(f)
            ),
            format!("{name} {}", o.as_str()),
        ));
    }
    out.push_str("</svg>\n");
    legend(out, &entries, faults);
    let _ = writeln!(
        out,
        "<p class=\"note\">Ops completed per second, in bins of {bin_s:.3} s.</p>"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        let mut g = Grid::default();
        for i in 0..10_000u64 {
            let o = if i % 10 == 0 {
                Outcome::Info
            } else {
                Outcome::Ok
            };
            g.add(
                (i % 2) as usize,
                o,
                i * 1_000_000,
                1_000_000 + (i % 7) * 100_000,
            );
        }
        g
    }

    fn faults() -> Vec<Fault> {
        vec![Fault {
            nemesis: "partition".into(),
            description: "partition <a> | b".into(),
            start: 2_000_000_000,
            end: Some(4_000_000_000),
            error: None,
        }]
    }

    #[test]
    fn the_latency_plot_has_a_band_per_fault_and_a_series_per_function_and_outcome() {
        let mut out = String::new();
        latency(
            &mut out,
            &grid(),
            &["read".into(), "write".into()],
            &faults(),
        );
        assert_eq!(out.matches("<g class=\"fault\"").count(), 1);
        assert!(out.contains("partition &lt;a&gt; | b"), "escaped title");
        // Every tenth op (an even one: a read) is info: read ok, read info, write ok.
        assert_eq!(out.matches("<path class=\"series\"").count(), 3);
        assert!(out.contains("data-f=\"read\" data-type=\"info\""));
        assert!(!out.contains("data-f=\"write\" data-type=\"info\""));
        // 10 s over 1024 columns of the 16 s span, 7 latencies in 2 or 3 rows: far fewer
        // points than ops, and the caption says so.
        let points: usize = out
            .split("ops drawn as ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(points > 500 && points < 10_000, "{points}");
        assert!(out.contains("10000 ops drawn as"));
        // The band starts at x = 2 s on a 0–10 s axis.
        let f = Frame::PLOT;
        let x = f.left + (f.width - f.left - f.right) * 0.2;
        assert!(out.contains(&format!("<rect x=\"{x:.1}\"")), "{out:.600}");
    }

    #[test]
    fn the_rate_plot_bins_to_about_a_hundred_points_and_scales_to_the_peak() {
        let mut out = String::new();
        rate(
            &mut out,
            &grid(),
            &["read".into(), "write".into()],
            &faults(),
        );
        // 1000 ops/s in all, half of each function; the writes are all ok: the peak series
        // is ~500 ops/s (a bin holds 54 or 55 ops), so the axis ends at 600.
        assert!(
            out.contains(">600</text>") && !out.contains(">700</text>"),
            "{out:.3000}"
        );
        let d = out
            .split("data-f=\"write\" data-type=\"ok\" d=\"")
            .nth(1)
            .unwrap();
        let d = d.split('"').next().unwrap();
        let points = d.matches(['M', 'L']).count();
        assert!(
            (8..=12).contains(&points),
            "10 s in bins of a second or more: {points}"
        );
        // Every (1 s or longer) bin of the steady series is near 500 ops/s, the last
        // (partial) one too.
        let y = |r: f64| {
            let (p0, p1) = Frame::PLOT.ys();
            p0 + r / 600.0 * (p1 - p0)
        };
        for pt in d.split(['M', 'L']).filter(|p| !p.is_empty()) {
            let py: f64 = pt.split(',').nth(1).unwrap().parse().unwrap();
            assert!(py < y(450.0) && py > y(560.0), "{pt} in {d}");
        }
        assert_eq!(out.matches("<g class=\"fault\"").count(), 1);
    }
}
