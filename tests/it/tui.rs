//! The screen driven headless through its actions, on a copy of the
//! samples: what the operator decides on screen is what reaches the stores.

use crate::common::{self, select_op};

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use abgleich::config::Config;
use abgleich::model::Side;
use abgleich::model::contact::FieldPath;
use abgleich::sync::plan::OpKind;
use abgleich::sync::session::Session;
use abgleich::tui::App;
use abgleich::tui::action::{Action, View};

fn open(dir: &std::path::Path) -> App {
    let config = Config::load(&dir.join("abgleich.toml")).unwrap();
    let mut app = App::from_config(config, false).unwrap();
    assert!(app.wait_idle(Duration::from_secs(60)), "the stores load");
    assert!(app.failure.is_none(), "{:?}", app.failure);
    app
}

/// How many files the card folder holds.
fn card_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("outlook")).unwrap().count()
}

fn press(app: &mut App, c: char) {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

/// Execute through the dialog (`x`, then `y`) and wait for the result.
fn execute(app: &mut App) {
    app.update(Action::Execute);
    let dialog = app.dialog.as_ref().expect("execute asks first");
    assert!(
        dialog.lines.iter().any(|l| l.contains("Write them now?")),
        "{:?}",
        dialog.lines
    );
    press(app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)), "execution ends");
    assert!(
        app.results.is_some(),
        "the results are shown: {:?}",
        app.message
    );
}

/// Both stores as a fresh session reads them: (CRM record, card) by name.
fn read_pair(
    dir: &std::path::Path,
    family: &str,
) -> (
    abgleich::model::contact::Contact,
    abgleich::model::contact::Contact,
) {
    let config = Config::load(&dir.join("abgleich.toml")).unwrap();
    let session = Session::open(config, "test").unwrap();
    let snapshot = session.read().unwrap();
    let find = |side: Side| {
        snapshot
            .sides
            .get(side)
            .records
            .iter()
            .find(|r| r.contact.family == family)
            .unwrap_or_else(|| panic!("{family} on the {side} side"))
            .contact
            .clone()
            .into_contact()
    };
    (find(Side::Left), find(Side::Right))
}

#[test]
fn review_operations_start_skipped_and_the_operator_decides() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    let data = app.data.clone().unwrap();
    for (op, d) in data.plan.operations.iter().zip(&app.decisions) {
        assert_eq!(d.accept, !op.review, "{} {}", op.kind.as_str(), op.name);
    }
    assert_eq!(app.changed_decisions(), 0);

    // A name-only link waits; Space accepts it and the change is counted.
    let o = select_op(&mut app, OpKind::Link, "Stefan Mueller");
    assert!(!app.decisions[o].accept);
    press(&mut app, ' ');
    assert!(app.decisions[o].accept);
    assert_eq!(app.changed_decisions(), 1);

    // Space on an unresolved conflict cannot accept it: a side comes first.
    let c = select_op(&mut app, OpKind::Conflict, "Thomas Becker");
    press(&mut app, ' ');
    assert!(
        !app.decisions[c].accept,
        "an unresolved conflict stays skipped"
    );
    press(&mut app, '>');
    assert!(app.decisions[c].accept);
    assert_eq!(app.decisions[c].winner, Some(Side::Right));

    // s skips all shown, a accepts all shown that need no review: review
    // items (name-only links, conflicts, …) stay as they were.
    press(&mut app, 's');
    assert!(app.decisions.iter().all(|d| !d.accept));
    press(&mut app, 'a');
    for (op, d) in data.plan.operations.iter().zip(&app.decisions) {
        assert_eq!(d.accept, !op.review, "{} {}", op.kind.as_str(), op.name);
    }
    let note = app
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(
        note.contains("waiting for review left as they were"),
        "{note}"
    );
    // A accepts the review items shown, after a question that counts them;
    // a conflict without a side stays.
    app.update(Action::AcceptReview);
    let dialog = app.dialog.as_ref().expect("A asks first");
    let text = dialog.lines.join("\n");
    assert!(text.contains("link by name"), "{text}");
    press(&mut app, 'y');
    for (op, d) in data.plan.operations.iter().zip(&app.decisions) {
        let resolved = op.kind != OpKind::Conflict || op.name == "Thomas Becker";
        assert_eq!(d.accept, resolved, "{} {}", op.kind.as_str(), op.name);
    }

    // The kind filter narrows what a and s touch.
    press(&mut app, 's');
    while app.queue.filter != Some(OpKind::Create) {
        press(&mut app, 'f');
    }
    press(&mut app, 'a');
    for (op, d) in data.plan.operations.iter().zip(&app.decisions) {
        assert_eq!(
            d.accept,
            op.kind == OpKind::Create,
            "{} {}",
            op.kind.as_str(),
            op.name
        );
    }

    // Quitting now would lose the decisions: it asks, n stays, y quits.
    press(&mut app, 'q');
    assert!(app.dialog.is_some() && !app.quit);
    press(&mut app, 'n');
    assert!(app.dialog.is_none() && !app.quit);
    press(&mut app, 'q');
    press(&mut app, 'y');
    assert!(app.quit);
}

