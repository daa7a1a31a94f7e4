//! Grants: the `GrantStore` role, which the main store and the caches share.

use super::{event, grant, why, T0};
use baton_core::model::{GrantId, GrantStatus};
use baton_core::store::{EventQuery, GrantFilter, GrantStore, Store};
use baton_core::time::Dur;
use std::sync::Arc;

/// Grants: insert, read back exactly, CAS advance, touch, revoke, list.
pub(super) async fn grant_lifecycle(s: Arc<dyn GrantStore>) {
    let g = grant("c1", "s1", Some("sess1"), T0);
    s.insert_grant(&g, event("grant.created", T0, Some("c1"), Some("s1")))
        .await
        .unwrap();
    assert_eq!(
        s.get_grant(g.id).await.unwrap().as_ref(),
        Some(&g),
        "read back exactly"
    );
    assert_eq!(s.get_grant(GrantId([0; 16])).await.unwrap(), None);
    assert!(
        s.insert_grant(&g, event("grant.created", T0, None, None))
            .await
            .is_err(),
        "duplicate id refused"
    );

    let t1 = T0.plus(Dur(1));
    assert!(s.advance(g.id, 1, t1).await.unwrap());
    assert!(
        !s.advance(g.id, 1, t1).await.unwrap(),
        "stale expected generation"
    );
    assert!(
        !s.advance(GrantId([9; 16]), 1, t1).await.unwrap(),
        "unknown grant"
    );
    let after = s.get_grant(g.id).await.unwrap().unwrap();
    assert_eq!(
        (
            after.generation,
            after.generation_started_at,
            after.last_used_at
        ),
        (2, t1, t1)
    );

    s.touch(g.id, T0.plus(Dur::secs(60))).await.unwrap();
    s.touch(g.id, T0.plus(Dur::secs(10))).await.unwrap();
    assert_eq!(
        s.get_grant(g.id).await.unwrap().unwrap().last_used_at,
        T0.plus(Dur::secs(60)),
        "touch never goes back"
    );

    let ids = s
        .revoke(&GrantFilter::Grant(g.id), &why("test"))
        .await
        .unwrap();
    assert_eq!(ids, vec![g.id]);
    assert!(
        s.revoke(&GrantFilter::Grant(g.id), &why("again"))
            .await
            .unwrap()
            .is_empty(),
        "revoking twice revokes nothing"
    );
    match s.get_grant(g.id).await.unwrap().unwrap().status {
        GrantStatus::Revoked { reason, .. } => assert_eq!(reason, "test", "the first reason stays"),
        other => panic!("not revoked: {other:?}"),
    }
    assert!(
        !s.advance(g.id, 2, t1).await.unwrap(),
        "a revoked grant never advances"
    );
}

/// Exactly one of many concurrent advances from the same generation wins.
pub(super) async fn advance_race(s: Arc<dyn GrantStore>) {
    let g = grant("c1", "s1", None, T0);
    s.insert_grant(&g, event("grant.created", T0, None, None))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.advance(g.id, 1, T0.plus(Dur(5))).await.unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += t.await.unwrap() as u32;
    }
    assert_eq!(wins, 1);
    assert_eq!(s.get_grant(g.id).await.unwrap().unwrap().generation, 2);
}

