//! The screen's lists at review scale (issue 12): filters by what an
//! operation needs, warnings shown whole, unreadable records counted.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use abgleich::config::Config;
use abgleich::tui::App;
use abgleich::tui::action::{Action, View};
use abgleich::tui::views::queue::Flag;

fn demo() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = abgleich::samples::write_to(dir.path()).unwrap();
    abgleich::samples::write_history(&config).unwrap();
    let mut app = App::from_config(Config::load(&config).unwrap(), false).unwrap();
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.failure.is_none(), "{:?}", app.failure);
    (dir, app)
}

fn screen(app: &App, (w, h): (u16, u16)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| app.render(f)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..h {
        for x in 0..w {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

#[test]
fn f_reaches_the_operations_that_need_review_and_those_with_a_warning() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    let data = app.data.clone().unwrap();
    let all = data.plan.operations.len();
    fn review(op: &abgleich::sync::plan::Op) -> bool {
        op.review
    }
    fn warned(op: &abgleich::sync::plan::Op) -> bool {
        !op.warnings.is_empty()
    }
    type Keeps = fn(&abgleich::sync::plan::Op) -> bool;
    for (flag, keeps) in [
        (Flag::Review, review as Keeps),
        (Flag::Warning, warned as Keeps),
    ] {
        let mut presses = 0;
        while app.queue.flag != Some(flag) {
            app.update(Action::Filter);
            presses += 1;
            assert!(presses < 20, "f never reaches {flag:?}");
        }
        let expected = data.plan.operations.iter().filter(|op| keeps(op)).count();
        assert!(
            expected > 0 && expected < all,
            "{flag:?}: the demo has some"
        );
        assert_eq!(app.queue.visible.len(), expected, "{flag:?}");
        assert!(
            screen(&app, (80, 24)).contains(flag.label()),
            "the header names it"
        );
    }
    // Esc: all again.
    app.update(Action::Back);
    assert_eq!(app.queue.visible.len(), all);
}

#[test]
fn a_long_warning_is_shown_whole_at_80_columns() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    let data = app.data.clone().unwrap();
    let (pos, warning) = app
        .queue
        .visible
        .iter()
        .enumerate()
        .find_map(|(p, &o)| {
            let op = &data.plan.operations[o as usize];
            op.warnings
                .iter()
                .map(|w| abgleich::text::warning_text(w, &data.fields.names))
                .find(|t| t.chars().count() > 80)
                .map(|t| (p, t))
        })
        .expect("the demo has a warning longer than a line");
    app.update(Action::Top);
    for _ in 0..pos {
        app.update(Action::Down);
    }
    let text = screen(&app, (80, 24));
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let words: Vec<&str> = warning.split_whitespace().collect();
    let tail = words[words.len().saturating_sub(4)..].join(" ");
    assert!(
        flat.contains(&tail),
        "the end of {warning:?} is on screen:\n{text}"
    );
}

#[test]
fn the_contacts_view_counts_the_unreadable_card_and_names_it() {
    let (_dir, app) = demo();
    let text = screen(&app, (120, 40));
    assert!(
        text.contains(" 1 unreadable (Broken Export.vcf"),
        "the broken sample card is on the screen:\n{text}"
    );
}

#[test]
fn the_queue_detail_scrolls_to_the_selected_field_at_80x24() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    let data = app.data.clone().unwrap();
    let (pos, o) = app
        .queue
        .visible
        .iter()
        .enumerate()
        .map(|(p, &o)| (p, o as usize))
        .find(|&(_, o)| {
            let op = &data.plan.operations[o];
            op.kind == abgleich::sync::plan::OpKind::Link && op.name == "Sabine GROSS"
        })
        .expect("Sabine's link in the demo's queue");
    app.update(Action::Top);
    for _ in 0..pos {
        app.update(Action::Down);
    }
    let last = data.plan.operations[o].changes.iter().last().unwrap();
    let value = last
        .value(abgleich::model::Side::Left)
        .or(last.value(abgleich::model::Side::Right))
        .unwrap()
        .to_string();
    assert!(
        !screen(&app, (80, 24)).contains(&value),
        "out of sight at first"
    );
    app.update(Action::NextPane);
    for _ in 1..data.plan.operations[o].changes.len() {
        app.update(Action::Down);
    }
    let text = screen(&app, (80, 24));
    assert!(
        text.contains(&value),
        "the last field {value:?} is shown:\n{text}"
    );
}

#[test]
fn the_contacts_detail_never_scrolls_past_its_end_and_g_goes_back_up() {
    let (_dir, mut app) = demo();
    let first = screen(&app, (80, 24));
    app.update(Action::NextPane);
    for _ in 0..30 {
        app.update(Action::Down);
        screen(&app, (80, 24));
    }
    let bottom = screen(&app, (80, 24));
    assert_ne!(bottom, first, "the detail scrolled");
    app.update(Action::Up);
    let up = screen(&app, (80, 24));
    assert_ne!(up, bottom, "one key up moves what is seen");
    app.update(Action::Top);
    assert_eq!(screen(&app, (80, 24)), first, "g: back to the top");
    app.update(Action::Bottom);
    assert_eq!(screen(&app, (80, 24)), bottom, "G: the end");
}

