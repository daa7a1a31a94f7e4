//! The metrics `GET /metrics` exposes: Prometheus text exposition format (version
//! 0.0.4), written by hand. The route and the latency middleware are `http/metrics.rs`.
//!
//! The counters are process-wide, like any Prometheus registry: fixed arrays of
//! `AtomicU64` indexed by enums, so recording on the token path is one relaxed atomic add
//! and never takes a lock. The active-grants gauge is a store query made on scrape and
//! cached for a few seconds.
//!
//! Metric names (documented in docs/operations.md):
//! - `baton_token_requests_total{grant_type, outcome}` (counter)
//! - `baton_http_request_duration_seconds{endpoint}` (histogram)
//! - `baton_active_grants` (gauge)
//! - `baton_cleanup_removed_total{kind}` (counter), `baton_cleanup_runs_total{kind}` (counter)
//! - `baton_login_throttled_total{via}` (counter)
//! - `baton_dpop_proofs_total{result}` (counter): `accepted`, or why a proof was refused

use crate::state::AppState;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// The `grant_type` label of a token request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GrantTypeLabel {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
    /// Missing, unsupported, or a request rejected before its grant type was read.
    Other,
}

impl GrantTypeLabel {
    pub const ALL: [GrantTypeLabel; 5] = [
        GrantTypeLabel::AuthorizationCode,
        GrantTypeLabel::RefreshToken,
        GrantTypeLabel::ClientCredentials,
        GrantTypeLabel::Password,
        GrantTypeLabel::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            GrantTypeLabel::AuthorizationCode => "authorization_code",
            GrantTypeLabel::RefreshToken => "refresh_token",
            GrantTypeLabel::ClientCredentials => "client_credentials",
            GrantTypeLabel::Password => "password",
            GrantTypeLabel::Other => "other",
        }
    }
    pub fn parse(s: &str) -> GrantTypeLabel {
        match s {
            "authorization_code" => GrantTypeLabel::AuthorizationCode,
            "refresh_token" => GrantTypeLabel::RefreshToken,
            "client_credentials" => GrantTypeLabel::ClientCredentials,
            "password" => GrantTypeLabel::Password,
            _ => GrantTypeLabel::Other,
        }
    }
}

/// The `outcome` label of a token request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Tokens issued (any grant; for `refresh_token`, a `reuse`-mode refresh).
    Issued,
    /// A refresh token rotated to its successor.
    Rotated,
    /// A retry within the grace period answered with the current successor.
    GraceReplay,
    /// A rotated token presented after the grace period.
    ReuseDetected,
    Expired,
    /// Revoked grant, or one whose session ended.
    Revoked,
    /// Any other 4xx: junk token, bad client, bad request, wrong client.
    Invalid,
    /// 5xx: store unavailable or an internal error.
    Error,
    /// A refresh whose client disconnected before its answer: a rotation it had asked
    /// for still commits, and the client's retry is the grace path's.
    Abandoned,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Issued,
        Outcome::Rotated,
        Outcome::GraceReplay,
        Outcome::ReuseDetected,
        Outcome::Expired,
        Outcome::Revoked,
        Outcome::Invalid,
        Outcome::Error,
        Outcome::Abandoned,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::Rotated => "rotated",
            Outcome::GraceReplay => "grace_replay",
            Outcome::ReuseDetected => "reuse_detected",
            Outcome::Expired => "expired",
            Outcome::Revoked => "revoked",
            Outcome::Invalid => "invalid",
            Outcome::Error => "error",
            Outcome::Abandoned => "abandoned",
        }
    }
    /// The outcome of a failed request, when nothing more specific is known: `error`
    /// when the server failed (store unavailable, internal error), else `invalid`.
    pub fn failed(server_side: bool) -> Outcome {
        if server_side {
            Outcome::Error
        } else {
            Outcome::Invalid
        }
    }
}

const N_GRANT: usize = GrantTypeLabel::ALL.len();
const N_OUTCOME: usize = Outcome::ALL.len();

/// The `endpoint` label of the latency histogram: the routes worth watching, by path.
const ENDPOINTS: [&str; 13] = [
    "/token",
    "/revoke",
    "/introspect",
    "/userinfo",
    "/authorize",
    "/login",
    "/consent",
    "/logout",
    "/jwks",
    "/register",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "other",
];
const OTHER_ENDPOINT: usize = ENDPOINTS.len() - 1;

/// The `via` label of a throttled sign-in.
const LOGIN_VIA: [&str; 2] = ["password_grant", "login_page"];

/// Upper bounds of the latency buckets, in seconds (`+Inf` is implied).
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
const BUCKETS_US: [u64; 12] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000,
];

/// Cleanup kinds with a slot of their own; others are counted under `other`.
const CLEANUP_KINDS: [&str; 7] = [
    "grants_expired",
    "grants_revoked",
    "sessions",
    // What `Store::purge_expired` deletes: authorization codes, revoked JWT ids and
    // expired reference tokens.
    "expired_records",
    "events",
    "cache",
    "other",
];

#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

