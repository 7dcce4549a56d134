//! `wait_for`: waits for a port, a file, a string in either, or for
//! connections to drain, with the loop, results and messages of Ansible's
//! module.

use std::fs;
use std::io::Read;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::args::{ArgDef, ArgDefault, ArgSpec, ArgType};
use crate::modules::files::pyre::{Flags, PyRegex};
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct WaitFor;

static ARGS: [ArgDef; 12] = [
    ArgDef::new("host", ArgType::Str)
        .default(ArgDefault::Str("127.0.0.1"))
        .doc("Host name or address to wait for."),
    ArgDef::new("timeout", ArgType::Int)
        .default(ArgDefault::Int(300))
        .doc("Maximum seconds to wait."),
    ArgDef::new("connect_timeout", ArgType::Int)
        .default(ArgDefault::Int(5))
        .doc("Seconds to wait for one connection attempt."),
    ArgDef::new("delay", ArgType::Int)
        .default(ArgDefault::Int(0))
        .doc("Seconds to wait before the first check."),
    ArgDef::new("port", ArgType::Int).doc("TCP port to poll."),
    ArgDef::new("active_connection_states", ArgType::List)
        .doc("TCP states counted as active connections for `state: drained`."),
    ArgDef::new("path", ArgType::Path).doc("File to wait for."),
    ArgDef::new("search_regex", ArgType::Str)
        .doc("Python regex (MULTILINE) to find in the file or in what the port sends."),
    ArgDef::new("state", ArgType::Str)
        .default(ArgDefault::Str("started"))
        .choices(&["absent", "drained", "present", "started", "stopped"])
        .doc("started/present: wait until it is there; stopped/absent: until it is gone; drained: until no active connections."),
    ArgDef::new("exclude_hosts", ArgType::List)
        .doc("Hosts whose connections are ignored with `state: drained`."),
    ArgDef::new("sleep", ArgType::Int)
        .default(ArgDefault::Int(1))
        .doc("Seconds between checks."),
    ArgDef::new("msg", ArgType::Str).doc("Message instead of the default one on failure."),
];

static SPEC: ArgSpec = ArgSpec::new(&ARGS);

const NOTES: &str = r#"Results: `state`, `port`, `path`, `search_regex`, `match_groups`
(a list), `match_groupdict`, `elapsed` (whole seconds), `changed:
false`. Failures (or `msg` when given): `Timeout when waiting for
H:P`, `Timeout when waiting for search string R in H:P`, `Timeout when
waiting for file X`, `Timeout when waiting for search string R in X`,
`Timeout when waiting for H:P to stop.`, `Timeout when waiting for X to
be absent.`, `Timeout when waiting for H:P to drain`, `port and path
parameter can not both be passed to wait_for`, `state=stopped should
only be used for checking a port in the wait_for module`,
`exclude_hosts should only be with state=drained`, `Invalid regular
expression: ...`. Without `port` and `path` it sleeps `timeout`
seconds.

`state: drained` counts connections in `/proc/net/tcp` and
`/proc/net/tcp6` whose local port is `port` (and local address one of
`host`'s, unless it is a wildcard address) in one of
`active_connection_states`, not from `exclude_hosts`.

Check mode: not supported (skipped, as Ansible's module). Diff: no.

Differences from Ansible: `search_regex` runs on the data read as UTF-8
(invalid bytes replaced) through the Python-regex translation.
Tested for real (files, a listening socket on 127.0.0.1) in conformance
cases and the `mod_wait_for_*` differential case."#;

impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn description(&self) -> &'static str {
        "Waits for a condition before continuing"
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
    fn notes(&self) -> &'static str {
        NOTES
    }
    fn check(&self, ctx: &Context<'_>) -> Result<Check, ModuleError> {
        Ok(Check::Done(run(ctx)?))
    }
}

const STATES: [(&str, &str); 11] = [
    ("01", "ESTABLISHED"),
    ("02", "SYN_SENT"),
    ("03", "SYN_RECV"),
    ("04", "FIN_WAIT1"),
    ("05", "FIN_WAIT2"),
    ("06", "TIME_WAIT"),
    ("07", "CLOSE"),
    ("08", "CLOSE_WAIT"),
    ("09", "LAST_ACK"),
    ("0A", "LISTEN"),
    ("0B", "CLOSING"),
];

fn fail(msg: String, elapsed: u64) -> ModuleError {
    ModuleError::Failed {
        msg,
        extra: [("elapsed".to_owned(), Value::from(elapsed))]
            .into_iter()
            .collect(),
    }
}

fn resolve(host: &str, port: u16) -> Vec<SocketAddr> {
    (host, port)
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default()
}

fn connect(host: &str, port: u16, timeout: Duration) -> Option<TcpStream> {
    let timeout = timeout.max(Duration::from_millis(1));
    resolve(host, port)
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, timeout).ok())
}