/// 700 conflicts of one kind resolved with a handful of keys: `3`, `f` to
/// the conflicts, `]` (asks), `y`, `x`, `y`.
#[test]
fn seven_hundred_conflicts_are_resolved_with_a_handful_of_keys() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    const N: usize = 700;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = rusqlite::Connection::open(d.join("crm.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, \
         email TEXT, title TEXT);",
    )
    .unwrap();
    std::fs::create_dir(d.join("book")).unwrap();
    for i in 0..N {
        db.execute(
            "INSERT INTO customers (first_name, last_name, email, title) VALUES (?1, ?2, ?3, 'Alt')",
            (format!("Vor{i}"), format!("Nach{i}"), format!("p{i}@example.de")),
        )
        .unwrap();
        std::fs::write(
            d.join("book").join(format!("p{i}.vcf")),
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p{i}\r\nN:Nach{i};Vor{i};;;\r\nFN:Vor{i} Nach{i}\r\n\
                 EMAIL:p{i}@example.de\r\nTITLE:Alt\r\nEND:VCARD\r\n"
            ),
        )
        .unwrap();
    }
    let config = d.join("abgleich.toml");
    std::fs::write(
        &config,
        "[left]\nname = \"CRM\"\nkind = \"sqlite\"\npath = \"crm.sqlite\"\ntable = \"customers\"\n\
         id = \"id\"\n[left.fields]\n\"name.given\" = \"first_name\"\n\"name.family\" = \"last_name\"\n\
         \"email[1]\" = \"email\"\ntitle = \"title\"\n\
         [right]\nname = \"Book\"\nkind = \"vdir\"\npath = \"book\"\n[sync]\nmode = \"sync\"\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_abgleich");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["apply", "--yes", "--accept-review"]);
    // Both sides change every title, differently.
    db.execute("UPDATE customers SET title = 'CRM-Titel'", [])
        .unwrap();
    for i in 0..N {
        let path = d.join("book").join(format!("p{i}.vcf"));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("TITLE:Alt", "TITLE:Karten-Titel")).unwrap();
    }
    let mut app = App::from_config(Config::load(&config).unwrap(), false).unwrap();
    assert!(app.wait_idle(Duration::from_secs(120)));
    let key =
        |app: &mut App, c: char| app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    let mut keys = 0;
    key(&mut app, '3');
    keys += 1;
    let data = app.data.clone().unwrap();
    let conflicts = data
        .plan
        .operations
        .iter()
        .filter(|op| op.kind == abgleich::sync::plan::OpKind::Conflict)
        .count();
    assert_eq!(conflicts, N, "every pair conflicts");
    while app.queue.filter != Some(abgleich::sync::plan::OpKind::Conflict) {
        key(&mut app, 'f');
        keys += 1;
    }
    key(&mut app, ']');
    let dialog = app.dialog.as_ref().expect("] asks first");
    assert!(
        dialog.lines[0].contains("700 conflict(s)"),
        "{:?}",
        dialog.lines
    );
    key(&mut app, 'y');
    key(&mut app, 'x');
    assert!(
        app.dialog
            .as_ref()
            .is_some_and(|d| d.lines.iter().any(|l| l.contains("700")))
    );
    key(&mut app, 'y');
    keys += 4;
    assert!(app.wait_idle(Duration::from_secs(120)));
    assert!(keys <= 10, "{keys} keys");
    app.shutdown();
    let titles: Vec<String> = db
        .prepare("SELECT DISTINCT title FROM customers")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(titles, ["Karten-Titel"], "the book's side won everywhere");
    let plan: serde_json::Value = serde_json::from_str(&run(&["plan", "--json"])).unwrap();
    assert!(
        plan["operations"].as_array().unwrap().is_empty(),
        "all done"
    );
}

#[test]
fn the_help_names_the_config_file_and_where_each_store_is() {
    let (dir, mut app) = demo();
    app.update(Action::Help);
    // At 80 columns the help is as wide as the screen.
    let text = screen(&app, (80, 24));
    let flat: String = text
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    let root = dir.path().display().to_string();
    assert!(
        flat.contains(&format!("config {root}/abgleich.toml")),
        "{text}"
    );
    assert!(
        flat.contains(&format!("CRM: sqlite {root}/crm.sqlite, table customers")),
        "{text}"
    );
    assert!(
        flat.contains(&format!("Outlook: vdir {root}/outlook")),
        "{text}"
    );
}

