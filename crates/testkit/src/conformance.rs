//! The store conformance suite: behaviour every backend must show, written once against
//! the `GrantStore` / `Store` traits. Each backend's test calls these with a fresh store.

use baton_core::model::{
    AuthCode, AuthMethod, Client, CodeUse, Event, Grant, GrantId, GrantStatus, ReferenceToken,
    Session, User,
};
use baton_core::policy::RefreshOverrides;
use baton_core::store::{EventQuery, GrantFilter, GrantStore, Revocation, Store};
use baton_core::time::{Dur, Timestamp};
use std::sync::Arc;

pub const T0: Timestamp = Timestamp(1_800_000_000_000);

pub fn grant(client: &str, subject: &str, session: Option<&str>, created: Timestamp) -> Grant {
    Grant {
        id: GrantId(baton_core::random_bytes()),
        client_id: client.into(),
        subject: subject.into(),
        scope: "openid offline_access".into(),
        session_id: session.map(str::to_string),
        online: false,
        auth_time: created,
        created_at: created,
        expires_at: Some(created.plus(Dur::secs(86_400))),
        sliding: Some(Dur::secs(3600)),
        last_used_at: created,
        generation: 1,
        generation_started_at: created,
        rotate: true,
        grace: Dur::secs(30),
        update_claims: true,
        claims_snapshot: None,
        cached: false,
        status: GrantStatus::Active,
    }
}

pub fn event(kind: &str, t: Timestamp, client: Option<&str>, subject: Option<&str>) -> Event {
    Event {
        id: baton_core::event_id(t),
        kind: kind.into(),
        time: t,
        client_id: client.map(str::to_string),
        subject: subject.map(str::to_string),
        grant_id: None,
        ip: Some("127.0.0.1".into()),
        user_agent: Some("conformance".into()),
        details: serde_json::json!({"n": 1}),
    }
}

fn why(reason: &str) -> Revocation {
    Revocation {
        reason: reason.into(),
        now: T0.plus(Dur::secs(5)),
        ip: None,
        user_agent: None,
        extra_events: vec![],
    }
}

