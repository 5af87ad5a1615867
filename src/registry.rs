//! The plug-ins a squall program knows: its workloads, systems and nemeses, by name.
//!
//! squall's own are [`Registry::builtin`]. A user's crate that depends on squall adds its
//! own and gets the whole command line — `run`, `plan`, `check`, `soak`... — the way a Jepsen
//! test composes a test map:
//!
//! ```no_run
//! use squall::registry::Registry;
//! # struct Mine;
//! # impl workloads::Workload for Mine {
//! #     fn name(&self) -> &'static str { "mine" }
//! #     fn model(&self) -> &'static str { "cas-register" }
//! #     fn ops(&self) -> &'static str { "register" }
//! #     fn setup(&self) -> Vec<workloads::Op> { vec![] }
//! #     fn generator(&self, _: usize, _: usize) -> Box<dyn workloads::OpGen> { unimplemented!() }
//! #     fn finals(&self) -> Vec<workloads::Op> { vec![] }
//! #     fn checker(&self) -> Box<dyn checkers::Checker> { Box::new(checkers::Stats) }
//! # }
//! fn main() {
//!     let registry = Registry::builtin().workload("mine", |_opts| Ok(Box::new(Mine)));
//!     squall::main_with(registry);
//! }
//! ```
//!
//! The registry is installed once, when the program starts ([`install`]; [`crate::main_with`]
//! does it), and read everywhere after ([`get`]); a program that installs none has the
//! builtin one. Names are kept in order (`BTreeMap`), so listings never depend on hashing.

use crate::config::TestConfig;
use crate::systems::System;
use anyhow::{bail, Result};
use nemeses::DynNemesis;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use workloads::{Workload, WorkloadOptions};

/// Makes a workload from its options (an error says which option is wrong).
pub type WorkloadMaker = Arc<dyn Fn(&WorkloadOptions) -> Result<Box<dyn Workload>> + Send + Sync>;
pub use crate::systems::SystemMaker;

/// Workloads, systems and nemeses by name.
#[derive(Clone)]
pub struct Registry {
    workloads: BTreeMap<String, WorkloadMaker>,
    systems: BTreeMap<String, SystemMaker>,
    nemeses: BTreeMap<String, Arc<dyn DynNemesis>>,
    /// Per system, defaults it gives other plug-ins' options (a test's own table wins key
    /// by key): Aspen's client retries writes, so its cas-register writes unique values.
    defaults: BTreeMap<String, BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
}

impl Registry {
    /// squall's own: the cas-register, set and bank workloads; etcd (and whatever
    /// [`crate::systems::builtin`] lists); the partition, pause and kill nemeses.
    pub fn builtin() -> Registry {
        let mut r = Registry {
            workloads: BTreeMap::new(),
            systems: BTreeMap::new(),
            nemeses: BTreeMap::new(),
            defaults: BTreeMap::new(),
        };
        for name in workloads::NAMES {
            let n = name.to_string();
            r = r.workload(name, move |opts| Ok(workloads::by_name(&n, opts)?));
        }
        for (name, maker) in crate::systems::builtin() {
            r.systems.insert(name.to_string(), maker);
        }
        for (system, plugin, table) in crate::systems::builtin_defaults() {
            r = r.system_defaults(system, plugin, table);
        }
        for name in nemeses::NAMES {
            let n = nemeses::by_name(name).expect("a listed nemesis");
            r.nemeses.insert(name.to_string(), n);
        }
        r
    }

    /// Adds (or replaces) the workload `name`.
    pub fn workload(
        mut self,
        name: &str,
        make: impl Fn(&WorkloadOptions) -> Result<Box<dyn Workload>> + Send + Sync + 'static,
    ) -> Registry {
        self.workloads.insert(name.to_string(), Arc::new(make));
        self
    }

    /// Adds (or replaces) the system `name`.
    pub fn system(
        mut self,
        name: &str,
        make: impl Fn(&TestConfig, &str) -> Result<Arc<dyn System>> + Send + Sync + 'static,
    ) -> Registry {
        self.systems.insert(name.to_string(), Arc::new(make));
        self
    }

