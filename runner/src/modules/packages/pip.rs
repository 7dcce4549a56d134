//! `pip`: Python packages through pip, with the command lines, results
//! and messages of Ansible's module.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{self as c};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Pip;

static ARGS: [ArgDef; 14] = [
    ArgDef::new("name", ArgType::List)
        .doc("Package names or requirement specifiers (`foo>=1.0,<2`), URLs, paths or VCS URLs."),
    ArgDef::new("version", ArgType::Str)
        .doc("Version (or specifier) of the single package in `name`."),
    ArgDef::new("requirements", ArgType::Str).doc("Path of a pip requirements file."),
    ArgDef::new("virtualenv", ArgType::Path)
        .doc("Virtualenv to install into; created with `virtualenv_command` when missing."),
    ArgDef::new("virtualenv_site_packages", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Give the new virtualenv the global site-packages."),
    ArgDef::new("virtualenv_command", ArgType::Path)
        .default(ArgDefault::Str("virtualenv"))
        .doc("Command creating the virtualenv (`virtualenv`, `python3 -m venv`, ...)."),
    ArgDef::new("virtualenv_python", ArgType::Str)
        .doc("Python for `virtualenv -p` (not with `venv`)."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["present", "absent", "latest", "forcereinstall"])
        .doc("Desired state."),
    ArgDef::new("extra_args", ArgType::Str).doc("Extra arguments for pip."),
    ArgDef::new("editable", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Pass `-e` (editable install)."),
    ArgDef::new("chdir", ArgType::Path).doc("Directory to run pip from."),
    ArgDef::new("executable", ArgType::Path)
        .doc("The pip to run (a name searched on PATH, or a path)."),
    ArgDef::new("umask", ArgType::Str).doc("Octal umask while pip runs."),
    ArgDef::new("break_system_packages", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Set `PIP_BREAK_SYSTEM_PACKAGES=1`."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS)
    .required_one_of(&[&["name", "requirements"]])
    .mutually_exclusive(&[&["name", "requirements"], &["executable", "virtualenv"]]);

// ------------------------------------------------------------ requirements

const OPS: [&str; 8] = ["===", "==", "!=", "~=", ">=", "<=", ">", "<"];

/// A parsed requirement (`packaging.requirements.Requirement`) or, for
/// URLs and paths, the raw string.
#[derive(Debug, Clone)]
struct Package {
    /// Canonical name (`[-_.]+` to `-`, lower case), or the raw string.
    name: String,
    plain: bool,
    display: String,
    specs: Vec<(String, String)>,
}

fn canonicalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for ch in name.chars() {
        if matches!(ch, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep {
            out.push('-');
            sep = false;
        }
        out.extend(ch.to_lowercase());
    }
    if sep {
        out.push('-');
    }
    out
}

impl Package {
    fn parse(raw: &str, version: Option<&str>) -> Package {
        let mut s = raw.to_owned();
        if let Some(v) = version {
            let v = v.trim_start();
            let sep = if v.chars().next().is_some_and(|ch| ch.is_ascii_digit()) {
                "=="
            } else {
                " "
            };
            s = format!("{raw}{sep}{v}");
        }
        let fallback = Package {
            name: raw.to_owned(),
            plain: false,
            display: raw.to_owned(),
            specs: Vec::new(),
        };
        let t = s.trim();
        let name_end = t
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.')))
            .unwrap_or(t.len());
        let name = &t[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphanumeric())
        {
            return fallback;
        }
        let mut rest = t[name_end..].trim_start();
        let mut extras = String::new();
        if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else {
                return fallback;
            };
            let mut ex: Vec<&str> = r[..end]
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .collect();
            ex.sort_unstable();
            extras = format!("[{}]", ex.join(","));
            rest = r[end + 1..].trim_start();
        }
        let mut specs = Vec::new();
        if !rest.is_empty() {
            for part in rest.split(',') {
                let p = part.trim();
                let Some(op) = OPS.iter().find(|o| p.starts_with(**o)) else {
                    return fallback;
                };
                let ver = p[op.len()..].trim();
                if ver.is_empty() || ver.contains(char::is_whitespace) {
                    return fallback;
                }
                specs.push(((*op).to_owned(), ver.to_owned()));
            }
        }
        let mut shown: Vec<String> = specs.iter().map(|(o, v)| format!("{o}{v}")).collect();
        shown.sort();
        Package {
            name: canonicalize(name),
            plain: true,
            display: format!("{name}{extras}{}", shown.join(",")),
            specs,
        }
    }

    fn has_version_specifier(&self) -> bool {
        self.plain && !self.specs.is_empty()
    }

    fn satisfied_by(&self, version: &str) -> bool {
        self.plain
            && self
                .specs
                .iter()
                .all(|(op, v)| spec_contains(op, v, version))
    }
}

/// A PEP 440 version, simplified: release numbers plus a pre/post/dev
/// tail compared as text after the numbers.
fn release(v: &str) -> (Vec<u64>, String) {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let v = v.split_once('!').map_or(v, |(_, r)| r);
    let v = v.split_once('+').map_or(v, |(l, _)| l);
    let mut nums = Vec::new();
    let mut tail = String::new();
    for (i, part) in v.split('.').enumerate() {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || !tail.is_empty() {
            tail = v.split('.').skip(i).collect::<Vec<_>>().join(".");
            break;
        }
        nums.push(digits.parse().unwrap_or(0));
        if digits.len() < part.len() {
            tail = part[digits.len()..].to_owned();
            let rest: Vec<&str> = v.split('.').skip(i + 1).collect();
            if !rest.is_empty() {
                tail = format!("{tail}.{}", rest.join("."));
            }
            break;
        }
    }
    (nums, tail.to_ascii_lowercase())
}

fn pep440_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (na, ta) = release(a);
    let (nb, tb) = release(b);
    let len = na.len().max(nb.len());
    for i in 0..len {
        let x = na.get(i).copied().unwrap_or(0);
        let y = nb.get(i).copied().unwrap_or(0);
        if x != y {
            return x.cmp(&y);
        }
    }
    // Pre-releases and dev releases sort before the release, post after.
    let rank = |t: &str| -> i32 {
        if t.is_empty() {
            1
        } else if t.starts_with("post") || t.starts_with("-") || t.starts_with("r") {
            2
        } else {
            0
        }
    };
    rank(&ta).cmp(&rank(&tb)).then_with(|| ta.cmp(&tb))
}

fn spec_contains(op: &str, want: &str, have: &str) -> bool {
    use std::cmp::Ordering::*;
    match op {
        "==" | "!=" => {
            let eq = match want.strip_suffix(".*") {
                Some(prefix) => {
                    let (p, _) = release(prefix);
                    let (h, _) = release(have);
                    h.len() >= p.len() && h[..p.len()] == p[..]
                }
                None => pep440_cmp(have, want) == Equal,
            };
            eq == (op == "==")
        }
        "===" => have == want,
        ">=" => pep440_cmp(have, want) != Less,
        "<=" => pep440_cmp(have, want) != Greater,
        ">" => pep440_cmp(have, want) == Greater,
        "<" => pep440_cmp(have, want) == Less,
        "~=" => {
            let (w, _) = release(want);
            let (h, _) = release(have);
            let n = w.len().saturating_sub(1).max(1);
            pep440_cmp(have, want) != Less && h.len() >= n && h[..n] == w[..n]
        }
        _ => false,
    }
}

fn is_package_name(s: &str) -> bool {
    !["<", ">", "=", "!", "~"]
        .iter()
        .any(|o| s.trim_start().starts_with(o))
}

/// `_recover_package_name`: rejoins specifiers split at commas.
fn recover_names(names: &[String]) -> Vec<String> {
    let parts: Vec<&str> = names.iter().flat_map(|n| n.split(',')).collect();
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut in_brackets = false;
    for p in parts {
        if is_package_name(p) && !in_brackets && !cur.is_empty() {
            out.push(cur.join(","));
            cur.clear();
        }
        if p.contains('[') {
            in_brackets = true;
        }
        if in_brackets && p.contains(']') {
            in_brackets = false;
        }
        cur.push(p);
    }
    out.push(cur.join(","));
    out
}

fn is_vcs_url(s: &str) -> bool {
    ["svn+", "git+", "hg+", "bzr+"]
        .iter()
        .any(|p| s.starts_with(p))
}

// ------------------------------------------------------------ running

struct Opts {
    state: String,
    names: Option<Vec<String>>,
    version: Option<String>,
    requirements: Option<String>,
    env: Option<PathBuf>,
    chdir: PathBuf,
    executable: Option<String>,
    extra_args: Option<String>,
    umask: Option<u32>,
    break_system: bool,
    venv_command: String,
    venv_site: bool,
    venv_python: Option<String>,
}

fn fail_cmd(cmd: Value, out: &str, err: &str) -> ModuleError {
    let mut msg = String::new();
    if !out.is_empty() {
        msg.push_str(&format!("stdout: {out}"));
    }
    if !err.is_empty() {
        msg.push_str(&format!("\n:stderr: {err}"));
    }
    c::fail_with(msg, &[("cmd", cmd)])
}

fn get_pip(ctx: &Context<'_>, o: &Opts) -> Result<Vec<String>, ModuleError> {
    if let Some(exe) = &o.executable {
        if Path::new(exe).is_absolute() {
            return Ok(vec![exe.clone()]);
        }
        return c::find_bin(ctx, exe)
            .map(|p| vec![p.to_string_lossy().into_owned()])
            .ok_or_else(|| {
                ModuleError::failed(format!(
                    "Unable to find any of {exe} to use.  pip needs to be installed."
                ))
            });
    }
    if let Some(env) = &o.env {
        for base in ["pip3", "pip"] {
            let p = env.join("bin").join(base);
            if p.is_file() {
                return Ok(vec![p.to_string_lossy().into_owned()]);
            }
        }
        return Err(ModuleError::failed(format!(
            "Unable to find pip in the virtualenv, {}, under any of these names: pip3, pip. Make sure pip is present in the virtualenv.",
            env.display()
        )));
    }
    // Ansible runs `<module python> -m pip.__main__`; the runner has no
    // Python of its own, so the host's python3 with a pip module stands in.
    if let Some(py) = c::find_bin(ctx, "python3") {
        let probe = c::run(
            ctx,
            &[
                py.to_string_lossy().into_owned(),
                "-c".into(),
                "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('pip') else 1)"
                    .into(),
            ],
            &[],
            None,
        );
        if probe.rc == 0 {
            return Ok(vec![
                py.to_string_lossy().into_owned(),
                "-m".into(),
                "pip.__main__".into(),
            ]);
        }
    }
    c::find_bin(ctx, "pip3")
        .map(|p| vec![p.to_string_lossy().into_owned()])
        .ok_or_else(|| {
            ModuleError::failed("Unable to find any of pip3 to use.  pip needs to be installed.")
        })
}

fn run_in(ctx: &Context<'_>, o: &Opts, argv: &[String], extra: &[(&str, &str)]) -> c::Output {
    let mut env: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    if o.break_system {
        env.push(("PIP_BREAK_SYSTEM_PACKAGES".into(), "1".into()));
    }
    if let Some(e) = &o.env {
        // Ansible's path_prefix: the virtualenv's bin first on PATH.
        let path = ctx
            .environment
            .get("PATH")
            .cloned()
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_default();
        env.push(("PATH".into(), format!("{}:{path}", e.join("bin").display())));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let old = o
        .umask
        .map(|m| rustix::process::umask(rustix::fs::Mode::from_raw_mode(m)));
    let out = c::run(ctx, argv, &pairs, Some(&o.chdir));
    if let Some(old) = old {
        rustix::process::umask(old);
    }
    out
}

fn get_packages(
    ctx: &Context<'_>,
    o: &Opts,
    pip: &[String],
) -> Result<(String, String, String), ModuleError> {
    let mut cmd: Vec<String> = pip.to_vec();
    cmd.extend(["list".into(), "--format=freeze".into()]);
    let lang = [
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C.UTF-8"),
        ("LC_MESSAGES", "C.UTF-8"),
    ];
    let mut out = run_in(ctx, o, &cmd, &lang);
    if out.rc != 0 {
        cmd = pip.to_vec();
        cmd.push("freeze".into());
        out = run_in(ctx, o, &cmd, &[]);
        if out.rc != 0 {
            return Err(fail_cmd(Value::from(cmd.clone()), &out.stdout, &out.stderr));
        }
    }
    Ok((cmd.join(" "), out.stdout, out.stderr))
}

fn is_present(pkg: &Package, installed: &[&str]) -> bool {
    installed.iter().any(|line| {
        let Some((n, v)) = line.split_once("==") else {
            return false;
        };
        canonicalize(n) == pkg.name && pkg.satisfied_by(v)
    })
}

fn setup_virtualenv(
    ctx: &Context<'_>,
    o: &Opts,
    env: &Path,
) -> Result<(String, String), ModuleError> {
    let mut cmd = shlex::split(&o.venv_command).unwrap_or_default();
    if cmd.is_empty() {
        return Err(ModuleError::failed("virtualenv_command is empty"));
    }
    if !cmd[0].contains('/') {
        cmd[0] = c::require_bin(ctx, &cmd[0])?.to_string_lossy().into_owned();
    }
    let is_venv = {
        let base = Path::new(&cmd[0])
            .file_name()
            .and_then(|x| x.to_str())
            .unwrap_or("");
        base == "pyvenv"
            || cmd.windows(2).any(|w| w[0] == "-m" && w[1] == "venv")
            || cmd.iter().any(|a| a == "-mvenv")
    };
    if o.venv_site {
        cmd.push("--system-site-packages".into());
    } else {
        let help = c::run(ctx, &[cmd[0].clone(), "--help".into()], &[], None);
        if help.rc != 0 {
            return Err(ModuleError::failed(format!(
                "Could not get output from {} --help: {}{}",
                cmd[0], help.stdout, help.stderr
            )));
        }
        if help
            .stdout
            .split_whitespace()
            .any(|w| w == "--no-site-packages")
        {
            cmd.push("--no-site-packages".into());
        }
    }
    if !is_venv {
        match &o.venv_python {
            Some(p) => cmd.push(format!("-p{p}")),
            None => {
                let py = c::find_bin(ctx, "python3")
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "python3".into());
                cmd.push(format!("-p{py}"));
            }
        }
    } else if o.venv_python.is_some() {
        return Err(ModuleError::failed(
            "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
        ));
    }
    cmd.push(env.to_string_lossy().into_owned());
    let out = c::run(ctx, &cmd, &[], Some(&o.chdir));
    if out.rc != 0 {
        return Err(fail_cmd(Value::from(cmd), &out.stdout, &out.stderr));
    }
    Ok((out.stdout, out.stderr))
}

fn state_args(state: &str) -> &'static [&'static str] {
    match state {
        "absent" => &["uninstall", "-y"],
        "latest" => &["install", "-U"],
        "forcereinstall" => &["install", "-U", "--force-reinstall"],
        _ => &["install"],
    }
}

impl Module for Pip {
    fn name(&self) -> &'static str {
        "pip"
    }
    fn description(&self) -> &'static str {
        "Manage Python library dependencies"
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
        let umask = match a.str("umask") {
            Some(u) => Some(u32::from_str_radix(u, 8).map_err(|_| {
                c::fail_with(
                    "umask must be an octal integer",
                    &[(
                        "details",
                        Value::from(format!("invalid literal for int() with base 8: '{u}'")),
                    )],
                )
            })?),
            None => None,
        };
        let chdir_arg = a.str("chdir").map(|d| ctx.expand_path(d));
        let env = a.str("virtualenv").map(|e| {
            let e = ctx.expand_path(e);
            match &chdir_arg {
                Some(d) => d.join(e),
                None => e,
            }
        });
        let o = Opts {
            state: a.str("state").unwrap_or("present").to_owned(),
            names: a.get("name").map(|_| a.list("name")),
            version: a.str("version").map(str::to_owned),
            requirements: a.str("requirements").map(str::to_owned),
            env,
            chdir: chdir_arg.unwrap_or_else(std::env::temp_dir),
            executable: a.str("executable").map(str::to_owned),
            extra_args: a.str("extra_args").map(str::to_owned),
            umask,
            break_system: a.bool("break_system_packages"),
            venv_command: a
                .str("virtualenv_command")
                .unwrap_or("virtualenv")
                .to_owned(),
            venv_site: a.bool("virtualenv_site_packages"),
            venv_python: a.str("virtualenv_python").map(str::to_owned),
        };
        if o.state == "latest" && o.version.is_some() {
            return Err(ModuleError::failed(
                "version is incompatible with state=latest",
            ));
        }
        let venv_missing = o
            .env
            .as_ref()
            .is_some_and(|e| !e.join("bin").join("activate").exists());
        if venv_missing && ctx.check_mode {
            return Ok(Check::Done(ModuleResult::changed()));
        }
        // Everything below needs pip; a virtualenv still to be made is
        // created by the action first.
        let mut packages: Vec<Package> = Vec::new();
        let mut has_vcs = false;
        if let Some(names) = &o.names {
            has_vcs = names.iter().any(|n| is_vcs_url(n));
            packages = recover_names(names)
                .iter()
                .map(|n| Package::parse(n, None))
                .collect();
            if let Some(v) = &o.version {
                if packages.len() > 1 {
                    return Err(ModuleError::failed("'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument."));
                }
                if packages[0].has_version_specifier() {
                    return Err(ModuleError::failed("The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument."));
                }
                let first = packages[0].display.clone();
                packages[0] = Package::parse(&first, Some(v));
            }
        }
        let mut extra_args = o.extra_args.clone();
        if a.bool("editable") {
            let mut l: Vec<String> = extra_args
                .as_deref()
                .map(|e| e.split(' ').map(str::to_owned).collect())
                .unwrap_or_default();
            if !l.iter().any(|x| x == "-e") {
                l.push("-e".into());
                extra_args = Some(l.join(" "));
            }
        }
        if o.names.as_ref().is_none_or(|n| n.is_empty()) && o.requirements.is_none() {
            return Ok(Check::Done(ModuleResult::ok().with(
                "warnings",
                vec!["No valid name or requirements file found."],
            )));
        }
        if ctx.check_mode {
            if extra_args.is_some() || o.requirements.is_some() || o.state == "latest" {
                return Ok(Check::Done(ModuleResult::changed()));
            }
            let pip = get_pip(ctx, &o)?;
            let (cmd, out, err) = get_packages(ctx, &o, &pip)?;
            let listed: Vec<&str> = out
                .split('\n')
                .filter(|p| {
                    !p.starts_with("You are using")
                        && !p.starts_with("You should consider")
                        && !p.is_empty()
                })
                .collect();
            let changed = packages.iter().any(|p| {
                let present = is_present(p, &listed);
                (o.state == "present" && !present) || (o.state == "absent" && present)
            });
            let mut r = ModuleResult::ok();
            r.changed = changed;
            r.set("cmd", cmd);
            r.set("stdout", out);
            r.set("stderr", err);
            return Ok(Check::Done(r));
        }
        let predicted = ModuleResult::changed();
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| {
                let (mut out, mut err) = (String::new(), String::new());
                if venv_missing {
                    if let Some(e) = &o.env {
                        let (so, se) = setup_virtualenv(ctx, &o, e)?;
                        out.push_str(&so);
                        err.push_str(&se);
                    }
                }
                let pip = get_pip(ctx, &o)?;
                let mut cmd: Vec<String> = pip.clone();
                cmd.extend(state_args(&o.state).iter().map(|s| (*s).to_owned()));
                if let Some(x) = &extra_args {
                    cmd.extend(shlex::split(x).unwrap_or_default());
                }
                if o.names.is_some() {
                    cmd.extend(packages.iter().map(|p| p.display.clone()));
                } else if let Some(req) = &o.requirements {
                    cmd.push("-r".into());
                    cmd.push(req.clone());
                }
                let before = if o.requirements.is_some() || has_vcs {
                    Some(get_packages(ctx, &o, &pip)?.1)
                } else {
                    None
                };
                let res = run_in(ctx, &o, &cmd, &[]);
                out.push_str(&res.stdout);
                err.push_str(&res.stderr);
                let not_installed =
                    res.stdout.contains("not installed") || res.stderr.contains("not installed");
                if res.rc == 1 && o.state == "absent" && not_installed {
                } else if res.rc != 0 {
                    return Err(fail_cmd(Value::from(cmd), &out, &err));
                }
                let mut changed = if o.state == "absent" {
                    res.stdout.contains("Successfully uninstalled")
                } else if let Some(b) = before {
                    b != get_packages(ctx, &o, &pip)?.1
                } else {
                    res.stdout.contains("Successfully installed")
                };
                changed = changed || venv_missing;
                let mut r = ModuleResult::ok();
                r.changed = changed;
                r.set("cmd", cmd);
                r.set("name", o.names.clone().map_or(Value::Null, Value::from));
                r.set(
                    "version",
                    o.version.clone().map_or(Value::Null, Value::from),
                );
                r.set("state", o.state.clone());
                r.set(
                    "requirements",
                    o.requirements.clone().map_or(Value::Null, Value::from),
                );
                r.set(
                    "virtualenv",
                    o.env.as_ref().map_or(Value::Null, |e| {
                        Value::from(e.to_string_lossy().into_owned())
                    }),
                );
                r.set("stdout", out);
                r.set("stderr", err);
                Ok(r)
            }),
        })
    }
}

