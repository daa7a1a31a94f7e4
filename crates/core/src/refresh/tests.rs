//! Table-driven tests of the refresh-token state machine (SPEC §2.3–§2.7).
//!
//! Every expectation goes through one `Checker::check` helper. The big table is the
//! cross product of the facts `decide` looks at; each case's expected `Decision` comes
//! from `oracle`, a readable restatement of the SPEC written without looking at how
//! `decide` computes it (no timestamp arithmetic: each clock position and each presented
//! generation states its meaning outright). Named tests below the table tell the
//! important stories one step at a time.

use super::*;
use crate::model::{GrantId, GrantStatus};
use crate::scope::Scope;
use std::fmt::Debug;

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// "Now" in every test: an arbitrary instant, far from the epoch.
const NOW: Timestamp = Timestamp(1_700_000_000_000);
/// The generation a grant of the table is at (the fresh-grant case aside).
const G: u64 = 7;
/// The default grace period (SPEC §2.4).
const GRACE: Dur = Dur(30 * SEC);

const CLIENT: &str = "client-7f3a";
const OTHER_CLIENT: &str = "client-e21b";
const SUBJECT: &str = "subject-9c1e";
const SESSION: &str = "session-41d2";
const SCOPE: &str = "openid offline_access payroll.read";
const CLAIMS: &str = r#"{"name":"Ada Lovelace","email":"ada@example.test"}"#;

const REACTIONS: [ReuseReaction; 4] = [
    ReuseReaction::RevokeGrant,
    ReuseReaction::RevokeClientUser,
    ReuseReaction::RevokeSession,
    ReuseReaction::LogOnly,
];

/// `NOW` shifted by `offset_ms` (negative is the past).
fn at(offset_ms: i64) -> Timestamp {
    Timestamp(NOW.0 + offset_ms)
}

/// An active, rotating, offline grant at generation `G`, well inside both lifetimes,
/// whose current generation began 10 s ago.
fn grant() -> Grant {
    Grant {
        resources: Default::default(),
        id: GrantId([0xb7; 16]),
        client_id: CLIENT.to_string(),
        subject: SUBJECT.to_string(),
        scope: Scope::parse(SCOPE).unwrap(),
        session_id: Some(SESSION.to_string()),
        online: false,
        auth_time: at(-10 * DAY),
        created_at: at(-10 * DAY),
        expires_at: Some(at(20 * DAY)),
        sliding: Some(Dur(7 * DAY)),
        last_used_at: at(-10 * SEC),
        generation: G,
        generation_started_at: at(-10 * SEC),
        rotate: true,
        grace: GRACE,
        update_claims: true,
        claims_snapshot: Some(CLAIMS.to_string()),
        persist: true,
        status: GrantStatus::Active,
        dpop_jkt: None,
    }
}

fn revoked() -> GrantStatus {
    GrantStatus::Revoked {
        at: at(-HOUR),
        reason: "admin".to_string(),
    }
}

/// The grant's own client presents `generation`; user active, session live, allowed.
fn presented(generation: u64) -> Presented<'static> {
    Presented {
        client_id: CLIENT,
        generation,
        user_active: true,
        session_live: true,
        client_allows: true,
        client_public: false,
        proof_jkt: None,
        concurrent: false,
    }
}

fn live(reuse_reaction: ReuseReaction) -> LivePolicy {
    LivePolicy {
        reuse_reaction,
        check_user_active: true,
        allow_public_clients: true,
        require_offline_access: true,
    }
}

/// What the store's compare-and-swap does on `Decision::Rotate` (store.rs `advance`).
fn advance(g: &mut Grant, now: Timestamp) {
    g.generation += 1;
    g.generation_started_at = now;
    g.last_used_at = now;
}

/// Reuse of a live grant: the reaction applies.
fn reused(presented: u64, current: u64, reaction: ReuseReaction) -> Decision {
    reused_as(presented, current, reaction, true)
}

fn reused_as(presented: u64, current: u64, reaction: ReuseReaction, applied: bool) -> Decision {
    Decision::Reject(Rejection::Reused {
        presented,
        current,
        reaction,
        applied,
    })
}

/// Collects every mismatch so that one run shows all of them, not only the first.
#[derive(Default)]
struct Checker {
    checked: usize,
    failures: Vec<String>,
    /// (description, grant scope, presenting client) already checked for leaks: a
    /// description is a constant per kind, so the table need not check it per case.
    leak_checked: std::collections::HashSet<(&'static str, String, String)>,
}

impl Checker {
    /// THE helper: `decide` must answer `want`, and a rejection's description must
    /// name nothing of the grant or the request.
    fn check(
        &mut self,
        label: &dyn Debug,
        live: &LivePolicy,
        now: Timestamp,
        grant: &Grant,
        p: &Presented<'_>,
        want: Decision,
    ) {
        self.checked += 1;
        let got = decide(live, now, grant, p);
        if got != want {
            self.failures
                .push(format!("{label:?}\n    want {want:?}\n    got  {got:?}"));
        }
        if let Decision::Reject(r) = got {
            let key = (
                r.description(),
                grant.scope.to_string(),
                p.client_id.to_string(),
            );
            if !self.leak_checked.insert(key) {
                return;
            }
            if let Some(leak) = leak(r, grant, p) {
                self.failures.push(format!(
                    "{label:?}\n    description of {r:?} leaks {leak:?}"
                ));
            }
        }
    }

    fn finish(self) {
        let shown: Vec<&str> = self.failures.iter().take(30).map(String::as_str).collect();
        assert!(
            self.failures.is_empty(),
            "{} of {} checks failed (first {} shown):\n{}",
            self.failures.len(),
            self.checked,
            shown.len(),
            shown.join("\n")
        );
    }
}

/// Anything of the grant or the request found in a rejection's description.
fn leak(r: Rejection, g: &Grant, p: &Presented<'_>) -> Option<String> {
    let d = r.description();
    let mut secrets = vec![
        g.id.to_hex(),
        g.client_id.clone(),
        g.subject.clone(),
        g.scope.to_string(),
        p.client_id.to_string(),
    ];
    secrets.extend(g.session_id.clone());
    secrets.extend(g.claims_snapshot.clone());
    secrets.extend(g.scope.iter().map(str::to_string));
    if let Some(s) = secrets
        .into_iter()
        .find(|s| !s.is_empty() && d.contains(s.as_str()))
    {
        return Some(s);
    }
    // No generation, timestamp or count of any kind.
    d.chars().find(char::is_ascii_digit).map(String::from)
}

// ---------------------------------------------------------------------------------
// The cross product.
// ---------------------------------------------------------------------------------

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Active,
    Revoked,
}

