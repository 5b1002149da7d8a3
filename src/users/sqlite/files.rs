//! The database's directory and file, created owner-only (0700 and 0600,
//! whatever the umask): the file holds the page-token key. SQLite gives
//! its `-wal` and `-shm` files the database file's permissions. What
//! exists already is left as it is.

use std::path::Path;

use crate::users::store::StoreError;

/// Creates `path`'s missing parent directories and, if missing, the empty
/// database file (SQLite takes an empty file as a new database).
pub(super) fn create_private(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        private_dirs()
            .create(parent)
            .map_err(|err| StoreError::Internal(format!("creating {}: {err}", parent.display())))?;
    }
    match private_file().open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::Internal(format!(
            "creating {}: {err}",
            path.display()
        ))),
    }
}

fn private_dirs() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn what_is_created_is_owner_only_and_what_exists_is_left_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dir_mode = mode(dir.path());
        let existing = dir.path().join("existing.db");
        std::fs::write(&existing, b"").expect("an existing file");
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let cases = [
            (dir.path().join("a/b/users.db"), Some(dir.path().join("a")), 0o600),
            (dir.path().join("users.db"), None, 0o600),
            (existing, None, 0o640),
        ];
        for (path, created_dir, file_mode) in cases {
            create_private(&path).expect("created");
            assert_eq!(mode(&path), file_mode, "{}", path.display());
            if let Some(created_dir) = created_dir {
                assert_eq!(mode(&created_dir), 0o700, "{}", created_dir.display());
                assert_eq!(
                    mode(path.parent().expect("a parent")),
                    0o700,
                    "{}",
                    path.display()
                );
            }
        }
        // The temporary directory itself was there before: untouched.
        assert_eq!(mode(dir.path()), dir_mode);
    }
}
