//! Refresh grants bound to a browser session: `online_access`, `revoke_on_logout` and the
//! `revoke_session` reuse reaction. Grants come from the code flow over HTTP.

use super::*;
use baton_testkit::flow::code_flow;
use std::time::Duration;

/// A code flow for alice as `client` ("web" or "spa") in the shared browser session;
/// answers the refresh token and the id of the session it was created in.
async fn flow(s: &TestServer, client: &str, scope: &str) -> (String, String) {
    let t = rt(&code_flow(s, client, scope).await);
    let sid = grant(s, &t)
        .await
        .session_id
        .expect("a browser grant has a session");
    (t, sid)
}

async fn logout(s: &TestServer, sid: &str) {
    let now = s.clock.now();
    let ended = baton_server::sessions::end(s.state(), sid, "logout", now)
        .await
        .unwrap();
    assert!(ended);
}

#[tokio::test]
async fn an_online_access_grant_dies_when_its_session_expires() {
    let s = TestServer::start("").await;
    let (online, sid) = flow(&s, "spa", "openid online_access").await;
    let (offline, sid2) = flow(&s, "web", "openid offline_access").await;
    assert_eq!(sid, sid2, "one browser session");
    let g = grant(&s, &online).await;
    assert!(g.online);
    assert!(!grant(&s, &offline).await.online);
    let online = rt(&refresh_ok(&s, SPA_C, &online).await);
    // Past the session's idle lifetime (1 day) the session is over, not the grants' 7 days.
    s.advance(secs(86_400 + 60));
    let (st, v) = refresh(&s, SPA_C, &online).await;
    assert_invalid_grant(st, &v, "session ended");
    // offline_access is for exactly this: it outlives the browser session.
    refresh_ok(&s, WEB_C, &offline).await;
}

#[tokio::test]
async fn logout_revokes_the_sessions_grants_with_revoke_on_logout() {
    let s = TestServer::start("").await; // revoke_on_logout defaults to true
    let (online, sid) = flow(&s, "spa", "openid online_access").await;
    let (offline, _) = flow(&s, "web", "openid offline_access").await;
    let elsewhere = login(&s, WEB_C).await; // a password grant: no session
    logout(&s, &sid).await;
    let (st, v) = refresh(&s, SPA_C, &online).await;
    assert_invalid_grant(st, &v, "revoked");
    let (st, v) = refresh(&s, WEB_C, &offline).await;
    assert_invalid_grant(st, &v, "revoked");
    refresh_ok(&s, WEB_C, &elsewhere).await;
    let ended = s.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].details["session_id"], sid.as_str());
}

#[tokio::test]
async fn without_revoke_on_logout_only_online_grants_die_with_the_session() {
    let s = TestServer::start("[refresh_tokens]\nrevoke_on_logout = false").await;
    let (online, sid) = flow(&s, "spa", "openid online_access").await;
    let (offline, _) = flow(&s, "web", "openid offline_access").await;
    logout(&s, &sid).await;
    let (st, v) = refresh(&s, SPA_C, &online).await;
    assert_invalid_grant(st, &v, "revoked");
    refresh_ok(&s, WEB_C, &offline).await;
}

#[tokio::test]
async fn revoke_on_logout_is_decided_per_client() {
    let extra = "[refresh_tokens]\nrevoke_on_logout = false\n[[clients]]\nclient_id = \"web2\"\nclient_secret = \"refresh-suite-secret-0123456789abcdef\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\ngrant_types = [\"authorization_code\", \"refresh_token\"]\nscopes = [\"openid\", \"offline_access\"]\n[clients.refresh_tokens]\nrevoke_on_logout = true\n";
    let s = TestServer::start(extra).await;
    let (keeps, sid) = flow(&s, "web", "openid offline_access").await;
    let web2 = code_flow(&s, ("web2", SECRET), "openid offline_access").await;
    logout(&s, &sid).await;
    refresh_ok(&s, WEB_C, &keeps).await;
    let (st, v) = refresh(&s, conf("web2"), &rt(&web2)).await;
    assert_invalid_grant(st, &v, "revoked");
}

#[tokio::test]
async fn revoke_session_ends_the_session_that_created_the_grant() {
    let s = TestServer::start("[refresh_tokens]\nreuse_reaction = \"revoke_session\"").await;
    let (t1, sid) = flow(&s, "spa", "openid offline_access").await;
    let (other_client, _) = flow(&s, "web", "openid offline_access").await;
    let no_session = login(&s, WEB_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    s.advance(secs(31));
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    // The session is over...
    let session = s.state().store.get_session(&sid).await.unwrap().unwrap();
    assert!(session.ended_at.is_some(), "{session:?}");
    let ended = s.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].details["reason"], "reuse_detected");
    // ...with it the grant, and (revoke_on_logout) the session's grant of another client.
    let (st, v) = refresh(&s, SPA_C, &t2).await;
    assert_invalid_grant(st, &v, "revoked");
    let (st, v) = refresh(&s, WEB_C, &other_client).await;
    assert_invalid_grant(st, &v, "revoked");
    // A grant of the user created outside that session is not the session's.
    refresh_ok(&s, WEB_C, &no_session).await;
    // The browser must sign in again: /authorize no longer finds a live session.
    let again = code_flow(&s, "spa", "openid offline_access").await;
    let sid2 = grant(&s, &rt(&again)).await.session_id.unwrap();
    assert_ne!(sid2, sid);
}