/// After an execution, `/` searches the results and `f` shows only the
/// failed ones (then changed since plan, then with a note).
#[test]
fn the_results_can_be_searched_and_filtered_to_the_failed_ones() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let (dir, mut app) = demo();
    // One CRM row cannot be written (a trigger refuses it): its write fails.
    app.update(Action::Show(View::Queue));
    let data = app.data.clone().unwrap();
    let row = data
        .plan
        .operations
        .iter()
        .filter(|op| {
            app.decisions[data
                .plan
                .operations
                .iter()
                .position(|o| o.id == op.id)
                .unwrap()]
            .accept
        })
        .find(|op| {
            op.kind == abgleich::sync::plan::OpKind::Update
                && op.target.includes(abgleich::model::Side::Left)
        })
        .and_then(|op| op.id_on(abgleich::model::Side::Left))
        .expect("an accepted update of a CRM row in the demo")
        .to_string();
    rusqlite::Connection::open(dir.path().join("crm.sqlite"))
        .unwrap()
        .execute_batch(&format!(
            "CREATE TRIGGER refuse BEFORE UPDATE ON customers WHEN NEW.id = {row} \
             BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;"
        ))
        .unwrap();
    app.update(Action::Execute);
    app.on_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    assert!(app.wait_idle(Duration::from_secs(60)));
    let results = app.results.as_ref().expect("results");
    let outcomes = results.outcomes.clone();
    let names_of: Vec<String> = (results.data.plan.operations.iter())
        .map(|op| op.name.clone())
        .collect();
    let failed = outcomes
        .iter()
        .filter(|o| !o.written() && **o != abgleich::sync::apply::Outcome::Skipped)
        .count();
    assert!(failed >= 1, "{outcomes:?}");
    let all = app.queue.shown_results.len();
    assert!(
        screen(&app, (80, 24)).contains("· Enter: new plan"),
        "the results' header is whole at 80 columns"
    );
    app.update(Action::Filter);
    let shown: Vec<usize> = app
        .queue
        .shown_results
        .iter()
        .map(|&i| i as usize)
        .collect();
    assert!(!shown.is_empty() && shown.len() < all, "{shown:?}");
    for &i in &shown {
        assert!(matches!(
            outcomes[i],
            abgleich::sync::apply::Outcome::Failed(_)
        ));
    }
    assert!(screen(&app, (120, 40)).contains("filter: failed"));
    // Esc clears the filter first, then a search narrows by name.
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(
        app.results.is_some(),
        "Esc cleared the filter, the results stay"
    );
    assert_eq!(app.queue.shown_results.len(), all);
    app.on_key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE));
    for c in "köhler".chars() {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    let names: Vec<String> = app
        .queue
        .shown_results
        .iter()
        .map(|&i| names_of[i as usize].clone())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n.to_lowercase().contains("köhler")),
        "{names:?}"
    );
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.results.is_some(), "Enter ends the search");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.results.is_none(), "Enter again: the new plan");
}

/// `r` says it reloaded, and a decision it cannot keep (the contact
/// changed outside, so its operation is another one) is named.
#[test]
fn a_reload_says_so_and_names_the_decisions_it_dropped() {
    let (dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    app.update(Action::Reload);
    assert!(app.wait_idle(Duration::from_secs(60)));
    let note = app
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(note.starts_with("reloaded"), "{note}");
    // A side taken for a conflict, then its card edited outside.
    let data = app.data.clone().unwrap();
    let (pos, o) = app
        .queue
        .visible
        .iter()
        .enumerate()
        .map(|(p, &o)| (p, o as usize))
        .find(|&(_, o)| {
            let op = &data.plan.operations[o];
            op.kind == abgleich::sync::plan::OpKind::Conflict
                && op.id_on(abgleich::model::Side::Right).is_some()
        })
        .expect("a conflict in the demo");
    app.update(Action::Top);
    for _ in 0..pos {
        app.update(Action::Down);
    }
    app.update(Action::Take(abgleich::model::Side::Left));
    let op = &data.plan.operations[o];
    let card = dir
        .path()
        .join("outlook")
        .join(op.id_on(abgleich::model::Side::Right).unwrap());
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(
        &card,
        text.replace("END:VCARD", "NOTE:outside\r\nEND:VCARD"),
    )
    .unwrap();
    app.update(Action::Reload);
    assert!(app.wait_idle(Duration::from_secs(60)));
    let note = app
        .message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(note.contains("1 decision(s) dropped"), "{note}");
    assert!(note.contains(&op.name), "{note}");
}

#[test]
fn e_lists_every_unreadable_record_with_file_line_and_why() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let (_dir, mut app) = demo();
    app.on_key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE));
    let pane = app.pane.as_ref().expect("e opens the list");
    assert!(pane.contains("Broken Export.vcf:1"), "file and line");
    assert!(pane.contains("left alone"));
    let text = screen(&app, (80, 24));
    assert!(text.contains("Broken Export.vcf"), "{text}");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.pane.is_none());
}

fn press(app: &mut App, c: char) {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
}

fn message(app: &App) -> String {
    app.message
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

/// Keys that cannot act where they are pressed say why (issue 12, finding
/// 7): unlink and forget on a contact without a link, the link mark set and
/// cleared, `<` on a create, and the deciding keys over the results.
#[test]
fn keys_that_cannot_act_say_why() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Contacts));
    for c in "/baumann".chars() {
        press(&mut app, c);
    }
    {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    }
    app.update(Action::Top);
    press(&mut app, 'u');
    assert!(message(&app).contains("not linked"), "{}", message(&app));
    press(&mut app, 'F');
    assert!(message(&app).contains("has neither"), "{}", message(&app));
    press(&mut app, 'l');
    assert!(message(&app).starts_with("marked"), "{}", message(&app));
    assert!(app.contacts.marked.is_some());
    press(&mut app, 'l');
    assert_eq!(message(&app), "mark cleared");
    assert!(app.contacts.marked.is_none());

    app.update(Action::Show(View::Queue));
    app.update(Action::Top);
    let data = app.data.clone().unwrap();
    let first = app.queue.selected_op().unwrap();
    assert_eq!(
        data.plan.operations[first].kind,
        abgleich::sync::plan::OpKind::Create
    );
    press(&mut app, '<');
    assert!(
        message(&app).contains("this is a create"),
        "{}",
        message(&app)
    );

    press(&mut app, 'x');
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.results.is_some());
    for c in [' ', 'a', 's', '<'] {
        app.message = None;
        press(&mut app, c);
        assert!(
            message(&app).contains("these are the results"),
            "{c:?}: {}",
            message(&app)
        );
    }
}