/// Grants: insert, read back exactly, CAS advance, touch, revoke, list.
pub async fn grant_lifecycle(s: &dyn GrantStore) {
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
pub async fn advance_race(s: Arc<dyn GrantStore>) {
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
pub async fn revoke_filters(s: &dyn GrantStore) {
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
pub async fn list_grants(s: &dyn GrantStore) {
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

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        client_name: Some("Name".into()),
        secret_sha256: Some([7; 32]),
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: vec!["https://a.example/cb".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![baton_core::model::GrantType::AuthorizationCode],
        scopes: vec!["openid".into()],
        access_token_format: None,
        id_token_alg: baton_core::model::SigAlg::RS256,
        introspect_any: false,
        jwks: None,
        refresh: RefreshOverrides {
            grace_period: Some(Dur::secs(5)),
            ..Default::default()
        },
        active: true,
        created_at: T0,
        dynamically_registered: true,
    }
}

/// Clients, users, sessions, consents, codes, events, JWT revocations, reference tokens.
pub async fn records(s: &dyn Store) {
    s.ping().await.unwrap();
    // Clients round-trip, including their refresh overrides.
    let c = client("web");
    s.insert_client(&c).await.unwrap();
    assert!(
        matches!(
            s.insert_client(&c).await,
            Err(baton_core::error::StoreError::Conflict(_))
        ),
        "insert refuses a taken id"
    );
    s.upsert_client(&c).await.unwrap();
    assert_eq!(s.get_client("web").await.unwrap().as_ref(), Some(&c));
    let mut c2 = c.clone();
    c2.active = false;
    s.upsert_client(&c2).await.unwrap();
    assert!(!s.get_client("web").await.unwrap().unwrap().active);
    assert_eq!(s.list_clients().await.unwrap().len(), 1);
    assert!(s.delete_client("web").await.unwrap());
    assert!(!s.delete_client("web").await.unwrap());

    // Users: by name and by sub; a rename keeps the sub; usernames are unique.
    let mut u = User {
        sub: "u_1".into(),
        username: "alice".into(),
        password_hash: "$argon2id$x".into(),
        active: true,
        claims: serde_json::Map::new(),
        created_at: T0,
    };
    u.claims.insert("email".into(), "a@example.com".into());
    s.upsert_user(&u).await.unwrap();
    assert_eq!(s.get_user("alice").await.unwrap().as_ref(), Some(&u));
    u.username = "alice2".into();
    s.upsert_user(&u).await.unwrap();
    assert!(s.get_user("alice").await.unwrap().is_none());
    assert_eq!(
        s.get_user_by_sub("u_1").await.unwrap().unwrap().username,
        "alice2"
    );
    let clash = User {
        sub: "u_2".into(),
        ..u.clone()
    };
    assert!(s.upsert_user(&clash).await.is_err(), "usernames are unique");

    // Sessions end once; expired ones are listed.
    let sess = Session {
        id: "sess".into(),
        subject: "u_1".into(),
        auth_time: T0,
        created_at: T0,
        last_seen_at: T0,
        expires_at: T0.plus(Dur::secs(60)),
        ended_at: None,
    };
    s.insert_session(&sess).await.unwrap();
    assert!(s.list_expired_sessions(T0, 10).await.unwrap().is_empty());
    assert_eq!(
        s.list_expired_sessions(T0.plus(Dur::secs(61)), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.list_live_sessions("u_1", T0).await.unwrap().len(), 1);
    assert!(
        s.list_live_sessions("u_1", T0.plus(Dur::secs(61)))
            .await
            .unwrap()
            .is_empty(),
        "expired"
    );
    assert!(s.list_live_sessions("u_2", T0).await.unwrap().is_empty());
    assert!(s
        .end_session("sess", T0.plus(Dur::secs(1)))
        .await
        .unwrap()
        .is_some());
    assert!(
        s.end_session("sess", T0.plus(Dur::secs(2)))
            .await
            .unwrap()
            .is_none(),
        "ends once"
    );
    assert!(!s
        .get_session("sess")
        .await
        .unwrap()
        .unwrap()
        .is_live(T0.plus(Dur::secs(3))));

    // Consents accumulate.
    s.add_consent("u_1", "web", &["openid".into()])
        .await
        .unwrap();
    s.add_consent("u_1", "web", &["email".into(), "openid".into()])
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u_1", "web").await.unwrap(),
        vec!["openid".to_string(), "email".to_string()]
    );
    assert!(s.get_consent("u_1", "other").await.unwrap().is_empty());

    // Codes are consumed exactly once.
    let code = AuthCode {
        digest: [3; 32],
        client_id: "web".into(),
        redirect_uri: "https://a.example/cb".into(),
        scope: "openid".into(),
        subject: "u_1".into(),
        session_id: "sess".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        auth_time: T0,
        expires_at: T0.plus(Dur::secs(60)),
        used: None,
    };
    s.insert_code(&code).await.unwrap();
    assert_eq!(s.get_code(&[3; 32]).await.unwrap().as_ref(), Some(&code));
    let use1 = CodeUse {
        at: T0,
        grant_id: Some(GrantId([1; 16])),
        access_jti: Some("j1".into()),
        access_exp: Some(T0),
    };
    let first = s.consume_code(&[3; 32], &use1).await.unwrap().unwrap();
    assert!(first.used.is_none());
    let second = s
        .consume_code(
            &[3; 32],
            &CodeUse {
                at: T0,
                grant_id: None,
                access_jti: None,
                access_exp: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        second.used,
        Some(use1),
        "a replay sees what the first use issued"
    );
    assert!(s
        .consume_code(
            &[4; 32],
            &CodeUse {
                at: T0,
                grant_id: None,
                access_jti: None,
                access_exp: None
            }
        )
        .await
        .unwrap()
        .is_none());

    // Events: filtered, newest first, paged.
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

    // Revoked JWT ids and reference tokens; purge drops the expired ones.
    assert!(
        s.revoke_jti("jti-1", T0.plus(Dur::secs(10))).await.unwrap(),
        "first record"
    );
    assert!(
        !s.revoke_jti("jti-1", T0.plus(Dur::secs(10))).await.unwrap(),
        "already there"
    );
    assert!(s.is_jti_revoked("jti-1").await.unwrap());
    assert!(!s.is_jti_revoked("jti-2").await.unwrap());
    let rt = ReferenceToken {
        digest: [5; 32],
        jti: "r1".into(),
        client_id: "web".into(),
        subject: Some("u_1".into()),
        scope: "openid".into(),
        grant_id: None,
        session_id: None,
        auth_time: Some(T0),
        issued_at: T0,
        expires_at: T0.plus(Dur::secs(10)),
        revoked: false,
    };
    s.insert_reference_token(&rt).await.unwrap();
    assert_eq!(
        s.get_reference_token(&[5; 32]).await.unwrap().as_ref(),
        Some(&rt)
    );
    assert!(s.revoke_reference_token(&[5; 32]).await.unwrap());
    assert!(
        s.get_reference_token(&[5; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    let purged = s.purge_expired(T0.plus(Dur::secs(11)), 100).await.unwrap();
    assert_eq!(purged, 2, "the revoked jti and the reference token");
    assert!(!s.is_jti_revoked("jti-1").await.unwrap());
    let purged = s
        .purge_expired(T0.plus(Dur::secs(60 + 601)), 100)
        .await
        .unwrap();
    assert_eq!(purged, 1, "the code, ten minutes after its expiry");
}

/// Revocation commits its `grant.revoked` events (and extra events) with it.
pub async fn revocation_events(s: &dyn Store) {
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
    assert_eq!(
        s.list_events(&q("token.reuse_detected"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.list_events(&q("grant.created")).await.unwrap().len(), 1);
}

/// Bulk revocations record their markers with the main store's revocation (and its
/// events); the latest marker among a cached grant's scopes is found; an older one
/// never replaces a newer; a single grant writes none.
pub async fn revocation_markers(s: &dyn Store) {
    use baton_core::store::{grant_marker_scopes, marker_scopes};
    let g = grant("c1", "alice", Some("sa"), T0);
    s.insert_grant(&g, event("grant.created", T0, Some("c1"), Some("alice")))
        .await
        .unwrap();
    let mut cached = grant("c1", "alice", Some("sa"), T0);
    cached.cached = true;
    let scopes = grant_marker_scopes(&cached);
    assert_eq!(s.revocation_marker(&scopes).await.unwrap(), None);
    assert!(s.revocation_marker(&[]).await.unwrap().is_none());

    let cs = GrantFilter::ClientSubject {
        client_id: "c1".into(),
        subject: "alice".into(),
    };
    let ids = s.revoke_marking(&cs, &why("reuse_detected")).await.unwrap();
    assert_eq!(ids, vec![g.id], "the main store's grant is revoked too");
    let m = s.revocation_marker(&scopes).await.unwrap().unwrap();
    assert_eq!(m.at, why("x").now);
    assert_eq!(m.reason, "reuse_detected");

    // A later logout of session sa for c1 replaces nothing of cs, adds its own.
    let mut later = why("session_ended:logout");
    later.now = T0.plus(Dur::secs(60));
    let sc = GrantFilter::SessionClients {
        session_id: "sa".into(),
        client_ids: vec!["c1".into(), "c2".into()],
    };
    assert!(s.revoke_marking(&sc, &later).await.unwrap().is_empty());
    let m = s.revocation_marker(&scopes).await.unwrap().unwrap();
    assert_eq!(
        (m.at, m.reason.as_str()),
        (later.now, "session_ended:logout")
    );
    // An older revocation of the same scope does not move the marker back.
    let mut older = why("old");
    older.now = T0.plus(Dur::secs(1));
    s.revoke_marking(&sc, &older).await.unwrap();
    let sc_only = marker_scopes(&sc);
    let m = s.revocation_marker(&sc_only[..1]).await.unwrap().unwrap();
    assert_eq!(m.at, later.now);

    // Other scopes are untouched; a single grant writes no marker.
    let mut bob = grant("c2", "bob", Some("sb"), T0);
    bob.cached = true;
    let bob_scopes = grant_marker_scopes(&bob);
    assert_eq!(s.revocation_marker(&bob_scopes).await.unwrap(), None);
    s.revoke_marking(&GrantFilter::Grant(bob.id), &why("x"))
        .await
        .unwrap();
    assert_eq!(s.revocation_marker(&bob_scopes).await.unwrap(), None);
    s.revoke_marking(&GrantFilter::Client("c2".into()), &why("client_deleted"))
        .await
        .unwrap();
    let m = s.revocation_marker(&bob_scopes).await.unwrap().unwrap();
    assert_eq!(m.reason, "client_deleted");
    let q = EventQuery {
        kind: Some("grant.revoked".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(s.list_events(&q).await.unwrap().len(), 1);
}

/// Of many concurrent exchanges of one code exactly one sees it unused, and every
/// other sees what that one recorded.
pub async fn code_race(s: Arc<dyn Store>) {
    let code = AuthCode {
        digest: [8; 32],
        client_id: "web".into(),
        redirect_uri: "https://a.example/cb".into(),
        scope: "openid".into(),
        subject: "u_1".into(),
        session_id: "sess".into(),
        nonce: None,
        code_challenge: None,
        auth_time: T0,
        expires_at: T0.plus(Dur::secs(60)),
        used: None,
    };
    s.insert_code(&code).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let u = CodeUse {
                at: T0,
                grant_id: Some(GrantId([i; 16])),
                access_jti: Some(format!("j{i}")),
                access_exp: None,
            };
            (
                u.clone(),
                s.consume_code(&[8; 32], &u).await.unwrap().unwrap(),
            )
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let winners: Vec<&CodeUse> = results
        .iter()
        .filter(|(_, prev)| prev.used.is_none())
        .map(|(u, _)| u)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one first use");
    for (_, prev) in results.iter().filter(|(_, prev)| prev.used.is_some()) {
        assert_eq!(
            prev.used.as_ref(),
            Some(winners[0]),
            "every replay sees the first use"
        );
    }
    assert_eq!(
        s.get_code(&[8; 32]).await.unwrap().unwrap().used.as_ref(),
        Some(winners[0])
    );
}

/// Concurrent consent additions for one user and client all land, none twice.
pub async fn consent_race(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let scopes = vec![format!("scope{}", i % 6), "openid".to_string()];
            s.add_consent("u_race", "web", &scopes).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut got = s.get_consent("u_race", "web").await.unwrap();
    got.sort();
    let mut want: Vec<String> = (0..6).map(|i| format!("scope{i}")).collect();
    want.push("openid".into());
    want.sort();
    assert_eq!(got, want);
}

/// Withdrawing consent: one user's for one client (the account page), or every user's
/// for a client (the client is deleted). Nothing else is touched; withdrawing what is
/// not there is no error; consent given afterwards starts from nothing.
pub async fn consent_withdrawal(s: &dyn Store) {
    let openid = ["openid".to_string(), "email".to_string()];
    for (sub, client) in [
        ("u_1", "web"),
        ("u_2", "web"),
        ("u_1", "app"),
        ("u_2", "app"),
    ] {
        s.add_consent(sub, client, &openid).await.unwrap();
    }
    assert_eq!(s.delete_consents("web", Some("u_1")).await.unwrap(), 1);
    assert!(s.get_consent("u_1", "web").await.unwrap().is_empty());
    assert_eq!(s.get_consent("u_2", "web").await.unwrap(), openid);
    assert_eq!(s.get_consent("u_1", "app").await.unwrap(), openid);
    assert_eq!(
        s.delete_consents("web", Some("u_1")).await.unwrap(),
        0,
        "withdrawn once"
    );
    assert_eq!(s.delete_consents("nope", None).await.unwrap(), 0);

    // Every user's consent for `app` goes; `web`'s remaining one stays.
    assert_eq!(s.delete_consents("app", None).await.unwrap(), 2);
    for sub in ["u_1", "u_2"] {
        assert!(s.get_consent(sub, "app").await.unwrap().is_empty());
    }
    assert_eq!(s.get_consent("u_2", "web").await.unwrap(), openid);

    // Consent given again starts from nothing, not from the withdrawn scopes.
    s.add_consent("u_1", "app", &["profile".to_string()])
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u_1", "app").await.unwrap(),
        vec!["profile".to_string()]
    );
}

/// Cleanup: expired (absolute or sliding) and revoked grants are deleted only once
/// they stopped being live at or before the cutoff, in batches of at most `limit`;
/// each expired one leaves a `grant.expired` event, revoked ones none; sessions that
/// ended or expired before the cutoff go with their `session_clients` rows.
pub async fn cleanup(s: &dyn Store) {
    let created = |g: &Grant| event("grant.created", T0, Some(&g.client_id), Some(&g.subject));
    // Live: no expiry at all.
    let mut live = grant("c1", "keep", None, T0);
    (live.expires_at, live.sliding) = (None, None);
    // Absolute expiry at T0 + 1 d, no sliding.
    let mut absolute = grant("c1", "abs", None, T0);
    absolute.sliding = None;
    // Sliding: last used T0, idle 1 h.
    let sliding = grant("c2", "slide", None, T0);
    // Revoked at T0 + 5 s (and otherwise live).
    let mut revoked = grant("c1", "rev", None, T0);
    (revoked.expires_at, revoked.sliding) = (None, None);
    // Expires at T0 + 20 d: inside the retention window at the cutoff used below.
    let mut recent = grant("c1", "recent", None, T0);
    (recent.expires_at, recent.sliding) = (Some(T0.plus(Dur::secs(20 * 86_400))), None);
    // Revoked at T0 + 20 d: also inside the window.
    let mut recent_rev = grant("c1", "recent_rev", None, T0);
    (recent_rev.expires_at, recent_rev.sliding) = (None, None);
    for g in [&live, &absolute, &sliding, &revoked, &recent, &recent_rev] {
        s.insert_grant(g, created(g)).await.unwrap();
    }
    s.revoke(&GrantFilter::Grant(revoked.id), &why("admin"))
        .await
        .unwrap();
    let mut late = why("admin");
    late.now = T0.plus(Dur::secs(20 * 86_400));
    s.revoke(&GrantFilter::Grant(recent_rev.id), &late)
        .await
        .unwrap();

    // Nothing has been dead for long enough at T0 + 1 d (the cutoff is T0).
    let now = T0.plus(Dur::secs(30 * 86_400));
    let none = s.purge_grants(now, T0, 10).await.unwrap();
    assert_eq!(none.total(), 0, "nothing stopped being live by T0");

    // Cutoff T0 + 10 d: absolute, sliding and revoked go; in batches of 2.
    let cutoff = T0.plus(Dur::secs(10 * 86_400));
    let first = s.purge_grants(now, cutoff, 2).await.unwrap();
    assert_eq!(first.total(), 2, "a batch is at most `limit` rows");
    let second = s.purge_grants(now, cutoff, 2).await.unwrap();
    assert_eq!(second.total(), 1);
    assert_eq!(s.purge_grants(now, cutoff, 2).await.unwrap().total(), 0);
    let mut expired: Vec<_> = first.expired.iter().chain(&second.expired).collect();
    assert_eq!(first.revoked + second.revoked, 1, "one revoked grant");
    assert_eq!(expired.len(), 2, "two expired grants");
    expired.sort_by_key(|e| e.subject.clone());
    assert_eq!(expired[0].grant_id, Some(absolute.id));
    assert_eq!(expired[0].details["lifetime"], "absolute");
    assert_eq!(
        expired[0].details["expired_at"],
        absolute.expires_at.unwrap().0
    );
    assert_eq!(expired[1].grant_id, Some(sliding.id));
    assert_eq!(expired[1].client_id.as_deref(), Some("c2"));
    assert_eq!(expired[1].details["lifetime"], "sliding");
    for g in [&absolute, &sliding, &revoked] {
        assert_eq!(s.get_grant(g.id).await.unwrap(), None, "deleted");
    }
    for g in [&live, &recent, &recent_rev] {
        assert!(s.get_grant(g.id).await.unwrap().is_some(), "kept");
    }
    // The events were stored, with the grant ids and no token.
    let q = EventQuery {
        kind: Some("grant.expired".into()),
        limit: 10,
        ..Default::default()
    };
    let stored = s.list_events(&q).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|e| e.time == now && e.grant_id.is_some()));

    // Later, the rest of the dead ones go too; the live one stays.
    let far = T0.plus(Dur::secs(60 * 86_400));
    let rest = s.purge_grants(far, far, 10).await.unwrap();
    assert_eq!((rest.expired.len(), rest.revoked), (1, 1));
    assert!(s.get_grant(live.id).await.unwrap().is_some());

    // Sessions.
    let sess = |id: &str, expires: Timestamp| Session {
        id: id.into(),
        subject: "u".into(),
        auth_time: T0,
        created_at: T0,
        last_seen_at: T0,
        expires_at: expires,
        ended_at: None,
    };
    let far_future = T0.plus(Dur::secs(365 * 86_400));
    for x in [
        sess("ended", far_future),
        sess("expired", T0.plus(Dur::secs(3600))),
        sess("live", far_future),
        sess("ended_late", far_future),
    ] {
        s.insert_session(&x).await.unwrap();
        s.add_session_client(&x.id, "c1").await.unwrap();
    }
    s.end_session("ended", T0.plus(Dur::secs(60)))
        .await
        .unwrap();
    s.end_session("ended_late", T0.plus(Dur::secs(20 * 86_400)))
        .await
        .unwrap();
    assert_eq!(s.purge_sessions(cutoff, 1).await.unwrap(), 1, "batched");
    assert_eq!(s.purge_sessions(cutoff, 10).await.unwrap(), 1);
    assert_eq!(s.purge_sessions(cutoff, 10).await.unwrap(), 0);
    for id in ["ended", "expired"] {
        assert_eq!(s.get_session(id).await.unwrap(), None);
        assert!(s.list_session_clients(id).await.unwrap().is_empty());
    }
    for id in ["live", "ended_late"] {
        assert!(s.get_session(id).await.unwrap().is_some());
        assert_eq!(s.list_session_clients(id).await.unwrap(), vec!["c1"]);
    }
}

/// Cleanup on several nodes at once: concurrent purges delete each expired grant once
/// and record exactly one `grant.expired` per grant.
pub async fn cleanup_race(s: Arc<dyn Store>) {
    const N: usize = 60;
    for i in 0..N {
        let mut g = grant("c1", &format!("u{i}"), None, T0);
        g.sliding = None;
        s.insert_grant(&g, event("grant.created", T0, None, None))
            .await
            .unwrap();
    }
    let now = T0.plus(Dur::secs(30 * 86_400));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = 0usize;
            // Until a pass finds nothing left (a skipped locked row is not "nothing").
            for _ in 0..100 {
                let p = s.purge_grants(now, now, 7).await.unwrap();
                if p.total() == 0 {
                    break;
                }
                mine += p.expired.len();
            }
            mine
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    // A pass can see nothing while another task still holds the last rows; finish.
    total += s.purge_grants(now, now, N).await.unwrap().expired.len();
    assert_eq!(total, N, "each grant reported exactly once");
    let q = EventQuery {
        kind: Some("grant.expired".into()),
        limit: 1000,
        ..Default::default()
    };
    assert_eq!(s.list_events(&q).await.unwrap().len(), N);
}

/// Event retention: the oldest events before a time go, in batches; newer ones stay.
pub async fn event_retention(s: &dyn Store) {
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
