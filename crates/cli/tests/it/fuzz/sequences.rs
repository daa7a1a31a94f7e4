//! The sequence fuzzer over the refresh engine: random interleavings of refresh with the
//! latest token, replay of an older one, two concurrent refreshes, `/revoke`, logout,
//! clock moves (within and beyond grace, sliding and absolute lifetimes, the session's
//! idle lifetime) and restarts on the same database, under random policies, against a
//! real server. After every step the model is compared with the answers:
//!
//! (a) never two different successors of one generation: two 200 answers to tokens of
//!     the same grant and generation carry the same refresh token;
//! (b) never a success after revocation or expiry: once the store shows a grant revoked
//!     (by `/revoke`, logout, a reuse reaction) or past its expiry, no refresh of it
//!     succeeds;
//! (c) never a 5xx;
//! (d) liveness: the latest token of a grant the store shows live (and not bound to
//!     a session's lifetime) is honoured, by both of two concurrent refreshes (both
//!     arrive at the one node before either is answered) whatever the grace period,
//!     `0s` included.
//!
//! Which error a refused request gets is left to the policies: only the four rules
//! above are checked.

use super::{run, runtime};
use crate::refresh::{
    arrive_together, claims, public, public_toml, rt, user_toml, Cl, SPA_C, WEB_C,
};
use baton_core::model::GrantId;
use baton_core::time::Dur;
use baton_testkit::flow::code_flow;
use baton_testkit::{TestServer, BASE_CLIENTS};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use std::collections::HashMap;

/// The refresh policy of one sequence (server-wide `[refresh_tokens]`).
#[derive(Clone, Debug)]
struct Policy {
    grace_secs: u32,
    reaction: &'static str,
    usage: &'static str,
    /// (absolute_lifetime, sliding_lifetime), a combination the config accepts.
    lifetimes: (&'static str, &'static str),
}

impl Policy {
    fn toml(&self) -> String {
        format!(
            "[refresh_tokens]\ngrace_period = \"{}s\"\nreuse_reaction = \"{}\"\nusage = \"{}\"\nabsolute_lifetime = \"{}\"\nsliding_lifetime = \"{}\"\n{}{}",
            self.grace_secs,
            self.reaction,
            self.usage,
            self.lifetimes.0,
            self.lifetimes.1,
            user_toml("bob"),
            public_toml("volatile", "persist = false"),
        )
    }
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop_oneof![Just(0u32), Just(5), Just(30)],
        prop_oneof![
            Just("revoke_grant"),
            Just("revoke_session"),
            Just("revoke_client_user"),
            Just("log_only"),
        ],
        prop_oneof![3 => Just("auto"), 2 => Just("one_time"), 1 => Just("reuse")],
        prop_oneof![
            Just(("30d", "7d")),
            Just(("1h", "10m")),
            Just(("1h", "off")),
            Just(("unlimited", "10m")),
            Just(("30d", "off")),
        ],
    )
        .prop_map(|(grace_secs, reaction, usage, lifetimes)| Policy {
            grace_secs,
            reaction,
            usage,
            lifetimes,
        })
}

/// The grants of a sequence: 0 alice/spa (password), 1 bob/web (password), 2 alice/web
/// (browser, offline_access), 3 alice/spa (browser, online_access), 4 alice/volatile
/// (password, `persist = false`: kept in the in-process cache, gone after a restart).
const GRANTS: usize = 5;

