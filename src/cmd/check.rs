//! `squall check`: checks recorded histories (squall's JSONL, Jepsen EDN or a Jepsen log).
//!
//! Every input is read first: one that cannot be read is an input error, reported on one
//! line naming `file:line`, and nothing is checked (exit 3). So is an input with no client
//! operation ("no operations in FILE": an empty file, a text without op lines, nemesis events
//! only), which shows nothing to judge, and one whose `index` repeats or decreases. One whose
//! `time` decreases along the history is an input error too, unless `--allow-time-disorder`
//! is given: real time is the history's order, not its `time` stamps, and a file whose times
//! disagree with its order was most likely reordered (see `histories::order`); with the
//! option it is checked in its order, with a warning.
//!
//! Then each input is checked on its own by the checkers of `--workload` (linearizability as a
//! cas-register by default; set + stats; bank + stats) or those `--checker` names, composed
//! ([`checkers::Compose`]: merged invalid > unknown > valid, a panicking checker unknown), and
//! reported as text (the file's verdict, then one line per checker, or just the
//! linearizability report where that is the only checker, as before) or, with `--json`, as
//! one JSON object per line (the linearizability report's fields where it ran, and each
//! checker's verdict in `results`); `--report DIR` also writes each file's linearizability
//! page. The exit code merges the verdicts by priority: 1 if any is invalid, else 2 if any is
//! unknown, else 0. Which checkers a workload runs is [`workload_checkers`]; how each is
//! built from the options, [`build`].
//!
//! Memory: at most `--memory-limit / 8` bytes are read from any input (a regular file, a
//! pipe, a device, stdin as `-`); a longer input is not parsed and its verdict is unknown,
//! saying why. A regular file is read again when its turn comes, so that only one is held at
//! a time; a stream cannot be read twice, so its bytes (within that bound) are kept from the
//! first read.

use crate::config::parse_duration;
use crate::exit;
use anyhow::{anyhow, bail, Context, Result};
use checkers::{
    Bank, BankOptions, CheckOptions, Checker, Compose, Linearizable, ModelKind, Report, Set,
    SetOptions, Stats, Validity, Verdict,
};
use clap::Args;
use histories::{Event, Format, HistoryError, Parsed};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `squall check` searches per file unless told otherwise (memory alone does not
/// bound a search: its memo forgets what lies furthest behind rather than give up).
const DEFAULT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

pub use crate::report::HISTORY_BYTES_PER_FILE_BYTE;

/// The name `-` (stdin) goes by in messages and output.
const STDIN_NAME: &str = "<stdin>";

/// The checkers a workload's histories get, in the order they run and are reported.
pub fn workload_checkers(workload: CheckWorkload) -> Vec<CheckerKind> {
    match workload {
        CheckWorkload::CasRegister | CheckWorkload::Register => vec![CheckerKind::Linearizable],
        CheckWorkload::Set => vec![CheckerKind::Set, CheckerKind::Stats],
        CheckWorkload::Bank => vec![CheckerKind::Bank, CheckerKind::Stats],
    }
}

/// The name of a checker kind, as on the command line and in verdicts.
fn kind_name(kind: CheckerKind) -> &'static str {
    match kind {
        CheckerKind::Linearizable => Linearizable::NAME,
        CheckerKind::Set => Set::NAME,
        CheckerKind::Bank => Bank::NAME,
        CheckerKind::Stats => Stats::NAME,
    }
}

/// What every file is checked with: the checkers and their options.
struct Checkers {
    kinds: Vec<CheckerKind>,
    /// The linearizable checker's options, but for `independent`, decided per file.
    linear: CheckOptions,
    /// `--independent`: `None` for auto (guessed per file).
    independent: Option<bool>,
    set: SetOptions,
    bank: BankOptions,
}

