//! `baton seed-grants`: many grants of one client and user, written straight into the
//! configured store, and the refresh token of each written to a file, for benchmarks at
//! scale (scripts/bench-scale, `baton-bench --tokens-file`).
//!
//! Each grant is built as the token endpoint builds one for that client and user (the
//! effective refresh-token settings fixed now: `grants::build`) and its refresh token
//! is sealed with the server's key, so a server on the same configuration accepts it.
//! Grants are inserted in batches (`baton_store::Seeder`: one SQLite transaction or one
//! PostgreSQL `COPY` each), the next batch built while the last one is written, so
//! memory stays bounded whatever `--count`; each batch's ids are random within a slice
//! of the id space of its own ([`slice_id`]), so that the indexes grow at their end.
//! Seeded grants have no `grant.created` event.

use crate::admin::{open, print_json, Common, Failure, Outcome};
use baton_core::model::{GrantId, GrantType};
use baton_core::time::{Dur, Timestamp};
use baton_core::token::RefreshClaims;
use baton_server::grants::{build, refresh_due, requested_scope, NewGrant};
use baton_server::state::AppState;
use baton_store::Seeder;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Grants per batch: one transaction or COPY each.
const BATCH: u64 = 50_000;

/// Progress on standard error every this many grants.
const PROGRESS_EVERY: u64 = 1_000_000;

const DAY: Dur = Dur(24 * 3600 * 1000);

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// The client the grants are for; its refresh-token settings fix the grants'.
    #[arg(long = "client", value_name = "CLIENT_ID")]
    client: String,
    /// The user the grants are for (username).
    #[arg(long, value_name = "USERNAME")]
    username: String,
    /// The grants' scope: it must earn a refresh token from the client.
    #[arg(long, default_value = "offline_access")]
    scope: String,
    /// How many grants to add.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,
    /// The file the live grants' refresh tokens are written to, one a line, all of the
    /// same width (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Make this share of the grants (every grant whose index modulo 100 is below it)
    /// expired for longer than `cleanup.retain_revoked`, so that the cleanup job has
    /// them to delete; their tokens are not written.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    expired_percent: u8,
}

/// What a run did.
#[derive(serde::Serialize)]
struct Report {
    client_id: String,
    username: String,
    grants: u64,
    live: u64,
    expired: u64,
    token_width: usize,
    out: String,
    seconds: f64,
}

pub async fn run(args: SeedArgs, c: &Common) -> Outcome {
    let st = open(c).await?;
    let r = seed(&st, &args).await;
    st.store_close();
    let report = r?;
    if c.json {
        return print_json(&report);
    }
    println!(
        "seeded {} grants of client {} for user {} ({} live, {} expired) in {:.1} s; {} refresh tokens of {} characters in {}",
        report.grants,
        report.client_id,
        report.username,
        report.live,
        report.expired,
        report.seconds,
        report.live,
        report.token_width,
        report.out
    );
    Ok(())
}

/// The grants' common part, checked once.
struct Template {
    client: baton_core::model::Client,
    user: baton_core::model::User,
    scope: baton_core::scope::Scope,
    resources: Vec<String>,
}

async fn template(st: &AppState, args: &SeedArgs) -> Result<Template, Failure> {
    let unavailable =
        |e: baton_core::error::StoreError| Failure::Unavailable(format!("the store failed: {e}"));
    let client = st
        .store
        .get_client(&args.client)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Failure::NotFound(format!("no client {}", args.client)))?;
    let user = st
        .store
        .get_user(&args.username)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Failure::NotFound(format!("no user {}", args.username)))?;
    if !client.active || !user.active {
        return Err(Failure::Usage(
            "the client and the user must be active: their grants could not be refreshed".into(),
        ));
    }
    let scope = requested_scope(&client, Some(&args.scope))
        .map_err(|e| Failure::Usage(format!("--scope: {}", e.description)))?;
    let settings = st.refresh_settings(&client);
    if !refresh_due(&client, &settings, &scope, GrantType::Password) {
        return Err(Failure::Usage(format!(
            "client {} gets no refresh token for the scope {:?}",
            client.client_id,
            scope.as_str()
        )));
    }
    if !settings.persist {
        return Err(Failure::Usage(format!(
            "client {}'s grants are not persisted (persist = false): seed-grants writes the main store only",
            client.client_id
        )));
    }
    // As the password grant does when no resource is asked: the client's default one.
    let resources = baton_server::resources::target(st, &client, &[], None)
        .await
        .map_err(|e| Failure::Usage(format!("the client's default resource: {e}")))?
        .map(|r| vec![r.identifier])
        .unwrap_or_default();
    Ok(Template {
        client,
        user,
        scope,
        resources,
    })
}

