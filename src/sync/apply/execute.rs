//! Executing the intents, one store write at a time: each conditional on
//! the revision the plan read. A failed write is collected as its group's
//! outcome (the group's other writes are skipped) and the run goes on; only
//! a store that cannot begin its transaction stops it here.

use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, VecDeque};

use super::intents::{self, Action, Intent};
use super::types::ApplyError;
use crate::model::contact::{FieldPath, PropName};
use crate::model::normal::prop_digest;
use crate::model::{PerSide, Side};
use crate::store::vdir::file_name_for_uid;
use crate::store::{Patch, Refused, Store, StoreError};
use crate::sync::fields::FieldSet;
use crate::sync::journal::{Journaled, count_write};
use crate::sync::plan::{Plan, identity};
use crate::sync::state::State;
use crate::vcard::VCard;

/// The result of one group's writes.
#[derive(Default)]
pub(super) struct Written {
    /// The ids of the records created, per side.
    pub ids: PerSide<Option<String>>,
    /// The UIDs of the cards created, per side.
    pub uids: PerSide<Option<String>>,
    /// The revisions the writes left, per side.
    pub revs: PerSide<Option<String>>,
    /// Fields written per side (with `fields_of`: see `wrote_field`).
    pub fields: PerSide<Vec<FieldPath>>,
    /// Per side, the plan operation every change of which was written there
    /// too (a create's, see `Intent::fields_of`).
    pub fields_of: PerSide<Option<usize>>,
    /// Between card stores: the digests of the carried properties each
    /// written card holds as read back after the write (a store writing
    /// another vCard version may hold them in another form than was sent).
    pub props: PerSide<Option<PropDigests>>,
    /// The first write that failed; the group's later writes were skipped.
    /// (Boxed: one `Written` a group, and few fail.)
    pub failed: Option<Box<StoreError>>,
    pub wrote: bool,
}

impl Written {
    /// Whether the group's writes wrote `field` on `side`.
    pub fn wrote_field(&self, side: Side, field: FieldPath, plan: &Plan) -> bool {
        self.fields.get(side).contains(&field)
            || (self.fields_of.get(side))
                .and_then(|op| plan.operations.get(op))
                .is_some_and(|op| op.changes.iter().any(|c| c.field == field))
    }
}

/// Begin each store's transaction; then the records whose ids last only
/// once their store is written (`settle`, per side) get their lasting ids
/// first, so that the other side's stamps in `intents` name those. A store
/// that cannot give them (a folder it cannot write, a card it cannot read)
/// keeps its ids as they are; its links stay as before.
pub(super) fn begin(
    stores: &mut PerSide<Box<dyn Store>>,
    intents: &mut [Intent],
    settle: &PerSide<Vec<String>>,
) -> Result<(), ApplyError> {
    for side in Side::BOTH {
        stores.get_mut(side).begin()?;
    }
    for side in Side::BOTH {
        let ids: Vec<&str> = settle.get(side).iter().map(String::as_str).collect();
        let settled = if ids.is_empty() {
            Vec::new()
        } else {
            stores.get_mut(side).settle_ids(&ids).unwrap_or_default()
        };
        intents::restamp(
            intents,
            side.opposite(),
            &settled,
            stores.get(side).as_ref(),
        );
    }
    Ok(())
}

