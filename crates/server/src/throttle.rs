//! Login throttling: failed password checks counted per account and per client
//! address, with an exponential back-off after a free allowance.
//!
//! Rules (`[login]` settings, see `LoginConfig`):
//! - After `free_failures` failed passwords for one account (its username, trimmed and
//!   lower-cased), or `free_failures_per_ip` from one client address (an IPv6 address
//!   counts by its /64), each further failure makes that account or address wait
//!   `first_delay`, then twice that, and so on up to `max_delay`, counted from the
//!   failure. 0 turns that counter off.
//! - While it waits, a sign-in is refused before the password is checked: a guess made
//!   during the wait cannot succeed, and a refused attempt neither counts as a failure
//!   nor makes the wait longer.
//! - Known-good addresses: a successful sign-in marks its (account, address) pair for
//!   `trusted_for`. Attempts for the account from that address skip the account-wide
//!   count: they are counted on the pair instead, with the same allowance and back-off
//!   (and still on the address's own count). So someone guessing from elsewhere, however
//!   slowly, cannot lock the user out of the addresses they have signed in from; a user
//!   on a new address waits for the account-wide count, at most `max_delay` after the
//!   last failure counted there.
//! - A successful sign-in clears the count it was admitted under: the account's, or the
//!   pair's at a known-good address (so a user signing in at home does not give the
//!   guesser elsewhere a fresh allowance). It never clears its address's count (one
//!   good account must not reset an address that is guessing others). A count is
//!   forgotten after `forget_after` without failures.
//! - Attempts in flight count against the allowance: once they could use it up, a further
//!   attempt for the account waits (up to `BUSY_WAIT`) for them to finish, so
//!   concurrent guesses cannot slip past the count and concurrent right passwords are
//!   queued, not refused.
//! - The counters live in this node's memory (at most `max_entries`; idle ones are
//!   dropped first, then the oldest): with several nodes, an attacker spreading attempts
//!   over them gets each node's allowance.
//!
//! Entries are keyed by a digest of the username (and address), so no username is kept
//! in memory. Known-good marks share the `max_entries` bound (one per pair that signed
//! in; dropped like the rest when memory is full, the least recently used first).

use crate::caller::Caller;
use crate::config::LoginConfig;
use crate::grants::event;
use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::User;
use baton_core::time::{Dur, Timestamp};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
enum Key {
    Account([u8; 16]),
    Address([u8; 16]),
    /// One account at one address: its known-good mark and its count there.
    Pair([u8; 16]),
}

/// What was throttled: the account tried, or the client address.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Scope {
    Account,
    Address,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    /// Failed password checks counted (since the last success or quiet period).
    failures: u32,
    /// Account entries: attempts admitted whose password check has not finished.
    pending: u32,
    last_failure: Timestamp,
    /// Pair entries: the last successful sign-in (the address is known-good until
    /// `trusted_for` after it).
    signed_in: Option<Timestamp>,
    /// The `failures` value for which `login.throttled` was last reported.
    reported: Option<u32>,
}

/// A refused attempt: how long to wait, and whether to record `login.throttled` (once
/// per key and back-off step).
#[derive(Clone, Debug)]
pub struct Throttled {
    pub retry_after: Dur,
    pub scope: Scope,
    pub failures: u32,
    pub report: bool,
    /// Refused only because another attempt for the account is being checked.
    pub busy: bool,
}

impl Throttled {
    /// `Retry-After` in whole seconds, rounded up (at least 1).
    pub fn retry_after_secs(&self) -> i64 {
        ((self.retry_after.millis() + 999) / 1000).max(1)
    }

    /// The wait in words, for messages: `1 second`, `30 seconds`.
    pub fn retry_in(&self) -> String {
        match self.retry_after_secs() {
            1 => "1 second".to_string(),
            n => format!("{n} seconds"),
        }
    }
}

/// The per-node throttle state (in `AppState`).
pub struct LoginThrottle {
    cfg: LoginConfig,
    map: Mutex<HashMap<Key, Entry>>,
    /// Wakes attempts waiting for an account's check in flight.
    released: tokio::sync::Notify,
}

/// How long an attempt waits for the account's check in flight before it is refused.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// An attempt allowed to check its password. Report how it went with `failed` or
/// `succeeded`; dropped without either (the request was abandoned), it counts as
/// neither.
pub struct Admission<'a> {
    throttle: &'a LoginThrottle,
    /// The per-account count this attempt is under: the account's, or its pair's at a
    /// known-good address.
    account: Option<Key>,
    address: Option<Key>,
    /// The pair to mark known-good on success.
    pair: Option<Key>,
    open: bool,
}

