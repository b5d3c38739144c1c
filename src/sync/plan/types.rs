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
/// A view into its operation's [`Changes`], which hold the texts.
#[derive(Clone, Copy, PartialEq)]
pub struct Change<'a> {
    pub field: FieldPath,
    pub to: Option<Side>,
    /// Bit `i`: text `i` is held in `text` (see [`Changes`]).
    some: u8,
    /// Bit `s`: the value written to side `s` is the one read on the
    /// other side (not held twice).
    as_read: u8,
    /// This change's texts, from its first on (each its length, then it).
    text: &'a [u8],
}

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

/// An operation's changes, their texts in one allocation.
///
/// A plan of 100,000 creates holds about 20 changes per contact: a text of
/// its own for each of their five texts, or even for each change, would be
/// two million allocations. Each change keeps its field in `fields`; its
/// marks (two bytes: which texts it holds and which written value is the
/// one read, then its `to`) and its texts (read left, read right, base,
/// written left, written right, each there or not) follow those of the
/// changes before it in `text`, each text as its length (LEB128) and its
/// UTF-8 bytes.
#[derive(Clone, Default, PartialEq)]
pub struct Changes {
    fields: Vec<FieldPath>,
    text: Vec<u8>,
}

// A plan of 100,000 creates holds about two million of these: the marks
// beside a field would make each 24 bytes.
const _: () = assert!(std::mem::size_of::<FieldPath>() <= 16);

/// `to` as its mark byte, and back.
fn to_mark(to: Option<Side>) -> u8 {
    match to {
        None => 0,
        Some(Side::Left) => 1,
        Some(Side::Right) => 2,
    }
}

fn mark_to(mark: u8) -> Option<Side> {
    match mark {
        1 => Some(Side::Left),
        2 => Some(Side::Right),
        _ => None,
    }
}

impl Changes {
    /// Add the change of `field` made of `t`.
    pub fn push(&mut self, field: FieldPath, to: Option<Side>, t: ChangeTexts<'_>) {
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
        let marks = self.text.len();
        self.text.extend_from_slice(&[0, to_mark(to)]);
        let mut some = 0u8;
        for (i, part) in parts.iter().enumerate() {
            if let Some(part) = part {
                some |= 1 << i;
                push_len(&mut self.text, part.len());
                self.text.extend_from_slice(part.as_bytes());
            }
        }
        self.text[marks] = some | (as_read << 5);
        self.fields.push(field);
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Change `i`.
    pub fn get(&self, i: usize) -> Option<Change<'_>> {
        self.iter().nth(i)
    }

    pub fn iter(&self) -> ChangesIter<'_> {
        ChangesIter {
            fields: self.fields.iter(),
            text: &self.text,
        }
    }

    /// No room to spare: a plan holds one of these per operation.
    pub fn shrink_to_fit(&mut self) {
        self.fields.shrink_to_fit();
        self.text.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a Changes {
    type Item = Change<'a>;
    type IntoIter = ChangesIter<'a>;

    fn into_iter(self) -> ChangesIter<'a> {
        self.iter()
    }
}

/// The changes of a [`Changes`], in order.
pub struct ChangesIter<'a> {
    fields: std::slice::Iter<'a, FieldPath>,
    /// The marks and texts of the changes not yet given.
    text: &'a [u8],
}

impl<'a> Iterator for ChangesIter<'a> {
    type Item = Change<'a>;

