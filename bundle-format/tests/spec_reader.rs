//! A second, independent bundle reader written from `docs/bundle-format.md`
//! alone (its own trailer decoding, MessagePack decoder, signed-message
//! construction, key file parsing and checks, numbered as in the doc's §8).
//! It must agree with the crate on `good.rsl` (every trailer field, every
//! index entry, the signer, the plan, the assets) and refuse every broken
//! fixture at the step the doc names for the crate's error.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use rustle_bundle::{BundleError, Limits, ParsedBundle, TrustStore, Verification};
use sha2::{Digest, Sha256};
use support::fixtures as fx;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/bundles")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

// ---------------------------------------------------------------------------
// MessagePack (§4): just enough of the spec to read an index and a plan.

#[derive(Debug, Clone, PartialEq)]
enum Mp {
    Nil,
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Arr(Vec<Mp>),
    Map(Vec<(Mp, Mp)>),
}

impl Mp {
    fn get(&self, key: &str) -> Option<&Mp> {
        match self {
            Mp::Map(kv) => kv
                .iter()
                .find(|(k, _)| *k == Mp::Str(key.into()))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Deepest nesting (§4.2): the plan's map is depth 1; depth 128 is refused.
const MAX_DEPTH: usize = 127;

struct MpReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> MpReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or("MessagePack: unexpected end")?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn be(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
    fn items(&mut self, n: u64, depth: usize, map: bool) -> Result<Mp, String> {
        if depth + 1 > MAX_DEPTH {
            return Err("MessagePack: nested too deep".into());
        }
        let mut arr = Vec::new();
        let mut kv = Vec::new();
        for _ in 0..n {
            if map {
                let k = self.value(depth + 1)?;
                kv.push((k, self.value(depth + 1)?));
            } else {
                arr.push(self.value(depth + 1)?);
            }
        }
        Ok(if map { Mp::Map(kv) } else { Mp::Arr(arr) })
    }
    fn str(&mut self, n: u64) -> Result<Mp, String> {
        let b = self.take(n as usize)?;
        Ok(Mp::Str(
            String::from_utf8(b.to_vec()).map_err(|e| e.to_string())?,
        ))
    }
    fn bin(&mut self, n: u64) -> Result<Mp, String> {
        Ok(Mp::Bin(self.take(n as usize)?.to_vec()))
    }
    fn value(&mut self, depth: usize) -> Result<Mp, String> {
        let t = self.take(1)?[0];
        Ok(match t {
            0x00..=0x7f => Mp::UInt(u64::from(t)),
            0x80..=0x8f => self.items(u64::from(t & 0x0f), depth, true)?,
            0x90..=0x9f => self.items(u64::from(t & 0x0f), depth, false)?,
            0xa0..=0xbf => self.str(u64::from(t & 0x1f))?,
            0xc0 => Mp::Nil,
            0xc2 => Mp::Bool(false),
            0xc3 => Mp::Bool(true),
            0xc4 => {
                let n = self.be(1)?;
                self.bin(n)?
            }
            0xc5 => {
                let n = self.be(2)?;
                self.bin(n)?
            }
            0xc6 => {
                let n = self.be(4)?;
                self.bin(n)?
            }
            0xca => Mp::Float(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Mp::Float(f64::from_bits(self.be(8)?)),
            0xcc => Mp::UInt(self.be(1)?),
            0xcd => Mp::UInt(self.be(2)?),
            0xce => Mp::UInt(self.be(4)?),
            0xcf => Mp::UInt(self.be(8)?),
            0xd0 => Mp::Int(i64::from(self.be(1)? as u8 as i8)),
            0xd1 => Mp::Int(i64::from(self.be(2)? as u16 as i16)),
            0xd2 => Mp::Int(i64::from(self.be(4)? as u32 as i32)),
            0xd3 => Mp::Int(self.be(8)? as i64),
            0xd9 => {
                let n = self.be(1)?;
                self.str(n)?
            }
            0xda => {
                let n = self.be(2)?;
                self.str(n)?
            }
            0xdb => {
                let n = self.be(4)?;
                self.str(n)?
            }
            0xdc => {
                let n = self.be(2)?;
                self.items(n, depth, false)?
            }
            0xdd => {
                let n = self.be(4)?;
                self.items(n, depth, false)?
            }
            0xde => {
                let n = self.be(2)?;
                self.items(n, depth, true)?
            }
            0xdf => {
                let n = self.be(4)?;
                self.items(n, depth, true)?
            }
            0xe0..=0xff => Mp::Int(i64::from(t as i8)),
            _ => return Err(format!("MessagePack: type 0x{t:02x} not used by bundles")),
        })
    }
}

/// One complete MessagePack value, nothing after it.
fn msgpack(b: &[u8]) -> Result<Mp, String> {
    let mut r = MpReader { b, pos: 0 };
    let v = r.value(0)?;
    if r.pos != b.len() {
        return Err("MessagePack: bytes after the value".into());
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// The reader.

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    b[at..at + n]
        .iter()
        .rev()
        .fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    id: [u8; 32],
    offset: u64,
    len: u64,
    raw_len: u64,
}

#[derive(Debug)]
struct SpecBundle {
    fields: [u64; 9],
    key_id: [u8; 8],
    flags: u16,
    body_start: usize,
    entries: Vec<Entry>,
    plan_raw: Vec<u8>,
    plan: Mp,
}

/// Refusal: the step number of the doc's §8 and a reason.
type Refusal = (u32, String);

fn fail<T>(step: u32, why: impl Into<String>) -> Result<T, Refusal> {
    Err((step, why.into()))
}

/// Trust file lines (§7): `rustle-ed25519-pub <id> <base64> [comment]`.
fn parse_trust(text: &str) -> Vec<([u8; 8], VerifyingKey)> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<_> = line.split_whitespace().collect();
        assert_eq!(f[0], "rustle-ed25519-pub");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(f[2])
            .unwrap();
        let key = VerifyingKey::from_bytes(&raw.try_into().unwrap()).unwrap();
        let mut id = [0u8; 8];
        id.copy_from_slice(&Sha256::digest(key.as_bytes())[..8]);
        assert!(f[1].eq_ignore_ascii_case(&hex::encode(id)), "key id");
        out.push((id, key));
    }
    out
}

/// zstd, capped at the declared size (§5).
fn unzstd(z: &[u8], declared: u64) -> Result<Vec<u8>, String> {
    let mut dec = zstd::stream::read::Decoder::with_buffer(z).map_err(|e| e.to_string())?;
    dec.window_log_max(27).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = dec.read(&mut buf).map_err(|e| format!("zstd: {e}"))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() as u64 > declared {
            return Err(format!("more than the declared {declared} bytes"));
        }
    }
    if out.len() as u64 != declared {
        return Err(format!("{} bytes, declared {declared}", out.len()));
    }
    Ok(out)
}

const LIMITS: [u64; 4] = [64 << 20, 16 << 20, 4 << 30, 16 << 30]; // plan, index, asset, assets

fn spec_read(
    file: &[u8],
    trust: Option<&[([u8; 8], VerifyingKey)]>,
) -> Result<SpecBundle, Refusal> {
    let n = file.len();
    // Parse: 1..10.
    if n < 16 {
        return fail(1, "shorter than 16 bytes");
    }
    if &file[n - 8..] != b"RUSTLE01" {
        return fail(2, "magic");
    }
    if le(file, n - 12, 2) != 1 {
        return fail(3, "version");
    }
    if le(file, n - 16, 4) != 160 {
        return fail(4, "trailer length");
    }
    if n < 160 {
        return fail(5, "shorter than the trailer");
    }
    let t = &file[n - 160..];
    let mut f = [0u64; 9];
    for (i, v) in f.iter_mut().enumerate() {
        *v = le(t, i * 8, 8);
    }
    let [body_len, plan_off, plan_len, plan_raw_len, index_off, index_len, assets_off, assets_len, assets_raw_len] =
        f;
    let flags = le(t, 150, 2) as u16;
    if flags & !1 != 0 {
        return fail(6, "flags");
    }
    if body_len > (n - 160) as u64 {
        return fail(7, "body past end");
    }
    let mut expected = 0u64;
    for (off, len) in [
        (plan_off, plan_len),
        (index_off, index_len),
        (assets_off, assets_len),
    ] {
        if off != expected {
            return fail(8, "section offset");
        }
        match off.checked_add(len) {
            Some(end) if end <= body_len => expected = end,
            _ => return fail(8, "section past the body"),
        }
    }
    if expected != body_len {
        return fail(9, "sections do not fill the body");
    }
    if plan_raw_len > LIMITS[0] || index_len > LIMITS[1] || assets_raw_len > LIMITS[3] {
        return fail(10, "limit");
    }
    let body_start = n - 160 - body_len as usize;
    let body = &file[body_start..n - 160];
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&t[72..80]);

    // Verify: 11..13.
    if let Some(trust) = trust {
        if flags & 1 == 0 {
            return fail(11, "unsigned");
        }
        let keys: Vec<_> = trust.iter().filter(|(id, _)| *id == key_id).collect();
        if keys.is_empty() {
            return fail(12, "untrusted key");
        }
        let mut msg = b"rustle-bundle-v1-signature\0".to_vec();
        msg.extend_from_slice(&t[0..80]);
        msg.extend_from_slice(&t[144..160]);
        msg.extend_from_slice(&Sha256::digest(body));
        assert_eq!(msg.len(), 155);
        let sig = Signature::from_bytes(&t[80..144].try_into().unwrap());
        if !keys
            .iter()
            .any(|(_, k)| k.verify_strict(&msg, &sig).is_ok())
        {
            return fail(13, "bad signature");
        }
    }

    // Index: 14..17.
    let sec = |off: u64, len: u64| &body[off as usize..(off + len) as usize];
    let Ok(Mp::Arr(items)) = msgpack(sec(index_off, index_len)) else {
        return fail(14, "index is not an array");
    };
    let mut entries: Vec<Entry> = Vec::new();
    for item in &items {
        let Mp::Map(kv) = item else {
            return fail(14, "entry is not a map");
        };
        let keys: Vec<_> = kv.iter().map(|(k, _)| k.clone()).collect();
        let want: Vec<_> = ["id", "offset", "len", "raw_len"]
            .iter()
            .map(|k| Mp::Str((*k).into()))
            .collect();
        if keys != want {
            return fail(14, "entry keys");
        }
        let (Mp::Bin(id), Mp::UInt(offset), Mp::UInt(len), Mp::UInt(raw_len)) =
            (&kv[0].1, &kv[1].1, &kv[2].1, &kv[3].1)
        else {
            return fail(14, "entry types");
        };
        let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) else {
            return fail(14, "id is not 32 bytes");
        };
        let e = Entry {
            id,
            offset: *offset,
            len: *len,
            raw_len: *raw_len,
        };
        let tiled: u64 = entries.iter().map(|e| e.len).sum();
        if entries.last().is_some_and(|p| p.id >= e.id) {
            return fail(15, "duplicate or unsorted");
        }
        if e.offset
            .checked_add(e.len)
            .is_none_or(|end| end > assets_len)
        {
            return fail(15, "out of bounds");
        }
        if e.offset != tiled {
            return fail(15, "misplaced");
        }
        if e.raw_len > LIMITS[2] {
            return fail(15, "asset limit");
        }
        entries.push(e);
    }
    if entries.iter().map(|e| e.len).sum::<u64>() != assets_len {
        return fail(16, "assets do not fill the section");
    }
    if entries
        .iter()
        .fold(0u64, |a, e| a.saturating_add(e.raw_len))
        != assets_raw_len
    {
        return fail(17, "raw sizes");
    }

