//! What the key modules (`apt_key`, `rpm_key`, `deb822_repository`)
//! share: fetching a key over HTTP(S) (or `file://`) the way Ansible's
//! `fetch_url`/`open_url` do, and reading OpenPGP public keys (ASCII
//! armor, packet headers, v4/v6 fingerprints) as `rpm_key`'s librpm
//! wrapper does.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use crate::modules::net::http::{self, Fetched, Follow, Request};

pub const ARMOR_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
pub const ARMOR_END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// A GET as `fetch_url` sends it (redirects followed for GET).
pub fn fetch(url: &str, validate_certs: bool) -> Fetched {
    let mut req = Request::new(url, "GET");
    req.validate_certs = validate_certs;
    req.follow = Follow::All;
    http::fetch(&req)
}

/// `open_url(url).read()`: the body, or the text of the exception
/// `open_url` raises (`HTTP Error 404: Not Found`, `<urlopen error ...>`).
/// `file://` URLs are read from the local file system, as urllib does.
pub fn open_url(url: &str) -> Result<Vec<u8>, String> {
    if let Some(rest) = url.strip_prefix("file://") {
        // `file://host/path`: only the local host is served.
        let path = match rest.find('/') {
            Some(0) => rest,
            Some(i) if matches!(&rest[..i], "localhost") => &rest[i..],
            Some(_) => {
                return Err("<urlopen error file:// scheme is supported only on localhost>".into())
            }
            None => rest,
        };
        return std::fs::read(path).map_err(|e| {
            format!(
                "<urlopen error [Errno {}] {}: {}>",
                e.raw_os_error().unwrap_or(0),
                crate::modules::files::common::strerror(&e),
                http::py_repr(path)
            )
        });
    }
    let f = fetch(url, true);
    if f.fatal {
        return Err(f.msg());
    }
    if f.http_error || f.status() != 200 && f.body.is_none() {
        let msg = f.msg();
        return Err(msg
            .strip_prefix("Request failed: ")
            .map(str::to_owned)
            .unwrap_or(msg));
    }
    Ok(f.body.unwrap_or_default())
}

/// Python's `urlparse(v).scheme`: the text before the first `:` when it
/// starts with an ASCII letter and holds only letters, digits, `+`, `-`
/// and `.` (lowercased).
pub fn url_scheme(v: &str) -> Option<String> {
    let i = v.find(':')?;
    let s = &v[..i];
    let first = s.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .then(|| s.to_ascii_lowercase())
}

pub fn is_armored(data: &[u8]) -> bool {
    data.windows(ARMOR_BEGIN.len())
        .any(|w| w == ARMOR_BEGIN.as_bytes())
}

/// The packets of the first ASCII-armored block in `armor` (headers and
/// the CRC line skipped), as librpm's `pgpParsePkts` returns them.
pub fn dearmor(armor: &str) -> Option<Vec<u8>> {
    let start = armor.find(ARMOR_BEGIN)? + ARMOR_BEGIN.len();
    let rest = &armor[start..];
    let end = rest.find("-----END PGP ")?;
    let mut lines = rest[..end].lines().map(str::trim);
    // Armor headers (`Comment: ...`) run up to the first empty line.
    let mut body = String::new();
    let mut in_headers = true;
    let first: Vec<&str> = lines.by_ref().collect();
    for l in first {
        if in_headers {
            if l.is_empty() {
                in_headers = false;
                continue;
            }
            if l.contains(": ") {
                continue;
            }
            in_headers = false;
        }
        if l.starts_with('=') {
            break;
        }
        body.push_str(l);
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()
}

/// A public key or subkey found in a packet stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// 16 hex digits, upper case.
    pub keyid: String,
    /// 40 (v4) or 64 (v6) hex digits, upper case.
    pub fingerprint: String,
}

const TAG_PUBLIC_KEY: u8 = 6;
const TAG_PUBLIC_SUBKEY: u8 = 14;

