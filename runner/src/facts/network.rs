//! Network facts, as Ansible's `LinuxNetwork`: interfaces from
//! `/sys/class/net`, their addresses, the default routes and the local
//! table, read through rtnetlink instead of running `ip`.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::netlink::{self, Addr, Route};
use super::read_trim;

const INTERFACE_TYPE: [(&str, &str); 5] = [
    ("1", "ether"),
    ("32", "infiniband"),
    ("512", "ppp"),
    ("772", "loopback"),
    ("65534", "tunnel"),
];

/// `ip`'s name of an address scope.
fn scope_name(scope: u8) -> String {
    match scope {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

fn mask(prefix: u32) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix.min(32))
    }
}

/// The IPv4 dictionary of one address (`address`, `broadcast`, `netmask`,
/// `network`, `prefix`), as Ansible derives it from `ip addr` output.
pub fn ipv4_entry(a: &Addr) -> Option<(String, Map<String, Value>)> {
    let local = a.local.or(a.address)?;
    let IpAddr::V4(l4) = local else { return None };
    let peer = matches!((a.local, a.address), (Some(l), Some(p)) if l != p);
    let prefix: u32 = if peer { 32 } else { u32::from(a.prefix) };
    let broadcast = match (peer, a.broadcast) {
        (false, Some(b)) => b.to_string(),
        _ => String::new(),
    };
    let m = mask(prefix);
    let net = u32::from(l4) & m;
    let mut d = Map::new();
    d.insert("address".into(), Value::from(l4.to_string()));
    d.insert("broadcast".into(), Value::from(broadcast));
    d.insert(
        "netmask".into(),
        Value::from(std::net::Ipv4Addr::from(m).to_string()),
    );
    d.insert(
        "network".into(),
        Value::from(std::net::Ipv4Addr::from(net).to_string()),
    );
    d.insert("prefix".into(), Value::from(prefix.to_string()));
    Some((l4.to_string(), d))
}

/// The IPv6 entry of one address (`address`, `prefix`, `scope`).
pub fn ipv6_entry(a: &Addr) -> Option<Map<String, Value>> {
    let local = a.local.or(a.address)?;
    let mut d = Map::new();
    d.insert("address".into(), Value::from(local.to_string()));
    d.insert("prefix".into(), Value::from(a.prefix.to_string()));
    d.insert("scope".into(), Value::from(scope_name(a.scope)));
    Some(d)
}

struct Iface {
    name: String,
    facts: Map<String, Value>,
    mac_raw: String,
}

