//! `service_facts`: the host's services as `ansible_facts.services`, in
//! the shape Ansible's module gives them.

use serde_json::{json, Map, Value};

use super::util;
use crate::args::ArgSpec;
use crate::modules::{Capabilities, Check, CheckSupport, Context, Module, ModuleError};
use crate::result::ModuleResult;

pub struct ServiceFacts;

static SPEC: ArgSpec = ArgSpec::new(&[]);

const NOTES: &str = r#"Sources, as Ansible's module on Linux: SysV (`service --status-all`:
`[ + ] name` running, `[ - ] name` stopped; `source: sysv`), when
`service` exists and neither `chkconfig` nor `rc-status` does; systemd,
when `systemctl` exists and systemd runs (`/run/systemd/system` or
`/dev/.run/systemd` or `/dev/.systemd` exists): `systemctl list-units
--no-pager --type service --all --plain` (`state` running/stopped,
`status` the unit's SUB... as Ansible: `not-found`, `masked` or `failed`
when one of those words appears, else the ACTIVE column) completed by
`systemctl list-unit-files --no-pager --type service --all` (the file
state as `status`, `systemctl show UNIT --property=ActiveState` for
units not listed). systemd entries replace SysV ones of the same name.

Results: `ansible_facts.services`: `{NAME: {name, state, status?, source}}`;
no service found: skipped with `Failed to find any services. This can be
due to privileges or some other configuration issue.` Warnings: `Unable
to query 'service' tool (RC): ...`, `Could not list units from systemd:
...`.

Check mode: full (nothing changes). Diff: none.

Differences: the upstart (`initctl`), Red Hat `chkconfig`, OpenRC, AIX
and OpenBSD sources are not implemented; programs are found on the
task's `PATH` first.

Tested with a fake `service` on `PATH` (conformance cases and a
differential case against ansible-playbook) and a fake `systemctl`
through unit tests of the parsers (this machine does not run systemd)."#;

impl Module for ServiceFacts {
    fn name(&self) -> &'static str {
        "service_facts"
    }
    fn description(&self) -> &'static str {
        "Return service state information as fact data"
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
        let mut r = ModuleResult::ok();
        let mut services = Map::new();
        let service = util::bin_path(ctx, "service");
        let chkconfig = util::bin_path(ctx, "chkconfig");
        let rc_status = util::bin_path(ctx, "rc-status");
        if let (Some(svc), None, None) = (&service, &chkconfig, &rc_status) {
            let o = util::run(ctx, &[util::s(svc), "--status-all".into()])?;
            let skip = o.rc == 4 && !std::path::Path::new("/etc/init.d").exists();
            if !skip {
                if o.rc != 0 {
                    util::warn(
                        &mut r,
                        format!("Unable to query 'service' tool ({}): {}", o.rc, o.err),
                    );
                }
                parse_status_all(&o.out, &mut services);
            }
        }
        let systemd = [
            "/run/systemd/system/",
            "/dev/.run/systemd/",
            "/dev/.systemd/",
        ]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
        if let Some(sc) = util::bin_path(ctx, "systemctl").filter(|_| systemd) {
            let sc = util::s(&sc);
            let mut sd = Map::new();
            let o = util::run(
                ctx,
                &[
                    &sc,
                    "list-units",
                    "--no-pager",
                    "--type",
                    "service",
                    "--all",
                    "--plain",
                ],
            )?;
            if o.rc != 0 {
                util::warn(
                    &mut r,
                    format!("Could not list units from systemd: {}", o.err),
                );
            } else {
                parse_list_units(&o.out, &mut sd);
            }
            let o = util::run(
                ctx,
                &[
                    &sc,
                    "list-unit-files",
                    "--no-pager",
                    "--type",
                    "service",
                    "--all",
                ],
            )?;
            if o.rc != 0 {
                util::warn(
                    &mut r,
                    format!("Could not get unit files data from systemd: {}", o.err),
                );
            } else {
                for line in o.out.split('\n').filter(|l| l.contains(".service")) {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if f.len() < 2 {
                        return Err(ModuleError::failed(format!(
                            "Malformed output discovered from systemd list-unit-files: {line}"
                        )));
                    }
                    let (name, status) = (f[0], f[1]);
                    match sd.get_mut(name) {
                        None => {
                            let s = util::run(ctx, &[&sc, "show", name, "--property=ActiveState"])?;
                            let state = if s.rc == 0 && !s.out.is_empty() {
                                s.out.replace("ActiveState=", "").trim_end().to_owned()
                            } else {
                                "unknown".to_owned()
                            };
                            sd.insert(
                                name.to_owned(),
                                json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                            );
                        }
                        Some(Value::Object(e)) => {
                            let bad = e
                                .get("status")
                                .and_then(Value::as_str)
                                .is_some_and(|s| BAD_STATES.contains(&s));
                            if !bad {
                                e.insert("status".into(), Value::from(status));
                            }
                        }
                        Some(_) => {}
                    }
                }
            }
            services.extend(sd);
        }
        if services.is_empty() {
            r.skipped = true;
            r.msg = Some("Failed to find any services. This can be due to privileges or some other configuration issue.".into());
        } else {
            let mut facts = Map::new();
            facts.insert("services".into(), Value::Object(services));
            r.set("ansible_facts", Value::Object(facts));
        }
        Ok(Check::Done(r))
    }
}