struct Metrics {
    tokens: [[AtomicU64; N_OUTCOME]; N_GRANT],
    latency: [Histogram; ENDPOINTS.len()],
    cleanup_removed: [AtomicU64; CLEANUP_KINDS.len()],
    cleanup_runs: [AtomicU64; CLEANUP_KINDS.len()],
    login_throttled: [AtomicU64; LOGIN_VIA.len()],
    /// Accepted DPoP proofs, then refusals in `Refusal::ALL` order.
    dpop: [AtomicU64; 1 + crate::dpop::Refusal::ALL.len()],
    /// The active-grants gauge and when it was read (ms since `epoch`; -1 never).
    active_grants: AtomicU64,
    active_read_at: AtomicI64,
}

static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(|| Metrics {
    tokens: Default::default(),
    latency: Default::default(),
    cleanup_removed: Default::default(),
    cleanup_runs: Default::default(),
    login_throttled: Default::default(),
    dpop: Default::default(),
    active_grants: AtomicU64::new(0),
    active_read_at: AtomicI64::new(-1),
});

static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// How long a count of active grants is reused before the store is asked again.
const ACTIVE_GRANTS_TTL_MS: i64 = 5_000;

fn grant_index(g: GrantTypeLabel) -> usize {
    g as usize
}

fn outcome_index(o: Outcome) -> usize {
    o as usize
}

/// The token requests this process counted for `g` with outcome `o` (the operator
/// console's dashboard).
pub fn token_count(g: GrantTypeLabel, o: Outcome) -> u64 {
    METRICS.tokens[grant_index(g)][outcome_index(o)].load(Ordering::Relaxed)
}

/// Counts one token request.
pub fn token_request(g: GrantTypeLabel, o: Outcome) {
    METRICS.tokens[grant_index(g)][outcome_index(o)].fetch_add(1, Ordering::Relaxed);
}

/// Cleanup progress: `n` records of `kind` removed by one cleanup batch (call it once per
/// batch, with `n = 0` too, so that batches are counted). Kinds: `grants_expired`,
/// `grants_revoked`, `sessions`, `expired_records` (codes, revoked token ids, reference
/// tokens), `events`, `cache`; anything else counts as `other`.
pub fn record_cleanup(kind: &str, n: u64) {
    let i = CLEANUP_KINDS
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(CLEANUP_KINDS.len() - 1);
    METRICS.cleanup_removed[i].fetch_add(n, Ordering::Relaxed);
    METRICS.cleanup_runs[i].fetch_add(1, Ordering::Relaxed);
}

/// Counts a sign-in refused by the login throttle (`via`: `password_grant` or
/// `login_page`; anything else counts as `login_page`).
pub fn login_throttled(via: &str) {
    let i = usize::from(via != LOGIN_VIA[0]);
    METRICS.login_throttled[i].fetch_add(1, Ordering::Relaxed);
}

/// Counts a DPoP proof: accepted (`None`), or refused and why.
pub fn dpop_proof(refused: Option<crate::dpop::Refusal>) {
    let i = refused.map_or(0, |r| 1 + r as usize);
    METRICS.dpop[i].fetch_add(1, Ordering::Relaxed);
}

fn observe(endpoint: usize, micros: u64) {
    let h = &METRICS.latency[endpoint];
    let b = BUCKETS_US
        .iter()
        .position(|ub| micros <= *ub)
        .unwrap_or(BUCKETS_US.len());
    h.buckets[b].fetch_add(1, Ordering::Relaxed);
    h.sum_us.fetch_add(micros, Ordering::Relaxed);
    h.count.fetch_add(1, Ordering::Relaxed);
}

/// The histogram slot of a route (its matched path, else the request path).
#[derive(Copy, Clone, Debug)]
pub struct Endpoint(usize);

impl Endpoint {
    pub fn of(path: &str) -> Endpoint {
        Endpoint(
            ENDPOINTS
                .iter()
                .position(|e| *e == path)
                .unwrap_or(OTHER_ENDPOINT),
        )
    }
}

/// Counts one request to `endpoint` that took `micros` microseconds.
pub fn request_latency(endpoint: Endpoint, micros: u64) {
    observe(endpoint.0, micros);
}

/// Active grants in the main store: the gauge `/metrics` shows (read at most every 5 s;
/// `None` when the store cannot answer).
pub async fn active_grants(st: &AppState) -> Option<u64> {
    let now_ms = i64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(i64::MAX);
    let fresh = |m: &Metrics| {
        let at = m.active_read_at.load(Ordering::Acquire);
        at >= 0 && now_ms - at < ACTIVE_GRANTS_TTL_MS
    };
    if fresh(&METRICS) {
        return Some(METRICS.active_grants.load(Ordering::Relaxed));
    }
    match st.store.count_active_grants(st.clock.now()).await {
        Ok(n) => {
            METRICS.active_grants.store(n, Ordering::Relaxed);
            METRICS.active_read_at.store(now_ms, Ordering::Release);
            Some(n)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot count active grants for /metrics");
            None
        }
    }
}

