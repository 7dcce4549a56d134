//! Pure parsers of the kernel and system files the facts come from, each a
//! port of the matching part of Ansible's fact collectors (unit-tested on
//! fixed texts).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// `KEY=value` lines of an os-release file, quotes removed.
pub fn os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

/// The memory facts (`memtotal_mb`, ..., `memory_mb`) from `/proc/meminfo`,
/// as `LinuxHardware.get_memory_facts`.
pub fn memory(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut stats: BTreeMap<&str, u64> = BTreeMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(kb) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        else {
            continue;
        };
        let mb = kb / 1024;
        if matches!(key, "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree") {
            out.insert(format!("{}_mb", key.to_lowercase()), Value::from(mb));
        }
        if matches!(
            key,
            "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree" | "Buffers" | "Cached" | "SwapCached"
        ) {
            stats.insert(key, mb);
        }
    }
    let get = |k: &str| stats.get(k).copied();
    let sub = |a: Option<u64>, b: Option<u64>| Some(a?.wrapping_sub(b?) as i64);
    let nocache_free = match (get("Cached"), get("MemFree"), get("Buffers")) {
        (Some(c), Some(f), Some(b)) => Some(c + f + b),
        _ => None,
    };
    out.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": get("MemTotal"), "used": sub(get("MemTotal"), get("MemFree")), "free": get("MemFree")},
            "nocache": {"free": nocache_free, "used": sub(get("MemTotal"), nocache_free)},
            "swap": {"total": get("SwapTotal"), "free": get("SwapFree"), "used": sub(get("SwapTotal"), get("SwapFree")), "cached": get("SwapCached")},
        }),
    );
    out
}

/// The processor facts from `/proc/cpuinfo`, as
/// `LinuxHardware.get_cpu_facts` (x86 and the generic path; `arch` is the
/// machine, which changes how ARM and POWER count).
pub fn cpu(text: &str, arch: &str, xen: bool) -> Map<String, Value> {
    let mut f = Map::new();
    let mut processor: Vec<Value> = Vec::new();
    let (mut i, mut vendor_occ, mut model_occ, mut proc_occ) = (0usize, 0usize, 0usize, 0usize);
    // Python dicts keep insertion order: a Vec of pairs does too.
    let mut sockets: Vec<(String, i64)> = Vec::new();
    let mut cores: Vec<(String, i64)> = Vec::new();
    let (mut physid, mut coreid) = (String::from("0"), String::from("0"));
    let mut xen_paravirt = false;
    fn set(v: &mut Vec<(String, i64)>, k: &str, n: i64) {
        match v.iter_mut().find(|(x, _)| x == k) {
            Some(e) => e.1 = n,
            None => v.push((k.to_owned(), n)),
        }
    }
    for line in text.lines() {
        let (key, val) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line.trim(), ""),
        };
        if xen && key == "flags" && !val.contains("vme") {
            xen_paravirt = true;
        }
        if key == "flags" {
            f.insert(
                "flags".into(),
                Value::from(val.split_whitespace().collect::<Vec<_>>()),
            );
        }
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(Value::from(val));
                match key {
                    "vendor_id" => vendor_occ += 1,
                    "model name" => model_occ += 1,
                    "processor" => proc_occ += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = val.to_owned();
                if !sockets.iter().any(|(k, _)| *k == physid) {
                    sockets.push((physid.clone(), 1));
                }
            }
            "core id" => {
                coreid = val.to_owned();
                if !sockets.iter().any(|(k, _)| *k == coreid) {
                    set(&mut cores, &coreid, 1);
                }
            }
            "cpu cores" => set(&mut sockets, &physid, val.parse().unwrap_or(0)),
            "siblings" => set(&mut cores, &coreid, val.parse().unwrap_or(0)),
            "ncpus active" => i = val.parse().unwrap_or(i),
            _ => {}
        }
    }
    if vendor_occ > 0 && vendor_occ == model_occ {
        i = vendor_occ;
    }
    if ["armv", "aarch", "ppc"].iter().any(|p| arch.starts_with(p)) {
        i = proc_occ;
    }
    f.insert("processor".into(), Value::Array(processor));
    if xen_paravirt {
        for k in [
            "processor_count",
            "processor_cores",
            "processor_vcpus",
            "processor_nproc",
        ] {
            f.insert(k.into(), Value::from(i));
        }
        f.insert("processor_threads_per_core".into(), Value::from(1));
        return f;
    }
    let count = if sockets.is_empty() {
        i as i64
    } else {
        sockets.len() as i64
    };
    let cores_n = match sockets.first() {
        Some((_, n)) if *n != 0 => *n,
        _ => 1,
    };
    // Python's round(): half to even.
    let round = |x: f64| {
        let r = x.round();
        if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
            r - x.signum()
        } else {
            r
        }
    };
    let threads = match cores.first() {
        Some((_, n)) => round(*n as f64 / cores_n as f64) as i64,
        None => round(1.0 / cores_n as f64) as i64,
    };
    f.insert("processor_count".into(), Value::from(count));
    f.insert("processor_cores".into(), Value::from(cores_n));
    f.insert("processor_threads_per_core".into(), Value::from(threads));
    f.insert(
        "processor_vcpus".into(),
        Value::from(threads * count * cores_n),
    );
    f.insert("processor_nproc".into(), Value::from(proc_occ));
    f
}

