//! `/console/events`: filters (type, client, user, grant, time range), paging, reuse
//! detections highlighted and linked to their grant's timeline.

use super::timeline::reused_grant;
use super::*;
use baton_core::model::{Event, GrantId};
use baton_core::time::Timestamp;

/// The rows of the events table.
fn rows(html: &str) -> Vec<&str> {
    match html.split_once("<tbody>") {
        Some((_, body)) => body
            .split("</tbody>")
            .next()
            .unwrap_or_default()
            .split("<tr")
            .skip(1)
            .collect(),
        None => vec![],
    }
}

#[tokio::test]
async fn events_are_filtered_and_reuse_links_to_the_timeline() {
    let s = server("").await;
    let (g, _) = reused_grant(&s).await;
    let hex = g.id.to_hex();
    let b = signed_in(&s, ROOT, "/console/users").await;

    let all = page(&b, "/console/events").await;
    assert!(rows(&all).len() >= 4, "{all}");
    let reuse = page(&b, "/console/events?type=token.reuse_detected").await;
    let r = rows(&reuse);
    assert_eq!(r.len(), 1, "{reuse}");
    assert!(
        r[0].starts_with(" class=\"reuse\""),
        "highlighted: {}",
        r[0]
    );
    assert!(r[0].contains("Reuse detected"), "{}", r[0]);
    assert!(
        r[0].contains(&format!("href=\"/console/grants/{hex}\"")),
        "links to the timeline: {}",
        r[0]
    );
    assert!(r[0].contains("href=\"/console/users/alice\""), "{}", r[0]);
    assert!(
        reuse.contains("<option value=\"token.reuse_detected\" selected>"),
        "the form keeps the filter: {reuse}"
    );

    // One grant: its creation, the reuse and the revocation.
    let of_grant = page(&b, &format!("/console/events?grant_id={hex}")).await;
    let mut kinds: Vec<&str> = rows(&of_grant)
        .iter()
        .filter_map(|r| r.split("<code>").nth(1)?.split("</code>").next())
        .collect();
    // Newest first: the creation last (the reuse and its revocation commit together,
    // in the same millisecond, in either order).
    assert_eq!(kinds.last(), Some(&"grant.created"), "{of_grant}");
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["grant.created", "grant.revoked", "token.reuse_detected"],
        "{of_grant}"
    );

    // A user by username (events record the sub), and by sub.
    let by_name = rows(&page(&b, "/console/events?user=alice").await).len();
    let by_sub = rows(&page(&b, &format!("/console/events?user={}", g.subject)).await).len();
    assert_eq!(by_name, by_sub);
    assert!(by_name >= 4);
    assert!(page(&b, "/console/events?user=u_nobody")
        .await
        .contains("No event matches"));
    assert_eq!(
        rows(&page(&b, "/console/events?client_id=spa&type=grant.created").await).len(),
        1
    );
    assert!(page(&b, "/console/events?client_id=web")
        .await
        .contains("No event matches"));

    // A time range: the browser's datetime-local values, read as UTC.
    let t = Timestamp::parse_rfc3339(&g.created_at.rfc3339()).unwrap();
    let local = |t: Timestamp| t.rfc3339().get(..19).unwrap().to_string();
    let before = local(t.plus(baton_core::time::Dur::secs(-60)));
    let after = local(t.plus(baton_core::time::Dur::secs(3600)));
    let range = page(
        &b,
        &format!("/console/events?since={before}&until={after}&type=grant.created"),
    )
    .await;
    assert_eq!(rows(&range).len(), 1, "{range}");
    let empty = page(&b, &format!("/console/events?until={before}")).await;
    assert!(empty.contains("No event matches"), "{empty}");
}

#[tokio::test]
async fn events_come_a_page_at_a_time_and_bad_filters_are_refused() {
    let s = server("").await;
    let t0 = s.state().clock.now();
    let evs: Vec<Event> = (0..60)
        .map(|i| Event {
            id: baton_core::event_id(t0.plus(baton_core::time::Dur(i))),
            kind: "grant.created".into(),
            time: t0.plus(baton_core::time::Dur(i)),
            client_id: Some("web".into()),
            subject: None,
            grant_id: Some(GrantId([i as u8; 16])),
            ip: None,
            user_agent: None,
            details: serde_json::json!({}),
        })
        .collect();
    s.state().store.insert_events(evs.clone()).await.unwrap();
    let b = signed_in(&s, ROOT, "/console/users").await;
    let first = page(&b, "/console/events?client_id=web").await;
    assert_eq!(rows(&first).len(), 50);
    let next = first
        .split("href=\"")
        .filter_map(|p| p.split('"').next())
        .find(|h| h.contains("after="))
        .expect("a next-page link")
        .replace("&amp;", "&");
    assert!(next.contains("client_id=web"), "keeps the filter: {next}");
    let second = page(&b, &next).await;
    assert_eq!(rows(&second).len(), 10);
    let grants = |html: &str| -> Vec<String> {
        html.split("href=\"/console/grants/")
            .skip(1)
            .filter_map(|p| p.split('"').next().map(str::to_string))
            .collect()
    };
    let mut seen = grants(&first);
    seen.extend(grants(&second));
    let mut want: Vec<String> = evs
        .iter()
        .rev()
        .map(|e| e.grant_id.unwrap().to_hex())
        .collect();
    assert_eq!(seen, want, "newest first, each once");
    want.dedup();
    assert_eq!(want.len(), 60);

    for bad in [
        "/console/events?since=yesterday",
        "/console/events?until=2026-13-01T00:00",
        "/console/events?grant_id=zz",
        "/console/events?after=nope",
        "/console/events?bogus=1",
    ] {
        let (st, body) = answer(b.get(bad).await).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}