impl LoginThrottle {
    pub fn new(cfg: LoginConfig) -> LoginThrottle {
        LoginThrottle {
            cfg,
            map: Mutex::new(HashMap::new()),
            released: tokio::sync::Notify::new(),
        }
    }

    /// `admit`, but an attempt that finds its account busy (a check in flight at the edge
    /// of the allowance) waits for it, up to a few seconds, rather than being refused:
    /// concurrent sign-ins with the right password are queued, not throttled.
    pub async fn admit_waiting(
        &self,
        username: &str,
        ip: Option<&str>,
        clock: &crate::clock::Clock,
    ) -> Result<Admission<'_>, Throttled> {
        let deadline = tokio::time::Instant::now() + BUSY_WAIT;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let last = tokio::time::Instant::now() >= deadline;
            match self.try_admit(username, ip, clock.now(), last) {
                Err(t) if t.busy && !last => {
                    let _ = tokio::time::timeout_at(deadline, released).await;
                }
                other => return other,
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        match self.map.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The wait after the `n`th failure beyond the free allowance (n >= 1).
    fn delay(&self, n: u32) -> Dur {
        let shift = n.saturating_sub(1).min(40);
        let ms = self.cfg.first_delay.millis().saturating_mul(1_i64 << shift);
        Dur(ms.min(self.cfg.max_delay.millis()))
    }

    fn free(&self, k: &Key) -> u32 {
        match k {
            Key::Account(_) | Key::Pair(_) => self.cfg.free_failures,
            Key::Address(_) => self.cfg.free_failures_per_ip,
        }
    }

    fn blocked_until(&self, k: &Key, e: &Entry) -> Option<Timestamp> {
        let free = self.free(k);
        (e.failures > free).then(|| e.last_failure.plus(self.delay(e.failures - free)))
    }

    /// Whether an entry's count is spent at `now` (nothing in flight, no wait, quiet for
    /// `forget_after`).
    fn forgotten(&self, k: &Key, e: &Entry, now: Timestamp) -> bool {
        e.pending == 0
            && (e.failures == 0
                || (self.blocked_until(k, e).is_none_or(|b| b <= now)
                    && now.since(e.last_failure) >= self.cfg.forget_after))
    }

    /// Whether a pair entry marks a known-good address at `now`.
    fn trusted(&self, e: &Entry, now: Timestamp) -> bool {
        e.signed_in
            .is_some_and(|t| now.since(t) < self.cfg.trusted_for)
    }

    /// Whether an entry holds nothing worth keeping at `now`.
    fn idle(&self, k: &Key, e: &Entry, now: Timestamp) -> bool {
        self.forgotten(k, e, now) && !self.trusted(e, now)
    }

    /// Lets an attempt by `username` from `ip` check its password, or says how long it
    /// must wait.
    pub fn admit(
        &self,
        username: &str,
        ip: Option<&str>,
        now: Timestamp,
    ) -> Result<Admission<'_>, Throttled> {
        self.try_admit(username, ip, now, true)
    }

