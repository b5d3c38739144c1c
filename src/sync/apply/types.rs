//! What an apply is given and gives back: the operator's decisions, each
//! operation's outcome, the report, and the errors that stop it. Shared by
//! the apply's files and the journal, so none of them needs another's.

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::StoreError;
use crate::sync::state::StateError;

/// What became of one operation. Front ends put it into words.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done,
    /// Written, with a note: the contact's writes landed (it is created or
    /// updated, and linked), but a later write of its pair failed with this
    /// error (the stamp into the record it was created from, or the other
    /// side's part); what was not written is in the next plan.
    Noted(Arc<StoreError>),
    /// Not accepted (or not resolved), so not written.
    Skipped,
    /// A record was changed or gone since the plan read it: the write was
    /// refused, and what was not written is in the next plan.
    ChangedSincePlan,
    /// A write failed with this error; the run went on. The operations of
    /// one pair share the failure of its first failed write (hence the
    /// `Arc`: a store error keeps its cause and cannot be cloned).
    Failed(Arc<StoreError>),
}

/// Two failures are equal when they are the same failure (one write's,
/// shared by its pair's operations); errors are never compared by text.
impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Failed(a), Outcome::Failed(b)) | (Outcome::Noted(a), Outcome::Noted(b)) => {
                Arc::ptr_eq(a, b)
            }
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for Outcome {}

impl Outcome {
    /// Whether the operation's contact was written (with or without a note).
    pub fn written(&self) -> bool {
        matches!(self, Outcome::Done | Outcome::Noted(_))
    }
}

/// What happened to each operation, in plan order.
#[derive(Debug, Default)]
pub struct Report {
    pub apply_id: Option<i64>,
    pub outcomes: Vec<Outcome>,
    /// Journaled units that could not be put back (undo, recovery).
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&self, want: fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| want(o)).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("refusing to apply:\n  {}\n(run with --force if this is really what you want)", .0.join("\n  "))]
    Refused(Vec<String>),
    #[error("{0} (nothing was changed: the stores were put back as they were)")]
    State(#[from] StateError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A store the plan writes to cannot be written; nothing was written.
    #[error("{0} cannot be written: {1}; nothing was written")]
    NotWritable(String, #[source] StoreError),
    /// A store refused the apply's writes when they were committed (a
    /// deferred foreign key of the database); what the apply wrote was put
    /// back, and its operations stay in the next plan.
    #[error(
        "{0} refused the writes when they were committed: {1}; nothing was written (what had been written was put back), and the operations stay in the next plan"
    )]
    CommitRefused(String, #[source] Box<StoreError>),
    /// A card store could not put its written cards in place (a card
    /// made immutable, a file system error); what the apply wrote was put
    /// back.
    #[error(
        "{0} could not put its cards in place: {1}; nothing was written (what had been written was put back), and the operations stay in the next plan"
    )]
    PutInPlace(String, #[source] Box<StoreError>),
    #[error("nothing to undo: no finished apply in the journal")]
    NothingToUndo,
    /// An undo that stopped part-way (a full disk): what it put back stays
    /// put back, and the next command finishes it.
    #[error(
        "the undo of apply #{apply_id} stopped: {cause}; the records it put back so far stay put back, and the next abgleich command (or `abgleich undo` again) finishes this undo"
    )]
    UndoStopped {
        apply_id: i64,
        #[source]
        cause: UndoCause,
    },
    /// Recovery (the rollback of an apply, or the end of an undo, that did
    /// not finish) stopped again: what it put back stays put back.
    #[error(
        "{} of apply #{apply_id}, which did not finish, stopped: {cause}; what it put back stays put back, and the next abgleich command tries again",
        if *.undoing { "finishing the undo" } else { "rolling back" }
    )]
    RecoveryStopped {
        apply_id: i64,
        undoing: bool,
        #[source]
        cause: UndoCause,
    },
    /// A journal row that cannot be read back: undo and recovery refuse
    /// before they touch a store.
    #[error(transparent)]
    DamagedJournal(Box<DamagedJournal>),
}

/// Why an undo stopped part-way.
#[derive(Debug, thiserror::Error)]
pub enum UndoCause {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A journal row that cannot be read back, named by the state file, the
/// apply and the row.
#[derive(Debug, thiserror::Error)]
#[error(
    "the journal in {} is damaged (apply #{apply_id}, {entry}): {cause}; nothing was changed. Put back a copy of the state file from a backup, or move it away to start afresh (links are then found again by stamp, e-mail, phone and name)",
    state.display()
)]
pub struct DamagedJournal {
    pub state: PathBuf,
    pub apply_id: i64,
    pub entry: String,
    #[source]
    pub cause: JournalDamage,
}

/// What is wrong with a damaged journal row.
#[derive(Debug, thiserror::Error)]
pub enum JournalDamage {
    #[error("it names no side")]
    NoSide,
    #[error(transparent)]
    Store(StoreError),
    #[error("the saved link row cannot be read")]
    LinkRow,
    /// The apply created the record and its link, but the journal does not
    /// say to undo that link: undone, the link would name a record that is
    /// gone, and the next apply would delete the other side's copy.
    #[error(
        "the apply created {record} and link {link_id} to it, but no link change of the journal undoes that link"
    )]
    LinkLeftBehind { link_id: i64, record: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_equals_only_itself() {
        let error = || Arc::new(StoreError::Changed { id: "7".into() });
        let shared = Outcome::Failed(error());
        assert_eq!(shared, shared.clone());
        assert_ne!(shared, Outcome::Failed(error()));
        assert_ne!(shared, Outcome::Done);
        assert_eq!(Outcome::Done, Outcome::Done);
        assert_ne!(Outcome::Skipped, Outcome::ChangedSincePlan);
    }
}
