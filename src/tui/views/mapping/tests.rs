//! The mapping editor driven headless: keys and actions in, rows, messages,
//! saved config text and the drawn screen out.

use std::path::Path;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use super::*;
use crate::samples;
use crate::tui::theme::Theme;

const CRM_COLUMNS: &[&str] = &[
    "id",
    "customer_no",
    "salutation",
    "first_name",
    "last_name",
    "company",
    "department",
    "position",
    "email",
    "email2",
    "email3",
    "phone_work",
    "phone_mobile",
    "phone_home",
    "fax",
    "street",
    "zip",
    "city",
    "state",
    "country",
    "website",
    "birthday",
    "notes",
    "outlook_sync",
    "outlook_uid",
    "updated_at",
    "email_private",
];

fn file() -> &'static Path {
    Path::new("/x/abgleich.toml")
}

fn parse(text: &str) -> Config {
    match Config::parse(text, file()) {
        Ok(config) => config,
        Err(e) => panic!("{e}\n{text}"),
    }
}

fn sample_view() -> MappingView {
    let columns = CRM_COLUMNS.iter().map(|c| c.to_string()).collect();
    MappingView::new(
        &parse(samples::CONFIG),
        samples::CONFIG.to_string(),
        PerSide::new(columns, Vec::new()),
    )
}

fn press(view: &mut MappingView, code: KeyCode) {
    assert!(view.is_capturing(), "no picker open for {code:?}");
    view.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Type `text` into the open picker and press Enter.
fn pick(view: &mut MappingView, text: &str) {
    for c in text.chars() {
        press(view, KeyCode::Char(c));
    }
    press(view, KeyCode::Enter);
}

fn select(view: &mut MappingView, field: &str) {
    let field: FieldPath = field.parse().unwrap();
    view.update(&Action::Top);
    while view.rows[view.selected].field != field {
        assert!(view.selected + 1 < view.rows.len(), "{field} is not a row");
        view.update(&Action::Down);
    }
}

/// Move the cell cursor to cell `n` (0 field, 1 left, 2 right, 3
/// direction, 4 transform).
fn to_cell(view: &mut MappingView, n: usize) {
    while view.column != n {
        view.update(&Action::NextPane);
    }
}

fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.find('#').map(|at| line[at..].trim_end()))
        .collect()
}

fn saved_text(view: &mut MappingView) -> String {
    match view.update(&Action::Save) {
        Some(Action::SaveConfig(text)) => text,
        other => panic!("{other:?}: {:?}", view.message()),
    }
}

fn screen(view: &MappingView, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| view.render(frame, frame.area(), &Theme::builtin()))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
        .collect()
}

#[test]
fn rows_follow_the_config_in_canonical_order() {
    let view = sample_view();
    assert_eq!(view.rows.len(), 21);
    assert_eq!(view.rows[0].field, FieldPath::NamePrefix);
    assert_eq!(view.rows[20].field, FieldPath::Note);
    let cell = view
        .rows
        .iter()
        .find(|r| r.field.to_string() == "phone.cell")
        .unwrap();
    let entry = cell.entries.left.as_ref().unwrap();
    assert_eq!(
        (entry.column.as_str(), entry.transform),
        ("phone_mobile", Transform::E164)
    );
    assert!(cell.entries.right.is_none());
    assert!(!view.dirty());
    assert_eq!(view.message(), None);
}

#[test]
fn add_then_save_writes_the_mapping_and_keeps_every_comment() {
    let mut view = sample_view();
    view.update(&Action::Add);
    assert!(view.is_capturing());
    pick(&mut view, "nickname");
    assert!(view.is_capturing(), "the column picker follows");
    pick(&mut view, "email_private");
    assert!(!view.is_capturing());
    assert_eq!(view.rows[view.selected].field.to_string(), "nickname");
    assert!(view.dirty());
    assert_eq!(view.message().as_deref(), Some("1 change not saved"));

    let text = saved_text(&mut view);
    assert_eq!(comments(&text), comments(samples::CONFIG));
    assert!(
        text.contains("\n\"nickname\" = \"email_private\"\n"),
        "{text}"
    );
    let config = parse(&text);
    let added = config
        .left
        .fields
        .iter()
        .find(|f| f.key == "nickname")
        .unwrap();
    assert_eq!(added.column.as_deref(), Some("email_private"));
    assert_eq!(config.left.fields.len(), 22);
    assert!(!view.dirty());
    assert_eq!(view.message().as_deref(), Some("saved"));
}

