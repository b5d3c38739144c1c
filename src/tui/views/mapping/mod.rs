//! The mapping editor (SPEC §5): one row per mapped canonical field, with
//! the SQL column or the vCard property it corresponds to on each side, its
//! direction and its transform. Edits happen in pickers (no free typing where
//! a list exists) and are checked as they are made by the rules of
//! [`crate::config::mapping`]; `Save` turns them into config text through
//! [`crate::config::edit`], so the operator's comments and layout stay.
//!
//! The view draws from its state only: the real columns of an SQL table are
//! read by the app (`store::sqlite::table_columns`) and handed in.

mod picker;
mod render;
#[cfg(test)]
mod tests;

use std::cell::Cell as Remembered;
use std::path::PathBuf;

use ratatui::crossterm::event::KeyEvent;

use self::picker::{COLUMNS, Choice, Column, Outcome, Pick, Picker, Purpose};
use crate::config::edit;
use crate::config::mapping::{self, Entry, Row, StoreInfo, card_property};
use crate::config::{Config, Direction, Transform};
use crate::model::contact::FieldPath;
use crate::model::contact::all_card_fields;
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};
use crate::tui::action::Action;
use crate::tui::views::QueryEdit;

const DIRECTIONS: [Direction; 4] = [
    Direction::Both,
    Direction::LeftToRight,
    Direction::RightToLeft,
    Direction::None,
];

/// The mapping editor.
pub struct MappingView {
    file: PathBuf,
    /// The config text the changes apply to (the last saved one).
    text: String,
    stores: PerSide<StoreInfo>,
    /// Both stores hold cards: every card field is synced, nothing to edit.
    read_only: bool,
    original: Vec<Row>,
    rows: Vec<Row>,
    selected: usize,
    column: usize,
    picker: Option<Picker>,
    error: Option<String>,
    /// What the last change did, where the rows no longer show it (a
    /// removed row).
    note: Option<String>,
    saved: bool,
    /// Text and rows before the last `Save`, for `save_failed`.
    before_save: Option<(String, Vec<Row>)>,
    /// First row drawn and rows per page, as the last render found them.
    offset: Remembered<usize>,
    page: Remembered<usize>,
    /// A find being typed (`/`): the selection follows the first match.
    find: Option<String>,
}

impl MappingView {
    /// `text`: the config file's text; `columns`: each sqlite side's real
    /// columns (empty for a card store, or when the table could not be read:
    /// the column pickers then take a typed name).
    pub fn new(config: &Config, text: String, columns: PerSide<Vec<String>>) -> MappingView {
        let stores = PerSide::new(
            StoreInfo::new(&config.left, columns.left),
            StoreInfo::new(&config.right, columns.right),
        );
        let read_only = !stores.left.sql && !stores.right.sql;
        let rows: Vec<Row> = if read_only {
            all_card_fields()
                .into_iter()
                .map(|field| Row {
                    field,
                    entries: PerSide::default(),
                })
                .collect()
        } else {
            mapping::rows(config)
        };
        MappingView {
            file: config.file.clone(),
            text,
            stores,
            read_only,
            original: rows.clone(),
            rows,
            selected: 0,
            column: 0,
            picker: None,
            find: None,
            error: None,
            note: None,
            saved: false,
            before_save: None,
            offset: Remembered::new(0),
            page: Remembered::new(10),
        }
    }

    /// True while a picker/popup is open or a find is typed: the app then
    /// sends raw keys to handle_key.
    pub fn is_capturing(&self) -> bool {
        self.picker.is_some() || self.find.is_some()
    }

    /// The find being typed (`/`), if any.
    pub fn finding(&self) -> Option<&str> {
        self.find.as_deref()
    }

