//! What a store offers the engine: the records it holds, and writes that
//! are conditional on the revision the caller read.

use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};

use crate::model::contact::FieldPath;
use crate::model::record::{Record, Unreadable};
use crate::vcard::VCard;

/// Everything a store holds, readable or not.
#[derive(Debug, Default)]
pub struct Listing {
    pub records: Vec<Record>,
    pub unreadable: Vec<Unreadable>,
}

/// A version token: what a cheap listing tells about a record, opaque to
/// everyone but the store that made it (a card file's size and modification
/// time; an ETag; a row's `xmin`). The same token means the same record; the
/// engine only compares tokens and remembers them with the revision it read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn new(token: impl Into<String>) -> Self {
        Version(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One record as a listing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    /// `None`: the store cannot vouch for a version now (a file written
    /// moments ago may change again within the clock's resolution): read
    /// it, and do not remember it.
    pub version: Option<Version>,
}

/// What [`ReadStore::list`] returns: every record's id and version, in the
/// store's order.
#[derive(Debug, Default)]
pub struct Versions {
    pub items: Vec<Listed>,
    /// Records the store had to read in full to list them (an SQL table, a
    /// one-file book), and what it could not read on the way: the engine
    /// does not ask for these again.
    pub read: Listing,
}

impl Versions {
    /// The listing of a store that reads every record to list it: each
    /// record's revision is its version.
    pub fn read_in_full(read: Listing) -> Versions {
        let items = read
            .records
            .iter()
            .map(|r| Listed {
                id: r.id.clone(),
                version: Some(Version::new(r.revision.clone())),
            })
            .collect();
        Versions { items, read }
    }
}

/// A revision remembered with the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub version: Version,
    pub revision: String,
}

/// A read that reused remembered revisions (see [`read_changed`]).
#[derive(Debug, Default)]
pub struct ChangedListing {
    pub listing: Listing,
    /// The positions in `listing.records` of the records returned without
    /// their values (their version is the one remembered): their revision
    /// is the remembered one and their contact is empty; read them with
    /// [`ReadStore::read`] when the values are needed.
    pub unparsed: Vec<usize>,
    /// Records read now whose version can be remembered.
    pub versions: Vec<(String, Known)>,
    /// What the store asks to keep for its next listing
    /// ([`ReadStore::list_since`]), now that this one was read in full.
    pub remember: Option<String>,
}

/// A record whose id a write gave it a new one: a card without a UID in a
/// one-file store is `#N` until abgleich's first rewrite gives it a UID. The
/// caller moves whatever knows the record by `from` (the links) to `to`, in
/// the same transaction as the writes' other results, so that no id changes
/// because abgleich wrote (SPEC §2 "Identity").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub from: String,
    pub to: String,
    /// The record's revision before the rename and after it (the UID
    /// changes the card's text); equal when the write that renamed it also
    /// returned its new revision.
    pub revision_before: String,
    pub revision_after: String,
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
    /// On create in a vCard store: the card it is a copy of (from the other
    /// card store), whose every property, parameter and group the new card
    /// keeps; the fields then change only what differs.
    pub template: Option<VCard>,
    /// The sync carries the display name (`name.full`) as a field: a vCard
    /// store's FN then changes only when the patch writes it, never to
    /// follow a name change.
    pub full_name_synced: bool,
}

/// What a write would store, as [`ReadStore::record_text`] shows a record
/// ([`WriteStore::preview`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previewed {
    pub text: String,
    /// For a create: what the new record will be known by on the other
    /// side (a card's UID), when that is known before it is written.
    pub identity: Option<String>,
}

/// A write [`WriteStore::flush`] could not make: its record changed or went
/// away since the write read it (another program wrote it meanwhile).
#[derive(Debug)]
pub struct Refused {
    /// The id the write named (an update's, a delete's) or returned (a
    /// create's).
    pub id: String,
    pub error: StoreError,
}

