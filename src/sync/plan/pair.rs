//! A linked pair compared field by field: per field, the left value, the
//! right value and the base decide what is copied where, what conflicts and
//! what the mode holds back; the stamps a pair lacks; the base both sides
//! reached on their own.

use super::planner::{Planner, prop_text, value};
use super::types::{
    ChangeTexts, Changes, LinkAfter, Op, OpKind, Refresh, StampWith, Target, identity,
};
use super::warning::Warning;
use crate::config::ConflictPolicy;
use crate::model::contact::{Contact, FieldClass, FieldPath};
use crate::model::normal::prop_digest;
use crate::model::record::Record;
use crate::model::{PerSide, Side};
use crate::sync::fields::{FieldSet, SyncField};
use crate::sync::matcher::Evidence;
use crate::sync::state::{Base, BaseValue, Link};

/// What to do with one field of a pair.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Equal, or apart by design (a limit, a one-way field): nothing to do.
    Settled,
    /// Write the value to one side.
    Write(Side, Option<String>),
    /// Changed on both sides to different values.
    Conflict,
    /// Held back by the mode: stays to do.
    Pending,
}

impl Planner<'_> {
    /// The value as side `to` should hold it (phone numbers in E.164 where
    /// its limits ask for it); `Err` with a warning when it cannot be converted.
    pub(super) fn convert(
        &self,
        field: &SyncField,
        v: Option<&str>,
        to: Side,
    ) -> Result<Option<String>, Warning> {
        let Some(v) = v else { return Ok(None) };
        let v = if field.path.class() == FieldClass::Phone && self.inp.fields.wants_e164(to) {
            match self.inp.normalizer.phone(v) {
                Some(e164) => e164,
                None => {
                    return Err(Warning::NotE164 {
                        field: field.path,
                        value: v.to_string(),
                        to,
                    });
                }
            }
        } else {
            v.to_string()
        };
        // A value the column's type cannot hold: not written there.
        if let Some(kind) = field.value_kind.get(to).filter(|k| !k.accepts(&v)) {
            return Err(Warning::NotItsType {
                field: field.path,
                to,
                kind,
                value: v,
            });
        }
        // Longer than the column takes: not written there, never cut
        // (counted only where a column has a length).
        if let Some(max) = *field.max_chars.get(to) {
            let length = v.chars().count();
            if length > max {
                return Err(Warning::TooLong {
                    field: field.path,
                    to,
                    max,
                    length,
                });
            }
        }
        Ok(Some(v))
    }

    /// Decide one field. `base` is `None` for a pair not linked yet.
    /// `newest`: the side changed last, where both stores tell.
    fn decide(
        &self,
        field: &SyncField,
        vals: PerSide<Option<&str>>,
        base: &BaseValue,
        newest: Option<Side>,
    ) -> Outcome {
        let path = &field.path;
        let normalizer = self.inp.normalizer;
        let now = PerSide::new(
            normalizer.value(path, vals.left),
            normalizer.value(path, vals.right),
        );
        if now.left.same(&now.right) {
            return Outcome::Settled;
        }
        let write_to = |to: Side| Outcome::Write(to, vals.get(to.opposite()).map(str::to_string));
        let mode = self.inp.policy.mode;
        if let Some(w) = mode.winner() {
            return if *field.writable.get(w.opposite()) {
                write_to(w.opposite())
            } else {
                Outcome::Settled
            };
        }
        // Which side changed since the base.
        let changed = match base {
            BaseValue::Known(b) => PerSide::new(
                !now.left.same(&normalizer.value(path, b.left.as_deref())),
                !now.right.same(&normalizer.value(path, b.right.as_deref())),
            ),
            // Never agreed: an empty side takes the other's value.
            BaseValue::Unknown => PerSide::new(vals.left.is_some(), vals.right.is_some()),
        };
        let wanted: Option<Side> = match (changed.left, changed.right) {
            (false, false) => return Outcome::Settled,
            (true, false) => Some(Side::Right),
            (false, true) => Some(Side::Left),
            (true, true) => None,
        };
        // Where the value may go: the field's direction and the side's limits.
        let writable = &field.writable;
        let to = match wanted {
            Some(to) if *writable.get(to) => to,
            Some(_) => return Outcome::Settled,
            None => match (writable.left, writable.right) {
                (false, false) => return Outcome::Settled,
                (true, false) => Side::Left,
                (false, true) => Side::Right,
                // A one-way mode takes the value the way it writes. The
                // `*-wins` modes returned above; `none` plans nothing.
                (true, true) => match (mode.writes_to(Side::Left), mode.writes_to(Side::Right)) {
                    (true, false) => Side::Left,
                    (false, true) => Side::Right,
                    (true, true) | (false, false) => match self.inp.policy.conflicts {
                        ConflictPolicy::Left => Side::Right,
                        ConflictPolicy::Right => Side::Left,
                        ConflictPolicy::Newest if newest.is_some() => {
                            newest.map_or(Side::Left, Side::opposite)
                        }
                        ConflictPolicy::Ask | ConflictPolicy::Newest => {
                            return Outcome::Conflict;
                        }
                    },
                },
            },
        };
        // One-way modes hold the other direction back. (What `writes_to`
        // says for the `*-wins` modes does not matter: they returned above.)
        if !mode.writes_to(to) {
            return Outcome::Pending;
        }
        write_to(to)
    }

    /// Compare a pair field by field: the changes, the conflicts, the fields
    /// held back, and warnings.
    fn compare(&self, pair: PerSide<&Record>, base: Option<&Base>) -> Compared {
        let (l, r) = (pair.left, pair.right);
        let mut out = Compared::default();
        let newest = match (l.modified, r.modified) {
            (Some(a), Some(b)) if a > b => Some(Side::Left),
            (Some(a), Some(b)) if b > a => Some(Side::Right),
            _ => None,
        };
        for field in &self.inp.fields.fields {
            let path = &field.path;
            let values = PerSide::new(value(&l.contact, path), value(&r.contact, path));
            let read = PerSide::new(values.left.as_deref(), values.right.as_deref());
            self.compare_field(field, read, base, newest, &mut out);
        }
        // The rest of the card, between two card stores; its texts are
        // copied only for what changes (a photo can be large).
        for path in self.inp.fields.props_of([&*l.contact, &*r.contact], base) {
            let field = FieldSet::prop_field(path);
            let read = PerSide::new(prop_text(&l.contact, &path), prop_text(&r.contact, &path));
            self.compare_field(&field, read, base, newest, &mut out);
        }
        out
    }

    /// Decide one field of a pair and add what it takes to `out`.
    fn compare_field(
        &self,
        field: &SyncField,
        read: PerSide<Option<&str>>,
        base: Option<&Base>,
        newest: Option<Side>,
        out: &mut Compared,
    ) {
        let path = &field.path;
        let bv = base.map_or(BaseValue::Unknown, |b| b.get(path));
        let outcome = self.decide(field, read.clone(), &bv, newest);
        if outcome == Outcome::Settled {
            return;
        }
        let mut texts = ChangeTexts {
            values: read.clone(),
            base: match &bv {
                BaseValue::Known(b) => b.left.as_deref().or(b.right.as_deref()),
                BaseValue::Unknown => None,
            },
            write: PerSide::default(),
        };
        match outcome {
            Outcome::Settled => {}
            Outcome::Pending => out.pending.push(*path),
            Outcome::Conflict => {
                let mut written = PerSide::default();
                for side in Side::BOTH {
                    match self.convert(field, *read.get(side.opposite()), side) {
                        Ok(v) => *written.get_mut(side) = v,
                        // That side's value cannot go there: the conflict says so.
                        Err(w) => out.conflict_warnings.push(w),
                    }
                }
                texts.write = PerSide::new(written.left.as_deref(), written.right.as_deref());
                out.conflicts.push(*path, None, texts);
            }
            Outcome::Write(to, v) => match self.convert(field, v.as_deref(), to) {
                Ok(v) => {
                    // Converting may make the two equal after all (the
                    // same text: one that is only the same in normal form
                    // is written, in the form the target takes).
                    if v.as_deref() == *read.get(to) {
                        return;
                    }
                    *texts.write.get_mut(to) = v.as_deref();
                    out.changes.push(*path, Some(to), texts);
                }
                Err(w) => out.warnings.push(w),
            },
        }
    }

    /// Whether `side` keeps a stamp and the mode lets anything be written there.
    pub(super) fn stamps(&self, side: Side) -> bool {
        self.inp.policy.mode.writes_to(side) && *self.inp.policy.stamps.get(side)
    }

    /// The stamps a linked pair lacks.
    fn stamp_needed(&self, pair: PerSide<&Record>) -> PerSide<Option<StampWith>> {
        let mut out = PerSide::default();
        for side in Side::BOTH {
            let (own, other) = (*pair.get(side), *pair.get(side.opposite()));
            let known = own
                .stamp
                .as_deref()
                .is_some_and(|s| s == other.id || other.uid.as_deref() == Some(s));
            if self.stamps(side) && !known {
                *out.get_mut(side) = Some(StampWith::Id(identity(other)));
            }
        }
        out
    }

    /// A linked pair (both present, both in scope) compared field by field;
    /// a pair of unchanged revisions never gets here (`LinkAction::NothingChanged`).
    pub(super) fn plan_pair(
        &mut self,
        link: Option<&Link>,
        pair: PerSide<&Record>,
        evidence: Option<(Evidence, bool)>,
    ) {
        let (l, r) = (pair.left, pair.right);
        let revs = pair.map(|rec| Some(rec.revision.clone()));
        // Values are needed now; a record listed without them is never
        // compared (it would look emptied).
        if self.side(Side::Left).is_unparsed(&l.id) || self.side(Side::Right).is_unparsed(&r.id) {
            return;
        }
        let c = self.compare(pair.clone(), link.map(|k| &k.base));
        let name = display(&pair);
        // A missing stamp is written with a link or an update, never on its
        // own (it is no change to the contact).
        let stamp = self.stamp_needed(pair.clone());
        let base_op = |kind: OpKind, changes: Changes, target: Target| Op {
            id: String::new(),
            kind,
            target,
            ids: pair.map(|rec| Some(rec.id.clone())),
            review: false,
            evidence: None,
            changes,
            warnings: Vec::new(),
            name: name.clone(),
            revs: revs.clone(),
            link: link.cloned().map(Box::new),
            after: LinkAfter::Linked,
            pending: c.pending.clone(),
            stamp: PerSide::default(),
        };
        let targets: Vec<Side> = c.changes.iter().filter_map(|ch| ch.to).collect();
        let kept_out: Vec<Side> = (c.warnings.iter())
            .filter_map(|w| match w {
                Warning::TooLong { to, .. } | Warning::NotItsType { to, .. } => Some(*to),
                _ => None,
            })
            .collect();
        let mut warnings = c.warnings.clone();
        if !c.changes.is_empty() || evidence.is_some() {
            for to in Side::BOTH {
                if targets.contains(&to) || evidence.is_some() {
                    let from = *pair.get(to.opposite());
                    warnings.extend(self.inp.fields.uncarried(&from.contact, to));
                }
            }
        }
        // A row id reused by the CRM for a new person must not turn the old
        // person's card into the new one without a look.
        let mut replaced = Vec::new();
        if let Some(link) = link {
            for side in Side::BOTH {
                let rec = *pair.get(side);
                if let Some(was) = self.identity_changed(link, side, rec) {
                    replaced.push(Warning::SomeoneNew(self.replacement(side, rec, &was)));
                }
            }
        }
        warnings.extend(replaced.iter().cloned());
        let has_conflicts = !c.conflicts.is_empty();
        if let Some((evidence, review)) = evidence {
            let mut op = base_op(OpKind::Link, c.changes, Target::of(&targets));
            op.evidence = Some(evidence);
            op.review = review;
            for side in Side::BOTH {
                if let Some(why) = self.waiting.get(side).get(&pair.get(side).id) {
                    op.review = true;
                    warnings.push(why.clone());
                }
            }
            op.warnings = warnings;
            op.stamp = stamp;
            self.push(op);
        } else if !c.changes.is_empty() || !kept_out.is_empty() {
            // A value no column of the other side can take is an update
            // that writes nothing but says so (and settles the base), never
            // a silent refresh.
            let target = if targets.is_empty() {
                &kept_out
            } else {
                &targets
            };
            let mut op = base_op(OpKind::Update, c.changes, Target::of(target));
            op.warnings = warnings;
            op.review = !replaced.is_empty();
            op.stamp = stamp;
            self.push(op);
        } else if !has_conflicts {
            // Nothing to write: only the state learns the new base.
            if let Some(link) = link {
                self.refresh(link, pair, &c.pending);
            }
            return;
        }
        if has_conflicts {
            let review = matches!(
                self.inp.policy.conflicts,
                ConflictPolicy::Ask | ConflictPolicy::Newest
            );
            let mut op = base_op(OpKind::Conflict, c.conflicts, Target::Both);
            op.review = review;
            op.warnings = c.conflict_warnings;
            if self.inp.policy.conflicts == ConflictPolicy::Newest {
                op.warnings.push(Warning::NewestUnknown);
            }
            self.push(op);
        }
    }

    fn refresh(&mut self, link: &Link, pair: PerSide<&Record>, pending: &[FieldPath]) {
        let base = settled_base(
            self.inp.fields,
            &link.base,
            pair.map(|rec| &*rec.contact),
            pending,
        );
        let revs = if pending.is_empty() {
            pair.map(|rec| Some(rec.revision.clone()))
        } else {
            PerSide::default()
        };
        // The cards' UIDs, by which a renamed file is found again.
        let uids = PerSide::new(
            pair.left.uid.clone().or_else(|| link.uids.left.clone()),
            pair.right.uid.clone().or_else(|| link.uids.right.clone()),
        );
        if base != link.base || revs != link.revs || uids != link.uids {
            self.refreshes.push(Refresh::Put(Box::new(Link {
                base,
                revs,
                uids,
                ..link.clone()
            })));
        }
    }
}