    /// The rows whose field, columns or card property hold `query`
    /// (lowercase), in order.
    fn matching(&self, query: &str) -> Vec<usize> {
        let needle = query.to_lowercase();
        (self.rows.iter().enumerate())
            .filter(|(_, row)| {
                let mut text = row.field.to_string();
                for entry in [&row.entries.left, &row.entries.right]
                    .into_iter()
                    .flatten()
                {
                    text.push(' ');
                    text.push_str(&entry.column);
                }
                text.push(' ');
                text.push_str(&card_property(&row.field));
                text.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Keys while a find is typed: the selection goes to the first row that
    /// matches; ↑/↓ to the previous or next match; Enter keeps it, Esc ends.
    fn find_key(&mut self, key: KeyEvent) {
        let Some(query) = self.find.as_mut() else {
            return;
        };
        let edit = super::edit_query(query, key);
        let query = query.clone();
        let found = self.matching(&query);
        match edit {
            QueryEdit::Ended | QueryEdit::Cleared => self.find = None,
            QueryEdit::Longer | QueryEdit::Shorter if !query.is_empty() => {
                if let Some(&first) = found.first() {
                    self.selected = first;
                }
            }
            QueryEdit::Move(by) => {
                let next = if by > 0 {
                    found.iter().find(|&&i| i > self.selected)
                } else {
                    found.iter().rev().find(|&&i| i < self.selected)
                };
                if let Some(&i) = next {
                    self.selected = i;
                }
            }
            _ => {}
        }
    }

    /// The canonical field of the selected row, and how many rows there are.
    pub fn selected_field(&self) -> (Option<FieldPath>, usize) {
        (
            self.rows.get(self.selected).map(|r| r.field),
            self.rows.len(),
        )
    }

    /// How many rows the find typed matches.
    pub fn find_count(&self) -> usize {
        self.find.as_deref().map_or(0, |q| self.matching(q).len())
    }

    /// Keys for an open picker: typing filters, ↑/↓ move, Enter chooses, Esc cancels.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        if self.picker.is_none() && self.find.is_some() {
            self.find_key(key);
            return None;
        }
        let picker = self.picker.as_mut()?;
        match picker.handle_key(key, self.page.get()) {
            Some(Outcome::Cancel) => self.picker = None,
            Some(Outcome::Choose) => self.choose(),
            None => {}
        }
        None
    }

    /// Actions from the keymap. Up/Down/PageUp/PageDown/Top/Bottom move;
    /// NextPane moves the selected cell (field → left → right → direction →
    /// transform → field); Edit opens a picker for the selected cell; Add
    /// picks an unmapped canonical field, then a column on each SQL side;
    /// Remove removes the selected row; Save validates the new text with
    /// `Config::parse` and returns `SaveConfig(text)`, or shows why not and
    /// returns `None`; Back closes a picker (or clears the last error).
    pub fn update(&mut self, action: &Action) -> Option<Action> {
        let page = self.page.get().max(1) as isize;
        if let Some(picker) = self.picker.as_mut() {
            match picker.update(action, page) {
                Some(Outcome::Choose) => self.choose(),
                Some(Outcome::Cancel) => self.picker = None,
                None => {}
            }
            return None;
        }
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::Top => self.selected = 0,
            Action::Bottom => self.move_by(isize::MAX),
            Action::NextPane => self.column = (self.column + 1) % COLUMNS.len(),
            Action::Edit => self.edit(),
            Action::Add => self.add(),
            Action::Search => self.find = Some(String::new()),
            Action::Remove => self.remove(),
            Action::Save => return self.save(),
            Action::Back => self.error = None,
            _ => {}
        }
        None
    }

    /// Unsaved changes exist.
    pub fn dirty(&self) -> bool {
        self.rows != self.original
    }

    /// A line for the status bar (last error or "saved"/"3 changes not saved").
    pub fn message(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        let changes = match mapping::changed_fields(&self.original, &self.rows) {
            0 if self.saved => Some("saved".to_string()),
            0 => None,
            1 => Some("1 change not saved".to_string()),
            n => Some(format!("{n} changes not saved")),
        };
        match (&self.note, changes) {
            (Some(note), Some(changes)) => Some(format!("{note} · {changes} (w saves)")),
            (Some(note), None) => Some(note.clone()),
            (None, changes) => changes,
        }
    }

    /// The save failed (the app's reason, after writing or checking against
    /// the stores): the changes count as unsaved again.
    pub fn save_failed(&mut self, reason: &str) {
        if let Some((text, original)) = self.before_save.take() {
            self.text = text;
            self.original = original;
        }
        self.saved = false;
        self.error = Some(format!("not saved: {}", for_terminal(reason)));
    }

