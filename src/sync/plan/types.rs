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
///
/// A plan of 100,000 creates holds about 20 of these per contact, so the
/// five texts share one allocation rather than five strings.
#[derive(Clone, PartialEq)]
pub struct Change {
    pub field: FieldPath,
    pub to: Option<Side>,
    /// The five texts one after the other (read left, read right, base,
    /// written left, written right), each there or not.
    text: Box<str>,
    /// Where each text but the last ends in `text` (it starts where the
    /// one before it ends; the last ends with `text`). Texts longer than
    /// `u16` offsets reach (a photo's, a long note's) are marked `LONG`
    /// and `text` begins with these four ends in decimal instead.
    ends: [u16; 4],
    /// Bit `i`: text `i` is there; `LONG`: the ends are in `text`.
    some: u8,
    /// Bit `s`: the value written to side `s` is the one read on the
    /// other side (not held twice).
    as_read: u8,
}

// A plan of 100,000 creates holds about two million of these.
const _: () = assert!(std::mem::size_of::<Change>() <= 48);

/// `Change::some`'s mark of texts whose ends are written out in `text`.
const LONG: u8 = 1 << 7;
/// Digits of each end written out in a long change's `text`.
const END_DIGITS: usize = 20;

/// What a `Change` is made of, as separate texts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeTexts<'a> {
    /// The value read on each side.
    pub values: PerSide<Option<&'a str>>,
    pub base: Option<&'a str>,
    /// The value written to each side (for a conflict: per side, should
    /// that side lose; otherwise only `to`'s).
    pub write: PerSide<Option<&'a str>>,
}

impl Change {
    pub fn new(field: FieldPath, to: Option<Side>, t: ChangeTexts<'_>) -> Change {
        let mut as_read = 0u8;
        let mut parts: [Option<&str>; 5] = [
            t.values.left,
            t.values.right,
            t.base,
            t.write.left,
            t.write.right,
        ];
        for side in Side::BOTH {
            let write = &mut parts[WRITE + slot(side)];
            if write.is_some() && *write == *t.values.get(side.opposite()) {
                as_read |= 1 << slot(side);
                *write = None;
            }
        }
        // Where each text but the last ends, and the length of all.
        let (mut at, mut len, mut some) = ([0usize; 4], 0, 0u8);
        for (i, part) in parts.iter().enumerate() {
            if let Some(part) = part {
                len += part.len();
                some |= 1 << i;
            }
            if let Some(end) = at.get_mut(i) {
                *end = len;
            }
        }
        let long = u16::try_from(len).is_err();
        let mut text = String::with_capacity(if long { 4 * END_DIGITS } else { 0 } + len);
        let mut ends = [0u16; 4];
        if long {
            some |= LONG;
            for end in at {
                text.push_str(&format!("{end:0width$}", width = END_DIGITS));
            }
        } else {
            // Not long: every end fits.
            ends = at.map(|end| u16::try_from(end).unwrap_or(u16::MAX));
        }
        text.extend(parts.iter().flatten().copied());
        Change {
            field,
            to,
            text: text.into_boxed_str(),
            ends,
            some,
            as_read,
        }
    }

    /// Text `i` (see `text`).
    fn get(&self, i: usize) -> Option<&str> {
        if i >= WRITE && self.as_read & (1 << (i - WRITE)) != 0 {
            // The other side's read value: side `s` reads at `1 - s`.
            return self.get(1 - (i - WRITE));
        }
        if self.some & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 {
            self.header()
        } else {
            self.end(i - 1)?
        };
        self.text.get(start..self.end(i)?)
    }

    /// Where the texts begin in `text`: after the ends of a long change.
    fn header(&self) -> usize {
        if self.some & LONG != 0 {
            4 * END_DIGITS
        } else {
            0
        }
    }

    /// Where text `i` ends in `text`.
    fn end(&self, i: usize) -> Option<usize> {
        let Some(&end) = self.ends.get(i) else {
            return Some(self.text.len());
        };
        if self.some & LONG == 0 {
            return Some(usize::from(end));
        }
        let digits = self.text.get(i * END_DIGITS..(i + 1) * END_DIGITS)?;
        Some(self.header() + digits.parse::<usize>().ok()?)
    }

    /// The value read on `side`.
    pub fn value(&self, side: Side) -> Option<&str> {
        self.get(slot(side))
    }