#[test]
fn remove_then_save_drops_the_entry_and_keeps_every_comment() {
    let mut view = sample_view();
    select(&mut view, "adr.work.street");
    view.update(&Action::Remove);
    assert_eq!(
        view.rows[view.selected].field.to_string(),
        "adr.work.locality"
    );
    // The row is gone from the list: the status line says what went, on
    // the screen too.
    assert_eq!(
        view.message().as_deref(),
        Some("removed adr.work.street · 1 change not saved (w saves)")
    );
    let shown = screen(&view, 80, 24);
    assert!(
        shown
            .last()
            .is_some_and(|l| l.contains("removed adr.work.street")),
        "{shown:#?}"
    );
    let text = saved_text(&mut view);
    assert_eq!(comments(&text), comments(samples::CONFIG));
    let config = parse(&text);
    assert!(
        !config
            .left
            .fields
            .iter()
            .any(|f| f.key == "adr.work.street")
    );
    assert_eq!(config.left.fields.len(), 20);
}

#[test]
fn changes_to_a_cell_keep_the_entry_in_place() {
    let mut view = sample_view();
    select(&mut view, "title");
    view.update(&Action::NextPane);
    view.update(&Action::Edit);
    pick(&mut view, "customer_no");
    view.update(&Action::NextPane);
    view.update(&Action::NextPane);
    view.update(&Action::Edit);
    pick(&mut view, "right→left");
    assert_eq!(view.message().as_deref(), Some("1 change not saved"));
    let text = saved_text(&mut view);
    assert!(
        text.contains(
            "\"org.unit\" = \"department\"\n\"title\" = { column = \"customer_no\", direction = \"right-to-left\" }\n"
        ),
        "{text}"
    );
    assert_eq!(comments(&text), comments(samples::CONFIG));
}

#[test]
fn an_invalid_combination_is_refused_with_a_reason() {
    let mut view = sample_view();
    let before = view.rows.clone();
    // phone.cell carries transform e164, which an e-mail cannot take.
    select(&mut view, "phone.cell");
    view.update(&Action::Edit);
    pick(&mut view, "email.home");
    let reason = view.message().unwrap_or_default();
    assert!(
        reason.contains("e164") && reason.contains("email.home"),
        "{reason}"
    );
    assert!(view.is_capturing(), "the picker stays open after a refusal");
    view.update(&Action::Back);
    assert!(!view.is_capturing());

    // A column another field holds.
    select(&mut view, "title");
    view.update(&Action::NextPane);
    view.update(&Action::Edit);
    pick(&mut view, "company");
    let reason = view.message().unwrap_or_default();
    assert!(reason.contains("already holds org.name"), "{reason}");
    press(&mut view, KeyCode::Esc);

    // A column abgleich writes itself.
    view.update(&Action::Add);
    pick(&mut view, "nickname");
    pick(&mut view, "updated_at");
    let reason = view.message().unwrap_or_default();
    assert!(reason.contains("the modified column"), "{reason}");
    press(&mut view, KeyCode::Esc);

    // A vCard property is not a choice.
    select(&mut view, "title");
    view.update(&Action::NextPane);
    view.update(&Action::Edit);
    assert!(!view.is_capturing());
    assert!(
        view.message()
            .unwrap_or_default()
            .contains("Outlook is a vCard store")
    );

    assert_eq!(view.rows, before);
    assert!(!view.dirty());
}

