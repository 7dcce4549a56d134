//! Shared helpers of the account modules (`user`, `group`, `getent`,
//! `authorized_key`, `cron`): the account databases read straight from
//! `/etc/passwd`, `/etc/group` and `/etc/shadow` (a statically linked
//! runner has no NSS), and running the system's tools (`useradd`, ...)
//! the way Ansible's `run_command` does.

use std::fs;
use std::io::Write;
use std::process::{Command as Proc, Stdio};

use crate::modules::Context;

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The `/etc/shadow` fields the modules use; empty numeric fields are -1,
/// as Python's `spwd` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    pub passwd: String,
    pub min: i64,
    pub max: i64,
    pub warn: i64,
    pub expire: i64,
}

pub fn passwd_all() -> Vec<Passwd> {
    let text = fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].to_owned(),
                passwd: f[1].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                gecos: f[4].to_owned(),
                home: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

pub fn group_all() -> Vec<Group> {
    let text = fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(Group {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

pub fn getpwnam(name: &str) -> Option<Passwd> {
    passwd_all().into_iter().find(|p| p.name == name)
}

pub fn getgrnam(name: &str) -> Option<Group> {
    group_all().into_iter().find(|g| g.name == name)
}

/// A group by numeric id first, then by name (Ansible's `group_info`).
pub fn group_lookup(group: &str) -> Option<Group> {
    let all = group_all();
    if let Ok(gid) = group.parse::<u32>() {
        if let Some(g) = all.iter().find(|g| g.gid == gid) {
            return Some(g.clone());
        }
    }
    all.into_iter().find(|g| g.name == group)
}

pub fn getspnam(name: &str) -> Option<Shadow> {
    let text = fs::read_to_string("/etc/shadow").ok()?;
    let num = |s: Option<&&str>| s.and_then(|x| x.parse::<i64>().ok()).unwrap_or(-1);
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.first() != Some(&name) {
            return None;
        }
        Some(Shadow {
            passwd: f.get(1).copied().unwrap_or_default().to_owned(),
            min: num(f.get(3)),
            max: num(f.get(4)),
            warn: num(f.get(5)),
            expire: num(f.get(7)),
        })
    })
}

pub use crate::modules::binpath::{find_bin, require_bin};

/// What a command printed and returned.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rc: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv` with the task's environment and the C locale (as Ansible's
/// `run_command` in a module), feeding `stdin` when given.
pub fn run(ctx: &Context<'_>, argv: &[String], stdin: Option<&[u8]>) -> Output {
    let mut p = Proc::new(&argv[0]);
    p.args(&argv[1..]);
    p.envs(ctx.environment.iter());
    p.env("LC_ALL", "C")
        .env("LANG", "C")
        .env("LC_MESSAGES", "C");
    p.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    p.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = p.spawn().and_then(|mut child| {
        if let (Some(data), Some(mut si)) = (stdin, child.stdin.take()) {
            // A command that exits without reading is not an error.
            let _ = si.write_all(data);
        }
        child.wait_with_output()
    });
    match out {
        Ok(o) => {
            use std::os::unix::process::ExitStatusExt;
            let rc = match (o.status.code(), o.status.signal()) {
                (Some(c), _) => i64::from(c),
                (None, Some(s)) => -i64::from(s),
                _ => -1,
            };
            Output {
                rc,
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            }
        }
        Err(e) => Output {
            rc: 2,
            stdout: String::new(),
            stderr: format!("[Errno {}] {e}", e.raw_os_error().unwrap_or(0)),
        },
    }
}

/// The host name (Python's `socket.gethostname()`).
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Python's `os.path.join` for two parts.
pub fn path_join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_owned()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// Python's `os.path.dirname`.
pub fn dirname(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => {
            let d = &p[..i];
            let t = d.trim_end_matches('/');
            if t.is_empty() {
                "/".to_owned()
            } else {
                t.to_owned()
            }
        }
        None => String::new(),
    }
}
