//! Apply: execute the accepted operations of a plan, with a journal.
//!
//! Order of work, so that a crash at any point can be rolled back:
//! 1. one state transaction journals every unit (card file, row) a write
//!    will replace, with its exact bytes, and marks the apply `running`;
//! 2. the stores are written (each write conditional on the revision the
//!    plan read; SQL stores inside one transaction);
//! 3. one state transaction records the new links and marks the apply `done`.
//!
//! A run that finds an apply still `running` puts every journaled unit back
//! ([`recover`]); `undo` does the same for the last `done` apply, for every
//! unit nobody changed since.

use std::collections::{BTreeMap, HashMap};

use super::fields::FieldSet;
use super::plan::{
    LinkAfter, Op, OpKind, Plan, Refresh, StampWith, Target, identity, settled_base,
};
use super::snapshot::Snapshot;
use super::state::{ApplyStatus, Base, BaseValue, Link, State, StateError};
use crate::model::contact::{Contact, FieldPath};
use crate::model::record::hash_revision;
use crate::model::{PerSide, Side};
use crate::store::{Patch, Store, StoreError};

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

// ---- the fault hook the crash tests use -------------------------------------

/// With `ABGLEICH_ABORT_AFTER_WRITES=k`, the process aborts right after the
/// k-th store write, as a kill -9 would (crash tests). Only in builds with the
/// `crash-points` feature (test builds; see Cargo.toml).
#[cfg(feature = "crash-points")]
fn count_write() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    if let Ok(k) = std::env::var("ABGLEICH_ABORT_AFTER_WRITES")
        && k.trim().parse::<usize>().ok() == Some(n)
    {
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
fn count_write() {}

// ---- intents ----------------------------------------------------------------

enum Action {
    Create(Patch),
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

struct Intent {
    group: usize,
    side: Side,
    action: Action,
    /// The journaled unit, when known before the write.
    unit: Option<String>,
    /// Which changes this write carries (indexes into the group's changes).
    fields: Vec<FieldPath>,
}

/// One pair's accepted operations.
struct Group<'p> {
    ops: Vec<usize>,
    first: &'p Op,
}

/// The result of one group's writes.
#[derive(Default)]
struct Written {
    ids: PerSide<Option<String>>,
    revs: PerSide<Option<String>>,
    /// Fields written per side.
    fields: PerSide<Vec<FieldPath>>,
    failed: Option<Outcome>,
    wrote: bool,
}

fn card_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What an apply executes.
pub struct ApplyInput<'a> {
    pub plan: &'a Plan,
    /// One per operation of `plan`.
    pub decisions: &'a [Decision],
    /// What the plan was made from (for the new bases).
    pub snapshot: &'a Snapshot,
    pub fields: &'a FieldSet,
    /// Apply despite the plan's refusals.
    pub force: bool,
    /// The plan's [`super::plan::fingerprint`], stored with the links.
    pub fingerprint: &'a str,
}

/// Execute the accepted operations of a plan.
pub fn apply(
    input: &ApplyInput<'_>,
    stores: &mut PerSide<Box<dyn Store>>,
    state: &mut State,
) -> Result<Report, ApplyError> {
    apply_with_progress(input, stores, state, &mut |_, _| {})
}

