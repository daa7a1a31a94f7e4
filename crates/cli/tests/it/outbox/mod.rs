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
