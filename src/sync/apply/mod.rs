//! Apply: execute the accepted operations of a plan, with a journal.
//!
//! Order of work, so that a crash at any point can be rolled back:
//! 1. one state transaction journals every unit (card file, row) a write
//!    will replace, with its exact bytes, and marks the apply `running`
//!    (`crate::sync::journal`);
//! 2. the stores are written (each write conditional on the revision the
//!    plan read; SQL stores inside one transaction), a record's failure
//!    collected for the report (`execute.rs`); a card store holds its
//!    writes back (temporary files, or a draft of a one-file book) until
//!    the flush after the last write, which hands the journal the hashes of
//!    the whole batch (one state commit) before the first of them lands,
//!    and refuses a write whose record changed meanwhile (that group's
//!    outcome: changed since plan, its fields not recorded as written);
//! 3. one state transaction records every unit's hash after the writes,
//!    then the stores commit, then one state transaction records the new
//!    links and marks the apply `done` (`links.rs`).
//!
//! A failure of the state or of a store's commit puts back what the apply
//! wrote. A run that finds an apply still `running` does the same
//! ([`crate::sync::journal::recover`]), and `undo` for the last `done`
//! apply: each puts back only the units that still hold abgleich's write,
//! and names the others.
//!
//! What to write where comes first: the plan and the decisions become
//! intents, grouped per pair (`intents.rs`).

mod execute;
mod intents;
mod links;
mod preview;
pub(in crate::sync) mod types;

pub use super::decisions::{Decision, default_decisions};
pub use preview::{Preview, Previews, WriteKind, preview};
pub use types::{ApplyError, DamagedJournal, JournalDamage, Outcome, Report};
// Recovery and undo live with the journal; their callers know them here.
pub use super::journal::{recover, undo};

use self::execute::Written;
use self::intents::Group;
use super::fields::FieldSet;
use super::journal::{Journaled, count_write};
use super::plan::{Plan, refusals};
use super::snapshot::Snapshot;
use super::state::{ApplyStatus, State, StateError};
use crate::model::{PerSide, Side};
use crate::store::{Store, StoreError};
use std::sync::Arc;

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
        plan, decisions, ..
    } = *input;
    if let Err(refused) = refusals::check(plan, input.force) {
        return Err(ApplyError::Refused(refused.reasons.to_vec()));
    }
    let groups = intents::groups(plan, decisions);
    // The records the groups and the refreshes link whose ids last only
    // once their store is written: the apply writes that store too (and
    // journals it).
    let settle = intents::to_settle(plan, &groups, stores);
    if groups.is_empty() && settle.left.is_empty() && settle.right.is_empty() {
        record_without_writes(state, input)?;
        return Ok(Report {
            apply_id: None,
            outcomes: vec![Outcome::Skipped; plan.operations.len()],
            notes: Vec::new(),
        });
    }
    let mut intents = intents::intents(plan, decisions, &groups, stores, input.fields);
    // 0. Every store the intents write to can be written at all.
    for side in Side::BOTH {
        if intents.iter().any(|i| i.side == side) {
            let store = stores.get(side);
            store
                .check_writable()
                .map_err(|e| ApplyError::NotWritable(store.name().to_string(), e))?;
        }
    }
    let settle_units: Vec<(Side, String)> = Side::BOTH
        .into_iter()
        .filter_map(|side| {
            let id = settle.get(side).first()?;
            Some((side, stores.get(side).unit_of(id)))
        })
        .collect();
    // 1. Journal what every write will replace.
    let summary = intents::summary_text(plan, decisions);
    let units = (intents.iter().filter_map(intents::Intent::journaled)).chain(
        settle_units
            .iter()
            .map(|(side, unit)| (*side, unit.as_str())),
    );
    let mut journal = Journaled::begin(state, stores, &summary, units)?;
    // 2. Write; 3. commit the writes, then the new links and the apply
    // marked done. When the state or a commit fails, what the apply wrote
    // is put back.
    let written = execute::begin(stores, &mut intents, &settle)
        .and_then(|()| {
            execute::write_all(
                stores,
                state,
                intents,
                groups.len(),
                (plan, input.fields),
                &mut journal,
                progress,
            )
        })
        .and_then(|written| commit_writes(state, stores, &mut journal).map(|()| written))
        .and_then(|written| {
            record_links(state, stores, input, &groups, &written, &journal).map(|()| written)
        });
    let written = match written {
        Ok(written) => written,
        Err(e) => {
            let why = format!("not done: {}", crate::model::error::describe(&e));
            journal.rollback(stores, state, &why);
            return Err(e);
        }
    };
    Ok(Report {
        apply_id: Some(journal.apply_id),
        outcomes: outcomes(plan, &groups, written),
        notes: Vec::new(),
    })
}

