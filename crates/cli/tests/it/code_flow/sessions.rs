//! Browser sessions: the cookie is a secret and the `sid` is public; signing in again is
//! not a sign-out; `prompt=login` and `max_age` cannot be skipped or looped; an idle
//! session does not take offline access with it; a code does not outlive its session.

use crate::support::{assert_invalid_grant, eventually, grant_of, rt};
use baton_core::store::GrantFilter;
use baton_core::time::Dur;
use baton_testkit::flow::{self, AuthParams, Browser, ClientAuth};
use baton_testkit::{TestServer, WEB};
use reqwest::StatusCode;
use std::time::Duration;

const FAST_EXPIRY: &str = "[sessions]\nidle_lifetime = \"10m\"\nexpiry_check_interval = \"1s\"\n";

fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    flow::set_cookies(resp)
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[tokio::test]
async fn the_session_cookie_is_not_the_public_sid() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let p = AuthParams::new("web", "openid offline_access");
    let resp = b.authorize(&p).await;
    let login_at = flow::location(&resp).unwrap();
    let resp = b.login(&login_at, "alice", "alice-password").await;
    let cookie = cookie_value(&resp, "baton_session").expect("session cookie set at sign-in");
    let cb = b.drive(resp, "allow").await;
    let verifier = p.pkce.as_ref().map(|k| k.verifier.as_str());
    let (st, t) = flow::exchange(
        &s,
        ClientAuth::Basic(WEB.0, WEB.1),
        cb.code(),
        flow::REDIRECT_URI,
        verifier,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let sid = flow::jwt_claims(t["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(sid, cookie);
    assert!(cookie.len() >= 64, "256-bit cookie secret");
    // Presenting the public sid as a cookie proves nothing.
    let attacker = baton_testkit::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut none = AuthParams::new("web", "openid");
    none.prompt = Some("none".into());
    let q = none.query();
    let r = attacker
        .get(format!("{}/authorize", s.url))
        .query(&q)
        .header("cookie", format!("baton_session={sid}"))
        .send()
        .await
        .unwrap();
    let cb = flow::Callback::parse(&flow::location(&r).unwrap());
    assert_eq!(cb.error(), Some("login_required"));
    // Nor does any event or stored row carry the cookie.
    let db = std::fs::read(s.dir.path().join("baton.db")).unwrap();
    assert!(!db.windows(cookie.len()).any(|w| w == cookie.as_bytes()));
}

#[tokio::test]
async fn signing_in_again_as_the_same_user_is_not_a_sign_out() {
    let s = TestServer::start("").await;
    let first = flow::code_flow(&s, "web", "openid offline_access").await;
    let rt = first["refresh_token"].as_str().unwrap();
    let sid = flow::jwt_claims(first["id_token"].as_str().unwrap())["sid"].clone();
    let mut p = AuthParams::new("web", "openid offline_access");
    p.prompt = Some("login".into());
    let b = Browser::shared(&s);
    let resp = b.authorize(&p).await;
    assert!(
        flow::location(&resp).unwrap().starts_with("/login"),
        "prompt=login asks again"
    );
    let cb = b.drive(resp, "allow").await;
    let verifier = p.pkce.as_ref().map(|k| k.verifier.as_str());
    let (st, second) = flow::exchange(
        &s,
        ClientAuth::Basic(WEB.0, WEB.1),
        cb.code(),
        flow::REDIRECT_URI,
        verifier,
    )
    .await;
    assert_eq!(st, 200, "{second}");
    let claims = flow::jwt_claims(second["id_token"].as_str().unwrap());
    assert_eq!(claims["sid"], sid, "the same session");
    assert!(
        claims["auth_time"].as_i64()
            >= flow::jwt_claims(first["id_token"].as_str().unwrap())["auth_time"].as_i64()
    );
    let (st, v) = s.refresh(rt).await;
    assert_eq!(st, 200, "the first grant survives: {v}");
    assert!(s.events("session.ended").await.is_empty());
}

#[tokio::test]
async fn max_age_zero_signs_in_once_and_returns_to_the_client() {
    let s = TestServer::start("").await;
    flow::code_flow(&s, "web", "openid").await;
    let mut p = AuthParams::new("web", "openid");
    p.max_age = Some(0);
    // `drive` fails if the flow keeps bouncing to the sign-in page.
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    assert!(cb.get("code").is_some(), "{}", cb.url);
}

#[tokio::test]
async fn consent_cannot_skip_a_required_sign_in() {
    let s = TestServer::start("").await;
    flow::code_flow(&s, "web", "openid").await;
    let b = Browser::shared(&s);
    let mut p = AuthParams::new("web", "openid email");
    p.prompt = Some("login".into());
    let login_at = flow::location(&b.authorize(&p).await).unwrap();
    let h = login_at.split("req=").nth(1).unwrap().to_string();
    let r = b.get(&format!("/consent?req={h}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(flow::location(&r).unwrap().starts_with("/login"));
    // The CSRF token of this handle is valid for the consent form too: still no code.
    let fields = b.form_fields(&login_at).await;
    let form = vec![
        ("req".to_string(), h.clone()),
        ("csrf".to_string(), fields["csrf"].clone()),
        ("decision".to_string(), "allow".to_string()),
    ];
    let r = b.post("/consent", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        flow::location(&r).unwrap().starts_with("/login"),
        "no code without the sign-in"
    );
}

#[tokio::test]
async fn an_expired_session_takes_online_grants_but_not_offline_ones() {
    let s = TestServer::start(FAST_EXPIRY).await;
    let offline = flow::code_flow(&s, "web", "openid offline_access").await;
    let online = flow::code_flow(&s, "web", "openid online_access").await;
    s.advance(Dur::secs(11 * 60));
    // The maintenance task (every second) ends it.
    let ended = eventually(
        Duration::from_secs(4),
        || s.events("session.ended"),
        |e| !e.is_empty(),
    )
    .await;
    assert_eq!(ended.len(), 1, "the maintenance tick ended the session");
    let (st, v) = s.refresh(online["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (st, v) = s.refresh(offline["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        st, 200,
        "offline access survives an idle browser session: {v}"
    );
}

#[tokio::test]
async fn a_code_does_not_outlive_its_session() {
    let s = TestServer::start("").await;
    let p = AuthParams::new("web", "openid offline_access");
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    let sessions = s.events("login.succeeded").await;
    let sid = sessions[0].details["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        baton_server::sessions::end(s.state(), &sid, "logout", s.clock.now())
            .await
            .unwrap()
    );
    let verifier = p.pkce.as_ref().map(|k| k.verifier.as_str());
    let (st, v) = flow::exchange(
        &s,
        ClientAuth::Basic(WEB.0, WEB.1),
        cb.code(),
        flow::REDIRECT_URI,
        verifier,
    )
    .await;
    assert_eq!(
        (st.as_u16(), v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    assert!(s.events("grant.created").await.is_empty());
}

#[tokio::test]
async fn a_code_whose_session_ended_before_the_exchange_leaves_nothing_live() {
    let s = TestServer::start("").await;
    // A first flow opens the browser session; a second code is issued in it.
    let first = flow::code_flow(&s, "spa", "openid offline_access").await;
    let sid = grant_of(&s, &rt(&first))
        .await
        .session_id
        .expect("a browser grant has a session");
    let p = AuthParams::new("web", "openid offline_access");
    let cb = Browser::shared(&s).authorize_and_allow(&p).await;
    assert_eq!(cb.error(), None, "{}", cb.url);
    // The user signs out before the client exchanges the code.
    assert!(
        baton_server::sessions::end(s.state(), &sid, "logout", s.clock.now())
            .await
            .unwrap()
    );
    let verifier = p.pkce.as_ref().map(|p| p.verifier.as_str());
    let (st, v) = flow::exchange(&s, "web".into(), cb.code(), flow::REDIRECT_URI, verifier).await;
    assert_invalid_grant(st, &v, "session");
    // Nothing of that session is live, in the store or in the cache.
    for persist in [true, false] {
        let live: Vec<_> = s
            .state()
            .grants(persist)
            .list_grants(Some(&GrantFilter::Session(sid.clone())), None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|g| g.is_active())
            .collect();
        assert!(live.is_empty(), "{live:?}");
    }
}
