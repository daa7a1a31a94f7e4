//! THE refresh-token state machine (SPEC §2.3–§2.7).
//!
//! `decide` looks at a grant, what was presented and the time, and says what must
//! happen. It performs no I/O: the service layer applies the decision (a compare-and-swap
//! on the grant's generation, a touch, a revocation) and reports the outcome.
//!
//! Decisions are made on the generation counter, never on timestamps, except the grace
//! window itself: two rotations within one millisecond are still told apart.
//!
//! Concurrent refreshes of one token are never reuse, whatever the grace period: a
//! request concurrent with the rotation from g to g+1 (`Presented::concurrent`: it
//! arrived before that rotation committed, or lost the compare-and-swap to it)
//! presenting g is answered the winner's successor like a grace retry.

use crate::model::Grant;
use crate::policy::ReuseReaction;
use crate::time::{Dur, Timestamp};

/// What the caller presented, and what the service knows about the world around it.
#[derive(Clone, Debug)]
pub struct Presented<'a> {
    /// The authenticated client making the request.
    pub client_id: &'a str,
    /// The generation the presented (MAC-verified) token names.
    pub generation: u64,
    /// The grant's user exists and is active.
    pub user_active: bool,
    /// The session the grant is bound to is still live (only consulted for
    /// `online_access` grants).
    pub session_live: bool,
    /// The client still allows the `refresh_token` grant and every scope of the grant.
    pub client_allows: bool,
    /// The client is public (`token_endpoint_auth_method = "none"`) now: its grants
    /// rotate whatever they were created with, and need `allow_public_clients`.
    pub client_public: bool,
    /// The thumbprint of the DPoP key the request proved possession of, if it carried
    /// a valid proof.
    pub proof_jkt: Option<&'a str>,
    /// This request was concurrent with the rotation from `generation` to
    /// `generation + 1`: it arrived before that rotation committed, or it read
    /// `generation` as current and then lost the compare-and-swap to it.
    pub concurrent: bool,
}

/// Settings that apply at once rather than being fixed at grant creation (SPEC §2.9:
/// revocation-related settings).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LivePolicy {
    pub reuse_reaction: ReuseReaction,
    pub check_user_active: bool,
    /// Public clients may hold refresh tokens; re-checked on every refresh.
    pub allow_public_clients: bool,
    /// A grant must carry `offline_access` or `online_access`; re-checked on every
    /// refresh.
    pub require_offline_access: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Current generation of a rotating grant: advance `from` → `from + 1` (compare-
    /// and-swap) and answer with the successor token.
    Rotate {
        from: u64,
    },
    /// Current generation of a `reuse` grant: answer with the same token; write
    /// `last_used_at` only when `touch` (bounded write amplification, see `touch_due`).
    Reuse {
        touch: bool,
    },
    /// Generation g−1 within the grace period: answer with the existing generation-g
    /// token, byte for byte, and a fresh access token. Nothing is written.
    GraceReplay {
        current: u64,
    },
    Reject(Rejection),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Presented by a client other than the grant's: nothing of the grant changes.
    ClientMismatch,
    /// The grant is bound to a DPoP key and the request did not prove possession of
    /// it (no proof, or another key): nothing changes, and it is not reuse: without
    /// the key the token is useless, whoever holds it.
    KeyMismatch,
    /// A generation the grant never reached: the token was forged with a leaked key
    /// or the store was rolled back. Nothing changes.
    FutureGeneration,
    /// A rotated token outside the grace window: reuse. Apply `reaction` when
    /// `applied`; a replay against a grant that is already dead (revoked, or expired)
    /// is recorded but revokes nothing new (`applied = false`).
    Reused {
        presented: u64,
        current: u64,
        reaction: ReuseReaction,
        applied: bool,
    },
    Revoked,
    Expired,
    /// An `online_access` grant whose session has ended.
    SessionEnded,
    UserInactive,
    /// The client no longer allows the refresh grant or a scope of the grant.
    NoLongerAllowed,
}

