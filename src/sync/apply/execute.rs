//! Executing the intents, one store write at a time: each conditional on
//! the revision the plan read. A failed write is collected as its group's
//! outcome (the group's other writes are skipped) and the run goes on; only
//! a store that cannot begin its transaction stops it here.

use super::intents::{Action, Intent};
use super::types::ApplyError;
use crate::model::contact::FieldPath;
use crate::model::{PerSide, Side};
use crate::store::vdir::file_name_for_uid;
use crate::store::{Patch, Store, StoreError};
use crate::sync::journal::{Journaled, count_write};
use crate::sync::plan::identity;
use crate::sync::state::State;

/// The result of one group's writes.
#[derive(Default)]
pub(super) struct Written {
    /// The ids of the records created, per side.
    pub ids: PerSide<Option<String>>,
    /// The UIDs of the cards created, per side.
    pub uids: PerSide<Option<String>>,
    /// The revisions the writes left, per side.
    pub revs: PerSide<Option<String>>,
    /// Fields written per side.
    pub fields: PerSide<Vec<FieldPath>>,
    /// The first write that failed; the group's later writes were skipped.
    pub failed: Option<StoreError>,
    pub wrote: bool,
}

/// Run every write in order (inside each store's transaction, which the
/// caller commits), telling `progress(writes done, writes in all)` before
/// each; the journal follows each write (units that creates made, the
/// hash a card store's write left). Returns one [`Written`] per group; an
/// error (a store that cannot begin, the state database) stops the run.
pub(super) fn write_all(
    stores: &mut PerSide<Box<dyn Store>>,
    state: &mut State,
    intents: Vec<Intent>,
    groups: usize,
    journal: &mut Journaled,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Written>, ApplyError> {
    for side in Side::BOTH {
        stores.get_mut(side).begin()?;
    }
    let mut written: Vec<Written> = (0..groups).map(|_| Written::default()).collect();
    let total = intents.len();
    for (n, intent) in intents.into_iter().enumerate() {
        progress(n, total);
        let w = &mut written[intent.group];
        if w.failed.is_some() {
            continue;
        }
        let deletes = matches!(intent.action, Action::Delete { .. });
        journal.before_write(state, stores, intent.side, intent.unit.as_deref(), deletes)?;
        let result = write(stores, intent, w, journal);
        journal.after_write();
        count_write();
        match result {
            Ok(()) => w.wrote = true,
            Err(e) => w.failed = Some(e),
        }
    }
    Ok(written)
}

/// One write, and what it leaves in its group's `w`.
fn write(
    stores: &mut PerSide<Box<dyn Store>>,
    intent: Intent,
    w: &mut Written,
    journal: &mut Journaled,
) -> Result<(), StoreError> {
    let side = intent.side;
    let created_identity = match &intent.action {
        Action::StampAfterCreate { .. } => created_identity(stores, side.opposite(), w),
        _ => None,
    };
    let store = stores.get_mut(side);
    match intent.action {
        Action::Create(patch) => {
            let (id, rev) = store.create(&patch)?;
            if intent.unit.is_none() {
                journal.created(side, store.unit_of(&id));
            }
            // A card store names the card after the UID it was given (a
            // store without UIDs, or a card that had to take another,
            // leaves it unknown until it is read).
            *w.uids.get_mut(side) = patch
                .uid
                .clone()
                .filter(|uid| id == *uid || id == file_name_for_uid(uid));
            *w.ids.get_mut(side) = Some(id);
            *w.revs.get_mut(side) = Some(rev);
            w.fields.get_mut(side).extend(intent.fields);
        }
        Action::Update { id, rev, patch } => {
            let rev = store.update(&id, &rev, &patch)?;
            *w.revs.get_mut(side) = Some(rev);
            w.fields.get_mut(side).extend(intent.fields);
        }
        Action::Delete { id, rev } => {
            store.delete(&id, &rev)?;
            *w.revs.get_mut(side) = None;
        }
        Action::StampAfterCreate { id, rev } => {
            let patch = Patch {
                stamp: created_identity,
                ..Patch::default()
            };
            let rev = store.update(&id, &rev, &patch)?;
            *w.revs.get_mut(side) = Some(rev);
        }
    }
    Ok(())
}

/// What the record the group created on `side` is known by (its card's UID,
/// else its id), for the stamp into the record it was created from.
fn created_identity(stores: &PerSide<Box<dyn Store>>, side: Side, w: &Written) -> Option<String> {
    let id = w.ids.get(side).as_deref()?;
    Some(
        stores
            .get(side)
            .read(id)
            .map_or_else(|_| id.to_string(), |r| identity(&r)),
    )
}
