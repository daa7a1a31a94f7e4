//! The event log: the `EventStore` role.

use super::{event, T0};
use baton_core::model::{Event, GrantId};
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
    let ids = |evs: Vec<Event>| evs.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s
            .list_events(&q(|q| q.until = Some(T0.plus(Dur(2)))))
            .await
            .unwrap()),
        vec![evs[1].id.clone(), evs[0].id.clone()],
        "until is exclusive"
    );
    assert_eq!(
        ids(s
            .list_events(&q(|q| {
                q.since = Some(T0.plus(Dur(1)));
                q.until = Some(T0.plus(Dur(3)));
            }))
            .await
            .unwrap()),
        vec![evs[2].id.clone(), evs[1].id.clone()],
        "a time range"
    );
}

/// A grant's events: only that grant's, newest first, with the other filters and paging.
pub(super) async fn events_of_a_grant(s: Arc<dyn Store>) {
    let (g1, g2) = (GrantId([1; 16]), GrantId([2; 16]));
    let evs: Vec<Event> = [
        ("grant.created", Some(g1)),
        ("grant.created", Some(g2)),
        ("token.reuse_detected", Some(g1)),
        ("login.succeeded", None),
        ("grant.revoked", Some(g1)),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (kind, g))| Event {
        grant_id: g,
        ..event(kind, T0.plus(Dur(i as i64)), Some("web"), Some("u_1"))
    })
    .collect();
    s.insert_events(evs.clone()).await.unwrap();
    let q = |g: GrantId| EventQuery {
        grant_id: Some(g),
        limit: 10,
        ..Default::default()
    };
    let of_g1 = s.list_events(&q(g1)).await.unwrap();
    assert_eq!(of_g1, vec![evs[4].clone(), evs[2].clone(), evs[0].clone()]);
    assert_eq!(s.list_events(&q(g2)).await.unwrap(), vec![evs[1].clone()]);
    assert!(s
        .list_events(&q(GrantId([3; 16])))
        .await
        .unwrap()
        .is_empty());
    let reuse = EventQuery {
        kind: Some("token.reuse_detected".into()),
        ..q(g1)
    };
    assert_eq!(s.list_events(&reuse).await.unwrap(), vec![evs[2].clone()]);
    let older = EventQuery {
        before_id: Some(evs[2].id.clone()),
        limit: 1,
        ..q(g1)
    };
    assert_eq!(s.list_events(&older).await.unwrap(), vec![evs[0].clone()]);
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
