//! Deterministic generator of the bundle fixtures in `tests/data/bundles/`.
//!
//! Shared by `examples/make_fixtures.rs` (which writes the files) and the
//! tests (which check that the files on disk are exactly what this code
//! produces now, so the format cannot drift silently).
//!
//! Broken bundles that [`rustle_bundle::BundleBuilder`] refuses to produce
//! are assembled by hand from the byte layout in `docs/bundle-format.md`:
//! [`Parts`] + [`assemble`] are a second, independent writer (only the
//! trailer encoding is borrowed from the crate). A test checks that this
//! writer produces `good.rsl` byte for byte like the builder does.
#![allow(dead_code)]

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};
use rustle_bundle::{
    AssetId, BundleBuilder, HostPlan, Magic, Plan, PlayPlan, SecretKey, Task, Trailer,
    FORMAT_VERSION, MAGIC, TRAILER_LEN,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Seed of the TEST-ONLY signing key whose files are `test-key.key` and
/// `test-key.pub`. Never trust this key outside tests.
pub const TEST_SEED: [u8; 32] = *b"rustle-bundle-fixtures-test-key!";
/// Seed of a second test key that no fixture trust store contains.
pub const UNTRUSTED_SEED: [u8; 32] = *b"rustle-bundle-untrusted-test-key";

/// Domain separation prefix of the signed message (docs/bundle-format.md).
pub const SIG_DOMAIN: &[u8] = b"rustle-bundle-v1-signature\0";
/// zstd level the reference writer uses.
pub const ZSTD_LEVEL: i32 = 3;

pub const MOTD: &[u8] = b"Welcome to a host managed by Rustle.\n\
This file was copied from a bundle asset; two copy tasks share it.\n";
pub const SCRIPT: &[u8] = b"#!/bin/sh\necho \"hello from a bundled script\"\n";
/// What `asset-hash-mismatch.rsl` carries instead of [`SCRIPT`].
pub const TAMPERED_SCRIPT: &[u8] = b"#!/bin/sh\necho \"this is not the script that was planned\"\n";
/// Prefix of `good-appended.rsl`, standing in for a runner executable.
pub fn fake_runner() -> Vec<u8> {
    let mut v = b"\x7fELF (not really) fake rustle-runner executable for tests\n".to_vec();
    // Some binary-looking filler, including the magic, which must not
    // confuse a reader: only the last 8 bytes of the file count.
    for i in 0..1000u32 {
        v.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
    }
    v.extend_from_slice(b"RUSTLE01");
    v
}

/// Where in `load` (parse -> verify -> plan -> validate_assets, the runner's
/// order) a fixture is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Parse,
    Verify,
    Plan,
    Assets,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Parse => "parse",
            Stage::Verify => "verify",
            Stage::Plan => "plan",
            Stage::Assets => "validate_assets",
        })
    }
}

/// The expected outcome of loading a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused at `Stage` with the `BundleError` variant of that name.
    Err(Stage, &'static str),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("loads"),
            Outcome::Err(stage, v) => write!(f, "`{v}` ({stage})"),
        }
    }
}

pub struct Fixture {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// With `Verification::Required` and a trust store holding the test key.
    pub required: Outcome,
    /// With `Verification::InsecureSkip`.
    pub insecure: Outcome,
    pub why: &'static str,
}

// ---------------------------------------------------------------------------
// The good plan.

