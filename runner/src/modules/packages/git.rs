//! `git`: deploys a checkout of a git repository, with the git commands,
//! results and messages of Ansible's module.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::common::{self as c, Output};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Git;

static ARGS: [ArgDef; 18] = [
    ArgDef::new("repo", ArgType::Str)
        .aliases(&["name"])
        .required()
        .doc("Repository address (URL, `user@host:path`, or a local path)."),
    ArgDef::new("dest", ArgType::Path).doc("Where to check out (required unless `clone: false`)."),
    ArgDef::new("version", ArgType::Str)
        .default(ArgDefault::Str("HEAD"))
        .doc("Branch, tag or commit to check out (`HEAD`: the remote's default branch)."),
    ArgDef::new("remote", ArgType::Str)
        .default(ArgDefault::Str("origin"))
        .doc("Name of the remote."),
    ArgDef::new("refspec", ArgType::Str).doc("Extra refspec to fetch."),
    ArgDef::new("reference", ArgType::Str).doc("Reference repository (`git clone --reference`)."),
    ArgDef::new("force", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Discard local modifications of tracked files."),
    ArgDef::new("depth", ArgType::Int).doc("Shallow clone with this many commits."),
    ArgDef::new("clone", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Clone when the repository does not exist yet."),
    ArgDef::new("update", ArgType::Bool)
        .default(ArgDefault::Bool(true))
        .doc("Fetch and check out new revisions of an existing checkout."),
    ArgDef::new("accept_hostkey", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Add `-o StrictHostKeyChecking=no` to ssh."),
    ArgDef::new("accept_newhostkey", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Add `-o StrictHostKeyChecking=accept-new` to ssh."),
    ArgDef::new("key_file", ArgType::Path).doc("Private key for ssh."),
    ArgDef::new("ssh_opts", ArgType::Str).doc("Extra ssh options."),
    ArgDef::new("executable", ArgType::Path).doc("The git to run."),
    ArgDef::new("bare", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Make a bare repository."),
    ArgDef::new("single_branch", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Clone only the history leading to `version`."),
    ArgDef::new("umask", ArgType::Raw).doc("Umask (a quoted octal string) while git runs."),
];

static SPEC: ArgSpec =
    ArgSpec::new(&ARGS).mutually_exclusive(&[&["accept_hostkey", "accept_newhostkey"]]);

const LANG: &[(&str, &str)] = &[
    ("LANG", "C.UTF-8"),
    ("LC_ALL", "C.UTF-8"),
    ("LC_MESSAGES", "C.UTF-8"),
    ("LC_CTYPE", "C.UTF-8"),
    ("LANGUAGE", "C.UTF-8"),
];

#[derive(Clone)]
struct Opts {
    git: String,
    repo: String,
    version: String,
    remote: String,
    refspec: Option<String>,
    reference: Option<String>,
    force: bool,
    depth: Option<i64>,
    bare: bool,
    single_branch: bool,
    ssh_command: Option<String>,
}

impl Opts {
    fn env(&self) -> Vec<(&str, &str)> {
        let mut e = LANG.to_vec();
        if let Some(s) = &self.ssh_command {
            e.push(("GIT_SSH_COMMAND", s.as_str()));
        }
        e
    }

    fn run(&self, ctx: &Context<'_>, args: &[&str], cwd: Option<&Path>) -> Output {
        let mut argv = vec![self.git.clone()];
        argv.extend(args.iter().map(|s| (*s).to_owned()));
        c::run(ctx, &argv, &self.env(), cwd)
    }

    /// Runs and fails with `msg`, stdout, stderr and rc on a non-zero exit
    /// (Ansible's `check_rc=True`).
    fn run_ok(
        &self,
        ctx: &Context<'_>,
        args: &[&str],
        cwd: Option<&Path>,
    ) -> Result<Output, ModuleError> {
        let out = self.run(ctx, args, cwd);
        if out.rc != 0 {
            let mut argv = vec![self.git.clone()];
            argv.extend(args.iter().map(|s| (*s).to_owned()));
            return Err(c::fail_with(
                out.stderr.clone(),
                &[
                    ("cmd", Value::from(argv.join(" "))),
                    ("rc", out.rc.into()),
                    ("stdout", out.stdout.clone().into()),
                    ("stderr", out.stderr.clone().into()),
                ],
            ));
        }
        Ok(out)
    }
}

fn repo_path(dest: &Path, bare: bool) -> PathBuf {
    if bare {
        return dest.to_path_buf();
    }
    let dotgit = dest.join(".git");
    if dotgit.is_file() {
        // A `gitdir: <path>` file (separate git dir or worktree).
        if let Ok(s) = std::fs::read_to_string(&dotgit) {
            if let Some(p) = s.trim().strip_prefix("gitdir:") {
                let p = Path::new(p.trim());
                return if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    dest.join(p)
                };
            }
        }
    }
    dotgit
}

fn get_version(ctx: &Context<'_>, o: &Opts, dest: &Path) -> String {
    o.run(ctx, &["rev-parse", "HEAD"], Some(dest))
        .stdout
        .trim_end_matches('\n')
        .to_owned()
}

fn ls_remote_has(
    ctx: &Context<'_>,
    o: &Opts,
    dest: Option<&Path>,
    remote: &str,
    kind: &str,
    version: &str,
) -> bool {
    let (flag, prefix) = if kind == "heads" {
        ("-h", "refs/heads/")
    } else {
        ("-t", "refs/tags/")
    };
    let r = format!("{prefix}{version}");
    let out = o.run(
        ctx,
        &["ls-remote", remote, flag, &r],
        dest.filter(|d| d.is_dir()),
    );
    out.stdout.contains(&r)
}

fn head_branch(ctx: &Context<'_>, o: &Opts, dest: &Path) -> Result<String, ModuleError> {
    let rp = repo_path(dest, o.bare);
    let branches = o.run(ctx, &["branch", "-a"], Some(dest)).stdout;
    let detached = branches
        .lines()
        .any(|l| l.starts_with("* (") || l.contains("(no branch)"));
    let headfile = if detached {
        rp.join("refs").join("remotes").join(&o.remote).join("HEAD")
    } else {
        rp.join("HEAD")
    };
    let content = std::fs::read_to_string(&headfile).map_err(|_| {
        ModuleError::failed(format!(
            "Unable to read the HEAD file {}",
            headfile.display()
        ))
    })?;
    let r = content.trim().trim_start_matches("ref: ");
    let r = r
        .strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix(&format!("refs/remotes/{}/", o.remote)))
        .unwrap_or(r);
    Ok(r.to_owned())
}

/// `get_remote_head`: the commit `version` names on the remote.
fn remote_head(
    ctx: &Context<'_>,
    o: &Opts,
    dest: Option<&Path>,
    remote: &str,
    cloning: bool,
) -> Result<String, ModuleError> {
    let v = o.version.as_str();
    let mut tag = false;
    let (args, cwd): (Vec<String>, Option<&Path>) = if v == "HEAD" {
        if cloning {
            (vec!["ls-remote".into(), remote.into(), v.into()], None)
        } else {
            let d = dest.unwrap_or(Path::new("."));
            let b = head_branch(ctx, o, d)?;
            (
                vec![
                    "ls-remote".into(),
                    remote.into(),
                    "-h".into(),
                    format!("refs/heads/{b}"),
                ],
                dest,
            )
        }
    } else if ls_remote_has(ctx, o, dest.filter(|_| !cloning), remote, "heads", v) {
        (
            vec![
                "ls-remote".into(),
                remote.into(),
                "-h".into(),
                format!("refs/heads/{v}"),
            ],
            dest.filter(|_| !cloning),
        )
    } else if ls_remote_has(ctx, o, dest.filter(|_| !cloning), remote, "tags", v) {
        tag = true;
        (
            vec![
                "ls-remote".into(),
                remote.into(),
                "-t".into(),
                format!("refs/tags/{v}*"),
            ],
            dest.filter(|_| !cloning),
        )
    } else {
        // A commit id: the remote cannot be asked for it.
        return Ok(v.to_owned());
    };
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = o.run_ok(ctx, &refs, cwd)?;
    if out.stdout.is_empty() {
        return Err(c::fail_with(
            format!("Could not determine remote revision for {v}"),
            &[
                ("stdout", out.stdout.clone().into()),
                ("stderr", out.stderr.clone().into()),
                ("rc", out.rc.into()),
            ],
        ));
    }
    let mut line = out.stdout.as_str();
    if tag {
        for t in out.stdout.split('\n') {
            if t.ends_with(&format!("{v}^{{}}")) {
                line = t;
                break;
            } else if t.ends_with(v) {
                line = t;
            }
        }
    }
    Ok(line.split_whitespace().next().unwrap_or("").to_owned())
}

fn unfrack(p: &str) -> String {
    // Ansible's unfrackgitpath: the path part of a URL, normalised.
    let s = p.trim_end_matches('/');
    let s = s.strip_suffix(".git").unwrap_or(s);
    let s = s.rsplit_once(':').map_or(s, |(_, r)| r);
    let s = s.strip_prefix("//").unwrap_or(s);
    s.trim_start_matches('/').to_owned()
}

fn remote_url(ctx: &Context<'_>, o: &Opts, dest: &Path) -> Option<String> {
    let out = o.run(ctx, &["ls-remote", "--get-url", &o.remote], Some(dest));
    (out.rc == 0).then(|| out.stdout.trim_end_matches('\n').to_owned())
}

fn has_local_mods(ctx: &Context<'_>, o: &Opts, dest: &Path) -> bool {
    if o.bare {
        return false;
    }
    // --no-optional-locks: status must not refresh (write) the index.
    o.run(
        ctx,
        &["--no-optional-locks", "status", "--porcelain"],
        Some(dest),
    )
    .stdout
    .lines()
    .any(|l| !l.starts_with("??"))
}

fn clone(ctx: &Context<'_>, o: &Opts, dest: &Path) -> Result<Vec<String>, ModuleError> {
    let mut warnings = Vec::new();
    let parent = dest.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent)
        .map_err(|e| ModuleError::io("could not create", parent.display().to_string(), e))?;
    let mut cmd: Vec<String> = vec!["clone".into()];
    if o.bare {
        cmd.push("--bare".into());
    } else {
        cmd.extend(["--origin".into(), o.remote.clone()]);
    }
    let v = o.version.as_str();
    let is_branch_or_tag = v != "HEAD"
        && (ls_remote_has(ctx, o, None, &o.repo, "heads", v)
            || ls_remote_has(ctx, o, None, &o.repo, "tags", v));
    if let Some(d) = o.depth {
        if v == "HEAD" || o.refspec.is_some() {
            cmd.extend(["--depth".into(), d.to_string()]);
        } else if is_branch_or_tag {
            cmd.extend(["--depth".into(), d.to_string(), "--branch".into(), v.into()]);
        } else {
            warnings.push("Ignoring depth argument. Shallow clones are only available for HEAD, branches, tags or in combination with refspec.".to_owned());
        }
    }
    if let Some(r) = &o.reference {
        cmd.extend(["--reference".into(), r.clone()]);
    }
    if o.single_branch {
        cmd.push("--single-branch".into());
        if is_branch_or_tag {
            cmd.extend(["--branch".into(), v.into()]);
        }
    }
    cmd.push(o.repo.clone());
    cmd.push(dest.to_string_lossy().into_owned());
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    o.run_ok(ctx, &refs, Some(parent))?;
    if o.bare && o.remote != "origin" {
        o.run_ok(ctx, &["remote", "add", &o.remote, &o.repo], Some(dest))?;
    }
    if let Some(r) = &o.refspec {
        let mut f: Vec<&str> = vec!["fetch"];
        let d;
        if let Some(depth) = o.depth {
            d = depth.to_string();
            f.extend(["--depth", &d]);
        }
        f.extend([o.remote.as_str(), r.as_str()]);
        o.run_ok(ctx, &f, Some(dest))?;
    }
    Ok(warnings)
}

fn fetch(ctx: &Context<'_>, o: &Opts, dest: &Path) -> Result<(), ModuleError> {
    let mut cmd: Vec<String> = vec!["fetch".into()];
    let mut refspecs: Vec<String> = Vec::new();
    let v = o.version.as_str();
    if let Some(depth) = o.depth {
        let current = head_branch(ctx, o, dest)?;
        if let Some(r) = &o.refspec {
            refspecs.push(r.clone());
        } else if v == "HEAD" {
            refspecs.push(current.clone());
        } else if ls_remote_has(ctx, o, Some(dest), &o.repo, "heads", v) {
            if current != v {
                refspecs.push(format!("+refs/heads/{v}:refs/heads/{v}"));
            }
            refspecs.push(format!("+refs/heads/{v}:refs/remotes/{}/{v}", o.remote));
        } else if ls_remote_has(ctx, o, Some(dest), &o.repo, "tags", v) {
            refspecs.push(format!("+refs/tags/{v}:refs/tags/{v}"));
        }
        if !refspecs.is_empty() {
            cmd.extend(["--depth".into(), depth.to_string()]);
        }
    }
    if o.depth.is_none() || refspecs.is_empty() {
        if o.bare {
            refspecs = vec![
                "+refs/heads/*:refs/heads/*".into(),
                "+refs/tags/*:refs/tags/*".into(),
            ];
        } else {
            cmd.push("--tags".into());
        }
        if let Some(r) = &o.refspec {
            refspecs.push(r.clone());
        }
    }
    if o.force {
        cmd.push("--force".into());
    }
    cmd.push(o.remote.clone());
    cmd.extend(refspecs);
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = o.run(ctx, &refs, Some(dest));
    if out.rc != 0 {
        let mut argv = vec![o.git.clone()];
        argv.extend(cmd);
        return Err(c::fail_with(
            format!(
                "Failed to download remote objects and refs: {} {}",
                out.stdout, out.stderr
            ),
            &[("cmd", Value::from(argv))],
        ));
    }
    Ok(())
}

fn is_local_branch(ctx: &Context<'_>, o: &Opts, dest: &Path, branch: &str) -> bool {
    o.run(ctx, &["branch", "--no-color", "-a"], Some(dest))
        .stdout
        .lines()
        .any(|l| l.trim_start_matches(['*', ' ']).trim() == branch)
}

fn switch_version(ctx: &Context<'_>, o: &Opts, dest: &Path) -> Result<(), ModuleError> {
    let v = o.version.as_str();
    let fail = |msg: String, out: &Output, cmd: Option<String>| {
        let mut keys = vec![
            ("stdout", Value::from(out.stdout.clone())),
            ("stderr", out.stderr.clone().into()),
            ("rc", out.rc.into()),
        ];
        if let Some(cmd) = cmd {
            keys.push(("cmd", cmd.into()));
        }
        c::fail_with(msg, &keys)
    };
    let last: Vec<String>;
    let mut branch = String::new();
    if v == "HEAD" {
        branch = head_branch(ctx, o, dest)?;
        let out = o.run(ctx, &["checkout", "--force", &branch], Some(dest));
        if out.rc != 0 {
            return Err(fail(
                format!("Failed to checkout branch {branch}"),
                &out,
                None,
            ));
        }
        last = vec![
            "reset".into(),
            "--hard".into(),
            format!("{}/{branch}", o.remote),
            "--".into(),
        ];
    } else if ls_remote_has(ctx, o, Some(dest), &o.remote, "heads", v) {
        if !is_local_branch(ctx, o, dest, v) {
            if o.depth.is_some() {
                let spec = format!("+refs/heads/{v}:refs/remotes/{}/{v}", o.remote);
                let d = o.depth.unwrap_or(1).to_string();
                o.run_ok(ctx, &["fetch", "--depth", &d, &o.remote, &spec], Some(dest))?;
            }
            last = vec![
                "checkout".into(),
                "--track".into(),
                "-b".into(),
                v.into(),
                format!("{}/{v}", o.remote),
            ];
        } else {
            let out = o.run(ctx, &["checkout", "--force", v], Some(dest));
            if out.rc != 0 {
                return Err(fail(format!("Failed to checkout branch {v}"), &out, None));
            }
            last = vec!["reset".into(), "--hard".into(), format!("{}/{v}", o.remote)];
        }
    } else {
        last = vec!["checkout".into(), "--force".into(), v.into()];
    }
    let refs: Vec<&str> = last.iter().map(String::as_str).collect();
    let out = o.run(ctx, &refs, Some(dest));
    if out.rc != 0 {
        let cmd = format!("{} {}", o.git, last.join(" "));
        let msg = if v != "HEAD" {
            format!("Failed to checkout {v}")
        } else {
            format!("Failed to checkout branch {branch}")
        };
        return Err(fail(msg, &out, Some(cmd)));
    }
    Ok(())
}

fn diff_between(
    ctx: &Context<'_>,
    o: &Opts,
    dest: &Path,
    before: Option<&str>,
    after: &str,
) -> Option<Value> {
    match before {
        None => Some(serde_json::json!({ "prepared": format!(">> Newly checked out {after}") })),
        Some(b) if b != after => {
            let out = o.run(ctx, &["diff", b, after], Some(dest));
            let prepared = if out.rc == 0 && !out.stdout.is_empty() {
                out.stdout
            } else if out.rc == 0 {
                format!(">> No visual differences between {b} and {after}")
            } else if !out.stderr.is_empty() {
                format!(
                    ">> Failed to get proper diff between {b} and {after}:\n>> {}",
                    out.stderr
                )
            } else {
                format!(">> Failed to get proper diff between {b} and {after}")
            };
            Some(serde_json::json!({ "prepared": prepared }))
        }
        _ => None,
    }
}

fn base(before: Option<&str>) -> ModuleResult {
    let mut r = ModuleResult::ok();
    r.set("before", before.map_or(Value::Null, Value::from));
    r
}

fn finish_checkout(
    ctx: &Context<'_>,
    o: &Opts,
    dest: &Path,
    mut r: ModuleResult,
    before: Option<String>,
    local_mods: bool,
    url_changed: bool,
) -> Result<ModuleResult, ModuleError> {
    if !o.bare {
        switch_version(ctx, o, dest)?;
    }
    let after = get_version(ctx, o, dest);
    r.set("after", after.clone());
    if before.as_deref() != Some(after.as_str()) || local_mods || url_changed {
        r.changed = true;
        if let Some(d) = diff_between(ctx, o, dest, before.as_deref(), &after) {
            r.set("diff", d);
        }
    }
    Ok(r)
}

impl Module for Git {
    fn name(&self) -> &'static str {
        "git"
    }
    fn description(&self) -> &'static str {
        "Deploy software (or files) from git checkouts"
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
        let a: &Args = &ctx.args;
        let git = match a.str("executable") {
            Some(e) => e.to_owned(),
            None => c::require_bin(ctx, "git")?.to_string_lossy().into_owned(),
        };
        let mut ssh_opts = a.str("ssh_opts").map(str::to_owned);
        for (arg, opt) in [
            ("accept_hostkey", "-o StrictHostKeyChecking=no"),
            ("accept_newhostkey", "-o StrictHostKeyChecking=accept-new"),
        ] {
            if a.bool(arg) {
                ssh_opts = Some(match ssh_opts {
                    Some(s)
                        if s.contains("-o StrictHostKeyChecking=no")
                            || s.contains("-o StrictHostKeyChecking=accept-new") =>
                    {
                        s
                    }
                    Some(s) => format!("{s} {opt}"),
                    None => opt.to_owned(),
                });
            }
        }
        if let Some(u) = a.get("umask") {
            let Value::String(s) = u else {
                return Err(ModuleError::failed(
                    "umask must be defined as a quoted octal integer",
                ));
            };
            let m = u32::from_str_radix(s, 8).map_err(|_| {
                c::fail_with(
                    "umask must be an octal integer",
                    &[(
                        "details",
                        Value::from(format!("invalid literal for int() with base 8: '{s}'")),
                    )],
                )
            })?;
            // As Ansible's module, the umask holds for the rest of the
            // process' work on this task (git inherits it).
            rustix::process::umask(rustix::fs::Mode::from_raw_mode(m));
        }
        let ssh_command = if ssh_opts.is_some() || a.is_set("key_file") {
            let mut s = "ssh".to_owned();
            if let Some(k) = a.str("key_file") {
                s.push_str(&format!(
                    " -i {} -o IdentitiesOnly=yes",
                    ctx.expand_path(k).display()
                ));
            }
            if let Some(x) = &ssh_opts {
                s.push(' ');
                s.push_str(x);
            }
            Some(s)
        } else {
            None
        };
        let mut repo = a.str("repo").unwrap_or("").to_owned();
        let expanded = ctx.expand_path(&repo).to_string_lossy().into_owned();
        if expanded.starts_with('/') {
            repo = format!("file://{expanded}");
        }
        let allow_clone = a.bool("clone");
        let dest = a.str("dest").map(|d| {
            let p = ctx.expand_path(d);
            if p.is_absolute() {
                p
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            }
        });
        if dest.is_none() && allow_clone {
            return Err(ModuleError::failed(
                "the destination directory must be specified unless clone=no",
            ));
        }
        let o = Opts {
            git,
            repo,
            version: a.str("version").unwrap_or("HEAD").to_owned(),
            remote: a.str("remote").unwrap_or("origin").to_owned(),
            refspec: a.str("refspec").map(str::to_owned),
            reference: a.str("reference").map(str::to_owned),
            force: a.bool("force"),
            depth: a.int("depth"),
            bare: a.bool("bare"),
            single_branch: a.bool("single_branch"),
            ssh_command,
        };
        let exists = dest
            .as_ref()
            .is_some_and(|d| repo_path(d, o.bare).join("config").exists());
        if !exists {
            // Clone (or, with clone=no, just report the remote's head).
            let head = remote_head(ctx, &o, dest.as_deref(), &o.repo.clone(), true)?;
            let mut predicted = base(None).with("after", head.clone());
            predicted.changed = true;
            predicted.set(
                "diff",
                serde_json::json!({ "prepared": format!(">> Newly checked out {head}") }),
            );
            if !allow_clone {
                return Ok(Check::Done(predicted));
            }
            let Some(dest) = dest else {
                return Ok(Check::Done(predicted));
            };
            return Ok(Check::Change {
                predicted,
                action: action(move |ctx: &Context<'_>| {
                    let warnings = clone(ctx, &o, &dest)?;
                    let mut r = base(None);
                    if !warnings.is_empty() {
                        r.set("warnings", warnings);
                    }
                    finish_checkout(ctx, &o, &dest, r, None, false, false)
                }),
            });
        }
        let Some(dest) = dest else {
            return Err(ModuleError::failed(
                "the destination directory must be specified unless clone=no",
            ));
        };
        let before = get_version(ctx, &o, &dest);
        if !a.bool("update") {
            let r = base(Some(&before)).with("after", before.clone());
            return Ok(Check::Done(r));
        }
        let local_mods = has_local_mods(ctx, &o, &dest);
        if local_mods && !o.force {
            return Err(c::fail_with(
                format!(
                    "Local modifications exist in the destination: {} (force=no).",
                    dest.display()
                ),
                &[("before", before.clone().into())],
            ));
        }
        let url = remote_url(ctx, &o, &dest);
        let url_changed = url
            .as_deref()
            .is_some_and(|u| u != o.repo && unfrack(u) != unfrack(&o.repo));
        let head = remote_head(ctx, &o, Some(&dest), &o.remote.clone(), false)?;
        let mut predicted = base(Some(&before));
        predicted.changed = before != head || url_changed;
        predicted.set("remote_url_changed", url_changed);
        predicted.set("after", head.clone());
        if let Some(d) =
            diff_between(ctx, &o, &dest, Some(&before), &head).filter(|_| before != head)
        {
            predicted.set("diff", d);
        }
        if !predicted.changed && !local_mods {
            // Nothing new on the remote: Ansible's fetch and checkout
            // would leave the checkout as it is.
            predicted.set("after", before.clone());
            return Ok(Check::Done(predicted));
        }
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| {
                let mut r = base(Some(&before));
                if local_mods {
                    o.run_ok(ctx, &["reset", "--hard", "HEAD"], Some(&dest))?;
                    r.changed = true;
                    r.msg = Some(format!(
                        "Local modifications exist in the destination: {}",
                        dest.display()
                    ));
                }
                let url = remote_url(ctx, &o, &dest);
                let same = url
                    .as_deref()
                    .is_some_and(|u| u == o.repo || unfrack(u) == unfrack(&o.repo));
                let mut url_changed = false;
                if !same {
                    let out = o.run(ctx, &["remote", "set-url", &o.remote, &o.repo], Some(&dest));
                    if out.rc != 0 {
                        return Err(ModuleError::failed(format!(
                            "Failed to set a new url {} for {}: {} {}",
                            o.repo, o.remote, out.stdout, out.stderr
                        )));
                    }
                    url_changed = url.is_some();
                }
                r.set("remote_url_changed", url_changed);
                fetch(ctx, &o, &dest)?;
                finish_checkout(ctx, &o, &dest, r, Some(before), local_mods, url_changed)
            }),
        })
    }
}