    /// Makes `table` the defaults the system `system` gives the plug-in `plugin`'s options:
    /// in a test of that system, each key the test's own `[plugin]` table does not set takes
    /// its value from `table` (a JSON object). For a system whose nature asks for a
    /// workload's variant — Aspen's CLI retries writes, so its cas-register writes unique
    /// values — without the person having to know it.
    pub fn system_defaults(
        mut self,
        system: &str,
        plugin: &str,
        table: serde_json::Value,
    ) -> Registry {
        let serde_json::Value::Object(table) = table else {
            panic!("the defaults of {system} for [{plugin}] are not an object: {table}");
        };
        self.defaults
            .entry(system.to_string())
            .or_default()
            .insert(plugin.to_string(), table);
        self
    }

    /// The options of the plug-in `name` in the test `cfg`: its `[name]` table over the
    /// defaults `cfg`'s system gives it ([`Registry::system_defaults`]).
    pub fn options_json(&self, cfg: &TestConfig, name: &str) -> serde_json::Value {
        let mut own = cfg.options_json(name);
        let defaults = self.defaults.get(&cfg.system).and_then(|d| d.get(name));
        if let (Some(defaults), serde_json::Value::Object(own)) = (defaults, &mut own) {
            for (k, v) in defaults {
                own.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        own
    }

    /// The options the workload of `cfg` receives: its keys and its `[<workload>]` table,
    /// over its system's defaults.
    pub fn workload_options(&self, cfg: &TestConfig) -> WorkloadOptions {
        WorkloadOptions {
            keys: cfg.keys,
            options: self.options_json(cfg, &cfg.workload),
        }
    }

    /// The workload `cfg` names, with its options ([`Registry::workload_options`]).
    pub fn test_workload(&self, cfg: &TestConfig) -> Result<Box<dyn Workload>> {
        self.make_workload(&cfg.workload, &self.workload_options(cfg))
    }

    /// Adds (or replaces) a nemesis, under its own name.
    pub fn nemesis(mut self, nemesis: Arc<dyn DynNemesis>) -> Registry {
        self.nemeses.insert(nemesis.name().to_string(), nemesis);
        self
    }

    /// The workload `name` with `opts`.
    pub fn make_workload(&self, name: &str, opts: &WorkloadOptions) -> Result<Box<dyn Workload>> {
        match self.workloads.get(name) {
            Some(make) => make(opts),
            None => bail!(
                "unknown workload {name:?} (known: {})",
                self.workload_names()
            ),
        }
    }

    /// The system `cfg.system`, configured from `cfg`, which must speak `cfg.workload`'s ops.
    pub fn make_system(&self, cfg: &TestConfig) -> Result<Arc<dyn System>> {
        let Some(make) = self.systems.get(&cfg.system) else {
            bail!(
                "unknown system {:?} (known: {})",
                cfg.system,
                self.system_names()
            );
        };
        let ops = self.test_workload(cfg)?.ops();
        let system = make(cfg, ops)?;
        if !system.ops().contains(&ops) {
            bail!(
                "{} has no client for the {} workload's {ops} ops (it speaks {})",
                system.name(),
                cfg.workload,
                system.ops().join(", ")
            );
        }
        Ok(system)
    }

    /// The system `cfg.system` as `cfg`'s plug-in options configure it, for a command that
    /// runs no test (`squall doctor`, `squall image build`): the binaries a run with the same
    /// options would use. It is made for register ops: what it checks and packs does not
    /// depend on the workload.
    pub fn system_of(&self, cfg: &TestConfig) -> Result<Arc<dyn System>> {
        let make = self.systems.get(&cfg.system).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown system {:?} (known: {})",
                cfg.system,
                self.system_names()
            )
        })?;
        make(cfg, "register")
    }

    /// The nemesis `name`.
    pub fn nemesis_named(&self, name: &str) -> Option<Arc<dyn DynNemesis>> {
        self.nemeses.get(name).cloned()
    }

    /// The nemesis `name` configured by `cfg`'s `[name]` table.
    pub fn make_nemesis(&self, name: &str, cfg: &TestConfig) -> Result<Arc<dyn DynNemesis>> {
        let Some(n) = self.nemeses.get(name) else {
            bail!("unknown nemesis {name:?} (known: {})", self.nemesis_names());
        };
        let n = n.configure(&self.options_json(cfg, name))?;
        n.fits(cfg.nodes)?;
        Ok(n)
    }

    /// Whether `name` is a plug-in of any kind (a test file's table must name one).
    pub fn has_plugin(&self, name: &str) -> bool {
        self.workloads.contains_key(name)
            || self.systems.contains_key(name)
            || self.nemeses.contains_key(name)
    }

    /// Makes the workload and nemeses `cfg` names, so that a wrong option of any of them is
    /// an error before anything runs, and refuses a table that names no plug-in. (The
    /// system is made when a run starts: it looks for its binaries, which a plan does not
    /// need.)
    pub fn check(&self, cfg: &TestConfig) -> Result<()> {
        if let Some(name) = cfg.plugins.keys().find(|n| !self.has_plugin(n)) {
            bail!(
                "[{name}]: no workload, system or nemesis is called {name:?} (workloads: {}; systems: {}; nemeses: {})",
                self.workload_names(),
                self.system_names(),
                self.nemesis_names()
            );
        }
        self.test_workload(cfg)?;
        for n in &cfg.nemesis {
            self.make_nemesis(n, cfg)?;
        }
        Ok(())
    }

    /// Whether each kind of plug-in has `name`.
    pub fn has_workload(&self, name: &str) -> bool {
        self.workloads.contains_key(name)
    }
    /// See [`Registry::has_workload`].
    pub fn has_system(&self, name: &str) -> bool {
        self.systems.contains_key(name)
    }

    /// The names, comma-separated, for messages.
    pub fn workload_names(&self) -> String {
        join(self.workloads.keys())
    }
    /// See [`Registry::workload_names`].
    pub fn system_names(&self) -> String {
        join(self.systems.keys())
    }
    /// See [`Registry::workload_names`].
    pub fn nemesis_names(&self) -> String {
        join(self.nemeses.keys())
    }
    /// The nemeses' names, in order.
    pub fn nemeses(&self) -> impl Iterator<Item = &str> {
        self.nemeses.keys().map(String::as_str)
    }
    /// The systems' names.
    pub fn systems(&self) -> impl Iterator<Item = &str> {
        self.systems.keys().map(String::as_str)
    }
}

