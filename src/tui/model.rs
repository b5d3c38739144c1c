//! What the screen shows, computed once per plan off the UI thread: the two
//! stores' contacts aligned by link into rows, a status per row, and a search
//! text per row. Everything here grows linearly with the number of contacts.

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use crate::config::Config;
use crate::model::contact::Contact;
use crate::model::record::Record;
use crate::sync::apply::{Decision, Outcome};
use crate::sync::fields::FieldSet;
use crate::sync::plan::{OpKind, Plan, Target};
use crate::sync::snapshot::Snapshot;
use crate::sync::state::Link;

/// The outcome of the last execution, shown in the queue until dismissed.
pub struct Results {
    pub data: Arc<Data>,
    /// The decisions it was executed with.
    pub decisions: Vec<Decision>,
    pub outcomes: Vec<Outcome>,
    pub notes: Vec<String>,
}

use crate::model::{PerSide, Side};

/// A row's state, from the plan and the links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Same,
    ChangedLeft,
    ChangedRight,
    ChangedBoth,
    Conflict,
    OnlyLeft,
    OnlyRight,
    Suggestion,
    Delete,
    Unlink,
    /// Not taking part: out of scope, or unlinked by hand (a tombstone).
    Idle,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::Same,
        Status::ChangedLeft,
        Status::ChangedRight,
        Status::ChangedBoth,
        Status::Conflict,
        Status::OnlyLeft,
        Status::OnlyRight,
        Status::Suggestion,
        Status::Delete,
        Status::Unlink,
        Status::Idle,
    ];

    /// The one-character mark in the list (readable without colour).
    pub fn mark(self) -> &'static str {
        match self {
            Status::Same => "=",
            Status::ChangedLeft => "▶",
            Status::ChangedRight => "◀",
            Status::ChangedBoth => "◆",
            Status::Conflict => "!",
            Status::OnlyLeft => "+▶",
            Status::OnlyRight => "◀+",
            Status::Suggestion => "?",
            Status::Delete => "✗",
            Status::Unlink => "~",
            Status::Idle => "·",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Same => "same",
            Status::ChangedLeft => "changed left",
            Status::ChangedRight => "changed right",
            Status::ChangedBoth => "changed both",
            Status::Conflict => "conflict",
            Status::OnlyLeft => "only left",
            Status::OnlyRight => "only right",
            Status::Suggestion => "link proposed",
            Status::Delete => "delete",
            Status::Unlink => "leaves scope",
            Status::Idle => "not synced",
        }
    }

    /// When a pair has several operations, the most pressing one shows.
    fn weight(self) -> u8 {
        match self {
            Status::Conflict => 9,
            Status::Suggestion => 8,
            Status::Delete => 7,
            Status::Unlink => 6,
            Status::ChangedBoth => 5,
            Status::ChangedLeft | Status::ChangedRight => 4,
            Status::OnlyLeft | Status::OnlyRight => 3,
            Status::Same => 1,
            Status::Idle => 0,
        }
    }
}

/// One line of the contacts view: a linked pair, a suggested pair, or a
/// contact on one side only. Indexes point into the snapshot's records.
#[derive(Debug, Clone)]
pub struct Row {
    /// Per side: the record's index in the snapshot, if the row has one.
    pub records: PerSide<Option<u32>>,
    pub status: Status,
    pub warning: bool,
    /// The operations of this pair, in plan order.
    pub ops: Vec<u32>,
    /// Index into `Data::links` (a live link or a tombstone).
    pub link: Option<u32>,
}

impl Row {
    pub fn index(&self, side: Side) -> Option<u32> {
        *self.records.get(side)
    }
}

/// Everything one load produced: the stores as read, the links, the plan
/// and the rows. Shared with the UI thread read-only.
pub struct Data {
    pub config: Config,
    pub snapshot: Snapshot,
    pub links: Vec<Link>,
    pub plan: Plan,
    pub fields: FieldSet,
    pub fingerprint: String,
    pub rows: Vec<Row>,
    /// Per operation: its row.
    pub op_rows: Vec<u32>,
    /// Lower-case search text of all rows, one after another; `search_ends[i]`
    /// is where row `i`'s text ends.
    search_text: String,
    search_ends: Vec<u32>,
    /// The digits of every row's phone numbers, `|` between numbers, the
    /// same way (phone numbers are also found by their digits).
    search_digits: String,
    digit_ends: Vec<u32>,
    /// Count of rows per status, and of rows with warnings.
    pub counts: HashMap<Status, usize>,
    pub warnings: usize,
    /// Messages from opening (an interrupted apply rolled back).
    pub notes: Vec<String>,
    /// Which load of the worker made this (a plan from an older load is
    /// never executed).
    pub generation: u64,
}