/// The results are searched as the queue is (names, ids, values), and their
/// outcome column is as wide as their longest outcome ("skipped" here;
/// issue 12, finding 8:
/// `done               create`).
#[test]
fn results_are_searched_by_value_and_padded_to_their_outcomes() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    press(&mut app, 'x');
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.results.is_some());
    let text = screen(&app, (80, 24));
    assert!(
        text.lines().any(|l| l.starts_with("›done    create")),
        "{text}"
    );
    // Tab: the detail scrolls to its end (at 80x24 it does not hold all
    // of a create's fields).
    let before = screen(&app, (80, 24));
    app.update(Action::NextPane);
    app.update(Action::Bottom);
    let after = screen(&app, (80, 24));
    assert_ne!(before, after, "the detail scrolled:\n{after}");
    assert!(
        after.lines().next() == before.lines().next(),
        "the list stays where it was"
    );
    app.update(Action::NextPane);
    // René Baumann's e-mail domain, not his name.
    for c in "/baumann-uhren".chars() {
        press(&mut app, c);
    }
    let text = screen(&app, (80, 24));
    assert!(text.contains("1 found"), "{text}");
    assert!(text.contains("René Baumann"), "{text}");
}

/// The queue's search finds a delete by the values of the record it
/// removes; `<` on a field in the detail moves on to the next field still
/// without a side; the results can be filtered to the skipped ones.
#[test]
fn delete_values_are_searched_a_field_decision_moves_on_and_skipped_results_filter() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    for c in "/nikolaus".chars() {
        press(&mut app, c);
    }
    let data = app.data.clone().unwrap();
    let o = app
        .queue
        .selected_op()
        .expect("Nikolaus Wolf's delete is found");
    let op = &data.plan.operations[o];
    assert_eq!(op.kind, abgleich::sync::plan::OpKind::Delete);
    let side = abgleich::model::Side::BOTH
        .into_iter()
        .find(|&s| op.id_on(s).is_some())
        .unwrap();
    let record = data
        .snapshot
        .sides
        .get(side)
        .get(op.id_on(side).unwrap())
        .unwrap();
    let street = record
        .contact
        .get(&"adr.work.street".parse().unwrap())
        .expect("the deleted record has a street")
        .to_lowercase();
    app.update(Action::Back);
    app.update(Action::Search);
    for c in street.chars() {
        press(&mut app, c);
    }
    assert_eq!(
        app.queue.selected_op(),
        Some(o),
        "found by its street {street:?}"
    );
    app.update(Action::Back);

    // Claudia Hoffmann's conflict has two fields without a side.
    app.update(Action::Search);
    for c in "hoffmann".chars() {
        press(&mut app, c);
    }
    {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    }
    app.update(Action::Top);
    let o = app.queue.selected_op().unwrap();
    assert_eq!(
        data.plan.operations[o].kind,
        abgleich::sync::plan::OpKind::Conflict
    );
    app.update(Action::NextPane);
    let first = app.queue.field;
    press(&mut app, '<');
    assert!(
        app.queue.field > first,
        "the cursor moved on to the next field"
    );

    app.update(Action::Back);
    app.update(Action::Back);
    press(&mut app, 'x');
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.results.is_some(), "executed");
    let mut presses = 0;
    while app.queue.result_filter != Some(abgleich::tui::views::queue::ResultFilter::Skipped) {
        app.update(Action::Filter);
        presses += 1;
        assert!(presses < 10, "f never reaches skipped");
    }
    assert!(!app.queue.shown_results.is_empty());
    let outcomes = &app.results.as_ref().unwrap().outcomes;
    assert!(
        (app.queue.shown_results.iter())
            .all(|&i| outcomes[i as usize] == abgleich::sync::apply::Outcome::Skipped)
    );
}

/// In the log, `U` undoes as its first line says, and a key that does not
/// scroll says why instead of nothing.
#[test]
fn keys_in_the_log_pane_act_or_say_why() {
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    press(&mut app, 'L');
    assert!(app.pane.is_some());
    press(&mut app, 'a');
    assert!(app.pane.is_some(), "a does not close the log");
    assert!(message(&app).contains("only scrolls"), "{}", message(&app));
    press(&mut app, 'U');
    assert!(app.pane.is_none(), "U leaves the log");
    assert!(
        message(&app).contains("nothing to undo"),
        "{}",
        message(&app)
    );
}