    // Plan: 18..22.
    let plan_raw = unzstd(sec(plan_off, plan_len), plan_raw_len).or_else(|e| fail(18, e))?;
    let plan = msgpack(&plan_raw).or_else(|e| fail(19, e))?;
    match plan.get("schema_version") {
        Some(Mp::UInt(1)) => {}
        Some(Mp::UInt(_)) => return fail(20, "schema version"),
        _ => return fail(19, "no schema_version"),
    }
    // Arrays and maps with a default (§4.2) may be absent.
    let empty_arr = Mp::Arr(Vec::new());
    let empty_map = Mp::Map(Vec::new());
    let mut refs = Vec::new();
    let Some(Mp::Arr(hosts)) = plan.get("hosts") else {
        return fail(21, "hosts");
    };
    for h in hosts {
        let (Some(Mp::Str(_)), Mp::Arr(plays)) =
            (h.get("name"), h.get("plays").unwrap_or(&empty_arr))
        else {
            return fail(21, "host");
        };
        for p in plays {
            let Some(Mp::Str(_)) = p.get("name") else {
                return fail(21, "play name");
            };
            for list in ["tasks", "handlers"] {
                let Mp::Arr(tasks) = p.get(list).unwrap_or(&empty_arr) else {
                    return fail(21, list);
                };
                for task in tasks {
                    let (Some(Mp::Str(_)), Some(Mp::Str(_)), Mp::Map(assets)) = (
                        task.get("name"),
                        task.get("module"),
                        task.get("assets").unwrap_or(&empty_map),
                    ) else {
                        return fail(21, "task");
                    };
                    for (name, id) in assets {
                        let (Mp::Str(_), Mp::Bin(id)) = (name, id) else {
                            return fail(21, "asset reference");
                        };
                        if id.len() != 32 {
                            return fail(21, "asset id length");
                        }
                        refs.push(id.clone());
                    }
                }
            }
        }
    }
    if refs
        .iter()
        .any(|id| !entries.iter().any(|e| e.id[..] == id[..]))
    {
        return fail(22, "missing asset");
    }

