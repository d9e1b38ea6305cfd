//! Files and directories that only the daemon's own user may open.
//!
//! The SQLite database, the master key and the spooled bank transfers hold payment data and
//! key material in the clear (or as good as): they are created owner-only (directories 0700,
//! files 0600) whatever the process umask, and the daemon refuses to start on existing ones
//! that group or others can reach, naming the `chmod` that fixes it. SQLite creates its `-wal`
//! and `-shm` files with the mode of the database file, so a 0600 database keeps them 0600.

use std::fs::{DirBuilder, OpenOptions};
use std::path::{Path, PathBuf};

/// A file or directory is open to group or others, or could not be created or inspected.
#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("{path} is accessible by group or others (mode {mode:o}); run `chmod {fix} {path}`")]
    TooOpen {
        path: PathBuf,
        mode: u32,
        fix: &'static str,
    },
    #[error("{path} is not a {expected}")]
    WrongKind {
        path: PathBuf,
        expected: &'static str,
    },
    #[error("cannot create or inspect {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrivateFileError + '_ {
    move |source| PrivateFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (and missing parents) owner-only, or checks that an existing one is.
pub fn ensure_private_dir(dir: &Path) -> Result<(), PrivateFileError> {
    ensure_private(dir, Kind::Directory)
}

/// Creates `file` empty and owner-only when it is missing (its directory too), or checks
/// that an existing one is owner-only.
pub fn ensure_private_file(file: &Path) -> Result<(), PrivateFileError> {
    ensure_private(file, Kind::File)
}

/// Checks an existing file (if it exists) without creating it.
pub fn check_private_if_exists(file: &Path) -> Result<(), PrivateFileError> {
    match std::fs::metadata(file) {
        Ok(meta) => check_owner_only(file, &meta, Kind::of(&meta).fix()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(file)(e)),
    }
}

/// What a private path is to be: each kind has its own owner-only mode.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Directory,
    File,
}

impl Kind {
    fn of(meta: &std::fs::Metadata) -> Self {
        if meta.is_dir() {
            Self::Directory
        } else {
            Self::File
        }
    }

    fn is(self, meta: &std::fs::Metadata) -> bool {
        match self {
            Self::Directory => meta.is_dir(),
            Self::File => meta.is_file(),
        }
    }

    /// The mode `chmod` sets to make one owner-only.
    fn fix(self) -> &'static str {
        match self {
            Self::Directory => "700",
            Self::File => "600",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::File => "regular file",
        }
    }
}

/// Creates `path` owner-only as a `kind` when it is missing, or checks that the existing one
/// is of that kind and owner-only.
fn ensure_private(path: &Path, kind: Kind) -> Result<(), PrivateFileError> {
    match std::fs::metadata(path) {
        Ok(meta) if kind.is(&meta) => check_owner_only(path, &meta, kind.fix()),
        Ok(_) => Err(PrivateFileError::WrongKind {
            path: path.to_owned(),
            expected: kind.name(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match kind {
            Kind::Directory => create_dir_all(path).map_err(io(path)),
            Kind::File => create_private_file(path),
        },
        Err(e) => Err(io(path)(e)),
    }
}

/// Creates a missing `file` empty and owner-only, its directory too.
fn create_private_file(file: &Path) -> Result<(), PrivateFileError> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            create_dir_all(dir).map_err(io(dir))?;
        }
    }
    match open_options().write(true).create_new(true).open(file) {
        Ok(_) => Ok(()),
        // Another process created it between the check and the open: check that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => ensure_private_file(file),
        Err(e) => Err(io(file)(e)),
    }
}

/// `create_dir_all` whose new directories are 0700.
pub fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// `OpenOptions` whose newly created files are 0600 (existing files keep their mode).
pub fn open_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(unix)]
fn check_owner_only(
    path: &Path,
    meta: &std::fs::Metadata,
    fix: &'static str,
) -> Result<(), PrivateFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::TooOpen {
            path: path.to_owned(),
            mode,
            fix,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(
    _path: &Path,
    _meta: &std::fs::Metadata,
    _fix: &'static str,
) -> Result<(), PrivateFileError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_files_are_owner_only_and_open_ones_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&dir)), (0o700, 0o700));
        let file = dir.join("c/kontor.db");
        ensure_private_file(&file).unwrap();
        assert_eq!((mode(&dir.join("c")), mode(&file)), (0o700, 0o600));
        ensure_private_file(&file).unwrap();

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ensure_private_file(&file).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert!(check_private_if_exists(&file).is_err());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");
        assert!(check_private_if_exists(&root.path().join("missing")).is_ok());
    }
}
