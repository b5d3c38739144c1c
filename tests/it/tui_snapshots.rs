//! What the operator sees, rendered into a `TestBackend` at 80x24 and
//! 120x40 on the demo's data (the samples plus last week's sync), compared
//! with the snapshots in `tests/snapshots/`. Styles are checked separately
//! (snapshots hold text only).

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

use abgleich::config::Config;
use abgleich::sync::plan::OpKind;
use abgleich::tui::App;
use abgleich::tui::action::{Action, View};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// The demo folder: samples with last week's sync recorded.
fn demo(no_color: bool) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let config = abgleich::samples::write_to(dir.path()).unwrap();
    abgleich::samples::write_history(&config).unwrap();
    let mut app = App::from_config(Config::load(&config).unwrap(), no_color).unwrap();
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.failure.is_none(), "{:?}", app.failure);
    (dir, app)
}

fn draw(app: &App, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| app.render(f)).unwrap();
    terminal
}

fn type_keys(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn snapshot(name: &str, app: &App) {
    // The demo's folder has a random name (of a fixed length): the help
    // shows it, the snapshot names it `[demo-dir]`-like with that length.
    let dir = app
        .data
        .as_ref()
        .and_then(|d| d.config.file.parent().map(|p| p.display().to_string()));
    for size in SIZES {
        let terminal = draw(app, size);
        let mut text = terminal.backend().to_string();
        if let Some(dir) = &dir {
            let fixed: String = "/demo-dir"
                .chars()
                .chain(std::iter::repeat('_'))
                .take(dir.chars().count())
                .collect();
            text = text.replace(dir.as_str(), &fixed);
        }
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), text);
    }
}

#[test]
fn contacts() {
    let (_dir, app) = demo(false);
    snapshot("contacts", &app);
}

#[test]
fn contacts_detail_with_a_conflict() {
    let (_dir, mut app) = demo(false);
    type_keys(&mut app, "/hoffmann");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    snapshot("contacts_conflict", &app);
}

#[test]
fn queue() {
    let (_dir, mut app) = demo(false);
    app.update(Action::Show(View::Queue));
    snapshot("queue", &app);
}

#[test]
fn queue_conflict_resolved_per_field() {
    let (_dir, mut app) = demo(false);
    crate::common::select_op(&mut app, OpKind::Conflict, "Claudia Hoffmann");
    app.update(Action::NextPane);
    type_keys(&mut app, "<");
    snapshot("queue_conflict", &app);
    // At 80 columns the street is cut in its column; it is whole below,
    // with the last sync's, so no side is chosen blind.
    let text = draw(&app, (80, 24)).backend().to_string();
    assert!(
        text.contains("CRM: Karl-Liebknecht-Straße 12")
            && text.contains("last sync: Augustusplatz 9")
            && text.contains("Outlook: Käthe-Kollwitz-Straße 3"),
        "{text}"
    );
}

#[test]
fn mapping_editor() {
    let (_dir, mut app) = demo(false);
    app.update(Action::Show(View::Mapping));
    snapshot("mapping", &app);
}

#[test]
fn help() {
    let (_dir, mut app) = demo(false);
    type_keys(&mut app, "?");
    snapshot("help_contacts", &app);
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    app.update(Action::Show(View::Queue));
    type_keys(&mut app, "?");
    snapshot("help_queue", &app);
}

#[test]
fn no_color_draws_no_colour_and_keeps_the_selection_visible() {
    let (_dir, mut app) = demo(true);
    app.update(Action::Show(View::Queue));
    app.update(Action::Down);
    snapshot("queue_no_color", &app);
    let terminal = draw(&app, (80, 24));
    let buffer = terminal.backend().buffer();
    let mut selected_row = None;
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            assert!(
                matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
                "colour at {x},{y}: {cell:?}"
            );
            if cell.symbol() == "›" && x == 0 {
                selected_row = Some(y);
            }
        }
    }
    let y = selected_row.expect("the selected row has its marker");
    assert!(
        (1..20).all(|x| buffer[(x, y)].modifier.contains(Modifier::REVERSED)),
        "the selected row is drawn reversed"
    );
    // No underlined blank in the lists' mark columns (noise in every row).
    for view in [View::Queue, View::Contacts] {
        app.update(Action::Show(view));
        let terminal = draw(&app, (80, 24));
        let buffer = terminal.backend().buffer();
        for y in 3..buffer.area.height - 1 {
            for x in 0..6 {
                let cell = &buffer[(x, y)];
                assert!(
                    !(cell.symbol() == " " && cell.modifier.contains(Modifier::UNDERLINED)),
                    "{view:?}: an underlined blank at {x},{y}"
                );
            }
        }
    }
}

