//! The `squall` binary: parses the command line and hands each subcommand to the library
//! ([`squall`]), printing an error's whole chain on one line.

use clap::Parser;
use squall::{cli, exit, run};

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                    exit::ERROR
                } else {
                    0
                });
            }
            // One line: clap's first line, without its "error: " prefix.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!(
                "squall: {} (see squall --help)",
                first.trim_start_matches("error: ")
            );
            std::process::exit(exit::ERROR);
        }
    };
    let result = match &cli.cmd {
        cli::Command::Run(args) => run::run(args),
        cli::Command::Plan(args) => plan_cmd(args),
        cli::Command::Check(args) => squall::check::check(args),
        cli::Command::Clean => squall::clean::clean(),
        cli::Command::Bench(args) => squall::bench::bench(args),
        cli::Command::Doctor(args) => squall::doctor::doctor(args),
        cli::Command::Export(args) => export(args),
        cli::Command::Image(cli::ImageCommand::Build(args)) => squall::image::build_cmd(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // The whole chain on one line: "setup: start n2: No such file or directory".
            eprintln!("squall: {e:#}");
            std::process::exit(exit::ERROR);
        }
    }
}

/// `squall export`: a history in another format, on stdout.
fn export(args: &cli::ExportArgs) -> anyhow::Result<i32> {
    let parsed = histories::read_file(&args.file, histories::Format::Auto)?;
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.to.as_str() {
        "csv" => histories::write_csv(&parsed.history, &mut out)?,
        "edn" => histories::write_edn(&parsed.history, &mut out)?,
        "jsonl" => {
            for e in &parsed.history {
                histories::write_jsonl_line(&mut out, e)?;
            }
        }
        other => anyhow::bail!("unknown export format {other:?} (known: csv, edn, jsonl)"),
    }
    std::io::Write::flush(&mut out)?;
    Ok(exit::VALID)
}

fn plan_cmd(args: &cli::TestArgs) -> anyhow::Result<i32> {
    let cfg = args.config()?;
    let seed = args.seed.unwrap_or_else(run::random_seed);
    let plan = squall::plan::build(seed, &cfg)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A plan streams as it is drawn; a reader that stops early (`| head`) is not an error.
    match plan
        .write_jsonl(&cfg, &mut out)
        .and_then(|()| std::io::Write::flush(&mut out))
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::VALID),
        r => r.map(|()| exit::VALID).map_err(Into::into),
    }
}