impl Checkers {
    fn has(&self, kind: CheckerKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Just linearizability: the output is its report's, as it has always been.
    fn linear_only(&self) -> bool {
        self.kinds == [CheckerKind::Linearizable]
    }

    /// The checkers for one history.
    fn compose(&self, history: &[Event]) -> Compose {
        let mut compose = Compose::new();
        for &kind in &self.kinds {
            compose.push(build(kind, self, history));
        }
        compose
    }
}

/// Builds one checker for `history` (registration: a checker kind's constructor).
fn build(kind: CheckerKind, c: &Checkers, history: &[Event]) -> Box<dyn Checker> {
    match kind {
        CheckerKind::Linearizable => Box::new(Linearizable::new(CheckOptions {
            independent: c.independent.unwrap_or_else(|| looks_independent(history)),
            ..c.linear.clone()
        })),
        CheckerKind::Set => Box::new(Set::new(c.set)),
        CheckerKind::Bank => Box::new(Bank::new(c.bank)),
        CheckerKind::Stats => Box::new(Stats),
    }
}

/// The checkers `args` ask for, with their options; options that no chosen checker takes
/// are an error.
fn checkers(args: &CheckArgs) -> Result<Checkers> {
    let mut kinds = Vec::new();
    let chosen = if args.checker.is_empty() {
        workload_checkers(args.workload)
    } else {
        args.checker.clone()
    };
    for kind in chosen {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let names = || {
        kinds
            .iter()
            .map(|&k| kind_name(k))
            .collect::<Vec<_>>()
            .join(",")
    };
    let needs = |flag: &str, given: bool, kind: CheckerKind| -> Result<()> {
        if given && !kinds.contains(&kind) {
            bail!(
                "{flag} is an option of the {} checker, which is not run here (checkers: {}; \
                 --checker chooses them)",
                kind_name(kind),
                names()
            );
        }
        Ok(())
    };
    needs("--model", args.model.is_some(), CheckerKind::Linearizable)?;
    needs(
        "--initial",
        args.initial.is_some(),
        CheckerKind::Linearizable,
    )?;
    needs("--report", args.report.is_some(), CheckerKind::Linearizable)?;
    needs("--total", args.total.is_some(), CheckerKind::Bank)?;
    needs(
        "--negative-allowed",
        args.negative_allowed,
        CheckerKind::Bank,
    )?;
    needs("--allow-stale", args.allow_stale, CheckerKind::Set)?;
    let model = args.model.unwrap_or(match args.workload {
        CheckWorkload::Register => ModelKind::Register,
        _ => ModelKind::CasRegister,
    });
    let initial = match &args.initial {
        Some(s) => parse_initial(s)?,
        None => model.default_initial(),
    };
    let independent = match args.independent.as_str() {
        "auto" => None,
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        v => bail!("--independent {v:?}: expected auto, yes or no"),
    };
    Ok(Checkers {
        kinds,
        linear: CheckOptions {
            model,
            initial,
            independent: true,
            // 0 means no limit.
            time_limit: match args.time_limit {
                Some(d) if d.is_zero() => None,
                Some(d) => Some(d),
                None => Some(DEFAULT_TIME_LIMIT),
            },
            memory_limit_bytes: args
                .memory_limit
                .unwrap_or(CheckOptions::default().memory_limit_bytes),
        },
        independent,
        set: SetOptions {
            linearizable: !args.allow_stale,
        },
        bank: BankOptions {
            total: args.total,
            negative_allowed: args.negative_allowed,
        },
    })
}

/// The cause of an unknown composed verdict, for the top of the output: the one undecided
/// checker's cause as it is, or each one's `name: cause`.
fn top_cause(verdict: &Verdict) -> Option<String> {
    if verdict.valid != Validity::Unknown {
        return None;
    }
    let unknown: Vec<&Verdict> = verdict
        .results
        .iter()
        .filter(|r| r.valid == Validity::Unknown)
        .collect();
    match unknown.as_slice() {
        [one] => one.cause.clone(),
        _ => verdict.cause.clone(),
    }
}

/// Runs `squall check`; returns the exit code.
pub fn check(args: &CheckArgs) -> Result<i32> {
    let format = match args.format.as_str() {
        "auto" => Format::Auto,
        "jsonl" => Format::Jsonl,
        "edn" => Format::Edn,
        "jepsen-log" => Format::JepsenLog,
        f => bail!("unknown format {f:?} (known: auto, jsonl, edn, jepsen-log)"),
    };
    let chosen = checkers(args)?;
    let memory_limit = chosen.linear.memory_limit_bytes;
    let max_bytes = memory_limit / HISTORY_BYTES_PER_FILE_BYTE;
    if args.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        bail!("'-' (stdin) given more than once: it can be read only once");
    }
    // Read every input first: a malformed one is an input error (exit 3) naming file:line.
    let mut inputs = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let mut input = Input::new(path);
        input.source = match input.read(max_bytes).map_err(input_error)? {
            Read_::TooLong => Source::TooLarge,
            Read_::Bytes(bytes) => {
                let parsed =
                    histories::read_bytes(&bytes, &input.name, format).map_err(input_error)?;
                validate(&parsed, &input.name, args.allow_time_disorder)?;
                match input.source {
                    // A regular file is read again when checked: only one is held at a time.
                    Source::File => Source::File,
                    _ => Source::Kept(bytes),
                }
            }
        };
        inputs.push(input);
    }
    let mut pages = Pages::default();
    let mut verdict = Validity::Valid;
    for mut input in inputs {
        let bytes = match std::mem::replace(&mut input.source, Source::TooLarge) {
            Source::Kept(bytes) => Some(bytes),
            Source::File => match input.read(max_bytes).map_err(input_error)? {
                Read_::Bytes(bytes) => Some(bytes),
                // It grew since it was first read.
                Read_::TooLong => None,
            },
            Source::TooLarge | Source::Stream => None,
        };
        let Some(bytes) = bytes else {
            let cause = too_large_cause(&input, max_bytes, memory_limit);
            verdict = verdict.merge(Validity::Unknown);
            if args.json {
                let mut v = json!({"file": input.name, "valid": "unknown",
                    "ops": 0, "check_ms": 0, "cause": cause, "results": []});
                if chosen.has(CheckerKind::Linearizable) {
                    v["model"] = json!(chosen.linear.model.name());
                }
                println!("{v}");
            } else {
                println!("{}: unknown", input.name);
                println!("unknown: {cause}");
            }
            continue;
        };
        let history = histories::read_bytes(&bytes, &input.name, format)
            .map_err(input_error)?
            .history;
        drop(bytes);
        let composed = chosen.compose(&history).check(&history);
        verdict = verdict.merge(composed.valid);
        let report: Option<Report> = composed.results.iter().find_map(Linearizable::report_of);
        let page = match (&args.report, &report) {
            (Some(dir), Some(report)) => {
                Some(pages.write(dir, &input.page_stem(), &input.name, &history, report)?)
            }
            _ => None,
        };
        if args.json {
            let mut v = match &report {
                Some(report) => serde_json::to_value(report)?,
                None => json!({}),
            };
            v["file"] = json!(input.name);
            v["valid"] = serde_json::to_value(composed.valid)?;
            if let Some(cause) = top_cause(&composed) {
                v["cause"] = json!(cause);
            }
            v["results"] = serde_json::to_value(&composed.results)?;
            if let Some(page) = &page {
                v["report"] = json!(page.display().to_string());
            }
            println!("{v}");
        } else {
            println!("{}: {}", input.name, composed.valid.as_str());
            match &report {
                Some(report) if chosen.linear_only() => println!("{report}"),
                _ => {
                    for result in &composed.results {
                        println!("{result}");
                    }
                }
            }
            if let Some(page) = &page {
                println!("  report: {}", page.display());
            }
        }
    }
    Ok(match verdict {
        Validity::Valid => exit::VALID,
        Validity::Invalid => exit::INVALID,
        Validity::Unknown => exit::UNKNOWN,
    })
}

