//! The rtnetlink requests behind Ansible's `ip addr show` / `ip route get`
//! / `ip route show table local` calls, made directly on a netlink socket
//! (what `ip` itself does), with message encoding and decoding kept pure
//! for tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use rustix::net::{
    netlink, recv, sendto, socket_with, sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_SECONDARY: u32 = 0x01;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const RTN_LOCAL: u8 = 2;
const RT_TABLE_LOCAL: u32 = 255;

/// A netlink failure.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Io(#[from] rustix::io::Errno),
    #[error("netlink answered error {0}")]
    Kernel(i32),
    #[error("truncated netlink message: {got} bytes, expected at least {expected}")]
    Truncated { got: usize, expected: usize },
}

/// One interface address (`RTM_NEWADDR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub family: u8,
    pub index: u32,
    pub prefix: u8,
    pub scope: u8,
    pub flags: u32,
    /// `IFA_LOCAL` (what `ip` prints first), else `IFA_ADDRESS`.
    pub local: Option<IpAddr>,
    /// `IFA_ADDRESS`: the peer on point-to-point links.
    pub address: Option<IpAddr>,
    pub broadcast: Option<IpAddr>,
    pub label: Option<String>,
}

impl Addr {
    /// Secondary (IPv4) or temporary (IPv6) address.
    pub fn secondary(&self) -> bool {
        self.flags & IFA_F_SECONDARY != 0
    }
}

/// One route (`RTM_NEWROUTE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub family: u8,
    pub dst_len: u8,
    pub kind: u8,
    pub table: u32,
    pub dst: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
    pub oif: Option<u32>,
}

impl Route {
    /// A `local` route of the local table.
    pub fn is_local(&self) -> bool {
        self.kind == RTN_LOCAL && self.table == RT_TABLE_LOCAL
    }
}

fn header(buf: &mut Vec<u8>, kind: u16, flags: u16, seq: u32) {
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
}

fn finish(mut buf: Vec<u8>) -> Vec<u8> {
    let len = (buf.len() as u32).to_ne_bytes();
    buf[..4].copy_from_slice(&len);
    buf
}

/// An `RTM_GETADDR` dump request for every family.
pub fn addr_dump_request(seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    header(&mut b, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.extend_from_slice(&[0u8; 8]);
    finish(b)
}

/// An `RTM_GETROUTE` dump request of one family (all tables).
pub fn route_dump_request(family: u8, seq: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(28);
    header(&mut b, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
    b.extend_from_slice(&[family, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&0u32.to_ne_bytes());
    finish(b)
}

/// An `RTM_GETROUTE` request for the route to `dst` (`ip route get`).
pub fn route_get_request(dst: IpAddr, seq: u32) -> Vec<u8> {
    let (family, bytes): (u8, Vec<u8>) = match dst {
        IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
        IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
    };
    let mut b = Vec::with_capacity(64);
    header(&mut b, RTM_GETROUTE, NLM_F_REQUEST, seq);
    b.extend_from_slice(&[family, (bytes.len() * 8) as u8, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(&((4 + bytes.len()) as u16).to_ne_bytes());
    b.extend_from_slice(&RTA_DST.to_ne_bytes());
    b.extend_from_slice(&bytes);
    finish(b)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The messages of a netlink datagram: (type, payload).
pub fn messages(buf: &[u8]) -> Result<Vec<(u16, &[u8])>, NetlinkError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32_at(buf, at).unwrap_or(0) as usize;
        let kind = u16_at(buf, at + 4).unwrap_or(0);
        if len < 16 || at + len > buf.len() {
            return Err(NetlinkError::Truncated {
                got: buf.len() - at,
                expected: len.max(16),
            });
        }
        out.push((kind, &buf[at + 16..at + len]));
        at += align4(len);
    }
    Ok(out)
}

/// The attributes after a fixed header: (type, value).
fn attrs(b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= b.len() {
        let len = u16_at(b, at).unwrap_or(0) as usize;
        let kind = u16_at(b, at + 2).unwrap_or(0) & 0x3fff;
        if len < 4 || at + len > b.len() {
            break;
        }
        out.push((kind, &b[at + 4..at + len]));
        at += align4(len);
    }
    out
}

fn ip(v: &[u8]) -> Option<IpAddr> {
    match v.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(v).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).ok()?))),
        _ => None,
    }
}

/// Decodes an `RTM_NEWADDR` payload.
pub fn parse_addr(p: &[u8]) -> Option<Addr> {
    if p.len() < 8 {
        return None;
    }
    let mut a = Addr {
        family: p[0],
        prefix: p[1],
        flags: u32::from(p[2]),
        scope: p[3],
        index: u32_at(p, 4)?,
        local: None,
        address: None,
        broadcast: None,
        label: None,
    };
    for (k, v) in attrs(&p[8..]) {
        match k {
            IFA_ADDRESS => a.address = ip(v),
            IFA_LOCAL => a.local = ip(v),
            IFA_BROADCAST => a.broadcast = ip(v),
            IFA_LABEL => {
                let s = v.split(|c| *c == 0).next().unwrap_or(v);
                a.label = Some(String::from_utf8_lossy(s).into_owned());
            }
            IFA_FLAGS => a.flags = u32_at(v, 0).unwrap_or(a.flags),
            _ => {}
        }
    }
    Some(a)
}

