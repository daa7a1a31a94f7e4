//! The cleanup job (SPEC §2.8): every `cleanup.interval` (default 1 h) it deletes
//! grants that expired or were revoked more than `cleanup.retain_revoked` ago (default
//! 7 d; until then a replayed token of theirs is still recognised), recording
//! `grant.expired` for the expired ones, and sessions that ended or expired that long ago
//! with their `session_clients` rows, revocation markers no cached grant can
//! still be covered by ([`marker_horizon`]), and outbox deliveries delivered or given
//! up more than `outbox.retain` ago (default 7 d; pending ones are never deleted).
//!
//! It works in small batches (at most `BATCH` rows per statement, each its own
//! transaction or writer closure) and pauses between them, paced by how long each took
//! (`Pacer`: batches that hold the store longer than `TARGET` are made smaller, and the
//! pause is `PAUSE_FACTOR` times the batch), so the token endpoint never waits long
//! behind it and the job takes at most a fifth of the store's time.
//! Several nodes may run it at once: PostgreSQL skips rows another node holds
//! (`FOR UPDATE SKIP LOCKED`); SQLite runs each batch in its single writer.

use crate::state::AppState;
use baton_core::error::StoreError;
use baton_core::time::{Dur, Timestamp};
use std::time::{Duration, Instant};

/// Rows per statement at most.
pub const BATCH: usize = 500;

/// Rows per statement at least, however slow the store.
const MIN_BATCH: usize = 25;

/// Batches per kind per run at most (a run that hits this continues next interval).
const MAX_BATCHES: usize = 2_000;

/// Pause between batches at least, so that queued token requests go first.
const PAUSE: Duration = Duration::from_millis(5);

/// How long one batch should hold the store: SQLite runs it in its single writer, so
/// every token request that writes waits behind it. Slower batches are made smaller.
const TARGET: Duration = Duration::from_millis(10);

/// Pause after a batch, as a multiple of the time it took: the job uses at most a
/// fifth of the store's time, however large the backlog.
const PAUSE_FACTOR: u32 = 4;

/// The pace of one kind's deletions: batch size and pause adapt to how long each
/// batch took, so a store under load or a large backlog (millions of expired grants
/// after an outage) slows the job down, never the token endpoint.
#[derive(Debug)]
struct Pacer {
    size: usize,
}

impl Pacer {
    fn new() -> Pacer {
        Pacer { size: BATCH }
    }

    /// The next batch's size after one that took `took`, and the pause before it.
    fn after(&mut self, took: Duration) -> Duration {
        if took > TARGET * 2 {
            self.size = (self.size / 2).max(MIN_BATCH);
        } else if took < TARGET / 2 {
            self.size = (self.size * 2).min(BATCH);
        }
        PAUSE.max(took * PAUSE_FACTOR)
    }
}

/// Runs `step` (delete up to `limit` rows) until a batch comes back short or
/// `MAX_BATCHES` ran, paced by [`Pacer`]; `keep` takes each batch's result and answers
/// how many rows it deleted.
async fn drain<T, F, Fut>(mut step: F, mut keep: impl FnMut(T) -> u64) -> Result<(), StoreError>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut pacer = Pacer::new();
    for _ in 0..MAX_BATCHES {
        let size = pacer.size;
        let started = Instant::now();
        let n = keep(step(size).await?);
        if n < size as u64 {
            break;
        }
        tokio::time::sleep(pacer.after(started.elapsed())).await;
    }
    Ok(())
}

/// What one run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub expired_grants: u64,
    pub revoked_grants: u64,
    /// Grants due for an idle check that had been used since: kept, their next check
    /// moved to their idle deadline.
    pub rechecked_grants: u64,
    pub sessions: u64,
    pub events: u64,
    pub revocation_markers: u64,
    pub outbox: u64,
}

