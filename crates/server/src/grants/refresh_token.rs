//! The refresh_token grant (RFC 6749 §6, SPEC §2): the hot path.
//!
//! Read the grant, `decide`, apply: a compare-and-swap for a rotation, nothing for a
//! grace replay, a touch for reuse, a revocation and its event for reuse detection.
//! A CAS loser re-reads and decides again as a request concurrent with the winner; so
//! does a request that arrived before the winner committed but read the grant after
//! (`commits`). Both land in the grace path and answer the winner's token whatever the
//! grace period: concurrent refreshes never fork the chain and never count as reuse.

mod commits;

use super::{event, issue_user_tokens, log_event, revoke_everywhere, Answer, UserTokens};
use super::{GrantError, GrantResult};
use crate::caller::Caller;
use crate::dpop;
use crate::metrics::Outcome;
use crate::state::{AppState, Shared};
use baton_core::claims::ClaimSource;
use baton_core::error::{OAuthError, StoreError};
use baton_core::events::EventKind;
use baton_core::model::{Client, Grant, GrantStatus, GrantType, Resource, User};
use baton_core::policy::{RefreshSettings, ReuseReaction};
use baton_core::refresh::{decide, Decision, LivePolicy, Presented, Rejection};
use baton_core::scope::Scope;
use baton_core::store::{EventQuery, GrantFilter, Revocation};
use baton_core::time::Timestamp;
use baton_core::token::RefreshClaims;
use baton_proto::oauth::TokenResponse;
use std::time::Instant;

/// A refresh request (RFC 6749 §6).
#[derive(Clone, Copy)]
pub struct RefreshRequest<'a> {
    /// The refresh token as presented.
    pub refresh_token: &'a str,
    /// Its claims, if its MAC held (opened once, where the request is read).
    pub claims: Option<RefreshClaims>,
    /// A narrower scope, if asked for (SPEC §2.7).
    pub scope: Option<&'a str>,
    /// The thumbprint of the DPoP key the request proved, if it carried a proof.
    pub dpop_jkt: Option<&'a str>,
    /// RFC 8707 `resource` values: at most one, one of the grant's resources.
    pub resources: &'a [&'a str],
    /// The grant and its user as read with the client, if they were.
    pub prefetched: Option<&'a Prefetched>,
}

/// A grant of the main store and its user, read together with the client that
/// presented the refresh token ([`baton_core::store::RecordsStore`]).
pub struct Prefetched {
    pub grant: Grant,
    pub user: Option<User>,
}

// Deliberately no `Debug`: the request holds a refresh token.

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid")
}

/// A refused refresh, and the outcome it counts as when the decision refused it.
struct Refused {
    err: GrantError,
    rejected: Option<Outcome>,
}

impl From<GrantError> for Refused {
    fn from(err: GrantError) -> Self {
        Refused {
            err,
            rejected: None,
        }
    }
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Self {
        GrantError::from(e).into()
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        GrantError::from(e).into()
    }
}

/// `client` is the authenticated client; `arrival` is when the request arrived, to
/// tell whether it was concurrent with a rotation.
pub async fn grant(
    st: &Shared,
    client: &Client,
    req: &RefreshRequest<'_>,
    caller: &Caller,
    arrival: Instant,
) -> Answer {
    match run(st, client, req, caller, arrival).await {
        Ok((response, outcome)) => Answer {
            result: Ok(response),
            outcome,
        },
        Err(Refused { err, rejected }) => {
            let outcome = if err.is_server_side() {
                // A store failure while recording a rejection is an error, not the
                // rejection.
                Outcome::Error
            } else {
                // The rejection the decision made; a later failure (a scope the grant
                // does not hold, say) after a good decision is `invalid`, never
                // `rotated`.
                rejected.unwrap_or(Outcome::Invalid)
            };
            Answer {
                result: Err(err),
                outcome,
            }
        }
    }
}

