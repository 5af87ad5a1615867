//! `cargo bench -p checkers`: how fast the linearizability checker decides, and in how much
//! memory.
//!
//! 1. The Knossos corpus (`../shared/histories/knossos/cas-register`), per file and in total.
//! 2. Generated cas-register histories (`checkers::gen`: simulated from a real register, with
//!    crashes, some mutated to be invalid): 3–12 processes × 50–800 ops, 20–35 processes ×
//!    10k ops, 20 and 50 processes × 100k ops.
//!
//! Each generated history is checked in a child process (this binary re-run with `--one`), so
//! that its figure of peak memory is its own: the child's `VmHWM` (peak resident set, which
//! includes the generated history itself) and the memo's accounted bytes are not separated;
//! `rss` is the child's VmHWM after the check, `hist` its VmHWM before it.
//!
//! `cargo bench -p checkers -- quick` runs only the small histories;
//! `cargo bench -p checkers -- files PATH...` checks those history files instead (JSONL or
//! EDN, as cas-register histories, each in its own child process, same columns).
//! Set `SQUALL_BENCH_DUMP=DIR` to also write each generated history as JSON lines there.

use checkers::gen::{cas_register_history, GenOptions};
use checkers::{check, CheckOptions, ModelKind, Validity};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A check that takes longer than this is reported `unknown`.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The checker's options: the defaults (memory budget 1 GiB), but a time limit, and
/// `SQUALL_BENCH_MEMORY_MIB` may set another memory budget.
fn opts() -> CheckOptions {
    let mut opts = CheckOptions {
        model: ModelKind::CasRegister,
        independent: false,
        time_limit: Some(TIME_LIMIT),
        ..CheckOptions::default()
    };
    if let Some(mib) = std::env::var("SQUALL_BENCH_MEMORY_MIB")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
    {
        opts.memory_limit_bytes = mib << 20;
    }
    opts
}

/// Peak resident set of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn corpus() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories/knossos/cas-register");
    if !root.is_dir() {
        println!("corpus: skipped, no Knossos corpus at {}", root.display());
        return;
    }
    println!("== Knossos corpus ({})", root.display());
    let mut total = Duration::ZERO;
    let (mut n, mut wrong) = (0, 0);
    for (folder, want) in [("good", Validity::Valid), ("bad", Validity::Invalid)] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(folder))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|x| x == "edn"));
        files.sort();
        for path in files {
            let Ok(parsed) = histories::read_file(&path, histories::Format::Auto) else {
                println!("{}: unreadable", path.display());
                continue;
            };
            let t = Instant::now();
            let report = check(&parsed.history, &opts());
            let took = t.elapsed();
            total += took;
            n += 1;
            if report.valid != want {
                wrong += 1;
            }
            println!(
                "{folder}/{:<36} {:>6} ops  {:<7} {:>9.3} ms{}",
                path.file_name().unwrap_or_default().to_string_lossy(),
                report.ops,
                report.valid.as_str(),
                took.as_secs_f64() * 1e3,
                if report.valid == want { "" } else { "  WRONG" }
            );
        }
    }
    println!(
        "corpus: {n} histories, {wrong} wrong verdicts, total check time {:.1} ms\n",
        total.as_secs_f64() * 1e3
    );
}

/// The generated histories: (label, options).
fn plans(quick: bool) -> Vec<(String, GenOptions)> {
    let mut plans = Vec::new();
    let g = |seed, processes, ops, crash_per_mille, mutate| GenOptions {
        seed,
        processes,
        ops,
        values: 5,
        crash_per_mille,
        mutate,
    };
    // 3–12 processes × 50–800 ops, 5% crashes; every fourth mutated.
    for seed in 0..40u64 {
        let processes = 3 + (seed as usize * 7) % 10;
        let ops = [50, 100, 200, 400, 800][seed as usize % 5];
        plans.push((
            "small".to_string(),
            g(seed, processes, ops, 50, seed % 4 == 3),
        ));
    }
    // The same with many crashes (20%).
    for seed in 100..110u64 {
        let processes = 3 + (seed as usize * 7) % 10;
        plans.push((
            "crashy".to_string(),
            g(seed, processes, 800, 200, seed % 2 == 1),
        ));
    }
    if quick {
        return plans;
    }
    for (i, processes) in [20, 25, 30, 35].into_iter().enumerate() {
        plans.push((
            "10k".into(),
            g(200 + i as u64, processes, 10_000, 20, false),
        ));
        plans.push(("10k".into(), g(300 + i as u64, processes, 10_000, 20, true)));
    }
    plans.push(("100k".into(), g(400, 20, 100_000, 10, false)));
    plans.push(("100k".into(), g(401, 20, 100_000, 10, true)));
    plans.push(("100k".into(), g(402, 50, 100_000, 10, false)));
    plans.push(("100k".into(), g(403, 50, 100_000, 10, true)));
    plans
}

fn spec(o: &GenOptions) -> String {
    format!(
        "{} {} {} {} {} {}",
        o.seed, o.processes, o.ops, o.values, o.crash_per_mille, o.mutate
    )
}

fn parse(s: &[String]) -> Option<GenOptions> {
    Some(GenOptions {
        seed: s.first()?.parse().ok()?,
        processes: s.get(1)?.parse().ok()?,
        ops: s.get(2)?.parse().ok()?,
        values: s.get(3)?.parse().ok()?,
        crash_per_mille: s.get(4)?.parse().ok()?,
        mutate: s.get(5)?.parse().ok()?,
    })
}

/// In the child: generate, check, print one line of figures.
fn one(o: &GenOptions) {
    let history = cas_register_history(o);
    dump(o, &history);
    measure(&history);
}