/// The `cmdline` fact: `key=value` words, later values replacing earlier.
pub fn cmdline(data: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for piece in shlex::split(data).unwrap_or_default() {
        match piece.split_once('=') {
            Some((k, v)) => out.insert(k.to_owned(), Value::from(v)),
            None => out.insert(piece, Value::Bool(true)),
        };
    }
    out
}

/// The `proc_cmdline` fact: as `cmdline`, but a repeated key collects its
/// values in a list.
pub fn proc_cmdline(data: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for piece in shlex::split(data).unwrap_or_default() {
        let Some((k, v)) = piece.split_once('=') else {
            out.insert(piece, Value::Bool(true));
            continue;
        };
        let v = Value::from(v);
        match out.get_mut(k) {
            Some(Value::Array(list)) => list.push(v),
            Some(old) => {
                let prev = old.take();
                *old = Value::Array(vec![prev, v]);
            }
            None => {
                out.insert(k.to_owned(), v);
            }
        }
    }
    out
}

/// The `dns` fact from `/etc/resolv.conf`.
pub fn resolv_conf(text: &str) -> Map<String, Value> {
    let mut dns = Map::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let rest = || Value::from(tokens[1..].to_vec());
        match tokens[0] {
            "nameserver" => {
                let list = dns
                    .entry("nameservers")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(l) = list {
                    l.extend(tokens[1..].iter().map(|t| Value::from(*t)));
                }
            }
            "domain" if tokens.len() > 1 => {
                dns.insert("domain".into(), Value::from(tokens[1]));
            }
            "search" => {
                dns.insert("search".into(), rest());
            }
            "sortlist" => {
                dns.insert("sortlist".into(), rest());
            }
            "options" => {
                let mut opts = Map::new();
                for o in &tokens[1..] {
                    match o.split_once(':') {
                        Some((k, v)) => opts.insert(k.to_owned(), Value::from(v)),
                        None => opts.insert((*o).to_owned(), Value::Bool(true)),
                    };
                }
                dns.insert("options".into(), Value::Object(opts));
            }
            _ => {}
        }
    }
    dns
}

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub dir: String,
    pub shell: String,
}

/// The entries of an `/etc/passwd` text.
pub fn passwd(text: &str) -> Vec<Passwd> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                gecos: f[4].to_owned(),
                dir: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

/// `socket.getfqdn()` resolved through a hosts file: the canonical name
/// and aliases of the first address `name` has, the first with a dot.
/// `multi` merges the names of every line with that address (glibc's
/// `multi on` in `/etc/host.conf`). `None` when the name is not there.
pub fn fqdn_from_hosts(hosts: &str, name: &str, multi: bool) -> Option<String> {
    let entries: Vec<(String, Vec<String>)> = hosts
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let addr = w.next()?.to_owned();
            let names: Vec<String> = w.map(str::to_owned).collect();
            (!names.is_empty()).then_some((addr, names))
        })
        .collect();
    let addr = entries
        .iter()
        .find(|(_, n)| n.iter().any(|x| x == name))
        .map(|(a, _)| a.clone())?;
    let mut names: Vec<String> = Vec::new();
    for (a, n) in &entries {
        if *a == addr {
            names.extend(n.iter().cloned());
            if !multi {
                break;
            }
        }
    }
    let canonical = names.first()?.clone();
    Some(
        names
            .into_iter()
            .find(|n| n.contains('.'))
            .unwrap_or(canonical),
    )
}

