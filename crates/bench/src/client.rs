//! One HTTP/1.1 keep-alive connection per worker, OAuth form bodies and
//! token-response parsing.

use std::net::SocketAddr;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::args::{Args, Auth, Target};

const FORM: &str = "application/x-www-form-urlencoded";
const REFRESH_PREFIX: &str = "grant_type=refresh_token&refresh_token=";

/// Appends `value` to `buf`, percent-encoded for `application/x-www-form-urlencoded`.
fn push_encoded(buf: &mut String, value: &str) {
    buf.extend(form_urlencoded::byte_serialize(value.as_bytes()));
}

fn encoded_len(value: &str) -> usize {
    form_urlencoded::byte_serialize(value.as_bytes())
        .map(str::len)
        .sum()
}

/// Precomputed pieces of the form bodies sent to the token endpoint.
#[derive(Debug, Clone)]
pub struct Forms {
    /// Client credentials appended to every body (`&client_id=...`), empty for Basic.
    client_suffix: String,
    /// Complete password-grant body (identical for every seeding request).
    password_body: Bytes,
}

impl Forms {
    pub fn new(
        auth: Auth,
        client_id: &str,
        client_secret: &str,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Self {
        let mut client_suffix = String::new();
        match auth {
            Auth::Basic => {}
            Auth::Post => {
                client_suffix.push_str("&client_id=");
                push_encoded(&mut client_suffix, client_id);
                client_suffix.push_str("&client_secret=");
                push_encoded(&mut client_suffix, client_secret);
            }
            Auth::None => {
                client_suffix.push_str("&client_id=");
                push_encoded(&mut client_suffix, client_id);
            }
        }
        let mut body = String::from("grant_type=password&username=");
        push_encoded(&mut body, username);
        body.push_str("&password=");
        push_encoded(&mut body, password);
        if let Some(scope) = scope {
            body.push_str("&scope=");
            push_encoded(&mut body, scope);
        }
        body.push_str(&client_suffix);
        Forms {
            client_suffix,
            password_body: Bytes::from(body),
        }
    }

    /// Body of a password-grant request (a cheap reference-counted clone).
    pub fn password_body(&self) -> Bytes {
        self.password_body.clone()
    }

    /// Body of a refresh_token-grant request, built with exactly one allocation.
    pub fn refresh_body(&self, refresh_token: &str) -> Bytes {
        let len = REFRESH_PREFIX.len() + encoded_len(refresh_token) + self.client_suffix.len();
        let mut body = String::with_capacity(len);
        body.push_str(REFRESH_PREFIX);
        push_encoded(&mut body, refresh_token);
        body.push_str(&self.client_suffix);
        debug_assert_eq!(body.len(), len);
        Bytes::from(body)
    }
}

/// `Authorization: Basic ...` for client_secret_basic (RFC 6749 section 2.3.1:
/// id and secret are form-urlencoded before base64).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> Result<HeaderValue, String> {
    let mut pair = String::new();
    push_encoded(&mut pair, client_id);
    pair.push(':');
    push_encoded(&mut pair, client_secret);
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .map_err(|e| format!("invalid Authorization header: {e}"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Everything needed to talk to the token endpoint; shared by all workers.
#[derive(Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    path: Uri,
    host: HeaderValue,
    authorization: Option<HeaderValue>,
    pub forms: Forms,
    /// `--seed-token`: the head of every chain, instead of a password grant.
    pub seed_token: Option<String>,
    /// `--dpop`: a proof with every request.
    dpop: Option<crate::dpop::Prover>,
}

impl Endpoint {
    pub fn new(args: &Args, target: &Target, addr: SocketAddr) -> Result<Self, String> {
        let secret = args.client_secret.as_deref().unwrap_or("");
        let authorization = match args.auth {
            Auth::Basic => Some(basic_authorization(&args.client_id, secret)?),
            Auth::Post | Auth::None => None,
        };
        let host = HeaderValue::try_from(target.host_header.as_str())
            .map_err(|e| format!("invalid Host header: {e}"))?;
        Ok(Endpoint {
            addr,
            path: target.path.clone(),
            host,
            authorization,
            forms: Forms::new(
                args.auth,
                &args.client_id,
                secret,
                args.username.as_deref().unwrap_or(""),
                args.password.as_deref().unwrap_or(""),
                args.scope.as_deref(),
            ),
            seed_token: args.seed_token.clone(),
            dpop: if args.dpop {
                Some(crate::dpop::Prover::new(&args.token_url)?)
            } else {
                None
            },
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Opens a new keep-alive connection (TCP_NODELAY, HTTP/1.1).
    pub async fn connect(&self, deadline: Instant) -> Result<Connection, Failure> {
        let fut = async {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|e| Failure::Connect(e.kind().to_string()))?;
            stream
                .set_nodelay(true)
                .map_err(|e| Failure::Connect(e.kind().to_string()))?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| Failure::Connect(e.to_string()))?;
            tokio::spawn(async move {
                // Ends when the peer closes or the sender is dropped; errors
                // surface through `send_request`.
                let _ = connection.await;
            });
            Ok(Connection { sender })
        };
        timeout_at(deadline, fut)
            .await
            .map_err(|_| Failure::Timeout)?
    }

    /// POSTs a form body and reads the whole response, bounded by `deadline`.
    pub async fn post(
        &self,
        conn: &mut Connection,
        body: Bytes,
        deadline: Instant,
    ) -> Result<Reply, Failure> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.path.clone();
        let headers = req.headers_mut();
        headers.reserve(4);
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        if let Some(p) = &self.dpop {
            let proof = p.proof().map_err(Failure::Request)?;
            req.headers_mut().insert("dpop", proof);
        }
        let fut = async {
            conn.sender.ready().await?;
            let resp = conn.sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>(Reply { status, body })
        };
        match timeout_at(deadline, fut).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(Failure::from_hyper(&e)),
            Err(_) => Err(Failure::Timeout),
        }
    }
}

/// A client-side HTTP/1.1 connection.
#[derive(Debug)]
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// True once the server closed the connection (it must be replaced).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// A complete HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// A request that produced no HTTP response; the connection must be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Connect(String),
    Transport(String),
    /// The request could not be made (a DPoP proof could not be signed).
    Request(String),
}

