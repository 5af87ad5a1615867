//! `squall plan`: the plan a seed gives, streamed as JSONL on stdout.

/// Runs `squall plan`; returns the exit code.
pub fn plan(args: &super::test_args::TestArgs) -> anyhow::Result<i32> {
    if args.plan.is_some() {
        anyhow::bail!(
            "--plan is for squall run (squall plan prints a seed's plan; squall run --plan FILE \
             runs a plan file)"
        );
    }
    let cfg = args.config()?;
    let seed = args.seed.unwrap_or_else(crate::run::random_seed);
    let plan = crate::plan::build(seed, &cfg)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A plan streams as it is drawn; a reader that stops early (`| head`) is not an error.
    match plan
        .write_jsonl(&cfg, &mut out)
        .and_then(|()| std::io::Write::flush(&mut out))
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(crate::exit::VALID),
        r => r.map(|()| crate::exit::VALID).map_err(Into::into),
    }
}
