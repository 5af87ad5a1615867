//! A few SVG and HTML helpers the report's plots share: escaping, scales (linear and
//! logarithmic), "nice" ticks, readable times and latencies, and the frame of a plot (axes,
//! ticks, grid, labels) with its fault bands.
//!
//! Hand-written on purpose: the plots need a dozen element kinds, and a plotting crate would
//! cost more compile time than this file costs to read.

use super::faults::Fault;
use std::fmt::Write as _;

pub use checkers::html_escape as esc;

/// Maps a data interval onto a pixel interval, linearly or by `log10`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// The data interval (both ends > 0 for a log scale).
    pub lo: f64,
    pub hi: f64,
    /// The pixel interval (`p0` is where `lo` goes; it may be greater than `p1`, as on a
    /// y axis).
    pub p0: f64,
    pub p1: f64,
    pub log: bool,
}

impl Scale {
    /// The pixel of data value `v` (clamped to the interval).
    pub fn px(&self, v: f64) -> f64 {
        let (lo, hi, v) = if self.log {
            (self.lo.log10(), self.hi.log10(), v.max(self.lo).log10())
        } else {
            (self.lo, self.hi, v)
        };
        let f = if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.p0 + f * (self.p1 - self.p0)
    }
}

/// Ticks for `[lo, hi]`: about `n` round values (1, 2 or 5 × a power of ten apart).
pub fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || hi.is_nan() || lo.is_nan() || n == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

/// The smallest round value (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × a power of ten) at or
/// above `v` (`v > 0`): an axis end at most a quarter above the data's peak.
pub fn nice_ceil(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * mag)
}

/// A time since the run's start, in seconds, as a tick label: `0`, `2.5s`, `90s`.
pub fn secs(s: f64) -> String {
    if s == 0.0 {
        "0".into()
    } else if s.fract().abs() < 1e-9 {
        format!("{s:.0}s")
    } else {
        format!("{}s", trim(format!("{s:.3}")))
    }
}

/// A latency in nanoseconds as a short label: `1µs`, `10ms`, `1s`, `2.5s`.
pub fn latency(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{}{unit}", trim(format!("{v:.2}")))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Where a plot draws: the SVG's size and its inner area.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// The report's plot size.
    pub const PLOT: Frame = Frame {
        width: 1000.0,
        height: 340.0,
        left: 64.0,
        right: 16.0,
        top: 28.0,
        bottom: 40.0,
    };

    /// The x pixel interval of the inner area.
    pub fn xs(&self) -> (f64, f64) {
        (self.left, self.width - self.right)
    }

    /// The y pixel interval of the inner area, bottom first.
    pub fn ys(&self) -> (f64, f64) {
        (self.height - self.bottom, self.top)
    }
}

/// Fault band colours by nemesis (others cycle through the rest).
pub fn band_colour(nemesis: &str, i: usize) -> &'static str {
    const REST: [&str; 4] = ["#9ccc65", "#ffd54f", "#4dd0e1", "#f48fb1"];
    match nemesis {
        "partition" => "#ef9a9a",
        "pause" => "#90caf9",
        "kill" => "#ce93d8",
        "packet" => "#ffcc80",
        _ => REST[i % REST.len()],
    }
}

