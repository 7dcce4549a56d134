//! System facts, as Ansible's system collectors: platform, distribution,
//! lsb, user, environment, date and time, service and package managers,
//! security modules, virtualization, DNS and the smaller ones.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::{bin_path, parse, read_raw, read_trim};

fn cstr(c: &std::ffi::CStr) -> String {
    c.to_string_lossy().into_owned()
}

/// `platform` facts (and `fqdn`, `hostname`, `nodename`, `domain`).
pub fn platform(f: &mut Map<String, Value>) {
    let u = rustix::system::uname();
    let node = cstr(u.nodename());
    let machine = cstr(u.machine());
    f.insert("system".into(), Value::from(cstr(u.sysname())));
    f.insert("kernel".into(), Value::from(cstr(u.release())));
    f.insert("kernel_version".into(), Value::from(cstr(u.version())));
    f.insert("machine".into(), Value::from(machine.clone()));
    let hosts = read_raw(Path::new("/etc/hosts")).unwrap_or_default();
    let multi = read_raw(Path::new("/etc/host.conf"))
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 2 && w[0] == "multi" && w[1] == "on"
        });
    let fqdn = parse::fqdn_from_hosts(&hosts, &node, multi).unwrap_or_else(|| node.clone());
    let domain = fqdn.split('.').skip(1).collect::<Vec<_>>().join(".");
    f.insert("fqdn".into(), Value::from(fqdn));
    f.insert(
        "hostname".into(),
        Value::from(node.split('.').next().unwrap_or("")),
    );
    f.insert("nodename".into(), Value::from(node));
    f.insert("domain".into(), Value::from(domain));
    let bits = if cfg!(target_pointer_width = "64") {
        "64"
    } else {
        "32"
    };
    f.insert("userspace_bits".into(), Value::from(bits));
    if machine == "x86_64" {
        f.insert(
            "userspace_architecture".into(),
            Value::from(if bits == "64" { "x86_64" } else { "i386" }),
        );
    }
    f.insert("architecture".into(), Value::from(machine));
    if let Some(id) = read_trim(Path::new("/var/lib/dbus/machine-id"))
        .filter(|s| !s.is_empty())
        .or_else(|| read_trim(Path::new("/etc/machine-id")).filter(|s| !s.is_empty()))
    {
        let first = id.lines().next().unwrap_or("").to_owned();
        f.insert("machine_id".into(), Value::from(first));
    }
}