async fn seed(st: &AppState, args: &SeedArgs) -> Result<Report, Failure> {
    let t = template(st, args).await?;
    let file = std::fs::File::create(&args.out)
        .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", args.out.display())))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let write_failed =
        |e: std::io::Error| Failure::Internal(format!("cannot write {}: {e}", args.out.display()));
    let seeder = Arc::new(
        Seeder::open(&st.cfg.storage.url, st.cfg.storage.pool_size)
            .await
            .map_err(|e| Failure::Unavailable(format!("cannot open the store: {e}")))?,
    );
    let retain = Dur(st.cfg.cleanup.retain_revoked.0.max(0));
    let started = Instant::now();
    let (mut live, mut width, mut committed) = (0u64, 0usize, 0u64);
    // The batch being written: its task, its token lines (appended once it is
    // committed) and its size.
    let mut pending: Option<(tokio::task::JoinHandle<_>, String, u64)> = None;
    let mut next = 0u64;
    let result = loop {
        let batch = if next < args.count {
            let end = (next + BATCH).min(args.count);
            let b = batch(st, &t, args, next..end, retain, &mut width);
            let Ok((grants, lines, n_live)) = b else {
                break b.map(|_| ());
            };
            live += n_live;
            let size = end - next;
            next = end;
            let s = Arc::clone(&seeder);
            Some((
                tokio::spawn(async move { s.seed_grants(grants).await }),
                lines,
                size,
            ))
        } else {
            None
        };
        if let Some((task, lines, n)) = pending.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break Err(Failure::Unavailable(format!("the store failed: {e}"))),
                Err(e) => break Err(Failure::Internal(format!("the seeding task failed: {e}"))),
            }
            if let Err(e) = out.write_all(lines.as_bytes()) {
                break Err(write_failed(e));
            }
            committed += n;
            if committed / PROGRESS_EVERY > (committed - n) / PROGRESS_EVERY {
                eprintln!(
                    "seeded {committed} of {} grants ({:.1} s)",
                    args.count,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        match batch {
            Some(b) => pending = Some(b),
            None => break Ok(()),
        }
    };
    if let Some((task, _, _)) = pending {
        // Let a batch in flight finish before the store closes; the run failed anyway.
        let _ = task.await;
    }
    seeder.close();
    result?;
    out.flush().map_err(write_failed)?;
    out.get_ref().sync_all().map_err(write_failed)?;
    Ok(Report {
        client_id: t.client.client_id.clone(),
        username: t.user.username.clone(),
        grants: args.count,
        live,
        expired: args.count - live,
        token_width: width,
        out: args.out.display().to_string(),
        seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    })
}

/// Builds the grants `range` and the token lines of the live ones; `width` is the
/// token width (0 until the first token).
fn batch(
    st: &AppState,
    t: &Template,
    args: &SeedArgs,
    range: std::ops::Range<u64>,
    retain: Dur,
    width: &mut usize,
) -> Result<(Vec<baton_core::model::Grant>, String, u64), Failure> {
    let now = st.clock.now();
    let n = (range.end - range.start) as usize;
    let mut grants = Vec::with_capacity(n);
    let mut lines = String::with_capacity(n * (*width + 1).max(100));
    let mut live = 0;
    for i in range {
        let expired = i % 100 < u64::from(args.expired_percent);
        let id = slice_id(i / BATCH, args.count.div_ceil(BATCH));
        let g = grant(st, t, id, now, expired, retain);
        if !expired {
            let token = st.rt_keys.seal(&RefreshClaims {
                grant_id: g.id,
                generation: g.generation,
                flags: 0,
            });
            if *width == 0 {
                *width = token.len();
            } else if token.len() != *width {
                return Err(Failure::Internal(
                    "refresh tokens of different widths: the file could not be fixed-width".into(),
                ));
            }
            lines.push_str(&token);
            lines.push('\n');
            live += 1;
        }
        grants.push(g);
    }
    Ok((grants, lines, live))
}

/// A random grant id in slice `k` of `slices` equal slices of the id space (ids
/// compare as big-endian numbers, in SQLite and PostgreSQL alike). Each batch draws its
/// ids from a slice of its own, above the last batch's: together they are spread over
/// the id space as random ids are, but every batch adds to the right-hand end of each
/// index instead of touching most of its pages (with ids drawn anywhere, a batch of
/// 50,000 dirties a page per index for nearly every row once the tables are large, and
/// each commit writes them all again: seeding a million grants took twice as long, and
/// the time per batch grew with the table). The database comes out the same size (at a
/// million grants on SQLite: 333 bytes per grant this way, 329 with ids drawn anywhere).
fn slice_id(k: u64, slices: u64) -> GrantId {
    let width = u128::MAX / u128::from(slices.max(1));
    let r = u128::from_be_bytes(baton_core::random_bytes());
    GrantId((u128::from(k) * width + r % width).to_be_bytes())
}

/// One grant as the token endpoint would build it now; an `expired` one was created
/// two days before `retain` ago and expired a day later, so cleanup deletes it.
fn grant(
    st: &AppState,
    t: &Template,
    id: GrantId,
    now: Timestamp,
    expired: bool,
    retain: Dur,
) -> baton_core::model::Grant {
    let at = if expired {
        now.plus(Dur(-(retain.0.saturating_add(2 * DAY.0))))
    } else {
        now
    };
    let mut g = build(
        st,
        &NewGrant {
            client: &t.client,
            user: &t.user,
            scope: &t.scope,
            session_id: None,
            auth_time: at,
            id,
            dpop_jkt: None,
            resources: t.resources.clone(),
        },
        at,
    );
    if expired {
        g.expires_at = Some(at.plus(DAY));
    }
    g
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::slice_id;

    #[test]
    fn slices_are_ordered_and_cover_the_id_space() {
        let slices = 7;
        let mut last = [0u8; 16];
        for k in 0..slices {
            let ids: Vec<[u8; 16]> = (0..200).map(|_| slice_id(k, slices).0).collect();
            let (lo, hi) = (ids.iter().min().unwrap(), ids.iter().max().unwrap());
            assert!(
                *lo > last || k == 0,
                "slice {k} starts above slice {}",
                k.wrapping_sub(1)
            );
            last = *hi;
        }
        // The first slice starts near 0, the last ends near the top.
        assert!(u16::from(slice_id(0, slices).0[0]) <= 256 / 7);
        assert!(u16::from(slice_id(slices - 1, slices).0[0]) >= 255 - 256 / 7);
        // One slice: any id.
        let a = slice_id(0, 1).0;
        assert_ne!(a, slice_id(0, 1).0);
    }
}
