//! Malformed, oversized, wrongly typed and junk input: a clear 4xx (RFC 6749 JSON on the
//! token endpoint, an HTML page on pages), never a 5xx, and no stored change.

use crate::support::{html_page, snapshot};
use baton_testkit::flow::{location, AuthParams, Browser};
use baton_testkit::{TestServer, ALICE, WEB};
use serde_json::Value;

const FORM: &str = "application/x-www-form-urlencoded";

/// Bodies that are not a usable token request, each with its content type.
fn junk_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let long = "A".repeat(60 * 1024);
    let mut v: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        ("text/plain", b"grant_type=client_credentials".to_vec()),
        ("multipart/form-data; boundary=x", b"--x--".to_vec()),
        ("", b"grant_type=client_credentials".to_vec()),
    ];
    let forms: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"&&&".to_vec(),
        b"=".to_vec(),
        b"=client_credentials".to_vec(),
        b"grant_type".to_vec(),
        b"grant_type=".to_vec(),
        b"grant_type=client_credentials&scope=%zz".to_vec(),
        b"grant_type=client_credentials&scope=%2".to_vec(),
        b"grant_type=client_credentials&scope=%".to_vec(),
        b"grant_type=client_credentials&scope=%ff%fe".to_vec(),
        b"grant_type=client_credentials&scope=\xff\xfe".to_vec(),
        b"grant_type=client_credentials&scope=\xc3".to_vec(),
        b"grant_type=client_credentials&scope=a%00b".to_vec(),
        b"grant_type=client_credentials&scope=a\x00b".to_vec(),
        b"grant_type=client_credentials\x00".to_vec(),
        "grant_type=%F0%9F%92%A9%E2%80%AE%E2%80%8B".as_bytes().to_vec(),
        "grant_type=client_credentials&scope=\u{202e}api\u{200b}".as_bytes().to_vec(),
        "grant_type=client_credentials&scope=ａｐｉ".as_bytes().to_vec(),
        "grant_type=authorization_code&code=%F0%9F%92%A9&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb".as_bytes().to_vec(),
        b"grant_type=authorization_code&code=".to_vec(),
        b"grant_type=authorization_code&code=abc".to_vec(),
        b"grant_type=refresh_token".to_vec(),
        b"grant_type=refresh_token&refresh_token=%E2%80%AE".to_vec(),
        b"grant_type=refresh_token&refresh_token=a.b.c".to_vec(),
        format!("grant_type=refresh_token&refresh_token={long}").into_bytes(),
        format!("grant_type=authorization_code&code={long}").into_bytes(),
        format!("grant_type=client_credentials&scope={long}").into_bytes(),
        format!("grant_type={long}").into_bytes(),
        b"grant_type=password&username=alice".to_vec(),
        b"grant_type=password&password=x".to_vec(),
    ];
    v.extend(forms.into_iter().map(|b| (FORM, b)));
    v
}

