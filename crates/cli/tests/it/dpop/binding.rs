//! What a proof binds: a public client's grant for life (RFC 9449 §5), across rotation,
//! grace replay, restart, Redis and nodes; a confidential client's refresh tokens are
//! not bound; a code bound by `dpop_jkt` (§10).

use super::*;
use baton_testkit::flow::{AuthParams, Browser};
use serde_json::Value;

/// Whether nothing of the grant changed: same generation, still active.
async fn unchanged(s: &TestServer, token: &str, generation: u64) {
    let g = crate::support::grant_of(s, token).await;
    assert_eq!(g.generation, generation);
    assert!(g.is_active(), "{:?}", g.status);
}

#[tokio::test]
async fn a_public_clients_grant_answers_only_its_key_through_rotation_and_grace() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let a = public_login_at(&s.url, Some(&key)).await;
    assert_eq!(a.ok()["token_type"], "DPoP");
    let t1 = rt(&a);
    assert_eq!(
        crate::support::grant_of(&s, &t1).await.dpop_jkt.as_deref(),
        Some(key.jkt().as_str())
    );
    // Without a proof, or with another key: invalid_grant, nothing changes, not reuse.
    let other = ProofKey::es256();
    for k in [None, Some(&other)] {
        let a = public_refresh_at(&s.url, &t1, k).await;
        a.refused(400, "invalid_grant");
        let d = a.body["error_description"].as_str().unwrap();
        assert!(d.contains("DPoP"), "{d}");
        unchanged(&s, &t1, 1).await;
    }
    assert!(s.events("token.reuse_detected").await.is_empty());
    let refused = s.events("dpop.proof_refused").await;
    let reasons: Vec<&str> = refused
        .iter()
        .map(|e| e.details["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"missing") && reasons.contains(&"key_mismatch"),
        "{reasons:?}"
    );
    // With the key: rotation, each access token bound.
    let a = public_refresh_at(&s.url, &t1, Some(&key)).await;
    let t2 = rt(&a);
    assert_ne!(t2, t1);
    assert_eq!(jwt_claims(&at(&a))["cnf"]["jkt"], key.jkt().as_str());
    // A grace replay of t1 needs the key too, and answers t2.
    public_refresh_at(&s.url, &t1, None)
        .await
        .refused(400, "invalid_grant");
    assert_eq!(rt(&public_refresh_at(&s.url, &t1, Some(&key)).await), t2);
    let t3 = rt(&public_refresh_at(&s.url, &t2, Some(&key)).await);
    unchanged(&s, &t3, 3).await;
    // Past the grace period (30 s; proofs are made on the real clock, which stays within
    // the 60 s iat window): a stolen old token without the key revokes nothing; with the
    // key it is reuse.
    s.advance(baton_core::time::Dur::secs(35));
    public_refresh_at(&s.url, &t1, Some(&other))
        .await
        .refused(400, "invalid_grant");
    unchanged(&s, &t3, 3).await;
    let a = public_refresh_at(&s.url, &t1, Some(&key)).await;
    crate::support::assert_invalid_grant(
        reqwest::StatusCode::from_u16(a.status).unwrap(),
        &a.body,
        "reused",
    );
}

#[tokio::test]
async fn an_unbound_public_grant_is_bound_by_its_first_refresh_with_a_proof() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    // Created without a proof: refreshes without one stay bearer refreshes.
    let t1 = rt(&public_login_at(&s.url, None).await);
    let t2 = rt(&public_refresh_at(&s.url, &t1, None).await);
    assert_eq!(crate::support::grant_of(&s, &t2).await.dpop_jkt, None);
    // RFC 9449 §5: the first refresh with a proof binds the grant to its key for life.
    let a = public_refresh_at(&s.url, &t2, Some(&key)).await;
    assert_eq!(a.ok()["token_type"], "DPoP");
    let t3 = rt(&a);
    assert_eq!(
        crate::support::grant_of(&s, &t3).await.dpop_jkt.as_deref(),
        Some(key.jkt().as_str())
    );
    public_refresh_at(&s.url, &t3, None)
        .await
        .refused(400, "invalid_grant");
    public_refresh_at(&s.url, &t3, Some(&ProofKey::es256()))
        .await
        .refused(400, "invalid_grant");
    unchanged(&s, &t3, 3).await;
    public_refresh_at(&s.url, &t3, Some(&key)).await.ok();
}

