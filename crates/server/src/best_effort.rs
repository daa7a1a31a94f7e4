//! Best-effort writes: steps after the request already did what it was for (a sign-in,
//! a consent, a session's end, a throttled sign-in's refusal, a reuse reaction completed),
//! whose failure must not change the answer. (A back-channel delivery's outcome event
//! is not one: it commits with the delivery's end in the outbox.) A failure is
//! logged here, never dropped silently (no `let _ =`), and never turned into a 503:
//! a 503 means nothing was changed, and by now something was.

use crate::state::AppState;
use baton_core::model::Event;

/// Records `ev` (log line and store); a store failure is logged as a warning naming
/// the event, and the caller carries on.
pub async fn record_event(st: &AppState, ev: Event) {
    let kind = ev.kind.clone();
    if let Err(e) = crate::grants::record(st, ev).await {
        tracing::warn!(error = %e, event = %kind, "recording an event failed (best effort)");
    }
}