const OS_FAMILY: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "SLC",
            "Ascendos",
            "CloudLinux",
            "PSBM",
            "OracleLinux",
            "OVS",
            "OEL",
            "Amazon",
            "Amzn",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "EulerOS",
            "openEuler",
            "AlmaLinux",
            "Rocky",
            "TencentOS",
            "EuroLinux",
            "Kylin Linux Advanced Server",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Pardus GNU/Linux",
            "Uos",
            "Deepin",
            "OSMC",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "ALP-Dolomite",
            "SL-Micro",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Mandrake", &["Mandrake", "Mandriva"]),
    (
        "Solaris",
        &["Solaris", "Nexenta", "OmniOS", "OpenIndiana", "SmartOS"],
    ),
    ("Slackware", &["Slackware"]),
    ("Altlinux", &["Altlinux"]),
    ("SMGL", &["SMGL"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
    ("Alpine", &["Alpine"]),
    ("AIX", &["AIX"]),
    ("HP-UX", &["HPUX"]),
    ("Darwin", &["MacOSX"]),
    ("FreeBSD", &["FreeBSD", "TrueOS"]),
    ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
    (
        "DragonFly",
        &[
            "DragonflyBSD",
            "DragonFlyBSD",
            "Gentoo/DragonflyBSD",
            "Gentoo/DragonFlyBSD",
        ],
    ),
    ("NetBSD", &["NetBSD"]),
];

/// Ansible's `os_family` of a distribution name.
pub fn os_family(distribution: &str) -> String {
    OS_FAMILY
        .iter()
        .find(|(_, names)| names.contains(&distribution))
        .map_or_else(|| distribution.to_owned(), |(f, _)| (*f).to_owned())
}

/// The distribution facts from an os-release text and the
/// `/etc/debian_version` text, as Ansible's `_guess_distribution` (the
/// `distro` library on os-release) followed by its os-release parsers.
pub fn distribution_from(osr_text: &str, debian_version: Option<&str>) -> Map<String, Value> {
    let osr = parse::os_release(osr_text);
    let get = |k: &str| osr.get(k).cloned().unwrap_or_default();
    let id = get("ID").to_lowercase();
    let mut dist = parse::capitalize(&id);
    dist = match dist.as_str() {
        "Amzn" => "Amazon".into(),
        "Rhel" => "Redhat".into(),
        "" => "OtherLinux".into(),
        _ => dist,
    };
    let mut version = get("VERSION_ID");
    // `distro.version(best=True)`: the most precise of os-release and
    // the distribution file.
    if id == "debian" {
        if let Some(dv) = debian_version.map(str::trim) {
            if dv.split('.').count() > version.split('.').count()
                && dv.chars().next().is_some_and(|c| c.is_ascii_digit())
            {
                version = dv.to_owned();
            }
        }
    }
    if id == "centos" {
        version = version.split('.').take(2).collect::<Vec<_>>().join(".");
    }
    let codename = osr
        .get("VERSION_CODENAME")
        .or_else(|| osr.get("UBUNTU_CODENAME"))
        .cloned()
        .or_else(|| {
            let v = get("VERSION");
            let c = v
                .split_once('(')
                .map(|(_, r)| r.trim_end_matches(')').trim().to_owned());
            c.filter(|c| !c.is_empty())
        });
    let mut f = Map::new();
    let version = if version.is_empty() {
        "NA".to_owned()
    } else {
        version
    };
    let major = version.split('.').next().unwrap_or("").to_owned();
    f.insert("distribution".into(), Value::from(dist));
    f.insert("distribution_version".into(), Value::from(version));
    f.insert(
        "distribution_release".into(),
        Value::from(codename.unwrap_or_else(|| "NA".into())),
    );
    f.insert(
        "distribution_major_version".into(),
        Value::from(if major.is_empty() { "NA".into() } else { major }),
    );
    // The os-release parsers of DistributionFiles, in Ansible's order.
    let data = osr_text.trim_matches(|c| c == '\'' || c == '"' || c == '\\');
    let found: Option<(&str, Map<String, Value>)> = if data.contains("Amazon Linux") {
        Some(("Amazon", Map::new()))
    } else if data.contains("Arch Linux") {
        Some(("Archlinux", Map::new()))
    } else if data.to_lowercase().contains("suse") {
        let mut m = Map::new();
        m.insert(
            "distribution".into(),
            Value::from(osr.get("NAME").cloned().unwrap_or_default()),
        );
        Some(("SUSE", m))
    } else if data.contains("Debian") || data.contains("Raspbian") {
        let mut m = Map::new();
        m.insert("distribution".into(), Value::from("Debian"));
        if let Some(rel) = pretty_release(data) {
            m.insert("distribution_release".into(), Value::from(rel));
        }
        if let Some(dv) = debian_version {
            for line in dv.lines() {
                let l = line.trim();
                let mut parts = l.split('.');
                if let (Some(a), Some(b)) = (parts.next(), parts.next()) {
                    let a_ok = a.chars().last().is_some_and(|c| c.is_ascii_digit());
                    let b_digits: String = b.chars().take_while(char::is_ascii_digit).collect();
                    if a_ok && !b_digits.is_empty() {
                        m.insert("distribution_minor_version".into(), Value::from(b_digits));
                    }
                }
            }
        }
        Some(("Debian", m))
    } else if data.contains("Ubuntu") {
        let mut m = Map::new();
        m.insert("distribution".into(), Value::from("Ubuntu"));
        Some(("Debian", m))
    } else if data.contains("Flatcar") {
        Some(("Flatcar", Map::new()))
    } else {
        None
    };
    if let Some((variety, parsed)) = found {
        f.insert("distribution".into(), Value::from(variety));
        f.insert(
            "distribution_file_path".into(),
            Value::from("/etc/os-release"),
        );
        f.insert("distribution_file_variety".into(), Value::from(variety));
        f.insert("distribution_file_parsed".into(), Value::Bool(true));
        f.extend(parsed);
    }
    let fam = os_family(f["distribution"].as_str().unwrap_or(""));
    f.insert("os_family".into(), Value::from(fam));
    f
}

/// `PRETTY_NAME=... (codename)`'s codename.
fn pretty_release(data: &str) -> Option<String> {
    let line = data.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    let open = line.find('(')?;
    let close = line[open..].find(')')? + open;
    let rel = &line[open + 1..close];
    (!rel.is_empty() && open > 0).then(|| rel.to_owned())
}

/// Distribution facts of this host.
pub fn distribution(f: &mut Map<String, Value>) {
    let osr = read_raw(Path::new("/etc/os-release"))
        .or_else(|| read_raw(Path::new("/usr/lib/os-release")))
        .unwrap_or_default();
    let dv = read_raw(Path::new("/etc/debian_version"));
    f.extend(distribution_from(&osr, dv.as_deref()));
}

/// `lsb`: what `lsb_release -a` prints, which on current systems comes
/// from os-release; else `/etc/lsb-release`.
pub fn lsb(f: &mut Map<String, Value>) {
    let mut l = Map::new();
    if bin_path("lsb_release").is_some() {
        let osr = parse::os_release(
            &read_raw(Path::new("/etc/os-release"))
                .or_else(|| read_raw(Path::new("/usr/lib/os-release")))
                .unwrap_or_default(),
        );
        let id = osr
            .get("ID")
            .map(|i| parse::capitalize(i))
            .unwrap_or_default();
        if !id.is_empty() {
            l.insert("id".into(), Value::from(id));
        }
        if let Some(d) = osr.get("PRETTY_NAME") {
            l.insert("description".into(), Value::from(d.clone()));
        }
        if let Some(r) = osr.get("VERSION_ID") {
            l.insert("release".into(), Value::from(r.clone()));
        }
        if let Some(c) = osr.get("VERSION_CODENAME") {
            l.insert("codename".into(), Value::from(c.clone()));
        }
    }
    if l.is_empty() {
        for line in read_raw(Path::new("/etc/lsb-release"))
            .unwrap_or_default()
            .lines()
        {
            let Some((_, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim();
            let key = if line.contains("DISTRIB_ID") {
                "id"
            } else if line.contains("DISTRIB_RELEASE") {
                "release"
            } else if line.contains("DISTRIB_DESCRIPTION") {
                "description"
            } else if line.contains("DISTRIB_CODENAME") {
                "codename"
            } else {
                continue;
            };
            l.insert(key.into(), Value::from(v));
        }
    }
    if let Some(r) = l.get("release").and_then(Value::as_str) {
        let major = r.split('.').next().unwrap_or("").to_owned();
        l.insert("major_release".into(), Value::from(major));
    }
    for v in l.values_mut() {
        if let Some(s) = v.as_str() {
            *v = Value::from(s.trim_matches(|c| c == '\'' || c == '"' || c == '\\'));
        }
    }
    f.insert("lsb".into(), Value::Object(l));
}

/// `user_*` and the process ids.
pub fn user(f: &mut Map<String, Value>, env: &BTreeMap<String, String>) {
    let uid = rustix::process::getuid().as_raw();
    let euid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let entries = parse::passwd(&read_raw(Path::new("/etc/passwd")).unwrap_or_default());
    // getpass.getuser(): the first of LOGNAME, USER, LNAME, USERNAME.
    let by_env = ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| env.get(*k).filter(|v| !v.is_empty()).cloned());
    let name = by_env.clone().or_else(|| {
        entries
            .iter()
            .find(|e| e.uid == uid)
            .map(|e| e.name.clone())
    });
    let pw = name
        .as_ref()
        .and_then(|n| entries.iter().find(|e| e.name == *n))
        .or_else(|| entries.iter().find(|e| e.uid == uid));
    f.insert("user_id".into(), Value::from(name.unwrap_or_default()));
    if let Some(pw) = pw {
        f.insert("user_uid".into(), Value::from(pw.uid));
        f.insert("user_gid".into(), Value::from(pw.gid));
        f.insert("user_gecos".into(), Value::from(pw.gecos.clone()));
        f.insert("user_dir".into(), Value::from(pw.dir.clone()));
        f.insert("user_shell".into(), Value::from(pw.shell.clone()));
    }
    f.insert("real_user_id".into(), Value::from(uid));
    f.insert("effective_user_id".into(), Value::from(euid));
    f.insert("real_group_id".into(), Value::from(gid));
    f.insert("effective_group_id".into(), Value::from(gid));
}

/// `date_time`, as Ansible formats it.
pub fn date_time(f: &mut Map<String, Value>) {
    let now = chrono::Local::now();
    let utc = now.with_timezone(&chrono::Utc);
    let s = |fmt: &str| Value::from(now.format(fmt).to_string());
    let offset = i64::from(chrono::Offset::fix(now.offset()).local_minus_utc());
    let (tz, tz_dst) = match tz_rule() {
        Some(rule) => {
            let (std_name, std_offset, dst) = parse::posix_tz(&rule);
            let dst_name = dst.clone().unwrap_or_else(|| std_name.clone());
            let current = if dst.is_some() && offset != std_offset {
                dst_name.clone()
            } else {
                std_name
            };
            (current, dst_name)
        }
        None => ("UTC".to_owned(), "UTC".to_owned()),
    };
    f.insert(
        "date_time".into(),
        json!({
            "year": s("%Y"), "month": s("%m"), "weekday": s("%A"),
            "weekday_number": s("%w"), "weeknumber": s("%W"), "day": s("%d"),
            "hour": s("%H"), "minute": s("%M"), "second": s("%S"),
            "epoch": now.timestamp().to_string(), "epoch_int": now.timestamp().to_string(),
            "date": s("%Y-%m-%d"), "time": s("%H:%M:%S"),
            "iso8601_micro": utc.format("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
            "iso8601": utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "iso8601_basic": s("%Y%m%dT%H%M%S%6f"),
            "iso8601_basic_short": s("%Y%m%dT%H%M%S"),
            "tz": tz, "tz_dst": tz_dst, "tz_offset": s("%z"),
        }),
    );
}

/// The POSIX TZ rule of the local time zone: `TZ` itself, or the footer
/// of the TZif file it (or `/etc/localtime`) names.
fn tz_rule() -> Option<String> {
    let file = match std::env::var("TZ") {
        Ok(tz) if !tz.is_empty() => {
            let name = tz.strip_prefix(':').unwrap_or(&tz).to_owned();
            let path = if name.starts_with('/') {
                std::path::PathBuf::from(&name)
            } else {
                Path::new("/usr/share/zoneinfo").join(&name)
            };
            if !path.is_file() {
                return Some(name);
            }
            path
        }
        _ => std::path::PathBuf::from("/etc/localtime"),
    };
    let data = std::fs::read(file).ok()?;
    parse::tzif_footer(&data)
}

/// `service_mgr`, as Ansible's `ServiceMgrFactCollector` on Linux.
pub fn service_mgr(f: &mut Map<String, Value>) {
    let mut proc1 = read_trim(Path::new("/proc/1/comm"));
    if proc1.is_none() {
        proc1 = std::fs::read_link("/sbin/init")
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
    }
    let proc1 = proc1
        .map(|p| {
            Path::new(&p)
                .file_name()
                .map_or(p.clone(), |n| n.to_string_lossy().into_owned())
                .trim()
                .to_owned()
        })
        .filter(|p| p != "init" && !p.ends_with("sh"));
    let exists = |p: &str| Path::new(p).exists();
    let name = if let Some(p) = proc1 {
        match p.as_str() {
            "procd" => "openwrt_init".into(),
            "runit-init" => "runit".into(),
            "svscan" => "svc".into(),
            "openrc-init" => "openrc".into(),
            _ => p,
        }
    } else if bin_path("systemctl").is_some()
        && [
            "/run/systemd/system/",
            "/dev/.run/systemd/",
            "/dev/.systemd/",
        ]
        .iter()
        .any(|c| exists(c))
    {
        "systemd".into()
    } else if bin_path("initctl").is_some() && exists("/etc/init/") {
        "upstart".into()
    } else if exists("/sbin/openrc") {
        "openrc".into()
    } else if bin_path("systemctl").is_some()
        && std::fs::symlink_metadata("/sbin/init").is_ok_and(|m| m.file_type().is_symlink())
        && std::fs::read_link("/sbin/init")
            .ok()
            .and_then(|l| l.file_name().map(|n| n == "systemd"))
            == Some(true)
    {
        "systemd".into()
    } else if exists("/etc/init.d/") {
        "sysvinit".into()
    } else if exists("/etc/dinit.d/") {
        "dinit".into()
    } else {
        "service".into()
    };
    f.insert("service_mgr".into(), Value::from(name));
}

const PKG_MGRS: &[(&str, &str)] = &[
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "dnf"),
    ("/usr/bin/dnf-3", "dnf"),
    ("/usr/bin/dnf5", "dnf5"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/usr/sbin/urpmi", "urpmi"),
    ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"),
    ("/usr/pkg/bin/pkgin", "pkgin"),
    ("/opt/local/bin/pkgin", "pkgin"),
    ("/opt/tools/bin/pkgin", "pkgin"),
    ("/opt/local/bin/port", "macports"),
    ("/usr/local/bin/brew", "homebrew"),
    ("/opt/homebrew/bin/brew", "homebrew"),
    ("/sbin/apk", "apk"),
    ("/usr/sbin/pkg", "pkgng"),
    ("/usr/sbin/swlist", "swdepot"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/sbin/pkgadd", "svr4pkg"),
    ("/usr/bin/pkg", "pkg5"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/local/sbin/pkg", "pkgng"),
    ("/usr/bin/swupd", "swupd"),
    ("/usr/sbin/sorcery", "sorcery"),
    ("/usr/bin/installp", "installp"),
];

/// `pkg_mgr`, as Ansible's `PkgMgrFactCollector` (needs `os_family`).
pub fn pkg_mgr(f: &mut Map<String, Value>) {
    let family = f
        .get("os_family")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut name = "unknown".to_owned();
    for (path, n) in PKG_MGRS {
        if family == "Altlinux" && *path == "/usr/bin/pkg" {
            continue;
        }
        if Path::new(path).exists() {
            name = (*n).to_owned();
        }
    }
    if family == "RedHat" {
        name = if Path::new("/run/ostree-booted").exists() {
            "atomic_container".into()
        } else {
            ["/usr/bin/dnf", "/usr/bin/microdnf"]
                .iter()
                .find(|p| Path::new(p).exists())
                .map_or("unknown".into(), |p| {
                    if std::fs::canonicalize(p).is_ok_and(|r| r == Path::new("/usr/bin/dnf5")) {
                        "dnf5".into()
                    } else {
                        "dnf".into()
                    }
                })
        };
    } else if family == "Debian" {
        name = "apt".into();
    } else if family == "Altlinux" && name == "apt" {
        name = "apt_rpm".into();
    }
    f.insert("pkg_mgr".into(), Value::from(name));
}

/// `selinux` (read from selinuxfs) and `apparmor`.
pub fn selinux(f: &mut Map<String, Value>) {
    let fs = Path::new("/sys/fs/selinux");
    let v = if fs.join("enforce").exists() {
        let mode = |m: &str| match m.trim() {
            "1" => "enforcing",
            "0" => "permissive",
            _ => "disabled",
        };
        let cfg =
            parse::os_release(&read_raw(Path::new("/etc/selinux/config")).unwrap_or_default());
        json!({
            "status": "enabled",
            "policyvers": read_trim(&fs.join("policyvers")).and_then(|p| p.parse::<i64>().ok()).map_or(Value::from("unknown"), Value::from),
            "config_mode": cfg.get("SELINUX").cloned().unwrap_or_else(|| "unknown".into()),
            "mode": mode(&read_trim(&fs.join("enforce")).unwrap_or_default()),
            "type": cfg.get("SELINUXTYPE").cloned().unwrap_or_else(|| "unknown".into()),
        })
    } else {
        json!({"status": "disabled"})
    };
    f.insert("selinux".into(), v);
    f.insert("selinux_python_present".into(), Value::Bool(true));
}

/// `apparmor`.
pub fn apparmor(f: &mut Map<String, Value>) {
    let on = Path::new("/sys/kernel/security/apparmor").exists();
    f.insert(
        "apparmor".into(),
        json!({"status": if on { "enabled" } else { "disabled" }}),
    );
}

/// `is_chroot`.
pub fn chroot(f: &mut Map<String, Value>, env: &BTreeMap<String, String>) {
    let v = if env.contains_key("debian_chroot") {
        true
    } else {
        match (std::fs::metadata("/"), std::fs::metadata("/proc/1/root/")) {
            (Ok(a), Ok(b)) => a.ino() != b.ino() || a.dev() != b.dev(),
            (Ok(a), Err(_)) => a.ino() != 2,
            _ => false,
        }
    };
    f.insert("is_chroot".into(), Value::Bool(v));
}

/// `fips`.
pub fn fips(f: &mut Map<String, Value>) {
    let on = read_trim(Path::new("/proc/sys/crypto/fips_enabled")).as_deref() == Some("1");
    f.insert("fips".into(), Value::Bool(on));
}

/// `cmdline` and `proc_cmdline`.
pub fn cmdline(f: &mut Map<String, Value>) {
    let Some(data) = read_trim(Path::new("/proc/cmdline")).filter(|d| !d.is_empty()) else {
        return;
    };
    f.insert("cmdline".into(), Value::Object(parse::cmdline(&data)));
    f.insert(
        "proc_cmdline".into(),
        Value::Object(parse::proc_cmdline(&data)),
    );
}

/// `loadavg`.
pub fn loadavg(f: &mut Map<String, Value>) {
    let s = rustix::system::sysinfo();
    let l = |i: usize| s.loads[i] as f64 / 65536.0;
    f.insert(
        "loadavg".into(),
        json!({"1m": l(0), "5m": l(1), "15m": l(2)}),
    );
}

/// `ssh_host_key_*_public` and their key types.
pub fn ssh_pub_keys(f: &mut Map<String, Value>) {
    let algos = ["dsa", "rsa", "ecdsa", "ed25519"];
    for dir in ["/etc/ssh", "/etc/openssh", "/etc"] {
        let mut found = false;
        for algo in algos {
            let path = format!("{dir}/ssh_host_{algo}_key.pub");
            let Some(text) = read_trim(Path::new(&path)) else {
                continue;
            };
            found = true;
            let mut w = text.split_whitespace();
            let (Some(kind), Some(key)) = (w.next(), w.next()) else {
                continue;
            };
            f.insert(format!("ssh_host_key_{algo}_public"), Value::from(key));
            f.insert(
                format!("ssh_host_key_{algo}_public_keytype"),
                Value::from(kind),
            );
        }
        if found {
            break;
        }
    }
}

/// `dns`.
pub fn dns(f: &mut Map<String, Value>) {
    let text = read_raw(Path::new("/etc/resolv.conf")).unwrap_or_default();
    f.insert("dns".into(), Value::Object(parse::resolv_conf(&text)));
}

/// `iscsi_iqn`, `hostnqn` and `fibre_channel_wwn`.
pub fn storage_ids(f: &mut Map<String, Value>, which: &BTreeSet<&str>) {
    if which.contains("iscsi") {
        let iqn = read_raw(Path::new("/etc/iscsi/initiatorname.iscsi"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let l = l.trim();
                (!l.starts_with('#') && l.starts_with("InitiatorName="))
                    .then(|| l.split_once('=').map(|(_, v)| v.trim().to_owned()))
                    .flatten()
            })
            .unwrap_or_default();
        f.insert("iscsi_iqn".into(), Value::from(iqn));
    }
    if which.contains("nvme") {
        let nqn = read_raw(Path::new("/etc/nvme/hostnqn"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("nqn"))
            .unwrap_or("")
            .trim()
            .to_owned();
        f.insert("hostnqn".into(), Value::from(nqn));
    }
    if which.contains("fibre_channel_wwn") {
        let mut wwns = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/sys/class/fc_host") {
            for e in rd.flatten() {
                if let Some(w) = read_trim(&e.path().join("port_name")) {
                    wwns.push(Value::from(w.trim_start_matches("0x").to_owned()));
                }
            }
        }
        f.insert("fibre_channel_wwn".into(), Value::Array(wwns));
    }
}

/// Virtualization facts, as Ansible's `LinuxVirtual` (without
/// `dmidecode` and `lscpu`).
pub fn virtual_facts(f: &mut Map<String, Value>) {
    let mut kind: Option<String> = None;
    let mut role: Option<String> = None;
    let mut found = false;
    let mut host: BTreeSet<String> = BTreeSet::new();
    let mut guest: BTreeSet<String> = BTreeSet::new();
    let exists = |p: &str| Path::new(p).exists();
    let set = |found: &mut bool,
               k: &str,
               r: &str,
               kind: &mut Option<String>,
               role: &mut Option<String>| {
        if !*found {
            *kind = Some(k.into());
            *role = Some(r.into());
            *found = true;
        }
    };
    for line in read_raw(Path::new("/proc/1/cgroup"))
        .unwrap_or_default()
        .lines()
    {
        let docker = line.split("/docker").skip(1).any(|rest| {
            rest.starts_with('/')
                || rest.strip_prefix('-').is_some_and(|r| {
                    let hex: String = r.chars().take_while(char::is_ascii_hexdigit).collect();
                    !hex.is_empty() && r[hex.len()..].starts_with(".scope")
                })
        });
        if docker {
            guest.insert("docker".into());
            set(&mut found, "docker", "guest", &mut kind, &mut role);
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            guest.insert("lxc".into());
            set(&mut found, "lxc", "guest", &mut kind, &mut role);
        }
        if line.contains("/system.slice/containerd.service") {
            guest.insert("containerd".into());
            set(&mut found, "containerd", "guest", &mut kind, &mut role);
        }
    }
    if let Ok(env) = std::fs::read("/proc/1/environ") {
        for var in env.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            if var.contains("container=lxc") {
                guest.insert("lxc".into());
                set(&mut found, "lxc", "guest", &mut kind, &mut role);
            }
            if var.contains("container=podman") {
                guest.insert("podman".into());
                set(&mut found, "podman", "guest", &mut kind, &mut role);
            }
            if var.starts_with("container=") && var.len() > "container=".len() {
                guest.insert("container".into());
                set(&mut found, "container", "guest", &mut kind, &mut role);
            }
        }
    }
    if exists("/proc/vz") && !exists("/proc/lve") {
        kind = Some("openvz".into());
        if exists("/proc/bc") {
            host.insert("openvz".into());
            if !found {
                role = Some("host".into());
            }
        } else {
            guest.insert("openvz".into());
            if !found {
                role = Some("guest".into());
            }
        }
        found = true;
    }
    let systemd_container =
        read_trim(Path::new("/run/systemd/container")).filter(|s| !s.is_empty());
    if let Some(c) = &systemd_container {
        guest.insert(c.clone());
        set(&mut found, c, "guest", &mut kind, &mut role);
    }
    if exists("/.dockerenv") || exists("/.dockerinit") {
        guest.insert("docker".into());
        set(&mut found, "docker", "guest", &mut kind, &mut role);
    }
    if ["docker", "lxc", "podman", "openvz", "containerd"]
        .iter()
        .any(|t| guest.contains(*t))
        || systemd_container.is_some()
    {
        guest.insert("container".into());
    }
    if exists("/proc/xen") {
        let is_host =
            read_raw(Path::new("/proc/xen/capabilities")).is_some_and(|c| c.contains("control_d"));
        if is_host {
            host.insert("xen".into());
            set(&mut found, "xen", "host", &mut kind, &mut role);
        } else {
            set(&mut found, "xen", "guest", &mut kind, &mut role);
        }
        found = true;
    }
    // Assume guest for the DMI block.
    let assumed = !found;
    if assumed {
        role = Some("guest".into());
    }
    let dmi = |n: &str| read_trim(&Path::new("/sys/devices/virtual/dmi/id").join(n));
    let (product, vendor, family, bios) = (
        dmi("product_name"),
        dmi("sys_vendor"),
        dmi("product_family"),
        dmi("bios_vendor"),
    );
    let mut dmi_hit = |found: &mut bool, tech: &str, kind: &mut Option<String>| {
        guest.insert(tech.into());
        if !*found {
            *kind = Some(tech.into());
            *found = true;
        }
    };
    let p = product.as_deref().unwrap_or("\0");
    let v = vendor.as_deref().unwrap_or("\0");
    let b = bios.as_deref().unwrap_or("\0");
    if ["KVM", "KVM Server", "Bochs", "AHV"].contains(&p) {
        dmi_hit(&mut found, "kvm", &mut kind);
    }
    if v == "oVirt" {
        dmi_hit(&mut found, "oVirt", &mut kind);
    }
    if v == "Red Hat" {
        if family.as_deref() == Some("RHV") {
            dmi_hit(&mut found, "RHV", &mut kind);
        } else if p == "RHEV Hypervisor" {
            dmi_hit(&mut found, "RHEV", &mut kind);
        }
    }
    if p.starts_with("VMware") {
        dmi_hit(&mut found, "VMware", &mut kind);
    }
    if ["OpenStack Compute", "OpenStack Nova"].contains(&p) {
        dmi_hit(&mut found, "openstack", &mut kind);
    }
    if b == "Xen" {
        dmi_hit(&mut found, "xen", &mut kind);
    }
    if b == "innotek GmbH" {
        dmi_hit(&mut found, "virtualbox", &mut kind);
    }
    if ["Amazon EC2", "DigitalOcean", "Hetzner"].contains(&b) {
        dmi_hit(&mut found, "kvm", &mut kind);
    }
    if [
        "QEMU",
        "Amazon EC2",
        "DigitalOcean",
        "Google",
        "Scaleway",
        "Nutanix",
    ]
    .contains(&v)
    {
        dmi_hit(&mut found, "kvm", &mut kind);
    }
    if v == "KubeVirt" {
        dmi_hit(&mut found, "KubeVirt", &mut kind);
    }
    if v == "Microsoft Corporation" {
        dmi_hit(&mut found, "VirtualPC", &mut kind);
    }
    if v == "Parallels Software International Inc." {
        dmi_hit(&mut found, "parallels", &mut kind);
    }
    if v == "OpenStack Foundation" {
        dmi_hit(&mut found, "openstack", &mut kind);
    }
    if !found {
        role = None;
    }
    for line in read_raw(Path::new("/proc/self/status"))
        .unwrap_or_default()
        .lines()
    {
        if let Some(rest) = line.strip_prefix("VxID:") {
            let id = rest.trim();
            if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
                if !found {
                    kind = Some("linux_vserver".into());
                }
                let r = if id == "0" { "host" } else { "guest" };
                if id == "0" {
                    host.insert("linux_vserver".into());
                } else {
                    guest.insert("linux_vserver".into());
                }
                if !found {
                    role = Some(r.into());
                }
                found = true;
            }
        }
    }
    for line in read_raw(Path::new("/proc/cpuinfo"))
        .unwrap_or_default()
        .lines()
    {
        let m =
            |key: &str, needle: &str| line.starts_with(key) && line[key.len()..].contains(needle);
        let tech = if m("model name", "QEMU Virtual CPU") {
            "kvm"
        } else if m("vendor_id", "User Mode Linux") || m("model name", "UML") {
            "uml"
        } else if m("machine", "CHRP IBM pSeries (emulated by qemu)") {
            "kvm"
        } else if m("vendor_id", "PowerVM Lx86") {
            "powervm_lx86"
        } else if m("vendor_id", "IBM/S390") {
            "ibm_systemz"
        } else {
            continue;
        };
        guest.insert(tech.into());
        if !found {
            kind = Some(tech.into());
            role = Some("guest".into());
            found = true;
        }
    }
    if let Some(mods) = read_raw(Path::new("/proc/modules")) {
        let names: BTreeSet<&str> = mods.lines().filter_map(|l| l.split(' ').next()).collect();
        if names.contains("kvm") {
            host.insert("kvm".into());
            set(&mut found, "kvm", "host", &mut kind, &mut role);
            found = true;
        }
        if names.contains("vboxdrv") {
            host.insert("virtualbox".into());
            set(&mut found, "virtualbox", "host", &mut kind, &mut role);
        }
        if names.contains("virtio") {
            host.insert("kvm".into());
            set(&mut found, "kvm", "guest", &mut kind, &mut role);
        }
    }
    if exists("/dev/kvm") {
        host.insert("kvm".into());
        set(&mut found, "kvm", "host", &mut kind, &mut role);
    }
    if !found {
        kind = Some("NA".into());
        role = Some("NA".into());
    }
    if let Some(k) = kind {
        f.insert("virtualization_type".into(), Value::from(k));
    }
    if let Some(r) = role {
        f.insert("virtualization_role".into(), Value::from(r));
    }
    f.insert(
        "virtualization_tech_guest".into(),
        Value::from(guest.into_iter().collect::<Vec<_>>()),
    );
    f.insert(
        "virtualization_tech_host".into(),
        Value::from(host.into_iter().collect::<Vec<_>>()),
    );
}

/// `python_of`, remembered for the life of the process per interpreter
/// (keyed by its resolved path, size and modification time).
pub fn python_cached(interpreter: &str) -> Option<(Value, Value)> {
    use std::sync::{Mutex, OnceLock};
    type Key = (String, std::path::PathBuf, u64, i64);
    type Entry = (Key, (Value, Value));
    static CACHE: OnceLock<Mutex<Vec<Entry>>> = OnceLock::new();
    let resolved = super::bin_path_or_self(interpreter);
    let meta = std::fs::metadata(&resolved).ok()?;
    let key: Key = (
        interpreter.to_owned(),
        std::fs::canonicalize(&resolved).unwrap_or(resolved),
        meta.size(),
        meta.mtime(),
    );
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Some(hit) = cache
        .lock()
        .ok()
        .and_then(|c| c.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
    {
        return Some(hit);
    }
    let v = python_of(interpreter)?;
    if let Ok(mut c) = cache.lock() {
        c.push((key, v.clone()));
    }
    Some(v)
}

/// `python` and `python_version` of an interpreter, from running it once
/// (the facts describe the interpreter Ansible would run modules with).
pub fn python_of(interpreter: &str) -> Option<(Value, Value)> {
    let out = std::process::Command::new(interpreter)
        .args([
            "-c",
            "import sys,json,platform;v=sys.version_info\ntry:\n import ssl;s=hasattr(ssl,'SSLContext')\nexcept ImportError:\n s=False\nprint(json.dumps({'executable':sys.executable,'has_sslcontext':s,'type':sys.implementation.name,'version':{'major':v.major,'minor':v.minor,'micro':v.micro,'releaselevel':v.releaselevel,'serial':v.serial},'version_info':list(v),'python_version':platform.python_version()}))",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let mut v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let pv = v.as_object_mut()?.remove("python_version")?;
    Some((v, pv))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

    #[test]
    fn debian_distribution() {
        let d = distribution_from(DEBIAN, Some("12.11\n"));
        assert_eq!(d["distribution"], json!("Debian"));
        assert_eq!(d["distribution_version"], json!("12.11"));
        assert_eq!(d["distribution_major_version"], json!("12"));
        assert_eq!(d["distribution_minor_version"], json!("11"));
        assert_eq!(d["distribution_release"], json!("bookworm"));
        assert_eq!(d["os_family"], json!("Debian"));
        assert_eq!(d["distribution_file_variety"], json!("Debian"));
    }

    #[test]
    fn ubuntu_and_fedora() {
        let u = distribution_from(
            "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n",
            None,
        );
        assert_eq!(u["distribution"], json!("Ubuntu"));
        assert_eq!(u["distribution_version"], json!("22.04"));
        assert_eq!(u["os_family"], json!("Debian"));
        let f = distribution_from("NAME=\"Fedora Linux\"\nVERSION_ID=40\nID=fedora\n", None);
        assert_eq!(f["distribution"], json!("Fedora"));
        assert_eq!(f["os_family"], json!("RedHat"));
        assert_eq!(f["distribution_release"], json!("NA"));
    }

    #[test]
    fn families() {
        assert_eq!(os_family("Rocky"), "RedHat");
        assert_eq!(os_family("Something"), "Something");
    }
}
