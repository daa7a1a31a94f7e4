//! Token management (what Duende.AccessTokenManagement does for .NET): user tokens under
//! application-chosen keys and client-credentials tokens per scope, renewed ahead of
//! expiry, one request per renewal however many callers wait for it.

use crate::client::OAuthClient;
use crate::error::{Error, ErrorCode, Result};
use crate::store::TokenStore;
use crate::token::{AccessToken, TokenSet};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of the managers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ManagerOptions {
    /// Renew an access token this long before it expires (default 60 s).
    pub refresh_skew: Duration,
    /// How long a refresh keeps trying while the answers are not definitive (connection
    /// refused or reset, timeout, truncated response, 5xx, `temporarily_unavailable`),
    /// presenting the same refresh token each time, counted from the first attempt
    /// (default 25 s). Then it fails with [`Error::Timeout`]. Keep it below the server's
    /// refresh grace period, within which a repeated presentation answers the same
    /// successor. A zero window means one attempt and no retry. Definitive answers
    /// (`invalid_grant`, `invalid_client`, any other 4xx) are never retried.
    pub retry_window: Duration,
    /// The pause before the first repetition (default 200 ms); it doubles after each
    /// repetition, up to 5 s.
    pub retry_delay: Duration,
    /// Scope to ask for on refresh (`None`: the grant's scope).
    pub refresh_scope: Option<String>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            refresh_skew: Duration::from_secs(60),
            retry_window: Duration::from_secs(25),
            retry_delay: Duration::from_millis(200),
            refresh_scope: None,
        }
    }
}

impl ManagerOptions {
    pub fn with_refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh_skew = skew;
        self
    }

    /// Sets [`ManagerOptions::retry_window`] and [`ManagerOptions::retry_delay`].
    pub fn with_retry_window(mut self, window: Duration, delay: Duration) -> Self {
        self.retry_window = window;
        self.retry_delay = delay;
        self
    }
}

/// Per-key state. The async mutex is the single flight: whoever holds it refreshes, the
/// others wait and then find the fresh tokens, or the failure of the refresh they waited
/// for.
#[derive(Default)]
struct SlotInner {
    state: Arc<tokio::sync::Mutex<State>>,
    /// Callers waiting for the lock.
    waiting: AtomicUsize,
    /// Refreshes finished (successfully or not); a caller that sees this change while it
    /// waited has waited for a refresh.
    finished: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The tokens as last loaded or stored (`None`: not loaded yet).
    tokens: Option<Option<TokenSet>>,
    /// The failure of the last refresh, kept for the callers that waited on it.
    failed: Option<Arc<Error>>,
    /// `tokens` came from a refresh but saving them failed: they are saved before use.
    /// They are never replaced by what the store holds, which is the token the server
    /// retired in that refresh.
    unsaved: bool,
}

type Slot = Arc<SlotInner>;
type Guard = tokio::sync::OwnedMutexGuard<State>;

fn slot(map: &Mutex<HashMap<String, Slot>>, key: &str) -> Slot {
    match map.lock() {
        Ok(mut m) => m.entry(key.to_string()).or_default().clone(),
        // A poisoned map only means another thread panicked while inserting: a fresh
        // slot is still correct for single-flight within this call.
        Err(p) => p.into_inner().entry(key.to_string()).or_default().clone(),
    }
}

/// Counts a caller as waiting until dropped (also when the caller is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SlotInner {
    /// Takes the lock. `Some(failure)` when a refresh finished while this caller waited
    /// and failed: the caller answers that failure instead of trying again itself.
    async fn enter(&self) -> (Guard, Option<Arc<Error>>) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let w = Waiting(&self.waiting);
        let seen = self.finished.load(Ordering::SeqCst);
        let g = self.state.clone().lock_owned().await;
        drop(w);
        let failed = if self.finished.load(Ordering::SeqCst) != seen {
            g.failed.clone()
        } else {
            None
        };
        (g, failed)
    }

    /// Records the outcome of a refresh (lock held). A failure that other callers are
    /// waiting for is kept for them, and every one of them (this one included) gets it
    /// as [`Error::Shared`].
    fn finish<T>(&self, g: &mut Guard, outcome: Result<T>) -> Result<T> {
        let out = match outcome {
            Ok(v) => {
                g.failed = None;
                Ok(v)
            }
            Err(e) if self.waiting.load(Ordering::SeqCst) > 0 => {
                let e = Arc::new(e);
                g.failed = Some(e.clone());
                Err(Error::Shared(e))
            }
            Err(e) => {
                g.failed = None;
                Err(e)
            }
        };
        self.finished.fetch_add(1, Ordering::SeqCst);
        out
    }
}

