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
    Change, ChangeTexts, Changes, Inputs, LinkAfter, Op, OpKind, Plan, Policy, Refresh, StampWith,
    Summary, Target, identity,
};
pub use warning::{Warning, WarningKind};

use crate::model::Side;
use crate::model::contact::FieldPath;
use crate::sync::fields::FieldSet;
use crate::sync::state::BaseValue;

/// Compute the plan. Pure: reads its inputs, writes nothing.
pub fn plan(inp: &Inputs<'_>) -> Plan {
    let (mut operations, refreshes) = planner::Planner::new(inp).run();
    hold_deletes_that_may_be_moves(&mut operations);
    operations.sort_by(|a, b| (a.kind, &a.name, &a.ids).cmp(&(b.kind, &b.name, &b.ids)));
    // No spare room: 100,000 creates would leave up to a third unused.
    operations.shrink_to_fit();
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

/// A delete of a contact that a create of the same plan may be (the create
/// says "may be the same person as" it, or brings back one of the gone
/// copy's e-mail addresses or phone numbers: a card renamed or moved and
/// edited, which no UID or stamp ties to its link) waits for review, and so
/// does that create: accepting what needs no review neither deletes a
/// contact that only moved nor makes a second copy of it.
fn hold_deletes_that_may_be_moves(ops: &mut [Op]) {
    use foldhash::{HashMap, HashMapExt};
    // Per (side, id) a create thinks it may be: that create.
    let mut alike: HashMap<(Side, String), usize> = HashMap::new();
    // Per (side it comes from, e-mail or phone) the create bringing it.
    let mut keys: HashMap<(Side, String), usize> = HashMap::new();
    for (c, op) in ops.iter().enumerate() {
        let from = match (op.kind, op.target) {
            (OpKind::Create, Target::Left) => Side::Right,
            (OpKind::Create, Target::Right) => Side::Left,
            _ => continue,
        };
        for ch in &op.changes {
            let value = ch.value(from);
            if let Some(key) = value.and_then(|v| contact_key(&ch.field, v)) {
                keys.insert((from, key), c);
            }
        }
        for w in &op.warnings {
            if let Warning::MaybeSamePerson {
                alike: who, side, ..
            } = w
            {
                for someone in who {
                    alike.insert((*side, someone.id.clone()), c);
                }
            }
        }
    }
    if alike.is_empty() && keys.is_empty() {
        return;
    }
    let mut held: Vec<(usize, usize, Side)> = Vec::new();
    for (d, op) in ops.iter().enumerate() {
        if op.kind != OpKind::Delete || op.review {
            continue;
        }
        for side in Side::BOTH.into_iter().filter(|s| op.target.includes(*s)) {
            let gone = side.opposite();
            let by_warning = op
                .id_on(side)
                .and_then(|id| alike.get(&(side, id.to_string())));
            // The gone copy's addresses at the last sync.
            let by_key = op.link.as_ref().and_then(|link| {
                link.base.iter().find_map(|(field, value)| match value {
                    BaseValue::Known(v) => v
                        .get(gone)
                        .as_deref()
                        .and_then(|v| contact_key(field, v))
                        .and_then(|key| keys.get(&(gone, key))),
                    BaseValue::Unknown => None,
                })
            });
            if let Some(&c) = by_warning.or(by_key) {
                held.push((d, c, side));
                break;
            }
        }
    }
    for (d, c, side) in held {
        let (create_name, delete_name) = (ops[c].name.clone(), ops[d].name.clone());
        let delete_id = ops[d].id_on(side).unwrap_or_default().to_string();
        ops[d].review = true;
        ops[d].warnings.push(Warning::MaybeMoved {
            name: create_name,
            side: side.opposite(),
        });
        let create = &mut ops[c];
        create.review = true;
        let already = create.warnings.iter().any(|w| {
            matches!(w, Warning::MaybeSamePerson { alike, .. } if alike.iter().any(|s| s.id == delete_id))
        });
        if !already {
            create.warnings.push(Warning::MaybeSamePerson {
                alike: vec![warning::Someone {
                    name: delete_name,
                    id: delete_id,
                }],
                more: false,
                side,
            });
        }
    }
}

/// An e-mail address or phone number in a form two copies share: lower
/// case, or the digits.
fn contact_key(field: &FieldPath, value: &str) -> Option<String> {
    let key = match field {
        FieldPath::Email { .. } => value.trim().to_lowercase(),
        FieldPath::Phone { .. } => value.chars().filter(char::is_ascii_digit).collect(),
        _ => return None,
    };
    (key.len() >= 3).then_some(key)
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
