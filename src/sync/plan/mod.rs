//! The planner: a pure function from two snapshots, the state and the
//! policy to a [`Plan`]. It writes nothing.
//!
//! Per linked pair and per field it compares the left value, the right value
//! and the base (what both held at the last sync): a change on one side is
//! copied to the other, changes on both sides to different values are a
//! conflict on that field only, and a formatting difference is no change.
//!
//! The files follow the planner's seams: `types` holds the plain data,
//! `planner` walks the links, `action` says what becomes of each one,
//! `pair` compares a linked pair, `gone` handles a pair with a side gone or
//! out of scope, `moved` lets a link follow its record to a new id (a
//! renamed card file), `creates` matches and creates what no link holds, and
//! `refusals` says what makes a plan unsafe; `warning` holds what an
//! operation warns about, as data.

mod action;
mod creates;
mod gone;
mod moved;
mod pair;
mod planner;
pub mod refusals;
mod types;
pub mod warning;

pub use pair::settled_base;
pub use types::{
    Change, Inputs, LinkAfter, Op, OpKind, Plan, Policy, Refresh, StampWith, Summary, Target,
    identity,
};
pub use warning::{Warning, WarningKind};

use crate::model::Side;
use crate::sync::fields::FieldSet;

/// Compute the plan. Pure: reads its inputs, writes nothing.
pub fn plan(inp: &Inputs<'_>) -> Plan {
    let (mut operations, refreshes) = planner::Planner::new(inp).run();
    operations.sort_by(|a, b| (a.kind, &a.name, &a.ids).cmp(&(b.kind, &b.name, &b.ids)));
    let mut plan = Plan {
        summary: Summary::default(),
        operations,
        refusals: Vec::new(),
        refreshes,
        unreadable: Vec::new(),
        mode: inp.policy.mode.to_string(),
    };
    plan.summarise();
    plan.refusals = refusals::refusals(inp, &plan);
    for side in Side::BOTH {
        for u in &inp.snapshot.sides.get(side).unreadable {
            plan.unreadable.push(u.to_string());
        }
    }
    plan
}

/// A fingerprint of what the links' revisions were taken under; a change of
/// mapping or mode makes the planner compare every pair again.
pub fn fingerprint(fields: &FieldSet, policy: &Policy) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}",
        fields.fields,
        fields.limits,
        policy.mode.as_str()
    );
    crate::model::record::hash_revision(text.as_bytes())
}
