//! What the planner warns about, as data: one variant per kind of warning,
//! with the sides, fields and values it is about (no store names and no
//! sentences). Front ends count and filter by [`Warning::kind`] and make
//! the words (`crate::text::warning`), with the stores' names.

use crate::config::Limits;
use crate::model::Side;
use crate::model::contact::{Contact, FieldPath, Kind};
use crate::store::ValueKind;

/// One warning of an operation. Where a warning is about one store and
/// the value that stays in the other, it names the first: the other is
/// its `opposite()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A phone number the target store, which keeps numbers in E.164,
    /// cannot take; it stays in the other store.
    NotE164 {
        field: FieldPath,
        value: String,
        /// The store that cannot take it.
        to: Side,
    },
    /// More e-mail addresses than the target store's fields carry.
    TooManyEmails {
        count: usize,
        to: Side,
        takes: usize,
        /// The addresses past `takes`.
        extra: Vec<String>,
    },
    /// More web pages than the target store's fields carry.
    TooManyUrls {
        count: usize,
        to: Side,
        takes: usize,
        extra: Vec<String>,
    },
    /// More phone numbers of a kind than the target store's fields carry.
    TooManyPhones {
        kind: Kind,
        count: usize,
        to: Side,
        takes: usize,
        extra: Vec<String>,
    },
    /// A field the target store's limits keep out.
    Blocked {
        field: FieldPath,
        /// The store whose limit it is.
        to: Side,
        limit: Limit,
    },
    /// The pair left the sync scope on `side`; the sync created the copy
    /// the operation deletes (on the other side).
    LeftScopeCreatedHere { side: Side },
    /// Deleted in one store, kept in the other (delete policy `keep`).
    DeletedKept { deleted_in: Side },
    /// The copy on `side`, which a delete would remove, changed since the
    /// last sync.
    ChangedSinceSync { side: Side },
    /// The deleted contact's id on `side` was given to a new contact in an
    /// earlier apply; the delete still waits.
    IdGivenAway { side: Side },
    /// A linked record holds someone else now; the update waits.
    SomeoneNew(Replacement),
    /// A linked record holds someone else now: taken as deleted there
    /// (the other copy's delete or unlink waits).
    TakenAsDeleted(Replacement),
    /// The record that holds someone new is created or linked as a new
    /// contact; it waits with the delete of the old contact's other copy.
    WaitsWithDelete(Replacement),
    /// A create that looks like someone already in the target store.
    MaybeSamePerson {
        /// Up to three of them.
        alike: Vec<Someone>,
        /// Whether there are more than those.
        more: bool,
        /// The store they are in.
        side: Side,
    },
    /// `conflicts = "newest"` cannot tell which side changed last.
    NewestUnknown,
    /// A delete whose contact a create of the same plan looks like (a card
    /// renamed and edited, say): the delete waits for review.
    MaybeMoved {
        /// The name of the record the create would make.
        name: String,
        /// The store the create comes from.
        side: Side,
    },
    /// A value longer than the column of `to` that takes it (`varchar(n)`):
    /// it is not written there (never cut short) and stays only where it is.
    TooLong {
        field: FieldPath,
        to: Side,
        max: usize,
        length: usize,
    },
    /// A value the typed column of `to` cannot hold (`--12-17` for a
    /// `date`): it is not written there and stays only where it is.
    NotItsType {
        field: FieldPath,
        to: Side,
        kind: ValueKind,
        value: String,
    },
    /// Rows of other tables refer to the record a delete would remove on
    /// `side` (the database's foreign keys may delete or change them with
    /// it): the delete waits for review.
    ReferredBy {
        side: Side,
        /// The referring rows in words: "2 rows of orders".
        rows: String,
    },
}

/// What a side's limits keep out of a field (`limits` in the store's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Emails(usize),
    Phones(Kind, usize),
    Urls(usize),
    NoNotes,
}

/// A linked record that holds someone else than at the last sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The store and id of the record.
    pub side: Side,
    pub id: String,
    /// The name it had at the last sync, and the one it has now.
    pub was: String,
    pub now: String,
    pub clue: Clue,
}

/// What besides the name tells the old and the new contact apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clue {
    /// Every name part changed: the name alone tells.
    Name,
    /// None of its e-mail addresses and phone numbers is left.
    NoAddressLeft,
    /// An e-mail address or phone number is an unlinked contact's in the
    /// other store.
    UnlinkedElsewhere,
}

/// A contact a warning names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Someone {
    pub name: String,
    pub id: String,
}

/// The kind of a [`Warning`], without its values: for counting and filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningKind {
    NotE164,
    TooManyEmails,
    TooManyUrls,
    TooManyPhones,
    Blocked,
    LeftScopeCreatedHere,
    DeletedKept,
    ChangedSinceSync,
    IdGivenAway,
    SomeoneNew,
    TakenAsDeleted,
    WaitsWithDelete,
    MaybeSamePerson,
    NewestUnknown,
    MaybeMoved,
    ReferredBy,
    TooLong,
    NotItsType,
}

