//! Build -> parse -> verify round trips: arbitrary plans and assets
//! (proptest), content-addressed dedup at scale, bundles appended to an
//! executable, and exhaustive single-byte corruption of a small bundle.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use rustle_bundle::{
    AssetId, BundleBuilder, HostPlan, Limits, ParsedBundle, Plan, PlayPlan, SecretKey, Task,
    TrustStore, Verification,
};
use serde_json::{Map, Value};

fn key() -> SecretKey {
    SecretKey::from_seed(*b"rustle-bundle-roundtrip-test-key")
}

fn trust() -> TrustStore {
    let mut t = TrustStore::new();
    t.add(key().public());
    t
}

// ---------------------------------------------------------------------------
// Strategies.

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((any::<String>(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A task whose asset references are indexes into the asset list, resolved
/// once the asset count is known.
#[derive(Debug, Clone)]
struct TaskSpec {
    task: Task,
    asset_refs: Vec<(String, Index)>,
}

fn task() -> impl Strategy<Value = TaskSpec> {
    let head = (
        any::<String>(),
        any::<String>(),
        vec((any::<String>(), json_value()), 0..4),
        vec((any::<String>(), any::<Index>()), 0..3),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
        any::<bool>(),
        any::<bool>(),
    );
    let tail = (
        any::<Option<String>>(),
        vec(any::<String>(), 0..3),
        vec(any::<String>(), 0..2),
        vec((any::<String>(), any::<String>()), 0..3),
        any::<Option<String>>(),
    );
    (head, tail).prop_map(
        |(
            (name, module, args, asset_refs, check_mode, diff, ignore_errors, no_log),
            (register, notify, listen, environment, origin),
        )| TaskSpec {
            task: Task {
                name,
                module,
                args: args.into_iter().collect(),
                assets: BTreeMap::new(),
                check_mode,
                diff,
                ignore_errors,
                no_log,
                register,
                notify,
                listen,
                environment: environment.into_iter().collect(),
                origin,
            },
            asset_refs,
        },
    )
}

type PlaySpec = (
    String,
    Vec<TaskSpec>,
    Vec<TaskSpec>,
    Option<bool>,
    Option<bool>,
);

fn plan_spec() -> impl Strategy<Value = (String, Vec<(String, Vec<PlaySpec>)>)> {
    let play = (
        any::<String>(),
        vec(task(), 0..4),
        vec(task(), 0..2),
        any::<Option<bool>>(),
        any::<Option<bool>>(),
    );
    (
        any::<String>(),
        vec((any::<String>(), vec(play, 0..3)), 0..3),
    )
}

fn resolve(t: TaskSpec, ids: &[AssetId]) -> Task {
    let mut task = t.task;
    if !ids.is_empty() {
        for (name, i) in t.asset_refs {
            task.assets.insert(name, ids[i.index(ids.len())]);
        }
    }
    task
}

fn make_plan(spec: (String, Vec<(String, Vec<PlaySpec>)>), ids: &[AssetId]) -> Plan {
    let (source, hosts) = spec;
    let mut plan = Plan::new(source);
    for (name, plays) in hosts {
        plan.hosts.push(HostPlan {
            name,
            plays: plays
                .into_iter()
                .map(|(name, tasks, handlers, check_mode, diff)| PlayPlan {
                    name,
                    tasks: tasks.into_iter().map(|t| resolve(t, ids)).collect(),
                    handlers: handlers.into_iter().map(|t| resolve(t, ids)).collect(),
                    check_mode,
                    diff,
                })
                .collect(),
        });
    }
    plan
}

fn check_bundle(bytes: &[u8], signed: bool, plan: &Plan, assets: &BTreeMap<AssetId, Vec<u8>>) {
    let parsed = ParsedBundle::parse(bytes, Limits::default()).unwrap();
    let mode = if signed {
        Verification::Required
    } else {
        Verification::InsecureSkip
    };
    let v = parsed.verify(&trust(), mode).unwrap();
    assert_eq!(v.signer(), signed.then(|| key().public().id));
    assert_eq!(&v.plan().unwrap(), plan);
    let ids: Vec<_> = v.assets().iter().map(|e| e.id).collect();
    assert_eq!(ids, assets.keys().copied().collect::<Vec<_>>());
    for (id, data) in assets {
        assert_eq!(&v.asset(id).unwrap(), data);
    }
    v.validate_assets().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_plans_and_assets_round_trip(
        spec in plan_spec(),
        assets in vec(vec(any::<u8>(), 0..1500), 0..5),
        again in vec(any::<Index>(), 0..4),
        prefix in vec(any::<u8>(), 0..3000),
        signed in any::<bool>(),
    ) {
        let mut b = BundleBuilder::new(Plan::new(""));
        let ids: Vec<AssetId> = assets.iter().map(|a| b.add_asset(a.clone())).collect();
        // The same bytes added again are stored once.
        if !assets.is_empty() {
            for i in &again {
                let a = &assets[i.index(assets.len())];
                prop_assert_eq!(b.add_asset(a.clone()), AssetId::of(a));
            }
        }
        let distinct: BTreeMap<AssetId, Vec<u8>> =
            assets.iter().map(|a| (AssetId::of(a), a.clone())).collect();
        prop_assert_eq!(b.asset_count(), distinct.len());

        let plan = make_plan(spec, &ids);
        *b.plan_mut() = plan.clone();
        let key = key();
        let bytes = b.build(signed.then_some(&key)).unwrap();
        check_bundle(&bytes, signed, &plan, &distinct);

        // Appended to an arbitrary "executable".
        let mut app = prefix.clone();
        app.extend_from_slice(&bytes);
        prop_assert_eq!(
            ParsedBundle::parse(&app, Limits::default()).unwrap().body_start(),
            prefix.len()
        );
        check_bundle(&app, signed, &plan, &distinct);
    }
}

#[test]
fn write_to_appends_to_a_runner_and_makes_it_executable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut b = BundleBuilder::new(Plan::new("x.yml"));
    let id = b.add_asset(&b"asset"[..]);
    b.plan_mut().hosts.push(HostPlan {
        name: "h".into(),
        plays: vec![PlayPlan {
            name: "p".into(),
            tasks: vec![Task::new("t", "copy").asset("src", id)],
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    let runner = b"#!/bin/false\nnot really a runner\n";
    let path = dir.path().join("app");
    b.write_to(&path, Some(&key()), Some(runner)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(runner));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "mode {mode:o}");
    let assets = BTreeMap::from([(id, b"asset".to_vec())]);
    check_bundle(&bytes, true, b.plan(), &assets);
    // Only the bundle was written: no temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["app"]);
}

// ---------------------------------------------------------------------------
// Dedup at scale.

/// Incompressible bytes from a fixed seed (splitmix64).
fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(n);
    out
}

#[test]
fn fifty_hosts_copying_one_10mb_asset_store_it_once() {
    const SIZE: usize = 10 * 1024 * 1024;
    let data = random_bytes(SIZE, 50);
    let mut b = BundleBuilder::new(Plan::new("fifty.yml"));
    for h in 0..50 {
        // As a controller would: every host's copy task adds its source.
        let id = b.add_asset(data.clone());
        b.plan_mut().hosts.push(HostPlan {
            name: format!("web{h:02}.example.com"),
            plays: vec![PlayPlan {
                name: "deploy".into(),
                tasks: vec![Task::new("copy the payload", "copy")
                    .arg("src", "files/payload.bin")
                    .arg("dest", "/srv/payload.bin")
                    .asset("src", id)],
                handlers: vec![],
                check_mode: None,
                diff: None,
            }],
        });
    }
    assert_eq!(b.asset_count(), 1);
    let bytes = b.build(Some(&key())).unwrap();
    let overhead = bytes.len() as i64 - SIZE as i64;
    assert!(
        overhead < 64 * 1024,
        "bundle is {} bytes for a {SIZE}-byte asset (overhead {overhead})",
        bytes.len()
    );

    let v = ParsedBundle::parse(&bytes, Limits::default())
        .unwrap()
        .verify(&trust(), Verification::Required)
        .unwrap();
    assert_eq!(v.assets().len(), 1);
    let id = AssetId::of(&data);
    let plan = v.plan().unwrap();
    assert_eq!(plan.hosts.len(), 50);
    let refs: BTreeSet<_> = plan
        .hosts
        .iter()
        .map(|h| h.plays[0].tasks[0].assets["src"])
        .collect();
    assert_eq!(refs, BTreeSet::from([id]));
    v.validate_assets().unwrap();
    assert!(v.asset(&id).unwrap() == data);
}

// ---------------------------------------------------------------------------
// The signature covers everything but itself.

fn tiny_bundle() -> Vec<u8> {
    let mut b = BundleBuilder::new(Plan::new("t"));
    let id = b.add_asset(&b"x"[..]);
    b.plan_mut().hosts.push(HostPlan {
        name: "h".into(),
        plays: vec![PlayPlan {
            name: "p".into(),
            tasks: vec![Task::new("t", "copy").asset("src", id)],
            handlers: vec![],
            check_mode: None,
            diff: None,
        }],
    });
    b.build(Some(&key())).unwrap()
}

#[test]
fn flipping_any_byte_of_a_signed_bundle_is_refused() {
    let good = tiny_bundle();
    assert!(good.len() < 600, "tiny bundle is {} bytes", good.len());
    let trust = trust();
    let accepts = |bytes: &[u8]| {
        ParsedBundle::parse(bytes, Limits::default())
            .and_then(|p| p.verify(&trust, Verification::Required))
            .is_ok()
    };
    assert!(accepts(&good));
    let mut accepted = Vec::new();
    for i in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            if accepts(&bad) {
                accepted.push((i, mask));
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted after flipping (offset, mask): {accepted:?} (file is {} bytes)",
        good.len()
    );
}

#[test]
fn trailing_or_missing_bytes_are_refused() {
    let good = tiny_bundle();
    let trust = trust();
    let accepts = |bytes: &[u8]| {
        ParsedBundle::parse(bytes, Limits::default())
            .and_then(|p| p.verify(&trust, Verification::Required))
            .is_ok()
    };
    for cut in 1..good.len() {
        assert!(!accepts(&good[..good.len() - cut]), "cut {cut} at the end");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(!accepts(&longer));
    // Bytes removed from the start of the body: the declared body no
    // longer fits (removing bytes from a prefix is of course fine).
    assert!(!accepts(&good[1..]));
}
