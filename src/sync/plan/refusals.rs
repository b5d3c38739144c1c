//! The safety refusals: a plan that looks like a wrong store, a mass
//! delete or a mass unlink is not applied unless forced.

use foldhash::{HashMap, HashMapExt};

use super::types::{Inputs, OpKind, Plan};
use crate::model::{PerSide, Side};

/// What makes a plan unsafe to apply without `--force`.
pub(super) fn refusals(inp: &Inputs<'_>, plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let mut linked: PerSide<usize> = PerSide::default();
    for link in inp.links.iter().filter(|l| l.tombstone.is_none()) {
        for side in Side::BOTH {
            if link.id(side).is_some() {
                *linked.get_mut(side) += 1;
            }
        }
    }
    let mut deletes: HashMap<Side, usize> = HashMap::new();
    for op in plan.operations.iter().filter(|o| o.kind == OpKind::Delete) {
        for side in Side::BOTH {
            if op.target.includes(side) {
                *deletes.entry(side).or_default() += 1;
            }
        }
    }
    // One UPDATE of a scope column, or a store read with a wrong filter,
    // turns every link into a tombstone: as many ended links as deletes
    // would be refused are refused too.
    let live = inp.links.iter().filter(|l| l.tombstone.is_none()).count();
    let unlinks = plan
        .operations
        .iter()
        .filter(|o| o.kind == OpKind::Unlink)
        .count();
    if unlinks > 0 && unlinks * 100 > live.max(1) * inp.policy.max_delete_percent as usize {
        out.push(format!(
            "the plan unlinks {unlinks} of {live} linked contacts (they left the sync scope or are \
             gone on one side), more than max_delete_percent = {}; check the scope",
            inp.policy.max_delete_percent
        ));
    }
    for side in Side::BOTH {
        let snap = inp.snapshot.sides.get(side);
        let name = inp.fields.names.get(side);
        if *linked.get(side) > 0 && snap.records.is_empty() {
            out.push(format!(
                "{name} reads as empty, but {} of its contacts were linked at the last sync; is it the right store?",
                linked.get(side)
            ));
        }
        let n = deletes.get(&side).copied().unwrap_or(0);
        let total = snap.records.len().max(1);
        if n > 0 && n * 100 > total * inp.policy.max_delete_percent as usize {
            out.push(format!(
                "the plan deletes {n} of {} contacts in {name}, more than max_delete_percent = {}",
                snap.records.len(),
                inp.policy.max_delete_percent
            ));
        }
    }
    out
}

/// A plan that may not be applied: its refusals, and no `--force`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused<'a> {
    pub reasons: &'a [String],
}

/// The one check every front end and `apply` make before writing: whether
/// the plan's refusals stop it (they do unless `force`).
pub fn check(plan: &Plan, force: bool) -> Result<(), Refused<'_>> {
    if force || plan.refusals.is_empty() {
        Ok(())
    } else {
        Err(Refused {
            reasons: &plan.refusals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_plan_is_stopped_unless_forced() {
        let mut plan = Plan::default();
        assert_eq!(check(&plan, false), Ok(()));
        plan.refusals
            .push("the plan deletes 9 of 10 contacts in CRM".into());
        let refused = check(&plan, false).unwrap_err();
        assert_eq!(refused.reasons, &plan.refusals[..]);
        assert_eq!(check(&plan, true), Ok(()));
    }
}
