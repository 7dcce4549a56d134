//! `dnf` (and `yum`, which ansible-core 2.18 runs as dnf): RPM packages
//! through the `dnf` and `rpm` command lines, with the results and
//! messages of Ansible's module (which uses the dnf Python API).

use serde_json::Value;

use super::common::{self as c};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Dnf;
pub struct Yum;

static ARGS: [ArgDef; 24] = [
    ArgDef::new("name", ArgType::List)
        .aliases(&["pkg"])
        .doc("Package specs (`name`, `name-1.0`, `name >= 1.0` is not supported), or `*` with `state=latest`."),
    ArgDef::new("state", ArgType::Str)
        .choices(&["absent", "installed", "latest", "present", "removed"])
        .doc("Desired state (default `present`, or `absent` with `autoremove`)."),
    ArgDef::new("update_cache", ArgType::Bool)
        .aliases(&["expire-cache"])
        .default(ArgDefault::Bool(false))
        .doc("Refresh the metadata first (`--refresh`; `dnf makecache` alone)."),
    ArgDef::new("allow_downgrade", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Allow installing an older version than installed."),
    ArgDef::new("allowerasing", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--allowerasing`."),
    ArgDef::new("autoremove", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Remove leaf packages no longer needed."),
    ArgDef::new("best", ArgType::Bool).doc("Pass `--best`."),
    ArgDef::new("nobest", ArgType::Bool).doc("Pass `--nobest`."),
    ArgDef::new("bugfix", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("With `latest`, only bugfix updates (`--bugfix`)."),
    ArgDef::new("security", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("With `latest`, only security updates (`--security`)."),
    ArgDef::new("cacheonly", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Use the cache only (`--cacheonly`)."),
    ArgDef::new("conf_file", ArgType::Str).doc("dnf configuration file (`--config`)."),
    ArgDef::new("disable_excludes", ArgType::Str).doc("`--disableexcludes`."),
    ArgDef::new("disable_gpg_check", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--nogpgcheck`."),
    ArgDef::new("disablerepo", ArgType::List).doc("Repositories to disable."),
    ArgDef::new("enablerepo", ArgType::List).doc("Repositories to enable."),
    ArgDef::new("exclude", ArgType::List).doc("Packages to exclude."),
    ArgDef::new("download_only", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Only download (`--downloadonly`)."),
    ArgDef::new("download_dir", ArgType::Str).doc("Where to download (`--downloaddir`)."),
    ArgDef::new("install_weak_deps", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Install weak dependencies."),
    ArgDef::new("installroot", ArgType::Str)
        .default(ArgDefault::Str("/"))
        .doc("Alternative root (`--installroot`)."),
    ArgDef::new("releasever", ArgType::Str).doc("`--releasever`."),
    ArgDef::new("skip_broken", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `--skip-broken`."),
    ArgDef::new("update_only", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("With `latest`, only upgrade installed packages."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS)
    .required_one_of(&[&["name", "update_cache"]])
    .mutually_exclusive(&[&["best", "nobest"]]);

struct Opts {
    dnf: String,
    common: Vec<String>,
    installroot: String,
}

fn opts(ctx: &Context<'_>) -> Result<Opts, ModuleError> {
    let a: &Args = &ctx.args;
    let dnf = c::find_bin(ctx, "dnf")
        .or_else(|| c::find_bin(ctx, "dnf5"))
        .or_else(|| c::find_bin(ctx, "yum"))
        .ok_or_else(|| ModuleError::failed("Failed to find required executable \"dnf\""))?
        .to_string_lossy()
        .into_owned();
    let mut common: Vec<String> = vec!["-y".into()];
    if let Some(f) = a.str("conf_file") {
        common.push(format!("--config={f}"));
    }
    for r in a.list("disablerepo") {
        common.push(format!("--disablerepo={r}"));
    }
    for r in a.list("enablerepo") {
        common.push(format!("--enablerepo={r}"));
    }
    for x in a.list("exclude") {
        common.push(format!("--exclude={x}"));
    }
    let flags = [
        ("disable_gpg_check", "--nogpgcheck"),
        ("allowerasing", "--allowerasing"),
        ("skip_broken", "--skip-broken"),
        ("cacheonly", "--cacheonly"),
        ("download_only", "--downloadonly"),
        ("security", "--security"),
        ("bugfix", "--bugfix"),
    ];
    for (k, f) in flags {
        if a.bool(k) {
            common.push(f.into());
        }
    }
    match (a.opt_bool("best"), a.opt_bool("nobest")) {
        (Some(true), _) | (_, Some(false)) => common.push("--best".into()),
        (Some(false), _) | (_, Some(true)) => common.push("--nobest".into()),
        _ => {}
    }
    if let Some(d) = a.str("disable_excludes") {
        common.push(format!("--disableexcludes={d}"));
    }
    if let Some(d) = a.str("download_dir") {
        common.push(format!("--downloaddir={d}"));
    }
    if !a.bool("install_weak_deps") {
        common.push("--setopt=install_weak_deps=False".into());
    }
    if let Some(r) = a.str("releasever") {
        common.push(format!("--releasever={r}"));
    }
    let installroot = a.str("installroot").unwrap_or("/").to_owned();
    if installroot != "/" {
        common.push(format!("--installroot={installroot}"));
    }
    Ok(Opts {
        dnf,
        common,
        installroot,
    })
}

/// Whether rpm knows `spec` as installed.
fn installed(ctx: &Context<'_>, o: &Opts, spec: &str) -> bool {
    let mut argv = vec!["rpm".to_owned(), "-q".to_owned()];
    if o.installroot != "/" {
        argv.extend(["--root".into(), o.installroot.clone()]);
    }
    argv.push(spec.into());
    c::run(ctx, &argv, &[("LC_ALL", "C")], None).rc == 0
}

/// The installed package's `name-[epoch:]version-release.arch`, as dnf
/// prints packages.
fn nevra(ctx: &Context<'_>, o: &Opts, spec: &str) -> String {
    let mut argv = vec!["rpm".to_owned(), "-q".to_owned()];
    if o.installroot != "/" {
        argv.extend(["--root".into(), o.installroot.clone()]);
    }
    argv.extend([
        "--qf".into(),
        "%{NAME}-%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}.%{ARCH}\\n".into(),
        spec.into(),
    ]);
    let out = c::run(ctx, &argv, &[("LC_ALL", "C")], None);
    out.stdout
        .lines()
        .next()
        .map_or_else(|| spec.to_owned(), |l| l.trim().to_owned())
}

fn dnf_run(ctx: &Context<'_>, o: &Opts, verb: &[&str], specs: &[String]) -> c::Output {
    let mut argv = vec![o.dnf.clone()];
    argv.extend(o.common.iter().cloned());
    argv.extend(verb.iter().map(|s| (*s).to_owned()));
    argv.extend(specs.iter().cloned());
    c::run(ctx, &argv, &[("LC_ALL", "C")], None)
}

fn available(ctx: &Context<'_>, o: &Opts, spec: &str) -> bool {
    let mut argv = vec![o.dnf.clone()];
    argv.extend(o.common.iter().filter(|x| *x != "-y").cloned());
    argv.extend([
        "-q".into(),
        "list".into(),
        "--available".into(),
        spec.into(),
    ]);
    c::run(ctx, &argv, &[("LC_ALL", "C")], None).rc == 0
}

fn has_update(ctx: &Context<'_>, o: &Opts, spec: &str) -> bool {
    let mut argv = vec![o.dnf.clone()];
    argv.extend(o.common.iter().filter(|x| *x != "-y").cloned());
    argv.extend(["-q".into(), "check-update".into(), spec.into()]);
    c::run(ctx, &argv, &[("LC_ALL", "C")], None).rc == 100
}

fn response(changed: bool, msg: &str, results: Vec<String>) -> ModuleResult {
    let mut r = ModuleResult::ok().with_msg(msg);
    r.changed = changed;
    r.set("results", results);
    r.set("rc", 0);
    r
}

fn failure(msg: &str, failures: Vec<String>) -> ModuleError {
    c::fail_with(
        msg,
        &[
            ("failures", Value::from(failures)),
            ("results", Value::Array(Vec::new())),
            ("rc", Value::from(1)),
        ],
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Verb {
    Install,
    Upgrade,
    Remove,
}

fn check(ctx: &Context<'_>) -> Result<Check, ModuleError> {
    let a: &Args = &ctx.args;
    let o = opts(ctx)?;
    let names: Vec<String> = a
        .list("name")
        .into_iter()
        .map(|n| n.trim().to_owned())
        .collect();
    let update_cache = a.bool("update_cache");
    let state = match a.str("state") {
        Some("installed") => "present",
        Some("removed") => "absent",
        Some(s) => s,
        None if a.bool("autoremove") => "absent",
        None => "present",
    }
    .to_owned();
    if names.is_empty() {
        if update_cache {
            if ctx.check_mode {
                return Ok(Check::Done(response(false, "Cache updated", Vec::new())));
            }
            let out = dnf_run(ctx, &o, &["makecache"], &[]);
            if out.rc != 0 {
                return Err(ModuleError::failed(format!(
                    "Failed to synchronize repodata: {}",
                    out.stderr.trim()
                )));
            }
            return Ok(Check::Done(response(false, "Cache updated", Vec::new())));
        }
        return Ok(Check::Done(response(false, "Nothing to do", Vec::new())));
    }
    let mut install = Vec::new();
    let mut upgrade = Vec::new();
    let mut remove = Vec::new();
    let mut failures = Vec::new();
    let mut upgrade_all = false;
    for spec in &names {
        match state.as_str() {
            "absent" => {
                if installed(ctx, &o, spec) {
                    remove.push(spec.clone());
                }
            }
            "latest" if spec == "*" => upgrade_all = true,
            "latest" => {
                if installed(ctx, &o, spec) {
                    if has_update(ctx, &o, spec) {
                        upgrade.push(spec.clone());
                    }
                } else if !a.bool("update_only") {
                    if available(ctx, &o, spec) {
                        install.push(spec.clone());
                    } else {
                        failures.push(format!("No package {spec} available."));
                    }
                }
            }
            _ => {
                if !installed(ctx, &o, spec) {
                    if available(ctx, &o, spec) {
                        install.push(spec.clone());
                    } else {
                        failures.push(format!("No package {spec} available."));
                    }
                }
            }
        }
    }
    if !failures.is_empty() {
        return Err(failure(
            "Failed to install some of the specified packages",
            failures,
        ));
    }
    if upgrade_all {
        let mut argv = vec![o.dnf.clone()];
        argv.extend(o.common.iter().filter(|x| *x != "-y").cloned());
        argv.extend(["-q".into(), "check-update".into()]);
        if c::run(ctx, &argv, &[("LC_ALL", "C")], None).rc != 100 {
            return Ok(Check::Done(response(false, "Nothing to do", Vec::new())));
        }
    } else if install.is_empty() && upgrade.is_empty() && remove.is_empty() {
        return Ok(Check::Done(response(false, "Nothing to do", Vec::new())));
    }
    let mut planned: Vec<String> = install
        .iter()
        .chain(upgrade.iter())
        .map(|s| format!("Installed: {s}"))
        .collect();
    planned.extend(
        remove
            .iter()
            .map(|s| format!("Removed: {}", nevra(ctx, &o, s))),
    );
    let predicted = response(
        true,
        "Check mode: No changes made, but would have if not in check mode",
        planned,
    );
    let autoremove = a.bool("autoremove");
    let allow_downgrade = a.bool("allow_downgrade");
    let download_only = a.bool("download_only");
    let refresh = update_cache;
    Ok(Check::Change {
        predicted,
        action: action(move |ctx: &Context<'_>| {
            let mut o = o;
            if refresh {
                o.common.push("--refresh".into());
            }
            let mut results = Vec::new();
            let mut steps: Vec<(Verb, Vec<String>)> = Vec::new();
            if !install.is_empty() {
                steps.push((Verb::Install, install.clone()));
            }
            if upgrade_all || !upgrade.is_empty() {
                steps.push((Verb::Upgrade, upgrade.clone()));
            }
            if !remove.is_empty() {
                steps.push((Verb::Remove, remove.clone()));
            }
            // Removed packages are named before they go.
            let removed: Vec<String> = remove.iter().map(|s| nevra(ctx, &o, s)).collect();
            for (verb, specs) in &steps {
                let mut v: Vec<&str> = match verb {
                    Verb::Install if allow_downgrade => vec!["install", "--allowerasing"],
                    Verb::Install => vec!["install"],
                    Verb::Upgrade => vec!["upgrade"],
                    Verb::Remove => vec!["remove"],
                };
                if *verb == Verb::Remove && autoremove {
                    v.push("--setopt=clean_requirements_on_remove=True");
                }
                let out = dnf_run(ctx, &o, &v, specs);
                if out.rc != 0 {
                    let why = if out.stderr.trim().is_empty() {
                        out.stdout.trim().to_owned()
                    } else {
                        out.stderr.trim().to_owned()
                    };
                    return Err(failure(
                        "Failed to install some of the specified packages",
                        vec![why],
                    ));
                }
                let word = if download_only {
                    "Downloaded"
                } else {
                    "Installed"
                };
                match verb {
                    Verb::Remove => results.extend(removed.iter().map(|n| format!("Removed: {n}"))),
                    _ => results.extend(specs.iter().map(|s| {
                        let n = if download_only {
                            s.clone()
                        } else {
                            nevra(ctx, &o, s)
                        };
                        format!("{word}: {n}")
                    })),
                }
            }
            Ok(response(true, "", results))
        }),
    })
}

const NOTES: &str = r#"Runs the `dnf` command line (`dnf5` or `yum` when `dnf` is missing) and asks
`rpm -q` what is installed, where Ansible's module uses the dnf Python API. `state`: `present`
/`installed` installs what `rpm -q` does not find (after `dnf list --available` confirms it
exists), `latest` also upgrades what `dnf check-update` offers (`*` upgrades everything),
`absent`/`removed` removes what is installed. The command line carries the options
(`--enablerepo`, `--disablerepo`, `--exclude`, `--nogpgcheck`, `--allowerasing`, `--best`/
`--nobest`, `--skip-broken`, `--cacheonly`, `--downloadonly`, `--downloaddir`, `--security`,
`--bugfix`, `--releasever`, `--installroot`, `--config`, `--disableexcludes`,
`--setopt=install_weak_deps=False`, `--refresh` for `update_cache`).

Results (Ansible's keys): `changed`, `msg` (`""`, `Nothing to do`, `Cache updated`, `Check
mode: No changes made, but would have if not in check mode`), `results` (`Installed:
name-[epoch:]version-release.arch`, `Removed: ...`), `rc: 0`. Failures: `Failed to install some
of the specified packages` with `failures` (`No package X available.`, or dnf's error output),
`results: []`, `rc: 1`; `Failed to synchronize repodata: ...`.

Check mode: full; the planned `results` name the specs as given (Ansible names the resolved
packages, dependencies included). Diff: no.

Differences from Ansible: dependencies pulled in by dnf are not listed in `results`;
`list`, `lock_timeout`, `sslverify`/`validate_certs` and version comparisons in specs (`name >=
1.0`) are not supported (left out of the arguments). `yum` is the same module, as in
ansible-core 2.18.

Tests: conformance cases with fake `dnf` and `rpm` executables on `PATH` (this machine is
Debian).
"#;

impl Module for Dnf {
    fn name(&self) -> &'static str {
        "dnf"
    }
    fn description(&self) -> &'static str {
        "Manages packages with the dnf package manager"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::Full,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        check(ctx)
    }
}

impl Module for Yum {
    fn name(&self) -> &'static str {
        "yum"
    }
    fn description(&self) -> &'static str {
        "Manages packages with the yum package manager (run as dnf)"
    }
    fn capabilities(&self) -> Capabilities {
        Dnf.capabilities()
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn notes(&self) -> &'static str {
        "Ansible-core 2.18 runs `yum` as the `dnf` module; so does Rustle: see `dnf`."
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        check(ctx)
    }
}