fn key(app: &mut App, code: ratatui::crossterm::event::KeyCode) {
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// The header lines of a screen (those above the first pane's border).
fn header_lines(screen: &str) -> Vec<String> {
    (screen.lines().skip(1))
        .take_while(|l| !l.contains("───"))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// While a search is typed, the status bar says what the keys do there
/// (no command runs), and at 80 columns the header keeps every count whole,
/// moving what does not fit to a second line (issue 12, finding 8).
#[test]
fn typing_a_search_shows_its_keys_and_the_header_is_never_cut_at_80_columns() {
    use ratatui::crossterm::event::KeyCode;
    let (_dir, mut app) = demo();
    for view in [View::Contacts, View::Queue] {
        app.update(Action::Show(view));
        let before = screen(&app, (80, 24));
        let status = before.lines().last().unwrap().to_string();
        assert!(status.contains("help"), "{view:?}: {status}");
        press(&mut app, '/');
        for c in "sab".chars() {
            press(&mut app, c);
        }
        let shown = screen(&app, (80, 24));
        let status = shown.lines().last().unwrap();
        assert!(
            status.contains("esc clear") && status.contains("enter keep search"),
            "{view:?}: {status}"
        );
        assert!(
            !status.contains("quit") && !status.contains("accept"),
            "{view:?}: no command is named while typing: {status}"
        );
        let header = header_lines(&shown);
        assert!(header.len() <= 2, "{header:?}");
        let text = header.join(" ");
        assert!(text.contains("/sab"), "{view:?}: {text}");
        assert!(
            text.contains("1 unreadable"),
            "{view:?}: the unreadable count is whole: {header:?}"
        );
        for line in &header {
            assert!(
                !line.ends_with(',') && !line.ends_with('·'),
                "{view:?}: cut after a separator: {line:?}"
            );
        }
        key(&mut app, KeyCode::Esc);
        let status = screen(&app, (80, 24)).lines().last().unwrap().to_string();
        assert!(
            status.contains("help"),
            "{view:?}: hints are back: {status}"
        );
    }
}

/// At 80 columns the contacts' counts say what they count, not marks
/// alone (issue 12, finding 8: "status counts unlabelled at 80 columns").
#[test]
fn the_contacts_counts_are_labelled_at_80_columns() {
    let (_dir, app) = demo();
    let header = header_lines(&screen(&app, (80, 24))).join(" ");
    for label in [
        "changed left",
        "conflict",
        "only right",
        "link proposed",
        "delete",
    ] {
        assert!(header.contains(label), "{label}: {header}");
    }
    assert!(header.contains("1 unreadable"), "{header}");
}

/// Esc clears a filter or a search and the selection stays on the same
/// operation or contact, not on the first row.
#[test]
fn clearing_a_filter_or_search_keeps_the_selected_row() {
    use abgleich::sync::plan::OpKind;
    use ratatui::crossterm::event::KeyCode;
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    let data = app.data.clone().unwrap();
    while app.queue.filter != Some(OpKind::Link) {
        app.update(Action::Filter);
    }
    app.update(Action::Bottom);
    let picked = app.queue.selected_op().unwrap();
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.queue.filter, None);
    assert_eq!(
        app.queue.selected_op(),
        Some(picked),
        "{} stays selected",
        data.plan.operations[picked].name
    );
    // A search cleared with Esc while typing, and one cleared after Enter.
    press(&mut app, '/');
    for c in "mueller".chars() {
        press(&mut app, c);
    }
    app.update(Action::Down);
    let picked = app.queue.selected_op().unwrap();
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.queue.selected_op(), Some(picked));
    // The contacts too.
    app.update(Action::Show(View::Contacts));
    app.update(Action::Filter);
    app.update(Action::Bottom);
    let row = app.contacts.visible[app.contacts.selected];
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.contacts.filter, None);
    assert_eq!(app.contacts.visible[app.contacts.selected], row);
}