#[test]
fn a_conflict_resolved_field_by_field_reaches_both_stores() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    let o = select_op(&mut app, OpKind::Conflict, "Claudia Hoffmann");
    let data = app.data.clone().unwrap();
    let op = &data.plan.operations[o];
    let position = |field: &str| {
        op.changes
            .iter()
            .position(|c| c.field.to_string() == field)
            .unwrap_or_else(|| panic!("{field} in {:?}", op.changes))
    };
    let (code, street) = (position("adr.work.code"), position("adr.work.street"));

    // In the detail pane, < and > decide the selected field only.
    app.update(Action::NextPane);
    for _ in 0..code {
        app.update(Action::Down);
    }
    press(&mut app, '<');
    assert!(!app.decisions[o].accept, "one field is still open");
    for _ in code..street {
        app.update(Action::Down);
    }
    for _ in street..code {
        app.update(Action::Up);
    }
    press(&mut app, '>');
    assert!(app.decisions[o].accept, "both fields decided: accepted");
    assert_eq!(
        app.decisions[o].fields,
        vec![
            (
                FieldPath::Adr {
                    kind: abgleich::model::contact::Kind::Work,
                    part: abgleich::model::contact::AdrPart::Code
                },
                Side::Left
            ),
            (
                FieldPath::Adr {
                    kind: abgleich::model::contact::Kind::Work,
                    part: abgleich::model::contact::AdrPart::Street
                },
                Side::Right
            ),
        ]
    );
    // Only this pair: skip everything else.
    let decided = app.decisions[o].clone();
    for d in app.decisions.iter_mut() {
        d.accept = false;
    }
    app.decisions[o] = decided;
    let link = data
        .plan
        .operations
        .iter()
        .position(|op| op.kind == OpKind::Link && op.name == "Claudia Hoffmann")
        .unwrap();
    app.decisions[link].accept = true;
    execute(&mut app);
    let data = app.data.clone().unwrap();
    app.shutdown();

    let (crm, card) = read_pair(dir.path(), "Hoffmann");
    for c in [&crm, &card] {
        let adr = c
            .get(&"adr.work.code".parse().unwrap())
            .unwrap()
            .into_owned();
        assert_eq!(adr, "04107", "the CRM's post code on both sides");
        let street = c
            .get(&"adr.work.street".parse().unwrap())
            .unwrap()
            .into_owned();
        assert_eq!(
            street, "Käthe-Kollwitz-Straße 3",
            "the card's street on both sides"
        );
    }
    // The new plan has nothing left for Hoffmann.
    assert!(
        !data
            .plan
            .operations
            .iter()
            .any(|op| op.name.contains("Hoffmann")),
        "{:?}",
        data.plan
            .operations
            .iter()
            .map(|o| &o.name)
            .collect::<Vec<_>>()
    );
}

#[test]
fn executing_everything_accepted_writes_the_stores_and_recomputes() {
    let dir = common::copy_samples();
    let cards = || card_files(dir.path());
    let before = cards();
    let mut app = open(dir.path());
    let data = app.data.clone().unwrap();
    let creates_right = data
        .plan
        .operations
        .iter()
        .filter(|op| op.kind == OpKind::Create && op.target == abgleich::sync::plan::Target::Right)
        .count();
    assert!(creates_right > 0);
    app.update(Action::Show(View::Queue));
    press(&mut app, 'x');
    let dialog = app.dialog.as_ref().unwrap();
    assert!(
        dialog
            .lines
            .iter()
            .any(|l| l.contains(&format!("{creates_right} × create")) && l.contains("in Outlook")),
        "{:?}",
        dialog.lines
    );
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let results = app.results.as_ref().unwrap();
    assert!(
        results
            .outcomes
            .contains(&abgleich::sync::apply::Outcome::Done)
    );
    assert_eq!(cards(), before + creates_right, "one new card per create");
    // Enter leaves the results for the recomputed plan: the review items remain.
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.results.is_none());
    let after = app.data.clone().unwrap();
    assert!(after.plan.operations.len() < data.plan.operations.len());
    assert!(
        after
            .plan
            .operations
            .iter()
            .all(|op| op.review || op.kind == OpKind::Conflict),
        "{:?}",
        after
            .plan
            .operations
            .iter()
            .map(|o| (o.kind, &o.name))
            .collect::<Vec<_>>()
    );
}

