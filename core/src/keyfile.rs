//! The key file: relink's keyring on disk, for installations that configure no key.
//!
//! `relink serve` with no configuration creates it beside the database, readable by its owner
//! only (mode 0600, in a directory created 0700); `relink keys rotate` appends a key. The file is
//! written to a temporary name and renamed, so a crash never leaves half a keyring. The temporary
//! file is created new (`O_EXCL`, `O_NOFOLLOW`) and set to 0600 through its own handle, whatever
//! mode an older file had; a key file or temporary file that is a symbolic link is refused, so a
//! link planted beside the database never makes relink write its keys somewhere else.

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

/// Creates `dir` and its missing parents readable by the owner only (0700); an existing
/// directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Whether `path` is a symbolic link (a missing path is not).
fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Writes `keyring` to `path` atomically with mode 0600, creating the folder (0700) if needed.
/// Refuses a `path` or temporary file that is a symbolic link; a stale temporary file left by a
/// crash is removed first.
pub fn save(path: &Path, keyring: &Keyring) -> Result<(), KeyFileError> {
    let write_err = |source| KeyFileError::Write { path: path.into(), source };
    let refuse = |what: &Path| {
        write_err(std::io::Error::other(format!(
            "{} is a symbolic link; relink writes its key file only as a regular file (replace the link with the file)",
            what.display()
        )))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(write_err)?;
    }
    let temporary = path.with_extension("key.tmp");
    for checked in [path, temporary.as_path()] {
        if is_symlink(checked) {
            return Err(refuse(checked));
        }
    }
    match fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(write_err(error)),
        _ => {}
    }
    let contents = FileContents {
        keys: keyring
            .ids()
            .map(|id| FileKey { id, key: keyring.key(id).expect("listed id").to_base64().to_string() })
            .collect(),
    };
    let body = Zeroizing::new(toml::to_string(&contents).expect("key file contents serialize"));
    drop(contents.keys.into_iter().map(|k| Zeroizing::new(k.key)).collect::<Vec<_>>());
    let mut options = fs::OpenOptions::new();
    // Created new: never an existing file, and never through a link (O_EXCL does not follow one;
    // O_NOFOLLOW says so twice).
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(&temporary).map_err(write_err)?;
    // The mode above is filtered by the umask; set it on the handle itself.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(write_err)?;
    }
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

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_once_readable_by_everyone_is_rewritten_private_in_a_private_directory() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let path = data.join("relink.key");
        let (mut ring, _) = load_or_create(&path).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&path), 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        // A stale temporary file from a crash, readable by everyone.
        fs::write(path.with_extension("key.tmp"), "stale").unwrap();
        fs::set_permissions(path.with_extension("key.tmp"), fs::Permissions::from_mode(0o666)).unwrap();
        ring.add_generated();
        save(&path, &ring).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(load(&path).unwrap().ids().collect::<Vec<_>>(), vec![1, 2]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_key_file_or_temporary_file_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "someone else's file").unwrap();
        let ring = Keyring::new([(1, KeyMaterial::generate())]).unwrap();

        let path = dir.path().join("relink.key");
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let err = save(&path, &ring).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");

        let path = dir.path().join("other.key");
        std::os::unix::fs::symlink(&elsewhere, path.with_extension("key.tmp")).unwrap();
        let err = save(&path, &ring).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!path.exists());
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "someone else's file");
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