fn join<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

static INSTALLED: OnceLock<Registry> = OnceLock::new();

/// Makes `registry` the program's, once; `false` if one was already installed (or read).
pub fn install(registry: Registry) -> bool {
    INSTALLED.set(registry).is_ok()
}

/// The program's registry: the installed one, else the builtin one.
pub fn get() -> &'static Registry {
    INSTALLED.get_or_init(Registry::builtin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_registry_has_squalls_plug_ins_in_order() {
        let r = Registry::builtin();
        assert_eq!(r.workload_names(), "bank, cas-register, set");
        assert_eq!(
            r.nemesis_names(),
            "bandwidth, clock, isolate, kill, packet, partition, pause"
        );
        assert!(r.has_system("etcd"));
        let w = r.make_workload("set", &WorkloadOptions::keys(3)).unwrap();
        assert_eq!(w.name(), "set");
        let e = r
            .make_workload("queue", &WorkloadOptions::keys(3))
            .err()
            .unwrap();
        assert!(e.to_string().contains("unknown workload \"queue\""), "{e}");
    }

    #[test]
    fn a_system_gives_defaults_that_the_tests_own_table_overrides() {
        let r = Registry::builtin();
        let mut cfg = TestConfig {
            system: "aspen".into(),
            ..TestConfig::default()
        };
        let values =
            |r: &Registry, cfg: &TestConfig| r.workload_options(cfg).options["values"].clone();
        assert_eq!(values(&r, &cfg), "unique");
        cfg.set_option("cas-register.values", "small").unwrap();
        assert_eq!(values(&r, &cfg), "small");
        cfg.system = "etcd".into();
        cfg.plugins.clear();
        assert_eq!(values(&r, &cfg), serde_json::Value::Null);
        let r = r.system_defaults(
            "etcd",
            "cas-register",
            serde_json::json!({"values": "unique"}),
        );
        assert_eq!(values(&r, &cfg), "unique");
    }

    #[test]
    fn a_users_workload_is_added_beside_squalls() {
        let r = Registry::builtin()
            .workload("hot", |opts| Ok(workloads::by_name("cas-register", opts)?));
        assert!(r.has_workload("hot") && r.has_workload("bank"));
    }
}