#[test]
fn search_narrows_by_name_mail_phone_and_company() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    let all = app.contacts.visible.len();
    let names = |app: &App| -> Vec<String> {
        let data = app.data.clone().unwrap();
        app.contacts
            .visible
            .iter()
            .map(|&r| {
                let row = &data.rows[r as usize];
                data.contact(row, Side::Left)
                    .or(data.contact(row, Side::Right))
                    .map(|c| c.display_name())
                    .unwrap_or_default()
            })
            .collect()
    };
    for (query, expect) in [
        ("köhler", "Dieter Köhler"),
        ("hartmann-bau", "Markus Hartmann"),
        ("0171 234", "Markus Hartmann"),
        ("Dachdeckerei", "Matthias Keller"),
    ] {
        press(&mut app, '/');
        for c in query.chars() {
            press(&mut app, c);
        }
        let found = names(&app);
        assert!(found.iter().any(|n| n == expect), "{query}: {found:?}");
        assert!(found.len() < all);
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(app.contacts.visible.len(), all, "Esc clears the search");
    }
}

#[test]
fn link_unlink_and_forget_by_hand() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    // Mark a CRM-only contact, then pick an Outlook-only one: l asks, y links.
    search(&mut app, "köhler");
    press(&mut app, 'l');
    assert!(app.contacts.marked.is_some(), "the first l marks");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.contacts.marked.is_none(), "Esc drops the mark");
    press(&mut app, 'l');
    search(&mut app, "maier");
    press(&mut app, 'l');
    let dialog = app.dialog.as_ref().expect("linking asks");
    assert!(
        dialog.lines.iter().any(|l| l.contains("Dieter Köhler")),
        "{:?}",
        dialog.lines
    );
    assert!(
        dialog.lines.iter().any(|l| l.contains("Florian Maier")),
        "{:?}",
        dialog.lines
    );
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let data = app.data.clone().unwrap();
    let linked = |data: &abgleich::tui::model::Data| {
        data.links
            .iter()
            .find(|l| l.id(Side::Right) == Some("Florian Maier.vcf"))
            .cloned()
    };
    let link = linked(&data).expect("a link holds the card");
    assert!(link.tombstone.is_none());
    assert_eq!(link.id(Side::Left), Some("18"));

    // The pair is one row now; u asks and unlinks (a tombstone), F forgets.
    search(&mut app, "maier");
    assert_eq!(app.contacts.visible.len(), 1);
    press(&mut app, 'u');
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let data = app.data.clone().unwrap();
    assert!(linked(&data).expect("still recorded").tombstone.is_some());
    search(&mut app, "maier");
    press(&mut app, 'F');
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let data = app.data.clone().unwrap();
    assert!(linked(&data).is_none(), "forgotten");
}

/// README's key table is the keymap: every binding with its default keys,
/// and nothing else.
#[test]
fn readme_key_table_matches_the_keymap() {
    use abgleich::tui::keymap::{Keymap, Scope};
    let keymap = Keymap::new(&Default::default()).unwrap();
    let expected: Vec<String> = keymap
        .bindings
        .iter()
        .map(|b| {
            let keys: Vec<String> = b
                .keys
                .iter()
                .map(|k| format!("`{}`", k.config_name()))
                .collect();
            let scope = match b.command.scope {
                Scope::Everywhere => "all".to_string(),
                Scope::Only(View::Contacts) => "contacts".to_string(),
                Scope::Only(View::Mapping) => "mapping".to_string(),
                Scope::Only(View::Queue) => "queue".to_string(),
            };
            format!(
                "| {} | `{}` | {scope} | {} |",
                keys.join(" "),
                b.command.name,
                b.command.help
            )
        })
        .collect();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table: Vec<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| keys | action |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("| `esc`") && !l.starts_with("| `ctrl-c`"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        table,
        expected,
        "README's key table, as the keymap has it:\n{}",
        expected.join("\n")
    );
}

#[test]
fn a_saved_mapping_keeps_the_comments_and_the_plan_follows_it() {
    let dir = common::copy_samples();
    let config_file = dir.path().join("abgleich.toml");
    let before = std::fs::read_to_string(&config_file).unwrap();
    assert!(before.contains("\"note\" = \"notes\""));
    let mut app = open(dir.path());
    let notes = |app: &App| {
        app.data
            .clone()
            .unwrap()
            .fields
            .fields
            .iter()
            .any(|f| f.path == FieldPath::Note)
    };
    assert!(notes(&app));
    press(&mut app, '2');
    app.update(Action::Bottom);
    press(&mut app, 'd');
    assert!(app.mapping.as_ref().unwrap().dirty());
    press(&mut app, 'w');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let after = std::fs::read_to_string(&config_file).unwrap();
    assert!(!after.contains("\"note\" = \"notes\""), "{after}");
    for comment in before.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(after.contains(comment), "comment kept: {comment}");
    }
    assert!(!notes(&app), "the plan was recomputed without the note");
    assert!(!app.mapping.as_ref().unwrap().dirty());
}