    // Assets: 23..24.
    for e in &entries {
        let data = unzstd(sec(assets_off + e.offset, e.len), e.raw_len).or_else(|m| fail(23, m))?;
        if Sha256::digest(&data)[..] != e.id[..] {
            return fail(24, "hash");
        }
    }
    Ok(SpecBundle {
        fields: f,
        key_id,
        flags,
        body_start,
        entries,
        plan_raw,
        plan,
    })
}

// ---------------------------------------------------------------------------

fn trust_lines() -> Vec<([u8; 8], VerifyingKey)> {
    parse_trust(&String::from_utf8(read("test-key.pub")).unwrap())
}

#[test]
fn the_doc_reader_agrees_with_the_crate_on_good_bundles() {
    let trust = trust_lines();
    let mut store = TrustStore::new();
    store.load_file(&dir().join("test-key.pub")).unwrap();
    for name in ["good.rsl", "good-appended.rsl"] {
        let file = read(name);
        let spec = spec_read(&file, Some(&trust)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let parsed = ParsedBundle::parse(&file, Limits::default()).unwrap();
        let t = parsed.trailer().clone();
        assert_eq!(
            spec.fields,
            [
                t.body_len,
                t.plan_offset,
                t.plan_len,
                t.plan_raw_len,
                t.index_offset,
                t.index_len,
                t.assets_offset,
                t.assets_len,
                t.assets_raw_len
            ]
        );
        assert_eq!(spec.key_id, t.key_id);
        assert_eq!(spec.flags, t.flags);
        assert_eq!(spec.body_start, parsed.body_start());
        let v = parsed.verify(&store, Verification::Required).unwrap();
        assert_eq!(v.signer().map(|k| k.0), Some(spec.key_id));
        let crate_entries: Vec<_> = v
            .assets()
            .iter()
            .map(|e| Entry {
                id: e.id.0,
                offset: e.offset,
                len: e.len,
                raw_len: e.raw_len,
            })
            .collect();
        assert_eq!(spec.entries, crate_entries);
        // The plan: the crate's decoded plan re-encodes to exactly the bytes
        // the doc reader found, and both see the same structure.
        let plan = v.plan().unwrap();
        assert_eq!(rmp_serde::to_vec_named(&plan).unwrap(), spec.plan_raw);
        let hosts = match spec.plan.get("hosts") {
            Some(Mp::Arr(h)) => h,
            other => panic!("{other:?}"),
        };
        assert_eq!(hosts[0].get("name"), Some(&Mp::Str("localhost".into())));
        assert_eq!(hosts.len(), plan.hosts.len());
        for e in v.assets() {
            let data = v.asset(&e.id).unwrap();
            assert_eq!(data.len() as u64, e.raw_len);
        }
    }
}

/// Which of the doc's steps (§8) may produce each error.
fn steps_of(e: &BundleError) -> &'static [u32] {
    match e {
        BundleError::Truncated { .. } => &[1, 5],
        BundleError::BadMagic { .. } => &[2],
        BundleError::UnsupportedVersion { .. } => &[3],
        BundleError::BadTrailerLength { .. } => &[4],
        BundleError::UnknownFlags { .. } => &[6],
        BundleError::BodyPastEnd { .. } => &[7],
        BundleError::SectionMisplaced { .. } => &[8],
        BundleError::SectionsLengthMismatch { .. } => &[8, 9, 16],
        BundleError::LimitExceeded { .. } => &[10, 15],
        BundleError::Unsigned => &[11],
        BundleError::UntrustedKey { .. } => &[12],
        BundleError::BadSignature { .. } => &[13],
        BundleError::BadIndex(_) => &[14],
        BundleError::DuplicateAsset { .. }
        | BundleError::IndexNotSorted { .. }
        | BundleError::AssetOutOfBounds { .. }
        | BundleError::AssetMisplaced { .. } => &[15],
        BundleError::AssetsRawLenMismatch { .. } => &[17],
        BundleError::Decompress { .. }
        | BundleError::DecompressedTooLarge { .. }
        | BundleError::DecompressedSizeMismatch { .. } => &[18, 23],
        BundleError::PlanDecode(_) => &[19, 21],
        BundleError::PlanSchemaVersion { .. } => &[20],
        BundleError::MissingAsset(_) => &[22],
        BundleError::AssetHashMismatch { .. } => &[24],
        _ => &[],
    }
}

