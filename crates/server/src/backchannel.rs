//! OIDC Back-Channel Logout 1.0: when a browser session ends (logout, expiry, admin
//! action, `reuse_reaction = "revoke_session"`), each client that held a grant in it and
//! registered a `backchannel_logout_uri` is sent a signed logout token.
//!
//! Delivery never holds up the session's end: it runs in spawned tasks, one per client,
//! each POST bounded by [`ATTEMPT_TIMEOUT`], retried at most [`ATTEMPTS`] times with
//! doubling backoff when the client answers 5xx, 408, 429 or cannot be reached. Each
//! delivery ends in one `backchannel_logout.sent` or `backchannel_logout.failed` event
//! naming the client, the subject, the URI's host and the status or error — never the
//! token.
//!
//! HTTP/1.1 over plain TCP for `http://` URIs (loopback only, as configuration allows)
//! and over TLS (rustls with the *ring* provider, the system's trusted CA certificates)
//! for `https://` URIs. The connection goes through [`crate::outbound::connect`]: an
//! address that is not public (loopback, private, link-local, metadata …) is refused
//! unless `http.allow_private_outbound` is on, and the refusal is recorded as
//! `backchannel_logout.failed` at once, without retries. Redirects are never followed:
//! a 3xx answer is a failed delivery.

use crate::outbound::ConnectError;
use crate::sessions::LogoutNotifier;
use crate::state::AppState;
use axum::http::{header, Request};
use baton_core::events::EventKind;
use baton_core::model::{Client, Event, Session};
use baton_core::time::{Dur, Timestamp};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio_rustls::rustls;

/// Tries per delivery.
pub const ATTEMPTS: u32 = 3;
/// The limit on one attempt (connect, TLS, request and response head).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait before the second attempt; doubled before each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How long a logout token is valid (`exp - iat`).
pub const LOGOUT_TOKEN_LIFETIME: Dur = Dur::secs(120);
/// The member of `events` that makes a JWT a logout token.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The notifier installed in [`AppState`]: holds the state weakly (the state owns it).
pub struct Backchannel {
    state: Weak<AppState>,
}

impl Backchannel {
    pub fn new(state: Weak<AppState>) -> Backchannel {
        Backchannel { state }
    }
}

impl LogoutNotifier for Backchannel {
    fn session_ended(&self, session: &Session, client_ids: &[String]) {
        if client_ids.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no runtime: back-channel logout not sent");
            return;
        };
        rt.spawn(notify_all(
            self.state.clone(),
            session.clone(),
            client_ids.to_vec(),
        ));
    }
}

/// The logout token for `client` (OIDC Back-Channel Logout 1.0 §2.4): signed with the
/// client's ID-token algorithm, `typ` `logout+jwt`, no `nonce`.
pub fn logout_token(
    st: &AppState,
    client: &Client,
    session: &Session,
    now: Timestamp,
) -> Result<String, String> {
    let claims = json!({
        "iss": st.cfg.issuer,
        "aud": client.client_id,
        "iat": now.unix_secs(),
        "exp": now.plus(LOGOUT_TOKEN_LIFETIME).unix_secs(),
        "jti": baton_core::random_id(""),
        "sub": session.subject,
        "sid": session.id,
        "events": { LOGOUT_EVENT: {} },
    });
    st.keyring()
        .sign(client.id_token_alg, "logout+jwt", &claims)
}

/// One delivery to do.
struct Job {
    client_id: String,
    uri: String,
    token: String,
    /// `http.allow_private_outbound`.
    allow_private: bool,
}

async fn notify_all(state: Weak<AppState>, session: Session, client_ids: Vec<String>) {
    let mut jobs = Vec::new();
    {
        let Some(st) = state.upgrade() else { return };
        for id in client_ids {
            let client = match st.store.get_client(&id).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(client_id = %id, error = %e, "back-channel logout: cannot read the client");
                    continue;
                }
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            match logout_token(&st, &client, &session, st.clock.now()) {
                Ok(token) => jobs.push(Job {
                    client_id: client.client_id,
                    uri,
                    token,
                    allow_private: st.cfg.http.allow_private_outbound,
                }),
                Err(e) => {
                    record(
                        &st,
                        EventKind::BackchannelLogoutFailed,
                        &client.client_id,
                        &session,
                        json!({"host": host_of(&uri), "error": format!("cannot sign the logout token: {e}"), "attempts": 0}),
                    )
                    .await;
                }
            }
        }
    }
    for job in jobs {
        tokio::spawn(deliver(state.clone(), session.clone(), job));
    }
}

