//! Readiness, cleanup and revocation markers: the `MaintenanceStore` role.

use super::{event, grant, why, T0};
use baton_core::model::{Grant, Session};
use baton_core::store::{EventQuery, GrantFilter, Store};
use baton_core::time::{Dur, Timestamp};
use std::sync::Arc;

/// The store answers.
pub(super) async fn ping(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

/// Bulk revocations record their markers with the main store's revocation (and its
/// events); the latest marker among a cached grant's scopes is found; an older one
/// never replaces a newer; a single grant writes none.
pub(super) async fn revocation_markers(s: Arc<dyn Store>) {
    use baton_core::store::{grant_marker_scopes, marker_scopes};
    let g = grant("c1", "alice", Some("sa"), T0);
    s.insert_grant(&g, event("grant.created", T0, Some("c1"), Some("alice")))
        .await
        .unwrap();
    let mut cached = grant("c1", "alice", Some("sa"), T0);
    cached.persist = false;
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
    bob.persist = false;
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

/// Cleanup finds idle grants by when their idle deadline was last known, which a
/// refresh does not write: a grant rotated or touched since is kept and rechecked (its
/// next check moved to its real deadline), counted within the batch's `limit`, and
/// deleted once that deadline has passed, with the deadline it really expired at.
pub(super) async fn cleanup_idle_recheck(s: Arc<dyn Store>) {
    let minutes = |m: i64| T0.plus(Dur::secs(m * 60));
    // Idle after 1 h, no absolute expiry: rotated at +50 min, touched at +40 min, unused.
    let mut grants = Vec::new();
    for who in ["rotated", "touched", "unused"] {
        let mut g = grant("c1", who, None, T0);
        g.expires_at = None;
        s.insert_grant(&g, event("grant.created", T0, Some("c1"), Some(who)))
            .await
            .unwrap();
        grants.push(g);
    }
    let [rotated, touched, unused] = [&grants[0], &grants[1], &grants[2]];
    assert!(s.advance(rotated.id, 1, minutes(50)).await.unwrap());
    s.touch(touched.id, minutes(40)).await.unwrap();

    // At +90 min the unused one is idle; the others were due for a check but are not.
    let now = minutes(90);
    let first = s.purge_grants(now, now, 2).await.unwrap();
    assert_eq!(first.expired.len(), 1, "{first:?}");
    assert_eq!(first.expired[0].grant_id, Some(unused.id));
    assert_eq!(
        first.rechecked, 1,
        "one deleted and one rechecked: a batch of 2"
    );
    let second = s.purge_grants(now, now, 2).await.unwrap();
    assert_eq!((second.total(), second.rechecked), (0, 1));
    let third = s.purge_grants(now, now, 2).await.unwrap();
    assert_eq!(
        (third.total(), third.rechecked),
        (0, 0),
        "rechecked once only"
    );
    for g in [rotated, touched] {
        let kept = s.get_grant(g.id).await.unwrap().expect("kept");
        assert!(kept.is_active());
    }

    // At +100 min the touched one is idle (+40 min + 1 h); at +110 min the rotated one.
    let at = minutes(100);
    let p = s.purge_grants(at, at, 10).await.unwrap();
    assert_eq!(p.expired.len(), 1);
    assert_eq!(p.expired[0].grant_id, Some(touched.id));
    assert_eq!(p.expired[0].details["expired_at"], minutes(100).0);
    let at = minutes(110);
    let p = s.purge_grants(at, at, 10).await.unwrap();
    assert_eq!(p.expired.len(), 1);
    assert_eq!(p.expired[0].grant_id, Some(rotated.id));
    assert_eq!(p.expired[0].details["expired_at"], minutes(110).0);
    assert_eq!(p.rechecked, 0);
    for g in [rotated, touched, unused] {
        assert_eq!(s.get_grant(g.id).await.unwrap(), None, "deleted");
    }
}

/// Cleanup: expired (absolute or sliding) and revoked grants are deleted only once
/// they stopped being live at or before the cutoff, in batches of at most `limit`;
/// each expired one leaves a `grant.expired` event, revoked ones none; sessions that
/// ended or expired before the cutoff go with their `session_clients` rows.
pub(super) async fn cleanup(s: Arc<dyn Store>) {
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
pub(super) async fn cleanup_race(s: Arc<dyn Store>) {
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
