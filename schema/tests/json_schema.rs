//! The checked-in `usage-event.schema.json` is what the types generate: this fails on drift.
//! Regenerate with `make schema` (runs this test with `UPDATE_SCHEMA=1`).
#![cfg(feature = "json-schema")]

use std::path::Path;

#[test]
fn checked_in_schema_matches_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("usage-event.schema.json");
    let generated = serde_json::to_string_pretty(&modelplug_schema::usage_event_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date with the UsageEvent type; run `make schema` and commit the result",
        path.display()
    );
}
