//! What to write where: the accepted operations grouped per pair, and for
//! each group the store writes (intents) it needs, in the order they run.

use foldhash::HashMap;
use std::collections::BTreeMap;

use crate::config::policy::Mode;
use crate::model::contact::FieldPath;
use crate::model::{PerSide, Side};
use crate::store::{Patch, Store};
use crate::sync::decisions::{Decision, executable};
use crate::sync::fields::FieldSet;
use crate::sync::plan::{Op, OpKind, Plan, Refresh, StampWith, Target};

pub(super) enum Action {
    /// Create from the patch; a copy of the other side's card (id, revision)
    /// when there is one.
    Create {
        patch: Patch,
        copy_of: Option<(String, String)>,
        /// The operation whose changes the patch's fields (and the intent's
        /// `fields_of`) still come from, filled in right before the write
        /// ([`fill`]): an apply of 100,000 creates then never holds every
        /// value a second time.
        fill: Option<usize>,
    },
    Update {
        id: String,
        rev: String,
        patch: Patch,
    },
    Delete {
        id: String,
        rev: String,
    },
    /// Write the other side's new id into the card created from (stamp).
    StampAfterCreate {
        id: String,
        rev: String,
    },
}

impl Action {
    /// The record the write names (all but a create).
    pub fn record(&self) -> Option<&str> {
        match self {
            Action::Create { .. } => None,
            Action::Update { id, .. }
            | Action::Delete { id, .. }
            | Action::StampAfterCreate { id, .. } => Some(id),
        }
    }
}

/// One store write.
pub(super) struct Intent {
    /// Index of its group.
    pub group: usize,
    pub side: Side,
    pub action: Action,
    /// The journaled unit, when known before the write.
    pub unit: Option<String>,
    /// The fields this write carries (a create's: see `fields_of`).
    pub fields: Vec<FieldPath>,
    /// A create's: the plan operation whose every change it writes (the
    /// fields not listed again in `fields`, which 100,000 creates would
    /// hold until the links are recorded).
    pub fields_of: Option<usize>,
}

impl Intent {
    /// The unit the journal saves before this write, when known beforehand.
    pub fn journaled(&self) -> Option<(Side, &str)> {
        Some((self.side, self.unit.as_deref()?))
    }
}

/// One pair's accepted operations.
pub(super) struct Group<'p> {
    /// Indexes into the plan's operations.
    pub ops: Vec<usize>,
    pub first: &'p Op,
}

/// The accepted operations, grouped by pair, groups in plan order (an
/// operation on a pair whose link waits is not executed: [`executable`]).
pub(super) fn groups<'p>(plan: &'p Plan, decisions: &[Decision]) -> Vec<Group<'p>> {
    let executable = executable(plan, decisions);
    let mut by_pair: BTreeMap<PerSide<Option<String>>, usize> = BTreeMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (i, op) in plan.operations.iter().enumerate() {
        if !executable[i] {
            continue;
        }
        let g = *by_pair.entry(op.pair_key()).or_insert_with(|| {
            groups.push(Group {
                ops: Vec::new(),
                first: op,
            });
            groups.len() - 1
        });
        groups[g].ops.push(i);
    }
    groups
}

/// The group [`groups`] would make of operation `op`'s pair, found among
/// that pair's operations only (a preview of one operation costs one pass
/// of comparisons over the plan, not the whole apply's grouping). `None`
/// when `op` would not run.
pub(super) fn group_of<'p>(plan: &'p Plan, decisions: &[Decision], op: usize) -> Option<Group<'p>> {
    let first = plan.operations.get(op)?;
    let runs = |i: usize, o: &Op| decisions.get(i).is_some_and(|d| d.accept && d.resolves(o));
    let pair: Vec<(usize, &Op)> = (plan.operations.iter().enumerate())
        .filter(|(_, o)| o.ids == first.ids)
        .collect();
    // A pair whose link is not accepted runs nothing but that link.
    let waits = pair
        .iter()
        .any(|&(i, o)| o.kind == OpKind::Link && !decisions.get(i).is_some_and(|d| d.accept));
    let ops: Vec<usize> = (pair.iter())
        .filter(|&&(i, o)| runs(i, o) && (o.kind == OpKind::Link || !waits))
        .map(|&(i, _)| i)
        .collect();
    if !ops.contains(&op) {
        return None;
    }
    Some(Group {
        first: &plan.operations[ops[0]],
        ops,
    })
}