/// User tokens (from the code flow) under keys the application chooses (a user id, a
/// session id, `"default"` for a CLI), refreshed ahead of expiry.
///
/// - **Single flight**: concurrent callers for one key cause one refresh request; all get
///   its result.
/// - **Crash-safe rotation**: the new refresh token is saved to the [`TokenStore`] before
///   any caller sees the new access token; if saving fails, the call fails, the new tokens
///   are kept in memory (never the retired refresh token) and the next call saves them
///   again before using them.
/// - **Lost responses**: a refresh whose response never arrived is repeated with the same
///   refresh token, for at most [`ManagerOptions::retry_window`], then fails with
///   [`Error::Timeout`]; within the server's grace period this answers the same successor.
/// - **`invalid_grant`** on refresh clears the key (in memory even when the store fails
///   to delete it) and answers [`Error::SignInRequired`].
///
/// ```no_run
/// use baton_client::{ClientAuth, FileStore, ManagerOptions, OAuthClient, UserTokenManager};
/// # async fn run() -> Result<(), baton_client::Error> {
/// let client = OAuthClient::discover("https://login.example.com", "my-cli", ClientAuth::None).await?;
/// let store = FileStore::new("/home/me/.config/my-cli/tokens")?;
/// let tokens = UserTokenManager::new(client, store, ManagerOptions::default());
/// match tokens.access_token("default").await {
///     Ok(at) => println!("Authorization: {}", at.header_value()),
///     Err(e) if e.is_sign_in_required() => println!("please sign in"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct UserTokenManager {
    inner: Arc<UserInner>,
}

struct UserInner {
    client: OAuthClient,
    store: Arc<dyn TokenStore>,
    opts: ManagerOptions,
    slots: Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for UserTokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokenManager")
            .field("client_id", &self.inner.client.client_id())
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

impl UserTokenManager {
    pub fn new(
        client: OAuthClient,
        store: impl TokenStore,
        opts: ManagerOptions,
    ) -> UserTokenManager {
        Self::with_shared_store(client, Arc::new(store), opts)
    }

    /// As [`UserTokenManager::new`], with a store shared with other code.
    pub fn with_shared_store(
        client: OAuthClient,
        store: Arc<dyn TokenStore>,
        opts: ManagerOptions,
    ) -> UserTokenManager {
        UserTokenManager {
            inner: Arc::new(UserInner {
                client,
                store,
                opts,
                slots: Mutex::default(),
            }),
        }
    }

    /// The OAuth client.
    pub fn client(&self) -> &OAuthClient {
        &self.inner.client
    }

    /// Stores tokens obtained by signing in (e.g. [`crate::LoopbackSignIn::finish`]).
    pub async fn set_tokens(&self, key: &str, tokens: TokenSet) -> Result<()> {
        let s = slot(&self.inner.slots, key);
        let mut g = s.state.lock().await;
        self.save(key, &tokens).await?;
        g.tokens = Some(Some(tokens));
        g.unsaved = false;
        Ok(())
    }

    /// The tokens stored under `key`, as they are (no refresh).
    pub async fn tokens(&self, key: &str) -> Result<Option<TokenSet>> {
        let s = slot(&self.inner.slots, key);
        let mut g = s.state.lock().await;
        self.loaded(key, &mut g.tokens).await
    }

    /// An access token for `key` that is valid for at least the skew, refreshing first if
    /// needed. [`Error::SignInRequired`] when there are no tokens or the refresh token was
    /// rejected.
    ///
    /// A refresh runs in its own task: if the caller gives up (a timeout, a dropped
    /// request), the refresh still completes and its result is stored.
    pub async fn access_token(&self, key: &str) -> Result<AccessToken> {
        self.run_locked(key, None).await
    }

    /// Refreshes `key` unless its access token already differs from `rejected` (someone
    /// else refreshed meanwhile); for a resource server's `401 invalid_token`.
    pub async fn renew(&self, key: &str, rejected: &str) -> Result<AccessToken> {
        self.run_locked(key, Some(rejected.to_string())).await
    }

