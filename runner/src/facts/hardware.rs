//! Hardware facts, as Ansible's `LinuxHardware`: processors, memory, DMI,
//! block devices, uptime and mounts.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{parse, read_raw, read_trim};

const FORM_FACTOR: [&str; 36] = [
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
];

const DMI: [(&str, &str); 18] = [
    ("bios_date", "bios_date"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("form_factor", "chassis_type"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
];

/// Processor facts.
pub fn cpu(f: &mut Map<String, Value>, machine: &str) {
    let xen = Path::new("/proc/xen").exists()
        || read_trim(Path::new("/sys/hypervisor/type")).as_deref() == Some("xen");
    let Some(text) = read_raw(Path::new("/proc/cpuinfo")) else {
        return;
    };
    let mut c = parse::cpu(&text, machine, xen);
    if let Ok(set) = rustix::thread::sched_getaffinity(None) {
        c.insert("processor_nproc".into(), Value::from(set.count()));
    }
    f.extend(c);
}

/// Memory facts.
pub fn memory(f: &mut Map<String, Value>) {
    if let Some(text) = read_raw(Path::new("/proc/meminfo")) {
        f.extend(parse::memory(&text));
    }
}

/// DMI facts from `/sys/devices/virtual/dmi/id` (`NA` when absent, as
/// Ansible without `dmidecode`).
pub fn dmi(f: &mut Map<String, Value>) {
    let base = Path::new("/sys/devices/virtual/dmi/id");
    let sysfs = base.join("product_name").exists();
    for (key, file) in DMI {
        let v = if sysfs {
            match read_trim(&base.join(file)) {
                Some(d) if key == "form_factor" => match d.parse::<usize>() {
                    Ok(n) => FORM_FACTOR
                        .get(n)
                        .map_or_else(|| format!("unknown ({d})"), |s| (*s).to_owned()),
                    Err(_) => format!("unknown ({d})"),
                },
                Some(d) => d,
                None => "NA".into(),
            }
        } else {
            "NA".into()
        };
        f.insert(key.into(), Value::from(v));
    }
}

/// Uptime.
pub fn uptime(f: &mut Map<String, Value>) {
    if let Some(secs) = read_trim(Path::new("/proc/uptime"))
        .and_then(|u| u.split(' ').next().and_then(|x| x.parse::<f64>().ok()))
    {
        f.insert("uptime_seconds".into(), Value::from(secs as i64));
    }
}

/// `lvm`: `N/A` unless LVM's tools are there (their reports are not read).
pub fn lvm(f: &mut Map<String, Value>) -> bool {
    if super::bin_path("vgs").is_some() {
        return false;
    }
    f.insert("lvm".into(), Value::from("N/A"));
    true
}

fn names_in(dir: &str) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn link_map(dir: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in names_in(dir) {
        if let Ok(t) = fs::read_link(Path::new(dir).join(&entry)) {
            if let Some(b) = t.file_name() {
                m.entry(b.to_string_lossy().into_owned())
                    .or_default()
                    .insert(entry);
            }
        }
    }
    m.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

fn owners() -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for dev in names_in("/sys/block") {
        for slave in names_in(&format!("/sys/block/{dev}/slaves")) {
            m.entry(slave).or_default().insert(dev.clone());
        }
    }
    m.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

fn holders(sysdir: &Path) -> Value {
    let mut out = Vec::new();
    for folder in names_in(&sysdir.join("holders").to_string_lossy()) {
        if !folder.starts_with("dm-") {
            continue;
        }
        let name = read_trim(&sysdir.join("holders").join(&folder).join("dm/name"));
        out.push(Value::from(
            name.filter(|n| !n.is_empty()).unwrap_or(folder),
        ));
    }
    Value::Array(out)
}

fn opt(p: &Path) -> Value {
    read_trim(p).map_or(Value::Null, Value::from)
}

fn sector_size(dir: &Path) -> String {
    read_trim(&dir.join("queue/logical_block_size"))
        .filter(|s| !s.is_empty())
        .or_else(|| read_trim(&dir.join("queue/hw_sector_size")))
        .unwrap_or_else(|| "512".into())
}

/// `devices` and `device_links`.
pub fn devices(f: &mut Map<String, Value>) {
    let Ok(rd) = fs::read_dir("/sys/block") else {
        return;
    };
    let blocks: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut wwn: BTreeMap<String, String> = BTreeMap::new();
    for link in names_in("/dev/disk/by-id") {
        if let Some(id) = link.strip_prefix("wwn-") {
            if let Ok(t) = fs::read_link(Path::new("/dev/disk/by-id").join(&link)) {
                if let Some(b) = t.file_name() {
                    wwn.insert(b.to_string_lossy().into_owned(), id.to_owned());
                }
            }
        }
    }
    let links: [(&str, BTreeMap<String, Vec<String>>); 4] = [
        ("ids", link_map("/dev/disk/by-id")),
        ("uuids", link_map("/dev/disk/by-uuid")),
        ("labels", link_map("/dev/disk/by-label")),
        ("masters", owners()),
    ];
    let links_of = |name: &str| {
        let mut m = Map::new();
        for (k, v) in &links {
            m.insert((*k).into(), json!(v.get(name).cloned().unwrap_or_default()));
        }
        Value::Object(m)
    };
    f.insert(
        "device_links".into(),
        Value::Object(links.iter().map(|(k, v)| ((*k).into(), json!(v))).collect()),
    );
    let uuids = link_map("/dev/disk/by-uuid");
    let mut devs = Map::new();
    for block in blocks {
        let (sysdir, virtual_) = match fs::read_link(Path::new("/sys/block").join(&block)) {
            Ok(p) => (Path::new("/sys/block").join(p), 1),
            Err(e) if e.raw_os_error() == Some(22) => {
                let dir = Path::new("/sys/block").join(&block);
                let v = if names_in(&dir.to_string_lossy())
                    .iter()
                    .any(|n| n.contains("device"))
                {
                    0
                } else {
                    1
                };
                (dir, v)
            }
            Err(_) => continue,
        };
        let diskname = sysdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| block.clone());
        let mut d = Map::new();
        d.insert("virtual".into(), Value::from(virtual_));
        d.insert("links".into(), links_of(&block));
        for key in ["vendor", "model", "sas_address", "sas_device_handle"] {
            d.insert(key.into(), opt(&sysdir.join("device").join(key)));
        }
        if let Some(serial) = read_trim(&Path::new("/sys/block").join(&block).join("device/serial"))
            .filter(|s| !s.is_empty())
        {
            d.insert("serial".into(), Value::from(serial));
        }
        d.insert("removable".into(), opt(&sysdir.join("removable")));
        d.insert(
            "support_discard".into(),
            if read_trim(&sysdir.join("queue/discard_max_hw_bytes")).as_deref() == Some("0") {
                Value::from("0")
            } else {
                opt(&sysdir.join("queue/discard_granularity"))
            },
        );
        if let Some(w) = wwn.get(&diskname) {
            d.insert("wwn".into(), Value::from(w.clone()));
        }
        let mut parts = Map::new();
        for folder in names_in(&sysdir.to_string_lossy()) {
            let Some(rest) = folder.strip_prefix(&diskname) else {
                continue;
            };
            let digits = rest.strip_prefix('p').unwrap_or(rest);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let pdir = sysdir.join(&folder);
            let ss = sector_size(&pdir);
            let ssn: u64 = ss.parse().unwrap_or(512).max(1);
            let sectors = read_trim(&pdir.join("size"))
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
                * 512
                / ssn;
            let mut part = Map::new();
            part.insert("links".into(), links_of(&folder));
            part.insert(
                "start".into(),
                read_trim(&pdir.join("start")).map_or(Value::from(0), Value::from),
            );
            part.insert("sectorsize".into(), Value::from(ss.clone()));
            part.insert("sectors".into(), Value::from(sectors));
            part.insert(
                "size".into(),
                Value::from(parse::bytes_to_human(sectors as f64 * ssn as f64)),
            );
            let uuid = uuids.get(&folder).and_then(|v| v.first().cloned());
            part.insert("uuid".into(), uuid.map_or(Value::Null, Value::from));
            part.insert("holders".into(), holders(&pdir));
            parts.insert(folder, Value::Object(part));
        }
        d.insert("partitions".into(), Value::Object(parts));
        d.insert("rotational".into(), opt(&sysdir.join("queue/rotational")));
        d.insert(
            "scheduler_mode".into(),
            Value::from(
                read_trim(&sysdir.join("queue/scheduler"))
                    .map(|s| parse::scheduler_mode(&s))
                    .unwrap_or_default(),
            ),
        );
        let ss = sector_size(&sysdir);
        let ssn: u64 = ss.parse().unwrap_or(512).max(1);
        let sectors = read_trim(&sysdir.join("size"))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            * 512
            / ssn;
        d.insert("sectorsize".into(), Value::from(ss));
        d.insert("sectors".into(), Value::from(sectors));
        d.insert(
            "size".into(),
            Value::from(parse::bytes_to_human(sectors as f64 * ssn as f64)),
        );
        d.insert("host".into(), Value::from(""));
        d.insert("holders".into(), holders(&sysdir));
        devs.insert(diskname, Value::Object(d));
    }
    f.insert("devices".into(), Value::Object(devs));
}

/// Mount points of bind mounts (a file system root other than `/` in
/// `/proc/self/mountinfo`, what `findmnt` shows as `[/dir]`).
fn bind_mounts() -> BTreeSet<String> {
    if super::bin_path("findmnt").is_none() {
        return BTreeSet::new();
    }
    read_raw(Path::new("/proc/self/mountinfo"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() > 4 && w[3] != "/").then(|| parse::unescape_octal(w[4]))
        })
        .collect()
}

fn statvfs_facts(mount: &str) -> Option<Map<String, Value>> {
    let s = rustix::fs::statvfs(mount).ok()?;
    let mut m = Map::new();
    m.insert("size_total".into(), Value::from(s.f_frsize * s.f_blocks));
    m.insert(
        "size_available".into(),
        Value::from(s.f_frsize * s.f_bavail),
    );
    m.insert("block_size".into(), Value::from(s.f_bsize));
    m.insert("block_total".into(), Value::from(s.f_blocks));
    m.insert("block_available".into(), Value::from(s.f_bavail));
    m.insert(
        "block_used".into(),
        Value::from(s.f_blocks.saturating_sub(s.f_bavail)),
    );
    m.insert("inode_total".into(), Value::from(s.f_files));
    m.insert("inode_available".into(), Value::from(s.f_favail));
    m.insert(
        "inode_used".into(),
        Value::from(s.f_files.saturating_sub(s.f_favail)),
    );
    Some(m)
}

/// `mounts`: the mount table's block and network file systems with their
/// sizes (each `statvfs` bounded by the gather timeout) and UUIDs.
pub fn mounts(f: &mut Map<String, Value>, timeout: Duration, warnings: &mut Vec<String>) {
    let table = if Path::new("/etc/mtab").exists() {
        read_raw(Path::new("/etc/mtab"))
    } else {
        read_raw(Path::new("/proc/mounts"))
    }
    .unwrap_or_default();
    let binds = bind_mounts();
    let uuids: BTreeMap<String, String> = link_map("/dev/disk/by-uuid")
        .into_iter()
        .filter_map(|(dev, ids)| Some((format!("/dev/{dev}"), ids.first()?.clone())))
        .collect();
    let mut infos: Vec<Map<String, Value>> = Vec::new();
    let (tx, rx) = mpsc::channel::<(usize, Option<Map<String, Value>>)>();
    for line in table.lines() {
        let Some([device, mount, fstype, mut options, dump, passno]) = parse::mtab_entry(line)
        else {
            continue;
        };
        if binds.contains(&mount) && !(options.contains("bind") && options.contains('"')) {
            options.push_str(",bind");
        }
        let mut m = Map::new();
        m.insert("mount".into(), Value::from(mount.clone()));
        m.insert("device".into(), Value::from(device.clone()));
        m.insert("fstype".into(), Value::from(fstype));
        m.insert("options".into(), Value::from(options));
        m.insert("dump".into(), Value::from(dump.parse::<i64>().unwrap_or(0)));
        m.insert(
            "passno".into(),
            Value::from(passno.parse::<i64>().unwrap_or(0)),
        );
        let idx = infos.len();
        infos.push(m);
        let tx = tx.clone();
        // A hung network mount must not hang the gathering: each statvfs
        // runs on its own thread, abandoned after the timeout.
        std::thread::spawn(move || {
            let _ = tx.send((idx, statvfs_facts(&mount)));
        });
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    let mut done = vec![false; infos.len()];
    while done.iter().any(|d| !d) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((idx, size)) => {
                done[idx] = true;
                let m = &mut infos[idx];
                if let Some(size) = size {
                    m.extend(size);
                }
                let dev = m["device"].as_str().unwrap_or("").to_owned();
                m.insert(
                    "uuid".into(),
                    Value::from(uuids.get(&dev).cloned().unwrap_or_else(|| "N/A".into())),
                );
            }
            Err(_) => break,
        }
    }
    for (m, d) in infos.iter_mut().zip(&done) {
        if !d {
            let mount = m["mount"].as_str().unwrap_or("").to_owned();
            warnings.push(format!(
                "Timeout exceeded when getting mount info for {mount}"
            ));
            m.insert(
                "note".into(),
                Value::from("Could not get extra information due to timeout"),
            );
        }
    }
    f.insert(
        "mounts".into(),
        Value::Array(infos.into_iter().map(Value::Object).collect()),
    );
}