/// "2 create, 5 update": what the journal says an apply did.
pub(super) fn summary_text(plan: &Plan, decisions: &[Decision]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (op, run) in plan.operations.iter().zip(executable(plan, decisions)) {
        if run {
            *counts.entry(op.kind.as_str()).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every group's writes, group after group.
pub(super) fn intents(
    plan: &Plan,
    decisions: &[Decision],
    groups: &[Group<'_>],
    stores: &PerSide<Box<dyn Store>>,
    fields: &FieldSet,
) -> Vec<Intent> {
    let mut intents = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        group_intents(g, group, plan, decisions, stores, fields, &mut intents);
    }
    intents
}

/// A display name the sync carries is written only as a field: it does
/// not follow a name change on its own (the base would not know).
fn carry_full_name(intents: &mut [Intent], fields: &FieldSet) {
    let full_synced = fields.fields.iter().any(|f| f.path == FieldPath::NameFull);
    for intent in intents {
        if let Action::Create { patch, .. } | Action::Update { patch, .. } = &mut intent.action {
            patch.full_name_synced = full_synced;
        }
    }
}

/// A record to create, from a Create operation.
struct Create {
    to: Side,
    patch: Patch,
    /// The create operation (its index in the plan), whose changes give
    /// the fields it writes.
    op: usize,
    /// Between card stores: the record (id, revision) on the other side
    /// whose card the new one copies.
    copy_of: Option<(String, String)>,
    /// Whether the record it is created from gets the new one's identity
    /// stamped into it afterwards.
    stamp_source: bool,
}

/// One group's writes: its deletes in operation order, then the create (and
/// the stamp into its source), then one update per side with every field
/// the group changes there.
pub(super) fn group_intents(
    g: usize,
    group: &Group<'_>,
    plan: &Plan,
    decisions: &[Decision],
    stores: &PerSide<Box<dyn Store>>,
    fields: &FieldSet,
    out: &mut Vec<Intent>,
) {
    let from = out.len();
    let mut patches: PerSide<Patch> = PerSide::default();
    let mut touched: PerSide<Vec<FieldPath>> = PerSide::default();
    let mut create: Option<Create> = None;
    for &i in &group.ops {
        let op = &plan.operations[i];
        match op.kind {
            OpKind::Create => create = Some(create_of(i, op, fields)),
            OpKind::Delete => out.extend(delete_intents(g, op, stores)),
            OpKind::Unlink => {}
            OpKind::Update | OpKind::Link | OpKind::Conflict => {
                add_changes(op, &decisions[i], &mut patches, &mut touched)
            }
        }
    }
    if let Some(create) = create {
        out.extend(create_intents(g, group.first, create, stores));
    }
    out.extend(update_intents(g, group.first, patches, touched, stores));
    carry_full_name(&mut out[from..], fields);
}

fn create_of(i: usize, op: &Op, fields: &FieldSet) -> Create {
    let to = create_side(op);
    let from = to.opposite();
    let mut patch = Patch::default();
    let copy_of = match (op.id_on(from), op.revs.get(from)) {
        (Some(id), Some(rev)) if fields.whole_cards => Some((id.to_string(), rev.clone())),
        _ => None,
    };
    // The UID the copy keeps is the card's identity, not a field.
    patch.uid = (op.changes.iter())
        .find(|c| is_uid(c.field))
        .and_then(|c| c.value_for(to).map(str::to_string));
    if let Some(StampWith::Id(v)) = op.stamp.get(to) {
        patch.stamp = Some(v.clone());
    }
    let stamp_source = *op.stamp.get(from) == Some(StampWith::Created);
    Create {
        to,
        patch,
        op: i,
        stamp_source,
        copy_of,
    }
}

/// A create's UID change: the card's identity, not a field.
fn is_uid(field: FieldPath) -> bool {
    matches!(field, FieldPath::Prop(name) if name.as_str() == "UID")
}

fn create_side(op: &Op) -> Side {
    if op.target == Target::Left {
        Side::Left
    } else {
        Side::Right
    }
}

/// Fill in a create's fields from its operation (see `Action::Create`);
/// any other intent is left as it is.
pub(super) fn fill(intent: &mut Intent, plan: &Plan, fields: &FieldSet) {
    let Action::Create {
        patch,
        copy_of,
        fill,
    } = &mut intent.action
    else {
        return;
    };
    let Some((i, op)) = fill.take().and_then(|i| Some((i, plan.operations.get(i)?))) else {
        return;
    };
    intent.fields_of = Some(i);
    let to = create_side(op);
    if copy_of.is_some() {
        // What the target's limits keep out is not copied either (the
        // last first: removing one moves the later ones up).
        for field in fields.fields.iter().rev() {
            if !*field.writable.get(to) {
                patch.fields.push((field.path, None));
            }
        }
    }
    for c in &op.changes {
        match c.field {
            field if is_uid(field) => {}
            // The rest of the card comes with the card copied.
            FieldPath::Prop(_) if copy_of.is_some() => {}
            field => patch
                .fields
                .push((field, c.value_for(to).map(str::to_string))),
        }
    }
}

fn delete_intents(g: usize, op: &Op, stores: &PerSide<Box<dyn Store>>) -> Vec<Intent> {
    let mut out = Vec::new();
    for side in Side::BOTH {
        if op.target.includes(side)
            && let (Some(id), Some(rev)) = (op.id_on(side), op.revs.get(side))
        {
            out.push(Intent {
                group: g,
                side,
                action: Action::Delete {
                    id: id.to_string(),
                    rev: rev.clone(),
                },
                unit: Some(stores.get(side).unit_of(id)),
                fields: Vec::new(),
                fields_of: None,
            });
        }
    }
    out
}

/// Add an operation's changes to the side each goes to (a conflicting
/// field's to the loser of the operator's decision; undecided ones stay).
fn add_changes(
    op: &Op,
    decision: &Decision,
    patches: &mut PerSide<Patch>,
    touched: &mut PerSide<Vec<FieldPath>>,
) {
    for c in &op.changes {
        let to = match c.to {
            Some(to) => to,
            None => match decision.winner_for(c.field) {
                Some(w) => w.opposite(),
                None => continue,
            },
        };
        // A conflict's value that cannot go to `to` (too long for its
        // column, no E.164 form; the plan warns): nothing is written there,
        // the field is never emptied instead. It stays a conflict.
        if c.to.is_none() && c.value_for(to).is_none() && c.value(to.opposite()).is_some() {
            continue;
        }
        patches
            .get_mut(to)
            .fields
            .push((c.field, c.value_for(to).map(str::to_string)));
        touched.get_mut(to).push(c.field);
    }
    for s in Side::BOTH {
        if let Some(StampWith::Id(v)) = op.stamp.get(s) {
            patches.get_mut(s).stamp = Some(v.clone());
        }
    }
}

fn create_intents(
    g: usize,
    first: &Op,
    create: Create,
    stores: &PerSide<Box<dyn Store>>,
) -> Vec<Intent> {
    let Create {
        to,
        mut patch,
        op,
        stamp_source,
        copy_of,
    } = create;
    patch.uid.get_or_insert_with(card_uid);
    let unit = stores.get(to).create_unit(&patch);
    let mut out = vec![Intent {
        group: g,
        side: to,
        action: Action::Create {
            patch,
            copy_of,
            fill: Some(op),
        },
        unit,
        fields: Vec::new(),
        fields_of: None,
    }];
    let from = to.opposite();
    if stamp_source && let (Some(id), Some(rev)) = (first.id_on(from), first.revs.get(from)) {
        out.push(Intent {
            group: g,
            side: from,
            action: Action::StampAfterCreate {
                id: id.to_string(),
                rev: rev.clone(),
            },
            unit: Some(stores.get(from).unit_of(id)),
            fields: Vec::new(),
            fields_of: None,
        });
    }
    out
}

fn update_intents(
    g: usize,
    first: &Op,
    mut patches: PerSide<Patch>,
    mut touched: PerSide<Vec<FieldPath>>,
    stores: &PerSide<Box<dyn Store>>,
) -> Vec<Intent> {
    let mut out = Vec::new();
    for side in Side::BOTH {
        let patch = std::mem::take(patches.get_mut(side));
        if patch.fields.is_empty() && patch.stamp.is_none() {
            continue;
        }
        let (Some(id), Some(rev)) = (first.id_on(side), first.revs.get(side)) else {
            continue;
        };
        out.push(Intent {
            group: g,
            side,
            action: Action::Update {
                id: id.to_string(),
                rev: rev.clone(),
                patch,
            },
            unit: Some(stores.get(side).unit_of(id)),
            fields: std::mem::take(touched.get_mut(side)),
            fields_of: None,
        });
    }
    out
}

/// Per side, the ids of records the accepted groups name whose ids may
/// change when their store is next written ([`crate::store::WriteStore::id_may_change`]),
/// where the plan's mode lets the apply write to that side.
pub(super) fn to_settle(
    plan: &Plan,
    groups: &[Group<'_>],
    stores: &PerSide<Box<dyn Store>>,
) -> PerSide<Vec<String>> {
    let mode = plan.mode.parse::<Mode>().ok();
    let mut out: PerSide<Vec<String>> = PerSide::default();
    for side in Side::BOTH {
        if !mode.is_some_and(|m| m.writes_to(side)) {
            continue;
        }
        let store = stores.get(side);
        let ops = (groups.iter())
            .flat_map(|g| g.ops.iter().map(|&i| &plan.operations[i]))
            .filter_map(|op| op.id_on(side));
        // A link the state learns without a write (a pair that agreed on
        // its own, one linked by hand) too.
        let refreshed = plan.refreshes.iter().filter_map(|r| match r {
            Refresh::Put(link) => link.id(side),
            Refresh::Drop(_) => None,
        });
        *out.get_mut(side) = ops
            .chain(refreshed)
            .filter(|id| store.id_may_change(id))
            .map(str::to_string)
            .collect();
    }
    out
}

/// The stamps the intents on `side` write that name a record of the other
/// side (held by `other`) by an id [`crate::store::WriteStore::settle_ids`]
/// just replaced: they name the new one. A stamp naming an id that may
/// still change (a card's place in a one-file book that was not written)
/// is not written: a position is no identity, and a later plan would link
/// by it whatever card then stands there.
pub(super) fn restamp(
    intents: &mut [Intent],
    side: Side,
    settled: &[(String, String)],
    other: &dyn Store,
) {
    let new: HashMap<&str, &str> = (settled.iter())
        .map(|(old, new)| (old.as_str(), new.as_str()))
        .collect();
    for intent in intents.iter_mut().filter(|i| i.side == side) {
        let (Action::Create { patch, .. } | Action::Update { patch, .. }) = &mut intent.action
        else {
            continue;
        };
        let Some(stamp) = patch.stamp.as_deref() else {
            continue;
        };
        if let Some(to) = new.get(stamp) {
            patch.stamp = Some(to.to_string());
        } else if other.id_may_change(stamp) {
            patch.stamp = None;
        }
    }
}

fn card_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}