/// `(tag, body length, header length)` of the packet at `off`.
fn packet_header(p: &[u8], off: usize) -> Option<(u8, usize, usize)> {
    let b = *p.get(off)?;
    if b & 0x40 != 0 {
        let tag = b & 0x3f;
        let l0 = *p.get(off + 1)? as usize;
        if l0 < 192 {
            Some((tag, l0, 2))
        } else if l0 < 224 {
            let l1 = *p.get(off + 2)? as usize;
            Some((tag, ((l0 - 192) << 8) + l1 + 192, 3))
        } else if l0 == 255 {
            let n = p.get(off + 2..off + 6)?;
            Some((
                tag,
                u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize,
                6,
            ))
        } else {
            // Partial body lengths: not used by key packets.
            None
        }
    } else {
        let tag = (b >> 2) & 0x0f;
        match b & 3 {
            0 => Some((tag, *p.get(off + 1)? as usize, 2)),
            1 => {
                let n = p.get(off + 1..off + 3)?;
                Some((tag, u16::from_be_bytes([n[0], n[1]]) as usize, 3))
            }
            2 => {
                let n = p.get(off + 1..off + 5)?;
                Some((
                    tag,
                    u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize,
                    5,
                ))
            }
            _ => None,
        }
    }
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The primary key and subkeys of a packet stream with their key ids and
/// fingerprints (v4: SHA-1, id = last 8 bytes; v6: SHA-256, id = first 8
/// bytes). `Err` names a key version that is neither.
pub fn identify_keys(packets: &[u8]) -> Result<Vec<KeyInfo>, String> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < packets.len() {
        let Some((tag, len, hlen)) = packet_header(packets, off) else {
            break;
        };
        if tag == TAG_PUBLIC_KEY || tag == TAG_PUBLIC_SUBKEY {
            let body_start = off + hlen;
            let version = packets.get(body_start).copied();
            let body = packets.get(body_start..body_start + len);
            match (version, body) {
                (Some(4), Some(body)) => {
                    let mut h = Sha1::new();
                    h.update([0x99, (len >> 8) as u8, len as u8]);
                    h.update(body);
                    let fp = hex_upper(&h.finalize());
                    out.push(KeyInfo {
                        keyid: fp[fp.len() - 16..].to_owned(),
                        fingerprint: fp,
                    });
                }
                (Some(6), Some(body)) => {
                    let mut h = Sha256::new();
                    h.update([0x9b]);
                    h.update((len as u32).to_be_bytes());
                    h.update(body);
                    let fp = hex_upper(&h.finalize());
                    out.push(KeyInfo {
                        keyid: fp[..16].to_owned(),
                        fingerprint: fp,
                    });
                }
                (Some(v), Some(_)) => return Err(format!("Unhandled key version {v:#04x}")),
                _ => {}
            }
        }
        off += hlen + len;
    }
    Ok(out)
}

/// Splits text holding several armored public key blocks into the
/// blocks (as `rpm_key` splits `rpm -q gpg-pubkey --qf %{description}`).
pub fn armor_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<Vec<&str>> = None;
    for line in text.lines() {
        let t = line.trim();
        if t == ARMOR_BEGIN {
            cur = Some(vec![line]);
        } else if t == ARMOR_END {
            if let Some(mut c) = cur.take() {
                c.push(line);
                blocks.push(c.join("\n"));
            }
        } else if let Some(c) = cur.as_mut() {
            c.push(line);
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_as_urlparse() {
        assert_eq!(url_scheme("https://x/y").as_deref(), Some("https"));
        assert_eq!(url_scheme("File:///x").as_deref(), Some("file"));
        assert_eq!(url_scheme("/etc/apt/k.gpg"), None);
        assert_eq!(url_scheme("-----BEGIN PGP x: y"), None);
        assert_eq!(url_scheme("1ab:x"), None);
    }

    #[test]
    fn fingerprints_as_gpg_lists_them() {
        let k1 = include_str!("../../../tests/keys/rustletest1.asc");
        let keys = identify_keys(&dearmor(k1).unwrap()).unwrap();
        assert_eq!(
            keys,
            vec![KeyInfo {
                keyid: "E960CD8505B2A9ED".into(),
                fingerprint: "262BE03C6BCAAA8F2366A3CFE960CD8505B2A9ED".into()
            }]
        );
        let bin = include_bytes!("../../../tests/keys/rustletest1.gpg");
        assert_eq!(identify_keys(bin).unwrap(), keys);
        let k2 = include_str!("../../../tests/keys/rustletest2.asc");
        let fps: Vec<String> = identify_keys(&dearmor(k2).unwrap())
            .unwrap()
            .into_iter()
            .map(|k| k.fingerprint)
            .collect();
        assert_eq!(
            fps,
            [
                "CF69A0C6854C8D392274AC9E11F9D955605D45DE",
                "30F7BDFC6920AFDB01BE01525AC2B2B1818362A6"
            ]
        );
        let both = format!("junk\n{k1}\n{k2}");
        assert_eq!(armor_blocks(&both).len(), 2);
    }
}
