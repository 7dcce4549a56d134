//! `expect` (`ansible.builtin.expect`): runs a command in a pseudo-terminal
//! and answers its prompts, the way the module drives `pexpect.run`.

use std::collections::BTreeMap;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{fmt_delta, fmt_time, now};
use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType, Args};
use crate::modules::files::common::py_bytes_literal;
use crate::modules::files::pyre::{Flags, PyRegex};
use crate::modules::{action, Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct Expect;

static ARGS: [ArgDef; 7] = [
    ArgDef::new("command", ArgType::Str)
        .required()
        .doc("The command to run (split into arguments as pexpect does; no shell)."),
    ArgDef::new("chdir", ArgType::Path).doc("Change into this directory before running."),
    ArgDef::new("creates", ArgType::Path)
        .doc("Do not run when this path exists (relative to chdir)."),
    ArgDef::new("removes", ArgType::Path)
        .doc("Run only when this path exists (relative to chdir)."),
    ArgDef::new("responses", ArgType::Dict).required().doc(
        "Regex -> response string, or -> list of responses given in turn on successive matches.",
    ),
    ArgDef::new("timeout", ArgType::Raw)
        .default(ArgDefault::Int(30))
        .keep_null()
        .doc("Seconds to wait for each expected string; null: no timeout."),
    ArgDef::new("echo", ArgType::Bool)
        .default(ArgDefault::Bool(false))
        .doc("Let the terminal echo the responses into the output."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"
Runs the command in a new session on a pseudo-terminal (24x80, echo off
unless `echo: true`), as `pexpect.run` does: the command line is split
into arguments by pexpect's own splitter (quotes and backslashes, no
shell), the program is looked up on the task's `PATH`, and standard
input, output and error are all the terminal. `responses` keys are Python
regular expressions (DOTALL) searched in the output read since the last
match; the match that starts first wins (ties: the first key). A string
answer is sent (with a newline) every time its key matches; a list is
answered in turn and fails with Ansible's `No remaining responses for
'KEY', output was 'b'...''` once exhausted. `timeout` (default 30, `null`
for none) applies to each wait for a match; when it passes, the command's
terminal is hung up and the command ended (SIGHUP, SIGCONT, SIGINT, then
SIGKILL, as pexpect's `close`), and the task fails with `command exceeded
timeout` and `rc: null`.

Results: `cmd` (the command string), `stdout` (everything the terminal
printed, `\r\n` line ends, trailing newlines stripped), `stdout_lines`,
`rc`, `start`, `end`, `delta`, `changed: true`; a non-zero `rc` fails with
`non-zero return code`. `creates`/`removes` (no globbing, as Ansible)
skip the command with `stdout: skipped, since X exists` / `skipped, since X
does not exist`, `rc: 0`, `changed: false`. A missing program fails with
`The command was not found or was not executable: X.`

Check mode: not supported, the task is skipped (`remote module (expect)
does not support check mode`), as Ansible. Diff: no.

Differences from Ansible: output that is not valid UTF-8 is matched only
up to its first invalid byte; an invalid regular expression fails with the
regex engine's message (Ansible's module crashes with a traceback); a
missing program's failure has no `exception` traceback key (Ansible
adds pexpect's traceback and prints `An exception occurred during task
execution`); a `chdir` that does not exist fails with `[Errno 2] No such file or
directory: 'DIR'` rather than a module traceback. Tested for real
(conformance cases and differential cases against Ansible with pexpect).
"#;

impl Module for Expect {
    fn name(&self) -> &'static str {
        "expect"
    }
    fn description(&self) -> &'static str {
        "Executes a command and responds to prompts"
    }
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check_mode: CheckSupport::None,
            diff: false,
        }
    }
    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        let a: &Args = &ctx.args;
        let command = a.str("command").unwrap_or_default().to_owned();
        let timeout = match a.get("timeout") {
            None => None,
            Some(v) => Some(timeout_secs(v)?),
        };
        let echo = a.bool("echo");
        let mut events = Vec::new();
        if let Some(Value::Object(m)) = a.get("responses") {
            for (k, v) in m {
                let re = PyRegex::new(
                    k,
                    Flags {
                        dotall: true,
                        ..Flags::default()
                    },
                )
                .map_err(|e| ModuleError::failed(format!("bad regular expression {k:?}: {e}")))?;
                let answer = match v {
                    Value::Array(items) => Answer::List(items.iter().map(response).collect()),
                    other => Answer::One(response(other)),
                };
                events.push(Event {
                    key: k.clone(),
                    re,
                    answer,
                });
            }
        }
        if command.trim().is_empty() {
            let mut extra = Map::new();
            extra.insert("rc".into(), 256.into());
            return Err(ModuleError::Failed {
                msg: "no command given".into(),
                extra,
            });
        }
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let chdir = a.str("chdir").map(|d| cwd.join(ctx.expand_path(d)));
        if let Some(d) = &chdir {
            if let Err(e) = std::fs::read_dir(d) {
                return Err(ModuleError::failed(format!(
                    "{}: '{}'",
                    python_errno(&e),
                    d.display()
                )));
            }
        }
        let base = chdir.clone().unwrap_or(cwd);
        let skip = |stdout: String| {
            let mut r = ModuleResult::ok();
            r.set("cmd", command.clone());
            r.set("stdout", stdout);
            r.set("rc", 0);
            Check::Done(r)
        };
        if let Some(c) = a.str("creates") {
            if base.join(ctx.expand_path(c)).exists() {
                return Ok(skip(format!("skipped, since {c} exists")));
            }
        }
        if let Some(rm) = a.str("removes") {
            if !base.join(ctx.expand_path(rm)).exists() {
                return Ok(skip(format!("skipped, since {rm} does not exist")));
            }
        }
        let mut predicted = ModuleResult::ok();
        predicted.changed = true;
        predicted.set("cmd", command.clone());
        let job = Job {
            command,
            chdir,
            timeout,
            echo,
            events,
        };
        Ok(Check::Change {
            predicted,
            action: action(move |ctx: &Context<'_>| job.run(ctx.environment)),
        })
    }
}

/// Ansible's `check_type_int` on `timeout`.
fn timeout_secs(v: &Value) -> Result<Duration, ModuleError> {
    let n = match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) => Ok(Duration::from_secs(n.max(0).unsigned_abs())),
        None => {
            let (ty, repr) = match v {
                Value::String(s) => ("str", format!("'{s}'")),
                Value::Number(n) => ("float", n.to_string()),
                Value::Bool(b) => ("bool", if *b { "True" } else { "False" }.to_owned()),
                Value::Array(_) => ("list", v.to_string()),
                _ => ("dict", v.to_string()),
            };
            Err(ModuleError::failed(format!(
                "argument 'timeout' is of type <class '{ty}'> and we were unable to convert to int: \"{repr}\" cannot be converted to an int"
            )))
        }
    }
}

/// `b'%s\n' % to_bytes(value).rstrip(b'\n')`.
fn response(v: &Value) -> Vec<u8> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    };
    let mut b = s.trim_end_matches('\n').as_bytes().to_vec();
    b.push(b'\n');
    b
}

enum Answer {
    One(Vec<u8>),
    /// Answers given in turn; `next` is the one to send.
    List(Vec<Vec<u8>>),
}

struct Event {
    key: String,
    re: PyRegex,
    answer: Answer,
}

struct Job {
    command: String,
    chdir: Option<PathBuf>,
    timeout: Option<Duration>,
    echo: bool,
    events: Vec<Event>,
}

/// pexpect's `split_command_line`: whitespace separates, quotes and
/// backslashes group, nothing else is special.
pub(crate) fn split_command_line(line: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum St {
        Basic,
        Esc,
        Single,
        Double,
        Space,
    }
    let mut out = Vec::new();
    let mut arg = String::new();
    let mut st = St::Basic;
    for c in line.chars() {
        match st {
            St::Basic | St::Space => match c {
                '\\' => st = St::Esc,
                '\'' => st = St::Single,
                '"' => st = St::Double,
                c if c.is_whitespace() => {
                    if st != St::Space {
                        out.push(std::mem::take(&mut arg));
                        st = St::Space;
                    }
                }
                c => {
                    arg.push(c);
                    st = St::Basic;
                }
            },
            St::Esc => {
                arg.push(c);
                st = St::Basic;
            }
            St::Single => {
                if c == '\'' {
                    st = St::Basic;
                } else {
                    arg.push(c);
                }
            }
            St::Double => {
                if c == '"' {
                    st = St::Basic;
                } else {
                    arg.push(c);
                }
            }
        }
    }
    if !arg.is_empty() {
        out.push(arg);
    }
    out
}

/// pexpect's `which`: a name with a slash is used when executable,
/// otherwise the first executable regular file on `PATH`.
fn which(name: &str, env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let exe = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file())
            && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok()
    };
    if name.contains('/') && exe(Path::new(name)) {
        return Some(PathBuf::from(name));
    }
    let path = env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/bin:/usr/bin".to_owned());
    path.split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| exe(p))
}

fn python_errno(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("[Errno {n}] {}", crate::modules::files::common::strerror(e)),
        None => e.to_string(),
    }
}

/// The pty's master side plus the child on its slave side.
struct Pty {
    master: OwnedFd,
    child: Child,
}

fn io_err(e: impl Into<std::io::Error>) -> ModuleError {
    let e: std::io::Error = e.into();
    ModuleError::failed(e.to_string())
}

impl Pty {
    fn spawn(
        prog: &Path,
        argv: &[String],
        chdir: Option<&Path>,
        echo: bool,
        env: &BTreeMap<String, String>,
    ) -> Result<Pty, ModuleError> {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(io_err)?;
        grantpt(&master).map_err(io_err)?;
        unlockpt(&master).map_err(io_err)?;
        let name = ptsname(&master, Vec::new()).map_err(io_err)?;
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(io_err)?;
        // ptyprocess's defaults: 24 rows, 80 columns, echo as asked.
        let _ = rustix::termios::tcsetwinsize(
            &slave,
            rustix::termios::Winsize {
                ws_row: 24,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        );
        if !echo {
            let mut t = rustix::termios::tcgetattr(&slave).map_err(io_err)?;
            t.local_modes.remove(rustix::termios::LocalModes::ECHO);
            rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &t)
                .map_err(io_err)?;
        }
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(io_err);
        let mut cmd = Proc::new(prog);
        cmd.args(&argv[1..]);
        cmd.envs(env.iter());
        if let Some(d) = chdir {
            cmd.current_dir(d);
        }
        cmd.stdin(Stdio::from(dup(&slave)?));
        cmd.stdout(Stdio::from(dup(&slave)?));
        cmd.stderr(Stdio::from(slave));
        new_session_on_stdin(&mut cmd);
        let child = cmd.spawn().map_err(|e| {
            ModuleError::failed(format!("{}: '{}'", python_errno(&e), prog.display()))
        })?;
        // `cmd` (and with it the parent's copies of the slave) is dropped
        // here, so the master sees EOF once the child's side closes.
        drop(cmd);
        Ok(Pty { master, child })
    }

    /// Reads what is available within `deadline`: `Ok(None)` on timeout,
    /// an empty vector at EOF.
    fn read(&self, deadline: Option<Instant>) -> Result<Option<Vec<u8>>, ModuleError> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let ts = left.map(|l| Timespec {
                tv_sec: l.as_secs() as i64,
                tv_nsec: i64::from(l.subsec_nanos()),
            });
            let mut fds = [PollFd::new(&self.master, PollFlags::IN)];
            match poll(&mut fds, ts.as_ref()) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(io_err(e)),
            }
            let mut buf = [0u8; 2000];
            return match rustix::io::read(&self.master, &mut buf) {
                Ok(n) => Ok(Some(buf[..n].to_vec())),
                // Linux reports a closed slave side as EIO.
                Err(rustix::io::Errno::IO) => Ok(Some(Vec::new())),
                Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => continue,
                Err(e) => Err(io_err(e)),
            };
        }
    }

    fn send(&self, mut data: &[u8]) -> Result<(), ModuleError> {
        while !data.is_empty() {
            match rustix::io::write(&self.master, data) {
                Ok(n) => data = &data[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        Ok(())
    }

    /// pexpect's `close(force=True)`: hang up the terminal, give the child
    /// a moment, then SIGHUP, SIGCONT, SIGINT and SIGKILL until it is gone.
    /// The exit code, or `None` when a signal ended the child.
    fn close(self) -> Option<i32> {
        let Pty { master, mut child } = self;
        drop(master);
        let wait = |child: &mut Child, d: Duration| {
            let until = Instant::now() + d;
            loop {
                match child.try_wait() {
                    Ok(Some(st)) => return Some(st),
                    Ok(None) if Instant::now() < until => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    _ => return None,
                }
            }
        };
        let pid = rustix::process::Pid::from_raw(child.id() as i32);
        let mut status = wait(&mut child, Duration::from_millis(100));
        if status.is_none() {
            use rustix::process::{kill_process, Signal};
            for sig in [Signal::HUP, Signal::CONT, Signal::INT] {
                if let Some(p) = pid {
                    let _ = kill_process(p, sig);
                }
                if sig == Signal::CONT {
                    continue;
                }
                status = wait(&mut child, Duration::from_millis(100));
                if status.is_some() {
                    break;
                }
            }
            if status.is_none() {
                let _ = child.kill();
                status = child.wait().ok();
            }
        }
        status.and_then(|s| s.code())
    }
}

/// Makes the child a session leader whose controlling terminal is its
/// standard input (the pty), as `pty.fork` does, so programs that open
/// `/dev/tty` (passwd, ssh, sudo) talk to the pty.
#[allow(unsafe_code)]
fn new_session_on_stdin(cmd: &mut Proc) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only
    // makes two async-signal-safe system calls (setsid, ioctl); it
    // allocates nothing and touches no locks. No safe API sets a
    // controlling terminal for a spawned child.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid()?;
            // fd 0 is the pty: `Command` sets up stdio before this runs.
            let stdin = BorrowedFd::borrow_raw(0);
            rustix::process::ioctl_tiocsctty(stdin)?;
            Ok(())
        });
    }
}

/// The part of `buf` that can be matched as text: all of it when it is
/// UTF-8, otherwise up to the first invalid (or incomplete) sequence.
fn text(buf: &[u8]) -> &str {
    match std::str::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default(),
    }
}

impl Job {
    /// The first match in `buf` (earliest start, then key order): the
    /// event's index and the match's end.
    fn search(&self, buf: &[u8]) -> Option<(usize, usize)> {
        let t = text(buf);
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, ev) in self.events.iter().enumerate() {
            if let Some(m) = ev.re.search(t).and_then(|c| c.get(0)) {
                if best.is_none_or(|(s, _, _)| m.start() < s) {
                    best = Some((m.start(), i, m.end()));
                }
            }
        }
        best.map(|(_, i, e)| (i, e))
    }

    fn run(mut self, env: &BTreeMap<String, String>) -> Result<ModuleResult, ModuleError> {
        let argv = split_command_line(&self.command);
        let name = argv.first().cloned().unwrap_or_default();
        let Some(prog) = which(&name, env) else {
            return Err(ModuleError::failed(format!(
                "The command was not found or was not executable: {name}."
            )));
        };
        let start = now();
        let pty = Pty::spawn(&prog, &argv, self.chdir.as_deref(), self.echo, env)?;
        let mut used = vec![0usize; self.events.len()];
        let mut out: Vec<u8> = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut failure = None;
        // Each wait for a match has its own timeout, as each pexpect
        // `expect` call.
        let mut deadline = self.timeout.map(|t| Instant::now() + t);
        loop {
            if let Some((i, end)) = self.search(&buf) {
                let chunk: Vec<u8> = buf.drain(..end).collect();
                out.extend_from_slice(&chunk);
                let ev = &mut self.events[i];
                let answer = match &ev.answer {
                    Answer::One(a) => Some(a.clone()),
                    Answer::List(l) => {
                        used[i] += 1;
                        l.get(used[i] - 1).cloned()
                    }
                };
                match answer {
                    Some(a) => {
                        if let Err(e) = pty.send(&a) {
                            failure = Some(e);
                            break;
                        }
                    }
                    None => {
                        failure = Some(ModuleError::failed(format!(
                            "No remaining responses for '{}', output was '{}'",
                            ev.key,
                            py_bytes_literal(&chunk)
                        )));
                        break;
                    }
                }
                deadline = self.timeout.map(|t| Instant::now() + t);
                continue;
            }
            match pty.read(deadline) {
                Ok(None) => break,
                Ok(Some(data)) if data.is_empty() => break,
                Ok(Some(data)) => buf.extend_from_slice(&data),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        out.extend_from_slice(&buf);
        let rc = pty.close();
        if let Some(e) = failure {
            return Err(e);
        }
        let endt = now();
        let stdout = String::from_utf8_lossy(&out)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        let mut extra = Map::new();
        extra.insert("cmd".into(), self.command.clone().into());
        extra.insert("stdout".into(), stdout.into());
        extra.insert("rc".into(), rc.map_or(Value::Null, Value::from));
        extra.insert("start".into(), fmt_time(&start).into());
        extra.insert("end".into(), fmt_time(&endt).into());
        extra.insert("delta".into(), fmt_delta(endt - start).into());
        let msg = match rc {
            None => Some("command exceeded timeout"),
            Some(0) => None,
            Some(_) => Some("non-zero return code"),
        };
        if let Some(msg) = msg {
            extra.insert("changed".into(), true.into());
            return Err(ModuleError::Failed {
                msg: msg.into(),
                extra,
            });
        }
        let mut r = ModuleResult::ok();
        r.changed = true;
        r.extra = extra;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_pexpect() {
        assert_eq!(
            split_command_line(r#"sh -c 'echo "a b"' x\ y "q'r""#),
            vec!["sh", "-c", "echo \"a b\"", "x y", "q'r"]
        );
        assert_eq!(split_command_line("  ls"), vec!["", "ls"]);
    }

    #[test]
    fn responses_are_lines() {
        assert_eq!(response(&Value::from("yes\n\n")), b"yes\n");
        assert_eq!(response(&Value::from(5)), b"5\n");
        assert_eq!(response(&Value::from(true)), b"True\n");
    }
}