#[tokio::test]
async fn a_confidential_grant_is_never_bound() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    // A confidential client's grant made with a proof: its refresh tokens are bound by
    // its authentication, not the key (RFC 9449 §5).
    let form = [
        ("grant_type", "password"),
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("scope", "openid offline_access"),
    ];
    let a = token_at(&s.url, Some(WEB), &form, &[&proof(&key, &s.url)]).await;
    assert_eq!(a.ok()["token_type"], "DPoP");
    let t = rt(&a);
    assert_eq!(crate::support::grant_of(&s, &t).await.dpop_jkt, None);
    let (st, v) = s.refresh(&t).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
}

#[tokio::test]
async fn the_binding_survives_a_restart() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let t1 = rt(&public_login_at(&s.url, Some(&key)).await);
    let dir = s.stop().await;
    let s = TestServer::start_in(dir, baton_testkit::BASE_CLIENTS).await;
    public_refresh_at(&s.url, &t1, None)
        .await
        .refused(400, "invalid_grant");
    let t2 = rt(&public_refresh_at(&s.url, &t1, Some(&key)).await);
    unchanged(&s, &t2, 2).await;
}

#[tokio::test]
async fn the_binding_holds_for_grants_in_redis() {
    let prefix = format!("dpop-{}:", baton_core::random_id(""));
    let url =
        std::env::var("BATON_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let s = TestServer::start_raw(&format!(
        "cache_url = \"{url}\"\ncache_prefix = \"{prefix}\"\n\n[refresh_tokens]\npersist = false\n{}",
        baton_testkit::BASE_CLIENTS
    ))
    .await;
    let key = ProofKey::es256();
    let t1 = rt(&public_login_at(&s.url, Some(&key)).await);
    let g = crate::support::grant_of(&s, &t1).await;
    assert!(!g.persist, "a grant of the cache");
    assert_eq!(g.dpop_jkt.as_deref(), Some(key.jkt().as_str()));
    public_refresh_at(&s.url, &t1, None)
        .await
        .refused(400, "invalid_grant");
    let t2 = rt(&public_refresh_at(&s.url, &t1, Some(&key)).await);
    assert_eq!(
        rt(&public_refresh_at(&s.url, &t1, Some(&key)).await),
        t2,
        "grace"
    );
    public_refresh_at(&s.url, &t2, Some(&ProofKey::es256()))
        .await
        .refused(400, "invalid_grant");
}

#[tokio::test]
async fn the_binding_holds_on_every_node() {
    let schema = baton_testkit::pg::PgSchema::create().await;
    let a = TestServer::start_with_storage(&schema.url, "").await;
    let b = TestServer::start_with_storage(&schema.url, "").await;
    let key = ProofKey::es256();
    let t1 = rt(&public_login_at(&a.url, Some(&key)).await);
    public_refresh_at(&b.url, &t1, None)
        .await
        .refused(400, "invalid_grant");
    let t2 = rt(&public_refresh_at(&b.url, &t1, Some(&key)).await);
    // A retry on the other node inside the grace period: the same successor.
    assert_eq!(rt(&public_refresh_at(&a.url, &t1, Some(&key)).await), t2);
    public_refresh_at(&a.url, &t2, Some(&ProofKey::es256()))
        .await
        .refused(400, "invalid_grant");
}

