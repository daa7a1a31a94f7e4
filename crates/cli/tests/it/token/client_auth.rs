//! Client authentication at `/token`: each method, and each way to get it wrong.

use crate::support::{assert_oauth_error, snapshot};
use baton_core::model::SigAlg;
use baton_server::jwt::{self, Signer};
use baton_testkit::{TestServer, WEB};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CC: (&str, &str) = ("grant_type", "client_credentials");
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const POST_SECRET: &str = "post-secret-0123456789abcdef0123456789";

fn post_client() -> String {
    format!(
        "[[clients]]\nclient_id = \"post\"\nclient_secret = \"{POST_SECRET}\"\n\
         token_endpoint_auth_method = \"client_secret_post\"\ngrant_types = [\"client_credentials\"]\n"
    )
}

/// How a raw request authenticates.
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Header(&'a str),
}

/// POSTs a raw body to /token.
async fn raw(s: &TestServer, auth: Auth<'_>, body: &str) -> (StatusCode, Value, Option<String>) {
    let mut req = s
        .http
        .post(format!("{}/token", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    match auth {
        Auth::None => {}
        Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
        Auth::Header(h) => req = req.header("authorization", h),
    }
    let r = req.send().await.unwrap();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (r.status(), r.json().await.unwrap_or(Value::Null), www)
}

#[tokio::test]
async fn secrets_basic_and_post() {
    let s = TestServer::start(&post_client()).await;
    let before = snapshot(&s).await;
    // Wrong secret and unknown client with Basic: 401 with a Basic challenge.
    for creds in [(WEB.0, "wrong-secret"), ("nobody", WEB.1), (WEB.0, "")] {
        let r = s
            .http
            .post(format!("{}/token", s.url))
            .basic_auth(creds.0, Some(creds.1))
            .form(&[CC])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let www = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(www.starts_with("Basic"), "{www}");
        let body: Value = r.json().await.unwrap();
        assert_oauth_error((StatusCode::UNAUTHORIZED, &body), 401, "invalid_client");
    }
    // Unknown client and wrong secret in the body.
    for (id, secret) in [
        ("nobody", POST_SECRET),
        ("post", "wrong-secret-0123456789abcdef0123"),
    ] {
        let (st, r) = s
            .post_form(
                "/token",
                None,
                &[CC, ("client_id", id), ("client_secret", secret)],
            )
            .await;
        assert_oauth_error((st, &r), 401, "invalid_client");
    }
    // Each client only with its own method.
    let (st, r) = s
        .post_form("/token", Some(("post", POST_SECRET)), &[CC])
        .await;
    assert_oauth_error((st, &r), 401, "invalid_client");
    let (st, r) = s
        .post_form(
            "/token",
            None,
            &[CC, ("client_id", WEB.0), ("client_secret", WEB.1)],
        )
        .await;
    assert_oauth_error((st, &r), 401, "invalid_client");
    let (st, r) = s
        .post_form("/token", None, &[CC, ("client_id", "web")])
        .await;
    assert_oauth_error((st, &r), 401, "invalid_client");
    let (st, r) = s.post_form("/token", None, &[CC]).await;
    assert_oauth_error((st, &r), 401, "invalid_client");
    assert_eq!(snapshot(&s).await, before, "failures store nothing");

    let (st, r) = s
        .post_form(
            "/token",
            None,
            &[CC, ("client_id", "post"), ("client_secret", POST_SECRET)],
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let (st, r) = s.post_form("/token", Some(WEB), &[CC]).await;
    assert_eq!(st, 200, "{r}");
}

#[tokio::test]
async fn two_methods_or_a_repeated_parameter_is_invalid_request() {
    let s = TestServer::start(&post_client()).await;
    let (st, r) = s
        .post_form("/token", Some(WEB), &[CC, ("client_secret", WEB.1)])
        .await;
    assert_oauth_error((st, &r), 400, "invalid_request");
    let (st, r) = s
        .post_form("/token", Some(WEB), &[CC, ("client_id", "post")])
        .await;
    assert_oauth_error((st, &r), 400, "invalid_request");

    let basic = || Auth::Basic(WEB.0, WEB.1);
    assert_eq!(
        raw(&s, basic(), "grant_type=client_credentials").await.0,
        200
    );
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=api&scope=api",
        "grant_type=client_credentials&client_assertion=a.b.c&client_assertion_type=x",
    ] {
        let (st, r, _) = raw(&s, basic(), body).await;
        assert_oauth_error((st, &r), 400, "invalid_request");
    }
    let (st, r, _) = raw(
        &s,
        Auth::None,
        &format!("grant_type=client_credentials&client_id=post&client_id=post&client_secret={POST_SECRET}"),
    )
    .await;
    assert_oauth_error((st, &r), 400, "invalid_request");
    let (st, r, _) = raw(
        &s,
        Auth::Header("Bearer abc"),
        "grant_type=client_credentials",
    )
    .await;
    assert_oauth_error((st, &r), 400, "invalid_request");
    let (st, r, www) = raw(
        &s,
        Auth::Header("Basic !!!not-base64"),
        "grant_type=client_credentials",
    )
    .await;
    assert_oauth_error((st, &r), 401, "invalid_client");
    assert!(www.is_some_and(|w| w.starts_with("Basic")));
}

struct KeyClient {
    signer: Signer,
    toml: String,
}

fn key_client() -> KeyClient {
    let pkcs8 = baton_server::keys::generate_pkcs8(SigAlg::ES256).unwrap();
    let signer = Signer::from_pkcs8(SigAlg::ES256, &pkcs8).unwrap();
    let mut jwk = signer.public_jwk();
    jwk["kid"] = "k1".into();
    let jwks = json!({ "keys": [jwk] }).to_string();
    let toml = format!(
        "[[clients]]\nclient_id = \"pkj\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
         grant_types = [\"client_credentials\"]\nscopes = [\"api\"]\njwks = '{jwks}'\n"
    );
    KeyClient { signer, toml }
}

fn assertion(signer: &Signer, claims: Value) -> String {
    jwt::sign(signer, SigAlg::ES256, "k1", "JWT", &claims).unwrap()
}

async fn with_assertion(s: &TestServer, jwt: &str) -> (StatusCode, Value) {
    s.post_form(
        "/token",
        None,
        &[
            CC,
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", jwt),
        ],
    )
    .await
}

#[tokio::test]
async fn private_key_jwt() {
    let k = key_client();
    let s = TestServer::start(&k.toml).await;
    let now = s.clock.now().unix_secs();
    let claims = |aud: &str, exp: i64, jti: &str| json!({"iss": "pkj", "sub": "pkj", "aud": aud, "exp": exp, "iat": now, "jti": jti});
    let token_url = format!("{}/token", s.url);

    let good = assertion(&k.signer, claims(&token_url, now + 60, "j1"));
    let (st, r) = with_assertion(&s, &good).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        baton_testkit::flow::jwt_claims(r["access_token"].as_str().unwrap())["sub"],
        "pkj"
    );
    let (st, r) = with_assertion(&s, &good).await;
    assert_oauth_error((st, &r), 401, "invalid_client");

    // The issuer as audience works too (RFC 7523 §3).
    let (st, r) = with_assertion(&s, &assertion(&k.signer, claims(&s.url, now + 60, "j2"))).await;
    assert_eq!(st, 200, "{r}");

    let other = Signer::from_pkcs8(
        SigAlg::ES256,
        &baton_server::keys::generate_pkcs8(SigAlg::ES256).unwrap(),
    )
    .unwrap();
    let mut wrong_sub = claims(&token_url, now + 60, "j8");
    wrong_sub["sub"] = "web".into();
    for bad in [
        assertion(
            &k.signer,
            claims("https://other.example/token", now + 60, "j3"),
        ),
        assertion(&k.signer, claims(&token_url, now - 5, "j4")),
        assertion(&k.signer, claims(&token_url, now + 3600, "j5")),
        assertion(&other, claims(&token_url, now + 60, "j6")),
        assertion(
            &k.signer,
            json!({"iss": "pkj", "sub": "pkj", "aud": token_url, "exp": now + 60}),
        ),
        assertion(&k.signer, wrong_sub),
        "not.a.jwt".to_string(),
    ] {
        let (st, r) = with_assertion(&s, &bad).await;
        assert_oauth_error((st, &r), 401, "invalid_client");
    }
    // After its exp has passed (clock moved), a fresh-looking assertion is refused.
    let late = assertion(&k.signer, claims(&token_url, now + 30, "j7"));
    s.advance(baton_core::time::Dur::secs(31));
    let (st, r) = with_assertion(&s, &late).await;
    assert_oauth_error((st, &r), 401, "invalid_client");
    // A private_key_jwt client cannot use a secret or go without credentials.
    let (st, r) = s
        .post_form("/token", None, &[CC, ("client_id", "pkj")])
        .await;
    assert_oauth_error((st, &r), 401, "invalid_client");
}

#[tokio::test]
async fn private_key_jwt_refuses_assertions_from_the_future() {
    // RFC 7523 §3: not before `nbf`, and an `iat` ahead of our clock is not yet valid
    // either; a small leeway absorbs clock skew.
    let k = key_client();
    let s = TestServer::start(&k.toml).await;
    let now = s.clock.now().unix_secs();
    let token_url = format!("{}/token", s.url);
    let base = |jti: &str| json!({"iss": "pkj", "sub": "pkj", "aud": token_url, "exp": now + 300, "iat": now, "jti": jti});
    let mut future_nbf = base("f1");
    future_nbf["nbf"] = (now + 120).into();
    let mut future_iat = base("f2");
    future_iat["iat"] = (now + 120).into();
    for bad in [future_nbf, future_iat] {
        let (st, r) = with_assertion(&s, &assertion(&k.signer, bad.clone())).await;
        assert_oauth_error((st, &r), 401, "invalid_client");
    }
    // A few seconds of skew are tolerated.
    let mut skewed = base("f3");
    skewed["nbf"] = (now + 5).into();
    skewed["iat"] = (now + 5).into();
    let (st, r) = with_assertion(&s, &assertion(&k.signer, skewed)).await;
    assert_eq!(st, 200, "{r}");
    // A refused assertion did not burn its jti: once valid, it works.
    let mut later = base("f4");
    later["nbf"] = (now + 120).into();
    let jwt = assertion(&k.signer, later);
    let (st, _) = with_assertion(&s, &jwt).await;
    assert_eq!(st, 401);
    s.advance(baton_core::time::Dur::secs(121));
    let (st, r) = with_assertion(&s, &jwt).await;
    assert_eq!(st, 200, "{r}");
}

#[tokio::test]
async fn private_key_jwt_accepts_non_integer_numeric_dates() {
    // RFC 7519 §2: a NumericDate is a JSON number and may be non-integer (1700000000.5,
    // or written with an exponent). Only a non-number is malformed.
    let k = key_client();
    let s = TestServer::start(&k.toml).await;
    let now = s.clock.now().unix_secs();
    let token_url = format!("{}/token", s.url);
    let base = |jti: &str| json!({"iss": "pkj", "sub": "pkj", "aud": token_url, "exp": now + 300, "iat": now, "jti": jti});
    let mut fractional = base("n1");
    fractional["iat"] = json!(now as f64 - 0.5);
    fractional["nbf"] = json!(now as f64 - 10.25);
    fractional["exp"] = json!(now as f64 + 300.5);
    let mut float_integral = base("n2");
    float_integral["iat"] = json!((now - 1) as f64);
    for good in [fractional, float_integral] {
        let (st, r) = with_assertion(&s, &assertion(&k.signer, good.clone())).await;
        assert_eq!(st, 200, "{good}: {r}");
    }
    // Fractional but in the future, or not a number at all: refused.
    let mut future = base("n3");
    future["iat"] = json!(now as f64 + 120.5);
    let mut text = base("n4");
    text["iat"] = json!(now.to_string());
    let mut boolean = base("n5");
    boolean["nbf"] = json!(true);
    for bad in [future, text, boolean] {
        let (st, r) = with_assertion(&s, &assertion(&k.signer, bad)).await;
        assert_oauth_error((st, &r), 401, "invalid_client");
    }
}
