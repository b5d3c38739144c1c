//! The journal: before an apply writes, every unit (card file, row) a write
//! will replace is saved with its exact bytes. A card store's writes are not
//! in a transaction, so the hashes of what a batch of them puts in place are
//! recorded (one state commit) before the first of them lands (the
//! write-ahead hook of [`crate::store::files`]); before the stores commit,
//! every row's hash after the writes is recorded (as its transaction holds
//! it).
//! From it a failed apply is rolled back, an interrupted one recovered
//! ([`recover`]), and the last finished one undone ([`undo`]).
//!
//! The rule for all three: a unit is put back only while it holds what
//! abgleich wrote (a hash the journal recorded for it); a unit that changed
//! since is left as it is and named. A unit is put back in place (a row by
//! UPDATE). A journal that cannot be read back is refused before anything
//! is touched; an interrupted undo is finished as an undo.

use foldhash::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::apply::types::{ApplyError, DamagedJournal, JournalDamage, Report, UndoCause};
use super::state::{ApplyRow, ApplyStatus, Link, State, StateError, StateTx};
use crate::model::record::hash_revision;
use crate::model::{PerSide, Side};
use crate::store::{self, Store, StoreError};

/// What the journal records as the hash of a unit that does not exist.
const ABSENT: &str = "-";

/// The state's meta key that says its running applies record the hashes of
/// their writes (set by the first apply that does; a running apply found
/// without it was journaled by an earlier version).
const RECORDS_WRITES: &str = "journal records writes";

/// A unit's hash as the journal records it.
fn hash_text(unit: Option<&[u8]>) -> String {
    unit.map_or_else(|| ABSENT.to_string(), hash_revision)
}

fn unit_hash(store: &dyn Store, unit: &str) -> Result<String, StoreError> {
    Ok(hash_text(store.save_unit(unit)?.as_deref()))
}

/// One journaled unit.
struct Entry {
    seq: i64,
    side: Side,
    unit: String,
    before: Option<Vec<u8>>,
}

/// The hashes each entry may hold after the apply's writes, as recorded.
type Afters = Rc<RefCell<HashMap<i64, Vec<String>>>>;

/// Each journaled unit's entry.
type Seqs = Rc<RefCell<HashMap<(Side, String), i64>>>;

/// Per entry: the hash of its saved before-image, and the bytes that
/// replaced that image when the unit held others right before the write
/// (a one-file book another program wrote meanwhile).
#[derive(Default)]
struct Befores {
    hashes: HashMap<i64, String>,
    rebased: HashMap<i64, Vec<u8>>,
}

/// What one apply journaled: the units saved before its writes (in journal
/// order), the units its creates made, known only after them, and the
/// hashes recorded for them.
pub(in crate::sync) struct Journaled {
    pub(in crate::sync) apply_id: i64,
    entries: Vec<Entry>,
    seqs: Seqs,
    /// Units creates made that are not journaled yet.
    created: Vec<(Side, String)>,
    afters: Afters,
    befores: Rc<RefCell<Befores>>,
    /// The side whose held-back writes are being put in place (what the
    /// write-ahead hook records for).
    flushing: Rc<Cell<Option<Side>>>,
}

