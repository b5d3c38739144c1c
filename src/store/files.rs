//! File handling the card stores share: atomic replacement, the journal's
//! exact copies of files, and its write-ahead hook.

use foldhash::{HashMap, HashMapExt};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

use super::interface::StoreError;
use crate::config::StoreConfig;
use crate::model::record::hash_revision;

/// One unit a card store is about to replace or remove.
#[derive(Debug, Clone)]
pub struct Landing {
    /// Its name in the store: a card file's name; `""` for a one-file book.
    pub unit: String,
    /// The hash of the bytes it will hold (`None`: removed).
    pub hash: Option<String>,
    /// What it holds right before it is replaced, where the store read
    /// that and it may differ from what the journal saved before the apply
    /// (a one-file book another program wrote meanwhile, merged): `undo`
    /// then puts back these bytes, so that the other program's cards stay.
    pub replaces: Option<Vec<u8>>,
}

/// What the journal does with the units a card store is about to put in
/// place: record their hashes, in one state commit per batch, before any
/// of them lands.
pub type WriteAhead = Box<dyn FnMut(&[Landing]) -> Result<(), StoreError>>;

thread_local! {
    static WRITE_AHEAD: RefCell<Option<WriteAhead>> = const { RefCell::new(None) };
}

/// While a hook is set (on this thread), a card store hands it every batch
/// of units it is about to put in place, after their temporary files are
/// flushed and before the first rename, and writes none of them when the
/// hook fails: a card store's writes are not in a transaction, so the
/// journal records what they will leave before they land. Returns the hook
/// set before.
pub fn set_write_ahead(hook: Option<WriteAhead>) -> Option<WriteAhead> {
    WRITE_AHEAD.with(|cell| cell.replace(hook))
}

/// Hand a batch to the write-ahead hook (nothing when none is set).
pub fn write_ahead(batch: &[Landing]) -> Result<(), StoreError> {
    WRITE_AHEAD.with(|cell| match cell.borrow_mut().as_mut() {
        Some(hook) => hook(batch),
        None => Ok(()),
    })
}

/// With `ABGLEICH_ABORT_AFTER_WRITES=k`, the process aborts right after the
/// k-th write point (a card store's batch of temporary files, the journal's
/// record of it, each rename or removal; an SQL store's commit; a unit an
/// undo puts back), as a kill -9 would (crash tests). Only in builds with
/// the `crash-points` feature (test builds; see Cargo.toml).
#[cfg(feature = "crash-points")]
pub fn count_write() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    if let Ok(k) = std::env::var("ABGLEICH_ABORT_AFTER_WRITES")
        && k.trim().parse::<usize>().ok() == Some(n)
    {
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
pub fn count_write() {}

/// Where another program's write would race abgleich's: after abgleich read
/// `file` for a write, before it replaces it. Builds with the
/// `crash-points` feature run `ABGLEICH_WHILE_WRITING` (a shell command,
/// given `file` as `$1`) here, so tests can play that other program; other
/// builds do nothing.
#[cfg(feature = "crash-points")]
pub fn another_writer_point(file: &Path) {
    if let Ok(command) = std::env::var("ABGLEICH_WHILE_WRITING") {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .arg("sh")
            .arg(file)
            .status();
    }
}

#[cfg(not(feature = "crash-points"))]
pub fn another_writer_point(_file: &Path) {}

/// Read a file for the journal: its bytes, or `None` when it does not exist.
pub fn read_unit_file(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Put a file back as the journal saved it (`None`: remove it).
/// (The store's `commit` flushes the folder once the journal is done.)
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

/// [`restore_unit_file`] only if `path` still holds what `now` hashes
/// (`None`: no file) right when it is replaced or removed: a card is
/// exchanged in and back if it changed ([`put_unchanged`]), a file that did
/// not exist is created only if it still does not. `Ok(false)`: it
/// changed; nothing was put back.
pub fn restore_unit_file_if(
    path: &Path,
    saved: Option<&[u8]>,
    now: Option<&str>,
) -> Result<bool, StoreError> {
    match (saved, now) {
        (Some(bytes), Some(now)) => {
            let tmp = prepare(path, bytes)?;
            put_unchanged(tmp.into_temp_path(), path, now)
        }
        (Some(bytes), None) => {
            let tmp = prepare(path, bytes)?;
            another_writer_point(path);
            match tmp.persist_noclobber(path) {
                Ok(_) => Ok(true),
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(StoreError::io(path, e.error)),
            }
        }
        (None, Some(now)) => remove_unchanged(path, now),
        (None, None) => Ok(true),
    }
}

/// Replace `path` with `bytes` only if it still holds what `now` hashes,
/// checked right before the rename (a one-file book: it is never removed).
pub fn replace_unit_if(path: &Path, bytes: &[u8], now: &str) -> Result<bool, StoreError> {
    let tmp = prepare(path, bytes)?;
    another_writer_point(path);
    if !holds(path, now)? {
        return Ok(false);
    }
    persist(tmp, path, false).map(|()| true)
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

thread_local! {
    static USUAL_MODES: RefCell<HashMap<PathBuf, u32>> = RefCell::new(HashMap::new());
}

/// The mode a new file in `dir` takes: that of the folder's cards (the
/// first `.vcf` file found, looked up once per folder), else what the
/// umask gives a new file, else owner-only.
fn usual_mode(dir: &Path) -> u32 {
    if let Some(mode) = USUAL_MODES.with(|m| m.borrow().get(dir).copied()) {
        return mode;
    }
    let mode = card_mode(dir).or_else(umask_mode).unwrap_or(0o600);
    USUAL_MODES.with(|m| m.borrow_mut().insert(dir.to_path_buf(), mode));
    mode
}

fn card_mode(dir: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name();
        let name = name.to_str()?;
        if name.starts_with('.') || !name.to_ascii_lowercase().ends_with(".vcf") {
            return None;
        }
        let meta = std::fs::symlink_metadata(entry.path()).ok()?;
        meta.is_file().then(|| meta.permissions().mode() & 0o777)
    })
}

/// `0o666` less the process's umask (Linux: `/proc/self/status`, which
/// reads it without changing it).
fn umask_mode() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let umask = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    let umask = u32::from_str_radix(umask.trim(), 8).ok()?;
    Some(0o666 & !umask)
}