/// A terminal can be any size (a narrow tmux split, a resize): every view,
/// with help or a question over it, draws at every size without panicking.
#[test]
fn every_view_draws_at_any_size() {
    let (_dir, mut app) = demo(false);
    let sizes = [
        (1, 1),
        (2, 2),
        (7, 3),
        (12, 4),
        (20, 6),
        (33, 9),
        (40, 12),
        (79, 23),
        (200, 60),
    ];
    for view in [View::Contacts, View::Queue, View::Mapping] {
        app.update(Action::Show(view));
        app.update(Action::NextPane);
        for overlay in 0..3 {
            match overlay {
                1 => app.update(Action::Help),
                2 => app.update(Action::Execute),
                _ => {}
            }
            for size in sizes {
                draw(&app, size);
            }
            app.help = false;
            app.dialog = None;
        }
        app.update(Action::NextPane);
    }
    // The mapping editor's pickers.
    app.update(Action::Show(View::Mapping));
    for open in [Action::Edit, Action::Add] {
        app.update(open);
        for size in sizes {
            draw(&app, size);
        }
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    }
    app.update(Action::Show(View::Contacts));
    type_keys(&mut app, "/x");
    for size in sizes {
        draw(&app, size);
    }
}

/// Times (`2026-12-01 15:42:49`, a card's `REV:20261201T154249Z`) and
/// UUIDs change from run to run: each is masked with `#`, keeping its length.
fn masked(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let hex = |i: usize| chars.get(i).is_some_and(char::is_ascii_hexdigit);
    let at = |i: usize, c: char| chars.get(i) == Some(&c);
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        // 2026-12-01 (a date, with a time after it or not).
        let date = (0..4).all(|k| digit(i + k))
            && at(i + 4, '-')
            && digit(i + 5)
            && digit(i + 6)
            && at(i + 7, '-')
            && digit(i + 8)
            && digit(i + 9);
        // 20261201T154249 (a REV).
        let basic = (0..8).all(|k| digit(i + k)) && at(i + 8, 'T') && (9..15).all(|k| digit(i + k));
        // 8-4-4-4-12 hex digits.
        let uuid = [8, 4, 4, 4, 12]
            .iter()
            .try_fold(i, |p, &n| {
                ((0..n).all(|k| hex(p + k)) && (n == 12 || at(p + n, '-'))).then_some(p + n + 1)
            })
            .is_some();
        let len = if uuid {
            36
        } else if date {
            let mut end = i + 10;
            if at(end, ' ') && digit(end + 1) && digit(end + 2) && at(end + 3, ':') {
                end += 9;
            }
            end - i
        } else if basic {
            15
        } else {
            0
        };
        for c in out.iter_mut().skip(i).take(len) {
            if c.is_ascii_alphanumeric() {
                *c = '#';
            }
        }
        i += len.max(1);
    }
    out.into_iter().collect()
}

fn snapshot_masked(name: &str, app: &App) {
    for size in SIZES {
        let text = masked(&draw(app, size).backend().to_string());
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), text);
    }
}

fn assert_no_colour(app: &App, what: &str) {
    for size in SIZES {
        let terminal = draw(app, size);
        let buffer = terminal.backend().buffer();
        for (i, cell) in buffer.content().iter().enumerate() {
            assert!(
                matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
                "{what}: colour at cell {i} of {size:?}: {cell:?}"
            );
        }
    }
}