#[test]
fn the_transform_picker_offers_only_what_fits_the_field() {
    let mut view = sample_view();
    select(&mut view, "phone.work");
    for _ in 0..4 {
        view.update(&Action::NextPane);
    }
    view.update(&Action::Edit);
    let labels: Vec<String> = view
        .picker
        .as_ref()
        .unwrap()
        .choices
        .iter()
        .map(|c| c.label.clone())
        .collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    press(&mut view, KeyCode::Esc);
    select(&mut view, "org.name");
    view.update(&Action::Edit);
    assert_eq!(view.picker.as_ref().unwrap().choices.len(), 1);
}

#[test]
fn a_config_that_does_not_validate_is_not_saved() {
    // The file on disk changed under the editor: its `[sync]` is broken.
    let text = samples::CONFIG.replace("mode = \"sync\"", "mode = \"sync\\u001b[2J\"");
    let columns = CRM_COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut view = MappingView::new(
        &parse(samples::CONFIG),
        text,
        PerSide::new(columns, Vec::new()),
    );
    select(&mut view, "note");
    view.update(&Action::Remove);
    assert_eq!(view.update(&Action::Save), None);
    let reason = view.message().unwrap_or_default();
    assert!(
        reason.starts_with("not saved: /x/abgleich.toml:"),
        "{reason}"
    );
    assert!(reason.contains("sync.mode"), "{reason}");
    assert!(!reason.chars().any(char::is_control), "{reason:?}");
    assert!(view.dirty());
}

#[test]
fn a_failed_save_makes_the_changes_unsaved_again() {
    let mut view = sample_view();
    select(&mut view, "note");
    view.update(&Action::Remove);
    saved_text(&mut view);
    assert!(!view.dirty());
    view.save_failed("disk full\u{1b}[2J");
    assert!(view.dirty());
    let message = view.message().unwrap_or_default();
    assert_eq!(message, "not saved: disk full␛[2J");
    // Saving again writes the same change from the unchanged text.
    let text = saved_text(&mut view);
    assert!(!text.contains("\"note\""));
}

#[test]
fn next_pane_cycles_through_the_cells() {
    let mut view = sample_view();
    let seen: Vec<usize> = (0..6)
        .map(|_| {
            let now = view.column;
            view.update(&Action::NextPane);
            now
        })
        .collect();
    assert_eq!(seen, vec![0, 1, 2, 3, 4, 0]);
}

#[test]
fn two_card_stores_are_shown_read_only() {
    let text = "[left]\nname = \"Phone\"\nkind = \"vcard\"\npath = \"a.vcf\"\n\n[right]\nkind = \"vdir\"\npath = \"b\"\n";
    let mut view = MappingView::new(&parse(text), text.to_string(), PerSide::default());
    assert_eq!(view.rows.len(), all_card_fields().len());
    for action in [Action::Add, Action::Edit, Action::Remove] {
        view.update(&action);
        assert!(!view.is_capturing());
        assert!(
            view.message()
                .unwrap_or_default()
                .contains("nothing to map")
        );
    }
    assert_eq!(view.update(&Action::Save), None);
    view.update(&Action::Back);
    let shown = screen(&view, 80, 24).join("\n");
    assert!(shown.contains("nothing to edit"), "{shown}");
    assert!(shown.contains("Phone property"), "{shown}");
}

