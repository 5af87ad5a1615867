//! What the plots need of any number of ops, in bounded memory: a grid over (completion
//! time × log latency) that remembers which cells hold an op, and a count of ops per time
//! column, for each series (an op function × outcome).
//!
//! The time axis has [`COLS`] columns covering `[0, span)`; `span` starts at one second and
//! doubles whenever an op completes beyond it, merging columns pairwise, so the history's
//! length need not be known up front and the columns in use are always between half and
//! all of them. The latency axis has [`ROWS_PER_DECADE`] rows per decade from 1 µs to 10⁴ s
//! (shorter and longer latencies go to the end rows). A latency plot draws one point per
//! occupied cell: ops closer than a cell share a point, which loses nothing visible at the
//! plot's size and bounds the SVG however long the run. Memory: per series `COLS × ROWS`
//! bits and `COLS` counters (about 34 KiB), with at most [`MAX_SERIES`] series.

/// Time columns.
pub const COLS: usize = 1024;
/// Latency rows per decade.
pub const ROWS_PER_DECADE: usize = 20;
/// The latency of row 0's bottom: 10^3 ns (1 µs).
pub const LOW_DECADE: i32 = 3;
/// Decades covered (1 µs to 10⁴ s).
pub const DECADES: usize = 10;
/// Latency rows.
pub const ROWS: usize = ROWS_PER_DECADE * DECADES;
/// Op functions told apart; further ones share the last series ("other").
pub const MAX_FS: usize = 16;
/// Series: each function × `ok`, `fail`, `info`.
pub const MAX_SERIES: usize = MAX_FS * 3;

/// An op's outcome, as plotted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Ok = 0,
    Fail = 1,
    Info = 2,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Fail, Outcome::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// One series' cells and counts.
#[derive(Clone, Debug)]
pub struct Series {
    /// Bit `col * ROWS + row` is set when an op fell in that cell.
    cells: Vec<u64>,
    /// Ops completed per column.
    pub counts: Vec<u64>,
    /// Ops in the series.
    pub ops: u64,
}

impl Series {
    fn new() -> Series {
        Series {
            cells: vec![0; (COLS * ROWS).div_ceil(64)],
            counts: vec![0; COLS],
            ops: 0,
        }
    }

    fn set(&mut self, col: usize, row: usize) {
        let b = col * ROWS + row;
        self.cells[b / 64] |= 1 << (b % 64);
    }

    /// Whether cell (`col`, `row`) holds an op.
    pub fn get(&self, col: usize, row: usize) -> bool {
        let b = col * ROWS + row;
        self.cells[b / 64] & (1 << (b % 64)) != 0
    }

    /// Merges columns pairwise: new column `c` is old `2c` and `2c + 1`.
    fn fold(&mut self) {
        for c in 0..COLS / 2 {
            for r in 0..ROWS {
                let on = self.get(2 * c, r) || self.get(2 * c + 1, r);
                let b = c * ROWS + r;
                if on {
                    self.cells[b / 64] |= 1 << (b % 64);
                } else {
                    self.cells[b / 64] &= !(1 << (b % 64));
                }
            }
            self.counts[c] = self.counts[2 * c] + self.counts[2 * c + 1];
        }
        let half = COLS / 2 * ROWS;
        for b in half..COLS * ROWS {
            self.cells[b / 64] &= !(1 << (b % 64));
        }
        self.counts[COLS / 2..].fill(0);
    }

    /// The occupied cells, as (column, row).
    pub fn cells(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..COLS).flat_map(move |c| {
            (0..ROWS)
                .filter(move |&r| self.get(c, r))
                .map(move |r| (c, r))
        })
    }
}

/// The grid of every series.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The time the columns cover, `[0, span_ns)`.
    pub span_ns: u64,
    /// Indexed by `f * 3 + outcome`; made on first use.
    series: Vec<Option<Series>>,
    /// The latest completion seen.
    pub max_time: u64,
    /// The smallest and largest latency seen.
    pub min_latency: u64,
    pub max_latency: u64,
}

impl Default for Grid {
    fn default() -> Self {
        Grid {
            span_ns: 1_000_000_000,
            series: vec![None; MAX_SERIES],
            max_time: 0,
            min_latency: u64::MAX,
            max_latency: 0,
        }
    }
}

