//! The planner: a pure function from two snapshots, the state and the
//! policy to a [`Plan`]. It writes nothing.
//!
//! Per linked pair and per field it compares the left value, the right value
//! and the base (what both held at the last sync): a change on one side is
//! copied to the other, changes on both sides to different values are a
//! conflict on that field only, and a formatting difference is no change.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::fields::{FieldSet, SyncField};
use super::matcher::{Evidence, Lookalikes, Matcher};
use super::snapshot::{SideSnapshot, Snapshot};
use super::state::{Base, BaseValue, Link};
use crate::config::{Config, ConflictPolicy, DeletePolicy, MatchRule, Mode, ScopeExit, StoreKind};
use crate::model::contact::{Contact, FieldClass, FieldPath, Kind};
use crate::model::normal::Normalizer;
use crate::model::record::Record;
use crate::model::{PerSide, Side};

/// How a run decides; from `[sync]`, with `--mode` and `--conflicts` applied.
#[derive(Debug, Clone)]
pub struct Policy {
    pub mode: Mode,
    pub conflicts: ConflictPolicy,
    /// Per deleted side: what happens to the other copy.
    pub deletes: PerSide<DeletePolicy>,
    pub scope_exit: ScopeExit,
    pub match_rules: Vec<MatchRule>,
    pub max_delete_percent: u8,
    /// Per side: whether its records keep the other side's id (`stamp`:
    /// a card property holding the CRM id, a CRM column holding the card's UID).
    pub stamps: PerSide<bool>,
    /// Per side: whether the store numbers new records itself and may give
    /// a deleted record's number to a new one (an SQLite table; a card's
    /// id is its UID).
    pub reuses_ids: PerSide<bool>,
}

impl Policy {
    pub fn from_config(config: &Config) -> Policy {
        Policy {
            mode: config.sync.mode,
            conflicts: config.sync.conflicts,
            deletes: PerSide::new(
                config.sync.deletes_left_to_right,
                config.sync.deletes_right_to_left,
            ),
            scope_exit: config.sync.scope_exit,
            match_rules: config.sync.match_rules.clone(),
            max_delete_percent: config.sync.max_delete_percent,
            stamps: PerSide::new(config.left.stamp.is_some(), config.right.stamp.is_some()),
            reuses_ids: PerSide::new(
                config.left.kind == StoreKind::Sqlite,
                config.right.kind == StoreKind::Sqlite,
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Create,
    Update,
    Delete,
    Conflict,
    Link,
    Unlink,
}

impl OpKind {
    pub const ALL: [OpKind; 6] = [
        OpKind::Create,
        OpKind::Update,
        OpKind::Delete,
        OpKind::Conflict,
        OpKind::Link,
        OpKind::Unlink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
            OpKind::Conflict => "conflict",
            OpKind::Link => "link",
            OpKind::Unlink => "unlink",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Left,
    Right,
    Both,
}

impl Target {
    pub fn of(sides: &[Side]) -> Target {
        let left = sides.contains(&Side::Left);
        let right = sides.contains(&Side::Right);
        match (left, right) {
            (true, false) => Target::Left,
            (false, true) => Target::Right,
            _ => Target::Both,
        }
    }

    pub fn includes(self, side: Side) -> bool {
        matches!(
            (self, side),
            (Target::Both, _) | (Target::Left, Side::Left) | (Target::Right, Side::Right)
        )
    }
}

/// One field of an operation: the values on each side and in the base, and
/// which side receives which value (`to: None`: a conflict, not resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: FieldPath,
    pub left: Option<String>,
    pub right: Option<String>,
    pub base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to: Option<Side>,
    /// The value written to `to` (for a conflict: per side, once resolved).
    #[serde(skip)]
    pub write: PerSide<Option<String>>,
}

impl Change {
    /// The value this change writes to `side`, once `to` is known.
    pub fn value_for(&self, side: Side) -> Option<&str> {
        self.write.get(side).as_deref()
    }
}

/// What becomes of a link when an operation is done.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkAfter {
    /// Keep (or make) the pair linked with a fresh base.
    Linked,
    /// Forget the pair: it is gone on both sides.
    Drop,
    /// Keep a tombstone: `gone` is the side whose contact was deleted
    /// (`None`: both stay, the pair left the scope).
    Tombstone { gone: Option<Side>, reason: String },
}

/// One operation of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Op {
    pub id: String,
    pub kind: OpKind,
    pub target: Target,
    pub left_id: Option<String>,
    pub right_id: Option<String>,
    pub review: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
    /// A name to show for the contact.
    pub name: String,
    /// The revisions the plan read; writes are conditional on them.
    #[serde(skip)]
    pub revs: PerSide<Option<String>>,
    /// The existing link or tombstone (`None`: not linked yet).
    #[serde(skip)]
    pub link: Option<Link>,
    #[serde(skip)]
    pub after: LinkAfter,
    /// Fields held back (one-way mode): the base keeps its old value.
    #[serde(skip)]
    pub pending: Vec<FieldPath>,
    /// Per side: what to write into its stamp (`None`: nothing).
    #[serde(skip)]
    pub stamp: PerSide<Option<StampWith>>,
}

/// What a stamp write puts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampWith {
    /// This identity of the other record.
    Id(String),
    /// The identity of the record the operation creates on the other side.
    Created,
}