#[tokio::test]
async fn the_token_endpoint_answers_junk_with_rfc6749_json() {
    let s = TestServer::start("").await;
    let before = snapshot(&s).await;
    for (ct, body) in junk_bodies() {
        for basic in [true, false] {
            let mut req = s.http.post(format!("{}/token", s.url)).body(body.clone());
            if !ct.is_empty() {
                req = req.header("content-type", ct);
            }
            if basic {
                req = req.basic_auth(WEB.0, Some(WEB.1));
            }
            let r = req.send().await.unwrap();
            let st = r.status();
            let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
            assert!(st.is_client_error(), "{st} for {ct} {shown:?}");
            if !ct.starts_with(FORM) {
                assert_eq!(st, 415, "{ct}");
            }
            let j: Value = r
                .json()
                .await
                .unwrap_or_else(|e| panic!("JSON for {shown:?}: {e}"));
            assert!(j["error"].is_string(), "{j} for {shown:?}");
            assert!(
                j["error_description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{j}"
            );
        }
    }
    assert_eq!(snapshot(&s).await, before, "no stored change");
    // Still serving.
    let (st, _) = s
        .post_form("/token", Some(WEB), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn an_oversized_body_is_413_everywhere() {
    let s = TestServer::start("").await;
    let before = snapshot(&s).await;
    let big = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(70 * 1024)
    );
    for path in ["/token", "/userinfo", "/login", "/consent"] {
        let r = s
            .http
            .post(format!("{}{path}", s.url))
            .basic_auth(WEB.0, Some(WEB.1))
            .header("content-type", FORM)
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
    }
    let r = s
        .http
        .post(format!("{}/token", s.url))
        .header("content-type", FORM)
        .body(big)
        .send()
        .await
        .unwrap();
    let j: Value = r.json().await.unwrap();
    assert_eq!(j["error"], "invalid_request");
    assert_eq!(snapshot(&s).await, before);
}

#[tokio::test]
async fn pages_answer_junk_with_an_html_error() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    // A real request handle and CSRF token, so that junk reaches the field checks.
    let login = location(&b.authorize(&AuthParams::new("web", "openid")).await).unwrap();
    let fields = b.form_fields(&login).await;
    let (req, csrf) = (fields["req"].clone(), fields["csrf"].clone());
    let before = snapshot(&s).await;
    let long = "x".repeat(60 * 1024);
    // Malformed for both forms.
    let common: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"req=%zz".to_vec(),
        b"req=\xff".to_vec(),
        b"req=a%00".to_vec(),
        format!("req={req}&req={req}&csrf={csrf}").into_bytes(),
        format!("req={req}x&csrf={csrf}&username=alice&password=alice-password").into_bytes(),
        format!("req=%F0%9F%92%A9&csrf={csrf}").into_bytes(),
        format!("req={long}&csrf={csrf}").into_bytes(),
        format!("req={req}&csrf={csrf}&decision=allow&x=%E2%80%AE%00").into_bytes(),
    ];
    // A good handle and token with bad credentials fields (login only: without a
    // session, consent sends the browser to sign in).
    let login_only: Vec<Vec<u8>> = vec![
        format!("req={req}&csrf={csrf}&username=alice&password=%00").into_bytes(),
        [
            format!("req={req}&csrf={csrf}&username=").as_bytes(),
            b"\xff&password=x",
        ]
        .concat(),
        format!("req={req}&csrf={csrf}&username=&password=").into_bytes(),
        format!("req={req}&csrf={csrf}&username=alice").into_bytes(),
    ];
    for path in ["/login", "/consent"] {
        let extra = if path == "/login" {
            &login_only[..]
        } else {
            &[]
        };
        for body in common.iter().chain(extra) {
            let r = b
                .http
                .post(format!("{}{path}", s.url))
                .header("content-type", FORM)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
            assert!((400..500).contains(&st), "{path} {st} for {shown:?}");
            html_page(r, st).await;
        }
        let r = b
            .http
            .post(format!("{}{path}", s.url))
            .header("content-type", "application/json")
            .body(format!(r#"{{"req":"{req}","csrf":"{csrf}"}}"#))
            .send()
            .await
            .unwrap();
        html_page(r, 415).await;
    }
    for q in [
        "client_id=%zz",
        "client_id=web&x=%ff",
        "client_id=%00",
        "client_id=web&client_id=spa",
        "",
        "req=",
        "req=junk",
    ] {
        for path in ["/authorize", "/login", "/consent"] {
            let r = b.get(&format!("{path}?{q}")).await;
            assert_eq!(r.status(), 400, "{path}?{q}");
            html_page(r, 400).await;
        }
    }
    assert_eq!(snapshot(&s).await, before, "no stored change");
    // The genuine form still works.
    let ok = b.login(&login, ALICE.0, ALICE.1).await;
    assert_eq!(ok.status(), 303);
}

#[tokio::test]
async fn authorize_parameters_with_junk_values_never_reach_a_5xx() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let long = "n".repeat(20 * 1024);
    let values = ["\u{202e}\u{200b}", "💩", &long, "%", " ", "\t"];
    for key in [
        "scope",
        "state",
        "nonce",
        "prompt",
        "max_age",
        "code_challenge",
        "response_type",
        "redirect_uri",
    ] {
        for v in values {
            let mut q: Vec<(String, String)> = AuthParams::new("spa", "openid")
                .query()
                .into_iter()
                .filter(|(k, _)| k != key)
                .collect();
            q.push((key.to_string(), v.to_string()));
            let r = b.authorize_query(&q).await;
            let st = r.status().as_u16();
            assert!(st == 303 || (400..500).contains(&st), "{key}={v:.20}: {st}");
            if st == 303 {
                let loc = location(&r).unwrap();
                assert!(
                    !loc.contains("code="),
                    "{key}={v:.20} must not issue a code"
                );
            }
        }
    }
}
