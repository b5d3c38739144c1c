//! What becomes of the links after the writes: per group, the link row its
//! writes leave (the ids, the revisions, the base of what both sides hold
//! now), and the link changes the plan found without a write.
//!
//! A group's link change is a [`Refresh`], the type of the plan's changes
//! without a write: the same two changes to one link row (`Put` it, a new
//! one when its `link_id` is 0, or `Drop` it), recorded the same way.

use foldhash::{HashMap, HashMapExt};

use super::execute::Written;
use super::intents::Group;
use crate::model::contact::{Contact, FieldPath};
use crate::model::{PerSide, Side};
use crate::store::Renamed;
use crate::sync::fields::FieldSet;
use crate::sync::plan::{LinkAfter, Op, OpKind, Plan, Refresh, settled_base};
use crate::sync::snapshot::Snapshot;
use crate::sync::state::{Base, BaseValue, Link, StateError, StateTx};

/// Record the plan's refreshes (what the state learned without a store
/// write), as part of apply `apply_id` when there is one.
pub(super) fn put_refreshes(
    tx: &StateTx<'_>,
    apply_id: Option<i64>,
    refreshes: &[Refresh],
) -> Result<(), StateError> {
    for refresh in refreshes {
        put(tx, apply_id, refresh)?;
    }
    Ok(())
}

fn put(tx: &StateTx<'_>, apply_id: Option<i64>, change: &Refresh) -> Result<(), StateError> {
    match change {
        Refresh::Put(link) => {
            tx.put_link(apply_id, link)?;
        }
        Refresh::Drop(id) => tx.drop_link(apply_id, *id)?,
    }
    Ok(())
}

/// Move the links (and tombstones) of the records a store's writes gave a
/// new id (a card of a one-file book that got its UID) to that id, as part
/// of apply `apply_id` (so `undo` moves them back with the file). A link
/// that held the record's revision from before the rename holds the one
/// after it: the rename is abgleich's own write, not a change to sync.
pub(super) fn follow_renames(
    tx: &StateTx<'_>,
    apply_id: i64,
    side: Side,
    renamed: &[Renamed],
) -> Result<(), StateError> {
    for r in renamed {
        let Some(mut link) = tx.link_by_id(side, &r.from)? else {
            continue;
        };
        *link.ids.get_mut(side) = Some(r.to.clone());
        *link.uids.get_mut(side) = Some(r.to.clone());
        let rev = link.revs.get_mut(side);
        if rev.as_deref() == Some(r.revision_before.as_str()) {
            *rev = Some(r.revision_after.clone());
        }
        tx.put_link(Some(apply_id), &link)?;
    }
    Ok(())
}

