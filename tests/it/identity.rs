//! Identity (SPEC §2 "Identity", §6): no contact is taken as deleted because
//! its id or its file changed. Each test runs the real binary on a small
//! generated book with deletes propagating both ways and no delete limit,
//! the setting in which a wrong "deleted" costs customer rows.

use crate::common::Run;

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;
use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_abgleich");

/// The address book's shape.
#[derive(Clone, Copy)]
enum Book {
    /// `vdir`: a folder `book/` with one file per card.
    Folder,
    /// `vcard`: one file `book.vcf`.
    OneFile,
}

struct Sandbox {
    dir: TempDir,
    book: Book,
}

/// Card `i` of a generated book, with a UID when `uid` is set.
fn card(i: usize, uid: bool) -> String {
    let uid = if uid {
        format!("UID:card-{i}\r\n")
    } else {
        String::new()
    };
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\n{uid}N:Nachname{i};Vor{i};;;\r\nFN:Vor{i} Nachname{i}\r\nEMAIL:p{i}@example.de\r\nEND:VCARD\r\n"
    )
}

impl Sandbox {
    /// An empty CRM table and a book of `cards` cards (with or without
    /// UIDs); the card store stamps the CRM id when `stamp` is set.
    fn new(book: Book, cards: usize, uids: bool, stamp: bool) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        Connection::open(dir.path().join("crm.sqlite"))
            .unwrap()
            .execute_batch(
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, \
                 last_name TEXT, email TEXT);",
            )
            .unwrap();
        let right = match book {
            Book::Folder => {
                std::fs::create_dir(dir.path().join("book")).unwrap();
                for i in 0..cards {
                    std::fs::write(
                        dir.path().join("book").join(format!("Person {i}.vcf")),
                        card(i, uids),
                    )
                    .unwrap();
                }
                "kind = \"vdir\"\npath = \"book\""
            }
            Book::OneFile => {
                let all: String = (0..cards).map(|i| card(i, uids)).collect();
                std::fs::write(dir.path().join("book.vcf"), all).unwrap();
                "kind = \"vcard\"\npath = \"book.vcf\""
            }
        };
        let stamp = if stamp {
            "stamp = \"X-CRM-CUSTOMER-NO\"\n"
        } else {
            ""
        };
        let config = format!(
            "[left]\nname = \"CRM\"\nkind = \"sqlite\"\npath = \"crm.sqlite\"\n\
             table = \"customers\"\nid = \"id\"\n\
             [left.fields]\n\"name.given\" = \"first_name\"\n\"name.family\" = \"last_name\"\n\
             \"email[1]\" = \"email\"\n\
             [right]\nname = \"Book\"\n{right}\n{stamp}\
             [sync]\nmode = \"sync\"\nconflicts = \"left\"\n\
             deletes = {{ left_to_right = \"propagate\", right_to_left = \"propagate\" }}\n\
             max_delete_percent = 100\n"
        );
        std::fs::write(dir.path().join("abgleich.toml"), config).unwrap();
        Sandbox { dir, book }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn folder(&self) -> PathBuf {
        self.root().join("book")
    }

    fn run(&self, args: &[&str]) -> Run {
        let env = self.root().join("env");
        std::fs::create_dir_all(&env).unwrap();
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(self.root().join("abgleich.toml"))
            .current_dir(&env)
            .env("HOME", &env)
            .env("XDG_CONFIG_HOME", &env)
            .env("XDG_STATE_HOME", &env)
            .output()
            .expect("the abgleich binary runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> Run {
        let out = self.run(args);
        assert_eq!(out.code, Some(0), "abgleich {args:?}\n{out}");
        out
    }

    fn plan(&self) -> Value {
        let out = self.ok(&["plan", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("plan --json: {e}\n{out}"))
    }

    fn db(&self) -> Connection {
        Connection::open(self.root().join("crm.sqlite")).unwrap()
    }

    fn rows(&self) -> i64 {
        self.db()
            .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
            .unwrap()
    }

    /// A user's edit of a CRM row.
    fn set_given(&self, id: i64, given: &str) {
        let n = self
            .db()
            .execute(
                "UPDATE customers SET first_name = ?1 WHERE id = ?2",
                rusqlite::params![given, id],
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    fn row_by_email(&self, email: &str) -> i64 {
        self.db()
            .query_row("SELECT id FROM customers WHERE email = ?1", [email], |r| {
                r.get(0)
            })
            .unwrap()
    }

    /// How many cards the book holds.
    fn cards(&self) -> usize {
        match self.book {
            Book::Folder => std::fs::read_dir(self.folder())
                .unwrap()
                .filter(|e| {
                    let e = e.as_ref().unwrap();
                    e.path().is_file() && e.file_name().to_string_lossy().ends_with(".vcf")
                })
                .count(),
            Book::OneFile => std::fs::read_to_string(self.root().join("book.vcf"))
                .unwrap()
                .matches("BEGIN:VCARD")
                .count(),
        }
    }

    /// The first sync: every card created in the CRM; then nothing to do.
    fn first_sync(&self, cards: usize) {
        self.ok(&["apply", "--yes", "--accept-review"]);
        assert_eq!(self.rows(), cards as i64, "every card reached the CRM");
        let plan = self.plan();
        assert!(ops(&plan).is_empty(), "after the first sync\n{plan:#}");
    }
}

fn ops(plan: &Value) -> &Vec<Value> {
    plan["operations"].as_array().expect("operations")
}

fn summary(plan: &Value, key: &str) -> u64 {
    plan["summary"][key].as_u64().expect("summary count")
}

fn kinds(plan: &Value) -> Vec<String> {
    ops(plan)
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

// ---- finding 5: a card that cannot be stat'ed is unreadable, never deleted ----

#[cfg(unix)]
#[test]
fn a_card_that_cannot_be_stated_is_unreadable_in_check_plan_and_status_and_never_deleted() {
    let sb = Sandbox::new(Book::Folder, 6, true, false);
    sb.first_sync(6);
    // A card on an unmounted share, a directory and a FIFO in cards' places.
    let path = |i: usize| sb.folder().join(format!("Person {i}.vcf"));
    std::fs::remove_file(path(1)).unwrap();
    std::os::unix::fs::symlink("/nonexistent-share/Person 1.vcf", path(1)).unwrap();
    std::fs::remove_file(path(2)).unwrap();
    std::fs::create_dir(path(2)).unwrap();
    std::fs::remove_file(path(3)).unwrap();
    let made = Command::new("mkfifo").arg(path(3)).status().unwrap();
    assert!(made.success(), "mkfifo");

    let check = sb.run(&["check"]);
    assert_eq!(
        check.code,
        Some(1),
        "check fails on unreadable cards\n{check}"
    );
    for i in 1..=3 {
        assert!(
            check.stdout.contains(&format!("Person {i}.vcf")),
            "check names Person {i}.vcf\n{check}"
        );
    }
    let plan = sb.plan();
    assert_eq!(summary(&plan, "delete"), 0, "{plan:#}");
    assert!(ops(&plan).is_empty(), "nothing to do for them\n{plan:#}");
    let unreadable = plan["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 3, "{plan:#}");
    let status = sb.ok(&["status"]);
    for i in 1..=3 {
        assert!(
            status.stdout.contains(&format!("Person {i}.vcf")),
            "status names Person {i}.vcf\n{status}"
        );
    }
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 6, "no CRM row deleted");
}

// ---- finding 1: a one-file book without UIDs keeps its links across rewrites ----

#[test]
fn uid_less_cards_of_a_one_file_book_keep_their_links_when_abgleich_rewrites_it() {
    let sb = Sandbox::new(Book::OneFile, 20, false, false);
    sb.first_sync(20);
    // One CRM edit: its card is written, which gives every card a UID.
    let edited = sb.row_by_email("p10@example.de");
    sb.set_given(edited, "Edit");
    let plan = sb.plan();
    assert_eq!(kinds(&plan), ["update"], "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    let text = std::fs::read_to_string(sb.root().join("book.vcf")).unwrap();
    assert!(text.contains("N:Nachname10;Edit;;;"), "{text}");
    let plan = sb.plan();
    assert!(
        ops(&plan).is_empty(),
        "no card is taken as deleted or new after the rewrite\n{plan:#}"
    );
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 20, "no CRM row deleted");
    assert_eq!(sb.cards(), 20, "no card created twice");
    assert!(ops(&sb.plan()).is_empty());
}

#[test]
fn a_delete_and_updates_in_one_apply_of_a_uid_less_book_hit_the_right_cards_and_undo_keeps_the_links()
 {
    let sb = Sandbox::new(Book::OneFile, 8, false, false);
    sb.first_sync(8);
    // The delete of the third card rewrites the file first (every card gets
    // its UID and the later cards their new place); the updates after it in
    // the same apply still find their cards.
    let gone = sb.row_by_email("p2@example.de");
    sb.db()
        .execute("DELETE FROM customers WHERE id = ?1", [gone])
        .unwrap();
    for i in [0, 5, 7] {
        let id = sb.row_by_email(&format!("p{i}@example.de"));
        sb.set_given(id, &format!("Neu{i}"));
    }
    let plan = sb.plan();
    assert_eq!(summary(&plan, "delete"), 1, "{plan:#}");
    assert_eq!(summary(&plan, "update"), 3, "{plan:#}");
    let out = sb.ok(&["apply", "--yes"]);
    assert!(out.stdout.contains("applied 4 of 4"), "{out}");
    let text = std::fs::read_to_string(sb.root().join("book.vcf")).unwrap();
    assert!(!text.contains("Nachname2;"), "card 2 deleted\n{text}");
    for i in [0, 5, 7] {
        assert!(text.contains(&format!("N:Nachname{i};Neu{i};;;")), "{text}");
    }
    assert_eq!(sb.cards(), 7);
    let plan = sb.plan();
    assert!(ops(&plan).is_empty(), "{plan:#}");
    // Undo puts the file back without UIDs and the links back to `#N`.
    sb.ok(&["undo"]);
    let plan = sb.plan();
    assert_eq!(
        summary(&plan, "delete"),
        1,
        "the delete is to do again\n{plan:#}"
    );
    assert_eq!(summary(&plan, "update"), 3, "{plan:#}");
    assert_eq!(summary(&plan, "create"), 0, "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    assert_eq!((sb.rows(), sb.cards()), (7, 7));
    assert!(ops(&sb.plan()).is_empty());
}

// ---- finding 6: a renamed card file is the same contact ----------------------

/// Rename a card file inside the folder, as a file manager or khard does.
fn rename_card(sb: &Sandbox, from: &str, to: &str) {
    std::fs::rename(sb.folder().join(from), sb.folder().join(to)).unwrap();
}

#[test]
fn a_renamed_card_file_keeps_its_link_and_its_crm_row() {
    let sb = Sandbox::new(Book::Folder, 6, true, true);
    sb.first_sync(6);
    let row = sb.row_by_email("p4@example.de");
    rename_card(&sb, "Person 4.vcf", "Umbenannt.vcf");
    // Renamed and edited: found by its stamp (the CRM id it carries).
    let path = sb.folder().join("Person 5.vcf");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let edited = text.replace("p5@example.de", "neu5@example.de");
    std::fs::write(sb.folder().join("Moved 5.vcf"), edited).unwrap();
    let plan = sb.plan();
    assert_eq!(
        kinds(&plan),
        ["update"],
        "no delete, no create; the edit travels\n{plan:#}"
    );
    assert_eq!(plan["operations"][0]["right_id"], "Moved 5.vcf", "{plan:#}");
    sb.ok(&["apply", "--yes", "--accept-review"]);
    assert_eq!(sb.rows(), 6, "no CRM row deleted or created");
    assert_eq!(
        sb.row_by_email("p4@example.de"),
        row,
        "the row keeps its id"
    );
    sb.row_by_email("neu5@example.de");
    assert!(ops(&sb.plan()).is_empty());
    // The link follows the file: a CRM edit reaches the renamed card.
    sb.set_given(row, "Vierte");
    sb.ok(&["apply", "--yes"]);
    let text = std::fs::read_to_string(sb.folder().join("Umbenannt.vcf")).unwrap();
    assert!(text.contains("N:Nachname4;Vierte;;;"), "{text}");
    assert_eq!(sb.cards(), 6);
    assert!(ops(&sb.plan()).is_empty());
}

#[test]
fn a_tombstone_follows_its_renamed_card_so_the_contact_is_not_created_again() {
    let sb = Sandbox::new(Book::Folder, 4, true, false);
    let config = sb.root().join("abgleich.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("left_to_right = \"propagate\"", "left_to_right = \"keep\""),
    )
    .unwrap();
    sb.first_sync(4);
    // Deleted in the CRM under `keep`: the card stays, with a tombstone.
    let row = sb.row_by_email("p1@example.de");
    sb.db()
        .execute("DELETE FROM customers WHERE id = ?1", [row])
        .unwrap();
    sb.ok(&["apply", "--yes"]);
    let status = sb.ok(&["status"]);
    assert!(status.stdout.contains("tombstones: 1"), "{status}");
    rename_card(&sb, "Person 1.vcf", "Anders.vcf");
    let plan = sb.plan();
    assert!(
        ops(&plan).is_empty(),
        "the kept card is not created again\n{plan:#}"
    );
    sb.ok(&["apply", "--yes", "--accept-review"]);
    assert_eq!(sb.rows(), 3);
    let status = sb.ok(&["status"]);
    assert!(status.stdout.contains("Anders.vcf"), "{status}");
}

#[test]
fn a_card_abgleich_named_after_its_uid_keeps_its_link_when_renamed_and_edited_without_stamps() {
    let sb = Sandbox::new(Book::Folder, 0, true, false);
    for i in 0..4 {
        sb.db()
            .execute(
                "INSERT INTO customers (first_name, last_name, email) VALUES (?1, ?2, ?3)",
                rusqlite::params![
                    format!("Vor{i}"),
                    format!("Nachname{i}"),
                    format!("p{i}@example.de")
                ],
            )
            .unwrap();
    }
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.cards(), 4);
    let plan = sb.plan();
    assert!(ops(&plan).is_empty(), "{plan:#}");
    // The card of row p2, renamed to its person's name and edited.
    let name = std::fs::read_dir(sb.folder())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| {
            std::fs::read_to_string(sb.folder().join(n))
                .unwrap()
                .contains("p2@example.de")
        })
        .unwrap();
    let text = std::fs::read_to_string(sb.folder().join(&name)).unwrap();
    std::fs::remove_file(sb.folder().join(&name)).unwrap();
    std::fs::write(
        sb.folder().join("Vor2 Nachname2.vcf"),
        text.replace("p2@example.de", "zwei@example.de"),
    )
    .unwrap();
    let plan = sb.plan();
    assert_eq!(kinds(&plan), ["update"], "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 4);
    sb.row_by_email("zwei@example.de");
    assert_eq!(sb.cards(), 4);
    assert!(ops(&sb.plan()).is_empty());
}

#[test]
fn a_card_renamed_and_edited_keeps_its_link_by_the_uid_the_link_recorded() {
    // No stamps, file names that say nothing of the UID: only the UID the
    // link recorded at the last sync tells the renamed card.
    let sb = Sandbox::new(Book::Folder, 5, true, false);
    sb.first_sync(5);
    let row = sb.row_by_email("p3@example.de");
    let text = std::fs::read_to_string(sb.folder().join("Person 3.vcf")).unwrap();
    std::fs::remove_file(sb.folder().join("Person 3.vcf")).unwrap();
    std::fs::write(
        sb.folder().join("Kunde drei.vcf"),
        text.replace("p3@example.de", "drei@example.de"),
    )
    .unwrap();
    let plan = sb.plan();
    assert_eq!(kinds(&plan), ["update"], "{plan:#}");
    sb.ok(&["apply", "--yes", "--accept-review"]);
    assert_eq!(sb.rows(), 5);
    assert_eq!(sb.row_by_email("drei@example.de"), row, "the same CRM row");
    assert!(ops(&sb.plan()).is_empty());
}

#[test]
fn a_state_from_before_links_kept_uids_opens_and_keeps_its_links() {
    use abgleich::model::PerSide;
    use abgleich::sync::state::State;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("abgleich.state");
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE links (link_id INTEGER PRIMARY KEY AUTOINCREMENT, left_id TEXT,
             right_id TEXT, left_rev TEXT, right_rev TEXT, base TEXT NOT NULL DEFAULT '{}',
             created_on TEXT, tombstone TEXT);
             INSERT INTO links (left_id, right_id, left_rev, right_rev)
             VALUES ('7', 'Anna.vcf', 'a', 'b');",
        )
        .unwrap();
    let mut state = State::open(&path, "test").unwrap();
    let links = state.links().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].ids.right.as_deref(), Some("Anna.vcf"));
    assert_eq!(links[0].uids, PerSide::default());
    let mut link = links[0].clone();
    link.uids.right = Some("urn:uuid:1".into());
    let tx = state.transaction().unwrap();
    tx.put_link(None, &link).unwrap();
    tx.commit().unwrap();
    drop(state);
    let state = State::open(&path, "test").unwrap();
    assert_eq!(state.links().unwrap(), [link]);
}

#[cfg(unix)]
#[test]
fn a_card_renamed_and_then_unreadable_is_not_taken_as_deleted() {
    // Found by the property test below: the link's file is gone, and the
    // file it was renamed to is a dangling link nothing can be read of.
    let sb = Sandbox::new(Book::Folder, 5, true, false);
    sb.first_sync(5);
    rename_card(&sb, "Person 4.vcf", "R1.vcf");
    std::fs::remove_file(sb.folder().join("R1.vcf")).unwrap();
    std::os::unix::fs::symlink("/nonexistent-share/R1.vcf", sb.folder().join("R1.vcf")).unwrap();
    let plan = sb.plan();
    assert!(
        ops(&plan).is_empty(),
        "nothing deleted, nothing created\n{plan:#}"
    );
    sb.ok(&["apply", "--yes", "--accept-review"]);
    assert_eq!(sb.rows(), 5, "no CRM row deleted");
}

// ---- the property: store shapes, random edits, renames, unreadable files ----

/// One step of the property test: `key` picks a contact, `value` a name.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A user edits the CRM row's given name.
    CrmEdit { key: usize, value: u8 },
    /// A user edits the card's given name (in its file, in place).
    CardEdit { key: usize, value: u8 },
    /// The card file is renamed inside the folder (`vdir` only).
    Rename { key: usize },
    /// The card file becomes a dangling symbolic link, as on an unmounted
    /// share (`vdir` only).
    Hide { key: usize },
    /// A hidden card is back.
    Restore { key: usize },
    /// `apply --yes --accept-review`.
    Sync,
}