/// Why a store could not do what was asked. Each kind keeps its cause
/// (`source()`); the message names the file or the config key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What the config names does not fit the store (a column the table
    /// lacks); `place` is the config file, line and key.
    #[error("{place}: {message}")]
    Config { place: String, message: String },
    /// The store's file or folder does not exist: never read as empty.
    #[error("{}: {message}", path.display())]
    NotFound { path: PathBuf, message: String },
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened at `path`.
    #[error("{}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// A CardDAV server could not be reached, or refused or failed what
    /// was asked: `url` is where the request went (never with credentials).
    #[error("{url}: {failure}")]
    Dav {
        url: String,
        #[source]
        failure: super::carddav::failure::DavFailure,
    },
    /// A database server (PostgreSQL) could not be reached, refused the
    /// session or failed a request; `address` never holds a password.
    #[error("{address}: {message}")]
    Server {
        address: String,
        /// The cause in words (the server's own message).
        message: String,
        /// The driver's error, for callers that look at it (not a
        /// `source()`: `message` says it already, and an error chain
        /// printed whole would say it twice).
        cause: Option<postgres::Error>,
    },
    /// A database server refused a write for a constraint of its own (a
    /// UNIQUE value another row holds, rows of another table that refer to
    /// the row); only that write was undone.
    #[error("{address}: {message}")]
    Constraint {
        address: String,
        message: String,
        /// As [`StoreError::Server`]'s.
        cause: Option<postgres::Error>,
    },
    /// A value longer than its column takes (`varchar(n)`): the record is
    /// not written, rather than written cut short.
    #[error(
        "column {column} takes at most {max} characters ({sql_type}), the value for it has {length}: nothing of this record was written (abgleich never cuts a value short)"
    )]
    TooLong {
        column: String,
        sql_type: String,
        max: usize,
        length: usize,
    },
    #[error("record {id} changed since it was read")]
    Changed { id: String },
    #[error("record {id} does not exist")]
    Missing { id: String },
    /// Another program kept changing the file while abgleich tried to
    /// replace it; nothing was written.
    #[error("{}: another program kept changing the file ({attempts} attempts to replace it); nothing was written, try again", path.display())]
    Busy { path: PathBuf, attempts: usize },
    /// An id that would name something outside the store (`../x`).
    #[error("{id:?} is not a file name inside the address-book folder")]
    BadId { id: String },
    /// The card to read or write cannot be read.
    #[error("{}:{line}: {message}", path.display())]
    BadCard {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A one-file book with a card abgleich cannot read is never rewritten:
    /// that card would be lost.
    #[error(
        "{0}; abgleich does not rewrite a file with a card it cannot read (it would be lost): fix or remove that card first"
    )]
    WouldLoseCard(Unreadable),
    /// The journal could not record a write before it landed (the write
    /// was not made).
    #[error("the journal could not record the write: {0}")]
    Journal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The journal's copy of a row does not fit the table as it is now.
    #[error("the saved row {unit} does not fit the table: {why}")]
    SavedRowDoesNotFit { unit: String, why: String },
    /// The journal's copy of a row cannot be read back.
    #[error("a saved row of {unit} is damaged: {source}")]
    DamagedSavedRow {
        unit: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reading: all that `check` and `plan` need. A server answers `list` and
/// `read_many` in one request each (vstorage's `list_items`, `get_many_items`).
pub trait ReadStore {
    /// The configured display name.
    fn name(&self) -> &str;
    /// Every record's id and version token, as cheaply as the store can tell
    /// them (a card folder: one `stat` per file).
    fn list(&self) -> Result<Versions, StoreError>;
    /// What the state keeps for this store between listings is kept under
    /// this key (the store's address); `None`: the store keeps nothing.
    fn listing_key(&self) -> Option<String> {
        None
    }
    /// [`ReadStore::list`], given what this store asked to keep after its
    /// last listing (`earlier`): a store that can ask only what changed
    /// since (CardDAV sync-collection) does so, and still returns every
    /// record. Returns what to keep for the next listing, to be kept only
    /// once this one has been read in full.
    fn list_since(&self, earlier: Option<&str>) -> Result<(Versions, Option<String>), StoreError> {
        let _ = earlier;
        Ok((self.list()?, None))
    }
    /// [`ReadStore::list_since`], for a read that reuses what `known`
    /// remembers: a store that reads every record whole to list it (an SQL
    /// table) leaves out of [`Versions::read`] the records `known` vouches
    /// for (the same revision, in scope), and lists them only.
    fn list_known(
        &self,
        known: &HashMap<String, Known>,
        earlier: Option<&str>,
    ) -> Result<(Versions, Option<String>), StoreError> {
        let _ = known;
        self.list_since(earlier)
    }
    /// This store, where it can be read on another thread while the
    /// engine reads the other side and the state: its
    /// [`ReadStore::list_known`] needs nothing of `known` (a card folder's
    /// `stat`s), and it reports no progress (the hook is per thread).
    /// `None`: read on the caller's thread.
    fn concurrent(&self) -> Option<&(dyn ReadStore + Sync)> {
        None
    }
    /// Whether a record's version token is its revision (an SQL row's
    /// hash or `xmin`): what vouches for a record is then its link's
    /// revision, and the state keeps no versions for this store.
    fn versions_are_revisions(&self) -> bool {
        false
    }
    /// The full records of `ids`, in one batch. An id that no longer exists
    /// is left out; one that cannot be read is in `unreadable`.
    fn read_many(&self, ids: &[&str]) -> Result<Listing, StoreError>;
    /// One record by id.
    fn read(&self, id: &str) -> Result<Record, StoreError>;
    /// Every record with its values, and every record that could not be read.
    fn read_all(&self) -> Result<Listing, StoreError> {
        Ok(read_changed(self, &HashMap::new())?.listing)
    }
    /// The store's real columns (an SQL table), for the mapping editor.
    fn columns(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    /// The card of record `id` as it is stored, without the store's stamp
    /// property, if its revision is still `expected` ([`StoreError::Changed`]
    /// if not); `None` from a store that holds no cards. What a create in
    /// the other card store copies.
    fn card(&self, id: &str, expected: &str) -> Result<Option<VCard>, StoreError> {
        let _ = (id, expected);
        Ok(None)
    }
    /// The rows of other tables that refer to record `id`, in words ("2
    /// rows of orders"): what its delete may take with it through the
    /// database's foreign keys. `None` when nothing refers to it (or the
    /// store has no such thing).
    fn referred_by(&self, id: &str) -> Result<Option<String>, StoreError> {
        let _ = id;
        Ok(None)
    }
    /// The version tokens of records this process just wrote (after the
    /// apply's commit), as the next listing will give them once they are
    /// old enough to be trusted: remembered with the links, so the next
    /// plan need not read those records again. `None` per record where the
    /// store has no such token.
    fn written_versions(&self, ids: &[&str]) -> Vec<Option<Version>> {
        ids.iter().map(|_| None).collect()
    }
    /// The kind of value the column of `field` takes, where it takes
    /// only some (a PostgreSQL `boolean`, `integer` or `date`): the plan
    /// writes no other value there, it warns instead. `None`: any text.
    fn value_kind(&self, field: &FieldPath) -> Option<ValueKind> {
        let _ = field;
        None
    }
    /// The most characters a value of `field` may have in this store (a
    /// `varchar(n)` column): the plan writes no longer value there (it
    /// warns instead), and a write of one is refused rather than cut
    /// short. `None`: no such limit.
    fn max_chars(&self, field: &FieldPath) -> Option<usize> {
        let _ = field;
        None
    }
    /// Record `id` as it is stored, as text for the operator: a card's
    /// vCard text, a row's columns (one `column = value` a line). `None`
    /// from a store that cannot show its records so.
    fn record_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        let _ = id;
        Ok(None)
    }
    /// [`ReadStore::card`] for a batch of (id, expected revision), in order.
    fn cards(&self, wanted: &[(&str, &str)]) -> Vec<Result<Option<VCard>, StoreError>> {
        wanted.iter().map(|(id, rev)| self.card(id, rev)).collect()
    }
}

/// The values a typed column takes ([`ReadStore::value_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `true`/`false` and the words PostgreSQL reads as them.
    Boolean,
    /// A whole number between `min` and `max`.
    Integer { min: i64, max: i64 },
    /// A whole date (`1980-01-20`).
    Date,
}