/// Python's `str.capitalize()` (ASCII is enough for distribution ids).
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Ansible's `bytes_to_human` (`'%.2f %s'` with the largest fitting unit).
pub fn bytes_to_human(size: f64) -> String {
    const UNITS: [(&str, f64); 9] = [
        ("Y", 1_208_925_819_614_629_174_706_176.0),
        ("Z", 1_180_591_620_717_411_303_424.0),
        ("E", 1_152_921_504_606_846_976.0),
        ("P", 1_125_899_906_842_624.0),
        ("T", 1_099_511_627_776.0),
        ("G", 1_073_741_824.0),
        ("M", 1_048_576.0),
        ("K", 1024.0),
        ("B", 1.0),
    ];
    let (mut suffix, mut limit) = ("B", 1.0);
    for (s, l) in UNITS {
        suffix = s;
        limit = l;
        if size >= l {
            break;
        }
    }
    if limit == 1.0 {
        format!("{:.2} Bytes", size / limit)
    } else {
        format!("{:.2} {suffix}B", size / limit)
    }
}

/// `\NNN` octal escapes of `/proc/mounts` fields replaced.
pub fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            if let Ok(n) = u32::from_str_radix(&s[i + 1..i + 4], 8) {
                if let Some(c) = char::from_u32(n) {
                    out.push(c);
                    i += 4;
                    continue;
                }
            }
        }
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// A mount table line's fields that become a mount fact (device, mount
/// point, type, options, dump, passno), or `None` when Ansible skips it.
pub fn mtab_entry(line: &str) -> Option<[String; 6]> {
    let f: Vec<String> = line.split_whitespace().map(unescape_octal).collect();
    if f.len() < 6 {
        return None;
    }
    let device = &f[0];
    if (!device.starts_with(['/', '\\']) && !device.contains(":/")) || f[2] == "none" {
        return None;
    }
    Some([
        f[0].clone(),
        f[1].clone(),
        f[2].clone(),
        f[3].clone(),
        f[4].clone(),
        f[5].clone(),
    ])
}

/// The value between brackets of a `queue/scheduler` file.
pub fn scheduler_mode(text: &str) -> String {
    match (text.find('['), text.rfind(']')) {
        (Some(a), Some(b)) if a < b => text[a + 1..b].to_owned(),
        _ => String::new(),
    }
}

/// The POSIX TZ rule at the end of a TZif (version 2+) file.
pub fn tzif_footer(data: &[u8]) -> Option<String> {
    if !data.starts_with(b"TZif") {
        return None;
    }
    let text = data.strip_suffix(b"\n")?;
    let start = text.iter().rposition(|b| *b == b'\n')? + 1;
    let rule = std::str::from_utf8(&text[start..]).ok()?;
    (!rule.is_empty()).then(|| rule.to_owned())
}