#[test]
fn a_missing_store_is_shown_with_its_path_and_nothing_is_planned() {
    let dir = common::copy_samples();
    std::fs::remove_dir_all(dir.path().join("outlook")).unwrap();
    let config = Config::load(&dir.path().join("abgleich.toml")).unwrap();
    let mut app = App::from_config(config, false).unwrap();
    assert!(app.wait_idle(Duration::from_secs(60)));
    let why = app.failure.clone().expect("the failure is shown");
    assert!(
        why.contains("could not be opened or read") && why.contains("outlook"),
        "{why}"
    );
    assert!(app.data.is_none(), "no plan from a missing store");
    app.update(Action::Show(View::Queue));
    press(&mut app, 'x');
    assert!(app.dialog.is_none(), "nothing to execute");
}

#[test]
fn decisions_survive_a_reload_and_an_execution() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    // Hold back one create: Space skips it.
    let o = select_op(&mut app, OpKind::Create, "Elif Demir");
    let id = app.data.clone().unwrap().plan.operations[o].id.clone();
    press(&mut app, ' ');
    let decision = |app: &App| {
        let data = app.data.clone().unwrap();
        let o = data
            .plan
            .operations
            .iter()
            .position(|op| op.id == id)
            .expect("still planned");
        app.decisions[o].accept
    };
    assert!(!decision(&app));
    press(&mut app, 'r');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(!decision(&app), "kept across r");
    assert_eq!(app.changed_decisions(), 1);
    // Executing everything else leaves it planned and still held back.
    execute(&mut app);
    let results = app.results.as_ref().unwrap();
    let at = results
        .data
        .plan
        .operations
        .iter()
        .position(|op| op.id == id)
        .unwrap();
    assert_eq!(
        results.outcomes[at],
        abgleich::sync::apply::Outcome::Skipped
    );
    assert!(!decision(&app), "kept across an execution of the others");
    assert_eq!(app.changed_decisions(), 1);
}

/// The demo folder: samples with last week's sync recorded (pairs linked).
fn demo_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = abgleich::samples::write_to(dir.path()).unwrap();
    abgleich::samples::write_history(&config).unwrap();
    dir
}

fn search(app: &mut App, text: &str) {
    press(app, '/');
    for c in text.chars() {
        press(app, c);
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

#[test]
fn unlink_acts_on_the_pair_the_question_named_even_after_the_list_moved() {
    let dir = demo_folder();
    let mut app = open(dir.path());
    search(&mut app, "hoffmann");
    press(&mut app, 'u');
    let dialog = app.dialog.as_ref().expect("unlink asks");
    assert!(
        dialog.lines[0].contains("Claudia Hoffmann"),
        "{:?}",
        dialog.lines
    );
    // Meanwhile the list changes under the selection: new cards sort first.
    for i in 0..8 {
        let card = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:aa-{i}\r\nN:Aaron{i};Adam;;;\r\nFN:Adam Aaron{i}\r\nEND:VCARD\r\n"
        );
        std::fs::write(dir.path().join(format!("outlook/Aaron {i}.vcf")), card).unwrap();
    }
    app.update(Action::Reload);
    assert!(app.wait_idle(Duration::from_secs(60)));
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let data = app.data.clone().unwrap();
    let link_of = |family: &str| {
        let left = data
            .snapshot
            .sides
            .left
            .records
            .iter()
            .find(|r| r.contact.family == family)
            .unwrap();
        data.links
            .iter()
            .find(|l| l.id(Side::Left) == Some(left.id.as_str()))
            .cloned()
            .unwrap()
    };
    assert!(
        link_of("Hoffmann").tombstone.is_some(),
        "Hoffmann was unlinked"
    );
    assert!(
        link_of("Becker").tombstone.is_none(),
        "Becker is still linked"
    );
}

#[test]
fn nothing_is_written_from_a_plan_that_changed_or_failed_to_load() {
    let dir = common::copy_samples();
    let cards = || card_files(dir.path());
    let before = cards();
    let mut app = open(dir.path());
    app.update(Action::Show(View::Queue));
    // The question was asked, then a reload started: y must not execute.
    press(&mut app, 'x');
    assert!(app.dialog.is_some());
    app.update(Action::Reload);
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.results.is_none(), "not executed");
    assert_eq!(cards(), before);

    // A reload that fails: the old plan can no longer be executed.
    std::fs::rename(dir.path().join("outlook"), dir.path().join("outlook.moved")).unwrap();
    press(&mut app, 'r');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.failure.is_some());
    press(&mut app, 'x');
    assert!(app.dialog.is_none(), "no execute question on a failed load");
    let rows = rusqlite::Connection::open(dir.path().join("crm.sqlite"))
        .unwrap()
        .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(rows, 30, "the CRM is untouched");

    // Fixed on disk, r reads again.
    std::fs::rename(dir.path().join("outlook.moved"), dir.path().join("outlook")).unwrap();
    press(&mut app, 'r');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.failure.is_none());
}