    /// The values read on both sides.
    pub fn values(&self) -> PerSide<Option<&str>> {
        PerSide::new(self.value(Side::Left), self.value(Side::Right))
    }

    /// The base's value.
    pub fn base(&self) -> Option<&str> {
        self.get(BASE)
    }

    /// The value this change writes to `side`, once `to` is known.
    pub fn value_for(&self, side: Side) -> Option<&str> {
        self.get(WRITE + slot(side))
    }
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("field", &self.field)
            .field("to", &self.to)
            .field("texts", &(0..5).map(|i| self.get(i)).collect::<Vec<_>>())
            .finish()
    }
}

/// `plan --json`'s form: `{"field", "left", "right", "base", "to"}`.
impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Change", 5)?;
        st.serialize_field("field", &self.field)?;
        st.serialize_field("left", &self.value(Side::Left))?;
        st.serialize_field("right", &self.value(Side::Right))?;
        st.serialize_field("base", &self.base())?;
        match self.to {
            Some(to) => st.serialize_field("to", &to)?,
            None => st.skip_field("to")?,
        }
        st.end()
    }
}

/// Where a change's texts stand in its `text`: the values read (left,
/// right), the base, the values written (left, right).
const BASE: usize = 2;
const WRITE: usize = 3;

fn slot(side: Side) -> usize {
    match side {
        Side::Left => 0,
        Side::Right => 1,
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
            c.field,
            c.value(Side::Left),
            c.value(Side::Right),
            c.to
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

    fn change(texts: [Option<&str>; 5], to: Option<Side>) -> Change {
        let texts = ChangeTexts {
            values: PerSide::new(texts[0], texts[1]),
            base: texts[2],
            write: PerSide::new(texts[3], texts[4]),
        };
        Change::new(FieldPath::Title, to, texts)
    }

    #[test]
    fn change_gives_back_each_text_it_was_made_of() {
        // Empty texts are texts, not missing ones; a written value that is
        // the other side's read one, and one that is not.
        let all = [Some("Dr."), Some(""), Some("Prof."), Some("x"), Some("Dr.")];
        let c = change(all, None);
        assert_eq!(c.values(), PerSide::new(Some("Dr."), Some("")));
        assert_eq!(c.base(), Some("Prof."));
        assert_eq!(c.value_for(Side::Left), Some("x"));
        assert_eq!(c.value_for(Side::Right), Some("Dr."));
        let none = change([None; 5], Some(Side::Right));
        assert_eq!(none.values(), PerSide::new(None, None));
        assert_eq!((none.base(), none.value_for(Side::Right)), (None, None));
        // A conflict whose both sides would receive the other's value.
        let both = change([Some("a"), Some("b"), None, Some("b"), Some("a")], None);
        assert_eq!(both.value_for(Side::Left), Some("b"));
        assert_eq!(both.value_for(Side::Right), Some("a"));
        assert_eq!(both.values(), PerSide::new(Some("a"), Some("b")));
        // Texts past what 16-bit offsets reach (a photo, a long note).
        let photo = "ä".repeat(40_000);
        let long = change(
            [Some(&photo), Some("x"), None, Some("y"), Some(&photo)],
            Some(Side::Right),
        );
        assert_eq!(long.values(), PerSide::new(Some(photo.as_str()), Some("x")));
        assert_eq!(long.base(), None);
        assert_eq!(long.value_for(Side::Left), Some("y"));
        assert_eq!(long.value_for(Side::Right), Some(photo.as_str()));
        // Multi-byte text keeps its boundaries.
        let wide = change(
            [Some("Müller"), None, Some("Groß"), None, Some("Mueller")],
            None,
        );
        assert_eq!(wide.value(Side::Left), Some("Müller"));
        assert_eq!(wide.base(), Some("Groß"));
        assert_eq!(wide.value_for(Side::Right), Some("Mueller"));
    }

    #[test]
    fn change_writes_plan_json_form() {
        let c = change(
            [Some("Dr."), None, Some("Dr."), None, Some("Dr.")],
            Some(Side::Right),
        );
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"field":"title","left":"Dr.","right":null,"base":"Dr.","to":"right"}"#
        );
        let conflict = change([Some("a"), Some("b"), None, None, None], None);
        assert_eq!(
            serde_json::to_string(&conflict).unwrap(),
            r#"{"field":"title","left":"a","right":"b","base":null}"#
        );
    }
}
