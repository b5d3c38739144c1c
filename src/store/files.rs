//! File handling the card stores share: atomic replacement, the journal's
//! exact copies of files, and its write-ahead hook.

use std::cell::RefCell;
use std::path::Path;

use super::interface::StoreError;
use crate::config::StoreConfig;

/// What the journal does with the bytes a replacement is about to put in
/// place: record their hash before they land.
pub type WriteAhead = Box<dyn FnMut(&[u8]) -> Result<(), StoreError>>;

thread_local! {
    static WRITE_AHEAD: RefCell<Option<WriteAhead>> = const { RefCell::new(None) };
}

/// While a hook is set (on this thread), every [`write_atomic`] hands it
/// the bytes it is about to put in place, after they are flushed to the
/// temporary file and before the rename, and fails when the hook fails: a
/// card store's write is not in a transaction, so the journal records what
/// a write will leave before it lands. Returns the hook set before.
pub fn set_write_ahead(hook: Option<WriteAhead>) -> Option<WriteAhead> {
    WRITE_AHEAD.with(|cell| cell.replace(hook))
}

fn write_ahead(bytes: &[u8]) -> Result<(), StoreError> {
    WRITE_AHEAD.with(|cell| match cell.borrow_mut().as_mut() {
        Some(hook) => hook(bytes),
        None => Ok(()),
    })
}

/// Read a file for the journal: its bytes, or `None` when it does not exist.
pub fn read_unit_file(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Put a file back as the journal saved it (`None`: remove it).
pub fn restore_unit_file(path: &Path, saved: Option<&[u8]>) -> Result<(), StoreError> {
    match saved {
        Some(bytes) => write_atomic(path, bytes, false),
        None => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(path, e)),
        },
    }
}

/// The error for a store whose `path` does not exist: named with its config
/// key, and never read as an empty store.
pub fn missing_store(config: &StoreConfig, what: &str, why: &str) -> StoreError {
    StoreError::NotFound {
        path: config.path.clone(),
        message: format!(
            "the {} {what} does not exist ({}); {why}",
            config.name,
            config.locate("path")
        ),
    }
}

/// The error of creating a temporary file without its random name (which
/// the tempfile crate adds): the folder is named by the caller, and the same
/// cause for many cards reads the same.
fn without_temp_name(e: std::io::Error) -> std::io::Error {
    e.raw_os_error().map_or_else(
        || std::io::Error::from(e.kind()),
        std::io::Error::from_raw_os_error,
    )
}

/// Whether a file can be created in `dir`: a temporary file is made and
/// removed again (what every card write needs first). The error names `dir`.
pub fn probe_writable(dir: &Path) -> Result<(), StoreError> {
    tempfile::Builder::new()
        .prefix(".abgleich-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| StoreError::io(dir, without_temp_name(e)))
}

/// Write `bytes` to `target` through a temporary file in the same folder,
/// flushed and renamed into place, so a reader sees the old or the new file,
/// never half of one.
/// With `create_new`, an existing `target` is an error instead of replaced.
pub fn write_atomic(target: &Path, bytes: &[u8], create_new: bool) -> Result<(), StoreError> {
    use std::io::Write;
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".abgleich-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| StoreError::io(dir, without_temp_name(e)))?;
    if let Ok(meta) = std::fs::metadata(target) {
        // Keep the permissions the user gave the file.
        let _ = tmp.as_file().set_permissions(meta.permissions());
    }
    tmp.write_all(bytes)
        .map_err(|e| StoreError::io(target, e))?;
    tmp.as_file()
        .sync_data()
        .map_err(|e| StoreError::io(target, e))?;
    write_ahead(bytes)?;
    if create_new {
        tmp.persist_noclobber(target)
            .map_err(|e| StoreError::io(target, e.error))?;
    } else {
        tmp.persist(target)
            .map_err(|e| StoreError::io(target, e.error))?;
    }
    Ok(())
}
