//! Issue 11, finding 4 (SPEC §6 "Another program's write lost because
//! abgleich wrote at the same time"): another program writes to a store
//! while `apply` writes to it. The binary runs that program at the point
//! where the two race (`ABGLEICH_WHILE_WRITING`, a shell command run after
//! abgleich read what it is about to replace and before it replaces it; a
//! `crash-points` build hook, given that file as `$1`); the other program
//! writes once (it leaves a marker file).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_abgleich");
const WHILE_WRITING: &str = "ABGLEICH_WHILE_WRITING";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn run(dir: &Path, args: &[&str], other_writer: Option<&str>) -> Run {
    run_aborting(dir, args, other_writer, None)
}

fn run_aborting(
    dir: &Path,
    args: &[&str],
    other_writer: Option<&str>,
    abort_after: Option<usize>,
) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(dir.join("abgleich.toml"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env_remove(WHILE_WRITING)
        .env_remove("ABGLEICH_ABORT_AFTER_WRITES");
    if let Some(script) = other_writer {
        // Until it wrote (the script touches the marker when it does).
        let once = format!("cd {dir:?} && if [ ! -e other-wrote ]; then {script}; fi; true");
        cmd.env(WHILE_WRITING, once);
    }
    if let Some(k) = abort_after {
        cmd.env("ABGLEICH_ABORT_AFTER_WRITES", k.to_string());
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn crm(dir: &Path, rows: usize) {
    let db = rusqlite::Connection::open(dir.join("crm.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, uid TEXT)",
    )
    .unwrap();
    for i in 1..=rows {
        db.execute(
            "INSERT INTO customers (first_name, last_name, email) VALUES (?1, ?2, ?3)",
            (
                format!("Person{i}"),
                format!("Family{i}"),
                format!("person{i}@example.org"),
            ),
        )
        .unwrap();
    }
}

const CONFIG: &str = r#"[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = "customers"
id = "id"
stamp = "uid"
[left.fields]
"name.given" = "first_name"
"name.family" = "last_name"
"email[1]" = "email"
[right]
name = "Book"
kind = "STORE_KIND"
path = "STORE_PATH"
stamp = "X-CRM-ID"
[sync]
conflicts = "left"
"#;

/// The cards of another program, appended to a one-file book.
fn other_cards(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:other-{i}\r\nFN:Other {i}\r\nN:Program;Other {i};;;\r\nEMAIL:other{i}@example.org\r\nEND:VCARD\r\n"
            )
        })
        .collect()
}

/// Before: a one-file book was parsed and rewritten by every write; cards
/// another program appended (and an edit it made) between abgleich's read
/// and its rewrite were lost without a word. Now the book is written once
/// per apply, re-read and compared right before it is replaced: every card
/// the other program added stays, its edit stays, and the card abgleich was
/// about to update that the other program edited is "changed since plan".
#[test]
fn a_one_file_book_keeps_what_another_program_wrote_during_an_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crm(d, 20);
    std::fs::write(d.join("book.vcf"), "").unwrap();
    let config = CONFIG
        .replace("STORE_KIND", "vcard")
        .replace("STORE_PATH", "book.vcf");
    std::fs::write(d.join("abgleich.toml"), config).unwrap();
    let first = run(d, &["apply", "--yes"], None);
    assert_eq!(first.code, Some(0), "{first}");
    // Every CRM row changes: the next apply updates all 20 cards.
    let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
    db.execute("UPDATE customers SET last_name = last_name || '-neu'", [])
        .unwrap();
    drop(db);
    std::fs::write(d.join("other.vcf"), other_cards(0, 30)).unwrap();
    let other = "touch other-wrote && cat other.vcf >> book.vcf && \
                 sed -i 's/person7@example.org/person7@other.example.org/' book.vcf";
    let second = run(d, &["apply", "--yes"], Some(other));
    assert!(
        d.join("other-wrote").exists(),
        "the other program never ran"
    );
    let book = std::fs::read_to_string(d.join("book.vcf")).unwrap();
    let lost: Vec<usize> = (0..30)
        .filter(|i| !book.contains(&format!("UID:other-{i}\r\n")))
        .collect();
    assert!(
        lost.is_empty(),
        "the other program's cards {lost:?} were lost\n{second}"
    );
    assert!(
        book.contains("person7@other.example.org"),
        "the other program's edit was lost\n{second}\n{book}"
    );
    assert!(
        second.stdout.contains("changed since plan"),
        "the edited card is not reported\n{second}"
    );
    for i in (1..=20).filter(|&i| i != 7) {
        assert!(
            book.contains(&format!("Family{i}-neu")),
            "card {i} not updated\n{second}"
        );
    }
    assert!(!book.contains("Family7-neu"), "{second}");
}