/// What a record is known by on the other side: a card's UID, else its id.
pub fn identity(record: &Record) -> String {
    record.uid.clone().unwrap_or_else(|| record.id.clone())
}

impl Op {
    pub fn id_on(&self, side: Side) -> Option<&str> {
        match side {
            Side::Left => self.left_id.as_deref(),
            Side::Right => self.right_id.as_deref(),
        }
    }

    /// The ops of one pair are applied together; this is the pair's key.
    pub fn pair_key(&self) -> (Option<String>, Option<String>) {
        (self.left_id.clone(), self.right_id.clone())
    }
}

/// A state change that needs no store write (a base both sides reached on
/// their own, a pair gone on both sides).
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh {
    Put(Link),
    Drop(i64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub conflict: usize,
    pub link: usize,
    pub unlink: usize,
    pub warning: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub summary: Summary,
    pub operations: Vec<Op>,
    /// Why applying this plan would be unsafe (refused unless `--force`).
    pub refusals: Vec<String>,
    #[serde(skip)]
    pub refreshes: Vec<Refresh>,
    /// Records that could not be read, per side, for the report.
    pub unreadable: Vec<String>,
    pub mode: String,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    fn summarise(&mut self) {
        let mut s = Summary::default();
        for op in &self.operations {
            match op.kind {
                OpKind::Create => s.create += 1,
                OpKind::Update => s.update += 1,
                OpKind::Delete => s.delete += 1,
                OpKind::Conflict => s.conflict += 1,
                OpKind::Link => s.link += 1,
                OpKind::Unlink => s.unlink += 1,
            }
            if !op.warnings.is_empty() {
                s.warning += 1;
            }
        }
        self.summary = s;
    }
}

/// A stable id for an operation: the same contact, revisions and changes
/// give the same id in a later plan.
fn op_id(op: &Op) -> String {
    let mut text = format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        op.kind.as_str(),
        op.left_id,
        op.right_id,
        op.revs.left,
        op.revs.right,
        op.target
    );
    for c in &op.changes {
        text.push_str(&format!(
            "|{}={:?}/{:?}/{:?}",
            c.field, c.left, c.right, c.to
        ));
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// Everything the planner reads.
pub struct Inputs<'a> {
    pub snapshot: &'a Snapshot,
    pub links: &'a [Link],
    pub fields: &'a FieldSet,
    pub policy: &'a Policy,
    pub normalizer: &'a Normalizer,
    /// Whether the field set is the one the links' revisions were taken
    /// under (otherwise every pair is compared field by field).
    pub trust_revisions: bool,
}

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

/// A linked record that now holds someone else (see
/// [`Planner::identity_changed`]).
struct Replaced {
    /// The name it had at the last sync.
    was: String,
    /// What tells the two apart, besides the name (text for a warning).
    how: String,
}

struct Planner<'a> {
    inp: &'a Inputs<'a>,
    /// Per side: its records by e-mail, phone and name (creates that may
    /// duplicate someone wait for review).
    /// Built on the first create only.
    lookalikes: PerSide<std::cell::OnceCell<Lookalikes<'a>>>,
    /// Per side: the e-mail and phone keys of the records no link holds.
    /// Built on first use only.
    free_keys: PerSide<std::cell::OnceCell<HashSet<String>>>,
    /// Per side: records taken for someone new while the delete of the old
    /// contact's other copy waits for review; their create or link waits
    /// too (the reason), so a wrong guess duplicates no one.
    waiting: PerSide<HashMap<String, String>>,
    ops: Vec<Op>,
    refreshes: Vec<Refresh>,
}

