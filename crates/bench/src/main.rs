//! # baton-bench
//!
//! A load generator for the OAuth 2.0 `refresh_token` grant (RFC 6749 section 6)
//! of **any** token endpoint, reporting throughput and exact latency percentiles.
//!
//! ```text
//! cargo run --release -p baton-bench -- --token-url http://127.0.0.1:8080/token \
//!   --client-id bench --client-secret SECRET --username alice --password PASSWORD \
//!   --scope "openid offline_access" --concurrency 32 --duration 20s --warmup 3s --mode rotate
//! ```
//!
//! ## How a run works
//!
//! 1. **Target check.** Only plain-http loopback targets are accepted
//!    (`127.0.0.0/8`, `localhost`, `[::1]`); anything else is refused.
//! 2. **Seeding.** Each of the `--concurrency` workers opens its own HTTP/1.1
//!    keep-alive connection (TCP_NODELAY) and obtains a starting refresh token
//!    through the password grant (`--username`, `--password`, `--scope`).
//!    A seeding failure aborts the run with the server's error.
//! 3. **Warm-up** (`--warmup`, default `2s`): requests run but are not recorded.
//! 4. **Measurement** (`--duration`, default `10s`, optionally capped by
//!    `--requests N`): every worker sends `grant_type=refresh_token` requests
//!    strictly one after another on its connection. Responses completing inside
//!    the window are recorded; the run then stops by itself.
//!
//! ## Modes
//!
//! * `--mode rotate` (default): one rotation chain per worker; whenever a
//!   response carries a `refresh_token`, the next request uses it.
//! * `--mode reuse`: for servers configured to let refresh tokens be reused;
//!   the worker keeps presenting the same token, switching only if the server
//!   returns a different one.
//!
//! Both modes report how many responses carried a new refresh token. When a
//! chain breaks (`invalid_grant`), the worker counts the error, re-seeds
//! through the password grant and continues. Dropped connections are
//! re-established and counted.
//!
//! ## Many grants (`--tokens-file FILE`)
//!
//! Instead of one chain per worker, refresh uniformly random grants among many: the
//! file holds one refresh token a line, all of one width (`baton seed-grants --out`
//! writes one). The lines are dealt out to the workers (worker w of c owns the lines i
//! with i mod c = w), so no chain is ever presented twice at once; each request
//! picks one of the worker's chains uniformly at random and a response's new refresh
//! token replaces it in memory. A chain answered `invalid_grant` is given up (no
//! re-seeding). Seeding is then only opening the connections. A request still in
//! flight at the end is let finish (not recorded), so that every chain holds its latest
//! token; `--save-tokens` writes them back to the file, in their lines, for a later run
//! to go on from (without it, a second run on the same file presents tokens the server
//! has replaced: reuse, which revokes their grants).
//!
//! ## Client authentication
//!
//! `--auth basic` (default, `client_secret_basic`), `--auth post`
//! (`client_secret_post`) or `--auth none` (public client: `client_id` in the
//! body only).
//!
//! ## Output
//!
//! Mode, concurrency, duration, total requests, throughput (successful
//! refreshes per second), latency p50/p90/p99/p99.9/max of successful requests
//! in milliseconds, and errors by HTTP status and OAuth `error` code (e.g.
//! `400 invalid_grant: 3`). "requests" counts refresh requests that completed
//! in the window (ok + failed); the error breakdown also lists failures that
//! are not refresh requests (`connect: ...`, `re-seed: ...`). `--json` prints the same summary as one JSON object
//! on stdout; progress messages go to stderr.
//!
//! Other options: `--threads N` (Tokio worker threads of the generator,
//! default: number of CPUs), `--timeout` (per request, default `10s`).
//! Durations accept `us`, `ms`, `s`, `m`, `h` suffixes (`500ms`, `2m`, `1.5s`).

mod args;
mod client;
mod dpop;
mod pool;
mod stats;
mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use tokio::time::Instant;

use crate::args::{parse_target, resolve, Args, Auth};
use crate::client::Endpoint;
use crate::stats::{RunInfo, Summary, WorkerStats};
use crate::worker::{Seed, Shared};

