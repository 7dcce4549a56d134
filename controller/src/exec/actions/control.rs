//! Actions about the run itself: `pause`, `wait_for_connection`, `reboot`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustle_template::Vars;
use serde_json::{json, Map, Value};

use super::{action_fail, done, kw, reach_host, Done, PlayRun, Runner, Scheduled};
use crate::exec::prompt::{Asker, Terminal};
use crate::exec::{action_docs, truthy, value_to_string};

/// Python's `str(datetime.now())`.
fn py_now() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// Python's `repr()` of a float (`1.0`, `0.02`).
fn py_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// `round(x, 2)`.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `pause` declares `seconds`/`minutes` with Python's `int` callable as
/// their type: numbers are truncated, strings must read as integers.
fn int_callable(name: &str, v: &Value) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::from(n.as_f64().map_or(0, |f| f.trunc() as i64))),
        Value::Bool(b) => Ok(Value::from(i64::from(*b))),
        Value::String(s) => s.trim().parse::<i64>().map(Value::from).map_err(|_| {
            format!(
                "argument '{name}' is of type <class 'str'> and we were unable to convert to int: invalid literal for int() with base 10: '{s}'"
            )
        }),
        other => Err(format!(
            "argument '{name}' is of type <class '{}'> and we were unable to convert to int: int() argument must be a string, a bytes-like object or a real number, not '{}'",
            if other.is_array() { "list" } else { "dict" },
            if other.is_array() { "list" } else { "dict" },
        )),
    }
}

pub(super) fn pause(r: &mut Runner<'_>, s: &Scheduled, args: &Map<String, Value>) -> Done {
    let mut args = args.clone();
    for k in ["seconds", "minutes"] {
        if let Some(v) = args.get(k) {
            match int_callable(k, v) {
                Ok(n) => {
                    args.insert(k.into(), n);
                }
                Err(msg) => return action_fail(msg),
            }
        }
    }
    let a = match action_docs::validate("pause", &args) {
        Ok(a) => a,
        Err(msg) => return action_fail(msg),
    };
    let echo = a.bool("echo");
    let echo_prompt = if echo { "" } else { " (output is hidden)" };
    let task_name = s
        .task
        .name()
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| s.task.action.clone());
    let given_prompt = a.str("prompt").filter(|p| !p.is_empty()).map(str::to_owned);
    let mut prompt = format!(
        "[{task_name}]\n{}{echo_prompt}:",
        given_prompt
            .as_deref()
            .unwrap_or("Press enter to continue, Ctrl+C to interrupt")
    );
    let mut unit = "minutes";
    let mut seconds: Option<i64> = None;
    if let Some(m) = a.int("minutes") {
        seconds = Some(m * 60);
    } else if let Some(sec) = a.int("seconds") {
        seconds = Some(sec);
        unit = "seconds";
    }
    let start = Instant::now();
    let start_text = py_now();
    if let Some(sec) = seconds.as_mut() {
        if *sec < 1 {
            *sec = 1;
        }
        r.cb.display(&format!("Pausing for {sec} seconds{echo_prompt}"));
        if given_prompt.is_some() {
            r.cb.display("(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)\r");
        } else {
            prompt = "(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)\r".into();
        }
    }
    let mut user_input = String::new();
    let mut term = Terminal;
    match seconds {
        // A timed pause ignores input: it waits the whole time.
        Some(sec) => std::thread::sleep(Duration::from_secs(sec.max(0) as u64)),
        None if term.interactive() => {
            r.cb.flush();
            match term.ask(&format!("{prompt} "), !echo) {
                Ok(line) => user_input = line,
                Err(e) => return action_fail(format!("reading the answer failed: {e}")),
            }
        }
        None => {
            r.cb.warning("Not waiting for response to prompt as stdin is not interactive")
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let shown = if unit == "minutes" {
        round2(elapsed / 60.0)
    } else {
        round2(elapsed)
    };
    done(json!({
        "changed": false, "rc": 0, "stderr": "",
        "stdout": format!("Paused for {} {unit}", py_float(shown)),
        "start": start_text, "stop": py_now(), "delta": elapsed as i64,
        "echo": echo, "user_input": user_input,
    }))
}

pub(super) fn wait_for_connection(
    r: &mut Runner<'_>,
    pr: &PlayRun,
    host: &str,
    s: &Scheduled,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    // Unknown options were refused before dispatch (`invalid_options`).
    // The action reads its numbers with int() and no further checks.
    let num = |k: &str, d: u64| -> Result<u64, String> {
        match args.get(k) {
            None | Some(Value::Null) => Ok(d),
            Some(v) => value_to_string(v)
                .trim()
                .parse::<i64>()
                .map(|n| n.max(0) as u64)
                .map_err(|_| {
                    format!(
                        "invalid literal for int() with base 10: '{}'",
                        value_to_string(v)
                    )
                }),
        }
    };
    let (delay, sleep, timeout) = match (num("delay", 0), num("sleep", 1), num("timeout", 600)) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return done(
                json!({"failed": true, "msg": e, "exception": format!("ValueError: {e}\n")}),
            )
        }
    };
    let check = kw(r, s, "check_mode", vars).map_or(r.cfg.check, |v| truthy(&v));
    if check {
        return done(json!({"skipped": true}));
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(delay));
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut last_error = String::new();
    let mut ok = false;
    while Instant::now() < deadline {
        match reach_host(r, pr, host, s, vars) {
            Ok(_) => {
                // The ping test resets the connection first; the local
                // connection has no reset.
                r.cb.warning("Reset is not implemented for this connection");
                ok = true;
                break;
            }
            Err(res) => {
                last_error = res.get("msg").map(value_to_string).unwrap_or_default();
                std::thread::sleep(Duration::from_secs(sleep.max(1)));
            }
        }
    }
    let mut res = json!({"changed": false, "elapsed": start.elapsed().as_secs()});
    if !ok {
        res["failed"] = Value::Bool(true);
        res["msg"] = Value::from(format!(
            "timed out waiting for ping module test: {last_error}"
        ));
    }
    done(res)
}

