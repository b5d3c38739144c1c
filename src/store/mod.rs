//! The three store kinds behind one narrow trait.
//!
//! A store lists its records (id, revision, canonical contact), and writes
//! are conditional on the revision the caller read: a record that changed
//! in the meantime is refused with [`StoreError::Changed`], never
//! overwritten (SPEC §6).

mod cards;
pub mod sqlite;
pub mod vcard_file;
pub mod vdir;

use std::path::{Path, PathBuf};

use crate::config::{StoreConfig, StoreKind};
use crate::contact::{Contact, FieldPath};
use crate::normal::Normalizer;

/// One contact as a store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// Changes whenever the stored record changes (content hash).
    pub revision: String,
    pub contact: Contact,
    /// Whether the record is inside the configured sync scope.
    pub in_scope: bool,
    /// The stamp property's value (vCard stores with `stamp` set).
    pub stamp: Option<String>,
    /// The card's UID, if it has one.
    pub uid: Option<String>,
    /// When the record was last changed, as the store tells it (the
    /// `modified` column, a card's `REV`), in UTC; for `conflicts = "newest"`.
    pub modified: Option<chrono::NaiveDateTime>,
}

/// A record that could not be read: never taken as deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The record's id where one is known (file name, row id).
    pub id: Option<String>,
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything a store holds, readable or not.
#[derive(Debug, Default)]
pub struct Listing {
    pub records: Vec<Record>,
    pub unreadable: Vec<Unreadable>,
}

/// A card file's size and modification time (nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    pub mtime_ns: i64,
}

/// A revision remembered for a file as it was at `stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRevision {
    pub stat: FileStat,
    pub revision: String,
}

/// A listing that reused remembered revisions.
#[derive(Debug, Default)]
pub struct CachedListing {
    pub listing: Listing,
    /// Records returned without parsing (their file is unchanged): their
    /// revision is the remembered one and their contact is empty; read
    /// them with [`Store::read`] when their values are needed.
    pub unparsed: Vec<String>,
    /// Per file read now: its stat and revision, to remember.
    pub stats: Vec<(String, KnownRevision)>,
}

/// Field values to write. `None` clears a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub fields: Vec<(FieldPath, Option<String>)>,
    /// Set the stamp property (vCard stores); ignored where there is none.
    pub stamp: Option<String>,
    /// On create in a vCard store: the UID to give the card (a fresh one if
    /// `None`). The file name derived from it never leaves the store folder.
    pub uid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Config(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Sql(String),
    #[error("record {id} changed since it was read")]
    Changed { id: String },
    #[error("record {id} does not exist")]
    Missing { id: String },
    #[error("{0}")]
    BadId(String),
    #[error("{0}")]
    Unreadable(String),
}

impl StoreError {
    pub fn io(path: &Path, e: impl std::fmt::Display) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sql(e.to_string())
    }
}

/// The narrow interface every store kind implements.
pub trait Store {
    /// The configured display name.
    fn name(&self) -> &str;
    /// Every record, and every record that could not be read.
    fn list(&self) -> Result<Listing, StoreError>;
    /// Like [`Store::list`], but a record in `known` whose file still has
    /// the remembered size and modification time is not read again (card
    /// folders). Other stores list everything.
    fn list_cached(
        &self,
        known: &std::collections::HashMap<String, KnownRevision>,
    ) -> Result<CachedListing, StoreError> {
        let _ = known;
        Ok(CachedListing {
            listing: self.list()?,
            ..CachedListing::default()
        })
    }
    /// One record by id.
    fn read(&self, id: &str) -> Result<Record, StoreError>;
    /// Create a record from `patch`; returns its id and revision. The store
    /// chooses the id.
    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError>;
    /// Write `patch` if the record's revision is still `expected`.
    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError>;
    /// Delete the record if its revision is still `expected`.
    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError>;

    // ---- what the journal needs to undo a write exactly ----

    /// The unit a write to record `id` replaces, and that the journal saves
    /// before the write: the record itself, or for a one-file store the file.
    fn unit_of(&self, id: &str) -> String {
        id.to_string()
    }
    /// The unit `create(patch)` will write, when it is known beforehand
    /// (a card file named after the patch's UID). `None`: the id is known only
    /// after the create, which then happens inside [`Store::begin`]'s transaction.
    fn create_unit(&self, patch: &Patch) -> Option<String>;
    /// The exact stored form of a unit (file bytes, a row with all its
    /// columns), or `None` when it does not exist.
    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Put a unit back exactly as [`Store::save_unit`] returned it; `None`
    /// removes it.
    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError>;
    /// Start one transaction for the writes that follow (SQL stores).
    fn begin(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Make the writes since [`Store::begin`] permanent.
    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Drop the writes since [`Store::begin`] (SQL stores; file writes are
    /// undone from the journal instead).
    fn rollback(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Read a file for the journal: its bytes, or `None` when it does not exist.
pub(crate) fn read_unit_file(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Put a file back as the journal saved it (`None`: remove it).
pub(crate) fn restore_unit_file(path: &Path, saved: Option<&[u8]>) -> Result<(), StoreError> {
    match saved {
        Some(bytes) => write_atomic(path, bytes, false),
        None => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(path, e)),
        },
    }
}

/// Open the store a config side describes. A missing store is an error,
/// never an empty store.
pub fn open(config: &StoreConfig, normalizer: &Normalizer) -> Result<Box<dyn Store>, StoreError> {
    Ok(match config.kind {
        StoreKind::Sqlite => Box::new(sqlite::SqliteStore::open(config, normalizer.clone())?),
        StoreKind::Vdir => Box::new(vdir::VdirStore::open(config)?),
        StoreKind::Vcard => Box::new(vcard_file::VcardFileStore::open(config)?),
    })
}

/// The error for a store whose `path` does not exist: named with its config
/// key, and never read as an empty store.
pub(crate) fn missing_store(config: &StoreConfig, what: &str, why: &str) -> StoreError {
    StoreError::io(
        &config.path,
        format!(
            "the {} {what} does not exist ({}); {why}",
            config.name,
            config.locate("path")
        ),
    )
}

/// A content hash as a revision string.
pub fn hash_revision(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
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
        .map_err(|e| StoreError::io(dir, e))?;
    if let Ok(meta) = std::fs::metadata(target) {
        // Keep the permissions the user gave the file.
        let _ = tmp.as_file().set_permissions(meta.permissions());
    }
    tmp.write_all(bytes)
        .map_err(|e| StoreError::io(target, e))?;
    tmp.as_file()
        .sync_data()
        .map_err(|e| StoreError::io(target, e))?;
    if create_new {
        tmp.persist_noclobber(target)
            .map_err(|e| StoreError::io(target, e.error))?;
    } else {
        tmp.persist(target)
            .map_err(|e| StoreError::io(target, e.error))?;
    }
    Ok(())
}