/// SPEC §2.3, fixed at grant creation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// `one_time`: `rotate = true`.
    Rotating,
    /// `reuse`: `rotate = false`.
    Reusing,
}

/// Which generation is presented, and how long ago the grant advanced to its current
/// generation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Shown {
    /// g, the grant's current generation.
    Current,
    /// g−1 in the very millisecond the grant advanced to g (two tabs at once).
    PrevSameMs,
    /// g−1 in the last millisecond before `grace_period` has passed.
    PrevLastMsOfGrace,
    /// g−1 exactly `grace_period` after the advance: grace is strict `<`.
    PrevAtGraceEnd,
    /// g−1 an hour after the grace period.
    PrevAfterGrace,
    /// g−2 in the millisecond of the last advance: inside the grace *time*.
    TwoBackSameMs,
    /// g+1: a generation the grant never reached.
    Future,
    /// Generation 1 of a fresh grant, never rotated.
    FreshFirst,
    /// g−1 by a request concurrent with the rotation to g (it arrived before that
    /// rotation committed, or lost the compare-and-swap to it), which the clock says
    /// was an hour after the grace period (a slow request): whatever the time.
    PrevConcurrent,
    /// g−2 by a request concurrent with the rotation to g−1: another rotation came on
    /// top of that one, so it is not concurrent with the current one.
    TwoBackConcurrent,
    /// g by a request that lost the compare-and-swap although the grant did not
    /// advance (it was revoked meanwhile, say).
    CurrentConcurrent,
}

const SHOWN: [Shown; 11] = [
    Shown::Current,
    Shown::PrevSameMs,
    Shown::PrevLastMsOfGrace,
    Shown::PrevAtGraceEnd,
    Shown::PrevAfterGrace,
    Shown::TwoBackSameMs,
    Shown::Future,
    Shown::FreshFirst,
    Shown::PrevConcurrent,
    Shown::TwoBackConcurrent,
    Shown::CurrentConcurrent,
];

impl Shown {
    /// (the grant's generation, the generation presented, ms since the grant advanced
    /// to its generation).
    fn generations(self, grace: Dur) -> (u64, u64, i64) {
        let grace = grace.millis();
        match self {
            Shown::Current => (G, G, 10 * SEC),
            Shown::PrevSameMs => (G, G - 1, 0),
            // With grace_period = 0 there is no "last millisecond": the same ms is 0.
            Shown::PrevLastMsOfGrace => (G, G - 1, (grace - 1).max(0)),
            Shown::PrevAtGraceEnd => (G, G - 1, grace),
            Shown::PrevAfterGrace => (G, G - 1, grace + HOUR),
            Shown::TwoBackSameMs => (G, G - 2, 0),
            Shown::Future => (G, G + 1, 10 * SEC),
            Shown::FreshFirst => (1, 1, 10 * DAY),
            Shown::PrevConcurrent => (G, G - 1, grace + HOUR),
            Shown::TwoBackConcurrent => (G, G - 2, 0),
            Shown::CurrentConcurrent => (G, G, 10 * SEC),
        }
    }

    fn concurrent(self) -> bool {
        matches!(
            self,
            Shown::PrevConcurrent | Shown::TwoBackConcurrent | Shown::CurrentConcurrent
        )
    }
}

/// A clock position: the grant's lifetimes and last use, relative to `NOW`, with what
/// they mean written out by hand.
#[derive(Debug)]
struct ClockCase {
    name: &'static str,
    /// `expires_at` − `NOW` in ms; `None` is `absolute_lifetime = unlimited`.
    expires_in: Option<i64>,
    /// `sliding_lifetime` in ms; `None` is `off`.
    sliding: Option<i64>,
    /// `NOW` − `last_used_at` in ms.
    last_used_ago: i64,
    /// The grant has died of age (SPEC §2.6: absolute, or sliding, whichever first).
    dead: bool,
    /// A `reuse` refresh now should write `last_used_at`: 1% of the sliding window,
    /// at most 60 s (60 s when sliding is off), has passed since the last write.
    /// Only consulted when alive.
    touch: bool,
}

const CLOCKS: [ClockCase; 17] = [
    ClockCase {
        name: "inside both windows",
        expires_in: Some(20 * DAY),
        sliding: Some(7 * DAY),
        last_used_ago: DAY,
        dead: false,
        touch: true,
    },
    ClockCase {
        name: "inside both, last written 59.999 s ago (1% of 7d is capped at 60 s)",
        expires_in: Some(20 * DAY),
        sliding: Some(7 * DAY),
        last_used_ago: MIN - 1,
        dead: false,
        touch: false,
    },
    ClockCase {
        name: "inside both, last written exactly 60 s ago",
        expires_in: Some(20 * DAY),
        sliding: Some(7 * DAY),
        last_used_ago: MIN,
        dead: false,
        touch: true,
    },
    ClockCase {
        name: "last millisecond of the sliding window",
        expires_in: Some(20 * DAY),
        sliding: Some(7 * DAY),
        last_used_ago: 7 * DAY - 1,
        dead: false,
        touch: true,
    },
    ClockCase {
        name: "sliding window ends exactly now",
        expires_in: Some(20 * DAY),
        sliding: Some(7 * DAY),
        last_used_ago: 7 * DAY,
        dead: true,
        touch: true,
    },
    ClockCase {
        name: "a day past the sliding window",
        expires_in: Some(20 * DAY),
        sliding: Some(7 * DAY),
        last_used_ago: 8 * DAY,
        dead: true,
        touch: true,
    },
    ClockCase {
        name: "last millisecond before the absolute expiry",
        expires_in: Some(1),
        sliding: Some(7 * DAY),
        last_used_ago: HOUR,
        dead: false,
        touch: true,
    },
    ClockCase {
        name: "absolute expiry exactly now",
        expires_in: Some(0),
        sliding: Some(7 * DAY),
        last_used_ago: HOUR,
        dead: true,
        touch: true,
    },
    ClockCase {
        name: "past the absolute expiry",
        expires_in: Some(-1),
        sliding: Some(7 * DAY),
        last_used_ago: HOUR,
        dead: true,
        touch: true,
    },
    ClockCase {
        name: "used 1 ms ago, absolute expiry now: sliding never extends past absolute",
        expires_in: Some(0),
        sliding: Some(7 * DAY),
        last_used_ago: 1,
        dead: true,
        touch: false,
    },
    ClockCase {
        name: "sliding off, absolute a day ahead, idle for a year",
        expires_in: Some(DAY),
        sliding: None,
        last_used_ago: 365 * DAY,
        dead: false,
        touch: true,
    },
    ClockCase {
        name: "sliding off, last written 59.999 s ago (the 60 s cap applies)",
        expires_in: Some(DAY),
        sliding: None,
        last_used_ago: MIN - 1,
        dead: false,
        touch: false,
    },
    ClockCase {
        name: "sliding off, past the absolute expiry",
        expires_in: Some(-DAY),
        sliding: None,
        last_used_ago: 2 * DAY,
        dead: true,
        touch: true,
    },
    ClockCase {
        name: "absolute unlimited and sliding off, idle for ten years",
        expires_in: None,
        sliding: None,
        last_used_ago: 3650 * DAY,
        dead: false,
        touch: true,
    },
    ClockCase {
        name: "absolute unlimited, sliding window ends exactly now",
        expires_in: None,
        sliding: Some(7 * DAY),
        last_used_ago: 7 * DAY,
        dead: true,
        touch: true,
    },
    ClockCase {
        name: "absolute unlimited, sliding 1h, last written 35.999 s ago (1% is 36 s)",
        expires_in: None,
        sliding: Some(HOUR),
        last_used_ago: 36 * SEC - 1,
        dead: false,
        touch: false,
    },
    ClockCase {
        name: "absolute unlimited, sliding 1h, last written exactly 36 s ago",
        expires_in: None,
        sliding: Some(HOUR),
        last_used_ago: 36 * SEC,
        dead: false,
        touch: true,
    },
];