/// The panes added for review at scale (the preview of what an operation
/// writes, the undo question that names what it puts back, the log of
/// applies), with colour and with `NO_COLOR`: the same text, and no colour
/// at all in the second.
#[test]
fn preview_undo_question_and_log() {
    for no_color in [false, true] {
        let suffix = if no_color { "_no_color" } else { "" };
        let (_dir, mut app) = demo(no_color);
        crate::common::select_op(&mut app, OpKind::Update, "Katharina Vogel");
        type_keys(&mut app, "p");
        assert!(app.wait_idle(Duration::from_secs(30)));
        assert!(app.preview.is_some(), "p opens the preview");
        snapshot_masked(&format!("preview{suffix}"), &app);
        if no_color {
            assert_no_colour(&app, "preview");
        }
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));

        type_keys(&mut app, "ax");
        type_keys(&mut app, "y");
        assert!(app.wait_idle(Duration::from_secs(60)));
        assert!(app.results.is_some(), "executed");
        type_keys(&mut app, "U");
        assert!(app.wait_idle(Duration::from_secs(30)));
        assert!(app.dialog.is_some(), "U asks");
        snapshot_masked(&format!("undo_question{suffix}"), &app);
        if no_color {
            assert_no_colour(&app, "the undo question");
        }
        app.on_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
        assert!(app.dialog.is_none());

        type_keys(&mut app, "L");
        assert!(app.pane.is_some(), "L opens the log");
        snapshot_masked(&format!("log{suffix}"), &app);
        if no_color {
            assert_no_colour(&app, "the log");
        }
    }
}

/// With `NO_COLOR` a value that changed since the last sync still stands
/// out from the unchanged ones beside it (bold), as the colour does.
#[test]
fn no_color_marks_a_changed_value_in_the_detail() {
    let (_dir, mut app) = demo(true);
    app.update(Action::Show(View::Contacts));
    type_keys(&mut app, "/vogel");
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let terminal = draw(&app, (120, 40));
    let buffer = terminal.backend().buffer();
    let find = |text: &str| {
        (0..buffer.area.height).find_map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            line.find(text).map(|at| {
                let x = line[..at].chars().count() as u16;
                (x, y)
            })
        })
    };
    // Katharina Vogel's mobile changed in the CRM (base +49 160 7281934).
    let (x, y) = find("0160 95544332").expect("the CRM's new mobile is in the detail");
    assert!(
        buffer[(x, y)].modifier.contains(Modifier::BOLD),
        "the changed value is marked: {:?}",
        buffer[(x, y)]
    );
    let (x, y) = find("Zahnarztpraxis").expect("an unchanged value is in the detail");
    assert!(
        !buffer[(x, y)].modifier.contains(Modifier::BOLD),
        "an unchanged value is not: {:?}",
        buffer[(x, y)]
    );
}

/// Help over the results of an execute names the results' marks and keys,
/// with the config and store places whole at its foot.
#[test]
fn help_over_the_results() {
    let (_dir, mut app) = demo(false);
    app.update(Action::Show(View::Queue));
    type_keys(&mut app, "x");
    type_keys(&mut app, "y");
    assert!(app.wait_idle(Duration::from_secs(60)));
    assert!(app.results.is_some(), "executed");
    app.update(Action::Help);
    snapshot("help_results", &app);
    for size in SIZES {
        let text = draw(&app, size).backend().to_string();
        assert!(text.contains("record changed: not written"), "{text}");
        assert!(
            text.contains("[keys] rebinds"),
            "the footer is whole:\n{text}"
        );
        assert!(
            !text.contains("filter by kind"),
            "f filters the results:\n{text}"
        );
    }
}

/// In a deep folder the help does not fit 80x24 with its footer: it says
/// it scrolls, and `G` reaches the footer's end.
#[test]
fn help_scrolls_to_its_footer_on_a_small_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir
        .path()
        .join("a-rather-long-folder-name/for-the-footer-of-the-help/abgleich-demo-x1y2z3");
    std::fs::create_dir_all(&deep).unwrap();
    let config = abgleich::samples::write_to(&deep).unwrap();
    let mut app = App::from_config(Config::load(&config).unwrap(), false).unwrap();
    assert!(app.wait_idle(Duration::from_secs(60)));
    app.update(Action::Show(View::Queue));
    type_keys(&mut app, "?");
    let text = draw(&app, (80, 24)).backend().to_string();
    assert!(text.contains("j/k scroll"), "{text}");
    assert!(
        !text.contains("rebinds"),
        "the footer does not fit:\n{text}"
    );
    type_keys(&mut app, "G");
    let text = draw(&app, (80, 24)).backend().to_string();
    assert!(text.contains("rebinds keys"), "G shows the footer:\n{text}");
    assert!(app.help, "scrolling keeps the help open");
    type_keys(&mut app, "?");
    assert!(!app.help);
}
