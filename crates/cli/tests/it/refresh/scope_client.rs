//! Scope may narrow, never widen; a token presented by another client
//! changes nothing.

use super::*;

async fn refresh_scope(s: &TestServer, cl: Cl, t: &str, scope: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", t),
        ("scope", scope),
    ];
    token_req(s, cl, &form, None).await
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_and_the_grant_keeps_its_own() {
    let s = TestServer::start("").await;
    let t = rt(&login_as(&s, WEB_C, "alice", "openid email offline_access api").await);
    let (st, v) = refresh_scope(&s, WEB_C, &t, "api").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["scope"], "api");
    assert_eq!(jwt(&at(&v))["scope"], "api");
    assert!(
        v.get("id_token").is_none_or(Value::is_null),
        "no openid, no ID token"
    );
    assert_eq!(grant(&s, &t).await.scope, "openid email offline_access api");
    // Without `scope`, the next refresh has the grant's whole scope again.
    let v = refresh_ok(&s, WEB_C, &t).await;
    let full = v["scope"].as_str().unwrap();
    for sc in ["openid", "email", "offline_access", "api"] {
        assert!(
            baton_core::scope::Scope::parse(full).unwrap().contains(sc),
            "{full}"
        );
    }
}

#[tokio::test]
async fn widening_is_invalid_scope_and_the_grant_is_untouched() {
    let s = TestServer::start("").await;
    for cl in [WEB_C, SPA_C] {
        let t = login(&s, cl).await; // openid offline_access
        let before = grant(&s, &t).await;
        for wider in ["openid offline_access email", "profile"] {
            let (st, v) = refresh_scope(&s, cl, &t, wider).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["error"], "invalid_scope", "{v}");
            assert_eq!(grant(&s, &t).await, before, "{} {wider}", cl.id);
        }
        // Long after any grace period, the token is still the live one.
        s.advance(secs(120));
        refresh_ok(&s, cl, &t).await;
        assert!(s.events("token.reuse_detected").await.is_empty());
    }
}

#[tokio::test]
async fn a_scope_of_only_spaces_is_invalid_scope_and_the_grant_is_untouched() {
    let s = TestServer::start("").await;
    let t = login(&s, SPA_C).await;
    for scope in [" ", "   "] {
        let (st, v) = refresh_scope(&s, SPA_C, &t, scope).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"], "invalid_scope", "{v}");
    }
    assert_eq!(grant(&s, &t).await.generation, 1);
    // An empty `scope=` is an omitted parameter (RFC 6749 §3.1): the grant's scope.
    let (st, v) = refresh_scope(&s, SPA_C, &t, "").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["scope"], "openid offline_access");
}

#[tokio::test]
async fn another_clients_token_is_refused_and_the_grant_untouched() {
    let s = TestServer::start(&conf_toml("thief", "")).await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let before = grant(&s, &t2).await;
    s.advance(secs(60));
    // The current token and a rotated one (which would otherwise be reuse), presented by
    // two other clients: all refused the same way, none of it counted as reuse.
    for (cl, t) in [(conf("thief"), &t2), (conf("thief"), &t1), (WEB_C, &t2)] {
        let (st, v) = refresh(&s, cl, t).await;
        assert_invalid_grant(st, &v, "not issued to this client");
    }
    assert_eq!(grant(&s, &t2).await, before, "nothing of the grant changed");
    assert!(s.events("token.reuse_detected").await.is_empty());
    let ev = s.events("token.client_mismatch").await;
    assert_eq!(ev.len(), 3);
    let e = ev
        .iter()
        .find(|e| e.client_id.as_deref() == Some("thief"))
        .unwrap();
    assert_eq!(e.grant_id, Some(before.id));
    assert_eq!(e.details["issued_to"], "spa");
    // The rightful client carries on from generation 2.
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
}