fn value(contact: &Contact, path: &FieldPath) -> Option<String> {
    contact
        .get(path)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl<'a> Planner<'a> {
    fn same(&self, path: &FieldPath, a: Option<&str>, b: Option<&str>) -> bool {
        self.inp.normalizer.same(path, a, b)
    }

    /// The value as side `to` should hold it (phone numbers in E.164 where
    /// its limits ask for it); `Err` with a warning when it cannot be converted.
    fn convert(
        &self,
        field: &SyncField,
        v: Option<&str>,
        to: Side,
    ) -> Result<Option<String>, String> {
        let Some(v) = v else { return Ok(None) };
        if field.path.class() == FieldClass::Phone && self.inp.fields.wants_e164(to) {
            return match self.inp.normalizer.phone(v) {
                Some(e164) => Ok(Some(e164)),
                None => Err(format!(
                    "{}: \"{v}\" is not a phone number {} can take in international format; it stays only in {}",
                    field.path,
                    self.inp.fields.names.get(to),
                    self.inp.fields.names.get(to.opposite())
                )),
            };
        }
        Ok(Some(v.to_string()))
    }

    /// Decide one field. `base` is `None` for a pair not linked yet.
    /// `newest`: the side changed last, where both stores tell.
    fn decide(
        &self,
        field: &SyncField,
        l: Option<&str>,
        r: Option<&str>,
        base: &BaseValue,
        newest: Option<Side>,
    ) -> Outcome {
        let path = &field.path;
        if self.same(path, l, r) {
            return Outcome::Settled;
        }
        let vals = PerSide::new(l, r);
        let write_to = |to: Side| Outcome::Write(to, vals.get(to.opposite()).map(str::to_string));
        let mode = self.inp.policy.mode;
        let winner = match mode {
            Mode::LeftWins => Some(Side::Left),
            Mode::RightWins => Some(Side::Right),
            _ => None,
        };
        if let Some(w) = winner {
            return if *field.writable.get(w.opposite()) {
                write_to(w.opposite())
            } else {
                Outcome::Settled
            };
        }
        // Which side changed since the base.
        let changed = match base {
            BaseValue::Known(b) => PerSide::new(
                !self.same(path, l, b.left.as_deref()),
                !self.same(path, r, b.right.as_deref()),
            ),
            // Never agreed: an empty side takes the other's value.
            BaseValue::Unknown => PerSide::new(l.is_some(), r.is_some()),
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
                (true, true) => match mode {
                    Mode::Import => Side::Left,
                    Mode::Export => Side::Right,
                    _ => match self.inp.policy.conflicts {
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
        // One-way modes hold the other direction back.
        let allowed = match mode {
            Mode::Import => to == Side::Left,
            Mode::Export => to == Side::Right,
            Mode::None => false,
            _ => true,
        };
        if !allowed {
            return Outcome::Pending;
        }
        write_to(to)
    }

    /// Compare a pair field by field: the changes, the conflicts, the fields
    /// held back, and warnings.
    fn compare(&self, l: &Record, r: &Record, base: Option<&Base>) -> Compared {
        let mut out = Compared::default();
        let newest = match (l.modified, r.modified) {
            (Some(a), Some(b)) if a > b => Some(Side::Left),
            (Some(a), Some(b)) if b > a => Some(Side::Right),
            _ => None,
        };
        for field in &self.inp.fields.fields {
            let path = &field.path;
            let lv = value(&l.contact, path);
            let rv = value(&r.contact, path);
            let bv = base.map_or(BaseValue::Unknown, |b| b.get(path));
            let outcome = self.decide(field, lv.as_deref(), rv.as_deref(), &bv, newest);
            let mut change = Change {
                field: *path,
                left: lv.clone(),
                right: rv.clone(),
                base: match &bv {
                    BaseValue::Known(b) => b.left.clone().or_else(|| b.right.clone()),
                    BaseValue::Unknown => None,
                },
                to: None,
                write: PerSide::default(),
            };
            match outcome {
                Outcome::Settled => {}
                Outcome::Pending => out.pending.push(*path),
                Outcome::Conflict => {
                    for side in Side::BOTH {
                        match self.convert(field, change_value(&change, side.opposite()), side) {
                            Ok(v) => *change.write.get_mut(side) = v,
                            Err(w) => out.warnings.push(w),
                        }
                    }
                    out.conflicts.push(change);
                }
                Outcome::Write(to, v) => match self.convert(field, v.as_deref(), to) {
                    Ok(v) => {
                        // Converting may make the two equal after all.
                        if self.same(path, v.as_deref(), change_value(&change, to))
                            && v.as_deref() == change_value(&change, to)
                        {
                            continue;
                        }
                        change.to = Some(to);
                        *change.write.get_mut(to) = v;
                        out.changes.push(change);
                    }
                    Err(w) => out.warnings.push(w),
                },
            }
        }
        out
    }

    /// Whether `side` keeps a stamp and the mode lets anything be written there.
    fn stamps(&self, side: Side) -> bool {
        let allowed = match self.inp.policy.mode {
            Mode::Import | Mode::RightWins => side == Side::Left,
            Mode::Export | Mode::LeftWins => side == Side::Right,
            Mode::Sync => true,
            Mode::None => false,
        };
        allowed && *self.inp.policy.stamps.get(side)
    }

    /// The stamps a linked pair lacks.
    fn stamp_needed(&self, l: &Record, r: &Record) -> PerSide<Option<StampWith>> {
        let recs = PerSide::new(l, r);
        let mut out = PerSide::default();
        for side in Side::BOTH {
            let (own, other) = (*recs.get(side), *recs.get(side.opposite()));
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

    fn push(&mut self, mut op: Op) {
        op.id = op_id(&op);
        self.ops.push(op);
    }

    fn record(&self, side: Side, id: Option<&str>) -> Option<&'a Record> {
        self.inp.snapshot.sides.get(side).get(id?)
    }

    fn side(&self, side: Side) -> &'a SideSnapshot {
        self.inp.snapshot.sides.get(side)
    }

    /// A linked pair (both present, both in scope) compared field by field.
    fn plan_pair(
        &mut self,
        link: Option<&Link>,
        l: &Record,
        r: &Record,
        evidence: Option<(Evidence, bool)>,
    ) {
        let revs = PerSide::new(Some(l.revision.clone()), Some(r.revision.clone()));
        if let Some(link) = link
            && self.inp.trust_revisions
            && link.revs == revs
        {
            return;
        }
        // Values are needed now; a record listed without them is never
        // compared (it would look emptied).
        if self.side(Side::Left).is_unparsed(&l.id) || self.side(Side::Right).is_unparsed(&r.id) {
            return;
        }
        let c = self.compare(l, r, link.map(|k| &k.base));
        let name = display(l, r);
        // A missing stamp is written with a link or an update, never on its
        // own (it is no change to the contact).
        let stamp = self.stamp_needed(l, r);
        let base_op = |kind: OpKind, changes: Vec<Change>, target: Target| Op {
            id: String::new(),
            kind,
            target,
            left_id: Some(l.id.clone()),
            right_id: Some(r.id.clone()),
            review: false,
            evidence: None,
            changes,
            warnings: Vec::new(),
            name: name.clone(),
            revs: revs.clone(),
            link: link.cloned(),
            after: LinkAfter::Linked,
            pending: c.pending.clone(),
            stamp: PerSide::default(),
        };
        let targets: Vec<Side> = c.changes.iter().filter_map(|ch| ch.to).collect();
        let mut warnings = c.warnings.clone();
        if !c.changes.is_empty() || evidence.is_some() {
            for to in Side::BOTH {
                if targets.contains(&to) || evidence.is_some() {
                    let from = if to == Side::Left { r } else { l };
                    warnings.extend(self.inp.fields.uncarried(&from.contact, to.opposite(), to));
                }
            }
        }
        // A row id reused by the CRM for a new person must not turn the old
        // person's card into the new one without a look.
        let mut replaced = Vec::new();
        if let Some(link) = link {
            for (side, rec) in [(Side::Left, l), (Side::Right, r)] {
                if let Some(was) = self.identity_changed(link, side, rec) {
                    replaced.push(self.replaced_text(
                        side,
                        rec,
                        &was,
                        "was it deleted and its id given to someone new?",
                    ));
                }
            }
        }
        warnings.extend(replaced.iter().cloned());
        let has_conflicts = !c.conflicts.is_empty();
        if let Some((evidence, review)) = evidence {
            let mut op = base_op(OpKind::Link, c.changes, Target::of(&targets));
            op.evidence = Some(evidence);
            op.review = review;
            for (side, rec) in [(Side::Left, l), (Side::Right, r)] {
                if let Some(why) = self.waiting.get(side).get(&rec.id) {
                    op.review = true;
                    warnings.push(why.clone());
                }
            }
            op.warnings = warnings;
            op.stamp = stamp;
            self.push(op);
        } else if !c.changes.is_empty() {
            let mut op = base_op(OpKind::Update, c.changes, Target::of(&targets));
            op.warnings = warnings;
            op.review = !replaced.is_empty();
            op.stamp = stamp;
            self.push(op);
        } else if !has_conflicts {
            // Nothing to write: only the state learns the new base.
            if let Some(link) = link {
                self.refresh(link, l, r, &c.pending);
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
            if self.inp.policy.conflicts == ConflictPolicy::Newest {
                op.warnings
                    .push("conflicts = \"newest\": not both stores tell when this contact changed (a `modified` column, a card's REV), or both at the same time; decide by hand".into());
            }
            self.push(op);
        }
    }

    fn refresh(&mut self, link: &Link, l: &Record, r: &Record, pending: &[FieldPath]) {
        let base = settled_base(
            self.inp.fields,
            &link.base,
            PerSide::new(&l.contact, &r.contact),
            pending,
        );
        let revs = if pending.is_empty() {
            PerSide::new(Some(l.revision.clone()), Some(r.revision.clone()))
        } else {
            PerSide::default()
        };
        if base != link.base || revs != link.revs {
            self.refreshes.push(Refresh::Put(Link {
                base,
                revs,
                ..link.clone()
            }));
        }
    }

    fn create(&mut self, from: Side, rec: &Record) {
        let to = from.opposite();
        let mut changes = Vec::new();
        let mut warnings = Vec::new();
        for field in &self.inp.fields.fields {
            if !*field.writable.get(to) {
                continue;
            }
            let Some(v) = value(&rec.contact, &field.path) else {
                continue;
            };
            match self.convert(field, Some(&v), to) {
                Ok(w) => {
                    let mut change = Change {
                        field: field.path,
                        left: None,
                        right: None,
                        base: None,
                        to: Some(to),
                        write: PerSide::default(),
                    };
                    *change.write.get_mut(to) = w;
                    match from {
                        Side::Left => change.left = Some(v),
                        Side::Right => change.right = Some(v),
                    }
                    changes.push(change);
                }
                Err(w) => warnings.push(w),
            }
        }
        warnings.extend(self.inp.fields.uncarried(&rec.contact, from, to));
        // A second copy of a person is worse than a create that waits.
        let alike = self
            .lookalikes
            .get(to)
            .get_or_init(|| Lookalikes::new(&self.side(to).records, self.inp.normalizer))
            .of(rec);
        let mut review = !alike.is_empty();
        if let Some(why) = self.waiting.get(from).get(&rec.id) {
            review = true;
            warnings.push(why.clone());
        }
        if !alike.is_empty() {
            let names: Vec<String> = alike
                .iter()
                .take(3)
                .map(|r| format!("{} ({})", r.contact.display_name(), r.id))
                .collect();
            warnings.push(format!(
                "may be the same person as {}{} in {}: link by hand (`abgleich link`) or accept to create",
                names.join(", "),
                if alike.len() > 3 { ", …" } else { "" },
                self.inp.fields.names.get(to)
            ));
        }
        let mut ids = PerSide::new(None, None);
        *ids.get_mut(from) = Some(rec.id.clone());
        let mut revs = PerSide::new(None, None);
        *revs.get_mut(from) = Some(rec.revision.clone());
        let mut stamp = PerSide::default();
        if self.stamps(to) {
            *stamp.get_mut(to) = Some(StampWith::Id(identity(rec)));
        }
        if self.stamps(from) {
            *stamp.get_mut(from) = Some(StampWith::Created);
        }
        self.push(Op {
            id: String::new(),
            kind: OpKind::Create,
            target: Target::of(&[to]),
            left_id: ids.left,
            right_id: ids.right,
            review,
            evidence: None,
            changes,
            warnings,
            name: rec.contact.display_name(),
            revs,
            link: None,
            after: LinkAfter::Linked,
            pending: Vec::new(),
            stamp,
        });
    }

    /// A pair whose `gone` side was deleted (or whose side left the scope).
    fn one_sided(
        &mut self,
        link: &Link,
        gone: Side,
        kept: &Record,
        scope_exit: bool,
        replaced: Option<String>,
    ) {
        if self.side(gone.opposite()).is_unparsed(&kept.id) {
            return;
        }
        let mode = self.inp.policy.mode;
        let kept_side = gone.opposite();
        let ids = link.ids.clone();
        let mut revs = PerSide::new(None, None);
        *revs.get_mut(kept_side) = Some(kept.revision.clone());
        if scope_exit {
            *revs.get_mut(gone) = self.record(gone, link.id(gone)).map(|r| r.revision.clone());
        }
        let mut op = Op {
            id: String::new(),
            kind: OpKind::Unlink,
            target: Target::of(&[kept_side]),
            left_id: ids.left.clone(),
            right_id: ids.right.clone(),
            review: false,
            evidence: None,
            changes: Vec::new(),
            warnings: Vec::new(),
            name: kept.contact.display_name(),
            revs,
            link: Some(link.clone()),
            after: LinkAfter::Linked,
            pending: Vec::new(),
            stamp: PerSide::default(),
        };
        let gone_name = self.inp.fields.names.get(gone).clone();
        if scope_exit {
            let created_here = link.created_on == Some(kept_side);
            if self.inp.policy.scope_exit == ScopeExit::DeleteIfCreated
                && created_here
                && mode == Mode::Sync
            {
                op.kind = OpKind::Delete;
                op.after = LinkAfter::Drop;
                op.warnings.push(format!(
                    "left the sync scope in {gone_name}; the sync created this copy"
                ));
            } else {
                op.after = LinkAfter::Tombstone {
                    gone: None,
                    reason: format!("left the sync scope in {gone_name}"),
                };
            }
            self.push(op);
            return;
        }
        // Deleted on `gone`.
        match mode {
            Mode::Sync => {}
            // One-way modes never delete; the winner puts a lost copy back.
            Mode::LeftWins | Mode::RightWins => {
                let winner = if mode == Mode::LeftWins {
                    Side::Left
                } else {
                    Side::Right
                };
                if kept_side == winner {
                    // Re-create on the loser and link anew.
                    self.refreshes.push(Refresh::Drop(link.link_id));
                    self.create(winner, kept);
                }
                return;
            }
            Mode::Import | Mode::Export | Mode::None => return,
        }
        let policy = *self.inp.policy.deletes.get(gone);
        let changed_since = link.revs.get(kept_side).as_deref() != Some(kept.revision.as_str())
            && self.changed_since_base(link, kept_side, kept);
        match policy {
            DeletePolicy::Keep => {
                op.after = LinkAfter::Tombstone {
                    gone: Some(gone),
                    reason: format!(
                        "deleted in {gone_name} (was {})",
                        link.id(gone).unwrap_or("?")
                    ),
                };
                op.warnings.push(format!(
                    "deleted in {gone_name}; kept in {} and not created again until `abgleich forget`",
                    self.inp.fields.names.get(kept_side)
                ));
            }
            DeletePolicy::Propagate | DeletePolicy::Ask => {
                op.kind = OpKind::Delete;
                op.after = LinkAfter::Drop;
                if policy == DeletePolicy::Ask {
                    op.review = true;
                }
                if changed_since {
                    op.review = true;
                    op.warnings.push(format!(
                        "changed in {} since the last sync",
                        self.inp.fields.names.get(kept_side)
                    ));
                }
            }
        }
        if let Some(why) = replaced {
            op.review = true;
            op.warnings.push(why);
        } else if link.id(gone).is_none() && op.kind == OpKind::Delete {
            // The id went to a new contact in an earlier apply while this
            // delete waited: it still waits.
            op.review = true;
            op.warnings.push(format!(
                "its id in {gone_name} was given to a new contact; the old one is taken as deleted there"
            ));
        }
        self.push(op);
    }

    /// Whether `rec`, linked on `side`, is now someone else than the contact
    /// the link was made for (a store that gave a deleted record's id to a
    /// new one, as SQLite does): the name it had at the last sync, and why.
    ///
    /// Someone else: every name part the contact had is now different (and
    /// it has a name). Or, where the store reuses ids, its family name
    /// changed under the same given name and nothing else says it is the
    /// same person (a new surname alone is): none of the e-mail addresses
    /// and phone numbers it had at the last sync is left, or, when it had
    /// none, one of its addresses or numbers is an unlinked contact's on
    /// the other side. A new family name with nothing else to tell is the
    /// same person under a new surname.
    fn identity_changed(&self, link: &Link, side: Side, rec: &Record) -> Option<Replaced> {
        // Unchanged since the last sync, or listed without its values.
        if link.revs.get(side).as_deref() == Some(rec.revision.as_str())
            || self.side(side).is_unparsed(&rec.id)
        {
            return None;
        }
        let was = |path: FieldPath| match link.base.get(&path) {
            BaseValue::Known(b) => b.get(side).clone().unwrap_or_default(),
            BaseValue::Unknown => String::new(),
        };
        let (given, family) = (was(FieldPath::NameGiven), was(FieldPath::NameFamily));
        let name = format!("{given} {family}").trim().to_string();
        let fold = |t: &str| crate::model::fold::german(t);
        let parts = [(&given, &rec.contact.given), (&family, &rec.contact.family)];
        // Every name part the contact had is now different, and it has a
        // name (a new surname alone is the same person).
        let had: Vec<_> = parts
            .iter()
            .filter(|(old, _)| !fold(old).is_empty())
            .collect();
        let named = parts.iter().any(|(_, new)| !fold(new).is_empty());
        if named && !had.is_empty() && had.iter().all(|(old, new)| fold(old) != fold(new)) {
            return Some(Replaced {
                was: name,
                how: String::new(),
            });
        }
        // A new family name under the same given name, in a store that
        // gives deleted records' ids to new ones: the addresses and numbers
        // decide.
        let (old_family, new_family) = (fold(&family), fold(&rec.contact.family));
        if !*self.inp.policy.reuses_ids.get(side)
            || old_family.is_empty()
            || new_family.is_empty()
            || old_family == new_family
        {
            return None;
        }
        let normalizer = self.inp.normalizer;
        let mut known: HashSet<String> = HashSet::new();
        for field in &self.inp.fields.fields {
            let tag = match field.path.class() {
                FieldClass::Email => "e",
                FieldClass::Phone => "t",
                _ => continue,
            };
            if let BaseValue::Known(b) = link.base.get(&field.path)
                && let Some(v) = b.get(side)
            {
                let v = normalizer.normalize(&field.path, v);
                if !v.is_empty() {
                    known.insert(format!("{tag}:{v}"));
                }
            }
        }
        if !known.is_empty() {
            let email = FieldPath::Email {
                kind: None,
                index: 0,
            };
            let phone = FieldPath::Phone {
                kind: Kind::Work,
                index: 0,
            };
            let emails = rec
                .contact
                .emails
                .iter()
                .map(|e| format!("e:{}", normalizer.normalize(&email, &e.value)));
            let phones = rec
                .contact
                .phones
                .iter()
                .map(|p| format!("t:{}", normalizer.normalize(&phone, &p.value)));
            if emails.chain(phones).any(|k| known.contains(&k)) {
                return None;
            }
            return Some(Replaced {
                was: name,
                how: " and none of its e-mail addresses and phone numbers".into(),
            });
        }
        let other = side.opposite();
        let free = self.free_keys.get(other).get_or_init(|| {
            let linked: HashSet<&str> = self.inp.links.iter().filter_map(|l| l.id(other)).collect();
            self.side(other)
                .records
                .iter()
                .filter(|r| r.in_scope && !linked.contains(r.id.as_str()))
                .flat_map(|r| self.contact_keys(r))
                .collect()
        });
        self.contact_keys(rec)
            .iter()
            .any(|k| free.contains(k))
            .then(|| Replaced {
                was: name,
                how: format!(
                    ", whose e-mail address or phone number is an unlinked contact's in {}",
                    self.inp.fields.names.get(other)
                ),
            })
    }

    /// The e-mail addresses and phone numbers by which the matcher would
    /// link `rec` (as far as the match rules use them).
    fn contact_keys(&self, rec: &Record) -> Vec<String> {
        let rules = &self.inp.policy.match_rules;
        let mut keys = Vec::new();
        if rules.contains(&MatchRule::Email) {
            keys.extend(
                rec.contact
                    .emails
                    .iter()
                    .map(|e| e.value.trim().to_lowercase())
                    .filter(|e| !e.is_empty())
                    .map(|e| format!("e:{e}")),
            );
        }
        if rules.contains(&MatchRule::Phone) {
            keys.extend(
                rec.contact
                    .phones
                    .iter()
                    .filter_map(|p| self.inp.normalizer.phone(&p.value))
                    .map(|p| format!("t:{p}")),
            );
        }
        keys
    }

    /// The reason for an operation on a pair whose `side` holds someone else.
    fn replaced_text(&self, side: Side, rec: &Record, r: &Replaced, tail: &str) -> String {
        format!(
            "{} {} was {} at the last sync and now holds {}{}: {tail}",
            self.inp.fields.names.get(side),
            rec.id,
            r.was,
            rec.contact.display_name(),
            r.how
        )
    }

    fn changed_since_base(&self, link: &Link, side: Side, rec: &Record) -> bool {
        self.inp.fields.fields.iter().any(|f| {
            let b = link.base.get(&f.path);
            match b {
                BaseValue::Known(b) => {
                    let now = value(&rec.contact, &f.path);
                    !self.same(&f.path, now.as_deref(), b.get(side).as_deref())
                }
                BaseValue::Unknown => false,
            }
        })
    }

    fn run(mut self) -> (Vec<Op>, Vec<Refresh>) {
        let snap = self.inp.snapshot;
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
        // Unlinked records in scope: match, then create.
        let free: PerSide<Vec<&Record>> = PerSide::new(
            free_records(&snap.sides.left, &linked.left),
            free_records(&snap.sides.right, &linked.right),
        );
        let matcher = Matcher {
            rules: &self.inp.policy.match_rules,
            stamps: self.inp.policy.stamps.clone(),
            normalizer: self.inp.normalizer,
        };
        let found = matcher.find(PerSide::new(&free.left[..], &free.right[..]));
        let mut matched = PerSide::new(vec![false; free.left.len()], vec![false; free.right.len()]);
        for m in &found {
            matched.left[m.left] = true;
            matched.right[m.right] = true;
            let (l, r) = (free.left[m.left], free.right[m.right]);
            self.plan_pair(None, l, r, Some((m.evidence, m.review)));
        }
        for from in Side::BOTH {
            let allowed = match mode {
                Mode::Sync => true,
                Mode::LeftWins | Mode::Export => from == Side::Left,
                Mode::RightWins | Mode::Import => from == Side::Right,
                Mode::None => false,
            };
            if !allowed {
                continue;
            }
            for (i, rec) in free.get(from).iter().enumerate() {
                if !matched.get(from)[i] {
                    self.create(from, rec);
                }
            }
        }
        (self.ops, self.refreshes)
    }
}

fn change_value(change: &Change, side: Side) -> Option<&str> {
    match side {
        Side::Left => change.left.as_deref(),
        Side::Right => change.right.as_deref(),
    }
}

#[derive(Default)]
struct Compared {
    changes: Vec<Change>,
    conflicts: Vec<Change>,
    pending: Vec<FieldPath>,
    warnings: Vec<String>,
}

fn free_records<'a>(side: &'a SideSnapshot, linked: &HashSet<&str>) -> Vec<&'a Record> {
    side.records
        .iter()
        .filter(|r| r.in_scope && !linked.contains(r.id.as_str()))
        .collect()
}

fn display(l: &Record, r: &Record) -> String {
    let name = l.contact.display_name();
    if name.is_empty() {
        r.contact.display_name()
    } else {
        name
    }
}

/// The base after a pair agrees: every field's current values, except the
/// fields held back, which keep their old base.
pub fn settled_base(
    fields: &FieldSet,
    old: &Base,
    contacts: PerSide<&Contact>,
    pending: &[FieldPath],
) -> Base {
    let mut base = Base::default();
    for field in &fields.fields {
        let path = &field.path;
        let v = if pending.contains(path) {
            old.get(path)
        } else {
            BaseValue::Known(PerSide::new(
                value(contacts.left, path),
                value(contacts.right, path),
            ))
        };
        base.set(*path, v);
    }
    base
}

/// Compute the plan. Pure: reads its inputs, writes nothing.
pub fn plan(inp: &Inputs<'_>) -> Plan {
    let planner = Planner {
        inp,
        lookalikes: PerSide::default(),
        free_keys: PerSide::default(),
        waiting: PerSide::default(),
        ops: Vec::new(),
        refreshes: Vec::new(),
    };
    let (mut operations, refreshes) = planner.run();
    operations.sort_by(|a, b| {
        (a.kind, &a.name, &a.left_id, &a.right_id).cmp(&(b.kind, &b.name, &b.left_id, &b.right_id))
    });
    let mut plan = Plan {
        summary: Summary::default(),
        operations,
        refusals: Vec::new(),
        refreshes,
        unreadable: Vec::new(),
        mode: inp.policy.mode.to_string(),
    };
    plan.summarise();
    plan.refusals = refusals(inp, &plan);
    for side in Side::BOTH {
        for u in &inp.snapshot.sides.get(side).unreadable {
            plan.unreadable.push(u.to_string());
        }
    }
    plan
}

/// What makes a plan unsafe to apply without `--force`.
fn refusals(inp: &Inputs<'_>, plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let mut linked: PerSide<usize> = PerSide::default();
    for link in inp.links.iter().filter(|l| l.tombstone.is_none()) {
        for side in Side::BOTH {
            if link.id(side).is_some() {
                *linked.get_mut(side) += 1;
            }
        }
    }
    let mut deletes: HashMap<Side, usize> = HashMap::new();
    for op in plan.operations.iter().filter(|o| o.kind == OpKind::Delete) {
        for side in Side::BOTH {
            if op.target.includes(side) {
                *deletes.entry(side).or_default() += 1;
            }
        }
    }
    for side in Side::BOTH {
        let snap = inp.snapshot.sides.get(side);
        let name = inp.fields.names.get(side);
        if *linked.get(side) > 0 && snap.records.is_empty() {
            out.push(format!(
                "{name} reads as empty, but {} of its contacts were linked at the last sync; is it the right store?",
                linked.get(side)
            ));
        }
        let n = deletes.get(&side).copied().unwrap_or(0);
        let total = snap.records.len().max(1);
        if n > 0 && n * 100 > total * inp.policy.max_delete_percent as usize {
            out.push(format!(
                "the plan deletes {n} of {} contacts in {name}, more than max_delete_percent = {}",
                snap.records.len(),
                inp.policy.max_delete_percent
            ));
        }
    }
    out
}

/// A fingerprint of what the links' revisions were taken under; a change of
/// mapping or mode makes the planner compare every pair again.
pub fn fingerprint(fields: &FieldSet, policy: &Policy) -> String {
    let text = format!(
        "{:?}|{:?}|{:?}",
        fields.fields,
        fields.limits,
        policy.mode.as_str()
    );
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}
