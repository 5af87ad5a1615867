//! `squall run`: plan → local cluster → runner → history → checker → store.

use crate::config::TestConfig;
use crate::env::local::LocalEnv;
use crate::env::netns;
use crate::env::Environment;
use crate::interrupt::{self, Stop};
use crate::plan::{self, Plan};
use crate::plan_file::{PlanFile, Progress};
use crate::recorder::Recorder;
use crate::rerun::rerun_with;
use crate::runner::{self, RunOptions, RunStats, Say};
use crate::store::RunDir;
use crate::systems::{ClusterInfo, System};
use anyhow::{bail, Context, Result};
use nemeses::FaultTarget;
use std::sync::Arc;
use std::time::Instant;

/// A random seed that is easy to type.
pub fn random_seed() -> u64 {
    let mut b = [0u8; 4];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok();
    if ok {
        u64::from(u32::from_le_bytes(b))
    } else {
        // No /dev/urandom: the time is random enough for choosing a seed (it is printed).
        u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(1),
        )
    }
}

/// Runs the test `cfg` with `seed` (from the test file `test`, if any; `origins` says where
/// each value came from), stopping on `stop`; the caller has installed the signal handling
/// ([`interrupt::install`]). Returns the exit code.
pub fn run_test(
    cfg: &TestConfig,
    origins: &crate::origins::Origins,
    seed: u64,
    test: Option<&std::path::Path>,
    stop: &Stop,
    say: &Say,
) -> Result<i32> {
    interrupt::print_line(&format!("seed {seed}"));
    let plan = plan::build(seed, cfg)?;
    let rerun = rerun_with(seed, cfg, test);
    run_plan(cfg, &plan, origins, test, &rerun, stop, say)
}

/// Runs `plan` (of the test `cfg`, from the test file `test` if any), stopping on `stop`;
/// `rerun` is the command line that runs it again. The caller has installed the signal
/// handling ([`interrupt::install`]). Returns the exit code.
pub fn run_plan(
    cfg: &TestConfig,
    plan: &Plan,
    origins: &crate::origins::Origins,
    test: Option<&std::path::Path>,
    rerun: &str,
    stop: &Stop,
    say: &Say,
) -> Result<i32> {
    let (cfg, stop, say) = (cfg.clone(), stop.clone(), say.clone());
    let seed = plan.seed;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("squall run needs root (it creates network namespaces); run it as root");
    }
    // A plug-in's own table (`[command] ...`) lives in the test file: its errors name it.
    let system = crate::registry::get()
        .make_system(&cfg)
        .map_err(|e| match test {
            Some(t) if e.to_string().starts_with('[') => {
                anyhow::anyhow!("{}: {e:#}", t.display())
            }
            _ => e,
        })?;
    crate::primaries::check(&plan.targeting_primaries(), system.as_ref())?;
    if let Some(why) = stop.reason() {
        bail!("{why} before anything was made");
    }

    let dir = RunDir::create(&cfg.store, &cfg.test_name(), seed)?;
    let toml_path = dir.file("test.toml");
    std::fs::write(&toml_path, cfg.to_toml())
        .with_context(|| format!("write {}", toml_path.display()))?;
    // Written as the run goes: a plan may be far too long to write (or hold) up front.
    let plan_file = PlanFile::start(plan, &cfg, &dir.file("plan.jsonl"))?;
    crate::log::init(&dir.file("squall.log"))?;
    tracing::info!(seed, test = %cfg.test_name(), store = %dir.path.display(), "run starts");
    interrupt::print_line(&format!("store {}", dir.path.display()));
    let interrupted = |when: &str| {
        let why = stop.reason().unwrap_or_else(|| "interrupted".into());
        crate::report::interrupted(&cfg, plan, &dir, &format!("{why} {when}"), rerun)
    };
    if stop.is_set() {
        return interrupted("before the cluster was made");
    }

    let start = Instant::now();
    let (env, readiness_factor) = match create_env(&cfg, system.as_ref(), plan, &dir, &say, &stop) {
        Ok(made) => made,
        // Whatever was made is gone already: a failed creation removes it.
        Err(_) if stop.is_set() => return interrupted("while the cluster was made"),
        Err(e) => return Err(e),
    };
    let ready_timeout = cfg.ready_timeout * readiness_factor;
    let ready_hint = match readiness_factor {
        1 => origins.ready_timeout_hint(cfg.ready_timeout),
        k => format!(
            "{}; it was stretched ×{k} for emulated VMs",
            origins.ready_timeout_hint(cfg.ready_timeout)
        ),
    };
    // The check runs before teardown, so an invalid run can still be post-mortemed (VM
    // snapshots); the verdict and the rerun line stay the last lines printed.
    let ran = run_cluster(
        &cfg,
        plan,
        &system,
        &env,
        &dir,
        start,
        &plan_file.progress(),
        &say,
        &stop,
        ready_timeout,
        &ready_hint,
    );
    let written = plan_file.finish();
    let result = match ran {
        Ok(Ran::Done(mut stats)) => written.and_then(|w| {
            stats.plan_complete = w.complete;
            let post_mortem = || env.post_mortem(&dir.path);
            crate::report::finish(&cfg, plan, &dir, &stats, rerun, &post_mortem)
        }),
        Ok(Ran::Interrupted(when)) => interrupted(when),
        Err(e) => Err(e),
    };
    tracing::info!("tearing down the cluster");
    if let Err(e) = env.teardown() {
        eprintln!("squall: teardown: {e} (run `squall clean`)");
    }
    if let Some(e) = crate::log::write_error() {
        interrupt::print_line(&format!(
            "warning: {} is incomplete: {e}",
            dir.file("squall.log").display()
        ));
    }
    result
}