/// An operation without field changes (a link, a delete) shows what it
/// concerns in the queue and in the results: both records of a link, the
/// values a delete removes; never an empty table.
#[test]
fn a_link_and_a_delete_show_their_records_in_the_queue_and_the_results() {
    use abgleich::sync::plan::OpKind;
    use ratatui::crossterm::event::KeyCode;
    let (_dir, mut app) = demo();
    let data = app.data.clone().unwrap();
    let link = (data.plan.operations.iter())
        .find(|op| op.kind == OpKind::Link && op.changes.is_empty() && !op.review)
        .expect("a link without changes in the demo")
        .name
        .clone();
    let delete = (data.plan.operations.iter())
        .find(|op| op.kind == OpKind::Delete)
        .expect("a delete in the demo")
        .clone();
    let gone = (abgleich::model::Side::BOTH.into_iter())
        .find(|&s| delete.target.includes(s))
        .unwrap();
    let record = data
        .snapshot
        .sides
        .get(gone)
        .get(delete.id_on(gone).unwrap())
        .unwrap();
    let email = record
        .contact
        .get(&"email".parse().unwrap())
        .expect("the deleted contact has an e-mail address")
        .into_owned();
    let check = |app: &App, what: &str| {
        let shown = screen(app, (80, 24));
        assert!(
            shown.contains("CRM ") && shown.contains("· Outlook "),
            "{what}: the link names both records:\n{shown}"
        );
        assert!(
            shown.contains("adr.work.code"),
            "{what}: its values:\n{shown}"
        );
    };
    crate::common::select_op(&mut app, OpKind::Link, &link);
    check(&app, "queue");
    crate::common::select_op(&mut app, OpKind::Delete, &delete.name);
    assert!(screen(&app, (80, 24)).contains(&email));
    // Accept what needs no review (the delete waits), execute.
    execute_what_needs_no_review(&mut app);
    assert!(app.results.is_some());
    press(&mut app, '/');
    for c in link.to_lowercase().chars() {
        press(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    select_result(&mut app, OpKind::Link);
    assert!(screen(&app, (80, 24)).contains("done: link"));
    check(&app, "results");
    key(&mut app, KeyCode::Esc);
    press(&mut app, '/');
    for c in email.chars() {
        press(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    select_result(&mut app, OpKind::Delete);
    let shown = screen(&app, (80, 24));
    assert!(shown.contains("skipped: delete"), "{shown}");
    assert!(
        shown.contains(&email),
        "the values it would have removed:\n{shown}"
    );
}

/// A conflict whose one value cannot go to the other store (no E.164 form
/// for a book that takes only those): taking that side writes nothing
/// there, and the other store's value is never emptied instead. The
/// conflict says why.
#[test]
fn taking_a_side_whose_value_cannot_go_there_never_empties_the_other() {
    use abgleich::model::Side;
    use abgleich::sync::plan::OpKind;
    use abgleich::sync::state::BaseValue;
    let (dir, mut app) = demo();
    let data = app.data.clone().unwrap();
    let field: abgleich::model::contact::FieldPath = "phone.work".parse().unwrap();
    // A linked pair that agrees on its work phone.
    let (row_id, card_id, phone) = (data.rows.iter())
        .find_map(|row| {
            let link = data.link(row)?;
            let (l, r) = (
                data.contact(row, Side::Left)?,
                data.contact(row, Side::Right)?,
            );
            let (lv, rv) = (l.get(&field)?, r.get(&field)?);
            let BaseValue::Known(_) = link.base.get(&field) else {
                return None;
            };
            let same = data.config.normalizer.same(&field, Some(&lv), Some(&rv));
            let ids = (link.ids.left.clone()?, link.ids.right.clone()?);
            same.then(|| (ids.0, ids.1, rv.into_owned()))
        })
        .expect("a linked pair with a work phone on both sides in the demo");
    rusqlite::Connection::open(dir.path().join("crm.sqlite"))
        .unwrap()
        .execute(
            "UPDATE customers SET phone_work = 'bitte anrufen' WHERE id = ?1",
            [&row_id],
        )
        .unwrap();
    let card = dir.path().join("outlook").join(&card_id);
    let text = std::fs::read_to_string(&card).unwrap();
    assert!(text.contains(&phone), "{text}");
    std::fs::write(&card, text.replace(&phone, "+49 30 9999999")).unwrap();
    app.update(Action::Reload);
    assert!(app.wait_idle(Duration::from_secs(60)));
    let data = app.data.clone().unwrap();
    let op = (data.plan.operations.iter())
        .find(|op| {
            op.kind == OpKind::Conflict
                && op.id_on(Side::Left) == Some(row_id.as_str())
                && op.changes.iter().any(|c| c.field == field)
        })
        .expect("the work phone conflicts");
    assert!(
        (op.warnings.iter())
            .any(|w| abgleich::text::warning_text(w, &data.fields.names).contains("bitte anrufen")),
        "the conflict says the CRM's value cannot go to the book: {:?}",
        op.warnings
    );
    let name = op.name.clone();
    crate::common::select_op(&mut app, OpKind::Conflict, &name);
    app.update(Action::Take(Side::Left));
    app.update(Action::Execute);
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let text = std::fs::read_to_string(&card).unwrap();
    assert!(
        text.contains("+49 30 9999999"),
        "the card's work phone is still there:\n{text}"
    );
}

/// The execute question counts every write, also the stamp a CRM update
/// writes into its card (issue 12: "1 × update in CRM" while the card was
/// rewritten too).
#[test]
fn the_execute_question_counts_the_stamp_written_into_the_other_store() {
    use abgleich::sync::plan::OpKind;
    let (_dir, mut app) = demo();
    let data = app.data.clone().unwrap();
    let op = (data.plan.operations.iter())
        .find(|op| {
            op.kind == OpKind::Update
                && op.target == abgleich::sync::plan::Target::Left
                && op.stamp.right.is_some()
        })
        .expect("a CRM update that stamps its card in the demo")
        .clone();
    app.update(Action::Show(View::Queue));
    app.update(Action::SkipAll);
    let o = crate::common::select_op(&mut app, OpKind::Update, &op.name);
    assert!(!app.decisions[o].accept);
    app.update(Action::Toggle);
    assert!(app.decisions[o].accept);
    app.update(Action::Execute);
    let dialog = app.dialog.as_ref().expect("the execute question");
    let text = dialog.lines.join("\n");
    assert!(text.contains("1 × update   in CRM"), "{text}");
    assert!(text.contains("1 × stamp    in Outlook"), "{text}");
}

/// A long name is cut before the row's tags, never the tags: a name-only
/// link still says `by name · review` at 80 columns.
#[test]
fn a_long_name_never_pushes_the_review_tags_off_the_row() {
    let (dir, mut app) = demo();
    let long = "Sabine-Alexandra-Maximiliane-Konstanze-Friederike";
    rusqlite::Connection::open(dir.path().join("crm.sqlite"))
        .unwrap()
        .execute("UPDATE customers SET first_name = ?1 WHERE id = 14", [long])
        .unwrap();
    let card = dir.path().join("outlook/Sabine Gross.vcf");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(&card, text.replace(";Sabine;", &format!(";{long};"))).unwrap();
    app.update(Action::Reload);
    assert!(app.wait_idle(Duration::from_secs(60)));
    app.update(Action::Show(View::Queue));
    press(&mut app, '/');
    for c in "alexandra".chars() {
        press(&mut app, c);
    }
    let shown = screen(&app, (80, 24));
    let row = (shown.lines())
        .find(|l| l.contains("link") && l.contains("Sabine-Alexandra"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(row.contains("· by name · review"), "{row}");
}

/// A conflict left without a side reads "no side chosen" in the results,
/// as README says, not "not accepted".
#[test]
fn an_undecided_conflict_is_skipped_for_want_of_a_side() {
    use abgleich::sync::plan::OpKind;
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    execute_what_needs_no_review(&mut app);
    select_result(&mut app, OpKind::Conflict);
    let shown = screen(&app, (80, 24));
    assert!(
        shown.contains("skipped: conflict, no side chosen"),
        "{shown}"
    );
}

/// After an undo a card stopped, `r` once the card can be written again
/// finishes the undo and says so in a pane, not only "reloaded".
#[test]
fn a_stopped_undo_finished_by_a_reload_is_said_on_the_screen() {
    use std::process::Command;
    let (dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    execute_what_needs_no_review(&mut app);
    key(&mut app, ratatui::crossterm::event::KeyCode::Enter);
    let card = dir.path().join("outlook/Thomas Becker.vcf");
    if !(Command::new("chattr").arg("+i").arg(&card).status()).is_ok_and(|s| s.success()) {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    app.update(Action::Undo);
    assert!(app.wait_idle(Duration::from_secs(60)));
    press(&mut app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    let _ = Command::new("chattr").arg("-i").arg(&card).status();
    assert!(
        message(&app).contains("not undone") || app.failure.is_some(),
        "{}",
        message(&app)
    );
    app.pane = None;
    app.update(Action::Reload);
    assert!(app.wait_idle(Duration::from_secs(60)));
    let shown = screen(&app, (80, 24));
    assert!(shown.contains("finished first"), "{shown}");
    assert!(shown.contains("the undo of apply #1"), "{shown}");
}

/// A mapping saved from the screen recomputes the plan; a decision it
/// drops (its operation changed with the mapping) is named with the save.
#[test]
fn a_mapping_save_names_the_decisions_it_dropped() {
    use abgleich::sync::plan::OpKind;
    let (dir, mut app) = demo();
    let data = app.data.clone().unwrap();
    let op = (data.plan.operations.iter())
        .find(|op| {
            op.kind == OpKind::Conflict
                && op
                    .changes
                    .iter()
                    .any(|c| c.field.to_string() == "adr.work.code")
        })
        .expect("a conflict on the postcode in the demo")
        .clone();
    crate::common::select_op(&mut app, OpKind::Conflict, &op.name);
    app.update(Action::Take(abgleich::model::Side::Left));
    let config = dir.path().join("abgleich.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "\"adr.work.code\" = \"zip\"",
        "\"adr.work.code\" = { column = \"zip\", direction = \"none\" }",
    );
    app.update(Action::SaveConfig(text));
    assert!(app.wait_idle(Duration::from_secs(60)));
    let note = message(&app);
    assert!(note.starts_with("saved "), "{note}");
    assert!(
        note.contains("1 decision(s) dropped") && note.contains(&op.name),
        "{note}"
    );
}

/// A mapping editor's refusal is shown whole at 80 columns (wrapped), not
/// cut mid-word.
#[test]
fn a_mapping_refusal_is_shown_whole_at_80_columns() {
    use ratatui::crossterm::event::KeyCode;
    let (_dir, mut app) = demo();
    press(&mut app, '2');
    press(&mut app, 'a');
    for c in "nick".chars() {
        press(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    press(&mut app, 'i');
    press(&mut app, 'd');
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app, (80, 24));
    let text = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("which abgleich writes itself"),
        "the refusal is whole:\n{shown}"
    );
}

/// `/` in the mapping editor finds a row as it is typed (letters are text,
/// never commands); Esc ends it with the row kept selected.
#[test]
fn slash_finds_a_row_in_the_mapping_editor() {
    use ratatui::crossterm::event::KeyCode;
    let (_dir, mut app) = demo();
    press(&mut app, '2');
    let (_, before) = app.mapping.as_ref().unwrap().selected_field();
    press(&mut app, '/');
    for c in "zip".chars() {
        press(&mut app, c);
    }
    let (field, _) = app.mapping.as_ref().unwrap().selected_field();
    assert_eq!(field.unwrap().to_string(), "adr.work.code");
    let shown = screen(&app, (80, 24));
    assert!(shown.contains("/zip▏ 1 row(s) match"), "{shown}");
    // `a` and `d` are text while finding: nothing added or removed.
    press(&mut app, 'a');
    press(&mut app, 'd');
    key(&mut app, KeyCode::Esc);
    let m = app.mapping.as_ref().unwrap();
    let (field, rows) = m.selected_field();
    assert_eq!(rows, before);
    assert!(!m.dirty());
    assert_eq!(field.unwrap().to_string(), "adr.work.code");
}

/// A key this view does not bind says so, or where it acts.
#[test]
fn a_key_of_another_view_says_where_it_acts() {
    let (_dir, mut app) = demo();
    press(&mut app, 'x');
    assert!(
        message(&app).contains("in the queue: press 3 first"),
        "{}",
        message(&app)
    );
    press(&mut app, 'Z');
    assert!(
        message(&app).contains("Z does nothing in the contacts"),
        "{}",
        message(&app)
    );
    press(&mut app, '3');
    press(&mut app, 's');
    assert!(message(&app).contains("skipped"), "{}", message(&app));
}

/// Over the results, Esc leaves the detail first, then clears a search,
/// and only then leaves the results for the new plan.
#[test]
fn esc_over_the_results_steps_back_one_thing_at_a_time() {
    use ratatui::crossterm::event::KeyCode;
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    execute_what_needs_no_review(&mut app);
    press(&mut app, '/');
    press(&mut app, 'k');
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Tab);
    assert!(app.queue.detail_focus);
    key(&mut app, KeyCode::Esc);
    assert!(app.results.is_some() && !app.queue.detail_focus);
    assert_eq!(app.queue.query, "k");
    key(&mut app, KeyCode::Esc);
    assert!(app.results.is_some() && app.queue.query.is_empty());
    key(&mut app, KeyCode::Esc);
    assert!(app.results.is_none(), "the new plan");
}

/// A value the contacts' detail table cuts at 80 columns is shown whole
/// below it (scrolled to with G).
#[test]
fn a_value_cut_in_the_contacts_detail_is_shown_whole_below_it() {
    use abgleich::model::Side;
    let (_dir, mut app) = demo();
    let data = app.data.clone().unwrap();
    let field: abgleich::model::contact::FieldPath = "email".parse().unwrap();
    let (pos, email) = (app.contacts.visible.iter().enumerate())
        .find_map(|(p, &r)| {
            let row = &data.rows[r as usize];
            let v = data.contact(row, Side::Right)?.get(&field)?.into_owned();
            (v.chars().count() > 30).then_some((p, v))
        })
        .expect("a long e-mail address in the demo");
    app.update(Action::Top);
    for _ in 0..pos {
        app.update(Action::Down);
    }
    assert!(!screen(&app, (80, 24)).contains(&email), "cut in the table");
    app.update(Action::NextPane);
    app.update(Action::Bottom);
    let shown = screen(&app, (80, 24));
    assert!(
        shown.contains(&format!("email, Outlook: {email}")),
        "{shown}"
    );
}

/// Accept what needs no review (`a`), execute (`x`, `y`) and wait for the
/// results.
fn execute_what_needs_no_review(app: &mut App) {
    app.update(Action::AcceptAll);
    app.update(Action::Execute);
    press(app, 'y');
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.results.is_some(), "the results of the execute");
}

/// Select the first result of an operation of `kind` among those shown.
fn select_result(app: &mut App, kind: abgleich::sync::plan::OpKind) {
    let results = app.results.as_ref().unwrap();
    let at = (app.queue.shown_results.iter())
        .position(|&i| results.data.plan.operations[i as usize].kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} among the results shown"));
    app.update(Action::Top);
    for _ in 0..at {
        app.update(Action::Down);
    }
}

/// The queue header says how many accepted operations wait for their
/// pair's link (`[~]`), so "1 accepted" never meets "nothing to execute"
/// without a word.
#[test]
fn the_queue_header_counts_what_waits_for_a_link() {
    use abgleich::sync::plan::OpKind;
    let (_dir, mut app) = demo();
    app.update(Action::Show(View::Queue));
    app.update(Action::SkipAll);
    crate::common::select_op(&mut app, OpKind::Conflict, "Sabine GROSS");
    app.update(Action::Take(abgleich::model::Side::Right));
    let header = header_lines(&screen(&app, (80, 24))).join(" ");
    assert!(
        header.contains("1 accepted (1 wait for a link)"),
        "{header}"
    );
}

/// The contacts' `f` reaches "has warning" after the statuses: only the
/// contacts whose operations carry a warning.
#[test]
fn the_contacts_filter_reaches_the_contacts_with_a_warning() {
    let (_dir, mut app) = demo();
    let mut presses = 0;
    while !app.contacts.warned {
        app.update(Action::Filter);
        presses += 1;
        assert!(presses < 20, "f never reaches has warning");
    }
    assert!(!app.contacts.visible.is_empty());
    assert!(screen(&app, (80, 24)).contains("filter: has warning"));
    let data = app.data.clone().unwrap();
    for &r in &app.contacts.visible {
        let row = &data.rows[r as usize];
        assert!(
            (row.ops.iter()).any(|&o| !data.plan.operations[o as usize].warnings.is_empty()),
            "every contact shown has a warning"
        );
    }
    app.update(Action::Filter);
    assert!(
        !app.contacts.warned && app.contacts.filter.is_none(),
        "then all"
    );
}