const GRACES: [Dur; 2] = [GRACE, Dur::ZERO];

#[derive(Copy, Clone, Debug)]
struct Case {
    state: State,
    mode: Mode,
    shown: Shown,
    clock: &'static ClockCase,
    reaction: ReuseReaction,
    grace: Dur,
    wrong_client: bool,
    user_active: bool,
    check_user_active: bool,
    online: bool,
    session_live: bool,
    client_allows: bool,
    /// The client is public now (it may have been confidential when the grant was
    /// created: the grant's mode says how it was created).
    client_public: bool,
    allow_public_clients: bool,
    require_offline_access: bool,
    /// The grant's scope holds `offline_access` (else neither it nor `online_access`).
    offline_scope: bool,
    key: Key,
}

/// The DPoP key a grant is bound to, and the key the request proved.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Key {
    /// An unbound grant, no proof.
    Unbound,
    /// An unbound grant, a proof: the binding is fixed at creation, a proof adds none.
    UnboundWithProof,
    /// A bound grant, a proof of its key.
    Proved,
    /// A bound grant, no proof.
    NoProof,
    /// A bound grant, a proof of another key.
    Other,
}

const KEYS: [Key; 5] = [
    Key::Unbound,
    Key::UnboundWithProof,
    Key::Proved,
    Key::NoProof,
    Key::Other,
];

const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const OTHER_JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

impl Key {
    fn bound(self) -> Option<String> {
        match self {
            Key::Unbound | Key::UnboundWithProof => None,
            _ => Some(JKT.to_string()),
        }
    }
    fn proof(self) -> Option<&'static str> {
        match self {
            Key::Unbound | Key::NoProof => None,
            Key::UnboundWithProof | Key::Other => Some(OTHER_JKT),
            Key::Proved => Some(JKT),
        }
    }
}

/// A grant scope without `offline_access` or `online_access`.
const SCOPE_NO_OFFLINE: &str = "openid payroll.read";

impl Case {
    fn build(&self) -> (LivePolicy, Grant, Presented<'static>) {
        let (current, shown, since_advance) = self.shown.generations(self.grace);
        let mut g = grant();
        g.status = match self.state {
            State::Active => GrantStatus::Active,
            State::Revoked => revoked(),
        };
        g.rotate = self.mode == Mode::Rotating;
        g.grace = self.grace;
        g.online = self.online;
        g.expires_at = self.clock.expires_in.map(at);
        g.sliding = self.clock.sliding.map(Dur);
        g.last_used_at = at(-self.clock.last_used_ago);
        g.generation = current;
        g.generation_started_at = at(-since_advance);
        if !self.offline_scope {
            g.scope = Scope::parse(SCOPE_NO_OFFLINE).unwrap();
        }
        g.dpop_jkt = self.key.bound();
        let p = Presented {
            client_id: if self.wrong_client {
                OTHER_CLIENT
            } else {
                CLIENT
            },
            generation: shown,
            user_active: self.user_active,
            session_live: self.session_live,
            client_allows: self.client_allows,
            client_public: self.client_public,
            proof_jkt: self.key.proof(),
            concurrent: self.shown.concurrent(),
        };
        let live = LivePolicy {
            reuse_reaction: self.reaction,
            check_user_active: self.check_user_active,
            allow_public_clients: self.allow_public_clients,
            require_offline_access: self.require_offline_access,
        };
        (live, g, p)
    }
}

