//! The planner's state while it walks the links, and the walk itself:
//! each link's pair is compared, or handled as gone on a side, then what no
//! link holds is matched or created.

use foldhash::{HashMap, HashSet, HashSetExt};

use super::action::{Found, LinkAction};
use super::types::{Inputs, Op, OpKind, Refresh, op_id};
use super::warning::Warning;
use crate::config::Mode;
use crate::model::contact::{Contact, FieldPath};
use crate::model::record::Record;
use crate::model::{PerSide, Side};
use crate::sync::matcher::Lookalikes;
use crate::sync::snapshot::SideSnapshot;
use crate::sync::state::Link;

/// The planner while it runs: what it reads, what it builds on first use,
/// and what it has planned so far.
pub(super) struct Planner<'a> {
    pub(super) inp: &'a Inputs<'a>,
    /// Per side: its records by e-mail, phone and name (creates that may
    /// duplicate someone wait for review).
    /// Built on the first create only.
    pub(super) lookalikes: PerSide<std::cell::OnceCell<Lookalikes<'a>>>,
    /// Per side: the e-mail and phone keys of the records no link holds.
    /// Built on first use only.
    pub(super) free_keys: PerSide<std::cell::OnceCell<HashSet<String>>>,
    /// Per side: whether a record no link holds could not be read at all
    /// ([`crate::model::record::Unreadable::opaque`]): it may be a linked
    /// record renamed, so no missing record of that side is taken as
    /// deleted. On first use.
    hidden: PerSide<std::cell::OnceCell<bool>>,
    /// Per side: records taken for someone new while the delete of the old
    /// contact's other copy waits for review; their create or link waits
    /// too (the reason, a [`Warning::WaitsWithDelete`]), so a wrong guess
    /// duplicates no one.
    pub(super) waiting: PerSide<HashMap<String, Warning>>,
    pub(super) ops: Vec<Op>,
    pub(super) refreshes: Vec<Refresh>,
    /// Per side: the UIDs its cards hold and the creates so far give, so a
    /// copy keeps its card's UID only where no other card has it. Built on
    /// the first create between card stores only.
    pub(super) uids: PerSide<Option<HashSet<String>>>,
}

/// A field's value as the planner compares it: trimmed, `None` when empty.
pub(super) fn value(contact: &Contact, path: &FieldPath) -> Option<String> {
    if let FieldPath::Prop(_) = path {
        // A card property's text is kept exactly.
        return prop_text(contact, path).map(str::to_string);
    }
    contact
        .get(path)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A card property's text, without a copy (a photo can be large).
pub(super) fn prop_text<'c>(contact: &'c Contact, path: &FieldPath) -> Option<&'c str> {
    match path {
        FieldPath::Prop(name) => contact
            .props
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty()),
        _ => None,
    }
}

impl<'a> Planner<'a> {
    pub(super) fn new(inp: &'a Inputs<'a>) -> Self {
        Planner {
            inp,
            lookalikes: PerSide::default(),
            free_keys: PerSide::default(),
            hidden: PerSide::default(),
            waiting: PerSide::default(),
            ops: Vec::new(),
            refreshes: Vec::new(),
            uids: PerSide::default(),
        }
    }

    pub(super) fn same(&self, path: &FieldPath, a: Option<&str>, b: Option<&str>) -> bool {
        self.inp.normalizer.same(path, a, b)
    }

    pub(super) fn push(&mut self, mut op: Op) {
        self.drop_untrue_warnings(&mut op);
        op.id = op_id(&op);
        // A plan of 100,000 creates holds 100,000 of these: no room to
        // spare in each (a vector grown by pushes is up to twice its size).
        op.changes.shrink_to_fit();
        op.warnings.shrink_to_fit();
        self.ops.push(op);
    }

    /// A warning that values past the synchronised fields stay only in the
    /// other store is untrue where they reach the target or are there
    /// already (issue 11, finding 13):
    /// - a create between two card stores copies the whole card, with
    ///   every phone number, e-mail address and web page on it, unless the
    ///   target's `limits` keep some out;
    /// - an update or link leaves the entries past the fields of the
    ///   target's card as they are: a value it holds there is not only in
    ///   the other store (an update writes the fields only; such values
    ///   are no carried property).
    fn drop_untrue_warnings(&self, op: &mut Op) {
        if op.warnings.iter().all(|w| w.past_the_fields().is_none()) {
            return;
        }
        let fields = self.inp.fields;
        let normalizer = self.inp.normalizer;
        let same = |path: &FieldPath, a: &str, b: &str| normalizer.same(path, Some(a), Some(b));
        let create = op.kind == OpKind::Create;
        let ids = op.ids.clone();
        op.warnings.retain_mut(|w| {
            let Some(to) = w.past_the_fields() else {
                return true;
            };
            if create {
                return !fields.whole_cards || w.kept_out_by(fields.limits.get(to));
            }
            match self.record(to, ids.get(to).as_deref()) {
                Some(target) => w.forget_held(&target.contact, same),
                None => true,
            }
        });
    }