impl Rejection {
    /// The `error_description` for `invalid_grant`: says which, leaks nothing else.
    pub fn description(self) -> &'static str {
        match self {
            Rejection::ClientMismatch => "the refresh token was not issued to this client",
            Rejection::KeyMismatch => {
                "the refresh token is bound to a DPoP key: the request must carry a proof of that key"
            }
            Rejection::FutureGeneration => "the refresh token is invalid",
            Rejection::Reused { .. } => {
                "the refresh token was reused: it had already been exchanged"
            }
            Rejection::Revoked => "the refresh token has been revoked",
            Rejection::Expired => "the refresh token has expired",
            Rejection::SessionEnded => "the refresh token has been revoked: its session ended",
            Rejection::UserInactive => "the user is inactive",
            Rejection::NoLongerAllowed => {
                "the client is no longer allowed the refresh_token grant or a scope of this grant"
            }
        }
    }
}

/// Whether a `reuse` refresh should write `last_used_at`: once the previous write is
/// older than 1% of the sliding window (capped at 60 s), so that a client refreshing
/// hundreds of times a second costs no write each time, and a sliding expiry is off by
/// at most 1%.
pub fn touch_due(grant: &Grant, now: Timestamp) -> bool {
    let cap = Dur::secs(60);
    let step = grant
        .sliding
        .map_or(cap, |s| Dur(s.millis() / 100).min(cap));
    now.since(grant.last_used_at) >= step
}

/// Whether the grant rotates now: as created, or because its client is public now
/// (public clients always rotate, also when they became public after the grant).
pub fn rotates(grant: &Grant, p: &Presented<'_>) -> bool {
    grant.rotate || p.client_public
}

pub fn decide(live: &LivePolicy, now: Timestamp, grant: &Grant, p: &Presented<'_>) -> Decision {
    use Rejection::*;
    // SPEC §2.7: a token presented by another client changes nothing of the grant.
    if p.client_id != grant.client_id {
        return Decision::Reject(ClientMismatch);
    }
    // RFC 9449 §5: a key-bound grant answers only a proof of its key. Checked before
    // reuse detection: a stolen rotated token without the key revokes nothing.
    if let Some(bound) = &grant.dpop_jkt {
        if p.proof_jkt != Some(bound.as_str()) {
            return Decision::Reject(KeyMismatch);
        }
    }
    if p.generation > grant.generation {
        return Decision::Reject(FutureGeneration);
    }
    let rotate = rotates(grant, p);
    // A clock behind the one that rotated (another node, an NTP step) reads a negative
    // elapsed time: count it as zero, so that `grace_period = 0` never replays on time.
    let elapsed = now.since(grant.generation_started_at).max(Dur::ZERO);
    // g−1 is a retry inside the grace period, or a request concurrent with the rotation
    // to g. Concurrency is never reuse, also at `grace_period = 0`.
    let in_grace = rotate
        && p.generation.checked_add(1) == Some(grant.generation)
        && (p.concurrent || elapsed < grant.grace);
    let expired = grant.expiry().is_some_and(|e| now >= e);
    // SPEC §2.5 / RFC 9700 §4.14.2: a rotated token presented again is reuse, and is
    // recorded even when the grant is already revoked or expired (SPEC §2.8); but the
    // reaction applies only to a live grant, so that a replay of a dead grant's token
    // never revokes anything new.
    if p.generation < grant.generation && !in_grace {
        return Decision::Reject(Reused {
            presented: p.generation,
            current: grant.generation,
            reaction: live.reuse_reaction,
            applied: grant.is_active() && !expired,
        });
    }
    if !grant.is_active() {
        return Decision::Reject(Revoked);
    }
    if expired {
        return Decision::Reject(Expired);
    }
    if grant.online && !p.session_live {
        return Decision::Reject(SessionEnded);
    }
    if live.check_user_active && !p.user_active {
        return Decision::Reject(UserInactive);
    }
    // What decided whether a grant was created is checked again on every refresh: the
    // client's allowances, public clients, and the offline/online scope.
    let refreshable_scope =
        grant.scope.contains("offline_access") || grant.scope.contains("online_access");
    if !p.client_allows
        || (p.client_public && !live.allow_public_clients)
        || (live.require_offline_access && !refreshable_scope)
    {
        return Decision::Reject(NoLongerAllowed);
    }
    if in_grace {
        return Decision::GraceReplay {
            current: grant.generation,
        };
    }
    if rotate {
        Decision::Rotate {
            from: grant.generation,
        }
    } else {
        Decision::Reuse {
            touch: touch_due(grant, now),
        }
    }
}

#[cfg(test)]
mod tests;
