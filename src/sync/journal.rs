//! The journal: before an apply writes, every unit (card file, row) a write
//! will replace is saved with its exact bytes, and after it, each unit's hash.
//! From it a failed apply is rolled back, an interrupted one recovered
//! ([`recover`]), and the last finished one undone ([`undo`]), for every unit
//! nobody changed since.

use std::collections::HashSet;

use super::apply::types::{ApplyError, Report};
use super::state::{ApplyStatus, Link, State, StateError, StateTx};
use crate::model::record::hash_revision;
use crate::model::{PerSide, Side};
use crate::store::{Store, StoreError};

/// What one apply journaled: the units saved before its writes (in journal
/// order) and the units its creates made, known only after them.
pub(in crate::sync) struct Journaled {
    pub(in crate::sync) apply_id: i64,
    saved: Vec<(Side, String, Option<Vec<u8>>)>,
    created: Vec<(Side, String)>,
}

impl Journaled {
    /// In one state transaction: the apply begins (`running`, with its
    /// summary) and every unit in `units` is saved once, as it is now.
    pub(in crate::sync) fn begin<'u>(
        state: &mut State,
        stores: &PerSide<Box<dyn Store>>,
        summary: &str,
        units: impl IntoIterator<Item = (Side, &'u str)>,
    ) -> Result<Journaled, ApplyError> {
        let mut saved = Vec::new();
        let mut seen: HashSet<(Side, String)> = HashSet::new();
        let tx = state.transaction()?;
        let apply_id = tx.begin_apply(summary)?;
        for (side, unit) in units {
            if !seen.insert((side, unit.to_string())) {
                continue;
            }
            let before = stores.get(side).save_unit(unit)?;
            tx.journal_unit(apply_id, side, unit, before.as_deref())?;
            saved.push((side, unit.to_string(), before));
        }
        tx.commit()?;
        Ok(Journaled {
            apply_id,
            saved,
            created: Vec::new(),
        })
    }

    /// A unit a create made that was not known before it (a row the CRM
    /// numbered); journaled by [`Journaled::journal_created`].
    pub(in crate::sync) fn created(&mut self, side: Side, unit: String) {
        self.created.push((side, unit));
    }

    /// Journal the units known only after the writes (as not existing before).
    pub(in crate::sync) fn journal_created(&self, state: &mut State) -> Result<(), StateError> {
        if self.created.is_empty() {
            return Ok(());
        }
        let tx = state.transaction()?;
        for (side, unit) in &self.created {
            tx.journal_unit(self.apply_id, *side, unit, None)?;
        }
        tx.commit()
    }

    /// Each unit's hash after the writes, for `undo` to see what changed
    /// since.
    pub(in crate::sync) fn record_after(
        &self,
        tx: &StateTx<'_>,
        stores: &PerSide<Box<dyn Store>>,
    ) -> Result<(), ApplyError> {
        // Journal order: the units saved before the writes, then the created ones.
        let units = self
            .saved
            .iter()
            .map(|(side, unit, _)| (side, unit))
            .chain(self.created.iter().map(|(side, unit)| (side, unit)));
        for (seq, (side, unit)) in units.enumerate() {
            let after = unit_hash(stores.get(*side).as_ref(), unit)?;
            tx.set_after_hash(self.apply_id, seq as i64 + 1, after.as_deref())?;
        }
        Ok(())
    }

    /// Put every saved unit back (the state database failed: abort the apply).
    pub(in crate::sync) fn rollback(&self, stores: &mut PerSide<Box<dyn Store>>) {
        for side in Side::BOTH {
            let _ = stores.get_mut(side).rollback();
        }
        for (side, unit) in self.created.iter().rev() {
            let _ = stores.get_mut(*side).restore_unit(unit, None);
        }
        for (side, unit, before) in self.saved.iter().rev() {
            let _ = stores.get_mut(*side).restore_unit(unit, before.as_deref());
        }
    }
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
