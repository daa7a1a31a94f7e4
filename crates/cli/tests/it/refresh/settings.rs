//! Per-client overrides beat server-wide settings; effective values are
//! fixed when a grant is created, except revocation-related ones; nonsense is refused.

use super::*;
use baton_core::policy::{ReuseReaction, Usage};

#[tokio::test]
async fn per_client_overrides_beat_server_wide_settings() {
    let extra = format!(
        "[refresh_tokens]\nusage = \"one_time\"\ngrace_period = \"0s\"\nabsolute_lifetime = \"2h\"\nsliding_lifetime = \"1h\"\n{}",
        conf_toml(
            "own",
            "usage = \"reuse\"\ngrace_period = \"20s\"\nabsolute_lifetime = \"1h\"\nsliding_lifetime = \"off\""
        )
    );
    let s = TestServer::start(&extra).await;
    // `web` has no overrides: server-wide one_time, no grace, 2 h, sliding 1 h.
    let w1 = login(&s, WEB_C).await;
    let g = grant(&s, &w1).await;
    assert_eq!(
        (g.rotate, g.grace, g.sliding),
        (true, secs(0), Some(secs(3600)))
    );
    assert_eq!(g.expires_at, Some(g.created_at.plus(secs(7200))));
    refresh_ok(&s, WEB_C, &w1).await;
    let (st, v) = refresh(&s, WEB_C, &w1).await;
    assert_invalid_grant(st, &v, "reused");
    // `own` overrides each of them.
    let o = login(&s, conf("own")).await;
    let g = grant(&s, &o).await;
    assert_eq!((g.rotate, g.grace, g.sliding), (false, secs(20), None));
    assert_eq!(g.expires_at, Some(g.created_at.plus(secs(3600))));
    assert_eq!(rt(&refresh_ok(&s, conf("own"), &o).await), o);
    s.advance(secs(3601));
    let (st, v) = refresh(&s, conf("own"), &o).await;
    assert_invalid_grant(st, &v, "expired");
}

#[tokio::test]
async fn grace_and_usage_are_fixed_when_the_grant_is_created() {
    let s = TestServer::start(&conf_toml(
        "c",
        "usage = \"one_time\"\ngrace_period = \"30s\"",
    ))
    .await;
    let cl = conf("c");
    let old1 = login(&s, cl).await;
    change_client(&s, "c", |c| c.refresh.grace_period = Some(secs(0))).await;
    // The old grant keeps its 30 s of grace...
    let old2 = rt(&refresh_ok(&s, cl, &old1).await);
    s.advance(secs(10));
    assert_eq!(rt(&refresh_ok(&s, cl, &old1).await), old2);
    // ...a new grant has none.
    let new1 = login(&s, cl).await;
    assert_eq!(grant(&s, &new1).await.grace, secs(0));
    refresh_ok(&s, cl, &new1).await;
    let (st, v) = refresh(&s, cl, &new1).await;
    assert_invalid_grant(st, &v, "reused");

    change_client(&s, "c", |c| c.refresh.usage = Some(Usage::Reuse)).await;
    // The old grant still rotates; a new one repeats its token.
    let old3 = rt(&refresh_ok(&s, cl, &old2).await);
    assert_ne!(old3, old2);
    let reuse = login(&s, cl).await;
    assert_eq!(rt(&refresh_ok(&s, cl, &reuse).await), reuse);
    assert!(!grant(&s, &reuse).await.rotate);
}

#[tokio::test]
async fn a_changed_reuse_reaction_applies_to_existing_grants_at_once() {
    let s = TestServer::start(&public_toml("p", "reuse_reaction = \"log_only\"")).await;
    let cl = public("p");
    let a1 = login(&s, cl).await;
    let b1 = login(&s, cl).await;
    let a2 = rt(&refresh_ok(&s, cl, &a1).await);
    let b2 = rt(&refresh_ok(&s, cl, &b1).await);
    s.advance(secs(31));
    let (st, v) = refresh(&s, cl, &a1).await;
    assert_invalid_grant(st, &v, "reused");
    assert!(grant(&s, &a2).await.is_active(), "log_only revoked nothing");
    // Made stricter: the grant created under log_only is revoked on its next reuse.
    change_client(&s, "p", |c| {
        c.refresh.reuse_reaction = Some(ReuseReaction::RevokeGrant)
    })
    .await;
    let (st, v) = refresh(&s, cl, &b1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, cl, &b2).await;
    assert_invalid_grant(st, &v, "revoked");
    // And back to log_only: no more revocations.
    change_client(&s, "p", |c| {
        c.refresh.reuse_reaction = Some(ReuseReaction::LogOnly)
    })
    .await;
    let (st, v) = refresh(&s, cl, &a1).await;
    assert_invalid_grant(st, &v, "reused");
    refresh_ok(&s, cl, &a2).await;
}

