//! A grant's timeline: what happened to it, in order, read from its row and its events
//! (the console's grant page). Pure: the caller reads the grant and the events.
//!
//! Rotations are not events (a refresh writes nothing beyond its compare-and-swap), so
//! they come from the row: the generation (every rotation advanced it by one), when the
//! current generation began, and when the grant was last used. Grace replays write
//! nothing either; the rotation entry says until when a retry of the previous token was
//! accepted. Everything else is an event naming the grant: `grant.created` (how, in
//! which session, with which scope), `token.reuse_detected` (the generations and the
//! reaction taken), `token.client_mismatch`, `dpop.proof_refused`, `grant.revoked` (the
//! reason) and `grant.expired` (the cleanup job removed it).

use baton_core::events::EventKind;
use baton_core::model::{Event, Grant, GrantStatus};
use baton_core::time::{Dur, Timestamp};
use serde_json::Value;

/// One thing that happened to a grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub time: Timestamp,
    pub what: What,
    /// The event this entry was read from; `None` for what the grant's row says.
    pub event_id: Option<String>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// The grant was made: by which grant type, in which browser session, holding what.
    Created {
        /// `authorization_code`, `password`; `None` for grants made before it was
        /// recorded.
        grant_type: Option<String>,
        session_id: Option<String>,
        scope: String,
        resources: Vec<String>,
        /// Refresh tokens rotate at every use (`one_time`), or are reused.
        rotate: bool,
        persist: bool,
        online: bool,
        dpop_bound: bool,
    },
    /// The grant's rotations, from its row: it is at `generation` (each rotation
    /// advanced it by one) since the entry's time. A retry with the previous token was
    /// answered, without a write, until `grace_until`.
    Rotated {
        generation: u64,
        rotations: u64,
        grace_until: Option<Timestamp>,
    },
    /// The last refresh, from the row (when it is later than the last rotation).
    LastUsed,
    /// A superseded refresh token was presented: the generations, the reaction and
    /// whether it was applied (not to a grant already dead) or completed a reaction
    /// cut short earlier.
    ReuseDetected {
        presented: Option<u64>,
        current: Option<u64>,
        reaction: String,
        applied: bool,
        completed: bool,
    },
    /// The grant's refresh token was presented by another client.
    ClientMismatch { presented_by: Option<String> },
    /// A DPoP proof was refused on a request with the grant's token.
    DpopRefused { reason: Option<String> },
    /// Revoked, for `reason` (see [`reason_text`]).
    Revoked { reason: String },
    /// Past its expiry (absolute or sliding): from the row while it is still stored,
    /// or the cleanup job's `grant.expired` (`removed`).
    Expired {
        lifetime: Option<String>,
        removed: bool,
    },
    /// Still active: the time it expires unless used (sliding) or at the latest.
    Expires,
    /// Another event naming the grant, by its type.
    Other { kind: String },
}

impl What {
    /// Whether the entry is a reuse detection (the console highlights them).
    pub fn is_reuse(&self) -> bool {
        matches!(self, What::ReuseDetected { .. })
    }

    /// Orders entries of the same millisecond: a reuse detection commits with the
    /// revocation it causes, and is shown first.
    fn rank(&self) -> u8 {
        match self {
            What::Created { .. } => 0,
            What::Rotated { .. } | What::LastUsed => 1,
            What::ReuseDetected { .. }
            | What::ClientMismatch { .. }
            | What::DpopRefused { .. }
            | What::Other { .. } => 2,
            What::Revoked { .. } => 3,
            What::Expired { .. } => 4,
            What::Expires => 5,
        }
    }
}

