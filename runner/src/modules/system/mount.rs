//! `mount` (ansible.posix): fstab entries and mounts, with the steps,
//! results and messages of Ansible's module (Linux variant).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::util;
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil;
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Mount;

static ARGS: [ArgDef; 11] = [
    ArgDef::new("path", ArgType::Path)
        .aliases(&["name"])
        .required()
        .doc("The mount point."),
    ArgDef::new("src", ArgType::Path)
        .doc("The device, label, share or directory mounted (required for `mounted`, `present`, `ephemeral`)."),
    ArgDef::new("fstype", ArgType::Str)
        .doc("The file system type (required for `mounted`, `present`, `ephemeral`)."),
    ArgDef::new("opts", ArgType::Str).doc("Mount options (default `defaults`)."),
    ArgDef::new("dump", ArgType::Str)
        .default(ArgDefault::Str("0"))
        .doc("The fstab dump field."),
    ArgDef::new("passno", ArgType::Str)
        .default(ArgDefault::Str("0"))
        .doc("The fstab pass field."),
    ArgDef::new("state", ArgType::Str)
        .required()
        .choices(&[
            "absent",
            "absent_from_fstab",
            "mounted",
            "present",
            "unmounted",
            "remounted",
            "ephemeral",
        ])
        .doc("`present`/`absent_from_fstab` edit fstab only; `mounted` also mounts; `absent` also unmounts and removes the mount point; `unmounted` unmounts only; `remounted` remounts; `ephemeral` mounts without fstab."),
    ArgDef::new("fstab", ArgType::Str).doc("The fstab file (default `/etc/fstab`)."),
    ArgDef::new("boot", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("`false` adds `noauto` to the options."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of fstab before changing it."),
    ArgDef::new("opts_no_log", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Accepted; Rustle does not log module arguments anyway."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS).required_if(&[
    ("state", "mounted", &["src", "fstype"]),
    ("state", "present", &["src", "fstype"]),
    ("state", "ephemeral", &["src", "fstype"]),
]);

const NOTES: &str = r#"As ansible.posix's module on Linux. fstab lines match on the mount
point (for swap, `none` mount points match on the source); fields are
escaped (`\040`, `\046`, `\134`); a changed entry is rewritten as `src
path fstype opts dump passno`, a missing one appended. Mounted state is
read from `/proc/self/mountinfo` (bind mounts included) and
`os.path.ismount`. Commands: `mount [-T FSTAB] PATH` (`-T` when `fstab`
is not `/etc/fstab`), `mount -o remount[,OPTS] [-T FSTAB] PATH` (falling
back to `umount` + `mount`), `umount PATH`, and for `ephemeral` `mount -t
FSTYPE [-o OPTS] SRC PATH`; `mount`/`umount` are found on the task's
`PATH`.

Results: `changed`, `name`, `src`, `fstype` (when given), `opts`, `dump`,
`passno`, `fstab`, `boot` (`yes`/`no`), `warnings` (when there are
some), `backup_file`.
Failures: `Error mounting X: ...`, `Error unmounting X: ...`, `Error
remounting X: ...`, `Error rmdir X: ...`, `Error making dir X: ...`, the
ephemeral and remount-with-options refusals, `state is mounted but all of
the following are missing: src, fstype`.

Check mode: full. Diff: none, as in Ansible. `remounted` always reports
a change.

Differences: Ansible creates a missing fstab file (and its directory)
on every run, even in check mode; Rustle creates it only when the task
changes something, never in check mode (a missing fstab reads as
empty). The BSD, Solaris and macOS variants are
not implemented.

Tested with fstab in a temporary directory (for real) and fake `mount`
/`umount` programs on `PATH` (conformance cases; differential cases
against ansible-playbook for `present`, `absent_from_fstab`, `absent`,
`unmounted`, `mounted` and `remounted`). Nothing is really mounted by
the tests, so a mounted mount point (remount on change, unmount on
absent) is exercised only through the fakes' view: the first `mounted`
run mounts, and so does the next."#;

impl Module for Mount {
    fn name(&self) -> &'static str {
        "mount"
    }
    fn description(&self) -> &'static str {
        "Control active and configured mount points"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
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
        let predicted = evaluate(ctx, false)?;
        if predicted.changed {
            Ok(Check::Change {
                predicted,
                action: action(|ctx| evaluate(ctx, true)),
            })
        } else {
            Ok(Check::Done(predicted))
        }
    }
}