#[tokio::test]
async fn check_user_active_changed_on_the_client_applies_at_once() {
    let s = TestServer::start(&public_toml("p", "check_user_active = false")).await;
    let cl = public("p");
    let t = login(&s, cl).await;
    let store = &s.state().store;
    let mut alice = store.get_user("alice").await.unwrap().unwrap();
    alice.active = false;
    store.upsert_user(&alice).await.unwrap();
    let t2 = rt(&refresh_ok(&s, cl, &t).await);
    change_client(&s, "p", |c| c.refresh.check_user_active = Some(true)).await;
    let (st, v) = refresh(&s, cl, &t2).await;
    assert_invalid_grant(st, &v, "inactive");
}

/// Loads a configuration with `extra` and answers its error, if any.
fn config_error(extra: &str) -> Option<String> {
    let dir = std::env::temp_dir().join(baton_core::random_id("baton-refresh-cfg-"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = baton_testkit::write_config(&dir, 1, extra);
    let r = baton_server::config::load(
        &baton_server::config::Sources {
            file: Some(&path),
            env: vec![],
            base_dir: dir.clone(),
        },
        false,
    );
    let _ = std::fs::remove_dir_all(&dir);
    r.err().map(|e| e.to_string())
}

#[test]
fn nonsense_settings_are_refused_naming_the_key() {
    assert_eq!(
        config_error(&conf_toml("ok", "grace_period = \"60s\"")),
        None
    );
    let cases = [
        ("[refresh_tokens]\ngrace_period = \"61s\"", "grace_period"),
        ("[refresh_tokens]\nusage = \"sometimes\"", "usage"),
        (
            "[refresh_tokens]\nreuse_reaction = \"shrug\"",
            "reuse_reaction",
        ),
        (
            "[refresh_tokens]\nabsolute_lifetime = \"1h\"\nsliding_lifetime = \"2h\"",
            "sliding_lifetime",
        ),
        (
            "[refresh_tokens]\nsliding_lifetime = \"unlimited\"",
            "sliding_lifetime",
        ),
    ];
    for (toml, key) in cases {
        let e = config_error(toml).unwrap_or_else(|| panic!("accepted {toml}"));
        assert!(e.contains(key), "{e}");
    }
    // Per client too, even when only the combination with server-wide values is wrong.
    let e = config_error(&format!(
        "[refresh_tokens]\nabsolute_lifetime = \"1h\"\nsliding_lifetime = \"30m\"\n{}",
        conf_toml("c", "sliding_lifetime = \"2h\"")
    ))
    .expect("sliding beyond the server-wide absolute lifetime");
    assert!(
        e.contains("sliding_lifetime") && e.contains("clients"),
        "{e}"
    );
    let e = config_error(&conf_toml("c", "grace_period = \"2m\"")).expect("grace over 60 s");
    assert!(e.contains("grace_period"), "{e}");
}

#[tokio::test]
async fn admin_changes_to_the_client_apply_on_the_next_refresh_and_spoil_nothing() {
    use baton_core::model::GrantType;
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let before = grant(&s, &t2).await;
    let original = s.state().store.get_client("spa").await.unwrap().unwrap();
    let no_refresh =
        |c: &mut baton_core::model::Client| c.grant_types.retain(|g| *g != GrantType::RefreshToken);
    let no_offline = |c: &mut baton_core::model::Client| c.scopes.retain(|x| x != "offline_access");
    for change in [no_refresh, no_offline] {
        change_client(&s, "spa", change).await;
        let (st, v) = refresh(&s, SPA_C, &t2).await;
        assert_invalid_grant(st, &v, "no longer allowed");
        s.state().store.upsert_client(&original).await.unwrap();
    }
    change_client(&s, "spa", |c| c.active = false).await;
    let (_, v) = refresh(&s, SPA_C, &t2).await;
    let e = v["error"].as_str().unwrap();
    assert!(e == "invalid_client" || e == "unauthorized_client", "{v}");
    s.state().store.upsert_client(&original).await.unwrap();
    // Refused requests changed nothing: the chain carries on from generation 2.
    assert_eq!(grant(&s, &t2).await, before);
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
}
