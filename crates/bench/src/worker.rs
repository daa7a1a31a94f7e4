//! Seeding and the per-worker request loop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{sleep_until, Instant};

use crate::client::{describe_reply, parse_token_response, Connection, Endpoint, TokenOutcome};
use crate::pool::Partition;
use crate::stats::WorkerStats;

/// Pause after a failed connect or re-seed so a dead server is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// State shared by all workers of a run.
#[derive(Debug)]
pub struct Shared {
    pub endpoint: Arc<Endpoint>,
    pub timeout: Duration,
    /// End of the warm-up: responses completing from here on are recorded.
    pub measure_start: Instant,
    /// End of the run.
    pub end: Instant,
    /// Optional cap on recorded responses.
    pub cap: Option<u64>,
    /// Let a request still in flight at the end finish (within the timeout) instead of
    /// dropping it, so that its chain keeps the answer (`--tokens-file`: a dropped
    /// rotation leaves the chain a token the server has already replaced).
    pub settle: bool,
    recorded: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    pub fn new(
        endpoint: Arc<Endpoint>,
        timeout: Duration,
        measure_start: Instant,
        end: Instant,
        cap: Option<u64>,
        settle: bool,
    ) -> Self {
        Shared {
            endpoint,
            timeout,
            measure_start,
            end,
            cap,
            settle,
            recorded: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }
    }

    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_start && t < self.end
    }

    /// Deadline of an operation started now: the request timeout, but never past the end
    /// unless `settle`.
    fn deadline(&self, now: Instant) -> Instant {
        if self.settle {
            now + self.timeout
        } else {
            (now + self.timeout).min(self.end)
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A worker ready to start: its connection and the head of its token chain.
#[derive(Debug)]
pub struct Seed {
    pub conn: Connection,
    pub refresh_token: String,
}

/// Opens a worker's first connection. A failure here is fatal for the run.
pub async fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Connection, String> {
    endpoint
        .connect(Instant::now() + timeout)
        .await
        .map_err(|f| format!("{} ({})", f.label(), endpoint.addr()))
}

/// Opens a connection and obtains a refresh token through the password grant (or takes
/// `--seed-token`). Any failure here is fatal for the run.
pub async fn seed(endpoint: &Endpoint, timeout: Duration) -> Result<Seed, String> {
    let deadline = Instant::now() + timeout;
    let mut conn = connect(endpoint, timeout).await?;
    if let Some(t) = &endpoint.seed_token {
        return Ok(Seed {
            conn,
            refresh_token: t.clone(),
        });
    }
    let reply = endpoint
        .post(&mut conn, endpoint.forms.password_body(), deadline)
        .await
        .map_err(|f| format!("password grant failed: {}", f.label()))?;
    match parse_token_response(&reply) {
        TokenOutcome::Success {
            refresh_token: Some(refresh_token),
        } => Ok(Seed {
            conn,
            refresh_token,
        }),
        TokenOutcome::Success {
            refresh_token: None,
        } => Err(
            "password grant returned no refresh_token (does the client/scope allow \
                  refresh tokens, e.g. --scope \"openid offline_access\"?)"
                .to_owned(),
        ),
        TokenOutcome::Error { .. } => Err(format!(
            "password grant rejected: {}",
            describe_reply(&reply)
        )),
    }
}

/// Runs one worker until the end of the run (or the request cap).
pub async fn run(shared: Arc<Shared>, seed: Seed) -> WorkerStats {
    let s = &*shared;
    let ep = &s.endpoint;
    let mut stats = WorkerStats::with_capacity(1 << 14);
    let mut conn = Some(seed.conn);
    // `None` once the chain broke: re-seed before the next refresh.
    let mut token = Some(seed.refresh_token);
    let mut body: Bytes = token
        .as_deref()
        .map(|t| ep.forms.refresh_body(t))
        .unwrap_or_default();

    while !s.stopped() {
        let now = Instant::now();
        if now >= s.end {
            break;
        }

        if !connected(s, &mut conn, &mut stats).await {
            continue;
        }
        let Some(c) = conn.as_mut() else { continue };

        // Restart a broken chain from the seed token, or through the password grant.
        if token.is_none() {
            if let Some(t) = &ep.seed_token {
                if s.in_window(Instant::now()) {
                    stats.reseeds += 1;
                }
                body = ep.forms.refresh_body(t);
                token = Some(t.clone());
            }
        }
        let Some(current) = token.as_deref() else {
            let started = Instant::now();
            let result = ep
                .post(c, ep.forms.password_body(), s.deadline(started))
                .await;
            let done = Instant::now();
            let record = s.in_window(done);
            match result.as_ref().map(parse_token_response) {
                Ok(TokenOutcome::Success {
                    refresh_token: Some(rt),
                }) => {
                    if record {
                        stats.reseeds += 1;
                    }
                    body = ep.forms.refresh_body(&rt);
                    token = Some(rt);
                }
                Ok(TokenOutcome::Success {
                    refresh_token: None,
                }) => {
                    if record {
                        stats.error("re-seed: no refresh_token".to_owned());
                    }
                    pause(s).await;
                }
                Ok(TokenOutcome::Error { status, code }) => {
                    if record {
                        stats.error(format!(
                            "re-seed: {}",
                            TokenOutcome::error_label(status, &code)
                        ));
                    }
                    pause(s).await;
                }
                Err(f) => {
                    conn = None;
                    if record {
                        stats.error(format!("re-seed: {}", f.label()));
                    }
                }
            }
            continue;
        };

        match refresh(s, &mut conn, body.clone(), current, &mut stats).await {
            Step::Ok(Some(rt)) => {
                body = ep.forms.refresh_body(&rt);
                token = Some(rt);
            }
            Step::Ok(None) | Step::Failed => {}
            Step::Broken => token = None,
        }
    }
    stats
}

async fn pause(s: &Shared) {
    sleep_until((Instant::now() + RETRY_PAUSE).min(s.end)).await;
}

/// `--tokens-file`: runs one worker over its partition until the end of the run (or the
/// request cap): each request refreshes a uniformly random chain of it, which goes on
/// from the response's refresh token; a chain answered `invalid_grant` is given up.
pub async fn run_pool(
    shared: Arc<Shared>,
    conn: Connection,
    mut chains: Partition,
) -> (WorkerStats, Partition) {
    let s = &*shared;
    let ep = &s.endpoint;
    let mut stats = WorkerStats::with_capacity(1 << 14);
    let mut conn = Some(conn);
    while !s.stopped() {
        if Instant::now() >= s.end {
            break;
        }
        if !connected(s, &mut conn, &mut stats).await {
            continue;
        }
        let Some(i) = chains.pick() else {
            stats.error("no working chain left".to_owned());
            break;
        };
        let current = chains.token(i);
        let body = ep.forms.refresh_body(current);
        match refresh(s, &mut conn, body, current, &mut stats).await {
            Step::Ok(Some(rt)) => {
                if !chains.replace(i, &rt) {
                    stats.error("refresh token of another width (chain given up)".to_owned());
                }
            }
            Step::Ok(None) | Step::Failed => {}
            Step::Broken => chains.kill(i),
        }
    }
    (stats, chains)
}

/// (Re)connects if the server closed the connection or it failed: `false` (after a
/// pause) when that failed too.
async fn connected(s: &Shared, conn: &mut Option<Connection>, stats: &mut WorkerStats) -> bool {
    if !conn.as_ref().is_none_or(Connection::is_closed) {
        return true;
    }
    *conn = None;
    match s.endpoint.connect(s.deadline(Instant::now())).await {
        Ok(c) => {
            if s.in_window(Instant::now()) {
                stats.reconnects += 1;
            }
            *conn = Some(c);
            true
        }
        Err(f) => {
            if s.in_window(Instant::now()) {
                stats.error(f.label());
            }
            pause(s).await;
            false
        }
    }
}

/// How a measured refresh went, for its chain.
enum Step {
    /// Success, with the response's refresh token when it differs from the one sent.
    Ok(Option<String>),
    /// `invalid_grant`: the chain is broken.
    Broken,
    /// Any other failure: the chain is left as it is (a connection that failed is dropped).
    Failed,
}

/// The measured request: one refresh_token grant presenting `current` (in `body`),
/// recorded if it completes inside the window.
async fn refresh(
    s: &Shared,
    conn: &mut Option<Connection>,
    body: Bytes,
    current: &str,
    stats: &mut WorkerStats,
) -> Step {
    let Some(c) = conn.as_mut() else {
        return Step::Failed;
    };
    let started = Instant::now();
    let result = s.endpoint.post(c, body, s.deadline(started)).await;
    let done = Instant::now();
    let mut record = s.in_window(done);

    let reply = match result {
        Ok(reply) => reply,
        Err(f) => {
            *conn = None;
            // A request cut off by the end of the run is not recorded.
            if record {
                stats.failed += 1;
                stats.error(f.label());
            }
            return Step::Failed;
        }
    };

    if record {
        if let Some(cap) = s.cap {
            let n = s.recorded.fetch_add(1, Ordering::Relaxed);
            if n >= cap {
                record = false;
                s.stop.store(true, Ordering::Relaxed);
            } else if n + 1 == cap {
                s.stop.store(true, Ordering::Relaxed);
                stats.cap_reached_at = Some(done);
            }
        }
    }

    match parse_token_response(&reply) {
        TokenOutcome::Success { refresh_token } => {
            if record {
                let us =
                    u64::try_from(done.duration_since(started).as_micros()).unwrap_or(u64::MAX);
                stats.latencies_us.push(us);
            }
            // Rotate: follow the chain. Reuse: keep the same token unless the
            // server hands out a different one. Both reduce to "switch when it changes".
            let next = refresh_token.filter(|rt| rt != current);
            if record && next.is_some() {
                stats.new_refresh_tokens += 1;
            }
            Step::Ok(next)
        }
        TokenOutcome::Error { status, code } => {
            if record {
                stats.failed += 1;
                stats.error(TokenOutcome::error_label(status, &code));
            }
            if code == "invalid_grant" {
                Step::Broken
            } else {
                Step::Failed
            }
        }
    }
}