async fn run(
    st: &Shared,
    client: &Client,
    req: &RefreshRequest<'_>,
    caller: &Caller,
    arrival: Instant,
) -> Result<(TokenResponse, Outcome), Refused> {
    let raw = req.refresh_token;
    // A token this server did not seal (or that was altered) changes nothing and
    // records nothing: no event storm from junk.
    let claims = req.claims.ok_or_else(invalid)?;
    let requested = req.scope;
    let now = st.clock.now();
    let store = st.grants(claims.persist());
    let pre = req
        .prefetched
        .filter(|p| claims.persist() && p.grant.id == claims.grant_id);
    let (mut grant, known_user) = match pre {
        Some(p) => (p.grant.clone(), Some(p.user.clone())),
        None => (
            store
                .get_grant(claims.grant_id)
                .await?
                .ok_or_else(invalid)?,
            None,
        ),
    };

    // Facts about the world the decision needs; read once.
    let facts = Facts::read_with(st, &mut grant, now, known_user).await?;
    let user = facts.user;
    let session_live = facts.session_live;
    let live = live_policy(&st.refresh_settings(client));
    let mut lost_race = false;

    for _ in 0..4 {
        let client_allows = client_allows(client, &grant);
        let presented = Presented {
            client_id: &client.client_id,
            generation: claims.generation,
            user_active: user.as_ref().is_some_and(|u| u.active),
            session_live,
            client_allows,
            client_public: client.is_public(),
            proof_jkt: req.dpop_jkt,
            concurrent: lost_race
                || (claims.generation.checked_add(1) == Some(grant.generation)
                    && commits::arrived_before(grant.id, claims.generation, arrival)),
        };
        let decision = decide(&live, now, &grant, &presented);
        // Scope narrowing (SPEC §2.7) is checked once the token is known good, so that
        // a bad scope never masks reuse detection, and before anything is written, so
        // that a refused request leaves the grant untouched (no lost rotation).
        let token_gen = match decision {
            Decision::Reject(r) => {
                let rejected = match r {
                    Rejection::Reused { .. } => Outcome::ReuseDetected,
                    Rejection::Expired => Outcome::Expired,
                    Rejection::Revoked | Rejection::SessionEnded => Outcome::Revoked,
                    _ => Outcome::Invalid,
                };
                let proved = req.dpop_jkt.is_some();
                // A reuse reaction revokes and then ends a session: in a task of its
                // own, so that a client that disconnects never leaves it half-applied.
                let (st, client, grant, caller) =
                    (st.clone(), client.clone(), grant.clone(), caller.clone());
                let err = crate::tasks::awaited(async move {
                    reject(&st, &client, &grant, proved, r, &caller, now).await
                })
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "refresh rejection failed");
                    OAuthError::server_error().into()
                });
                return Err(Refused {
                    err,
                    rejected: Some(rejected),
                });
            }
            Decision::Rotate { from } => from + 1,
            Decision::Reuse { .. } => claims.generation,
            Decision::GraceReplay { current } => current,
        };
        // The request's own asks, checked like scope narrowing: after the decision, so
        // they never mask reuse detection, and before anything is written (the key
        // binding below included), so that a refusal leaves the grant untouched and the
        // presented token usable (RFC 8707 `invalid_target` burns nothing).
        let scope = narrowed_scope(&grant, requested)?;
        let resource =
            crate::resources::target(st, client, req.resources, Some(&grant.resources)).await?;
        // RFC 9449 §5: a public client's grant refreshed with a proof is bound to that
        // key from then on (one created with a proof already is). Bound before anything
        // is minted: if another request bound it first, decide again on what is stored.
        if let (true, None, Some(jkt)) = (client.is_public(), &grant.dpop_jkt, req.dpop_jkt) {
            if !store.bind_key(grant.id, jkt).await? {
                grant = store
                    .get_grant(claims.grant_id)
                    .await?
                    .ok_or_else(invalid)?;
                continue;
            }
            grant.dpop_jkt = Some(jkt.to_string());
        }
        let outcome = match decision {
            Decision::Rotate { .. } => Outcome::Rotated,
            Decision::GraceReplay { .. } => Outcome::GraceReplay,
            _ => Outcome::Issued,
        };
        // A deleted user has no claims to issue, whatever check_user_active says.
        let Some(user) = user.as_ref() else {
            return Err(OAuthError::invalid_grant(Rejection::UserInactive.description()).into());
        };
        // Mint before writing: signing (or storing a reference token) can fail, and it
        // must fail before a rotation commits, never after (the client would not have
        // the successor, and its retry would later count as reuse).
        let response = respond(
            st,
            &Minted {
                client,
                grant: &grant,
                user,
                scope: &scope,
                resource: resource.as_ref(),
                dpop_jkt: req.dpop_jkt,
            },
            claims,
            token_gen,
            now,
            raw,
        )
        .await?;
        let won = match decision {
            Decision::Rotate { from } => {
                let attempt = commits::begin(grant.id, from);
                let won = store.advance(grant.id, from, now).await;
                attempt.end(matches!(won, Ok(true)));
                won?
            }
            Decision::Reuse { touch: true } => {
                store.touch(grant.id, now).await?;
                true
            }
            _ => true,
        };
        if !won {
            // Lost the race (or the grant was revoked meanwhile): decide again on what
            // is stored now, as a request concurrent with the winner; the minted tokens
            // are dropped unsent.
            lost_race = true;
            grant = store
                .get_grant(claims.grant_id)
                .await?
                .ok_or_else(invalid)?;
            continue;
        }
        return Ok((response, outcome));
    }
    // Four lost races in a row means heavy contention on one grant: let the client retry.
    Err(OAuthError::unavailable().into())
}

