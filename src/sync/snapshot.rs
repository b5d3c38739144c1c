//! Both stores as read at one moment, indexed by id.

use foldhash::{HashMap, HashSet};

use crate::model::PerSide;
use crate::model::record::{Record, Unreadable};
use crate::store::Listing;

/// One store's records, and what could not be read.
#[derive(Debug, Default)]
pub struct SideSnapshot {
    pub records: Vec<Record>,
    index: HashMap<String, usize>,
    pub unreadable: Vec<Unreadable>,
    unreadable_ids: HashSet<String>,
    /// Unreadable records whose id is unknown (a damaged card in a `.vcf`
    /// file): then no missing record of this side is taken as deleted.
    pub unidentified: usize,
    /// Per record: listed from its remembered revision, without its values.
    unparsed: Vec<bool>,
}

impl SideSnapshot {
    pub fn new(listing: Listing) -> Self {
        let index = listing
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        let unreadable_ids = listing
            .unreadable
            .iter()
            .filter_map(|u| u.id.clone())
            .collect();
        let unidentified = listing.unreadable.iter().filter(|u| u.id.is_none()).count();
        SideSnapshot {
            records: listing.records,
            index,
            unreadable: listing.unreadable,
            unreadable_ids,
            unidentified,
            unparsed: Vec::new(),
        }
    }

    /// A snapshot in which `unparsed` records carry only id and revision.
    pub fn with_unparsed(listing: Listing, unparsed: Vec<String>) -> Self {
        let mut side = SideSnapshot::new(listing);
        if !unparsed.is_empty() {
            side.unparsed = vec![false; side.records.len()];
            for id in &unparsed {
                if let Some(&i) = side.index.get(id) {
                    side.unparsed[i] = true;
                }
            }
        }
        side
    }

    /// Whether `id` was listed without its values.
    pub fn is_unparsed(&self, id: &str) -> bool {
        self.index
            .get(id)
            .is_some_and(|&i| self.unparsed.get(i).copied().unwrap_or(false))
    }

    /// Put a fully read record in place of an unparsed one.
    pub fn replace(&mut self, record: Record) {
        if let Some(&i) = self.index.get(&record.id) {
            if let Some(flag) = self.unparsed.get_mut(i) {
                *flag = false;
            }
            self.records[i] = record;
        }
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.index.get(id).map(|&i| &self.records[i])
    }

    /// Whether a record that is not listed may still exist: it could not be
    /// read, so it must not be taken as deleted.
    pub fn may_exist(&self, id: &str) -> bool {
        self.unreadable_ids.contains(id) || self.unidentified > 0
    }
}

/// Both sides.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub sides: PerSide<SideSnapshot>,
}

impl Snapshot {
    pub fn new(left: Listing, right: Listing) -> Self {
        Snapshot {
            sides: PerSide::new(SideSnapshot::new(left), SideSnapshot::new(right)),
        }
    }
}