/// Bulk revocation filters hit exactly what they name.
pub(super) async fn revoke_filters(s: Arc<dyn GrantStore>) {
    let a = grant("c1", "alice", Some("sa"), T0);
    let b = grant("c2", "alice", Some("sa"), T0.plus(Dur(1)));
    let c = grant("c1", "bob", Some("sb"), T0.plus(Dur(2)));
    let mut d = grant("c1", "alice", Some("sa2"), T0.plus(Dur(3)));
    d.online = true;
    for g in [&a, &b, &c, &d] {
        s.insert_grant(g, event("grant.created", T0, None, None))
            .await
            .unwrap();
    }
    let sorted = |mut v: Vec<GrantId>| {
        v.sort();
        v
    };
    let online = s
        .revoke(&GrantFilter::SessionOnline("sa".into()), &why("x"))
        .await
        .unwrap();
    assert!(online.is_empty(), "no online grant in sa");
    let r = s
        .revoke(
            &GrantFilter::SessionClients {
                session_id: "sa".into(),
                client_ids: vec!["c2".into()],
            },
            &why("logout"),
        )
        .await
        .unwrap();
    assert_eq!(r, vec![b.id]);
    let r = s
        .revoke(&GrantFilter::SessionOnline("sa2".into()), &why("x"))
        .await
        .unwrap();
    assert_eq!(r, vec![d.id]);
    let r = s
        .revoke(
            &GrantFilter::ClientSubject {
                client_id: "c1".into(),
                subject: "alice".into(),
            },
            &why("cu"),
        )
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![a.id],
        "already-revoked grants are not counted again"
    );
    let r = s
        .revoke(&GrantFilter::Subject("bob".into()), &why("s"))
        .await
        .unwrap();
    assert_eq!(sorted(r), vec![c.id]);
    assert!(s
        .revoke(&GrantFilter::Client("c1".into()), &why("c"))
        .await
        .unwrap()
        .is_empty());
}

/// Listing: newest first, filtered, paged with `after`.
pub(super) async fn list_grants(s: Arc<dyn GrantStore>) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let g = grant(
            if i % 2 == 0 { "c1" } else { "c2" },
            "alice",
            None,
            T0.plus(Dur(i)),
        );
        s.insert_grant(&g, event("grant.created", T0, None, None))
            .await
            .unwrap();
        ids.push(g.id);
    }
    let all = s.list_grants(None, None, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|g| g.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    let c1 = s
        .list_grants(Some(&GrantFilter::Client("c1".into())), None, 100)
        .await
        .unwrap();
    assert_eq!(c1.len(), 3);
    let page1 = s.list_grants(None, None, 2).await.unwrap();
    let page2 = s.list_grants(None, Some(page1[1].id), 2).await.unwrap();
    let page3 = s.list_grants(None, Some(page2[1].id), 2).await.unwrap();
    let paged: Vec<GrantId> = page1
        .iter()
        .chain(&page2)
        .chain(&page3)
        .map(|g| g.id)
        .collect();
    assert_eq!(paged, ids.iter().rev().copied().collect::<Vec<_>>());
}

