//! What an apply is given and gives back: the operator's decisions, each
//! operation's outcome, the report, and the errors that stop it. Shared by
//! the apply's files and the journal, so none of them needs another's.

use crate::model::Side;
use crate::model::contact::FieldPath;
use crate::store::StoreError;
use crate::sync::plan::{Op, OpKind};
use crate::sync::state::StateError;

/// What the operator decided for one operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub accept: bool,
    /// For a conflict: the side whose values win (for every conflicting
    /// field without a pick in `fields`).
    pub winner: Option<Side>,
    /// For a conflict: per field, the side whose value wins for that field;
    /// overrides `winner` for that field.
    pub fields: Vec<(FieldPath, Side)>,
}

impl Decision {
    /// The side whose value wins for `field`: its own pick (the last one,
    /// if picked twice), else `winner`.
    pub fn winner_for(&self, field: FieldPath) -> Option<Side> {
        self.fields
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map(|(_, side)| *side)
            .or(self.winner)
    }

    /// Whether this decision resolves `op`: true for an operation that is
    /// not a conflict, or when every conflicting field (`to: None`) has a
    /// winner.
    pub fn resolves(&self, op: &Op) -> bool {
        op.kind != OpKind::Conflict
            || op
                .changes
                .iter()
                .filter(|c| c.to.is_none())
                .all(|c| self.winner_for(c.field).is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Skipped,
    ChangedSincePlan,
    Failed(String),
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
    #[error("nothing to undo: no finished apply in the journal")]
    NothingToUndo,
}