/// Makes every end of a session fail in the server's SQLite database (a store failure
/// between the steps of a reaction), until `DROP TRIGGER test_no_session_end`.
fn break_session_ends(s: &TestServer) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(s.dir.path().join("baton.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER test_no_session_end BEFORE UPDATE OF ended_at ON sessions \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    )
    .unwrap();
    db
}

async fn session_ended(s: &TestServer, sid: &str) -> bool {
    let session = s.state().store.get_session(sid).await.unwrap().unwrap();
    session.ended_at.is_some()
}

#[tokio::test]
async fn a_revoke_session_reaction_cut_short_is_completed_by_the_next_replay() {
    cut_short_then_completed("").await;
}

#[tokio::test]
async fn the_same_for_an_unpersisted_grant() {
    cut_short_then_completed("persist = false").await;
}

async fn cut_short_then_completed(rt_settings: &str) {
    let s = TestServer::start(&format!(
        "[refresh_tokens]\nreuse_reaction = \"revoke_session\"\n{rt_settings}"
    ))
    .await;
    let (t1, sid) = flow(&s, "spa", "openid offline_access").await;
    assert_eq!(!grant(&s, &t1).await.persist, !rt_settings.is_empty());
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    s.advance(secs(31));
    let db = break_session_ends(&s);
    // The grants are revoked, then ending the session fails: the answer is the
    // rejection, never a 503 (which would say that nothing changed).
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, SPA_C, &t2).await;
    assert_invalid_grant(st, &v, "revoked");
    assert!(!session_ended(&s, &sid).await, "the failure was injected");
    db.execute_batch("DROP TRIGGER test_no_session_end")
        .unwrap();
    // A replay of the old token finds the grant revoked by its own reaction and the
    // session live: it ends the session, which the reaction was to end.
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    assert!(session_ended(&s, &sid).await);
    let ended = s.events("session.ended").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].details["reason"], "reuse_detected");
    let reuse = s.events("token.reuse_detected").await;
    let completed: Vec<_> = reuse
        .iter()
        .map(|e| e.details["reaction_completed"].as_bool())
        .collect();
    assert_eq!(
        completed.iter().filter(|c| **c == Some(true)).count(),
        1,
        "{reuse:?}"
    );
    // Complete now: a further replay changes nothing.
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    assert_eq!(s.events("session.ended").await.len(), 1);
    let reuse = s.events("token.reuse_detected").await;
    let done = reuse
        .iter()
        .filter(|e| e.details["reaction_completed"] == true)
        .count();
    assert_eq!(done, 1, "{reuse:?}");
}

#[tokio::test]
async fn a_replay_never_ends_a_session_its_grants_revocation_did_not_target() {
    let s = TestServer::start("[refresh_tokens]\nreuse_reaction = \"revoke_session\"").await;
    let (t1, sid) = flow(&s, "spa", "openid offline_access").await;
    refresh_ok(&s, SPA_C, &t1).await;
    // Reuse on another grant of spa and alice, one without a session: its reaction
    // revokes the client's and user's grants (reason reuse_detected), ending no session.
    let p1 = login(&s, SPA_C).await;
    refresh_ok(&s, SPA_C, &p1).await;
    s.advance(secs(31));
    let (st, v) = refresh(&s, SPA_C, &p1).await;
    assert_invalid_grant(st, &v, "reused");
    // A replay of the browser grant's old token must not end its session.
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    assert!(!session_ended(&s, &sid).await);
    assert!(s.events("session.ended").await.is_empty());
}

/// POSTs a refresh as public client `client_id` over a raw connection and hangs up
/// `after` the request was sent, without reading the answer: the server drops the
/// request's future if it is still running.
async fn refresh_and_hang_up(s: &TestServer, client_id: &str, token: &str, after: Duration) {
    use tokio::io::AsyncWriteExt;
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}",
        form_encode(token),
        form_encode(client_id)
    );
    let host = s.url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "POST /token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    // The moment of hanging up is what the test varies.
    tokio::time::sleep(after).await;
    drop(conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reuse_reaction_completes_even_when_the_client_hangs_up() {
    let s = TestServer::start("[refresh_tokens]\nreuse_reaction = \"revoke_session\"").await;
    // Hang up at different moments of the reaction; each time in a new browser session.
    for (i, ms) in [1, 2, 3, 5, 8, 13].into_iter().enumerate() {
        let (t1, sid) = flow(&s, "spa", "openid offline_access").await;
        let (other_client, _) = flow(&s, "web", "openid offline_access").await;
        let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
        s.advance(secs(31));
        refresh_and_hang_up(&s, SPA_C.id, &t1, Duration::from_millis(ms)).await;
        // The whole reaction happens, to its last step (recording `session.ended`):
        // the grants revoked and the session ended.
        let ended = eventually(
            Duration::from_secs(10),
            || s.events("session.ended"),
            |e| e.len() > i,
        )
        .await;
        assert!(
            ended.len() > i,
            "never happened: the session's end is recorded ({ms} ms)"
        );
        let session = s.state().store.get_session(&sid).await.unwrap().unwrap();
        assert!(session.ended_at.is_some(), "{session:?}");
        let (st, v) = refresh(&s, SPA_C, &t2).await;
        assert_invalid_grant(st, &v, "revoked");
        let (st, v) = refresh(&s, WEB_C, &other_client).await;
        assert_invalid_grant(st, &v, "revoked");
    }
}