impl Failure {
    fn from_hyper(e: &hyper::Error) -> Self {
        if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
            Failure::Transport("connection closed".to_owned())
        } else if e.is_parse() {
            Failure::Transport("malformed response".to_owned())
        } else {
            let io = std::error::Error::source(e)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            match io {
                Some(kind) => Failure::Transport(kind.to_string()),
                None => Failure::Transport(e.to_string()),
            }
        }
    }

    /// Label used in the error breakdown.
    pub fn label(&self) -> String {
        match self {
            Failure::Timeout => "timeout".to_owned(),
            Failure::Connect(msg) => format!("connect: {msg}"),
            Failure::Transport(msg) => format!("transport: {msg}"),
            Failure::Request(msg) => format!("request: {msg}"),
        }
    }
}

/// What a token-endpoint response means for the benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOutcome {
    /// 2xx with an access token; the refresh token if one was returned.
    Success { refresh_token: Option<String> },
    /// Anything else: HTTP status and OAuth `error` code (or a description).
    Error { status: u16, code: String },
}

impl TokenOutcome {
    pub fn error_label(status: u16, code: &str) -> String {
        format!("{status} {code}")
    }
}

/// Interprets a token-endpoint response (RFC 6749 sections 5.1 and 5.2).
pub fn parse_token_response(reply: &Reply) -> TokenOutcome {
    let json = serde_json::from_slice::<serde_json::Value>(&reply.body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(serde_json::Value::as_str)
    };
    if (200..300).contains(&reply.status) {
        if json.is_none() {
            return TokenOutcome::Error {
                status: reply.status,
                code: "(invalid JSON)".to_owned(),
            };
        }
        if field("access_token").is_none() {
            return TokenOutcome::Error {
                status: reply.status,
                code: "(no access_token)".to_owned(),
            };
        }
        return TokenOutcome::Success {
            refresh_token: field("refresh_token").map(str::to_owned),
        };
    }
    TokenOutcome::Error {
        status: reply.status,
        code: field("error").unwrap_or("(no error code)").to_owned(),
    }
}