/// Why a grant was revoked, for people: the revocation reasons the server records.
pub fn reason_text(reason: &str) -> String {
    let known = match reason {
        "admin" => "by an administrator (admin API, CLI or console)",
        "revoked_by_user" => "by the user, on their account page",
        "revoked_by_client" => "by the client, at the revocation endpoint",
        "reuse_detected" => "because a superseded refresh token was presented (reuse)",
        "authorization_code_reused" => "because its authorization code was used twice",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    match reason.strip_prefix("session_ended:") {
        Some(why) => format!("when its browser session ended ({why})"),
        None => format!("reason `{reason}`"),
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// What one event of the grant says.
fn from_event(e: &Event) -> What {
    let d = &e.details;
    match e.kind.parse::<EventKind>() {
        Ok(EventKind::GrantCreated) => What::Created {
            grant_type: text(d, "grant_type"),
            session_id: text(d, "session_id"),
            scope: text(d, "scope").unwrap_or_default(),
            resources: d
                .get("resources")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            rotate: flag(d, "rotate"),
            persist: flag(d, "persist"),
            online: flag(d, "online"),
            dpop_bound: flag(d, "dpop_bound"),
        },
        Ok(EventKind::TokenReuseDetected) => What::ReuseDetected {
            presented: d.get("generation_presented").and_then(Value::as_u64),
            current: d.get("generation_current").and_then(Value::as_u64),
            reaction: text(d, "reaction").unwrap_or_default(),
            applied: flag(d, "reaction_applied"),
            completed: flag(d, "reaction_completed"),
        },
        Ok(EventKind::TokenClientMismatch) => What::ClientMismatch {
            presented_by: text(d, "presented_by"),
        },
        Ok(EventKind::DpopProofRefused) => What::DpopRefused {
            reason: text(d, "reason"),
        },
        Ok(EventKind::GrantRevoked) => What::Revoked {
            reason: text(d, "reason").unwrap_or_default(),
        },
        Ok(EventKind::GrantExpired) => What::Expired {
            lifetime: text(d, "lifetime"),
            removed: true,
        },
        _ => What::Other {
            kind: e.kind.clone(),
        },
    }
}

/// The grant's timeline, oldest first. `grant` is its row (`None` once the cleanup job
/// removed it: then the events alone tell); `events` are the events naming it, in any
/// order. What the row says is added where no event says it: its creation and its
/// revocation (events past `cleanup.retain_events` are gone), its rotations, last use
/// and expiry.
pub fn build(grant: Option<&Grant>, events: &[Event], now: Timestamp) -> Vec<Entry> {
    let mut out: Vec<Entry> = events
        .iter()
        .map(|e| Entry {
            time: e.time,
            what: from_event(e),
            event_id: Some(e.id.clone()),
        })
        .collect();
    if let Some(g) = grant {
        from_row(g, now, &mut out);
    }
    // Stable: entries of one millisecond keep their kind's order, then the events'.
    out.sort_by(|a, b| {
        (a.time, a.what.rank(), &a.event_id).cmp(&(b.time, b.what.rank(), &b.event_id))
    });
    out
}

fn from_row(g: &Grant, now: Timestamp, out: &mut Vec<Entry>) {
    let row = |time: Timestamp, what: What| Entry {
        time,
        what,
        event_id: None,
    };
    let has = |out: &[Entry], f: fn(&What) -> bool| out.iter().any(|e| f(&e.what));
    if !has(out, |w| matches!(w, What::Created { .. })) {
        out.push(row(
            g.created_at,
            What::Created {
                grant_type: None,
                session_id: g.session_id.clone(),
                scope: g.scope.to_string(),
                resources: g.resources.clone(),
                rotate: g.rotate,
                persist: g.persist,
                online: g.online,
                dpop_bound: g.dpop_jkt.is_some(),
            },
        ));
    }
    if g.generation > 1 {
        out.push(row(
            g.generation_started_at,
            What::Rotated {
                generation: g.generation,
                rotations: g.generation - 1,
                grace_until: (g.grace > Dur(0)).then(|| g.generation_started_at.plus(g.grace)),
            },
        ));
    }
    if g.last_used_at > g.generation_started_at.max(g.created_at) {
        out.push(row(g.last_used_at, What::LastUsed));
    }
    match &g.status {
        GrantStatus::Revoked { at, reason } => {
            if !has(out, |w| matches!(w, What::Revoked { .. })) {
                out.push(row(
                    *at,
                    What::Revoked {
                        reason: reason.clone(),
                    },
                ));
            }
        }
        GrantStatus::Active => match g.expiry() {
            Some(at) if at <= now => out.push(row(
                at,
                What::Expired {
                    lifetime: Some(expired_by(g, at).into()),
                    removed: false,
                },
            )),
            Some(at) => out.push(row(at, What::Expires)),
            None => {}
        },
    }
}

/// Which lifetime ran out at `at`.
fn expired_by(g: &Grant, at: Timestamp) -> &'static str {
    if g.expires_at == Some(at) {
        "absolute"
    } else {
        "sliding"
    }
}

#[cfg(test)]
mod tests;