/// What `decide` needs to know besides the grant and the caller, read once per request.
pub struct Facts {
    pub user: Option<User>,
    /// The session an `online_access` grant is bound to is live (always true otherwise).
    pub session_live: bool,
}

impl Facts {
    /// Also applies the bulk revocations a grant of the cache may have missed
    /// ([`super::apply_revocation_markers`]): `grant` comes back revoked if one covers it.
    pub async fn read(
        st: &AppState,
        grant: &mut Grant,
        now: Timestamp,
    ) -> Result<Facts, StoreError> {
        Self::read_with(st, grant, now, None).await
    }

    /// [`Facts::read`] with the grant's user as already read (`Some(None)`: no such
    /// user), if it was.
    pub async fn read_with(
        st: &AppState,
        grant: &mut Grant,
        now: Timestamp,
        known_user: Option<Option<User>>,
    ) -> Result<Facts, StoreError> {
        super::apply_revocation_markers(st, grant, now).await?;
        let user = match known_user {
            Some(u) => u,
            None => st.store.get_user_by_sub(&grant.subject).await?,
        };
        let session_live = match (&grant.session_id, grant.online) {
            (Some(sid), true) => st
                .store
                .get_session(sid)
                .await?
                .is_some_and(|s| s.is_live(now)),
            _ => true,
        };
        Ok(Facts { user, session_live })
    }
}

/// The settings that apply at once (SPEC §2.9), from a client's effective settings.
pub fn live_policy(settings: &RefreshSettings) -> LivePolicy {
    LivePolicy {
        reuse_reaction: settings.reuse_reaction,
        check_user_active: settings.check_user_active,
        allow_public_clients: settings.allow_public_clients,
        require_offline_access: settings.require_offline_access,
    }
}

/// The client still allows the refresh grant and every scope of the grant.
pub fn client_allows(client: &Client, grant: &Grant) -> bool {
    client.allows(GrantType::RefreshToken)
        && grant
            .scope
            .is_subset(client.scopes.iter().map(String::as_str))
}

fn narrowed_scope(grant: &Grant, requested: Option<&str>) -> Result<Scope, OAuthError> {
    match requested {
        None => Ok(grant.scope.clone()),
        Some(r) => {
            let req = Scope::parse(r).map_err(OAuthError::invalid_scope)?;
            // RFC 6749 §3.3: a scope is one or more tokens. A `scope` parameter that is
            // empty or only spaces asks for nothing: refused, never an empty grant.
            if req.is_empty() {
                return Err(OAuthError::invalid_scope(
                    "the scope parameter is empty: omit it to keep the grant's scope",
                ));
            }
            if !req.is_subset(&grant.scope) {
                return Err(OAuthError::invalid_scope(
                    "a refresh may narrow the scope, never widen it",
                ));
            }
            Ok(req)
        }
    }
}

/// What a successful refresh issues tokens for.
struct Minted<'a> {
    client: &'a Client,
    grant: &'a Grant,
    user: &'a User,
    /// The access token's scope before a resource narrows it.
    scope: &'a Scope,
    resource: Option<&'a Resource>,
    dpop_jkt: Option<&'a str>,
}

