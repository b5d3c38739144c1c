//! What a store offers the engine: the records it holds, and writes that
//! are conditional on the revision the caller read.

use std::path::{Path, PathBuf};

use crate::model::contact::FieldPath;
use crate::model::record::{Record, Unreadable};

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
