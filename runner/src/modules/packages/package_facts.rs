//! `package_facts`: the installed packages as `ansible_facts.packages`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::common as c;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct PackageFacts;

static ARGS: [ArgDef; 2] = [
    ArgDef::new("manager", ArgType::List)
        .default(ArgDefault::Str("auto"))
        .doc("Package managers to ask: `auto`, `apt`, `rpm` (aliases `dnf`, `dnf5`, `yum`, `zypper`)."),
    ArgDef::new("strategy", ArgType::Str)
        .default(ArgDefault::Str("first"))
        .choices(&["first", "all"])
        .doc("Stop at the first usable manager, or ask them all."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

/// Ansible's manager names (lower case), in its order, with aliases.
const KNOWN: &[&str] = &[
    "rpm",
    "apt",
    "pacman",
    "pkg",
    "portage",
    "apk",
    "pkg_info",
    "dnf",
    "dnf5",
    "yum",
    "zypper",
    "pkg5",
    "pkgng",
    "openbsd_pkg",
];

fn canonical(m: &str) -> &str {
    match m {
        "dnf" | "dnf5" | "yum" | "zypper" => "rpm",
        "pkg5" | "pkgng" => "pkg",
        "openbsd_pkg" => "pkg_info",
        other => other,
    }
}

type Packages = Map<String, Value>;

fn push(out: &mut Packages, name: &str, details: Map<String, Value>) {
    let entry = out
        .entry(name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(a) = entry {
        a.push(Value::Object(details));
    }
}

/// Origins of the apt sources (`o=` of each `release` line of `apt-cache
/// policy`), keyed by the source line.
fn apt_origins(ctx: &Context<'_>) -> HashMap<String, String> {
    let out = c::run(
        ctx,
        &["apt-cache".into(), "policy".into()],
        &[("LC_ALL", "C.UTF-8")],
        None,
    );
    let mut map = HashMap::new();
    let mut last: Option<String> = None;
    for l in out.stdout.lines() {
        let t = l.trim();
        if let Some(rel) = t.strip_prefix("release ") {
            if let Some(src) = last.take() {
                let o = rel
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("o="))
                    .unwrap_or("")
                    .to_owned();
                map.insert(src, o);
            }
        } else if t
            .split_whitespace()
            .next()
            .is_some_and(|p| p.parse::<i64>().is_ok())
        {
            last = t.split_once(' ').map(|(_, s)| s.trim().to_owned());
        }
    }
    map
}

fn apt_packages(ctx: &Context<'_>) -> Result<Packages, String> {
    let native = c::run(
        ctx,
        &["dpkg".into(), "--print-architecture".into()],
        &[],
        None,
    )
    .stdout
    .trim()
    .to_owned();
    let out = c::run(
        ctx,
        &[
            "dpkg-query".into(),
            "-W".into(),
            "-f=${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\t${Section}\n"
                .into(),
        ],
        &[("LC_ALL", "C.UTF-8")],
        None,
    );
    if out.rc != 0 {
        return Err(out.stderr);
    }
    let installed: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() == 5 && f[0].trim().len() >= 2 && &f[0].trim()[1..2] == "i")
        .collect();
    // The origin of each installed version: its first source in
    // `apt-cache policy NAME...` ("" when only dpkg's status knows it).
    let origins = apt_origins(ctx);
    let mut argv = vec!["apt-cache".to_owned(), "policy".to_owned()];
    argv.extend(installed.iter().map(|f| f[1].to_owned()));
    let pol = c::run(ctx, &argv, &[("LC_ALL", "C.UTF-8")], None);
    let mut origin_of: HashMap<String, String> = HashMap::new();
    let mut cur: Option<String> = None;
    let mut in_installed = false;
    for l in pol.stdout.lines() {
        if !l.starts_with(' ') {
            cur = l.strip_suffix(':').map(str::to_owned);
            in_installed = false;
            continue;
        }
        if l.starts_with(" *** ") {
            in_installed = true;
            continue;
        }
        let indent = l.len() - l.trim_start().len();
        if indent == 5 {
            in_installed = false;
            continue;
        }
        if in_installed && indent > 5 {
            if let Some(name) = &cur {
                if !origin_of.contains_key(name) {
                    let src = l
                        .trim()
                        .split_once(' ')
                        .map(|(_, s)| s.trim())
                        .unwrap_or("");
                    let o = origins.get(src).cloned().unwrap_or_default();
                    if !o.is_empty() || src.contains("/var/lib/dpkg/status") {
                        origin_of.insert(name.clone(), o);
                    }
                }
            }
        }
    }
    let mut pk = Packages::new();
    for f in installed {
        let key = f[1].strip_suffix(&format!(":{native}")).unwrap_or(f[1]);
        let mut d = Map::new();
        d.insert("name".into(), key.into());
        d.insert("version".into(), f[2].into());
        d.insert("arch".into(), f[3].into());
        d.insert("category".into(), f[4].into());
        let origin = origin_of
            .get(f[1])
            .or_else(|| origin_of.get(key))
            .cloned()
            .unwrap_or_default();
        d.insert("origin".into(), origin.into());
        d.insert("source".into(), "apt".into());
        push(&mut pk, key, d);
    }
    Ok(pk)
}

fn rpm_packages(ctx: &Context<'_>) -> Result<Packages, String> {
    let out = c::run(
        ctx,
        &[
            "rpm".into(),
            "-qa".into(),
            "--qf".into(),
            "%{NAME}\t%{VERSION}\t%{RELEASE}\t%{EPOCH}\t%{ARCH}\n".into(),
        ],
        &[],
        None,
    );
    if out.rc != 0 {
        return Err(out.stderr);
    }
    let mut pk = Packages::new();
    for l in out.stdout.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f.len() != 5 {
            continue;
        }
        let mut d = Map::new();
        d.insert("name".into(), f[0].into());
        d.insert("version".into(), f[1].into());
        d.insert("release".into(), f[2].into());
        d.insert(
            "epoch".into(),
            f[3].parse::<i64>().map_or(Value::Null, Value::from),
        );
        d.insert("arch".into(), f[4].into());
        d.insert("source".into(), "rpm".into());
        push(&mut pk, f[0], d);
    }
    Ok(pk)
}