/// Nothing to write: only what the state learned (no journal entry, so
/// `undo` still reverts the last real apply).
fn record_without_writes(state: &mut State, input: &ApplyInput<'_>) -> Result<(), StateError> {
    let tx = state.transaction()?;
    links::put_refreshes(&tx, None, &input.plan.refreshes)?;
    tx.set_meta("fingerprint", input.fingerprint)?;
    tx.commit()
}

/// Make the writes permanent: first journal the units known only after
/// them (rows the CRM numbered) and every unit's hash after the writes,
/// then commit each store's transaction.
fn commit_writes(
    state: &mut State,
    stores: &mut PerSide<Box<dyn Store>>,
    journal: &mut Journaled,
) -> Result<(), ApplyError> {
    journal.before_commit(state, stores)?;
    for side in Side::BOTH {
        let store = stores.get_mut(side);
        store.commit().map_err(|e| match e {
            StoreError::Sql(_) | StoreError::Server { .. } | StoreError::Constraint { .. }
                if store.writes_at_commit() =>
            {
                ApplyError::CommitRefused(store.name().to_string(), Box::new(e))
            }
            e => ApplyError::Store(e),
        })?;
    }
    // For the crash hook the commit is a write too: a crash right after it
    // leaves committed rows and an apply not yet done.
    count_write();
    Ok(())
}

/// In one state transaction: the links the writes leave, the plan's
/// refreshes, the links of records the writes gave a new id moved to it,
/// the fingerprint, and the apply marked done.
fn record_links(
    state: &mut State,
    stores: &PerSide<Box<dyn Store>>,
    input: &ApplyInput<'_>,
    groups: &[Group<'_>],
    written: &[Written],
    journal: &Journaled,
) -> Result<(), ApplyError> {
    let apply_id = journal.apply_id;
    let tx = state.transaction()?;
    let ApplyInput {
        plan,
        snapshot,
        fields,
        ..
    } = *input;
    links::put_links(&tx, apply_id, plan, groups, written, snapshot, fields)?;
    // What was written is known: its version tokens go with the links, so
    // the next plan does not read those records again.
    for side in Side::BOTH {
        let done: Vec<(&str, &str)> = (groups.iter().zip(written))
            .filter(|(_, w)| w.failed.is_none())
            .filter_map(|(g, w)| {
                let rev = w.revs.get(side).as_deref()?;
                let id = w.ids.get(side).as_deref().or(g.first.id_on(side))?;
                Some((id, rev))
            })
            .collect();
        let ids: Vec<&str> = done.iter().map(|(id, _)| *id).collect();
        let versions = stores.get(side).written_versions(&ids);
        for ((id, rev), version) in done.iter().zip(versions) {
            if let Some(version) = version {
                tx.put_version(side, id, &version, rev)?;
            }
        }
    }
    links::put_refreshes(&tx, Some(apply_id), &plan.refreshes)?;
    for side in Side::BOTH {
        links::follow_renames(&tx, apply_id, side, &stores.get(side).renamed())?;
    }
    tx.set_meta("fingerprint", input.fingerprint)?;
    tx.finish_apply(apply_id, ApplyStatus::Done)?;
    tx.commit()?;
    Ok(())
}

/// Each operation's outcome, in plan order: an accepted one shares its
/// group's; the others were skipped. A group is done when every write
/// landed, written with a note when a write failed after one had landed
/// (the contact is written and linked; the rest waits for the next plan),
/// else its first failure.
fn outcomes(plan: &Plan, groups: &[Group<'_>], written: Vec<Written>) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Skipped; plan.operations.len()];
    for (group, w) in groups.iter().zip(written) {
        let outcome = match (w.failed.map(|e| *e), w.wrote) {
            (None, _) => Outcome::Done,
            (Some(error), true) => Outcome::Noted(Arc::new(error)),
            (Some(StoreError::Changed { .. } | StoreError::Missing { .. }), false) => {
                Outcome::ChangedSincePlan
            }
            (Some(error), false) => Outcome::Failed(Arc::new(error)),
        };
        for &i in &group.ops {
            outcomes[i] = outcome.clone();
        }
    }
    outcomes
}