    /// Takes the key's lock and runs the check (and any refresh) in a task that owns the
    /// lock, so that cancellation of the caller cannot interrupt a refresh half-way. A
    /// caller that waited for a refresh which failed answers that failure
    /// ([`Error::Shared`]) rather than starting another refresh.
    async fn run_locked(&self, key: &str, rejected: Option<String>) -> Result<AccessToken> {
        let s = slot(&self.inner.slots, key);
        let (mut g, failed) = s.enter().await;
        if let Some(e) = failed {
            return Err(Error::Shared(e));
        }
        let this = self.clone();
        let key = key.to_string();
        let task = tokio::spawn(async move {
            let current = this
                .loaded(&key, &mut g.tokens)
                .await?
                .ok_or(Error::SignInRequired(None))?;
            if g.unsaved {
                // The last refresh rotated the token but could not save the successor:
                // save it now, before anyone uses it.
                this.save(&key, &current).await?;
                g.unsaved = false;
            }
            let due = match &rejected {
                None => current.expires_within(this.inner.opts.refresh_skew.as_secs()),
                Some(r) => current.access_token == *r,
            };
            if !due {
                return Ok(current.access());
            }
            let outcome = this.refresh_locked(&key, &mut g, &current).await;
            s.finish(&mut g, outcome).map(|t| t.access())
        });
        task.await.map_err(|e| {
            Error::Storage(std::io::Error::other(format!("refresh task failed: {e}")))
        })?
    }

    /// Forgets `key` locally and revokes its refresh token (RFC 7009), or the access
    /// token when there is no refresh token. The local tokens are removed even when
    /// revocation fails; the revocation error is then returned.
    pub async fn sign_out(&self, key: &str) -> Result<()> {
        let s = slot(&self.inner.slots, key);
        let mut g = s.state.lock().await;
        let current = self.loaded(key, &mut g.tokens).await?;
        self.remove(key).await?;
        g.tokens = Some(None);
        g.unsaved = false;
        let Some(t) = current else { return Ok(()) };
        if self.inner.client.endpoints().revocation_endpoint.is_none() {
            return Ok(());
        }
        match &t.refresh_token {
            Some(rt) => self.inner.client.revoke(rt, Some("refresh_token")).await,
            None => {
                self.inner
                    .client
                    .revoke(&t.access_token, Some("access_token"))
                    .await
            }
        }
    }

    async fn loaded(
        &self,
        key: &str,
        g: &mut Option<Option<TokenSet>>,
    ) -> Result<Option<TokenSet>> {
        if let Some(t) = g {
            return Ok(t.clone());
        }
        let store = self.inner.store.clone();
        let k = key.to_string();
        let t = blocking(move || store.load(&k)).await?;
        *g = Some(t.clone());
        Ok(t)
    }