pub fn good_plan(motd: AssetId, script: AssetId) -> Plan {
    let mut plan = Plan::new("tests/data/bundles/good.yml");
    let mut hello = Task::new("say hello", "command").arg("argv", json!(["echo", "hello"]));
    hello.environment.insert("LANG".into(), "C".into());
    hello.origin = Some("good.yml:5:7".into());
    let mut stat = Task::new("look at /etc/hostname", "stat").arg("path", "/etc/hostname");
    stat.register = Some("hostname_stat".into());
    let show = Task::new("show it", "debug").arg("var", "hostname_stat.stat.exists");
    let structured = Task::new("structured message", "debug").arg(
        "msg",
        json!({"count": 3, "ratio": 0.5, "ok": true, "nothing": null, "list": [1, "two", -3]}),
    );
    let mut motd1 = Task::new("install motd", "copy")
        .arg("src", "files/motd")
        .arg("dest", "/tmp/rustle-fixture/motd")
        .arg("mode", "0644")
        .asset("src", motd);
    motd1.notify = vec!["motd changed".into()];
    let motd2 = Task::new("keep a second copy of motd", "copy")
        .arg("src", "files/motd")
        .arg("dest", "/tmp/rustle-fixture/motd.copy")
        .arg("backup", false)
        .asset("src", motd);
    let script_task = Task::new("install hello.sh", "copy")
        .arg("src", "files/hello.sh")
        .arg("dest", "/tmp/rustle-fixture/hello.sh")
        .arg("mode", "0755")
        .asset("src", script);
    let handler = Task::new("motd changed", "debug").arg("msg", "motd was updated");
    plan.hosts.push(HostPlan {
        name: "localhost".into(),
        plays: vec![PlayPlan {
            name: "fixture play".into(),
            tasks: vec![hello, stat, show, structured, motd1, motd2, script_task],
            handlers: vec![handler],
            check_mode: None,
            diff: Some(true),
        }],
    });
    plan
}

pub fn good_builder() -> BundleBuilder {
    let mut b = BundleBuilder::new(Plan::new(""));
    let motd = b.add_asset(MOTD);
    let script = b.add_asset(SCRIPT);
    // Adding the same bytes again stores them once.
    let again = b.add_asset(MOTD.to_vec());
    assert_eq!(motd, again);
    *b.plan_mut() = good_plan(motd, script);
    b
}

pub fn test_key() -> SecretKey {
    SecretKey::from_seed(TEST_SEED)
}

pub fn good_bundle() -> Vec<u8> {
    good_builder()
        .build(Some(&test_key()))
        .expect("build good.rsl")
}

// ---------------------------------------------------------------------------
// A second writer, from the spec.

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(data, ZSTD_LEVEL).expect("zstd compress")
}

pub fn msgpack<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).expect("msgpack encode")
}

/// One asset index entry as the spec defines it (a map with these four
/// keys, in this order).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IndexEntry {
    pub id: AssetId,
    pub offset: u64,
    pub len: u64,
    pub raw_len: u64,
}

/// One stored asset: its (claimed) id, its compressed frame and its
/// declared uncompressed length.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: AssetId,
    pub frame: Vec<u8>,
    pub raw_len: u64,
}

impl Stored {
    pub fn of(data: &[u8]) -> Stored {
        Stored {
            id: AssetId::of(data),
            frame: zstd(data),
            raw_len: data.len() as u64,
        }
    }
}

/// The sections of a body, before the trailer.
#[derive(Debug, Clone)]
pub struct Parts {
    pub plan_z: Vec<u8>,
    pub plan_raw_len: u64,
    pub index: Vec<u8>,
    pub section: Vec<u8>,
    pub assets_raw_len: u64,
    /// Bytes after the asset section that no section accounts for.
    pub tail: Vec<u8>,
}

impl Parts {
    /// Plan bytes (uncompressed MessagePack) and assets, tiled in the given
    /// order, the index listing them in that order.
    pub fn new(plan_raw: &[u8], stored: &[Stored]) -> Parts {
        let mut section = Vec::new();
        let mut entries = Vec::new();
        for s in stored {
            entries.push(IndexEntry {
                id: s.id,
                offset: section.len() as u64,
                len: s.frame.len() as u64,
                raw_len: s.raw_len,
            });
            section.extend_from_slice(&s.frame);
        }
        Parts::custom(plan_raw, &entries, section)
    }

    /// Explicit index entries and asset section.
    pub fn custom(plan_raw: &[u8], entries: &[IndexEntry], section: Vec<u8>) -> Parts {
        Parts {
            plan_z: zstd(plan_raw),
            plan_raw_len: plan_raw.len() as u64,
            index: msgpack(entries),
            section,
            assets_raw_len: entries.iter().map(|e| e.raw_len).sum(),
            tail: Vec::new(),
        }
    }

    pub fn body(&self) -> Vec<u8> {
        [
            &self.plan_z[..],
            &self.index[..],
            &self.section[..],
            &self.tail[..],
        ]
        .concat()
    }