/// An address from `/proc/net/tcp{,6}` (`0100007F:1F90`).
fn parse_proc_addr(s: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => {
            let n = u32::from_str_radix(ip, 16).ok()?;
            IpAddr::from(n.to_le_bytes())
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in ip.as_bytes().chunks(8).enumerate() {
                let word = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
            }
            let v6 = std::net::Ipv6Addr::from(bytes);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some((ip, port))
}

fn active_connections(host: &str, port: u16, states: &[String], exclude: &[IpAddr]) -> usize {
    let ips: Vec<IpAddr> = resolve(host, port).into_iter().map(|a| a.ip()).collect();
    let wildcard = ips.iter().any(IpAddr::is_unspecified);
    let mut n = 0;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 {
                continue;
            }
            let (Some((lip, lport)), Some((rip, _))) =
                (parse_proc_addr(cols[1]), parse_proc_addr(cols[2]))
            else {
                continue;
            };
            let state = STATES
                .iter()
                .find(|(code, _)| code.eq_ignore_ascii_case(cols[3]))
                .map_or("", |(_, name)| *name);
            if lport == port
                && (wildcard || ips.contains(&lip))
                && states.iter().any(|s| s == state)
                && !exclude.contains(&rip)
            {
                n += 1;
            }
        }
    }
    n
}

fn groups(re: &PyRegex, text: &str) -> Option<(Value, Value)> {
    let caps = re.search(text)?;
    let list: Vec<Value> = (1..caps.len())
        .map(|i| {
            caps.get(i)
                .map_or(Value::Null, |m| Value::String(m.as_str().to_owned()))
        })
        .collect();
    let mut dict = Map::new();
    for name in re.names() {
        dict.insert(
            name.to_owned(),
            caps.name(name)
                .map_or(Value::Null, |m| Value::String(m.as_str().to_owned())),
        );
    }
    Some((Value::Array(list), Value::Object(dict)))
}