/// Opens an SVG plot: the frame, grid and ticks of both axes, their labels, and the fault
/// bands (behind the data; each a `<rect class="fault">` with the fault as its title and
/// the nemesis's name on top). The caller draws the data and closes the `<svg>`.
#[allow(
    clippy::too_many_arguments,
    reason = "a plot's parts, each a different thing"
)]
pub fn open_plot(
    out: &mut String,
    id: &str,
    f: &Frame,
    x: &Scale,
    y: &Scale,
    x_label: &str,
    y_label: &str,
    faults: &[Fault],
) {
    let _ = writeln!(
        out,
        "<svg id=\"{id}\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" \
         height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">",
        w = f.width,
        h = f.height
    );
    let (x0, x1) = f.xs();
    let (y0, y1) = f.ys();
    // Fault bands, one lane of labels per nemesis kind so that labels do not collide.
    let mut kinds: Vec<&str> = Vec::new();
    for fault in faults {
        let k = match kinds.iter().position(|k| *k == fault.nemesis) {
            Some(k) => k,
            None => {
                kinds.push(&fault.nemesis);
                kinds.len() - 1
            }
        };
        let (a, b) = (x.px(fault.start_s()), x.px(fault.end_s()));
        // The name on the band where it fits (about 6 px a character); the legend below
        // the plot names the colours, and every band's title says what it was.
        let label = if b - a >= 6.0 * fault.nemesis.len() as f64 + 4.0 {
            format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">{}</text>",
                a + 2.0,
                y1 + 11.0 + 12.0 * k as f64,
                esc(&fault.nemesis)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<g class=\"fault\" data-nemesis=\"{n}\"><rect x=\"{a:.1}\" y=\"{y1}\" \
             width=\"{w:.1}\" height=\"{h}\" fill=\"{c}\" fill-opacity=\"0.35\"><title>{d}</title>\
             </rect>{label}</g>",
            n = esc(&fault.nemesis),
            w = (b - a).max(1.0),
            h = y0 - y1,
            c = band_colour(&fault.nemesis, k),
            d = esc(&fault.title()),
        );
    }
    // Axes.
    let _ = writeln!(
        out,
        "<g stroke=\"#333\" fill=\"none\"><path d=\"M{x0},{y1}V{y0}H{x1}\"/></g>"
    );
    let mut grid = String::new();
    let mut labels = String::new();
    for t in linear_ticks(x.lo, x.hi, 10) {
        let p = x.px(t);
        let _ = write!(grid, "M{p:.1},{y0}V{y1}");
        let _ = write!(
            labels,
            "<text x=\"{p:.1}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
            secs(t),
            ty = y0 + 14.0
        );
    }
    let y_ticks: Vec<f64> = if y.log {
        let (a, b) = (y.lo.log10().round() as i32, y.hi.log10().round() as i32);
        (a..=b).map(|e| 10f64.powi(e)).collect()
    } else {
        linear_ticks(y.lo, y.hi, 6)
    };
    for t in y_ticks {
        let p = y.px(t);
        let _ = write!(grid, "M{x0},{p:.1}H{x1}");
        let text = if y.log {
            latency(t)
        } else {
            trim(format!("{t:.2}"))
        };
        let _ = write!(
            labels,
            "<text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{text}</text>",
            tx = x0 - 4.0,
            ty = p + 4.0
        );
    }
    let _ = writeln!(
        out,
        "<path d=\"{grid}\" stroke=\"#ddd\" stroke-width=\"0.5\" fill=\"none\"/>\n{labels}\n\
         <text x=\"{cx:.1}\" y=\"{by:.1}\" text-anchor=\"middle\">{xl}</text>\
         <text transform=\"translate(14,{cy:.1}) rotate(-90)\" text-anchor=\"middle\">{yl}</text>",
        cx = (x0 + x1) / 2.0,
        by = f.height - 6.0,
        cy = (y0 + y1) / 2.0,
        xl = esc(x_label),
        yl = esc(y_label),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_ends_and_clamp() {
        let s = Scale {
            lo: 0.0,
            hi: 10.0,
            p0: 100.0,
            p1: 200.0,
            log: false,
        };
        assert_eq!(s.px(0.0), 100.0);
        assert_eq!(s.px(5.0), 150.0);
        assert_eq!(s.px(20.0), 200.0);
        assert_eq!(s.px(-1.0), 100.0);
        // A y axis: low values at the bottom (the larger pixel); log spaces decades evenly.
        let l = Scale {
            lo: 1e3,
            hi: 1e9,
            p0: 300.0,
            p1: 0.0,
            log: true,
        };
        assert_eq!(l.px(1e3), 300.0);
        assert!((l.px(1e6) - 150.0).abs() < 1e-9);
        assert_eq!(l.px(1e9), 0.0);
        assert_eq!(l.px(0.0), 300.0, "zero clamps to the bottom of a log scale");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            linear_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        let t = linear_ticks(0.0, 37.0, 10);
        assert_eq!(t.first(), Some(&0.0));
        assert!(
            t.windows(2).all(|w| (w[1] - w[0] - 5.0).abs() < 1e-9),
            "{t:?}"
        );
        assert_eq!(nice_ceil(37.0), 40.0);
        assert_eq!(nice_ceil(10.0), 10.0);
        assert_eq!(nice_ceil(502.0), 600.0);
        assert_eq!(nice_ceil(0.013), 0.015);
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(secs(0.0), "0");
        assert_eq!(secs(2.5), "2.5s");
        assert_eq!(secs(90.0), "90s");
        assert_eq!(latency(1e3), "1µs");
        assert_eq!(latency(2.5e9), "2.5s");
        assert_eq!(latency(1e7), "10ms");
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
