//! `/token` against junk, over real HTTP: arbitrary bodies under arbitrary content types
//! and `Authorization` headers, and junk or mutated `client_assertion`s for a
//! `private_key_jwt` client. Never a 5xx, never a success, nothing stored.

use super::{run, runtime};
use crate::support::snapshot;
use baton_core::model::SigAlg;
use baton_server::jwt::{self, Signer};
use baton_testkit::TestServer;
use proptest::prelude::*;
use serde_json::json;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("grant_type".to_string()),
        Just("refresh_token".to_string()),
        Just("client_id".to_string()),
        Just("client_secret".to_string()),
        Just("code".to_string()),
        Just("redirect_uri".to_string()),
        Just("code_verifier".to_string()),
        Just("scope".to_string()),
        Just("username".to_string()),
        Just("password".to_string()),
        Just("client_assertion".to_string()),
        Just("client_assertion_type".to_string()),
        Just("token".to_string()),
        Just("token_type_hint".to_string()),
        Just("resource".to_string()),
        Just("grant%5Ftype".to_string()),
        Just(String::new()),
        "[a-z_%+]{1,10}",
        "\\PC{1,6}",
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("refresh_token".to_string()),
        Just("password".to_string()),
        Just("authorization_code".to_string()),
        Just("client_credentials".to_string()),
        Just(ASSERTION_TYPE.to_string()),
        Just("spa".to_string()),
        Just("web".to_string()),
        Just("alice".to_string()),
        Just("wrong-password".to_string()),
        Just("openid offline_access".to_string()),
        Just("http://127.0.0.1:9/cb".to_string()),
        Just("https://api.example/invoices#x".to_string()),
        Just("%zz".to_string()),
        Just("%00".to_string()),
        Just("%C3%28".to_string()),
        "brt_[A-Za-z0-9_-]{0,90}",
        "[A-Za-z0-9_.-]{0,40}",
        "\\PC{0,20}",
        "[a-z]{3000,5000}",
    ]
}

/// A body: mostly form-shaped (names, values, separators, repeats), sometimes raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let pair = (param_name(), param_value(), 0u8..4).prop_map(|(k, v, sep)| match sep {
        0 => k,
        1 => format!("{k}={v}="),
        _ => format!("{k}={v}"),
    });
    prop_oneof![
        4 => prop::collection::vec(pair, 0..8).prop_map(|p| p.join("&").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => Just(br#"{"grant_type":"refresh_token","refresh_token":"x"}"#.to_vec()),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(Some("application/x-www-form-urlencoded".to_string())),
        1 => Just(Some("application/x-www-form-urlencoded; charset=utf-8".to_string())),
        1 => Just(Some("APPLICATION/X-WWW-FORM-URLENCODED;".to_string())),
        1 => Just(Some("application/json".to_string())),
        1 => Just(Some("multipart/form-data; boundary=x".to_string())),
        1 => Just(Some("text/plain".to_string())),
        1 => Just(Some(";;;".to_string())),
        1 => "[ -~]{0,30}".prop_map(Some),
        1 => Just(None),
    ]
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some("Basic d2ViOndyb25n".to_string())), // web:wrong
        1 => Just(Some("Basic c3BhOg==".to_string())),     // spa:
        1 => Just(Some("Basic !!!".to_string())),
        1 => Just(Some("Basic ".to_string())),
        1 => Just(Some("Bearer x".to_string())),
        1 => "Basic [A-Za-z0-9+/=]{0,40}".prop_map(Some),
        1 => "[ -~]{0,40}".prop_map(Some),
    ]
}

#[derive(Debug, Clone)]
struct Request {
    body: Vec<u8>,
    content_type: Option<String>,
    authorization: Option<String>,
}

fn request() -> impl Strategy<Value = Request> {
    (body(), content_type(), authorization()).prop_map(|(body, content_type, authorization)| {
        Request {
            body,
            content_type,
            authorization,
        }
    })
}

async fn send(s: &TestServer, path: &str, r: &Request) -> (u16, String) {
    let mut req = s.http.post(format!("{}{path}", s.url)).body(r.body.clone());
    if let Some(ct) = &r.content_type {
        req = req.header("content-type", ct.as_str());
    }
    if let Some(a) = &r.authorization {
        req = req.header("authorization", a.as_str());
    }
    match req.send().await {
        Ok(resp) => {
            let st = resp.status().as_u16();
            (st, resp.text().await.unwrap_or_default())
        }
        // A header value reqwest itself refuses to send is not a server answer.
        Err(e) if e.is_builder() => (0, String::new()),
        Err(e) => (599, format!("request failed: {e}")),
    }
}

