//! User passwords: Argon2id, verified off the request threads, with the same work done
//! for unknown users so that timing does not say whether a user exists.

use crate::state::AppState;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use baton_core::error::StoreError;
use baton_core::model::User;
use std::sync::OnceLock;

/// Hashes a password as an Argon2id PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Whether `password` matches the PHC string.
pub fn verifies(password: &str, phc: &str) -> bool {
    verify(password, phc)
}

fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("baton-dummy-password-for-timing").unwrap_or_default())
}

/// Computes the dummy hash ahead of the first sign-in (call off the request threads).
pub fn warm_up() {
    let _ = dummy_hash();
}

/// Argon2id takes ~19 MiB and tens of milliseconds per verification: at most one per
/// core runs at a time, and a sign-in that cannot start within a few seconds is
/// answered 503 rather than queued without bound.
fn verifier_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        tokio::sync::Semaphore::new(n)
    })
}

/// The user of this name if there is one (active or not), and whether the password is
/// theirs (an inactive user must not sign in either way). The same Argon2 work is done whether the user exists or not.
pub async fn verify_user(
    st: &AppState,
    username: &str,
    password: &str,
) -> Result<(Option<User>, bool), StoreError> {
    if username.len() > 256 || password.len() > 1024 {
        return Ok((None, false));
    }
    let user = st.store.get_user(username).await?;
    let phc = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
    let pw = password.to_string();
    let slot = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        verifier_slots().acquire(),
    )
    .await
    .map_err(|_| StoreError::Unavailable("too many sign-ins at once".into()))?
    .map_err(|_| StoreError::Unavailable("sign-in is shutting down".into()))?;
    let ok = tokio::task::spawn_blocking(move || verify(&pw, &phc))
        .await
        .map_err(|_| StoreError::Unavailable("password verification task failed".into()))?;
    drop(slot);
    Ok((user, ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("correct horse", "not-a-hash"));
    }
}
