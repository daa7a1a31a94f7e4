//! Baton's domain: the refresh-token state machine, token formats, policies and the
//! storage traits the domain needs. This crate performs no I/O and never reads the
//! clock: every function that needs the time takes `now` as a parameter.

pub mod claims;
pub mod client_spec;
pub mod code;
pub mod error;
pub mod events;
pub mod model;
pub mod pkce;
pub mod policy;
pub mod redirect;
pub mod refresh;
pub mod resource_spec;
pub mod scope;
pub mod secret;
pub mod store;
pub mod time;
pub mod token;

/// A random identifier: `prefix` + 32 hex digits (128 bits from the OS generator).
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", secret::hex(&random_bytes::<16>()))
}

/// A token's unique identifier (a JWT's `jti`): 32 hex digits, 128 bits of the
/// operating system's randomness as [`random_id`] gives, but drawn from a per-thread
/// buffer filled for 32 identifiers at a time: one system call per 32 tokens instead of
/// one per token. For identifiers only: a secret comes from [`random_bytes`], never
/// from a buffer that keeps the next ones in memory.
pub fn token_id() -> String {
    use std::cell::RefCell;
    const LEN: usize = 16 * 32;
    thread_local! {
        static POOL: RefCell<([u8; LEN], usize)> = const { RefCell::new(([0; LEN], LEN)) };
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        if *used == LEN {
            *bytes = random_bytes::<LEN>();
            *used = 0;
        }
        let id = secret::hex(&bytes[*used..*used + 16]);
        *used += 16;
        id
    })
}

/// Random bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; N];
    // getrandom(2) does not fail on a working Linux system. If it ever does, issuing
    // predictable ids or secrets would be worse than stopping: fail closed.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        std::process::abort();
    }
    b
}

/// Event ids sort by time: `evt_` + 12 hex digits of milliseconds + 8 hex digits of a
/// counter + 8 random hex. The counter goes up by one with every id the process makes
/// (from a random start, wrapping after 2^32), so the events one node records within a
/// millisecond sort in the order it recorded them; the random digits keep the ids of
/// different nodes apart.
pub fn event_id(now: time::Timestamp) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    static NEXT: OnceLock<AtomicU32> = OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU32::new(u32::from_be_bytes(random_bytes::<4>())));
    let n = next.fetch_add(1, Ordering::Relaxed);
    let r = random_bytes::<4>();
    format!("evt_{:012x}{n:08x}{}", now.0.max(0), secret::hex(&r))
}

#[cfg(test)]
mod tests {
    use super::{event_id, token_id};
    use crate::time::Timestamp;
    use std::collections::HashSet;

    /// Ids made within one millisecond sort in the order they were made (what the
    /// events API lists newest first), and after every id of an earlier millisecond.
    #[test]
    fn event_ids_sort_in_the_order_they_were_made() {
        let t = Timestamp(1_790_000_000_123);
        let earlier = event_id(Timestamp(t.0 - 1));
        let ids: Vec<String> = (0..500).map(|_| event_id(t)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        assert!(earlier < ids[0]);
        assert!(event_id(Timestamp(t.0 + 1)) > ids[499]);
        assert!(ids
            .iter()
            .all(|id| id.len() == 32 && id.starts_with("evt_")));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
    }

    /// Token ids are 32 hex digits, never repeat within a thread (across many refills
    /// of its buffer) nor between threads (each has its own buffer, from the OS).
    #[test]
    fn token_ids_are_distinct_hex() {
        let mine: Vec<String> = (0..1000).map(|_| token_id()).collect();
        let theirs = std::thread::spawn(|| (0..1000).map(|_| token_id()).collect::<Vec<_>>())
            .join()
            .expect("thread");
        let all: HashSet<&String> = mine.iter().chain(&theirs).collect();
        assert_eq!(all.len(), 2000);
        assert!(all
            .iter()
            .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
