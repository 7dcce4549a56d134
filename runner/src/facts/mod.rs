//! Host facts, gathered natively (the `setup` module's data): the facts
//! playbooks read, with Ansible's names (without the `ansible_` prefix,
//! as they appear under `ansible_facts`) and shapes. Each part ports one
//! of Ansible's fact collectors (`module_utils/facts`); `gather_subset`
//! selects collectors as Ansible's `get_collector_names` does.
//! `docs/facts.md` lists the facts and what differs from Ansible.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

pub mod hardware;
pub mod netlink;
pub mod network;
pub mod parse;
pub mod system;

/// What to gather.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// Directory of local facts (`/etc/ansible/facts.d` by default).
    pub fact_path: Option<String>,
    /// The task's `environment`, seen by the gathering as its process
    /// environment would be (`ansible_env`).
    pub environment: BTreeMap<String, String>,
    /// `gather_subset` (`["all"]` when empty).
    pub gather_subset: Vec<String>,
    /// `gather_timeout` in seconds (10 when unset).
    pub gather_timeout: Option<u64>,
    /// The Python interpreter whose `python` facts are reported
    /// (`ansible_python_interpreter`); `python3` on `PATH` when unset.
    pub python_interpreter: Option<String>,
}

/// A gathering that cannot start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// A `gather_subset` entry that names no collector or fact.
    #[error(
        "Bad subset '{subset}' given to Ansible. gather_subset options allowed: all, {allowed}"
    )]
    BadSubset { subset: String, allowed: String },
}

/// Ansible's collectors on Linux, with the fact names each provides
/// (usable as `gather_subset` entries) and the collectors it needs.
const COLLECTORS: &[(&str, &[&str], &[&str])] = &[
    (
        "platform",
        &[
            "architecture",
            "kernel",
            "kernel_version",
            "machine",
            "machine_id",
            "python_version",
            "system",
        ],
        &[],
    ),
    (
        "distribution",
        &[
            "distribution_major_version",
            "distribution_release",
            "distribution_version",
            "os_family",
        ],
        &[],
    ),
    ("lsb", &[], &[]),
    ("selinux", &[], &[]),
    ("apparmor", &[], &[]),
    ("chroot", &["is_chroot"], &[]),
    ("fips", &[], &[]),
    ("python", &[], &[]),
    (
        "caps",
        &["system_capabilities", "system_capabilities_enforced"],
        &[],
    ),
    ("pkg_mgr", &[], &["distribution"]),
    ("service_mgr", &[], &["distribution", "platform"]),
    ("cmdline", &[], &[]),
    ("date_time", &[], &[]),
    ("env", &[], &[]),
    ("loadavg", &[], &[]),
    (
        "ssh_pub_keys",
        &[
            "ssh_host_key_dsa_public",
            "ssh_host_key_ecdsa_public",
            "ssh_host_key_ed25519_public",
            "ssh_host_key_rsa_public",
            "ssh_host_pub_keys",
        ],
        &[],
    ),
    (
        "user",
        &[
            "effective_group_ids",
            "effective_user_id",
            "real_user_id",
            "user_dir",
            "user_gecos",
            "user_gid",
            "user_id",
            "user_shell",
            "user_uid",
        ],
        &[],
    ),
    ("systemd", &[], &[]),
    (
        "virtual",
        &[
            "virtualization_role",
            "virtualization_tech_guest",
            "virtualization_tech_host",
            "virtualization_type",
        ],
        &[],
    ),
    (
        "hardware",
        &[
            "devices",
            "mounts",
            "processor",
            "processor_cores",
            "processor_count",
        ],
        &["distribution", "platform"],
    ),
    ("dns", &[], &[]),
    ("fibre_channel_wwn", &[], &[]),
    (
        "network",
        &[
            "all_ipv4_addresses",
            "all_ipv6_addresses",
            "default_ipv4",
            "default_ipv6",
            "interfaces",
        ],
        &["distribution", "platform"],
    ),
    ("iscsi", &[], &[]),
    ("nvme", &[], &[]),
    ("local", &[], &[]),
    ("facter", &["facter"], &[]),
    ("ohai", &[], &[]),
];