#[derive(Debug, Clone)]
struct MountInfo {
    src: String,
}

/// `get_linux_mounts`: mount points to their source (a bind mount's
/// source is the directory it shows).
fn linux_mounts() -> Option<BTreeMap<String, MountInfo>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    struct Rec {
        parent: i64,
        root: String,
        dst: String,
        src: String,
    }
    let mut info: BTreeMap<i64, Rec> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let (Ok(id), Ok(parent)) = (f[0].parse::<i64>(), f[1].parse::<i64>()) else {
            continue;
        };
        info.insert(
            id,
            Rec {
                parent,
                root: f[3].to_owned(),
                dst: f[4].to_owned(),
                src: f[f.len() - 2].to_owned(),
            },
        );
    }
    let mut mounts = BTreeMap::new();
    for r in info.values() {
        let src = match info.get(&r.parent).filter(|_| r.parent != 1) {
            Some(m) => {
                let mut root = r.root.clone();
                if m.root.len() > 1 && root.starts_with(&format!("{}/", m.root)) {
                    root = root[m.root.len()..].to_owned();
                }
                if m.dst != "/" {
                    root = format!("{}{root}", m.dst);
                }
                root
            }
            None => r.src.clone(),
        };
        mounts.insert(r.dst.clone(), MountInfo { src });
    }
    Some(mounts)
}

/// `ismount` (os.path.ismount).
fn ismount(p: &str) -> bool {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return false;
    };
    if md.file_type().is_symlink() {
        return false;
    }
    let Ok(parent) = std::fs::symlink_metadata(Path::new(p).join("..")) else {
        return false;
    };
    md.dev() != parent.dev() || md.ino() == parent.ino()
}

fn is_bind_mounted(
    mounts: &Option<BTreeMap<String, MountInfo>>,
    dest: &str,
    src: Option<&str>,
) -> bool {
    match mounts {
        Some(m) => m.get(dest).is_some_and(|i| src.is_none_or(|s| i.src == s)),
        None => false,
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// The module's `args` dict: what is written and returned.
struct MArgs {
    name: String,
    src: Option<String>,
    fstype: Option<String>,
    opts: String,
    dump: String,
    passno: String,
    fstab: String,
    boot: &'static str,
    warnings: Vec<String>,
    backup_file: String,
}

impl MArgs {
    fn result(&self, changed: bool) -> ModuleResult {
        let mut r = ModuleResult {
            changed,
            ..Default::default()
        };
        r.set("name", self.name.clone());
        r.set("opts", self.opts.clone());
        r.set("dump", self.dump.clone());
        r.set("passno", self.passno.clone());
        r.set("fstab", self.fstab.clone());
        r.set("boot", self.boot);
        // An empty list is no key: Ansible's exit_json drops it.
        if !self.warnings.is_empty() {
            r.set("warnings", self.warnings.clone());
        }
        r.set("backup_file", self.backup_file.clone());
        if let Some(s) = &self.src {
            r.set("src", s.clone());
        }
        if let Some(t) = &self.fstype {
            r.set("fstype", t.clone());
        }
        r
    }
}

fn read_lines(path: &str) -> Result<Vec<String>, ModuleError> {
    match std::fs::read(path) {
        Ok(b) => Ok(String::from_utf8_lossy(&b)
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect()),
        // Only in check mode: Ansible would have created it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ModuleError::failed(
            crate::modules::files::common::py_oserror(&e, Some(Path::new(path)), None),
        )),
    }
}

fn write_fstab(ctx: &Context<'_>, lines: &[String], path: &str) -> Result<String, ModuleError> {
    let backup = if ctx.args.bool("backup") && Path::new(path).exists() {
        fsutil::backup_file(Path::new(path))?.display().to_string()
    } else {
        String::new()
    };
    // Ansible truncates and rewrites in place (the file keeps its inode).
    std::fs::write(path, lines.concat())
        .map_err(|e| ModuleError::io("failed to write", path, e))?;
    Ok(backup)
}