#[test]
fn junk_at_the_token_endpoint_never_5xx_and_stores_nothing() {
    let rt = runtime();
    let s = rt.block_on(TestServer::start(""));
    let before = rt.block_on(snapshot(&s));
    run("http /token(junk)", 2048, 64, 41, request(), |r| {
        let (st, body) = rt.block_on(send(&s, "/token", &r));
        prop_assert!(st != 200, "junk accepted: {} {}", st, body);
        prop_assert!(st < 500, "{}: {}", st, body);
        Ok(())
    });
    assert_eq!(
        rt.block_on(snapshot(&s)),
        before,
        "junk changed stored state"
    );
    rt.block_on(s.stop());
}

#[test]
fn junk_at_revoke_and_introspect_never_5xx_and_stores_nothing() {
    // RFC 7009: revoking a token the server does not know answers 200, so 200 is
    // allowed here; a change of stored state is not.
    let rt = runtime();
    let s = rt.block_on(TestServer::start(""));
    let before = rt.block_on(snapshot(&s));
    let strategy = (prop_oneof![Just("/revoke"), Just("/introspect")], request());
    run(
        "http /revoke,/introspect(junk)",
        1024,
        64,
        43,
        strategy,
        |(path, r)| {
            let (st, body) = rt.block_on(send(&s, path, &r));
            prop_assert!(st < 500, "{} {}: {}", path, st, body);
            Ok(())
        },
    );
    assert_eq!(
        rt.block_on(snapshot(&s)),
        before,
        "junk changed stored state"
    );
    rt.block_on(s.stop());
}

/// One way of breaking an otherwise good assertion.
#[derive(Debug, Clone)]
enum Bad {
    /// A valid assertion, then its text altered (bit flip, cut, insert).
    Mutated(Vec<(usize, u8)>),
    WrongAudience,
    Expired,
    TooFarAhead,
    NoJti,
    SubIsAnother,
    IssIsAnother,
    /// Signed with a key the client did not register.
    OtherKey,
    /// `alg: none`, no signature.
    Unsigned,
    /// Not a JWT at all.
    Junk(String),
}

fn bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        4 => prop::collection::vec((any::<usize>(), 0u8..3), 1..3).prop_map(Bad::Mutated),
        1 => Just(Bad::WrongAudience),
        1 => Just(Bad::Expired),
        1 => Just(Bad::TooFarAhead),
        1 => Just(Bad::NoJti),
        1 => Just(Bad::SubIsAnother),
        1 => Just(Bad::IssIsAnother),
        1 => Just(Bad::OtherKey),
        1 => Just(Bad::Unsigned),
        1 => "\\PC{0,60}|[A-Za-z0-9_-]{1,30}\\.[A-Za-z0-9_-]{1,30}\\.[A-Za-z0-9_-]{0,30}"
            .prop_map(Bad::Junk),
    ]
}

fn b64(s: &str) -> String {
    baton_testkit::flow::b64url(s.as_bytes())
}

