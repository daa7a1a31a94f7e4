//! Small helpers: base64url, randomness, time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// Unpadded base64url.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` random bytes, base64url encoded.
pub(crate) fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // SystemRandom only fails when the OS has no randomness; the zeros would then be
    // caught by the server (jti reuse, state mismatch) rather than silently accepted.
    let _ = SystemRandom::new().fill(&mut buf);
    b64url(&buf)
}

/// Seconds since the Unix epoch. The one place this crate reads the clock: a client
/// library is its own service layer (token expiry, assertion times).
#[allow(clippy::disallowed_methods)]
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
