//! Small helpers: base64url, randomness, time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Unpadded base64url.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` random bytes, base64url encoded; [`Error::Random`] when the operating system's
/// generator fails (never predictable bytes in its place).
pub(crate) fn random_token(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    #[cfg(test)]
    if tests::FAIL_RANDOM.with(std::cell::Cell::get) {
        return Err(Error::Random);
    }
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Random)?;
    Ok(b64url(&buf))
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    thread_local! {
        /// Makes [`random_token`] fail on this thread, as if the OS generator failed.
        pub(crate) static FAIL_RANDOM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[test]
    fn a_failing_generator_is_an_error_not_a_panic_nor_zeros() {
        assert_eq!(random_token(16).unwrap().len(), 22);
        FAIL_RANDOM.with(|f| f.set(true));
        assert!(matches!(random_token(16), Err(Error::Random)));
        assert!(matches!(crate::Pkce::new(), Err(Error::Random)));
        let dir = tempfile::tempdir().unwrap();
        let store = crate::FileStore::new(dir.path()).unwrap();
        assert!(
            crate::TokenStore::save(&store, "k", &crate::TokenSet::new("a", None, None)).is_err()
        );
        let key =
            crate::DpopKey::from_pkcs8(&crate::SigningKey::generate_pkcs8().unwrap()).unwrap();
        assert!(matches!(
            key.proof("GET", "https://rs.example/", None),
            Err(Error::Random)
        ));
        FAIL_RANDOM.with(|f| f.set(false));
        assert!(crate::Pkce::new().is_ok());
    }
}
