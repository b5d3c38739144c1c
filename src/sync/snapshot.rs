//! Both stores as read at one moment, indexed by id.

use std::hash::BuildHasher;

use foldhash::HashSet;
use foldhash::fast::RandomState;
use hashbrown::hash_table::{Entry, HashTable};

use crate::model::PerSide;
use crate::model::record::{Record, Unreadable};
use crate::store::Listing;

/// One store's records, and what could not be read.
#[derive(Debug, Default)]
pub struct SideSnapshot {
    /// In the listing's order; not to be changed but through
    /// [`SideSnapshot::replace`] (the index holds positions).
    pub records: Vec<Record>,
    index: Index,
    pub unreadable: Vec<Unreadable>,
    unreadable_ids: HashSet<String>,
    /// Unreadable records whose id is unknown (a damaged card in a `.vcf`
    /// file): then no missing record of this side is taken as deleted.
    pub unidentified: usize,
    /// Per record: listed from its remembered revision, without its values.
    unparsed: Vec<bool>,
}

/// The position of each id among the records, without a second copy of
/// the ids: the table holds positions and hashes the records' own ids.
#[derive(Default)]
struct Index {
    table: HashTable<usize>,
    hasher: RandomState,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index({} ids)", self.table.len())
    }
}

impl Index {
    /// Each id's last position, as a map filled in order keeps it.
    fn new(records: &[Record]) -> Index {
        let hasher = RandomState::default();
        let mut table = HashTable::with_capacity(records.len());
        let hash_at = |&i: &usize| hasher.hash_one(records[i].id.as_str());
        for (i, record) in records.iter().enumerate() {
            let id = record.id.as_str();
            let hash = hasher.hash_one(id);
            match table.entry(hash, |&j| records[j].id == id, hash_at) {
                Entry::Occupied(mut at) => *at.get_mut() = i,
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
        Index { table, hasher }
    }

    fn get(&self, records: &[Record], id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.table.find(hash, |&i| records[i].id == id).copied()
    }
}

impl SideSnapshot {
    pub fn new(listing: Listing) -> Self {
        let index = Index::new(&listing.records);
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

    /// A snapshot in which the records at the positions `unparsed` carry
    /// only id and revision.
    pub fn with_unparsed(listing: Listing, unparsed: &[usize]) -> Self {
        let mut side = SideSnapshot::new(listing);
        if !unparsed.is_empty() {
            side.unparsed = vec![false; side.records.len()];
            for &i in unparsed {
                if let Some(flag) = side.unparsed.get_mut(i) {
                    *flag = true;
                }
            }
        }
        side
    }

    /// Where record `id` is among [`SideSnapshot::records`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(&self.records, id)
    }

    /// Whether the record at position `i` was listed without its values.
    pub fn is_unparsed_at(&self, i: usize) -> bool {
        self.unparsed.get(i).copied().unwrap_or(false)
    }

    /// Whether `id` was listed without its values.
    pub fn is_unparsed(&self, id: &str) -> bool {
        self.position(id).is_some_and(|i| self.is_unparsed_at(i))
    }

    /// Put a fully read record in place of an unparsed one.
    pub fn replace(&mut self, record: Record) {
        if let Some(i) = self.position(&record.id) {
            if let Some(flag) = self.unparsed.get_mut(i) {
                *flag = false;
            }
            self.records[i] = record;
        }
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.position(id).map(|i| &self.records[i])
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