impl Module for PackageFacts {
    fn name(&self) -> &'static str {
        "package_facts"
    }
    fn description(&self) -> &'static str {
        "Package information as facts"
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
        let a: &Args = &ctx.args;
        let requested: Vec<String> = match a.get("manager") {
            Some(Value::String(s)) => vec![s.to_lowercase()],
            _ => a.list("manager").iter().map(|m| m.to_lowercase()).collect(),
        };
        let strategy_all = a.str("strategy") == Some("all");
        let mut managers = requested.clone();
        if let Some(i) = managers.iter().position(|m| m == "auto") {
            managers.remove(i);
            managers.extend(KNOWN.iter().map(|s| (*s).to_owned()));
        }
        let mut unsupported: Vec<&str> = managers
            .iter()
            .map(String::as_str)
            .filter(|m| !KNOWN.contains(m))
            .collect();
        unsupported.dedup();
        if !unsupported.is_empty() {
            let msg = if requested.iter().any(|m| m == "auto") {
                "Could not auto detect a usable package manager, check warnings for details."
                    .to_owned()
            } else {
                format!(
                    "Unsupported package managers requested: {}",
                    unsupported.join(", ")
                )
            };
            return Err(ModuleError::failed(msg));
        }
        let mut packages = Packages::new();
        let mut warnings: Vec<String> = Vec::new();
        let mut found = 0;
        let mut seen: Vec<&str> = Vec::new();
        for m in &managers {
            if !strategy_all && found > 0 {
                break;
            }
            let m = canonical(m);
            if seen.contains(&m) {
                continue;
            }
            seen.push(m);
            let usable = match m {
                "apt" => {
                    c::find_bin(ctx, "dpkg-query").is_some()
                        && ["apt", "apt-get", "aptitude"]
                            .iter()
                            .any(|b| c::find_bin(ctx, b).is_some())
                }
                "rpm" => c::find_bin(ctx, "rpm").is_some(),
                _ => false,
            };
            if !usable {
                if requested.iter().any(|r| canonical(r) == m) && matches!(m, "apt" | "rpm") {
                    warnings.push(format!(
                        "Requested package manager {m} was not usable by this module: Unable to find any of the supported commands"
                    ));
                }
                continue;
            }
            found += 1;
            let got = if m == "apt" {
                apt_packages(ctx)
            } else {
                rpm_packages(ctx)
            };
            match got {
                Ok(p) => packages.extend(p),
                Err(e) => warnings.push(format!("Failed to retrieve packages with {m}: {e}")),
            }
        }
        if found == 0 {
            let list: Vec<String> = managers.iter().map(|m| format!("'{m}'")).collect();
            return Err(ModuleError::failed(format!(
                "Could not detect a supported package manager from the following list: [{}], or the required Python library is not installed. Check warnings for details.",
                list.join(", ")
            )));
        }
        let mut facts = Map::new();
        facts.insert("packages".into(), Value::Object(packages));
        let mut r = ModuleResult::ok().with("ansible_facts", Value::Object(facts));
        if !warnings.is_empty() {
            r.set("warnings", warnings);
        }
        Ok(Check::Done(r))
    }
}

const NOTES: &str = r#"Sets `ansible_facts.packages`: a dict from package name to a list of
installs. With apt (dpkg): `{name, version, arch, category, origin, source: "apt"}` for every
installed package (foreign-architecture packages keyed `name:arch`), read with `dpkg-query` and
`apt-cache policy` (the origin is the `o=` of the first source offering the installed version,
`""` for a version only dpkg knows). With rpm: `{name, version, release, epoch, arch, source:
"rpm"}` from `rpm -qa`. `strategy: first` stops at the first usable manager (in Ansible's order
for `auto`), `all` merges them.

Failures: `Unsupported package managers requested: x`, `Could not detect a supported package
manager from the following list: [...] ...`. Changes nothing; check mode: full. Diff: no.

Differences from Ansible: only apt/dpkg and rpm are read; the other managers Ansible knows
(apk, pacman, pkg, pkg5, pkg_info, portage) are accepted names but never usable.

Tests: a conformance case on this Debian machine, and fake `rpm` output through `PATH`.
"#;