/// Human-readable description of a failed response, for fatal seeding errors.
pub fn describe_reply(reply: &Reply) -> String {
    let json = serde_json::from_slice::<serde_json::Value>(&reply.body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(serde_json::Value::as_str)
    };
    match (field("error"), field("error_description")) {
        (Some(e), Some(d)) => format!("HTTP {} {e}: {d}", reply.status),
        (Some(e), None) => format!("HTTP {} {e}", reply.status),
        _ => {
            let text = String::from_utf8_lossy(&reply.body);
            let excerpt: String = text.chars().take(200).collect();
            format!("HTTP {}: {excerpt}", reply.status)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn forms(auth: Auth) -> Forms {
        Forms::new(
            auth,
            "my client",
            "s3cr+t/=",
            "alice@example.com",
            "p&ss word",
            Some("openid offline_access"),
        )
    }

    #[test]
    fn refresh_body_percent_encodes_token() {
        let f = forms(Auth::Basic);
        let body = f.refresh_body("ab+c/d==");
        assert_eq!(
            &body[..],
            b"grant_type=refresh_token&refresh_token=ab%2Bc%2Fd%3D%3D"
        );
        let plain = f.refresh_body("rt-1_x.Y~");
        assert_eq!(
            &plain[..],
            b"grant_type=refresh_token&refresh_token=rt-1_x.Y%7E"
        );
    }

    #[test]
    fn refresh_body_roundtrips_through_form_decoding() {
        let token = "a+b/c=d&e f%g";
        let body = forms(Auth::None).refresh_body(token);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), token.into()),
                ("client_id".into(), "my client".into()),
            ]
        );
    }

    #[test]
    fn client_credentials_in_body() {
        let body = forms(Auth::Post).refresh_body("t");
        assert_eq!(
            &body[..],
            b"grant_type=refresh_token&refresh_token=t&client_id=my+client&client_secret=s3cr%2Bt%2F%3D"
        );
    }

    #[test]
    fn password_body() {
        let body = forms(Auth::None).password_body();
        assert_eq!(
            &body[..],
            b"grant_type=password&username=alice%40example.com&password=p%26ss+word&scope=openid+offline_access&client_id=my+client"
        );
        let no_scope = Forms::new(Auth::Basic, "c", "s", "u", "p", None).password_body();
        assert_eq!(&no_scope[..], b"grant_type=password&username=u&password=p");
    }

    #[test]
    fn basic_header() {
        let h = basic_authorization("bench", "secret").unwrap();
        // base64("bench:secret")
        assert_eq!(h.to_str().unwrap(), "Basic YmVuY2g6c2VjcmV0");
        assert!(h.is_sensitive());
        let h = basic_authorization("a b", "x:y").unwrap();
        // base64("a+b:x%3Ay")
        assert_eq!(h.to_str().unwrap(), "Basic YStiOnglM0F5");
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn token_responses() {
        assert_eq!(
            parse_token_response(&reply(
                200,
                r#"{"access_token":"x","token_type":"Bearer","refresh_token":"rt-2"}"#
            )),
            TokenOutcome::Success {
                refresh_token: Some("rt-2".into())
            }
        );
        assert_eq!(
            parse_token_response(&reply(200, r#"{"access_token":"x"}"#)),
            TokenOutcome::Success {
                refresh_token: None
            }
        );
        assert_eq!(
            parse_token_response(&reply(400, r#"{"error":"invalid_grant"}"#)),
            TokenOutcome::Error {
                status: 400,
                code: "invalid_grant".into()
            }
        );
        assert_eq!(
            parse_token_response(&reply(503, "busy")),
            TokenOutcome::Error {
                status: 503,
                code: "(no error code)".into()
            }
        );
        assert_eq!(
            parse_token_response(&reply(200, "<html>")),
            TokenOutcome::Error {
                status: 200,
                code: "(invalid JSON)".into()
            }
        );
        assert_eq!(
            describe_reply(&reply(
                401,
                r#"{"error":"invalid_client","error_description":"bad secret"}"#
            )),
            "HTTP 401 invalid_client: bad secret"
        );
    }
}