/// The row of a latency.
pub fn row_of(latency_ns: u64) -> usize {
    let l = (latency_ns.max(1) as f64).log10() - f64::from(LOW_DECADE);
    ((l * ROWS_PER_DECADE as f64).floor().max(0.0) as usize).min(ROWS - 1)
}

/// The latency at the middle of a row.
pub fn row_latency(row: usize) -> f64 {
    10f64.powf(f64::from(LOW_DECADE) + (row as f64 + 0.5) / ROWS_PER_DECADE as f64)
}

impl Grid {
    /// Adds an op of function number `f` (see [`MAX_FS`]) that completed at `end` (ns since
    /// the run's start) after `latency` ns.
    pub fn add(&mut self, f: usize, outcome: Outcome, end: u64, latency: u64) {
        while end >= self.span_ns {
            self.span_ns = self.span_ns.saturating_mul(2);
            for s in self.series.iter_mut().flatten() {
                s.fold();
            }
        }
        self.max_time = self.max_time.max(end);
        self.min_latency = self.min_latency.min(latency);
        self.max_latency = self.max_latency.max(latency);
        let col = ((u128::from(end) * COLS as u128) / u128::from(self.span_ns)) as usize;
        let s =
            self.series[f.min(MAX_FS - 1) * 3 + outcome as usize].get_or_insert_with(Series::new);
        s.set(col.min(COLS - 1), row_of(latency));
        s.counts[col.min(COLS - 1)] += 1;
        s.ops += 1;
    }

    /// The width of one column in ns.
    pub fn col_ns(&self) -> f64 {
        self.span_ns as f64 / COLS as f64
    }

    /// The series in use, as (function number, outcome, series).
    pub fn series(&self) -> impl Iterator<Item = (usize, Outcome, &Series)> {
        self.series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i / 3, Outcome::ALL[i % 3], s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_log_spaced_and_clamped() {
        assert_eq!(row_of(1_000), 0);
        assert_eq!(row_of(10_000), ROWS_PER_DECADE);
        assert_eq!(row_of(1_000_000), 3 * ROWS_PER_DECADE);
        assert_eq!(row_of(1), 0, "below 1 µs: the bottom row");
        assert_eq!(row_of(u64::MAX), ROWS - 1, "beyond 10^4 s: the top row");
        let mid = row_latency(row_of(5_000_000));
        assert!((4_000_000.0..6_500_000.0).contains(&mid), "{mid}");
    }

    #[test]
    fn the_time_axis_doubles_and_keeps_every_op() {
        let mut g = Grid::default();
        g.add(0, Outcome::Ok, 0, 1_000_000);
        g.add(0, Outcome::Ok, 999_999_999, 1_000_000);
        assert_eq!(g.span_ns, 1_000_000_000);
        let s = g.series().next().unwrap().2;
        assert!(s.get(0, row_of(1_000_000)) && s.get(COLS - 1, row_of(1_000_000)));
        // 3 s: the span doubles twice; the two ops fold into the first quarter.
        g.add(1, Outcome::Info, 3_000_000_000, 1_000_000_000);
        assert_eq!(g.span_ns, 4_000_000_000);
        let (_, _, s) = g.series().next().unwrap();
        let cells: Vec<_> = s.cells().collect();
        assert_eq!(cells, vec![(0, 60), (COLS / 4 - 1, 60)]);
        assert_eq!(s.counts.iter().sum::<u64>(), 2);
        assert_eq!(s.ops, 2);
        let (f, o, s) = g.series().nth(1).unwrap();
        assert_eq!((f, o), (1, Outcome::Info));
        assert_eq!(s.counts[3 * COLS / 4], 1);
        assert_eq!((g.min_latency, g.max_latency), (1_000_000, 1_000_000_000));
    }

    #[test]
    fn many_ops_in_one_cell_are_one_point_and_many_functions_share_the_last() {
        let mut g = Grid::default();
        for i in 0..100_000u64 {
            g.add((i % 40) as usize, Outcome::Ok, 500_000 + i % 100, 2_000_000);
        }
        let series: Vec<_> = g.series().collect();
        assert_eq!(
            series.len(),
            MAX_FS,
            "functions beyond MAX_FS share one series"
        );
        let points: usize = series.iter().map(|(_, _, s)| s.cells().count()).sum();
        assert_eq!(points, MAX_FS);
        let ops: u64 = series.iter().map(|(_, _, s)| s.ops).sum();
        assert_eq!(ops, 100_000);
    }
}
