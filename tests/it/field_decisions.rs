//! Per-field resolution of a conflict through the library API: after a
//! first sync of the bundled samples, Anna Schröder (CRM row 1) is edited on
//! two fields in the CRM and on her card, differently; the operator takes
//! one field from the left (CRM) and the other from the right (card).
//!
//! Edits are made the way a user would: the row with SQL (bumping
//! `updated_at`), the card by rewriting lines of its file.

use crate::common;
use crate::common::unfold;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use abgleich::config::Config;
use abgleich::model::Side;
use abgleich::model::contact::FieldPath;
use abgleich::sync::apply::{ApplyInput, Decision, Outcome, Report, apply, default_decisions};
use abgleich::sync::plan::{Op, OpKind, Plan};
use abgleich::sync::session::Session;
use abgleich::sync::snapshot::Snapshot;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use tempfile::TempDir;

use common::copy_samples;

const STAMP: &str = "X-CRM-CUSTOMER-NO";
/// A time later than every `updated_at` in the samples.
const LATER: &str = "2027-03-01 10:00:00";

const URL: FieldPath = FieldPath::Url { index: 0 };

const CRM_TITLE: &str = "Chefin";
const CARD_TITLE: &str = "Inhaberin";
const CRM_URL: &str = "www.anna-schroeder.example.de";
const CARD_URL: &str = "www.backstube-schroeder.example.de";

// ---- the sandbox ------------------------------------------------------------

struct Sandbox {
    dir: TempDir,
    /// `None` only while reopening.
    session: Option<Session>,
}

