//! What the planner warns about, as data: one variant per kind of warning,
//! with the store names, fields and values it is about. Front ends count
//! and filter by [`Warning::kind`]; [`Display`](fmt::Display) gives the
//! sentence, which is also what a plan's JSON holds.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::model::contact::{FieldPath, Kind};

/// One warning of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A phone number the target store, which keeps numbers in E.164,
    /// cannot take.
    NotE164 {
        field: FieldPath,
        value: String,
        /// The store that cannot take it.
        to: String,
        /// The store it stays in.
        stays_in: String,
    },
    /// More e-mail addresses than the target store's fields carry.
    TooManyEmails {
        count: usize,
        to: String,
        takes: usize,
        /// The addresses past `takes`.
        extra: Vec<String>,
        stays_in: String,
    },
    /// More web pages than the target store's fields carry.
    TooManyUrls {
        count: usize,
        to: String,
        takes: usize,
        extra: Vec<String>,
        stays_in: String,
    },
    /// More phone numbers of a kind than the target store's fields carry.
    TooManyPhones {
        kind: Kind,
        count: usize,
        to: String,
        takes: usize,
        extra: Vec<String>,
        stays_in: String,
    },
    /// A field the target store's limits keep out.
    Blocked {
        field: FieldPath,
        /// The store whose limit it is.
        to: String,
        limit: Limit,
        stays_in: String,
    },
    /// The pair left the sync scope in `store`; the sync created the copy
    /// the operation deletes.
    LeftScopeCreatedHere { store: String },
    /// Deleted in one store, kept in the other (delete policy `keep`).
    DeletedKept { deleted_in: String, kept_in: String },
    /// The copy a delete would remove changed since the last sync.
    ChangedSinceSync { store: String },
    /// The deleted contact's id was given to a new contact in an earlier
    /// apply; the delete still waits.
    IdGivenAway { store: String },
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
        store: String,
    },
    /// `conflicts = "newest"` cannot tell which side changed last.
    NewestUnknown,
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
    pub store: String,
    pub id: String,
    /// The name it had at the last sync, and the one it has now.
    pub was: String,
    pub now: String,
    pub clue: Clue,
}

/// What besides the name tells the old and the new contact apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clue {
    /// Every name part changed: the name alone tells.
    Name,
    /// None of its e-mail addresses and phone numbers is left.
    NoAddressLeft,
    /// An e-mail address or phone number is an unlinked contact's in `store`.
    UnlinkedElsewhere { store: String },
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
}

impl WarningKind {
    pub const ALL: [WarningKind; 14] = [
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
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NotE164 {
                field,
                value,
                to,
                stays_in,
            } => write!(
                f,
                "{field}: \"{value}\" is not a phone number {to} can take in international format; it stays only in {stays_in}"
            ),
            Warning::TooManyEmails {
                count,
                to,
                takes,
                extra,
                stays_in,
            } => write!(
                f,
                "{count} e-mail addresses, {to} takes {takes}: {} stays only in {stays_in}",
                extra.join(", ")
            ),
            Warning::TooManyUrls {
                count,
                to,
                takes,
                extra,
                stays_in,
            } => write!(
                f,
                "{count} web pages, {to} takes {takes}: {} stays only in {stays_in}",
                extra.join(", ")
            ),
            Warning::TooManyPhones {
                kind,
                count,
                to,
                takes,
                extra,
                stays_in,
            } => write!(
                f,
                "{count} {} phone numbers, {to} takes {takes}: {} stays only in {stays_in}",
                kind.as_str(),
                extra.join(", ")
            ),
            Warning::Blocked {
                field,
                to,
                limit,
                stays_in,
            } => write!(
                f,
                "{field}: {to} {limit}; the value stays only in {stays_in}"
            ),
            Warning::LeftScopeCreatedHere { store } => write!(
                f,
                "left the sync scope in {store}; the sync created this copy"
            ),
            Warning::DeletedKept {
                deleted_in,
                kept_in,
            } => write!(
                f,
                "deleted in {deleted_in}; kept in {kept_in} and not created again until `abgleich forget`"
            ),
            Warning::ChangedSinceSync { store } => {
                write!(f, "changed in {store} since the last sync")
            }
            Warning::IdGivenAway { store } => write!(
                f,
                "its id in {store} was given to a new contact; the old one is taken as deleted there"
            ),
            Warning::SomeoneNew(r) => {
                write!(f, "{r}: was it deleted and its id given to someone new?")
            }
            Warning::TakenAsDeleted(r) => {
                write!(f, "{r}: taken as deleted there and as a new contact")
            }
            Warning::WaitsWithDelete(r) => write!(
                f,
                "{r}: taken as deleted there and as a new contact; waits for review with the delete of the old contact's other copy"
            ),
            Warning::MaybeSamePerson { alike, more, store } => {
                let names: Vec<String> = alike
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.id))
                    .collect();
                write!(
                    f,
                    "may be the same person as {}{} in {store}: link by hand (`abgleich link`) or accept to create",
                    names.join(", "),
                    if *more { ", …" } else { "" }
                )
            }
            Warning::NewestUnknown => f.write_str(
                "conflicts = \"newest\": not both stores tell when this contact changed (a `modified` column, a card's REV), or both at the same time; decide by hand",
            ),
        }
    }
}

