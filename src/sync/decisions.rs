//! The operator's decisions on a plan: accept or skip each operation, and
//! for a conflict which side wins, for the whole contact or per field.
//! Made by a front end (or the defaults), then executed by `apply`.

use super::plan::{Op, OpKind, Plan};
use crate::model::Side;
use crate::model::contact::FieldPath;

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

/// The default decisions: every operation that needs no review; with
/// `accept_review`, the waiting ones too; conflicts resolved by `winner`.
pub fn default_decisions(plan: &Plan, accept_review: bool, winner: Option<Side>) -> Vec<Decision> {
    plan.operations
        .iter()
        .map(|op| {
            let resolved = op.kind != OpKind::Conflict || winner.is_some();
            Decision {
                accept: resolved && (!op.review || accept_review),
                winner,
                fields: Vec::new(),
            }
        })
        .collect()
}
