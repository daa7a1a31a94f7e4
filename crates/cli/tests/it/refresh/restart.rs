//! Reuse state survives a restart (clean, SIGTERM, SIGKILL), and a store
//! failure answers 503, never `invalid_grant`, leaving the token usable.

use super::*;
use crate::support::{login_at, refresh_at};
use baton_testkit::{ChildServer, BASE_CLIENTS};

#[tokio::test]
async fn reuse_is_detected_after_a_clean_restart() {
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let dir = s.stop().await;
    let s = TestServer::start_in(dir, BASE_CLIENTS).await;
    assert_eq!(grant(&s, &t2).await.generation, 2);
    s.advance(secs(31));
    let (st, v) = refresh(&s, SPA_C, &t1).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh(&s, SPA_C, &t2).await;
    assert_invalid_grant(st, &v, "revoked");
    assert_eq!(s.events("token.reuse_detected").await.len(), 1);
}

/// The `baton` binary, rotated and then stopped by `stop` right after the rotation's
/// answer arrived; after a restart the rotation is there and the old token is reuse.
async fn survives(kill: bool) {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"));
    let dir = tempfile_dir();
    let extra = "[refresh_tokens]\ngrace_period = \"1s\"";
    let http = baton_testkit::client();
    let c = ChildServer::spawn(bin, &dir, extra).await;
    let t1 = login_at(&http, &c.url, "spa").await;
    let (st, v) = refresh_at(&http, &c.url, "spa", &t1).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t2 = rt(&v);
    if kill {
        c.kill().await;
    } else {
        c.terminate().await;
    }
    let c = ChildServer::spawn(bin, &dir, extra).await;
    // The acknowledged rotation was durable: t2 is current (a lost rotation would make
    // it a generation from the future) and rotates on.
    let (st, v) = refresh_at(&http, &c.url, "spa", &t2).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t3 = rt(&v);
    assert_ne!(t3, t2);
    // Inside the 1 s grace period a retry of t2 gets t3; past it, t2 is reuse and the
    // grant is revoked; and the older t1 is recognised as reuse as well.
    let (st, v) = refresh_at(&http, &c.url, "spa", &t2).await;
    assert_eq!((st, rt(&v)), (StatusCode::OK, t3.clone()));
    // A real wait: the server is another process, whose clock a test cannot move.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, v) = refresh_at(&http, &c.url, "spa", &t2).await;
    assert_invalid_grant(st, &v, "reused");
    let (st, v) = refresh_at(&http, &c.url, "spa", &t3).await;
    assert_invalid_grant(st, &v, "revoked");
    let (st, v) = refresh_at(&http, &c.url, "spa", &t1).await;
    assert_invalid_grant(st, &v, "reused");
    c.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(baton_core::random_id("baton-refresh-child-"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn an_acknowledged_rotation_survives_sigkill() {
    survives(true).await;
}

#[tokio::test]
async fn an_acknowledged_rotation_survives_sigterm() {
    survives(false).await;
}

#[tokio::test]
async fn a_store_failure_answers_503_and_the_token_stays_good() {
    let s = TestServer::start("[refresh_tokens]\ngrace_period = \"5s\"").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    s.advance(secs(6));
    s.state().store_close();
    // A rotation that cannot be written, and a reuse whose revocation cannot be.
    for t in [&t2, &t1] {
        let (st, v) = refresh(&s, SPA_C, t).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["error"], "temporarily_unavailable", "{v}");
    }
    let dir = s.stop().await;
    let s = TestServer::start_in(
        dir,
        &format!("{BASE_CLIENTS}\n[refresh_tokens]\ngrace_period = \"5s\""),
    )
    .await;
    let g = grant(&s, &t2).await;
    assert_eq!(
        (g.generation, g.is_active()),
        (2, true),
        "nothing was half-done"
    );
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
}