/// The SPEC, restated per case.
fn oracle(c: &Case) -> Decision {
    use Rejection::*;
    let (current, shown, _) = c.shown.generations(c.grace);
    // §2.7: a token presented by any other client answers invalid_grant and changes
    // nothing of the grant: no reuse reaction, and nothing said about its state.
    if c.wrong_client {
        return Decision::Reject(ClientMismatch);
    }
    // RFC 9449 §5: a grant bound to a key answers only a request that proves that key;
    // anything else changes nothing and is not reuse (the token is useless without the
    // key). A proof on an unbound grant changes nothing of the decision.
    if matches!(c.key, Key::NoProof | Key::Other) {
        return Decision::Reject(KeyMismatch);
    }
    // A generation the grant never reached (forged with a leaked key, or a store rolled
    // back): refused, and it must not look like reuse (which would revoke).
    if c.shown == Shown::Future {
        return Decision::Reject(FutureGeneration);
    }
    // §2.3: a grant rotates when it was created one_time, and also when its client is
    // public now (public clients always rotate, even if they became public later).
    let rotating = c.mode == Mode::Rotating || c.client_public;
    // §2.4: g−1 presented *less than* grace_period after the grant advanced to g is a
    // retry. Only a rotating grant ever advances (§2.3), and nothing is less than a
    // grace_period of 0. A request concurrent with the rotation to g (it arrived before
    // the commit, or lost the compare-and-swap) is answered like a retry, whatever the
    // grace period and the time.
    let grace_retry = rotating
        && ((c.grace > Dur::ZERO
            && matches!(c.shown, Shown::PrevSameMs | Shown::PrevLastMsOfGrace))
            || c.shown == Shown::PrevConcurrent);
    // §2.4: "any other rotated token (older than g−1, or g−1 after the grace period) is
    // reuse"; §2.5: invalid_grant with the live reuse_reaction; §2.8: replays of a
    // revoked or expired grant's tokens are still recognised, so reuse comes first.
    let rotated = matches!(
        c.shown,
        Shown::PrevSameMs
            | Shown::PrevLastMsOfGrace
            | Shown::PrevAtGraceEnd
            | Shown::PrevAfterGrace
            | Shown::TwoBackSameMs
            | Shown::PrevConcurrent
            | Shown::TwoBackConcurrent
    );
    // The reaction applies to a live grant only: a replay of a revoked or expired
    // grant's token is recorded and revokes nothing new.
    if rotated && !grace_retry {
        let alive = c.state == State::Active && !c.clock.dead;
        return reused_as(shown, current, c.reaction, alive);
    }
    // §2.6: "An expired or revoked grant answers invalid_grant ... that says which".
    if c.state == State::Revoked {
        return Decision::Reject(Revoked);
    }
    if c.clock.dead {
        return Decision::Reject(Expired);
    }
    // §2.6: online_access grants die with their session; offline ones do not care.
    if c.online && !c.session_live {
        return Decision::Reject(SessionEnded);
    }
    // §2.6: check_user_active.
    if c.check_user_active && !c.user_active {
        return Decision::Reject(UserInactive);
    }
    // §2.2 / §2.7: the client must still be allowed the grant type and the scope; and
    // what decided at creation whether a refresh token was due is decided again:
    // allow_public_clients for a (now) public client, and require_offline_access.
    if !c.client_allows
        || (c.client_public && !c.allow_public_clients)
        || (c.require_offline_access && !c.offline_scope)
    {
        return Decision::Reject(NoLongerAllowed);
    }
    // §2.4: the same generation-g token, byte for byte; nothing advances.
    if grace_retry {
        return Decision::GraceReplay { current };
    }
    if rotating {
        // §2.3 one_time (or a public client): a new token, generation g → g+1.
        Decision::Rotate { from: current }
    } else {
        // §2.3 reuse: the same token; write last_used_at only when due.
        Decision::Reuse {
            touch: c.clock.touch,
        }
    }
}

/// Every combination of the dimensions above with presentation `shown`, handed to `f`
/// one at a time (the whole table would take hundreds of megabytes at once). The DPoP
/// key is the one dimension not crossed in full (it would multiply the table by 5): it
/// turns with the facts and the clock, so that each of its values meets every value of
/// every other dimension.
fn cross_product(shown: Shown, f: &mut dyn FnMut(&Case)) {
    for state in [State::Active, State::Revoked] {
        for mode in [Mode::Rotating, Mode::Reusing] {
            for (ci, clock) in CLOCKS.iter().enumerate() {
                for reaction in REACTIONS {
                    for grace in GRACES {
                        // Ten yes/no facts; bit set = the unusual value.
                        for bits in 0..(1u16 << 10) {
                            let odd = |i: u16| bits & (1 << i) != 0;
                            f(&Case {
                                state,
                                mode,
                                shown,
                                clock,
                                reaction,
                                grace,
                                wrong_client: odd(0),
                                user_active: !odd(1),
                                check_user_active: !odd(2),
                                online: odd(3),
                                session_live: !odd(4),
                                client_allows: !odd(5),
                                client_public: odd(6),
                                allow_public_clients: !odd(7),
                                require_offline_access: !odd(8),
                                offline_scope: !odd(9),
                                key: KEYS[(bits as usize + ci) % KEYS.len()],
                            });
                        }
                    }
                }
            }
        }
    }
}

/// The table's size: 2 states × 2 usages × 11 presentations × 17 clock positions ×
/// 4 reactions × 2 grace periods × 2¹⁰ facts.
const TABLE_SIZE: usize =
    2 * 2 * SHOWN.len() * CLOCKS.len() * REACTIONS.len() * GRACES.len() * 1024;

/// The outcome a decision is counted under, to show that the table reaches them all.
fn kind_of(d: Decision) -> &'static str {
    match d {
        Decision::Rotate { .. } => "Rotate",
        Decision::Reuse { touch: true } => "Reuse+touch",
        Decision::Reuse { touch: false } => "Reuse",
        Decision::GraceReplay { .. } => "GraceReplay",
        Decision::Reject(Rejection::ClientMismatch) => "ClientMismatch",
        Decision::Reject(Rejection::KeyMismatch) => "KeyMismatch",
        Decision::Reject(Rejection::FutureGeneration) => "FutureGeneration",
        Decision::Reject(Rejection::Reused { applied: false, .. }) => "Reused on a dead grant",
        Decision::Reject(Rejection::Reused { reaction, .. }) => reaction.as_str(),
        Decision::Reject(Rejection::Revoked) => "Revoked",
        Decision::Reject(Rejection::Expired) => "Expired",
        Decision::Reject(Rejection::SessionEnded) => "SessionEnded",
        Decision::Reject(Rejection::UserInactive) => "UserInactive",
        Decision::Reject(Rejection::NoLongerAllowed) => "NoLongerAllowed",
    }
}

#[test]
fn decide_matches_the_spec_over_the_cross_product() {
    let names: Vec<&str> = CLOCKS.iter().map(|k| k.name).collect();
    for (i, name) in names.iter().enumerate() {
        assert!(
            !names[..i].contains(name),
            "two clock positions named {name:?}"
        );
    }
    assert_eq!(TABLE_SIZE, 6_127_616);
    // One thread per presentation; each collects its own checks.
    let parts: Vec<(Checker, Vec<&'static str>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = SHOWN
            .map(|shown| {
                scope.spawn(move || {
                    let mut c = Checker::default();
                    let mut seen: Vec<&'static str> = Vec::new();
                    cross_product(shown, &mut |case| {
                        let (live, grant, p) = case.build();
                        let want = oracle(case);
                        let kind = kind_of(want);
                        if !seen.contains(&kind) {
                            seen.push(kind);
                        }
                        c.check(case, &live, NOW, &grant, &p, want);
                    });
                    (c, seen)
                })
            })
            .into_iter()
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a table thread panicked"))
            .collect()
    });
    let mut c = Checker::default();
    let mut seen: Vec<&'static str> = Vec::new();
    for (part, kinds) in parts {
        c.checked += part.checked;
        c.failures.extend(part.failures);
        for k in kinds {
            if !seen.contains(&k) {
                seen.push(k);
            }
        }
    }
    assert_eq!(c.checked, TABLE_SIZE);
    c.finish();
    // The table reaches every outcome, and every reaction reaches `Reused`.
    assert_eq!(seen.len(), 17, "outcomes reached: {seen:?}");
}

