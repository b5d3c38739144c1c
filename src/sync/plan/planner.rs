//! The planner's state while it walks the links, and the walk itself:
//! each link's pair is compared, or handled as gone on a side, then what no
//! link holds is matched or created.

use std::collections::{HashMap, HashSet};

use super::types::{Inputs, Op, Refresh, op_id};
use crate::config::Mode;
use crate::model::contact::{Contact, FieldPath};
use crate::model::record::Record;
use crate::model::{PerSide, Side};
use crate::sync::matcher::Lookalikes;
use crate::sync::snapshot::SideSnapshot;

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
    /// Per side: records taken for someone new while the delete of the old
    /// contact's other copy waits for review; their create or link waits
    /// too (the reason), so a wrong guess duplicates no one.
    pub(super) waiting: PerSide<HashMap<String, String>>,
    pub(super) ops: Vec<Op>,
    pub(super) refreshes: Vec<Refresh>,
}

/// A field's value as the planner compares it: trimmed, `None` when empty.
pub(super) fn value(contact: &Contact, path: &FieldPath) -> Option<String> {
    contact
        .get(path)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl<'a> Planner<'a> {
    pub(super) fn new(inp: &'a Inputs<'a>) -> Self {
        Planner {
            inp,
            lookalikes: PerSide::default(),
            free_keys: PerSide::default(),
            waiting: PerSide::default(),
            ops: Vec::new(),
            refreshes: Vec::new(),
        }
    }

    pub(super) fn same(&self, path: &FieldPath, a: Option<&str>, b: Option<&str>) -> bool {
        self.inp.normalizer.same(path, a, b)
    }

    pub(super) fn push(&mut self, mut op: Op) {
        op.id = op_id(&op);
        self.ops.push(op);
    }

    pub(super) fn record(&self, side: Side, id: Option<&str>) -> Option<&'a Record> {
        self.inp.snapshot.sides.get(side).get(id?)
    }

    pub(super) fn side(&self, side: Side) -> &'a SideSnapshot {
        self.inp.snapshot.sides.get(side)
    }

    pub(super) fn run(mut self) -> (Vec<Op>, Vec<Refresh>) {
        let mode = self.inp.policy.mode;
        if mode == Mode::None {
            return (self.ops, self.refreshes);
        }
        let mut linked: PerSide<HashSet<&str>> = PerSide::default();
        for link in self.inp.links {
            for side in Side::BOTH {
                if let Some(id) = link.id(side) {
                    linked.get_mut(side).insert(id);
                }
            }
        }
        let mut freed: PerSide<Vec<&str>> = PerSide::default();
        for link in self.inp.links {
            let recs = PerSide::new(
                self.record(Side::Left, link.id(Side::Left)),
                self.record(Side::Right, link.id(Side::Right)),
            );
            if link.tombstone.is_some() {
                // Kept until `forget`; forgotten when nothing is left of it.
                let any = Side::BOTH.into_iter().any(|s| {
                    recs.get(s).is_some() || link.id(s).is_some_and(|id| self.side(s).may_exist(id))
                });
                if !any {
                    self.refreshes.push(Refresh::Drop(link.link_id));
                }
                continue;
            }
            // A record that could not be read is never taken as deleted.
            let unsure = Side::BOTH.into_iter().any(|s| {
                recs.get(s).is_none() && link.id(s).is_some_and(|id| self.side(s).may_exist(id))
            });
            if unsure {
                continue;
            }
            // A record in scope that now holds someone else: the linked
            // contact is gone on that side, and the record is a new contact.
            let replaced = |side: Side| {
                recs.get(side)
                    .filter(|r| r.in_scope)
                    .and_then(|r| self.identity_changed(link, side, r).map(|w| (side, r, w)))
            };
            match (recs.left, recs.right) {
                (Some(l), Some(r)) => match (l.in_scope, r.in_scope) {
                    (true, true) => match (replaced(Side::Left), replaced(Side::Right)) {
                        (None, None) => self.plan_pair(Some(link), l, r, None),
                        // One-way modes never delete: the pair is compared
                        // and the update waits for review.
                        _ if mode != Mode::Sync => self.plan_pair(Some(link), l, r, None),
                        (Some((side, rec, was)), None) | (None, Some((side, rec, was))) => {
                            let why = self.replaced_text(
                                side,
                                rec,
                                &was,
                                "taken as deleted there and as a new contact",
                            );
                            self.waiting.get_mut(side).insert(
                                rec.id.clone(),
                                format!("{why}; waits for review with the delete of the old contact's other copy"),
                            );
                            let kept = if side == Side::Left { r } else { l };
                            self.one_sided(link, side, kept, false, Some(why));
                            freed.get_mut(side).push(rec.id.as_str());
                        }
                        // Someone new on both sides: the linked contact is
                        // gone everywhere.
                        (Some(_), Some(_)) => {
                            self.refreshes.push(Refresh::Drop(link.link_id));
                            freed.left.push(l.id.as_str());
                            freed.right.push(r.id.as_str());
                        }
                    },
                    (false, false) => self.refreshes.push(Refresh::Drop(link.link_id)),
                    (false, true) | (true, false) => {
                        let (out, kept) = if l.in_scope {
                            (Side::Right, l)
                        } else {
                            (Side::Left, r)
                        };
                        if replaced(out.opposite()).is_some() {
                            // Gone on one side, out of the scope on the other.
                            self.refreshes.push(Refresh::Drop(link.link_id));
                            freed.get_mut(out.opposite()).push(kept.id.as_str());
                        } else if mode == Mode::Sync {
                            self.one_sided(link, out, kept, true, None)
                        }
                    }
                },
                (None, Some(r)) | (Some(r), None) if r.in_scope => {
                    let gone = if recs.left.is_none() {
                        Side::Left
                    } else {
                        Side::Right
                    };
                    if replaced(gone.opposite()).is_some() {
                        // Deleted on one side, someone else on the other:
                        // nothing of the linked contact is left.
                        self.refreshes.push(Refresh::Drop(link.link_id));
                        freed.get_mut(gone.opposite()).push(r.id.as_str());
                    } else {
                        self.one_sided(link, gone, r, false, None)
                    }
                }
                _ => self.refreshes.push(Refresh::Drop(link.link_id)),
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