impl ValueKind {
    /// Whether the column takes `value` (as its text is cast to the type).
    pub fn accepts(self, value: &str) -> bool {
        let v = value.trim();
        match self {
            ValueKind::Boolean => matches!(
                v.to_ascii_lowercase().as_str(),
                "t" | "true" | "y" | "yes" | "on" | "1" | "f" | "false" | "n" | "no" | "off" | "0"
            ),
            ValueKind::Integer { min, max } => v.parse::<i64>().is_ok_and(|n| n >= min && n <= max),
            ValueKind::Date => ["%Y-%m-%d", "%Y%m%d"]
                .iter()
                .any(|f| chrono::NaiveDate::parse_from_str(v, f).is_ok()),
        }
    }

    /// The kind in words, for a warning.
    pub fn describe(self) -> String {
        match self {
            ValueKind::Boolean => "only true or false".into(),
            ValueKind::Integer { min, max } => format!("only whole numbers from {min} to {max}"),
            ValueKind::Date => "only whole dates (YYYY-MM-DD)".into(),
        }
    }
}

/// Writing, each write conditional on the revision the caller read.
pub trait WriteStore: ReadStore {
    /// Create a record from `patch`; returns its id and revision. The store
    /// chooses the id.
    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError>;
    /// Write `patch` if the record's revision is still `expected`.
    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError>;
    /// What `update(id, _, patch)` (`Some(id)`) or `create(patch)` (`None`)
    /// would store, as [`ReadStore::record_text`] shows it, computed by the
    /// same code as the write and without writing anything (the time a
    /// write stamps is the time of the preview). `None` from a store that
    /// cannot show its records.
    fn preview(&self, id: Option<&str>, patch: &Patch) -> Result<Option<Previewed>, StoreError> {
        let _ = (id, patch);
        Ok(None)
    }
    /// Delete the record if its revision is still `expected`.
    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError>;
    /// Start one transaction for the writes that follow (SQL stores).
    fn begin(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether the store can be written at all, asked before an apply's
    /// first write: a read-only folder, file or database stops the apply
    /// with one error before anything is written, not with one per record.
    fn check_writable(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether writes wait for [`WriteStore::flush`]: a card store holds
    /// them back (a one-file book is written once per apply; a card folder
    /// writes its cards as a batch of temporary files flushed at once).
    fn holds_writes(&self) -> bool {
        false
    }
    /// Put the held-back writes in place, each still conditional on the
    /// revision its write read, compared right before the record is
    /// replaced (a one-file book is read again and merged, so what another
    /// program wrote meanwhile is kept); a write whose record changed or
    /// went away meanwhile is not made. The journal's write-ahead hook gets
    /// the whole batch before the first of them lands. Returns the writes
    /// not made; an error means the ones not yet made were not made.
    fn flush(&mut self) -> Result<Vec<Refused>, StoreError> {
        Ok(Vec::new())
    }
    /// Whether [`WriteStore::flush`] sends its held writes one by one, each
    /// taking a while (a server): the apply then shows their progress.
    fn flushes_one_by_one(&self) -> bool {
        false
    }
    /// [`WriteStore::flush`], calling `sent()` after each held write it
    /// sent (stores whose [`WriteStore::flushes_one_by_one`] is true).
    fn flush_telling(&mut self, sent: &mut dyn FnMut()) -> Result<Vec<Refused>, StoreError> {
        let _ = sent;
        self.flush()
    }
    /// Make the writes since [`WriteStore::begin`] permanent.
    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Drop the writes since [`WriteStore::begin`] (SQL stores; file writes
    /// are undone from the journal instead).
    fn rollback(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether record `id` may get a lasting id of its own only when the
    /// store is next written (a card without a UID in a one-file book is
    /// `#N`, its place in the file).
    fn id_may_change(&self, id: &str) -> bool {
        let _ = id;
        false
    }
    /// Before an apply's writes that link records among `ids`: give every
    /// record whose id may change ([`WriteStore::id_may_change`]) its
    /// lasting id now, so that the other side's stamp and the links name
    /// that id. Returns (old id, new id) per record; the change lands with
    /// [`WriteStore::flush`] (reported by [`WriteStore::renamed`]), and the
    /// writes between may name either id.
    fn settle_ids(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        let _ = ids;
        Ok(Vec::new())
    }
    /// The records the writes so far gave a new id, in the order they were
    /// renamed. Later writes to this store take the old ids too (with the
    /// revision read before the rename).
    fn renamed(&self) -> Vec<Renamed> {
        Vec::new()
    }
}

/// What the journal needs to undo a write exactly: the before-image of the
/// unit a write replaces, and putting it back.
pub trait JournalStore {
    /// The unit a write to record `id` replaces, and that the journal saves
    /// before the write: the record itself, or for a one-file store the file.
    fn unit_of(&self, id: &str) -> String {
        id.to_string()
    }
    /// The unit `create(patch)` will write, when it is known beforehand
    /// (a card file named after the patch's UID). `None`: the id is known only
    /// after the create, which then happens inside [`WriteStore::begin`]'s
    /// transaction.
    fn create_unit(&self, patch: &Patch) -> Option<String>;
    /// The exact stored form of a unit (file bytes, a row with all its
    /// columns), or `None` when it does not exist.
    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Put a unit back as [`JournalStore::save_unit`] returned it, in
    /// place (a row that still exists is updated, never deleted and inserted
    /// again, so the database's cascades and triggers do not fire for it);
    /// `None` removes it.
    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError>;
    /// [`JournalStore::restore_unit`] only if the unit still holds what
    /// `now` hashes ([`crate::model::record::hash_revision`] of its stored
    /// form; `None`: it does not exist) right when it is replaced, so that
    /// what another program writes while undo or recovery runs is kept.
    /// `Ok(false)`: it changed, nothing was put back. Stores whose writes
    /// wait for their commit (an SQL transaction) restore unconditionally.
    fn restore_unit_if(
        &mut self,
        unit: &str,
        saved: Option<&[u8]>,
        now: Option<&str>,
    ) -> Result<bool, StoreError> {
        let _ = now;
        self.restore_unit(unit, saved).map(|()| true)
    }
    /// Whether [`JournalStore::restore_unit`] could put `saved` back as
    /// `unit`: an id that names a unit of this store, a saved copy it can
    /// read. Undo and recovery ask before they touch anything.
    fn check_saved(&self, _unit: &str, _saved: Option<&[u8]>) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether writes reach the store only at [`WriteStore::commit`] (an
    /// SQL transaction): a crash before it leaves the store as it was, so
    /// the journal need not follow each write.
    fn writes_at_commit(&self) -> bool {
        false
    }
    /// Remove what a write killed half-way left behind (a card store's
    /// temporary files); recovery calls it. Returns how many were removed.
    fn remove_leftovers(&self) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// A store that can be read, written and journalled: what `apply` needs.
pub trait Store: WriteStore + JournalStore {}

impl<T: WriteStore + JournalStore + ?Sized> Store for T {}

/// Read a store: list it, reuse what `known` remembers for records whose
/// version is unchanged (returned unparsed), and read the rest in one batch.
/// Records keep the listing's order; what could not be read is sorted by file.
pub fn read_changed<S: ReadStore + ?Sized>(
    store: &S,
    known: &HashMap<String, Known>,
) -> Result<ChangedListing, StoreError> {
    read_changed_since(store, known, None)
}

/// [`read_changed`] on a listing since `earlier` ([`ReadStore::list_since`]).
pub fn read_changed_since<S: ReadStore + ?Sized>(
    store: &S,
    known: &HashMap<String, Known>,
    earlier: Option<&str>,
) -> Result<ChangedListing, StoreError> {
    let listed = store.list_known(known, earlier)?;
    read_listed(store, known, listed)
}

/// The rest of [`read_changed_since`], once the store has listed: `listed`
/// is what its [`ReadStore::list_known`] returned.
pub fn read_listed<S: ReadStore + ?Sized>(
    store: &S,
    known: &HashMap<String, Known>,
    listed: (Versions, Option<String>),
) -> Result<ChangedListing, StoreError> {
    let (Versions { items, read }, remember) = listed;
    let mut unreadable = read.unreadable;
    // Records read while listing, then those read now, by id: each moves
    // into the listing's order below (records only move; a second home for
    // all of them would double the peak memory).
    let mut read_now: HashMap<String, Record> = HashMap::with_capacity(read.records.len());
    for record in read.records {
        read_now.entry(record.id.clone()).or_insert(record);
    }
    // Per listed record: the remembered revision it comes back with
    // unparsed, or `None` (read, or to be read now).
    let mut vouched: Vec<Option<&Known>> = Vec::with_capacity(items.len());
    let mut wanted: Vec<&Listed> = Vec::new();
    for item in &items {
        let remembered = if read_now.contains_key(&item.id) {
            None
        } else {
            let k = known
                .get(&item.id)
                .filter(|k| item.version.as_ref() == Some(&k.version));
            if k.is_none() {
                wanted.push(item);
            }
            k
        };
        vouched.push(remembered);
    }
    let mut versions = Vec::new();
    if !wanted.is_empty() {
        let ids: Vec<&str> = wanted.iter().map(|i| i.id.as_str()).collect();
        let fetched = store.read_many(&ids)?;
        unreadable.extend(fetched.unreadable);
        let listed: HashMap<&str, &Listed> = wanted.iter().map(|i| (i.id.as_str(), *i)).collect();
        for record in fetched.records {
            if let Some(version) = listed
                .get(record.id.as_str())
                .and_then(|i| i.version.clone())
            {
                let revision = record.revision.clone();
                versions.push((record.id.clone(), Known { version, revision }));
            }
            read_now.entry(record.id.clone()).or_insert(record);
        }
    }
    drop(wanted);
    let mut records = Vec::with_capacity(items.len());
    let mut unparsed = Vec::new();
    for (item, remembered) in items.into_iter().zip(vouched) {
        if let Some(record) = read_now.remove(&item.id) {
            records.push(record);
        } else if let Some(k) = remembered {
            unparsed.push(records.len());
            records.push(Record::unparsed(item.id, k.revision.clone()));
        }
    }
    // A record the store returned under an id it did not list comes last.
    let mut rest: Vec<Record> = read_now.into_values().collect();
    rest.sort_by(|a, b| a.id.cmp(&b.id));
    records.extend(rest);
    unreadable.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(ChangedListing {
        listing: Listing {
            records,
            unreadable,
        },
        unparsed,
        versions,
        remember,
    })
}