/// [`apply`], telling `progress(writes done, writes in all)` after each
/// store write.
pub fn apply_with_progress(
    input: &ApplyInput<'_>,
    stores: &mut PerSide<Box<dyn Store>>,
    state: &mut State,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Report, ApplyError> {
    let ApplyInput {
        plan,
        decisions,
        snapshot,
        fields,
        force,
        fingerprint,
    } = *input;
    let contacts =
        |side: Side, id: &str| snapshot.sides.get(side).get(id).map(|r| r.contact.clone());
    if !force && !plan.refusals.is_empty() {
        return Err(ApplyError::Refused(plan.refusals.clone()));
    }
    let mut report = Report {
        apply_id: None,
        outcomes: vec![Outcome::Skipped; plan.operations.len()],
        notes: Vec::new(),
    };
    // Group the accepted ops by pair.
    let mut by_pair: BTreeMap<(Option<String>, Option<String>), usize> = BTreeMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (i, op) in plan.operations.iter().enumerate() {
        let accepted = decisions.get(i).is_some_and(|d| d.accept && d.resolves(op));
        if !accepted {
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
    if groups.is_empty() {
        // Nothing to write: only what the state learned (no journal entry,
        // so `undo` still reverts the last real apply).
        let tx = state.transaction()?;
        put_refreshes(&tx, None, &plan.refreshes)?;
        tx.set_meta("fingerprint", fingerprint)?;
        tx.commit()?;
        return Ok(report);
    }
    // What each group writes.
    let mut intents: Vec<Intent> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let mut patches: PerSide<Patch> = PerSide::default();
        let mut touched: PerSide<Vec<FieldPath>> = PerSide::default();
        let mut create: Option<(Side, Patch, bool)> = None;
        for &i in &group.ops {
            let op = &plan.operations[i];
            let decision = &decisions[i];
            match op.kind {
                OpKind::Create => {
                    let to = if op.target == Target::Left {
                        Side::Left
                    } else {
                        Side::Right
                    };
                    let mut patch = Patch::default();
                    for c in &op.changes {
                        patch
                            .fields
                            .push((c.field, c.value_for(to).map(str::to_string)));
                    }
                    if let Some(StampWith::Id(v)) = op.stamp.get(to) {
                        patch.stamp = Some(v.clone());
                    }
                    let stamp_source = *op.stamp.get(to.opposite()) == Some(StampWith::Created);
                    create = Some((to, patch, stamp_source));
                }
                OpKind::Delete => {
                    for side in Side::BOTH {
                        if op.target.includes(side)
                            && let (Some(id), Some(rev)) = (op.id_on(side), op.revs.get(side))
                        {
                            intents.push(Intent {
                                group: g,
                                side,
                                action: Action::Delete {
                                    id: id.to_string(),
                                    rev: rev.clone(),
                                },
                                unit: Some(stores.get(side).unit_of(id)),
                                fields: Vec::new(),
                            });
                        }
                    }
                }
                OpKind::Unlink => {}
                OpKind::Update | OpKind::Link | OpKind::Conflict => {
                    for c in &op.changes {
                        let to = match c.to {
                            Some(to) => to,
                            None => match decision.winner_for(c.field) {
                                Some(w) => w.opposite(),
                                None => continue,
                            },
                        };
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
            }
        }
        if let Some((to, mut patch, stamp_source)) = create {
            let store = stores.get(to);
            patch.uid = Some(card_uid());
            let unit = store.create_unit(&patch);
            let from = to.opposite();
            let fields_written = patch.fields.iter().map(|(f, _)| *f).collect();
            intents.push(Intent {
                group: g,
                side: to,
                action: Action::Create(patch),
                unit,
                fields: fields_written,
            });
            if stamp_source
                && let (Some(id), Some(rev)) = (group.first.id_on(from), group.first.revs.get(from))
            {
                intents.push(Intent {
                    group: g,
                    side: from,
                    action: Action::StampAfterCreate {
                        id: id.to_string(),
                        rev: rev.clone(),
                    },
                    unit: Some(stores.get(from).unit_of(id)),
                    fields: Vec::new(),
                });
            }
        }
        for side in Side::BOTH {
            let patch = std::mem::take(patches.get_mut(side));
            if patch.fields.is_empty() && patch.stamp.is_none() {
                continue;
            }
            let (Some(id), Some(rev)) = (group.first.id_on(side), group.first.revs.get(side))
            else {
                continue;
            };
            intents.push(Intent {
                group: g,
                side,
                action: Action::Update {
                    id: id.to_string(),
                    rev: rev.clone(),
                    patch,
                },
                unit: Some(stores.get(side).unit_of(id)),
                fields: std::mem::take(touched.get_mut(side)),
            });
        }
    }

    // 1. Journal what every write will replace.
    let mut saved: Vec<(Side, String, Option<Vec<u8>>)> = Vec::new();
    let mut seen: std::collections::HashSet<(Side, String)> = std::collections::HashSet::new();
    let summary = summary_text(plan, decisions);
    let apply_id = {
        let tx = state.transaction()?;
        let apply_id = tx.begin_apply(&summary)?;
        for intent in &intents {
            let Some(unit) = &intent.unit else { continue };
            if !seen.insert((intent.side, unit.clone())) {
                continue;
            }
            let before = stores.get(intent.side).save_unit(unit)?;
            tx.journal_unit(apply_id, intent.side, unit, before.as_deref())?;
            saved.push((intent.side, unit.clone(), before));
        }
        tx.commit()?;
        apply_id
    };
    report.apply_id = Some(apply_id);

    // 2. Write.
    for side in Side::BOTH {
        stores.get_mut(side).begin()?;
    }
    let mut written: Vec<Written> = (0..groups.len()).map(|_| Written::default()).collect();
    let mut late_units: Vec<(Side, String)> = Vec::new();
    let total = intents.len();
    for (n, intent) in intents.into_iter().enumerate() {
        progress(n, total);
        let w = &mut written[intent.group];
        if w.failed.is_some() {
            continue;
        }
        // What the record created on the other side is known by (its
        // card's UID, else its id), for a stamp after the create.
        let mut created_identity = match &intent.action {
            Action::StampAfterCreate { .. } => {
                w.ids.get(intent.side.opposite()).as_deref().map(|id| {
                    stores
                        .get(intent.side.opposite())
                        .read(id)
                        .map_or_else(|_| id.to_string(), |r| identity(&r))
                })
            }
            _ => None,
        };
        let store = stores.get_mut(intent.side);
        let result = match intent.action {
            Action::Create(patch) => store.create(&patch).map(|(id, rev)| {
                if intent.unit.is_none() {
                    late_units.push((intent.side, store.unit_of(&id)));
                }
                *w.ids.get_mut(intent.side) = Some(id);
                *w.revs.get_mut(intent.side) = Some(rev);
                w.fields
                    .get_mut(intent.side)
                    .extend(intent.fields.iter().copied());
            }),
            Action::Update { id, rev, patch } => store.update(&id, &rev, &patch).map(|rev| {
                *w.revs.get_mut(intent.side) = Some(rev);
                w.fields
                    .get_mut(intent.side)
                    .extend(intent.fields.iter().copied());
            }),
            Action::Delete { id, rev } => store.delete(&id, &rev).map(|()| {
                *w.revs.get_mut(intent.side) = None;
            }),
            Action::StampAfterCreate { id, rev } => {
                let patch = Patch {
                    stamp: created_identity.take(),
                    ..Patch::default()
                };
                store.update(&id, &rev, &patch).map(|rev| {
                    *w.revs.get_mut(intent.side) = Some(rev);
                })
            }
        };
        count_write();
        match result {
            Ok(()) => w.wrote = true,
            Err(StoreError::Changed { .. } | StoreError::Missing { .. }) => {
                w.failed = Some(Outcome::ChangedSincePlan)
            }
            Err(e) => w.failed = Some(Outcome::Failed(e.to_string())),
        }
    }
    let finish =
        |state: &mut State, stores: &mut PerSide<Box<dyn Store>>| -> Result<(), ApplyError> {
            // Units known only after the write (rows the CRM numbered).
            if !late_units.is_empty() {
                let tx = state.transaction()?;
                for (side, unit) in &late_units {
                    tx.journal_unit(apply_id, *side, unit, None)?;
                }
                tx.commit()?;
            }
            for side in Side::BOTH {
                stores.get_mut(side).commit()?;
            }
            Ok(())
        };
    if let Err(e) = finish(state, stores) {
        rollback(stores, &saved, &late_units);
        return Err(e);
    }

    // 3. The new links, and the apply marked done.
    let mut all_of_pair: HashMap<(Option<String>, Option<String>), Vec<usize>> = HashMap::new();
    for (i, op) in plan.operations.iter().enumerate() {
        all_of_pair.entry(op.pair_key()).or_default().push(i);
    }
    let result = (|| -> Result<(), ApplyError> {
        let tx = state.transaction()?;
        // Journal order: the units saved before the writes, then the late ones.
        let units = saved
            .iter()
            .map(|(side, unit, _)| (side, unit))
            .chain(late_units.iter().map(|(side, unit)| (side, unit)));
        for (seq, (side, unit)) in units.enumerate() {
            let after = unit_hash(stores.get(*side).as_ref(), unit)?;
            tx.set_after_hash(apply_id, seq as i64 + 1, after.as_deref())?;
        }
        for (g, group) in groups.iter().enumerate() {
            let w = &written[g];
            let ops: Vec<&Op> = group.ops.iter().map(|&i| &plan.operations[i]).collect();
            // The pair's operations not accepted: their fields stay to do.
            let held: Vec<&Op> = all_of_pair
                .get(&group.first.pair_key())
                .into_iter()
                .flatten()
                .filter(|i| !group.ops.contains(i))
                .map(|&i| &plan.operations[i])
                .collect();
            if let Some(link) = link_after(&ops, &held, w, &contacts, fields) {
                match link {
                    LinkChange::Put(link) => {
                        tx.put_link(Some(apply_id), &link)?;
                    }
                    LinkChange::Drop(id) => tx.drop_link(Some(apply_id), id)?,
                }
            }
        }
        put_refreshes(&tx, Some(apply_id), &plan.refreshes)?;
        tx.set_meta("fingerprint", fingerprint)?;
        tx.finish_apply(apply_id, ApplyStatus::Done)?;
        tx.commit()?;
        Ok(())
    })();
    if let Err(e) = result {
        rollback(stores, &saved, &late_units);
        return Err(e);
    }
    for (g, group) in groups.iter().enumerate() {
        let w = &written[g];
        for &i in &group.ops {
            report.outcomes[i] = match &w.failed {
                Some(o) => o.clone(),
                None => Outcome::Done,
            };
        }
    }
    Ok(report)
}

/// Put every saved unit back (the state database failed: abort the apply).
fn rollback(
    stores: &mut PerSide<Box<dyn Store>>,
    saved: &[(Side, String, Option<Vec<u8>>)],
    late: &[(Side, String)],
) {
    for side in Side::BOTH {
        let _ = stores.get_mut(side).rollback();
    }
    for (side, unit) in late.iter().rev() {
        let _ = stores.get_mut(*side).restore_unit(unit, None);
    }
    for (side, unit, before) in saved.iter().rev() {
        let _ = stores.get_mut(*side).restore_unit(unit, before.as_deref());
    }
}

enum LinkChange {
    Put(Link),
    Drop(i64),
}

/// The link row after a group's writes.
fn link_after(
    ops: &[&Op],
    held: &[&Op],
    w: &Written,
    contacts: &dyn Fn(Side, &str) -> Option<Contact>,
    fields: &FieldSet,
) -> Option<LinkChange> {
    let first = ops[0];
    let old = first.link.clone();
    let main = ops
        .iter()
        .find(|o| o.kind != OpKind::Conflict)
        .copied()
        .unwrap_or(first);
    let link_id = old.as_ref().map_or(0, |l| l.link_id);
    match &main.after {
        LinkAfter::Drop => {
            if w.failed.is_some() {
                return None;
            }
            return old.map(|l| LinkChange::Drop(l.link_id));
        }
        LinkAfter::Tombstone { gone, reason } => {
            let old = old?;
            let mut ids = old.ids.clone();
            if let Some(gone) = gone {
                *ids.get_mut(*gone) = None;
            }
            return Some(LinkChange::Put(Link {
                ids,
                revs: PerSide::default(),
                tombstone: Some(reason.clone()),
                ..old
            }));
        }
        LinkAfter::Linked => {}
    }
    // A create that failed leaves nothing to link.
    let mut ids = PerSide::new(first.left_id.clone(), first.right_id.clone());
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
    // The values each side holds now.
    let mut now: PerSide<Contact> = PerSide::default();
    for side in Side::BOTH {
        let id = ids.get(side).as_deref().unwrap_or("");
        let mut c = if w.ids.get(side).is_some() {
            Contact::default()
        } else {
            contacts(side, id).unwrap_or_default()
        };
        for op in ops {
            for ch in &op.changes {
                if w.fields.get(side).contains(&ch.field) {
                    c.set(&ch.field, ch.value_for(side));
                }
            }
        }
        *now.get_mut(side) = c;
    }
    // Fields held back or not written stay to do: their base stays.
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
                .any(|s| w.fields.get(s).contains(&ch.field));
            if !written {
                pending.push(ch.field);
            }
        }
    }
    let old_base = old.as_ref().map(|l| l.base.clone()).unwrap_or_default();
    let base = if old.is_none() && !pending.is_empty() {
        // A new link: a field not agreed on has no base yet.
        let mut b = settled_base(
            fields,
            &Base::default(),
            PerSide::new(&now.left, &now.right),
            &[],
        );
        for p in &pending {
            b.set(*p, BaseValue::Unknown);
        }
        b
    } else {
        settled_base(
            fields,
            &old_base,
            PerSide::new(&now.left, &now.right),
            &pending,
        )
    };
    let revs = if pending.is_empty() && w.failed.is_none() {
        PerSide::new(
            w.revs.left.clone().or_else(|| first.revs.left.clone()),
            w.revs.right.clone().or_else(|| first.revs.right.clone()),
        )
    } else {
        PerSide::default()
    };
    Some(LinkChange::Put(Link {
        link_id,
        ids,
        revs,
        base,
        created_on,
        tombstone: None,
    }))
}

fn summary_text(plan: &Plan, decisions: &[Decision]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (op, d) in plan.operations.iter().zip(decisions) {
        if d.accept && d.resolves(op) {
            *counts.entry(op.kind.as_str()).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- recovery and undo ------------------------------------------------------

/// Apply what the state learned without a store write.
fn put_refreshes(
    tx: &super::state::StateTx<'_>,
    apply_id: Option<i64>,
    refreshes: &[Refresh],
) -> Result<(), StateError> {
    for refresh in refreshes {
        match refresh {
            Refresh::Put(link) => {
                tx.put_link(apply_id, link)?;
            }
            Refresh::Drop(id) => tx.drop_link(apply_id, *id)?,
        }
    }
    Ok(())
}

fn unit_hash(store: &dyn Store, unit: &str) -> Result<Option<String>, StoreError> {
    Ok(store.save_unit(unit)?.as_deref().map(hash_revision))
}

/// Roll back every apply that did not finish (a crash, a kill): put each
/// journaled unit back as it was. Returns what was rolled back, for a message.
pub fn recover(
    state: &mut State,
    stores: &mut PerSide<Box<dyn Store>>,
) -> Result<Vec<String>, ApplyError> {
    let mut notes = Vec::new();
    for apply in state.applies()? {
        if !matches!(apply.status, ApplyStatus::Running | ApplyStatus::Undoing) {
            continue;
        }
        let entries = state.journal(apply.apply_id)?;
        for e in entries.iter().rev() {
            let store = stores.get_mut(e.side);
            let now = store.save_unit(&e.unit)?;
            if now != e.before {
                store.restore_unit(&e.unit, e.before.as_deref())?;
            }
        }
        let undo_rows = link_undo_rev(state, apply.apply_id)?;
        let tx = state.transaction()?;
        if apply.status == ApplyStatus::Undoing {
            for (link_id, old) in undo_rows {
                tx.restore_link(link_id, old.as_ref())?;
            }
            tx.finish_apply(apply.apply_id, ApplyStatus::Undone)?;
        } else {
            tx.finish_apply(apply.apply_id, ApplyStatus::RolledBack)?;
        }
        tx.commit()?;
        notes.push(format!(
            "an earlier apply (#{}, started {}) did not finish; {} journaled record(s) were put back as they were",
            apply.apply_id,
            apply.started,
            entries.len()
        ));
    }
    Ok(notes)
}

fn link_undo_rev(state: &State, apply_id: i64) -> Result<Vec<(i64, Option<Link>)>, StateError> {
    let mut rows = state.link_undo(apply_id)?;
    rows.reverse();
    Ok(rows)
}

/// Revert the last finished apply: every unit it wrote goes back to what the
/// journal saved, unless it changed since (then it is left alone and named).
pub fn undo(state: &mut State, stores: &mut PerSide<Box<dyn Store>>) -> Result<Report, ApplyError> {
    let Some(apply) = state
        .applies()?
        .into_iter()
        .rev()
        .find(|a| a.status == ApplyStatus::Done)
    else {
        return Err(ApplyError::NothingToUndo);
    };
    let mut report = Report {
        apply_id: Some(apply.apply_id),
        ..Report::default()
    };
    {
        let tx = state.transaction()?;
        tx.finish_apply(apply.apply_id, ApplyStatus::Undoing)?;
        tx.commit()?;
    }
    let entries = state.journal(apply.apply_id)?;
    let mut restored = 0;
    for e in entries.iter().rev() {
        let store = stores.get_mut(e.side);
        let now = unit_hash(store.as_ref(), &e.unit)?;
        if now == e.after_hash {
            store.restore_unit(&e.unit, e.before.as_deref())?;
            restored += 1;
        } else if now != e.before.as_deref().map(hash_revision) {
            report.notes.push(format!(
                "{} {}: changed since that apply; left as it is",
                e.side, e.unit
            ));
        }
    }
    let undo_rows = link_undo_rev(state, apply.apply_id)?;
    let tx = state.transaction()?;
    for (link_id, old) in undo_rows {
        tx.restore_link(link_id, old.as_ref())?;
    }
    tx.finish_apply(apply.apply_id, ApplyStatus::Undone)?;
    tx.set_meta("fingerprint", "")?;
    tx.commit()?;
    report.notes.insert(
        0,
        format!(
            "undid apply #{} of {} ({}): {restored} record(s) put back",
            apply.apply_id, apply.started, apply.summary
        ),
    );
    Ok(report)
}