/// Run every write in order (inside each store's transaction, which the
/// caller began with [`begin`] and commits), telling `progress(writes done, writes in all)` before
/// each; the journal follows each write (units that creates made, the
/// hash a card store's write left). Returns one [`Written`] per group; an
/// error (a store that cannot begin, the state database) stops the run.
pub(super) fn write_all(
    stores: &mut PerSide<Box<dyn Store>>,
    state: &mut State,
    intents: Vec<Intent>,
    groups: usize,
    (plan, fields): (&Plan, &FieldSet),
    journal: &mut Journaled,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Written>, ApplyError> {
    let mut written: Vec<Written> = (0..groups).map(|_| Written::default()).collect();
    // Per group, the writes that landed on each side; the writes a store
    // held back, by (side, id), with their group.
    let mut landed: Vec<PerSide<usize>> = vec![PerSide::default(); groups];
    let mut held: HashMap<(Side, String), usize> = HashMap::new();
    // A store that sends its held writes one by one at the flush (a
    // server) counts each of them twice: once held, once sent.
    let one_by_one = PerSide::from_fn(|side| stores.get(side).flushes_one_by_one());
    let sent_later = (intents.iter()).filter(|i| *one_by_one.get(i.side)).count();
    let total = intents.len() + sent_later;
    let mut intents = VecDeque::from(intents);
    let mut n = 0;
    loop {
        let take = intents.len().min(COPY_WINDOW);
        let window: Vec<Intent> = intents.drain(..take).collect();
        if window.is_empty() {
            break;
        }
        // The room of the intents written is given back as the run goes
        // (100,000 creates' intents take about 30 MB): once half of it is
        // free, so that it is never more than twice what is still to write
        // while the writes held for the flush grow (each shrink copies what
        // is left: all of them together copy it about once more).
        if intents.len() < intents.capacity() / 2 {
            intents.shrink_to_fit();
        }
        let mut copies = copies_of(stores, &window);
        for (i, mut intent) in window.into_iter().enumerate() {
            progress(n, total);
            n += 1;
            let w = &mut written[intent.group];
            if w.failed.is_some() {
                continue;
            }
            let copy = copies.remove(&i);
            journal.before_write(state, stores)?;
            let (side, group) = (intent.side, intent.group);
            let named = intent.action.record().map(str::to_string);
            intents::fill(&mut intent, plan, fields);
            let result = write(stores, intent, w, journal, fields.whole_cards, copy);
            count_write();
            match result {
                Ok(()) => {
                    w.wrote = true;
                    *landed[group].get_mut(side) += 1;
                    if stores.get(side).holds_writes() {
                        let id = named.or_else(|| w.ids.get(side).clone());
                        held.extend(id.map(|id| ((side, id), group)));
                    }
                }
                Err(e) => w.failed = Some(Box::new(e)),
            }
        }
    }
    // Each write a store sends at the flush counts once more.
    let mut sent = || {
        progress(n, total);
        n += 1;
    };
    flush(
        stores,
        state,
        journal,
        &mut written,
        &mut landed,
        &held,
        &mut sent,
    )?;
    progress(total, total);
    Ok(written)
}

/// Put the writes the stores held back in place (a one-file book, once per
/// apply); a write refused because its record changed meanwhile becomes
/// its group's failure, and what it would have written is not recorded.
fn flush(
    stores: &mut PerSide<Box<dyn Store>>,
    state: &mut State,
    journal: &mut Journaled,
    written: &mut [Written],
    landed: &mut [PerSide<usize>],
    held: &HashMap<(Side, String), usize>,
    sent: &mut dyn FnMut(),
) -> Result<(), ApplyError> {
    for side in Side::BOTH {
        if !stores.get(side).holds_writes() {
            continue;
        }
        journal.before_write(state, stores)?;
        journal.flushing(Some(side));
        let flushed = stores.get_mut(side).flush_telling(sent);
        journal.flushing(None);
        let flushed = flushed.map_err(|e| match e {
            StoreError::Io { .. } => {
                ApplyError::PutInPlace(stores.get(side).name().to_string(), Box::new(e))
            }
            e => ApplyError::Store(e),
        })?;
        for Refused { id, error } in flushed {
            let Some(&g) = held.get(&(side, id)) else {
                continue;
            };
            let (w, landed) = (&mut written[g], &mut landed[g]);
            let n = landed.get_mut(side);
            *n = n.saturating_sub(1);
            w.wrote = landed.left + landed.right > 0;
            w.failed.get_or_insert(Box::new(error));
            w.fields.get_mut(side).clear();
            *w.fields_of.get_mut(side) = None;
            *w.revs.get_mut(side) = None;
            *w.props.get_mut(side) = None;
            *w.ids.get_mut(side) = None;
            *w.uids.get_mut(side) = None;
        }
    }
    Ok(())
}

/// How many writes' copied cards are read at once: a one-file book is
/// parsed once for all of them, and only so many cards are held.
const COPY_WINDOW: usize = 512;

/// The cards the creates among `window` copy (by position in the window),
/// read in one batch per store, each only if it still has the revision the
/// plan read.
fn copies_of(
    stores: &PerSide<Box<dyn Store>>,
    window: &[Intent],
) -> HashMap<usize, Result<Option<VCard>, StoreError>> {
    let mut out = HashMap::new();
    for from in Side::BOTH {
        let wanted: Vec<(usize, &str, &str)> = window
            .iter()
            .enumerate()
            .filter(|(_, intent)| intent.side == from.opposite())
            .filter_map(|(i, intent)| match &intent.action {
                Action::Create {
                    copy_of: Some((id, rev)),
                    ..
                } => Some((i, id.as_str(), rev.as_str())),
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let ids: Vec<(&str, &str)> = wanted.iter().map(|(_, id, rev)| (*id, *rev)).collect();
        let cards = stores.get(from).cards(&ids);
        out.extend(wanted.iter().map(|(i, _, _)| *i).zip(cards));
    }
    out
}

/// One write, and what it leaves in its group's `w`.
fn write(
    stores: &mut PerSide<Box<dyn Store>>,
    intent: Intent,
    w: &mut Written,
    journal: &mut Journaled,
    whole_cards: bool,
    copy: Option<Result<Option<VCard>, StoreError>>,
) -> Result<(), StoreError> {
    let side = intent.side;
    let created_identity = match &intent.action {
        Action::StampAfterCreate { .. } => created_identity(stores, side.opposite(), w),
        _ => None,
    };
    let mut action = intent.action;
    if let Action::Create {
        patch,
        copy_of: Some((id, rev)),
        ..
    } = &mut action
    {
        // The card as the plan read it, or the create waits for the next plan.
        patch.template = match copy {
            Some(card) => card?,
            None => stores.get(side.opposite()).card(id, rev)?,
        };
    }
    let store = stores.get_mut(side);
    match action {
        Action::Create { patch, .. } => {
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
            if whole_cards {
                *w.props.get_mut(side) = props_written(store.as_ref(), &id);
            }
            *w.ids.get_mut(side) = Some(id);
            *w.revs.get_mut(side) = Some(rev);
            w.fields.get_mut(side).extend(intent.fields);
            *w.fields_of.get_mut(side) = intent.fields_of;
        }
        Action::Update { id, rev, patch } => {
            let rev = store.update(&id, &rev, &patch)?;
            if whole_cards {
                *w.props.get_mut(side) = props_written(store.as_ref(), &id);
            }
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

/// The digests of a written card's carried properties, as numbers where
/// they are `#` and 16 hex digits (as every digest `prop_digest` makes is):
/// an apply of 100,000 creates holds one set per card until the links are
/// recorded, a fifth of their size as texts.
pub(super) struct PropDigests(Box<[(PropName, Digest)]>);

enum Digest {
    /// `#` and these 16 hex digits.
    Number(u64),
    /// Any other text, kept as it is.
    Text(Box<str>),
}

impl PropDigests {
    /// The properties as a base holds them, each as `prop_digest` gave it.
    pub fn texts(&self) -> BTreeMap<PropName, String> {
        (self.0.iter())
            .map(|(name, digest)| {
                let text = match digest {
                    Digest::Number(n) => format!("#{n:016x}"),
                    Digest::Text(t) => t.to_string(),
                };
                (*name, text)
            })
            .collect()
    }
}

impl Digest {
    fn of(text: &str) -> Digest {
        let digest = prop_digest(text);
        let number = (digest.strip_prefix('#'))
            .filter(|hex| {
                hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .and_then(|hex| u64::from_str_radix(hex, 16).ok());
        match number {
            Some(n) => Digest::Number(n),
            None => Digest::Text(digest.into()),
        }
    }
}

/// The digests of the carried properties card `id` holds now; `None` when
/// it cannot be read back (the base then takes the values written).
fn props_written(store: &dyn Store, id: &str) -> Option<PropDigests> {
    let record = store.read(id).ok()?;
    let digests = (record.contact.props.iter())
        .map(|(name, text)| (*name, Digest::of(text)))
        .collect();
    Some(PropDigests(digests))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_cards_digests_come_back_as_prop_digest_made_them() {
        let name = PropName::new("ROLE").unwrap();
        let texts = [
            "ROLE:Einkauf",
            "PHOTO;ENCODING=b:iVBORw0KGgo=",
            // Texts that are digests already stay exactly as they were.
            "#0123456789abcdef",
            "#ABCDEF0123456789",
            "#abc",
            "#+123456789abcdef",
            "#note",
            "",
        ];
        for text in texts {
            let digests = PropDigests(Box::new([(name, Digest::of(text))]));
            assert_eq!(
                digests.texts().get(&name).map(String::as_str),
                Some(prop_digest(text).as_ref()),
                "{text:?}"
            );
        }
    }
}