#[test]
fn quit_waits_for_a_save_in_progress() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    press(&mut app, '2');
    app.update(Action::Top);
    press(&mut app, 'd');
    press(&mut app, 'w');
    press(&mut app, 'q');
    assert!(!app.quit, "q is refused while the config is written");
    assert!(app.wait_idle(Duration::from_secs(60)));
    press(&mut app, 'q');
    assert!(app.quit);
    let text = std::fs::read_to_string(dir.path().join("abgleich.toml")).unwrap();
    assert!(!text.contains("\"name.prefix\" = \"salutation\""), "saved");
}

/// Issue 12, finding 1: resolving a conflict whose pair's link waits for
/// review must not link the pair (nor write the conflict): the engine
/// skips it, the screen says so and counts it as waiting.
#[test]
fn a_conflict_resolved_on_a_pair_whose_link_waits_writes_nothing_and_links_nothing() {
    let dir = common::copy_samples();
    let stores = |dir: &std::path::Path| {
        let card = std::fs::read(dir.join("outlook/Sabine Gross.vcf")).unwrap();
        let db = rusqlite::Connection::open(dir.join("crm.sqlite")).unwrap();
        let row: String = db
            .query_row(
                "SELECT concat_ws('|', first_name, last_name, email, phone_work, phone_mobile, \
                 street, outlook_uid, updated_at) FROM customers WHERE id = 14",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (card, row)
    };
    let before = stores(dir.path());
    let mut app = open(dir.path());
    let l = select_op(&mut app, OpKind::Link, "Sabine GROSS");
    assert!(!app.decisions[l].accept, "the name-only link waits");
    let c = select_op(&mut app, OpKind::Conflict, "Sabine GROSS");
    press(&mut app, '>');
    assert!(app.decisions[c].accept);
    let note = app
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(note.contains("not linked yet"), "{note}");
    // Only the conflict's pair matters: skip everything else.
    for (i, d) in app.decisions.iter_mut().enumerate() {
        if i != c {
            d.accept = false;
        }
    }
    app.update(Action::Execute);
    let text = app.dialog.as_ref().map(|d| d.lines.join("\n"));
    assert!(
        text.as_deref()
            .is_none_or(|t| !t.contains("Write them now?")),
        "nothing is executable: {text:?}"
    );
    app.dialog = None;
    // The engine holds it back too, whatever a front end sends: the
    // screen's execute job with these decisions writes nothing.
    app.update(Action::Confirmed(Box::new(Action::Execute)));
    assert!(app.wait_idle(Duration::from_secs(60)), "execution ends");
    app.shutdown();
    assert_eq!(
        stores(dir.path()),
        before,
        "the card and the CRM row are as they were"
    );
    let config = Config::load(&dir.path().join("abgleich.toml")).unwrap();
    let session = Session::open(config, "test").unwrap();
    let links = session.links().unwrap();
    let snapshot = session.read_for_plan(&links).unwrap();
    let plan = session.plan(&snapshot, &links).unwrap();
    assert!(
        plan.operations
            .iter()
            .any(|op| op.kind == OpKind::Link && op.name == "Sabine GROSS"),
        "the pair is still not linked: its link is offered again"
    );
}

/// Issue 12, finding 2: `/` in the queue searches; the letters typed are
/// text (an `s` or `a` in "sabine" decides nothing).
#[test]
fn typing_a_search_in_the_queue_decides_nothing() {
    let dir = common::copy_samples();
    let mut app = open(dir.path());
    app.update(Action::Show(View::Queue));
    let before = app.decisions.clone();
    press(&mut app, '/');
    for c in "sabine".chars() {
        press(&mut app, c);
    }
    assert_eq!(app.decisions, before, "typing decided nothing");
    let data = app.data.clone().unwrap();
    assert!(!app.queue.visible.is_empty());
    for &o in &app.queue.visible {
        let op = &data.plan.operations[o as usize];
        assert!(op.name.to_lowercase().contains("sabine"), "{}", op.name);
    }
    // Enter ends typing; now `a` acts on what the search shows only, and
    // leaves the review items among them.
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    press(&mut app, 's');
    for (o, (d, b)) in app.decisions.iter().zip(&before).enumerate() {
        if app.queue.visible.contains(&(o as u32)) {
            assert!(!d.accept);
        } else {
            assert_eq!(d, b, "an operation the search hides is untouched");
        }
    }
    // Esc clears the search: every operation is shown again.
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert_eq!(app.queue.visible.len(), data.plan.operations.len());
}

/// The text of the pane over the view (the log, or what an undo did).
fn pane_text(app: &App) -> String {
    app.pane
        .as_ref()
        .map(|p| p.lines.join("\n"))
        .unwrap_or_default()
}

#[test]
fn undo_from_the_screen_puts_the_stores_back_and_the_log_shows_it() {
    use crate::crash::{crm_rows, files};
    let dir = common::copy_samples();
    let (db, outlook) = (dir.path().join("crm.sqlite"), dir.path().join("outlook"));
    let (rows_before, cards_before) = (crm_rows(&db), files(&outlook));
    let mut app = open(dir.path());
    let ops = |a: &App| a.data.as_ref().map(|d| d.plan.operations.len());
    let ops_before = ops(&app);

    // Nothing applied yet: nothing to undo, and the log says so.
    press(&mut app, 'U');
    assert!(app.dialog.is_none());
    let message = app.message.clone().expect("a message says why");
    assert!(message.is_error(), "{message:?}");
    assert!(message.text.contains("nothing to undo"), "{message:?}");
    press(&mut app, 'L');
    assert!(pane_text(&app).contains("No apply in the journal yet"));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.pane.is_none(), "Esc closes the log");

    app.update(Action::Show(View::Queue));
    execute(&mut app);
    assert_ne!(files(&outlook), cards_before, "the execute wrote cards");
    assert_ne!(crm_rows(&db), rows_before, "the execute wrote rows");
    let apply = app.applies.last().cloned().expect("the apply is journaled");
    assert_eq!(apply.status.as_str(), "done");

    // While a job runs, undo is refused.
    app.update(Action::Reload);
    press(&mut app, 'U');
    assert!(
        app.dialog.is_none(),
        "no question while the stores are read"
    );
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.is_error() && m.text.contains("wait")),
        "{:?}",
        app.message
    );
    assert!(app.wait_idle(Duration::from_secs(60)));

    // U asks, naming the apply and what it puts back (read first: the
    // question comes when the worker has read the stores); n leaves
    // everything as it is.
    press(&mut app, 'U');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let dialog = app.dialog.as_ref().expect("undo asks first");
    let text = dialog.lines.join("\n");
    assert!(
        text.contains(&format!("apply #{} of {}", apply.apply_id, apply.started)),
        "{text}"
    );
    assert!(
        text.contains(&apply.summary) && text.contains("create"),
        "{text}"
    );
    assert!(text.contains("It puts back"), "{text}");
    assert!(
        !text.contains("It leaves"),
        "nothing changed since: nothing left alone:\n{text}"
    );
    press(&mut app, 'n');
    assert!(app.dialog.is_none());
    assert!(app.is_idle(), "n starts nothing");

    press(&mut app, 'U');
    assert!(app.wait_idle(Duration::from_secs(60)));
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)), "the undo ends");
    assert_eq!(crm_rows(&db), rows_before, "the CRM rows are as before");
    assert_eq!(
        files(&outlook),
        cards_before,
        "the card files are as before"
    );
    let done = pane_text(&app);
    assert!(
        done.contains(&format!("undid apply #{}", apply.apply_id)),
        "the screen says what was undone:\n{done}"
    );
    assert!(done.contains("record(s) put back"), "{done}");
    assert!(
        app.results.is_none(),
        "the results of the undone apply are gone"
    );
    // The plan is recomputed: what the apply wrote is proposed again.
    assert_eq!(ops(&app), ops_before, "the plan of the stores before");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.pane.is_none());

    // The log: the apply, undone, with what the screen saw of it.
    press(&mut app, 'L');
    let log = pane_text(&app);
    let line = log
        .lines()
        .find(|l| l.starts_with(&format!("#{} ", apply.apply_id)))
        .unwrap_or_else(|| panic!("the apply is in the log:\n{log}"));
    assert!(
        line.contains("(undone)") && line.contains(&apply.summary),
        "{log}"
    );
    assert!(
        log.contains(" written, 0 failed, 0 changed since the plan"),
        "what came of it, from the journal:\n{log}"
    );
    press(&mut app, 'j');
    press(&mut app, 'L');
    assert!(app.pane.is_none(), "L closes the log");

    // Only the last apply is undone, once.
    press(&mut app, 'U');
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("nothing to undo")),
        "{:?}",
        app.message
    );
    app.shutdown();
}

