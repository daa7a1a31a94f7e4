//! Deliveries kept until done: the `OutboxStore` role.

use super::{event, grant, why, T0};
use baton_core::model::GrantId;
use baton_core::store::{
    EventQuery, GrantFilter, NewOutboxItem, OutboxFinish, Store, WebhookSubscription,
    BACKCHANNEL_LOGOUT, WEBHOOK,
};
use baton_core::time::{Dur, Timestamp};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

fn item(target: &str, due: Timestamp) -> NewOutboxItem {
    NewOutboxItem {
        kind: BACKCHANNEL_LOGOUT.into(),
        target: target.into(),
        payload: json!({"session_id": "s1", "subject": "alice"}),
        due_at: due,
    }
}

const LEASE: Dur = Dur::secs(30);

/// An outcome event, named by its client id.
fn sent(client: &str) -> baton_core::model::Event {
    event("backchannel_logout.sent", T0, Some(client), Some("alice"))
}

/// Claims are leases; a retry waits for its time; a stale claim changes nothing; done
/// items are never claimed again and are purged past retention, pending ones never.
pub(super) async fn outbox_lifecycle(s: Arc<dyn Store>) {
    s.enqueue_outbox(
        vec![item("rp", T0), item("later", T0.plus(Dur::secs(60)))],
        T0,
    )
    .await
    .unwrap();
    assert_eq!(s.count_pending_outbox().await.unwrap(), 2);
    let got = s.claim_outbox("n1", T0, LEASE, 10).await.unwrap();
    assert_eq!(got.len(), 1, "only the due item: {got:?}");
    let a = got[0].clone();
    assert_eq!(
        (
            a.kind.as_str(),
            a.target.as_str(),
            a.attempts,
            a.claimed_by.as_str()
        ),
        (BACKCHANNEL_LOGOUT, "rp", 1, "n1")
    );
    assert_eq!(a.payload, json!({"session_id": "s1", "subject": "alice"}));
    assert_eq!(a.created_at, T0);
    // Leased: nobody claims it again before the lease ends.
    assert!(s
        .claim_outbox("n2", T0.plus(Dur::secs(29)), LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    let retry = OutboxFinish::Retry {
        at: T0.plus(Dur::secs(10)),
        error: "cannot connect".into(),
    };
    assert!(s.finish_outbox(&a, &retry, T0, None).await.unwrap());
    assert!(s
        .claim_outbox("n2", T0.plus(Dur::secs(9)), LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    let b = s
        .claim_outbox("n2", T0.plus(Dur::secs(10)), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].id, b[0].attempts), (a.id, 2));
    // The first claim is stale: finishing it changes nothing.
    assert!(!s
        .finish_outbox(&a, &OutboxFinish::Delivered, T0, Some(sent("stale-a")))
        .await
        .unwrap());
    // n2's lease runs out (n2 died): n3 takes the item over; n2's late finish is refused.
    let c = s
        .claim_outbox("n3", T0.plus(Dur::secs(41)), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].id, c[0].attempts, c[0].claimed_by.as_str()),
        (a.id, 3, "n3")
    );
    assert!(!s
        .finish_outbox(&b[0], &OutboxFinish::Delivered, T0, Some(sent("stale-b")))
        .await
        .unwrap());
    let done_at = T0.plus(Dur::secs(42));
    assert!(s
        .finish_outbox(&c[0], &OutboxFinish::Delivered, done_at, Some(sent("n3")))
        .await
        .unwrap());
    assert!(!s
        .finish_outbox(
            &c[0],
            &OutboxFinish::Delivered,
            done_at,
            Some(sent("again"))
        )
        .await
        .unwrap());
    // Only the finish that ended the item recorded its event, in its transaction.
    let q = EventQuery {
        kind: Some("backchannel_logout.sent".into()),
        limit: 10,
        ..Default::default()
    };
    let evs = s.list_events(&q).await.unwrap();
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(evs[0].client_id.as_deref(), Some("n3"));
    assert_eq!(s.count_pending_outbox().await.unwrap(), 1);
    // The other item: given up.
    let far = T0.plus(Dur::secs(3600));
    let d = s.claim_outbox("n1", far, LEASE, 10).await.unwrap();
    assert_eq!(d.len(), 1, "a delivered item is never claimed again: {d:?}");
    assert_eq!(d[0].target, "later");
    let give_up = OutboxFinish::GiveUp {
        error: "status 500".into(),
    };
    assert!(s.finish_outbox(&d[0], &give_up, far, None).await.unwrap());
    assert_eq!(s.count_pending_outbox().await.unwrap(), 0);
    assert!(s
        .claim_outbox("n1", far.plus(Dur::secs(86_400)), LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    // Purge: done before the cutoff only; a pending item is kept whatever its age.
    s.enqueue_outbox(vec![item("pending", T0)], T0)
        .await
        .unwrap();
    assert_eq!(s.purge_outbox(done_at, 10).await.unwrap(), 0);
    assert_eq!(s.purge_outbox(far, 10).await.unwrap(), 1);
    assert_eq!(s.purge_outbox(far.plus(Dur(1)), 10).await.unwrap(), 1);
    assert_eq!(s.purge_outbox(far.plus(Dur(1)), 10).await.unwrap(), 0);
    assert_eq!(s.count_pending_outbox().await.unwrap(), 1);
}

/// Claimers racing for the same due items: each item goes to exactly one of them.
pub(super) async fn outbox_claim_race(s: Arc<dyn Store>) {
    const N: usize = 40;
    let items = (0..N).map(|i| item(&format!("c{i}"), T0)).collect();
    s.enqueue_outbox(items, T0).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..50 {
                let got = s
                    .claim_outbox(&format!("n{n}"), T0, LEASE, 3)
                    .await
                    .unwrap();
                if got.is_empty() {
                    break;
                }
                mine.extend(got.into_iter().map(|i| i.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.extend(
        s.claim_outbox("last", T0, LEASE, N)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id),
    );
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), N, "each item claimed exactly once");
    assert_eq!(distinct.len(), N);
}

/// Every event recorded, whichever write records it, enqueues one webhook item per
/// subscribed sink in its own transaction; replacing the subscriptions takes effect.
pub(super) async fn webhook_subscriptions(s: Arc<dyn Store>) {
    let sub = |sink: &str, kind: &str| WebhookSubscription {
        sink: sink.into(),
        kind: kind.into(),
    };
    s.set_webhook_subscriptions(vec![
        sub("a", "grant.created"),
        sub("a", "grant.revoked"),
        sub("b", "*"),
        sub("b", "login.succeeded"),
    ])
    .await
    .unwrap();
    let mut ev = event("login.succeeded", T0, Some("web"), Some("alice"));
    ev.grant_id = Some(GrantId([0xab; 16]));
    s.insert_events(vec![ev.clone()]).await.unwrap();
    let g = grant("web", "alice", None, T0);
    s.insert_grant(&g, event("grant.created", T0, Some("web"), Some("alice")))
        .await
        .unwrap();
    s.revoke(&GrantFilter::Grant(g.id), &why("admin"))
        .await
        .unwrap();
    let got = s
        .claim_outbox("n1", T0.plus(Dur::secs(5)), LEASE, 100)
        .await
        .unwrap();
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|i| {
            assert_eq!(i.kind, WEBHOOK);
            (
                i.target.clone(),
                i.payload["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    seen.sort();
    let want: Vec<(String, String)> = [
        ("a", "grant.created"),
        ("a", "grant.revoked"),
        ("b", "grant.created"),
        ("b", "grant.revoked"),
        ("b", "login.succeeded"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seen, want, "one item per sink and matching event");
    let login = got
        .iter()
        .find(|i| i.payload["kind"] == "login.succeeded")
        .unwrap();
    let p = &login.payload;
    assert_eq!(p["id"], ev.id.as_str());
    assert_eq!(p["time"], T0.0);
    assert_eq!(p["client_id"], "web");
    assert_eq!(p["subject"], "alice");
    assert_eq!(p["grant_id"], GrantId([0xab; 16]).to_hex());
    assert_eq!(p["ip"], "127.0.0.1");
    assert_eq!(p["user_agent"], "conformance");
    assert_eq!(
        p["details"],
        json!({"n": 1}),
        "details as JSON, not a string"
    );
    assert!(
        got.iter()
            .all(|i| i.payload["time"].as_i64() == Some(i.created_at.0)),
        "queued at the event's time: {got:?}"
    );
    for i in &got {
        assert!(s
            .finish_outbox(i, &OutboxFinish::Delivered, T0.plus(Dur::secs(6)), None)
            .await
            .unwrap());
    }
    // Without subscriptions, events enqueue nothing.
    s.set_webhook_subscriptions(vec![]).await.unwrap();
    s.insert_events(vec![event("login.succeeded", T0, None, None)])
        .await
        .unwrap();
    assert!(s
        .claim_outbox("n1", T0.plus(Dur::secs(3600)), LEASE, 100)
        .await
        .unwrap()
        .is_empty());
}
