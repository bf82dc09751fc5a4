//! Atomic file writes with fixed permissions, and permission-checked reads of private key files.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::CryptoError;

/// Atomically replaces `path` with `bytes`, readable by the owner only (mode 0600).
///
/// The data goes to a temporary file in the same directory, created with mode
/// 0600 (so it is never readable by others, not even briefly), which is
/// fsynced, renamed over `path`, and then the directory is fsynced.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, bytes, 0o600)
}

/// Atomically replaces `path` with `bytes`, world-readable (mode 0644). See [`write_private`].
pub fn write_public(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, bytes, 0o644)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a file path", path.display())))?;
    let dir = parent_dir(path);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.{}.tmp", std::process::id(), crate::random_hex(6)));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        // The umask may have removed bits from `mode`; set the exact mode.
        file.set_permissions(Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    File::open(&dir)?.sync_all()
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `dir` (mode 0700) and its parents if missing.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), CryptoError> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| CryptoError::io(dir, e))
}

/// Reads a private key file, refusing it if group or others have any permission on it.
pub(crate) fn read_private(path: &Path) -> Result<Vec<u8>, CryptoError> {
    let mut file = File::open(path).map_err(|e| CryptoError::io(path, e))?;
    let meta = file.metadata().map_err(|e| CryptoError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CryptoError::InsecurePermissions { path: path.to_path_buf(), mode });
    }
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(|e| CryptoError::io(path, e))?;
    Ok(buf)
}

/// Reads a non-secret file (certificate) as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, CryptoError> {
    fs::read_to_string(path).map_err(|e| CryptoError::io(path, e))
}

/// Whether `path` exists (errors other than "not found" count as existing, so they surface on read).
pub(crate) fn exists(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) => e.kind() != io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn write_private_and_public_set_modes_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.bin");
        write_private(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(mode_of(&p), 0o600);
        write_private(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");

        let q = dir.path().join("public.pem");
        write_public(&q, b"cert").unwrap();
        assert_eq!(mode_of(&q), 0o644);

        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn write_fails_cleanly_in_missing_dir() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing").join("x");
        assert!(write_private(&p, b"x").is_err());
        assert!(write_private(Path::new("/"), b"x").is_err());
    }

    #[test]
    fn read_private_refuses_open_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        write_private(&p, b"k").unwrap();
        assert_eq!(read_private(&p).unwrap(), b"k");
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        let err = read_private(&p).unwrap_err();
        assert!(matches!(err, CryptoError::InsecurePermissions { mode: 0o640, .. }));
        assert!(err.to_string().contains("too open"), "{err}");
    }

    #[test]
    fn ensure_dir_creates_private_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a").join("b");
        ensure_dir(&d).unwrap();
        assert!(d.is_dir());
        ensure_dir(&d).unwrap();
        assert_eq!(mode_of(&d) & 0o077, 0);
    }
}