/// Flush a folder, so that the renames and removals in it survive a power
/// loss (a file's own flush does not cover its name).
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Remove the temporary files an interrupted write left in `dir` (their
/// names start with `.abgleich-` and end with `.tmp`; they hold contact
/// data). Returns how many were removed.
pub fn remove_leftovers(dir: &Path) -> Result<usize, StoreError> {
    let mut removed = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(".abgleich-") && name.ends_with(".tmp")) {
            continue;
        }
        let path = entry.path();
        let plain = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        if plain {
            std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Write `bytes` to `target` through a temporary file in the same folder,
/// flushed and renamed into place, so a reader sees the old or the new file,
/// never half of one.
/// With `create_new`, an existing `target` is an error instead of replaced.
pub fn write_atomic(target: &Path, bytes: &[u8], create_new: bool) -> Result<(), StoreError> {
    let tmp = prepare(target, bytes)?;
    persist(tmp, target, create_new)
}

/// [`write_atomic`] for the journalled unit `unit`: the write-ahead hook
/// records the bytes' hash once the temporary file is flushed, then
/// `still()` is asked right before the rename whether `target` still holds
/// what the caller read: when not, nothing is replaced and `Ok(false)` says
/// so.
/// `replaces` is what `target` holds now, as [`Landing::replaces`].
pub fn replace_if(
    target: &Path,
    unit: &str,
    bytes: &[u8],
    replaces: Vec<u8>,
    still: &mut dyn FnMut() -> Result<bool, StoreError>,
) -> Result<bool, StoreError> {
    let tmp = prepare(target, bytes)?;
    write_ahead(&[Landing {
        unit: unit.to_string(),
        hash: Some(hash_revision(bytes)),
        replaces: Some(replaces),
    }])?;
    if !still()? {
        return Ok(false);
    }
    persist(tmp, target, false).map(|()| true)
}

/// Put the flushed temporary file `temp` in place of `target` only if
/// `target` holds the revision `expected` (the hash of its bytes) when it
/// is replaced: checked right before, and (Linux) by exchanging the two in
/// one step and reading what was exchanged out; when that is not what the
/// caller read (another program replaced the file in between), the two are
/// exchanged back. `Ok(false)`: not replaced, the file changed. A file
/// system without the exchange is checked right before the rename only.
pub fn put_unchanged(
    temp: tempfile::TempPath,
    target: &Path,
    expected: &str,
) -> Result<bool, StoreError> {
    if !holds(target, expected)? {
        return Ok(false);
    }
    another_writer_point(target);
    match exchange(&temp, target) {
        Ok(()) => {
            // The temporary name holds what `target` held a moment ago.
            if holds(&temp, expected)? {
                // Dropping `temp` removes the old card.
                return Ok(true);
            }
            exchange(&temp, target).map_err(|e| StoreError::io(target, e))?;
            Ok(false)
        }
        // Gone since the check above: another program deleted it, and a
        // rename would bring it back.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(_) => {
            // No exchange here: the check above is the last word.
            temp.persist(target)
                .map_err(|e| StoreError::io(target, e.error))?;
            Ok(true)
        }
    }
}

/// Put the flushed temporary file `temp` in place as the new file
/// `target`; an existing `target` is an error, never replaced.
pub fn put_new(temp: tempfile::TempPath, target: &Path) -> Result<(), StoreError> {
    temp.persist_noclobber(target)
        .map_err(|e| StoreError::io(target, e.error))
}

/// Whether `path` holds bytes of revision `expected` (not: it is gone).
fn holds(path: &Path, expected: &str) -> Result<bool, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(hash_revision(&bytes) == expected),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Exchange two names in one step (Linux `renameat2(RENAME_EXCHANGE)`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are NUL-terminated strings that live across the call;
    // AT_FDCWD makes relative paths relative to the working folder, as
    // every other path of the store is; the call does not keep them.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Remove `target` only if it holds the revision `expected`: it is moved
/// to a hidden name in one step first, and what was moved is checked;
/// when that is not what the caller read, it is put back (`Ok(false)`).
pub fn remove_unchanged(target: &Path, expected: &str) -> Result<bool, StoreError> {
    if !holds(target, expected)? {
        return Ok(false);
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    // A name recovery removes, should abgleich be killed before it is gone.
    let aside = dir.join(format!(".abgleich-{}.tmp", uuid::Uuid::new_v4()));
    another_writer_point(target);
    match std::fs::rename(target, &aside) {
        Ok(()) => {}
        // Gone since the check above: another program deleted it (the
        // delete it made is not abgleich's).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StoreError::io(target, e)),
    }
    if holds(&aside, expected)? {
        std::fs::remove_file(&aside).map_err(|e| StoreError::io(&aside, e))?;
        return Ok(true);
    }
    // Another program's card: back under its name (never over a file that
    // took the name meanwhile).
    std::fs::hard_link(&aside, target).map_err(|e| StoreError::io(target, e))?;
    std::fs::remove_file(&aside).map_err(|e| StoreError::io(&aside, e))?;
    Ok(false)
}

/// A temporary file beside `target` holding `bytes`, flushed, with the
/// permissions `target` has (a new file: the folder's cards').
fn prepare(target: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, StoreError> {
    let tmp = unflushed(target, bytes)?;
    tmp.as_file()
        .sync_data()
        .map_err(|e| StoreError::io(target, e))?;
    Ok(tmp)
}

/// [`prepare`] without the flush, for a batch flushed at once
/// ([`flush_files`]); the file is closed (a batch may hold more files than
/// a process may keep open).
pub fn temporary(target: &Path, bytes: &[u8]) -> Result<tempfile::TempPath, StoreError> {
    Ok(unflushed(target, bytes)?.into_temp_path())
}

/// Flush the files of a batch in `dir` in one step (Linux `syncfs`: one
/// flush of the file system instead of one per file); where that is not
/// to be had, each file on its own.
pub fn flush_files(dir: &Path, files: &[&Path]) -> Result<(), StoreError> {
    let folder = std::fs::File::open(dir).map_err(|e| StoreError::io(dir, e))?;
    if syncfs(&folder).is_ok() {
        return Ok(());
    }
    for file in files {
        std::fs::File::open(file)
            .and_then(|f| f.sync_data())
            .map_err(|e| StoreError::io(file, e))?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn syncfs(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor belongs to `file`, which is open for the whole
    // call; syncfs only reads it.
    if unsafe { libc::syncfs(file.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn syncfs(_file: &std::fs::File) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn unflushed(target: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, StoreError> {
    use std::io::Write;
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".abgleich-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| StoreError::io(dir, without_temp_name(e)))?;
    // Keep the permissions the user gave the file; a new file takes the
    // mode of the folder's cards (tempfile makes it owner-only).
    let permissions = match std::fs::metadata(target) {
        Ok(meta) => meta.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(usual_mode(dir))
        }
    };
    let _ = tmp.as_file().set_permissions(permissions);
    tmp.write_all(bytes)
        .map_err(|e| StoreError::io(target, e))?;
    Ok(tmp)
}

fn persist(
    tmp: tempfile::NamedTempFile,
    target: &Path,
    create_new: bool,
) -> Result<(), StoreError> {
    if create_new {
        tmp.persist_noclobber(target)
            .map_err(|e| StoreError::io(target, e.error))?;
    } else {
        tmp.persist(target)
            .map_err(|e| StoreError::io(target, e.error))?;
    }
    Ok(())
}
