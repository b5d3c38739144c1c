//! Issue 11, finding 12: what `apply` reports is what the stores hold. A
//! store that cannot be written stops the apply before its first write, a
//! contact written whose follow-up write failed is "written, with a note"
//! (not "failed"), and a saved plan applied twice lists what it no longer
//! has once, in the file's order.

use crate::common::Run;
use crate::common::copy_samples;

use std::path::Path;
use std::process::Command;

use abgleich::config::Config;
use abgleich::model::Side;
use abgleich::sync::apply::{self, ApplyInput, Outcome};
use abgleich::sync::plan::OpKind;
use abgleich::sync::session::Session;

const BIN: &str = env!("CARGO_BIN_EXE_abgleich");

fn run(dir: &Path, args: &[&str]) -> Run {
    let config = dir.join("abgleich.toml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn rows(dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join("crm.sqlite")).unwrap();
    db.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap()
}

/// A folder nobody can write into while it lives: `chmod 0555`, and for
/// root (whom permissions do not stop) the immutable attribute. `None`
/// when neither holds here (the caller says what it skipped).
struct ReadOnly<'a>(&'a Path);

impl<'a> ReadOnly<'a> {
    fn make(dir: &'a Path) -> Option<ReadOnly<'a>> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let guard = ReadOnly(dir);
        if std::fs::write(dir.join("probe"), "x").is_ok() {
            let _ = std::fs::remove_file(dir.join("probe"));
            let immutable = Command::new("chattr").arg("+i").arg(dir).status();
            if !immutable.is_ok_and(|s| s.success()) {
                return None;
            }
        }
        Some(guard)
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// Before: a read-only card folder gave one "failed: create … Permission
/// denied" per card (35 of them), while 14 CRM rows were created and linked.
/// Now nothing is written and one message names the store.
#[test]
fn a_read_only_card_folder_stops_the_apply_before_its_first_write() {
    let dir = copy_samples();
    let crm_before = std::fs::read(dir.path().join("crm.sqlite")).unwrap();
    let rows_before = rows(dir.path());
    let outlook = dir.path().join("outlook");
    let Some(read_only) = ReadOnly::make(&outlook) else {
        eprintln!("skipped: cannot make a folder read-only here (no chattr for root)");
        return;
    };
    let out = run(dir.path(), &["apply", "--yes"]);
    drop(read_only);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("Outlook cannot be written")
            && out.stderr.contains("nothing was written"),
        "{out}"
    );
    assert_eq!(out.stderr.matches("cannot be written").count(), 1, "{out}");
    assert!(!out.stdout.contains("failed"), "{out}");
    assert_eq!(rows(dir.path()), rows_before);
    assert_eq!(
        std::fs::read(dir.path().join("crm.sqlite")).unwrap(),
        crm_before
    );
    // Writable again, the same apply goes through.
    let out = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(rows(dir.path()) > rows_before);
}

/// Before: a one-file book with a duplicate UID: "applied 0 of 100, 100
/// failed" while 100 CRM rows were created (the stamps into the file were
/// refused, as the file cannot be rewritten without losing a card). Now the
/// apply refuses before its first write, naming the card.
#[test]
fn a_one_file_book_that_cannot_be_rewritten_is_refused_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = String::new();
    for i in 0..40 {
        book.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:dup-{}\r\nFN:Person {i}\r\nN:P{i};Person;;;\r\nEMAIL:p{i}@example.org\r\nEND:VCARD\r\n",
            i % 20
        ));
    }
    std::fs::write(dir.path().join("book.vcf"), &book).unwrap();
    let db = rusqlite::Connection::open(dir.path().join("crm.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, uid TEXT)",
    )
    .unwrap();
    drop(db);
    std::fs::write(
        dir.path().join("abgleich.toml"),
        r#"[left]
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
kind = "vcard"
path = "book.vcf"
stamp = "X-CRM-ID"
"#,
    )
    .unwrap();
    let out = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("Book cannot be written")
            && out.stderr.contains("a second card with UID \"dup-0\"")
            && out.stderr.contains("nothing was written"),
        "{out}"
    );
    assert_eq!(rows(dir.path()), 0, "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("book.vcf")).unwrap(),
        book
    );
}

/// Before: a card that went away between the plan and the apply made its
/// create into the CRM "changed since plan" though the row was written and
/// linked. Now the create is written, with a note about the stamp.
#[test]
fn a_create_whose_stamp_write_fails_is_written_with_a_note() {
    let dir = copy_samples();
    let config = Config::load(&dir.path().join("abgleich.toml")).unwrap();
    let session = Session::open(config, "test").unwrap();
    let links = session.links().unwrap();
    let snapshot = session.read().unwrap();
    let plan = session.plan(&snapshot, &links).unwrap();
    let decisions = apply::default_decisions(&plan, false, None);
    let (index, op) = plan
        .operations
        .iter()
        .enumerate()
        .find(|(_, op)| {
            op.kind == OpKind::Create && op.id_on(Side::Right) == Some("Florian Maier.vcf")
        })
        .expect("the samples create Florian Maier in the CRM");
    assert!(decisions[index].accept);
    let name = op.name.clone();
    // Another program moves the card away after the plan.
    std::fs::rename(
        dir.path().join("outlook/Florian Maier.vcf"),
        dir.path().join("moved.vcf"),
    )
    .unwrap();
    let fingerprint = session.fingerprint();
    let Session {
        mut state,
        mut stores,
        fields,
        ..
    } = session;
    let report = apply::apply(
        &ApplyInput {
            plan: &plan,
            decisions: &decisions,
            snapshot: &snapshot,
            fields: &fields,
            force: false,
            fingerprint: &fingerprint,
        },
        &mut stores,
        &mut state,
    )
    .unwrap();
    assert!(
        matches!(report.outcomes[index], Outcome::Noted(_)),
        "{name}: {:?}",
        report.outcomes[index]
    );
    assert!(report.outcomes[index].written());
    let db = rusqlite::Connection::open(dir.path().join("crm.sqlite")).unwrap();
    let found: i64 = db
        .query_row(
            "SELECT count(*) FROM customers WHERE first_name = 'Florian' AND last_name = 'Maier'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 1, "the row the report calls written is in the CRM");
}

/// Before: re-running an applied saved plan printed one "changed since
/// plan" line per operation, in a different order each run, and no word
/// that the plan was likely applied already.
#[test]
fn a_saved_plan_applied_again_lists_what_it_no_longer_has_in_its_order() {
    let dir = copy_samples();
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let out = run(dir.path(), &["plan", "--out", saved]);
    assert_eq!(out.code, Some(0), "{out}");
    let out = run(dir.path(), &["apply", "--plan", saved, "--yes"]);
    assert_eq!(out.code, Some(0), "{out}");
    let again = run(dir.path(), &["apply", "--plan", saved, "--yes"]);
    let third = run(dir.path(), &["apply", "--plan", saved, "--yes"]);
    assert_eq!(again.stdout, third.stdout, "the same words each time");
    assert!(
        again
            .stdout
            .contains("operations are not in the new plan (applied already"),
        "{again}"
    );
    let text: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    let order: Vec<&str> = text["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|op| op["id"].as_str())
        .collect();
    let listed: Vec<&str> = again
        .stdout
        .lines()
        .filter_map(|l| l.split("(operation ").nth(1))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(listed.len() > 1, "{again}");
    let mut in_file_order = listed.clone();
    in_file_order.sort_by_key(|id| order.iter().position(|o| o == id));
    assert_eq!(listed, in_file_order, "{again}");
}
