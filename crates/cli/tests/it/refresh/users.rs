//! The user behind a grant: `check_user_active` and `update_claims_on_refresh`.

use super::*;

async fn set_user(s: &TestServer, f: impl FnOnce(&mut baton_core::model::User)) {
    let store = &s.state().store;
    let mut u = store.get_user("alice").await.unwrap().unwrap();
    f(&mut u);
    store.upsert_user(&u).await.unwrap();
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh_and_nothing_is_lost() {
    let s = TestServer::start("").await; // check_user_active defaults to true
    let spa = login(&s, SPA_C).await;
    let web = login(&s, WEB_C).await;
    let before = grant(&s, &spa).await;
    set_user(&s, |u| u.active = false).await;
    for (cl, t) in [(SPA_C, &spa), (WEB_C, &web)] {
        let (st, v) = refresh(&s, cl, t).await;
        assert_invalid_grant(st, &v, "inactive");
    }
    // Refusing changed nothing: enabled again, the same token carries on.
    assert_eq!(grant(&s, &spa).await, before);
    set_user(&s, |u| u.active = true).await;
    let next = rt(&refresh_ok(&s, SPA_C, &spa).await);
    assert_eq!(grant(&s, &next).await.generation, 2);
}

/// The store keeps the users and clients that refreshes read in memory: a user changed
/// through Baton is seen by the very next refresh all the same, and one changed in the
/// database file by another program within a second.
#[tokio::test]
async fn a_user_changed_after_a_refresh_is_seen_by_the_next_one() {
    let s = TestServer::start("").await;
    let t = login(&s, SPA_C).await;
    // This refresh leaves alice known in memory.
    let t = rt(&refresh_ok(&s, SPA_C, &t).await);
    set_user(&s, |u| u.active = false).await;
    let (st, v) = refresh(&s, SPA_C, &t).await;
    assert_invalid_grant(st, &v, "inactive");
    set_user(&s, |u| u.active = true).await;
    let t = rt(&refresh_ok(&s, SPA_C, &t).await);

    let db = rusqlite::Connection::open(s.dir.path().join("baton.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let n = db
        .execute("UPDATE users SET active = 0 WHERE username = 'alice'", [])
        .unwrap();
    assert_eq!(n, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, v) = refresh(&s, SPA_C, &t).await;
    assert_invalid_grant(st, &v, "inactive");
}

#[tokio::test]
async fn a_deleted_user_cannot_refresh() {
    for (extra, why) in [
        ("", "inactive"),
        // Even without the check there is nobody to issue tokens for.
        ("[refresh_tokens]\ncheck_user_active = false", ""),
    ] {
        let s = TestServer::start(extra).await;
        let t = login(&s, SPA_C).await;
        assert!(s.state().store.delete_user("alice").await.unwrap());
        let (st, v) = refresh(&s, SPA_C, &t).await;
        assert_invalid_grant(st, &v, why);
    }
}

#[tokio::test]
async fn check_user_active_off_lets_a_disabled_user_refresh() {
    let s = TestServer::start("[refresh_tokens]\ncheck_user_active = false").await;
    let t = login(&s, SPA_C).await;
    set_user(&s, |u| u.active = false).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t).await);
    assert_ne!(t2, t);
}

const SCOPE: &str = "openid email offline_access";

async fn email_after_change(extra: &str) -> (String, String) {
    let s = TestServer::start(extra).await;
    let first = login_as(&s, SPA_C, "alice", SCOPE).await;
    assert_eq!(jwt(&at(&first))["email"], "alice@example.com");
    set_user(&s, |u| {
        u.claims.insert("email".into(), "alice@new.example".into());
    })
    .await;
    let r = refresh_ok(&s, SPA_C, &rt(&first)).await;
    let id = jwt(r["id_token"].as_str().expect("an ID token"));
    let access = jwt(&at(&r));
    assert_eq!(id["email"], access["email"]);
    // The ID token keeps the original authentication's sub and auth_time.
    let id0 = jwt(first["id_token"].as_str().unwrap());
    assert_eq!(
        (&id["sub"], &id["auth_time"]),
        (&id0["sub"], &id0["auth_time"])
    );
    (
        access["email"].as_str().unwrap().to_string(),
        id["email"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn update_claims_on_refresh_carries_the_current_claims() {
    let (access, id) = email_after_change("").await;
    assert_eq!(
        (access.as_str(), id.as_str()),
        ("alice@new.example", "alice@new.example")
    );
}

#[tokio::test]
async fn without_update_claims_on_refresh_the_original_claims_are_kept() {
    let (access, id) =
        email_after_change("[refresh_tokens]\nupdate_claims_on_refresh = false").await;
    assert_eq!(
        (access.as_str(), id.as_str()),
        ("alice@example.com", "alice@example.com")
    );
}
