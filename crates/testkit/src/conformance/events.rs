//! The event log: the `EventStore` role.

use super::{event, T0};
use baton_core::model::Event;
use baton_core::store::{EventQuery, Store};
use baton_core::time::Dur;
use std::sync::Arc;

/// Events: filtered, newest first, paged.
pub(super) async fn event_records(s: Arc<dyn Store>) {
    let evs: Vec<Event> = (0..4)
        .map(|i| {
            event(
                if i % 2 == 0 { "a.x" } else { "b.y" },
                T0.plus(Dur(i)),
                Some("web"),
                Some(if i < 2 { "u_1" } else { "u_2" }),
            )
        })
        .collect();
    s.insert_events(evs.clone()).await.unwrap();
    let q = |f: fn(&mut EventQuery)| {
        let mut q = EventQuery {
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let all = s.list_events(&q(|_| {})).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        evs.iter().rev().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    assert_eq!(all[0], evs[3], "events read back exactly");
    assert_eq!(
        s.list_events(&q(|q| q.kind = Some("a.x".into())))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.list_events(&q(|q| q.subject = Some("u_2".into())))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.list_events(&q(|q| q.since = Some(T0.plus(Dur(2)))))
            .await
            .unwrap()
            .len(),
        2
    );
    let before = EventQuery {
        before_id: Some(evs[2].id.clone()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.list_events(&before).await.unwrap().len(), 2);
}

/// Event retention: the oldest events before a time go, in batches; newer ones stay.
pub(super) async fn event_retention(s: Arc<dyn Store>) {
    let evs: Vec<Event> = (0..5)
        .map(|i| event("a.x", T0.plus(Dur::secs(i * 10)), Some("c"), Some("u")))
        .collect();
    s.insert_events(evs.clone()).await.unwrap();
    let before = T0.plus(Dur::secs(25));
    assert_eq!(
        s.purge_events(before, 2).await.unwrap(),
        2,
        "a batch is bounded"
    );
    assert_eq!(s.purge_events(before, 2).await.unwrap(), 1);
    assert_eq!(s.purge_events(before, 2).await.unwrap(), 0);
    let left = s
        .list_events(&EventQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        vec![evs[4].id.clone(), evs[3].id.clone()]
    );
}