    // ---- state changes -------------------------------------------------

    fn move_by(&mut self, by: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(by).min(last);
    }

    fn row_changed(&self, row: &Row) -> bool {
        self.original.iter().find(|r| r.field == row.field) != Some(row)
    }

    fn sql_sides(&self) -> Vec<Side> {
        mapping::sql_sides(&self.stores)
    }

    fn refuse(&mut self, reason: impl Into<String>) {
        self.error = Some(reason.into());
    }

    fn nothing_to_edit(&mut self) {
        self.refuse("both stores hold vCards: every card field is synced; there is nothing to map");
    }

    /// Apply `change` to a copy of the rows and keep it if the result is valid.
    fn try_change(&mut self, change: impl FnOnce(&mut Vec<Row>)) -> bool {
        let mut rows = self.rows.clone();
        change(&mut rows);
        match mapping::check(&self.stores, &rows) {
            Ok(()) => {
                self.rows = rows;
                self.error = None;
                self.note = None;
                self.saved = false;
                true
            }
            Err(reason) => {
                self.refuse(reason);
                false
            }
        }
    }

    fn edit(&mut self) {
        if self.read_only {
            return self.nothing_to_edit();
        }
        let Some(row) = self.rows.get(self.selected).cloned() else {
            return self.refuse("no mapping selected; add one first");
        };
        let column = COLUMNS[self.column];
        let purpose = Purpose::Cell {
            row: self.selected,
            column,
        };
        let picker = match column {
            Column::Field => Picker::new(
                format!("canonical field (now {})", row.field),
                purpose,
                self.unmapped_fields(Some(row.field)),
                false,
            )
            .at(&Pick::Field(row.field)),
            Column::Store(side) => {
                let store = self.stores.get(side);
                if !store.sql {
                    return self.refuse(format!(
                        "{} is a vCard store: its property follows from the canonical field; change the field instead",
                        store.name
                    ));
                }
                let other_mapped = row.entries.get(side.opposite()).is_some();
                let mut choices = self.column_choices(side, Some(row.field));
                if other_mapped {
                    choices.insert(
                        0,
                        Choice {
                            label: format!("(none: not in {})", store.name),
                            pick: Pick::Column(None),
                        },
                    );
                }
                let current =
                    Pick::Column(row.entries.get(side).as_ref().map(|e| e.column.clone()));
                Picker::new(
                    format!("{} column for {}", store.name, row.field),
                    purpose,
                    choices,
                    store.columns.is_empty(),
                )
                .at(&current)
            }
            Column::Direction => Picker::new(
                format!("direction of {}", row.field),
                purpose,
                DIRECTIONS
                    .iter()
                    .map(|d| Choice {
                        label: self.direction_help(*d),
                        pick: Pick::Direction(*d),
                    })
                    .collect(),
                false,
            )
            .at(&Pick::Direction(
                row.first_entry().map_or(Direction::Both, |e| e.direction),
            )),
            Column::Transform => Picker::new(
                format!("transform of {}", row.field),
                purpose,
                mapping::fitting_transforms(&row.field)
                    .into_iter()
                    .map(|t| Choice {
                        label: transform_help(t).to_string(),
                        pick: Pick::Transform(t),
                    })
                    .collect(),
                false,
            )
            .at(&Pick::Transform(
                row.first_entry().map_or(Transform::None, |e| e.transform),
            )),
        };
        self.error = None;
        self.picker = Some(picker);
    }

    fn add(&mut self) {
        if self.read_only {
            return self.nothing_to_edit();
        }
        let choices = self.unmapped_fields(None);
        if choices.is_empty() {
            return self.refuse("every canonical field is mapped already");
        }
        self.error = None;
        self.picker = Some(Picker::new(
            "add: canonical field".to_string(),
            Purpose::AddField,
            choices,
            false,
        ));
    }

