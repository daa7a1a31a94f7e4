//! The outbox: deliveries to other servers kept in the main store until done.
//! Back-channel logout survives a node killed mid-retry; webhooks are signed per
//! Standard Webhooks, retried, sent only for the kinds subscribed, and carry no token.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash;
mod webhooks;

pub use crate::support::{eventually, Hit, Listener};
use std::time::Duration;

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub const WAIT: Duration = Duration::from_secs(15);

/// A delivery whose tries never record an end (the nodes that claimed it died mid-try)
/// is given up once its claims pass `outbox.max_attempts`, instead of being claimed
/// every lease forever.
#[tokio::test]
async fn an_item_whose_tries_never_end_is_given_up_after_max_attempts() {
    use baton_core::store::{NewOutboxItem, BACKCHANNEL_LOGOUT};
    use baton_core::time::Dur;
    let s = baton_testkit::TestServer::start("[outbox]\nmax_attempts = 2\n").await;
    let st = s.state();
    let t = s.clock.now().plus(Dur::secs(3600));
    st.store
        .enqueue_outbox(
            vec![NewOutboxItem {
                kind: BACKCHANNEL_LOGOUT.into(),
                target: "web".into(),
                payload: serde_json::json!({"session_id": "sess-dead", "subject": "u-dead"}),
                due_at: t,
            }],
            s.clock.now(),
        )
        .await
        .unwrap();
    // Two claims by nodes that die before recording anything (an hour ahead, before
    // this server's own worker sees the item).
    for (owner, at) in [("dead-1", t), ("dead-2", t.plus(Dur::secs(31)))] {
        let got = st
            .store
            .claim_outbox(owner, at, Dur::secs(30), 10)
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{owner}");
    }
    // This server's worker claims it a third time and gives up without trying.
    s.advance(Dur::secs(3600 + 120));
    let failed = eventually(
        WAIT,
        || async { s.events("backchannel_logout.failed").await },
        |e| !e.is_empty(),
    )
    .await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].details["attempts"], 3);
    assert!(failed[0].details["error"]
        .as_str()
        .unwrap()
        .contains("max_attempts"));
}
