//! The committed fixtures in `tests/data/bundles/`: each broken one is
//! refused with exactly its `BundleError` variant (and the numbers it
//! carries), `good.rsl` verifies and decodes to the expected plan, and the
//! files on disk are exactly what the generator produces now.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use rustle_bundle::{
    AssetId, BundleError, Limits, ParsedBundle, Plan, SecretKey, TrustStore, Verification, MAGIC,
    TRAILER_LEN,
};
use support::fixtures::{self as fx, Outcome, Stage};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/bundles")
}

fn read(name: &str) -> Vec<u8> {
    let p = dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The trust store a runner would have: the committed test public key.
fn trust() -> TrustStore {
    let mut t = TrustStore::new();
    t.load_file(&dir().join("test-key.pub")).unwrap();
    t
}

fn test_key_hex() -> String {
    fx::test_key().public().id.to_string()
}

/// The runner's loading order (`runner::session::load`).
fn load(bytes: &[u8], mode: Verification) -> Result<Plan, (Stage, BundleError)> {
    let parsed = ParsedBundle::parse(bytes, Limits::default()).map_err(|e| (Stage::Parse, e))?;
    let verified = parsed
        .verify(&trust(), mode)
        .map_err(|e| (Stage::Verify, e))?;
    let plan = verified.plan().map_err(|e| (Stage::Plan, e))?;
    verified.validate_assets().map_err(|e| (Stage::Assets, e))?;
    Ok(plan)
}

/// Loads fixture `name` with verification required; it must fail.
fn refuse(name: &str) -> (Stage, BundleError) {
    match load(&read(name), Verification::Required) {
        Ok(_) => panic!("{name} was accepted"),
        Err(e) => e,
    }
}

fn variant(e: &BundleError) -> &'static str {
    match e {
        BundleError::Truncated { .. } => "Truncated",
        BundleError::BadMagic { .. } => "BadMagic",
        BundleError::UnsupportedVersion { .. } => "UnsupportedVersion",
        BundleError::BadTrailerLength { .. } => "BadTrailerLength",
        BundleError::UnknownFlags { .. } => "UnknownFlags",
        BundleError::BodyPastEnd { .. } => "BodyPastEnd",
        BundleError::SectionMisplaced { .. } => "SectionMisplaced",
        BundleError::SectionsLengthMismatch { .. } => "SectionsLengthMismatch",
        BundleError::LimitExceeded { .. } => "LimitExceeded",
        BundleError::Unsigned => "Unsigned",
        BundleError::UntrustedKey { .. } => "UntrustedKey",
        BundleError::BadSignature { .. } => "BadSignature",
        BundleError::DecompressedTooLarge { .. } => "DecompressedTooLarge",
        BundleError::DecompressedSizeMismatch { .. } => "DecompressedSizeMismatch",
        BundleError::Decompress { .. } => "Decompress",
        BundleError::BadIndex(_) => "BadIndex",
        BundleError::DuplicateAsset { .. } => "DuplicateAsset",
        BundleError::IndexNotSorted { .. } => "IndexNotSorted",
        BundleError::AssetOutOfBounds { .. } => "AssetOutOfBounds",
        BundleError::AssetMisplaced { .. } => "AssetMisplaced",
        BundleError::AssetsRawLenMismatch { .. } => "AssetsRawLenMismatch",
        BundleError::AssetHashMismatch { .. } => "AssetHashMismatch",
        BundleError::MissingAsset(_) => "MissingAsset",
        BundleError::UnknownAsset(_) => "UnknownAsset",
        BundleError::PlanDecode(_) => "PlanDecode",
        BundleError::PlanSchemaVersion { .. } => "PlanSchemaVersion",
        BundleError::PlanEncode(_) => "PlanEncode",
        BundleError::Io { .. } => "Io",
    }
}

fn outcome(r: &Result<Plan, (Stage, BundleError)>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err((stage, e)) => Outcome::Err(*stage, variant(e)),
    }
}

/// Asserts that `msg` mentions every number in `nums`.
fn mentions(e: &BundleError, nums: &[u64]) {
    let msg = e.to_string();
    for n in nums {
        assert!(msg.contains(&n.to_string()), "{msg:?} does not mention {n}");
    }
}

// ---------------------------------------------------------------------------
// The whole table, both verification modes.

