//! Who made a request, as events and revocations record it. `http/` reads it from the
//! connection and the headers; the CLI builds its own.

/// The caller of a request: its network address and its user agent (truncated, never
/// a secret). Recorded with events, revocations and sign-in throttling.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The person acting, when one is signed in: the administrator using the operator
    /// console. The admin API (a bearer token), the CLI and OAuth requests name none.
    /// Change events record it as `details.actor`.
    pub actor: Option<Actor>,
}

/// A signed-in person an operation is done for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// An administrator signed in to the operator console (`/console`), by `sub`
    /// (stable across renames) and their username at the time.
    ConsoleAdmin { sub: String, username: String },
}

impl Actor {
    /// The `actor` member of an event's details.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Actor::ConsoleAdmin { sub, username } => {
                serde_json::json!({"via": "console", "sub": sub, "username": username})
            }
        }
    }
}