fn host_of(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether another attempt may succeed after this status.
fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

async fn deliver(state: Weak<AppState>, session: Session, job: Job) {
    let host = host_of(&job.uri);
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &job.token)
        .finish();
    let mut backoff = FIRST_BACKOFF;
    let mut last = json!({});
    let mut attempts = 0;
    for attempt in 1..=ATTEMPTS {
        attempts = attempt;
        let sent = post(&job.uri, body.clone(), job.allow_private);
        let outcome = match tokio::time::timeout(ATTEMPT_TIMEOUT, sent).await {
            Ok(r) => r,
            Err(_) => Err(ConnectError::Failed(format!(
                "no answer within {} s",
                ATTEMPT_TIMEOUT.as_secs()
            ))),
        };
        match outcome {
            Ok(status) if (200..300).contains(&status) => {
                if let Some(st) = state.upgrade() {
                    let details = json!({"host": host, "status": status, "attempts": attempt});
                    record(
                        &st,
                        EventKind::BackchannelLogoutSent,
                        &job.client_id,
                        &session,
                        details,
                    )
                    .await;
                }
                return;
            }
            Ok(status) => {
                last = json!({"status": status});
                if !retryable(status) {
                    break;
                }
            }
            Err(ConnectError::Refused(e)) => {
                last = json!({"error": e});
                break;
            }
            Err(ConnectError::Failed(e)) => last = json!({"error": e}),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    if let Some(st) = state.upgrade() {
        let mut details = json!({"host": host, "attempts": attempts});
        if let (Value::Object(d), Value::Object(l)) = (&mut details, last) {
            d.extend(l);
        }
        record(
            &st,
            EventKind::BackchannelLogoutFailed,
            &job.client_id,
            &session,
            details,
        )
        .await;
    }
}

async fn record(
    st: &AppState,
    kind: EventKind,
    client_id: &str,
    session: &Session,
    mut details: Value,
) {
    if let Value::Object(d) = &mut details {
        d.insert("session_id".into(), session.id.clone().into());
    }
    let ev = Event {
        id: baton_core::event_id(st.clock.now()),
        kind: kind.as_str().into(),
        time: st.clock.now(),
        client_id: Some(client_id.to_string()),
        subject: Some(session.subject.clone()),
        grant_id: None,
        ip: None,
        user_agent: None,
        details,
    };
    crate::best_effort::record_event(st, ev).await;
}

/// POSTs a form body to `uri`; answers the response status.
/// The connection goes only to addresses [`crate::outbound::connect`] checked.
async fn post(uri: &str, body: String, allow_private: bool) -> Result<u16, ConnectError> {
    let url = url::Url::parse(uri).map_err(|e| format!("the URI is invalid: {e}"))?;
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        s => return Err(format!("the URI scheme `{s}` is not supported").into()),
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err(ConnectError::Failed("the URI has no host".into())),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "the URI has no port".to_string())?;
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return Err(ConnectError::Failed("the URI has no host".into())),
    };
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let req = Request::post(target)
        .header(header::HOST, authority)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::CONNECTION, "close")
        .header(
            header::USER_AGENT,
            concat!("baton/", env!("CARGO_PKG_VERSION")),
        )
        .body(axum::body::Body::from(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let tcp = crate::outbound::connect(&host, port, allow_private).await?;
    if !https {
        return Ok(send(TokioIo::new(tcp), req).await?);
    }
    let config = tokio::task::spawn_blocking(tls_config)
        .await
        .map_err(|_| "the TLS set-up task failed".to_string())??;
    let name = rustls::pki_types::ServerName::try_from(host)
        .map_err(|_| "the host is not a valid TLS server name".to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    Ok(send(TokioIo::new(tls), req).await?)
}

/// Aborts the connection task when the attempt ends (or times out).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn send<I>(io: I, req: Request<axum::body::Body>) -> Result<u16, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("the request failed: {e}"))?;
    Ok(resp.status().as_u16())
}

/// The TLS client configuration: ring, TLS 1.2 and 1.3, the system's CA certificates.
/// Built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err("no trusted CA certificates found on this system (install ca-certificates, or set SSL_CERT_FILE)".into());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS set-up failed: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_rules() {
        assert!(retryable(500) && retryable(503) && retryable(429) && retryable(408));
        assert!(!retryable(400) && !retryable(401) && !retryable(404));
    }

    #[test]
    fn host_is_extracted_without_path_or_query() {
        assert_eq!(host_of("https://rp.example:8443/bc?x=1"), "rp.example");
        assert_eq!(host_of("not a uri"), "");
    }

    #[test]
    fn tls_config_uses_system_roots() {
        // The machine has ca-certificates; the config is built once and shared.
        if let Ok(a) = tls_config() {
            let b = tls_config().unwrap();
            assert!(Arc::ptr_eq(&a, &b));
        }
    }
}
