//! Retention: events past `events_retention_days` are deleted while their rollups stay, so
//! reports over old whole days still add up; the rollup mark follows when every event is gone.

mod common;

use common::{event, now_ms};
use modelplug_collector::event::StoredEvent;
use modelplug_collector::report::{self, ReportQuery};
use modelplug_collector::store::IngestBatch;
use modelplug_collector::{DbUrl, Store, StoreOptions};
use serde_json::value::RawValue;

const DAY: i64 = 86_400_000;

fn stored(ts_ms: i64, i: u64) -> StoredEvent {
    let raw = RawValue::from_string(event("app-r", ts_ms, i).to_string()).unwrap();
    StoredEvent::parse(&raw, now_ms() as u64).unwrap()
}

async fn requests(store: &Store, from: i64, to: i64) -> (i64, usize) {
    let pairs = vec![
        ("from".to_owned(), from.to_string()),
        ("to".to_owned(), to.to_string()),
    ];
    let r = report::run(store, &ReportQuery::from_pairs(&pairs, now_ms(), &[]).unwrap())
        .await
        .unwrap();
    (r.totals["requests"].as_i64().unwrap(), r.raw_events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_go_their_rollups_stay_and_new_events_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbUrl::Sqlite(dir.path().join("r.db")), &StoreOptions::default())
        .await
        .unwrap();
    let now = now_ms();
    let old_day = now - now.rem_euclid(DAY) - 120 * DAY;
    let old: Vec<StoredEvent> = (0..50)
        .map(|i| stored(old_day + 3_600_000 + i as i64 * 1000, i))
        .collect();
    let batch = IngestBatch {
        key_id: "k".into(),
        received_ms: now,
        events: old,
        dropped: None,
        rollups: None,
    };
    store.ingest(batch).await.unwrap();
    store.flush_rollups().await.unwrap();
    assert_eq!(requests(&store, old_day, old_day + DAY).await, (50, 0));

    // Events kept 90 days, rollups 400: the events go, the whole day still reports.
    let (events, rollups) = store
        .delete_before(now - 90 * DAY, now - 400 * DAY)
        .await
        .unwrap();
    assert_eq!((events, rollups), (50, 0));
    assert_eq!(store.count_events().await.unwrap(), 0);
    assert_eq!(requests(&store, old_day, old_day + DAY).await, (50, 0));

    // Every event gone: the next ones start at seq 1 again and are still counted at once.
    let fresh: Vec<StoredEvent> = (0..5).map(|i| stored(now - 60_000, 100 + i)).collect();
    store
        .ingest(IngestBatch {
            key_id: "k".into(),
            received_ms: now,
            events: fresh,
            dropped: None,
            rollups: None,
        })
        .await
        .unwrap();
    assert_eq!(requests(&store, now - 2 * DAY, now + 1).await.0, 5);
    store.close().await;
}