/// Before: a card file edited by another program after abgleich checked its
/// revision and before abgleich renamed the new card into place was
/// overwritten, and the apply said it was applied. Now the file is compared
/// with the revision the plan read right before the rename: the edit stays,
/// and that card is "changed since plan".
#[test]
fn a_vdir_card_edited_while_abgleich_writes_it_keeps_the_edit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crm(d, 20);
    std::fs::create_dir(d.join("book")).unwrap();
    let config = CONFIG
        .replace("STORE_KIND", "vdir")
        .replace("STORE_PATH", "book");
    std::fs::write(d.join("abgleich.toml"), config).unwrap();
    let first = run(d, &["apply", "--yes"], None);
    assert_eq!(first.code, Some(0), "{first}");
    let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
    db.execute("UPDATE customers SET last_name = last_name || '-neu'", [])
        .unwrap();
    drop(db);
    // When abgleich is about to replace card 7 (and only then), the other
    // program edits it.
    let other = "if grep -q person7@example.org \"$1\"; then touch other-wrote && \
                 sed -i 's/person7@example.org/person7@other.example.org/' \"$1\"; fi";
    let second = run(d, &["apply", "--yes"], Some(other));
    assert!(
        d.join("other-wrote").exists(),
        "the other program never ran"
    );
    let cards: Vec<String> = std::fs::read_dir(d.join("book"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(cards.len(), 20);
    let seven: Vec<&String> = cards.iter().filter(|c| c.contains("person7@")).collect();
    assert_eq!(seven.len(), 1);
    assert!(
        seven[0].contains("person7@other.example.org"),
        "the other program's edit was overwritten\n{second}\n{}",
        seven[0]
    );
    assert!(!seven[0].contains("Family7-neu"), "{second}");
    assert!(
        second.stdout.contains("changed since plan"),
        "the edited card is not reported\n{second}"
    );
    for i in (1..=20).filter(|&i| i != 7) {
        let card = cards
            .iter()
            .find(|c| c.contains(&format!("person{i}@example.org")))
            .unwrap();
        assert!(
            card.contains(&format!("Family{i}-neu")),
            "card {i}\n{second}"
        );
    }
    // Undo puts back what abgleich wrote, and leaves the other program's
    // card alone.
    let undo = run(d, &["undo"], None);
    assert_eq!(undo.code, Some(0), "{undo}");
    let cards: Vec<String> = std::fs::read_dir(d.join("book"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        cards
            .iter()
            .any(|c| c.contains("person7@other.example.org")),
        "undo put back card 7 over the other program's edit\n{undo}"
    );
    assert!(!cards.iter().any(|c| c.contains("-neu")), "{undo}");
}

/// The one-file book written once per apply, killed at every write point
/// (each write to the draft, the file's replacement, the commit): the next
/// command puts the book and the CRM back exactly as they were.
#[test]
fn a_one_file_book_apply_killed_at_every_write_point_is_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crm(d, 5);
    std::fs::write(d.join("book.vcf"), "").unwrap();
    let config = CONFIG
        .replace("STORE_KIND", "vcard")
        .replace("STORE_PATH", "book.vcf");
    std::fs::write(d.join("abgleich.toml"), config).unwrap();
    assert_eq!(run(d, &["apply", "--yes"], None).code, Some(0));
    let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
    db.execute("UPDATE customers SET last_name = last_name || '-neu'", [])
        .unwrap();
    db.execute(
        "INSERT INTO customers (first_name, last_name, email) VALUES ('Neu', 'Person', 'neu@example.org')",
        [],
    )
    .unwrap();
    drop(db);
    let book = std::fs::read(d.join("book.vcf")).unwrap();
    let rows = |d: &Path| -> Vec<(i64, String)> {
        let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
        let mut stmt = db
            .prepare("SELECT id, coalesce(last_name, '') || '|' || coalesce(uid, '') FROM customers ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // Each kill on a fresh copy of the folder as it is now.
    let fresh = || {
        let to = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
            }
        }
        to
    };
    let before_rows = rows(d);
    let mut k = 1;
    loop {
        let copy = fresh();
        let d = copy.path();
        let crashed = run_aborting(d, &["apply", "--yes"], None, Some(k));
        if crashed.code == Some(0) {
            break;
        }
        assert_eq!(crashed.code, None, "k = {k}: killed\n{crashed}");
        let status = run(d, &["status"], None);
        assert_eq!(status.code, Some(0), "k = {k}\n{status}");
        assert_eq!(
            std::fs::read(d.join("book.vcf")).unwrap(),
            book,
            "k = {k}: the book as before the apply\n{status}"
        );
        assert_eq!(rows(d), before_rows, "k = {k}\n{status}");
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".abgleich-"))
            .collect();
        assert!(names.is_empty(), "k = {k}: {names:?} left");
        k += 1;
    }
    assert!(k > 5, "the apply has write points to kill at: {k}");
}