/// In the child: read a history file, check it, print one line of figures.
fn one_file(path: &str) {
    match histories::read_file(path, histories::Format::Auto) {
        Ok(parsed) => measure(&parsed.history),
        Err(e) => println!("error {e}"),
    }
}

/// With `SQUALL_BENCH_DUMP=DIR`, writes the generated history there.
fn dump(o: &GenOptions, history: &[histories::Event]) {
    if let Some(dir) = std::env::var_os("SQUALL_BENCH_DUMP") {
        let name = format!(
            "cas-{}-p{}-n{}-c{}{}.jsonl",
            o.seed,
            o.processes,
            o.ops,
            o.crash_per_mille,
            if o.mutate { "-m" } else { "" }
        );
        let text: String = history
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
            .collect();
        let _ = std::fs::write(Path::new(&dir).join(name), text);
    }
}

/// Checks `history`, printing `ops info verdict ms hist-KiB rss-KiB [(cause)]`.
fn measure(history: &[histories::Event]) {
    let before = vm_hwm_kib();
    let t = Instant::now();
    let report = check(history, &opts());
    let took = t.elapsed();
    let info = history
        .iter()
        .filter(|e| e.kind == histories::EventType::Info)
        .count();
    println!(
        "{} {} {} {:.3} {} {}{}",
        report.ops,
        info,
        report.valid.as_str(),
        took.as_secs_f64() * 1e3,
        before,
        vm_hwm_kib(),
        report.cause.map(|c| format!(" ({c})")).unwrap_or_default()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        match parse(&args[i + 1..]) {
            Some(o) => one(&o),
            None => eprintln!("--one SEED PROCESSES OPS VALUES CRASH_PER_MILLE MUTATE"),
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--file") {
        match args.get(i + 1) {
            Some(path) => one_file(path),
            None => eprintln!("--file PATH"),
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "files") {
        // (cargo adds `--bench`.)
        let paths: Vec<String> = args[i + 1..]
            .iter()
            .filter(|a| !a.starts_with("--"))
            .cloned()
            .collect();
        files(&paths);
        return;
    }
    let quick = args.iter().any(|a| a == "quick");
    corpus();
    println!(
        "== generated cas-register histories (values 0..5; time limit {}s)",
        TIME_LIMIT.as_secs()
    );
    println!(
        "{:<7} {:>5} {:>4} {:>7} {:>5} {:>6} {:<8} {:>10} {:>9} {:>9}",
        "set",
        "seed",
        "proc",
        "ops",
        "info",
        "mutate",
        "verdict",
        "check ms",
        "hist MiB",
        "rss MiB"
    );
    let exe = std::env::current_exe().expect("the bench binary");
    let mut total = 0.0;
    let mut worst: f64 = 0.0;
    let mut undecided = 0;
    for (label, o) in plans(quick) {
        let out = Command::new(&exe)
            .arg("--one")
            .args(spec(&o).split(' '))
            .output();
        let line = match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
            Err(e) => format!("failed to run: {e}"),
        };
        let f: Vec<&str> = line.splitn(7, ' ').collect();
        if f.len() < 6 {
            println!(
                "{label:<7} {:>5} {:>4} {:>7}  child failed: {line}",
                o.seed, o.processes, o.ops
            );
            continue;
        }
        let ms: f64 = f[3].parse().unwrap_or(0.0);
        total += ms;
        worst = worst.max(ms);
        if f[2] == "unknown" {
            undecided += 1;
        }
        let mib = |kib: &str| kib.parse::<f64>().unwrap_or(0.0) / 1024.0;
        println!(
            "{label:<7} {:>5} {:>4} {:>7} {:>5} {:>6} {:<8} {:>10.1} {:>9.1} {:>9.1}{}",
            o.seed,
            o.processes,
            f[0],
            f[1],
            o.mutate,
            f[2],
            ms,
            mib(f[4]),
            mib(f[5]),
            f.get(6).map(|c| format!(" {c}")).unwrap_or_default()
        );
    }
    println!(
        "generated: total check time {total:.1} ms, slowest {worst:.1} ms, {undecided} undecided"
    );
}

/// `files PATH...`: each file checked in a child process.
fn files(paths: &[String]) {
    let exe = std::env::current_exe().expect("the bench binary");
    println!(
        "== history files (cas-register; time limit {}s)",
        TIME_LIMIT.as_secs()
    );
    println!(
        "{:<40} {:>7} {:>5} {:<8} {:>10} {:>9}",
        "file", "ops", "info", "verdict", "check ms", "rss MiB"
    );
    let (mut total, mut worst, mut undecided) = (0.0, 0.0f64, 0);
    for path in paths {
        let out = Command::new(&exe).arg("--file").arg(path).output();
        let line = match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
            Err(e) => format!("failed to run: {e}"),
        };
        let name = Path::new(path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        let f: Vec<&str> = line.splitn(7, ' ').collect();
        if f.len() < 6 {
            println!("{name:<40} {line}");
            continue;
        }
        let ms: f64 = f[3].parse().unwrap_or(0.0);
        total += ms;
        worst = worst.max(ms);
        if f[2] == "unknown" {
            undecided += 1;
        }
        let mib = f[5].parse::<f64>().unwrap_or(0.0) / 1024.0;
        println!(
            "{name:<40} {:>7} {:>5} {:<8} {:>10.1} {:>9.1}{}",
            f[0],
            f[1],
            f[2],
            ms,
            mib,
            f.get(6).map(|c| format!(" {c}")).unwrap_or_default()
        );
    }
    println!(
        "files: {} histories, total check time {total:.1} ms, slowest {worst:.1} ms, {undecided} undecided",
        paths.len()
    );
}
