//! The store conformance suite: behaviour every backend must show, written once
//! against the role traits of `baton_core::store`, one file per role.
//!
//! [`CHECKS`] lists every check, and is the only way a backend runs them:
//! [`run_on_store`] runs them all on a main store, [`run_on_grants`] those of the
//! grant role on a grant cache, each on a fresh store. The checks are private and
//! dead code is denied here, so a check that is written but not listed does not
//! compile, and a listed one runs on every backend.

#![deny(dead_code)]

mod clients;
mod codes;
mod consents;
mod events;
mod grants;
mod keys;
mod maintenance;
mod outbox;
mod records;
mod reference_tokens;
mod resources;
mod sessions;
mod users;

use baton_core::model::{AuthMethod, Client, Event, Grant, GrantId, GrantStatus};
use baton_core::policy::RefreshOverrides;
use baton_core::store::{BoxFuture, GrantStore, Revocation, Store};
use baton_core::time::{Dur, Timestamp};
use std::future::Future;
use std::sync::Arc;

pub const T0: Timestamp = Timestamp(1_800_000_000_000);

/// One conformance check: its name (`role::function`) and how it runs.
#[derive(Clone, Copy)]
pub struct Check {
    pub name: &'static str,
    pub run: Run,
}

/// What a check needs: only the grant role (it runs on the grant caches too), or the
/// whole main store.
#[derive(Clone, Copy)]
pub enum Run {
    Grants(fn(Arc<dyn GrantStore>) -> BoxFuture<'static, ()>),
    Store(fn(Arc<dyn Store>) -> BoxFuture<'static, ()>),
}

/// Builds [`CHECKS`] from `role::function (grants | store)` entries.
macro_rules! checks {
    ($($role:ident :: $name:ident ($kind:ident)),* $(,)?) => {
        /// Every conformance check, in the order the runners run them.
        pub const CHECKS: &[Check] = &[$(Check {
            name: concat!(stringify!($role), "::", stringify!($name)),
            run: checks!(@run $kind $role::$name),
        }),*];
    };
    (@run grants $f:path) => { Run::Grants(|s| Box::pin($f(s))) };
    (@run store $f:path) => { Run::Store(|s| Box::pin($f(s))) };
}

checks! {
    grants::grant_lifecycle(grants),
    grants::advance_race(grants),
    grants::revoke_filters(grants),
    grants::list_grants(grants),
    grants::key_binding(grants),
    grants::grant_resources(grants),
    grants::revocation_events(store),
    clients::client_records(store),
    clients::client_update(store),
    clients::client_origins(store),
    clients::client_managed_by(store),
    clients::client_pages(store),
    clients::client_apis(store),
    users::user_records(store),
    users::user_pages(store),
    users::user_roles_groups(store),
    users::user_admin(store),
    resources::resource_records(store),
    resources::resource_upsert_update(store),
    resources::resource_pages(store),
    sessions::session_records(store),
    sessions::session_clients(store),
    codes::code_records(store),
    codes::code_race(store),
    consents::consent_records(store),
    consents::consent_race(store),
    consents::consent_withdrawal(store),
    consents::consent_list(store),
    events::event_records(store),
    events::event_retention(store),
    events::events_of_a_grant(store),
    keys::retire_keeps_the_earlier_time(store),
    reference_tokens::token_records(store),
    records::request_records(store),
    maintenance::ping(store),
    maintenance::revocation_markers(store),
    maintenance::cleanup(store),
    maintenance::cleanup_idle_recheck(store),
    maintenance::cleanup_race(store),
    outbox::outbox_lifecycle(store),
    outbox::outbox_claim_race(store),
    outbox::webhook_subscriptions(store),
}

/// The checks to run: all, or those whose name contains `BATON_CONFORMANCE`.
fn selected() -> impl Iterator<Item = &'static Check> {
    let only = std::env::var("BATON_CONFORMANCE").unwrap_or_default();
    CHECKS
        .iter()
        .filter(move |c| c.name.contains(only.as_str()))
}

/// Runs every check on a main store, each on a fresh one from `fresh` (which also
/// answers what must outlive the store: a directory, a schema); `done` then tidies
/// up after it. Panics naming every check that failed. Run it on a multi-threaded
/// runtime: the race checks need one.
pub async fn run_on_store<G, F, Fut, D, DFut>(backend: &str, fresh: F, done: D)
where
    G: Send + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = (G, Arc<dyn Store>)>,
    D: Fn(G) -> DFut,
    DFut: Future<Output = ()>,
{
    let mut failed = Vec::new();
    for c in selected() {
        let (guard, s) = fresh().await;
        let task = match c.run {
            Run::Grants(f) => f(s as Arc<dyn GrantStore>),
            Run::Store(f) => f(s),
        };
        outcome(backend, c, tokio::spawn(task).await, &mut failed);
        done(guard).await;
    }
    assert!(
        failed.is_empty(),
        "{backend}: failed conformance checks: {failed:?}"
    );
}

/// Runs the grant role's checks on a grant cache, as [`run_on_store`] does.
pub async fn run_on_grants<G, F, Fut, D, DFut>(backend: &str, fresh: F, done: D)
where
    G: Send + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = (G, Arc<dyn GrantStore>)>,
    D: Fn(G) -> DFut,
    DFut: Future<Output = ()>,
{
    let mut failed = Vec::new();
    for c in selected() {
        let Run::Grants(f) = c.run else { continue };
        let (guard, s) = fresh().await;
        outcome(backend, c, tokio::spawn(f(s)).await, &mut failed);
        done(guard).await;
    }
    assert!(
        failed.is_empty(),
        "{backend}: failed conformance checks: {failed:?}"
    );
}

fn outcome(
    backend: &str,
    c: &Check,
    r: Result<(), tokio::task::JoinError>,
    failed: &mut Vec<&'static str>,
) {
    match r {
        Ok(()) => eprintln!("conformance {backend} {}: ok", c.name),
        Err(e) => {
            eprintln!("conformance {backend} {}: FAILED ({e})", c.name);
            failed.push(c.name);
        }
    }
}

pub fn grant(client: &str, subject: &str, session: Option<&str>, created: Timestamp) -> Grant {
    Grant {
        resources: Default::default(),
        id: GrantId(baton_core::random_bytes()),
        client_id: client.into(),
        subject: subject.into(),
        scope: baton_core::scope::Scope::parse("openid offline_access").unwrap(),
        session_id: session.map(str::to_string),
        online: false,
        auth_time: created,
        created_at: created,
        expires_at: Some(created.plus(Dur::secs(86_400))),
        sliding: Some(Dur::secs(3600)),
        last_used_at: created,
        generation: 1,
        generation_started_at: created,
        rotate: true,
        grace: Dur::secs(30),
        update_claims: true,
        claims_snapshot: None,
        persist: true,
        status: GrantStatus::Active,
        // Every backend keeps a grant's DPoP key binding (RFC 9449 §5).
        dpop_jkt: Some(JKT.into()),
    }
}

/// A DPoP key thumbprint (RFC 7638) the fixtures are bound to.
pub const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

pub fn event(kind: &str, t: Timestamp, client: Option<&str>, subject: Option<&str>) -> Event {
    Event {
        id: baton_core::event_id(t),
        kind: kind.into(),
        time: t,
        client_id: client.map(str::to_string),
        subject: subject.map(str::to_string),
        grant_id: None,
        ip: Some("127.0.0.1".into()),
        user_agent: Some("conformance".into()),
        details: serde_json::json!({"n": 1}),
    }
}

pub(crate) fn why(reason: &str) -> Revocation {
    Revocation {
        reason: reason.into(),
        now: T0.plus(Dur::secs(5)),
        ip: None,
        user_agent: None,
        extra_events: vec![],
        actor: None,
    }
}

pub(crate) fn client(id: &str) -> Client {
    Client {
        apis: Default::default(),
        client_id: id.into(),
        client_name: Some("Name".into()),
        secret_sha256: Some([7; 32]),
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: vec!["https://a.example/cb".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        allowed_origins: vec!["https://spa.example".into()],
        grant_types: vec![baton_core::model::GrantType::AuthorizationCode],
        scopes: vec!["openid".into()],
        access_token_format: None,
        id_token_alg: baton_core::model::SigAlg::RS256,
        introspect_any: false,
        dpop_bound_access_tokens: true,
        jwks: None,
        refresh: RefreshOverrides {
            grace_period: Some(Dur::secs(5)),
            ..Default::default()
        },
        active: true,
        created_at: T0,
        dynamically_registered: true,
        managed_by: baton_core::model::ManagedBy::Api,
    }
}
