//! `modprobe` (community.general): loads or unloads a kernel module and
//! optionally makes it persistent, as Ansible's module does.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::util;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Modprobe;

static ARGS: [ArgDef; 4] = [
    ArgDef::new("name", ArgType::Str)
        .required()
        .doc("The kernel module."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the module is loaded."),
    ArgDef::new("params", ArgType::Str)
        .default(ArgDefault::Str(""))
        .doc("Module parameters (`a=1 b=2`), passed to modprobe and, with `persistent`, written to modprobe.d."),
    ArgDef::new("persistent", ArgType::Str)
        .default(ArgDefault::Str("disabled"))
        .choices(&["disabled", "present", "absent"])
        .doc("`present` writes `/etc/modules-load.d/NAME.conf` and `/etc/modprobe.d/NAME.conf`; `absent` comments the module and its options out."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"As community.general's module: a module is loaded when `/proc/modules`
lists it (dashes as underscores) or `/lib/modules/$(uname -r)/modules.builtin`
has it; loading runs `modprobe NAME PARAMS...` (`-n` in check mode),
unloading `modprobe -r NAME`. When the module is still not listed after
`modprobe` (Ansible's quirk) the task is not changed and `modprobe -n
--first-time` explains why in a warning. `persistent: present` writes
`NAME\n` to `/etc/modules-load.d/NAME.conf` and `options NAME PARAM`
lines to `/etc/modprobe.d/NAME.conf` (commenting out other `options NAME`
lines); `persistent: absent` comments out the module's lines in both
directories.

Results: `changed`, `name`, `params`, `state`, `warnings`. Failures:
modprobe's stderr (with `rc`, `stdout`, `stderr`); a missing
`/proc/modules` or `modules.builtin` fails with Python's error text
(`[Errno 2] No such file or directory: '/proc/modules'`).

Check mode: full. Diff: none, as in Ansible.

Differences: none known.

Tested with unit tests (in this file) that run the whole logic against
a temporary `/proc/modules`, `modules.builtin`, `modules-load.d` and
`modprobe.d` with a fake `modprobe`; no conformance or differential case,
since the module reads fixed system paths (and this CI container has no
`/proc/modules`, where both Ansible and Rustle fail with `[Errno 2] No
such file or directory: '/proc/modules'`). No kernel module is loaded by
the tests."#;

impl Module for Modprobe {
    fn name(&self) -> &'static str {
        "modprobe"
    }
    fn description(&self) -> &'static str {
        "Load or unload kernel modules"
    }
    fn collection(&self) -> &'static str {
        "community.general"
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
        check_with(ctx, Paths::system())
    }
}

/// Where the module looks; the real paths except in unit tests.
#[derive(Debug, Clone)]
pub struct Paths {
    proc_modules: PathBuf,
    builtin: PathBuf,
    modules_load: PathBuf,
    modprobe_d: PathBuf,
}

impl Paths {
    fn system() -> Self {
        let release = rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned();
        Paths {
            proc_modules: "/proc/modules".into(),
            builtin: PathBuf::from(format!("/lib/modules/{release}/modules.builtin")),
            modules_load: "/etc/modules-load.d".into(),
            modprobe_d: "/etc/modprobe.d".into(),
        }
    }
}

fn check_with(ctx: &Context<'_>, paths: Paths) -> Result<Check, ModuleError> {
    let predicted = evaluate(ctx, &paths, false)?;
    if predicted.changed {
        Ok(Check::Change {
            predicted,
            action: action(move |ctx| evaluate(ctx, &paths, true)),
        })
    } else {
        Ok(Check::Done(predicted))
    }
}

struct State<'a> {
    name: String,
    params: String,
    state: String,
    changed: bool,
    warnings: Vec<String>,
    paths: &'a Paths,
}

impl State<'_> {
    fn result(&self) -> ModuleResult {
        let mut r = ModuleResult {
            changed: self.changed,
            ..Default::default()
        };
        r.set("name", self.name.clone());
        r.set("params", self.params.clone());
        r.set("state", self.state.clone());
        if !self.warnings.is_empty() {
            r.set("warnings", self.warnings.clone());
        }
        r
    }

    fn fail(&self, msg: String, extra: Map<String, Value>) -> ModuleError {
        let mut e = match self.result().to_json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        e.remove("failed");
        e.remove("warnings");
        e.extend(extra);
        ModuleError::Failed { msg, extra: e }
    }

    fn loaded(&self) -> Result<bool, ModuleError> {
        let io = |e: std::io::Error, p: &Path| {
            self.fail(
                crate::modules::files::common::py_oserror(&e, None, None)
                    + &format!(": '{}'", p.display()),
                Map::new(),
            )
        };
        let text = std::fs::read_to_string(&self.paths.proc_modules)
            .map_err(|e| io(e, &self.paths.proc_modules))?;
        let wanted = format!("{} ", self.name.replace('-', "_"));
        if text.lines().any(|l| l.starts_with(&wanted)) {
            return Ok(true);
        }
        let ko = format!("/{}.ko", self.name);
        let text =
            std::fs::read_to_string(&self.paths.builtin).map_err(|e| io(e, &self.paths.builtin))?;
        Ok(text.lines().any(|l| l.trim_end().ends_with(&ko)))
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        rd.filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect()
    }

    /// `^ *NAME *(?:[#;].*)?\n?\Z`
    fn module_line(&self, line: &str) -> bool {
        let l = line.strip_suffix('\n').unwrap_or(line);
        let rest = l.trim_start_matches(' ');
        let Some(rest) = rest.strip_prefix(&self.name) else {
            return false;
        };
        let rest = rest.trim_start_matches(' ');
        rest.is_empty() || rest.starts_with(['#', ';'])
    }

    /// `^options NAME (\w+=\S+) *(?:[#;].*)?\n?\Z`: the `param=value`.
    fn options_param(&self, line: &str) -> Option<String> {
        let l = line.strip_suffix('\n').unwrap_or(line);
        let rest = l.strip_prefix(&format!("options {} ", self.name))?;
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        let (param, tail) = rest.split_at(end);
        let (k, v) = param.split_once('=')?;
        if k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_') || v.is_empty() {
            return None;
        }
        // `\S+` is greedy and may take `#`; Python backtracks the same way.
        let tail = tail.trim_start_matches(' ');
        if !(tail.is_empty() || tail.starts_with(['#', ';'])) {
            return None;
        }
        Some(param.to_owned())
    }

    fn persistently_loaded(&self) -> Result<bool, ModuleError> {
        for f in Self::files(&self.paths.modules_load) {
            let text = read(&f)?;
            if text.split_inclusive('\n').any(|l| self.module_line(l)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn permanent_params(&self) -> Result<std::collections::BTreeSet<String>, ModuleError> {
        let mut out = std::collections::BTreeSet::new();
        for f in Self::files(&self.paths.modprobe_d) {
            let text = read(&f)?;
            out.extend(
                text.split_inclusive('\n')
                    .filter_map(|l| self.options_param(l)),
            );
        }
        Ok(out)
    }

    fn params_set(&self) -> Result<bool, ModuleError> {
        let want: std::collections::BTreeSet<String> =
            self.params.split_whitespace().map(str::to_owned).collect();
        Ok(want == self.permanent_params()?)
    }

    /// Comments out matching lines; Ansible joins `readlines()` with
    /// `\n`, doubling line ends: kept.
    fn comment_out(&self, dir: &Path, real: bool, options: bool) -> Result<(), ModuleError> {
        for f in Self::files(dir) {
            let text = read(&f)?;
            let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
            let mut changed = false;
            for l in lines.iter_mut() {
                let hit = if options {
                    self.options_param(l).is_some()
                } else {
                    self.module_line(l)
                };
                if hit {
                    *l = format!("#{l}");
                    changed = true;
                }
            }
            if real && changed {
                write(&f, &lines.join("\n"))?;
            }
        }
        Ok(())
    }
}

fn read(p: &Path) -> Result<String, ModuleError> {
    std::fs::read_to_string(p).map_err(|e| {
        ModuleError::failed(crate::modules::files::common::py_oserror(&e, Some(p), None))
    })
}

fn write(p: &Path, s: &str) -> Result<(), ModuleError> {
    std::fs::write(p, s).map_err(|e| {
        ModuleError::failed(crate::modules::files::common::py_oserror(&e, Some(p), None))
    })
}

fn evaluate(ctx: &Context<'_>, paths: &Paths, real: bool) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let bin = util::s(&util::require_bin(ctx, "modprobe")?);
    let mut s = State {
        name: a.str("name").unwrap_or_default().to_owned(),
        params: a.str("params").unwrap_or_default().to_owned(),
        state: a.str("state").unwrap_or("present").to_owned(),
        changed: false,
        warnings: Vec::new(),
        paths,
    };
    let persistent = a.str("persistent").unwrap_or("disabled");
    let extra_params = shlex::split(&s.params).unwrap_or_default();
    let fail_cmd = |s: &State<'_>, o: util::Output| {
        let mut extra = Map::new();
        extra.insert("rc".into(), Value::from(o.rc));
        extra.insert("stdout".into(), Value::from(o.out));
        extra.insert("stderr".into(), Value::from(o.err.clone()));
        s.fail(o.err, extra)
    };
    if s.state == "present" && !s.loaded()? {
        let mut argv = vec![bin.clone()];
        if !real {
            argv.push("-n".into());
        }
        argv.push(s.name.clone());
        argv.extend(extra_params.iter().cloned());
        let o = util::run(ctx, &argv)?;
        if o.rc != 0 {
            return Err(fail_cmd(&s, o));
        }
        if !real || s.loaded()? {
            s.changed = true;
        } else {
            let mut argv = vec![
                bin.clone(),
                "-n".into(),
                "--first-time".into(),
                s.name.clone(),
            ];
            argv.extend(extra_params.iter().cloned());
            let o = util::run(ctx, &argv)?;
            if o.rc != 0 {
                s.warnings.push(o.err);
            }
        }
    } else if s.state == "absent" && s.loaded()? {
        let mut argv = vec![bin.clone(), "-r".into(), s.name.clone()];
        if !real {
            argv.push("-n".into());
        }
        let o = util::run(ctx, &argv)?;
        if o.rc != 0 {
            return Err(fail_cmd(&s, o));
        }
        s.changed = true;
    }
    if persistent == "present" && !(s.persistently_loaded()? && s.params_set()?) {
        if !s.persistently_loaded()? {
            if real {
                write(
                    &paths.modules_load.join(format!("{}.conf", s.name)),
                    &format!("{}\n", s.name),
                )?;
            }
            s.changed = true;
        }
        if !s.params_set()? {
            s.comment_out(&paths.modprobe_d, real, true)?;
            if real {
                let content: Vec<String> = s
                    .params
                    .split_whitespace()
                    .map(|p| format!("options {} {p}", s.name))
                    .collect();
                write(
                    &paths.modprobe_d.join(format!("{}.conf", s.name)),
                    &format!("{}\n", content.join("\n")),
                )?;
            }
            s.changed = true;
        }
    } else if persistent == "absent"
        && (s.persistently_loaded()? || !s.permanent_params()?.is_empty())
    {
        if s.persistently_loaded()? {
            s.comment_out(&paths.modules_load, real, false)?;
            s.changed = true;
        }
        if !s.permanent_params()?.is_empty() {
            s.comment_out(&paths.modprobe_d, real, true)?;
            s.changed = true;
        }
    }
    Ok(s.result())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    use serde_json::json;

    use super::*;
    use crate::modules::NoAssets;

    /// A fake modprobe that "loads" by adding a line to the fake
    /// /proc/modules and logs every call.
    const FAKE: &str = r#"#!/bin/sh
root="$(cd "$(dirname "$0")/.." && pwd)"
echo "$*" >> "$root/modprobe.log"
dry=0; rm=0; name=""
for a in "$@"; do case "$a" in -n) dry=1 ;; -r) rm=1 ;; --first-time) ;; *=*) ;; *) [ -z "$name" ] && name="$a" ;; esac; done
[ "$name" = missing ] && { echo "modprobe: FATAL: Module missing not found." >&2; exit 1; }
[ "$dry" = 1 ] && exit 0
if [ "$rm" = 1 ]; then grep -v "^$name " "$root/proc_modules" > "$root/pm.tmp"; mv "$root/pm.tmp" "$root/proc_modules"
else echo "$name 16384 0 - Live 0x0" >> "$root/proc_modules"; fi
"#;

    struct Env {
        dir: tempfile::TempDir,
        paths: Paths,
        env: BTreeMap<String, String>,
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("bin")).expect("bin");
        std::fs::create_dir_all(root.join("modules-load.d")).expect("d");
        std::fs::create_dir_all(root.join("modprobe.d")).expect("d");
        std::fs::write(root.join("proc_modules"), "ext4 1 0 - Live 0x0\n").expect("w");
        std::fs::write(root.join("builtin"), "kernel/fs/vfat.ko\n").expect("w");
        let fake = root.join("bin/modprobe");
        std::fs::write(&fake, FAKE).expect("w");
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let paths = Paths {
            proc_modules: root.join("proc_modules"),
            builtin: root.join("builtin"),
            modules_load: root.join("modules-load.d"),
            modprobe_d: root.join("modprobe.d"),
        };
        let mut env = BTreeMap::new();
        env.insert(
            "PATH".to_owned(),
            format!("{}/bin:/usr/bin:/bin", root.display()),
        );
        Env { dir, paths, env }
    }

    fn run(e: &Env, args: Value, check_mode: bool) -> ModuleResult {
        let Value::Object(raw) = args else {
            panic!("args")
        };
        let args = SPEC.validate("modprobe", &raw).expect("valid args");
        let assets = BTreeMap::new();
        let vars = Map::new();
        let ctx = Context {
            args,
            assets: &assets,
            source: &NoAssets,
            check_mode,
            diff: false,
            environment: &e.env,
            vars: &vars,
            verbosity: 0,
        };
        let c = check_with(&ctx, e.paths.clone());
        match c {
            Err(err) => err.into_result(),
            Ok(Check::Done(r)) => r,
            Ok(Check::Change { predicted, .. }) if check_mode => predicted,
            Ok(Check::Change { action, .. }) => {
                action.apply(&ctx).unwrap_or_else(|e| e.into_result())
            }
        }
    }

    fn read(e: &Env, p: &str) -> String {
        std::fs::read_to_string(e.dir.path().join(p)).unwrap_or_default()
    }

    #[test]
    fn load_then_idempotent_and_check_mode_is_dry() {
        let e = env();
        let r = run(&e, json!({"name": "dummy", "params": "numdummies=2"}), true);
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!read(&e, "proc_modules").contains("dummy"));
        assert_eq!(read(&e, "modprobe.log"), "-n dummy numdummies=2\n");
        let r = run(
            &e,
            json!({"name": "dummy", "params": "numdummies=2"}),
            false,
        );
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(r.get("params"), Some(&json!("numdummies=2")));
        assert_eq!(r.get("state"), Some(&json!("present")));
        assert!(read(&e, "proc_modules").contains("dummy 16384"));
        let r = run(&e, json!({"name": "dummy"}), false);
        assert!(!r.changed, "{r:?}");
        // Built-in modules count as loaded.
        let r = run(&e, json!({"name": "vfat"}), false);
        assert!(!r.changed, "{r:?}");
    }

    #[test]
    fn unload_and_failure() {
        let e = env();
        let r = run(&e, json!({"name": "ext4", "state": "absent"}), false);
        assert!(r.changed && !r.failed, "{r:?}");
        assert!(!read(&e, "proc_modules").contains("ext4"));
        let r = run(&e, json!({"name": "ext4", "state": "absent"}), false);
        assert!(!r.changed);
        let r = run(&e, json!({"name": "missing"}), false);
        assert!(r.failed);
        assert_eq!(
            r.msg.as_deref(),
            Some("modprobe: FATAL: Module missing not found.\n")
        );
        assert_eq!(r.get("rc"), Some(&json!(1)));
        assert_eq!(r.get("name"), Some(&json!("missing")));
    }

    #[test]
    fn persistent_present_and_absent() {
        let e = env();
        std::fs::write(
            e.dir.path().join("modprobe.d/old.conf"),
            "options dummy numdummies=1\noptions other x=1\n",
        )
        .expect("w");
        let args = json!({"name": "dummy", "params": "numdummies=4 x=y", "persistent": "present"});
        let r = run(&e, args.clone(), true);
        assert!(r.changed);
        assert_eq!(read(&e, "modules-load.d/dummy.conf"), "");
        let r = run(&e, args.clone(), false);
        assert!(r.changed && !r.failed, "{r:?}");
        assert_eq!(read(&e, "modules-load.d/dummy.conf"), "dummy\n");
        assert_eq!(
            read(&e, "modprobe.d/dummy.conf"),
            "options dummy numdummies=4\noptions dummy x=y\n"
        );
        // Ansible joins readlines() with "\n": line ends double.
        assert_eq!(
            read(&e, "modprobe.d/old.conf"),
            "#options dummy numdummies=1\n\noptions other x=1\n"
        );
        let r = run(&e, args, false);
        assert!(!r.changed, "{r:?}");
        let r = run(&e, json!({"name": "dummy", "persistent": "absent"}), false);
        assert!(r.changed);
        assert_eq!(read(&e, "modules-load.d/dummy.conf"), "#dummy\n");
        assert_eq!(
            read(&e, "modprobe.d/dummy.conf"),
            "#options dummy numdummies=4\n\n#options dummy x=y\n"
        );
        let r = run(&e, json!({"name": "dummy", "persistent": "absent"}), false);
        assert!(!r.changed, "{r:?}");
    }
}