async fn respond(
    st: &AppState,
    m: &Minted<'_>,
    claims: RefreshClaims,
    generation: u64,
    now: Timestamp,
    presented: &str,
) -> GrantResult<TokenResponse> {
    let refresh_token = if generation == claims.generation {
        presented.to_string()
    } else {
        st.rt_keys.seal(&RefreshClaims {
            generation,
            ..claims
        })
    };
    let grant = m.grant;
    // update_claims_on_refresh: the user's claims (roles and groups included) as they
    // are now, or as the grant's snapshot kept them.
    let snapshot;
    let source = match (&grant.claims_snapshot, grant.update_claims) {
        (Some(s), false) => {
            snapshot = baton_core::claims::read_snapshot(s);
            ClaimSource {
                claims: &snapshot.0,
                roles: &snapshot.1,
                groups: &snapshot.2,
            }
        }
        _ => ClaimSource::of(m.user),
    };
    let issued = issue_user_tokens(
        st,
        now,
        &UserTokens {
            client: m.client,
            user: m.user,
            scope: m.scope,
            grant_id: Some(grant.id),
            refresh_token: Some(refresh_token),
            session_id: grant.session_id.as_deref(),
            // OIDC Core §12.2: auth_time is that of the original authentication.
            auth_time: grant.auth_time,
            nonce: None,
            claims: source,
            dpop_jkt: m.dpop_jkt,
            resource: m.resource,
        },
    )
    .await?;
    Ok(issued.response)
}

/// Applies a rejection: records what must be recorded (reuse, client mismatch), applies
/// the reuse reaction, and answers `invalid_grant` saying which.
async fn reject(
    st: &AppState,
    client: &Client,
    grant: &Grant,
    proved: bool,
    r: Rejection,
    caller: &Caller,
    now: Timestamp,
) -> GrantError {
    let desc = r.description();
    let res = match r {
        Rejection::ClientMismatch => {
            let ev = event(
                EventKind::TokenClientMismatch,
                now,
                caller,
                Some(&client.client_id),
                Some(&grant.subject),
                Some(grant.id),
                serde_json::json!({"presented_by": client.client_id, "issued_to": grant.client_id}),
            );
            super::record(st, ev).await
        }
        Rejection::Reused {
            presented,
            current,
            reaction,
            applied,
        } => {
            let details = |completed: bool| {
                serde_json::json!({
                    "generation_presented": presented,
                    "generation_current": current,
                    "reaction": reaction.as_str(),
                    // A replay of a dead (revoked or expired) grant's token revokes
                    // nothing new: anyone holding an old token could otherwise keep
                    // revoking the user's new grants.
                    "reaction_applied": applied,
                    // This replay finished a reaction a failure had cut short.
                    "reaction_completed": completed,
                    "grant_status": if grant.is_active() { "active" } else { "revoked" },
                })
            };
            let ev = |completed| {
                event(
                    EventKind::TokenReuseDetected,
                    now,
                    caller,
                    Some(&grant.client_id),
                    Some(&grant.subject),
                    Some(grant.id),
                    details(completed),
                )
            };
            if applied {
                let ev = ev(false);
                log_event(&ev);
                apply_reaction(st, grant, reaction, ev, caller, now).await
            } else {
                match unfinished_session_end(st, grant, reaction, now).await {
                    Ok(Some(sid)) => {
                        complete_session_end(st, &sid, ev, now).await;
                        Ok(())
                    }
                    Ok(None) => super::record(st, ev(false)).await,
                    Err(e) => Err(e),
                }
            }
        }
        Rejection::KeyMismatch => {
            dpop::key_refused(st, proved, now, caller, &client.client_id, Some(grant.id)).await;
            Ok(())
        }
        _ => Ok(()),
    };
    match res {
        // SPEC §3: if recording the reuse (and its revocation) failed, say so: the
        // client retries and the reuse is detected then.
        Err(e) => GrantError::from(e),
        Ok(()) => OAuthError::invalid_grant(desc).into(),
    }
}

