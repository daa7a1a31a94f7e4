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
pub struct LoopbackSignIn {
    listener: TcpListener,
    redirect_uri: String,
    state: String,
    pkce: Pkce,
    url: Url,
}

/// `Debug` leaves out the `state`, the PKCE verifier and the authorization URL (which
/// carries the state).
impl std::fmt::Debug for LoopbackSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl LoopbackSignIn {
    /// Listens on `127.0.0.1:port` (`0`: an ephemeral port, RFC 8252 §7.3; servers that
    /// match redirect URIs exactly need a registered fixed port) with the redirect URI
    /// `http://127.0.0.1:PORT/callback`, and builds the authorization URL. A port that
    /// cannot be listened on (in use, not permitted) is an [`Error::Config`].
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
        let bind_error = |e: std::io::Error| {
            Error::Config(format!(
                "cannot listen on 127.0.0.1:{port} for the loopback redirect: {e}"
            ))
        };
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
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
    /// the browser with a short page and exchanges the code. A callback with another
    /// `state` (not the answer to this request: a stale tab, another program) is answered
    /// `400` and the wait goes on; an error redirect with the right `state` ends it.
    pub async fn finish(self, client: &OAuthClient, timeout: Duration) -> Result<TokenResponse> {
        let mut refused = 0;
        let code = tokio::time::timeout(timeout, self.wait_code(&mut refused))
            .await
            .map_err(|_| {
                Error::Callback(if refused == 0 {
                    "timed out waiting for the browser".into()
                } else {
                    format!("timed out waiting for the browser; {refused} callback(s) with a wrong state were refused")
                })
            })??;
        client
            .exchange_code(&code, &self.redirect_uri, self.pkce.verifier())
            .await
    }

    /// Accepts connections until one asks for `/callback` with this request's `state`;
    /// answers its code. Counts the callbacks refused for another `state` in `refused`.
    async fn wait_code(&self, refused: &mut usize) -> Result<String> {
        loop {
            let (mut sock, _) = self.listener.accept().await.map_err(|e| {
                Error::Callback(format!("accepting the browser's connection failed: {e}"))
            })?;
            let mut buf = Vec::with_capacity(2048);
            // The request line and headers; a callback has no body. A connection that
            // fails or stalls is dropped and the wait goes on.
            let read = tokio::time::timeout(Duration::from_secs(10), async {
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                    let n = sock.read(&mut chunk).await?;
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                Ok::<_, std::io::Error>(())
            })
            .await;
            if !matches!(read, Ok(Ok(()))) {
                continue;
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
            if get("state").as_deref() != Some(self.state.as_str()) {
                // Not the response to this request: refuse it and keep waiting.
                *refused += 1;
                respond(&mut sock, "400 Bad Request", FAIL_PAGE).await;
                continue;
            }
            let outcome = if let Some(e) = get("error") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Endpoints;
    use crate::ClientAuth;

    fn client() -> OAuthClient {
        OAuthClient::new(
            Endpoints::token_only("http://127.0.0.1:9/token")
                .with_authorization("https://as.example/authorize"),
            "native",
            ClientAuth::None,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_configuration_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        match LoopbackSignIn::start(&client(), "openid", port).await {
            Err(Error::Config(m)) => assert!(m.contains(&port.to_string()), "{m}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn debug_hides_the_state_and_the_verifier() {
        let s = LoopbackSignIn::start(&client(), "openid", 0).await.unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains(&s.state), "{d}");
        assert!(!d.contains(s.pkce.verifier()), "{d}");
        assert!(!d.contains(s.pkce.challenge()), "{d}");
        assert!(d.contains(&s.redirect_uri));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_state_is_refused_and_the_wait_goes_on() {
        let c = client();
        let s = LoopbackSignIn::start(&c, "openid", 0).await.unwrap();
        let (uri, state) = (s.redirect_uri.clone(), s.state.clone());
        let finish = tokio::spawn(async move { s.finish(&c, Duration::from_secs(5)).await });
        let forged = crate::client::default_http_client()
            .unwrap()
            .get(format!("{uri}?code=x&state=forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 400);
        assert!(!finish.is_finished(), "still waiting for the right answer");
        // The right state with an error redirect ends the wait.
        let denied = crate::client::default_http_client()
            .unwrap()
            .get(format!("{uri}?error=access_denied&state={state}"))
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status().as_u16(), 400);
        match finish.await.unwrap() {
            Err(Error::Callback(m)) => assert!(m.contains("access_denied"), "{m}"),
            other => panic!("expected the error redirect, got {other:?}"),
        }

        // Only wrong states until the timeout: the error says so.
        let c = client();
        let s = LoopbackSignIn::start(&c, "openid", 0).await.unwrap();
        let uri = s.redirect_uri.clone();
        let finish = tokio::spawn(async move { s.finish(&c, Duration::from_millis(800)).await });
        let forged = crate::client::default_http_client()
            .unwrap()
            .get(format!("{uri}?code=x&state=forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 400);
        match finish.await.unwrap() {
            Err(Error::Callback(m)) => assert!(m.contains("wrong state"), "{m}"),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}
