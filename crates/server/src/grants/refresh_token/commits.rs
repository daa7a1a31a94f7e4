//! Rotations this node committed recently, to tell a request that was concurrent with
//! a rotation from a replay after it.
//!
//! A request that arrived before the rotation of its grant from generation g committed
//! was concurrent with the winner, even if it read the grant only after the commit
//! (two browser tabs): it gets the winner's successor whatever the grace period. The
//! times are this process's monotonic clock, never wall clocks, so no clock step or
//! skew can make a replay look concurrent. Another node's rotation is not known here:
//! there, only a request that lost the compare-and-swap itself counts as concurrent.

use baton_core::model::GrantId;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a commit is remembered: far longer than any request takes to decide.
const KEEP: Duration = Duration::from_secs(30);

type Key = (GrantId, u64);

/// Rotation attempts of one grant and generation on this node: how many
/// compare-and-swaps are in flight, and the instant the winning one committed.
#[derive(Default)]
struct Attempts {
    in_flight: u32,
    committed: Option<Instant>,
}

type Commits = HashMap<Key, Attempts>;

/// Two generations of entries: `current` since `started`, `previous` before it. Each is
/// dropped whole once older than `KEEP`, so that remembering costs O(1) per rotation.
struct Recent {
    started: Instant,
    current: Commits,
    previous: Commits,
}

static RECENT: Mutex<Option<Recent>> = Mutex::new(None);

fn recent() -> MutexGuard<'static, Option<Recent>> {
    RECENT.lock().unwrap_or_else(|e| e.into_inner())
}

fn with<T>(f: impl FnOnce(&mut Recent) -> T) -> T {
    let mut guard = recent();
    let now = Instant::now();
    let r = guard.get_or_insert_with(|| Recent {
        started: now,
        current: HashMap::new(),
        previous: HashMap::new(),
    });
    let mut expired = None;
    if now.duration_since(r.started) >= KEEP {
        expired = Some(std::mem::replace(
            &mut r.previous,
            std::mem::take(&mut r.current),
        ));
        r.started = now;
    }
    let out = f(r);
    // Freeing a whole map can take a while: not while every request waits for the lock.
    drop(guard);
    drop(expired);
    out
}

/// A rotation attempt in flight, from [`begin`]. Ended by [`Attempt::end`]; dropped
/// without it (the code between panicked, or the request's future was dropped), it ends
/// as lost, so that the attempt never stays in flight.
pub struct Attempt {
    key: Key,
    ended: bool,
}

impl Attempt {
    /// The attempt ended: committed (`won`) now, or lost (to another request, here or
    /// on another node, or to a revocation).
    pub fn end(mut self, won: bool) {
        self.ended = true;
        finish(self.key, won);
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.ended {
            finish(self.key, false);
        }
    }
}

/// The entry of `key`, moved into the current generation.
fn entry(r: &mut Recent, key: Key) -> &mut Attempts {
    match r.previous.remove(&key) {
        Some(a) => r.current.entry(key).or_insert(a),
        None => r.current.entry(key).or_default(),
    }
}

/// A rotation of `grant` from generation `from` is about to be attempted.
pub fn begin(grant: GrantId, from: u64) -> Attempt {
    let key = (grant, from);
    with(|r| entry(r, key).in_flight += 1);
    Attempt { key, ended: false }
}

fn finish(key: Key, won: bool) {
    let at = Instant::now();
    with(|r| {
        let a = entry(r, key);
        a.in_flight = a.in_flight.saturating_sub(1);
        if won {
            a.committed = Some(at);
        }
    });
}

/// Whether a request that arrived at `arrival` was concurrent with the rotation of
/// `grant` from `from` on this node: it arrived before that rotation committed (or the
/// commit is still being recorded).
pub fn arrived_before(grant: GrantId, from: u64, arrival: Instant) -> bool {
    with(|r| {
        let a = r
            .current
            .get(&(grant, from))
            .or_else(|| r.previous.get(&(grant, from)));
        match a {
            Some(Attempts {
                committed: Some(at),
                ..
            }) => arrival < *at,
            Some(a) => a.in_flight > 0,
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_grant() -> GrantId {
        GrantId(baton_core::random_bytes::<16>())
    }

    /// An attempt that never reaches its end (the code between panicked, or the future
    /// was dropped) must not leave the rotation in flight: a later replay would count as
    /// concurrent and get the successor.
    #[test]
    fn an_attempt_dropped_before_its_end_is_no_longer_in_flight() {
        let g = fresh_grant();
        let attempt = begin(g, 1);
        assert!(arrived_before(g, 1, Instant::now()), "in flight");
        drop(attempt);
        assert!(!arrived_before(g, 1, Instant::now()));
    }

    #[test]
    fn a_committed_attempt_tells_earlier_arrivals_from_later_ones() {
        let g = fresh_grant();
        let before = Instant::now();
        begin(g, 1).end(true);
        assert!(arrived_before(g, 1, before));
        assert!(!arrived_before(g, 1, Instant::now()));
    }
}
