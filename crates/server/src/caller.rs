//! Who made a request, as events and revocations record it. `http/` reads it from the
//! connection and the headers; the CLI builds its own.

/// The caller of a request: its network address and its user agent (truncated, never
/// a secret). Recorded with events, revocations and sign-in throttling.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
