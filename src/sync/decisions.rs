//! The operator's decisions on a plan: accept or skip each operation, and
//! for a conflict which side wins, for the whole contact or per field.
//! Made by a front end (or the defaults), then executed by `apply`.

use foldhash::HashSet;

use super::plan::{Op, OpKind, Plan};
use crate::model::contact::FieldPath;
use crate::model::{PerSide, Side};

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

/// Which operations an apply executes, one per operation of `plan`:
/// accepted and resolved ones, except those on a pair whose link waits (a
/// link operation of the same pair not accepted): resolving a conflict or
/// accepting an update never links a pair the operator has not accepted
/// the link of (SPEC §5).
pub fn executable(plan: &Plan, decisions: &[Decision]) -> Vec<bool> {
    let waiting = waiting_links(plan, decisions);
    plan.operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            decisions.get(i).is_some_and(|d| d.accept && d.resolves(op))
                && (op.kind == OpKind::Link || !waiting.contains(&op.pair_key()))
        })
        .collect()
}

/// Whether operation `i` is accepted but waits for its pair's link to be
/// accepted first (it is not executed until then).
pub fn waits_for_link(plan: &Plan, decisions: &[Decision], i: usize) -> bool {
    let Some(op) = plan.operations.get(i) else {
        return false;
    };
    op.kind != OpKind::Link
        && plan.operations.iter().zip(decisions).any(|(other, d)| {
            other.kind == OpKind::Link && !d.accept && other.pair_key() == op.pair_key()
        })
}

/// The pairs whose link operation is not accepted.
fn waiting_links(plan: &Plan, decisions: &[Decision]) -> HashSet<PerSide<Option<String>>> {
    plan.operations
        .iter()
        .enumerate()
        .filter(|(i, op)| op.kind == OpKind::Link && !decisions.get(*i).is_some_and(|d| d.accept))
        .map(|(_, op)| op.pair_key())
        .collect()
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