const NOTES: &str = r#"Runs the host's `git` (or `executable`) with Ansible's command lines: `git clone
[--bare | --origin REMOTE] [--depth N [--branch V]] [--reference R] [--single-branch [--branch V]]
REPO DEST` for a new checkout; `git fetch [--depth N refspecs | --tags] [--force] REMOTE` then
`git checkout --force` / `git checkout --track -b` / `git reset --hard REMOTE/BRANCH` for an
existing one. A local path as `repo` becomes a `file://` URL. `accept_hostkey`,
`accept_newhostkey`, `ssh_opts` and `key_file` go to ssh through `GIT_SSH_COMMAND`.

Results: `changed`, `before` (the commit before, `null` for a new clone), `after`,
`remote_url_changed` (existing checkouts), `diff` (`{"prepared": ">> Newly checked out SHA"}` or
the `git diff` between the commits), `msg` when local modifications were discarded, `warnings`
for an ignored `depth`. Failures (Ansible's wording): `the destination directory must be
specified unless clone=no`, `Local modifications exist in the destination: DEST (force=no).`,
`Could not determine remote revision for V`, `Failed to checkout V`, `Failed to checkout branch
B`, `Failed to download remote objects and refs: ...`, `umask must be an octal integer`, and a
failing `git clone` with its stderr as `msg` plus `cmd`, `rc`, `stdout`, `stderr`.

Check mode: full: the remote is asked (`git ls-remote`, read-only) for the commit `version`
names; `after` is that commit, `changed` whether it differs from `before` (or the remote URL
changes). Outside check mode an up-to-date checkout with nothing new on the remote is left alone
without a fetch (Ansible fetches, with the same result). Diff: yes.

Not supported (left out of the arguments, so using them fails as an unknown parameter):
`recursive`/`track_submodules` (submodules are not updated), `verify_commit`/`gpg_allowlist`,
`archive`/`archive_prefix`, `separate_git_dir`.

Tests: conformance cases and differential cases (`mod_git_*`) clone and update local repositories
made in a temporary directory.
"#;