    pub(super) fn record(&self, side: Side, id: Option<&str>) -> Option<&'a Record> {
        self.inp.snapshot.sides.get(side).get(id?)
    }

    pub(super) fn side(&self, side: Side) -> &'a SideSnapshot {
        self.inp.snapshot.sides.get(side)
    }

    /// What `link` finds on `side`: `rec`, the record with its id there;
    /// `someone_new`, whether that record holds someone else now.
    fn found(&self, link: &Link, side: Side, rec: Option<&Record>, someone_new: bool) -> Found {
        let Some(rec) = rec else {
            let unreadable = link
                .id(side)
                .is_some_and(|id| self.side(side).may_exist(id) || self.hides_a_record(side));
            return if unreadable {
                Found::Unreadable
            } else {
                Found::Absent
            };
        };
        let unchanged = self.inp.trust_revisions
            && link.revs.get(side).as_deref() == Some(rec.revision.as_str());
        match (rec.in_scope, someone_new, unchanged) {
            (false, _, _) => Found::OutOfScope,
            (true, true, _) => Found::SomeoneNew,
            (true, false, true) => Found::Unchanged,
            (true, false, false) => Found::InScope,
        }
    }

    /// Whether `side` has an unreadable record no link holds that nothing
    /// is known of (a linked card renamed, then on an unmounted share).
    fn hides_a_record(&self, side: Side) -> bool {
        *self.hidden.get(side).get_or_init(|| {
            let held: HashSet<&str> = self.inp.links.iter().filter_map(|l| l.id(side)).collect();
            self.side(side)
                .unreadable
                .iter()
                .any(|u| u.opaque() && u.id.as_deref().is_none_or(|id| !held.contains(id)))
        })
    }

    /// A link made before links kept card UIDs learns them from an
    /// unchanged pair that was read in full (so a renamed file is found by
    /// its UID later).
    fn learn_uids(&mut self, link: &Link, recs: &PerSide<Option<&Record>>) {
        let new = |side: Side| {
            let uid = recs.get(side).and_then(|r| r.uid.as_deref());
            uid.filter(|&uid| link.uids.get(side).as_deref() != Some(uid))
        };
        if Side::BOTH.iter().any(|&side| new(side).is_some()) {
            let mut uids = link.uids.clone();
            for side in Side::BOTH {
                if let Some(uid) = new(side) {
                    *uids.get_mut(side) = Some(uid.to_string());
                }
            }
            self.refreshes.push(Refresh::Put(Box::new(Link {
                uids,
                ..link.clone()
            })));
        }
    }

    pub(super) fn run(mut self) -> (Vec<Op>, Vec<Refresh>) {
        let mode = self.inp.policy.mode;
        if mode == Mode::None {
            return (self.ops, self.refreshes);
        }
        // A link whose record moved (a renamed card file) follows it.
        let links = self.follow_moves();
        let mut linked: PerSide<HashSet<&str>> =
            PerSide::from_fn(|_| HashSet::with_capacity(links.len()));
        for link in &links {
            for side in Side::BOTH {
                if let Some(id) = link.id(side) {
                    linked.get_mut(side).insert(id);
                }
            }
        }
        // Records a link held that are someone new now: matched or created
        // like any record no link holds.
        let mut freed: PerSide<Vec<&str>> = PerSide::default();
        for link in &links {
            let moved = link.moved();
            let planned = (self.ops.len(), self.refreshes.len());
            let link: &Link = link;
            let recs = PerSide::new(
                self.record(Side::Left, link.id(Side::Left)),
                self.record(Side::Right, link.id(Side::Right)),
            );
            let replaced = PerSide::new(
                self.someone_new(link, Side::Left, recs.left),
                self.someone_new(link, Side::Right, recs.right),
            );
            let found = PerSide::new(
                self.found(link, Side::Left, recs.left, replaced.left.is_some()),
                self.found(link, Side::Right, recs.right, replaced.right.is_some()),
            );
            let rec = |side: Side| -> &'a Record {
                recs.get(side)
                    .expect("an action names only sides where the link found a record")
            };
            match LinkAction::for_link(link.tombstone.is_some(), &found, mode) {
                LinkAction::Forget => self.refreshes.push(Refresh::Drop(link.link_id)),
                LinkAction::KeepTombstone | LinkAction::Wait | LinkAction::HoldScopeExit => {}
                LinkAction::NothingChanged => self.learn_uids(link, &recs),
                LinkAction::Compare => self.plan_pair(
                    Some(link),
                    PerSide::new(rec(Side::Left), rec(Side::Right)),
                    None,
                ),
                LinkAction::Gone(side) => {
                    self.one_sided(link, side, rec(side.opposite()), false, None)
                }
                LinkAction::LeftScope(side) => {
                    self.one_sided(link, side, rec(side.opposite()), true, None)
                }
                LinkAction::Replaced(side) => {
                    let (new, kept) = (rec(side), rec(side.opposite()));
                    let was = replaced
                        .get(side)
                        .as_ref()
                        .expect("someone new, so identity_changed said who");
                    let who = self.replacement(side, new, was);
                    self.waiting
                        .get_mut(side)
                        .insert(new.id.clone(), Warning::WaitsWithDelete(who.clone()));
                    self.one_sided(link, side, kept, false, Some(Warning::TakenAsDeleted(who)));
                    freed.get_mut(side).push(new.id.as_str());
                }
                LinkAction::ForgetAsNew(side) => {
                    self.refreshes.push(Refresh::Drop(link.link_id));
                    freed.get_mut(side).push(rec(side).id.as_str());
                }
                LinkAction::ForgetBothAsNew => {
                    self.refreshes.push(Refresh::Drop(link.link_id));
                    for side in Side::BOTH {
                        freed.get_mut(side).push(rec(side).id.as_str());
                    }
                }
            }
            // A link that followed its record with nothing else to do for
            // it: the state learns the new id. (An operation for the pair
            // carries the moved link, and its apply records it.)
            if moved && planned == (self.ops.len(), self.refreshes.len()) {
                self.refreshes.push(Refresh::Put(Box::new(link.clone())));
            }
        }
        for side in Side::BOTH {
            for id in freed.get(side) {
                linked.get_mut(side).remove(id);
            }
        }
        self.match_and_create(&linked);
        (self.ops, self.refreshes)
    }
}