    pub fn trailer(&self) -> Trailer {
        let p = self.plan_z.len() as u64;
        let i = self.index.len() as u64;
        let a = self.section.len() as u64;
        Trailer {
            body_len: p + i + a + self.tail.len() as u64,
            plan_offset: 0,
            plan_len: p,
            plan_raw_len: self.plan_raw_len,
            index_offset: p,
            index_len: i,
            assets_offset: p + i,
            assets_len: a,
            assets_raw_len: self.assets_raw_len,
            key_id: [0; 8],
            signature: [0; 64],
            trailer_len: TRAILER_LEN as u32,
            version: FORMAT_VERSION,
            flags: 0,
            magic: MAGIC,
        }
    }
}

/// First 8 bytes of SHA-256 of the 32-byte public key.
pub fn key_id_of(seed: &[u8; 32]) -> [u8; 8] {
    let pk = SigningKey::from_bytes(seed).verifying_key();
    let d = Sha256::digest(pk.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&d[..8]);
    id
}

/// The message an ed25519 signature is made over: domain, trailer bytes
/// 0..80 and 144..160, SHA-256 of the body.
pub fn signed_message(trailer: &[u8; TRAILER_LEN], body: &[u8]) -> Vec<u8> {
    let mut msg = SIG_DOMAIN.to_vec();
    msg.extend_from_slice(&trailer[0..80]);
    msg.extend_from_slice(&trailer[144..160]);
    msg.extend_from_slice(&Sha256::digest(body));
    msg
}

/// Body + trailer. With a seed, sets the signed flag and key id, applies
/// `tweak`, then signs (so trailer tweaks are covered by the signature).
pub fn assemble(
    parts: &Parts,
    seed: Option<&[u8; 32]>,
    tweak: impl FnOnce(&mut Trailer),
) -> Vec<u8> {
    let body = parts.body();
    let mut t = parts.trailer();
    if let Some(seed) = seed {
        t.flags |= 1;
        t.key_id = key_id_of(seed);
    }
    tweak(&mut t);
    if let Some(seed) = seed {
        let msg = signed_message(&t.encode(), &body);
        t.signature = SigningKey::from_bytes(seed).sign(&msg).to_bytes();
    }
    let mut out = body;
    out.extend_from_slice(&t.encode());
    out
}

/// The good assets, sorted by id as the format requires.
pub fn good_stored() -> Vec<Stored> {
    let mut v = vec![Stored::of(MOTD), Stored::of(SCRIPT)];
    v.sort_by_key(|s| s.id);
    v
}

pub fn good_plan_raw() -> Vec<u8> {
    msgpack(&good_plan(AssetId::of(MOTD), AssetId::of(SCRIPT)))
}

/// The good bundle, assembled from the spec.
pub fn good_parts() -> Parts {
    Parts::new(&good_plan_raw(), &good_stored())
}

fn signed(parts: &Parts) -> Vec<u8> {
    assemble(parts, Some(&TEST_SEED), |_| {})
}

fn signed_with(parts: &Parts, tweak: impl FnOnce(&mut Trailer)) -> Vec<u8> {
    assemble(parts, Some(&TEST_SEED), tweak)
}

fn flip(mut bytes: Vec<u8>, at: usize, mask: u8) -> Vec<u8> {
    bytes[at] ^= mask;
    bytes
}

// ---------------------------------------------------------------------------
// The fixtures.