/// Decodes an `RTM_NEWROUTE` payload.
pub fn parse_route(p: &[u8]) -> Option<Route> {
    if p.len() < 12 {
        return None;
    }
    let mut r = Route {
        family: p[0],
        dst_len: p[1],
        table: u32::from(p[4]),
        kind: p[7],
        ..Default::default()
    };
    for (k, v) in attrs(&p[12..]) {
        match k {
            RTA_DST => r.dst = ip(v),
            RTA_GATEWAY => r.gateway = ip(v),
            RTA_PREFSRC => r.prefsrc = ip(v),
            RTA_OIF => r.oif = u32_at(v, 0),
            RTA_TABLE => r.table = u32_at(v, 0).unwrap_or(r.table),
            _ => {}
        }
    }
    Some(r)
}

/// Sends one request and collects the payloads of the answer's
/// messages of type `want`, until `NLMSG_DONE` (dumps) or the first
/// answer (single requests).
fn exchange(request: &[u8], want: u16, dump: bool) -> Result<Vec<Vec<u8>>, NetlinkError> {
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        // NETLINK_ROUTE is protocol 0.
        None,
    )?;
    sockopt::set_socket_timeout(&fd, sockopt::Timeout::Recv, Some(Duration::from_secs(2)))?;
    sendto(
        &fd,
        request,
        SendFlags::empty(),
        &netlink::SocketAddrNetlink::new(0, 0),
    )?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, _) = recv(&fd, &mut buf[..], RecvFlags::empty())?;
        if n == 0 {
            return Ok(out);
        }
        for (kind, payload) in messages(&buf[..n])? {
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = u32_at(payload, 0).map_or(0, |c| c as i32);
                    if code != 0 {
                        return Err(NetlinkError::Kernel(code));
                    }
                    return Ok(out);
                }
                k if k == want => {
                    out.push(payload.to_vec());
                    if !dump {
                        return Ok(out);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Every address of every interface, in the kernel's order (`ip addr`).
pub fn addresses() -> Result<Vec<Addr>, NetlinkError> {
    Ok(exchange(&addr_dump_request(1), RTM_NEWADDR, true)?
        .iter()
        .filter_map(|p| parse_addr(p))
        .collect())
}

/// The route the kernel would use to reach `dst` (`ip route get`).
pub fn route_get(dst: IpAddr) -> Result<Option<Route>, NetlinkError> {
    Ok(exchange(&route_get_request(dst, 2), RTM_NEWROUTE, false)?
        .first()
        .and_then(|p| parse_route(p)))
}

/// Every route of one family (`ip route show table all`).
pub fn routes(v6: bool) -> Result<Vec<Route>, NetlinkError> {
    let family = if v6 { AF_INET6 } else { AF_INET };
    Ok(
        exchange(&route_dump_request(family, 3), RTM_NEWROUTE, true)?
            .iter()
            .filter_map(|p| parse_route(p))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(v);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b
    }

    #[test]
    fn request_lengths() {
        let r = addr_dump_request(7);
        assert_eq!(r.len(), 24);
        assert_eq!(u32_at(&r, 0), Some(24));
        assert_eq!(u16_at(&r, 4), Some(RTM_GETADDR));
        let g = route_get_request(
            "8.8.8.8".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            1,
        );
        assert_eq!(g.len(), 16 + 12 + 8);
        assert_eq!(&g[32..36], &[8, 8, 8, 8]);
    }

    #[test]
    fn decodes_an_address_message() {
        let mut p = vec![AF_INET, 24, 0, 0];
        p.extend_from_slice(&2u32.to_ne_bytes());
        p.extend(attr(IFA_ADDRESS, &[192, 0, 2, 2]));
        p.extend(attr(IFA_LOCAL, &[192, 0, 2, 2]));
        p.extend(attr(IFA_BROADCAST, &[192, 0, 2, 255]));
        p.extend(attr(IFA_LABEL, b"eth0\0"));
        p.extend(attr(IFA_FLAGS, &0x80u32.to_ne_bytes()));
        let mut msg = Vec::new();
        msg.extend_from_slice(&((16 + p.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&RTM_NEWADDR.to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend(&p);
        let m = messages(&msg).unwrap_or_default();
        assert_eq!(m.len(), 1);
        let a = parse_addr(m[0].1);
        let a = a.as_ref();
        assert_eq!(a.map(|a| a.index), Some(2));
        assert_eq!(a.and_then(|a| a.label.clone()).as_deref(), Some("eth0"));
        assert_eq!(a.and_then(|a| a.broadcast), "192.0.2.255".parse().ok());
        assert_eq!(a.map(Addr::secondary), Some(false));
    }

    #[test]
    fn decodes_a_route_message() {
        let mut p = vec![AF_INET, 32, 0, 0, 254, 0, 0, 1];
        p.extend_from_slice(&0u32.to_ne_bytes());
        p.extend(attr(RTA_DST, &[8, 8, 8, 8]));
        p.extend(attr(RTA_OIF, &2u32.to_ne_bytes()));
        p.extend(attr(RTA_GATEWAY, &[192, 0, 2, 1]));
        p.extend(attr(RTA_PREFSRC, &[192, 0, 2, 2]));
        let r = parse_route(&p).unwrap_or_default();
        assert_eq!(r.oif, Some(2));
        assert_eq!(r.gateway, "192.0.2.1".parse().ok());
        assert_eq!(r.prefsrc, "192.0.2.2".parse().ok());
        assert_eq!(r.table, 254);
        assert!(!r.is_local());
    }

    #[test]
    fn truncated_message_is_an_error() {
        let mut msg = 64u32.to_ne_bytes().to_vec();
        msg.extend_from_slice(&[0; 12]);
        assert!(matches!(
            messages(&msg),
            Err(NetlinkError::Truncated { .. })
        ));
    }
}