    fn next(&mut self) -> Option<Change<'a>> {
        let field = *self.fields.next()?;
        let (&[marks, to], texts) = self.text.split_first_chunk::<2>()?;
        let some = marks & ALL_TEXTS;
        // Past this change's texts: where the next one's begin.
        let mut rest = texts;
        for _ in 0..some.count_ones() {
            let (len, after) = take_len(rest)?;
            rest = after.get(len..)?;
        }
        let text = texts.get(..texts.len() - rest.len())?;
        self.text = rest;
        Some(Change {
            field,
            to: mark_to(to),
            some,
            as_read: marks >> 5,
            text,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl ExactSizeIterator for ChangesIter<'_> {}

/// The five texts' bits in `some`.
const ALL_TEXTS: u8 = 0b1_1111;

fn push_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let low = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// A length `push_len` wrote at the start of `bytes`, and what follows it.
fn take_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut len = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        len |= usize::from(b & 0x7f).checked_shl(7 * u32::try_from(i).ok()?)?;
        if b & 0x80 == 0 {
            return Some((len, bytes.get(i + 1..)?));
        }
    }
    None
}

impl<'a> Change<'a> {
    /// Text `i` (see [`Changes`]).
    fn get(&self, i: usize) -> Option<&'a str> {
        if i >= WRITE && self.as_read & (1 << (i - WRITE)) != 0 {
            // The other side's read value: side `s` reads at `1 - s`.
            return self.get(1 - (i - WRITE));
        }
        if self.some & (1 << i) == 0 {
            return None;
        }
        let mut rest = self.text;
        for j in 0..5 {
            if self.some & (1 << j) == 0 {
                continue;
            }
            let (len, after) = take_len(rest)?;
            if j == i {
                return std::str::from_utf8(after.get(..len)?).ok();
            }
            rest = after.get(len..)?;
        }
        None
    }

    /// The value read on `side`.
    pub fn value(&self, side: Side) -> Option<&'a str> {
        self.get(slot(side))
    }

    /// The values read on both sides.
    pub fn values(&self) -> PerSide<Option<&'a str>> {
        PerSide::new(self.value(Side::Left), self.value(Side::Right))
    }

    /// The base's value.
    pub fn base(&self) -> Option<&'a str> {
        self.get(BASE)
    }

    /// The value this change writes to `side`, once `to` is known.
    pub fn value_for(&self, side: Side) -> Option<&'a str> {
        self.get(WRITE + slot(side))
    }
}

impl std::fmt::Debug for Change<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("field", &self.field)
            .field("to", &self.to)
            .field("texts", &(0..5).map(|i| self.get(i)).collect::<Vec<_>>())
            .finish()
    }
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// `plan --json`'s form: `{"field", "left", "right", "base", "to"}`.
impl Serialize for Change<'_> {
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

/// A list of [`Change`]s in `plan --json`'s form.
impl Serialize for Changes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Where a change's texts stand: the values read (left, right), the base,
/// the values written (left, right).
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
    pub changes: Changes,
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
    use std::fmt::Write;
    // The text is hashed as it is written, never held (a plan of 100,000
    // creates would build 100,000 texts of a whole contact each); the
    // digest is that of the whole text.
    let mut h = Hashing(xxhash_rust::xxh3::Xxh3::new());
    // Writing into a hasher cannot fail.
    let _ = write!(
        h,
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        op.kind.as_str(),
        op.ids.left,
        op.ids.right,
        op.revs.left,
        op.revs.right,
        op.target
    );
    for c in &op.changes {
        let _ = write!(
            h,
            "|{}={:?}/{:?}/{:?}",
            c.field,
            c.value(Side::Left),
            c.value(Side::Right),
            c.to
        );
    }
    format!("{:016x}", h.0.digest())
}

/// Text written into it goes into the hash.
struct Hashing(xxhash_rust::xxh3::Xxh3);

impl std::fmt::Write for Hashing {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
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

    fn changes(all: &[([Option<&str>; 5], Option<Side>)]) -> Changes {
        let mut out = Changes::default();
        for (texts, to) in all {
            let texts = ChangeTexts {
                values: PerSide::new(texts[0], texts[1]),
                base: texts[2],
                write: PerSide::new(texts[3], texts[4]),
            };
            out.push(FieldPath::Title, *to, texts);
        }
        out
    }