/// Every fixture, in README order.
pub fn fixtures() -> Vec<Fixture> {
    use Outcome::{Err as E, Ok};
    use Stage::*;
    let good = good_bundle();
    let t = Trailer::decode(&good).expect("good trailer");
    let n = good.len();
    let tr = n - TRAILER_LEN; // trailer start
    let motd = AssetId::of(MOTD);
    let script = AssetId::of(SCRIPT);
    let stored = good_stored();
    let plan_raw = good_plan_raw();
    let mut out = Vec::new();
    let mut add = |name, bytes, required, insecure, why| {
        out.push(Fixture {
            name,
            bytes,
            required,
            insecure,
            why,
        })
    };

    add("good.rsl", good.clone(), Ok, Ok,
        "Signed by the test key: one host `localhost`, tasks command, stat, debug and copy; two copy tasks share one asset (stored once), a third copies a second asset.");
    let mut appended = fake_runner();
    appended.extend_from_slice(&good);
    add("good-appended.rsl", appended, Ok, Ok,
        "good.rsl appended to a fake runner executable (`cat rustle-runner good.rsl`): offsets are relative to the body, so it still verifies.");

    // Truncation.
    add(
        "empty.rsl",
        Vec::new(),
        E(Parse, "Truncated"),
        E(Parse, "Truncated"),
        "Zero bytes: shorter than the trailer.",
    );
    add("truncated-trailer.rsl", good[n - 100..].to_vec(), E(Parse, "Truncated"), E(Parse, "Truncated"),
        "The last 100 bytes of good.rsl: magic, version and trailer length are fine, but the file is shorter than the 160-byte trailer.");
    add("truncated-end.rsl", good[..n - 1].to_vec(), E(Parse, "BadMagic"), E(Parse, "BadMagic"),
        "good.rsl cut short by one byte: the trailer is at the end, so a file cut anywhere loses its magic and is not recognised as a bundle.");
    add("truncated-start.rsl", good[1..].to_vec(), E(Parse, "BodyPastEnd"), E(Parse, "BodyPastEnd"),
        "good.rsl without its first byte: the trailer is intact but the body it declares no longer fits before it.");

    // Trailer fields.
    add(
        "bad-magic.rsl",
        signed_with(&good_parts(), |t| t.magic = Magic(*b"RUSTLE00")),
        E(Parse, "BadMagic"),
        E(Parse, "BadMagic"),
        "Signed, but the magic is `RUSTLE00` instead of `RUSTLE01`.",
    );
    add(
        "bad-version.rsl",
        signed_with(&good_parts(), |t| t.version = 2),
        E(Parse, "UnsupportedVersion"),
        E(Parse, "UnsupportedVersion"),
        "Signed, format version 2: readers refuse versions they do not know.",
    );
    add(
        "flip-trailer-len.rsl",
        flip(good.clone(), tr + 144, 0x01),
        E(Parse, "BadTrailerLength"),
        E(Parse, "BadTrailerLength"),
        "good.rsl with the trailer length field flipped from 160 to 161.",
    );
    add("unknown-flags.rsl", signed_with(&good_parts(), |t| t.flags |= 0x0100),
        E(Parse, "UnknownFlags"), E(Parse, "UnknownFlags"),
        "Signed, flags 0x0101: bit 8 means nothing in version 1, and readers refuse flags they do not know.");
    add(
        "body-past-end.rsl",
        signed_with(&good_parts(), |t| t.body_len += 1),
        E(Parse, "BodyPastEnd"),
        E(Parse, "BodyPastEnd"),
        "Signed, body_len one byte larger than the bytes before the trailer.",
    );
    add(
        "section-past-end.rsl",
        signed_with(&good_parts(), |t| t.assets_len += 1000),
        E(Parse, "SectionsLengthMismatch"),
        E(Parse, "SectionsLengthMismatch"),
        "Signed, the asset section claims 1000 bytes more than the body has.",
    );
    add(
        "misplaced-section.rsl",
        signed_with(&good_parts(), |t| t.index_offset += 1),
        E(Parse, "SectionMisplaced"),
        E(Parse, "SectionMisplaced"),
        "Signed, index_offset one past the end of the plan section: sections must be contiguous.",
    );
    let mut gap = good_parts();
    gap.tail = b"hidden bytes....".to_vec();
    add("trailing-body-bytes.rsl", signed(&gap),
        E(Parse, "SectionsLengthMismatch"), E(Parse, "SectionsLengthMismatch"),
        "Signed, 16 bytes after the asset section that no section accounts for: sections must fill the body exactly.");
    add(
        "limit-plan-raw.rsl",
        signed_with(&good_parts(), |t| t.plan_raw_len = 1 << 40),
        E(Parse, "LimitExceeded"),
        E(Parse, "LimitExceeded"),
        "Signed, declares a 1 TiB plan: refused before anything is decompressed.",
    );

    // Signature.
    add(
        "unsigned.rsl",
        good_builder().build(None).expect("unsigned"),
        E(Verify, "Unsigned"),
        Ok,
        "good.rsl's content without a signature (flags 0).",
    );
    add("flip-signed-flag.rsl", flip(good.clone(), tr + 150, 0x01),
        E(Verify, "Unsigned"), Ok,
        "good.rsl with the signed flag cleared: stripping the signature is no way around verification.");
    add(
        "untrusted-key.rsl",
        good_builder()
            .build(Some(&SecretKey::from_seed(UNTRUSTED_SEED)))
            .expect("untrusted"),
        E(Verify, "UntrustedKey"),
        Ok,
        "good.rsl's content, validly signed by a key that is not in the trust store.",
    );
    add(
        "flip-key-id.rsl",
        flip(good.clone(), tr + 72, 0x01),
        E(Verify, "UntrustedKey"),
        Ok,
        "good.rsl with one bit of the key id flipped: no trusted key has that id.",
    );
    add(
        "flip-signature.rsl",
        flip(good.clone(), tr + 80 + 17, 0x01),
        E(Verify, "BadSignature"),
        Ok,
        "good.rsl with one bit of the signature flipped.",
    );
    add("flip-plan-raw-len.rsl", flip(good.clone(), tr + 24, 0x01),
        E(Verify, "BadSignature"), E(Plan, "DecompressedTooLarge"),
        "good.rsl with the declared plan size changed by one: every trailer field but the signature is signed.");
    let plan_mid = (t.plan_offset + t.plan_len / 2) as usize;
    add(
        "flip-plan.rsl",
        flip(good.clone(), plan_mid, 0x01),
        E(Verify, "BadSignature"),
        E(Plan, "PlanDecode"),
        "good.rsl with one bit flipped in the middle of the compressed plan.",
    );
    // The index starts with an array header (0x92), the first entry's map
    // header (0x84), the key "id" (0xa2 'i' 'd') and a bin 8 header
    // (0xc4 0x20), then the 32 id bytes: flip the last of them.
    let id_last = (t.index_offset + 1 + 1 + 3 + 2 + 31) as usize;
    add(
        "flip-index.rsl",
        flip(good.clone(), id_last, 0x01),
        E(Verify, "BadSignature"),
        E(Plan, "MissingAsset"),
        "good.rsl with one bit of the first asset id in the index flipped.",
    );
    let asset_mid = (t.assets_offset + t.assets_len - 10) as usize;
    add(
        "flip-asset.rsl",
        flip(good.clone(), asset_mid, 0x01),
        E(Verify, "BadSignature"),
        E(Assets, "AssetHashMismatch"),
        "good.rsl with one bit flipped near the end of the last asset's compressed frame.",
    );

    // Signed, but the index is wrong (the builder cannot produce these).
    let garbage_index = Parts {
        index: b"not msgpack".to_vec(),
        ..good_parts()
    };
    add(
        "index-not-msgpack.rsl",
        signed(&garbage_index),
        E(Verify, "BadIndex"),
        E(Verify, "BadIndex"),
        "Signed, the index section is not a MessagePack array of entries.",
    );
    let mut dup = good_stored();
    let first = dup[0].clone();
    dup.insert(1, first);
    add(
        "duplicate-asset.rsl",
        signed(&Parts::new(&plan_raw, &dup)),
        E(Verify, "DuplicateAsset"),
        E(Verify, "DuplicateAsset"),
        "Signed, the index lists the first asset twice (entries 0 and 1, each with its own frame).",
    );
    let mut desc = good_stored();
    desc.reverse();
    add(
        "index-not-sorted.rsl",
        signed(&Parts::new(&plan_raw, &desc)),
        E(Verify, "IndexNotSorted"),
        E(Verify, "IndexNotSorted"),
        "Signed, the two index entries in descending id order.",
    );
    let e0 = IndexEntry {
        id: stored[0].id,
        offset: 0,
        len: stored[0].frame.len() as u64,
        raw_len: stored[0].raw_len,
    };
    let gapped = IndexEntry {
        id: stored[1].id,
        offset: e0.len + 4,
        len: stored[1].frame.len() as u64,
        raw_len: stored[1].raw_len,
    };
    let section = [&stored[0].frame[..], b"\0\0\0\0", &stored[1].frame[..]].concat();
    add("asset-misplaced.rsl", signed(&Parts::custom(&plan_raw, &[e0, gapped], section)),
        E(Verify, "AssetMisplaced"), E(Verify, "AssetMisplaced"),
        "Signed, 4 bytes between the two asset frames: assets must tile the section in index order.");
    let long = IndexEntry {
        offset: e0.len,
        len: stored[1].frame.len() as u64 + 100,
        ..gapped
    };
    let section = [&stored[0].frame[..], &stored[1].frame[..]].concat();
    add(
        "asset-out-of-bounds.rsl",
        signed(&Parts::custom(&plan_raw, &[e0, long], section)),
        E(Verify, "AssetOutOfBounds"),
        E(Verify, "AssetOutOfBounds"),
        "Signed, the last index entry's range ends 100 bytes past the asset section.",
    );
    add(
        "raw-len-sum-mismatch.rsl",
        signed_with(&good_parts(), |t| t.assets_raw_len += 1),
        E(Verify, "AssetsRawLenMismatch"),
        E(Verify, "AssetsRawLenMismatch"),
        "Signed, the trailer's total raw asset size is one more than the index entries add up to.",
    );
    let mut huge = good_stored();
    huge[0].raw_len = 5 << 30;
    add("limit-asset-raw.rsl", signed(&Parts::new(&plan_raw, &huge)),
        E(Verify, "LimitExceeded"), E(Verify, "LimitExceeded"),
        "Signed, an index entry declares a 5 GiB asset (limit 4 GiB): refused before decompression.");

    // Signed, but the plan is wrong.
    let mut v2 = good_builder();
    v2.plan_mut().schema_version = 2;
    add("plan-schema-version.rsl", v2.build(Some(&test_key())).expect("v2 plan"),
        E(Plan, "PlanSchemaVersion"), E(Plan, "PlanSchemaVersion"),
        "Signed, the plan says schema_version 2: a valid container whose plan this reader does not understand.");
    let v2_other = json!({
        "schema_version": 2,
        "hosts": {"localhost": {"steps": [{"run": "echo hello"}]}},
    });
    add("plan-schema-v2-reshaped.rsl", signed(&Parts::new(&msgpack(&v2_other), &[])),
        E(Plan, "PlanSchemaVersion"), E(Plan, "PlanSchemaVersion"),
        "Signed, a schema 2 plan shaped differently (`hosts` is a map): the schema version is read and checked before the rest of the plan is decoded.");
    let json_plan = serde_json::to_vec(&good_plan(motd, script)).expect("json");
    add(
        "plan-not-msgpack.rsl",
        signed(&Parts::new(&json_plan, &good_stored())),
        E(Plan, "PlanDecode"),
        E(Plan, "PlanDecode"),
        "Signed, the plan section is zstd-compressed JSON, not MessagePack.",
    );
    let mut deep = serde_json::Value::Null;
    for _ in 0..1000 {
        deep = serde_json::Value::Array(vec![deep]);
    }
    let mut deep_plan = good_plan(motd, script);
    deep_plan.hosts[0].plays[0].tasks[3]
        .args
        .insert("msg".into(), deep);
    add("plan-too-deep.rsl", signed(&Parts::new(&msgpack(&deep_plan), &good_stored())),
        E(Plan, "PlanDecode"), E(Plan, "PlanDecode"),
        "Signed, a task argument nested 1000 arrays deep: plans nest at most 128 levels, so decoding cannot exhaust the stack.");
    let only_motd = [Stored::of(MOTD)];
    add(
        "missing-asset.rsl",
        signed(&Parts::new(&plan_raw, &only_motd)),
        E(Plan, "MissingAsset"),
        E(Plan, "MissingAsset"),
        "Signed, the plan copies hello.sh but the bundle only holds motd.",
    );

    // Signed, but an asset is wrong.
    let bomb_claim = vec![0u8; 1024];
    let bomb_id = AssetId::of(&bomb_claim);
    let bomb_frame = zstd(&vec![0u8; 64 << 20]);
    let mut bomb_plan = rustle_bundle::Plan::new("tests/data/bundles/bomb.yml");
    bomb_plan.hosts.push(HostPlan {
        name: "localhost".into(),
        plays: vec![PlayPlan {
            name: "bomb".into(),
            tasks: vec![Task::new("copy a small file", "copy")
                .arg("src", "files/zeros")
                .arg("dest", "/tmp/rustle-fixture/zeros")
                .asset("src", bomb_id)],
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    let bomb = Stored {
        id: bomb_id,
        frame: bomb_frame,
        raw_len: bomb_claim.len() as u64,
    };
    add("decompression-bomb.rsl", signed(&Parts::new(&msgpack(&bomb_plan), &[bomb])),
        E(Assets, "DecompressedTooLarge"), E(Assets, "DecompressedTooLarge"),
        "Signed, an asset declares 1024 raw bytes but its zstd frame expands to 64 MiB of zeros: decompression stops just past the declared size.");
    let mut tampered = good_stored();
    for s in &mut tampered {
        if s.id == script {
            s.frame = zstd(TAMPERED_SCRIPT);
            s.raw_len = TAMPERED_SCRIPT.len() as u64;
        }
    }
    add("asset-hash-mismatch.rsl", signed(&Parts::new(&plan_raw, &tampered)),
        E(Assets, "AssetHashMismatch"), E(Assets, "AssetHashMismatch"),
        "Signed, the entry with hello.sh's id holds other content: ids are checked against the SHA-256 of the decompressed bytes.");
    let mut short = good_stored();
    for s in &mut short {
        if s.id == motd {
            s.raw_len += 10;
        }
    }
    add(
        "asset-size-mismatch.rsl",
        signed(&Parts::new(&plan_raw, &short)),
        E(Assets, "DecompressedSizeMismatch"),
        E(Assets, "DecompressedSizeMismatch"),
        "Signed, motd's entry declares 10 raw bytes more than its frame decompresses to.",
    );
    let mut corrupt = good_stored();
    for s in &mut corrupt {
        if s.id == motd {
            s.frame = b"this is not a zstd frame".to_vec();
        }
    }
    add(
        "asset-corrupt-zstd.rsl",
        signed(&Parts::new(&plan_raw, &corrupt)),
        E(Assets, "Decompress"),
        E(Assets, "Decompress"),
        "Signed, motd's frame is not zstd data.",
    );
    out
}

pub const README_HEAD: &str = "\
# Bundle fixtures

Generated by `bundle-format/examples/make_fixtures.rs`; do not edit by hand.
Regenerate deliberately (after a format change) with

    cargo run -p rustle-bundle --example make_fixtures -- tests/data/bundles

`bundle-format/tests/fixtures.rs` checks that every file here is exactly what
the generator produces now, so the format cannot drift silently, and that each
fixture is refused with its variant of `rustle_bundle::BundleError`.

`test-key.key` / `test-key.pub` are a **TEST-ONLY** signing key derived from
a fixed, public seed (`TEST_SEED` in `bundle-format/tests/support/fixtures.rs`).
Anyone can sign with it: never put `test-key.pub` in a real trust store.

The outcome columns say where loading stops, in the runner's order
(`ParsedBundle::parse` -> `verify` -> `plan()` -> `validate_assets()`):
\"required\" is `Verification::Required` with a trust store holding only the
test key; \"insecure\" is `Verification::InsecureSkip`. Broken bundles are
built so that everything but the one defect is valid (re-signed where the
defect is not the signature), so the intended check is the one that fires.

";

pub fn readme(fixtures: &[Fixture]) -> String {
    let mut s = README_HEAD.to_owned();
    s.push_str("| file | required | insecure | why |\n|---|---|---|---|\n");
    for f in fixtures {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name, f.required, f.insecure, f.why
        ));
    }
    s
}

pub fn public_key_file() -> String {
    let line = test_key()
        .public()
        .to_line("rustle-bundle-test-fixtures-TEST-ONLY");
    format!("# TEST-ONLY key for tests/data/bundles: its seed is public. Never trust it.\n{line}\n")
}

pub fn secret_key_file() -> String {
    format!(
        "# TEST-ONLY key for tests/data/bundles: its seed is public. Never sign anything real with it.\n{}",
        test_key().to_text()
    )
}

/// Every file of `tests/data/bundles/`, by name.
pub fn all_files() -> Vec<(String, Vec<u8>)> {
    let fx = fixtures();
    let mut files = vec![
        ("README.md".to_owned(), readme(&fx).into_bytes()),
        ("test-key.pub".to_owned(), public_key_file().into_bytes()),
        ("test-key.key".to_owned(), secret_key_file().into_bytes()),
    ];
    files.extend(fx.into_iter().map(|f| (f.name.to_owned(), f.bytes)));
    files
}