#[test]
fn every_fixture_has_its_outcome_in_both_modes() {
    let mut failures = Vec::new();
    for f in fx::fixtures() {
        let bytes = read(f.name);
        for (mode, want) in [
            (Verification::Required, f.required),
            (Verification::InsecureSkip, f.insecure),
        ] {
            let got = load(&bytes, mode);
            if outcome(&got) != want {
                failures.push(format!(
                    "{} ({mode:?}): expected {want}, got {}{}",
                    f.name,
                    outcome(&got),
                    got.err().map(|e| format!(": {}", e.1)).unwrap_or_default()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn at_least_fourteen_broken_fixtures_and_most_variants_covered() {
    let all = fx::fixtures();
    let broken: Vec<_> = all.iter().filter(|f| f.required != Outcome::Ok).collect();
    assert!(broken.len() >= 14, "{} broken fixtures", broken.len());
    let covered: std::collections::BTreeSet<_> = all
        .iter()
        .flat_map(|f| [f.required, f.insecure])
        .filter_map(|o| match o {
            Outcome::Err(_, v) => Some(v),
            Outcome::Ok => None,
        })
        .collect();
    // Every variant a reader can return for a file; the others are for
    // writing (PlanEncode, Io) or asking for an id the bundle lacks
    // (UnknownAsset, tested below).
    for v in [
        "Truncated",
        "BadMagic",
        "UnsupportedVersion",
        "BadTrailerLength",
        "UnknownFlags",
        "BodyPastEnd",
        "SectionMisplaced",
        "SectionsLengthMismatch",
        "LimitExceeded",
        "Unsigned",
        "UntrustedKey",
        "BadSignature",
        "DecompressedTooLarge",
        "DecompressedSizeMismatch",
        "Decompress",
        "BadIndex",
        "DuplicateAsset",
        "IndexNotSorted",
        "AssetOutOfBounds",
        "AssetMisplaced",
        "AssetsRawLenMismatch",
        "AssetHashMismatch",
        "MissingAsset",
        "PlanDecode",
        "PlanSchemaVersion",
    ] {
        assert!(covered.contains(v), "no fixture for {v}");
    }
}

// ---------------------------------------------------------------------------
// Good bundles.

#[test]
fn good_verifies_and_decodes_to_the_expected_plan() {
    let bytes = read("good.rsl");
    let trust = trust();
    let parsed = ParsedBundle::parse(&bytes, Limits::default()).unwrap();
    assert_eq!(parsed.body_start(), 0);
    assert_eq!(parsed.key_id(), Some(fx::test_key().public().id));
    let v = parsed.verify(&trust, Verification::Required).unwrap();
    assert_eq!(v.signer(), Some(fx::test_key().public().id));
    let motd = AssetId::of(fx::MOTD);
    let script = AssetId::of(fx::SCRIPT);
    let plan = v.plan().unwrap();
    assert_eq!(plan, fx::good_plan(motd, script));

    // The expected plan, spelled out.
    assert_eq!(plan.schema_version, 1);
    assert_eq!(plan.hosts.len(), 1);
    let host = plan.host("localhost").unwrap();
    let tasks = &host.plays[0].tasks;
    let modules: Vec<_> = tasks.iter().map(|t| t.module.as_str()).collect();
    assert_eq!(
        modules,
        ["command", "stat", "debug", "debug", "copy", "copy", "copy"]
    );
    assert_eq!(tasks[4].assets["src"], motd);
    assert_eq!(
        tasks[5].assets["src"], motd,
        "two copy tasks share one asset"
    );
    assert_eq!(tasks[6].assets["src"], script);
    assert_eq!(tasks[1].register.as_deref(), Some("hostname_stat"));
    assert_eq!(host.plays[0].handlers[0].name, "motd changed");

    // Stored once each, in id order.
    let ids: Vec<_> = v.assets().iter().map(|e| e.id).collect();
    let mut sorted = vec![motd, script];
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(v.asset(&motd).unwrap(), fx::MOTD);
    assert_eq!(v.asset(&script).unwrap(), fx::SCRIPT);
    v.validate_assets().unwrap();
    let t = v.trailer();
    assert_eq!(t.assets_raw_len, (fx::MOTD.len() + fx::SCRIPT.len()) as u64);
    assert_eq!(t.magic, MAGIC);

    // Asking for an asset the bundle does not have.
    let other = AssetId::of(b"not in the bundle");
    match v.asset(&other) {
        Err(BundleError::UnknownAsset(id)) => assert_eq!(id, other.to_hex()),
        r => panic!("expected UnknownAsset, got {r:?}"),
    }
}

#[test]
fn good_appended_to_a_runner_still_verifies() {
    let bytes = read("good-appended.rsl");
    let parsed = ParsedBundle::parse(&bytes, Limits::default()).unwrap();
    assert_eq!(parsed.body_start(), fx::fake_runner().len());
    let v = parsed.verify(&trust(), Verification::Required).unwrap();
    let plan = v.plan().unwrap();
    assert_eq!(
        plan,
        fx::good_plan(AssetId::of(fx::MOTD), AssetId::of(fx::SCRIPT))
    );
    v.validate_assets().unwrap();
    assert_eq!(&bytes[parsed_start(&bytes)..], &read("good.rsl")[..]);
}

fn parsed_start(bytes: &[u8]) -> usize {
    ParsedBundle::parse(bytes, Limits::default())
        .unwrap()
        .body_start()
}

// ---------------------------------------------------------------------------
// Each broken fixture: the variant and the numbers it carries.

fn good_trailer() -> rustle_bundle::Trailer {
    rustle_bundle::Trailer::decode(&read("good.rsl")).unwrap()
}

#[test]
fn truncation() {
    let n = read("good.rsl").len() as u64;
    let body = n - TRAILER_LEN as u64;

    let (stage, e) = refuse("empty.rsl");
    assert_eq!(stage, Stage::Parse);
    assert!(
        matches!(e, BundleError::Truncated { got: 0, need: 160 }),
        "{e:?}"
    );
    mentions(&e, &[0, 160]);

    let (_, e) = refuse("truncated-trailer.rsl");
    assert!(
        matches!(
            e,
            BundleError::Truncated {
                got: 100,
                need: 160
            }
        ),
        "{e:?}"
    );
    mentions(&e, &[100, 160]);

    let good = read("good.rsl");
    let (_, e) = refuse("truncated-end.rsl");
    match &e {
        BundleError::BadMagic { got, expected } => {
            assert_eq!(&got[..], &good[good.len() - 9..good.len() - 1]);
            assert_eq!(expected, b"RUSTLE01");
        }
        _ => panic!("{e:?}"),
    }
    assert!(e.to_string().contains("RUSTLE01"), "{e}");

    let (_, e) = refuse("truncated-start.rsl");
    match e {
        BundleError::BodyPastEnd {
            body_len,
            file_len,
            trailer_len,
        } => {
            assert_eq!((body_len, file_len, trailer_len), (body, n - 1, 160));
            mentions(&e, &[body, n - 1, 160]);
        }
        _ => panic!("{e:?}"),
    }
}

#[test]
fn trailer_fields() {
    let t = good_trailer();

    let (_, e) = refuse("bad-magic.rsl");
    assert!(
        matches!(e, BundleError::BadMagic { got, expected } if &got == b"RUSTLE00" && &expected == b"RUSTLE01"),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"RUSTLE00\""), "{e}");

    let (_, e) = refuse("bad-version.rsl");
    assert!(
        matches!(
            e,
            BundleError::UnsupportedVersion {
                got: 2,
                supported: 1
            }
        ),
        "{e:?}"
    );
    mentions(&e, &[2, 1]);

    let (_, e) = refuse("flip-trailer-len.rsl");
    assert!(
        matches!(
            e,
            BundleError::BadTrailerLength {
                got: 161,
                expected: 160
            }
        ),
        "{e:?}"
    );
    mentions(&e, &[161, 160]);

    let (_, e) = refuse("unknown-flags.rsl");
    assert!(
        matches!(
            e,
            BundleError::UnknownFlags {
                got: 0x0101,
                known: 0x0001
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("0x0101"), "{e}");

    let (_, e) = refuse("body-past-end.rsl");
    let n = t.body_len + TRAILER_LEN as u64;
    assert!(
        matches!(e, BundleError::BodyPastEnd { body_len, file_len, trailer_len: 160 }
            if body_len == t.body_len + 1 && file_len == n),
        "{e:?}"
    );
    mentions(&e, &[t.body_len + 1, n]);

    let (_, e) = refuse("section-past-end.rsl");
    assert!(
        matches!(e, BundleError::SectionsLengthMismatch { got, expected }
            if got == t.body_len + 1000 && expected == t.body_len),
        "{e:?}"
    );
    mentions(&e, &[t.body_len + 1000, t.body_len]);

    let (_, e) = refuse("misplaced-section.rsl");
    assert!(
        matches!(e, BundleError::SectionMisplaced { section: "index", got_offset, expected_offset }
            if got_offset == t.plan_len + 1 && expected_offset == t.plan_len),
        "{e:?}"
    );
    mentions(&e, &[t.plan_len + 1, t.plan_len]);

    let (_, e) = refuse("trailing-body-bytes.rsl");
    assert!(
        matches!(e, BundleError::SectionsLengthMismatch { got, expected }
            if got == t.body_len && expected == t.body_len + 16),
        "{e:?}"
    );
    mentions(&e, &[t.body_len, t.body_len + 16]);

    let (_, e) = refuse("limit-plan-raw.rsl");
    assert!(
        matches!(e, BundleError::LimitExceeded { what: "declared plan size", got, limit }
            if got == 1 << 40 && limit == Limits::default().max_plan_raw),
        "{e:?}"
    );
    mentions(&e, &[1 << 40, 64 << 20]);
}

#[test]
fn signatures() {
    let test_id = test_key_hex();
    for name in ["unsigned.rsl", "flip-signed-flag.rsl"] {
        let (stage, e) = refuse(name);
        assert_eq!(stage, Stage::Verify);
        assert!(matches!(e, BundleError::Unsigned), "{name}: {e:?}");
    }

    let untrusted = SecretKey::from_seed(fx::UNTRUSTED_SEED)
        .public()
        .id
        .to_string();
    let (_, e) = refuse("untrusted-key.rsl");
    assert!(
        matches!(&e, BundleError::UntrustedKey { key_id, trusted } if *key_id == untrusted && *trusted == test_id),
        "{e:?}"
    );
    assert!(e.to_string().contains(&untrusted), "{e}");

    let mut flipped = fx::key_id_of(&fx::TEST_SEED);
    flipped[0] ^= 1;
    let (_, e) = refuse("flip-key-id.rsl");
    assert!(
        matches!(&e, BundleError::UntrustedKey { key_id, .. } if *key_id == hex::encode(flipped)),
        "{e:?}"
    );

    for name in [
        "flip-signature.rsl",
        "flip-plan-raw-len.rsl",
        "flip-plan.rsl",
        "flip-index.rsl",
        "flip-asset.rsl",
    ] {
        let (stage, e) = refuse(name);
        assert_eq!(stage, Stage::Verify, "{name}");
        assert!(
            matches!(&e, BundleError::BadSignature { key_id } if *key_id == test_id),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn signed_but_bad_index() {
    let stored = fx::good_stored();
    let (len0, len1) = (stored[0].frame.len() as u64, stored[1].frame.len() as u64);

    let (stage, e) = refuse("index-not-msgpack.rsl");
    assert_eq!(stage, Stage::Verify);
    assert!(matches!(e, BundleError::BadIndex(_)), "{e:?}");

    let (_, e) = refuse("duplicate-asset.rsl");
    assert!(
        matches!(&e, BundleError::DuplicateAsset { id, first: 0, second: 1 } if *id == stored[0].id.to_hex()),
        "{e:?}"
    );

    let (_, e) = refuse("index-not-sorted.rsl");
    assert!(
        matches!(&e, BundleError::IndexNotSorted { index: 1, id } if *id == stored[0].id.to_hex()),
        "{e:?}"
    );

    let (_, e) = refuse("asset-misplaced.rsl");
    assert!(
        matches!(&e, BundleError::AssetMisplaced { id, got, expected }
            if *id == stored[1].id.to_hex() && *got == len0 + 4 && *expected == len0),
        "{e:?}"
    );
    mentions(&e, &[len0 + 4, len0]);

    let (_, e) = refuse("asset-out-of-bounds.rsl");
    assert!(
        matches!(&e, BundleError::AssetOutOfBounds { id, offset, len, section_len }
            if *id == stored[1].id.to_hex() && *offset == len0 && *len == len1 + 100
                && *section_len == len0 + len1),
        "{e:?}"
    );
    mentions(&e, &[len0, len1 + 100, len0 + len1]);

    let sum = (fx::MOTD.len() + fx::SCRIPT.len()) as u64;
    let (_, e) = refuse("raw-len-sum-mismatch.rsl");
    assert!(
        matches!(e, BundleError::AssetsRawLenMismatch { got, declared } if got == sum && declared == sum + 1),
        "{e:?}"
    );
    mentions(&e, &[sum, sum + 1]);

    let (_, e) = refuse("limit-asset-raw.rsl");
    assert!(
        matches!(e, BundleError::LimitExceeded { what: "declared asset size", got, limit }
            if got == 5 << 30 && limit == 4 << 30),
        "{e:?}"
    );
    mentions(&e, &[5 << 30, 4 << 30]);
}

#[test]
fn signed_but_bad_plan() {
    let (stage, e) = refuse("plan-schema-version.rsl");
    assert_eq!(stage, Stage::Plan);
    assert!(
        matches!(
            e,
            BundleError::PlanSchemaVersion {
                got: 2,
                supported: 1
            }
        ),
        "{e:?}"
    );
    mentions(&e, &[2, 1]);

    let (_, e) = refuse("plan-schema-v2-reshaped.rsl");
    assert!(
        matches!(
            e,
            BundleError::PlanSchemaVersion {
                got: 2,
                supported: 1
            }
        ),
        "{e:?}"
    );

    let (_, e) = refuse("plan-not-msgpack.rsl");
    assert!(matches!(e, BundleError::PlanDecode(_)), "{e:?}");

    let (_, e) = refuse("plan-too-deep.rsl");
    assert!(
        matches!(&e, BundleError::PlanDecode(m) if m.contains("depth limit")),
        "{e:?}"
    );

    let (_, e) = refuse("missing-asset.rsl");
    assert!(
        matches!(&e, BundleError::MissingAsset(id) if *id == AssetId::of(fx::SCRIPT).to_hex()),
        "{e:?}"
    );
}

#[test]
fn signed_but_bad_assets() {
    let bytes = read("decompression-bomb.rsl");
    let (stage, e) = refuse("decompression-bomb.rsl");
    assert_eq!(stage, Stage::Assets);
    let bomb = AssetId::of(&[0u8; 1024]);
    assert!(
        matches!(&e, BundleError::DecompressedTooLarge { what, declared: 1024 } if what.contains(&bomb.to_hex())),
        "{e:?}"
    );
    mentions(&e, &[1024]);
    // The signature is fine: the bomb is caught by the size cap, also when
    // the asset is read on its own.
    let v = ParsedBundle::parse(&bytes, Limits::default())
        .unwrap()
        .verify(&trust(), Verification::Required)
        .unwrap();
    assert!(v.plan().is_ok());
    assert!(matches!(
        v.asset(&bomb),
        Err(BundleError::DecompressedTooLarge { declared: 1024, .. })
    ));
    assert!(bytes.len() < 16 << 10, "the bomb is small: {}", bytes.len());

    let (_, e) = refuse("asset-hash-mismatch.rsl");
    assert!(
        matches!(&e, BundleError::AssetHashMismatch { got, expected }
            if *got == AssetId::of(fx::TAMPERED_SCRIPT).to_hex() && *expected == AssetId::of(fx::SCRIPT).to_hex()),
        "{e:?}"
    );

    let m = fx::MOTD.len() as u64;
    let (_, e) = refuse("asset-size-mismatch.rsl");
    assert!(
        matches!(&e, BundleError::DecompressedSizeMismatch { got, declared, .. } if *got == m && *declared == m + 10),
        "{e:?}"
    );
    mentions(&e, &[m, m + 10]);

    let (_, e) = refuse("asset-corrupt-zstd.rsl");
    assert!(
        matches!(&e, BundleError::Decompress { what, .. } if what.contains(&AssetId::of(fx::MOTD).to_hex())),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------
// No drift.

#[test]
fn files_on_disk_are_what_the_generator_makes_now() {
    let mut stale = Vec::new();
    let files = fx::all_files();
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir().join(name)).unwrap_or_default();
        if on_disk != *bytes {
            stale.push(name.clone());
        }
    }
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".rsl") && !files.iter().any(|(n, _)| *n == name) {
            stale.push(format!("{name} (not made by the generator)"));
        }
    }
    assert!(
        stale.is_empty(),
        "fixtures differ from what the generator makes now: {stale:?}.\n\
         If the format changed on purpose, regenerate with\n  \
         cargo run -p rustle-bundle --example make_fixtures -- tests/data/bundles"
    );
}

#[test]
fn the_spec_writer_and_the_builder_agree_byte_for_byte() {
    let from_spec = fx::assemble(&fx::good_parts(), Some(&fx::TEST_SEED), |_| {});
    assert_eq!(from_spec, fx::good_bundle());
    assert_eq!(fx::key_id_of(&fx::TEST_SEED), fx::test_key().public().id.0);
}

#[test]
fn committed_key_files_are_the_test_key() {
    let t = trust();
    assert_eq!(t.keys.len(), 1);
    assert_eq!(t.keys[0], fx::test_key().public());
    let text = String::from_utf8(read("test-key.key")).unwrap();
    assert!(text.contains("TEST-ONLY"));
    let sk = SecretKey::parse("test-key.key", &text).unwrap();
    assert_eq!(sk.public(), fx::test_key().public());
    let readme = String::from_utf8(read("README.md")).unwrap();
    assert!(readme.contains("TEST-ONLY"));
}