fn run(ctx: &Context<'_>) -> Result<ModuleResult, ModuleError> {
    let a = &ctx.args;
    let host = a.str("host").unwrap_or("127.0.0.1").to_owned();
    let timeout = a.int("timeout").unwrap_or(300).max(0) as u64;
    let connect_timeout = a.int("connect_timeout").unwrap_or(5).max(0) as u64;
    let delay = a.int("delay").unwrap_or(0).max(0) as u64;
    let port = a.int("port").filter(|p| *p != 0);
    let state = a.str("state").unwrap_or("started").to_owned();
    let path = a.str("path").map(str::to_owned);
    let search_regex = a.str("search_regex").map(str::to_owned);
    let sleep = Duration::from_secs(a.int("sleep").unwrap_or(1).max(0) as u64);
    let msg = a.str("msg").map(str::to_owned);
    let re = match &search_regex {
        Some(r) => Some(
            PyRegex::new(
                r,
                Flags {
                    multiline: true,
                    ..Flags::default()
                },
            )
            .map_err(|e| ModuleError::failed(format!("Invalid regular expression: {e}")))?,
        ),
        None => None,
    };
    if port.is_some() && path.is_some() {
        return Err(fail(
            "port and path parameter can not both be passed to wait_for".into(),
            0,
        ));
    }
    if path.is_some() && (state == "stopped" || state == "drained") {
        return Err(fail(
            format!("state={state} should only be used for checking a port in the wait_for module"),
            0,
        ));
    }
    if a.is_set("exclude_hosts") && state != "drained" {
        return Err(fail(
            "exclude_hosts should only be with state=drained".into(),
            0,
        ));
    }
    let mut active_states = a.list("active_connection_states");
    if !a.is_set("active_connection_states") {
        active_states = [
            "ESTABLISHED",
            "FIN_WAIT1",
            "FIN_WAIT2",
            "SYN_RECV",
            "SYN_SENT",
            "TIME_WAIT",
        ]
        .map(str::to_owned)
        .to_vec();
    }
    for s in &active_states {
        if !STATES.iter().any(|(_, n)| n == s) {
            return Err(fail(
                format!("unknown active_connection_state ({s}) defined"),
                0,
            ));
        }
    }
    let path_buf = path.as_deref().map(|p| ctx.expand_path(p));
    let port16 = port.map(|p| p as u16);
    let start = Instant::now();
    let end = start + Duration::from_secs(timeout);
    let elapsed = || start.elapsed().as_secs();
    std::thread::sleep(Duration::from_secs(delay));
    let mut match_groups = Value::Array(Vec::new());
    let mut match_groupdict = Value::Object(Map::new());
    if port.is_none() && path.is_none() && state != "drained" {
        std::thread::sleep(Duration::from_secs(timeout));
    } else if state == "absent" || state == "stopped" {
        let mut done = false;
        while Instant::now() < end {
            if let Some(p) = &path_buf {
                if fs::symlink_metadata(p).is_err() && fs::metadata(p).is_err() {
                    done = true;
                    break;
                }
            } else if let Some(pt) = port16 {
                match connect(&host, pt, Duration::from_secs(connect_timeout)) {
                    Some(s) => {
                        let _ = s.shutdown(Shutdown::Both);
                    }
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            std::thread::sleep(sleep);
        }
        if !done {
            let m = match (port, &path) {
                (Some(p), _) => format!("Timeout when waiting for {host}:{p} to stop."),
                (None, Some(p)) => format!("Timeout when waiting for {p} to be absent."),
                _ => String::new(),
            };
            return Err(fail(msg.unwrap_or(m), elapsed()));
        }
    } else if state == "started" || state == "present" {
        let mut done = false;
        while Instant::now() < end {
            if let Some(p) = &path_buf {
                match fs::metadata(p) {
                    Err(e) if e.raw_os_error() != Some(2) => {
                        return Err(fail(
                            msg.clone().unwrap_or(format!(
                                "Failed to stat {}, {}",
                                path.as_deref().unwrap_or_default(),
                                crate::modules::files::common::strerror(&e)
                            )),
                            elapsed(),
                        ));
                    }
                    Err(_) => {}
                    Ok(_) => match &re {
                        None => {
                            done = true;
                            break;
                        }
                        Some(re) => {
                            if let Ok(data) = fs::read(p) {
                                let text = String::from_utf8_lossy(&data);
                                if let Some((g, d)) = groups(re, &text) {
                                    match_groups = g;
                                    match_groupdict = d;
                                    done = true;
                                    break;
                                }
                            }
                        }
                    },
                }
            } else if let Some(pt) = port16 {
                let left = end.saturating_duration_since(Instant::now());
                let alt = Duration::from_secs(left.as_secs_f64().ceil() as u64);
                if let Some(mut s) =
                    connect(&host, pt, Duration::from_secs(connect_timeout).min(alt))
                {
                    match &re {
                        None => {
                            let _ = s.shutdown(Shutdown::Both);
                            done = true;
                            break;
                        }
                        Some(re) => {
                            let mut data: Vec<u8> = Vec::new();
                            let mut matched = false;
                            while Instant::now() < end {
                                let left = end.saturating_duration_since(Instant::now());
                                let _ =
                                    s.set_read_timeout(Some(left.max(Duration::from_millis(10))));
                                let mut buf = [0u8; 1024];
                                match s.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        data.extend_from_slice(&buf[..n]);
                                        if re.search(&String::from_utf8_lossy(&data)).is_some() {
                                            matched = true;
                                            break;
                                        }
                                    }
                                    Err(e)
                                        if matches!(
                                            e.kind(),
                                            std::io::ErrorKind::WouldBlock
                                                | std::io::ErrorKind::TimedOut
                                                | std::io::ErrorKind::Interrupted
                                        ) =>
                                    {
                                        continue
                                    }
                                    Err(_) => break,
                                }
                            }
                            let _ = s.shutdown(Shutdown::Both);
                            if matched {
                                done = true;
                                break;
                            }
                        }
                    }
                }
            }
            std::thread::sleep(sleep);
        }
        if !done {
            let p = path.as_deref().unwrap_or_default();
            let m = match (port, &search_regex) {
                (Some(pt), Some(r)) => {
                    format!("Timeout when waiting for search string {r} in {host}:{pt}")
                }
                (Some(pt), None) => format!("Timeout when waiting for {host}:{pt}"),
                (None, Some(r)) => format!("Timeout when waiting for search string {r} in {p}"),
                (None, None) => format!("Timeout when waiting for file {p}"),
            };
            return Err(fail(msg.unwrap_or(m), elapsed()));
        }
    } else if state == "drained" {
        let exclude: Vec<IpAddr> = a
            .list("exclude_hosts")
            .iter()
            .flat_map(|h| resolve(h, 0))
            .map(|a| a.ip())
            .collect();
        let mut done = false;
        while Instant::now() < end {
            if active_connections(&host, port16.unwrap_or(0), &active_states, &exclude) == 0 {
                done = true;
                break;
            }
            std::thread::sleep(sleep);
        }
        if !done {
            let m = format!(
                "Timeout when waiting for {host}:{} to drain",
                port.map_or("None".to_owned(), |p| p.to_string())
            );
            return Err(fail(msg.unwrap_or(m), elapsed()));
        }
    }
    Ok(ModuleResult::ok()
        .with("state", state)
        .with("port", port.map_or(Value::Null, Value::from))
        .with(
            "search_regex",
            search_regex.map_or(Value::Null, Value::from),
        )
        .with("match_groups", match_groups)
        .with("match_groupdict", match_groupdict)
        .with("path", path.map_or(Value::Null, Value::from))
        .with("elapsed", elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_addresses() {
        assert_eq!(
            parse_proc_addr("0100007F:1F90"),
            Some((IpAddr::from([127, 0, 0, 1]), 8080))
        );
        assert_eq!(
            parse_proc_addr("0000000000000000FFFF00000100007F:0016"),
            Some((IpAddr::from([127, 0, 0, 1]), 22))
        );
    }
}