/// How the cluster part of a run ended.
enum Ran {
    /// The runner ran (perhaps stopped early: its stats say so).
    Done(RunStats),
    /// Stopped before the runner started; when, for the person.
    Interrupted(&'static str),
}

/// The VMM a VM environment runs its VMs with.
struct VmDriver {
    driver: Arc<dyn crate::vm::driver::VmmDriver>,
    binary: std::path::PathBuf,
    /// How the VMs run, for the person (e.g. the accelerator and why).
    about: String,
    /// How much the readiness deadlines are stretched (software emulation is slower).
    readiness_factor: u32,
}

/// The VMM of `cfg.env`, or `None` for the `local` environment.
fn vm_driver(cfg: &TestConfig) -> Result<Option<VmDriver>> {
    use crate::config::EnvKind;
    Ok(match cfg.env {
        EnvKind::Local => None,
        EnvKind::CloudHypervisor => {
            let binary = crate::vm::locate_ch(cfg.cloud_hypervisor.as_deref())?;
            Some(VmDriver {
                driver: Arc::new(crate::vm::ch::CloudHypervisor::new(&binary)),
                binary,
                about: "KVM".into(),
                readiness_factor: 1,
            })
        }
        EnvKind::Qemu => {
            let binary = crate::vm::locate_qemu(None)?;
            let (accel, why) = crate::vm::qemu::Accel::detect();
            Some(VmDriver {
                driver: Arc::new(crate::vm::qemu::Qemu::new(&binary, accel)),
                binary,
                about: format!("QEMU with {accel}, {why}"),
                readiness_factor: accel.readiness_factor(),
            })
        }
    })
}

/// Creates the run's environment (its nodes are not started yet), and how much its
/// readiness deadlines are stretched (1 but for emulated VMs).
fn create_env(
    cfg: &TestConfig,
    system: &dyn System,
    plan: &Plan,
    dir: &RunDir,
    say: &Say,
    stop: &Stop,
) -> Result<(Arc<dyn Environment>, u32)> {
    let run_id = crate::env::names::new_run_id();
    let mut logs = Vec::new();
    for name in &plan.names {
        logs.push(dir.node_log(name)?);
    }
    if let Some(vm) = vm_driver(cfg)? {
        let cache = std::path::Path::new(crate::image::DEFAULT_CACHE);
        if crate::image::find(&cfg.system, cache).is_none() {
            say(format!(
                "no {} guest image of this squall in {}: building one (as `squall image build --system {}`)",
                cfg.system,
                cache.display(),
                cfg.system
            ));
        }
        // From the binaries this test's system uses (its options name them): the cached
        // image of the same inputs (its content hash), or a new one.
        let t = Instant::now();
        let built = crate::image::build(&cfg.system, system, cache)?;
        say(format!(
            "guest image {} {} ({:.1}s)",
            built.image.hash,
            if built.cached { "cached" } else { "built" },
            t.elapsed().as_secs_f64()
        ));
        let image = built.image;
        if stop.is_set() {
            bail!("interrupted");
        }
        let opts = crate::vm::VmOptions::new(crate::vm::BootFiles::from(&image));
        let slower = if vm.readiness_factor > 1 {
            format!(
                "; {}: readiness deadlines ×{} ({})",
                vm.about,
                vm.readiness_factor,
                crate::config::format_duration(cfg.ready_timeout * vm.readiness_factor)
            )
        } else {
            format!(" ({})", vm.about)
        };
        say(format!(
            "creating {} VMs (run {run_id}, image {}): hub squall-{run_id}-hub, {}{slower}",
            plan.names.len(),
            image.hash,
            vm.binary.display(),
        ));
        let env = crate::vm::create(&run_id, plan.names.clone(), logs, vm.driver, &opts)?;
        return Ok((env, vm.readiness_factor));
    }
    let stopped = || stop.is_set();
    // Run ids are 24 random bits: two runs at once (a soak's) may draw the same one. The
    // run directory is claimed exclusively before anything is made, so the second is told
    // EEXIST, never shares the first's namespaces, and draws again.
    let mut run_id = run_id;
    for attempt in 1.. {
        say(format!(
            "creating {} nodes (run {run_id}): namespaces squall-{run_id}-*",
            plan.names.len()
        ));
        // Clock faults need libfaketime in every node from its start.
        let backend = if cfg.nemesis.iter().any(|n| n == "clock") {
            crate::env::local::ProcessBackend::with_clock()
        } else {
            crate::env::local::ProcessBackend::default()
        };
        match LocalEnv::create_with(&run_id, plan.names.clone(), logs.clone(), backend, &stopped) {
            Err(e) if e.errno() == Some(libc::EEXIST) && attempt < 5 => {
                say(format!("run id {run_id} is taken ({e}): drawing another"));
                run_id = crate::env::names::new_run_id();
            }
            r => return Ok((Arc::new(r?), 1)),
        }
    }
    unreachable!("the loop returns by its fifth attempt")
}

/// Starts the nodes, executes the plan, and returns what was measured. The caller tears
/// the environment down (also when this fails).
#[allow(clippy::too_many_arguments)]
fn run_cluster(
    cfg: &TestConfig,
    plan: &Plan,
    system: &Arc<dyn System>,
    env: &Arc<dyn Environment>,
    dir: &RunDir,
    start: Instant,
    progress: &Arc<Progress>,
    say: &Say,
    stop: &Stop,
    ready_timeout: std::time::Duration,
    ready_hint: &str,
) -> Result<Ran> {
    let cluster = ClusterInfo {
        names: plan.names.clone(),
        addrs: (0..plan.names.len()).map(|i| env.node_addr(i)).collect(),
        files: env.node_files(),
    };
    for i in 0..plan.names.len() {
        if stop.is_set() {
            return Ok(Ran::Interrupted("while the nodes were started"));
        }
        let data = env.data_dir(i)?;
        let cmd = system.node_command(i, &cluster, &data);
        env.start_node(i, &cmd)?;
    }

    // Everything from here on runs inside the hub: the runtime's threads are created after
    // this thread enters it, so every client socket is opened there.
    netns::enter(env.hub_ns())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let history = dir.file("history.jsonl");
    let recorder = {
        let (stop, say) = (stop.clone(), say.clone());
        Arc::new(Recorder::create(&history, start)?.on_failure(move |_| {
            if stop.request("the history cannot be written") {
                say(
                    "stopping: writing the history failed (see below); healing faults, \
                         cleaning up"
                        .into(),
                );
            }
        }))
    };
    let result = rt.block_on(async {
        say(format!("waiting for {} to be ready", system.name()));
        let t = Instant::now();
        let mut s = stop.subscribe();
        tokio::select! {
            r = system.wait_ready(&cluster, ready_timeout) => {
                if let Err(e) = r {
                    let e = anyhow::anyhow!("cluster not ready: {e:#} ({ready_hint})");
                    return Err(match env.not_ready_hint() {
                        Some(hint) => e.context(hint),
                        None => e,
                    });
                }
            }
            e = first_exit(env.as_ref()) => return Err(e),
            _ = s.wait_for(|v| *v) => return Ok(Ran::Interrupted("before the cluster was ready")),
        }
        say(format!(
            "cluster ready in {:.1}s",
            t.elapsed().as_secs_f64()
        ));
        // Cluster formation, where the system needs it; its result goes to every client.
        let mut s = stop.subscribe();
        let state = tokio::select! {
            r = system.setup(&cluster, ready_timeout) => r.context("cluster setup")?,
            e = first_exit(env.as_ref()) => return Err(e),
            _ = s.wait_for(|v| *v) => return Ok(Ran::Interrupted("during cluster setup")),
        };
        let clients = (0..cfg.concurrency)
            .map(|w| {
                let node = w % cluster.names.len();
                (
                    system.client(&cluster, node, cfg.op_timeout, &state),
                    cluster.names[node].clone(),
                )
            })
            .collect();
        let target: Arc<dyn FaultTarget> = Arc::new(crate::primaries::WithPrimaries {
            env: env.clone(),
            system: system.clone(),
            cluster: cluster.clone(),
            state: state.clone(),
            runtime: tokio::runtime::Handle::current(),
            timeout: cfg.op_timeout,
        });
        let opts = RunOptions {
            quiet: cfg.quiet,
            op_timeout: cfg.op_timeout,
            cut_after: Some(runner::cut_after(cfg.time_limit)),
            progress: progress.clone(),
        };
        let exited = Arc::new(std::sync::Mutex::new(Vec::new()));
        let exits = tokio::spawn(watch_exits(env.clone(), exited.clone(), say.clone()));
        let mut stats = runner::execute(
            plan,
            clients,
            target,
            recorder.clone(),
            &opts,
            stop.subscribe(),
            say.clone(),
        )
        .await;
        exits.abort();
        stats.node_exits = std::mem::take(&mut *exited.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Ran::Done(stats))
    });
    drop(rt);
    if let Some(e) = recorder.error() {
        bail!(
            "{e} (the run stopped at this first failed write; the {} events recorded before it \
             stay in the file)",
            recorder.written()
        );
    }
    result
}

/// Resolves when some node stops on its own (during startup: a bad binary, bad flags, a
/// port in use), naming the node and its log.
async fn first_exit(env: &dyn Environment) -> anyhow::Error {
    loop {
        if let Some(what) = env.exited_node() {
            return anyhow::anyhow!("{what} during startup");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Notes (once each) nodes that stop on their own during the run — a crash of the system
/// under test, not a fault squall made — and tells the person; heal-all restarts them.
async fn watch_exits(
    env: Arc<dyn Environment>,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    say: Say,
) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if let Some(what) = env.exited_node() {
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            if !seen.contains(&what) {
                say(format!("warning: not a fault of squall's: {what}"));
                seen.push(what);
            }
        }
    }
}