/// `setup`'s `minimal_gather_subset`.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// The collectors a `gather_subset` selects, dependencies included (as
/// Ansible's `get_collector_names` plus `_solve_deps`).
pub fn select(gather_subset: &[String]) -> Result<BTreeSet<&'static str>, FactsError> {
    let all: BTreeSet<&str> = COLLECTORS.iter().map(|c| c.0).collect();
    let minimal: BTreeSet<&str> = MINIMAL.iter().copied().collect();
    let collector_of = |name: &str| -> Option<&'static str> {
        COLLECTORS
            .iter()
            .find(|(n, ids, _)| *n == name || ids.contains(&name))
            .map(|c| c.0)
    };
    let valid = |name: &str| name == "min" || collector_of(name).is_some();
    let subsets: Vec<String> = if gather_subset.is_empty() {
        vec!["all".into()]
    } else {
        gather_subset.to_vec()
    };
    let mut add: BTreeSet<&str> = BTreeSet::new();
    let mut exclude: BTreeSet<&str> = BTreeSet::new();
    let mut explicit: BTreeSet<&str> = BTreeSet::new();
    for subset in std::iter::once("min").chain(subsets.iter().map(String::as_str)) {
        match subset {
            "min" => add.extend(&minimal),
            "all" => add.extend(&all),
            "!min" => exclude.extend(&minimal),
            "!all" => exclude.extend(all.difference(&minimal)),
            s if s.starts_with('!') => {
                if let Some(c) = all.get(&s[1..]) {
                    exclude.insert(c);
                }
            }
            s => {
                if !valid(s) {
                    let mut names: BTreeSet<&str> = all.clone();
                    for (_, ids, _) in COLLECTORS {
                        names.extend(ids.iter());
                    }
                    names.insert("min");
                    return Err(FactsError::BadSubset {
                        subset: s.to_owned(),
                        allowed: names.into_iter().collect::<Vec<_>>().join(", "),
                    });
                }
                if let Some(c) = collector_of(s) {
                    explicit.insert(c);
                    add.insert(c);
                }
            }
        }
    }
    let mut chosen: BTreeSet<&'static str> = add
        .into_iter()
        .filter(|c| !exclude.contains(c) || explicit.contains(c))
        .filter_map(collector_of)
        .collect();
    // Dependencies (service_mgr needs the distribution, ...).
    loop {
        let needed: Vec<&'static str> = chosen
            .iter()
            .flat_map(|c| {
                COLLECTORS
                    .iter()
                    .filter(move |(n, _, _)| n == c)
                    .flat_map(|(_, _, deps)| deps.iter().copied())
            })
            .filter(|d| !chosen.contains(d))
            .collect();
        if needed.is_empty() {
            break;
        }
        chosen.extend(needed);
    }
    Ok(chosen)
}