impl WarningKind {
    pub const ALL: [WarningKind; 18] = [
        WarningKind::NotE164,
        WarningKind::TooManyEmails,
        WarningKind::TooManyUrls,
        WarningKind::TooManyPhones,
        WarningKind::Blocked,
        WarningKind::LeftScopeCreatedHere,
        WarningKind::DeletedKept,
        WarningKind::ChangedSinceSync,
        WarningKind::IdGivenAway,
        WarningKind::SomeoneNew,
        WarningKind::TakenAsDeleted,
        WarningKind::WaitsWithDelete,
        WarningKind::MaybeSamePerson,
        WarningKind::NewestUnknown,
        WarningKind::MaybeMoved,
        WarningKind::ReferredBy,
        WarningKind::TooLong,
        WarningKind::NotItsType,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::NotE164 => "not-e164",
            WarningKind::TooManyEmails => "too-many-emails",
            WarningKind::TooManyUrls => "too-many-urls",
            WarningKind::TooManyPhones => "too-many-phones",
            WarningKind::Blocked => "blocked",
            WarningKind::LeftScopeCreatedHere => "left-scope-created-here",
            WarningKind::DeletedKept => "deleted-kept",
            WarningKind::ChangedSinceSync => "changed-since-sync",
            WarningKind::IdGivenAway => "id-given-away",
            WarningKind::SomeoneNew => "someone-new",
            WarningKind::TakenAsDeleted => "taken-as-deleted",
            WarningKind::WaitsWithDelete => "waits-with-delete",
            WarningKind::MaybeSamePerson => "maybe-same-person",
            WarningKind::NewestUnknown => "newest-unknown",
            WarningKind::MaybeMoved => "maybe-moved",
            WarningKind::ReferredBy => "referred-by",
            WarningKind::TooLong => "too-long",
            WarningKind::NotItsType => "not-its-type",
        }
    }
}

impl Warning {
    pub fn kind(&self) -> WarningKind {
        match self {
            Warning::NotE164 { .. } => WarningKind::NotE164,
            Warning::TooManyEmails { .. } => WarningKind::TooManyEmails,
            Warning::TooManyUrls { .. } => WarningKind::TooManyUrls,
            Warning::TooManyPhones { .. } => WarningKind::TooManyPhones,
            Warning::Blocked { .. } => WarningKind::Blocked,
            Warning::LeftScopeCreatedHere { .. } => WarningKind::LeftScopeCreatedHere,
            Warning::DeletedKept { .. } => WarningKind::DeletedKept,
            Warning::ChangedSinceSync { .. } => WarningKind::ChangedSinceSync,
            Warning::IdGivenAway { .. } => WarningKind::IdGivenAway,
            Warning::SomeoneNew(_) => WarningKind::SomeoneNew,
            Warning::TakenAsDeleted(_) => WarningKind::TakenAsDeleted,
            Warning::WaitsWithDelete(_) => WarningKind::WaitsWithDelete,
            Warning::MaybeSamePerson { .. } => WarningKind::MaybeSamePerson,
            Warning::NewestUnknown => WarningKind::NewestUnknown,
            Warning::MaybeMoved { .. } => WarningKind::MaybeMoved,
            Warning::ReferredBy { .. } => WarningKind::ReferredBy,
            Warning::TooLong { .. } => WarningKind::TooLong,
            Warning::NotItsType { .. } => WarningKind::NotItsType,
        }
    }
}

impl Warning {
    /// The store a warning of values past the synchronised fields (more
    /// e-mail addresses, web pages or phone numbers of a kind than they
    /// carry) is about; `None` for every other warning.
    pub fn past_the_fields(&self) -> Option<Side> {
        match self {
            Warning::TooManyEmails { to, .. }
            | Warning::TooManyUrls { to, .. }
            | Warning::TooManyPhones { to, .. } => Some(*to),
            _ => None,
        }
    }

    /// Whether `limits`, the target store's, keep out values this warning
    /// of values past the fields names: a card copied whole still leaves
    /// those behind (every other warning: `true`).
    pub fn kept_out_by(&self, limits: &Limits) -> bool {
        match self {
            Warning::TooManyEmails { count, .. } => limits.emails.is_some_and(|n| *count > n),
            Warning::TooManyUrls { count, .. } => limits.urls.is_some_and(|n| *count > n),
            Warning::TooManyPhones { count, .. } => {
                limits.phones_per_kind.is_some_and(|n| *count > n)
            }
            _ => true,
        }
    }

    /// Drop from a warning of values past the fields the values `target`
    /// (the record the warning's store holds) has past them as well: no
    /// field writes those entries, so they stay where they are, and are
    /// not only in the other store. `same` compares two values of a
    /// field. Returns whether the warning still names a value (every other
    /// warning: `true`).
    pub fn forget_held(
        &mut self,
        target: &Contact,
        same: impl Fn(&FieldPath, &str, &str) -> bool,
    ) -> bool {
        let (path, held, extra): (FieldPath, Vec<&str>, &mut Vec<String>) = match self {
            Warning::TooManyEmails { takes, extra, .. } => (
                FieldPath::Email {
                    kind: None,
                    index: 0,
                },
                target
                    .emails
                    .iter()
                    .skip(*takes)
                    .map(|e| e.value.as_str())
                    .collect(),
                extra,
            ),
            Warning::TooManyUrls { takes, extra, .. } => (
                FieldPath::Url { index: 0 },
                target
                    .urls
                    .iter()
                    .skip(*takes)
                    .map(String::as_str)
                    .collect(),
                extra,
            ),
            Warning::TooManyPhones {
                kind, takes, extra, ..
            } => (
                FieldPath::Phone {
                    kind: *kind,
                    index: 0,
                },
                target
                    .phones
                    .iter()
                    .filter(|p| p.kind.unwrap_or(Kind::Other) == *kind)
                    .skip(*takes)
                    .map(|p| p.value.as_str())
                    .collect(),
                extra,
            ),
            _ => return true,
        };
        extra.retain(|v| !held.iter().any(|h| same(&path, v, h)));
        !extra.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name() {
        let names: std::collections::HashSet<&str> =
            WarningKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), WarningKind::ALL.len());
    }
}