    /// `report_busy`: whether a refusal for a busy account is final (and may be
    /// reported) or will be retried.
    fn try_admit(
        &self,
        username: &str,
        ip: Option<&str>,
        now: Timestamp,
        report_busy: bool,
    ) -> Result<Admission<'_>, Throttled> {
        let counted = self.cfg.free_failures > 0;
        let at = ip.and_then(address_key);
        let pair = at.filter(|_| counted).map(|a| pair_key(username, &a));
        let address = at.filter(|_| self.cfg.free_failures_per_ip > 0);
        let mut map = self.lock();
        // At a known-good address the pair's count stands in for the account's.
        let account = match pair {
            Some(p) if map.get(&p).is_some_and(|e| self.trusted(e, now)) => Some(p),
            _ => counted.then(|| account_key(username)),
        };
        let mut refusal: Option<(Key, Throttled)> = None;
        for k in [account, address].into_iter().flatten() {
            let Some(e) = map.get_mut(&k) else { continue };
            if e.failures > 0 && self.forgotten(&k, e, now) {
                // A quiet period: the count is forgotten.
                e.failures = 0;
                e.reported = None;
            }
            let free = self.free(&k);
            let wait = match self.blocked_until(&k, e) {
                Some(until) if until > now => Some((until.since(now), false)),
                // Its next failure would start a wait: one check at a time.
                _ if !matches!(k, Key::Address(_))
                    && e.pending > 0
                    && e.failures + e.pending >= free =>
                {
                    Some((self.cfg.first_delay, true))
                }
                _ => None,
            };
            if let Some((w, busy)) = wait {
                // A wait that blocks beats a busy account: it is not worth waiting for.
                let better = |r: &Throttled| (r.busy && !busy) || w > r.retry_after;
                if refusal.as_ref().is_none_or(|(_, r)| better(r)) {
                    let scope = match k {
                        Key::Account(_) | Key::Pair(_) => Scope::Account,
                        Key::Address(_) => Scope::Address,
                    };
                    refusal = Some((
                        k,
                        Throttled {
                            retry_after: w,
                            scope,
                            failures: e.failures,
                            report: false,
                            busy,
                        },
                    ));
                }
            }
        }
        if let Some((k, mut t)) = refusal {
            if t.busy && !report_busy {
                return Err(t);
            }
            if let Some(e) = map.get_mut(&k) {
                t.report = e.reported != Some(e.failures);
                e.reported = Some(e.failures);
            }
            return Err(t);
        }
        if let Some(k) = account {
            if let Some(e) = self.entry(&mut map, k, now) {
                e.pending += 1;
            }
        }
        Ok(Admission {
            throttle: self,
            account,
            address,
            pair,
            open: true,
        })
    }

    /// The entry for `k`, made if there is room (idle entries go first, then the one
    /// least recently used: last failure or, for a known-good mark, sign-in). `None`
    /// only if every entry has an attempt in flight.
    fn entry<'m>(
        &self,
        map: &'m mut HashMap<Key, Entry>,
        k: Key,
        now: Timestamp,
    ) -> Option<&'m mut Entry> {
        if !map.contains_key(&k) && map.len() >= self.cfg.max_entries {
            map.retain(|key, e| !self.idle(key, e, now));
            if map.len() >= self.cfg.max_entries {
                let oldest = map
                    .iter()
                    .filter(|(_, e)| e.pending == 0)
                    .min_by_key(|(_, e)| {
                        e.signed_in
                            .map_or(e.last_failure, |t| t.max(e.last_failure))
                    })
                    .map(|(key, _)| *key);
                match oldest {
                    Some(o) => {
                        map.remove(&o);
                    }
                    None => return None,
                }
            }
        }
        Some(map.entry(k).or_insert(Entry {
            failures: 0,
            pending: 0,
            last_failure: now,
            signed_in: None,
            reported: None,
        }))
    }

    /// How many keys are tracked (for tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Admission<'_> {
    /// The password was wrong (or the user unknown or inactive): counts a failure for
    /// the account and the address.
    pub fn failed(mut self, now: Timestamp) {
        self.open = false;
        let t = self.throttle;
        let _wake = Wake(&t.released);
        let mut map = t.lock();
        for k in [self.account, self.address].into_iter().flatten() {
            if let Some(e) = t.entry(&mut map, k, now) {
                if !matches!(k, Key::Address(_)) {
                    e.pending = e.pending.saturating_sub(1);
                }
                e.failures = e.failures.saturating_add(1);
                e.last_failure = now;
            }
        }
    }

    /// The password was right: the count it was admitted under starts afresh, and its
    /// address becomes known-good for the account.
    pub fn succeeded(mut self, now: Timestamp) {
        self.open = false;
        self.release(true);
        let Some(p) = self.pair else { return };
        let t = self.throttle;
        let mut map = t.lock();
        if let Some(e) = t.entry(&mut map, p, now) {
            e.signed_in = Some(now);
        }
    }

    fn release(&self, success: bool) {
        let Some(k) = self.account else { return };
        let _wake = Wake(&self.throttle.released);
        let mut map = self.throttle.lock();
        if let Some(e) = map.get_mut(&k) {
            e.pending = e.pending.saturating_sub(1);
            if success {
                e.failures = 0;
                e.reported = None;
            }
            if e.pending == 0 && e.failures == 0 && e.signed_in.is_none() {
                map.remove(&k);
            }
        }
    }
}

/// Wakes the waiting attempts when dropped (after the map's lock is released).
struct Wake<'a>(&'a tokio::sync::Notify);

impl Drop for Wake<'_> {
    fn drop(&mut self) {
        self.0.notify_waiters();
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if self.open {
            self.release(false);
        }
    }
}

fn account_key(username: &str) -> Key {
    let norm = username.trim().to_lowercase();
    let d = ring::digest::digest(&ring::digest::SHA256, norm.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d.as_ref()[..16]);
    Key::Account(k)
}

