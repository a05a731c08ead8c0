//! The key file: relink's keyring on disk, for installations that configure no key.
//!
//! `relink serve` with no configuration creates it beside the database, readable by its owner
//! only (mode 0600); `relink keys rotate` appends a key. The file is written to a temporary name
//! and renamed, so a crash never leaves half a keyring.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{CryptoError, KeyMaterial, Keyring};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write key file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("key file {path} is not a relink key file: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("key file {path}: {source}")]
    Keys { path: PathBuf, source: CryptoError },
}

#[derive(Serialize, Deserialize)]
struct FileKey {
    id: u32,
    key: String,
}

#[derive(Serialize, Deserialize)]
struct FileContents {
    keys: Vec<FileKey>,
}

const HEADER: &str = "\
# relink encryption keys. Keep this file secret and back it up with the database:
# without it the stored tokens cannot be read. The highest id encrypts new tokens.
";

/// Reads a key file.
pub fn load(path: &Path) -> Result<Keyring, KeyFileError> {
    let text =
        Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyFileError::Read { path: path.into(), source })?);
    let contents: FileContents = toml::from_str(&text).map_err(|e| KeyFileError::Malformed {
        path: path.into(),
        // toml's messages quote the offending line, which may hold a key: keep only the first line.
        message: e.message().lines().next().unwrap_or("unreadable").to_owned(),
    })?;
    let mut keys = Vec::new();
    for entry in contents.keys {
        let key = KeyMaterial::from_base64(&Zeroizing::new(entry.key))
            .map_err(|source| KeyFileError::Keys { path: path.into(), source })?;
        keys.push((entry.id, key));
    }
    Keyring::new(keys).map_err(|source| KeyFileError::Keys { path: path.into(), source })
}

/// Whether the file can be read by anyone but its owner.
#[cfg(unix)]
pub fn is_too_open(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).map(|m| m.permissions().mode() & 0o077 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
pub fn is_too_open(_path: &Path) -> bool {
    false
}

/// Writes `keyring` to `path` atomically with mode 0600, creating the folder if needed.
pub fn save(path: &Path, keyring: &Keyring) -> Result<(), KeyFileError> {
    let write_err = |source| KeyFileError::Write { path: path.into(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    let contents = FileContents {
        keys: keyring
            .ids()
            .map(|id| FileKey { id, key: keyring.key(id).expect("listed id").to_base64().to_string() })
            .collect(),
    };
    let body = Zeroizing::new(toml::to_string(&contents).expect("key file contents serialize"));
    drop(contents.keys.into_iter().map(|k| Zeroizing::new(k.key)).collect::<Vec<_>>());
    let temporary = path.with_extension("key.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary).map_err(write_err)?;
    file.write_all(HEADER.as_bytes()).map_err(write_err)?;
    file.write_all(body.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    fs::rename(&temporary, path).map_err(write_err)?;
    Ok(())
}

/// Loads the key file, or creates it with one fresh key when it does not exist.
/// Returns the keyring and whether it was just created.
pub fn load_or_create(path: &Path) -> Result<(Keyring, bool), KeyFileError> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("one key");
    save(path, &keyring)?;
    Ok((keyring, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("relink.key");
        let (ring, created) = load_or_create(&path).unwrap();
        assert!(created);
        assert!(!is_too_open(&path));
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.key(1).unwrap().fingerprint(), ring.key(1).unwrap().fingerprint());
    }

    #[test]
    fn rotation_appends_and_keeps_old_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relink.key");
        let (mut ring, _) = load_or_create(&path).unwrap();
        ring.add_generated();
        save(&path, &ring).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back.ids().collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn a_broken_key_file_is_explained_without_quoting_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relink.key");
        fs::write(&path, "keys = [ { id = 1, key = \"c2VjcmV0LWtleS1tYXRlcmlhbA==\" } ]\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
        fs::write(&path, "[[keys]]\nid = 1\nkey = \"c2VjcmV0LWtleS1tYXRlcmlhbA==\" garbage\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("not a relink key file") && !err.contains("c2VjcmV0"), "{err}");
    }
}
