//! Proofs at the token endpoint: every accepted algorithm, each rule broken in turn,
//! replay, the iat window, nonces, and what a refusal records.

use super::*;
use baton_testkit::dpop::now_secs;
use serde_json::json;

#[tokio::test]
async fn every_supported_algorithm_binds_the_access_token_to_its_key() {
    let s = TestServer::start("").await;
    for alg in ["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"] {
        let key = ProofKey::new(alg);
        let a = client_credentials(&s, &[&key.proof("POST", &token_url(&s))]).await;
        let v = a.ok();
        assert_eq!(v["token_type"], "DPoP", "{alg}");
        let c = jwt_claims(v["access_token"].as_str().unwrap());
        assert_eq!(c["cnf"]["jkt"], key.jkt().as_str(), "{alg}");
    }
    // Without a proof, a bearer token as before.
    let a = client_credentials(&s, &[]).await;
    assert_eq!(a.ok()["token_type"], "Bearer");
    assert!(jwt_claims(a.ok()["access_token"].as_str().unwrap())
        .get("cnf")
        .is_none());
}

/// Each rule of RFC 9449 §4.3 broken in turn: `400 invalid_dpop_proof` saying which,
/// and no token issued.
#[tokio::test]
async fn each_rule_broken_in_turn_is_refused_and_says_which() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let url = token_url(&s);
    let good_header = key.header();
    let good = || ProofKey::claims("POST", &url);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good();
        f(&mut c);
        key.sign(&good_header, &c)
    };
    let with_header = |f: &dyn Fn(&mut Value)| {
        let mut h = good_header.clone();
        f(&mut h);
        key.sign(&h, &good())
    };
    let other = ProofKey::es256();
    let mut private_jwk = key.jwk();
    private_jwk["d"] = "c2VjcmV0".into();
    let good_proof = key.proof("POST", &url);
    let (h, c, _) = {
        let mut p = good_proof.split('.');
        (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
    };
    let forged_sig = format!("{h}.{c}.{}", b64url(&[7u8; 64]));
    let unsigned = format!(
        "{}.{c}.",
        b64url(
            json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk()})
                .to_string()
                .as_bytes()
        )
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("not a JWT", "not-a-jwt".into(), "well-formed"),
        ("two parts", format!("{h}.{c}"), "well-formed"),
        (
            "claims not JSON",
            format!("{h}.bm90IGpzb24.{}", "c2ln"),
            "well-formed",
        ),
        ("typ JWT", with_header(&|h| h["typ"] = "JWT".into()), "typ"),
        (
            "crit extension",
            with_header(&|h| {
                h["crit"] = json!(["x-ext"]);
                h["x-ext"] = true.into();
            }),
            "well-formed",
        ),
        (
            "typ missing",
            with_header(&|h| {
                h.as_object_mut().unwrap().remove("typ");
            }),
            "typ",
        ),
        ("alg none", unsigned, "alg"),
        (
            "alg HS256",
            with_header(&|h| h["alg"] = "HS256".into()),
            "alg",
        ),
        (
            "alg another key's",
            with_header(&|h| h["alg"] = "RS256".into()),
            "jwk",
        ),
        (
            "jwk missing",
            with_header(&|h| {
                h.as_object_mut().unwrap().remove("jwk");
            }),
            "jwk",
        ),
        (
            "jwk private",
            with_header(&|h| h["jwk"] = private_jwk.clone()),
            "jwk",
        ),
        (
            "jwk symmetric",
            with_header(&|h| h["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"})),
            "jwk",
        ),
        (
            "jwk of another key",
            with_header(&|h| h["jwk"] = other.jwk()),
            "signature",
        ),
        ("signature forged", forged_sig, "signature"),
        (
            "jti missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "jti",
        ),
        ("jti empty", with(&|c| c["jti"] = "".into()), "jti"),
        (
            "jti too long",
            with(&|c| c["jti"] = "j".repeat(257).into()),
            "jti",
        ),
        ("htm GET", with(&|c| c["htm"] = "GET".into()), "htm"),
        ("htm lower case", with(&|c| c["htm"] = "post".into()), "htm"),
        (
            "htm missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("htm");
            }),
            "htm",
        ),
        (
            "htu another path",
            with(&|c| c["htu"] = format!("{}/userinfo", s.url).into()),
            "htu",
        ),
        (
            "htu another host",
            with(&|c| c["htu"] = "http://as.example/token".into()),
            "htu",
        ),
        (
            "htu https",
            with(&|c| c["htu"] = url.replace("http:", "https:").into()),
            "htu",
        ),
        (
            "htu trailing slash",
            with(&|c| c["htu"] = format!("{url}/").into()),
            "htu",
        ),
        ("htu relative", with(&|c| c["htu"] = "/token".into()), "htu"),
        (
            "iat missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("iat");
            }),
            "iat",
        ),
        (
            "iat a string",
            with(&|c| c["iat"] = now_secs().to_string().into()),
            "iat",
        ),
        (
            "iat two minutes ago",
            with(&|c| c["iat"] = (now_secs() - 120).into()),
            "iat",
        ),
        (
            "iat two minutes ahead",
            with(&|c| c["iat"] = (now_secs() + 120).into()),
            "iat",
        ),
    ];
    let (_, grants_before) = crate::support::snapshot(&s).await;
    for (label, p, why) in &cases {
        let a = client_credentials(&s, &[p]).await;
        assert_eq!(a.status, 400, "{label}: {}", a.body);
        assert_eq!(a.body["error"], "invalid_dpop_proof", "{label}: {}", a.body);
        let d = a.body["error_description"].as_str().unwrap();
        assert!(d.contains(why), "{label}: {d:?} should say {why:?}");
        assert!(!d.contains(p.as_str()), "{label}: the proof is not echoed");
    }
    let (_, grants_after) = crate::support::snapshot(&s).await;
    assert_eq!(grants_before, grants_after);
    // htu is compared without query and fragment; the window holds either way.
    for (label, p) in [
        (
            "htu with a query",
            with(&|c| c["htu"] = format!("{url}?a=b").into()),
        ),
        (
            "htu with a fragment",
            with(&|c| c["htu"] = format!("{url}#f").into()),
        ),
        (
            "htu host upper case",
            with(&|c| c["htu"] = url.replace("http://", "HTTP://").into()),
        ),
        (
            "iat 50 s ago",
            with(&|c| c["iat"] = (now_secs() - 50).into()),
        ),
        (
            "iat 50 s ahead",
            with(&|c| c["iat"] = (now_secs() + 50).into()),
        ),
    ] {
        assert_eq!(client_credentials(&s, &[&p]).await.status, 200, "{label}");
    }
    // Two DPoP headers; a header that is not visible ASCII.
    let (p1, p2) = (key.proof("POST", &url), key.proof("POST", &url));
    client_credentials(&s, &[&p1, &p2])
        .await
        .bad_proof("exactly one");
    let r = baton_testkit::client()
        .post(&url)
        .basic_auth(WEB.0, Some(WEB.1))
        .header(
            "dpop",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn a_proof_is_accepted_once_on_every_node() {
    // Two nodes on one PostgreSQL schema behind one issuer, as behind a load balancer.
    let schema = baton_testkit::pg::PgSchema::create().await;
    let env = [("BATON_ISSUER", "http://baton.test")];
    let a = TestServer::start_with_storage_env(&schema.url, "", &env).await;
    let b = TestServer::start_with_storage_env(&schema.url, "", &env).await;
    let key = ProofKey::es256();
    let htu = "http://baton.test/token";
    let p = key.proof("POST", htu);
    assert_eq!(client_credentials(&a, &[&p]).await.status, 200);
    client_credentials(&a, &[&p]).await.bad_proof("used before");
    client_credentials(&b, &[&p]).await.bad_proof("used before");
    // Ten concurrent uses of one fresh proof, split across the nodes: one is accepted.
    let p = key.proof("POST", htu);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let url = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            token_at(
                &url,
                Some(WEB),
                &[("grant_type", "client_credentials")],
                &[&p],
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn nonces_when_required_round_trip() {
    let s = TestServer::start("[dpop]\nrequire_nonce = true\n").await;
    let key = ProofKey::es256();
    let url = token_url(&s);
    // Without a nonce: use_dpop_nonce, and the nonce to use.
    let a = client_credentials(&s, &[&key.proof("POST", &url)]).await;
    a.refused(400, "use_dpop_nonce");
    let nonce = a.headers["dpop-nonce"].to_str().unwrap().to_string();
    // With it: tokens, and the nonce again for the next proof.
    let a = client_credentials(&s, &[&key.proof_with_nonce("POST", &url, &nonce)]).await;
    assert_eq!(a.ok()["token_type"], "DPoP");
    assert!(a.headers.get("dpop-nonce").is_some());
    // A made-up nonce, and one past two lifetimes (default 5 min), are refused.
    client_credentials(&s, &[&key.proof_with_nonce("POST", &url, "made-up")])
        .await
        .refused(400, "use_dpop_nonce");
    s.advance(baton_core::time::Dur::secs(601));
    let mut c = ProofKey::claims_at("POST", &url, now_secs() + 601);
    c["nonce"] = nonce.clone().into();
    let a = client_credentials(&s, &[&key.sign(&key.header(), &c)]).await;
    a.refused(400, "use_dpop_nonce");
    let fresh = a.headers["dpop-nonce"].to_str().unwrap();
    assert_ne!(fresh, nonce);
    // The nonce is not an event: a routine step of the protocol.
    assert!(s.events("dpop.proof_refused").await.is_empty());
}

#[tokio::test]
async fn a_refused_proof_is_an_event_and_a_metric_naming_the_rule_never_the_proof() {
    let s = TestServer::start("").await;
    let key = ProofKey::es256();
    let mut c = ProofKey::claims("POST", &token_url(&s));
    c["htm"] = "PUT".into();
    let bad = key.sign(&key.header(), &c);
    client_credentials(&s, &[&bad]).await.bad_proof("htm");
    let evs = s.events("dpop.proof_refused").await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].client_id.as_deref(), Some(WEB.0));
    assert_eq!(evs[0].details["reason"], "htm");
    assert_eq!(evs[0].details["endpoint"], "/token");
    let all = serde_json::to_string(&evs[0].details).unwrap();
    assert!(!all.contains(&bad[..40]), "no part of the proof");
    // A public client is only named, not authenticated: its refusals are counted, not
    // recorded (anyone could flood the event log in its name).
    let mut c = ProofKey::claims("POST", &token_url(&s));
    c["htm"] = "PUT".into();
    let form = [
        ("grant_type", "password"),
        ("client_id", SPA),
        ("username", ALICE.0),
        ("password", ALICE.1),
    ];
    for _ in 0..3 {
        token_at(&s.url, None, &form, &[&key.sign(&key.header(), &c)])
            .await
            .bad_proof("htm");
    }
    assert_eq!(s.events("dpop.proof_refused").await.len(), 1);
    let m = s
        .http
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = m
        .lines()
        .find(|l| l.starts_with("baton_dpop_proofs_total{result=\"htm\"}"))
        .expect("the metric");
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1, "{line}");
}