fn sys_iface(path: &Path, name: &str) -> Iface {
    let mut f = Map::new();
    f.insert("device".into(), Value::from(name));
    let p = |x: &str| path.join(x);
    let mut mac_raw = String::new();
    if p("address").exists() {
        mac_raw = read_trim(&p("address")).unwrap_or_default();
        if !mac_raw.is_empty() && mac_raw != "00:00:00:00:00:00" {
            f.insert("macaddress".into(), Value::from(mac_raw.clone()));
        }
    }
    if let Some(mtu) = read_trim(&p("mtu")).and_then(|m| m.parse::<i64>().ok()) {
        f.insert("mtu".into(), Value::from(mtu));
    }
    if p("operstate").exists() {
        f.insert(
            "active".into(),
            Value::Bool(read_trim(&p("operstate")).as_deref() != Some("down")),
        );
    }
    if p("device/driver/module").exists() {
        if let Some(m) = fs::canonicalize(p("device/driver/module"))
            .ok()
            .and_then(|r| r.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            f.insert("module".into(), Value::from(m));
        }
    }
    if let Some(t) = read_trim(&p("type")) {
        let name = INTERFACE_TYPE
            .iter()
            .find(|(k, _)| *k == t)
            .map_or("unknown", |(_, v)| v);
        f.insert("type".into(), Value::from(name));
    }
    if p("bridge").exists() {
        f.insert("type".into(), Value::from("bridge"));
        let mut members: Vec<String> = fs::read_dir(p("brif"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        members.sort();
        f.insert("interfaces".into(), Value::from(members));
        if p("bridge/bridge_id").exists() {
            f.insert(
                "id".into(),
                Value::from(read_trim(&p("bridge/bridge_id")).unwrap_or_default()),
            );
        }
        if p("bridge/stp_state").exists() {
            f.insert(
                "stp".into(),
                Value::Bool(read_trim(&p("bridge/stp_state")).as_deref() == Some("1")),
            );
        }
    }
    if p("bonding").exists() {
        let first = |x: &str| {
            read_trim(&p(x))
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned()
        };
        f.insert("type".into(), Value::from("bonding"));
        let slaves: Vec<String> = read_trim(&p("bonding/slaves"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        f.insert("slaves".into(), Value::from(slaves));
        f.insert("mode".into(), Value::from(first("bonding/mode")));
        f.insert("miimon".into(), Value::from(first("bonding/miimon")));
        f.insert("lacp_rate".into(), Value::from(first("bonding/lacp_rate")));
        if let Some(primary) = read_trim(&p("bonding/primary")).filter(|s| !s.is_empty()) {
            f.insert("primary".into(), Value::from(primary));
            if p("bonding/all_slaves_active").exists() {
                f.insert(
                    "all_slaves_active".into(),
                    Value::Bool(read_trim(&p("bonding/all_slaves_active")).as_deref() == Some("1")),
                );
            }
        }
    }
    if p("bonding_slave").exists() {
        f.insert(
            "perm_macaddress".into(),
            Value::from(read_trim(&p("bonding_slave/perm_hwaddr")).unwrap_or_default()),
        );
    }
    if p("device").exists() {
        if let Some(id) = fs::read_link(p("device"))
            .ok()
            .and_then(|l| l.file_name().map(|n| n.to_string_lossy().into_owned()))
        {
            f.insert("pciid".into(), Value::from(id));
        }
    }
    if let Some(speed) = read_trim(&p("speed")).and_then(|s| s.parse::<i64>().ok()) {
        f.insert("speed".into(), Value::from(speed));
    }
    if let Some(flags) = read_trim(&p("flags"))
        .and_then(|s| i64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
    {
        f.insert("promisc".into(), Value::Bool(flags & 0x0100 > 0));
    }
    Iface {
        name: name.to_owned(),
        facts: f,
        mac_raw,
    }
}

/// The default route's fields (`interface`, `address`, `gateway`) for
/// one probe address, as Ansible reads them from `ip route get`.
fn default_of(route: Option<Route>, probe: IpAddr, names: &[(u32, String)]) -> Map<String, Value> {
    let mut d = Map::new();
    let Some(r) = route else { return d };
    // `ip` prints the route type first unless it is unicast; Ansible then
    // finds no address in the first word and keeps nothing.
    if r.kind != 1 {
        return d;
    }
    if let Some(name) = r
        .oif
        .and_then(|i| names.iter().find(|(x, _)| *x == i).map(|(_, n)| n.clone()))
    {
        d.insert("interface".into(), Value::from(name));
    }
    if let Some(src) = r.prefsrc {
        d.insert("address".into(), Value::from(src.to_string()));
    }
    if let Some(gw) = r.gateway.filter(|g| *g != probe) {
        d.insert("gateway".into(), Value::from(gw.to_string()));
    }
    d
}

fn probe_v4() -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(8, 8, 8, 8))
}

fn probe_v6() -> IpAddr {
    IpAddr::V6(std::net::Ipv6Addr::new(
        0x2404, 0x6800, 0x400a, 0x800, 0, 0, 0, 0x1012,
    ))
}

fn push_unique(list: &mut Vec<Value>, v: String) {
    if !list.iter().any(|x| x.as_str() == Some(&v)) {
        list.push(Value::from(v));
    }
}

/// The `locally_reachable_ips` fact: the `local` routes of the local table.
fn locally_reachable() -> Value {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for six in [false, true] {
        for r in netlink::routes(six).unwrap_or_default() {
            if !r.is_local() {
                continue;
            }
            let Some(dst) = r.dst else { continue };
            let full = if dst.is_ipv4() { 32 } else { 128 };
            let text = if r.dst_len == full {
                dst.to_string()
            } else {
                format!("{dst}/{}", r.dst_len)
            };
            push_unique(if dst.is_ipv4() { &mut v4 } else { &mut v6 }, text);
        }
    }
    json!({"ipv4": v4, "ipv6": v6})
}

/// Gathers the network facts (none when there is no `ip` program,
/// as Ansible, which needs it).
pub fn collect(f: &mut Map<String, Value>) {
    if super::bin_path("ip").is_none() {
        return;
    }
    let dirs: Vec<(String, std::path::PathBuf)> = fs::read_dir("/sys/class/net")
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<(u32, String)> = dirs
        .iter()
        .filter_map(|(n, p)| {
            read_trim(&p.join("ifindex"))
                .and_then(|i| i.parse().ok())
                .map(|i| (i, n.clone()))
        })
        .collect();
    let addrs = netlink::addresses().unwrap_or_default();
    let mut default_v4 = default_of(
        netlink::route_get(probe_v4()).ok().flatten(),
        probe_v4(),
        &names,
    );
    let mut default_v6 = default_of(
        netlink::route_get(probe_v6()).ok().flatten(),
        probe_v6(),
        &names,
    );
    // Python dicts keep insertion order; so does this list.
    let mut ifaces: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut all_v4: Vec<Value> = Vec::new();
    let mut all_v6: Vec<Value> = Vec::new();
    fn slot<'a>(
        ifaces: &'a mut Vec<(String, Map<String, Value>)>,
        name: &str,
    ) -> &'a mut Map<String, Value> {
        let pos = match ifaces.iter().position(|(n, _)| n == name) {
            Some(p) => p,
            None => {
                ifaces.push((name.to_owned(), Map::new()));
                ifaces.len() - 1
            }
        };
        &mut ifaces[pos].1
    }
    for (name, path) in &dirs {
        let iface = sys_iface(path, name);
        let device = iface.name.clone();
        *slot(&mut ifaces, &device) = iface.facts;
        let index = names.iter().find(|(_, n)| n == name).map(|(i, _)| *i);
        let mine: Vec<&Addr> = addrs.iter().filter(|a| Some(a.index) == index).collect();
        let primary = mine.iter().filter(|a| !a.secondary());
        let secondary = mine.iter().filter(|a| a.secondary());
        for (is_secondary, a) in primary
            .map(|a| (false, *a))
            .chain(secondary.map(|a| (true, *a)))
        {
            let dev_mtu = slot(&mut ifaces, &device).get("mtu").cloned();
            let dev_type = slot(&mut ifaces, &device)
                .get("type")
                .cloned()
                .unwrap_or(Value::from("unknown"));
            match a.family {
                2 => {
                    let Some((address, entry)) = ipv4_entry(a) else {
                        continue;
                    };
                    let label = a.label.clone().unwrap_or_else(|| device.clone());
                    if label != device {
                        *slot(&mut ifaces, &label) = Map::new();
                    }
                    let target = slot(&mut ifaces, &label);
                    if !is_secondary && !target.contains_key("ipv4") {
                        target.insert("ipv4".into(), Value::Object(entry.clone()));
                    } else if let Value::Array(l) = target
                        .entry("ipv4_secondaries")
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        l.push(Value::Object(entry.clone()));
                    }
                    if is_secondary {
                        let dev = slot(&mut ifaces, &device);
                        let list = dev
                            .entry("ipv4_secondaries")
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if device != label {
                            if let Value::Array(l) = list {
                                l.push(Value::Object(entry.clone()));
                            }
                        }
                    }
                    if default_v4.get("address").and_then(Value::as_str) == Some(&address) {
                        for k in ["broadcast", "netmask", "network", "prefix"] {
                            default_v4.insert(k.into(), entry[k].clone());
                        }
                        default_v4.insert("macaddress".into(), Value::from(iface.mac_raw.clone()));
                        default_v4.insert("mtu".into(), dev_mtu.unwrap_or(Value::Null));
                        default_v4.insert("type".into(), dev_type);
                        default_v4.insert("alias".into(), Value::from(label.clone()));
                    }
                    if !address.starts_with("127.") {
                        all_v4.push(Value::from(address));
                    }
                }
                10 => {
                    let Some(entry) = ipv6_entry(a) else { continue };
                    let address = entry["address"].as_str().unwrap_or("").to_owned();
                    if default_v6.get("address").and_then(Value::as_str) == Some(&address) {
                        default_v6.insert("prefix".into(), entry["prefix"].clone());
                        default_v6.insert("scope".into(), entry["scope"].clone());
                        default_v6.insert("macaddress".into(), Value::from(iface.mac_raw.clone()));
                        default_v6.insert("mtu".into(), dev_mtu.unwrap_or(Value::Null));
                        default_v6.insert("type".into(), dev_type);
                    }
                    if let Value::Array(l) = slot(&mut ifaces, &device)
                        .entry("ipv6")
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        l.push(Value::Object(entry));
                    }
                    if address != "::1" {
                        all_v6.push(Value::from(address));
                    }
                }
                _ => {}
            }
        }
    }
    let ifaces: Vec<(String, Map<String, Value>)> = ifaces
        .into_iter()
        .map(|(n, m)| (n.replace(':', "_"), m))
        .collect();
    f.insert(
        "interfaces".into(),
        Value::from(ifaces.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()),
    );
    for (n, m) in ifaces {
        f.insert(n, Value::Object(m));
    }
    f.insert("default_ipv4".into(), Value::Object(default_v4));
    f.insert("default_ipv6".into(), Value::Object(default_v6));
    f.insert("all_ipv4_addresses".into(), Value::Array(all_v4));
    f.insert("all_ipv6_addresses".into(), Value::Array(all_v6));
    f.insert("locally_reachable_ips".into(), locally_reachable());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(local: &str, peer: Option<&str>, prefix: u8, brd: Option<&str>) -> Addr {
        let l: IpAddr = local
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Addr {
            family: if l.is_ipv4() { 2 } else { 10 },
            index: 2,
            prefix,
            scope: 0,
            flags: 0,
            local: Some(l),
            address: Some(peer.and_then(|p| p.parse().ok()).unwrap_or(l)),
            broadcast: brd.and_then(|b| b.parse().ok()),
            label: Some("eth0".into()),
        }
    }

    #[test]
    fn ipv4_dictionary() {
        let (a, d) =
            ipv4_entry(&addr("192.0.2.2", None, 24, Some("192.0.2.255"))).unwrap_or_default();
        assert_eq!(a, "192.0.2.2");
        assert_eq!(
            Value::Object(d),
            json!({"address": "192.0.2.2", "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"})
        );
        let (_, lo) = ipv4_entry(&addr("127.0.0.1", None, 8, None)).unwrap_or_default();
        assert_eq!(lo["broadcast"], json!(""));
        assert_eq!(lo["network"], json!("127.0.0.0"));
    }

    #[test]
    fn point_to_point_is_a_host_address() {
        let (_, d) = ipv4_entry(&addr("10.0.0.1", Some("10.0.0.2"), 32, Some("10.0.0.255")))
            .unwrap_or_default();
        assert_eq!(d["prefix"], json!("32"));
        assert_eq!(d["broadcast"], json!(""));
        assert_eq!(d["netmask"], json!("255.255.255.255"));
    }

    #[test]
    fn ipv6_scope_names() {
        let mut a = addr("fe80::fc:ff:fe00:1", None, 64, None);
        a.scope = 253;
        let d = ipv6_entry(&a).unwrap_or_default();
        assert_eq!(
            Value::Object(d),
            json!({"address": "fe80::fc:ff:fe00:1", "prefix": "64", "scope": "link"})
        );
    }
}
