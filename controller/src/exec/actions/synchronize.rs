//! `synchronize` (ansible.posix): a native tree sync instead of rsync.
//! Push: the controller reads the source tree and ships it (one asset per
//! distinct content) to the runner's `synchronize` module, which brings
//! the host's destination in line. Pull: the host's tree is read where it
//! is (the host is the controller for `connection: local`, the only kind
//! reachable today) and applied to the controller's destination.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustle_bundle::AssetId;
use rustle_runner::modules::files::synchronize as sync;
use rustle_template::Vars;
use serde_json::{json, Map, Value};

use super::script::needle_candidates;
use super::{done, kw, module_call_assets, Done, Runner, Scheduled};
use crate::exec::{action_docs, truthy};

/// The action's `_get_absolute_path`: relative paths are looked up in
/// `files/` (role, then task and playbook directories); a trailing slash
/// is kept.
fn absolute(s: &Scheduled, r: &Runner<'_>, path: &str) -> String {
    if path.contains(':') || path.starts_with('/') {
        return path.to_owned();
    }
    let cands = needle_candidates(s, "files", path.trim_end_matches('/'), &r.playbook_dir);
    let found = cands
        .iter()
        .find(|c| c.exists())
        .cloned()
        .unwrap_or_else(|| s.task.basedir.join(path.trim_end_matches('/')));
    let mut out = found.display().to_string();
    if path.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The rsync command line Ansible's module would run (reported as `cmd`).
#[allow(clippy::too_many_arguments)] // one flag per rsync option
fn rsync_cmd(
    a: &rustle_runner::args::Args,
    check: bool,
    recursive: Option<bool>,
    links: Option<bool>,
    perms: Option<bool>,
    times: Option<bool>,
    src: &str,
    dest: &str,
) -> String {
    let rsync = ["/usr/bin/rsync", "/bin/rsync", "/usr/local/bin/rsync"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("rsync");
    let mut cmd = vec![rsync.to_owned()];
    if a.bool("delay_updates") {
        cmd.push("--delay-updates".into());
        cmd.push("-F".into());
    }
    if a.bool("compress") {
        cmd.push("--compress".into());
    }
    if check {
        cmd.push("--dry-run".into());
    }
    if a.bool("delete") {
        cmd.push("--delete-after".into());
    }
    if a.bool("existing_only") {
        cmd.push("--existing".into());
    }
    if a.bool("checksum") {
        cmd.push("--checksum".into());
    }
    if a.bool("copy_links") {
        cmd.push("--copy-links".into());
    }
    let owner = a.opt_bool("owner");
    let group = a.opt_bool("group");
    if a.bool("archive") {
        cmd.push("--archive".into());
        for (v, name) in [
            (recursive, "recursive"),
            (links, "links"),
            (perms, "perms"),
            (times, "times"),
            (owner, "owner"),
            (group, "group"),
        ] {
            if v == Some(false) {
                cmd.push(format!("--no-{name}"));
            }
        }
    } else {
        for (v, name) in [
            (recursive, "recursive"),
            (links, "links"),
            (perms, "perms"),
            (times, "times"),
            (owner, "owner"),
            (group, "group"),
        ] {
            if v == Some(true) {
                cmd.push(format!("--{name}"));
            }
        }
    }
    if a.bool("dirs") {
        cmd.push("--dirs".into());
    }
    cmd.extend(a.list("rsync_opts"));
    if a.bool("partial") {
        cmd.push("--partial".into());
    }
    cmd.push(format!(
        "--out-format={}",
        shlex::try_quote("<<CHANGED>>%i %n%L").unwrap_or_default()
    ));
    cmd.push(shlex::try_quote(src).unwrap_or_default().into_owned());
    cmd.push(shlex::try_quote(dest).unwrap_or_default().into_owned());
    cmd.join(" ")
}

fn fail_rc(msg: impl Into<String>) -> Done {
    done(json!({"changed": false, "failed": true, "rc": 1, "msg": msg.into()}))
}

pub(super) fn synchronize(
    r: &Runner<'_>,
    s: &Scheduled,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    let a = match action_docs::validate("synchronize", args) {
        Ok(a) => a,
        Err(msg) => return done(json!({"changed": false, "failed": true, "msg": msg})),
    };
    for unsupported in ["link_dest", "rsync_path", "private_key", "dest_port"] {
        if a.get(unsupported).is_some_and(|v| !v.is_null()) {
            return fail_rc(format!(
                "synchronize: {unsupported} is not supported by rustle's native tree sync"
            ));
        }
    }
    let mut excludes = Vec::new();
    let mut delete = a.bool("delete");
    let mut checksum = a.bool("checksum");
    let opts_list = a.list("rsync_opts");
    let mut it = opts_list.iter();
    while let Some(o) = it.next() {
        if let Some(p) = o.strip_prefix("--exclude=") {
            excludes.push(p.trim_matches(['\'', '"']).to_owned());
        } else if o == "--exclude" {
            if let Some(p) = it.next() {
                excludes.push(p.clone());
            }
        } else if o == "--delete" || o == "--delete-after" {
            delete = true;
        } else if o == "--checksum" || o == "-c" {
            checksum = true;
        } else {
            return fail_rc(format!(
                "synchronize: rsync option {o} is not supported by rustle's native tree sync (supported: --exclude=PATTERN, --delete, --checksum)"
            ));
        }
    }
    let archive = a.bool("archive");
    let pick = |k: &str| a.opt_bool(k);
    let (recursive, links, perms, times) = (
        pick("recursive"),
        pick("links"),
        pick("perms"),
        pick("times"),
    );
    let opts = sync::Options {
        recursive: recursive.unwrap_or(archive),
        links: links.unwrap_or(archive) && !a.bool("copy_links"),
        perms: perms.unwrap_or(archive),
        times: times.unwrap_or(archive),
        owner: a.opt_bool("owner").unwrap_or(archive),
        group: a.opt_bool("group").unwrap_or(archive),
        checksum,
        delete,
        existing_only: a.bool("existing_only"),
    };
    let src = absolute(s, r, a.str("src").unwrap_or_default());
    let dest = absolute(s, r, a.str("dest").unwrap_or_default());
    let check = kw(r, s, "check_mode", vars).map_or(r.cfg.check, |v| truthy(&v));
    let cmd = rsync_cmd(&a, check, recursive, links, perms, times, &src, &dest);

    // rsync's naming: `dir/` copies the contents, `dir` the directory itself.
    let src_path = PathBuf::from(src.trim_end_matches('/'));
    let src_path = if src_path.as_os_str().is_empty() {
        PathBuf::from("/")
    } else {
        src_path
    };
    let root_name = if src.ends_with('/') || !src_path.is_dir() {
        String::new()
    } else {
        src_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let tree = match sync::read_tree(&src_path, &root_name, &opts, &excludes) {
        Ok(t) => t,
        Err(e) => {
            return done(json!({
                "changed": false, "failed": true, "rc": 23, "cmd": cmd,
                "msg": format!("rsync: [sender] link_stat \"{}\" failed: {e}\n", src_path.display()),
            }))
        }
    };
    let mut entries = Vec::new();
    let mut named: Vec<(String, Vec<u8>)> = Vec::new();
    for (mut e, file) in tree {
        if let Some(f) = file {
            let bytes = match std::fs::read(&f) {
                Ok(b) => b,
                Err(e) => return fail_rc(format!("could not read {}: {e}", f.display())),
            };
            let name = format!("f:{}", AssetId::of(&bytes));
            e.asset = Some(name.clone());
            if !named.iter().any(|(n, _)| *n == name) {
                named.push((name, bytes));
            }
        }
        entries.push(e);
    }
    // A single file lands inside an existing directory (or `dest/`); the
    // host decides for a push, here for a pull.
    let dest_root = PathBuf::from(&dest);
    let pull = a.str("mode") == Some("pull");
    let src_name = src_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if entries.len() == 1
        && entries[0].kind == sync::Kind::File
        && (dest.ends_with('/') || (pull && dest_root.is_dir()))
    {
        entries[0].path = src_name.clone();
    }
    if pull {
        // The destination is on the controller: applied here.
        let content = |e: &sync::Entry| -> Option<Vec<u8>> {
            let n = e.asset.as_deref()?;
            named.iter().find(|(k, _)| k == n).map(|(_, b)| b.clone())
        };
        let (ops, lines) = sync::plan(&entries, &dest_root, &opts, &excludes, &content);
        if !check {
            if let Err(e) = sync::apply(&entries, &dest_root, &opts, &ops, &content) {
                return fail_rc(e.to_string());
            }
        }
        let res = sync::result(&lines, &cmd);
        let mut v = res.to_json();
        if !kw(r, s, "diff", vars).map_or(r.cfg.diff, |d| truthy(&d)) {
            if let Value::Object(m) = &mut v {
                m.remove("diff");
            }
        }
        return done(v);
    }
    let mut margs = Map::new();
    margs.insert("dest".into(), Value::from(dest));
    margs.insert(
        "_tree".into(),
        serde_json::to_value(&entries).unwrap_or(Value::Null),
    );
    margs.insert("_cmd".into(), Value::from(cmd));
    margs.insert("_src_name".into(), Value::from(src_name));
    margs.insert("_excludes".into(), json!(excludes));
    for (k, v) in [
        ("recursive", opts.recursive),
        ("links", opts.links),
        ("perms", opts.perms),
        ("times", opts.times),
        ("owner", opts.owner),
        ("group", opts.group),
        ("checksum", opts.checksum),
        ("delete", opts.delete),
        ("existing_only", opts.existing_only),
    ] {
        margs.insert(k.into(), Value::Bool(v));
    }
    module_call_assets(r, s, "synchronize", margs, vars, named)
}
