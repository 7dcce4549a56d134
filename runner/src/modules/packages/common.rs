//! What the package modules share: finding executables as Ansible's
//! `get_bin_path` does (the task's `PATH` first, then the sbin
//! directories) and running commands as `run_command` does.

use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};

use serde_json::{Map, Value};

use crate::modules::{Context, ModuleError};

pub use crate::modules::binpath::{find_bin, require_bin};

/// What a command printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rc: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv` (no shell) with the task's environment plus `extra`, from
/// `cwd` when given. A program that cannot be started is rc 2 with the
/// errno text on stderr, as `run_command` reports it.
pub fn run(
    ctx: &Context<'_>,
    argv: &[String],
    extra: &[(&str, &str)],
    cwd: Option<&Path>,
) -> Output {
    run_with_input(ctx, argv, extra, cwd, None)
}

/// [`run`] with `input` fed on stdin (`run_command(data=...)`).
pub fn run_with_input(
    ctx: &Context<'_>,
    argv: &[String],
    extra: &[(&str, &str)],
    cwd: Option<&Path>,
    input: Option<&[u8]>,
) -> Output {
    let Some(prog) = argv.first() else {
        return Output {
            rc: 2,
            ..Default::default()
        };
    };
    let prog_path = if prog.contains('/') {
        PathBuf::from(prog)
    } else {
        find_bin(ctx, prog).unwrap_or_else(|| PathBuf::from(prog))
    };
    let mut p = Proc::new(&prog_path);
    p.args(&argv[1..]);
    p.envs(ctx.environment.iter());
    for (k, v) in extra {
        p.env(k, v);
    }
    if let Some(d) = cwd {
        p.current_dir(d);
    }
    p.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let out = p.spawn().and_then(|mut child| {
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            // A writer thread, so a child that prints a lot before reading
            // all of its input cannot deadlock against us.
            let data = data.to_vec();
            let w = std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&data);
            });
            let out = child.wait_with_output();
            let _ = w.join();
            out
        } else {
            child.wait_with_output()
        }
    });
    match out {
        Ok(o) => Output {
            rc: exit_code(&o.status),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Output {
            rc: 2,
            stdout: String::new(),
            stderr: format!("[Errno {}] {}", e.raw_os_error().unwrap_or(0), e),
        },
    }
}

/// Runs a command line written as Ansible's modules write theirs (a string
/// split with shell rules, never run through a shell).
pub fn run_line(ctx: &Context<'_>, line: &str, extra: &[(&str, &str)]) -> Output {
    let argv = shlex::split(line).unwrap_or_else(|| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    run(ctx, &argv, extra, None)
}

fn exit_code(s: &std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => i64::from(c),
        (None, Some(sig)) => -i64::from(sig),
        _ => -1,
    }
}

/// A failure carrying result keys besides `msg`.
pub fn fail_with(msg: impl Into<String>, keys: &[(&str, Value)]) -> ModuleError {
    let mut extra = Map::new();
    for (k, v) in keys {
        extra.insert((*k).to_owned(), v.clone());
    }
    ModuleError::Failed {
        msg: msg.into(),
        extra,
    }
}

/// Python's `str.splitlines()` as a JSON list.
pub fn lines(s: &str) -> Value {
    Value::from(s.lines().map(str::to_owned).collect::<Vec<_>>())
}

/// Python's `fnmatch.fnmatch` (case-sensitive on POSIX).
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    match glob::Pattern::new(pattern) {
        Ok(p) => p.matches(name),
        Err(_) => name == pattern,
    }
}

/// Whether `s` has fnmatch wildcard characters.
pub fn has_wildcard(s: &str) -> bool {
    s.chars().any(|c| matches!(c, '*' | '?' | '[' | ']' | '!'))
}

/// Debian version comparison (`dpkg --compare-versions`), implemented
/// natively: epoch, upstream, revision; `~` sorts before everything.
pub fn deb_version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((u, r)) => (epoch, u, r),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<char>) -> i64 {
        match c {
            None => 0,
            Some('~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => c as i64,
            Some(c) => c as i64 + 256,
        }
    }
    fn cmp_part(a: &str, b: &str) -> std::cmp::Ordering {
        let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
        loop {
            // Non-digit prefixes, compared with dpkg's character order.
            loop {
                let ca = a.peek().copied().filter(|c| !c.is_ascii_digit());
                let cb = b.peek().copied().filter(|c| !c.is_ascii_digit());
                if ca.is_none() && cb.is_none() {
                    break;
                }
                let (oa, ob) = (order(ca), order(cb));
                if oa != ob {
                    return oa.cmp(&ob);
                }
                if ca.is_some() {
                    a.next();
                }
                if cb.is_some() {
                    b.next();
                }
            }
            let mut na = String::new();
            while let Some(c) = a.peek().copied().filter(char::is_ascii_digit) {
                na.push(c);
                a.next();
            }
            let mut nb = String::new();
            while let Some(c) = b.peek().copied().filter(char::is_ascii_digit) {
                nb.push(c);
                b.next();
            }
            let na = na.trim_start_matches('0');
            let nb = nb.trim_start_matches('0');
            let c = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if c != std::cmp::Ordering::Equal {
                return c;
            }
            if a.peek().is_none() && b.peek().is_none() {
                return std::cmp::Ordering::Equal;
            }
        }
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| cmp_part(ua, ub))
        .then_with(|| cmp_part(ra, rb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn debian_versions() {
        assert_eq!(deb_version_cmp("1.0", "1.0"), Equal);
        assert_eq!(deb_version_cmp("1.0~rc1", "1.0"), Less);
        assert_eq!(deb_version_cmp("1:0.1", "2.0"), Greater);
        assert_eq!(deb_version_cmp("5.02-1+b1", "5.02-1"), Greater);
        assert_eq!(deb_version_cmp("1.10", "1.9"), Greater);
        assert_eq!(deb_version_cmp("1.0a", "1.0"), Greater);
        assert_eq!(deb_version_cmp("1.0-1", "1.0-1~bpo1"), Greater);
    }

    #[test]
    fn fnmatch_globs() {
        assert!(fnmatch("libfoo1", "libfoo*"));
        assert!(fnmatch("5.02-1+b1", "5.02*"));
        assert!(!fnmatch("a", "b*"));
    }
}