impl Journaled {
    /// In one state transaction: the apply begins (`running`, with its
    /// summary) and every unit in `units` is saved once, as it is now.
    /// Then the write-ahead hook is set for the writes that follow (until
    /// [`Journaled::before_commit`], or until this is dropped).
    pub(in crate::sync) fn begin<'u>(
        state: &mut State,
        stores: &PerSide<Box<dyn Store>>,
        summary: &str,
        units: impl IntoIterator<Item = (Side, &'u str)>,
    ) -> Result<Journaled, ApplyError> {
        let tx = state.transaction()?;
        let apply_id = tx.begin_apply(summary)?;
        tx.set_meta(RECORDS_WRITES, "1")?;
        let mut journal = Journaled {
            apply_id,
            entries: Vec::new(),
            seqs: Seqs::default(),
            created: Vec::new(),
            afters: Rc::default(),
            befores: Rc::default(),
            flushing: Rc::default(),
        };
        for (side, unit) in units {
            if journal
                .seqs
                .borrow()
                .contains_key(&(side, unit.to_string()))
            {
                continue;
            }
            let before = stores.get(side).save_unit(unit)?;
            journal.add(&tx, side, unit.to_string(), before)?;
        }
        tx.commit()?;
        let writer = state.journal_writer()?;
        let (flushing, seqs, afters, befores) = (
            journal.flushing.clone(),
            journal.seqs.clone(),
            journal.afters.clone(),
            journal.befores.clone(),
        );
        store::set_write_ahead(Some(Box::new(move |batch: &[store::Landing]| {
            let Some(side) = flushing.get() else {
                return Ok(());
            };
            let seqs = seqs.borrow();
            let seq_of = |l: &store::Landing| seqs.get(&(side, l.unit.clone())).copied();
            let hashes: Vec<(i64, &str)> = batch
                .iter()
                .filter_map(|l| Some((seq_of(l)?, l.hash.as_deref().unwrap_or(ABSENT))))
                .collect();
            let mut befores = befores.borrow_mut();
            // A unit that holds other bytes than saved (another program's
            // write, merged): those are what undo puts back.
            let rebased: Vec<(i64, &[u8])> = batch
                .iter()
                .filter_map(|l| {
                    let (seq, now) = (seq_of(l)?, l.replaces.as_deref()?);
                    let saved = befores.hashes.get(&seq)?;
                    (*saved != hash_text(Some(now))).then_some((seq, now))
                })
                .collect();
            writer
                .add_after_hashes(apply_id, &hashes, &rebased)
                .map_err(|e| StoreError::Journal(Box::new(e)))?;
            for (seq, now) in rebased {
                befores.rebased.insert(seq, now.to_vec());
            }
            let mut afters = afters.borrow_mut();
            for (seq, hash) in hashes {
                afters.entry(seq).or_default().push(hash.to_string());
            }
            Ok(())
        })));
        Ok(journal)
    }

    fn add(
        &mut self,
        tx: &StateTx<'_>,
        side: Side,
        unit: String,
        before: Option<Vec<u8>>,
    ) -> Result<i64, StateError> {
        let seq = tx.journal_unit(self.apply_id, side, &unit, before.as_deref())?;
        self.seqs.borrow_mut().insert((side, unit.clone()), seq);
        (self.befores.borrow_mut().hashes).insert(seq, hash_text(before.as_deref()));
        self.entries.push(Entry {
            seq,
            side,
            unit,
            before,
        });
        Ok(seq)
    }

    /// A unit a create made that was not known before it (a row the CRM
    /// numbered); journaled before the next write or the commit.
    pub(in crate::sync) fn created(&mut self, side: Side, unit: String) {
        self.created.push((side, unit));
    }