fn main() -> ExitCode {
    let args = Args::parse();
    match start(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn start(args: &Args) -> Result<(), String> {
    if args.auth != Auth::None && args.client_secret.is_none() {
        return Err(format!(
            "--client-secret is required with --auth {} (use --auth none for public clients)",
            if args.auth == Auth::Basic {
                "basic"
            } else {
                "post"
            }
        ));
    }
    if args.duration.is_zero() {
        return Err("--duration must be greater than zero".to_owned());
    }
    if args.timeout.is_zero() {
        return Err("--timeout must be greater than zero".to_owned());
    }
    let target = parse_target(&args.token_url)?;
    let chains = match &args.tokens_file {
        Some(path) => Some(pool::load(path, args.concurrency as usize)?),
        None => None,
    };
    let threads = match args.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the Tokio runtime: {e}"))?;
    let info = RunInfo {
        target: target.url.clone(),
        mode: args.mode.as_str(),
        auth: args.auth.as_str(),
        dpop: args.dpop,
        concurrency: args.concurrency,
        threads,
        warmup: args.warmup,
        duration: args.duration,
        requests_cap: args.requests,
        grants: chains
            .as_ref()
            .map(|p| p.iter().map(|c| c.len() as u64).sum()),
    };
    let summary = runtime.block_on(async {
        let addr = resolve(&target).await?;
        let endpoint = Endpoint::new(args, &target, addr)?;
        match chains {
            Some(chains) => run_pool(args, endpoint, info, chains).await,
            None => run(args, endpoint, info).await,
        }
    })?;
    // Do not wait for connection tasks still parked on the server.
    runtime.shutdown_timeout(Duration::from_millis(100));
    if args.json {
        println!("{}", summary.to_json());
    } else {
        print!("{}", summary.to_text());
    }
    Ok(())
}

async fn run(args: &Args, endpoint: Endpoint, info: RunInfo) -> Result<Summary, String> {
    let concurrency = args.concurrency as usize;
    let how = if args.seed_token.is_some() {
        "from --seed-token"
    } else {
        "via the password grant"
    };
    eprintln!(
        "baton-bench: seeding {concurrency} refresh tokens {how} at {}",
        info.target
    );
    let endpoint = Arc::new(endpoint);
    let mut seeding = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let endpoint = Arc::clone(&endpoint);
        let timeout = args.timeout;
        seeding.push(tokio::spawn(async move {
            worker::seed(&endpoint, timeout).await
        }));
    }
    let mut seeds: Vec<Seed> = Vec::with_capacity(concurrency);
    for handle in seeding {
        let seed = handle
            .await
            .map_err(|e| format!("seeding task failed: {e}"))?
            .map_err(|e| format!("seeding failed: {e}"))?;
        seeds.push(seed);
    }

    let (shared, measure_start) = start_window(args, endpoint, &info);
    let workers: Vec<_> = seeds
        .into_iter()
        .map(|seed| tokio::spawn(worker::run(Arc::clone(&shared), seed)))
        .collect();
    let mut total = WorkerStats::default();
    for handle in workers {
        total.merge(
            handle
                .await
                .map_err(|e| format!("worker task failed: {e}"))?,
        );
    }
    Ok(Summary::new(info, total, measure_start))
}

/// `--tokens-file`: each worker opens its connection and refreshes random chains of
/// its partition.
async fn run_pool(
    args: &Args,
    endpoint: Endpoint,
    info: RunInfo,
    chains: Vec<pool::Partition>,
) -> Result<Summary, String> {
    eprintln!(
        "baton-bench: {} refresh tokens from --tokens-file, {} workers, at {}",
        info.grants.unwrap_or(0),
        chains.len(),
        info.target
    );
    let endpoint = Arc::new(endpoint);
    let mut conns = Vec::with_capacity(chains.len());
    for _ in 0..chains.len() {
        conns.push(worker::connect(&endpoint, args.timeout).await?);
    }
    let (shared, measure_start) = start_window(args, endpoint, &info);
    let workers: Vec<_> = conns
        .into_iter()
        .zip(chains)
        .map(|(conn, part)| tokio::spawn(worker::run_pool(Arc::clone(&shared), conn, part)))
        .collect();
    let mut total = WorkerStats::default();
    let mut chains = Vec::with_capacity(workers.len());
    for handle in workers {
        let (stats, part) = handle
            .await
            .map_err(|e| format!("worker task failed: {e}"))?;
        total.merge(stats);
        chains.push(part);
    }
    if let (true, Some(path)) = (args.save_tokens, &args.tokens_file) {
        pool::save(path, &chains)?;
    }
    Ok(Summary::new(info, total, measure_start))
}

/// Starts the clock: the warm-up from now, then the measured window.
fn start_window(args: &Args, endpoint: Arc<Endpoint>, info: &RunInfo) -> (Arc<Shared>, Instant) {
    let measure_start = Instant::now() + args.warmup;
    let end = measure_start + args.duration;
    eprintln!(
        "baton-bench: {} mode, {} workers: warm-up {:.2} s, then measuring {:.2} s",
        info.mode,
        args.concurrency,
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64()
    );
    let shared = Arc::new(Shared::new(
        endpoint,
        args.timeout,
        measure_start,
        end,
        args.requests,
        args.tokens_file.is_some(),
    ));
    (shared, measure_start)
}