impl Data {
    pub fn new(
        config: Config,
        snapshot: Snapshot,
        links: Vec<Link>,
        plan: Plan,
        fields: FieldSet,
        fingerprint: String,
    ) -> Data {
        let rows = build_rows(&snapshot, &links, &plan);
        let mut op_rows = vec![0u32; plan.operations.len()];
        for (r, row) in rows.iter().enumerate() {
            for &o in &row.ops {
                op_rows[o as usize] = r as u32;
            }
        }
        let mut counts = HashMap::new();
        let mut warnings = 0;
        for row in &rows {
            *counts.entry(row.status).or_insert(0) += 1;
            warnings += usize::from(row.warning);
        }
        let mut data = Data {
            config,
            snapshot,
            links,
            plan,
            fields,
            fingerprint,
            rows,
            op_rows,
            search_text: String::new(),
            search_ends: Vec::new(),
            search_digits: String::new(),
            digit_ends: Vec::new(),
            counts,
            warnings,
            notes: Vec::new(),
            generation: 0,
        };
        data.build_search();
        data
    }

    pub fn record(&self, side: Side, index: Option<u32>) -> Option<&Record> {
        index.and_then(|i| self.snapshot.sides.get(side).records.get(i as usize))
    }

    pub fn contact(&self, row: &Row, side: Side) -> Option<&Contact> {
        self.record(side, row.index(side)).map(|r| &*r.contact)
    }

    pub fn link(&self, row: &Row) -> Option<&Link> {
        row.link.and_then(|l| self.links.get(l as usize))
    }

    /// The stores' configured names, safe to draw.
    pub fn store_names(&self) -> PerSide<String> {
        let name = |n: &str| crate::model::sanitize::for_terminal(n).into_owned();
        self.config.names().map(|n| name(n))
    }

    fn build_search(&mut self) {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(self.rows.len());
        let mut digits = String::new();
        let mut digit_ends = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            for side in Side::BOTH {
                if let Some(c) = self.contact(row, side) {
                    push_search(&mut text, c);
                    for p in &c.phones {
                        digits.extend(p.value.chars().filter(char::is_ascii_digit));
                        digits.push('|');
                    }
                }
            }
            ends.push(text.len() as u32);
            digit_ends.push(digits.len() as u32);
        }
        self.search_text = text;
        self.search_ends = ends;
        self.search_digits = digits;
        self.digit_ends = digit_ends;
    }

    /// Rows whose names, e-mails, phones or companies contain `query`
    /// (case-insensitive), among `among`.
    pub fn search(&self, query: &str, among: &[u32]) -> Vec<u32> {
        let needle = query.to_lowercase();
        let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
        // Phone numbers match by digits too ("030 12" finds "+49 30 12…"):
        // without the trunk 0, a national number is part of the international one.
        let by_digits = digits.len() >= 3 && digits.len() * 2 >= needle.chars().count();
        let national = digits.trim_start_matches('0');
        let digits = if national.len() >= 3 {
            national
        } else {
            &digits
        };
        // Row r's part of a buffer of all rows.
        let part = |ends: &[u32], r: usize| {
            let start = if r == 0 { 0 } else { ends[r - 1] as usize };
            start..ends[r] as usize
        };
        among
            .iter()
            .copied()
            .filter(|&r| {
                let r = r as usize;
                self.search_text[part(&self.search_ends, r)].contains(&needle)
                    || (by_digits && self.search_digits[part(&self.digit_ends, r)].contains(digits))
            })
            .collect()
    }
}

fn push_search(text: &mut String, c: &Contact) {
    use std::fmt::Write;
    let _ = write!(text, "{}\u{1f}", c.display_name().to_lowercase());
    for e in &c.emails {
        let _ = write!(text, "{}\u{1f}", e.value.to_lowercase());
    }
    for p in &c.phones {
        let _ = write!(text, "{}\u{1f}", p.value.to_lowercase());
    }
    if !c.org_name.is_empty() {
        let _ = write!(text, "{}\u{1f}", c.org_name.to_lowercase());
    }
}