/// `_set_mount_save_old`: (old lines, changed).
fn set_mount(
    ctx: &Context<'_>,
    m: &mut MArgs,
    real: bool,
) -> Result<(Vec<String>, bool), ModuleError> {
    let e = |v: &Option<String>| escape(v.as_deref().unwrap_or("None"));
    let want = [
        e(&m.src),
        escape(&m.name),
        e(&m.fstype),
        escape(&m.opts),
        escape(&m.dump),
        escape(&m.passno),
    ];
    let mut to_write = Vec::new();
    let mut old = Vec::new();
    let mut exists = false;
    let mut changed = false;
    for line in read_lines(&m.fstab)? {
        let line = if line.ends_with('\n') {
            line
        } else {
            format!("{line}\n")
        };
        old.push(line.clone());
        if line.trim().is_empty() || line.trim().starts_with('#') {
            to_write.push(line);
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !(4..=6).contains(&fields.len()) {
            to_write.push(line);
            continue;
        }
        // src, name, fstype, opts, dump, passno; a missing dump/passno is
        // Python's int 0, which never equals the wanted string.
        let mut ld: Vec<Option<String>> = vec![None; 6];
        for (i, f) in fields.iter().enumerate() {
            ld[i] = Some((*f).to_owned());
        }
        let name = ld[1].as_deref().unwrap_or_default();
        let swap_other = m.src.is_some()
            && name == "none"
            && ld[2].as_deref() == Some("swap")
            && ld[0].as_deref() != m.src.as_deref();
        if name != want[1] || swap_other {
            to_write.push(line);
            continue;
        }
        exists = true;
        for i in [0, 2, 3, 4, 5] {
            if ld[i].as_deref() != Some(want[i].as_str()) {
                ld[i] = Some(want[i].clone());
                changed = true;
            }
        }
        if changed {
            let v: Vec<String> = ld
                .into_iter()
                .map(|x| x.unwrap_or_else(|| "0".into()))
                .collect();
            to_write.push(format!("{}\n", v.join(" ")));
        } else {
            to_write.push(line);
        }
    }
    if !exists {
        to_write.push(format!("{}\n", want.join(" ")));
        changed = true;
    }
    if changed && real {
        m.backup_file = write_fstab(ctx, &to_write, &m.fstab)?;
    }
    Ok((old, changed))
}

/// `unset_mount`.
fn unset_mount(ctx: &Context<'_>, m: &MArgs, real: bool) -> Result<bool, ModuleError> {
    let name = escape(&m.name);
    let mut to_write = Vec::new();
    let mut changed = false;
    for line in read_lines(&m.fstab)? {
        if line.trim().is_empty() || line.trim().starts_with('#') {
            to_write.push(line);
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 6 {
            to_write.push(line);
            continue;
        }
        let swap_other =
            m.src.is_some() && f[1] == "none" && f[2] == "swap" && Some(f[0]) != m.src.as_deref();
        if f[1] != name || swap_other {
            to_write.push(line);
            continue;
        }
        changed = true;
    }
    if changed && real {
        write_fstab(ctx, &to_write, &m.fstab)?;
    }
    Ok(changed)
}

fn fstab_args(ctx: &Context<'_>, m: &MArgs) -> Vec<String> {
    if ctx.args.str("state") == Some("ephemeral") {
        let mut v = vec!["-t".to_owned(), m.fstype.clone().unwrap_or_default()];
        if m.opts != "defaults" {
            v.push("-o".into());
            v.push(m.opts.clone());
        }
        v.push(m.src.clone().unwrap_or_default());
        v
    } else if !m.fstab.is_empty() && m.fstab != "/etc/fstab" {
        vec!["-T".into(), m.fstab.clone()]
    } else {
        Vec::new()
    }
}

fn run_rc(ctx: &Context<'_>, argv: Vec<String>) -> Result<(i32, String), ModuleError> {
    let o = util::run(ctx, &argv)?;
    Ok(if o.rc == 0 {
        (0, String::new())
    } else {
        (o.rc, o.out + &o.err)
    })
}

fn do_mount(ctx: &Context<'_>, m: &MArgs) -> Result<(i32, String), ModuleError> {
    let mut argv = vec![util::s(&util::require_bin(ctx, "mount")?)];
    argv.extend(fstab_args(ctx, m));
    argv.push(m.name.clone());
    run_rc(ctx, argv)
}

fn do_umount(ctx: &Context<'_>, path: &str) -> Result<(i32, String), ModuleError> {
    let argv = vec![util::s(&util::require_bin(ctx, "umount")?), path.to_owned()];
    run_rc(ctx, argv)
}

fn do_remount(ctx: &Context<'_>, m: &MArgs) -> Result<(i32, String), ModuleError> {
    let remounted = ctx.args.str("state") == Some("remounted");
    let mut argv = vec![util::s(&util::require_bin(ctx, "mount")?), "-o".into()];
    if remounted && m.opts != "defaults" {
        argv.push(format!("remount,{}", m.opts));
    } else {
        argv.push("remount".into());
    }
    argv.extend(fstab_args(ctx, m));
    argv.push(m.name.clone());
    let (rc, _) = run_rc(ctx, argv)?;
    if rc == 0 {
        return Ok((0, String::new()));
    }
    if remounted && m.opts != "defaults" {
        return Err(ModuleError::failed("Options were specified with remounted, but the remount command failed. Failing in order to prevent an unexpected mount result. Try replacing this command with a \"state: unmounted\" followed by a \"state: mounted\" using the full desired mount options instead."));
    }
    let (rc, msg) = do_umount(ctx, &m.name)?;
    if rc == 0 {
        do_mount(ctx, m)
    } else {
        Ok((rc, msg))
    }
}

fn same_mount_src(
    ctx: &Context<'_>,
    src: &str,
    mountpoint: &str,
    mounts: &Option<BTreeMap<String, MountInfo>>,
) -> Result<bool, ModuleError> {
    if !ismount(mountpoint) && !is_bind_mounted(mounts, mountpoint, None) {
        return Ok(false);
    }
    if mounts.is_some() && is_bind_mounted(mounts, mountpoint, Some(src)) {
        return Ok(true);
    }
    let bin = util::s(&util::require_bin(ctx, "mount")?);
    let o = util::run(ctx, &[bin.clone(), "-v".into()])?;
    if o.out.is_empty() {
        return Err(ModuleError::failed(format!(
            "Unable to retrieve mount info with command '{bin} -v'"
        )));
    }
    Ok(o.out.trim().lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 2 && f[0] == src && f[2] == mountpoint
    }))
}

