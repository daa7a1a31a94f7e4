//! The refresh engine's events: what is recorded, with whom and what, and never a
//! token value.

use super::*;

const UA: &str = "refresh-suite/1.0 (reuse probe)";

#[tokio::test]
async fn reuse_detected_names_client_subject_grant_generations_and_caller() {
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", t1.as_str()),
    ];
    let (st, v) = token_req(&s, SPA_C, &form, Some(UA)).await;
    assert_invalid_grant(st, &v, "reused");

    let alice = s.state().store.get_user("alice").await.unwrap().unwrap();
    let ev = s.events("token.reuse_detected").await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    let e = &ev[0];
    assert_eq!(e.client_id.as_deref(), Some("spa"));
    assert_eq!(e.subject.as_deref(), Some(alice.sub.as_str()));
    assert_eq!(e.grant_id, Some(claims(&s, &t3).grant_id));
    assert_eq!(e.details["generation_presented"], 1);
    assert_eq!(e.details["generation_current"], 3);
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.user_agent.as_deref(), Some(UA));
    // The revocation it caused is recorded with its reason and the same caller.
    let rev = s.events("grant.revoked").await;
    assert_eq!(rev.len(), 1, "{rev:?}");
    assert_eq!(rev[0].grant_id, e.grant_id);
    assert!(rev[0].details.to_string().contains("reuse"), "{:?}", rev[0]);
}

#[tokio::test]
async fn grant_created_is_recorded_once_per_grant() {
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    refresh_ok(&s, SPA_C, &t1).await;
    let ev = s.events("grant.created").await;
    assert_eq!(ev.len(), 1, "rotation creates no grant: {ev:?}");
    assert_eq!(ev[0].grant_id, Some(claims(&s, &t1).grant_id));
    assert_eq!(ev[0].client_id.as_deref(), Some("spa"));
}

/// The part of a token that makes it one: a refresh token's sealed body, a JWT's
/// signature.
fn needle(t: &str) -> &str {
    let n = t
        .strip_prefix("brt_")
        .unwrap_or_else(|| t.rsplit('.').next().unwrap());
    assert!(n.len() > 40, "{t}");
    n
}

/// Every token value a response carried.
fn tokens_of(v: &Value, into: &mut Vec<String>) {
    for k in ["access_token", "refresh_token", "id_token"] {
        if let Some(t) = v[k].as_str() {
            into.push(t.to_string());
        }
    }
}

#[tokio::test]
async fn no_event_and_no_stored_byte_contains_a_token_value() {
    let s = TestServer::start(&conf_toml("other", "")).await;
    let mut seen = Vec::new();
    // Issue, rotate, replay in grace, client mismatch, reuse, revoked refresh.
    let r1 = login_as(&s, SPA_C, "alice", "openid email offline_access").await;
    tokens_of(&r1, &mut seen);
    let t1 = rt(&r1);
    let r2 = refresh_ok(&s, SPA_C, &t1).await;
    tokens_of(&r2, &mut seen);
    tokens_of(&refresh_ok(&s, SPA_C, &t1).await, &mut seen);
    let (_, v) = refresh(&s, conf("other"), &rt(&r2)).await;
    assert_eq!(v["error"], "invalid_grant");
    s.advance(secs(31));
    let (_, v) = refresh(&s, SPA_C, &t1).await;
    assert_eq!(v["error"], "invalid_grant");
    let (_, v) = refresh(&s, SPA_C, &rt(&r2)).await;
    assert_eq!(v["error"], "invalid_grant");
    let w = login_as(&s, WEB_C, "alice", "openid offline_access").await;
    tokens_of(&w, &mut seen);
    tokens_of(&refresh_ok(&s, WEB_C, &rt(&w)).await, &mut seen);

    let events = all_events(&s).await;
    for kind in [
        "grant.created",
        "token.client_mismatch",
        "token.reuse_detected",
        "grant.revoked",
    ] {
        assert!(events.iter().any(|e| e.kind == kind), "no {kind} recorded");
    }
    let text = format!("{events:?}");
    // The signature part of each JWT, and each refresh token's MAC-bearing body.
    for t in &seen {
        assert!(!text.contains(needle(t)), "an event carries a token value");
    }
    // Nor does the database hold any token value.
    let dir = s.stop().await;
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        for t in &seen {
            assert!(
                !hay.contains(needle(t)),
                "a stored file holds a token value"
            );
        }
    }
}