/// Applies a reuse reaction to a live grant. The revocation commits the reuse event
/// with it (with the revocation markers for a bulk one, so also for a grant of the
/// cache); a failure before that commit is answered (nothing changed, the client's
/// retry detects the reuse again). Once it committed, a later step's failure is
/// logged, never answered: the answer is the rejection. A session left live by such
/// a failure is ended by the next replay ([`unfinished_session_end`]).
async fn apply_reaction(
    st: &AppState,
    grant: &Grant,
    reaction: ReuseReaction,
    ev: baton_core::model::Event,
    caller: &Caller,
    now: Timestamp,
) -> Result<(), StoreError> {
    let filter = match reaction {
        ReuseReaction::LogOnly => return st.store.insert_events(vec![ev]).await,
        ReuseReaction::RevokeGrant => GrantFilter::Grant(grant.id),
        ReuseReaction::RevokeClientUser | ReuseReaction::RevokeSession => {
            GrantFilter::ClientSubject {
                client_id: grant.client_id.clone(),
                subject: grant.subject.clone(),
            }
        }
    };
    let why = Revocation {
        reason: REUSE.into(),
        now,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        extra_events: vec![ev],
        actor: None,
    };
    revoke_everywhere(st, &filter, &why).await?;
    if reaction == ReuseReaction::RevokeSession {
        if let Some(sid) = &grant.session_id {
            if let Err(e) = crate::sessions::end(st, sid, REUSE, now).await {
                tracing::warn!(
                    error = %e,
                    grant_id = %grant.id.to_hex(),
                    "ending the session of a reused grant failed; the grants are revoked, a replay of the token ends it"
                );
            }
        }
    }
    Ok(())
}

/// The revocation reason of a reuse reaction.
const REUSE: &str = "reuse_detected";

/// The session a `revoke_session` reaction of this very grant was to end and did not
/// (a store failure or a crash after its revocation committed), if any: the grant is
/// revoked by a reuse reaction, the reuse event of that reaction says it was
/// `revoke_session`, the live reaction still is, and the grant's session is live.
/// Ending it revokes nothing the reaction did not target: that session's grants, which
/// the reaction was to revoke by ending it (a grant created in it since exists only
/// because the end failed). Once it is ended, replays end nothing.
async fn unfinished_session_end(
    st: &AppState,
    grant: &Grant,
    reaction: ReuseReaction,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let revoked_at = match &grant.status {
        GrantStatus::Revoked { at, reason } if reason == REUSE => *at,
        _ => return Ok(None),
    };
    let Some(sid) = &grant.session_id else {
        return Ok(None);
    };
    if reaction != ReuseReaction::RevokeSession {
        return Ok(None);
    }
    let live = st
        .store
        .get_session(sid)
        .await?
        .is_some_and(|s| s.is_live(now));
    if !live {
        return Ok(None);
    }
    // A grant of the same client and user is revoked by another grant's reaction with
    // the same reason: only this grant's own applied `revoke_session` counts. Its
    // reuse event was committed with the revocation, at the revocation's time.
    let q = EventQuery {
        kind: Some(EventKind::TokenReuseDetected.as_str().into()),
        client_id: Some(grant.client_id.clone()),
        subject: Some(grant.subject.clone()),
        grant_id: Some(grant.id),
        since: Some(revoked_at),
        until: None,
        // Event ids sort by time: the first id after the revocation's millisecond.
        before_id: Some(format!("evt_{:012x}", revoked_at.0.max(0) + 1)),
        limit: 100,
    };
    let own = st.store.list_events(&q).await?.iter().any(|e| {
        e.grant_id == Some(grant.id)
            && e.details["reaction_applied"] == true
            && e.details["reaction"] == ReuseReaction::RevokeSession.as_str()
    });
    Ok(own.then(|| sid.clone()))
}

/// Ends the session a cut-short reaction left live, then records the replay's reuse
/// event saying whether this request completed the reaction. Failures are logged: the
/// end may have revoked grants before failing, so a 503 could not say "nothing
/// changed"; the next replay tries again.
async fn complete_session_end(
    st: &AppState,
    sid: &str,
    ev: impl FnOnce(bool) -> baton_core::model::Event,
    now: Timestamp,
) {
    let completed = match crate::sessions::end(st, sid, REUSE, now).await {
        Ok(ended) => ended,
        Err(e) => {
            tracing::warn!(error = %e, "completing a reuse reaction's session end failed");
            false
        }
    };
    crate::best_effort::record_event(st, ev(completed)).await;
}