const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

/// `^\s*\[ (+|-) \]\s+(.+)$` per line.
fn parse_status_all(out: &str, services: &mut Map<String, Value>) {
    for line in out.split('\n') {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("[ ") else {
            continue;
        };
        let mut chars = rest.chars();
        let state = match chars.next() {
            Some('+') => "running",
            Some('-') => "stopped",
            _ => continue,
        };
        let Some(rest) = chars.as_str().strip_prefix(" ]") else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) {
            continue;
        }
        // `\s+(.+)$`: leading blanks go, the rest (up to a final \r) stays.
        let name = rest.trim_start();
        if name.is_empty() {
            continue;
        }
        services.insert(
            name.to_owned(),
            json!({"name": name, "state": state, "source": "sysv"}),
        );
    }
}

fn parse_list_units(out: &str, services: &mut Map<String, Value>) {
    for line in out.split('\n').filter(|l| l.contains(".service")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let head = &f[..f.len() - 1];
        let status = BAD_STATES
            .iter()
            .find(|b| head.contains(b))
            .copied()
            .unwrap_or(f[2]);
        let state = if f[3] == "running" {
            "running"
        } else {
            "stopped"
        };
        services.insert(
            f[0].to_owned(),
            json!({"name": f[0], "state": state, "status": status, "source": "systemd"}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_all_lines() {
        let mut m = Map::new();
        parse_status_all(
            " [ + ]  cron\n [ - ]  dbus\n [ ? ]  odd\nnoise\n [ + ]  two words\n",
            &mut m,
        );
        assert_eq!(
            m["cron"],
            json!({"name": "cron", "state": "running", "source": "sysv"})
        );
        assert_eq!(m["dbus"]["state"], json!("stopped"));
        assert!(m.contains_key("two words"));
        assert!(!m.contains_key("odd"));
    }

    #[test]
    fn list_units_lines() {
        let mut m = Map::new();
        parse_list_units(
            "cron.service loaded active running Regular background program\n\
             gone.service not-found inactive dead gone.service\n\
             x.device loaded active plugged X\n",
            &mut m,
        );
        assert_eq!(
            m["cron.service"],
            json!({"name": "cron.service", "state": "running", "status": "active", "source": "systemd"})
        );
        assert_eq!(m["gone.service"]["status"], json!("not-found"));
        assert_eq!(m["gone.service"]["state"], json!("stopped"));
        assert_eq!(m.len(), 2);
    }
}