    #[test]
    fn changes_give_back_each_text_they_were_made_of() {
        // Empty texts are texts, not missing ones; a written value that is
        // the other side's read one, and one that is not.
        let all = [Some("Dr."), Some(""), Some("Prof."), Some("x"), Some("Dr.")];
        let photo = "ä".repeat(40_000);
        let held = changes(&[
            (all, None),
            ([None; 5], Some(Side::Right)),
            // A conflict whose both sides would receive the other's value.
            ([Some("a"), Some("b"), None, Some("b"), Some("a")], None),
            // Texts whose lengths take more than one byte (a photo).
            (
                [Some(&photo), Some("x"), None, Some("y"), Some(&photo)],
                Some(Side::Right),
            ),
            // Multi-byte text keeps its boundaries.
            (
                [Some("Müller"), None, Some("Groß"), None, Some("Mueller")],
                None,
            ),
        ]);
        assert_eq!(held.len(), 5);
        let c: Vec<Change<'_>> = held.iter().collect();
        assert_eq!(c[0].values(), PerSide::new(Some("Dr."), Some("")));
        assert_eq!(c[0].base(), Some("Prof."));
        assert_eq!(c[0].value_for(Side::Left), Some("x"));
        assert_eq!(c[0].value_for(Side::Right), Some("Dr."));
        assert_eq!(c[1].values(), PerSide::new(None, None));
        assert_eq!((c[1].base(), c[1].value_for(Side::Right)), (None, None));
        assert_eq!(c[1].to, Some(Side::Right));
        assert_eq!(c[2].value_for(Side::Left), Some("b"));
        assert_eq!(c[2].value_for(Side::Right), Some("a"));
        assert_eq!(c[2].values(), PerSide::new(Some("a"), Some("b")));
        assert_eq!(c[3].values(), PerSide::new(Some(photo.as_str()), Some("x")));
        assert_eq!(c[3].base(), None);
        assert_eq!(c[3].value_for(Side::Left), Some("y"));
        assert_eq!(c[3].value_for(Side::Right), Some(photo.as_str()));
        assert_eq!(c[4].value(Side::Left), Some("Müller"));
        assert_eq!(c[4].base(), Some("Groß"));
        assert_eq!(c[4].value_for(Side::Right), Some("Mueller"));
        // One change on its own reads the same as in the list.
        assert_eq!(held.get(3), Some(c[3]));
        assert_eq!(held.get(5), None);
    }

    #[test]
    fn change_writes_plan_json_form() {
        let held = changes(&[
            (
                [Some("Dr."), None, Some("Dr."), None, Some("Dr.")],
                Some(Side::Right),
            ),
            ([Some("a"), Some("b"), None, None, None], None),
        ]);
        assert_eq!(
            serde_json::to_string(&held).unwrap(),
            concat!(
                r#"[{"field":"title","left":"Dr.","right":null,"base":"Dr.","to":"right"},"#,
                r#"{"field":"title","left":"a","right":"b","base":null}]"#
            )
        );
    }

    /// Ids stay those earlier versions gave: the digest of the operation's
    /// text, written out whole.
    #[test]
    fn an_operations_id_is_the_digest_of_its_whole_text() {
        let op = Op {
            id: String::new(),
            kind: OpKind::Update,
            target: Target::Right,
            ids: PerSide::new(Some("7".into()), Some("a.vcf".into())),
            review: false,
            evidence: None,
            changes: changes(&[
                (
                    [Some("Dr. \"Ä\""), None, None, None, None],
                    Some(Side::Right),
                ),
                ([Some("a"), Some("b"), None, None, None], None),
            ]),
            warnings: Vec::new(),
            name: String::new(),
            revs: PerSide::new(Some("r1".into()), None),
            link: None,
            after: LinkAfter::Linked,
            pending: Vec::new(),
            stamp: PerSide::default(),
        };
        let text = concat!(
            r#"update|Some("7")|Some("a.vcf")|Some("r1")|None|Right"#,
            r#"|title=Some("Dr. \"Ä\"")/None/Some(Right)|title=Some("a")/Some("b")/None"#
        );
        assert_eq!(
            op_id(&op),
            crate::model::record::hash_revision(text.as_bytes())
        );
    }
}
