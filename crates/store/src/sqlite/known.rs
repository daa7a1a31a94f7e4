//! The clients and users a token request needs, kept in memory between requests, so
//! that a refresh reads only its grant from the database.
//!
//! Every write that changes a client or a user goes through the writer as a
//! [`Changes::Records`] write ([`super::SqliteStore::write_records`]); the writer forgets
//! everything known here after such a transaction commits and before it acknowledges any
//! write of that transaction, so a caller told "client updated" or "user deactivated"
//! is never answered from the old record afterwards.
//!
//! A reader may have read a record just before such a commit and offer it just after
//! the writer forgot: [`Known::epoch`] is taken before the read, and [`Known::learn`]
//! keeps nothing if a forgetting happened since. A record learnt is used for at most
//! [`FRESH_FOR`]: the bound on how long a change that did not go through this process
//! (another program writing the database file) can go unseen.

use baton_core::model::{Client, User};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a record learnt from the database is used before it is read again.
pub(super) const FRESH_FOR: Duration = Duration::from_secs(1);

/// The most records of each kind kept; past it, all of that kind are forgotten.
const MOST: usize = 10_000;

/// What a write may change, for what the store keeps in memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Changes {
    /// Neither clients nor users.
    Other,
    /// Clients or users (or both).
    Records,
}

#[derive(Default)]
pub(super) struct Known {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Counts the forgettings, so that a read that began before one learns nothing.
    epoch: u64,
    clients: HashMap<String, (Instant, Client)>,
    users: HashMap<String, (Instant, User)>,
}

fn fresh<T: Clone>(entry: Option<&(Instant, T)>) -> Option<T> {
    entry
        .filter(|(at, _)| at.elapsed() < FRESH_FOR)
        .map(|(_, v)| v.clone())
}

fn keep<T>(map: &mut HashMap<String, (Instant, T)>, key: &str, value: T) {
    if map.len() >= MOST && !map.contains_key(key) {
        map.clear();
    }
    map.insert(key.to_string(), (Instant::now(), value));
}

impl Known {
    /// The lock, whoever panicked while holding it: every change under it (an insert, a
    /// clear, an increment) leaves the maps usable, and `forget` clears them anyway.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client, if it was read less than [`FRESH_FOR`] ago and has not changed since.
    pub fn client(&self, id: &str) -> Option<Client> {
        fresh(self.lock().clients.get(id))
    }

    /// The user whose `sub` this is, like [`Known::client`].
    pub fn user(&self, sub: &str) -> Option<User> {
        fresh(self.lock().users.get(sub))
    }

    /// To be taken before a read whose records are then offered to [`Known::learn`].
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Keeps what a read found, unless something was forgotten since `epoch`.
    pub fn learn(&self, epoch: u64, client: Option<&Client>, user: Option<&User>) {
        let mut i = self.lock();
        if epoch != i.epoch {
            return;
        }
        if let Some(c) = client {
            keep(&mut i.clients, &c.client_id, c.clone());
        }
        if let Some(u) = user {
            keep(&mut i.users, &u.sub, u.clone());
        }
    }

    /// Forgets every client and user (the writer, after a commit that may have
    /// changed some, before it acknowledges the commit's writes).
    pub fn forget(&self) {
        let mut i = self.lock();
        i.epoch = i.epoch.wrapping_add(1);
        i.clients.clear();
        i.users.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::model::{ManagedBy, User};
    use baton_core::time::Timestamp;

    fn user(sub: &str, active: bool) -> User {
        User {
            sub: sub.into(),
            username: sub.into(),
            password_hash: String::new(),
            active,
            claims: Default::default(),
            roles: vec![],
            groups: vec![],
            admin: false,
            created_at: Timestamp(0),
            managed_by: ManagedBy::default(),
        }
    }

    #[test]
    fn a_read_that_began_before_a_forgetting_is_not_kept() {
        let k = Known::default();
        let before = k.epoch();
        k.forget();
        k.learn(before, None, Some(&user("u1", true)));
        assert!(k.user("u1").is_none());
        let now = k.epoch();
        k.learn(now, None, Some(&user("u1", false)));
        assert_eq!(k.user("u1").map(|u| u.active), Some(false));
        k.forget();
        assert!(k.user("u1").is_none());
    }

    #[test]
    fn a_record_is_used_for_at_most_fresh_for() {
        let k = Known::default();
        k.learn(k.epoch(), None, Some(&user("u1", true)));
        k.inner.lock().unwrap().users.get_mut("u1").unwrap().0 -= FRESH_FOR;
        assert!(k.user("u1").is_none());
    }
}