// ---------------------------------------------------------------------------------
// Named stories.
// ---------------------------------------------------------------------------------

#[test]
fn retry_after_a_lost_response_gets_the_same_current_generation() {
    let live = live(ReuseReaction::RevokeGrant);
    let mut c = Checker::default();
    let mut g = grant();
    // Created two days ago and never refreshed since.
    g.generation = 1;
    g.generation_started_at = at(-2 * DAY);
    g.last_used_at = at(-2 * DAY);
    let t = at(-HOUR);
    c.check(
        &"first refresh",
        &live,
        t,
        &g,
        &presented(1),
        Decision::Rotate { from: 1 },
    );
    advance(&mut g, t);
    // The response carrying generation 2 is lost: the client retries with generation 1.
    for (label, after) in [
        ("retry at once", 0),
        ("retry after 5 s", 5 * SEC),
        ("retry in the grace period's last ms", GRACE.millis() - 1),
    ] {
        let want = Decision::GraceReplay { current: 2 };
        c.check(&label, &live, t.plus(Dur(after)), &g, &presented(1), want);
    }
    // The replayed generation-2 token is the current one, and goes on as usual.
    let later = t.plus(Dur(10 * SEC));
    c.check(
        &"generation 2 after a replay",
        &live,
        later,
        &g,
        &presented(2),
        Decision::Rotate { from: 2 },
    );
    // Once grace_period has passed since the advance, generation 1 is reuse.
    let late = t.plus(GRACE);
    c.check(
        &"retry at grace end",
        &live,
        late,
        &g,
        &presented(1),
        reused(1, 2, ReuseReaction::RevokeGrant),
    );
    c.finish();
}

#[test]
fn two_rotations_one_millisecond_apart_are_told_apart_by_generation_alone() {
    let live = live(ReuseReaction::RevokeGrant);
    let mut c = Checker::default();
    let t = at(-MIN);
    let mut g = grant();
    g.generation = 1;
    advance(&mut g, t); // 1 → 2 at t
    advance(&mut g, t.plus(Dur(1))); // 2 → 3 at t + 1 ms
    let now = t.plus(Dur(1));
    c.check(
        &"g",
        &live,
        now,
        &g,
        &presented(3),
        Decision::Rotate { from: 3 },
    );
    c.check(
        &"g-1",
        &live,
        now,
        &g,
        &presented(2),
        Decision::GraceReplay { current: 3 },
    );
    c.check(
        &"g-2",
        &live,
        now,
        &g,
        &presented(1),
        reused(1, 3, ReuseReaction::RevokeGrant),
    );
    // Even within one millisecond: the timestamps are equal, the generations are not.
    let mut same = grant();
    same.generation = 1;
    advance(&mut same, t);
    advance(&mut same, t);
    c.check(
        &"same ms: g",
        &live,
        t,
        &same,
        &presented(3),
        Decision::Rotate { from: 3 },
    );
    c.check(
        &"same ms: g-1",
        &live,
        t,
        &same,
        &presented(2),
        Decision::GraceReplay { current: 3 },
    );
    c.check(
        &"same ms: g-2",
        &live,
        t,
        &same,
        &presented(1),
        reused(1, 3, ReuseReaction::RevokeGrant),
    );
    c.finish();
}

#[test]
fn two_tabs_refreshing_at_once_never_fork_the_chain() {
    let live = live(ReuseReaction::RevokeSession);
    let mut c = Checker::default();
    let mut g = grant();
    // Both tabs hold generation G; tab A wins the compare-and-swap.
    c.check(
        &"tab A",
        &live,
        NOW,
        &g,
        &presented(G),
        Decision::Rotate { from: G },
    );
    advance(&mut g, NOW);
    // Tab B's request, decided after the advance, is answered with tab A's token.
    c.check(
        &"tab B",
        &live,
        NOW,
        &g,
        &presented(G),
        Decision::GraceReplay { current: G + 1 },
    );
    c.finish();
}

#[test]
fn reuse_of_two_generations_back_inside_the_grace_time_is_still_reuse() {
    let mut c = Checker::default();
    for reaction in REACTIONS {
        let mut g = grant();
        advance(&mut g, NOW); // the grant advanced to G + 1 this very millisecond
        for (label, generation) in [("g-2", G - 1), ("g-3", G - 2), ("generation 1", 1)] {
            let want = reused(generation, G + 1, reaction);
            c.check(
                &(label, reaction),
                &live(reaction),
                NOW,
                &g,
                &presented(generation),
                want,
            );
        }
    }
    c.finish();
}

#[test]
fn a_revoked_grants_rotated_token_is_reported_as_reused_and_revokes_nothing_new() {
    let mut c = Checker::default();
    for reaction in REACTIONS {
        let live = live(reaction);
        let mut g = grant();
        g.status = revoked();
        let label = |s: &'static str| (s, reaction);
        c.check(
            &label("current"),
            &live,
            NOW,
            &g,
            &presented(G),
            Decision::Reject(Rejection::Revoked),
        );
        c.check(
            &label("g-2"),
            &live,
            NOW,
            &g,
            &presented(G - 2),
            reused_as(G - 2, G, reaction, false),
        );
        let after_grace = g.generation_started_at.plus(GRACE);
        let want = reused_as(G - 1, G, reaction, false);
        c.check(
            &label("g-1 after grace"),
            &live,
            after_grace,
            &g,
            &presented(G - 1),
            want,
        );
        // g−1 inside the grace period is a retry, not a rotated token: the grant is
        // revoked, and it says so.
        let want = Decision::Reject(Rejection::Revoked);
        c.check(
            &label("g-1 inside grace"),
            &live,
            NOW,
            &g,
            &presented(G - 1),
            want,
        );
    }
    c.finish();
}

