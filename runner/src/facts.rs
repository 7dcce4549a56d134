//! Host facts, gathered natively (the `setup` module's data): the facts
//! playbooks read, with Ansible's names (without the `ansible_` prefix,
//! as they appear under `ansible_facts`).

use std::collections::BTreeMap;
use std::fs;

use serde_json::{json, Map, Value};

/// What to gather.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Directory of local facts (`/etc/ansible/facts.d` by default).
    pub fact_path: Option<String>,
    /// The task's `environment`, seen by the gathering as its process
    /// environment would be (`ansible_env`).
    pub environment: BTreeMap<String, String>,
}

fn read(p: &str) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

fn os_release() -> BTreeMap<String, String> {
    let text = read("/etc/os-release")
        .or_else(|| read("/usr/lib/os-release"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

fn os_family(id: &str, like: &str) -> &'static str {
    let all = format!("{id} {like}");
    if all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if all.contains("rhel") || all.contains("fedora") || all.contains("centos") {
        "RedHat"
    } else if all.contains("suse") {
        "Suse"
    } else if all.contains("arch") {
        "Archlinux"
    } else if all.contains("alpine") {
        "Alpine"
    } else {
        "Linux"
    }
}

fn distribution_name(id: &str, name: &str) -> String {
    match id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        "fedora" => "Fedora".into(),
        "alpine" => "Alpine".into(),
        "arch" => "Archlinux".into(),
        _ => name.split_whitespace().next().unwrap_or("Linux").to_owned(),
    }
}

fn meminfo() -> BTreeMap<String, u64> {
    read("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let kb: u64 = v.split_whitespace().next()?.parse().ok()?;
            Some((k.to_owned(), kb))
        })
        .collect()
}

fn cpu_counts() -> (usize, usize, usize, Vec<Value>) {
    let text = read("/proc/cpuinfo").unwrap_or_default();
    let mut processors = Vec::new();
    let mut vcpus = 0;
    let mut physical = std::collections::BTreeSet::new();
    let mut cores_per = 1usize;
    let mut model = String::new();
    let mut vendor = String::new();
    for l in text.lines() {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "processor" => {
                if vcpus > 0 {
                    processors.push(Value::from((vcpus - 1).to_string()));
                    processors.push(Value::from(vendor.clone()));
                    processors.push(Value::from(model.clone()));
                }
                vcpus += 1;
            }
            "vendor_id" => vendor = v.to_owned(),
            "model name" => model = v.to_owned(),
            "physical id" => {
                physical.insert(v.to_owned());
            }
            "cpu cores" => cores_per = v.parse().unwrap_or(1),
            _ => {}
        }
    }
    if vcpus > 0 {
        processors.push(Value::from((vcpus - 1).to_string()));
        processors.push(Value::from(vendor));
        processors.push(Value::from(model));
    }
    let sockets = physical.len().max(1);
    (sockets, cores_per, vcpus.max(1), processors)
}

fn user_entry(uid: u32) -> Option<crate::fsutil::PasswdEntry> {
    crate::fsutil::passwd_entries()
        .into_iter()
        .find(|e| e.uid == uid)
}

fn date_time() -> Value {
    let now = chrono::Local::now();
    let utc = chrono::Utc::now();
    json!({
        "year": now.format("%Y").to_string(),
        "month": now.format("%m").to_string(),
        "weekday": now.format("%A").to_string(),
        "weekday_number": now.format("%w").to_string(),
        "weeknumber": now.format("%W").to_string(),
        "day": now.format("%d").to_string(),
        "hour": now.format("%H").to_string(),
        "minute": now.format("%M").to_string(),
        "second": now.format("%S").to_string(),
        "epoch": now.format("%s").to_string(),
        "epoch_int": now.format("%s").to_string(),
        "date": now.format("%Y-%m-%d").to_string(),
        "time": now.format("%H:%M:%S").to_string(),
        "iso8601_micro": utc.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "iso8601": utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "iso8601_basic": now.format("%Y%m%dT%H%M%S%.6f").to_string(),
        "iso8601_basic_short": now.format("%Y%m%dT%H%M%S").to_string(),
        "tz": now.format("%Z").to_string(),
        "tz_dst": now.format("%Z").to_string(),
        "tz_offset": now.format("%z").to_string(),
    })
}

/// Gathers the facts of this host.
pub fn gather(opts: &Options) -> Map<String, Value> {
    gather_report(opts).0
}

