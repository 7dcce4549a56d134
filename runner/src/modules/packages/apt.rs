//! `apt`: Debian packages through `apt-get`, `apt-cache`, `dpkg-query` and
//! `dpkg`, with the steps, command lines, results and messages of
//! Ansible's module (which uses python-apt for the read-only queries).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::common::{self as c, Output};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Apt;

static ARGS: [ArgDef; 26] = [
    ArgDef::new("package", ArgType::List)
        .aliases(&["pkg", "name"])
        .doc("Package names, `name=version` (version may be a wildcard), `name>=version`, or fnmatch patterns; `*` with `state=latest` upgrades everything."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "build-dep", "fixed", "latest", "present"])
        .doc("Desired package state."),
    ArgDef::new("update_cache", ArgType::Bool)
        .aliases(&["update-cache"])
        .doc("Run `apt-get update` first (subject to `cache_valid_time`)."),
    ArgDef::new("update_cache_retries", ArgType::Int)
        .default(ArgDefault::Int(5))
        .doc("How many times to try the cache update."),
    ArgDef::new("update_cache_retry_max_delay", ArgType::Int)
        .default(ArgDefault::Int(12))
        .doc("Longest pause (seconds) between cache update tries."),
    ArgDef::new("cache_valid_time", ArgType::Int)
        .default(ArgDefault::Int(0))
        .doc("Update the cache only when it is older than this many seconds."),
    ArgDef::new("purge", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Also remove configuration files (`--purge`)."),
    ArgDef::new("deb", ArgType::Path)
        .doc("Path of a local `.deb` file to install (comma-separated for several)."),
    ArgDef::new("default_release", ArgType::Str)
        .aliases(&["default-release"])
        .doc("Release to prefer (`-t`)."),
    ArgDef::new("install_recommends", ArgType::Bool)
        .aliases(&["install-recommends"])
        .doc("Install recommended packages (unset: the system default)."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--force-yes` (and `--force-all` to dpkg for `deb`)."),
    ArgDef::new("upgrade", ArgType::Str)
        .default(ArgDefault::Str("no"))
        .choices(&["dist", "full", "no", "safe", "yes"])
        .doc("Upgrade installed packages: `yes`/`safe` (`upgrade --with-new-pkgs`), `dist`/`full` (`dist-upgrade`)."),
    ArgDef::new("dpkg_options", ArgType::Str)
        .default(ArgDefault::Str("force-confdef,force-confold"))
        .doc("Comma-separated dpkg options, each passed as `-o Dpkg::Options::=--OPTION`."),
    ArgDef::new("autoremove", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Remove packages no longer needed (`--auto-remove`, or `apt-get autoremove` alone)."),
    ArgDef::new("autoclean", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Run `apt-get autoclean` (when no package is named)."),
    ArgDef::new("fail_on_autoremove", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--no-remove`: fail rather than remove packages."),
    ArgDef::new("policy_rc_d", ArgType::Int)
        .doc("Write `/usr/sbin/policy-rc.d` exiting with this code while apt runs (101 keeps services from starting)."),
    ArgDef::new("only_upgrade", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Only upgrade packages that are already installed."),
    ArgDef::new("force_apt_get", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Use apt-get rather than aptitude (Rustle always uses apt-get)."),
    ArgDef::new("clean", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Run `apt-get clean` first."),
    ArgDef::new("allow_unauthenticated", ArgType::Bool)
        .aliases(&["allow-unauthenticated"])
        .default(ArgDefault::Bool(false))
        .doc("Pass `--allow-unauthenticated`."),
    ArgDef::new("allow_downgrade", ArgType::Bool)
        .aliases(&["allow-downgrade", "allow_downgrades", "allow-downgrades"])
        .default(ArgDefault::Bool(false))
        .doc("Pass `--allow-downgrades`."),
    ArgDef::new("allow_change_held_packages", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--allow-change-held-packages`."),
    ArgDef::new("lock_timeout", ArgType::Int)
        .default(ArgDefault::Int(60))
        .doc("Seconds to wait for the apt/dpkg locks, retrying, before failing."),
    // Internal: lets tests point the cache timestamp elsewhere.
    ArgDef::new("_apt_lists", ArgType::Path).internal(),
    ArgDef::new("_apt_stamp", ArgType::Path).internal(),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS)
    .mutually_exclusive(&[&["deb", "package", "upgrade"]])
    .required_one_of(&[&["autoremove", "deb", "package", "update_cache", "upgrade"]]);

const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
const LISTS: &str = "/var/lib/apt/lists";
const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// The environment Ansible's module runs every apt command with.
const APT_ENV: &[(&str, &str)] = &[
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("DEBIAN_PRIORITY", "critical"),
    ("LANG", "C.UTF-8"),
    ("LC_ALL", "C.UTF-8"),
    ("LC_MESSAGES", "C.UTF-8"),
    ("LC_CTYPE", "C.UTF-8"),
    ("LANGUAGE", "C.UTF-8"),
];

#[derive(Clone)]
struct Opts {
    apt_get: String,
    state: String,
    packages: Vec<String>,
    all_installed: bool,
    deb: Option<String>,
    upgrade: Option<String>,
    default_release: Option<String>,
    install_recommends: Option<bool>,
    force: bool,
    purge: bool,
    dpkg_options_raw: String,
    dpkg_options: String,
    autoremove: bool,
    autoclean: bool,
    fail_on_autoremove: bool,
    only_upgrade: bool,
    clean: bool,
    allow_unauthenticated: bool,
    allow_downgrade: bool,
    allow_change_held: bool,
    policy_rc_d: Option<i64>,
    lock_timeout: i64,
    update_cache: bool,
    cache_valid_time: i64,
    update_retries: i64,
    update_max_delay: i64,
    lists: PathBuf,
    stamp: PathBuf,
}

fn expand_dpkg_options(s: &str) -> String {
    let mut out = String::new();
    for o in s.split(',') {
        out = format!("{out} -o \"Dpkg::Options::=--{o}\"");
    }
    out
}

impl Opts {
    fn from(ctx: &Context<'_>) -> Result<Self, ModuleError> {
        let a: &Args = &ctx.args;
        let apt_get = c::require_bin(ctx, "apt-get")?
            .to_string_lossy()
            .into_owned();
        let raw = a.list("package");
        let packages = raw
            .iter()
            .filter(|p| p.as_str() != "*")
            .map(|p| p.trim().to_owned())
            .collect();
        let dpkg_options_raw = a
            .str("dpkg_options")
            .unwrap_or("force-confdef,force-confold")
            .to_owned();
        Ok(Opts {
            apt_get,
            state: a.str("state").unwrap_or("present").to_owned(),
            packages,
            all_installed: raw.iter().any(|p| p == "*"),
            deb: a.str("deb").map(str::to_owned),
            upgrade: a.str("upgrade").filter(|u| *u != "no").map(str::to_owned),
            default_release: a.str("default_release").map(str::to_owned),
            install_recommends: a.opt_bool("install_recommends"),
            force: a.bool("force"),
            purge: a.bool("purge"),
            dpkg_options: expand_dpkg_options(&dpkg_options_raw),
            dpkg_options_raw,
            autoremove: a.bool("autoremove"),
            autoclean: a.bool("autoclean"),
            fail_on_autoremove: a.bool("fail_on_autoremove"),
            only_upgrade: a.bool("only_upgrade"),
            clean: a.bool("clean"),
            allow_unauthenticated: a.bool("allow_unauthenticated"),
            allow_downgrade: a.bool("allow_downgrade"),
            allow_change_held: a.bool("allow_change_held_packages"),
            policy_rc_d: a.int("policy_rc_d"),
            lock_timeout: a.int("lock_timeout").unwrap_or(60),
            update_cache: a.bool("update_cache"),
            cache_valid_time: a.int("cache_valid_time").unwrap_or(0),
            update_retries: a.int("update_cache_retries").unwrap_or(5),
            update_max_delay: a.int("update_cache_retry_max_delay").unwrap_or(12),
            lists: PathBuf::from(a.str("_apt_lists").unwrap_or(LISTS)),
            stamp: PathBuf::from(a.str("_apt_stamp").unwrap_or(STAMP)),
        })
    }
}

// ------------------------------------------------------------ queries

/// What dpkg knows of an installed (or half-removed) package.
struct Installed {
    installed: bool,
    version: Option<String>,
    /// Files left on disk (configuration of a removed package).
    has_files: bool,
}

fn dpkg_status(ctx: &Context<'_>, name: &str) -> Installed {
    let out = c::run(
        ctx,
        &[
            "dpkg-query".into(),
            "-W".into(),
            "-f=${db:Status-Abbrev}\t${Version}\n".into(),
            name.into(),
        ],
        APT_ENV,
        None,
    );
    let line = out.stdout.lines().next().unwrap_or("");
    let (abbrev, version) = line.split_once('\t').unwrap_or((line, ""));
    let abbrev = abbrev.trim();
    let installed = out.rc == 0 && abbrev.len() >= 2 && &abbrev[1..2] == "i";
    Installed {
        installed,
        version: (installed && !version.is_empty()).then(|| version.to_owned()),
        has_files: out.rc == 0 && !abbrev.is_empty() && &abbrev[1..2] != "n",
    }
}

/// `apt-cache policy NAME`: the candidate and every version, best first;
/// `None` when apt knows no versions of the name.
struct Policy {
    candidate: Option<String>,
    versions: Vec<String>,
}

fn policy(ctx: &Context<'_>, name: &str, release: Option<&str>) -> Option<Policy> {
    let mut argv = vec!["apt-cache".to_owned()];
    if let Some(r) = release {
        argv.push("-o".into());
        argv.push(format!("APT::Default-Release={r}"));
    }
    argv.push("policy".into());
    argv.push(name.into());
    let out = c::run(ctx, &argv, APT_ENV, None);
    let mut candidate = None;
    let mut versions = Vec::new();
    let mut in_table = false;
    for l in out.stdout.lines() {
        let t = l.trim();
        if let Some(v) = t.strip_prefix("Candidate:") {
            let v = v.trim();
            if v != "(none)" {
                candidate = Some(v.to_owned());
            }
        } else if t == "Version table:" {
            in_table = true;
        } else if in_table {
            let indent = l.len() - l.trim_start().len();
            let v = if let Some(rest) = l.strip_prefix(" *** ") {
                Some(rest)
            } else if indent == 5 {
                Some(t)
            } else {
                None
            };
            if let Some(v) = v.and_then(|v| v.split_whitespace().next()) {
                versions.push(v.to_owned());
            }
        }
    }
    (!versions.is_empty()).then_some(Policy {
        candidate,
        versions,
    })
}

/// Packages providing a virtual name (`apt-cache showpkg`'s Reverse Provides).
fn providers(ctx: &Context<'_>, name: &str) -> Vec<String> {
    let out = c::run(
        ctx,
        &["apt-cache".into(), "showpkg".into(), name.into()],
        APT_ENV,
        None,
    );
    let mut found = Vec::new();
    let mut on = false;
    for l in out.stdout.lines() {
        if l.starts_with("Reverse Provides:") {
            on = true;
        } else if on {
            if let Some(p) = l.split_whitespace().next() {
                if !found.contains(&p.to_owned()) {
                    found.push(p.to_owned());
                }
            }
        }
    }
    found
}

fn package_split(spec: &str) -> (String, Option<&'static str>, Option<String>) {
    if let Some(i) = spec.find('=') {
        if i > 0 && spec.as_bytes()[i - 1] == b'>' {
            return (
                spec[..i - 1].to_owned(),
                Some(">="),
                Some(spec[i + 1..].to_owned()),
            );
        }
        return (
            spec[..i].to_owned(),
            Some("="),
            Some(spec[i + 1..].to_owned()),
        );
    }
    (spec.to_owned(), None, None)
}

/// What `package_status` returns: (installed, installed version matches,
/// version to install — `Some("")` for "let apt choose", has files).
struct Status {
    installed: bool,
    version_ok: bool,
    installable: Option<String>,
    has_files: bool,
}

const LET_APT_CHOOSE: &str = "";

fn package_status(
    ctx: &Context<'_>,
    name: &str,
    cmp: Option<&str>,
    version: Option<&str>,
    release: Option<&str>,
    install: bool,
) -> Result<Status, ModuleError> {
    let Some(pol) = policy(ctx, name, release) else {
        if !install {
            return Ok(Status {
                installed: false,
                version_ok: false,
                installable: None,
                has_files: false,
            });
        }
        let provs = providers(ctx, name);
        if provs.is_empty() {
            return Err(ModuleError::failed(format!(
                "No package matching '{name}' is available"
            )));
        }
        if provs.len() == 1 {
            let st = package_status(ctx, &provs[0], cmp, version, release, true)?;
            if st.installed {
                return Ok(st);
            }
        }
        return Ok(Status {
            installed: false,
            version_ok: false,
            installable: Some(LET_APT_CHOOSE.into()),
            has_files: false,
        });
    };
    let inst = dpkg_status(ctx, name);
    let best = match cmp {
        // A version pin outranks every other: the best matching version.
        Some("=") => {
            let v = version.unwrap_or("");
            pol.versions.iter().find(|x| c::fnmatch(x, v)).cloned()
        }
        _ => pol.candidate.clone(),
    };
    let mut st = Status {
        installed: inst.installed,
        version_ok: false,
        installable: None,
        has_files: inst.has_files,
    };
    if let Some(iv) = inst.version.filter(|_| inst.installed) {
        let differs = |b: &String| *b != iv;
        match (cmp, version) {
            (Some("="), Some(v)) => {
                st.version_ok = c::fnmatch(&iv, v);
                if let Some(b) = best.filter(|b| differs(b) && c::fnmatch(b, v)) {
                    st.installable = Some(b);
                }
            }
            (Some(">="), Some(v)) => {
                st.version_ok = c::deb_version_cmp(&iv, v).is_ge();
                if let Some(b) = best.filter(|b| differs(b) && c::deb_version_cmp(b, v).is_ge()) {
                    st.installable = Some(b);
                }
            }
            _ => {
                st.version_ok = true;
                if let Some(b) = best.filter(differs) {
                    st.installable = Some(b);
                }
            }
        }
    } else {
        st.installable = best;
    }
    Ok(st)
}

/// Expands fnmatch patterns in package names against apt's package list.
fn expand_fnmatches(ctx: &Context<'_>, specs: &[String]) -> Result<Vec<String>, ModuleError> {
    let mut names: Option<Vec<String>> = None;
    let mut out = Vec::new();
    for spec in specs {
        let (pat, _, _) = package_split(spec);
        if !"*?[]!".chars().any(|ch| pat.contains(ch)) {
            out.push(spec.clone());
            continue;
        }
        let all = names.get_or_insert_with(|| {
            let o = c::run(ctx, &["apt-cache".into(), "pkgnames".into()], APT_ENV, None);
            let mut v: Vec<String> = o.stdout.lines().map(str::to_owned).collect();
            v.sort();
            v
        });
        let matches: Vec<String> = all
            .iter()
            .filter(|n| pat.contains(':') || !n.contains(':'))
            .filter(|n| c::fnmatch(n, &pat))
            .cloned()
            .collect();
        if matches.is_empty() {
            return Err(ModuleError::failed(format!(
                "No package(s) matching '{pat}' available"
            )));
        }
        out.extend(matches);
    }
    Ok(out)
}

fn cache_mtime(o: &Opts) -> i64 {
    let md = std::fs::metadata(&o.stamp).or_else(|_| std::fs::metadata(&o.lists));
    md.ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Python's `parse_diff`: the lines apt prints between its state line and
/// the summary.
fn parse_diff(out: &str) -> Value {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map_or(0, |i| i + 1);
    let end = lines
        .iter()
        .position(|l| {
            let mut w = l.split(' ');
            let n = w.next().unwrap_or("");
            !n.is_empty()
                && n.chars().all(|ch| ch.is_ascii_digit())
                && matches!(
                    (w.next(), w.next()),
                    (Some("upgraded"), _)
                        | (Some("upgraded,"), _)
                        | (Some("packages"), Some("upgraded"))
                        | (Some("packages"), Some("upgraded,"))
                )
        })
        .map_or(lines.len(), |i| i + 1);
    let text = if start <= end {
        lines[start..end].join("\n")
    } else {
        String::new()
    };
    serde_json::json!({ "prepared": text })
}

// ------------------------------------------------------------ running

fn is_lock_error(err: &str) -> bool {
    err.contains("Could not get lock")
        || err.contains("Unable to acquire the dpkg frontend lock")
        || err.contains("Unable to lock the administration directory")
        || err.contains("Unable to lock directory")
}

/// Runs an apt/dpkg command line, waiting for the package locks up to
/// `lock_timeout` seconds as Ansible's retry loop does.
fn run_apt(ctx: &Context<'_>, o: &Opts, line: &str) -> Result<Output, ModuleError> {
    let deadline = Instant::now() + Duration::from_secs(o.lock_timeout.max(0) as u64);
    loop {
        let out = with_policy_rc_d(o, || c::run_line(ctx, line, APT_ENV))?;
        if out.rc != 0 && is_lock_error(&out.stderr) {
            if Instant::now() < deadline {
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            let why = out.stderr.lines().find(|l| is_lock_error(l)).unwrap_or("");
            return Err(ModuleError::failed(format!(
                "Failed to lock apt for exclusive operation: {}",
                why.trim()
            )));
        }
        return Ok(out);
    }
}

/// Ansible's `PolicyRcD` context: `/usr/sbin/policy-rc.d` exits with the
/// given code while the command runs; an existing file is put back after.
fn with_policy_rc_d<T>(o: &Opts, f: impl FnOnce() -> T) -> Result<T, ModuleError> {
    let Some(code) = o.policy_rc_d else {
        return Ok(f());
    };
    use std::os::unix::fs::PermissionsExt;
    let path = Path::new(POLICY_RC_D);
    let saved = std::fs::read(path).ok();
    let saved_mode = std::fs::metadata(path).ok().map(|m| m.permissions().mode());
    std::fs::write(path, format!("#!/bin/sh\nexit {code}\n"))
        .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)))
        .map_err(|_| ModuleError::failed("Failed to create or chmod /usr/sbin/policy-rc.d"))?;
    let r = f();
    let restored = match saved {
        Some(data) => std::fs::write(path, data).and_then(|_| {
            std::fs::set_permissions(
                path,
                std::fs::Permissions::from_mode(saved_mode.unwrap_or(0o755)),
            )
        }),
        None => std::fs::remove_file(path),
    };
    restored.map_err(|_| {
        ModuleError::failed("Fail to remove /usr/sbin/policy-rc.d (after package manipulation)")
    })?;
    Ok(r)
}

fn update_cache(ctx: &Context<'_>, o: &Opts) -> Result<(), ModuleError> {
    let mut err = String::new();
    let retries = o.update_retries.max(0);
    for attempt in 0..retries {
        let out = run_apt(ctx, o, &format!("{} update -q", o.apt_get))?;
        let failed_fetch = out
            .stderr
            .lines()
            .find(|l| l.starts_with("E:") || l.starts_with("W: Failed to fetch"));
        if out.rc == 0 && failed_fetch.is_none() {
            return Ok(());
        }
        err = failed_fetch
            .map(str::to_owned)
            .unwrap_or_else(|| out.stderr.trim().to_owned());
        let randomize = f64::from(now_secs().rem_euclid(1000) as u32) / 1000.0;
        let mut delay = 2f64.powi(attempt as i32) + randomize;
        if delay > o.update_max_delay as f64 {
            delay = o.update_max_delay as f64 + randomize;
        }
        std::thread::sleep(Duration::from_secs_f64(delay));
    }
    Err(ModuleError::failed(format!(
        "Failed to update apt cache after {retries} retries: {}",
        if err.is_empty() {
            "unknown reason"
        } else {
            &err
        }
    )))
}

/// One thing the module does after the cache update.
#[derive(Clone)]
enum Step {
    /// Nothing to run: this is the result.
    Nothing(ModuleResult),
    Upgrade(String),
    Deb(Vec<String>),
    Cleanup(&'static str),
    Install {
        /// Quoted specs as Ansible puts them on the command line.
        list: Vec<String>,
        names: Vec<String>,
        build_dep: bool,
        fixed: bool,
    },
    /// Nothing to install, but some named packages are marked as
    /// automatically installed: Ansible marks them manual.
    MarkManual(Vec<String>),
    Remove(Vec<String>),
}

fn flag(on: bool, s: &str) -> &str {
    if on {
        s
    } else {
        ""
    }
}

/// Decides the step with read-only queries, following Ansible's `main`.
fn decide(ctx: &Context<'_>, o: &Opts) -> Result<Step, ModuleError> {
    if let Some(mode) = &o.upgrade {
        return Ok(Step::Upgrade(mode.clone()));
    }
    if let Some(deb) = &o.deb {
        if o.state != "present" {
            return Err(ModuleError::failed("deb only supports state=present"));
        }
        return decide_deb(ctx, deb);
    }
    if o.state == "latest" && o.all_installed {
        if !o.packages.is_empty() {
            return Err(ModuleError::failed(
                "unable to install additional packages when upgrading all installed packages",
            ));
        }
        return Ok(Step::Upgrade("yes".into()));
    }
    for p in &o.packages {
        if p.matches('=').count() > 1 {
            return Err(ModuleError::failed(format!("invalid package spec: {p}")));
        }
    }
    if o.packages.is_empty() {
        if o.autoclean {
            return Ok(Step::Cleanup("autoclean"));
        }
        if o.autoremove {
            return Ok(Step::Cleanup("autoremove"));
        }
    }
    let specs = expand_fnmatches(ctx, &o.packages)?;
    if o.state == "absent" {
        let mut list = Vec::new();
        for spec in &specs {
            let (name, cmp, ver) = package_split(spec);
            let st = package_status(ctx, &name, cmp, ver.as_deref(), None, false)?;
            if st.version_ok || (st.has_files && o.purge) {
                list.push(format!("'{spec}'"));
            }
        }
        if list.is_empty() {
            return Ok(Step::Nothing(ModuleResult::ok()));
        }
        return Ok(Step::Remove(list));
    }
    let build_dep = o.state == "build-dep";
    let latest = o.state == "latest";
    let mut list = Vec::new();
    let mut names = Vec::new();
    for spec in &specs {
        if build_dep {
            list.push(format!("'{spec}'"));
            continue;
        }
        let (name, cmp, ver) = package_split(spec);
        names.push(name.clone());
        let st = package_status(
            ctx,
            &name,
            cmp,
            ver.as_deref(),
            o.default_release.as_deref(),
            true,
        )?;
        if !st.installed && o.only_upgrade {
            continue;
        }
        if !st.version_ok && st.installable.is_none() {
            return Err(ModuleError::failed(format!(
                "no available installation candidate for {spec}"
            )));
        }
        match &st.installable {
            Some(v) if (!st.installed && !o.only_upgrade) || latest || !st.version_ok => {
                if v != LET_APT_CHOOSE {
                    list.push(format!("'{name}={v}'"));
                } else if let Some(ver) = &ver {
                    list.push(format!("'{name}={ver}'"));
                } else {
                    list.push(format!("'{name}'"));
                }
            }
            Some(_) if st.version_ok && cmp == Some("=") => {
                list.push(format!("'{name}={}'", ver.clone().unwrap_or_default()));
            }
            _ => {}
        }
    }
    if list.is_empty() {
        if !build_dep && !names.is_empty() {
            let auto = auto_installed(ctx, &names);
            if !auto.is_empty() {
                return Ok(Step::MarkManual(names));
            }
        }
        return Ok(Step::Nothing(ModuleResult::ok()));
    }
    Ok(Step::Install {
        list,
        names,
        build_dep,
        fixed: o.state == "fixed",
    })
}

/// The named packages apt has marked as automatically installed.
fn auto_installed(ctx: &Context<'_>, names: &[String]) -> Vec<String> {
    let mut argv = vec!["apt-mark".to_owned(), "showauto".to_owned()];
    argv.extend(names.iter().cloned());
    let out = c::run(ctx, &argv, APT_ENV, None);
    out.stdout
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn deb_field(ctx: &Context<'_>, file: &str, field: &str) -> Result<String, ModuleError> {
    let out = c::run(
        ctx,
        &["dpkg".into(), "--field".into(), file.into(), field.into()],
        APT_ENV,
        None,
    );
    if out.rc != 0 {
        return Err(c::fail_with(
            format!("{field} failed"),
            &[
                ("stdout", out.stdout.into()),
                ("stderr", out.stderr.clone().into()),
                ("rc", out.rc.into()),
            ],
        ));
    }
    Ok(out.stdout.trim().to_owned())
}

fn decide_deb(ctx: &Context<'_>, debs: &str) -> Result<Step, ModuleError> {
    let mut files = Vec::new();
    for f in debs.split(',') {
        if f.contains("://") {
            return Err(ModuleError::failed(format!(
                "Unable to install package: downloading {f} is not supported by rustle (no network fetch); copy the .deb to the host first"
            )));
        }
        let path = ctx.expand_path(f).to_string_lossy().into_owned();
        if !Path::new(&path).is_file() {
            return Err(ModuleError::failed(format!(
                "Unable to install package: could not open file {path}"
            )));
        }
        let name = deb_field(ctx, &path, "Package")?;
        let version = deb_field(ctx, &path, "Version")?;
        let foreign = c::run(
            ctx,
            &["dpkg".into(), "--print-foreign-architectures".into()],
            APT_ENV,
            None,
        );
        let key = if foreign.stdout.trim().is_empty() {
            name
        } else {
            format!("{name}:{}", deb_field(ctx, &path, "Architecture")?)
        };
        let inst = dpkg_status(ctx, &key);
        if inst
            .version
            .is_some_and(|iv| c::deb_version_cmp(&version, &iv).is_eq())
        {
            continue;
        }
        files.push(path);
    }
    if files.is_empty() {
        let mut r = ModuleResult::ok();
        r.set("stdout", "");
        r.set("stderr", "");
        r.set("diff", "");
        return Ok(Step::Nothing(r));
    }
    Ok(Step::Deb(files))
}

fn output_failure(msg: String, out: &Output, with_rc: bool, with_err: bool) -> ModuleError {
    let mut keys = vec![("stdout", Value::from(out.stdout.clone()))];
    if with_err {
        keys.push(("stderr", out.stderr.clone().into()));
    }
    if with_rc {
        keys.push(("rc", out.rc.into()));
    }
    c::fail_with(msg, &keys)
}

/// Runs a step (simulated with `--simulate` when `sim`), returning
/// Ansible's result for it.
fn execute(
    ctx: &Context<'_>,
    o: &Opts,
    step: &Step,
    sim: bool,
) -> Result<ModuleResult, ModuleError> {
    let check_arg = flag(sim, "--simulate");
    let force_yes = flag(o.force, "--force-yes");
    let autoremove = flag(o.autoremove, "--auto-remove");
    let fail_on_ar = flag(o.fail_on_autoremove, "--no-remove");
    match step {
        Step::Nothing(r) => Ok(r.clone()),
        Step::Upgrade(mode) => {
            let sub = if mode == "dist" || mode == "full" {
                format!("dist-upgrade {autoremove}")
            } else {
                format!("upgrade --with-new-pkgs {autoremove}")
            };
            let mut line = format!(
                "{} -y {} {} {} {} {} {} {}",
                o.apt_get,
                o.dpkg_options,
                force_yes,
                fail_on_ar,
                flag(o.allow_unauthenticated, "--allow-unauthenticated"),
                flag(o.allow_downgrade, "--allow-downgrades"),
                check_arg,
                sub
            );
            if let Some(r) = &o.default_release {
                line.push_str(&format!(" -t '{r}'"));
            }
            let out = run_apt(ctx, o, &line)?;
            if out.rc != 0 {
                return Err(output_failure(
                    format!("'{} {}' failed: {}", o.apt_get, sub, out.stderr),
                    &out,
                    true,
                    false,
                ));
            }
            let mut r = ModuleResult::ok().with_msg(out.stdout.clone());
            r.changed = !out.stdout.contains(APT_GET_ZERO);
            if r.changed {
                r.set("diff", parse_diff(&out.stdout));
            }
            r.set("stdout", out.stdout);
            r.set("stderr", out.stderr);
            Ok(r)
        }
        Step::Cleanup(op) => {
            let line = format!(
                "{} -y {} {} {} {} {}",
                o.apt_get,
                o.dpkg_options,
                flag(o.purge, "--purge"),
                force_yes,
                op,
                check_arg
            );
            let out = run_apt(ctx, o, &line)?;
            if out.rc != 0 {
                return Err(output_failure(
                    format!("'apt-get {op}' failed: {}", out.stderr),
                    &out,
                    true,
                    true,
                ));
            }
            let marker = if *op == "autoremove" {
                "The following packages will be REMOVED"
            } else {
                "Del "
            };
            let mut r = ModuleResult::ok();
            r.changed = out.stdout.contains(marker);
            r.set("diff", parse_diff(&out.stdout));
            r.set("stdout", out.stdout);
            r.set("stderr", out.stderr);
            Ok(r)
        }
        Step::Deb(files) => {
            let mut options: String = o
                .dpkg_options_raw
                .split(',')
                .map(|x| format!("--{x}"))
                .collect::<Vec<_>>()
                .join(" ");
            if sim {
                options.push_str(" --simulate");
            }
            if o.force {
                options.push_str(" --force-all");
            }
            let line = format!("dpkg {options} -i {}", files.join(" "));
            let out = run_apt(ctx, o, &line)?;
            if out.rc != 0 {
                return Err(output_failure(format!("{line} failed"), &out, false, true));
            }
            let mut r = ModuleResult::changed();
            r.set("diff", parse_diff(&out.stdout));
            r.set("stdout", out.stdout);
            r.set("stderr", out.stderr);
            Ok(r)
        }
        Step::Remove(list) => {
            let packages = list.join(" ");
            let line = format!(
                "{} -q -y {} {} {} {} {} {} remove {}",
                o.apt_get,
                o.dpkg_options,
                flag(o.purge, "--purge"),
                force_yes,
                autoremove,
                check_arg,
                flag(o.allow_change_held, "--allow-change-held-packages"),
                packages
            );
            let out = run_apt(ctx, o, &line)?;
            if out.rc != 0 {
                return Err(output_failure(
                    format!("'apt-get remove {packages}' failed: {}", out.stderr),
                    &out,
                    true,
                    true,
                ));
            }
            let mut r = ModuleResult::changed();
            r.set("diff", parse_diff(&out.stdout));
            r.set("stdout", out.stdout);
            r.set("stderr", out.stderr);
            Ok(r)
        }
        Step::MarkManual(names) => {
            if !sim {
                mark_manual(ctx, names)?;
            }
            Ok(ModuleResult::ok())
        }
        Step::Install {
            list,
            names,
            build_dep,
            fixed,
            ..
        } => {
            let packages = list.join(" ");
            let mut line = if *build_dep {
                format!(
                    "{} -y {} {} {} {} {} {} build-dep {}",
                    o.apt_get,
                    o.dpkg_options,
                    flag(o.only_upgrade, "--only-upgrade"),
                    flag(*fixed, "--fix-broken"),
                    force_yes,
                    fail_on_ar,
                    check_arg,
                    packages
                )
            } else {
                format!(
                    "{} -y {} {} {} {} {} {} {} install {}",
                    o.apt_get,
                    o.dpkg_options,
                    flag(o.only_upgrade, "--only-upgrade"),
                    flag(*fixed, "--fix-broken"),
                    force_yes,
                    autoremove,
                    fail_on_ar,
                    check_arg,
                    packages
                )
            };
            if let Some(r) = &o.default_release {
                line.push_str(&format!(" -t '{r}'"));
            }
            match o.install_recommends {
                Some(false) => line.push_str(" -o APT::Install-Recommends=no"),
                Some(true) => line.push_str(" -o APT::Install-Recommends=yes"),
                None => {}
            }
            if o.allow_unauthenticated {
                line.push_str(" --allow-unauthenticated");
            }
            if o.allow_downgrade {
                line.push_str(" --allow-downgrades");
            }
            if o.allow_change_held {
                line.push_str(" --allow-change-held-packages");
            }
            let out = run_apt(ctx, o, &line)?;
            if out.rc != 0 {
                return Err(output_failure(
                    format!("'{line}' failed: {}", out.stderr),
                    &out,
                    true,
                    true,
                ));
            }
            let mut r = ModuleResult::ok();
            r.changed = !*build_dep || !out.stdout.contains(APT_GET_ZERO);
            r.set("diff", parse_diff(&out.stdout));
            r.set("stdout", out.stdout);
            r.set("stderr", out.stderr);
            if !*build_dep && !sim {
                mark_manual(ctx, names)?;
            }
            Ok(r)
        }
    }
}

fn mark_manual(ctx: &Context<'_>, names: &[String]) -> Result<(), ModuleError> {
    if names.is_empty() {
        return Ok(());
    }
    let Some(bin) = c::find_bin(ctx, "apt-mark") else {
        return Ok(());
    };
    let line = format!("{} manual {}", bin.display(), names.join(" "));
    let out = c::run_line(ctx, &line, APT_ENV);
    if out.rc != 0 {
        return Err(output_failure(
            format!("'{line}' failed: {}", out.stderr),
            &out,
            true,
            true,
        ));
    }
    Ok(())
}

/// Whether the step reports the cache keys (install-like states do).
fn with_cache_keys(o: &Opts, step: &Step) -> bool {
    match step {
        Step::Install { .. } | Step::MarkManual(_) => true,
        Step::Nothing(_) => o.upgrade.is_none() && o.deb.is_none() && o.state != "absent",
        _ => false,
    }
}

fn add_cache_keys(mut r: ModuleResult, updated: bool, time: i64) -> ModuleResult {
    r.set("cache_updated", updated);
    r.set("cache_update_time", time);
    r
}

fn add_cache_keys_err(e: ModuleError, updated: bool, time: i64) -> ModuleError {
    match e {
        ModuleError::Failed { msg, mut extra } => {
            extra.insert("cache_updated".into(), updated.into());
            extra.insert("cache_update_time".into(), time.into());
            ModuleError::Failed { msg, extra }
        }
        other => other,
    }
}

/// Runs (or simulates) the step and adds the cache keys where Ansible does.
fn finish(
    ctx: &Context<'_>,
    o: &Opts,
    step: &Step,
    sim: bool,
    updated: bool,
    time: i64,
) -> Result<ModuleResult, ModuleError> {
    let keys = with_cache_keys(o, step);
    match execute(ctx, o, step, sim) {
        Ok(r) if keys => Ok(add_cache_keys(r, updated, time)),
        Ok(r) => Ok(r),
        Err(e) if keys => Err(add_cache_keys_err(e, updated, time)),
        Err(e) => Err(e),
    }
}

/// Whether running the step can change anything, decided without running it.
fn step_changes(step: &Step) -> Option<bool> {
    match step {
        Step::Nothing(_) => Some(false),
        Step::MarkManual(_) => Some(false),
        Step::Install { build_dep, .. } if !*build_dep => Some(true),
        Step::Remove(_) | Step::Deb(_) => Some(true),
        // Only apt's own simulation tells.
        _ => None,
    }
}

fn clean(ctx: &Context<'_>) -> Result<ModuleResult, ModuleError> {
    let out = c::run(ctx, &["apt-get".into(), "clean".into()], APT_ENV, None);
    if out.rc != 0 {
        return Err(c::fail_with(
            "apt-get clean failed",
            &[("stdout", out.stdout.into()), ("rc", out.rc.into())],
        ));
    }
    if !out.stderr.is_empty() {
        return Err(c::fail_with(
            format!("apt-get clean failed: {}", out.stderr),
            &[("stdout", out.stdout.into()), ("rc", out.rc.into())],
        ));
    }
    let mut r = ModuleResult::changed().with_msg(out.stdout.clone());
    r.set("diff", parse_diff(&out.stdout));
    r.set("stdout", out.stdout);
    r.set("stderr", out.stderr);
    Ok(r)
}

impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }
    fn description(&self) -> &'static str {
        "Manage apt packages"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: true,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let o = Opts::from(ctx)?;
        let nothing_else =
            o.packages.is_empty() && !o.all_installed && o.upgrade.is_none() && o.deb.is_none();
        if o.clean && nothing_else {
            let mut predicted = ModuleResult::changed();
            predicted.set("diff", serde_json::json!({ "prepared": "" }));
            return Ok(Check::Change {
                predicted,
                action: action(|ctx: &Context<'_>| clean(ctx)),
            });
        }
        let mtime = cache_mtime(&o);
        let wants_update = o.update_cache || o.cache_valid_time != 0;
        let needs_update = wants_update && mtime + o.cache_valid_time < now_secs();
        if wants_update && nothing_else {
            let r = add_cache_keys(ModuleResult::ok(), needs_update, mtime);
            if !needs_update {
                return Ok(Check::Done(r));
            }
            let mut predicted = r;
            predicted.changed = true;
            let clean_first = o.clean;
            return Ok(Check::Change {
                predicted,
                action: action(move |ctx: &Context<'_>| {
                    if clean_first {
                        clean(ctx)?;
                    }
                    update_cache(ctx, &o)?;
                    let after = cache_mtime(&o);
                    let updated = after != mtime;
                    let mut r = add_cache_keys(ModuleResult::ok(), updated, after);
                    r.changed = updated;
                    Ok(r)
                }),
            });
        }
        let step = decide(ctx, &o).map_err(|e| match e {
            // install() returns this one with the cache keys.
            ModuleError::Failed { ref msg, .. }
                if msg.starts_with("no available installation candidate") =>
            {
                add_cache_keys_err(e, false, mtime)
            }
            other => other,
        })?;
        let changes = match step_changes(&step) {
            Some(c) => c,
            None => execute(ctx, &o, &step, true)?.changed,
        };
        let marks = matches!(step, Step::MarkManual(_));
        if !changes && !needs_update && !marks && !o.clean {
            return Ok(Check::Done(finish(ctx, &o, &step, true, false, mtime)?));
        }
        let predicted = if ctx.check_mode {
            finish(ctx, &o, &step, true, needs_update, mtime)?
        } else {
            let mut r = ModuleResult::ok();
            r.changed = changes;
            r
        };
        let clean_first = o.clean;
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| {
                if clean_first {
                    clean(ctx)?;
                }
                let (updated, time, step) = if needs_update {
                    update_cache(ctx, &o)?;
                    let after = cache_mtime(&o);
                    // Candidates may have changed with the new lists.
                    (after != mtime, after, decide(ctx, &o)?)
                } else {
                    (false, mtime, step)
                };
                finish(ctx, &o, &step, false, updated, time)
            }),
        })
    }
}

const NOTES: &str = r#"Runs `apt-get`, `apt-cache`, `apt-mark`, `dpkg-query` and `dpkg` (with
`DEBIAN_FRONTEND=noninteractive` and a C.UTF-8 locale) where Ansible's module uses python-apt
for the read-only queries; the commands that change the system are Ansible's, with the same
arguments (so `msg` of a failure quotes the same command line).

Results: `changed`, `stdout`, `stderr`, `diff` (`{"prepared": ...}`, apt's summary of what it
does), and for `state=present|latest|build-dep|fixed` also `cache_updated` and
`cache_update_time` (the Unix time of `/var/lib/apt/periodic/update-success-stamp`, else of
`/var/lib/apt/lists`). `upgrade` returns apt's output as `msg` too; `state=absent` with nothing
to remove returns just `changed: false`. A cache update alone returns `changed` (the cache time
moved), `cache_updated`, `cache_update_time`.

Failures (Ansible's wording): `No package matching 'x' is available`, `No package(s) matching
'x*' available`, `no available installation candidate for x=1.0`, `invalid package spec: x`,
`deb only supports state=present`, `unable to install additional packages when upgrading all
installed packages`, `'<command line>' failed: <stderr>` (with `stdout`, `stderr`, `rc`),
`'apt-get remove 'x'' failed: ...`, `Failed to update apt cache after N retries: ...`,
`Failed to lock apt for exclusive operation: ...` once `lock_timeout` has passed (the command is
retried every second while apt or dpkg holds its lock).

Package specs: `name`, `name=version` (the version may be an fnmatch pattern: the best version
matching it is installed), `name>=version`, and fnmatch patterns in names (`libfoo*`, matched
against `apt-cache pkgnames`; names with `:arch` only when the pattern has one). A virtual
package provided by exactly one installed package counts as installed. Packages already installed
but marked automatically installed are marked manual (`apt-mark manual`), as Ansible does, with
`changed: false`.

Check mode: full. Nothing is changed; as in Ansible, the command is run with `--simulate` and
its output is returned (`stdout`, `diff`), and a cache update that would happen reports
`cache_updated: true`. Outside check mode, `upgrade`, `autoremove`, `autoclean` and `build-dep`
are first simulated to learn whether anything would change. Diff: yes (`prepared`).

Differences from Ansible: aptitude is never used (`force_apt_get` is accepted; `upgrade=yes`,
`safe` and `full` run apt-get, as Ansible does without aptitude installed); `deb` accepts local
files only (a URL fails: the runner fetches nothing), and a `.deb`'s missing dependencies and
recommends are not installed first (dpkg fails instead); `cache_update_time` is an integer Unix
time as in Ansible; without `--diff` Ansible's result still carries an empty `diff: {}`,
Rustle's has no `diff` key (the executor drops diffs when diff mode is off); the cache update retries on any `E:` or `Failed to fetch` line from
`apt-get update`.

Tests: conformance cases run with fake `apt-get`/`apt-cache`/`dpkg-query` executables on `PATH`
(`runner/tests/cases/apt/`); root-only conformance and differential cases (`mod_apt_*`) install
and remove the real tiny package `sl` and update the real cache, compared with ansible-playbook.
"#;
