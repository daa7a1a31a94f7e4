//! Native-app sign-in (RFC 8252): a one-shot HTTP listener on a loopback address receives
//! the authorization response; PKCE and `state` are handled here; opening the system
//! browser on [`LoopbackSignIn::authorization_url`] is left to the caller.

use crate::client::OAuthClient;
use crate::error::{Error, Result};
use crate::pkce::Pkce;
use crate::token::TokenResponse;
use crate::util::random_token;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

const DONE_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Signed in</title><p>You can close this window and return to the application.</p>";
const FAIL_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Sign-in failed</title><p>Sign-in did not complete. Return to the application.</p>";

/// One sign-in in progress.
///
/// ```no_run
/// use baton_client::{ClientAuth, LoopbackSignIn, OAuthClient};
/// # async fn run() -> Result<(), baton_client::Error> {
/// let client = OAuthClient::discover("https://login.example.com", "my-cli", ClientAuth::None).await?;
/// let signin = LoopbackSignIn::start(&client, "openid offline_access", 0).await?;
/// println!("Open {}", signin.authorization_url()); // or spawn the system browser
/// let tokens = signin.finish(&client, std::time::Duration::from_secs(300)).await?;
/// # let _ = tokens; Ok(()) }
/// ```
#[derive(Debug)]
pub struct LoopbackSignIn {
    listener: TcpListener,
    redirect_uri: String,
    state: String,
    pkce: Pkce,
    url: Url,
}

impl LoopbackSignIn {
    /// Listens on `127.0.0.1:port` (`0`: an ephemeral port, RFC 8252 §7.3; servers that
    /// match redirect URIs exactly need a registered fixed port) with the redirect URI
    /// `http://127.0.0.1:PORT/callback`, and builds the authorization URL.
    pub async fn start(client: &OAuthClient, scope: &str, port: u16) -> Result<LoopbackSignIn> {
        Self::start_with(client, scope, port, &[]).await
    }

    /// As [`LoopbackSignIn::start`], with `extra` authorization parameters (e.g.
    /// `prompt=consent`, which some servers require before they issue a refresh token).
    pub async fn start_with(
        client: &OAuthClient,
        scope: &str,
        port: u16,
        extra: &[(&str, &str)],
    ) -> Result<LoopbackSignIn> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let state = random_token(16)?;
        let pkce = Pkce::new()?;
        let url = client.authorization_url(&redirect_uri, scope, &state, &pkce, extra)?;
        Ok(LoopbackSignIn {
            listener,
            redirect_uri,
            state,
            pkce,
            url,
        })
    }

    /// The URL to open in the system browser.
    pub fn authorization_url(&self) -> &Url {
        &self.url
    }

    /// The redirect URI in use.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits (at most `timeout`) for the browser to come back, checks `state`, answers
    /// the browser with a short page and exchanges the code.
    pub async fn finish(self, client: &OAuthClient, timeout: Duration) -> Result<TokenResponse> {
        let code = tokio::time::timeout(timeout, self.wait_code())
            .await
            .map_err(|_| Error::Callback("timed out waiting for the browser".into()))??;
        client
            .exchange_code(&code, &self.redirect_uri, self.pkce.verifier())
            .await
    }

    /// Accepts connections until one asks for `/callback`; answers its code.
    async fn wait_code(&self) -> Result<String> {
        loop {
            let (mut sock, _) = self.listener.accept().await?;
            let mut buf = Vec::with_capacity(2048);
            let mut chunk = [0u8; 2048];
            // The request line and headers; a callback has no body.
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                let n = sock.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf);
            let target = head
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("GET "))
                .and_then(|l| l.split(' ').next())
                .unwrap_or("");
            let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
                respond(&mut sock, "400 Bad Request", FAIL_PAGE).await;
                continue;
            };
            if url.path() != "/callback" {
                respond(&mut sock, "404 Not Found", "").await;
                continue;
            }
            let get = |k: &str| {
                url.query_pairs()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.into_owned())
            };
            let outcome = if get("state").as_deref() != Some(self.state.as_str()) {
                Err(Error::Callback(
                    "state does not match: not the response to this request".into(),
                ))
            } else if let Some(e) = get("error") {
                let d = get("error_description").unwrap_or_default();
                Err(Error::Callback(format!("the server answered {e}: {d}")))
            } else {
                get("code").ok_or_else(|| Error::Callback("no code in the redirect".into()))
            };
            let page = if outcome.is_ok() {
                ("200 OK", DONE_PAGE)
            } else {
                ("400 Bad Request", FAIL_PAGE)
            };
            respond(&mut sock, page.0, page.1).await;
            return outcome;
        }
    }
}

async fn respond(sock: &mut tokio::net::TcpStream, status: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(msg.as_bytes()).await;
    let _ = sock.shutdown().await;
}