/// One cleanup run at `now` with the configured retention. Stops at the first store
/// error (what was deleted before it stays deleted; the next run goes on).
pub async fn run(st: &AppState, now: Timestamp) -> Result<Report, StoreError> {
    let cutoff = now.plus(Dur(-st.cfg.cleanup.retain_revoked.0.max(0)));
    let mut r = Report::default();
    let grants = |limit| st.store.purge_grants(now, cutoff, limit);
    drain(grants, |purged| {
        for e in &purged.expired {
            crate::grants::log_event(e);
        }
        r.expired_grants += purged.expired.len() as u64;
        r.revoked_grants += purged.revoked;
        r.rechecked_grants += purged.rechecked;
        purged.total() + purged.rechecked
    })
    .await?;
    let sessions = |limit| st.store.purge_sessions(cutoff, limit);
    drain(sessions, |n| add(&mut r.sessions, n)).await?;
    if let Some(keep) = marker_horizon(st).await? {
        let before = now.plus(Dur(-keep.0.max(0)));
        let markers = |limit| st.store.purge_revocation_markers(before, limit);
        drain(markers, |n| add(&mut r.revocation_markers, n)).await?;
    }
    let before = now.plus(Dur(-st.cfg.outbox.retain.0.max(0)));
    let outbox = |limit| st.store.purge_outbox(before, limit);
    drain(outbox, |n| add(&mut r.outbox, n)).await?;
    if let Some(keep) = st.cfg.cleanup.retain_events {
        let before = now.plus(Dur(-keep.0.max(0)));
        let events = |limit| st.store.purge_events(before, limit);
        drain(events, |n| add(&mut r.events, n)).await?;
    }
    Ok(r)
}

/// Adds a batch's count to a total; answers the batch's count.
fn add(total: &mut u64, n: u64) -> u64 {
    *total += n;
    n
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
            rechecked_grants = r.rechecked_grants,
            "cleanup: removed {} expired grants, {} revoked grants, {} ended sessions, {} old events, {} revocation markers, {} finished deliveries; rechecked {} grants used since their idle check",
            r.expired_grants,
            r.revoked_grants,
            r.sessions,
            r.events,
            r.revocation_markers,
            r.outbox,
            r.rechecked_grants,
        ),
        Err(e) => tracing::warn!(error = %e, "cleanup failed; will retry next interval"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_batches_shrink_and_pause_longer() {
        let mut p = Pacer::new();
        assert_eq!(p.size, BATCH);
        // A 100 ms batch: half the size, four times the pause.
        assert_eq!(
            p.after(Duration::from_millis(100)),
            Duration::from_millis(400)
        );
        assert_eq!(p.size, BATCH / 2);
        for _ in 0..20 {
            p.after(Duration::from_millis(100));
        }
        assert_eq!(p.size, MIN_BATCH);
        // Within the target: unchanged; fast again: grows back, never past BATCH.
        p.after(TARGET);
        assert_eq!(p.size, MIN_BATCH);
        p.after(Duration::from_millis(1));
        assert_eq!(p.size, MIN_BATCH * 2);
        for _ in 0..20 {
            assert_eq!(p.after(Duration::ZERO), PAUSE);
        }
        assert_eq!(p.size, BATCH);
    }

    #[tokio::test]
    async fn drains_until_a_short_batch_and_counts_every_row() {
        let backlog = std::cell::Cell::new(1_234u64);
        let mut limits = Vec::new();
        let mut total = 0;
        let step = |limit: usize| {
            limits.push(limit);
            let n = backlog.get().min(limit as u64);
            backlog.set(backlog.get() - n);
            std::future::ready(Ok(n))
        };
        drain(step, |n| add(&mut total, n)).await.unwrap();
        assert_eq!(total, 1_234);
        assert_eq!(backlog.get(), 0);
        // 500 + 500 + 234 (short: done).
        assert_eq!(limits, vec![BATCH, BATCH, BATCH]);
    }

    #[tokio::test]
    async fn a_store_error_stops_the_kind() {
        let mut calls = 0;
        let step = |limit: usize| {
            calls += 1;
            std::future::ready(if calls == 2 {
                Err(StoreError::Unavailable("down".into()))
            } else {
                Ok(limit as u64)
            })
        };
        let r = drain(step, |n| n).await;
        assert!(r.is_err());
        assert_eq!(calls, 2);
    }
}
