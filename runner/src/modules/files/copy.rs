//! `copy`: put content on the host, the module side of Ansible's `copy`
//! action once the controller has shipped the content.
//!
//! Rustle runs the whole of Ansible's action plugin on the host: the
//! content arrives as the bundle asset `src` (or inline in `content`), a
//! directory source as one asset per file, `src/<path relative to the
//! source directory>`. The steps, results and messages are those of the
//! action plugin and the module it calls (`copy` when the content differs,
//! `file` when only attributes may), including check mode, where Ansible's
//! action answers before the module runs.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::common::{self as c, kv, FileArgs};
use super::file::{self, expand, file_common_args};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::fsutil::{self, StagedFile};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Copy;

const COMMON: [ArgDef; 8] = file_common_args!();

static ARGS: [ArgDef; 21] = [
    ArgDef::new("src", ArgType::Str)
        .doc("Source file or directory (shipped in the bundle unless remote_src)."),
    ArgDef::new("content", ArgType::Raw).doc("Content to write, instead of src."),
    ArgDef::new("dest", ArgType::Path).doc("Where to copy to; a path ending in / is a directory."),
    ArgDef::new("backup", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Keep a timestamped copy of the file it replaces."),
    ArgDef::new("force", ArgType::Bool)
        .doc("Replace dest when its content differs; false: only create."),
    ArgDef::new("validate", ArgType::Str)
        .doc("Command run on the new file (%s) before it is put in place."),
    ArgDef::new("directory_mode", ArgType::Raw).doc("Mode of directories the copy creates."),
    ArgDef::new("remote_src", ArgType::Bool).doc("src is a path on the host."),
    ArgDef::new("local_follow", ArgType::Bool).doc("Follow symlinks in the source."),
    ArgDef::new("checksum", ArgType::Str).doc("Expected SHA1 of the source."),
    ArgDef::new("follow", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Follow a symlinked dest."),
    ArgDef::new("decrypt", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Accepted; vault decryption happens on the controller."),
    ArgDef::new("_src_mode", ArgType::Raw).internal(),
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    COMMON[6],
    COMMON[7],
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

/// Ansible's `C.MAX_FILE_SIZE_FOR_DIFF`.
const MAX_DIFF_SIZE: u64 = 104_448;

/// Names `filecmp.dircmp` ignores.
const DIRCMP_IGNORE: [&str; 8] = [
    "RCS",
    "CVS",
    "tags",
    ".git",
    ".hg",
    ".bzr",
    "_darcs",
    "__pycache__",
];

type R = Map<String, Value>;

#[derive(Debug, Clone)]
struct Opts {
    dest: String,
    backup: bool,
    force: bool,
    validate: Option<String>,
    directory_mode: Option<Value>,
    remote_src: bool,
    local_follow: Option<bool>,
    checksum: Option<String>,
    follow: bool,
    unsafe_writes: bool,
    mode: Option<Value>,
    owner: Option<String>,
    group: Option<String>,
    src_mode: Option<Value>,
    diff: bool,
}

/// What is being copied.
#[derive(Debug, Clone)]
enum Source {
    Content(Vec<u8>),
    File {
        src: String,
        data: Vec<u8>,
    },
    /// Files keyed by their path relative to the source directory.
    Dir {
        src: String,
        files: Vec<(String, Vec<u8>)>,
    },
    Remote(String),
}

const NOTES: &str = r#"
The controller finds `src` as Ansible's action does (role `files/`, the
task's and the playbook's directories), and ships its content to the host
as a bundle asset (a directory as one asset per file); `content` travels
inline. On the host the steps, results and messages are those of Ansible's
copy action and the `copy`/`file` modules it calls: `dest` ending in `/`
(or an existing directory) receives the source's basename, `force: false`
keeps an existing file, `checksum` verifies the source, `validate` runs
with `%s` replaced by the staged file, `backup` names the old file
`<dest>.<pid>.<timestamp>~`, `remote_src` copies a file or tree on the host,
`directory_mode` applies to created directories, `mode: preserve` keeps the
source's mode.

Results: `changed`, `dest`, `src`, `checksum` (SHA1), `md5sum`,
`backup_file`, `size`, `state`, `mode`, `owner`, `group`, `uid`, `gid`;
failures with Ansible's wording (`Destination directory X does not
exist`, `can not use content with a dir as dest`, ...).

Check mode: full (answers as the action does, before the module would
run). Diff: yes (content before/after; binary or over-large content is
reported as Ansible does).
"#;

impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn description(&self) -> &'static str {
        "Copy files to the host"
    }
    fn notes(&self) -> &'static str {
        NOTES
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
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a = &ctx.args;
        let src = a.str("src").filter(|s| !s.is_empty());
        let content = a.get("content");
        let dest = a.str("dest").filter(|s| !s.is_empty());
        let fail = |m: &str| Err(ModuleError::failed(m));
        // A bundled `src` asset stands for `src` when the controller has
        // shipped the content without the original path.
        let has_asset = ctx.assets.contains_key("src");
        if src.is_none() && content.is_none() && !has_asset {
            return fail("src (or content) is required");
        }
        let Some(dest) = dest else {
            return fail("dest is required");
        };
        if src.is_some() && content.is_some() {
            return fail("src and content are mutually exclusive");
        }
        if content.is_some() && dest.ends_with('/') {
            return fail("can not use content with a dir as dest");
        }
        let opts = Opts {
            dest: expand(dest),
            backup: a.bool("backup"),
            force: a.opt_bool("force").unwrap_or(true),
            validate: a.str("validate").map(str::to_owned),
            directory_mode: a.get("directory_mode").cloned(),
            remote_src: a.bool("remote_src"),
            local_follow: a.opt_bool("local_follow"),
            checksum: a.str("checksum").map(str::to_owned),
            follow: a.bool("follow"),
            unsafe_writes: a.bool("unsafe_writes"),
            mode: a.get("mode").cloned(),
            owner: a.str("owner").map(str::to_owned),
            group: a.str("group").map(str::to_owned),
            src_mode: a.get("_src_mode").cloned(),
            diff: ctx.diff,
        };
        let source = if let (None, None, true) = (src, content, has_asset) {
            match ctx.asset("src")? {
                Some(data) => Source::File {
                    src: String::new(),
                    data,
                },
                None => return fail("src (or content) is required"),
            }
        } else if let Some(content) = content {
            match ctx.asset("src")? {
                Some(data) => Source::Content(data),
                None => Source::Content(content_bytes(content)),
            }
        } else {
            let src = src.unwrap_or_default().to_owned();
            if opts.remote_src {
                Source::Remote(src)
            } else if let Some(data) = ctx.asset("src")? {
                Source::File { src, data }
            } else {
                let mut files = Vec::new();
                for name in ctx.assets.keys() {
                    if let Some(rel) = name.strip_prefix("src/").filter(|r| !r.is_empty()) {
                        if let Some(data) = ctx.asset(name)? {
                            files.push((rel.to_owned(), data));
                        }
                    }
                }
                if files.is_empty() {
                    return Err(ModuleError::failed(format!(
                        "Could not find or access '{src}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
                    )));
                }
                Source::Dir { src, files }
            }
        };
        let predicted = run(&opts, &source, true)?;
        if !predicted.changed {
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |_ctx: &Context<'_>| run(&opts, &source, false)),
        })
    }
}

/// `content` as the bytes Ansible's action writes.
fn content_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Bool(b) => if *b { "True" } else { "False" }.as_bytes().to_vec(),
        Value::Number(n) => n.to_string().into_bytes(),
        Value::Null => Vec::new(),
        other => crate::pyjson::dumps(other, None).into_bytes(),
    }
}

fn is_failed(r: &R) -> bool {
    r.get("failed").and_then(Value::as_bool).unwrap_or(false)
}

fn is_changed(r: &R) -> bool {
    r.get("changed").and_then(Value::as_bool).unwrap_or(false)
}

/// A module error as a failed result map (how results merge in the action).
fn failed_map(e: ModuleError) -> R {
    let r = e.into_result();
    let mut m = r.extra;
    m.insert("failed".into(), true.into());
    m.insert("changed".into(), r.changed.into());
    if let Some(msg) = r.msg {
        m.insert("msg".into(), msg.into());
    }
    m
}

fn result_map(r: ModuleResult) -> R {
    let mut m = r.extra;
    m.insert("changed".into(), r.changed.into());
    if let Some(msg) = r.msg {
        m.insert("msg".into(), msg.into());
    }
    m
}

/// The final result map as a [`ModuleResult`] or a failure.
fn finish(mut m: R) -> Result<ModuleResult, ModuleError> {
    let changed = m
        .remove("changed")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let failed = m
        .remove("failed")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let msg = m.remove("msg").and_then(|v| v.as_str().map(str::to_owned));
    if failed {
        m.insert("changed".into(), changed.into());
        return Err(ModuleError::Failed {
            msg: msg.unwrap_or_default(),
            extra: m,
        });
    }
    Ok(ModuleResult {
        changed,
        msg,
        extra: m,
        ..Default::default()
    })
}

fn run(opts: &Opts, source: &Source, dry: bool) -> Result<ModuleResult, ModuleError> {
    if let Source::Remote(src) = source {
        let mp = ModParams {
            src: Src::Host(PathBuf::from(expand(src)), expand(src)),
            dest: opts.dest.clone(),
            original_basename: None,
            follow: opts.follow,
            checksum: opts.checksum.clone(),
            mode: opts.mode.clone(),
        };
        return finish(module_copy(opts, &mp, dry).unwrap_or_else(failed_map));
    }
    // The action plugin's view: files (data, display path, path under
    // dest) and directories (path under dest).
    let mut files: Vec<(&[u8], String, String, Option<&str>)> = Vec::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut dest = opts.dest.clone();
    let display_src: Value;
    let is_content = matches!(source, Source::Content(_));
    match source {
        Source::Content(data) => {
            files.push((data, String::new(), ".rustle-content".into(), None));
            display_src = Value::Null;
        }
        Source::File { src, data } => {
            files.push((data, src.clone(), c::basename(src).to_owned(), None));
            display_src = src.clone().into();
        }
        Source::Dir { src, files: fl } => {
            let trailing = src.ends_with('/');
            let top = src.trim_end_matches('/');
            let prefix = if trailing {
                String::new()
            } else {
                format!("{}/", c::basename(top))
            };
            for (rel, data) in fl {
                let dest_rel = format!("{prefix}{rel}");
                // Every directory below the source's top.
                let mut d = c::dirname(rel);
                while !d.is_empty() {
                    dirs.insert(format!("{prefix}{d}"));
                    d = c::dirname(&d);
                }
                files.push((data, c::join(top, rel), dest_rel, Some(rel.as_str())));
            }
            if !dest.ends_with('/') {
                dest.push('/');
            }
            display_src = src.clone().into();
        }
        Source::Remote(_) => {
            return Err(ModuleError::failed("internal error: remote source"));
        }
    }
    let mut changed = false;
    let mut executed = false;
    let mut last: R = Map::new();
    for (data, full, rel, key) in &files {
        let follow = if dirs.is_empty() { opts.follow } else { false };
        let r = copy_file(
            opts,
            CopyOne {
                data,
                source_full: full,
                source_rel: rel,
                mode_key: *key,
                is_content,
                dest: &dest,
                follow,
            },
            dry,
        )?;
        let Some(r) = r else { continue };
        if is_failed(&r) {
            return finish(r);
        }
        executed = true;
        changed |= is_changed(&r);
        last = r;
    }
    for d in &dirs {
        let mut p = file::Params::new(&c::join(&dest, d));
        p.state = Some("directory".into());
        p.mode = opts.directory_mode.clone();
        p.owner = opts.owner.clone();
        p.group = opts.group.clone();
        let r = match file::run(p, dry) {
            Ok(r) => result_map(r),
            Err(e) => return finish(failed_map(e)),
        };
        executed = true;
        changed |= is_changed(&r);
        last = r;
    }
    if executed && files.len() == 1 {
        if !last.contains_key("dest") {
            if let Some(p) = last.get("path").cloned() {
                last.insert("dest".into(), p);
            }
        }
        return finish(last);
    }
    finish(kv([
        ("dest", dest.into()),
        ("src", display_src),
        ("changed", changed.into()),
    ]))
}

/// One file of the action plugin's loop.
struct CopyOne<'a> {
    data: &'a [u8],
    /// The source's path for display (`after_header`).
    source_full: &'a str,
    /// Path under a directory dest (the source's basename for one file).
    source_rel: &'a str,
    /// Key into a per-file `_src_mode` map.
    mode_key: Option<&'a str>,
    is_content: bool,
    dest: &'a str,
    follow: bool,
}

/// `stat` of dest as the action plugin asks for it.
struct DestStatus {
    exists: bool,
    isdir: bool,
    checksum: Option<String>,
}

fn remote_stat(p: &str, follow: bool, get_checksum: bool) -> DestStatus {
    let path = Path::new(p);
    let md = if follow {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    };
    match md {
        Err(_) => DestStatus {
            exists: false,
            isdir: false,
            checksum: None,
        },
        Ok(md) => DestStatus {
            exists: true,
            isdir: md.is_dir(),
            checksum: if get_checksum && md.is_file() && c::readable(path) {
                c::sha1_file(path).ok()
            } else {
                None
            },
        },
    }
}

/// The mode `preserve` stands for: the source's mode, as the controller
/// sent it in `_src_mode` (one value, or a map by relative path).
fn preserved_mode(opts: &Opts, key: Option<&str>) -> Result<Option<Value>, ModuleError> {
    if opts.mode.as_ref().and_then(Value::as_str) != Some("preserve") {
        return Ok(None);
    }
    let v = match (&opts.src_mode, key) {
        (Some(Value::Object(m)), Some(k)) => m.get(k),
        (Some(Value::Object(_)), None) => None,
        (Some(v), _) => Some(v),
        (None, _) => None,
    };
    let bits = match v {
        Some(Value::Number(n)) => n.as_u64().map(|m| m as u32),
        Some(Value::String(s)) => u32::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
        _ => None,
    };
    match bits {
        Some(m) => Ok(Some(Value::from(c::mode_str(m)))),
        None => Err(ModuleError::failed(
            "mode=preserve needs the source's mode, which the controller did not send (_src_mode)",
        )),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `_get_diff_data`.
fn diff_data(dest_file: &str, one: &CopyOne<'_>) -> Value {
    let mut d = Map::new();
    let p = Path::new(dest_file);
    if !c::exists(p) {
        d.insert("before".into(), "".into());
    } else {
        let head = fs::File::open(p).ok().and_then(|f| {
            let mut h = Vec::new();
            f.take(8192).read_to_end(&mut h).ok()?;
            Some(h)
        });
        let size = fs::symlink_metadata(p).map(|m| m.size()).unwrap_or(0);
        if head.as_ref().is_some_and(|h| h.contains(&0)) {
            d.insert("dst_binary".into(), 1.into());
        } else if size > MAX_DIFF_SIZE {
            d.insert("dst_larger".into(), MAX_DIFF_SIZE.into());
        } else if let Ok(b) = fs::read(p) {
            d.insert("before_header".into(), dest_file.into());
            d.insert("before".into(), text(&b).into());
        }
    }
    if one.data.len() as u64 > MAX_DIFF_SIZE {
        d.insert("src_larger".into(), MAX_DIFF_SIZE.into());
    } else if one.data.contains(&0) {
        d.insert("src_binary".into(), 1.into());
    } else {
        let header = if one.is_content {
            dest_file
        } else {
            one.source_full
        };
        d.insert("after_header".into(), header.into());
        d.insert("after".into(), text(one.data).into());
    }
    Value::Object(d)
}

/// The action plugin's `_copy_file`: `None` when dest exists and `force`
/// is off.
fn copy_file(opts: &Opts, one: CopyOne<'_>, dry: bool) -> Result<Option<R>, ModuleError> {
    let mut result: R = Map::new();
    let mut diffs: Vec<Value> = Vec::new();
    let lmode = preserved_mode(opts, one.mode_key)?;
    let mut dest = one.dest.to_owned();
    let mut dest_file = if one.dest.ends_with('/') {
        c::join(one.dest, one.source_rel)
    } else {
        one.dest.to_owned()
    };
    let mut st = remote_stat(&dest_file, one.follow, opts.force);
    if st.exists && st.isdir {
        if one.is_content {
            result.insert("diff".into(), Value::Array(Vec::new()));
            result.insert("failed".into(), true.into());
            result.insert("changed".into(), false.into());
            result.insert(
                "msg".into(),
                "can not use content with a dir as dest".into(),
            );
            return Ok(Some(result));
        }
        dest_file = c::join(one.dest, one.source_rel);
        st = remote_stat(&dest_file, one.follow, opts.force);
    }
    if st.exists && !opts.force {
        return Ok(None);
    }
    let local_checksum = c::sha1_bytes(one.data);
    let module_return: R = if st.checksum.as_deref() != Some(local_checksum.as_str()) {
        if opts.diff {
            diffs.push(diff_data(&dest_file, &one));
        }
        if dry {
            result.insert("diff".into(), Value::Array(diffs));
            result.insert("changed".into(), true.into());
            return Ok(Some(result));
        }
        result.insert("diff".into(), Value::Array(diffs));
        let mp = ModParams {
            src: Src::Bytes(one.data),
            dest: dest.clone(),
            original_basename: Some(one.source_rel.to_owned()),
            follow: one.follow,
            checksum: opts
                .checksum
                .clone()
                .filter(|s| !s.is_empty())
                .or(Some(local_checksum.clone())),
            mode: lmode.or_else(|| opts.mode.clone()),
        };
        module_copy(opts, &mp, false).unwrap_or_else(failed_map)
    } else {
        result.insert("diff".into(), Value::Array(diffs));
        if one.follow && c::is_link(Path::new(&dest_file)) {
            dest = c::ps(&c::realpath(Path::new(&dest_file)));
        }
        let mut p = file::Params::new(&dest);
        p.original_basename = Some(one.source_rel.to_owned());
        p.state = Some("file".into());
        p.mode = lmode.or_else(|| opts.mode.clone());
        p.owner = opts.owner.clone();
        p.group = opts.group.clone();
        match file::run(p, dry) {
            Ok(r) => result_map(r),
            Err(e) => failed_map(e),
        }
    };
    let mut module_return = module_return;
    let has_checksum = module_return
        .get("checksum")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    if !has_checksum {
        module_return.insert("checksum".into(), local_checksum.into());
    }
    result.extend(module_return);
    Ok(Some(result))
}

/// Where the copy module reads from.
enum Src<'a> {
    /// Content shipped by the controller.
    Bytes(&'a [u8]),
    /// A file or directory on the host (`remote_src`), with the path as
    /// given (its trailing slash matters).
    Host(PathBuf, String),
}

struct ModParams<'a> {
    src: Src<'a>,
    dest: String,
    original_basename: Option<String>,
    follow: bool,
    checksum: Option<String>,
    mode: Option<Value>,
}

/// `split_pre_existing_dir`.
fn split_pre_existing_dir(dirname: &str) -> (String, Vec<String>) {
    let head = c::dirname(dirname);
    let tail = c::basename(dirname).to_owned();
    if head.is_empty() {
        return (".".into(), vec![tail]);
    }
    if !c::exists(Path::new(&head)) {
        if head == "/" {
            return ("/".into(), vec![tail]);
        }
        let (pre, mut new) = split_pre_existing_dir(&head);
        new.push(tail);
        (pre, new)
    } else {
        (head, vec![tail])
    }
}

/// Ansible's `atomic_move` of a staged file onto `dest`.
fn atomic_move(
    staged: StagedFile,
    src_display: &str,
    dest: &str,
    keep_dest_attrs: bool,
) -> Result<(), ModuleError> {
    let d = Path::new(dest);
    if keep_dest_attrs {
        if let Ok(md) = fs::metadata(d) {
            staged.chown(Some(md.uid()), Some(md.gid()));
            let _ = staged.set_mode(md.mode() & 0o7777);
        }
    }
    let creating = !c::exists(d);
    staged.commit().map_err(|e| {
        ModuleError::failed(format!(
            "Could not replace file: {src_display} to {dest}: {}",
            c::py_oserror(&e, None, None)
        ))
    })?;
    if creating {
        let _ = fs::set_permissions(
            d,
            fs::Permissions::from_mode(0o666 & !fsutil::current_umask()),
        );
    }
    Ok(())
}

/// Runs a `validate` command line (`%s` is the file to check).
fn run_validate(validate: &str, file: &Path) -> Result<(), ModuleError> {
    if !validate.contains("%s") {
        return Err(ModuleError::failed(format!(
            "validate must contain %s: {validate}"
        )));
    }
    let line = validate
        .replace("%%", "\u{0}")
        .replace("%s", &c::ps(file))
        .replace('\u{0}', "%");
    let argv = shlex::split(&line)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ModuleError::failed(format!("failed to parse validate command: {validate}"))
        })?;
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Err(e) => {
            let mut extra = kv([
                ("rc", e.raw_os_error().unwrap_or(2).into()),
                ("stdout", "".into()),
                ("stderr", "".into()),
                ("cmd", line.clone().into()),
            ]);
            extra.insert("stdout_lines".into(), Value::Array(Vec::new()));
            extra.insert("stderr_lines".into(), Value::Array(Vec::new()));
            Err(ModuleError::Failed {
                msg: c::py_oserror(&e, Some(Path::new(&argv[0])), None),
                extra,
            })
        }
        Ok(o) if !o.status.success() => {
            let so = text(&o.stdout);
            let se = text(&o.stderr);
            let rc = o.status.code().unwrap_or(-1);
            let lines = |s: &str| Value::from(s.lines().map(str::to_owned).collect::<Vec<_>>());
            Err(ModuleError::Failed {
                msg: "failed to validate".into(),
                extra: kv([
                    ("exit_status", rc.into()),
                    ("stdout", so.clone().into()),
                    ("stderr", se.clone().into()),
                    ("stdout_lines", lines(&so)),
                    ("stderr_lines", lines(&se)),
                ]),
            })
        }
        Ok(_) => Ok(()),
    }
}

/// The copy module proper (`ansible.builtin.copy` as the action runs it).
fn module_copy(opts: &Opts, mp: &ModParams<'_>, dry: bool) -> Result<R, ModuleError> {
    let mut dest = mp.dest.clone();
    if !dest.contains('/') {
        dest = format!("./{dest}");
    }
    let mut mode = mp.mode.clone();
    let (checksum_src, md5sum_src, src_display): (Option<String>, Option<String>, String) =
        match &mp.src {
            Src::Bytes(b) => (Some(c::sha1_bytes(b)), Some(c::md5_bytes(b)), String::new()),
            Src::Host(p, shown) => {
                if !c::exists(p) {
                    return Err(ModuleError::failed(format!("Source {shown} not found")));
                }
                if !c::readable(p) {
                    return Err(ModuleError::failed(format!("Source {shown} not readable")));
                }
                if mode.as_ref().and_then(Value::as_str) == Some("preserve") {
                    let m = fs::metadata(p).map(|m| m.mode()).unwrap_or(0);
                    mode = Some(Value::from(c::mode_str(m)));
                }
                if p.is_file() {
                    (c::sha1_file(p).ok(), c::md5_file(p).ok(), shown.clone())
                } else if !p.is_dir() {
                    return Err(ModuleError::failed(format!(
                        "Cannot copy invalid source '{shown}': not a file"
                    )));
                } else {
                    (None, None, shown.clone())
                }
            }
        };
    if let Some(want) = mp.checksum.as_deref().filter(|s| !s.is_empty()) {
        if checksum_src.as_deref() != Some(want) {
            return Err(ModuleError::Failed {
                msg: "Copied file does not match the expected checksum. Transfer failed.".into(),
                extra: kv([
                    ("checksum", checksum_src.map_or(Value::Null, Value::from)),
                    ("expected_checksum", want.into()),
                ]),
            });
        }
    }
    let mut changed = false;
    let basename = mp.original_basename.clone();
    let fa_dir = FileArgs {
        path: PathBuf::new(),
        mode: opts.directory_mode.clone(),
        owner: opts.owner.clone(),
        group: opts.group.clone(),
    };
    if dest.ends_with('/') {
        if let Some(b) = &basename {
            dest = c::join(&dest, b);
        }
        let dirname = c::dirname(&dest);
        if !c::exists(Path::new(&dirname)) {
            let (pre, new_dirs) = split_pre_existing_dir(&dirname);
            if dry {
                return Ok(kv([
                    (
                        "msg",
                        format!("dest directory {dirname} would be created").into(),
                    ),
                    ("changed", true.into()),
                    ("src", src_display.clone().into()),
                ]));
            }
            fs::create_dir_all(&dirname).map_err(|e| {
                ModuleError::failed(c::py_oserror(&e, Some(Path::new(&dirname)), None))
            })?;
            changed = true;
            let mut cur = pre;
            for nd in new_dirs {
                cur = c::join(&cur, &nd);
                changed = c::set_fs_attributes_if_different(
                    &fa_dir.with_path(Path::new(&cur)),
                    changed,
                    None,
                    false,
                )?;
            }
        }
    }
    if Path::new(&dest).is_dir() {
        let b = match (&basename, &mp.src) {
            (Some(b), _) => b.clone(),
            (None, Src::Host(_, shown)) => c::basename(shown).to_owned(),
            (None, Src::Bytes(_)) => String::new(),
        };
        dest = c::join(&dest, &b);
    }
    let mut checksum_dest = None;
    if c::exists(Path::new(&dest)) {
        if mp.follow && c::is_link(Path::new(&dest)) {
            dest = c::ps(&c::realpath(Path::new(&dest)));
        }
        if !opts.force {
            let mut r = kv([
                ("msg", "file already exists".into()),
                ("src", src_display.clone().into()),
                ("dest", dest.clone().into()),
                ("changed", false.into()),
            ]);
            c::add_path_info(&mut r);
            return Ok(r);
        }
        let dp = Path::new(&dest);
        if c::readable(dp) && dp.is_file() {
            checksum_dest = c::sha1_file(dp).ok();
        }
    } else {
        let parent = c::dirname(&dest);
        if !c::exists(Path::new(&parent)) {
            return Err(ModuleError::failed(format!(
                "Destination directory {parent} does not exist"
            )));
        }
    }
    let parent = c::dirname(&dest);
    if !c::writable(Path::new(&parent)) && !opts.unsafe_writes {
        return Err(ModuleError::failed(format!(
            "Destination {parent} not writable"
        )));
    }
    let dp = PathBuf::from(&dest);
    let mut backup_file: Option<String> = None;
    let mut reported_src = src_display.clone();
    if checksum_src != checksum_dest || c::is_link(&dp) {
        if !dry {
            if opts.backup && c::exists(&dp) {
                backup_file = Some(c::ps(&fsutil::backup_file(&dp)?));
            }
            if c::is_link(&dp) {
                let _ = fs::remove_file(&dp);
                fs::File::create(&dp).map_err(|e| {
                    ModuleError::failed(format!(
                        "failed to copy: {src_display} to {dest}: {}",
                        c::py_oserror(&e, Some(&dp), None)
                    ))
                })?;
            }
            let write_err = |e: std::io::Error| {
                ModuleError::failed(format!(
                    "failed to copy: {src_display} to {dest}: {}",
                    c::py_oserror(&e, None, None)
                ))
            };
            // The file validate checks: the staged content, or for a host
            // source the source itself (as Ansible does).
            let staged = match &mp.src {
                Src::Bytes(b) => {
                    let s = StagedFile::create(&dp, b, 0o600).map_err(write_err)?;
                    reported_src = c::ps(s.path());
                    if let Some(v) = &opts.validate {
                        validate_file(s.path(), &mode, opts, v)?;
                    }
                    s
                }
                Src::Host(p, _) => {
                    if let Some(v) = &opts.validate {
                        validate_file(p, &mode, opts, v)?;
                    }
                    let md = fs::metadata(p).map_err(write_err)?;
                    StagedFile::create_with(&dp, md.mode() & 0o7777, |f| {
                        let mut from = fs::File::open(p)?;
                        std::io::copy(&mut from, f)?;
                        if let (Ok(a), Ok(m)) = (md.accessed(), md.modified()) {
                            f.set_times(fs::FileTimes::new().set_accessed(a).set_modified(m))?;
                        }
                        Ok(())
                    })
                    .map_err(write_err)?
                }
            };
            let keep = matches!(mp.src, Src::Bytes(_));
            let shown = c::ps(staged.path());
            atomic_move(staged, &shown, &dest, keep)?;
        }
        changed = true;
    }
    if checksum_src.is_none() && checksum_dest.is_none() {
        if let Src::Host(p, shown) = &mp.src {
            if p.is_dir() {
                changed |= remote_dir_copy(opts, p, shown, &mp.dest, &dest, dry)?;
            }
        }
    }
    let mut res = kv([
        ("dest", dest.clone().into()),
        ("src", reported_src.into()),
        ("md5sum", md5sum_src.map_or(Value::Null, Value::from)),
        ("checksum", checksum_src.map_or(Value::Null, Value::from)),
    ]);
    if let Some(b) = backup_file {
        res.insert("backup_file".into(), b.into());
    }
    let fa = FileArgs::load(
        Path::new(&dest),
        mp.follow,
        mode,
        opts.owner.clone(),
        opts.group.clone(),
    );
    changed = c::set_fs_attributes_if_different(&fa, changed, None, dry)?;
    res.insert("changed".into(), changed.into());
    c::add_path_info(&mut res);
    Ok(res)
}

fn validate_file(
    file: &Path,
    mode: &Option<Value>,
    opts: &Opts,
    validate: &str,
) -> Result<(), ModuleError> {
    c::set_mode_if_different(file, mode.as_ref(), false, None, false)?;
    c::set_owner_if_different(file, opts.owner.as_deref(), false, None, false)?;
    c::set_group_if_different(file, opts.group.as_deref(), false, None, false)?;
    run_validate(validate, file)
}

// ---- remote_src directories -------------------------------------------

struct DirCmp {
    left_only: Vec<String>,
    common_dirs: Vec<String>,
    diff_files: Vec<String>,
}

fn list_names(p: &Path) -> BTreeSet<String> {
    fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !DIRCMP_IGNORE.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// `filecmp.cmp(a, b, shallow=True)`: same type/size/mtime, or same bytes.
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(sa), Ok(sb)) = (fs::metadata(a), fs::metadata(b)) else {
        return false;
    };
    if !sa.is_file() || !sb.is_file() {
        return false;
    }
    let sig = |m: &fs::Metadata| (m.size(), c::ftime(m.mtime(), m.mtime_nsec()));
    if sig(&sa) == sig(&sb) {
        return true;
    }
    if sa.size() != sb.size() {
        return false;
    }
    matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// `filecmp.dircmp(a, b)`.
fn dircmp(a: &Path, b: &Path) -> DirCmp {
    let la = list_names(a);
    let lb = list_names(b);
    let mut out = DirCmp {
        left_only: la.difference(&lb).cloned().collect(),
        common_dirs: Vec::new(),
        diff_files: Vec::new(),
    };
    for name in la.intersection(&lb) {
        let (pa, pb) = (a.join(name), b.join(name));
        match (fs::metadata(&pa), fs::metadata(&pb)) {
            (Ok(x), Ok(y)) if x.is_dir() && y.is_dir() => out.common_dirs.push(name.clone()),
            (Ok(x), Ok(y)) if x.is_file() && y.is_file() && !same_file(&pa, &pb) => {
                out.diff_files.push(name.clone());
            }
            _ => {}
        }
    }
    out
}

fn io_fail(e: std::io::Error, p: &Path) -> ModuleError {
    ModuleError::failed(c::py_oserror(&e, Some(p), None))
}

/// `shutil.copy2`: content, mode and times.
fn copy2(s: &Path, d: &Path) -> Result<(), ModuleError> {
    fs::copy(s, d).map_err(|e| io_fail(e, s))?;
    if let Ok(md) = fs::metadata(s) {
        if let (Ok(a), Ok(m)) = (md.accessed(), md.modified()) {
            if let Ok(f) = fs::File::options().write(true).open(d) {
                let _ = f.set_times(fs::FileTimes::new().set_accessed(a).set_modified(m));
            }
        }
    }
    Ok(())
}

/// `shutil.copyfile` without the mode.
fn copyfile(s: &Path, d: &Path) -> Result<(), ModuleError> {
    let data = fs::read(s).map_err(|e| io_fail(e, s))?;
    fs::write(d, data).map_err(|e| io_fail(e, d))
}

/// `shutil.copytree(s, d, symlinks=symlinks)`.
fn copytree(s: &Path, d: &Path, symlinks: bool) -> Result<(), ModuleError> {
    fs::create_dir_all(d).map_err(|e| io_fail(e, d))?;
    let mut names: Vec<_> = fs::read_dir(s)
        .map_err(|e| io_fail(e, s))?
        .filter_map(Result::ok)
        .collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let (sp, dp) = (e.path(), d.join(e.file_name()));
        if c::is_link(&sp) {
            if symlinks {
                let t = fs::read_link(&sp).map_err(|e| io_fail(e, &sp))?;
                std::os::unix::fs::symlink(&t, &dp).map_err(|e| io_fail(e, &dp))?;
                continue;
            }
            if sp.is_dir() {
                copytree(&sp, &dp, symlinks)?;
            } else {
                copy2(&sp, &dp)?;
            }
        } else if sp.is_dir() {
            copytree(&sp, &dp, symlinks)?;
        } else {
            copy2(&sp, &dp)?;
        }
    }
    if let Ok(md) = fs::metadata(s) {
        let _ = fs::set_permissions(d, fs::Permissions::from_mode(md.mode() & 0o7777));
    }
    Ok(())
}

/// `os.walk(path)` listing every directory and file below (and including)
/// `path`, top-down.
fn walk_all(p: &Path, out: &mut Vec<PathBuf>) {
    out.push(p.to_path_buf());
    let Ok(rd) = fs::read_dir(p) else { return };
    let mut names: Vec<_> = rd.filter_map(Result::ok).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let ep = e.path();
        if ep.is_dir() && !c::is_link(&ep) {
            walk_all(&ep, out);
        } else {
            out.push(ep);
        }
    }
}

/// `chown_recursive`.
fn chown_recursive(p: &Path, opts: &Opts, dry: bool) -> Result<bool, ModuleError> {
    let mut changed = false;
    let mut all = Vec::new();
    if p.is_dir() {
        walk_all(p, &mut all);
    }
    if let Some(owner) = opts.owner.as_deref() {
        for x in &all {
            if dry {
                let want = owner
                    .parse::<u32>()
                    .ok()
                    .or_else(|| fsutil::resolve_uid(owner).ok());
                changed |= fs::metadata(x).is_ok_and(|m| Some(m.uid()) != want);
            } else {
                changed |= c::set_owner_if_different(x, Some(owner), false, None, false)?;
            }
        }
    }
    if let Some(group) = opts.group.as_deref() {
        for x in &all {
            if dry {
                let want = group
                    .parse::<u32>()
                    .ok()
                    .or_else(|| fsutil::resolve_gid(group).ok());
                changed |= fs::metadata(x).is_ok_and(|m| Some(m.gid()) != want);
            } else {
                changed |= c::set_group_if_different(x, Some(group), false, None, false)?;
            }
        }
    }
    Ok(changed)
}

fn set_owner_group(d: &Path, opts: &Opts) -> Result<(), ModuleError> {
    c::set_owner_if_different(d, opts.owner.as_deref(), false, None, false)?;
    c::set_group_if_different(d, opts.group.as_deref(), false, None, false)?;
    Ok(())
}

fn copy_diff_files(s: &Path, d: &Path, opts: &Opts, dry: bool) -> Result<bool, ModuleError> {
    let diff = dircmp(s, d).diff_files;
    let mut changed = !diff.is_empty();
    if !dry {
        for item in diff {
            let (si, di) = (s.join(&item), d.join(&item));
            if c::is_link(&si) && opts.local_follow == Some(false) {
                let t = fs::read_link(&si).map_err(|e| io_fail(e, &si))?;
                std::os::unix::fs::symlink(&t, &di).map_err(|e| io_fail(e, &di))?;
            } else {
                fs::copy(&si, &di).map_err(|e| io_fail(e, &si))?;
            }
            set_owner_group(&di, opts)?;
            changed = true;
        }
    }
    Ok(changed)
}

fn copy_left_only(s: &Path, d: &Path, opts: &Opts, dry: bool) -> Result<bool, ModuleError> {
    let left = dircmp(s, d).left_only;
    let mut changed = !left.is_empty();
    if dry {
        return Ok(changed);
    }
    let lf = opts.local_follow;
    for item in left {
        let (si, di) = (s.join(&item), d.join(&item));
        let link = c::is_link(&si);
        let (isdir, isfile) = (si.is_dir(), si.is_file());
        if link && isdir && lf == Some(true) {
            copytree(&si, &di, false)?;
            chown_recursive(&di, opts, false)?;
        }
        if link && lf == Some(false) && (isdir || isfile) {
            let t = fs::read_link(&si).map_err(|e| io_fail(e, &si))?;
            std::os::unix::fs::symlink(&t, &di).map_err(|e| io_fail(e, &di))?;
        }
        if link && isfile && lf == Some(true) {
            copyfile(&si, &di)?;
            set_owner_group(&di, opts)?;
        }
        if !link && isfile {
            fs::copy(&si, &di).map_err(|e| io_fail(e, &si))?;
            set_owner_group(&di, opts)?;
        }
        if !link && isdir {
            copytree(&si, &di, lf != Some(true))?;
            chown_recursive(&di, opts, false)?;
        }
        changed = true;
    }
    Ok(changed)
}

fn copy_common_dirs(s: &Path, d: &Path, opts: &Opts, dry: bool) -> Result<bool, ModuleError> {
    let mut changed = false;
    for item in dircmp(s, d).common_dirs {
        let (si, di) = (s.join(&item), d.join(&item));
        let a = copy_diff_files(&si, &di, opts, dry)?;
        let b = copy_left_only(&si, &di, opts, dry)?;
        changed |= a || b;
        changed = copy_common_dirs(&si, &di, opts, dry)? || changed;
    }
    Ok(changed)
}

fn merge_dirs(s: &Path, d: &Path, opts: &Opts, dry: bool) -> Result<bool, ModuleError> {
    let a = copy_diff_files(s, d, opts, dry)?;
    let b = copy_left_only(s, d, opts, dry)?;
    let cc = copy_common_dirs(s, d, opts, dry)?;
    let o = chown_recursive(d, opts, dry)?;
    Ok(a || b || cc || o)
}

/// The module's `remote_src` directory branches.
fn remote_dir_copy(
    opts: &Opts,
    src: &Path,
    shown: &str,
    dest_param: &str,
    dest: &str,
    dry: bool,
) -> Result<bool, ModuleError> {
    let mut changed = false;
    let slash = shown.ends_with('/');
    let dp = Path::new(dest_param);
    let base = c::basename(shown).to_owned();
    let src_slash = PathBuf::from(c::join(&c::ps(src), ""));
    if slash && dp.is_dir() {
        changed |= merge_dirs(src, dp, opts, dry)?;
    }
    if slash && !c::exists(dp) {
        let b_dest = PathBuf::from(c::join(dest_param, &base));
        if !dry {
            copytree(&src_slash, &b_dest, opts.local_follow != Some(true))?;
        }
        chown_recursive(Path::new(dest), opts, dry)?;
        changed = true;
    }
    if !slash && dp.is_dir() {
        let b_dest = PathBuf::from(c::join(dest_param, &base));
        if !dry && !c::exists(&b_dest) {
            copytree(&src_slash, &b_dest, opts.local_follow != Some(true))?;
            changed = true;
            chown_recursive(Path::new(dest), opts, dry)?;
        }
        if dry && !c::exists(&b_dest) {
            changed = true;
        }
        if c::exists(&b_dest) {
            changed |= merge_dirs(&src_slash, &b_dest, opts, dry)?;
        }
    }
    if !slash && !c::exists(dp) {
        let b_dest = PathBuf::from(c::join(dest_param, &base));
        if !dry && !c::exists(&b_dest) {
            fs::create_dir_all(&b_dest).map_err(|e| io_fail(e, &b_dest))?;
            changed = true;
            merge_dirs(&src_slash, &b_dest, opts, dry)?;
        }
        if dry && !c::exists(&b_dest) {
            changed = true;
        }
    }
    Ok(changed)
}