#[test]
fn undo_from_the_screen_names_a_record_changed_since_and_leaves_it() {
    use crate::crash::{crm_rows, files};
    let dir = common::copy_samples();
    let (db, outlook) = (dir.path().join("crm.sqlite"), dir.path().join("outlook"));
    let (rows_before, cards_before) = (crm_rows(&db), files(&outlook));
    let mut app = open(dir.path());
    app.update(Action::Show(View::Queue));
    execute(&mut app);
    // Another program edits a card the apply created.
    let created = files(&outlook)
        .into_keys()
        .find(|name| !cards_before.contains_key(name))
        .expect("the apply created a card");
    let path = outlook.join(&created);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("END:VCARD", "NOTE:edited elsewhere\r\nEND:VCARD");
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();

    press(&mut app, 'U');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let question = app.dialog.as_ref().expect("undo asks").lines.join("\n");
    assert!(
        question.contains("It leaves 1 record(s) as they are, changed since that apply:")
            && question.contains(&created),
        "the question names the card it must leave:\n{question}"
    );
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)), "the undo ends");
    let done = pane_text(&app);
    let named = done
        .lines()
        .find(|l| l.contains(&created))
        .unwrap_or_else(|| panic!("the edited card is named:\n{done}"));
    assert!(
        named.contains("changed since that apply; left as it is"),
        "{done}"
    );
    // It stays as the other program left it; everything else is put back.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    let mut expected = cards_before.clone();
    expected.insert(created.clone(), edited.into_bytes());
    assert_eq!(files(&outlook), expected);
    assert_eq!(crm_rows(&db), rows_before);
    app.shutdown();
}

