//! Where the state's files go and how they are opened: beside the config
//! or in the XDG state directory ([`path_for`]), owner-only, and only when
//! they are abgleich's own: never through a symbolic link, never a file
//! with a second name (a hard link), never another user's file.

use std::fs::{File, Metadata, OpenOptions};
use std::path::{Path, PathBuf};

/// A state, lock or journal file that cannot be opened safely.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A symbolic link (or not a file) where a state file belongs: opening
    /// it would write wherever it points.
    #[error(
        "{} is {what}; abgleich never opens its state, lock or journal files through one \
         (remove it, or put the real file in its place)",
        path.display()
    )]
    NotAFile { path: PathBuf, what: &'static str },
    /// A file with more than one name: another name (a hard link planted
    /// in the state's place) may be anywhere on the file system, and a
    /// write would change the file behind it.
    #[error(
        "{} has {links} names (hard links): the same file is known elsewhere, and abgleich \
         never writes its state, lock or journal files through another name (remove the \
         other name, or put a copy of its own in this one's place)",
        path.display()
    )]
    HardLinked { path: PathBuf, links: u64 },
    /// Another user's file where a state file belongs.
    #[error(
        "{} belongs to user {owner}, not to you (user {me}); abgleich opens only its own state, \
         lock and journal files (run it as that user, or remove the file)",
        path.display()
    )]
    NotYours { path: PathBuf, owner: u32, me: u32 },
    #[error("state {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The state file for a config file: beside it (`abgleich.toml` →
/// `abgleich.state`), or, when that folder is not writable, in the XDG state
/// directory (`$XDG_STATE_HOME`, else `~/.local/state`) under `abgleich/`,
/// named after the config's canonical path. A state that exists in either
/// place stays there, so the links are never lost by a folder's permissions
/// changing.
pub fn path_for(config_file: &Path) -> PathBuf {
    let beside = config_file.with_extension("state");
    let elsewhere = xdg_path_for(
        config_file,
        std::env::var_os("XDG_STATE_HOME"),
        std::env::var_os("HOME"),
    );
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let folder = match config_file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match elsewhere {
        _ if exists(&beside) => beside,
        Some(xdg) if exists(&xdg) => xdg,
        Some(xdg) if !writable(folder) => xdg,
        _ => beside,
    }
}

/// The state's place in the XDG state directory for `config_file`: its
/// stem and a hash of its canonical path, so two configs never share one.
fn xdg_path_for(
    config_file: &Path,
    xdg_state_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let base = match xdg_state_home.map(PathBuf::from) {
        // The spec: a relative value is invalid and is ignored.
        Some(dir) if dir.is_absolute() => dir,
        _ => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".local/state"),
    };
    let canonical = std::fs::canonicalize(config_file)
        .or_else(|_| std::path::absolute(config_file))
        .unwrap_or_else(|_| config_file.to_path_buf());
    let key = xxhash_rust::xxh3::xxh3_64(canonical.as_os_str().as_encoded_bytes());
    let stem: String = config_file
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(40)
        .collect();
    Some(
        base.join("abgleich")
            .join(format!("{stem}-{key:016x}.state")),
    )
}

/// Whether this process may create files in `dir`.
fn writable(dir: &Path) -> bool {
    may_write(dir).is_ok()
}

/// Whether this process may write `path` (a file, or a folder to create
/// files in); the error says why not.
pub(super) fn may_write(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
        if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(unix))]
    {
        if std::fs::metadata(path)?.permissions().readonly() {
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
        } else {
            Ok(())
        }
    }
}