const NOTES: &str = r#"Runs pip as Ansible's module does: `pip install` (`-U` for `latest`, `-U
--force-reinstall` for `forcereinstall`), `pip uninstall -y` for `absent`, with `extra_args`
(`-e` added for `editable`), then the packages (requirement specifiers normalised as
`packaging` prints them, `version` joined as `==VERSION` or a specifier) or `-r requirements`.
A missing `virtualenv` (no `bin/activate`) is created first with `virtualenv_command`
(`--no-site-packages` when the command offers it, `-p<python>` unless it is `venv`/`pyvenv`);
`chdir` is joined to a relative `virtualenv`; the virtualenv's `bin` comes first on `PATH`.

Results: `changed` (pip printed `Successfully installed` / `Successfully uninstalled`; for
requirements files and VCS URLs, `pip list --format=freeze` differs before and after; a new
virtualenv is a change), `cmd` (the argv list), `name`, `version`, `state`, `requirements`,
`virtualenv`, `stdout`, `stderr`. Failures: `stdout: ...\n:stderr: ...` with `cmd`; `version is
incompatible with state=latest`; `'version' argument is ambiguous ...`; `The 'version' argument
conflicts ...`; `Unable to find pip in the virtualenv, ...`; `umask must be an octal integer`.

Check mode: as Ansible: a missing virtualenv, `extra_args`, `requirements` or `state=latest`
report `changed: true` without looking; otherwise `pip list --format=freeze` decides and the
result has `cmd` (that listing command as a string), `stdout`, `stderr`. Outside check mode pip
always runs (as in Ansible, which lets pip decide). Diff: no.

Differences from Ansible: with neither `executable` nor `virtualenv`, Ansible runs its module
interpreter's `-m pip.__main__`; the runner has no Python of its own and uses the host's
`python3 -m pip.__main__` when that has pip, else `pip3`; the `-p` given to `virtualenv` is
likewise the host's `python3`. Version specifiers are matched with a simplified PEP 440
comparison (release numbers, then pre/post/dev tags; local versions ignored).

Tests: conformance cases with a real temporary virtualenv (`python3 -m venv`) and a tiny local
package built in the case; differential cases `mod_pip_*` do the same under ansible-playbook.
"#;