fn crate_load(file: &[u8], trust: &TrustStore, mode: Verification) -> Result<(), BundleError> {
    let v = ParsedBundle::parse(file, Limits::default())?.verify(trust, mode)?;
    v.plan()?;
    v.validate_assets()
}

#[test]
fn the_doc_reader_refuses_every_fixture_at_the_step_the_doc_names() {
    let trust = trust_lines();
    let mut store = TrustStore::new();
    store.load_file(&dir().join("test-key.pub")).unwrap();
    let mut problems = Vec::new();
    for f in fx::fixtures() {
        for (mode, t) in [
            (Verification::Required, Some(&trust[..])),
            (Verification::InsecureSkip, None),
        ] {
            let ours = spec_read(&f.bytes, t);
            let theirs = crate_load(&f.bytes, &store, mode);
            match (&ours, &theirs) {
                (Ok(_), Ok(())) => {}
                (Err((step, why)), Err(e)) if steps_of(e).contains(step) => {
                    let _ = why;
                }
                _ => problems.push(format!(
                    "{} ({mode:?}): doc reader {:?}, crate {:?}",
                    f.name,
                    ours.as_ref().map(|_| ()),
                    theirs
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn zstd_windows_larger_than_2_pow_27_are_refused() {
    // A frame that asks for a 2^28-byte window (no content size, so the
    // window is not shrunk to fit), next to one that asks for 2^27.
    let frame = |log: u32| {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.window_log(log).unwrap();
        enc.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut enc, b"a small asset").unwrap();
        enc.finish().unwrap()
    };
    let plan = fx::msgpack(&rustle_bundle::Plan::new("w"));
    for (log, ok) in [(27, true), (28, false)] {
        let stored = fx::Stored {
            id: rustle_bundle::AssetId::of(b"a small asset"),
            frame: frame(log),
            raw_len: 13,
        };
        let file = fx::assemble(&fx::Parts::new(&plan, &[stored]), None, |_| {});
        let r = crate_load(&file, &TrustStore::new(), Verification::InsecureSkip);
        assert_eq!(r.is_ok(), ok, "window log {log}: {r:?}");
        if !ok {
            assert!(matches!(r, Err(BundleError::Decompress { .. })), "{r:?}");
        }
        assert_eq!(spec_read(&file, None).is_ok(), ok);
    }
}

#[test]
fn plans_nest_at_most_127_containers() {
    for (extra, ok) in [(119, true), (120, false)] {
        let mut v = serde_json::Value::Null;
        for _ in 0..extra {
            v = serde_json::Value::Array(vec![v]);
        }
        let mut plan = rustle_bundle::Plan::new("deep");
        plan.hosts.push(rustle_bundle::HostPlan {
            name: "h".into(),
            plays: vec![rustle_bundle::PlayPlan {
                name: "p".into(),
                tasks: vec![rustle_bundle::Task::new("t", "debug").arg("msg", v)],
                handlers: vec![],
                check_mode: None,
                diff: None,
            }],
        });
        let file = rustle_bundle::BundleBuilder::new(plan).build(None).unwrap();
        let r = crate_load(&file, &TrustStore::new(), Verification::InsecureSkip);
        assert_eq!(r.is_ok(), ok, "{extra} arrays in args: {r:?}");
        if !ok {
            assert!(matches!(r, Err(BundleError::PlanDecode(_))), "{r:?}");
        }
        assert_eq!(spec_read(&file, None).is_ok(), ok, "doc reader, {extra}");
    }
}