/// The log reads what came of each apply from the journal: an apply made
/// by `abgleich apply`, with a record changed since its plan, shows its
/// counts and names that record, on the screen and in `status`.
#[test]
fn the_log_shows_what_came_of_an_apply_made_on_the_command_line() {
    let dir = common::copy_samples();
    let bin = env!("CARGO_BIN_EXE_abgleich");
    let abgleich = |args: &[&str]| {
        common::run(
            std::process::Command::new(bin)
                .current_dir(dir.path())
                .args(args),
        )
    };
    let planned = abgleich(&["plan", "--out", "plan.json"]);
    assert_eq!(planned.code, Some(0), "{planned}");
    // Another program edits a card the plan writes to.
    let card = dir.path().join("outlook").join("Katharina Vogel.vcf");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, text.replace("END:VCARD", "NOTE:edited\r\nEND:VCARD")).unwrap();
    let applied = abgleich(&["apply", "--plan", "plan.json", "--yes"]);
    assert!(applied.stdout.contains("changed since plan"), "{applied}");
    let status = abgleich(&["status"]);
    assert!(
        status
            .stdout
            .contains(" written, 0 failed, 2 changed since the plan"),
        "{status}"
    );

    let mut app = open(dir.path());
    press(&mut app, 'L');
    let log = pane_text(&app);
    assert!(
        log.contains(" written, 0 failed, 2 changed since the plan"),
        "the counts, from the journal:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("changed since the plan, not written:") && l.contains("Vogel")),
        "the record not written is named:\n{log}"
    );
    app.shutdown();
}

/// `p` on the selected operation, and the pane the worker's answer opens.
fn open_preview(app: &mut App) -> abgleich::sync::apply::Previews {
    press(app, 'p');
    assert!(
        app.wait_idle(Duration::from_secs(60)),
        "the preview is made"
    );
    let pane = app.preview.as_ref().unwrap_or_else(|| {
        panic!("the preview opens: {:?}", app.message);
    });
    pane.previews.clone()
}

/// The write of `kind` to `side` among a preview's writes.
fn write_of(
    previews: &abgleich::sync::apply::Previews,
    side: Side,
    kind: abgleich::sync::apply::WriteKind,
) -> abgleich::sync::apply::Preview {
    previews
        .writes
        .iter()
        .find(|w| w.side == side && w.kind == kind)
        .unwrap_or_else(|| panic!("a {kind:?} on the {side} side in {previews:?}"))
        .clone()
}