/// What the test knows of one contact.
#[derive(Debug, Clone, Default)]
struct Known {
    /// The given name both sides agreed on at the last sync.
    agreed: String,
    /// Edits since, per side.
    crm: Option<String>,
    card: Option<String>,
    /// Hidden: the card's file name and bytes.
    hidden: Option<(String, Vec<u8>)>,
    /// Renamed, or edited, since the last sync (a card that has neither
    /// UID nor stamp is told after a rename only by unchanged bytes).
    renamed: bool,
    edited: bool,
}

const SHAPE_CARDS: usize = 5;

impl Sandbox {
    /// The text of the book (one file) or of card `key`'s file, and that
    /// file's name (`vdir`).
    fn card_file(&self, key: usize) -> Option<(PathBuf, String)> {
        let needle = format!("\nN:Nachname{key};");
        match self.book {
            Book::OneFile => {
                let path = self.root().join("book.vcf");
                let text = std::fs::read_to_string(&path).unwrap();
                text.contains(&needle).then_some((path, text))
            }
            Book::Folder => {
                let mut found: Vec<(PathBuf, String)> = std::fs::read_dir(self.folder())
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.is_file() && !p.is_symlink())
                    .map(|p| {
                        let text = std::fs::read_to_string(&p).unwrap();
                        (p, text)
                    })
                    .filter(|(_, t)| t.contains(&needle))
                    .collect();
                assert!(found.len() <= 1, "card {key} once: {found:?}");
                found.pop()
            }
        }
    }

    /// The given name in card `key`, and how many cards hold contact `key`.
    fn card_given(&self, key: usize) -> (Option<String>, usize) {
        let needle = format!("\nN:Nachname{key};");
        let texts: Vec<String> = match self.book {
            Book::OneFile => vec![std::fs::read_to_string(self.root().join("book.vcf")).unwrap()],
            Book::Folder => std::fs::read_dir(self.folder())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect(),
        };
        let count = texts.iter().map(|t| t.matches(&needle).count()).sum();
        let given = texts.iter().find_map(|t| {
            let at = t.find(&needle)? + needle.len();
            Some(t[at..].split(';').next()?.to_string())
        });
        (given, count)
    }

    fn crm_given(&self, key: usize) -> Vec<String> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT first_name FROM customers WHERE email = ?1")
            .unwrap();
        stmt.query_map([format!("p{key}@example.de")], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

/// Run `steps` on a book of the shape; after every sync (and once more
/// with every hidden card back) no contact is lost or doubled on either
/// side, both hold what the edits say, and the next plan is empty.
fn run_shape(book: Book, uids: bool, stamp: bool, steps: &[Step]) {
    let sb = Sandbox::new(book, SHAPE_CARDS, uids, stamp);
    sb.first_sync(SHAPE_CARDS);
    let mut known: Vec<Known> = (0..SHAPE_CARDS)
        .map(|k| Known {
            agreed: format!("Vor{k}"),
            ..Known::default()
        })
        .collect();
    let folder = matches!(book, Book::Folder);
    let stash = sb.root().join("stash");
    std::fs::create_dir_all(&stash).unwrap();
    let mut renames = 0;
    let context = |steps: &[Step]| format!("shape uids={uids} stamp={stamp}, steps {steps:?}");
    for (n, &step) in steps.iter().enumerate() {
        let done = &steps[..=n];
        match step {
            Step::CrmEdit { key, value } => {
                let name = format!("G{key}x{value}");
                sb.db()
                    .execute(
                        "UPDATE customers SET first_name = ?1 WHERE email = ?2",
                        rusqlite::params![name, format!("p{key}@example.de")],
                    )
                    .unwrap();
                // Back to what both agreed on is no change (three-way).
                let k = &mut known[key];
                k.crm = (name != k.agreed).then_some(name);
            }
            Step::CardEdit { key, value } => {
                let k = &mut known[key];
                // Without UID and stamp, a renamed card that is also edited
                // is a new card: nothing could tell it (SPEC: "with its UID kept").
                if k.hidden.is_some() || (k.renamed && !uids && !stamp) {
                    continue;
                }
                let (path, text) = sb.card_file(key).expect("a visible card");
                let needle = format!("\nN:Nachname{key};");
                let at = text.find(&needle).unwrap() + needle.len();
                let end = at + text[at..].find(';').unwrap();
                let name = format!("C{key}x{value}");
                let edited = format!("{}{name}{}", &text[..at], &text[end..]);
                std::fs::write(path, edited).unwrap();
                k.card = (name != k.agreed).then_some(name);
                k.edited = true;
            }
            Step::Rename { key } => {
                let k = &mut known[key];
                if !folder || k.hidden.is_some() || (k.edited && !uids && !stamp) {
                    continue;
                }
                let (path, _) = sb.card_file(key).unwrap();
                renames += 1;
                std::fs::rename(&path, sb.folder().join(format!("R{renames}.vcf"))).unwrap();
                k.renamed = true;
            }
            Step::Hide { key } => {
                let k = &mut known[key];
                if !folder || k.hidden.is_some() {
                    continue;
                }
                let (path, text) = sb.card_file(key).unwrap();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                std::fs::remove_file(&path).unwrap();
                #[cfg(unix)]
                std::os::unix::fs::symlink(stash.join("gone").join(&name), &path).unwrap();
                k.hidden = Some((name, text.into_bytes()));
            }
            Step::Restore { key } => {
                if let Some((name, bytes)) = known[key].hidden.take() {
                    let path = sb.folder().join(name);
                    std::fs::remove_file(&path).unwrap();
                    std::fs::write(&path, bytes).unwrap();
                }
            }
            Step::Sync => {
                sync_and_check(&sb, &mut known, &context(done));
            }
        }
    }
    for k in known.iter_mut() {
        if let Some((name, bytes)) = k.hidden.take() {
            let path = sb.folder().join(name);
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
    }
    sync_and_check(
        &sb,
        &mut known,
        &format!("{}, all restored", context(steps)),
    );
}

fn sync_and_check(sb: &Sandbox, known: &mut [Known], context: &str) {
    let out = sb.run(&["apply", "--yes", "--accept-review"]);
    assert!(
        matches!(out.code, Some(0)),
        "apply failed ({context})\n{out}"
    );
    assert!(!out.stdout.contains("failed"), "{context}\n{out}");
    for (key, k) in known.iter_mut().enumerate() {
        let crm = sb.crm_given(key);
        let (card, cards) = sb.card_given(key);
        assert_eq!(crm.len(), 1, "contact {key} once in the CRM ({context})");
        if k.hidden.is_some() {
            // Its pair waits: the CRM keeps what it holds.
            assert_eq!(cards, 0, "{context}");
            let want = k.crm.clone().unwrap_or_else(|| k.agreed.clone());
            assert_eq!(crm[0], want, "contact {key} while hidden ({context})");
            continue;
        }
        // Both sides edited: the CRM wins (`conflicts = "left"`).
        let (crm_edit, card_edit) = (k.crm.take(), k.card.take());
        let want = crm_edit.or(card_edit).unwrap_or_else(|| k.agreed.clone());
        assert_eq!(cards, 1, "contact {key} once in the book ({context})");
        assert_eq!(crm[0], want, "contact {key} in the CRM ({context})");
        assert_eq!(
            card.as_deref(),
            Some(want.as_str()),
            "contact {key} card ({context})"
        );
        k.agreed = want;
        k.renamed = false;
        k.edited = false;
    }
    assert_eq!(sb.rows(), SHAPE_CARDS as i64, "{context}");
    let plan = sb.plan();
    assert!(
        ops(&plan).is_empty(),
        "the next plan is empty ({context})\n{plan:#}"
    );
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let key = 0..SHAPE_CARDS;
    prop_oneof![
        3 => (key.clone(), 0u8..4).prop_map(|(key, value)| Step::CrmEdit { key, value }),
        3 => (key.clone(), 0u8..4).prop_map(|(key, value)| Step::CardEdit { key, value }),
        2 => key.clone().prop_map(|key| Step::Rename { key }),
        1 => key.clone().prop_map(|key| Step::Hide { key }),
        1 => key.prop_map(|key| Step::Restore { key }),
        3 => Just(Step::Sync),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 32,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// vdir with and without UIDs, a one-file book with and without UIDs,
    /// each with and without stamps, against the SQLite CRM.
    #[test]
    fn no_contact_is_lost_or_doubled_across_store_shapes_edits_renames_and_unreadable_files(
        shape in 0usize..4,
        stamp in proptest::bool::ANY,
        steps in proptest::collection::vec(step(), 1..14),
    ) {
        let (book, uids) = match shape {
            0 => (Book::Folder, true),
            1 => (Book::Folder, false),
            2 => (Book::OneFile, true),
            _ => (Book::OneFile, false),
        };
        run_shape(book, uids, stamp, &steps);
    }
}

/// Found by the verification pass (issue 11, finding 6): a card renamed and
/// edited, with neither a UID nor a stamp to tie it to its link, was a
/// delete that needed no review beside a create that "may be the same
/// person"; `apply --yes` deleted the CRM row. The delete waits now, and
/// the create with it.
#[test]
fn a_delete_whose_contact_a_create_looks_like_waits_for_review() {
    let sb = Sandbox::new(Book::Folder, 6, false, false);
    sb.first_sync(6);
    let rows = sb.rows();
    let path = sb.folder().join("Person 3.vcf");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(
        sb.folder().join("Renamed 3.vcf"),
        text.replace("Nachname3", "Neuname3"),
    )
    .unwrap();
    let plan = sb.plan();
    let delete = ops(&plan)
        .iter()
        .find(|op| op["kind"] == "delete")
        .unwrap_or_else(|| panic!("the old card's row is a delete\n{plan:#}"));
    assert_eq!(delete["review"], true, "{plan:#}");
    assert!(
        delete["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("looks like this one")),
        "{plan:#}"
    );
    let create = ops(&plan)
        .iter()
        .find(|op| op["kind"] == "create")
        .unwrap_or_else(|| panic!("the renamed card is a create\n{plan:#}"));
    assert_eq!(create["review"], true, "no second copy either\n{plan:#}");
    sb.ok(&["apply", "--yes"]);
    assert_eq!(
        sb.rows(),
        rows,
        "no CRM row deleted or added by what needs no review"
    );
    assert!(sb.row_by_email("p3@example.de") > 0);
}

// ---- finding 1, continued: a UID-less book keeps its ids from the first sync ----

impl Sandbox {
    fn book_text(&self) -> String {
        std::fs::read_to_string(self.root().join("book.vcf")).unwrap()
    }

    /// The user removes the card of contact `key` from the one-file book (as
    /// a phone or Outlook would), keeping every other card byte for byte.
    fn remove_from_book(&self, key: usize) {
        let text = self.book_text();
        let needle = format!("N:Nachname{key};");
        let cards: Vec<&str> = text
            .split_inclusive("END:VCARD\r\n")
            .filter(|c| !c.contains(&needle))
            .collect();
        std::fs::write(self.root().join("book.vcf"), cards.concat()).unwrap();
    }
}

#[test]
fn a_card_the_user_removes_from_a_uid_less_book_after_the_first_sync_deletes_only_its_own_row() {
    let sb = Sandbox::new(Book::OneFile, 20, false, false);
    sb.first_sync(20);
    // The first sync linked every card, so it gave each a UID: the links
    // no longer depend on the cards' places in the file.
    assert_eq!(
        sb.book_text().matches("\nUID:").count(),
        20,
        "{}",
        sb.book_text()
    );
    let kept: Vec<(usize, i64)> = (0..20)
        .filter(|&i| i != 3)
        .map(|i| (i, sb.row_by_email(&format!("p{i}@example.de"))))
        .collect();
    sb.remove_from_book(3);
    let plan = sb.plan();
    assert_eq!(kinds(&plan), ["delete"], "only card 3's row goes\n{plan:#}");
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 19);
    for (i, id) in kept {
        assert_eq!(
            sb.row_by_email(&format!("p{i}@example.de")),
            id,
            "row {i} kept"
        );
        assert_eq!(sb.crm_given(i), [format!("Vor{i}")], "row {i} unchanged");
    }
    assert!(ops(&sb.plan()).is_empty());
}

#[test]
fn the_crm_stamp_of_a_uid_less_card_is_the_uid_the_first_sync_gave_it() {
    let sb = Sandbox::new(Book::OneFile, 5, false, false);
    sb.db()
        .execute_batch("ALTER TABLE customers ADD COLUMN outlook_uid TEXT;")
        .unwrap();
    let config = std::fs::read_to_string(sb.root().join("abgleich.toml")).unwrap();
    let config = config.replace("id = \"id\"\n", "id = \"id\"\nstamp = \"outlook_uid\"\n");
    std::fs::write(sb.root().join("abgleich.toml"), config).unwrap();
    sb.first_sync(5);
    let text = sb.book_text();
    let db = sb.db();
    let mut stmt = db
        .prepare("SELECT email, outlook_uid FROM customers")
        .unwrap();
    let rows: Vec<(String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 5);
    for (email, stamp) in rows {
        let stamp = stamp.unwrap_or_default();
        assert!(
            !stamp.starts_with('#'),
            "{email}: the stamp is no position: {stamp}"
        );
        let card = text
            .split_inclusive("END:VCARD\r\n")
            .find(|c| c.contains(&email))
            .unwrap();
        assert!(
            card.contains(&format!("UID:{stamp}\r\n")),
            "{email}: {stamp}\n{card}"
        );
    }
}

#[test]
fn a_fresh_uid_less_export_of_the_same_book_deletes_nothing() {
    let sb = Sandbox::new(Book::OneFile, 10, false, false);
    sb.first_sync(10);
    let before: Vec<i64> = (0..10)
        .map(|i| sb.row_by_email(&format!("p{i}@example.de")))
        .collect();
    // Outlook exports the book again, without the UIDs abgleich gave it.
    let export: String = (0..10).map(|i| card(i, false)).collect();
    std::fs::write(sb.root().join("book.vcf"), export).unwrap();
    let plan = sb.plan();
    for op in ops(&plan) {
        assert!(
            op["kind"] != "delete" || op["review"] == true,
            "no delete without review\n{plan:#}"
        );
    }
    sb.ok(&["apply", "--yes"]);
    let after: Vec<i64> = (0..10)
        .map(|i| sb.row_by_email(&format!("p{i}@example.de")))
        .collect();
    assert_eq!(before, after, "every CRM row kept");
    assert_eq!(sb.cards(), 10, "no card doubled");
}

#[test]
fn two_cards_that_swap_file_names_keep_their_links_by_uid() {
    let sb = Sandbox::new(Book::Folder, 6, true, true);
    sb.first_sync(6);
    let rows: Vec<i64> = (0..6)
        .map(|i| sb.row_by_email(&format!("p{i}@example.de")))
        .collect();
    // A tool renames the cards so that card 1 and card 2 swap file names.
    rename_card(&sb, "Person 1.vcf", "swap.tmp");
    rename_card(&sb, "Person 2.vcf", "Person 1.vcf");
    rename_card(&sb, "swap.tmp", "Person 2.vcf");
    let plan = sb.plan();
    assert!(ops(&plan).is_empty(), "the same two contacts\n{plan:#}");
    sb.ok(&["apply", "--yes", "--accept-review"]);
    let after: Vec<i64> = (0..6)
        .map(|i| sb.row_by_email(&format!("p{i}@example.de")))
        .collect();
    assert_eq!(rows, after, "no CRM row deleted or created");
    // The links follow the cards: a CRM edit reaches the right file.
    sb.set_given(rows[1], "Erste");
    sb.ok(&["apply", "--yes"]);
    let text = std::fs::read_to_string(sb.folder().join("Person 2.vcf")).unwrap();
    assert!(text.contains("N:Nachname1;Erste;;;"), "{text}");
    let other = std::fs::read_to_string(sb.folder().join("Person 1.vcf")).unwrap();
    assert!(other.contains("N:Nachname2;Vor2;;;"), "{other}");
    assert!(ops(&sb.plan()).is_empty());
}

#[test]
fn a_crash_at_any_write_of_the_first_sync_of_a_uid_less_book_recovers_it_byte_for_byte() {
    // The first sync writes every row and gives the book its UIDs: kill
    // it after each write; the next command puts both back exactly, and
    // the sync then runs as if nothing had happened.
    let mut k = 1;
    loop {
        let sb = Sandbox::new(Book::OneFile, 6, false, false);
        let book = sb.book_text();
        let out = Command::new(BIN)
            .args(["apply", "--yes", "--config"])
            .arg(sb.root().join("abgleich.toml"))
            .env("XDG_STATE_HOME", sb.root().join("env"))
            .env(crate::crash::HOOK, k.to_string())
            .output()
            .unwrap();
        let done = out.status.success();
        if !done {
            sb.ok(&["status"]);
            assert_eq!(sb.book_text(), book, "the book after a crash at write {k}");
            assert_eq!(sb.rows(), 0, "the CRM after a crash at write {k}");
        }
        sb.first_sync(6);
        assert_eq!(sb.book_text().matches("\nUID:").count(), 6);
        if done {
            assert!(k > 2, "the apply wrote rows and the book");
            break;
        }
        k += 1;
    }
}

#[test]
fn a_one_file_book_with_cr_line_ends_stays_readable_after_abgleich_writes_it() {
    for uids in [true, false] {
        let sb = Sandbox::new(Book::OneFile, 3, uids, false);
        let cr = sb.book_text().replace("\r\n", "\r");
        std::fs::write(sb.root().join("book.vcf"), &cr).unwrap();
        sb.first_sync(3);
        sb.db()
            .execute(
                "INSERT INTO customers (first_name, last_name, email) VALUES ('Neu', 'Kunde', 'neu@example.de')",
                [],
            )
            .unwrap();
        sb.ok(&["apply", "--yes"]);
        let text = sb.book_text();
        assert!(!text.contains('\n'), "CR line ends only\n{text:?}");
        let check = sb.ok(&["check"]);
        assert!(
            check
                .stdout
                .contains("book.vcf): 4 records, 4 in scope, 0 unreadable"),
            "{check}"
        );
        assert_eq!(sb.cards(), 4);
        assert!(ops(&sb.plan()).is_empty(), "uids: {uids}");
    }
}

#[test]
fn two_uid_less_stamped_cards_that_swap_file_names_keep_their_links_by_stamp() {
    let sb = Sandbox::new(Book::Folder, 4, false, true);
    sb.first_sync(4);
    let rows: Vec<i64> = (0..4)
        .map(|i| sb.row_by_email(&format!("p{i}@example.de")))
        .collect();
    let stamped = std::fs::read_to_string(sb.folder().join("Person 1.vcf")).unwrap();
    assert!(stamped.contains("X-CRM-CUSTOMER-NO:"), "{stamped}");
    rename_card(&sb, "Person 1.vcf", "swap.tmp");
    rename_card(&sb, "Person 2.vcf", "Person 1.vcf");
    rename_card(&sb, "swap.tmp", "Person 2.vcf");
    let plan = sb.plan();
    assert!(ops(&plan).is_empty(), "the same two contacts\n{plan:#}");
    sb.ok(&["apply", "--yes", "--accept-review"]);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(sb.crm_given(i), [format!("Vor{i}")], "row {i} unchanged");
        assert_eq!(sb.row_by_email(&format!("p{i}@example.de")), *row);
    }
    sb.set_given(rows[1], "Erste");
    sb.ok(&["apply", "--yes"]);
    let text = std::fs::read_to_string(sb.folder().join("Person 2.vcf")).unwrap();
    assert!(text.contains("N:Nachname1;Erste;;;"), "{text}");
    assert!(ops(&sb.plan()).is_empty());
}

/// An import from a book abgleich never writes (Outlook's export, no UIDs):
/// its cards are known by their places, so a card removed or moved up must
/// not hand its CRM row to the card that now stands there.
#[test]
fn an_import_from_a_uid_less_book_never_gives_a_row_to_the_card_that_moved_into_its_place() {
    let sb = Sandbox::new(Book::OneFile, 0, false, false);
    sb.db()
        .execute_batch("ALTER TABLE customers ADD COLUMN outlook_uid TEXT;")
        .unwrap();
    let config = std::fs::read_to_string(sb.root().join("abgleich.toml")).unwrap();
    let config = config
        .replace("id = \"id\"\n", "id = \"id\"\nstamp = \"outlook_uid\"\n")
        .replace("mode = \"sync\"", "mode = \"import\"");
    std::fs::write(sb.root().join("abgleich.toml"), config).unwrap();
    let card = |given: &str, family: &str, email: &str| {
        format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:{family};{given};;;\r\nFN:{given} {family}\r\nEMAIL;INTERNET:{email}\r\nEND:VCARD\r\n"
        )
    };
    let (anna, max, carla) = (
        card("Anna", "Berg", "anna@x.de"),
        card("Max", "Berg", "max@x.de"),
        card("Carla", "Dorn", "carla@x.de"),
    );
    std::fs::write(sb.root().join("book.vcf"), format!("{anna}{max}{carla}")).unwrap();
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 3);
    let book_before = sb.book_text();
    let stamps: Vec<Option<String>> = {
        let db = sb.db();
        let mut stmt = db.prepare("SELECT outlook_uid FROM customers").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(
        stamps.iter().flatten().all(|s| !s.starts_with('#')),
        "no position as a stamp: {stamps:?}"
    );
    assert_eq!(sb.book_text(), book_before, "import never writes the book");
    let rows_of = |sb: &Sandbox| -> Vec<(i64, String, String)> {
        let db = sb.db();
        let mut stmt = db
            .prepare("SELECT id, first_name, email FROM customers ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = rows_of(&sb);
    // Outlook exports again in another order: the same three people.
    std::fs::write(sb.root().join("book.vcf"), format!("{carla}{anna}{max}")).unwrap();
    let plan = sb.plan();
    assert!(ops(&plan).is_empty(), "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    assert_eq!(rows_of(&sb), before);
    // And again: Anna is gone, Max moved up into her place.
    std::fs::write(sb.root().join("book.vcf"), format!("{carla}{max}")).unwrap();
    // An import never deletes: nothing to do, and no row changes hands.
    let plan = sb.plan();
    assert!(ops(&plan).is_empty(), "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    assert_eq!(rows_of(&sb), before, "no row changed hands");
    // Max edited in Outlook, in Anna's old place: his row gets it.
    let max2 = max.replace("max@x.de", "max@neu.de");
    std::fs::write(sb.root().join("book.vcf"), format!("{carla}{max2}")).unwrap();
    let plan = sb.plan();
    assert_eq!(kinds(&plan), ["update"], "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    let expected: Vec<(i64, String, String)> = before
        .iter()
        .map(|(id, given, email)| {
            let email = if given == "Max" { "max@neu.de" } else { email };
            (*id, given.clone(), email.to_string())
        })
        .collect();
    assert_eq!(rows_of(&sb), expected, "only Max's row changed");
}

/// A stamp left on a card (the undo of the apply that created its CRM row
/// kept the card, which the user had edited) points at an id SQLite gives
/// to the next new row: that stranger is not linked to the card, nor filled
/// with its values, without review.
#[test]
fn a_stamp_left_behind_never_links_a_stranger_who_got_its_id_without_review() {
    let dir = crate::common::copy_samples();
    let run = |args: &[&str]| {
        let out = crate::common::run(
            Command::new(BIN)
                .args(args)
                .arg("--config")
                .arg(dir.path().join("abgleich.toml"))
                .env("XDG_STATE_HOME", dir.path().join("xdg")),
        );
        assert_eq!(out.code, Some(0), "{args:?}\n{out}");
        out
    };
    run(&["apply", "--yes"]);
    let db = Connection::open(dir.path().join("crm.sqlite")).unwrap();
    let id: i64 = db
        .query_row(
            "SELECT id FROM customers WHERE last_name = 'Maier'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let card = dir.path().join("outlook/Florian Maier.vcf");
    let text = std::fs::read_to_string(&card).unwrap();
    assert!(text.contains(&format!("X-CRM-CUSTOMER-NO:{id}")), "{text}");
    std::fs::write(
        &card,
        text.replace("END:VCARD", "NOTE:met at the fair\r\nEND:VCARD"),
    )
    .unwrap();
    let undo = run(&["undo"]);
    assert!(
        undo.stdout.contains("Florian Maier"),
        "the edited card is kept\n{undo}"
    );
    db.execute(
        "INSERT INTO customers (first_name, last_name, email, updated_at, outlook_sync) \
         VALUES ('Hans', 'Wurst', 'hans@wurst.example', '2026-01-01 00:00:00', 1)",
        [],
    )
    .unwrap();
    assert_eq!(
        db.last_insert_rowid(),
        id,
        "SQLite gives the freed id again"
    );
    let plan = run(&["plan", "--json"]);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let link = ops(&plan)
        .iter()
        .find(|op| op["left_id"] == id.to_string().as_str())
        .unwrap_or_else(|| panic!("the new row's operation\n{plan:#}"));
    assert_eq!(link["review"], true, "{link:#}");
    run(&["apply", "--yes"]);
    let row: (String, Option<String>) = db
        .query_row(
            "SELECT last_name, company FROM customers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        ("Wurst".to_string(), None),
        "Hans Wurst keeps his own row"
    );
}

/// A propagated delete of a CRM row other rows refer to (its orders, which
/// the database would delete with it) waits for review and says so.
#[test]
fn a_delete_of_a_row_other_rows_refer_to_waits_for_review_and_names_them() {
    let sb = Sandbox::new(Book::Folder, 3, true, false);
    sb.db()
        .execute_batch(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, \
             customer INTEGER REFERENCES customers(id) ON DELETE CASCADE);",
        )
        .unwrap();
    sb.first_sync(3);
    let row = sb.row_by_email("p1@example.de");
    sb.db()
        .execute("INSERT INTO orders (customer) VALUES (?1), (?1)", [row])
        .unwrap();
    std::fs::remove_file(sb.folder().join("Person 1.vcf")).unwrap();
    std::fs::remove_file(sb.folder().join("Person 2.vcf")).unwrap();
    let plan = sb.plan();
    let deletes: Vec<&Value> = ops(&plan)
        .iter()
        .filter(|op| op["kind"] == "delete")
        .collect();
    assert_eq!(deletes.len(), 2, "{plan:#}");
    let held = deletes
        .iter()
        .find(|op| op["left_id"] == row.to_string().as_str())
        .unwrap();
    assert_eq!(held["review"], true, "{plan:#}");
    let warning = held["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("2 rows of orders"), "{warning}");
    let other = deletes.iter().find(|op| *op != held).unwrap();
    assert_eq!(other["review"], false, "nothing refers to the other row");
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 2, "only the row nothing refers to is deleted");
    let orders: i64 = sb
        .db()
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 2, "the orders are kept");
}

/// An undo whose rows a deferred foreign key refuses at COMMIT (the row it
/// puts back names an account deleted since) keeps those rows as the apply
/// left them and names them; every later command still works.
#[test]
fn an_undo_a_deferred_foreign_key_refuses_at_commit_keeps_the_row_and_names_it() {
    let sb = Sandbox::new(Book::Folder, 3, true, false);
    sb.db()
        .execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO accounts VALUES (7, 'Acme');
             ALTER TABLE customers ADD COLUMN account_id INTEGER \
                 REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED;",
        )
        .unwrap();
    sb.first_sync(3);
    let row = sb.row_by_email("p1@example.de");
    sb.db()
        .execute("UPDATE customers SET account_id = 7", [])
        .unwrap();
    std::fs::remove_file(sb.folder().join("Person 1.vcf")).unwrap();
    sb.ok(&["apply", "--yes"]);
    assert_eq!(sb.rows(), 2, "row {row} deleted with its card");
    sb.db()
        .execute_batch("UPDATE customers SET account_id = NULL; DELETE FROM accounts;")
        .unwrap();
    let undo = sb.ok(&["undo"]);
    assert!(
        undo.stdout.contains(&format!("CRM {row}")),
        "names the row\n{undo}"
    );
    assert!(undo.stdout.contains("FOREIGN KEY"), "and why\n{undo}");
    assert_eq!(sb.rows(), 2, "the row stays deleted");
    sb.ok(&["status"]);
    sb.plan();
}

/// An import from a UID-less book: a card removed, and the one that moved
/// up into its place edited too. The row of the removed card must not
/// silently become the other person.
#[test]
fn an_import_never_overwrites_a_row_with_the_edited_card_that_took_its_place() {
    let sb = Sandbox::new(Book::OneFile, 0, false, false);
    let config = std::fs::read_to_string(sb.root().join("abgleich.toml")).unwrap();
    std::fs::write(
        sb.root().join("abgleich.toml"),
        config.replace("mode = \"sync\"", "mode = \"import\""),
    )
    .unwrap();
    let card = |given: &str, family: &str, email: &str| {
        format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:{family};{given};;;\r\nFN:{given} {family}\r\nEMAIL;INTERNET:{email}\r\nEND:VCARD\r\n"
        )
    };
    let (anna, max, carla) = (
        card("Anna", "Berg", "anna@x.de"),
        card("Max", "Berg", "max@x.de"),
        card("Carla", "Dorn", "carla@x.de"),
    );
    std::fs::write(sb.root().join("book.vcf"), format!("{anna}{max}{carla}")).unwrap();
    sb.ok(&["apply", "--yes"]);
    let anna_row = sb.row_by_email("anna@x.de");
    // Anna is gone; Max moved up into her place, with a new address.
    let max2 = card("Max", "Berg", "max@neu.de");
    std::fs::write(sb.root().join("book.vcf"), format!("{max2}{carla}")).unwrap();
    let plan = sb.plan();
    for op in ops(&plan) {
        if op["left_id"] == anna_row.to_string().as_str() {
            assert_eq!(op["review"], true, "Anna's row waits\n{plan:#}");
        }
    }
    sb.ok(&["apply", "--yes"]);
    assert_eq!(
        sb.crm_given_by_id(anna_row),
        "Anna",
        "Anna's row is still Anna's"
    );
}

impl Sandbox {
    fn crm_given_by_id(&self, id: i64) -> String {
        self.db()
            .query_row(
                "SELECT first_name FROM customers WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    }
}

/// A stamp left on a card whose CRM id went to a row without a name (a
/// company's) that shares nothing else with it: the link waits for review.
#[test]
fn a_stamp_to_a_nameless_stranger_waits_for_review() {
    let sb = Sandbox::new(Book::Folder, 2, true, true);
    sb.first_sync(2);
    let row = sb.row_by_email("p1@example.de");
    sb.ok(&["forget", &row.to_string()]);
    sb.db()
        .execute_batch(&format!(
            "DELETE FROM customers WHERE id = {row};
             INSERT INTO customers (id, email) VALUES ({row}, 'info@acme.de');"
        ))
        .unwrap();
    let plan = sb.plan();
    let link = ops(&plan)
        .iter()
        .find(|op| op["kind"] == "link")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(link["review"], true, "{plan:#}");
    sb.ok(&["apply", "--yes"]);
    let email: String = sb
        .db()
        .query_row("SELECT email FROM customers WHERE id = ?1", [row], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(email, "info@acme.de");
    assert_eq!(sb.crm_given_by_id_opt(row), None, "no name written into it");
}

impl Sandbox {
    fn crm_given_by_id_opt(&self, id: i64) -> Option<String> {
        self.db()
            .query_row(
                "SELECT first_name FROM customers WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    }
}

/// A saved plan that accepts a conflict but not its pair's link: nothing is
/// written, and the report says so and lists the conflict as waiting.
#[test]
fn a_saved_plan_accepting_a_conflict_without_its_link_writes_nothing_and_says_so() {
    let dir = crate::common::copy_samples();
    let config = dir.path().join("abgleich.toml");
    let run = |args: &[&str]| {
        crate::common::run(
            Command::new(BIN)
                .args(args)
                .arg("--config")
                .arg(&config)
                .env("XDG_STATE_HOME", dir.path().join("xdg")),
        )
    };
    let plan_file = dir.path().join("p.json");
    let out = run(&["plan", "--out", plan_file.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{out}");
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let mut found = false;
    for op in plan["operations"].as_array_mut().unwrap() {
        let sabine = op["name"] == "Sabine GROSS";
        if sabine && op["kind"] == "conflict" {
            op["accept"] = Value::Bool(true);
            for c in op["changes"].as_array_mut().unwrap() {
                c["to"] = Value::String("left".into());
            }
            found = true;
        } else {
            op["accept"] = Value::Bool(false);
        }
    }
    assert!(found);
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let rows_before = crate::crash::crm_rows(&dir.path().join("crm.sqlite"));
    let out = run(&["apply", "--plan", plan_file.to_str().unwrap(), "--yes"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("nothing to apply"), "{out}");
    assert!(!out.stdout.contains("apply #0"), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("conflict Sabine GROSS")),
        "the conflict is listed as waiting\n{out}"
    );
    assert_eq!(
        crate::crash::crm_rows(&dir.path().join("crm.sqlite")),
        rows_before
    );
}

#[test]
fn a_latin_1_card_given_its_uid_keeps_every_other_byte() {
    let sb = Sandbox::new(Book::OneFile, 0, false, false);
    let card: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1:M\xfcller;J\xfcrgen;;;\r\n\
FN;CHARSET=ISO-8859-1:J\xfcrgen M\xfcller\r\nEMAIL;INTERNET:j@m.de\r\nNOTE;ENCODING=QUOTED-PRINTABLE:Gr=FC=DFe\r\nEND:VCARD\r\n";
    std::fs::write(sb.root().join("book.vcf"), card).unwrap();
    sb.ok(&["apply", "--yes"]);
    let after = std::fs::read(sb.root().join("book.vcf")).unwrap();
    let at = after
        .windows(4)
        .position(|w| w == b"UID:")
        .expect("a UID line");
    let end = at + after[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut without = after[..at].to_vec();
    without.extend_from_slice(&after[end..]);
    assert_eq!(
        without,
        card,
        "only the UID line was added:\n{}",
        String::from_utf8_lossy(&after)
    );
    assert!(ops(&sb.plan()).is_empty());
}

/// A card made immutable (`chattr +i`) cannot be replaced: the apply says
/// which store could not put its cards in place and that nothing was
/// written, and both stores are as they were.
#[test]
fn an_immutable_card_stops_the_apply_with_a_message_naming_the_store() {
    let sb = Sandbox::new(Book::Folder, 3, true, false);
    sb.first_sync(3);
    let row = sb.row_by_email("p1@example.de");
    sb.set_given(row, "Neu");
    let card = sb.folder().join("Person 1.vcf");
    let before = std::fs::read(&card).unwrap();
    let locked = Command::new("chattr").arg("+i").arg(&card).status();
    if !locked.is_ok_and(|s| s.success()) {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    let out = sb.run(&["apply", "--yes"]);
    let _ = Command::new("chattr").arg("-i").arg(&card).status();
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("Book could not put its cards in place")
            && out.stderr.contains("nothing was written"),
        "{out}"
    );
    assert_eq!(std::fs::read(&card).unwrap(), before);
    assert_eq!(sb.crm_given(1), ["Neu"], "the CRM edit is still to do");
    // Put back at once, the apply is recorded as rolled back with its
    // reason, not left "running" for the next command to recover.
    let status = sb.run(&["status"]);
    assert!(
        status.stdout.contains("(rolled back)") && status.stdout.contains("not done:"),
        "{status}"
    );
    assert!(!format!("{status}").contains("did not finish"), "{status}");
    sb.ok(&["apply", "--yes"]);
    assert!(ops(&sb.plan()).is_empty());
}