/// RFC 9449 §10: `dpop_jkt` at `/authorize` binds the code to a key.
#[tokio::test]
async fn dpop_jkt_binds_the_code_to_its_key() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let exchange = |code: String, verifier: String, proofs: Vec<String>| {
        let url = s.url.clone();
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("client_id", SPA),
                ("code", code.as_str()),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", verifier.as_str()),
            ];
            let ps: Vec<&str> = proofs.iter().map(String::as_str).collect();
            token_at(&url, None, &form, &ps).await
        }
    };
    let authorize = |jkt: Option<String>| {
        let s = &s;
        async move {
            let mut p = AuthParams::new(SPA, "openid offline_access");
            if let Some(j) = jkt {
                p.extra.push(("dpop_jkt".into(), j));
            }
            let pkce = p.pkce.clone().expect("PKCE");
            let b = Browser::fresh(s);
            let resp = b.authorize(&p).await;
            (b.drive(resp, "allow").await, pkce)
        }
    };
    // Bound to the key: without a proof, or with another key, refused; the code stays
    // unused, and the right proof exchanges it.
    let (cb, pkce) = authorize(Some(key.jkt())).await;
    let code = cb.code().to_string();
    exchange(code.clone(), pkce.verifier.clone(), vec![])
        .await
        .refused(400, "invalid_grant");
    let other = ProofKey::es256();
    exchange(
        code.clone(),
        pkce.verifier.clone(),
        vec![proof(&other, &s.url)],
    )
    .await
    .refused(400, "invalid_grant");
    let a = exchange(code, pkce.verifier.clone(), vec![proof(&key, &s.url)]).await;
    assert_eq!(a.ok()["token_type"], "DPoP");
    assert_eq!(
        crate::support::grant_of(&s, &rt(&a))
            .await
            .dpop_jkt
            .as_deref(),
        Some(key.jkt().as_str())
    );
    // A malformed dpop_jkt is refused at /authorize, back to the client.
    let (cb, _) = authorize(Some("not-a-thumbprint".into())).await;
    assert_eq!(cb.error(), Some("invalid_request"));
}

/// A thief holding a bound refresh token (or access token) but not the key cannot
/// revoke it: `/revoke` asks the key holder's proof.
#[tokio::test]
async fn revoking_a_bound_token_needs_a_proof_of_its_key() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let a = public_login_at(&s.url, Some(&key)).await;
    let (t1, access) = (rt(&a), at(&a));
    let t2 = rt(&public_refresh_at(&s.url, &t1, Some(&key)).await);
    let revoke = |token: String, proofs: Vec<String>| {
        let url = s.url.clone();
        async move {
            let mut req = baton_testkit::client()
                .post(format!("{url}/revoke"))
                .form(&[("client_id", SPA), ("token", token.as_str())]);
            for p in &proofs {
                req = req.header("dpop", p.as_str());
            }
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let revoke_url = format!("{}/revoke", s.url);
    let other = ProofKey::es256();
    for (token, proofs) in [
        (t1.clone(), vec![]),
        (t2.clone(), vec![]),
        (t2.clone(), vec![other.proof("POST", &revoke_url)]),
        (access.clone(), vec![]),
    ] {
        let (st, v) = revoke(token, proofs).await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(v["error"], "invalid_dpop_proof", "{v}");
    }
    unchanged(&s, &t2, 2).await;
    // The key's holder revokes.
    let (st, v) = revoke(t2.clone(), vec![key.proof("POST", &revoke_url)]).await;
    assert_eq!(st, 200, "{v}");
    assert!(!crate::support::grant_of(&s, &t2).await.is_active());
}

/// A used code bound by `dpop_jkt`, replayed without its key (by whoever intercepted
/// it), revokes nothing: only the key's holder could have redeemed it first.
#[tokio::test]
async fn replaying_a_bound_code_without_its_key_revokes_nothing() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let mut p = AuthParams::new(SPA, "openid offline_access");
    p.extra.push(("dpop_jkt".into(), key.jkt()));
    let pkce = p.pkce.clone().expect("PKCE");
    let b = Browser::fresh(&s);
    let resp = b.authorize(&p).await;
    let code = b.drive(resp, "allow").await.code().to_string();
    let f = [
        ("grant_type", "authorization_code"),
        ("client_id", SPA),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let a = token_at(&s.url, None, &f, &[&proof(&key, &s.url)]).await;
    let t = rt(&a);
    for proofs in [vec![], vec![proof(&ProofKey::es256(), &s.url)]] {
        let ps: Vec<&str> = proofs.iter().map(String::as_str).collect();
        token_at(&s.url, None, &f, &ps)
            .await
            .refused(400, "invalid_grant");
        unchanged(&s, &t, 1).await;
    }
    // The key's holder replaying it: the code reuse rule applies.
    token_at(&s.url, None, &f, &[&proof(&key, &s.url)])
        .await
        .refused(400, "invalid_grant");
    assert!(!crate::support::grant_of(&s, &t).await.is_active());
}