fn op_status(kind: OpKind, target: Target) -> Status {
    match (kind, target) {
        (OpKind::Create, Target::Right) => Status::OnlyLeft,
        (OpKind::Create, _) => Status::OnlyRight,
        (OpKind::Update, Target::Right) => Status::ChangedLeft,
        (OpKind::Update, Target::Left) => Status::ChangedRight,
        (OpKind::Update, Target::Both) => Status::ChangedBoth,
        (OpKind::Conflict, _) => Status::Conflict,
        (OpKind::Link, _) => Status::Suggestion,
        (OpKind::Delete, _) => Status::Delete,
        (OpKind::Unlink, _) => Status::Unlink,
    }
}

fn build_rows(snapshot: &Snapshot, links: &[Link], plan: &Plan) -> Vec<Row> {
    let index = |side: Side| -> HashMap<&str, u32> {
        snapshot
            .sides
            .get(side)
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i as u32))
            .collect()
    };
    let idx = PerSide::new(index(Side::Left), index(Side::Right));
    let find = |side: Side, id: Option<&str>| id.and_then(|id| idx.get(side).get(id).copied());
    let mut placed: PerSide<Vec<Option<u32>>> = PerSide::new(
        vec![None; snapshot.sides.left.records.len()],
        vec![None; snapshot.sides.right.records.len()],
    );
    let mut rows: Vec<Row> = Vec::new();
    fn place(
        rows: &mut Vec<Row>,
        placed: &mut PerSide<Vec<Option<u32>>>,
        records: PerSide<Option<u32>>,
    ) -> u32 {
        // A record already on a row keeps it.
        for side in Side::BOTH {
            if let Some(i) = *records.get(side)
                && let Some(r) = placed.get(side)[i as usize]
            {
                return r;
            }
        }
        let r = rows.len() as u32;
        for side in Side::BOTH {
            if let Some(i) = *records.get(side) {
                placed.get_mut(side)[i as usize] = Some(r);
            }
        }
        rows.push(Row {
            records,
            status: Status::Idle,
            warning: false,
            ops: Vec::new(),
            link: None,
        });
        r
    }
    for (l, link) in links.iter().enumerate() {
        let records = PerSide::new(
            find(Side::Left, link.id(Side::Left)),
            find(Side::Right, link.id(Side::Right)),
        );
        if records.left.is_none() && records.right.is_none() {
            continue;
        }
        let both = records.left.is_some() && records.right.is_some();
        let r = place(&mut rows, &mut placed, records) as usize;
        rows[r].link = Some(l as u32);
        if link.tombstone.is_none() && both {
            rows[r].status = Status::Same;
        }
    }
    for (o, op) in plan.operations.iter().enumerate() {
        let records = PerSide::new(
            find(Side::Left, op.ids.left.as_deref()),
            find(Side::Right, op.ids.right.as_deref()),
        );
        if records.left.is_none() && records.right.is_none() {
            continue;
        }
        let r = place(&mut rows, &mut placed, records) as usize;
        let row = &mut rows[r];
        row.ops.push(o as u32);
        row.warning |= !op.warnings.is_empty();
        let status = op_status(op.kind, op.target);
        if status.weight() > row.status.weight() {
            row.status = status;
        }
    }
    for side in Side::BOTH {
        for i in 0..snapshot.sides.get(side).records.len() {
            if placed.get(side)[i].is_none() {
                let mut records = PerSide::default();
                *records.get_mut(side) = Some(i as u32);
                place(&mut rows, &mut placed, records);
            }
        }
    }
    // Alphabetical by name, as an address book is read.
    let name = |row: &Row| -> String {
        let record = Side::BOTH.into_iter().find_map(|side| {
            row.index(side)
                .map(|i| &snapshot.sides.get(side).records[i as usize])
        });
        record.map(|r| sort_key(&r.contact)).unwrap_or_default()
    };
    let mut keyed: Vec<(String, Row)> = rows.into_iter().map(|r| (name(&r), r)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// Family name first, folded, so that "Müller" sorts with "Mueller".
fn sort_key(c: &Contact) -> String {
    let family = c.family.trim();
    let text = if family.is_empty() {
        c.display_name()
    } else {
        format!("{family} {}", c.given.trim())
    };
    crate::model::fold::german(&text)
}
