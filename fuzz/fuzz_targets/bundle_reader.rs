//! Arbitrary bytes through the whole reader, as the runner uses it:
//! parse -> verify (trusted test key, and insecure skip) -> plan() ->
//! asset() for each index entry -> validate_assets(). Must never panic and
//! never allocate without bound.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rustle_bundle::{Limits, ParsedBundle, TrustStore, Verification};

fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| {
        TrustStore::parse(
            "test-key.pub",
            include_str!("../../tests/data/bundles/test-key.pub"),
        )
        .expect("test key")
    })
}

/// Smaller than `Limits::default()` so that a single input cannot make one
/// run take seconds (the checks are the same; only the numbers differ).
/// `asset()` holds a whole asset in memory, so `max_asset_raw` bounds the
/// largest allocation.
const LIMITS: Limits = Limits {
    max_plan_raw: 16 << 20,
    max_index: 1 << 20,
    max_asset_raw: 32 << 20,
    max_assets_raw: 64 << 20,
};

fuzz_target!(|data: &[u8]| {
    for mode in [Verification::Required, Verification::InsecureSkip] {
        let Ok(parsed) = ParsedBundle::parse(data, LIMITS) else {
            return;
        };
        let _ = parsed.key_id();
        let _ = parsed.body_start();
        let Ok(verified) = parsed.verify(trust(), mode) else {
            continue;
        };
        let _ = verified.plan();
        for e in verified.assets() {
            let _ = verified.asset(&e.id);
        }
        let _ = verified.validate_assets();
    }
});