impl Sandbox {
    /// A copy of the samples, synced once completely (conflicts to the CRM,
    /// waiting links accepted): afterwards the plan is empty.
    fn synced() -> Sandbox {
        let dir = copy_samples();
        let session = Some(open(dir.path()));
        let mut sb = Sandbox { dir, session };
        let (snapshot, plan) = sb.plan();
        assert!(!plan.is_empty(), "the samples need a first sync");
        let decisions = default_decisions(&plan, true, Some(Side::Left));
        let report = sb.apply(&snapshot, &plan, &decisions);
        assert!(
            report.outcomes.iter().all(|o| *o == Outcome::Done),
            "the first sync does everything: {:?}",
            report.outcomes
        );
        let (_, plan) = sb.plan();
        assert!(
            plan.is_empty(),
            "after a full sync the plan is empty\n{plan:#?}"
        );
        sb
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn session(&self) -> &Session {
        self.session.as_ref().expect("a session is open")
    }

    fn plan(&self) -> (Snapshot, Plan) {
        let session = self.session();
        let links = session.links().unwrap();
        let snapshot = session.read().unwrap();
        let plan = session.plan(&snapshot, &links).unwrap();
        (snapshot, plan)
    }

    fn apply(&mut self, snapshot: &Snapshot, plan: &Plan, decisions: &[Decision]) -> Report {
        let session = self.session.as_mut().expect("a session is open");
        let fingerprint = session.fingerprint();
        let input = ApplyInput {
            plan,
            decisions,
            snapshot,
            fields: &session.fields,
            force: false,
            fingerprint: &fingerprint,
        };
        apply(&input, &mut session.stores, &mut session.state).unwrap()
    }

    /// Close the session and open a fresh one on the same files.
    fn reopen(&mut self) {
        // The old session holds the state lock until it is dropped.
        self.session = None;
        self.session = Some(open(self.dir.path()));
    }

    // ---- the CRM ----

    fn db(&self) -> Connection {
        Connection::open(self.root().join("crm.sqlite")).unwrap()
    }

    fn col(&self, id: i64, column: &str) -> Option<String> {
        self.db()
            .query_row(
                &format!("SELECT \"{column}\" FROM customers WHERE id = ?1"),
                [id],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// A user's edit: set one column and bump `updated_at`.
    fn set(&self, id: i64, column: &str, value: &str) {
        let n = self
            .db()
            .execute(
                &format!("UPDATE customers SET \"{column}\" = ?1, updated_at = ?2 WHERE id = ?3"),
                rusqlite::params![value, LATER, id],
            )
            .unwrap();
        assert_eq!(n, 1, "row {id} updated");
    }

    /// Every row, every column, in id order.
    fn dump(&self) -> Vec<Vec<SqlValue>> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT * FROM customers ORDER BY id").unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    // ---- the address book ----

    fn outlook(&self) -> PathBuf {
        self.root().join("outlook")
    }

    /// Every file in the vdir: name → bytes.
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(self.outlook())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    /// The card file stamped with CRM id `id`; exactly one.
    fn card_of(&self, id: i64) -> PathBuf {
        let want = format!("{STAMP}:{id}");
        let found: Vec<PathBuf> = self
            .files()
            .into_iter()
            .filter(|(_, bytes)| {
                unfold::unfold(&String::from_utf8_lossy(bytes))
                    .iter()
                    .any(|l| l.eq_ignore_ascii_case(&want))
            })
            .map(|(name, _)| self.outlook().join(name))
            .collect();
        assert_eq!(found.len(), 1, "exactly one card stamped {id}: {found:?}");
        found[0].clone()
    }

    /// The values of the card's properties called `name` (no parameters).
    fn card_values(&self, card: &Path, name: &str) -> Vec<String> {
        let text = std::fs::read_to_string(card).unwrap();
        unfold::unfold(&text)
            .into_iter()
            .filter_map(|line| {
                let (head, value) = line.split_once(':')?;
                let prop = head.split(';').next()?;
                let prop = prop.rsplit('.').next()?;
                prop.eq_ignore_ascii_case(name).then(|| value.to_string())
            })
            .collect()
    }
}

fn open(dir: &Path) -> Session {
    let config = Config::load(&dir.join("abgleich.toml")).unwrap();
    Session::open(config, "test").unwrap()
}

/// A user's edit of a card: the one (unfolded) line whose property is
/// `prop` becomes `line`; the file keeps its line ends.
fn edit_card(card: &Path, prop: &str, line: &str) {
    let text = std::fs::read_to_string(card).unwrap();
    let crlf = text.contains("\r\n");
    let mut lines = unfold::unfold(&text);
    let hits: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let head = l.split([':', ';']).next().unwrap_or("");
            head.rsplit('.')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case(prop)
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "one {prop} line in {}:\n{text}",
        card.display()
    );
    lines[hits[0]] = line.to_string();
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = lines.join(eol);
    out.push_str(eol);
    std::fs::write(card, out).unwrap();
}

// ---- the scenario -------------------------------------------------------------

/// After a first sync: Anna's title and web address changed on both sides to
/// different values. Returns the sandbox and her card.
fn anna_in_conflict() -> (Sandbox, PathBuf) {
    let sb = Sandbox::synced();
    let card = sb.card_of(1);
    sb.set(1, "position", CRM_TITLE);
    sb.set(1, "website", CRM_URL);
    edit_card(&card, "TITLE", &format!("TITLE:{CARD_TITLE}"));
    edit_card(&card, "URL", &format!("URL;TYPE=WORK:{CARD_URL}"));
    (sb, card)
}

/// The plan's only operation: Anna's conflict on title and URL.
fn the_conflict(plan: &Plan) -> (usize, &Op) {
    assert_eq!(plan.operations.len(), 1, "{plan:#?}");
    let op = &plan.operations[0];
    assert_eq!(op.kind, OpKind::Conflict, "{op:#?}");
    assert_eq!(op.ids.left.as_deref(), Some("1"), "{op:#?}");
    let mut open: Vec<FieldPath> = op
        .changes
        .iter()
        .filter(|c| c.to.is_none())
        .map(|c| c.field)
        .collect();
    open.sort();
    assert_eq!(
        open,
        [FieldPath::Title, URL],
        "two conflicting fields\n{op:#?}"
    );
    let title = op.changes.iter().find(|c| c.field == FieldPath::Title);
    assert_eq!(title.and_then(|c| c.value(Side::Left)), Some(CRM_TITLE));
    assert_eq!(title.and_then(|c| c.value(Side::Right)), Some(CARD_TITLE));
    (0, op)
}

/// Both sides of Anna hold `title` and `url`, in the raw stores and as the
/// engine reads them, and a new plan has nothing to do.
fn assert_agreed(sb: &mut Sandbox, card: &Path, title: &str, url: &str) {
    assert_eq!(sb.col(1, "position").as_deref(), Some(title));
    assert_eq!(sb.col(1, "website").as_deref(), Some(url));
    assert_eq!(sb.card_values(card, "TITLE"), [title]);
    assert_eq!(sb.card_values(card, "URL"), [url]);

    sb.reopen();
    let (snapshot, plan) = sb.plan();
    let link = sb
        .session()
        .links()
        .unwrap()
        .into_iter()
        .find(|l| l.id(Side::Left) == Some("1"))
        .expect("Anna stays linked");
    let right_id = link
        .id(Side::Right)
        .expect("linked to her card")
        .to_string();
    for (side, id) in [(Side::Left, "1"), (Side::Right, right_id.as_str())] {
        let record = snapshot.sides.get(side).get(id).expect("Anna is read");
        assert_eq!(
            record.contact.get(&FieldPath::Title).as_deref(),
            Some(title),
            "{side:?}"
        );
        assert_eq!(record.contact.get(&URL).as_deref(), Some(url), "{side:?}");
    }
    assert!(
        !plan
            .operations
            .iter()
            .any(|op| op.ids.left.as_deref() == Some("1")
                || op.ids.right.as_deref() == Some(&right_id)),
        "nothing left to do for Anna\n{plan:#?}"
    );
    assert!(plan.is_empty(), "{plan:#?}");
}

// ---- the tests ------------------------------------------------------------------

#[test]
fn each_conflicting_field_takes_the_side_picked_for_it() {
    let (mut sb, card) = anna_in_conflict();
    let (snapshot, plan) = sb.plan();
    let (i, op) = the_conflict(&plan);

    let decision = Decision {
        accept: true,
        winner: None,
        fields: vec![(FieldPath::Title, Side::Left), (URL, Side::Right)],
    };
    assert_eq!(decision.winner_for(FieldPath::Title), Some(Side::Left));
    assert_eq!(decision.winner_for(URL), Some(Side::Right));
    assert_eq!(decision.winner_for(FieldPath::Note), None);
    assert!(decision.resolves(op));

    let mut decisions = vec![Decision::default(); plan.operations.len()];
    decisions[i] = decision;
    let report = sb.apply(&snapshot, &plan, &decisions);
    assert_eq!(report.outcomes, [Outcome::Done]);

    // Title from the CRM, web address from the card: on both sides.
    assert_agreed(&mut sb, &card, CRM_TITLE, CARD_URL);
}

#[test]
fn a_field_pick_overrides_the_winner_for_that_field_only() {
    let (mut sb, card) = anna_in_conflict();
    let (snapshot, plan) = sb.plan();
    let (i, op) = the_conflict(&plan);

    let decision = Decision {
        accept: true,
        winner: Some(Side::Right),
        fields: vec![(FieldPath::Title, Side::Left)],
    };
    assert_eq!(decision.winner_for(FieldPath::Title), Some(Side::Left));
    assert_eq!(decision.winner_for(URL), Some(Side::Right));
    assert!(decision.resolves(op));

    let mut decisions = vec![Decision::default(); plan.operations.len()];
    decisions[i] = decision;
    let report = sb.apply(&snapshot, &plan, &decisions);
    assert_eq!(report.outcomes, [Outcome::Done]);

    assert_agreed(&mut sb, &card, CRM_TITLE, CARD_URL);
}

#[test]
fn an_accepted_conflict_with_a_field_unresolved_is_skipped_and_changes_nothing() {
    let (mut sb, card) = anna_in_conflict();
    let (snapshot, plan) = sb.plan();
    let (i, op) = the_conflict(&plan);

    // The title is picked, the web address is not.
    let decision = Decision {
        accept: true,
        winner: None,
        fields: vec![(FieldPath::Title, Side::Left)],
    };
    assert_eq!(decision.winner_for(URL), None);
    assert!(!decision.resolves(op));
    // Not a conflict: nothing to resolve.
    let mut update = op.clone();
    update.kind = OpKind::Update;
    assert!(Decision::default().resolves(&update));

    let dump = sb.dump();
    let files = sb.files();
    let mut decisions = vec![Decision::default(); plan.operations.len()];
    decisions[i] = decision;
    let report = sb.apply(&snapshot, &plan, &decisions);
    assert_eq!(report.outcomes, [Outcome::Skipped]);
    assert_eq!(report.apply_id, None, "no apply was journaled");

    // Nothing changed on either side.
    assert_eq!(sb.dump(), dump, "the CRM is untouched");
    assert_eq!(sb.files(), files, "the cards are untouched");
    assert_eq!(sb.col(1, "position").as_deref(), Some(CRM_TITLE));
    assert_eq!(sb.card_values(&card, "TITLE"), [CARD_TITLE]);

    // The conflict still waits, with both fields open; resolving both now works.
    sb.reopen();
    let (snapshot, plan) = sb.plan();
    let (i, _) = the_conflict(&plan);
    let mut decisions = vec![Decision::default(); plan.operations.len()];
    decisions[i] = Decision {
        accept: true,
        winner: None,
        fields: vec![(URL, Side::Left), (FieldPath::Title, Side::Right)],
    };
    let report = sb.apply(&snapshot, &plan, &decisions);
    assert_eq!(report.outcomes, [Outcome::Done]);
    assert_agreed(&mut sb, &card, CARD_TITLE, CRM_URL);
}

#[test]
fn default_decisions_leave_field_picks_empty() {
    let (sb, _card) = anna_in_conflict();
    let (_, plan) = sb.plan();
    let (i, op) = the_conflict(&plan);

    let ask = default_decisions(&plan, true, None);
    assert_eq!(ask[i], Decision::default(), "unresolved: not accepted");
    assert!(!ask[i].resolves(op));

    let left = default_decisions(&plan, true, Some(Side::Left));
    assert_eq!(
        left[i],
        Decision {
            accept: true,
            winner: Some(Side::Left),
            fields: Vec::new(),
        }
    );
    assert!(left[i].resolves(op));
    assert_eq!(left[i].winner_for(URL), Some(Side::Left));
}