#[derive(Clone, Debug)]
enum Op {
    /// Refresh with the latest token.
    Refresh(usize),
    /// Present an older token of the grant (`n` back in its history).
    Replay(usize, usize),
    /// Two refreshes with the latest token at once.
    Double(usize),
    /// `/revoke` the latest (or an older) token.
    Revoke(usize, bool),
    /// End the browser session of grants 2 and 3.
    Logout,
    /// Move the clock forward this many seconds.
    Advance(i64),
    /// Stop the server and start it again on the same database.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let g = 0..GRANTS;
    let secs = prop_oneof![
        3 => 1i64..5,       // within a 5 s grace period
        2 => 6i64..29,      // beyond 5 s, within 30 s
        2 => 31i64..90,     // beyond every grace period
        1 => 601i64..700,   // beyond a 10 min sliding window
        1 => 3_601i64..4_000, // beyond a 1 h absolute lifetime
        1 => 86_401i64..90_000, // beyond the session's idle lifetime
    ];
    prop_oneof![
        6 => g.clone().prop_map(Op::Refresh),
        2 => (g.clone(), 1usize..4).prop_map(|(i, n)| Op::Replay(i, n)),
        2 => g.clone().prop_map(Op::Double),
        1 => (g, any::<bool>()).prop_map(|(i, l)| Op::Revoke(i, l)),
        1 => Just(Op::Logout),
        4 => secs.prop_map(Op::Advance),
        1 => Just(Op::Restart),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    policy: Policy,
    ops: Vec<Op>,
}

fn case() -> impl Strategy<Value = Case> {
    (policy(), prop::collection::vec(op(), 12..30)).prop_map(|(policy, ops)| Case { policy, ops })
}

/// What the test knows of one grant.
struct GrantModel {
    id: GrantId,
    /// Kept in the cache, not the main store.
    persist: bool,
    cl: Cl,
    /// Every refresh token of this grant seen so far, in order.
    history: Vec<String>,
    /// The token of the highest generation seen.
    latest: String,
    /// Bound to the browser session's lifetime (online_access): not held to liveness.
    online: bool,
    /// Since when the store has shown it revoked or expired (the step's index).
    dead: Option<String>,
}

struct Model {
    grants: Vec<GrantModel>,
    /// (grant, generation presented) -> the refresh token a 200 answered.
    successors: HashMap<(usize, u64), String>,
    sid: String,
    logged_out: bool,
    /// How far the clock has been moved, to carry over a restart.
    offset_ms: i64,
    refreshes: usize,
    successes: usize,
    restarts: usize,
    /// Refreshes of grants already revoked or expired (rule b applied).
    after_death: usize,
    /// Refreshes held to rule d.
    liveness: usize,
}

fn fail(step: usize, op: &Op, msg: String) -> TestCaseError {
    TestCaseError::fail(format!("step {step} ({op:?}): {msg}"))
}

async fn refresh_as(s: &TestServer, cl: Cl, token: &str) -> (u16, Value) {
    let (st, v) = crate::refresh::refresh(s, cl, token).await;
    (st.as_u16(), v)
}

/// Checks one refresh answer against rules (a), (b) and (c) and records it.
fn answer(
    s: &TestServer,
    m: &mut Model,
    i: usize,
    presented: &str,
    (st, v): &(u16, Value),
    step: usize,
    op: &Op,
) -> Result<(), TestCaseError> {
    m.refreshes += 1;
    if m.grants[i].dead.is_some() {
        m.after_death += 1;
    }
    if *st >= 500 {
        return Err(fail(step, op, format!("(c) a {st}: {v}")));
    }
    if *st != 200 {
        return Ok(());
    }
    m.successes += 1;
    let g = &mut m.grants[i];
    if let Some(why) = &g.dead {
        return Err(fail(
            step,
            op,
            format!(
                "(b) a refresh succeeded after the grant was {why}: refresh_token {}",
                v["refresh_token"]
            ),
        ));
    }
    let Some(next) = v["refresh_token"].as_str() else {
        return Err(fail(step, op, format!("a 200 without refresh_token: {v}")));
    };
    let Some(c) = s.state().rt_keys.open(next) else {
        return Err(fail(
            step,
            op,
            format!("a successor that does not open: {next}"),
        ));
    };
    if c.grant_id != g.id {
        return Err(fail(step, op, "a successor of another grant".into()));
    }
    let from = claims(s, presented).generation;
    match m.successors.get(&(i, from)) {
        Some(prev) if prev != next => {
            return Err(fail(
                step,
                op,
                format!(
                    "(a) two successors of generation {from}: {prev} and {next} (generations {} and {})",
                    claims(s, prev).generation,
                    c.generation
                ),
            ))
        }
        _ => {
            m.successors.insert((i, from), next.to_string());
        }
    }
    if !g.history.iter().any(|t| t == next) {
        g.history.push(next.to_string());
    }
    if c.generation >= claims(s, &g.latest).generation {
        g.latest = next.to_string();
    }
    Ok(())
}

/// Reads every grant back and marks the ones the store shows revoked or expired.
/// Answers, per grant, whether it is live with `latest` current and well inside its
/// lifetimes (for rule d).
async fn observe(s: &TestServer, m: &mut Model, step: usize) -> Vec<bool> {
    let now = s.clock.now();
    let mut live = Vec::new();
    for g in &mut m.grants {
        let stored = s.state().grants(g.persist).get_grant(g.id).await;
        let Ok(Some(stored)) = stored else {
            if matches!(stored, Ok(None)) && g.dead.is_none() {
                g.dead = Some(format!("gone from the store (seen after step {step})"));
            }
            live.push(false);
            continue;
        };
        if g.dead.is_none() {
            if !stored.is_active() {
                g.dead = Some(format!("revoked (seen after step {step})"));
            } else if stored.expiry().is_some_and(|e| now >= e) {
                g.dead = Some(format!("expired (seen after step {step})"));
            }
        }
        let margin = Dur::secs(5);
        live.push(
            g.dead.is_none()
                && !g.online
                && stored.expiry().is_none_or(|e| e.since(now) > margin)
                && claims(s, &g.latest).generation == stored.generation,
        );
    }
    live
}

/// Starts a server for `policy` on `pg` (a PostgreSQL storage URL) or, without one, on
/// the SQLite file in `dir` (a fresh one when `None`).
async fn start(dir: Option<tempfile::TempDir>, policy: &Policy, pg: Option<&str>) -> TestServer {
    match (pg, dir) {
        (Some(url), _) => TestServer::start_with_storage(url, &policy.toml()).await,
        (None, None) => TestServer::start(&policy.toml()).await,
        (None, Some(d)) => {
            TestServer::start_in(d, &format!("{BASE_CLIENTS}\n{}", policy.toml())).await
        }
    }
}

async fn setup(s: &TestServer) -> Model {
    let alice_spa = crate::refresh::login(s, SPA_C).await;
    let bob_web = rt(&crate::refresh::login_as(s, WEB_C, "bob", "openid offline_access").await);
    let alice_web = rt(&code_flow(s, "web", "openid offline_access").await);
    let alice_online = rt(&code_flow(s, "spa", "openid online_access").await);
    let volatile = public("volatile");
    let alice_volatile = crate::refresh::login(s, volatile).await;
    let sid = crate::refresh::grant(s, &alice_online)
        .await
        .session_id
        .expect("a browser grant has a session");
    let grants = [
        (alice_spa, SPA_C, false),
        (bob_web, WEB_C, false),
        (alice_web, WEB_C, false),
        (alice_online, SPA_C, true),
        (alice_volatile, volatile, false),
    ]
    .into_iter()
    .map(|(t, cl, online)| GrantModel {
        id: claims(s, &t).grant_id,
        persist: claims(s, &t).persist(),
        cl,
        history: vec![t.clone()],
        latest: t,
        online,
        dead: None,
    })
    .collect();
    Model {
        grants,
        successors: HashMap::new(),
        sid,
        logged_out: false,
        offset_ms: 0,
        refreshes: 0,
        successes: 0,
        restarts: 0,
        after_death: 0,
        liveness: 0,
    }
}

/// Runs one sequence on `s`; answers the server (it may have been restarted).
async fn sequence(
    mut s: TestServer,
    case: &Case,
    m: &mut Model,
    pg: Option<&str>,
) -> (TestServer, Result<(), TestCaseError>) {
    let mut live = observe(&s, m, 0).await;
    for (step, op) in case.ops.iter().enumerate() {
        let step = step + 1;
        let r: Result<(), TestCaseError> = async {
            match op {
                Op::Refresh(i) => {
                    let (cl, t) = (m.grants[*i].cl, m.grants[*i].latest.clone());
                    let a = refresh_as(&s, cl, &t).await;
                    m.liveness += usize::from(live[*i]);
                    if live[*i] && a.0 != 200 {
                        return Err(fail(
                            step,
                            op,
                            format!(
                                "(d) the latest token of a live grant was refused: {} {}",
                                a.0, a.1
                            ),
                        ));
                    }
                    answer(&s, m, *i, &t, &a, step, op)
                }
                Op::Replay(i, n) => {
                    let h = &m.grants[*i].history;
                    let t = h[h.len() - 1 - (n % h.len())].clone();
                    let a = refresh_as(&s, m.grants[*i].cl, &t).await;
                    answer(&s, m, *i, &t, &a, step, op)
                }
                Op::Double(i) => {
                    let (cl, t) = (m.grants[*i].cl, m.grants[*i].latest.clone());
                    // Both arrive before either is answered (one node): the loser of
                    // the race is answered the winner's successor, whatever the grace
                    // period (0 included): concurrency is never reuse.
                    let both = arrive_together(&s, cl, &t, 2).await;
                    let [a, b] = [0, 1].map(|k| (both[k].0.as_u16(), both[k].1.clone()));
                    if live[*i] {
                        m.liveness += 2;
                        if a.0 != 200 || b.0 != 200 {
                            return Err(fail(
                                step,
                                op,
                                format!("(d) a concurrent refresh of a live grant was refused: {} {} / {} {}", a.0, a.1, b.0, b.1),
                            ));
                        }
                    }
                    answer(&s, m, *i, &t, &a, step, op)?;
                    answer(&s, m, *i, &t, &b, step, op)
                }
                Op::Revoke(i, latest) => {
                    let g = &m.grants[*i];
                    let t = if *latest || g.history.len() < 2 {
                        g.latest.clone()
                    } else {
                        g.history[g.history.len() - 2].clone()
                    };
                    let mut form =
                        vec![("token", t.as_str()), ("token_type_hint", "refresh_token")];
                    let basic = match g.cl.secret {
                        Some(secret) => Some((g.cl.id, secret)),
                        None => {
                            form.push(("client_id", g.cl.id));
                            None
                        }
                    };
                    let (st, v) = s.post_form("/revoke", basic, &form).await;
                    if st.as_u16() >= 500 {
                        return Err(fail(step, op, format!("(c) a {st}: {v}")));
                    }
                    Ok(())
                }
                Op::Logout => {
                    if !m.logged_out {
                        m.logged_out = true;
                        let now = s.clock.now();
                        if let Err(e) =
                            baton_server::sessions::end(s.state(), &m.sid, "logout", now).await
                        {
                            return Err(fail(
                                step,
                                op,
                                format!("(c) ending the session failed: {e:?}"),
                            ));
                        }
                    }
                    Ok(())
                }
                Op::Advance(secs) => {
                    s.advance(Dur::secs(*secs));
                    m.offset_ms += secs * 1000;
                    Ok(())
                }
                Op::Restart => Ok(()),
            }
        }
        .await;
        if let Err(e) = r {
            return (s, Err(e));
        }
        if matches!(op, Op::Restart) {
            let dir = s.stop().await;
            s = start(Some(dir), &case.policy, pg).await;
            s.advance(Dur(m.offset_ms));
            m.restarts += 1;
        }
        live = observe(&s, m, step).await;
    }
    (s, Ok(()))
}

/// Runs `cases` sequences from `seed`, each on a fresh store: a SQLite file, or a
/// PostgreSQL schema of its own when `postgres`.
fn sequences(name: &str, cases: u32, seed: u8, postgres: bool) {
    let rt = runtime();
    let totals = std::sync::Mutex::new([0usize; 6]);
    run(name, cases, 48, seed, case(), |case| {
        rt.block_on(async {
            let schema = if postgres {
                Some(baton_testkit::pg::PgSchema::create().await)
            } else {
                None
            };
            let pg = schema.as_ref().map(|p| p.url.as_str());
            let s = start(None, &case.policy, pg).await;
            let mut m = setup(&s).await;
            let (s, result) = sequence(s, &case, &mut m, pg).await;
            s.stop().await;
            let mut t = totals.lock().unwrap();
            let counts = [
                case.ops.len(),
                m.refreshes,
                m.successes,
                m.restarts,
                m.after_death,
                m.liveness,
            ];
            for (k, n) in counts.into_iter().enumerate() {
                t[k] += n;
            }
            result
        })
    });
    let t = totals.lock().unwrap();
    eprintln!(
        "fuzz[{name}]: {} steps, {} refreshes ({} succeeded, {} of revoked or expired grants, {} held to liveness), {} restarts",
        t[0], t[1], t[2], t[4], t[5], t[3]
    );
}

#[test]
fn random_interleavings_keep_the_refresh_invariants() {
    sequences("refresh sequences (SQLite)", 40, 51, false);
}

#[test]
fn random_interleavings_keep_the_refresh_invariants_on_postgres() {
    sequences("refresh sequences (PostgreSQL)", 12, 52, true);
}