/// A file's text, `None` when unreadable.
pub(crate) fn read_raw(p: &Path) -> Option<String> {
    fs::read(p)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A file's text with surrounding white space removed (Ansible's
/// `get_file_content`).
pub(crate) fn read_trim(p: &Path) -> Option<String> {
    read_raw(p).map(|s| s.trim().to_owned())
}

/// A program on `PATH` or in the sbin directories (Ansible's
/// `get_bin_path`).
pub(crate) fn bin_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(["/sbin", "/usr/sbin", "/usr/local/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
    found
}

/// `name` itself when it is a path, else where `bin_path` finds it.
pub(crate) fn bin_path_or_self(name: &str) -> PathBuf {
    if name.contains('/') {
        PathBuf::from(name)
    } else {
        bin_path(name).unwrap_or_else(|| PathBuf::from(name))
    }
}

/// Gathers the facts of this host (every collector).
pub fn gather(opts: &Options) -> Map<String, Value> {
    gather_report(opts).0
}

/// Gathers the facts of this host, with the warnings the setup module
/// would return (local facts that failed, mounts that timed out). A bad
/// `gather_subset` gathers everything; [`gather_checked`] reports it.
pub fn gather_report(opts: &Options) -> (Map<String, Value>, Vec<String>) {
    match gather_checked(opts) {
        Ok(r) => r,
        Err(_) => gather_checked(&Options {
            gather_subset: Vec::new(),
            ..opts.clone()
        })
        .unwrap_or_default(),
    }
}

/// Gathers the facts `opts.gather_subset` selects, with the warnings.
pub fn gather_checked(opts: &Options) -> Result<(Map<String, Value>, Vec<String>), FactsError> {
    let chosen = select(&opts.gather_subset)?;
    let on = |c: &str| chosen.contains(c);
    let mut warnings = Vec::new();
    let mut f = Map::new();
    // The environment the gathering sees: the process's plus the task's.
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    // Ansible's module runs under `/bin/sh`, which sets `PWD` to the
    // working directory unless it already names it.
    if let Ok(cwd) = std::env::current_dir() {
        let same = env
            .get("PWD")
            .and_then(|p| fs::canonicalize(p).ok())
            .zip(fs::canonicalize(&cwd).ok())
            .is_some_and(|(a, b)| a == b);
        if !same {
            env.insert("PWD".into(), cwd.display().to_string());
        }
    }
    for (k, v) in &opts.environment {
        env.insert(k.clone(), v.clone());
    }
    // Starting Python is the slowest part: it runs beside the rest.
    let python = (on("python") || on("platform")).then(|| {
        // Unset: the interpreter `discovered_interpreter_python` names,
        // else `python3` on PATH.
        let interp = opts.python_interpreter.clone().or_else(|| {
            let usual = Path::new("/usr/bin/python3");
            if usual.is_file() {
                Some(usual.display().to_string())
            } else {
                bin_path("python3").map(|p| p.display().to_string())
            }
        });
        std::thread::spawn(move || interp.and_then(|i| system::python_cached(&i)))
    });
    let timeout = Duration::from_secs(opts.gather_timeout.unwrap_or(10).max(1));
    let network = on("network").then(|| {
        std::thread::spawn(|| {
            let mut m = Map::new();
            network::collect(&mut m);
            m
        })
    });
    if on("platform") {
        system::platform(&mut f);
    }
    if on("distribution") {
        system::distribution(&mut f);
    }
    if on("lsb") {
        system::lsb(&mut f);
    }
    if on("selinux") {
        system::selinux(&mut f);
    }
    if on("apparmor") {
        system::apparmor(&mut f);
    }
    if on("chroot") {
        system::chroot(&mut f, &env);
    }
    if on("fips") {
        system::fips(&mut f);
    }
    if on("pkg_mgr") {
        system::pkg_mgr(&mut f);
    }
    if on("service_mgr") {
        system::service_mgr(&mut f);
    }
    if on("cmdline") {
        system::cmdline(&mut f);
    }
    if on("date_time") {
        system::date_time(&mut f);
    }
    if on("env") {
        let e: Map<String, Value> = env
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        f.insert("env".into(), Value::Object(e));
    }
    if on("loadavg") {
        system::loadavg(&mut f);
    }
    if on("ssh_pub_keys") {
        system::ssh_pub_keys(&mut f);
    }
    if on("user") {
        system::user(&mut f, &env);
    }
    if on("virtual") {
        system::virtual_facts(&mut f);
    }
    if on("hardware") {
        let machine = f
            .get("machine")
            .and_then(Value::as_str)
            .unwrap_or(std::env::consts::ARCH)
            .to_owned();
        hardware::cpu(&mut f, &machine);
        hardware::memory(&mut f);
        hardware::dmi(&mut f);
        hardware::devices(&mut f);
        hardware::uptime(&mut f);
        hardware::lvm(&mut f);
        hardware::mounts(&mut f, timeout, &mut warnings);
    }
    if on("dns") {
        system::dns(&mut f);
    }
    system::storage_ids(&mut f, &chosen);
    if on("local") {
        let local = crate::local_facts::collect(
            opts.fact_path.as_deref().unwrap_or("/etc/ansible/facts.d"),
        );
        warnings.extend(local.warnings);
        f.insert("local".into(), Value::Object(local.facts));
    }
    if let Some(h) = network {
        if let Ok(m) = h.join() {
            f.extend(m);
        }
    }
    if let Some(h) = python {
        if let Ok(Some((py, version))) = h.join() {
            if on("python") {
                f.insert("python".into(), py);
            }
            if on("platform") {
                f.insert("python_version".into(), version);
            }
        }
    }
    let subset: Vec<Value> = if opts.gather_subset.is_empty() {
        vec![Value::from("all")]
    } else {
        opts.gather_subset
            .iter()
            .cloned()
            .map(Value::from)
            .collect()
    };
    f.insert("gather_subset".into(), Value::Array(subset));
    f.insert("module_setup".into(), Value::Bool(true));
    f.insert(
        "discovered_interpreter_python".into(),
        Value::from("/usr/bin/python3"),
    );
    Ok((f, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &[&str]) -> BTreeSet<&'static str> {
        select(&s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>()).unwrap_or_default()
    }

    #[test]
    fn all_is_every_collector() {
        assert_eq!(sel(&["all"]).len(), COLLECTORS.len());
        assert_eq!(sel(&[]).len(), COLLECTORS.len());
    }

    #[test]
    fn not_all_is_the_minimum() {
        let s = sel(&["!all"]);
        assert_eq!(s, MINIMAL.iter().copied().collect());
    }

    #[test]
    fn not_all_not_min_keeps_nothing_but_explicit() {
        assert!(sel(&["!all", "!min"]).is_empty());
        let s = sel(&["!all", "!min", "network"]);
        // network brings its dependencies.
        assert_eq!(
            s,
            ["distribution", "network", "platform"]
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn exclusions_and_fact_names() {
        let s = sel(&["all", "!hardware"]);
        assert!(!s.contains("hardware") && s.contains("network"));
        // An exclusion alone keeps only the minimum, as in Ansible 2.18.
        assert_eq!(sel(&["!hardware"]), MINIMAL.iter().copied().collect());
        let s = sel(&["!all", "processor"]);
        assert!(s.contains("hardware"));
    }

    #[test]
    fn bad_subset_is_an_error() {
        let e = select(&["nope".to_owned()]);
        assert!(matches!(e, Err(FactsError::BadSubset { ref subset, .. }) if subset == "nope"));
    }
}