#[derive(Default)]
struct Compared {
    changes: Changes,
    conflicts: Changes,
    pending: Vec<FieldPath>,
    warnings: Vec<Warning>,
    /// What a conflict's side cannot take (its value too long there, say).
    conflict_warnings: Vec<Warning>,
}

/// The left record's name, else the right one's.
fn display(pair: &PerSide<&Record>) -> String {
    let name = pair.left.contact.display_name();
    if name.is_empty() {
        pair.right.contact.display_name()
    } else {
        name
    }
}

/// The base after a pair agrees: every field's current values, except the
/// fields held back, which keep their old base. A card property's text is
/// remembered by its digest ([`prop_digest`]).
pub fn settled_base(
    fields: &FieldSet,
    old: &Base,
    contacts: PerSide<&Contact>,
    pending: &[FieldPath],
) -> Base {
    let mut base = Base::default();
    let props = fields.props_of([contacts.left, contacts.right], Some(old));
    for path in fields.fields.iter().map(|f| f.path).chain(props) {
        let v = if pending.contains(&path) {
            old.get(&path)
        } else if let FieldPath::Prop(_) = path {
            let digest = |c: &Contact| prop_text(c, &path).map(|t| prop_digest(t).into_owned());
            BaseValue::Known(contacts.map(|c| digest(c)))
        } else {
            BaseValue::Known(PerSide::new(
                value(contacts.left, &path),
                value(contacts.right, &path),
            ))
        };
        base.set(path, v);
    }
    base
}
