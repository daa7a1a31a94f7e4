//! Where user tokens live between refreshes: the [`TokenStore`] trait, an in-memory
//! [`MemoryStore`] and a crash-safe [`FileStore`].
//!
//! The manager calls a store on a blocking thread (`spawn_blocking`), so implementations
//! may do blocking I/O. A `save` that returns `Ok` must be durable: the manager hands a
//! rotated refresh token to nobody before `save` returned.

use crate::error::Result;
use crate::token::TokenSet;
use crate::util::{hex, random_token};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Storage of token sets by application-chosen key.
pub trait TokenStore: Send + Sync + 'static {
    /// The tokens stored under `key`, if any.
    fn load(&self, key: &str) -> Result<Option<TokenSet>>;
    /// Stores `tokens` under `key`, replacing what was there; durable once `Ok`.
    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()>;
    /// Removes what is stored under `key` (no error if nothing is).
    fn remove(&self, key: &str) -> Result<()>;
}

/// Tokens in process memory: lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, TokenSet>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The map, also after a thread panicked while holding the lock: every operation
    /// replaces or removes one whole entry, so the map is consistent whatever happened.
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenSet>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        Ok(self.map().get(key).cloned())
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        self.map().insert(key.to_string(), tokens.clone());
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.map().remove(key);
        Ok(())
    }
}

/// One JSON file per key in a directory (created with mode 0700 on Unix; files 0600).
///
/// A save writes a temporary file in the same directory, fsyncs it, renames it over the
/// key's file and fsyncs the directory: after a crash at any point the file holds either
/// the old or the new token set, whole, and once `save` returned the new one survives a
/// power loss. File names are the SHA-256 of the key, so any key is safe.
///
/// ```
/// use baton_client::{FileStore, TokenSet, TokenStore};
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::new(dir.path()).unwrap();
/// store.save("alice", &TokenSet::new("at", Some("rt"), None)).unwrap();
/// assert_eq!(store.load("alice").unwrap().unwrap().refresh_token.as_deref(), Some("rt"));
/// ```
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`, created if missing.
    pub fn new(dir: impl AsRef<Path>) -> Result<FileStore> {
        let dir = dir.as_ref().to_path_buf();
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&dir)?;
        Ok(FileStore { dir })
    }

    /// The file of `key`.
    pub fn path_of(&self, key: &str) -> PathBuf {
        let d = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
        self.dir.join(format!("{}.json", hex(d.as_ref())))
    }

    fn sync_dir(&self) -> Result<()> {
        #[cfg(unix)]
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

impl TokenStore for FileStore {
    fn load(&self, key: &str) -> Result<Option<TokenSet>> {
        match std::fs::read(self.path_of(key)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("token file: {e}"))
                    .into()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, key: &str, tokens: &TokenSet) -> Result<()> {
        let target = self.path_of(key);
        let tmp = self.dir.join(format!(".tmp-{}", random_token(9)?));
        let bytes = serde_json::to_vec(tokens)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let write = || -> std::io::Result<()> {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            let mut f = o.open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &target)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        self.sync_dir()
    }

    fn remove(&self, key: &str) -> Result<()> {
        match std::fs::remove_file(self.path_of(key)) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_replaces_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::new(dir.path().join("tokens")).unwrap();
        assert!(s.load("k").unwrap().is_none());
        s.save("k", &TokenSet::new("a1", Some("r1"), Some(1)))
            .unwrap();
        s.save("k", &TokenSet::new("a2", Some("r2"), Some(2)))
            .unwrap();
        s.save("other/../key", &TokenSet::new("x", None, None))
            .unwrap();
        let t = s.load("k").unwrap().unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.refresh_token.as_deref()),
            ("a2", Some("r2"))
        );
        let names: Vec<String> = std::fs::read_dir(dir.path().join("tokens"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names
            .iter()
            .all(|n| n.ends_with(".json") && !n.starts_with('.')));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.path_of("k"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        s.remove("k").unwrap();
        s.remove("k").unwrap();
        assert!(s.load("k").unwrap().is_none());
    }

    #[test]
    fn a_corrupt_token_file_is_a_storage_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::new(dir.path()).unwrap();
        std::fs::write(s.path_of("k"), b"{not json").unwrap();
        assert!(matches!(s.load("k"), Err(crate::Error::Storage(_))));
    }

    #[test]
    fn memory_store_recovers_from_a_poisoned_lock() {
        let s = std::sync::Arc::new(MemoryStore::new());
        s.save("k", &TokenSet::new("a", Some("r"), None)).unwrap();
        let s2 = s.clone();
        let _ = std::thread::spawn(move || {
            let _g = s2.map.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(s.map.is_poisoned());
        assert_eq!(s.load("k").unwrap().unwrap().access_token, "a");
        s.save("k", &TokenSet::new("b", Some("r2"), None)).unwrap();
        assert_eq!(s.load("k").unwrap().unwrap().access_token, "b");
        s.remove("k").unwrap();
        assert!(s.load("k").unwrap().is_none());
    }

    #[test]
    fn memory_store_round_trips() {
        let s = MemoryStore::new();
        s.save("k", &TokenSet::new("a", None, None)).unwrap();
        assert_eq!(s.load("k").unwrap().unwrap().access_token, "a");
        s.remove("k").unwrap();
        assert!(s.load("k").unwrap().is_none());
    }
}