/// One account at one address (`address` from `address_key`).
fn pair_key(username: &str, address: &Key) -> Key {
    let norm = username.trim().to_lowercase();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    if let Key::Address(a) = address {
        ctx.update(a);
    }
    ctx.update(norm.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&ctx.finish().as_ref()[..16]);
    Key::Pair(k)
}

/// An IPv4 address as itself; an IPv6 address by its /64 (one host's usual share).
fn address_key(ip: &str) -> Option<Key> {
    let ip: IpAddr = ip.parse().ok()?;
    let mut k = [0u8; 16];
    match ip.to_canonical() {
        IpAddr::V4(v4) => k[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => {
            k[..8].copy_from_slice(&v6.octets()[..8]);
            k[15] = 6;
        }
    }
    Some(Key::Address(k))
}

/// The outcome of a sign-in with a username and password.
pub enum SignIn {
    User(User),
    /// Wrong password, unknown or inactive user: indistinguishable to the caller.
    Failed,
    Throttled(Throttled),
}

/// Who is signing in where, for the events.
pub struct Attempt<'a> {
    pub caller: &'a Caller,
    pub client_id: Option<&'a str>,
    /// `password_grant` or `login_page`.
    pub via: &'static str,
}

/// Checks a password under the throttle and records `login.failed` (with the account's
/// subject when the user exists; never the password or an unknown username) or
/// `login.throttled`. The caller records `login.succeeded`.
pub async fn sign_in(
    st: &AppState,
    a: &Attempt<'_>,
    username: &str,
    password: &str,
) -> Result<SignIn, StoreError> {
    let ip = a.caller.ip.as_deref();
    let admission = st
        .login_throttle
        .admit_waiting(username, ip, &st.clock)
        .await;
    let now = st.clock.now();
    let admission = match admission {
        Ok(adm) => adm,
        Err(t) => {
            crate::metrics::login_throttled(a.via);
            if t.report {
                // Only once per back-off step: a lookup for the subject is affordable.
                let subject = match t.scope {
                    Scope::Account if username.len() <= 256 => {
                        st.store.get_user(username).await.ok().flatten()
                    }
                    _ => None,
                }
                .map(|u| u.sub);
                let ev = event(
                    EventKind::LoginThrottled,
                    now,
                    a.caller,
                    a.client_id,
                    subject.as_deref(),
                    None,
                    serde_json::json!({
                        "via": a.via,
                        "scope": t.scope.as_str(),
                        "failures": t.failures,
                        "retry_after": t.retry_after_secs(),
                    }),
                );
                // The answer is a refusal either way.
                crate::best_effort::record_event(st, ev).await;
            }
            return Ok(SignIn::Throttled(t));
        }
    };
    let (user, ok) = crate::users::verify_user(st, username, password).await?;
    if let Some(u) = user.as_ref().filter(|u| ok && u.active) {
        admission.succeeded(st.clock.now());
        return Ok(SignIn::User(u.clone()));
    }
    admission.failed(st.clock.now());
    let reason = match &user {
        None => "unknown_user",
        Some(u) if ok && !u.active => "inactive",
        Some(_) => "wrong_password",
    };
    let ev = event(
        EventKind::LoginFailed,
        now,
        a.caller,
        a.client_id,
        user.as_ref().map(|u| u.sub.as_str()),
        None,
        serde_json::json!({"via": a.via, "reason": reason}),
    );
    crate::grants::record(st, ev).await?;
    Ok(SignIn::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LoginConfig {
        LoginConfig {
            free_failures: 2,
            free_failures_per_ip: 4,
            first_delay: Dur::secs(1),
            max_delay: Dur::secs(8),
            forget_after: Dur::secs(60),
            trusted_for: Dur::secs(1000),
            max_entries: 3,
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn back_off_doubles_up_to_the_cap_and_success_clears_it() {
        let th = LoginThrottle::new(cfg());
        let ip = Some("10.0.0.1");
        for _ in 0..3 {
            th.admit("Alice", ip, t(0)).unwrap().failed(t(0));
        }
        let r = th.admit("alice ", ip, t(0)).err().unwrap();
        assert_eq!(
            (r.retry_after, r.scope, r.report),
            (Dur::secs(1), Scope::Account, true)
        );
        // Once per step.
        assert!(!th.admit("alice", ip, t(0)).err().unwrap().report);
        let mut waits = vec![];
        let mut now = 1;
        for _ in 0..6 {
            th.admit("alice", None, t(now)).unwrap().failed(t(now));
            let r = th.admit("alice", None, t(now)).err().unwrap();
            waits.push(r.retry_after.as_secs());
            now += r.retry_after.as_secs();
        }
        assert_eq!(waits, [2, 4, 8, 8, 8, 8]);
        th.admit("alice", None, t(now)).unwrap().succeeded(t(now));
        th.admit("alice", None, t(now)).unwrap().failed(t(now));
        assert!(th.admit("alice", None, t(now)).is_ok(), "counted afresh");
    }

    #[test]
    fn quiet_period_forgets_and_an_abandoned_attempt_counts_nothing() {
        let th = LoginThrottle::new(cfg());
        for _ in 0..3 {
            th.admit("bob", None, t(0)).unwrap().failed(t(0));
        }
        assert!(th.admit("bob", None, t(0)).is_err());
        // After the wait one more failure is allowed; after the quiet period, three.
        for _ in 0..3 {
            th.admit("bob", None, t(61)).unwrap().failed(t(61));
        }
        // One in flight at the edge of the allowance: a second waits.
        let th = LoginThrottle::new(cfg());
        th.admit("carol", None, t(0)).unwrap().failed(t(0));
        th.admit("carol", None, t(0)).unwrap().failed(t(0));
        let a = th.admit("carol", None, t(0)).unwrap();
        assert!(th.admit("carol", None, t(0)).is_err());
        drop(a);
        assert!(th.admit("carol", None, t(0)).is_ok());
    }

    #[test]
    fn addresses_count_across_accounts_and_memory_is_bounded() {
        let th = LoginThrottle::new(LoginConfig {
            free_failures: 0,
            max_entries: 1000,
            ..cfg()
        });
        for i in 0..5 {
            th.admit(&format!("u{i}"), Some("2001:db8::1"), t(0))
                .unwrap()
                .failed(t(0));
        }
        let r = th.admit("x", Some("2001:db8::ffff"), t(0)).err().unwrap();
        assert_eq!(r.scope, Scope::Address, "the same /64");
        assert!(th.admit("x", Some("2001:db8:0:1::1"), t(0)).is_ok());
        assert!(th.admit("x", Some("10.0.0.1"), t(0)).is_ok());
        assert_eq!(address_key("::ffff:10.0.0.1"), address_key("10.0.0.1"));
        assert_eq!(address_key("not an address"), None);

        let th = LoginThrottle::new(cfg());
        for i in 0..10 {
            th.admit(&format!("u{i}"), None, t(i)).unwrap().failed(t(i));
        }
        assert_eq!(th.len(), 3);
    }

    #[test]
    fn a_known_good_address_skips_the_account_wait_but_has_its_own_count() {
        let th = LoginThrottle::new(LoginConfig {
            max_entries: 1000,
            ..cfg()
        });
        let (home, home_too, away, new) = (
            Some("2001:db8::1"),
            Some("2001:db8::2"),
            Some("10.0.0.9"),
            Some("10.0.0.7"),
        );
        th.admit("alice", home, t(0)).unwrap().succeeded(t(0));
        for _ in 0..3 {
            th.admit("alice", away, t(0)).unwrap().failed(t(0));
        }
        let r = th.admit("alice", new, t(0)).err().unwrap();
        assert_eq!(r.scope, Scope::Account);
        assert!(
            th.admit("alice", None, t(0)).is_err(),
            "no address: no trust"
        );
        assert!(th.admit("bob", home, t(0)).is_ok(), "another account");
        // The same /64, the account in any spelling: known-good.
        th.admit(" ALICE", home_too, t(0)).unwrap().succeeded(t(0));
        assert!(
            th.admit("alice", away, t(0)).is_err(),
            "the attacker still waits"
        );
        // A guesser at home: the allowance, then the back-off, on the pair.
        for _ in 0..3 {
            th.admit("alice", home, t(0)).unwrap().failed(t(0));
        }
        let r = th.admit("alice", home, t(0)).err().unwrap();
        assert_eq!((r.scope, r.retry_after), (Scope::Account, Dur::secs(1)));
        // Trust ends `trusted_for` after the last sign-in there.
        let th = LoginThrottle::new(cfg());
        th.admit("alice", home, t(0)).unwrap().succeeded(t(0));
        for _ in 0..3 {
            th.admit("alice", away, t(1000)).unwrap().failed(t(1000));
        }
        assert!(th.admit("alice", home, t(1000)).is_err());
    }
}