    /// Before a store write: the units card stores' creates made (known
    /// only after them) are journaled, so that the batch that puts them in
    /// place finds their entries.
    pub(in crate::sync) fn before_write(
        &mut self,
        state: &mut State,
        stores: &PerSide<Box<dyn Store>>,
    ) -> Result<(), ApplyError> {
        let at_once = |(side, _): &(Side, String)| !stores.get(*side).writes_at_commit();
        if self.created.iter().any(at_once) {
            let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.created)
                .into_iter()
                .partition(at_once);
            self.created = later;
            let tx = state.transaction()?;
            self.journal_created(&tx, stores, now)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The held-back writes of `side` are being put in place (`None`: no
    /// more): the write-ahead hook records their batches for that side.
    pub(in crate::sync) fn flushing(&self, side: Option<Side>) {
        self.flushing.set(side);
    }

    /// Journal units creates made (as not existing before), with their hash.
    fn journal_created(
        &mut self,
        tx: &StateTx<'_>,
        stores: &PerSide<Box<dyn Store>>,
        created: Vec<(Side, String)>,
    ) -> Result<(), ApplyError> {
        for (side, unit) in created {
            if self.seqs.borrow().contains_key(&(side, unit.clone())) {
                continue;
            }
            let after = unit_hash(stores.get(side).as_ref(), &unit)?;
            let seq = self.add(tx, side, unit, None)?;
            tx.set_after_hash(self.apply_id, seq, Some(&after))?;
            self.afters.borrow_mut().insert(seq, vec![after]);
        }
        Ok(())
    }

    /// Right before the stores commit, in one state transaction: the units
    /// creates made are journaled, and every unit's hash after the writes
    /// (an SQL row's as its transaction holds it; a card store's writes
    /// recorded theirs as they went, and a unit none of them wrote keeps its
    /// hash from before) is recorded, so that after
    /// a crash at any later point each unit either holds what abgleich wrote,
    /// or is as it was, or changed since.
    pub(in crate::sync) fn before_commit(
        &mut self,
        state: &mut State,
        stores: &PerSide<Box<dyn Store>>,
    ) -> Result<(), ApplyError> {
        store::set_write_ahead(None);
        let tx = state.transaction()?;
        let created = std::mem::take(&mut self.created);
        self.journal_created(&tx, stores, created)?;
        for e in &self.entries {
            let store = stores.get(e.side).as_ref();
            let after = if store.writes_at_commit() {
                unit_hash(store, &e.unit)?
            } else if self.afters.borrow().contains_key(&e.seq) {
                // A card store's writes recorded what each put in place;
                // what the unit holds now may be another program's write
                // (one abgleich's write was refused for).
                continue;
            } else {
                // Not written: whatever the unit holds now is not abgleich's.
                hash_text(e.before.as_deref())
            };
            tx.set_after_hash(self.apply_id, e.seq, Some(&after))?;
            self.afters
                .borrow_mut()
                .entry(e.seq)
                .or_default()
                .push(after);
        }
        tx.commit()?;
        Ok(())
    }

    /// The apply failed (the state database, a store's commit): drop the
    /// SQL transactions and put back every unit that holds what this apply
    /// wrote. Returns whether all of it is put back (every unit checked, and
    /// each that held this apply's write restored): then the apply is marked
    /// rolled back with `why`; else it stays `running` in the state, and what
    /// could not be put back now is recovered by the next run.
    pub(in crate::sync) fn rollback(
        &self,
        stores: &mut PerSide<Box<dyn Store>>,
        state: &mut State,
        why: &str,
    ) -> bool {
        let clean = self.put_back_now(stores);
        if clean {
            let marked = state.transaction().and_then(|tx| {
                tx.finish_apply(self.apply_id, ApplyStatus::RolledBack)?;
                tx.set_meta(&format!("outcome:{}", self.apply_id), why)?;
                tx.commit()
            });
            return marked.is_ok();
        }
        false
    }

    fn put_back_now(&self, stores: &mut PerSide<Box<dyn Store>>) -> bool {
        store::set_write_ahead(None);
        let mut clean = true;
        for side in Side::BOTH {
            clean &= stores.get_mut(side).rollback().is_ok();
        }
        for (side, unit) in self.created.iter().rev() {
            // Made by this apply and not journaled yet: nobody else knows it.
            clean &= stores.get_mut(*side).restore_unit(unit, None).is_ok();
        }
        let afters = self.afters.borrow();
        let befores = self.befores.borrow();
        for e in self.entries.iter().rev() {
            let before = match befores.rebased.get(&e.seq) {
                Some(rebased) => Some(rebased.as_slice()),
                None => e.before.as_deref(),
            };
            let store = stores.get_mut(e.side);
            let Ok(now) = store.save_unit(&e.unit) else {
                clean = false;
                continue;
            };
            if now.as_deref() == before {
                continue;
            }
            let holds = now.as_deref().map(hash_revision);
            let now = hash_text(now.as_deref());
            if afters.get(&e.seq).is_some_and(|a| a.contains(&now)) {
                clean &= store
                    .restore_unit_if(&e.unit, before, holds.as_deref())
                    .is_ok_and(|put| put);
            }
        }
        clean
    }
}

impl Drop for Journaled {
    fn drop(&mut self) {
        store::set_write_ahead(None);
    }
}

// ---- recovery and undo ---------------------------------------------------------

/// A journal entry as undo and recovery use it, checked.
struct Saved {
    side: Side,
    unit: String,
    before: Option<Vec<u8>>,
    /// The hashes the unit may hold after abgleich's writes; `None`: an
    /// earlier version's running apply, which recorded none (whatever
    /// differs from the saved unit is taken as its write, as it did).
    afters: Option<Vec<String>>,
}

/// What a journaled unit holds now, against what the apply wrote.
enum Holds {
    /// What the journal saved: nothing to put back.
    Saved,
    /// One of the apply's writes: it goes back.
    Written,
    /// Something else: another program changed it since; left alone.
    Changed,
}

impl Saved {
    /// What the unit's stored form `now` is (undo and its forecast decide
    /// by the same rule).
    fn holds(&self, now: Option<&[u8]>) -> Holds {
        if now == self.before.as_deref() {
            return Holds::Saved;
        }
        let now = hash_text(now);
        if self.afters.as_ref().is_none_or(|a| a.contains(&now)) {
            Holds::Written
        } else {
            Holds::Changed
        }
    }
}

/// An apply's journal, read back and checked in full before anything is
/// touched: every entry names a side and a unit its store could put back,
/// every link change reads back.
struct Checked {
    entries: Vec<Saved>,
    links: Vec<(i64, Option<Link>)>,
}

fn damaged(state: &State, apply: &ApplyRow, entry: String, cause: JournalDamage) -> ApplyError {
    ApplyError::DamagedJournal(Box::new(DamagedJournal {
        state: state.path().to_path_buf(),
        apply_id: apply.apply_id,
        entry,
        cause,
    }))
}

fn check(
    state: &State,
    stores: &PerSide<Box<dyn Store>>,
    apply: &ApplyRow,
) -> Result<Checked, ApplyError> {
    let legacy = state.meta(RECORDS_WRITES)?.is_none();
    let mut entries = Vec::new();
    for e in state.journal(apply.apply_id)? {
        let Some(side) = e.side else {
            let entry = format!("journal entry {}", e.seq);
            return Err(damaged(state, apply, entry, JournalDamage::NoSide));
        };
        let entry = format!(
            "journal entry {}, {}",
            e.seq,
            unit_name(stores.get(side).as_ref(), &e.unit)
        );
        stores
            .get(side)
            .check_saved(&e.unit, e.before.as_deref())
            .map_err(|error| damaged(state, apply, entry, JournalDamage::Store(error)))?;
        // Until an apply is done, a missing hash means "nothing written";
        // journals of earlier versions recorded a unit that is gone as none.
        let afters = match (e.after_hash, apply.status) {
            (Some(h), _) => Some(h.split_whitespace().map(str::to_string).collect()),
            (None, ApplyStatus::Running) if legacy => None,
            (None, ApplyStatus::Running) => Some(Vec::new()),
            (None, _) => Some(vec![ABSENT.to_string()]),
        };
        entries.push(Saved {
            side,
            unit: e.unit,
            before: e.before,
            afters,
        });
    }
    let mut links = Vec::new();
    for change in state.link_undo(apply.apply_id)? {
        let old = match change.old {
            None => None,
            Some(Ok(link)) => Some(link),
            Some(Err(_)) => {
                let entry = format!("link change {} (link {})", change.seq, change.link_id);
                return Err(damaged(state, apply, entry, JournalDamage::LinkRow));
            }
        };
        links.push((change.link_id, old));
    }
    // Every record the apply created and the undo removes must lose its
    // link with it.
    let undone: std::collections::HashSet<i64> = links.iter().map(|(id, _)| *id).collect();
    for e in entries
        .iter()
        .filter(|e| e.before.is_none() && !e.unit.is_empty())
    {
        if let Some(link) = state.link_by_id(e.side, &e.unit)?
            && !undone.contains(&link.link_id)
        {
            let record = unit_name(stores.get(e.side).as_ref(), &e.unit);
            let entry = format!("link {}", link.link_id);
            let damage = JournalDamage::LinkLeftBehind {
                link_id: link.link_id,
                record,
            };
            return Err(damaged(state, apply, entry, damage));
        }
    }
    Ok(Checked { entries, links })
}

/// What putting an apply's units back did.
#[derive(Default)]
struct PutBack {
    restored: usize,
    /// What was put back into a store whose writes wait for its commit:
    /// (side, unit, the apply created it), kept instead if the commit fails.
    uncommitted: Vec<(Side, String, bool)>,
    /// Units that changed since abgleich wrote them, left as they are.
    changed: Vec<String>,
    /// Units that hold abgleich's write but could not be put back without
    /// breaking a constraint of their store, kept as they are: (name, the
    /// entry, the store's reason).
    kept: Vec<Kept>,
}

/// A unit kept as the apply left it.
struct Kept {
    name: String,
    /// The apply created it (undoing would have removed it).
    created: bool,
    why: String,
}

/// The reason a store gives for refusing to put a unit back because of a
/// constraint of its own (a UNIQUE value another row holds now, rows of
/// another table that refer to a row abgleich created): the unit can stay
/// as it is while the rest is put back. `None`: any other error, which
/// stops the undo.
fn clash(error: &StoreError) -> Option<String> {
    match error {
        StoreError::Sql(rusqlite::Error::SqliteFailure(e, message))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(message.clone().unwrap_or_else(|| e.to_string()))
        }
        StoreError::Constraint { message, .. } => Some(message.clone()),
        _ => None,
    }
}

/// A unit's name with its contact's, where the store can still read it.
fn unit_and_contact(store: &dyn Store, unit: &str) -> String {
    let name = unit_name(store, unit);
    match store.read(unit).map(|r| r.contact.display_name()) {
        Ok(contact) if !contact.trim().is_empty() => format!("{name} ({contact})"),
        _ => name,
    }
}

fn unit_name(store: &dyn Store, unit: &str) -> String {
    if unit.is_empty() {
        format!("{} (the file)", store.name())
    } else {
        format!("{} {unit}", store.name())
    }
}

/// Put back, last first, every unit that holds what the apply wrote; name
/// the ones that changed since. The rows of an SQL store go back in one
/// transaction; after an interruption the same call finishes the job (a
/// unit put back already is as it was).
fn put_back(
    stores: &mut PerSide<Box<dyn Store>>,
    entries: &[Saved],
    counted: bool,
) -> Result<PutBack, ApplyError> {
    let begun = Side::BOTH.into_iter().try_for_each(|side| {
        let store = stores.get_mut(side);
        if store.writes_at_commit() {
            store.begin()?;
        }
        Ok::<(), StoreError>(())
    });
    let result = match begun {
        Ok(()) => put_back_each(stores, entries, counted),
        Err(e) => Err(e.into()),
    };
    // Commit: the rows of an SQL store; for a card store, the flush of its
    // folder, so what was put back survives a power loss. A database that
    // refuses the commit (a deferred foreign key) put nothing back: each of
    // its rows is kept as the apply left it, named with the reason.
    let mut result = result;
    for side in Side::BOTH {
        let store = stores.get_mut(side);
        if result.is_err() {
            if store.writes_at_commit() {
                let _ = store.rollback();
            }
            continue;
        }
        match store.commit() {
            Ok(()) => {}
            Err(error) if store.writes_at_commit() && clash(&error).is_some() => {
                let _ = store.rollback();
                let why = format!(
                    "{} (the database refused it when the undo committed)",
                    clash(&error).unwrap_or_default()
                );
                if let Ok(done) = &mut result {
                    let (here, others): (Vec<_>, Vec<_>) = std::mem::take(&mut done.uncommitted)
                        .into_iter()
                        .partition(|(s, _, _)| *s == side);
                    done.uncommitted = others;
                    for (_, unit, created) in here {
                        done.restored = done.restored.saturating_sub(1);
                        done.kept.push(Kept {
                            name: unit_and_contact(store.as_ref(), &unit),
                            created,
                            why: why.clone(),
                        });
                    }
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    result
}

fn put_back_each(
    stores: &mut PerSide<Box<dyn Store>>,
    entries: &[Saved],
    counted: bool,
) -> Result<PutBack, ApplyError> {
    let mut done = PutBack::default();
    for e in entries.iter().rev() {
        let store = stores.get_mut(e.side);
        let now = store.save_unit(&e.unit)?;
        match e.holds(now.as_deref()) {
            Holds::Saved => continue,
            Holds::Changed => {
                done.changed.push(unit_name(store.as_ref(), &e.unit));
                continue;
            }
            Holds::Written => {}
        }
        // Still conditional on what was read just now: another
        // program's write meanwhile is kept, and named.
        let holds = now.as_deref().map(hash_revision);
        match store.restore_unit_if(&e.unit, e.before.as_deref(), holds.as_deref()) {
            Ok(true) => {
                if counted {
                    count_write();
                }
                done.restored += 1;
                if store.writes_at_commit() {
                    (done.uncommitted).push((e.side, e.unit.clone(), e.before.is_none()));
                }
            }
            Ok(false) => done.changed.push(unit_name(store.as_ref(), &e.unit)),
            Err(error) => {
                let Some(why) = clash(&error) else {
                    return Err(error.into());
                };
                done.kept.push(Kept {
                    name: unit_and_contact(store.as_ref(), &e.unit),
                    created: e.before.is_none(),
                    why,
                });
            }
        }
    }
    Ok(done)
}

/// Put the link rows an apply replaced back, last first, mark it undone and
/// forget the last plan's fingerprint (one state transaction).
/// `by_recovery`: a command other than the `undo` that began it finished
/// it; the state remembers that, so the operator's `undo` run again as the
/// retry finishes nothing more ([`take_undo_finished_by_recovery`]).
fn finish_undo(
    state: &mut State,
    apply_id: i64,
    links: &[(i64, Option<Link>)],
    by_recovery: bool,
) -> Result<(), StateError> {
    let tx = state.transaction()?;
    for (link_id, old) in links.iter().rev() {
        tx.restore_link(*link_id, old.as_ref())?;
    }
    tx.finish_apply(apply_id, ApplyStatus::Undone)?;
    tx.set_meta("fingerprint", "")?;
    let finished = if by_recovery {
        apply_id.to_string()
    } else {
        String::new()
    };
    tx.set_meta(UNDO_FINISHED_BY_RECOVERY, &finished)?;
    tx.commit()
}

/// The meta key that names an apply whose interrupted undo recovery
/// finished, until the next `undo` has seen it.
const UNDO_FINISHED_BY_RECOVERY: &str = "undo_finished_by_recovery";

/// The apply whose interrupted undo a recovery finished since the last
/// `undo` ran, if it is still the newest apply: the `undo` that asks is the
/// operator's retry of that undo, and undoes nothing more. Asking forgets
/// it, so the `undo` after reverts the apply before.
pub fn take_undo_finished_by_recovery(state: &mut State) -> Result<Option<i64>, StateError> {
    let Some(id) = state
        .meta(UNDO_FINISHED_BY_RECOVERY)?
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    let newest = state.applies()?.into_iter().max_by_key(|a| a.apply_id);
    let tx = state.transaction()?;
    tx.set_meta(UNDO_FINISHED_BY_RECOVERY, "")?;
    tx.commit()?;
    Ok(newest
        .filter(|a| a.apply_id == id && a.status == ApplyStatus::Undone)
        .map(|a| a.apply_id))
}

/// One note per unit left as it is: changed since, or kept.
fn left_notes(done: &PutBack, since: &str) -> Vec<String> {
    let changed = done
        .changed
        .iter()
        .map(|name| format!("{name}: changed since {since}; left as it is"));
    let kept = done.kept.iter().map(|k| {
        if k.created {
            format!(
                "{}: kept, though {since} created it: {}; it is no longer linked (the next plan matches it to its contact again where it can)",
                k.name, k.why
            )
        } else {
            format!(
                "{}: kept as {since} left it; it could not be put back: {}",
                k.name, k.why
            )
        }
    });
    changed.chain(kept).collect()
}

/// ", 2 kept (named below)", or nothing.
fn kept_count(done: &PutBack) -> String {
    if done.kept.is_empty() {
        String::new()
    } else {
        format!(", {} kept as they are (named below)", done.kept.len())
    }
}

/// Finish every apply that did not finish (a crash, a kill): a running one
/// is rolled back, an interrupted undo is finished as an undo; each puts
/// back only what still holds abgleich's write. Returns what was done, for
/// messages.
pub fn recover(
    state: &mut State,
    stores: &mut PerSide<Box<dyn Store>>,
) -> Result<Vec<String>, ApplyError> {
    let mut notes = Vec::new();
    for apply in state.applies()? {
        let undoing = match apply.status {
            ApplyStatus::Running => false,
            ApplyStatus::Undoing => true,
            _ => continue,
        };
        let checked = check(state, stores, &apply)?;
        let stopped = |cause: UndoCause| ApplyError::RecoveryStopped {
            apply_id: apply.apply_id,
            undoing,
            cause,
        };
        let done = put_back(stores, &checked.entries, false).map_err(|e| match e {
            ApplyError::State(e) => stopped(e.into()),
            ApplyError::Store(e) => stopped(e.into()),
            e => e,
        })?;
        for side in Side::BOTH {
            let store = stores.get(side);
            let removed = store.remove_leftovers().map_err(|e| stopped(e.into()))?;
            if removed > 0 {
                notes.push(format!(
                    "{}: removed {removed} temporary file(s) the interrupted write left",
                    store.name()
                ));
            }
        }
        if undoing {
            finish_undo(state, apply.apply_id, &checked.links, true)?;
            notes.push(format!(
                "the undo of apply #{} (started {}) did not finish; it is finished now: {} more record(s) put back{}",
                apply.apply_id,
                apply.started,
                done.restored,
                kept_count(&done)
            ));
            notes.extend(left_notes(&done, "that apply"));
        } else {
            let tx = state.transaction()?;
            tx.finish_apply(apply.apply_id, ApplyStatus::RolledBack)?;
            tx.commit()?;
            notes.push(format!(
                "an earlier apply (#{}, started {}) did not finish; {} journaled record(s) were put back as they were{}{}",
                apply.apply_id,
                apply.started,
                done.restored,
                if done.changed.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {} changed since and left as they are",
                        done.changed.len()
                    )
                },
                kept_count(&done)
            ));
            notes.extend(left_notes(&done, "the interrupted apply"));
        }
    }
    Ok(notes)
}

/// What [`undo`] would do now, read without writing anything: the apply
/// it reverts, the records it would put back and the ones it would leave as
/// they are because they changed since, each named with its contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoForecast {
    pub apply_id: i64,
    pub puts_back: Vec<String>,
    pub changed: Vec<String>,
}

/// The apply [`undo`] reverts: the last one that is done.
fn last_done(state: &State) -> Result<ApplyRow, ApplyError> {
    (state.applies()?.into_iter().rev())
        .find(|a| a.status == ApplyStatus::Done)
        .ok_or(ApplyError::NothingToUndo)
}

/// [`undo`]'s checks, without its writes: the journal read back and
/// checked, and each unit compared with what the apply wrote. A record a
/// store refuses to take back (a constraint) is found only by trying.
pub fn undo_forecast(
    state: &State,
    stores: &PerSide<Box<dyn Store>>,
) -> Result<UndoForecast, ApplyError> {
    let apply = last_done(state)?;
    let checked = check(state, stores, &apply)?;
    let mut forecast = UndoForecast {
        apply_id: apply.apply_id,
        puts_back: Vec::new(),
        changed: Vec::new(),
    };
    for e in checked.entries.iter().rev() {
        let store = stores.get(e.side).as_ref();
        let holds = e.holds(store.save_unit(&e.unit)?.as_deref());
        let name = || unit_and_contact(store, &e.unit);
        match holds {
            Holds::Saved => {}
            Holds::Written if e.before.is_none() => forecast
                .puts_back
                .push(format!("{}: removed (that apply created it)", name())),
            Holds::Written => forecast.puts_back.push(name()),
            Holds::Changed => forecast.changed.push(name()),
        }
    }
    Ok(forecast)
}

/// Revert the last finished apply: every unit it wrote goes back to what the
/// journal saved, unless it changed since (then it is left alone and named).
/// A journal that cannot be read back is refused before anything changes.
pub fn undo(state: &mut State, stores: &mut PerSide<Box<dyn Store>>) -> Result<Report, ApplyError> {
    let apply = last_done(state)?;
    let checked = check(state, stores, &apply)?;
    {
        let tx = state.transaction()?;
        tx.finish_apply(apply.apply_id, ApplyStatus::Undoing)?;
        tx.commit()?;
    }
    let stopped = |e: ApplyError| match e {
        ApplyError::State(e) => ApplyError::UndoStopped {
            apply_id: apply.apply_id,
            cause: e.into(),
        },
        ApplyError::Store(e) => ApplyError::UndoStopped {
            apply_id: apply.apply_id,
            cause: e.into(),
        },
        e => e,
    };
    let done = put_back(stores, &checked.entries, true).map_err(stopped)?;
    finish_undo(state, apply.apply_id, &checked.links, false).map_err(|e| stopped(e.into()))?;
    let mut notes = vec![format!(
        "undid apply #{} of {} ({}): {} record(s) put back{}",
        apply.apply_id,
        apply.started,
        apply.summary,
        done.restored,
        kept_count(&done)
    )];
    notes.extend(left_notes(&done, "that apply"));
    Ok(Report {
        apply_id: Some(apply.apply_id),
        notes,
        ..Report::default()
    })
}

// ---- the fault hook the crash tests use -------------------------------------

/// See [`crate::store::count_write`]: the crash tests' write points.
pub(in crate::sync) fn count_write() {
    store::count_write();
}