/// Revocation commits its `grant.revoked` events (and extra events) with it.
pub(super) async fn revocation_events(s: Arc<dyn Store>) {
    let g = grant("c1", "alice", None, T0);
    s.insert_grant(&g, event("grant.created", T0, Some("c1"), Some("alice")))
        .await
        .unwrap();
    let mut w = why("reuse_detected");
    w.extra_events
        .push(event("token.reuse_detected", T0, Some("c1"), Some("alice")));
    s.revoke(&GrantFilter::Grant(g.id), &w).await.unwrap();
    let q = |k: &str| EventQuery {
        kind: Some(k.into()),
        limit: 10,
        ..Default::default()
    };
    let revoked = s.list_events(&q("grant.revoked")).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].grant_id, Some(g.id));
    assert_eq!(revoked[0].details["reason"], "reuse_detected");
    assert_eq!(revoked[0].details.get("actor"), None, "nobody asked");
    // A revocation someone signed in asked for names them.
    let h = grant("c1", "bob", None, T0);
    s.insert_grant(&h, event("grant.created", T0, Some("c1"), Some("bob")))
        .await
        .unwrap();
    let by_admin = baton_core::store::Revocation {
        actor: Some(serde_json::json!({"via": "console", "username": "root"})),
        ..why("admin")
    };
    s.revoke(&GrantFilter::Grant(h.id), &by_admin)
        .await
        .unwrap();
    let revoked = s.list_events(&q("grant.revoked")).await.unwrap();
    assert_eq!(revoked.len(), 2);
    let of_h = revoked.iter().find(|e| e.grant_id == Some(h.id)).unwrap();
    assert_eq!(
        of_h.details,
        serde_json::json!({"reason": "admin", "actor": {"via": "console", "username": "root"}})
    );
    assert_eq!(
        s.list_events(&q("token.reuse_detected"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.list_events(&q("grant.created")).await.unwrap().len(), 2);
}

/// Grants: `bind_key` binds an unbound grant once (RFC 9449 §5), never rebinds a
/// bound one, never creates a grant; of concurrent binds with different keys, one wins.
pub(super) async fn key_binding(s: Arc<dyn GrantStore>) {
    let bound = grant("c1", "s1", None, T0);
    let mut unbound = grant("c1", "s1", None, T0);
    unbound.dpop_jkt = None;
    for g in [&bound, &unbound] {
        s.insert_grant(g, event("grant.created", T0, Some("c1"), Some("s1")))
            .await
            .unwrap();
    }
    assert!(
        !s.bind_key(bound.id, "other-key").await.unwrap(),
        "already bound"
    );
    assert_eq!(
        s.get_grant(bound.id).await.unwrap().unwrap().dpop_jkt,
        bound.dpop_jkt,
        "a bound grant keeps its key"
    );
    assert!(
        !s.bind_key(GrantId([7; 16]), "k").await.unwrap(),
        "unknown grant"
    );
    assert_eq!(
        s.get_grant(GrantId([7; 16])).await.unwrap(),
        None,
        "nothing created"
    );
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (s, id) = (s.clone(), unbound.id);
        tasks.push(tokio::spawn(async move {
            let k = format!("key-{i}");
            s.bind_key(id, &k).await.unwrap().then_some(k)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        s.get_grant(unbound.id).await.unwrap().unwrap().dpop_jkt,
        Some(winners[0].clone())
    );
}

/// A grant's resources (RFC 8707) round-trip in order, with a claims snapshot that
/// holds the user's roles and groups; rotation and revocation keep them, lists carry
/// them, and a grant without any reads back with none.
pub(super) async fn grant_resources(s: Arc<dyn GrantStore>) {
    let mut g = grant("c1", "s1", None, T0);
    g.resources = vec![
        "urn:example:orders".into(),
        "https://api.example.com/invoices".into(),
    ];
    g.update_claims = false;
    g.claims_snapshot = Some(
        serde_json::json!({"email": "a@example.com", "roles": ["admin"], "groups": ["finance"]})
            .to_string(),
    );
    let plain = grant("c1", "s1", None, T0.plus(Dur(1)));
    for x in [&g, &plain] {
        s.insert_grant(x, event("grant.created", T0, Some("c1"), Some("s1")))
            .await
            .unwrap();
    }
    assert_eq!(s.get_grant(g.id).await.unwrap().as_ref(), Some(&g));
    let back = s.get_grant(plain.id).await.unwrap().unwrap();
    assert!(back.resources.is_empty(), "{:?}", back.resources);
    assert!(s.advance(g.id, 1, T0.plus(Dur(5))).await.unwrap());
    let after = s.get_grant(g.id).await.unwrap().unwrap();
    assert_eq!(
        (&after.resources, &after.claims_snapshot),
        (&g.resources, &g.claims_snapshot),
        "rotation keeps them"
    );
    let listed = s.list_grants(None, None, 10).await.unwrap();
    let mine = listed.iter().find(|x| x.id == g.id).unwrap();
    assert_eq!(mine.resources, g.resources);
    s.revoke(&GrantFilter::Grant(g.id), &why("test"))
        .await
        .unwrap();
    let revoked = s.get_grant(g.id).await.unwrap().unwrap();
    assert_eq!(revoked.resources, g.resources, "revocation keeps them");
}