#[tokio::test]
async fn a_client_with_dpop_bound_access_tokens_must_send_proofs() {
    let s = TestServer::start(
        r#"
[[clients]]
client_id = "bound"
client_secret = "bound-secret-0123456789abcdef0123456789"
grant_types = ["client_credentials"]
scopes = ["api"]
dpop_bound_access_tokens = true
"#,
    )
    .await;
    let basic = Some(("bound", "bound-secret-0123456789abcdef0123456789"));
    let form = [("grant_type", "client_credentials")];
    let a = token_at(&s.url, basic, &form, &[]).await;
    a.bad_proof("required");
    let key = ProofKey::es256();
    let a = token_at(&s.url, basic, &form, &[&key.proof("POST", &token_url(&s))]).await;
    assert_eq!(a.ok()["token_type"], "DPoP");
    // Other clients are unchanged.
    assert_eq!(
        client_credentials(&s, &[]).await.ok()["token_type"],
        "Bearer"
    );
}

#[tokio::test]
async fn require_for_public_clients_makes_proofs_mandatory_for_them_only() {
    let s = TestServer::start("[dpop]\nrequire_for_public_clients = true\n").await;
    public_login_at(&s.url, None).await.bad_proof("required");
    let key = ProofKey::es256();
    assert_eq!(
        public_login_at(&s.url, Some(&key)).await.ok()["token_type"],
        "DPoP"
    );
    assert_eq!(
        client_credentials(&s, &[]).await.ok()["token_type"],
        "Bearer"
    );
}

#[tokio::test]
async fn discovery_lists_the_proof_algorithms() {
    let s = TestServer::start("").await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let v = crate::support::get_json(&s, path).await;
        assert_eq!(
            v["dpop_signing_alg_values_supported"],
            json!(["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"]),
            "{path}"
        );
    }
}