    async fn refresh_locked(
        &self,
        key: &str,
        g: &mut State,
        current: &TokenSet,
    ) -> Result<TokenSet> {
        let Some(rt) = current.refresh_token.as_deref() else {
            return Err(Error::SignInRequired(None));
        };
        let opts = &self.inner.opts;
        let start = tokio::time::Instant::now();
        let window = opts.retry_window;
        let mut delay = opts.retry_delay;
        let mut attempts = 0;
        let resp = loop {
            let request = self.inner.client.refresh(rt, opts.refresh_scope.as_deref());
            let outcome = if window.is_zero() {
                request.await
            } else {
                let left = window.saturating_sub(start.elapsed());
                match tokio::time::timeout(left, request).await {
                    Ok(o) => o,
                    Err(_) => {
                        return Err(Error::Timeout {
                            waited: start.elapsed(),
                            attempts: attempts + 1,
                            last: None,
                        })
                    }
                }
            };
            attempts += 1;
            match outcome {
                Ok(r) => break r,
                Err(Error::OAuth(e)) if e.error == ErrorCode::InvalidGrant => {
                    // The grant is gone (expired, revoked, reused): nothing stored can help.
                    // Forget it here first, so later calls answer at once without a request
                    // even if the store cannot delete it now.
                    g.tokens = Some(None);
                    g.unsaved = false;
                    if let Err(r) = self.remove(key).await {
                        tracing::warn!(error = %r, "could not delete the tokens of a dead grant from the store");
                    }
                    return Err(Error::SignInRequired(Some(e)));
                }
                Err(e) if e.is_transient() => {
                    // The response may have been lost after the server rotated: present the
                    // same token again; inside the grace period it answers the same successor.
                    if start.elapsed().saturating_add(delay) >= window {
                        return Err(Error::Timeout {
                            waited: start.elapsed(),
                            attempts,
                            last: Some(Box::new(e)),
                        });
                    }
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        };
        let next = current.refreshed(resp);
        // The old refresh token is retired now: keep the successor whatever happens next.
        g.tokens = Some(Some(next.clone()));
        g.unsaved = true;
        // Durable before anyone sees it: a crash after this point restarts with the new
        // refresh token; a crash before it restarts with the old one, inside the grace period.
        // If the save fails, the next call saves again before using it.
        self.save(key, &next).await?;
        g.unsaved = false;
        Ok(next)
    }

    async fn save(&self, key: &str, t: &TokenSet) -> Result<()> {
        let store = self.inner.store.clone();
        let (k, t) = (key.to_string(), t.clone());
        blocking(move || store.save(&k, &t)).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        let store = self.inner.store.clone();
        let k = key.to_string();
        blocking(move || store.remove(&k)).await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Storage(std::io::Error::other(format!("store task failed: {e}"))))?
}

/// Client-credentials tokens of one client, cached per scope in memory and renewed ahead
/// of expiry, with single flight per scope.
///
/// ```no_run
/// use baton_client::{ClientAuth, ClientCredentialsManager, Endpoints, ManagerOptions, OAuthClient};
/// # async fn run() -> Result<(), baton_client::Error> {
/// let client = OAuthClient::new(
///     Endpoints::token_only("https://login.example.com/token"),
///     "reports-service",
///     ClientAuth::SecretBasic("s3cret".into()),
/// )?;
/// let tokens = ClientCredentialsManager::new(client, ManagerOptions::default());
/// let at = tokens.access_token(Some("reports:read")).await?; // cached until 60 s before expiry
/// # let _ = at; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientCredentialsManager {
    inner: Arc<CcInner>,
}

struct CcInner {
    client: OAuthClient,
    opts: ManagerOptions,
    slots: Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for ClientCredentialsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentialsManager")
            .field("client_id", &self.inner.client.client_id())
            .finish_non_exhaustive()
    }
}

/// The cache key of a scope: its words sorted and de-duplicated.
fn scope_key(scope: Option<&str>) -> String {
    let mut words: Vec<&str> = scope.unwrap_or("").split_ascii_whitespace().collect();
    words.sort_unstable();
    words.dedup();
    words.join(" ")
}

impl ClientCredentialsManager {
    pub fn new(client: OAuthClient, opts: ManagerOptions) -> ClientCredentialsManager {
        ClientCredentialsManager {
            inner: Arc::new(CcInner {
                client,
                opts,
                slots: Mutex::default(),
            }),
        }
    }

    /// The OAuth client.
    pub fn client(&self) -> &OAuthClient {
        &self.inner.client
    }

    /// A token for `scope` (`None`: the client's default scope), from the cache unless
    /// it expires within the skew.
    pub async fn access_token(&self, scope: Option<&str>) -> Result<AccessToken> {
        let key = scope_key(scope);
        let s = slot(&self.inner.slots, &key);
        let (mut g, failed) = s.enter().await;
        if let Some(e) = failed {
            return Err(Error::Shared(e));
        }
        if let Some(Some(t)) = &g.tokens {
            if !t.expires_within(self.inner.opts.refresh_skew.as_secs()) {
                return Ok(t.access());
            }
        }
        let scope = if key.is_empty() {
            None
        } else {
            Some(key.as_str())
        };
        let outcome = self.inner.client.client_credentials(scope).await;
        let t = TokenSet::from_response(s.finish(&mut g, outcome)?);
        g.tokens = Some(Some(t.clone()));
        Ok(t.access())
    }