    fn remove(&mut self) {
        if self.read_only {
            return self.nothing_to_edit();
        }
        if self.selected >= self.rows.len() {
            return self.refuse("no mapping selected");
        }
        let at = self.selected;
        let field = self.rows[at].field.to_string();
        if self.try_change(|rows| {
            rows.remove(at);
        }) {
            self.note = Some(format!("removed {}", for_terminal(&field)));
            self.move_by(0);
        }
    }

    /// Take the picker's selected choice.
    fn choose(&mut self) {
        let Some(picker) = self.picker.take() else {
            return;
        };
        let Some(pick) = picker.chosen() else {
            // Nothing matches the filter: keep the picker open.
            self.picker = Some(picker);
            return;
        };
        self.error = None;
        let reopen = picker.clone();
        self.apply(picker.purpose, pick);
        // A refused choice keeps the picker open next to the reason.
        if self.error.is_some() && self.picker.is_none() {
            self.picker = Some(reopen);
        }
    }

    fn apply(&mut self, purpose: Purpose, pick: Pick) {
        match (purpose, pick) {
            (Purpose::Cell { row, .. }, Pick::Field(field)) => {
                self.try_change(|rows| {
                    if let Some(r) = rows.get_mut(row) {
                        r.set_field(field);
                    }
                    mapping::sort(rows);
                });
                self.select_field(field);
            }
            (Purpose::Cell { row, column }, Pick::Column(name)) => {
                let Column::Store(side) = column else {
                    return;
                };
                if let Some(name) = &name
                    && let Err(reason) = crate::config::check_identifier(name)
                {
                    return self.refuse(format!("{:?}: {reason}", for_terminal(name)));
                }
                self.try_change(|rows| {
                    if let Some(r) = rows.get_mut(row) {
                        r.set_column(side, name);
                    }
                });
            }
            (Purpose::Cell { row, .. }, Pick::Direction(direction)) => {
                self.try_change(|rows| {
                    if let Some(r) = rows.get_mut(row) {
                        r.set_direction(direction);
                    }
                });
            }
            (Purpose::Cell { row, .. }, Pick::Transform(transform)) => {
                self.try_change(|rows| {
                    if let Some(r) = rows.get_mut(row) {
                        r.set_transform(transform);
                    }
                });
            }
            (Purpose::AddField, Pick::Field(field)) => {
                let sides = self.sql_sides();
                if let Some(first) = sides.first() {
                    self.open_add_column(field, *first, PerSide::default());
                }
            }
            (
                Purpose::AddColumn {
                    field,
                    side,
                    mut chosen,
                },
                Pick::Column(name),
            ) => {
                if let Some(name) = &name {
                    if let Err(reason) = crate::config::check_identifier(name) {
                        return self.refuse(format!("{:?}: {reason}", for_terminal(name)));
                    }
                    // Refuse a taken column now, not after the last step.
                    let mut probe = self.rows.clone();
                    probe.push(Row {
                        field,
                        entries: PerSide::default(),
                    });
                    if let Some(r) = probe.last_mut() {
                        *r.entries.get_mut(side) = Some(Entry::new(field, name));
                    }
                    if let Err(reason) = mapping::check(&self.stores, &probe) {
                        return self.refuse(reason);
                    }
                }
                *chosen.get_mut(side) = name;
                let next = self.sql_sides().into_iter().find(|s| *s > side);
                match next {
                    Some(next) => self.open_add_column(field, next, chosen),
                    None => {
                        let entries = PerSide::new(
                            chosen.left.map(|c| Entry::new(field, &c)),
                            chosen.right.map(|c| Entry::new(field, &c)),
                        );
                        if self.try_change(|rows| {
                            rows.push(Row { field, entries });
                            mapping::sort(rows);
                        }) {
                            self.select_field(field);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn open_add_column(&mut self, field: FieldPath, side: Side, chosen: PerSide<Option<String>>) {
        let store = self.stores.get(side);
        let mut choices = self.column_choices(side, None);
        // Between two SQL stores one side may stay unmapped (the field is then
        // not synchronised until both map it).
        if self.sql_sides().len() == 2 {
            choices.insert(
                0,
                Choice {
                    label: format!("(none: not in {})", store.name),
                    pick: Pick::Column(None),
                },
            );
        }
        self.picker = Some(Picker::new(
            format!("add {field}: {} column", store.name),
            Purpose::AddColumn {
                field,
                side,
                chosen,
            },
            choices,
            store.columns.is_empty(),
        ));
    }

    fn select_field(&mut self, field: FieldPath) {
        if let Some(at) = self.rows.iter().position(|r| r.field == field) {
            self.selected = at;
        }
    }

    /// Canonical fields no row maps (plus `keep`, the selected row's own).
    fn unmapped_fields(&self, keep: Option<FieldPath>) -> Vec<Choice> {
        mapping::unmapped(&self.rows, keep)
            .into_iter()
            .map(|field| Choice {
                label: field.to_string(),
                pick: Pick::Field(field),
            })
            .collect()
    }

    /// The real columns of `side`, each marked with what already uses it.
    fn column_choices(&self, side: Side, own: Option<FieldPath>) -> Vec<Choice> {
        let store = self.stores.get(side);
        store
            .columns
            .iter()
            .map(|column| {
                let user = self.rows.iter().find(|r| {
                    Some(r.field) != own
                        && r.entries
                            .get(side)
                            .as_ref()
                            .is_some_and(|e| e.column == *column)
                });
                let reserved = store.reserved.iter().find(|(c, _)| c == column);
                let shown = for_terminal(column);
                let label = match (user, reserved) {
                    (Some(r), _) => format!("{shown}  (holds {})", r.field),
                    (None, Some((_, why))) => format!("{shown}  ({why})"),
                    (None, None) => shown.into_owned(),
                };
                Choice {
                    label,
                    pick: Pick::Column(Some(column.clone())),
                }
            })
            .collect()
    }

    fn direction_help(&self, direction: Direction) -> String {
        let (l, r) = (&self.stores.left.name, &self.stores.right.name);
        match direction {
            Direction::Both => "both ways".to_string(),
            Direction::LeftToRight => format!("left→right: {l} → {r} only"),
            Direction::RightToLeft => format!("right→left: {r} → {l} only"),
            Direction::None => "none: not synchronised".to_string(),
        }
    }

    /// The config text with every change since the last save.
    fn new_text(&self) -> Result<String, String> {
        let mut text = self.text.clone();
        for side in self.sql_sides() {
            let entries = |rows: &[Row]| -> Vec<Entry> {
                rows.iter()
                    .filter_map(|r| r.entries.get(side).clone())
                    .collect()
            };
            let before = entries(&self.original);
            let after = entries(&self.rows);
            for gone in before
                .iter()
                .filter(|b| !after.iter().any(|a| a.key == b.key))
            {
                text = edit::remove_mapping(&text, side, &gone.key)?;
            }
            for entry in after.iter().filter(|a| !before.contains(a)) {
                text = edit::set_mapping(
                    &text,
                    side,
                    &entry.key,
                    Some(&entry.column),
                    entry.transform,
                    entry.direction,
                )?;
            }
        }
        Ok(text)
    }

    fn save(&mut self) -> Option<Action> {
        if self.read_only {
            self.nothing_to_edit();
            return None;
        }
        if !self.dirty() {
            self.refuse("nothing to save: no mapping changed");
            return None;
        }
        let text = match self.new_text() {
            Ok(text) => text,
            Err(reason) => {
                self.refuse(format!("not saved: {}", for_terminal(&reason)));
                return None;
            }
        };
        if let Err(e) = Config::parse(&text, &self.file) {
            self.refuse(format!("not saved: {}", for_terminal(&e.to_string())));
            return None;
        }
        let before_text = std::mem::replace(&mut self.text, text.clone());
        self.before_save = Some((before_text, self.original.clone()));
        self.original = self.rows.clone();
        self.error = None;
        self.saved = true;
        Some(Action::SaveConfig(text))
    }
}

fn transform_help(transform: Transform) -> &'static str {
    match transform {
        Transform::None => "none: values as they are",
        Transform::E164 => "e164: write phone numbers as +4930123456",
        Transform::Name => "name: one column holds \"given family\"",
    }
}