#[test]
fn an_expired_grants_rotated_token_is_reported_as_reused_and_revokes_nothing_new() {
    let mut c = Checker::default();
    let live = live(ReuseReaction::RevokeClientUser);
    let mut g = grant();
    g.expires_at = Some(at(-1));
    c.check(
        &"current",
        &live,
        NOW,
        &g,
        &presented(G),
        Decision::Reject(Rejection::Expired),
    );
    let want = reused_as(G - 2, G, ReuseReaction::RevokeClientUser, false);
    c.check(&"g-2", &live, NOW, &g, &presented(G - 2), want);
    c.finish();
}

#[test]
fn grace_period_zero_never_replays() {
    let mut c = Checker::default();
    let live = live(ReuseReaction::LogOnly);
    let mut g = grant();
    g.grace = Dur::ZERO;
    advance(&mut g, NOW);
    for after in [0, 1, SEC, HOUR] {
        let want = reused(G, G + 1, ReuseReaction::LogOnly);
        c.check(
            &("g-1, ms after the advance", after),
            &live,
            at(after),
            &g,
            &presented(G),
            want,
        );
    }
    c.check(
        &"g",
        &live,
        NOW,
        &g,
        &presented(G + 1),
        Decision::Rotate { from: G + 1 },
    );
    c.finish();
}

#[test]
fn a_request_concurrent_with_the_rotation_gets_the_successor_even_at_grace_period_zero() {
    let mut c = Checker::default();
    let live = live(ReuseReaction::RevokeSession);
    let mut g = grant();
    g.grace = Dur::ZERO;
    // Two tabs read generation G; tab A's rotation commits first.
    c.check(
        &"tab A",
        &live,
        NOW,
        &g,
        &presented(G),
        Decision::Rotate { from: G },
    );
    c.check(
        &"tab B",
        &live,
        NOW,
        &g,
        &presented(G),
        Decision::Rotate { from: G },
    );
    advance(&mut g, NOW);
    // Tab B is concurrent with that rotation: it arrived before the commit, or its
    // compare-and-swap failed and it re-read G+1.
    let mut loser = presented(G);
    loser.concurrent = true;
    for after in [0, SEC, HOUR] {
        c.check(
            &("tab B after losing, ms", after),
            &live,
            at(after),
            &g,
            &loser,
            Decision::GraceReplay { current: G + 1 },
        );
    }
    // Not when the grant moved on twice, nor when it was revoked meanwhile.
    let mut twice = g.clone();
    advance(&mut twice, NOW);
    c.check(
        &"loser, grant two ahead",
        &live,
        NOW,
        &twice,
        &loser,
        reused(G, G + 2, ReuseReaction::RevokeSession),
    );
    let mut gone = g.clone();
    gone.status = revoked();
    c.check(
        &"loser, grant revoked",
        &live,
        NOW,
        &gone,
        &loser,
        Decision::Reject(Rejection::Revoked),
    );
    // A request that arrived after the commit is reuse at grace 0.
    c.check(
        &"late replay",
        &live,
        NOW,
        &g,
        &presented(G),
        reused(G, G + 1, ReuseReaction::RevokeSession),
    );
    c.finish();
}

#[test]
fn a_grant_whose_client_became_public_rotates_and_needs_allow_public_clients() {
    let mut c = Checker::default();
    let on = live(ReuseReaction::RevokeGrant);
    let mut g = grant();
    g.rotate = false; // created for a confidential client with `auto`
    g.generation = 1;
    let mut p = presented(1);
    c.check(
        &"confidential",
        &on,
        NOW,
        &g,
        &p,
        Decision::Reuse { touch: false },
    );
    p.client_public = true;
    c.check(
        &"now public",
        &on,
        NOW,
        &g,
        &p,
        Decision::Rotate { from: 1 },
    );
    advance(&mut g, NOW);
    c.check(
        &"now public, old token in grace",
        &on,
        NOW,
        &g,
        &p,
        Decision::GraceReplay { current: 2 },
    );
    c.check(
        &"now public, old token after grace",
        &on,
        NOW.plus(GRACE),
        &g,
        &p,
        reused(1, 2, ReuseReaction::RevokeGrant),
    );
    let off = LivePolicy {
        allow_public_clients: false,
        ..on
    };
    c.check(
        &"public clients no longer allowed",
        &off,
        NOW,
        &g,
        &presented_public(2),
        Decision::Reject(Rejection::NoLongerAllowed),
    );
    c.finish();
}

#[test]
fn require_offline_access_is_checked_on_every_refresh() {
    let mut c = Checker::default();
    let on = live(ReuseReaction::RevokeGrant);
    let off = LivePolicy {
        require_offline_access: false,
        ..on
    };
    let mut g = grant();
    g.scope = Scope::parse("openid payroll.read").unwrap();
    c.check(
        &"required",
        &on,
        NOW,
        &g,
        &presented(G),
        Decision::Reject(Rejection::NoLongerAllowed),
    );
    c.check(
        &"not required",
        &off,
        NOW,
        &g,
        &presented(G),
        Decision::Rotate { from: G },
    );
    g.scope = Scope::parse("openid online_access").unwrap();
    c.check(
        &"online_access",
        &on,
        NOW,
        &g,
        &presented(G),
        Decision::Rotate { from: G },
    );
    c.finish();
}

fn presented_public(generation: u64) -> Presented<'static> {
    Presented {
        client_public: true,
        ..presented(generation)
    }
}

/// FAILS against refresh.rs as written: `now.since(generation_started_at)` is negative
/// when the deciding server's clock reads earlier than the one that advanced the grant
/// (another node a few ms behind, or an NTP step back), and a negative elapsed time is
/// `< Dur::ZERO`, so a `grace_period = 0` grant answers `GraceReplay`. SPEC §2.4: the
/// retry is allowed when *less than* grace_period has passed since the grant advanced;
/// no time at all is less than 0 s, so with grace_period 0 it must be reuse.
#[test]
fn grace_period_zero_never_replays_even_when_this_clock_reads_before_the_advance() {
    let mut c = Checker::default();
    let live = live(ReuseReaction::RevokeGrant);
    let mut g = grant();
    g.grace = Dur::ZERO;
    advance(&mut g, NOW); // written by a node whose clock is ahead
    for behind in [1, 5 * SEC] {
        let want = reused(G, G + 1, ReuseReaction::RevokeGrant);
        c.check(
            &("g-1, clock ms behind", behind),
            &live,
            at(-behind),
            &g,
            &presented(G),
            want,
        );
    }
    c.finish();
}

