//! Discovery documents, the JWK Set, health and readiness.

use crate::support::get_json;
use baton_testkit::TestServer;
use serde_json::Value;

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort();
    v
}

#[tokio::test]
async fn both_documents_advertise_what_works() {
    let s = TestServer::start("").await;
    let oidc = get_json(&s, "/.well-known/openid-configuration").await;
    let oauth = get_json(&s, "/.well-known/oauth-authorization-server").await;
    for m in [&oidc, &oauth] {
        assert_eq!(m["issuer"], s.url.as_str());
        assert_eq!(m["authorization_endpoint"], format!("{}/authorize", s.url));
        assert_eq!(m["token_endpoint"], format!("{}/token", s.url));
        assert_eq!(m["userinfo_endpoint"], format!("{}/userinfo", s.url));
        assert_eq!(m["jwks_uri"], format!("{}/jwks", s.url));
        assert_eq!(strings(&m["response_types_supported"]), ["code"]);
        assert_eq!(strings(&m["code_challenge_methods_supported"]), ["S256"]);
        let grants = sorted(strings(&m["grant_types_supported"]));
        for g in [
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
        ] {
            assert!(grants.contains(&g), "{g} advertised");
        }
        assert_eq!(
            sorted(strings(&m["token_endpoint_auth_methods_supported"])),
            [
                "client_secret_basic",
                "client_secret_post",
                "none",
                "private_key_jwt"
            ]
        );
        for key in [
            "id_token_signing_alg_values_supported",
            "token_endpoint_auth_signing_alg_values_supported",
        ] {
            assert_eq!(
                sorted(strings(&m[key])),
                ["ES256", "EdDSA", "RS256"],
                "{key}"
            );
        }
        let scopes = strings(&m["scopes_supported"]);
        for sc in ["openid", "offline_access", "online_access"] {
            assert!(scopes.contains(&sc), "{sc} advertised");
        }
        assert!(!strings(&m["prompt_values_supported"]).is_empty());
    }
    assert_eq!(oidc["issuer"], oauth["issuer"]);
}

/// Every advertised endpoint answers (no 404), and every advertised grant type is one
/// the token endpoint knows.
#[tokio::test]
async fn advertised_endpoints_and_grant_types_exist() {
    let s = TestServer::start("").await;
    let m = get_json(&s, "/.well-known/openid-configuration").await;
    let obj = m.as_object().unwrap();
    for (k, v) in obj {
        if !(k.ends_with("_endpoint") || k == "jwks_uri") {
            continue;
        }
        let url = v.as_str().unwrap();
        assert!(url.starts_with(&s.url), "{k} = {url}");
        let get = s.http.get(url).send().await.unwrap().status();
        let post = s.http.post(url).send().await.unwrap().status();
        assert!(
            get != 404 || post != 404,
            "{k} ({url}) is advertised but not served"
        );
    }
    for g in strings(&m["grant_types_supported"]) {
        let (st, body) = s
            .post_form("/token", Some(baton_testkit::WEB), &[("grant_type", g)])
            .await;
        assert_ne!(
            body["error"], "unsupported_grant_type",
            "{g} advertised but unsupported ({st})"
        );
    }
}

#[tokio::test]
async fn jwks_publishes_public_keys_of_every_algorithm_only() {
    let s = TestServer::start("").await;
    let r = s.http.get(format!("{}/jwks", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let jwks: Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    algs.dedup();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    for k in keys {
        assert!(k["kid"].is_string(), "kid in {k}");
        let expected_kty = match k["alg"].as_str().unwrap() {
            "ES256" => "EC",
            "RS256" => "RSA",
            _ => "OKP",
        };
        assert_eq!(k["kty"], expected_kty);
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(k.get(private).is_none(), "private member {private} in {k}");
        }
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let s = TestServer::start("").await;
    for p in ["/healthz", "/readyz"] {
        let r = s.http.get(format!("{}{p}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
}
