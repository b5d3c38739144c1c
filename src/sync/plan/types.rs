//! The plan's plain data: the policy it follows, its operations and what
//! the planner reads. Nothing here decides anything.

use serde::{Deserialize, Serialize};

use crate::config::{Config, ConflictPolicy, DeletePolicy, MatchRule, Mode, ScopeExit};
use crate::model::contact::FieldPath;
use crate::model::normal::Normalizer;
use crate::model::record::Record;
use crate::model::{PerSide, Side};
use crate::sync::fields::FieldSet;
use crate::sync::matcher::Evidence;
use crate::sync::snapshot::Snapshot;
use crate::sync::state::Link;

use super::warning::Warning;

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
            stamps: config.stores().map(|s| s.stamp.is_some()),
            reuses_ids: config.stores().map(|s| s.kind.is_sql()),
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
    /// The value read on each side (`"left"`, `"right"` in JSON).
    #[serde(flatten)]
    pub values: PerSide<Option<String>>,
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

/// One operation of the plan. `plan --json` writes it through
/// `crate::text::PlanJson`, with its warnings in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub id: String,
    pub kind: OpKind,
    pub target: Target,
    /// The record on each side.
    pub ids: PerSide<Option<String>>,
    pub review: bool,
    pub evidence: Option<Evidence>,
    pub changes: Vec<Change>,
    pub warnings: Vec<Warning>,
    /// A name to show for the contact.
    pub name: String,
    /// The revisions the plan read; writes are conditional on them.
    pub revs: PerSide<Option<String>>,
    /// The existing link or tombstone (`None`: not linked yet).
    pub link: Option<Box<Link>>,
    pub after: LinkAfter,
    /// Fields held back (one-way mode): the base keeps its old value.
    pub pending: Vec<FieldPath>,
    /// Per side: what to write into its stamp (`None`: nothing).
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
        self.ids.get(side).as_deref()
    }

    /// The ops of one pair are applied together; this is the pair's key.
    pub fn pair_key(&self) -> PerSide<Option<String>> {
        self.ids.clone()
    }
}

/// A state change that needs no store write (a base both sides reached on
/// their own, a pair gone on both sides).
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh {
    Put(Box<Link>),
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

/// A plan; `plan --json` writes it through `crate::text::PlanJson`.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub summary: Summary,
    pub operations: Vec<Op>,
    /// Why applying this plan would be unsafe (refused unless `--force`).
    pub refusals: Vec<String>,
    pub refreshes: Vec<Refresh>,
    /// Records that could not be read, per side, for the report.
    pub unreadable: Vec<String>,
    pub mode: String,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    pub(crate) fn summarise(&mut self) {
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
pub(super) fn op_id(op: &Op) -> String {
    let mut text = format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        op.kind.as_str(),
        op.ids.left,
        op.ids.right,
        op.revs.left,
        op.revs.right,
        op.target
    );
    for c in &op.changes {
        text.push_str(&format!(
            "|{}={:?}/{:?}/{:?}",
            c.field, c.values.left, c.values.right, c.to
        ));
    }
    crate::model::record::hash_revision(text.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_reads_back_from_json() {
        let text = r#"{"field":"title","left":"Dr.","right":null,"base":"Dr.","to":"left"}"#;
        let read: Change = serde_json::from_str(text).unwrap();
        assert_eq!(read.values, PerSide::new(Some("Dr.".into()), None));
        assert_eq!(read.base.as_deref(), Some("Dr."));
        assert_eq!(read.to, Some(Side::Left));
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
    }
}