/// Create the folder of a state in the XDG state directory, owner-only.
pub(super) fn create_state_folder(path: &Path) -> Result<(), FileError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| FileError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Refuse a state file that is not abgleich's own: anything but a regular
/// file, a file with a second name (a hard link: writing it would change
/// the file behind the other name), or another user's file.
fn refuse_unless_own(path: &Path, meta: &Metadata) -> Result<(), FileError> {
    if !meta.is_file() {
        return Err(FileError::NotAFile {
            path: path.to_path_buf(),
            what: "not a regular file",
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return Err(FileError::HardLinked {
                path: path.to_path_buf(),
                links: meta.nlink(),
            });
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(FileError::NotYours {
                path: path.to_path_buf(),
                owner: meta.uid(),
                me,
            });
        }
    }
    Ok(())
}

/// Refuse `path` if it is a symbolic link or not abgleich's own file (see
/// [`refuse_unless_own`]); a path that does not exist yet is fine.
pub(super) fn refuse_unless_file(path: &Path) -> Result<(), FileError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(FileError::NotAFile {
            path: path.to_path_buf(),
            what: "a symbolic link",
        }),
        Ok(meta) => refuse_unless_own(path, &meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FileError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Open `path`, creating it with owner-only permissions if needed, never
/// through a symbolic link (`O_NOFOLLOW`: a link planted between the check
/// and the open fails the open instead of being followed), never
/// truncating it, and refused (before anything is written) unless the
/// file opened is abgleich's own ([`refuse_unless_own`], checked on the
/// open file, so a name swapped after the check cannot slip past).
pub(super) fn create_private(path: &Path) -> Result<File, FileError> {
    open_checked(path, true)
}

/// Open an existing `path` for reading only, with the checks of
/// [`create_private`]; `None` when it does not exist.
pub(super) fn open_private_read_only(path: &Path) -> Result<Option<File>, FileError> {
    match open_checked(path, false) {
        Err(FileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        other => other.map(Some),
    }
}

fn open_checked(path: &Path, write: bool) -> Result<File, FileError> {
    refuse_unless_file(path)?;
    let io = |source: std::io::Error| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.read(true);
    if write {
        options.write(true).create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return FileError::NotAFile {
                path: path.to_path_buf(),
                what: "a symbolic link",
            };
        }
        io(e)
    })?;
    refuse_unless_own(path, &file.metadata().map_err(io)?)?;
    Ok(file)
}

/// Whether `path` names `file` still (the same device and inode): the
/// file a later open by name (SQLite's) reaches is the one checked.
pub(super) fn still_names(path: &Path, file: &File) -> Result<bool, FileError> {
    let io = |source: std::io::Error| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let named = std::fs::symlink_metadata(path).map_err(io)?;
        let held = file.metadata().map_err(io)?;
        Ok(named.dev() == held.dev() && named.ino() == held.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file, io);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xdg_place_is_keyed_by_the_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["a", "b"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join("abgleich.toml"), "").unwrap();
        }
        let xdg = Some("/st".into());
        let a = xdg_path_for(&dir.path().join("a/abgleich.toml"), xdg.clone(), None).unwrap();
        let b = xdg_path_for(&dir.path().join("b/abgleich.toml"), xdg.clone(), None).unwrap();
        let a_again =
            xdg_path_for(&dir.path().join("b/../a/abgleich.toml"), xdg.clone(), None).unwrap();
        assert!(a.starts_with("/st/abgleich"), "{}", a.display());
        assert_ne!(a, b, "two configs, two states");
        assert_eq!(a, a_again, "one config, one state, however it is named");
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("abgleich-") && name.ends_with(".state"),
            "{name}"
        );
        // A relative XDG_STATE_HOME is ignored (the spec), HOME is used.
        let home = xdg_path_for(
            &dir.path().join("a/abgleich.toml"),
            Some("rel".into()),
            Some("/home/u".into()),
        )
        .unwrap();
        assert!(
            home.starts_with("/home/u/.local/state/abgleich"),
            "{}",
            home.display()
        );
        assert_eq!(
            xdg_path_for(&dir.path().join("a/abgleich.toml"), None, None),
            None
        );
    }

    #[test]
    fn a_writable_folder_keeps_the_state_beside_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("abgleich.toml");
        std::fs::write(&config, "").unwrap();
        assert_eq!(path_for(&config), dir.path().join("abgleich.state"));
    }
}
