//! Login throttling: repeated wrong passwords for one account, or from one client
//! address, make the next attempts wait (429 with `Retry-After`, the password not even
//! checked), on the password grant as on the login page; the wait is capped, and the
//! events say who was tried and when the throttle engaged. An address the user signed
//! in from keeps its own count, so an attacker elsewhere cannot lock her out of it
//! (the tests connect from other 127.0.0.0/8 addresses to be another client).

use crate::support::{assert_oauth_error, html_page};
use baton_core::time::Dur;
use baton_testkit::flow::{location, AuthParams, Browser};
use baton_testkit::{TestServer, ALICE, WEB};
use reqwest::StatusCode;
use serde_json::Value;

/// A password grant with the `web` client: status, `Retry-After` (seconds) and body.
async fn password(s: &TestServer, user: &str, pw: &str) -> (StatusCode, Option<i64>, Value) {
    password_via(&s.http, s, user, pw).await
}

/// `password` sent through `http` (e.g. one from `client_at`).
async fn password_via(
    http: &reqwest::Client,
    s: &TestServer,
    user: &str,
    pw: &str,
) -> (StatusCode, Option<i64>, Value) {
    let resp = http
        .post(format!("{}/token", s.url))
        .basic_auth(WEB.0, Some(WEB.1))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", pw),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry = retry_after(&resp);
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address reaches the
/// test server on 127.0.0.1, and the server sees it as the peer address).
fn client_at(ip: [u8; 4]) -> reqwest::Client {
    baton_testkit::http_builder()
        .local_address(std::net::IpAddr::from(ip))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn retry_after(resp: &reqwest::Response) -> Option<i64> {
    resp.headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

async fn alice_sub(s: &TestServer) -> String {
    s.state()
        .store
        .get_user(ALICE.0)
        .await
        .unwrap()
        .unwrap()
        .sub
}

#[tokio::test]
async fn the_right_password_after_thirty_wrong_ones_waits_for_the_back_off_at_the_token_endpoint() {
    let s = TestServer::start("").await;
    let mut throttled = 0;
    for _ in 0..30 {
        let (st, retry, body) = password(&s, ALICE.0, "wrong-password").await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
            assert_oauth_error((st, &body), 429, "temporarily_unavailable");
            assert!(retry.is_some_and(|r| r >= 1), "Retry-After on a 429");
        } else {
            assert_oauth_error((st, &body), 400, "invalid_grant");
        }
    }
    assert!(throttled >= 20, "most of the 30 guesses were refused");

    // The right password is refused too, without being checked: a guess made during
    // the back-off cannot succeed.
    let (st, retry, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_oauth_error((st, &body), 429, "temporarily_unavailable");
    let retry = retry.unwrap();
    assert!((1..=300).contains(&retry), "Retry-After {retry}");
    let d = body["error_description"].as_str().unwrap();
    assert!(d.contains(&format!("{retry} second")), "says when: {d}");
    assert!(s.events("login.succeeded").await.is_empty());

    // Once the back-off has passed, the right password succeeds at once.
    s.advance(Dur::secs(retry));
    let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());

    // A success starts the account afresh: the next typo costs nothing.
    let (st, _, body) = password(&s, ALICE.0, "typo").await;
    assert_oauth_error((st, &body), 400, "invalid_grant");
    s.password_grant("openid").await;

    // login.failed names the account tried (never the password); login.throttled is
    // recorded once for the back-off step, not once per refused attempt.
    let sub = alice_sub(&s).await;
    let failed = s.events("login.failed").await;
    assert_eq!(
        failed.len(),
        30 - throttled + 1,
        "refused attempts are not failures"
    );
    for e in &failed {
        assert_eq!(e.subject.as_deref(), Some(sub.as_str()));
        assert_eq!(e.client_id.as_deref(), Some("web"));
        assert_eq!(e.details["via"], "password_grant");
        assert!(!e.details.to_string().contains("wrong-password"));
    }
    let thr = s.events("login.throttled").await;
    assert_eq!(thr.len(), 1, "one event per back-off step: {thr:?}");
    assert_eq!(thr[0].subject.as_deref(), Some(sub.as_str()));
    assert_eq!(thr[0].details["scope"], "account");
    assert_eq!(thr[0].details["via"], "password_grant");

    // An unknown user's failures carry no subject.
    let (st, _, _) = password(&s, "nobody", "x").await;
    assert_eq!(st, 400);
    let failed = s.events("login.failed").await;
    assert_eq!(failed[0].subject, None);

    let metrics = s
        .http
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("baton_login_throttled_total{via=\"password_grant\"} "),
        "{metrics}"
    );
}

/// Where `/authorize` sends a fresh browser: the login page.
async fn login_location(b: &Browser<'_>) -> String {
    let resp = b.authorize(&AuthParams::new("web", "openid")).await;
    assert_eq!(resp.status(), 303);
    let loc = location(&resp).unwrap();
    assert!(loc.starts_with("/login"), "{loc}");
    loc
}

#[tokio::test]
async fn the_right_password_after_thirty_wrong_ones_waits_for_the_back_off_on_the_login_page() {
    let s = TestServer::start("").await;
    let b = Browser::fresh(&s);
    let login = login_location(&b).await;
    let mut throttled = 0;
    for _ in 0..30 {
        let resp = b.login(&login, ALICE.0, "wrong-password").await;
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        } else {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }
    }
    assert!(throttled >= 20, "most of the 30 guesses were refused");

    let resp = b.login(&login, ALICE.0, ALICE.1).await;
    assert!(resp.headers().get("set-cookie").is_none(), "not signed in");
    let retry = retry_after(&resp).expect("Retry-After");
    let page = html_page(resp, 429).await;
    assert!(page.contains("Too many failed sign-in attempts"), "{page}");
    assert!(
        page.contains(&format!("{retry} second")),
        "says when: {page}"
    );
    assert!(
        page.contains("name=\"password\""),
        "the form is shown again"
    );
    assert!(!page.contains("wrong-password"));

    s.advance(Dur::secs(retry));
    let resp = b.login(&login, ALICE.0, ALICE.1).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed in");
    assert_eq!(s.events("login.succeeded").await.len(), 1);

    let sub = alice_sub(&s).await;
    let failed = s.events("login.failed").await;
    assert_eq!(failed.len(), 30 - throttled);
    assert!(failed
        .iter()
        .all(|e| e.subject.as_deref() == Some(sub.as_str()) && e.details["via"] == "login_page"));
    let thr = s.events("login.throttled").await;
    assert_eq!(thr.len(), 1, "{thr:?}");
    assert_eq!(thr[0].details["via"], "login_page");
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_throttled_too() {
    let s = TestServer::start("[login]\nfree_failures_per_ip = 8\n").await;
    // One failure per username: no account reaches its own allowance.
    let mut first_throttled = None;
    for i in 0..12 {
        let (st, retry, body) = password(&s, &format!("user{i}"), "guess").await;
        if st == StatusCode::TOO_MANY_REQUESTS {
            assert_oauth_error((st, &body), 429, "temporarily_unavailable");
            assert!(retry.is_some());
            first_throttled.get_or_insert(i);
        } else {
            assert_eq!(st, 400, "{body}");
        }
    }
    assert_eq!(
        first_throttled,
        Some(9),
        "8 free failures, a 9th, then the wait"
    );
    // Everyone at this address waits, even with the right password.
    let (st, retry, _) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    s.advance(Dur::secs(retry.unwrap()));
    let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let thr = s.events("login.throttled").await;
    assert_eq!(thr.len(), 1, "{thr:?}");
    assert_eq!(thr[0].details["scope"], "address");
    assert_eq!(thr[0].ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_lock_out_never_lasts_longer_than_the_cap() {
    let s = TestServer::start("").await;
    // Keep failing, each time as soon as allowed: the wait doubles up to the cap (the
    // loop ends having waited, so the next attempt is checked).
    let mut waits = Vec::new();
    for _ in 0..39 {
        let (st, retry, _) = password(&s, ALICE.0, "wrong-password").await;
        match st {
            StatusCode::BAD_REQUEST => continue,
            StatusCode::TOO_MANY_REQUESTS => {
                let r = retry.unwrap();
                waits.push(r);
                s.advance(Dur::secs(r));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        &waits[..4],
        &[1, 2, 4, 8],
        "exponential back-off: {waits:?}"
    );
    assert!(
        waits.iter().all(|w| *w <= 300),
        "capped at 5 minutes: {waits:?}"
    );
    assert_eq!(*waits.last().unwrap(), 300, "{waits:?}");

    // Now at the cap: one more failure, then hammering during the wait does not make
    // it longer.
    let (st, _, _) = password(&s, ALICE.0, "wrong-password").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    for _ in 0..10 {
        let (st, retry, _) = password(&s, ALICE.0, "wrong-password").await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry.unwrap() <= 300);
    }
    s.advance(Dur::secs(299));
    let (st, _, _) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(
        st,
        StatusCode::TOO_MANY_REQUESTS,
        "still within the 5 minutes"
    );
    s.advance(Dur::secs(1));
    let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::OK, "the user gets in after the cap: {body}");
}

#[tokio::test]
async fn throttling_can_be_turned_off() {
    let s = TestServer::start("[login]\nfree_failures = 0\nfree_failures_per_ip = 0\n").await;
    for _ in 0..12 {
        let (st, _, _) = password(&s, ALICE.0, "wrong-password").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
    }
    s.password_grant("openid").await;
    assert!(s.events("login.throttled").await.is_empty());
}

/// `n` password grants for alice at once, the `i`th with `pw(i)`: their statuses.
async fn at_once(s: &TestServer, n: usize, pw: fn(usize) -> String) -> Vec<StatusCode> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, url) = (s.http.clone(), s.url.clone());
            tokio::spawn(async move {
                http.post(format!("{url}/token"))
                    .basic_auth(WEB.0, Some(WEB.1))
                    .form(&[
                        ("grant_type", "password"),
                        ("username", ALICE.0),
                        ("password", &pw(i)),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn concurrent_sign_ins_with_the_right_password_all_succeed() {
    let s = TestServer::start("").await;
    let answers = at_once(&s, 24, |_| ALICE.1.to_string()).await;
    assert!(
        answers.iter().all(|st| *st == StatusCode::OK),
        "{answers:?}"
    );
    assert!(s.events("login.throttled").await.is_empty());
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_past_the_count() {
    let s = TestServer::start("[login]\nfirst_delay = \"1m\"\n").await;
    let answers = at_once(&s, 30, |i| format!("guess-{i}")).await;
    let checked = answers
        .iter()
        .filter(|st| **st == StatusCode::BAD_REQUEST)
        .count();
    let refused = answers
        .iter()
        .filter(|st| **st == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 30, "{answers:?}");
    assert!(
        checked <= 6,
        "5 free failures and the one that starts the wait: {answers:?}"
    );
    assert_eq!(s.events("login.failed").await.len(), checked);
}

/// Fails once for alice from `http` each time the account's wait has passed, until the
/// wait is at the 5-minute cap: the slow attacker who keeps the account locked.
async fn lock_alice_out(s: &TestServer, http: &reqwest::Client) {
    for _ in 0..40 {
        let (st, retry, _) = password_via(http, s, ALICE.0, "wrong-password").await;
        match st {
            StatusCode::BAD_REQUEST => continue,
            StatusCode::TOO_MANY_REQUESTS if retry == Some(300) => return,
            StatusCode::TOO_MANY_REQUESTS => s.advance(Dur::secs(retry.unwrap())),
            other => panic!("unexpected {other}"),
        }
    }
    panic!("the wait never reached the cap");
}

#[tokio::test]
async fn a_slow_attacker_elsewhere_cannot_lock_the_user_out_of_an_address_she_signed_in_from() {
    let s = TestServer::start("").await;
    let attacker = client_at([127, 0, 0, 2]);
    let new_address = client_at([127, 0, 0, 3]);
    // Alice signs in from her usual address (127.0.0.1).
    let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    // Days later, an attacker elsewhere keeps her account at the longest wait, one
    // failure per wait: far below its own address's allowance.
    s.advance(Dur::secs(3 * 86_400));
    lock_alice_out(&s, &attacker).await;
    for round in 0..24 {
        s.advance(Dur::secs(300));
        let (st, _, _) = password_via(&attacker, &s, ALICE.0, "wrong-password").await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "round {round}: checked");

        // From an address she never signed in from, she waits like everyone else.
        let (st, retry, _) = password_via(&new_address, &s, ALICE.0, ALICE.1).await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "round {round}");
        assert_eq!(retry, Some(300));
        // From her usual address she gets in at once, and that does not reset the
        // attacker's count.
        let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
        assert_eq!(st, StatusCode::OK, "round {round}: {body}");
        let (st, _, _) = password_via(&attacker, &s, ALICE.0, ALICE.1).await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "round {round}");
    }
}

#[tokio::test]
async fn a_guesser_at_the_users_known_address_is_still_throttled() {
    let s = TestServer::start("").await;
    let attacker = client_at([127, 0, 0, 2]);
    let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    lock_alice_out(&s, &attacker).await;

    // Someone on alice's own network gets the normal allowance and back-off for alice
    // there, no more: 5 free failures, a 6th, then waits, even for the right password.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(password(&s, ALICE.0, "guess").await.0);
    }
    let expected: Vec<_> = [400, 400, 400, 400, 400, 400, 429, 429]
        .into_iter()
        .map(|c| StatusCode::from_u16(c).unwrap())
        .collect();
    assert_eq!(statuses, expected);
    let (st, retry, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_oauth_error((st, &body), 429, "temporarily_unavailable");
    assert_eq!(retry, Some(1), "the first step of the back-off");
    let thr = s.events("login.throttled").await;
    assert_eq!(thr[0].details["scope"], "account");
    assert_eq!(thr[0].ip.as_deref(), Some("127.0.0.1"));

    // Its back-off doubles as usual and ends as usual.
    s.advance(Dur::secs(1));
    assert_eq!(password(&s, ALICE.0, "guess").await.0, 400);
    let (st, retry, _) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!((st, retry), (StatusCode::TOO_MANY_REQUESTS, Some(2)));
    s.advance(Dur::secs(2));
    let (st, _, body) = password(&s, ALICE.0, ALICE.1).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}