/// A POSIX TZ rule's standard name, its offset east of UTC in seconds,
/// and its daylight-saving name (what C's `tzname` holds).
pub fn posix_tz(rule: &str) -> (String, i64, Option<String>) {
    fn name(s: &str) -> (String, &str) {
        if let Some(rest) = s.strip_prefix('<') {
            let end = rest.find('>').unwrap_or(rest.len());
            (rest[..end].to_owned(), rest.get(end + 1..).unwrap_or(""))
        } else {
            let end = s
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(s.len());
            (s[..end].to_owned(), &s[end..])
        }
    }
    let (std_name, rest) = name(rule);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '+' | '-' | ':')))
        .unwrap_or(rest.len());
    let (off, rest) = rest.split_at(end);
    let (sign, digits) = match off.strip_prefix('-') {
        Some(d) => (1, d),
        None => (-1, off.strip_prefix('+').unwrap_or(off)),
    };
    let mut parts = digits.split(':').map(|p| p.parse::<i64>().unwrap_or(0));
    let secs = parts.next().unwrap_or(0) * 3600
        + parts.next().unwrap_or(0) * 60
        + parts.next().unwrap_or(0);
    let (dst, _) = name(rest);
    let std_name = if std_name.is_empty() {
        "UTC".to_owned()
    } else {
        std_name
    };
    (std_name, sign * secs, (!dst.is_empty()).then_some(dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\nflags\t\t: fpu vme\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\nflags\t\t: fpu vme\n";

    #[test]
    fn cpuinfo_x86() {
        let f = cpu(CPUINFO, "x86_64", false);
        assert_eq!(
            f["processor"],
            json!([
                "0",
                "AuthenticAMD",
                "AMD EPYC",
                "1",
                "AuthenticAMD",
                "AMD EPYC"
            ])
        );
        assert_eq!(f["processor_count"], json!(1));
        assert_eq!(f["processor_cores"], json!(2));
        assert_eq!(f["processor_threads_per_core"], json!(1));
        assert_eq!(f["processor_vcpus"], json!(2));
        assert_eq!(f["processor_nproc"], json!(2));
        assert_eq!(f["flags"], json!(["fpu", "vme"]));
    }

    #[test]
    fn cpuinfo_arm_counts_processors() {
        let text = "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n";
        let f = cpu(text, "aarch64", false);
        assert_eq!(f["processor"], json!(["0", "1"]));
        assert_eq!(f["processor_count"], json!(2));
        assert_eq!(f["processor_cores"], json!(1));
        assert_eq!(f["processor_vcpus"], json!(2));
    }

    #[test]
    fn meminfo_shapes() {
        let text = "MemTotal:       24683520 kB\nMemFree:        19185664 kB\nMemAvailable:   23704576 kB\nBuffers:            1024 kB\nCached:          4000000 kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
        let m = memory(text);
        assert_eq!(m["memtotal_mb"], json!(24105));
        assert_eq!(m["memfree_mb"], json!(18736));
        assert_eq!(m["swaptotal_mb"], json!(0));
        assert_eq!(m["memory_mb"]["real"]["used"], json!(24105 - 18736));
        assert_eq!(m["memory_mb"]["nocache"]["free"], json!(3906 + 18736 + 1));
        assert_eq!(m["memory_mb"]["swap"]["cached"], json!(0));
    }

    #[test]
    fn os_release_quotes_and_comments() {
        let r = os_release("# c\nNAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n");
        assert_eq!(r["NAME"], "Debian GNU/Linux");
        assert_eq!(r["VERSION_ID"], "12");
        assert_eq!(r["ID"], "debian");
        assert!(!r.contains_key("# c"));
    }

    #[test]
    fn cmdline_forms() {
        let c = cmdline("console=ttyS0 quiet a=1 a=2");
        assert_eq!(c["console"], json!("ttyS0"));
        assert_eq!(c["quiet"], json!(true));
        assert_eq!(c["a"], json!("2"));
        let p = proc_cmdline("a=1 a=2 a=3 b");
        assert_eq!(p["a"], json!(["1", "2", "3"]));
        assert_eq!(p["b"], json!(true));
    }

    #[test]
    fn resolv_conf_fields() {
        let d = resolv_conf(
            "# x\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch a.b c.d\noptions ndots:2 rotate\n",
        );
        assert_eq!(d["nameservers"], json!(["10.0.0.1", "10.0.0.2"]));
        assert_eq!(d["search"], json!(["a.b", "c.d"]));
        assert_eq!(d["options"], json!({"ndots": "2", "rotate": true}));
    }

    #[test]
    fn fqdn_through_hosts() {
        let hosts = "127.0.0.1 localhost\n127.0.1.1 box.example.org box\n127.0.0.1 vm\n";
        assert_eq!(
            fqdn_from_hosts(hosts, "box", true).as_deref(),
            Some("box.example.org")
        );
        assert_eq!(
            fqdn_from_hosts(hosts, "vm", true).as_deref(),
            Some("localhost")
        );
        assert_eq!(fqdn_from_hosts(hosts, "other", true), None);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0.0), "0.00 Bytes");
        assert_eq!(bytes_to_human(274_877_906_944.0), "256.00 GB");
        assert_eq!(bytes_to_human(1536.0), "1.50 KB");
    }

    #[test]
    fn mtab_lines() {
        assert_eq!(
            mtab_entry("/dev/vda / ext4 rw,relatime 0 0").map(|e| e[1].clone()),
            Some("/".to_owned())
        );
        assert_eq!(mtab_entry("proc /proc proc rw 0 0"), None);
        assert_eq!(
            mtab_entry("/dev/sdb1 /mnt/a\\040b ext4 rw 0 2").map(|e| e[1].clone()),
            Some("/mnt/a b".to_owned())
        );
    }

    #[test]
    fn tz_rules() {
        assert_eq!(posix_tz("UTC0"), ("UTC".to_owned(), 0, None));
        assert_eq!(
            posix_tz("CET-1CEST,M3.5.0,M10.5.0/3"),
            ("CET".to_owned(), 3600, Some("CEST".to_owned()))
        );
        assert_eq!(posix_tz("<+03>-3"), ("+03".to_owned(), 10800, None));
        assert_eq!(
            tzif_footer(b"TZif2....\nEST5EDT,M3.2.0,M11.1.0\n").as_deref(),
            Some("EST5EDT,M3.2.0,M11.1.0")
        );
        assert_eq!(tzif_footer(b"nope"), None);
    }

    #[test]
    fn scheduler() {
        assert_eq!(scheduler_mode("[mq-deadline] none"), "mq-deadline");
        assert_eq!(scheduler_mode("none"), "");
    }

    #[test]
    fn passwd_entries() {
        let p = passwd("root:x:0:0:root:/root:/bin/bash\nbad\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].gecos, "root");
    }
}