/// A record's text without the lines that hold the time of the write (and
/// `skip`, a UID drawn afresh for each create).
fn timeless(text: &str, skip: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("REV:") && !l.starts_with("updated_at = "))
        .filter(|l| !skip.iter().any(|s| l.starts_with(s)))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_preview_shows_what_executing_then_writes() {
    use abgleich::sync::apply::WriteKind;
    use abgleich::tui::views::preview::Mark;
    let dir = common::copy_samples();
    let mut app = open(dir.path());

    // A create into Outlook: the whole card, with the stamp, REV, UID and
    // the configured vCard 3.0.
    select_op(&mut app, OpKind::Create, "Dieter Köhler");
    let create = open_preview(&mut app);
    assert!(create.accepted);
    let card = write_of(&create, Side::Right, WriteKind::Create);
    assert_eq!(
        (card.store_name.as_str(), card.before.as_deref()),
        ("Outlook", None)
    );
    let created = card.after.clone().expect("the card's text");
    for line in [
        "VERSION:3.0",
        "X-CRM-CUSTOMER-NO:18",
        "ORG;CHARSET=UTF-8:Köhler Sanitär GmbH",
        "TITLE:Installateurmeister",
    ] {
        assert!(created.lines().any(|l| l == line), "{line} in {created}");
    }
    for start in ["REV:", "UID:", "N;CHARSET=UTF-8:Köhler;Dieter"] {
        assert!(
            created.lines().any(|l| l.starts_with(start)),
            "{start} in {created}"
        );
    }
    let pane = app.preview.as_ref().unwrap();
    assert!(
        pane.has(Mark::Added, "X-CRM-CUSTOMER-NO:18"),
        "{:?}",
        pane.lines
    );
    assert!(
        pane.title.contains("create Dieter Köhler"),
        "{}",
        pane.title
    );
    // It scrolls, and p closes it.
    press(&mut app, 'j');
    assert_eq!(app.preview.as_ref().unwrap().scroll, 1);
    press(&mut app, 'g');
    assert_eq!(app.preview.as_ref().unwrap().scroll, 0);
    press(&mut app, 'p');
    assert!(app.preview.is_none(), "p closes the preview");

    // A link that writes the card's e-mail into the CRM row and the CRM id
    // into the card: the row's columns before and after, the card's text.
    select_op(&mut app, OpKind::Link, "Petra Lange");
    let link = open_preview(&mut app);
    let row = write_of(&link, Side::Left, WriteKind::Update);
    assert_eq!(row.record.as_deref(), Some("11"));
    let (row_before, row_after) = (row.before.clone().unwrap(), row.after.clone().unwrap());
    let email = "email = p.lange@lange-consulting.example.com";
    assert!(row_after.lines().any(|l| l == email), "{row_after}");
    assert!(!row_before.contains("p.lange@"), "{row_before}");
    assert!(
        row_after.lines().any(|l| l.starts_with("updated_at = ")),
        "{row_after}"
    );
    assert!(
        row_after.lines().any(|l| l == "last_name = Lange"),
        "{row_after}"
    );
    let pane = app.preview.as_ref().unwrap();
    assert!(
        pane.has(Mark::Changed, "→ p.lange@lange-consulting.example.com"),
        "{:?}",
        pane.lines
    );
    let stamp = write_of(&link, Side::Right, WriteKind::Update);
    assert_eq!(stamp.record.as_deref(), Some("Petra Lange.vcf"));
    let (card_before, card_after) = (stamp.before.clone().unwrap(), stamp.after.clone().unwrap());
    assert!(!card_before.contains("X-CRM-CUSTOMER-NO"), "{card_before}");
    assert!(
        card_after.lines().any(|l| l == "X-CRM-CUSTOMER-NO:11"),
        "{card_after}"
    );
    assert!(
        card_after.lines().any(|l| l.starts_with("REV:")),
        "{card_after}"
    );
    assert!(
        app.preview
            .as_ref()
            .unwrap()
            .has(Mark::Added, "X-CRM-CUSTOMER-NO:11")
    );
    // On screen: the pane over the queue, the changed column marked.
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| app.render(f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let screen: String = (0..buffer.area.height)
        .map(|y| {
            let row: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            row + "\n"
        })
        .collect();
    if std::env::var_os("SHOW_PREVIEW").is_some() {
        eprintln!("{screen}");
    }
    assert!(screen.contains("preview: link Petra Lange"), "{screen}");
    assert!(screen.contains("~ email = NULL → p.lange@"), "{screen}");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.preview.is_none(), "Esc closes the preview");

    // A create into the CRM: the columns the row gets, and the new row's
    // id stamped into the card it comes from.
    select_op(&mut app, OpKind::Create, "Florian Maier");
    let crm = open_preview(&mut app);
    let new_row = write_of(&crm, Side::Left, WriteKind::Create);
    let new_row = new_row.after.expect("the row's columns");
    for line in [
        "last_name = Maier",
        "outlook_sync = 1",
        "id = (given by the table)",
    ] {
        assert!(new_row.lines().any(|l| l == line), "{line} in {new_row}");
    }
    let stamp = write_of(&crm, Side::Right, WriteKind::Stamp);
    assert_eq!(stamp.record.as_deref(), Some("Florian Maier.vcf"));
    let stamped = stamp.after.unwrap();
    assert!(
        stamped.contains("X-CRM-CUSTOMER-NO:(the id the new record gets)"),
        "{stamped}"
    );
    press(&mut app, 'q');
    assert!(
        app.preview.is_none() && !app.quit,
        "q closes the preview only"
    );

    // Executing writes exactly what was shown (but for the time of the
    // write, and the UID a create draws).
    execute(&mut app);
    app.shutdown();
    let read = |name: &str| std::fs::read_to_string(dir.path().join("outlook").join(name)).unwrap();
    assert_eq!(
        timeless(&read("Petra Lange.vcf"), &[]),
        timeless(&card_after, &[])
    );
    let new_card = std::fs::read_dir(dir.path().join("outlook"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .find(|text| text.lines().any(|l| l == "X-CRM-CUSTOMER-NO:18"))
        .expect("the card created for Dieter Köhler");
    assert_eq!(
        timeless(&new_card, &["UID:"]),
        timeless(&created, &["UID:"])
    );
    let config = Config::load(&dir.path().join("abgleich.toml")).unwrap();
    let session = Session::open(config, "test").unwrap();
    let row_now = session.stores.left.record_text("11").unwrap().unwrap();
    assert_eq!(timeless(&row_now, &[]), timeless(&row_after, &[]));
    assert_ne!(timeless(&row_now, &[]), timeless(&row_before, &[]));
}