/// Record each group's link after its writes, group by group.
pub(super) fn put_links(
    tx: &StateTx<'_>,
    apply_id: i64,
    plan: &Plan,
    groups: &[Group<'_>],
    written: &[Written],
    snapshot: &Snapshot,
    fields: &FieldSet,
) -> Result<(), StateError> {
    let mut all_of_pair: HashMap<PerSide<Option<String>>, Vec<usize>> = HashMap::new();
    for (i, op) in plan.operations.iter().enumerate() {
        all_of_pair.entry(op.pair_key()).or_default().push(i);
    }
    for (group, w) in groups.iter().zip(written) {
        let ops: Vec<&Op> = group.ops.iter().map(|&i| &plan.operations[i]).collect();
        // The pair's operations not accepted: their fields stay to do.
        let held: Vec<&Op> = all_of_pair
            .get(&group.first.pair_key())
            .into_iter()
            .flatten()
            .filter(|i| !group.ops.contains(i))
            .map(|&i| &plan.operations[i])
            .collect();
        if let Some(change) = link_after(&ops, &held, (w, plan), snapshot, fields) {
            put(tx, Some(apply_id), &change)?;
        }
    }
    Ok(())
}

/// The change to a group's link after its writes, if any.
fn link_after(
    ops: &[&Op],
    held: &[&Op],
    (w, plan): (&Written, &Plan),
    snapshot: &Snapshot,
    fields: &FieldSet,
) -> Option<Refresh> {
    let first = ops[0];
    let old = first.link.as_deref().cloned();
    let main = ops
        .iter()
        .find(|o| o.kind != OpKind::Conflict)
        .copied()
        .unwrap_or(first);
    match &main.after {
        LinkAfter::Drop => {
            if w.failed.is_some() {
                return None;
            }
            old.map(|l| Refresh::Drop(l.link_id))
        }
        LinkAfter::Tombstone { gone, reason } => {
            let old = old?;
            let mut ids = old.ids.clone();
            if let Some(gone) = gone {
                *ids.get_mut(*gone) = None;
            }
            Some(Refresh::Put(Box::new(Link {
                ids,
                revs: PerSide::default(),
                tombstone: Some(reason.clone()),
                ..old
            })))
        }
        LinkAfter::Linked => linked(ops, held, (w, plan), old, snapshot, fields)
            .map(|link| Refresh::Put(Box::new(link))),
    }
}

/// The link of a pair that stays linked; none when a create failed and
/// so left nothing to link.
fn linked(
    ops: &[&Op],
    held: &[&Op],
    (w, plan): (&Written, &Plan),
    old: Option<Link>,
    snapshot: &Snapshot,
    fields: &FieldSet,
) -> Option<Link> {
    let first = ops[0];
    let mut ids = first.ids.clone();
    let mut created_on = old.as_ref().and_then(|l| l.created_on);
    for side in Side::BOTH {
        if let Some(id) = w.ids.get(side) {
            *ids.get_mut(side) = Some(id.clone());
            created_on = Some(side);
        }
    }
    if ids.left.is_none() || ids.right.is_none() {
        return None;
    }
    if !w.wrote && w.failed.is_some() && old.is_none() {
        return None;
    }
    let now = values_now(ops, (w, plan), &ids, snapshot);
    let pending = pending_fields(ops, held, (w, plan));
    let base = base_after(old.as_ref(), &now, &pending, fields);
    let revs = if pending.is_empty() && w.failed.is_none() {
        PerSide::new(
            w.revs.left.clone().or_else(|| first.revs.left.clone()),
            w.revs.right.clone().or_else(|| first.revs.right.clone()),
        )
    } else {
        PerSide::default()
    };
    // Each card's UID, by which a renamed file is found again: the one a
    // create gave it, else the one read, else the one known before.
    let uids = PerSide::new(
        uid_now(Side::Left, w, &ids, snapshot, old.as_ref()),
        uid_now(Side::Right, w, &ids, snapshot, old.as_ref()),
    );
    Some(Link {
        link_id: old.as_ref().map_or(0, |l| l.link_id),
        ids,
        revs,
        base,
        uids,
        created_on,
        tombstone: None,
    })
}

fn uid_now(
    side: Side,
    w: &Written,
    ids: &PerSide<Option<String>>,
    snapshot: &Snapshot,
    old: Option<&Link>,
) -> Option<String> {
    if w.ids.get(side).is_some() {
        return w.uids.get(side).clone();
    }
    ids.get(side)
        .as_deref()
        .and_then(|id| snapshot.sides.get(side).get(id))
        .and_then(|r| r.uid.clone())
        .or_else(|| old.and_then(|l| l.uids.get(side).clone()))
}

/// The values each side holds now: what the snapshot read (nothing, for a
/// record just created) with the fields written over it.
fn values_now(
    ops: &[&Op],
    (w, plan): (&Written, &Plan),
    ids: &PerSide<Option<String>>,
    snapshot: &Snapshot,
) -> PerSide<Contact> {
    let mut now: PerSide<Contact> = PerSide::default();
    for side in Side::BOTH {
        let id = ids.get(side).as_deref().unwrap_or("");
        let mut c = if w.ids.get(side).is_some() {
            Contact::default()
        } else {
            snapshot
                .sides
                .get(side)
                .get(id)
                .map(|r| (*r.contact).clone())
                .unwrap_or_default()
        };
        for op in ops {
            for ch in &op.changes {
                if w.wrote_field(side, ch.field, plan) {
                    c.set(&ch.field, ch.value_for(side));
                }
            }
        }
        // A written card's properties as it holds them (their digests).
        if let Some(props) = w.props.get(side) {
            c.props = props.texts();
        }
        *now.get_mut(side) = c;
    }
    now
}

/// Fields held back or not written stay to do: their base stays.
fn pending_fields(ops: &[&Op], held: &[&Op], (w, plan): (&Written, &Plan)) -> Vec<FieldPath> {
    let mut pending: Vec<FieldPath> = Vec::new();
    for op in held {
        pending.extend(op.pending.iter().copied());
        pending.extend(op.changes.iter().map(|c| c.field));
    }
    for op in ops {
        pending.extend(op.pending.iter().copied());
        for ch in &op.changes {
            let written = Side::BOTH
                .into_iter()
                .any(|s| w.wrote_field(s, ch.field, plan));
            if !written {
                pending.push(ch.field);
            }
        }
    }
    pending
}

fn base_after(
    old: Option<&Link>,
    now: &PerSide<Contact>,
    pending: &[FieldPath],
    fields: &FieldSet,
) -> Base {
    let now = PerSide::new(&now.left, &now.right);
    match old {
        None if !pending.is_empty() => {
            // A new link: a field not agreed on has no base yet.
            let mut b = settled_base(fields, &Base::default(), now, &[]);
            for p in pending {
                b.set(*p, BaseValue::Unknown);
            }
            b
        }
        _ => {
            let old_base = old.map(|l| l.base.clone()).unwrap_or_default();
            settled_base(fields, &old_base, now, pending)
        }
    }
}
