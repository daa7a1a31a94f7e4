//! `/console`: live numbers. The refresh rate and the outcomes come from this node's
//! counters (`crate::metrics`, what `/metrics` exposes); reuse detections of the last
//! 24 hours from the event log (every node's); active grants from the gauge.

use super::{escape, layout, Admin, Nav};
use crate::admin::ops;
use crate::http::error::PageResult;
use crate::metrics::{self, GrantTypeLabel, Outcome};
use crate::state::Shared;
use axum::extract::State;
use baton_core::events::EventKind;
use baton_core::time::Dur;
use baton_proto::admin::EventListQuery;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refresh requests counted at some instants: the rate is the difference over the
/// window between the oldest kept sample and now.
static SAMPLES: Mutex<VecDeque<(Instant, u64)>> = Mutex::new(VecDeque::new());

/// The window the refresh rate is measured over (at most).
const WINDOW: Duration = Duration::from_secs(300);

/// Refresh requests this node counted, whatever their outcome.
fn refresh_total() -> u64 {
    Outcome::ALL
        .iter()
        .map(|o| metrics::token_count(GrantTypeLabel::RefreshToken, *o))
        .sum()
}

/// Refreshes per minute over the last few minutes (`None` until a sample is at least
/// 5 s old), and the seconds it was measured over.
fn refresh_rate(now: Instant, total: u64) -> Option<(f64, u64)> {
    let mut s = match SAMPLES.lock() {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    };
    while s.len() > 1
        && s.get(1)
            .is_some_and(|(t, _)| now.duration_since(*t) >= WINDOW)
    {
        s.pop_front();
    }
    // At most one sample per 5 s is kept, so the deque stays small.
    if s.back()
        .is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_secs(5))
    {
        s.push_back((now, total));
    }
    let (t0, n0) = *s.front()?;
    let secs = now.duration_since(t0).as_secs();
    if secs < 5 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let per_min = total.saturating_sub(n0) as f64 * 60.0 / now.duration_since(t0).as_secs_f64();
    Some((per_min, secs))
}

fn card(label: &str, value: &str, note: &str) -> String {
    format!(
        "<div class=\"card\"><span class=\"n\">{}</span>{}<p class=\"hint\">{}</p></div>",
        escape(value),
        escape(label),
        note
    )
}

/// The failed outcomes of token requests, by kind, with what each means.
const ERRORS: [(Outcome, &str); 5] = [
    (
        Outcome::ReuseDetected,
        "a rotated refresh token presented after its grace period",
    ),
    (Outcome::Expired, "an expired grant"),
    (
        Outcome::Revoked,
        "a revoked grant, or one whose session ended",
    ),
    (
        Outcome::Invalid,
        "any other refusal: bad token, client or request",
    ),
    (Outcome::Error, "the server failed (store unavailable)"),
];

/// `GET /console`.
pub async fn get(admin: Admin, State(st): State<Shared>) -> PageResult {
    let total = refresh_total();
    let rate = match refresh_rate(Instant::now(), total) {
        Some((r, secs)) => card(
            "refreshes per minute",
            &format!("{r:.1}"),
            &format!(
                "This node, over the last {}.",
                escape(&baton_core::time::format_duration(Dur::secs(
                    i64::try_from(secs).unwrap_or(i64::MAX)
                )))
            ),
        ),
        None => card(
            "refreshes per minute",
            "…",
            "Measuring: reload in a few seconds.",
        ),
    };
    let since = baton_core::time::Timestamp(st.clock.now().0 - 86_400_000);
    let reuse = ops::list_events(
        &st,
        EventListQuery {
            kind: Some(EventKind::TokenReuseDetected.as_str().into()),
            since: Some(since.rfc3339()),
            limit: Some(ops::MAX_PAGE),
            ..EventListQuery::default()
        },
    )
    .await;
    let reuse = match reuse {
        Ok(p) if p.next_cursor.is_some() => format!("{}+", p.items.len()),
        Ok(p) => p.items.len().to_string(),
        Err(_) => "unavailable".into(),
    };
    let active = metrics::active_grants(&st)
        .await
        .map_or("unavailable".to_string(), |n| n.to_string());
    let cards = format!(
        "<div class=\"cards\">{rate}{}{}{}</div>",
        card(
            "reuse detections in the last 24 h",
            &reuse,
            "From the event log, every node. <a href=\"/console/events?type=token.reuse_detected\">See them</a>.",
        ),
        card("active grants", &active, "In the main store (counted at most every 5 s)."),
        card("refresh requests", &total.to_string(), "This node, since it started."),
    );
    let mut rows = String::new();
    for (o, meaning) in ERRORS {
        let by_type: Vec<u64> = GrantTypeLabel::ALL
            .iter()
            .map(|g| metrics::token_count(*g, o))
            .collect();
        let sum: u64 = by_type.iter().sum();
        rows.push_str(&format!(
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{sum}</td></tr>",
            o.as_str(),
            meaning,
            by_type[GrantTypeLabel::RefreshToken as usize],
        ));
    }
    let mut outcomes = String::new();
    for o in [
        Outcome::Rotated,
        Outcome::Issued,
        Outcome::GraceReplay,
        Outcome::Abandoned,
    ] {
        outcomes.push_str(&format!(
            "<tr><th scope=\"row\"><code>{}</code></th><td class=\"num\">{}</td></tr>",
            o.as_str(),
            metrics::token_count(GrantTypeLabel::RefreshToken, o)
        ));
    }
    let errors = super::table_box(
        "Errors by kind",
        &format!(
            "<table><thead><tr><th scope=\"col\">Outcome</th><th scope=\"col\">Meaning</th>\
             <th scope=\"col\">Refresh requests</th><th scope=\"col\">All token requests</th></tr></thead><tbody>{rows}</tbody></table>"
        ),
    );
    let successes = super::table_box(
        "Successful refreshes",
        &format!(
            "<table><thead><tr><th scope=\"col\">Outcome</th><th scope=\"col\">Count</th></tr></thead>\
             <tbody>{outcomes}</tbody></table>"
        ),
    );
    let body = format!(
        "{cards}<h2>Errors by kind</h2><p class=\"hint\">Token requests refused on this node since it started (as in /metrics).</p>\
         {errors}<h2>Successful refreshes</h2>{successes}"
    );
    Ok(layout(&st, &admin, Nav::Dashboard, "Dashboard", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_per_minute_over_the_window() {
        let t0 = Instant::now();
        // The first sample: nothing to measure against yet.
        assert!(refresh_rate(t0, 100).is_none());
        let (r, secs) = refresh_rate(t0 + Duration::from_secs(30), 160).unwrap();
        assert_eq!(secs, 30);
        assert!((r - 120.0).abs() < 1e-9, "{r}");
        // Past the window, old samples drop out.
        let (r, _) = refresh_rate(t0 + Duration::from_secs(30 + 400), 160).unwrap();
        assert!(r.abs() < 1e-9, "{r}");
    }
}
