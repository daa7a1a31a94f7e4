//! `/console/grants/{id}`: a grant's timeline after a code flow, a rotation, a grace
//! replay and a replay past the grace period (reuse).

use super::*;
use crate::support::grant_of;
use baton_core::time::Dur;
use baton_testkit::flow::code_flow_full;
use baton_testkit::SPA;

/// The position of `needle` in `hay` (it must be there).
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle} in {hay}"))
}

/// A public client's grant: created by a code flow, rotated once, its old token
/// replayed within the grace period (answered) and past it (reuse: revoked).
pub async fn reused_grant(s: &TestServer) -> (baton_core::model::Grant, String) {
    let flow = code_flow_full(s, SPA, "openid offline_access").await;
    let rt0 = flow.tokens["refresh_token"].as_str().unwrap().to_string();
    let (st, v) = s.refresh_public(&rt0).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let rt1 = v["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt0, rt1, "rotated");
    let (st, v) = s.refresh_public(&rt0).await;
    assert_eq!(st, StatusCode::OK, "a retry within the grace period: {v}");
    assert_eq!(v["refresh_token"].as_str(), Some(rt1.as_str()));
    s.advance(Dur::secs(31));
    let (st, v) = s.refresh_public(&rt0).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "reuse: {v}");
    let g = grant_of(s, &rt1).await;
    (g, rt1)
}

#[tokio::test]
async fn the_timeline_tells_creation_rotation_reuse_and_revocation_in_order() {
    let s = server("").await;
    let (g, _) = reused_grant(&s).await;
    let b = signed_in(&s, ROOT, "/console/users").await;
    let html = page(&b, &format!("/console/grants/{}", g.id.to_hex())).await;
    let sid = g.session_id.clone().expect("made in a session");
    // Links to the user, the client and the session.
    for want in [
        "href=\"/console/users/alice\"".to_string(),
        "href=\"/console/clients/spa\"".to_string(),
        format!("href=\"/console/users/alice#sessions\"><code>{sid}</code>"),
        format!("href=\"/console/events?grant_id={}\"", g.id.to_hex()),
    ] {
        assert!(html.contains(&want), "{want} in {html}");
    }
    // In order: created, the rotation (from the row), the reuse, the revocation.
    let created = at(&html, "<strong>Created</strong>");
    let rotated = at(&html, "<strong>Last rotation</strong>");
    let reuse = at(&html, "<li class=\"reuse\">");
    let revoked = at(&html, "<strong>Revoked</strong>");
    assert!(
        created < rotated && rotated < reuse && reuse < revoked,
        "{html}"
    );
    for want in [
        "By the authorization code flow in session",
        "with scope <code>openid offline_access</code>",
        "refresh tokens rotate at every use",
        "Rotated 1 time: at generation 2",
        "(grace period) until",
        "A generation 1 refresh token was presented while the grant was at generation 2.",
        "Reaction: revoke this grant (<code>revoke_grant</code>), applied.",
        "Revoked because a superseded refresh token was presented (reuse)",
        "Reuse detected 1 time",
    ] {
        assert!(html.contains(want), "{want} in {html}");
    }
    // One reuse: the grace replay before it was no reuse.
    assert_eq!(html.matches("<li class=\"reuse\">").count(), 1, "{html}");
}

#[tokio::test]
async fn a_removed_grant_is_told_by_its_events_and_bad_ids_are_refused() {
    let s = server("").await;
    let (g, _) = reused_grant(&s).await;
    let hex = g.id.to_hex();
    // The cleanup job deletes a grant dead before its cutoff; its events stay.
    let store = &s.state().store;
    let now = s.state().clock.now();
    let purged = store.purge_grants(now, now, 100).await.unwrap();
    assert!(purged.total() >= 1, "the revoked grant was removed");
    let b = signed_in(&s, ROOT, "/console/users").await;
    let html = page(&b, &format!("/console/grants/{hex}")).await;
    for want in [
        "removed from the store",
        "<li class=\"reuse\">",
        "<strong>Revoked</strong>",
    ] {
        assert!(html.contains(want), "{want} in {html}");
    }
    let (st, _) = answer(b.get("/console/grants/not-a-grant").await).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, body) = answer(b.get(&format!("/console/grants/{}", "0".repeat(32))).await).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
}