/// Gathers the facts of this host, with the warnings the setup module
/// would return (local facts that failed).
pub fn gather_report(opts: &Options) -> (Map<String, Value>, Vec<String>) {
    let local =
        crate::local_facts::collect(opts.fact_path.as_deref().unwrap_or("/etc/ansible/facts.d"));
    let mut f = Map::new();
    let hostname_full = read("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into());
    let domain = read("/proc/sys/kernel/domainname")
        .filter(|d| d != "(none)")
        .unwrap_or_default();
    let short = hostname_full.split('.').next().unwrap_or("").to_owned();
    let kernel = read("/proc/sys/kernel/osrelease").unwrap_or_default();
    let kver = read("/proc/sys/kernel/version").unwrap_or_default();
    let machine = std::env::consts::ARCH.to_owned();
    let osr = os_release();
    let id = osr.get("ID").cloned().unwrap_or_default();
    let like = osr.get("ID_LIKE").cloned().unwrap_or_default();
    let dist = distribution_name(&id, osr.get("NAME").map_or("", String::as_str));
    let mut version = osr.get("VERSION_ID").cloned().unwrap_or_default();
    if id == "debian" {
        if let Some(v) = read("/etc/debian_version") {
            if v.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                version = v;
            }
        }
    }
    let major = version.split('.').next().unwrap_or("").to_owned();
    let family = os_family(&id, &like);
    let pkg_mgr = match family {
        "Debian" => "apt",
        "RedHat" => "dnf",
        "Suse" => "zypper",
        "Archlinux" => "pacman",
        "Alpine" => "apk",
        _ => "unknown",
    };
    let service_mgr = if std::path::Path::new("/run/systemd/system").is_dir() {
        "systemd".to_owned()
    } else {
        read("/proc/1/comm").unwrap_or_else(|| "service".into())
    };
    let uid = crate::modules::files::stat::effective_uid();
    let user = user_entry(uid);
    let mem = meminfo();
    let (sockets, cores, vcpus, processor) = cpu_counts();
    let mut env: Map<String, Value> = std::env::vars().map(|(k, v)| (k, Value::from(v))).collect();
    for (k, v) in &opts.environment {
        env.insert(k.clone(), Value::from(v.clone()));
    }
    let uptime = read("/proc/uptime")
        .and_then(|u| {
            u.split_whitespace()
                .next()
                .and_then(|x| x.parse::<f64>().ok())
        })
        .unwrap_or(0.0) as u64;
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_owned(), v);
    };
    put("hostname", Value::from(short));
    put("nodename", Value::from(hostname_full.clone()));
    put("fqdn", Value::from(hostname_full.clone()));
    put("domain", Value::from(domain));
    put("system", Value::from("Linux"));
    put("kernel", Value::from(kernel));
    put("kernel_version", Value::from(kver));
    put("machine", Value::from(machine.clone()));
    put("architecture", Value::from(machine));
    put("distribution", Value::from(dist));
    put("distribution_version", Value::from(version));
    put("distribution_major_version", Value::from(major));
    put(
        "distribution_release",
        Value::from(osr.get("VERSION_CODENAME").cloned().unwrap_or_default()),
    );
    put("distribution_file_variety", Value::from(family));
    put("os_family", Value::from(family));
    put("pkg_mgr", Value::from(pkg_mgr));
    put("service_mgr", Value::from(service_mgr));
    put(
        "user_id",
        Value::from(user.as_ref().map(|u| u.name.clone()).unwrap_or_default()),
    );
    put("user_uid", Value::from(uid));
    put("user_gid", Value::from(user.as_ref().map_or(0, |u| u.gid)));
    put(
        "user_dir",
        Value::from(user.as_ref().map(|u| u.home.clone()).unwrap_or_default()),
    );
    put(
        "user_shell",
        Value::from(user.as_ref().map(|u| u.shell.clone()).unwrap_or_default()),
    );
    put("env", Value::Object(env));
    put("date_time", date_time());
    put("processor", Value::Array(processor));
    put("processor_count", Value::from(sockets));
    put("processor_cores", Value::from(cores));
    put(
        "processor_threads_per_core",
        Value::from((vcpus / (sockets * cores).max(1)).max(1)),
    );
    put("processor_vcpus", Value::from(vcpus));
    put("processor_nproc", Value::from(vcpus));
    let mb = |k: &str| mem.get(k).copied().unwrap_or(0) / 1024;
    put("memtotal_mb", Value::from(mb("MemTotal")));
    put("memfree_mb", Value::from(mb("MemFree")));
    put("swaptotal_mb", Value::from(mb("SwapTotal")));
    put("swapfree_mb", Value::from(mb("SwapFree")));
    put(
        "memory_mb",
        json!({
            "real": {"total": mb("MemTotal"), "free": mb("MemFree"), "used": mb("MemTotal").saturating_sub(mb("MemFree"))},
            "nocache": {"free": mb("MemAvailable"), "used": mb("MemTotal").saturating_sub(mb("MemAvailable"))},
            "swap": {"total": mb("SwapTotal"), "free": mb("SwapFree"), "used": mb("SwapTotal").saturating_sub(mb("SwapFree")), "cached": mb("SwapCached")},
        }),
    );
    put("uptime_seconds", Value::from(uptime));
    put("selinux", json!({"status": "disabled"}));
    put(
        "apparmor",
        json!({"status": if std::path::Path::new("/sys/kernel/security/apparmor").exists() { "enabled" } else { "disabled" }}),
    );
    put("lsb", Value::Object(Map::new()));
    put(
        "virtualization_type",
        Value::from(if std::path::Path::new("/.dockerenv").exists() {
            "docker"
        } else {
            ""
        }),
    );
    put("virtualization_role", Value::from(""));
    put("local", Value::Object(local.facts));
    put("gather_subset", json!(["all"]));
    put("module_setup", Value::Bool(true));
    put(
        "discovered_interpreter_python",
        Value::from("/usr/bin/python3"),
    );
    if let Some((py, version)) = python_facts() {
        put("python", py);
        put("python_version", version);
    }

    (f, local.warnings)
}

/// `python` facts from the host's `python3`, when there is one.
fn python_facts() -> Option<(Value, Value)> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,json;v=sys.version_info;print(json.dumps({'executable':sys.executable,'has_sslcontext':True,'type':'cpython','version':{'major':v.major,'minor':v.minor,'micro':v.micro,'releaselevel':v.releaselevel,'serial':v.serial},'version_info':list(v)}))",
        ])
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let ver = v.get("version")?;
    let s = format!(
        "{}.{}.{}",
        ver.get("major")?,
        ver.get("minor")?,
        ver.get("micro")?
    );
    Some((v, Value::from(s)))
}
