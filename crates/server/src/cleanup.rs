//! The cleanup job (SPEC §2.8): every `cleanup.interval` (default 1 h) it deletes
//! grants that expired or were revoked more than `cleanup.retain_revoked` ago (default
//! 7 d; until then a replayed token of theirs is still recognised), recording
//! `grant.expired` for the expired ones, and sessions that ended or expired that long ago
//! with their `session_clients` rows, revocation markers no cached grant can
//! still be covered by ([`marker_horizon`]), and outbox deliveries delivered or given
//! up more than `outbox.retain` ago (default 7 d; pending ones are never deleted).
//!
//! It works in small batches (`BATCH` rows per statement, each its own transaction or
//! writer closure) and yields between them, so the token endpoint never waits behind it.
//! Several nodes may run it at once: PostgreSQL skips rows another node holds
//! (`FOR UPDATE SKIP LOCKED`); SQLite runs each batch in its single writer.

use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::time::{Dur, Timestamp};
use std::time::Duration;

/// Rows per statement.
pub const BATCH: usize = 500;

/// Batches per kind per run at most (a run that hits this continues next interval).
const MAX_BATCHES: usize = 2_000;

/// Pause between batches, so that queued token requests go first.
const PAUSE: Duration = Duration::from_millis(5);

/// What one run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub expired_grants: u64,
    pub revoked_grants: u64,
    pub sessions: u64,
    pub events: u64,
    pub revocation_markers: u64,
    pub outbox: u64,
}

/// One cleanup run at `now` with the configured retention. Stops at the first store
/// error (what was deleted before it stays deleted; the next run goes on).
pub async fn run(st: &AppState, now: Timestamp) -> Result<Report, StoreError> {
    let cutoff = now.plus(Dur(-st.cfg.cleanup.retain_revoked.0.max(0)));
    let mut report = Report::default();
    for _ in 0..MAX_BATCHES {
        let purged = st.store.purge_grants(now, cutoff, BATCH).await?;
        for e in &purged.expired {
            crate::grants::log_event(e);
        }
        report.expired_grants += purged.expired.len() as u64;
        report.revoked_grants += purged.revoked;
        if purged.total() < BATCH as u64 {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    for _ in 0..MAX_BATCHES {
        let n = st.store.purge_sessions(cutoff, BATCH).await?;
        report.sessions += n;
        if n < BATCH as u64 {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    if let Some(keep) = marker_horizon(st).await? {
        let before = now.plus(Dur(-keep.0.max(0)));
        for _ in 0..MAX_BATCHES {
            let n = st.store.purge_revocation_markers(before, BATCH).await?;
            report.revocation_markers += n;
            if n < BATCH as u64 {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
    let before = now.plus(Dur(-st.cfg.outbox.retain.0.max(0)));
    for _ in 0..MAX_BATCHES {
        let n = st.store.purge_outbox(before, BATCH).await?;
        report.outbox += n;
        if n < BATCH as u64 {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    if let Some(keep) = st.cfg.cleanup.retain_events {
        let before = now.plus(Dur(-keep.0.max(0)));
        for _ in 0..MAX_BATCHES {
            let n = st.store.purge_events(before, BATCH).await?;
            report.events += n;
            if n < BATCH as u64 {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
    }
    Ok(report)
}

/// How old a revocation marker must be before no grant it covers can still be
/// presented: the longest a grant can live under any effective refresh-token settings
/// (server-wide, and each client's), plus `cleanup.retain_revoked`. A grant's life is
/// bounded by its `absolute_lifetime` when it has one (it expires that long after its
/// creation, which was before the marker); else by its `sliding_lifetime` (a use after
/// the marker meets the marker and revokes the grant, so an unrevoked grant was last
/// used before it). `None` when some settings have neither: such a grant never expires,
/// so markers are kept.
pub async fn marker_horizon(st: &AppState) -> Result<Option<Dur>, StoreError> {
    let bound =
        |s: &baton_core::policy::RefreshSettings| s.absolute_lifetime.or(s.sliding_lifetime);
    let Some(mut longest) = bound(&st.server_refresh_settings()) else {
        return Ok(None);
    };
    for c in st.store.list_clients().await? {
        match bound(&st.refresh_settings(&c)) {
            Some(d) => longest = Dur(longest.0.max(d.0)),
            None => return Ok(None),
        }
    }
    Ok(Some(Dur(longest
        .0
        .saturating_add(st.cfg.cleanup.retain_revoked.0.max(0)))))
}

/// Runs [`run`] and logs its outcome.
pub async fn run_and_log(st: &AppState) {
    let now = st.clock.now();
    let result = run(st, now).await;
    if let Ok(r) = &result {
        crate::metrics::record_cleanup("grants_expired", r.expired_grants);
        crate::metrics::record_cleanup("grants_revoked", r.revoked_grants);
        crate::metrics::record_cleanup("sessions", r.sessions);
        crate::metrics::record_cleanup("events", r.events);
    }
    match result {
        Ok(r) if r == Report::default() => tracing::debug!("cleanup: nothing to remove"),
        Ok(r) => tracing::info!(
            expired_grants = r.expired_grants,
            revoked_grants = r.revoked_grants,
            sessions = r.sessions,
            events = r.events,
            revocation_markers = r.revocation_markers,
            outbox = r.outbox,
            "cleanup: removed {} expired grants, {} revoked grants, {} ended sessions, {} old events, {} revocation markers, {} finished deliveries",
            r.expired_grants,
            r.revoked_grants,
            r.sessions,
            r.events,
            r.revocation_markers,
            r.outbox,
        ),
        Err(e) => tracing::warn!(error = %e, "cleanup failed; will retry next interval"),
    }
}