/// `reboot`: reached only for hosts that can be reached, which today
/// means `connection: local`, where Ansible refuses to reboot the
/// controller (check mode included).
/// `reboot`: refused for local connections (as Ansible). On an SSH host:
/// the boot id (`boot_time_command`), the reboot command (`shutdown -r
/// DELAY_MIN "MSG"`, the binary looked up in `search_paths`, or
/// `reboot_command`), then reconnect until the boot id changed and
/// `test_command` succeeds, within `reboot_timeout`.
pub(super) fn reboot(
    r: &mut Runner<'_>,
    pr: &PlayRun,
    host: &str,
    s: &Scheduled,
    args: &Map<String, Value>,
    vars: &Arc<dyn Vars>,
) -> Done {
    let Some(target) = r.target.clone() else {
        let msg = format!(
            "Running {} with local connection would reboot the control node.",
            s.task.action
        );
        return done(
            json!({"changed": false, "elapsed": 0, "rebooted": false, "failed": true, "msg": msg}),
        );
    };
    let check = kw(r, s, "check_mode", vars).map_or(r.cfg.check, |v| truthy(&v));
    if check {
        return done(json!({"changed": true, "elapsed": 0, "rebooted": true}));
    }
    let action = s.task.action.clone();
    let arg = |k: &str| args.get(k).or_else(|| args.get(&format!("{k}_sec")));
    let int = |k: &str, d: i64| -> Result<i64, String> {
        match arg(k) {
            None | Some(Value::Null) => Ok(d),
            Some(v) => value_to_string(v).trim().parse::<i64>().map_err(|_| {
                format!(
                    "invalid literal for int() with base 10: '{}'",
                    value_to_string(v)
                )
            }),
        }
    };
    let nums = (
        int("pre_reboot_delay", 0),
        int("post_reboot_delay", 0),
        int("reboot_timeout", 600),
    );
    let (pre, post, timeout) = match nums {
        (Ok(a), Ok(b), Ok(c)) => (a.max(0) as u64, b.max(0) as u64, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return action_fail(e),
    };
    let text = |k: &str| {
        args.get(k)
            .filter(|v| !v.is_null())
            .map(value_to_string)
            .filter(|t| !t.is_empty())
    };
    let boot_cmd =
        text("boot_time_command").unwrap_or_else(|| "cat /proc/sys/kernel/random/boot_id".into());
    let test_cmd = text("test_command").unwrap_or_else(|| "whoami".into());
    let exec = |r: &Runner<'_>, cmd: &str| r.remotes.raw(&target, "/bin/sh", cmd);
    let boot_time = |r: &Runner<'_>| -> Result<String, String> {
        match exec(r, &boot_cmd) {
            Ok((0, out, _)) => Ok(String::from_utf8_lossy(&out).trim().to_owned()),
            Ok((rc, out, err)) => Err(format!(
                "{action}: failed to get host boot time info, rc: {rc}, stdout: {}, stderr: {}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            )),
            Err(res) => Err(res.get("msg").map(value_to_string).unwrap_or_default()),
        }
    };
    let previous = match boot_time(r) {
        Ok(b) => b,
        Err(e) => {
            return done(json!({"changed": false, "failed": true, "reboot": false, "msg": e}))
        }
    };
    // The shutdown binary: as written when absolute, else the first
    // search path holding it.
    let (bin, rest) = match text("reboot_command") {
        Some(c) => match c.split_once(' ') {
            Some((b, a)) => (b.to_owned(), a.to_owned()),
            None => (c, String::new()),
        },
        None => (
            "shutdown".to_owned(),
            format!(
                "-r {} \"{}\"",
                pre / 60,
                text("msg").unwrap_or_else(|| "Reboot initiated by Ansible".into())
            ),
        ),
    };
    let shutdown = if bin.starts_with('/') {
        bin
    } else {
        let paths: Vec<String> = match args.get("search_paths") {
            Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
            Some(v) if !v.is_null() => vec![value_to_string(v)],
            _ => ["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"]
                .map(str::to_owned)
                .to_vec(),
        };
        let quoted: Vec<String> = paths.iter().map(|p| shell_quote(p)).collect();
        let find = format!(
            "for d in {}; do if [ -e \"$d\"/{b} ]; then printf '%s/%s\\n' \"$d\" {b}; break; fi; done",
            quoted.join(" "),
            b = shell_quote(&bin)
        );
        match exec(r, &find) {
            Ok((_, out, _)) if !out.is_empty() => String::from_utf8_lossy(&out).trim().to_owned(),
            _ => {
                let list: Vec<String> = paths.iter().map(|p| format!("'{p}'")).collect();
                return action_fail(format!(
                    "Unable to find command \"{bin}\" in search paths: [{}]",
                    list.join(", ")
                ));
            }
        }
    };
    let start = Instant::now();
    let command = format!("{shutdown} {rest}");
    // A connection cut by the shutdown counts as success, as in Ansible.
    if let Ok((rc, out, err)) = exec(r, command.trim_end()) {
        if rc != 0 {
            return done(json!({
                "changed": false,
                "failed": true,
                "rebooted": false,
                "elapsed": start.elapsed().as_secs(),
                "msg": format!(
                    "Reboot command failed. Error was: '{}, {}'",
                    String::from_utf8_lossy(&out).trim(),
                    String::from_utf8_lossy(&err).trim()
                ),
            }));
        }
    }
    r.remotes.reset(&target);
    std::thread::sleep(Duration::from_secs(post));
    let deadline = Instant::now() + Duration::from_secs(timeout.max(0) as u64);
    // Ansible's backoff: 2^n seconds (plus jitter), at most 12.
    let wait = |n: &mut u32| {
        let secs = 2u64.saturating_pow(*n).min(12);
        std::thread::sleep(Duration::from_millis(
            secs * 1000 + u64::from(start.elapsed().subsec_millis()),
        ));
        *n += 1;
    };
    let mut fails = 0u32;
    let mut booted = false;
    while Instant::now() < deadline {
        let reached = reach_host(r, pr, host, s, vars).is_ok();
        if reached {
            if let Ok(now) = boot_time(r) {
                if !now.is_empty() && now != previous {
                    booted = true;
                    break;
                }
            }
        }
        r.remotes.reset(&target);
        wait(&mut fails);
    }
    let timed_out = |what: &str| {
        done(json!({
            "changed": false,
            "failed": true,
            "rebooted": true,
            "elapsed": start.elapsed().as_secs(),
            "msg": format!("Timed out waiting for {what} (timeout={timeout})"),
        }))
    };
    if !booted {
        return timed_out("last boot time check");
    }
    let mut fails = 0u32;
    while Instant::now() < deadline {
        if let Ok((0, _, _)) = exec(r, &test_cmd) {
            return done(json!({
                "changed": true,
                "rebooted": true,
                "elapsed": start.elapsed().as_secs(),
            }));
        }
        r.remotes.reset(&target);
        let _ = reach_host(r, pr, host, s, vars);
        wait(&mut fails);
    }
    timed_out("post-reboot test command")
}

/// Single-quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