/// The limit after the store's name: "takes at most 2 e-mail addresses".
impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Emails(n) => write!(f, "takes at most {n} e-mail addresses"),
            Limit::Phones(kind, n) => {
                write!(f, "takes at most {n} {} phone numbers", kind.as_str())
            }
            Limit::Urls(n) => write!(f, "takes at most {n} web pages"),
            Limit::NoNotes => f.write_str("has no notes field"),
        }
    }
}

/// The part the three [`Replacement`] warnings share: "CRM 7 was Anna
/// Schmidt at the last sync and now holds Bernd Schmidt".
impl fmt::Display for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} was {} at the last sync and now holds {}",
            self.store, self.id, self.was, self.now
        )?;
        match &self.clue {
            Clue::Name => Ok(()),
            Clue::NoAddressLeft => {
                f.write_str(" and none of its e-mail addresses and phone numbers")
            }
            Clue::UnlinkedElsewhere { store } => write!(
                f,
                ", whose e-mail address or phone number is an unlinked contact's in {store}"
            ),
        }
    }
}

/// A plan's JSON holds each warning as its sentence.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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

    #[test]
    fn a_record_holding_someone_new_reads_as_before() {
        let who = |clue| Replacement {
            store: "CRM".into(),
            id: "7".into(),
            was: "Anna Berg".into(),
            now: "Bernd Roth".into(),
            clue,
        };
        let texts = [
            Warning::SomeoneNew(who(Clue::Name)).to_string(),
            Warning::TakenAsDeleted(who(Clue::NoAddressLeft)).to_string(),
            Warning::WaitsWithDelete(who(Clue::UnlinkedElsewhere {
                store: "Outlook".into(),
            }))
            .to_string(),
        ];
        assert_eq!(
            texts,
            [
                "CRM 7 was Anna Berg at the last sync and now holds Bernd Roth: was it deleted and its id given to someone new?",
                "CRM 7 was Anna Berg at the last sync and now holds Bernd Roth and none of its e-mail addresses and phone numbers: taken as deleted there and as a new contact",
                "CRM 7 was Anna Berg at the last sync and now holds Bernd Roth, whose e-mail address or phone number is an unlinked contact's in Outlook: taken as deleted there and as a new contact; waits for review with the delete of the old contact's other copy",
            ]
        );
    }

    #[test]
    fn serializes_as_its_sentence() {
        let w = Warning::ChangedSinceSync {
            store: "CRM".into(),
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            "\"changed in CRM since the last sync\""
        );
    }
}
