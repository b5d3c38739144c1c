//! A contact as a store holds it: its id, its revision and whether it is in
//! scope; and a record that could not be read, which is never taken as
//! deleted.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;

use super::contact::Contact;

/// One contact as a store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// Changes whenever the stored record changes (content hash).
    pub revision: String,
    pub contact: Values,
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

impl Record {
    /// A record listed without its values: only its id and the revision
    /// remembered for it (an unchanged card the plan need not parse).
    pub fn unparsed(id: String, revision: String) -> Record {
        Record {
            id,
            revision,
            contact: Values::default(),
            in_scope: true,
            stamp: None,
            uid: None,
            modified: None,
        }
    }
}

/// A record's contact, which takes room only once it holds a value: a
/// record listed without its values (most of a no-op plan's records) keeps
/// a null pointer instead of an empty contact's 400-odd bytes. It reads as
/// a [`Contact`], and the first change makes it one of its own.
#[derive(Clone, Default)]
pub struct Values(Option<Box<Contact>>);

static NO_VALUES: Contact = Contact::EMPTY;

impl Values {
    pub fn into_contact(self) -> Contact {
        self.0.map(|c| *c).unwrap_or_default()
    }
}

impl Deref for Values {
    type Target = Contact;

    fn deref(&self) -> &Contact {
        self.0.as_deref().unwrap_or(&NO_VALUES)
    }
}

impl DerefMut for Values {
    fn deref_mut(&mut self) -> &mut Contact {
        self.0.get_or_insert_with(Box::default)
    }
}

impl From<Contact> for Values {
    fn from(mut contact: Contact) -> Self {
        // A record is held as long as its snapshot: without spare room.
        contact.shrink_to_fit();
        Values(Some(Box::new(contact)))
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Values) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
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

impl Unreadable {
    /// Whether nothing inside it could be read or placed (no line): a
    /// dangling link, a directory or FIFO in a card's place, a read error,
    /// an empty file. It may be any record of its store, a linked one that
    /// was renamed included.
    pub fn opaque(&self) -> bool {
        self.line.is_none()
    }
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

/// A content hash as a revision string.
pub fn hash_revision(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}