const TWO_TABLES: &str = r#"
[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = "customers"
id = "id"

[left.fields]
"name.family" = "last_name"   # family
"email[1]" = "email"

[right]
name = "ERP"
kind = "sqlite"
path = "erp.sqlite"
table = "partners"
id = "nr"

[right.fields]
"name.family" = { column = "name1", transform = "none" }
"#;

#[test]
fn between_two_tables_direction_and_transform_go_to_both_entries() {
    let columns = PerSide::new(
        vec![
            "id".into(),
            "last_name".into(),
            "email".into(),
            "mobile".into(),
        ],
        vec!["nr".into(), "name1".into(), "mail".into(), "handy".into()],
    );
    let mut view = MappingView::new(&parse(TWO_TABLES), TWO_TABLES.to_string(), columns);
    assert_eq!(view.rows.len(), 2);
    select(&mut view, "name.family");
    for _ in 0..3 {
        view.update(&Action::NextPane);
    }
    view.update(&Action::Edit);
    pick(&mut view, "none");
    view.update(&Action::Add);
    pick(&mut view, "phone.cell");
    pick(&mut view, "mobile");
    pick(&mut view, "handy");
    let text = saved_text(&mut view);
    let config = parse(&text);
    for store in [&config.left, &config.right] {
        let family = store
            .fields
            .iter()
            .find(|f| f.key == "name.family")
            .unwrap();
        assert_eq!(family.direction, Direction::None, "{text}");
        assert!(store.fields.iter().any(|f| f.key == "phone.cell"), "{text}");
    }
    assert!(
        text.contains("direction = \"none\" }   # family\n"),
        "{text}"
    );
    // The right side of email[1] may be chosen, or left empty.
    select(&mut view, "email");
    to_cell(&mut view, 2);
    view.update(&Action::Edit);
    pick(&mut view, "mail");
    assert_eq!(
        view.rows[view.selected]
            .entries
            .right
            .as_ref()
            .map(|e| e.key.as_str()),
        Some("email")
    );
}

#[test]
fn the_table_fits_80x24_with_header_selection_and_rows() {
    let mut view = sample_view();
    select(&mut view, "name.given");
    let shown = screen(&view, 80, 24);
    let all = shown.join("\n");
    assert!(
        shown[1].contains("field") && shown[1].contains("CRM column"),
        "{all}"
    );
    assert!(
        shown[1].contains("direction") && shown[1].contains("transform"),
        "{all}"
    );
    let given = shown.iter().find(|l| l.contains("name.given")).unwrap();
    assert!(given.starts_with('›'), "{all}");
    assert!(
        given.contains("first_name") && given.contains("N given") && given.contains("both"),
        "{all}"
    );
    let cell = shown.iter().find(|l| l.contains("phone.cell")).unwrap();
    assert!(
        cell.contains("TEL;TYPE=CELL") && cell.contains("e164"),
        "{all}"
    );
}

#[test]
fn the_table_scrolls_with_the_selection_and_marks_changes() {
    let mut view = sample_view();
    view.update(&Action::Bottom);
    let shown = screen(&view, 80, 12).join("\n");
    assert!(shown.contains("›   note"), "{shown}");
    assert!(!shown.contains("name.prefix"), "{shown}");
    view.update(&Action::Top);
    view.update(&Action::NextPane);
    view.update(&Action::Edit);
    pick(&mut view, "customer_no");
    let shown = screen(&view, 120, 40);
    let prefix = shown.iter().find(|l| l.contains("name.prefix")).unwrap();
    assert!(prefix.starts_with("› *"), "{prefix}");
    assert!(prefix.contains("customer_no"), "{prefix}");
}

#[test]
fn the_picker_is_a_centred_popup_that_filters() {
    let mut view = sample_view();
    view.update(&Action::Add);
    for c in "phone.pag".chars() {
        press(&mut view, KeyCode::Char(c));
    }
    let shown = screen(&view, 80, 24);
    let all = shown.join("\n");
    assert!(all.contains("add: canonical field"), "{all}");
    assert!(all.contains("filter: phone.pag"), "{all}");
    assert!(all.contains("› phone.pager"), "{all}");
    assert!(!all.contains("phone.work[2]"), "{all}");
    press(&mut view, KeyCode::Down);
    let all = screen(&view, 80, 24).join("\n");
    assert!(all.contains("› phone.pager[2]"), "{all}");
    press(&mut view, KeyCode::Esc);
    assert!(!view.is_capturing());
    assert!(!view.dirty());
}

#[test]
fn store_text_is_neutralised_on_screen() {
    let text = samples::CONFIG.replace("name = \"CRM\"", "name = \"C\\u001b]2;x\\u0007RM\"");
    let view = MappingView::new(&parse(&text), text.clone(), PerSide::default());
    let all = screen(&view, 120, 10).join("\n");
    assert!(all.contains("C␛]2;x␇RM"), "{all}");
}