/// The text of every card file in a folder.
fn folder_texts(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// Found by the property below: another program deleted the card abgleich
/// was about to replace, after abgleich checked it and before the rename.
/// Before, the exchange into place failed (nothing to exchange with), the
/// fallback rename put abgleich's card in the deleted one's place and the
/// apply said "applied"; a card abgleich was deleting was "failed: No such
/// file or directory" (exit 1). Now both are "changed since plan", the
/// card stays deleted, and the next plan takes the delete to the CRM.
#[test]
fn a_vdir_card_deleted_by_another_program_while_abgleich_writes_it_stays_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crm(d, 5);
    std::fs::create_dir(d.join("book")).unwrap();
    let config = CONFIG
        .replace("STORE_KIND", "vdir")
        .replace("STORE_PATH", "book")
        + "deletes = { left_to_right = \"propagate\", right_to_left = \"propagate\" }\n\
           max_delete_percent = 100\n";
    std::fs::write(d.join("abgleich.toml"), config).unwrap();
    let first = run(d, &["apply", "--yes"], None);
    assert_eq!(first.code, Some(0), "{first}");
    // Card 3 is updated, card 4 deleted; the other program deletes both
    // right before abgleich replaces (or moves aside) each.
    let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
    db.execute("UPDATE customers SET last_name = last_name || '-neu'", [])
        .unwrap();
    db.execute(
        "DELETE FROM customers WHERE email = 'person4@example.org'",
        [],
    )
    .unwrap();
    drop(db);
    let other = "for i in 3 4; do if grep -q person$i@example.org \"$1\"; then \
                 rm \"$1\"; touch gone$i; fi; done; \
                 if [ -e gone3 ] && [ -e gone4 ]; then touch other-wrote; fi";
    let second = run(d, &["apply", "--yes"], Some(other));
    assert!(
        d.join("other-wrote").exists(),
        "the other program never ran"
    );
    assert_eq!(second.code, Some(0), "{second}");
    assert!(!second.stdout.contains("failed"), "{second}");
    assert_eq!(
        second.stdout.matches("changed since plan: ").count(),
        2,
        "{second}"
    );
    let cards = folder_texts(&d.join("book"));
    assert!(
        !cards.iter().any(|c| c.contains("person3@example.org")),
        "the card the other program deleted is back\n{second}"
    );
    assert_eq!(cards.len(), 3, "{second}");
    for i in [1, 2, 5] {
        assert!(
            cards.iter().any(|c| c.contains(&format!("Family{i}-neu"))),
            "card {i} updated\n{second}"
        );
    }
    // The next apply deletes row 3 (its card was deleted); then nothing.
    let third = run(d, &["apply", "--yes", "--accept-review"], None);
    assert_eq!(third.code, Some(0), "{third}");
    let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
    let rows: i64 = db
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3, "{third}");
    let plan = run(d, &["plan", "--json"], None);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert!(
        plan["operations"].as_array().unwrap().is_empty(),
        "{plan:#}"
    );
}
