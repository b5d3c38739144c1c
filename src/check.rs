//! `abgleich check`: open both stores, read every record, and report what
//! cannot be read (with file and line) and how many records each side has.

use crate::config::{Config, StoreConfig, StoreKind};
use crate::model::record::Unreadable;
use crate::store::{self, StoreError};

/// What one side of the config holds.
#[derive(Debug)]
pub struct SideReport {
    pub side: &'static str,
    pub name: String,
    pub kind: StoreKind,
    pub location: String,
    pub table: Option<String>,
    pub records: usize,
    pub in_scope: usize,
    pub unreadable: Vec<Unreadable>,
}

/// Read one side completely.
pub fn check_side(config: &Config, side: &StoreConfig) -> Result<SideReport, StoreError> {
    let store = store::open_read(side, &config.normalizer)?;
    let listing = store.read_all()?;
    Ok(SideReport {
        side: side.side,
        name: side.name.clone(),
        kind: side.kind,
        location: side.location(),
        table: side.table.clone(),
        records: listing.records.len(),
        in_scope: listing.records.iter().filter(|r| r.in_scope).count(),
        unreadable: listing.unreadable,
    })
}
