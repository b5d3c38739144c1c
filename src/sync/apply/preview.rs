//! What an apply would write for one operation, without writing: per store
//! write, the record as it is now and as the write would store it. The
//! writes come from the same intents the apply runs (`intents.rs`), and
//! each store computes what it would store with its own write path
//! ([`crate::store::WriteStore::preview`]), so the preview cannot drift
//! from the write. What it cannot know before the write is named as such:
//! the time a write stamps (`REV`, a modified column) is the time of the
//! preview, a fresh UID or row id is the one the preview drew.

use super::intents::{self, Action, Intent};
use crate::model::error::describe;
use crate::model::{PerSide, Side};
use crate::store::{Patch, Store, StoreError};
use crate::sync::decisions::Decision;
use crate::sync::fields::FieldSet;
use crate::sync::plan::Plan;

/// The kind of one store write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    Delete,
    /// The identity of the record created on the other side, written into
    /// the record it was created from.
    Stamp,
}

impl WriteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Create => "create",
            WriteKind::Update => "update",
            WriteKind::Delete => "delete",
            WriteKind::Stamp => "stamp",
        }
    }
}

/// One store write as it would be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub side: Side,
    /// The store's display name.
    pub store_name: String,
    pub kind: WriteKind,
    /// The record written (`None` for a create).
    pub record: Option<String>,
    /// The record as it is stored now (`None`: a create, or a store that
    /// cannot show its records).
    pub before: Option<String>,
    /// The record as the write would store it (`None`: a delete, a store
    /// that cannot show its records, or `note` says why not).
    pub after: Option<String>,
    /// Why the write would not be made as shown (its record changed since
    /// the plan read it), or why it cannot be shown.
    pub note: Option<String>,
}

/// What the apply would write for one operation (and the other operations
/// of its pair, which are written together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previews {
    /// Whether the operation is executed with the decisions as they are;
    /// when not, the writes are those it would make if it were accepted.
    pub accepted: bool,
    /// The writes, in the order the apply makes them; empty when the
    /// operation writes nothing even if accepted (an unresolved conflict,
    /// a pair whose link waits, an unlink).
    pub writes: Vec<Preview>,
}

/// The writes the apply would make for operation `op` of `plan` with
/// `decisions` (if it is not executed as they are: with it accepted), read
/// from `stores` and computed by their write paths; nothing is written.
pub fn preview(
    plan: &Plan,
    decisions: &[Decision],
    op: usize,
    stores: &PerSide<Box<dyn Store>>,
    fields: &FieldSet,
) -> Previews {
    // Only the operation's pair is looked at: a preview costs one pass of
    // comparisons over the plan, whatever its size.
    let accepted = intents::group_of(plan, decisions, op).is_some();
    let mut decisions = std::borrow::Cow::Borrowed(decisions);
    if !accepted && let Some(d) = decisions.to_mut().get_mut(op) {
        d.accept = true;
    }
    let Some(group) = intents::group_of(plan, &decisions, op) else {
        return Previews {
            accepted,
            writes: Vec::new(),
        };
    };
    // The apply's own grouping, in debug builds (the tests): the same ops.
    debug_assert_eq!(
        Some(&group.ops),
        intents::groups(plan, &decisions)
            .iter()
            .find(|g| g.ops.contains(&op))
            .map(|g| &g.ops)
    );
    let mut writes = Vec::new();
    intents::group_intents(0, &group, plan, &decisions, stores, fields, &mut writes);
    for intent in &mut writes {
        intents::fill(intent, plan, fields);
    }
    let mut created: PerSide<Option<String>> = PerSide::default();
    let writes = writes
        .into_iter()
        .map(|intent| one(intent, stores, &mut created))
        .collect();
    Previews { accepted, writes }
}

/// One write's preview; `created` keeps what a create's record will be
/// known by, for the stamp into the record it was created from.
fn one(
    intent: Intent,
    stores: &PerSide<Box<dyn Store>>,
    created: &mut PerSide<Option<String>>,
) -> Preview {
    let side = intent.side;
    let store = stores.get(side);
    let (kind, record, rev) = match &intent.action {
        Action::Create { .. } => (WriteKind::Create, None, None),
        Action::Update { id, rev, .. } => (WriteKind::Update, Some(id.clone()), Some(rev)),
        Action::Delete { id, rev } => (WriteKind::Delete, Some(id.clone()), Some(rev)),
        Action::StampAfterCreate { id, rev } => (WriteKind::Stamp, Some(id.clone()), Some(rev)),
    };
    let mut preview = Preview {
        side,
        store_name: store.name().to_string(),
        kind,
        record: record.clone(),
        before: None,
        after: None,
        note: None,
    };
    // The record as it is, and whether it is still as the plan read it
    // (the write is conditional on that).
    if let (Some(id), Some(rev)) = (&record, rev) {
        match store.read(id) {
            Ok(now) if now.revision != *rev => {
                preview.note = Some(
                    "changed since the plan read it: this write will be refused; read the stores again (r)"
                        .into(),
                );
            }
            Ok(_) => {}
            Err(e) => preview.note = Some(describe(&e)),
        }
        match store.record_text(id) {
            Ok(text) => preview.before = text,
            Err(e) => preview.note = preview.note.or_else(|| Some(describe(&e))),
        }
    }
    let after: Result<Option<String>, StoreError> = match intent.action {
        Action::Delete { .. } => Ok(None),
        Action::Create {
            mut patch, copy_of, ..
        } => {
            // A copy of the other side's card, as the plan read it.
            let template = match &copy_of {
                Some((id, rev)) => stores.get(side.opposite()).card(id, rev),
                None => Ok(None),
            };
            template.and_then(|template| {
                patch.template = template;
                let previewed = store.preview(None, &patch)?;
                *created.get_mut(side) = previewed.as_ref().and_then(|p| p.identity.clone());
                Ok(previewed.map(|p| p.text))
            })
        }
        Action::Update { id, patch, .. } => {
            (store.preview(Some(&id), &patch)).map(|p| p.map(|p| p.text))
        }
        Action::StampAfterCreate { id, .. } => {
            let identity = created
                .get(side.opposite())
                .clone()
                .unwrap_or_else(|| "(the id the new record gets)".to_string());
            let patch = Patch {
                stamp: Some(identity),
                ..Patch::default()
            };
            (store.preview(Some(&id), &patch)).map(|p| p.map(|p| p.text))
        }
    };
    match after {
        Ok(after) => preview.after = after,
        Err(e) => preview.note = preview.note.or_else(|| Some(describe(&e))),
    }
    preview
}