#[test]
fn sliding_window_never_extends_past_the_absolute_expiry() {
    let mut c = Checker::default();
    let live = live(ReuseReaction::RevokeGrant);
    for rotate in [true, false] {
        let mut g = grant();
        g.rotate = rotate;
        g.expires_at = Some(NOW);
        g.sliding = Some(Dur(7 * DAY));
        g.last_used_at = at(-1); // the sliding window would run for 7 more days
        c.check(
            &("at absolute", rotate),
            &live,
            NOW,
            &g,
            &presented(G),
            Decision::Reject(Rejection::Expired),
        );
        let want = if rotate {
            Decision::Rotate { from: G }
        } else {
            Decision::Reuse { touch: false }
        };
        c.check(
            &("1 ms before", rotate),
            &live,
            at(-1),
            &g,
            &presented(G),
            want,
        );
    }
    c.finish();
}

#[test]
fn reuse_grants_touch_once_one_percent_of_sliding_has_passed_capped_at_60s() {
    // (sliding window, ms since last_used_at, touch due)
    let rows: [(Option<i64>, i64, bool); 19] = [
        (Some(7 * DAY), 0, false),
        (Some(7 * DAY), MIN - 1, false),
        (Some(7 * DAY), MIN, true), // 1% is 100.8 min: the 60 s cap applies
        (Some(100 * MIN), MIN - 1, false),
        (Some(100 * MIN), MIN, true), // 1% is exactly 60 s
        (Some(200 * MIN), MIN, true), // 1% is 120 s: capped at 60 s
        (Some(HOUR), 36 * SEC - 1, false),
        (Some(HOUR), 36 * SEC, true), // 1% of 1 h
        (Some(100 * SEC), 999, false),
        (Some(100 * SEC), SEC, true),
        (Some(150), 0, false), // 1% is 1 ms
        (Some(150), 1, true),
        (Some(50), 0, true), // 1% rounds to 0 ms: every refresh writes
        (None, 0, false),
        (None, MIN - 1, false), // sliding off: the cap, 60 s
        (None, MIN, true),
        (None, 10 * DAY, true),
        (Some(7 * DAY), -SEC, false), // this clock reads before the last write
        (None, -SEC, false),
    ];
    let live = live(ReuseReaction::RevokeGrant);
    let mut c = Checker::default();
    for (sliding, ago, due) in rows {
        let mut g = grant();
        g.rotate = false;
        g.expires_at = None;
        g.sliding = sliding.map(Dur);
        g.last_used_at = at(-ago);
        assert_eq!(
            touch_due(&g, NOW),
            due,
            "touch_due: sliding {sliding:?}, {ago} ms ago"
        );
        // The sliding window must still be open for `decide` to answer at all.
        if sliding.is_none_or(|s| ago < s) {
            let label = ("decide", sliding, ago);
            c.check(
                &label,
                &live,
                NOW,
                &g,
                &presented(G),
                Decision::Reuse { touch: due },
            );
        }
    }
    c.finish();
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Fault {
    WrongClient,
    FutureGeneration,
    Reused,
    Revoked,
    Expired,
    SessionEnded,
    UserInactive,
    NotAllowed,
}

/// SPEC precedence, strongest first.
const PRECEDENCE: [Fault; 8] = [
    Fault::WrongClient,
    Fault::FutureGeneration,
    Fault::Reused,
    Fault::Revoked,
    Fault::Expired,
    Fault::SessionEnded,
    Fault::UserInactive,
    Fault::NotAllowed,
];

#[test]
fn precedence_mismatch_future_reuse_revoked_expired_session_user_allowed() {
    let mut c = Checker::default();
    for reaction in REACTIONS {
        for bits in 0..(1u16 << PRECEDENCE.len()) {
            let faults: Vec<Fault> = (0..PRECEDENCE.len())
                .filter(|i| bits & (1 << i) != 0)
                .map(|i| PRECEDENCE[i])
                .collect();
            // One token cannot name both a future and a past generation.
            if faults.contains(&Fault::FutureGeneration) && faults.contains(&Fault::Reused) {
                continue;
            }
            let mut g = grant();
            g.online = true;
            let mut p = presented(G);
            for f in &faults {
                match f {
                    Fault::WrongClient => p.client_id = OTHER_CLIENT,
                    Fault::FutureGeneration => p.generation = G + 1,
                    Fault::Reused => p.generation = G - 2,
                    Fault::Revoked => g.status = revoked(),
                    Fault::Expired => g.last_used_at = at(-8 * DAY),
                    Fault::SessionEnded => p.session_live = false,
                    Fault::UserInactive => p.user_active = false,
                    Fault::NotAllowed => p.client_allows = false,
                }
            }
            let want = match faults.first() {
                None => Decision::Rotate { from: G },
                Some(Fault::WrongClient) => Decision::Reject(Rejection::ClientMismatch),
                Some(Fault::FutureGeneration) => Decision::Reject(Rejection::FutureGeneration),
                // A dead grant's replay is recorded, and revokes nothing new.
                Some(Fault::Reused) => {
                    let dead = faults.contains(&Fault::Revoked) || faults.contains(&Fault::Expired);
                    reused_as(G - 2, G, reaction, !dead)
                }
                Some(Fault::Revoked) => Decision::Reject(Rejection::Revoked),
                Some(Fault::Expired) => Decision::Reject(Rejection::Expired),
                Some(Fault::SessionEnded) => Decision::Reject(Rejection::SessionEnded),
                Some(Fault::UserInactive) => Decision::Reject(Rejection::UserInactive),
                Some(Fault::NotAllowed) => Decision::Reject(Rejection::NoLongerAllowed),
            };
            c.check(&(&faults, reaction), &live(reaction), NOW, &g, &p, want);
        }
    }
    assert_eq!(c.checked, 4 * (256 - 64));
    c.finish();
}

#[test]
fn client_mismatch_wins_over_everything_and_reports_nothing_of_the_grant() {
    let mut c = Checker::default();
    for reaction in REACTIONS {
        let live = live(reaction);
        let mut g = grant();
        g.status = revoked();
        g.expires_at = Some(at(-DAY));
        g.online = true;
        for generation in [1, G - 2, G - 1, G, G + 1, u64::MAX] {
            let p = Presented {
                client_id: OTHER_CLIENT,
                generation,
                user_active: false,
                session_live: false,
                client_allows: false,
                client_public: true,
                proof_jkt: None,
                concurrent: true,
            };
            let want = Decision::Reject(Rejection::ClientMismatch);
            c.check(&(generation, reaction), &live, NOW, &g, &p, want);
        }
    }
    c.finish();
}

#[test]
fn user_inactive_matters_only_with_check_user_active() {
    let mut c = Checker::default();
    let mut p = presented(G);
    p.user_active = false;
    let on = live(ReuseReaction::RevokeGrant);
    let off = LivePolicy {
        check_user_active: false,
        ..on
    };
    let g = grant();
    c.check(
        &"check on",
        &on,
        NOW,
        &g,
        &p,
        Decision::Reject(Rejection::UserInactive),
    );
    c.check(
        &"check off",
        &off,
        NOW,
        &g,
        &p,
        Decision::Rotate { from: G },
    );
    c.finish();
}

#[test]
fn an_ended_session_kills_online_grants_only() {
    let mut c = Checker::default();
    let live = live(ReuseReaction::RevokeGrant);
    let mut p = presented(G);
    p.session_live = false;
    let mut g = grant();
    c.check(
        &"offline grant",
        &live,
        NOW,
        &g,
        &p,
        Decision::Rotate { from: G },
    );
    g.online = true;
    c.check(
        &"online grant",
        &live,
        NOW,
        &g,
        &p,
        Decision::Reject(Rejection::SessionEnded),
    );
    c.finish();
}

// ---------------------------------------------------------------------------------
// Descriptions (SPEC §2.6: says which, leaks nothing else).
// ---------------------------------------------------------------------------------

fn every_rejection() -> Vec<Rejection> {
    let mut all = vec![
        Rejection::ClientMismatch,
        Rejection::KeyMismatch,
        Rejection::FutureGeneration,
    ];
    all.extend(REACTIONS.map(|reaction| Rejection::Reused {
        presented: 4_041,
        current: 9_092,
        reaction,
        applied: true,
    }));
    all.extend([
        Rejection::Revoked,
        Rejection::Expired,
        Rejection::SessionEnded,
        Rejection::UserInactive,
        Rejection::NoLongerAllowed,
    ]);
    all
}

#[test]
fn descriptions_say_which_and_nothing_else() {
    const WORDS: [&str; 4] = ["expired", "revoked", "reused", "inactive"];
    // (kind, the words of WORDS it must say and no others, further words it must say)
    let expected: [(Rejection, &[&str], &[&str]); 9] = [
        (Rejection::ClientMismatch, &[], &["client"]),
        (Rejection::KeyMismatch, &[], &["dpop", "proof"]),
        (Rejection::FutureGeneration, &[], &["invalid"]),
        (
            Rejection::Reused {
                presented: 1,
                current: 2,
                reaction: ReuseReaction::LogOnly,
                applied: true,
            },
            &["reused"],
            &[],
        ),
        (Rejection::Revoked, &["revoked"], &[]),
        (Rejection::Expired, &["expired"], &[]),
        (Rejection::SessionEnded, &["revoked"], &["session"]),
        (Rejection::UserInactive, &["inactive"], &["user"]),
        (Rejection::NoLongerAllowed, &[], &["client", "allowed"]),
    ];
    for (r, says, also) in expected {
        let d = r.description().to_lowercase();
        let found: Vec<&str> = WORDS.into_iter().filter(|w| d.contains(w)).collect();
        assert_eq!(found, says, "{r:?}: {d:?}");
        for w in also {
            assert!(d.contains(w), "{r:?} should mention {w:?}: {d:?}");
        }
    }

    let all = every_rejection();
    for r in &all {
        let d = r.description();
        assert!(!d.is_empty(), "{r:?}");
        assert!(
            !d.chars().any(|ch| ch.is_ascii_digit()),
            "{r:?} shows a number: {d:?}"
        );
        // The reaction is the server's business, not the caller's.
        for reaction in REACTIONS {
            assert!(
                !d.contains(reaction.as_str()),
                "{r:?} names its reaction: {d:?}"
            );
        }
        for other in &all {
            let same_kind = std::mem::discriminant(r) == std::mem::discriminant(other);
            assert_eq!(d == other.description(), same_kind, "{r:?} vs {other:?}");
        }
    }
}

#[test]
fn descriptions_never_contain_anything_of_the_grant() {
    let mut g = grant();
    g.status = revoked();
    let p = presented(G);
    for r in every_rejection() {
        assert_eq!(leak(r, &g, &p), None, "{r:?}: {:?}", r.description());
    }
    // A kind's description is one constant, whatever the grant and the generations.
    let a = Rejection::Reused {
        presented: 1,
        current: 2,
        reaction: ReuseReaction::RevokeGrant,
        applied: true,
    };
    let b = Rejection::Reused {
        presented: u64::MAX - 1,
        current: u64::MAX,
        reaction: ReuseReaction::LogOnly,
        applied: false,
    };
    assert_eq!(a.description(), b.description());
}

#[test]
fn a_key_bound_grant_answers_only_proofs_of_its_key_and_never_counts_them_as_reuse() {
    let live = live(ReuseReaction::RevokeGrant);
    let mut c = Checker::default();
    let mut g = grant();
    g.dpop_jkt = Some(JKT.to_string());
    let with = |generation, key| Presented {
        proof_jkt: key,
        ..presented_public(generation)
    };
    c.check(
        &"proof of the key",
        &live,
        NOW,
        &g,
        &with(G, Some(JKT)),
        Decision::Rotate { from: G },
    );
    advance(&mut g, NOW);
    // The previous token, within the grace period: a retry only with the key.
    let soon = NOW.plus(Dur(SEC));
    c.check(
        &"retry with the key",
        &live,
        soon,
        &g,
        &with(G, Some(JKT)),
        Decision::GraceReplay { current: G + 1 },
    );
    c.check(
        &"retry without a proof",
        &live,
        soon,
        &g,
        &with(G, None),
        Decision::Reject(Rejection::KeyMismatch),
    );
    // Long after: a stolen rotated token without the key is refused and revokes nothing;
    // the key's holder presenting it is reuse.
    let later = NOW.plus(Dur(HOUR));
    for key in [None, Some(OTHER_JKT)] {
        c.check(
            &("stolen, old", key),
            &live,
            later,
            &g,
            &with(G, key),
            Decision::Reject(Rejection::KeyMismatch),
        );
        c.check(
            &("stolen, current", key),
            &live,
            later,
            &g,
            &with(G + 1, key),
            Decision::Reject(Rejection::KeyMismatch),
        );
    }
    c.check(
        &"old, with the key",
        &live,
        later,
        &g,
        &with(G, Some(JKT)),
        reused(G, G + 1, ReuseReaction::RevokeGrant),
    );
    c.finish();
}