fn evaluate(ctx: &Context<'_>, real: bool) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let state = a.str("state").unwrap_or_default();
    let boot = a.bool("boot");
    let mut m = MArgs {
        // `type='path'`: `~` expanded, as AnsibleModule does.
        name: util::s(&ctx.expand_path(a.str("path").unwrap_or_default())),
        src: a.str("src").map(|s| util::s(&ctx.expand_path(s))),
        fstype: a.str("fstype").map(str::to_owned),
        opts: a.str("opts").unwrap_or("defaults").to_owned(),
        dump: a.str("dump").unwrap_or("0").to_owned(),
        passno: a.str("passno").unwrap_or("0").to_owned(),
        fstab: a.str("fstab").unwrap_or("/etc/fstab").to_owned(),
        boot: "yes",
        warnings: Vec::new(),
        backup_file: String::new(),
    };
    let mounts = linux_mounts();
    if mounts.is_none() {
        m.warnings.push(
            "Cannot open file /proc/self/mountinfo. Bind mounts might be misinterpreted.".into(),
        );
    }
    let mut opts: Vec<String> = m.opts.split(',').map(str::to_owned).collect();
    if boot && opts.iter().any(|o| o == "noauto") {
        m.warnings
            .push("Ignore the 'boot' due to 'opts' contains 'noauto'.".into());
    } else if !boot {
        m.boot = "no";
        opts.push("noauto".into());
        m.opts = opts.join(",");
    }
    if state != "ephemeral" && real && !Path::new(&m.fstab).exists() {
        let dir = crate::modules::files::common::dirname(&m.fstab);
        if !dir.is_empty() && !Path::new(&dir).exists() {
            std::fs::create_dir_all(&dir).map_err(|e| {
                ModuleError::failed(format!("Failed to open {} due to {e}", m.fstab))
            })?;
        }
        if let Err(e) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&m.fstab)
        {
            return Err(ModuleError::failed(
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    format!("Failed to open {} due to permission issue", m.fstab)
                } else {
                    format!(
                        "Failed to open {} due to {}",
                        m.fstab,
                        crate::modules::files::common::py_oserror(
                            &e,
                            Some(Path::new(&m.fstab)),
                            None
                        )
                    )
                },
            ));
        }
    }
    let name = m.name.clone();
    let mut changed = false;
    match state {
        "absent_from_fstab" => changed = unset_mount(ctx, &m, real)?,
        "absent" => {
            changed = unset_mount(ctx, &m, real)?;
            if changed && real {
                if ismount(&name) || is_bind_mounted(&mounts, &name, None) {
                    let (rc, msg) = do_umount(ctx, &name)?;
                    if rc != 0 {
                        return Err(ModuleError::failed(format!(
                            "Error unmounting {name}: {msg}"
                        )));
                    }
                }
                if Path::new(&name).exists() {
                    std::fs::remove_dir(&name).map_err(|e| {
                        ModuleError::failed(format!(
                            "Error rmdir {name}: {}",
                            crate::modules::files::common::py_oserror(
                                &e,
                                Some(Path::new(&name)),
                                None
                            )
                        ))
                    })?;
                }
            }
        }
        "unmounted" => {
            if ismount(&name) || is_bind_mounted(&mounts, &name, None) {
                if real {
                    let (rc, msg) = do_umount(ctx, &name)?;
                    if rc != 0 {
                        return Err(ModuleError::failed(format!(
                            "Error unmounting {name}: {msg}"
                        )));
                    }
                }
                changed = true;
            }
        }
        "mounted" | "ephemeral" => {
            let mut dirs_created = Vec::new();
            if !Path::new(&name).exists() && real {
                let mut cur = String::new();
                for d in name.trim_matches('/').split('/') {
                    cur = format!("{cur}/{d}");
                    if !name.starts_with('/') {
                        cur = cur.trim_start_matches('/').to_owned();
                    }
                    if !Path::new(&cur).exists() {
                        match std::fs::create_dir(&cur) {
                            Ok(()) => dirs_created.push(cur.clone()),
                            Err(e)
                                if e.kind() == std::io::ErrorKind::AlreadyExists
                                    && Path::new(&cur).is_dir() => {}
                            Err(e) => {
                                return Err(ModuleError::failed(format!(
                                    "Error making dir {name}: {}",
                                    crate::modules::files::common::py_oserror(
                                        &e,
                                        Some(Path::new(&cur)),
                                        None
                                    )
                                )))
                            }
                        }
                    }
                }
            }
            let backup_lines = if state != "ephemeral" {
                let (old, c) = set_mount(ctx, &mut m, real)?;
                changed = c;
                Some(old)
            } else {
                None
            };
            let mut res = (0, String::new());
            if ismount(&name) || is_bind_mounted(&mounts, &name, m.src.as_deref()) {
                if changed && real {
                    res = do_remount(ctx, &m)?;
                    changed = true;
                }
                if state == "ephemeral" {
                    if same_mount_src(ctx, m.src.as_deref().unwrap_or_default(), &name, &mounts)? {
                        changed = true;
                        if real {
                            res = do_remount(ctx, &m)?;
                        }
                    } else {
                        return Err(ModuleError::failed("Ephemeral mount point is already mounted with a different source than the specified one. Failing in order to prevent an unwanted unmount or override operation. Try replacing this command with a \"state: unmounted\" followed by a \"state: ephemeral\", or use a different destination path."));
                    }
                }
            } else {
                changed = true;
                if real {
                    res = do_mount(ctx, &m)?;
                }
            }
            if res.0 != 0 {
                // Put fstab back and remove the directories made, as
                // Ansible does (best effort).
                if let Some(lines) = backup_lines {
                    let _ = write_fstab(ctx, &lines, &m.fstab);
                }
                for d in dirs_created.iter().rev() {
                    let _ = std::fs::remove_dir(d);
                }
                return Err(ModuleError::failed(format!(
                    "Error mounting {name}: {}",
                    res.1
                )));
            }
        }
        "present" => changed = set_mount(ctx, &mut m, real)?.1,
        "remounted" => {
            if real {
                let (rc, msg) = do_remount(ctx, &m)?;
                if rc != 0 {
                    return Err(ModuleError::failed(format!(
                        "Error remounting {name}: {msg}"
                    )));
                }
            }
            changed = true;
        }
        _ => return Err(ModuleError::failed("Unexpected position reached")),
    }
    Ok(m.result(changed))
}