    /// Drops the cached token for `scope` if it is still `rejected`, and gets a new one.
    pub async fn renew(&self, scope: Option<&str>, rejected: &str) -> Result<AccessToken> {
        let key = scope_key(scope);
        {
            let s = slot(&self.inner.slots, &key);
            let mut g = s.state.lock().await;
            if matches!(&g.tokens, Some(Some(t)) if t.access_token == rejected) {
                g.tokens = None;
            }
        }
        self.access_token(scope).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Endpoints;
    use crate::store::MemoryStore;
    use crate::ClientAuth;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the fake token endpoint does with the request number `n` (from 0) and body.
    type Reply = Arc<dyn Fn(usize, &str) -> Option<(u16, String)> + Send + Sync>;

    /// A token endpoint answering `reply` after `delay` (`None`: never answers). Answers
    /// its URL and the request bodies received.
    async fn fake_token_endpoint(
        delay: Duration,
        reply: Reply,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bodies = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = l.accept().await else {
                    return;
                };
                let (reply, bodies) = (reply.clone(), bodies.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let body = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some(i) = text.find("\r\n\r\n") {
                            let len = text[..i]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            if buf.len() >= i + 4 + len {
                                break text[i + 4..].to_string();
                            }
                        }
                    };
                    let n = {
                        let mut b = bodies.lock().unwrap();
                        b.push(body.clone());
                        b.len() - 1
                    };
                    tokio::time::sleep(delay).await;
                    let Some((status, json)) = reply(n, &body) else {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    };
                    let msg = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                        json.len()
                    );
                    let _ = sock.write_all(msg.as_bytes()).await;
                });
            }
        });
        (url, seen)
    }

    fn client(url: &str) -> OAuthClient {
        OAuthClient::new(Endpoints::token_only(url), "app", ClientAuth::None).unwrap()
    }

    fn fixed(status: u16, json: &str) -> Reply {
        let json = json.to_string();
        Arc::new(move |_, _| Some((status, json.clone())))
    }

    async fn manager_with(url: &str, opts: ManagerOptions) -> UserTokenManager {
        let m = UserTokenManager::new(client(url), MemoryStore::new(), opts);
        m.set_tokens("k", TokenSet::new("at-1", Some("rt-1"), Some(0)))
            .await
            .unwrap();
        m
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_waiting_on_a_failed_refresh_get_its_failure() {
        let (url, seen) = fake_token_endpoint(
            Duration::from_millis(300),
            fixed(401, r#"{"error":"invalid_client"}"#),
        )
        .await;
        let m = manager_with(&url, ManagerOptions::default()).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move { m.access_token("k").await })
            })
            .collect();
        for t in tasks {
            let e = t.await.unwrap().unwrap_err();
            assert_eq!(
                e.oauth().map(|o| o.error.clone()),
                Some(ErrorCode::InvalidClient),
                "{e}"
            );
        }
        assert_eq!(seen.lock().unwrap().len(), 1, "one refresh for 8 callers");
        // A later caller, who waited for nothing, tries again.
        assert!(m.access_token("k").await.is_err());
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    /// A [`MemoryStore`] whose `save` and `remove` fail while told to.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        fail_save: std::sync::atomic::AtomicBool,
        fail_remove: std::sync::atomic::AtomicBool,
    }

    impl TokenStore for Flaky {
        fn load(&self, key: &str) -> Result<Option<TokenSet>> {
            self.inner.load(key)
        }
        fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
            if self.fail_save.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("disk full").into());
            }
            self.inner.save(key, tokens)
        }
        fn remove(&self, key: &str) -> Result<()> {
            if self.fail_remove.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("read-only").into());
            }
            self.inner.remove(key)
        }
    }

    #[tokio::test]
    async fn invalid_grant_forgets_the_tokens_even_when_the_store_cannot_delete_them() {
        let (url, seen) =
            fake_token_endpoint(Duration::ZERO, fixed(400, r#"{"error":"invalid_grant"}"#)).await;
        let store = Arc::new(Flaky::default());
        let m = UserTokenManager::with_shared_store(
            client(&url),
            store.clone(),
            ManagerOptions::default(),
        );
        m.set_tokens("k", TokenSet::new("at-1", Some("rt-1"), Some(0)))
            .await
            .unwrap();
        store.fail_remove.store(true, Ordering::SeqCst);
        let e = m.access_token("k").await.unwrap_err();
        match &e {
            Error::SignInRequired(Some(o)) => assert_eq!(o.error, ErrorCode::InvalidGrant),
            other => panic!("expected sign-in required, got {other:?}"),
        }
        assert!(e.to_string().contains("discarded"), "{e}");
        // The dead grant is not presented again.
        assert!(m.access_token("k").await.unwrap_err().is_sign_in_required());
        assert!(m.tokens("k").await.unwrap().is_none());
        assert_eq!(seen.lock().unwrap().len(), 1);
        // With a working store it is deleted there too.
        store.fail_remove.store(false, Ordering::SeqCst);
        m.set_tokens("k", TokenSet::new("at-1", Some("rt-1"), Some(0)))
            .await
            .unwrap();
        assert!(m.access_token("k").await.unwrap_err().is_sign_in_required());
        assert!(store.load("k").unwrap().is_none());
    }

    #[tokio::test]
    async fn a_rotated_token_whose_save_failed_is_kept_and_saved_before_use() {
        let (url, seen) = fake_token_endpoint(
            Duration::ZERO,
            Arc::new(|n, _| {
                let json = format!(
                    r#"{{"access_token":"at-{0}","token_type":"Bearer","expires_in":300,"refresh_token":"rt-{0}"}}"#,
                    n + 2
                );
                Some((200, json))
            }),
        )
        .await;
        let store = Arc::new(Flaky::default());
        let m = UserTokenManager::with_shared_store(
            client(&url),
            store.clone(),
            ManagerOptions::default(),
        );
        m.set_tokens("k", TokenSet::new("at-1", Some("rt-1"), Some(0)))
            .await
            .unwrap();
        store.fail_save.store(true, Ordering::SeqCst);
        let e = m.access_token("k").await.unwrap_err();
        assert!(matches!(e, Error::Storage(_)), "{e:?}");
        // Still failing: nothing is handed out, and the retired rt-1 is not presented.
        assert!(matches!(m.access_token("k").await, Err(Error::Storage(_))));
        assert_eq!(
            m.tokens("k")
                .await
                .unwrap()
                .unwrap()
                .refresh_token
                .as_deref(),
            Some("rt-2")
        );
        store.fail_save.store(false, Ordering::SeqCst);
        assert_eq!(m.access_token("k").await.unwrap().token, "at-2");
        assert_eq!(
            store.load("k").unwrap().unwrap().refresh_token.as_deref(),
            Some("rt-2")
        );
        let bodies = seen.lock().unwrap().clone();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
    }

    #[tokio::test]
    async fn undefinitive_answers_are_retried_within_the_window_then_time_out() {
        let (url, seen) = fake_token_endpoint(
            Duration::ZERO,
            fixed(503, r#"{"error":"temporarily_unavailable"}"#),
        )
        .await;
        let opts = ManagerOptions::default()
            .with_retry_window(Duration::from_millis(1500), Duration::from_millis(50));
        let m = manager_with(&url, opts).await;
        let t0 = std::time::Instant::now();
        let e = m.access_token("k").await.unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        match &e {
            Error::Timeout {
                attempts,
                last: Some(last),
                ..
            } => {
                assert!(*attempts > 2, "{attempts}");
                assert!(last.is_transient());
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        let bodies = seen.lock().unwrap().clone();
        assert!(bodies.len() > 2);
        assert!(bodies.iter().all(|b| b.contains("refresh_token=rt-1")));
        assert!(e.to_string().contains("no definitive answer"), "{e}");

        // An endpoint that never answers is bounded by the window too.
        let (url, _) = fake_token_endpoint(Duration::ZERO, Arc::new(|_, _| None)).await;
        let opts = ManagerOptions::default()
            .with_retry_window(Duration::from_millis(500), Duration::from_millis(50));
        let m = manager_with(&url, opts).await;
        let t0 = std::time::Instant::now();
        let e = m.access_token("k").await.unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn a_lost_answer_is_retried_and_definitive_answers_are_not() {
        let (url, seen) = fake_token_endpoint(
            Duration::ZERO,
            Arc::new(|n, _| {
                Some(if n == 0 {
                    (502, "<html>bad gateway</html>".to_string())
                } else {
                    (
                        200,
                        r#"{"access_token":"at-2","token_type":"Bearer","expires_in":300}"#
                            .to_string(),
                    )
                })
            }),
        )
        .await;
        let m = manager_with(&url, ManagerOptions::default()).await;
        assert_eq!(m.access_token("k").await.unwrap().token, "at-2");
        assert_eq!(seen.lock().unwrap().len(), 2);

        for (status, code) in [(401, "invalid_client"), (400, "invalid_request")] {
            let (url, seen) = fake_token_endpoint(
                Duration::ZERO,
                fixed(status, &format!(r#"{{"error":"{code}"}}"#)),
            )
            .await;
            let m = manager_with(&url, ManagerOptions::default()).await;
            let e = m.access_token("k").await.unwrap_err();
            assert_eq!(
                e.oauth().map(|o| o.error.as_str().to_string()),
                Some(code.to_string())
            );
            assert_eq!(seen.lock().unwrap().len(), 1, "{code} is not retried");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn client_credentials_callers_share_a_failure_too() {
        let (url, seen) = fake_token_endpoint(
            Duration::from_millis(300),
            fixed(400, r#"{"error":"invalid_scope"}"#),
        )
        .await;
        let m = ClientCredentialsManager::new(client(&url), ManagerOptions::default());
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move { m.access_token(Some("api")).await })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().unwrap_err().oauth().is_some());
        }
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn scope_key_ignores_order_and_duplicates() {
        assert_eq!(scope_key(Some("b a  b")), "a b");
        assert_eq!(scope_key(None), "");
    }
}
