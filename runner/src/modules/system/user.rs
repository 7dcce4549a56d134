//! `user`: creates, changes and removes local accounts with `useradd`,
//! `usermod` and `userdel`, as Ansible's Linux `User` backend does.
//!
//! The whole module runs as one procedure with a `dry` switch (Ansible's
//! check mode): the check runs it dry, and only when that predicts a
//! change does the action run it for real.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use super::accounts::{self as acc, Passwd};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct User;

static ARGS: [ArgDef; 38] = [
    ArgDef::new("name", ArgType::Str)
        .aliases(&["user"])
        .required()
        .doc("The account's name."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("present"))
        .choices(&["absent", "present"])
        .doc("Whether the account should exist."),
    ArgDef::new("uid", ArgType::Int).doc("The account's numeric id."),
    ArgDef::new("non_unique", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("With `uid`, allow an id another account already has (`-o`)."),
    ArgDef::new("group", ArgType::Str).doc("The primary group (name or id); it must exist."),
    ArgDef::new("groups", ArgType::List)
        .doc("Supplementary groups (names or ids); an empty list removes them all unless `append`."),
    ArgDef::new("append", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Add `groups` to the current ones instead of replacing them."),
    ArgDef::new("comment", ArgType::Str).doc("The GECOS field."),
    ArgDef::new("home", ArgType::Path).doc("The home directory."),
    ArgDef::new("shell", ArgType::Path).doc("The login shell."),
    ArgDef::new("password", ArgType::Str)
        .doc("The password, already hashed (crypt(3) format), as stored in /etc/shadow."),
    ArgDef::new("update_password", ArgType::Str)
        .default(ArgDefault::Str("always"))
        .choices(&["always", "on_create"])
        .doc("`always` updates a different password; `on_create` sets it only for new accounts."),
    ArgDef::new("password_lock", ArgType::Bool)
        .doc("Lock (`true`, `usermod -L`) or unlock (`false`, `-U`) the password."),
    ArgDef::new("expires", ArgType::Float)
        .doc("Account expiry as Unix time (UTC day); a negative value removes the expiry."),
    ArgDef::new("password_expire_max", ArgType::Int)
        .doc("Maximum days between password changes (`chage -M`)."),
    ArgDef::new("password_expire_min", ArgType::Int)
        .doc("Minimum days between password changes (`chage -m`)."),
    ArgDef::new("password_expire_warn", ArgType::Int)
        .doc("Days of warning before the password expires (`chage -W`)."),
    ArgDef::new("password_expire_account_disable", ArgType::Int)
        .doc("Days after password expiry until the account is disabled (`-f`)."),
    ArgDef::new("remove", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("With state=absent, also remove the home directory and mail spool (`userdel -r`)."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("With state=absent, `userdel -f`; with generate_ssh_key, overwrite an existing key."),
    ArgDef::new("create_home", ArgType::Bool)
        .aliases(&["createhome"])
        .default(ArgDefault::Bool(true))
        .doc("Create the home directory (for new accounts, and when it is missing)."),
    ArgDef::new("move_home", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("When `home` changes, move the old home directory's contents (`usermod -m`)."),
    ArgDef::new("skeleton", ArgType::Str)
        .doc("The skeleton directory copied into a new home (default /etc/skel)."),
    ArgDef::new("system", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Create a system account (`useradd -r`); ignored for existing accounts."),
    ArgDef::new("umask", ArgType::Str).doc("The umask for a new home directory (`-K UMASK=`)."),
    ArgDef::new("uid_min", ArgType::Int).doc("Lowest id for a new account (`-K UID_MIN=`)."),
    ArgDef::new("uid_max", ArgType::Int).doc("Highest id for a new account (`-K UID_MAX=`)."),
    ArgDef::new("seuser", ArgType::Str).doc("The SELinux user of a new account (`-Z`)."),
    ArgDef::new("generate_ssh_key", ArgType::Bool)
        .doc("Generate an SSH key pair for the account (never overwritten unless `force`)."),
    ArgDef::new("ssh_key_bits", ArgType::Int)
        .default(ArgDefault::Int(0))
        .doc("Key size in bits; 0 leaves ssh-keygen's default."),
    ArgDef::new("ssh_key_type", ArgType::Str)
        .default(ArgDefault::Str("rsa"))
        .doc("Key type (`ssh-keygen -t`)."),
    ArgDef::new("ssh_key_file", ArgType::Path)
        .doc("The private key's path, relative to the home directory unless absolute (default .ssh/id_<type>)."),
    ArgDef::new("ssh_key_comment", ArgType::Str)
        .doc("The key's comment (default `ansible-generated on <hostname>`)."),
    ArgDef::new("ssh_key_passphrase", ArgType::Str)
        .doc("Not supported by rustle: a key with a passphrase fails with a clear message."),
    ArgDef::new("local", ArgType::Bool)
        .doc("Not supported by rustle (`luseradd`): `local: true` fails with a clear message."),
    ArgDef::new("hidden", ArgType::Bool).doc("macOS only; ignored on Linux, as by Ansible."),
    ArgDef::new("login_class", ArgType::Str).doc("BSD only; ignored on Linux, as by Ansible."),
    ArgDef::new("profile", ArgType::Str).doc("Solaris only; ignored on Linux, as by Ansible."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

/// The options of one run, resolved once.
#[derive(Debug, Clone)]
struct Opts {
    name: String,
    present: bool,
    uid: Option<i64>,
    non_unique: bool,
    group: Option<String>,
    /// `groups` joined with commas, as Ansible keeps it.
    groups: Option<String>,
    append: bool,
    comment: Option<String>,
    home: Option<String>,
    shell: Option<String>,
    password: Option<String>,
    update_always: bool,
    password_lock: Option<bool>,
    expires: Option<f64>,
    exp_max: Option<i64>,
    exp_min: Option<i64>,
    exp_warn: Option<i64>,
    inactive: Option<i64>,
    remove: bool,
    force: bool,
    create_home: bool,
    move_home: bool,
    skeleton: Option<String>,
    system: bool,
    umask: Option<String>,
    uid_min: Option<i64>,
    uid_max: Option<i64>,
    seuser: Option<String>,
    sshkeygen: bool,
    ssh_bits: i64,
    ssh_type: String,
    ssh_file: String,
    ssh_comment: String,
    warnings: Vec<String>,
}

impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }
    fn description(&self) -> &'static str {
        "Manage user accounts"
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
        let o = opts(ctx)?;
        let predicted = run(ctx, &o, true)?;
        if !predicted.changed {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |ctx| run(ctx, &o, false)),
        })
    }
}

const NOTES: &str = "\
Linux only, with the shadow tools (`useradd`, `usermod`, `userdel`, `chage`, `ssh-keygen`), \
as Ansible's Linux backend. Accounts are read from `/etc/passwd`, `/etc/group` and \
`/etc/shadow` directly (the static runner has no NSS), so accounts that only exist in LDAP or \
other NSS sources are not seen.

Results: `name`, `state`; for a new account `system`, `create_home`; for an existing one \
`append`, `move_home`; for present accounts `uid`, `group` (the primary gid), `comment`, `home`, \
`shell`, `groups` (as given, comma-joined) when `groups` is set, `password: NOT_LOGGING_PASSWORD` \
when `password` is set; `stdout`/`stderr` of the tool when not empty; with `generate_ssh_key` \
`ssh_fingerprint`, `ssh_key_file`, `ssh_public_key`; after removal `force` and `remove`. \
A failing tool fails the task with its stderr as `msg`, plus `name` and `rc`; a missing group \
fails with `Group <name> does not exist`.

Check mode: predicts exactly, running the same steps without the tools (for a new or removed \
account the result is only `changed: true`, as Ansible's). No diff, as Ansible.

Warnings as Ansible's: a `password` that does not look hashed; `append` without `groups`; an \
existing SSH key without `force`.

Differences from Ansible: `local: true` (`luseradd`) and `ssh_key_passphrase` are not \
supported and fail with a message saying so (a passphrase would have to be typed into \
ssh-keygen on a terminal, or put on its command line); macOS/BSD/Solaris-only options \
(`hidden`, `login_class`, `profile`) are accepted and ignored, as Ansible's Linux backend \
does; `authorization`, `role` are not accepted.

Tested for real as root (accounts named `rustletest*`, removed afterwards) by the \
conformance cases and the `mod_user_*` differential cases against ansible-playbook.";

fn opts(ctx: &Context<'_>) -> Result<Opts, ModuleError> {
    let a = &ctx.args;
    let s = |k: &str| a.str(k).map(str::to_owned);
    if a.opt_bool("local") == Some(true) {
        return Err(ModuleError::failed(
            "local: true (luseradd) is not supported by rustle",
        ));
    }
    if a.is_set("ssh_key_passphrase") && a.opt_bool("generate_ssh_key") == Some(true) {
        return Err(ModuleError::failed(
            "ssh_key_passphrase is not supported by rustle",
        ));
    }
    let ssh_type = s("ssh_key_type").unwrap_or_else(|| "rsa".into());
    let mut o = Opts {
        name: s("name").unwrap_or_default(),
        present: a.str("state") != Some("absent"),
        uid: a.int("uid"),
        non_unique: a.bool("non_unique"),
        group: s("group"),
        groups: a.get("groups").map(|_| a.list("groups").join(",")),
        append: a.bool("append"),
        comment: s("comment"),
        home: s("home"),
        shell: s("shell"),
        password: s("password"),
        update_always: a.str("update_password") != Some("on_create"),
        password_lock: a.opt_bool("password_lock"),
        expires: a.get("expires").and_then(Value::as_f64),
        exp_max: a.int("password_expire_max"),
        exp_min: a.int("password_expire_min"),
        exp_warn: a.int("password_expire_warn"),
        inactive: a.int("password_expire_account_disable"),
        remove: a.bool("remove"),
        force: a.bool("force"),
        create_home: a.opt_bool("create_home").unwrap_or(true),
        move_home: a.bool("move_home"),
        skeleton: s("skeleton"),
        system: a.bool("system"),
        umask: s("umask"),
        uid_min: a.int("uid_min"),
        uid_max: a.int("uid_max"),
        seuser: s("seuser"),
        sshkeygen: a.bool("generate_ssh_key"),
        ssh_bits: a.int("ssh_key_bits").unwrap_or(0),
        ssh_file: s("ssh_key_file").unwrap_or_else(|| format!(".ssh/id_{ssh_type}")),
        ssh_type,
        ssh_comment: s("ssh_key_comment")
            .unwrap_or_else(|| format!("ansible-generated on {}", acc::hostname())),
        warnings: Vec::new(),
    };
    if o.groups.is_none() && o.append {
        o.warnings.push("'append' is set, but no 'groups' are specified. Use 'groups' for appending new groups.This will change to an error in Ansible 2.14.".into());
    }
    if let Some(p) = &o.password {
        if !looks_hashed(p) {
            o.warnings.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".into());
        }
    }
    Ok(o)
}

/// Ansible's `check_password_encrypted` heuristic.
fn looks_hashed(p: &str) -> bool {
    if p.is_empty() || ["*", "!", "*************"].contains(&p) {
        return true;
    }
    if p.contains([':', '*', '!']) || !p.contains('$') {
        return false;
    }
    let fields: Vec<&str> = p.split('$').collect();
    if fields.len() < 3 {
        return false;
    }
    let last = fields[fields.len() - 1];
    let bad_char = last
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '=')));
    let want_len = match fields[1] {
        "1" => Some(22),
        "5" | "y" => Some(43),
        "6" => Some(86),
        _ => None,
    };
    !bad_char && want_len.is_none_or(|n| last.len() == n)
}

/// The account with its password from the shadow file (`user_info`).
fn user_info(name: &str) -> Option<Passwd> {
    let mut p = acc::getpwnam(name)?;
    if p.passwd.len() <= 1 {
        p.passwd = acc::getspnam(name).map(|s| s.passwd).unwrap_or_default();
    }
    Some(p)
}

fn fail_tool(name: &str, out: &acc::Output) -> ModuleError {
    ModuleError::Failed {
        msg: out.stderr.clone(),
        extra: serde_json::Map::from_iter([
            ("name".to_owned(), Value::from(name)),
            ("rc".to_owned(), Value::from(out.rc)),
        ]),
    }
}

/// Days since the epoch (UTC) of a Unix time, as `time.gmtime` gives it.
fn epoch_day(t: f64) -> i64 {
    (t / 86400.0).floor() as i64
}

fn date_of_day(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The whole module; `dry` is Ansible's check mode.
fn run(ctx: &Context<'_>, o: &Opts, dry: bool) -> Result<ModuleResult, ModuleError> {
    let mut r = ModuleResult::ok();
    let finish = |mut r: ModuleResult| {
        if !o.warnings.is_empty() {
            r.set("warnings", o.warnings.clone());
        }
        r
    };
    let mut changed = false;
    let mut out = acc::Output::default();
    let exists = acc::getpwnam(&o.name).is_some();
    r.set("name", o.name.clone());
    r.set("state", if o.present { "present" } else { "absent" });
    if !o.present {
        if exists {
            if dry {
                return Ok(finish(ModuleResult::changed()));
            }
            let mut cmd = vec![bin(ctx, "userdel")?];
            if o.force {
                cmd.push("-f".into());
            }
            if o.remove {
                cmd.push("-r".into());
            }
            cmd.push(o.name.clone());
            out = acc::run(ctx, &cmd, None);
            if out.rc != 0 {
                return Err(fail_tool(&o.name, &out));
            }
            changed = true;
            r.set("force", o.force);
            r.set("remove", o.remove);
        }
    } else if !exists {
        if dry {
            return Ok(finish(ModuleResult::changed()));
        }
        let needs_parents = o
            .home
            .as_deref()
            .is_some_and(|h| o.create_home && !Path::new(&acc::dirname(h)).is_dir());
        out = create(ctx, o)?;
        if out.rc != 0 {
            return Err(fail_tool(&o.name, &out));
        }
        changed = true;
        if needs_parents {
            if let (Some(info), Some(h)) = (acc::getpwnam(&o.name), &o.home) {
                chown_tree(Path::new(h), info.uid, info.gid)?;
            }
        }
        r.set("system", o.system);
        r.set("create_home", o.create_home);
    } else {
        let cmd = usermod_args(ctx, o)?;
        if cmd.len() > 1 {
            changed = true;
            if !dry {
                out = acc::run(ctx, &cmd, None);
                if out.rc != 0 {
                    return Err(fail_tool(&o.name, &out));
                }
            }
        }
        r.set("append", o.append);
        r.set("move_home", o.move_home);
    }
    if o.present && o.password.is_some() {
        r.set("password", "NOT_LOGGING_PASSWORD");
    }
    if !out.stdout.is_empty() {
        r.set("stdout", out.stdout.clone());
    }
    if !out.stderr.is_empty() {
        r.set("stderr", out.stderr.clone());
    }
    let mut warnings = Vec::new();
    if o.present {
        if let Some(info) = user_info(&o.name) {
            r.set("uid", info.uid);
            r.set("group", info.gid);
            r.set("comment", info.gecos.clone());
            r.set("home", info.home.clone());
            r.set("shell", info.shell.clone());
            if let Some(g) = &o.groups {
                r.set("groups", g.clone());
            }
            let home = o.home.clone().unwrap_or_else(|| info.home.clone());
            if !Path::new(&home).exists() && o.create_home {
                if !dry {
                    create_homedir(&home, o.skeleton.as_deref())?;
                    chown_tree(Path::new(&home), info.uid, info.gid)?;
                }
                changed = true;
            }
            if o.sshkeygen {
                let key = ssh_key_path(o, &info, dry);
                let (rc, err) = match &key {
                    Ok(k) => ssh_key_gen(ctx, o, &info, k, dry, &mut warnings)?,
                    Err(e) => (Some(1), e.clone()),
                };
                if let Some(rc) = rc {
                    if rc != 0 {
                        return Err(ModuleError::Failed {
                            msg: err,
                            extra: serde_json::Map::from_iter([
                                ("name".to_owned(), Value::from(o.name.clone())),
                                ("rc".to_owned(), Value::from(rc)),
                            ]),
                        });
                    }
                    changed = true;
                }
                let key = key.unwrap_or_default();
                let fp = if Path::new(&key).exists() {
                    let o2 = acc::run(
                        ctx,
                        &[
                            bin(ctx, "ssh-keygen")?,
                            "-l".into(),
                            "-f".into(),
                            key.clone(),
                        ],
                        None,
                    );
                    if o2.rc == 0 {
                        o2.stdout.trim().to_owned()
                    } else {
                        o2.stderr.trim().to_owned()
                    }
                } else {
                    String::new()
                };
                r.set("ssh_fingerprint", fp);
                r.set("ssh_key_file", key.clone());
                r.set(
                    "ssh_public_key",
                    fs::read_to_string(format!("{key}.pub"))
                        .map(|s| Value::from(s.trim()))
                        .unwrap_or(Value::Null),
                );
            }
            if let Some(cmd) = chage_args(ctx, o)? {
                if !dry {
                    let out = acc::run(ctx, &cmd, None);
                    if out.rc != 0 {
                        return Err(fail_tool(&o.name, &out));
                    }
                }
                changed = true;
            }
        }
    }
    r.changed = changed;
    let mut r = finish(r);
    if !warnings.is_empty() {
        let mut all: Vec<Value> = match r.extra.remove("warnings") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        all.extend(warnings.into_iter().map(Value::from));
        r.set("warnings", all);
    }
    Ok(r)
}

fn bin(ctx: &Context<'_>, name: &str) -> Result<String, ModuleError> {
    Ok(acc::require_bin(ctx, name)?.to_string_lossy().into_owned())
}

fn group_must_exist(g: &str) -> Result<acc::Group, ModuleError> {
    acc::group_lookup(g).ok_or_else(|| ModuleError::failed(format!("Group {g} does not exist")))
}

/// `groups` as a list without empty names, in the given order, once each.
fn wanted_groups(o: &Opts) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in o.groups.as_deref().unwrap_or_default().split(',') {
        let g = g.trim();
        if !g.is_empty() && !out.iter().any(|x| x == g) {
            out.push(g.to_owned());
        }
    }
    out
}

fn create(ctx: &Context<'_>, o: &Opts) -> Result<acc::Output, ModuleError> {
    let mut cmd = vec![bin(ctx, "useradd")?];
    if let Some(uid) = o.uid {
        cmd.extend(["-u".into(), uid.to_string()]);
        if o.non_unique {
            cmd.push("-o".into());
        }
    }
    if let Some(s) = &o.seuser {
        cmd.extend(["-Z".into(), s.clone()]);
    }
    if let Some(g) = &o.group {
        group_must_exist(g)?;
        cmd.extend(["-g".into(), g.clone()]);
    } else if acc::group_lookup(&o.name).is_some() {
        cmd.push("-N".into());
    }
    if o.groups.as_deref().is_some_and(|g| !g.is_empty()) {
        let groups = wanted_groups(o);
        for g in &groups {
            group_must_exist(g)?;
        }
        cmd.extend(["-G".into(), groups.join(",")]);
    }
    if let Some(c) = &o.comment {
        cmd.extend(["-c".into(), c.clone()]);
    }
    if let Some(h) = &o.home {
        if o.create_home {
            let parent = acc::dirname(h);
            if !Path::new(&parent).is_dir() {
                create_homedir(h, o.skeleton.as_deref())?;
            }
        }
        cmd.extend(["-d".into(), h.clone()]);
    }
    if let Some(s) = &o.shell {
        cmd.extend(["-s".into(), s.clone()]);
    }
    if let Some(e) = o.expires {
        cmd.push("-e".into());
        cmd.push(if e < 0.0 {
            String::new()
        } else {
            date_of_day(epoch_day(e))
        });
    }
    if let Some(i) = o.inactive {
        cmd.extend(["-f".into(), i.to_string()]);
    }
    if let Some(p) = &o.password {
        cmd.push("-p".into());
        cmd.push(if o.password_lock == Some(true) {
            format!("!{p}")
        } else {
            p.clone()
        });
    }
    if o.create_home {
        cmd.push("-m".into());
        if let Some(k) = &o.skeleton {
            cmd.extend(["-k".into(), k.clone()]);
        }
        if let Some(u) = &o.umask {
            cmd.extend(["-K".into(), format!("UMASK={u}")]);
        }
    } else {
        cmd.push("-M".into());
    }
    if o.system {
        cmd.push("-r".into());
    }
    if let Some(u) = o.uid_min {
        cmd.extend(["-K".into(), format!("UID_MIN={u}")]);
    }
    if let Some(u) = o.uid_max {
        cmd.extend(["-K".into(), format!("UID_MAX={u}")]);
    }
    cmd.push(o.name.clone());
    Ok(acc::run(ctx, &cmd, None))
}

/// The `usermod` command line for an existing account; only the program
/// when nothing differs.
fn usermod_args(ctx: &Context<'_>, o: &Opts) -> Result<Vec<String>, ModuleError> {
    let mut cmd = vec![bin(ctx, "usermod")?];
    let Some(info) = user_info(&o.name) else {
        return Ok(cmd);
    };
    if let Some(uid) = o.uid {
        if i64::from(info.uid) != uid {
            cmd.extend(["-u".into(), uid.to_string()]);
            if o.non_unique {
                cmd.push("-o".into());
            }
        }
    }
    if let Some(g) = &o.group {
        let gi = group_must_exist(g)?;
        if info.gid != gi.gid {
            cmd.extend(["-g".into(), gi.gid.to_string()]);
        }
    }
    if let Some(groups) = &o.groups {
        let current: Vec<String> = acc::group_all()
            .into_iter()
            .filter(|g| g.members.iter().any(|m| m == &o.name))
            .map(|g| g.name)
            .collect();
        let mut need = false;
        let mut names: Vec<String> = Vec::new();
        if groups.is_empty() {
            need = !current.is_empty() && !o.append;
        } else {
            for g in wanted_groups(o) {
                let n = group_must_exist(&g)?.name;
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            let missing = names.iter().any(|n| !current.contains(n));
            let extra = current.iter().any(|c| !names.contains(c));
            if o.append {
                if missing {
                    cmd.push("-a".into());
                    need = true;
                }
            } else {
                need = missing || extra;
            }
        }
        if need {
            cmd.extend(["-G".into(), names.join(",")]);
        }
    }
    if let Some(c) = &o.comment {
        if &info.gecos != c {
            cmd.extend(["-c".into(), c.clone()]);
        }
    }
    if let Some(h) = &o.home {
        if &info.home != h {
            cmd.extend(["-d".into(), h.clone()]);
            if o.move_home {
                cmd.push("-m".into());
            }
        }
    }
    if let Some(s) = &o.shell {
        if &info.shell != s {
            cmd.extend(["-s".into(), s.clone()]);
        }
    }
    if let Some(e) = o.expires {
        let cur = acc::getspnam(&o.name).map_or(0, |s| s.expire);
        if e < 0.0 {
            if cur >= 0 {
                cmd.extend(["-e".into(), String::new()]);
            }
        } else if cur < 0 || cur != epoch_day(e) {
            cmd.extend(["-e".into(), date_of_day(epoch_day(e))]);
        }
    }
    if let Some(i) = o.inactive {
        cmd.extend(["-f".into(), i.to_string()]);
    }
    let locked = info.passwd.starts_with('!');
    match o.password_lock {
        Some(true) if !locked => cmd.push("-L".into()),
        Some(false) if locked => cmd.push("-U".into()),
        _ => {}
    }
    if let Some(p) = &o.password {
        if o.update_always && info.passwd.trim_start_matches('!') != p.trim_start_matches('!') {
            cmd.retain(|c| c != "-L" && c != "-U");
            cmd.push("-p".into());
            cmd.push(if o.password_lock == Some(true) {
                format!("!{p}")
            } else {
                p.clone()
            });
        }
    }
    if cmd.len() > 1 {
        cmd.push(o.name.clone());
    }
    Ok(cmd)
}

/// The `chage` command line when the password ageing differs.
fn chage_args(ctx: &Context<'_>, o: &Opts) -> Result<Option<Vec<String>>, ModuleError> {
    if o.exp_min.is_none() && o.exp_max.is_none() && o.exp_warn.is_none() {
        return Ok(None);
    }
    let sh = acc::getspnam(&o.name);
    let differs = |want: Option<i64>, cur: Option<i64>| want.is_some() && want != cur;
    let min = differs(o.exp_min, sh.as_ref().map(|s| s.min));
    let max = differs(o.exp_max, sh.as_ref().map(|s| s.max));
    let warn = differs(o.exp_warn, sh.as_ref().map(|s| s.warn));
    if !(min || max || warn) {
        return Ok(None);
    }
    let mut cmd = vec![bin(ctx, "chage")?];
    for (flag, on, v) in [
        ("-m", min, o.exp_min),
        ("-M", max, o.exp_max),
        ("-W", warn, o.exp_warn),
    ] {
        if let (true, Some(v)) = (on, v) {
            cmd.extend([flag.to_owned(), v.to_string()]);
        }
    }
    cmd.push(o.name.clone());
    Ok(Some(cmd))
}

fn ssh_key_path(o: &Opts, info: &Passwd, dry: bool) -> Result<String, String> {
    if o.ssh_file.starts_with('/') {
        return Ok(o.ssh_file.clone());
    }
    if !Path::new(&info.home).exists() && !dry {
        return Err(format!("User {} home directory does not exist", o.name));
    }
    Ok(acc::path_join(&info.home, &o.ssh_file))
}

/// Ansible's `ssh_key_gen`: `(None, _)` when nothing was done, else the
/// return code and the error text.
fn ssh_key_gen(
    ctx: &Context<'_>,
    o: &Opts,
    info: &Passwd,
    key: &str,
    dry: bool,
    warnings: &mut Vec<String>,
) -> Result<(Option<i64>, String), ModuleError> {
    let pubf = format!("{key}.pub");
    let dir = acc::dirname(key);
    if !Path::new(&dir).exists() {
        if dry {
            return Ok((Some(0), String::new()));
        }
        if let Err(e) = fs::create_dir(&dir).and_then(|()| {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
            std::os::unix::fs::chown(&dir, Some(info.uid), Some(info.gid))
        }) {
            return Ok((Some(1), format!("Failed to create {dir}: {e}")));
        }
    }
    let mut overwrite = false;
    if Path::new(key).exists() {
        if o.force {
            warnings.push(format!(
                "Overwriting existing ssh key private file \"{key}\""
            ));
            overwrite = true;
        } else {
            warnings.push(format!("Found existing ssh key private file \"{key}\", no force, so skipping ssh-keygen generation"));
            return Ok((None, String::new()));
        }
    }
    if Path::new(&pubf).exists() {
        if o.force {
            warnings.push(format!(
                "Overwriting existing ssh key public file \"{pubf}\""
            ));
            if !dry {
                let _ = fs::remove_file(&pubf);
            }
        } else {
            warnings.push(format!("Found existing ssh key public file \"{pubf}\", no force, so skipping ssh-keygen generation"));
            return Ok((None, String::new()));
        }
    }
    if dry {
        return Ok((Some(0), String::new()));
    }
    let mut cmd = vec![bin(ctx, "ssh-keygen")?, "-t".into(), o.ssh_type.clone()];
    if o.ssh_bits > 0 {
        cmd.extend(["-b".into(), o.ssh_bits.to_string()]);
    }
    cmd.extend([
        "-C".into(),
        o.ssh_comment.clone(),
        "-f".into(),
        key.to_owned(),
        "-N".into(),
        String::new(),
    ]);
    let out = acc::run(ctx, &cmd, overwrite.then_some(b"y".as_slice()));
    if out.rc == 0 {
        for p in [key, pubf.as_str()] {
            let _ = std::os::unix::fs::chown(p, Some(info.uid), Some(info.gid));
        }
    }
    Ok((Some(out.rc), out.stderr))
}

/// Ansible's `create_homedir`: a copy of the skeleton (or an empty
/// directory) with the mode login.defs asks for.
fn create_homedir(home: &str, skeleton: Option<&str>) -> Result<(), ModuleError> {
    let p = Path::new(home);
    if p.exists() {
        return Ok(());
    }
    let skel = skeleton.unwrap_or("/etc/skel");
    let res = if Path::new(skel).exists() && skel != "/dev/null" {
        copy_tree(Path::new(skel), p)
    } else {
        fs::create_dir_all(p)
    };
    res.map_err(|e| ModuleError::failed(e.to_string()))?;
    let mut mode = 0o755;
    if let Ok(text) = fs::read_to_string("/etc/login.defs") {
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let (Some(k), Some(v), None) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let Ok(n) = u32::from_str_radix(v, 8) else {
                continue;
            };
            if !v.bytes().all(|b| b.is_ascii_digit()) || !line.starts_with(k) {
                continue;
            }
            if k == "HOME_MODE" {
                mode = n;
                break;
            }
            if k == "UMASK" {
                mode = 0o777 & !n;
            }
        }
    }
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .map_err(|e| ModuleError::failed(e.to_string()))
}

/// `shutil.copytree(src, dst, symlinks=True)`.
fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dst)?;
    for e in fs::read_dir(src)? {
        let e = e?;
        let from = e.path();
        let to = dst.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if ft.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            fs::copy(&from, &to)?;
        }
    }
    let perm = fs::metadata(src)?.permissions();
    fs::set_permissions(dst, perm)
}

/// Ansible's `chown_homedir`: the directory and everything in it but
/// symlinked files.
fn chown_tree(p: &Path, uid: u32, gid: u32) -> Result<(), ModuleError> {
    let fail = |e: std::io::Error| ModuleError::failed(e.to_string());
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(fail)?;
    let Ok(rd) = fs::read_dir(p) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            chown_tree(&path, uid, gid)?;
        } else if !ft.is_symlink() {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).map_err(fail)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_heuristic() {
        assert!(looks_hashed("!"));
        assert!(!looks_hashed("secret"));
        assert!(looks_hashed(&format!("$6$salt${}", "a".repeat(86))));
        assert!(!looks_hashed(&format!("$6$salt${}", "a".repeat(10))));
        assert!(!looks_hashed("$y$j9T$abc$"));
    }

    #[test]
    fn days() {
        assert_eq!(date_of_day(epoch_day(1_700_000_000.0)), "2023-11-14");
        assert_eq!(epoch_day(-1.0), -1);
    }
}
