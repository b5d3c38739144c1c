//! The store kinds behind one narrow trait.
//!
//! A store lists its records (id, revision, canonical contact), and writes
//! are conditional on the revision the caller read: a record that changed
//! in the meantime is refused with [`StoreError::Changed`], never
//! overwritten (SPEC §6).

pub mod carddav;
mod cards;
pub mod files;
mod held;
mod interface;
pub mod postgres;
pub mod progress;
pub mod secret;
pub mod sql;
pub mod sqlite;
pub mod vcard_file;
pub mod vdir;

use crate::config::{StoreConfig, StoreKind};
use crate::model::normal::Normalizer;

pub use files::{Landing, WriteAhead, count_write, set_write_ahead, write_atomic};
pub use interface::{
    ChangedListing, JournalStore, Known, Listed, Listing, Patch, ReadStore, Refused, Renamed,
    Store, StoreError, ValueKind, Version, Versions, WriteStore, read_changed, read_changed_since,
    read_listed,
};

/// Open a store for reading only (`check`, a plan): the same checks as
/// [`open`], with only the reading part of the interface.
pub fn open_read(
    config: &StoreConfig,
    normalizer: &Normalizer,
) -> Result<Box<dyn ReadStore>, StoreError> {
    Ok(open(config, normalizer)?)
}

/// Open the store a config side describes. A missing store is an error,
/// never an empty store.
pub fn open(config: &StoreConfig, normalizer: &Normalizer) -> Result<Box<dyn Store>, StoreError> {
    Ok(match config.kind {
        StoreKind::Sqlite => Box::new(sqlite::SqliteStore::open(config, normalizer.clone())?),
        StoreKind::Vdir => Box::new(vdir::VdirStore::open(config)?),
        StoreKind::Vcard => Box::new(vcard_file::VcardFileStore::open(config)?),
        StoreKind::Carddav => Box::new(carddav::CarddavStore::open(
            config,
            secret::password(config)?,
        )?),
        StoreKind::Postgres => Box::new(postgres::PostgresStore::open(config, normalizer.clone())?),
    })
}