/// What a history read must satisfy before it is checked (see the module doc): warnings are
/// printed; no client event, or a `time` that decreases (unless allowed), is an input error.
fn validate(parsed: &Parsed, name: &str, allow_time_disorder: bool) -> Result<()> {
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    // A completion without its invocation is still a client event: the checker names it.
    if !parsed.history.iter().any(|e| e.process.client().is_some()) {
        bail!("no operations in {name}");
    }
    if let Err(e) = parsed.check_times(name) {
        let e = input_error(e);
        if !allow_time_disorder {
            bail!("{e} (real time is the history's order; --allow-time-disorder checks it in that order anyway)");
        }
        let n = histories::order::time_disorders(&parsed.history);
        eprintln!(
            "warning: {e} ({n} event{} out of time order; checked in the history's order, \
             --allow-time-disorder)",
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// One input of `squall check`: a file, a stream, or stdin.
struct Input {
    /// The path as given (`-` for stdin).
    path: PathBuf,
    /// The name in messages and output: the path, or `<stdin>`.
    name: String,
    source: Source,
}

/// Where an input's bytes come from when it is checked.
enum Source {
    /// A regular file: read (again) from its path.
    File,
    /// A stream not read yet (a pipe, a device, stdin).
    Stream,
    /// A stream's bytes, kept from the first read: it cannot be read twice.
    Kept(Vec<u8>),
    /// Longer than `max_bytes`: not read further, its verdict is unknown.
    TooLarge,
}

/// What reading an input gave.
enum Read_ {
    Bytes(Vec<u8>),
    /// More than the bound: nothing kept.
    TooLong,
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

impl Input {
    fn new(path: &Path) -> Input {
        let stdin = is_stdin(path);
        // A path that cannot be stat'ed is left to the read to report.
        let regular = !stdin && std::fs::metadata(path).is_ok_and(|m| m.is_file());
        Input {
            path: path.to_path_buf(),
            name: if stdin {
                STDIN_NAME.to_string()
            } else {
                path.display().to_string()
            },
            source: if regular {
                Source::File
            } else {
                Source::Stream
            },
        }
    }

    /// Reads at most `max_bytes` of the input; `TooLong` (having kept nothing more) if it has
    /// more. A regular file known to be longer is not opened.
    fn read(&self, max_bytes: u64) -> Result<Read_, HistoryError> {
        let io = |e| HistoryError::Io {
            action: "reading",
            path: PathBuf::from(&self.name),
            source: e,
        };
        if is_stdin(&self.path) {
            return read_bounded(std::io::stdin().lock(), max_bytes).map_err(io);
        }
        let file = std::fs::File::open(&self.path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_file() && meta.len() > max_bytes {
            return Ok(Read_::TooLong);
        }
        read_bounded(file, max_bytes).map_err(io)
    }

    /// The file name stem of its HTML page.
    fn page_stem(&self) -> String {
        if is_stdin(&self.path) {
            return "stdin".into();
        }
        self.path
            .file_stem()
            .map_or_else(|| "history".into(), |s| s.to_string_lossy().to_string())
    }
}

/// Reads all of `r` if it holds at most `max` bytes, else `TooLong`, never holding more than
/// `max + 1` bytes: the buffer grows by doubling, but never beyond that bound.
fn read_bounded(r: impl Read, max: u64) -> std::io::Result<Read_> {
    const FIRST: usize = 64 << 10;
    let bound = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    let mut r = r.take(bound as u64);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        if buf.len() >= bound {
            break;
        }
        if buf.len() == buf.capacity() {
            let want = buf.capacity().saturating_mul(2).max(FIRST).min(bound);
            buf.reserve_exact(want - buf.len());
        }
        let len = buf.len();
        buf.resize(buf.capacity().min(bound), 0);
        let n = loop {
            match r.read(&mut buf[len..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        buf.truncate(len + n);
        if n == 0 {
            break;
        }
    }
    if buf.len() as u64 > max {
        return Ok(Read_::TooLong);
    }
    Ok(Read_::Bytes(buf))
}

/// Why an input too long for the memory budget has no verdict.
fn too_large_cause(input: &Input, max_bytes: u64, memory_limit: u64) -> String {
    let size = if is_stdin(&input.path) {
        None
    } else {
        std::fs::metadata(&input.path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    match size {
        Some(size) => format!(
            "the history file ({}) may take up to {} parsed, more than the memory budget of \
             {} (--memory-limit)",
            checkers::human_bytes(size),
            checkers::human_bytes(size.saturating_mul(HISTORY_BYTES_PER_FILE_BYTE)),
            checkers::human_bytes(memory_limit)
        ),
        None => format!(
            "the input is longer than {}, and a history that long may take more than the \
             memory budget of {} (--memory-limit) once parsed; read no further",
            checkers::human_bytes(max_bytes),
            checkers::human_bytes(memory_limit)
        ),
    }
}

/// A read error as one line: `file:line: message` where the error has a line.
fn input_error(e: HistoryError) -> anyhow::Error {
    match e {
        HistoryError::Parse {
            file,
            line,
            message,
        } => anyhow!("{file}:{line}: {message}"),
        HistoryError::UnknownType { file, line, found } => {
            anyhow!("{file}:{line}: unknown type {found}")
        }
        HistoryError::Order {
            file,
            line,
            message,
        } => anyhow!("{file}:{line}: {message}"),
        other => other.into(),
    }
}

/// `--initial`: JSON (`0`, `null`, `"x"`, `[1, 2]`) or EDN (`nil`, `:x`, `[1 nil]`), read the
/// way history values are (keywords become strings).
fn parse_initial(s: &str) -> Result<Value> {
    if let Ok(v) = serde_json::from_str(s) {
        return Ok(v);
    }
    // An op map around it lets the history reader do the EDN.
    let op = format!("{{:type :invoke, :process 0, :f :initial, :value {s}}}");
    match histories::parse_edn(&op, "--initial").as_deref() {
        Ok([event]) => Ok(event.value.clone()),
        _ => bail!("--initial {s:?} is neither JSON nor an EDN value"),
    }
}

/// The HTML pages written so far, so that two files with the same stem get distinct pages.
#[derive(Default)]
struct Pages {
    written: BTreeSet<PathBuf>,
}

impl Pages {
    /// Writes `DIR/<stem>.html` (`<stem>-2.html`, ... if taken by an earlier file), titled
    /// `title`.
    fn write(
        &mut self,
        dir: &Path,
        stem: &str,
        title: &str,
        history: &[Event],
        report: &Report,
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut path = dir.join(format!("{stem}.html"));
        let mut n = 1;
        while self.written.contains(&path) {
            n += 1;
            path = dir.join(format!("{stem}-{n}.html"));
        }
        // A history that cannot be paired still gets a page: its verdict and cause.
        let ops = checkers::operations(history).unwrap_or_default();
        let html = checkers::render_html(title, &ops, report);
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
        self.written.insert(path.clone());
        Ok(path)
    }
}

/// A history is keyed (Jepsen's `independent`) when every client op's value is a
/// two-element array whose first element is a key (a number or a string).
fn looks_independent(history: &[Event]) -> bool {
    let mut client_ops = history
        .iter()
        .filter(|e| e.process.client().is_some())
        .peekable();
    client_ops.peek().is_some()
        && client_ops.all(|e| {
            e.value
                .as_array()
                .is_some_and(|a| a.len() == 2 && (a[0].is_number() || a[0].is_string()))
        })
}

/// Options of `squall check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The workload the histories come from, which picks the checkers: cas-register and
    /// register (linearizability over that model), set (set + stats: `add`s and `read`s of
    /// the whole set), bank (bank + stats: `transfer`s and `read`s of every balance).
    #[arg(long, value_enum, default_value_t = CheckWorkload::CasRegister, value_name = "W")]
    pub workload: CheckWorkload,
    /// Run exactly these checkers instead of the workload's, comma-separated: linearizable,
    /// set, bank, stats.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME[,NAME]")]
    pub checker: Vec<CheckerKind>,
    /// The linearizable checker's model: register, cas-register, kv (`[key value]` values;
    /// read, write, cas and append per key), multi-register (`txn`s of `[read k v]` /
    /// `[write k v]`), mutex (acquire, release) [default: the workload's, cas-register].
    #[arg(long, value_parser = parse_model)]
    pub model: Option<ModelKind>,
    /// bank: the total every read must sum to [default: inferred, the most common sum].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub total: Option<i64>,
    /// bank: negative balances are no anomaly.
    #[arg(long)]
    pub negative_allowed: bool,
    /// set: tolerate stale reads (an acknowledged element missing from a read, present in a
    /// later one); only elements lost for good are invalid.
    #[arg(long)]
    pub allow_stale: bool,
    /// Values are Jepsen `[key value]` pairs, checked per key: auto (guess from the
    /// history), yes, no. (kv is always per key; multi-register and mutex never are.)
    #[arg(long, default_value = "auto")]
    pub independent: String,
    /// The linearizable checker's initial value, as JSON or EDN (e.g. 0, nil, :x) [default:
    /// nil; 0 for multi-register].
    #[arg(long, value_name = "V")]
    pub initial: Option<String>,
    /// Input format: auto, jsonl, edn, jepsen-log (the `jepsen.util` op lines of a Jepsen
    /// console log).
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Give up (verdict unknown) after this long, per file, e.g. 10s; 0 for no limit
    /// [default: 5m].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    /// Give up (verdict unknown) before the search's memory exceeds this, per file, e.g.
    /// 512MiB, 2GiB; no more than an eighth of it is read from any input (a longer one would
    /// take more than this to hold; its verdict is unknown) [default: 1GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// One JSON object per file on stdout, each checker's verdict in its `results`.
    #[arg(long)]
    pub json: bool,
    /// Write the linearizable checker's HTML report per file into DIR, as
    /// DIR/<file stem>.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Check a history whose `time` decreases along it (real time is the history's order,
    /// not its times; such a file was likely reordered): a warning instead of an input error.
    #[arg(long)]
    pub allow_time_disorder: bool,
    /// History files; `-` reads stdin. Pipes and devices are read too, within the memory
    /// limit.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// What `squall check --workload` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckWorkload {
    /// Linearizability as a cas-register.
    CasRegister,
    /// Linearizability as a register.
    Register,
    /// A grow-only set: set + stats.
    Set,
    /// Transfers between accounts: bank + stats.
    Bank,
}

/// A checker `squall check --checker` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum CheckerKind {
    /// Linearizability over `--model`.
    Linearizable,
    /// Jepsen's set-full: acknowledged adds are read, nothing unexpected.
    Set,
    /// Every read sums to the total, no negative balance.
    Bank,
    /// Per-function counts; unknown if some function never succeeded.
    Stats,
}

/// A model name, for clap.
fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

/// A size in bytes: `1073741824`, `512MiB`, `2GiB`, `100MB`, `1.5G` (K, M, G, T: powers of
/// 1024 with or without `i`; `KB`, `MB`, `GB`, `TB`: powers of 1000).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("invalid size {s:?} (expected e.g. 512MiB, 2GiB)");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = n * scale;
    if !bytes.is_finite() || !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn initial_values() {
        let cases = [
            ("0", json!(0)),
            ("null", Value::Null),
            ("nil", Value::Null),
            (":x", json!("x")),
            ("\"x\"", json!("x")),
            ("[1 nil]", json!([1, null])),
            ("[1, 2]", json!([1, 2])),
        ];
        for (s, want) in cases {
            assert_eq!(parse_initial(s).unwrap(), want, "{s}");
        }
        for bad in ["[1", "{:a", "1 2", ""] {
            assert!(parse_initial(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_are_bounded() {
        for (len, max) in [
            (0, 0),
            (0, 10),
            (10, 10),
            (11, 10),
            (200_000, 100_000),
            (100_000, 200_000),
        ] {
            let data = vec![7u8; len];
            match read_bounded(&data[..], max as u64).unwrap() {
                Read_::Bytes(b) => {
                    assert!(len <= max, "{len} > {max} read whole");
                    assert_eq!(b, data);
                    assert!(b.capacity() <= max + 1, "{} for {max}", b.capacity());
                }
                Read_::TooLong => assert!(len > max, "{len} <= {max} refused"),
            }
        }
        // An endless reader: stops after the bound.
        assert!(matches!(
            read_bounded(std::io::repeat(0), 1 << 20).unwrap(),
            Read_::TooLong
        ));
    }

    #[test]
    fn read_errors_name_file_and_line() {
        let e = input_error(HistoryError::Parse {
            file: "h.jsonl".into(),
            line: 3,
            message: "expected value".into(),
        });
        assert_eq!(e.to_string(), "h.jsonl:3: expected value");
    }

    #[test]
    fn sizes() {
        let cases = [
            ("1024", Some(1024)),
            ("512MiB", Some(512 << 20)),
            ("2GiB", Some(2 << 30)),
            ("2g", Some(2 << 30)),
            ("1.5K", Some(1536)),
            ("100MB", Some(100_000_000)),
            ("0", None),
            ("-1", None),
            ("lots", None),
            ("5 parsecs", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_size(s).ok(), want, "{s}");
        }
    }

    #[test]
    fn check_args_parse() {
        let cli = Cli::try_parse_from([
            "squall",
            "check",
            "--model",
            "mutex",
            "--memory-limit",
            "64MiB",
            "--report",
            "r",
            "--json",
            "h.edn",
        ])
        .unwrap();
        let Command::Check(args) = cli.cmd else {
            panic!()
        };
        assert_eq!(args.model, Some(ModelKind::Mutex));
        assert_eq!(args.workload, CheckWorkload::CasRegister);
        assert!(args.checker.is_empty());
        assert_eq!(args.memory_limit, Some(64 << 20));
        assert_eq!(args.report, Some(PathBuf::from("r")));
        assert!(args.json);
        let cli = Cli::try_parse_from([
            "squall",
            "check",
            "--workload",
            "bank",
            "--checker",
            "bank,stats",
            "--total",
            "-5",
            "h.edn",
        ])
        .unwrap();
        let Command::Check(args) = cli.cmd else {
            panic!()
        };
        assert_eq!(args.workload, CheckWorkload::Bank);
        assert_eq!(args.checker, [CheckerKind::Bank, CheckerKind::Stats]);
        assert_eq!(args.total, Some(-5));
        let e = Cli::try_parse_from(["squall", "check", "--checker", "queue", "h"]).unwrap_err();
        assert!(e.to_string().contains("queue"), "{e}");
        let e = Cli::try_parse_from(["squall", "check", "--model", "queue", "h"]).unwrap_err();
        assert!(e.to_string().contains("unknown model \"queue\""), "{e}");
    }
}