fn secs(us: u64) -> f64 {
    // Precision loss only beyond 2^53 µs (285 years of summed latency).
    #[allow(clippy::cast_precision_loss)]
    let f = us as f64;
    f / 1e6
}

/// Renders every metric in the Prometheus text format.
pub fn render(active: Option<u64>) -> String {
    let m = &*METRICS;
    let mut out = String::with_capacity(8 * 1024);
    let _ = writeln!(
        out,
        "# HELP baton_token_requests_total Token endpoint requests by grant type and outcome."
    );
    let _ = writeln!(out, "# TYPE baton_token_requests_total counter");
    for g in GrantTypeLabel::ALL {
        for o in Outcome::ALL {
            let v = m.tokens[grant_index(g)][outcome_index(o)].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "baton_token_requests_total{{grant_type=\"{}\",outcome=\"{}\"}} {v}",
                g.as_str(),
                o.as_str()
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP baton_http_request_duration_seconds Request latency by endpoint."
    );
    let _ = writeln!(out, "# TYPE baton_http_request_duration_seconds histogram");
    for (i, ep) in ENDPOINTS.iter().enumerate() {
        let h = &m.latency[i];
        let mut cum = 0u64;
        for (b, ub) in BUCKETS.iter().enumerate() {
            cum += h.buckets[b].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "baton_http_request_duration_seconds_bucket{{endpoint=\"{ep}\",le=\"{ub}\"}} {cum}"
            );
        }
        cum += h.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "baton_http_request_duration_seconds_bucket{{endpoint=\"{ep}\",le=\"+Inf\"}} {cum}"
        );
        let _ = writeln!(
            out,
            "baton_http_request_duration_seconds_sum{{endpoint=\"{ep}\"}} {}",
            secs(h.sum_us.load(Ordering::Relaxed))
        );
        // The count is the +Inf bucket, so that a concurrent observation never makes
        // the two disagree within one scrape.
        let _ = writeln!(
            out,
            "baton_http_request_duration_seconds_count{{endpoint=\"{ep}\"}} {cum}"
        );
    }
    if let Some(n) = active {
        let _ = writeln!(
            out,
            "# HELP baton_active_grants Active grants in the main store (cached for a few seconds)."
        );
        let _ = writeln!(out, "# TYPE baton_active_grants gauge");
        let _ = writeln!(out, "baton_active_grants {n}");
    }
    let _ = writeln!(
        out,
        "# HELP baton_cleanup_removed_total Records removed by the cleanup job, by kind."
    );
    let _ = writeln!(out, "# TYPE baton_cleanup_removed_total counter");
    for (i, k) in CLEANUP_KINDS.iter().enumerate() {
        let v = m.cleanup_removed[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "baton_cleanup_removed_total{{kind=\"{k}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP baton_cleanup_runs_total Cleanup batches, by kind."
    );
    let _ = writeln!(out, "# TYPE baton_cleanup_runs_total counter");
    for (i, k) in CLEANUP_KINDS.iter().enumerate() {
        let v = m.cleanup_runs[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "baton_cleanup_runs_total{{kind=\"{k}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP baton_login_throttled_total Sign-ins refused by the login throttle (429)."
    );
    let _ = writeln!(out, "# TYPE baton_login_throttled_total counter");
    for (i, via) in LOGIN_VIA.iter().enumerate() {
        let v = m.login_throttled[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "baton_login_throttled_total{{via=\"{via}\"}} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP baton_dpop_proofs_total DPoP proofs: accepted, or the rule a refused one broke."
    );
    let _ = writeln!(out, "# TYPE baton_dpop_proofs_total counter");
    let results =
        std::iter::once("accepted").chain(crate::dpop::Refusal::ALL.iter().map(|r| r.as_str()));
    for (i, result) in results.enumerate() {
        let v = m.dpop[i].load(Ordering::Relaxed);
        let _ = writeln!(out, "baton_dpop_proofs_total{{result=\"{result}\"}} {v}");
    }
    out
}

/// The body of `GET /metrics`: every metric, the active-grants gauge read (or reused)
/// first.
pub async fn exposition(st: &AppState) -> String {
    render(active_grants(st).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_the_label_tables() {
        for (i, g) in GrantTypeLabel::ALL.iter().enumerate() {
            assert_eq!(grant_index(*g), i);
        }
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(outcome_index(*o), i);
        }
    }

    #[test]
    fn render_is_prometheus_text() {
        record_cleanup("grants_expired", 3);
        record_cleanup("no such kind", 1);
        observe(0, 3_000);
        let text = render(Some(7));
        assert!(text.contains("baton_active_grants 7\n"));
        assert!(text.contains("baton_cleanup_removed_total{kind=\"grants_expired\"}"));
        assert!(text.contains("baton_cleanup_runs_total{kind=\"other\"}"));
        assert!(text.contains(
            "baton_http_request_duration_seconds_bucket{endpoint=\"/token\",le=\"+Inf\"}"
        ));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap_or(("", ""));
            assert!(!name.is_empty(), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