#[test]
fn junk_client_assertions_never_authenticate() {
    let rt = runtime();
    let signer = || {
        let pkcs8 = baton_server::keys::generate_pkcs8(SigAlg::ES256).unwrap();
        Signer::from_pkcs8(SigAlg::ES256, &pkcs8).unwrap()
    };
    let (key, other) = (signer(), signer());
    let mut jwk = key.public_jwk();
    jwk["kid"] = "k1".into();
    let jwks = json!({ "keys": [jwk] }).to_string();
    let toml = format!(
        "[[clients]]\nclient_id = \"pkj\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
         grant_types = [\"client_credentials\"]\nscopes = [\"api\"]\njwks = '{jwks}'\n"
    );
    let s = rt.block_on(TestServer::start(&toml));
    let before = rt.block_on(snapshot(&s));
    let token_url = format!("{}/token", s.url);
    let jti = std::sync::atomic::AtomicUsize::new(0);
    let strategy = (bad(), any::<bool>());
    run(
        "http /token(client_assertion)",
        1024,
        64,
        42,
        strategy,
        |(bad, with_id)| {
            let now = s.clock.now().unix_secs();
            let n = jti.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut claims = json!({"iss": "pkj", "sub": "pkj", "aud": token_url, "exp": now + 60, "iat": now, "jti": format!("j{n}")});
            let mut k = &key;
            match &bad {
                Bad::WrongAudience => claims["aud"] = "https://other.example/token".into(),
                Bad::Expired => claims["exp"] = (now - 1).into(),
                Bad::TooFarAhead => claims["exp"] = (now + 3600).into(),
                Bad::NoJti => {
                    claims.as_object_mut().unwrap().remove("jti");
                }
                Bad::SubIsAnother => claims["sub"] = "web".into(),
                Bad::IssIsAnother => claims["iss"] = "web".into(),
                Bad::OtherKey => k = &other,
                _ => {}
            }
            let good_form = jwt::sign(k, SigAlg::ES256, "k1", "JWT", &claims).unwrap();
            let assertion = match &bad {
                Bad::Mutated(edits) => {
                    let mut bytes = good_form.clone().into_bytes();
                    for (i, how) in edits {
                        let i = i % bytes.len();
                        match how {
                            0 => bytes[i] ^= 1 << (i % 7),
                            1 => bytes.truncate(i.max(1)),
                            _ => bytes.insert(i, b'A'),
                        }
                    }
                    let t = String::from_utf8_lossy(&bytes).into_owned();
                    if t == good_form {
                        return Ok(());
                    }
                    t
                }
                Bad::Unsigned => format!(
                    "{}.{}.",
                    b64(r#"{"alg":"none","typ":"JWT"}"#),
                    b64(&claims.to_string())
                ),
                Bad::Junk(j) => j.clone(),
                _ => good_form,
            };
            let mut form = vec![
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            if with_id {
                form.push(("client_id", "pkj"));
            }
            let (st, v) = rt.block_on(s.post_form("/token", None, &form));
            prop_assert!(
                st.as_u16() == 400 || st.as_u16() == 401,
                "{:?} answered {}: {}",
                bad,
                st,
                v
            );
            Ok(())
        },
    );
    assert_eq!(
        rt.block_on(snapshot(&s)),
        before,
        "junk changed stored state"
    );
    rt.block_on(s.stop());
}

/// A `DPoP` header: junk text, a real proof mutated (a byte changed, cut, parts swapped,
/// re-encoded), or a proof whose header and claims are random JSON signed with a real
/// key.
fn dpop_header(
    real: String,
    key: std::sync::Arc<baton_testkit::dpop::ProofKey>,
) -> impl Strategy<Value = String> {
    let json_value = prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(|s| json!(s)),
        Just(json!([1, "a", {}])),
        Just(json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})),
    ];
    let members = prop::collection::vec(
        (
            prop_oneof![
                Just("typ".to_string()),
                Just("alg".to_string()),
                Just("jwk".to_string()),
                Just("jti".to_string()),
                Just("htm".to_string()),
                Just("htu".to_string()),
                Just("iat".to_string()),
                Just("nonce".to_string()),
                "[a-z]{1,4}",
            ],
            json_value,
        ),
        0..6,
    );
    let len = real.len();
    let r1 = real.clone();
    let r2 = real.clone();
    prop_oneof![
        2 => "\\PC{0,40}",
        1 => "[A-Za-z0-9_.-]{0,300}",
        2 => (0..len, any::<u8>()).prop_map(move |(i, b)| {
            let mut bytes = r1.clone().into_bytes();
            bytes[i] = b'A' + b % 26;
            String::from_utf8_lossy(&bytes).into_owned()
        }),
        1 => (0..len).prop_map(move |i| r2[..i].to_string()),
        2 => (members.clone(), members).prop_map(move |(h, c)| {
            let h: serde_json::Map<String, serde_json::Value> = h.into_iter().collect();
            let c: serde_json::Map<String, serde_json::Value> = c.into_iter().collect();
            key.sign(&serde_json::Value::Object(h), &serde_json::Value::Object(c))
        }),
    ]
}

#[test]
fn junk_dpop_proofs_never_5xx_never_bind_and_store_nothing() {
    let rt = runtime();
    let s = rt.block_on(TestServer::start(""));
    let key = std::sync::Arc::new(baton_testkit::dpop::ProofKey::es256());
    let real = key.proof("POST", &format!("{}/token", s.url));
    // The real proof is spent first: a mutation that leaves it as it was (or decodes to
    // the same) is then a replay, and only a new valid proof could be accepted.
    let first = rt.block_on(async {
        s.http
            .post(format!("{}/token", s.url))
            .basic_auth(baton_testkit::WEB.0, Some(baton_testkit::WEB.1))
            .header("dpop", real.as_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(first, 200);
    let (_, grants_before) = rt.block_on(snapshot(&s));
    run(
        "http /token(dpop junk)",
        512,
        64,
        43,
        dpop_header(real, key),
        |p| {
            let r = rt.block_on(async {
                s.http
                    .post(format!("{}/token", s.url))
                    .basic_auth(baton_testkit::WEB.0, Some(baton_testkit::WEB.1))
                    .header("dpop", p.as_str())
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
            });
            let Ok(r) = r else {
                // A header value reqwest itself refuses to send is not a server answer.
                return Ok(());
            };
            let st = r.status().as_u16();
            let body = rt.block_on(r.text()).unwrap_or_default();
            prop_assert!(st < 500, "{}: {}", st, body);
            prop_assert!(st != 200, "junk proof accepted: {} (proof {})", body, p);
            Ok(())
        },
    );
    let (_, grants_after) = rt.block_on(snapshot(&s));
    assert_eq!(grants_before, grants_after);
    rt.block_on(s.stop());
}
