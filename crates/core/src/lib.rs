//! Baton's domain: the refresh-token state machine, token formats, policies and the
//! storage traits the domain needs. This crate performs no I/O and never reads the
//! clock: every function that needs the time takes `now` as a parameter.

pub mod claims;
pub mod client_spec;
pub mod code;
pub mod error;
pub mod events;
pub mod model;
pub mod pkce;
pub mod policy;
pub mod redirect;
pub mod refresh;
pub mod resource_spec;
pub mod scope;
pub mod secret;
pub mod store;
pub mod time;
pub mod token;

/// A random identifier: `prefix` + 32 hex digits (128 bits from the OS generator).
pub fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", secret::hex(&random_bytes::<16>()))
}

/// Random bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; N];
    // getrandom(2) does not fail on a working Linux system. If it ever does, issuing
    // predictable ids or secrets would be worse than stopping: fail closed.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        std::process::abort();
    }
    b
}

/// Event ids sort by time: `evt_` + 12 hex digits of milliseconds + 16 random hex.
pub fn event_id(now: time::Timestamp) -> String {
    let r = random_bytes::<8>();
    format!("evt_{:012x}{}", now.0.max(0), secret::hex(&r))
}
