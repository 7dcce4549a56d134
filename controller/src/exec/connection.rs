//! Which connection a task's host uses, and whether a non-local host can
//! be reached. Until the SSH transport lands, only `connection: local`
//! hosts run modules; any other host is reported unreachable with the
//! reason, as Ansible reports a host it cannot connect to.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustle_template::Vars;
use serde_json::{json, Value};

use super::value_to_string;

/// The connection plugin a host's tasks go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Connection {
    Local,
    Ssh,
    Other(String),
}

impl Connection {
    pub(crate) fn parse(name: &str) -> Self {
        match name.rsplit('.').next().unwrap_or(name) {
            "local" => Connection::Local,
            "ssh" | "smart" | "paramiko" | "paramiko_ssh" => Connection::Ssh,
            other => Connection::Other(other.to_owned()),
        }
    }
}

/// The connection for a host's task: the `ansible_connection` variable
/// (which defaults to the play's `connection:` or `-c`), unless the task
/// or a block names one and no variable overrides it.
pub(crate) fn resolve(vars: &Arc<dyn Vars>, keyword: Option<Value>, default: &str) -> Connection {
    let var = vars.get("ansible_connection").map(|v| value_to_string(&v));
    let name = match (var, keyword) {
        (Some(v), Some(k)) if v == default => value_to_string(&k),
        (Some(v), _) => v,
        (None, Some(k)) => value_to_string(&k),
        (None, None) => default.to_owned(),
    };
    Connection::parse(&name)
}

/// Checks that a host can be reached; the unreachable result otherwise.
pub(crate) fn reach(conn: &Connection, vars: &Arc<dyn Vars>) -> Result<(), Value> {
    let get = |k: &str| vars.get(k).map(|v| value_to_string(&v));
    match conn {
        Connection::Local => Ok(()),
        // Raised by the executor, so no `changed` (as Ansible shows it).
        Connection::Other(name) => Err(json!({
            "failed": true,
            "msg": format!("the connection plugin '{name}' was not found"),
        })),
        Connection::Ssh => {
            let host = get("ansible_host")
                .or_else(|| get("ansible_ssh_host"))
                .or_else(|| get("inventory_hostname"))
                .unwrap_or_default();
            let port: u16 = get("ansible_port")
                .or_else(|| get("ansible_ssh_port"))
                .and_then(|p| p.parse().ok())
                .unwrap_or(22);
            let timeout = get("ansible_timeout")
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(10)
                .max(1);
            let reason = match probe(&host, port, Duration::from_secs(timeout)) {
                Err(why) => format!("ssh: {why}"),
                // Something answers, but rustle has no SSH transport yet.
                Ok(()) => format!(
                    "rustle cannot run tasks over SSH yet (host {host} port {port} answered); only connection: local hosts run modules"
                ),
            };
            Err(json!({
                "changed": false,
                "msg": format!("Failed to connect to the host via ssh: {reason}"),
                "unreachable": true,
            }))
        }
    }
}

/// Opens (and drops) a TCP connection; OpenSSH's wording for failures.
fn probe(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let addrs: Vec<_> = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(_) => {
            return Err(format!(
                "Could not resolve hostname {}: Name or service not known",
                host.to_lowercase()
            ))
        }
    };
    let mut last = String::from("Connection refused");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => {
                last = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                        "Connection timed out".into()
                    }
                    _ => match e.raw_os_error() {
                        Some(113) => "No route to host".into(),
                        Some(101) => "Network is unreachable".into(),
                        _ => e.to_string(),
                    },
                }
            }
        }
    }
    Err(format!("connect to host {host} port {port}: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_plugins() {
        assert_eq!(Connection::parse("local"), Connection::Local);
        assert_eq!(
            Connection::parse("ansible.builtin.local"),
            Connection::Local
        );
        assert_eq!(Connection::parse("ssh"), Connection::Ssh);
        assert_eq!(
            Connection::parse("docker"),
            Connection::Other("docker".into())
        );
    }

    #[test]
    fn closed_loopback_port_is_refused() {
        // Port 1 on loopback has no listener on any sane test machine.
        let e = probe("127.0.0.1", 1, Duration::from_secs(2)).unwrap_err();
        assert_eq!(e, "connect to host 127.0.0.1 port 1: Connection refused");
    }
}
