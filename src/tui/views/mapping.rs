//! The mapping editor (SPEC §5): one row per mapped canonical field, with
//! the SQL column or the vCard property it corresponds to on each side, its
//! direction and its transform. Edits happen in pickers (no free typing where
//! a list exists) and are checked as they are made; `Save` turns them into
//! config text through [`config_edit`](crate::tui::config_edit), so the
//! operator's comments and layout stay.
//!
//! The view draws from its state only: the real columns of an SQL table are
//! read by the app (`store::sqlite::table_columns`) and handed in.

use std::cell::Cell as Remembered;
use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row as TableRow, Table};

use crate::config::{Config, Direction, Scope, StoreConfig, StoreKind, Transform};
use crate::contact::{FieldClass, FieldPath, Kind};
use crate::sanitize::for_terminal;
use crate::sync::fields::all_card_fields;
use crate::sync::{PerSide, Side};
use crate::tui::action::Action;
use crate::tui::config_edit;
use crate::tui::theme::{Role, Theme};

/// The selectable cells of a row, in `NextPane` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Field,
    Store(Side),
    Direction,
    Transform,
}

const COLUMNS: [Column; 5] = [
    Column::Field,
    Column::Store(Side::Left),
    Column::Store(Side::Right),
    Column::Direction,
    Column::Transform,
];

const DIRECTIONS: [Direction; 4] = [
    Direction::Both,
    Direction::LeftToRight,
    Direction::RightToLeft,
    Direction::None,
];

/// One `[<side>.fields]` entry of an SQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The key as written in the config (`"email[1]"`), so a change finds it.
    key: String,
    column: String,
    transform: Transform,
    direction: Direction,
}

/// One mapping row: a canonical field and each SQL side's entry for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    field: FieldPath,
    entries: PerSide<Option<Entry>>,
}

/// What a store contributes to the editor.
#[derive(Debug, Clone)]
struct StoreInfo {
    /// Sanitised for the screen.
    name: String,
    sql: bool,
    /// Sanitised table name (SQL stores).
    table: String,
    /// Real columns of the table, sorted (empty for a card store, or when
    /// the table could not be read).
    columns: Vec<String>,
    /// Columns abgleich writes itself: id, modified, stamp, scope marker.
    reserved: Vec<(String, &'static str)>,
}

/// A value a picker can choose.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pick {
    Field(FieldPath),
    Column(Option<String>),
    Direction(Direction),
    Transform(Transform),
}

#[derive(Debug, Clone)]
struct Choice {
    label: String,
    pick: Pick,
}

/// What the picker's choice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    /// Change the selected cell of `row`.
    Cell { row: usize, column: Column },
    /// First step of Add: the canonical field.
    AddField,
    /// Next steps of Add: the column on `side` (then on the other SQL side).
    AddColumn {
        field: FieldPath,
        side: Side,
        chosen: PerSide<Option<String>>,
    },
}

#[derive(Debug, Clone)]
struct Picker {
    title: String,
    purpose: Purpose,
    choices: Vec<Choice>,
    filter: String,
    /// Index into the filtered choices.
    selected: usize,
    /// No list exists (the table could not be read): the typed text is
    /// taken as a column name.
    free: bool,
}

impl Picker {
    fn new(title: String, purpose: Purpose, choices: Vec<Choice>, free: bool) -> Picker {
        Picker {
            title,
            purpose,
            choices,
            filter: String::new(),
            selected: 0,
            free,
        }
    }

    fn visible(&self) -> Vec<&Choice> {
        let filter = self.filter.to_lowercase();
        self.choices
            .iter()
            .filter(|c| c.label.to_lowercase().contains(&filter))
            .collect()
    }

    fn chosen(&self) -> Option<Pick> {
        match self.visible().get(self.selected) {
            Some(choice) => Some(choice.pick.clone()),
            None if self.free && !self.filter.trim().is_empty() => {
                Some(Pick::Column(Some(self.filter.trim().to_string())))
            }
            None => None,
        }
    }

    /// Start on the choice that holds `current`, if one does.
    fn at(mut self, current: &Pick) -> Picker {
        self.selected = self
            .choices
            .iter()
            .position(|c| c.pick == *current)
            .unwrap_or(0);
        self
    }

    fn step(&mut self, by: isize) {
        let last = self.visible().len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(by).min(last);
    }
}

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
    saved: bool,
    /// Text and rows before the last `Save`, for `save_failed`.
    before_save: Option<(String, Vec<Row>)>,
    /// First row drawn and rows per page, as the last render found them.
    offset: Remembered<usize>,
    page: Remembered<usize>,
}

impl MappingView {
    /// `text`: the config file's text; `columns`: each sqlite side's real
    /// columns (empty for a card store, or when the table could not be read:
    /// the column pickers then take a typed name).
    pub fn new(config: &Config, text: String, columns: PerSide<Vec<String>>) -> MappingView {
        let info = |store: &StoreConfig, mut columns: Vec<String>| {
            columns.sort();
            let mut reserved: Vec<(String, &'static str)> = Vec::new();
            if store.kind == StoreKind::Sqlite {
                let mut reserve = |c: &Option<String>, why| {
                    if let Some(c) = c {
                        reserved.push((c.clone(), why));
                    }
                };
                reserve(&store.id, "the table's id column");
                reserve(&store.modified, "the modified column");
                reserve(&store.stamp, "the stamp column");
                if let Scope::Column { column, .. } = &store.scope {
                    reserved.push((column.clone(), "the sync marker column"));
                }
            }
            StoreInfo {
                name: for_terminal(&store.name).into_owned(),
                sql: store.kind == StoreKind::Sqlite,
                table: for_terminal(store.table.as_deref().unwrap_or_default()).into_owned(),
                columns,
                reserved,
            }
        };
        let stores = PerSide::new(
            info(&config.left, columns.left),
            info(&config.right, columns.right),
        );
        let read_only = !stores.left.sql && !stores.right.sql;
        let mut rows: Vec<Row> = Vec::new();
        if read_only {
            rows = all_card_fields()
                .into_iter()
                .map(|field| Row {
                    field,
                    entries: PerSide::default(),
                })
                .collect();
        } else {
            for side in Side::BOTH {
                let store = config_store(config, side);
                if store.kind != StoreKind::Sqlite {
                    continue;
                }
                for mapping in &store.fields {
                    let entry = Entry {
                        key: mapping.key.clone(),
                        column: mapping.column.clone().unwrap_or_default(),
                        transform: mapping.transform,
                        direction: mapping.direction,
                    };
                    match rows.iter_mut().find(|r| r.field == mapping.field) {
                        Some(row) => *row.entries.get_mut(side) = Some(entry),
                        None => {
                            let mut row = Row {
                                field: mapping.field,
                                entries: PerSide::default(),
                            };
                            *row.entries.get_mut(side) = Some(entry);
                            rows.push(row);
                        }
                    }
                }
            }
            rows.sort_by_key(|r| field_order(&r.field));
        }
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
            error: None,
            saved: false,
            before_save: None,
            offset: Remembered::new(0),
            page: Remembered::new(10),
        }
    }

    /// True while a picker/popup is open: the app then sends raw keys to handle_key.
    pub fn is_capturing(&self) -> bool {
        self.picker.is_some()
    }

    /// Keys for an open picker: typing filters, ↑/↓ move, Enter chooses, Esc cancels.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        let picker = self.picker.as_mut()?;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => self.picker = None,
            KeyCode::Enter => self.choose(),
            KeyCode::Up => picker.step(-1),
            KeyCode::Down => picker.step(1),
            KeyCode::PageUp => picker.step(-(self.page.get() as isize)),
            KeyCode::PageDown => picker.step(self.page.get() as isize),
            KeyCode::Home => picker.selected = 0,
            KeyCode::End => picker.step(isize::MAX),
            KeyCode::Backspace => {
                picker.filter.pop();
                picker.selected = 0;
            }
            KeyCode::Char('u') if ctrl => {
                picker.filter.clear();
                picker.selected = 0;
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                picker.filter.push(c);
                picker.selected = 0;
            }
            _ => {}
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
            match action {
                Action::Up => picker.step(-1),
                Action::Down => picker.step(1),
                Action::PageUp => picker.step(-page),
                Action::PageDown => picker.step(page),
                Action::Top => picker.selected = 0,
                Action::Bottom => picker.step(isize::MAX),
                Action::Edit => self.choose(),
                Action::Back => self.picker = None,
                _ => {}
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
        match self.changes() {
            0 if self.saved => Some("saved".to_string()),
            0 => None,
            1 => Some("1 change not saved".to_string()),
            n => Some(format!("{n} changes not saved")),
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

    /// Number of canonical fields whose mapping differs from the saved one.
    fn changes(&self) -> usize {
        let mut fields: Vec<FieldPath> = self
            .rows
            .iter()
            .chain(&self.original)
            .map(|r| r.field)
            .collect();
        fields.sort();
        fields.dedup();
        fields
            .iter()
            .filter(|f| {
                let now = self.rows.iter().find(|r| r.field == **f);
                let before = self.original.iter().find(|r| r.field == **f);
                now != before
            })
            .count()
    }

    fn row_changed(&self, row: &Row) -> bool {
        self.original.iter().find(|r| r.field == row.field) != Some(row)
    }

    fn sql_sides(&self) -> Vec<Side> {
        Side::BOTH
            .into_iter()
            .filter(|s| self.stores.get(*s).sql)
            .collect()
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
        match self.check(&rows) {
            Ok(()) => {
                self.rows = rows;
                self.error = None;
                self.saved = false;
                true
            }
            Err(reason) => {
                self.refuse(reason);
                false
            }
        }
    }

    /// Why `rows` cannot be saved as they are, or `Ok`.
    fn check(&self, rows: &[Row]) -> Result<(), String> {
        for side in self.sql_sides() {
            let store = self.stores.get(side);
            let mut used: Vec<(&str, FieldPath)> = Vec::new();
            for row in rows {
                let Some(entry) = row.entries.get(side) else {
                    continue;
                };
                if let Some(reason) = transform_refused(&row.field, entry.transform, true) {
                    return Err(reason);
                }
                if let Some((_, why)) = store.reserved.iter().find(|(c, _)| *c == entry.column) {
                    return Err(format!(
                        "{} cannot hold {}: {:?} is {why}, which abgleich writes itself",
                        store.name,
                        row.field,
                        for_terminal(&entry.column)
                    ));
                }
                if let Some((_, other)) = used.iter().find(|(c, _)| *c == entry.column) {
                    return Err(format!(
                        "{} column {:?} already holds {other}; change or remove that mapping first",
                        store.name,
                        for_terminal(&entry.column)
                    ));
                }
                used.push((&entry.column, row.field));
            }
            let joins_names = rows.iter().any(|r| {
                r.field == FieldPath::NameFull
                    && r.entries
                        .get(side)
                        .as_ref()
                        .is_some_and(|e| e.transform == Transform::Name)
            });
            if let Some(part) = rows.iter().find(|r| {
                joins_names
                    && matches!(r.field, FieldPath::NameGiven | FieldPath::NameFamily)
                    && r.entries.get(side).is_some()
            }) {
                return Err(format!(
                    "name.full with transform \"name\" already fills name.given and name.family of {}; remove the {} mapping first",
                    store.name, part.field
                ));
            }
        }
        if let Some(row) = rows
            .iter()
            .find(|r| r.entries.left.is_none() && r.entries.right.is_none())
        {
            return Err(format!(
                "{} would be mapped to no column; remove the row instead",
                row.field
            ));
        }
        Ok(())
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
                first_entry(&row).map_or(Direction::Both, |e| e.direction),
            )),
            Column::Transform => Picker::new(
                format!("transform of {}", row.field),
                purpose,
                [Transform::None, Transform::E164, Transform::Name]
                    .into_iter()
                    .filter(|t| transform_refused(&row.field, *t, true).is_none())
                    .map(|t| Choice {
                        label: transform_help(t).to_string(),
                        pick: Pick::Transform(t),
                    })
                    .collect(),
                false,
            )
            .at(&Pick::Transform(
                first_entry(&row).map_or(Transform::None, |e| e.transform),
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
        if self.try_change(|rows| {
            rows.remove(at);
        }) {
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
                        r.field = field;
                        for entry in [&mut r.entries.left, &mut r.entries.right]
                            .into_iter()
                            .flatten()
                        {
                            if entry.key.parse::<FieldPath>().ok() != Some(field) {
                                entry.key = field.to_string();
                            }
                        }
                    }
                    rows.sort_by_key(|r| field_order(&r.field));
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
                    let Some(r) = rows.get_mut(row) else {
                        return;
                    };
                    let template = r.entries.get(side.opposite()).clone();
                    let field = r.field;
                    let slot = r.entries.get_mut(side);
                    *slot = match (name, slot.take()) {
                        (None, _) => None,
                        (Some(column), Some(entry)) => Some(Entry { column, ..entry }),
                        (Some(column), None) => Some(Entry {
                            key: field.to_string(),
                            column,
                            transform: template.as_ref().map_or(Transform::None, |e| e.transform),
                            direction: template.as_ref().map_or(Direction::Both, |e| e.direction),
                        }),
                    };
                });
            }
            (Purpose::Cell { row, .. }, Pick::Direction(direction)) => {
                self.try_change(|rows| {
                    if let Some(r) = rows.get_mut(row) {
                        for entry in [&mut r.entries.left, &mut r.entries.right]
                            .into_iter()
                            .flatten()
                        {
                            entry.direction = direction;
                        }
                    }
                });
            }
            (Purpose::Cell { row, .. }, Pick::Transform(transform)) => {
                self.try_change(|rows| {
                    if let Some(r) = rows.get_mut(row) {
                        for entry in [&mut r.entries.left, &mut r.entries.right]
                            .into_iter()
                            .flatten()
                        {
                            entry.transform = transform;
                        }
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
                        *r.entries.get_mut(side) = Some(new_entry(field, name));
                    }
                    if let Err(reason) = self.check(&probe) {
                        return self.refuse(reason);
                    }
                }
                *chosen.get_mut(side) = name;
                let next = self.sql_sides().into_iter().find(|s| *s > side);
                match next {
                    Some(next) => self.open_add_column(field, next, chosen),
                    None => {
                        let entries = PerSide::new(
                            chosen.left.map(|c| new_entry(field, &c)),
                            chosen.right.map(|c| new_entry(field, &c)),
                        );
                        if self.try_change(|rows| {
                            rows.push(Row { field, entries });
                            rows.sort_by_key(|r| field_order(&r.field));
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
        canonical_fields()
            .into_iter()
            .filter(|f| Some(*f) == keep || !self.rows.iter().any(|r| r.field == *f))
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
                text = config_edit::remove_mapping(&text, side, &gone.key)?;
            }
            for entry in after.iter().filter(|a| !before.contains(a)) {
                text = config_edit::set_mapping(
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

    // ---- drawing -------------------------------------------------------

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let [top, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.title_line(theme)), top);
        self.render_table(frame, body, theme);
        let status = match &self.error {
            Some(error) => Line::styled(error.clone(), theme.style(Role::Warning)),
            None => Line::styled(self.cell_hint(), theme.style(Role::Muted)),
        };
        frame.render_widget(Paragraph::new(status), bottom);
        if let Some(picker) = &self.picker {
            render_picker(picker, frame, area, theme);
        }
    }

    fn title_line(&self, theme: &Theme) -> Line<'static> {
        let describe = |s: &StoreInfo| {
            if s.sql {
                format!("{} (table {})", s.name, s.table)
            } else {
                format!("{} (vCards)", s.name)
            }
        };
        let mut spans = vec![Span::styled(
            format!(
                "Mapping  {} ⇄ {}",
                describe(&self.stores.left),
                describe(&self.stores.right)
            ),
            theme.style(Role::Title),
        )];
        if self.read_only {
            spans.push(Span::styled("  read-only", theme.style(Role::Muted)));
        } else {
            spans.push(Span::styled(
                format!("  {} mappings", self.rows.len()),
                theme.style(Role::Muted),
            ));
        }
        Line::from(spans)
    }

    fn cell_hint(&self) -> String {
        if self.read_only {
            return "both sides hold vCards: every card field is synced both ways; nothing to edit"
                .to_string();
        }
        match COLUMNS[self.column] {
            Column::Field => "field: the canonical name (enter to change)".to_string(),
            Column::Store(side) => {
                let store = self.stores.get(side);
                if store.sql {
                    format!(
                        "{}: a column of table {} (enter to change)",
                        store.name, store.table
                    )
                } else {
                    format!("{}: the vCard property follows from the field", store.name)
                }
            }
            Column::Direction => "direction: which way values travel (enter to change)".to_string(),
            Column::Transform => "transform: e164 for phones, name on name.full".to_string(),
        }
    }

    fn cell_text(&self, row: &Row, column: Column) -> String {
        let sql_values = |get: &dyn Fn(&Entry) -> String| {
            let mut values: Vec<String> = Side::BOTH
                .iter()
                .filter_map(|s| row.entries.get(*s).as_ref().map(get))
                .collect();
            values.dedup();
            values.join("/")
        };
        match column {
            Column::Field => row.field.to_string(),
            Column::Store(side) => {
                if self.stores.get(side).sql {
                    match row.entries.get(side) {
                        Some(entry) => for_terminal(&entry.column).into_owned(),
                        None => "—".to_string(),
                    }
                } else {
                    card_property(&row.field)
                }
            }
            Column::Direction if self.read_only => "both".to_string(),
            Column::Direction => sql_values(&|e| direction_label(e.direction).to_string()),
            Column::Transform if self.read_only => "none".to_string(),
            Column::Transform => {
                sql_values(&|e| config_edit::transform_name(e.transform).to_string())
            }
        }
    }

    fn heading(&self, column: Column) -> String {
        match column {
            Column::Field => "field".to_string(),
            Column::Store(side) => {
                let store = self.stores.get(side);
                let what = if store.sql { "column" } else { "property" };
                format!("{} {what}", store.name)
            }
            Column::Direction => "direction".to_string(),
            Column::Transform => "transform".to_string(),
        }
    }

    /// Each column as wide as its widest text when all fit in `width`;
    /// otherwise the columns share the width in proportion, and long
    /// texts are cut.
    fn widths(&self, width: u16) -> Vec<Constraint> {
        let natural: Vec<u16> = COLUMNS
            .iter()
            .map(|column| {
                let widest = self
                    .rows
                    .iter()
                    .map(|r| Line::from(self.cell_text(r, *column)).width())
                    .chain([Line::from(self.heading(*column)).width()])
                    .max()
                    .unwrap_or(1);
                u16::try_from(widest).unwrap_or(u16::MAX)
            })
            .collect();
        // Marker, change mark and the spaces between the 7 columns.
        let fixed: u16 = 2 + 6;
        let fits = natural
            .iter()
            .try_fold(fixed, |sum, w| sum.checked_add(*w))
            .is_some_and(|sum| sum <= width);
        let mut widths = vec![Constraint::Length(1), Constraint::Length(1)];
        widths.extend(natural.iter().map(|w| {
            if fits {
                Constraint::Length(*w)
            } else {
                Constraint::Fill(*w)
            }
        }));
        widths
    }

    fn render_table(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        // One line is the header.
        let height = usize::from(area.height.saturating_sub(1)).max(1);
        self.page.set(height);
        let mut offset = self.offset.get();
        if self.selected < offset {
            offset = self.selected;
        } else if self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset = offset.min(self.rows.len().saturating_sub(height));
        self.offset.set(offset);

        let header = TableRow::new(
            ["", ""]
                .into_iter()
                .map(String::from)
                .chain(COLUMNS.iter().map(|c| self.heading(*c)))
                .map(Cell::from),
        )
        .style(theme.style(Role::Header));
        let rows: Vec<TableRow> = self
            .rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, row)| {
                let selected = i == self.selected;
                let changed = !self.read_only && self.row_changed(row);
                let mut cells = vec![
                    Cell::from(if selected { "▶" } else { " " }),
                    Cell::from(if changed { "*" } else { " " }).style(theme.style(Role::Changed)),
                ];
                for (c, column) in COLUMNS.iter().enumerate() {
                    let text = self.cell_text(row, *column);
                    let mut style = match column {
                        Column::Store(side) if !self.stores.get(*side).sql => {
                            theme.style(Role::Muted)
                        }
                        Column::Transform if text == "none" => theme.style(Role::Muted),
                        _ => Style::new(),
                    };
                    if selected && c == self.column && !self.read_only {
                        style = style
                            .patch(theme.style(Role::Focus))
                            .add_modifier(Modifier::UNDERLINED);
                    }
                    cells.push(Cell::from(text).style(style));
                }
                let row = TableRow::new(cells);
                if selected {
                    row.style(theme.style(Role::Selected))
                } else {
                    row
                }
            })
            .collect();
        let table = Table::new(rows, self.widths(area.width))
            .header(header)
            .column_spacing(1);
        frame.render_widget(table, area);
    }
}

fn render_picker(picker: &Picker, frame: &mut Frame, area: Rect, theme: &Theme) {
    let visible = picker.visible();
    let longest = visible
        .iter()
        .map(|c| c.label.chars().count())
        .chain([picker.title.chars().count(), 24])
        .max()
        .unwrap_or(24);
    let width = u16::try_from(longest + 6)
        .unwrap_or(u16::MAX)
        .min(area.width);
    let height = u16::try_from(visible.len().max(1) + 3)
        .unwrap_or(u16::MAX)
        .clamp(5, 20)
        .min(area.height);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} ", picker.title),
            theme.style(Role::Title),
        ))
        .border_style(theme.style(Role::Focus));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [filter_area, list_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let filter = if picker.filter.is_empty() {
        Line::styled("type to filter", theme.style(Role::Muted))
    } else {
        Line::from(vec![
            Span::styled("filter: ", theme.style(Role::Muted)),
            Span::raw(for_terminal(&picker.filter).into_owned()),
            Span::styled("▏", theme.style(Role::Focus)),
        ])
    };
    frame.render_widget(Paragraph::new(filter), filter_area);
    let rows = usize::from(list_area.height).max(1);
    let offset = picker.selected.saturating_sub(rows - 1);
    let mut lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, choice)| {
            if i == picker.selected {
                Line::styled(format!("▶ {}", choice.label), theme.style(Role::Selected))
            } else {
                Line::raw(format!("  {}", choice.label))
            }
        })
        .collect();
    if visible.is_empty() {
        lines.push(if picker.free && !picker.filter.trim().is_empty() {
            Line::styled("enter: use the typed column name", theme.style(Role::Muted))
        } else if picker.free {
            Line::styled(
                "no column list: type the column name",
                theme.style(Role::Muted),
            )
        } else {
            Line::styled("nothing matches", theme.style(Role::Muted))
        });
    }
    frame.render_widget(Paragraph::new(lines), list_area);
}

fn config_store(config: &Config, side: Side) -> &StoreConfig {
    match side {
        Side::Left => &config.left,
        Side::Right => &config.right,
    }
}

/// The entry whose direction and transform a row shows first.
fn first_entry(row: &Row) -> Option<&Entry> {
    row.entries.left.as_ref().or(row.entries.right.as_ref())
}

fn new_entry(field: FieldPath, column: &str) -> Entry {
    Entry {
        key: field.to_string(),
        column: column.to_string(),
        transform: Transform::None,
        direction: Direction::Both,
    }
}

/// Every canonical field a mapping can name, in display order: the card
/// fields, with the positional `email[N]` before the kinded e-mails.
pub fn canonical_fields() -> Vec<FieldPath> {
    let mut fields = all_card_fields();
    let at = fields
        .iter()
        .position(|f| matches!(f, FieldPath::Email { .. }))
        .unwrap_or(fields.len());
    let positional = (0..3).map(|index| FieldPath::Email { kind: None, index });
    fields.splice(at..at, positional);
    fields
}

/// Rows sort in the order of [`canonical_fields`]; a field outside it
/// (`email[7]`) goes after its kind's listed ones.
fn field_order(field: &FieldPath) -> (usize, FieldPath) {
    let fields = canonical_fields();
    let at = fields.iter().position(|f| f == field).unwrap_or_else(|| {
        fields
            .iter()
            .rposition(|f| f.class() == field.class())
            .map_or(fields.len(), |p| p + 1)
    });
    (at, *field)
}

/// Why `transform` cannot go on `field` (of an SQL store when `sql`).
fn transform_refused(field: &FieldPath, transform: Transform, sql: bool) -> Option<String> {
    match transform {
        Transform::None => None,
        Transform::E164 if field.class() == FieldClass::Phone => None,
        Transform::E164 => Some(format!(
            "transform \"e164\" formats phone numbers; {field} is not a phone field"
        )),
        Transform::Name if *field == FieldPath::NameFull && sql => None,
        Transform::Name => Some(format!(
            "transform \"name\" splits a CRM column into given and family name; it belongs on name.full, not {field}"
        )),
    }
}

fn transform_help(transform: Transform) -> &'static str {
    match transform {
        Transform::None => "none: values as they are",
        Transform::E164 => "e164: write phone numbers as +4930123456",
        Transform::Name => "name: one column holds \"given family\"",
    }
}

fn direction_label(direction: Direction) -> &'static str {
    match direction {
        Direction::Both => "both",
        Direction::LeftToRight => "left→right",
        Direction::RightToLeft => "right→left",
        Direction::None => "none",
    }
}

/// The vCard property a canonical field corresponds to, as shown in the
/// editor: `EMAIL #1`, `TEL;TYPE=CELL`, `ADR;TYPE=WORK street`, `N given`.
pub fn card_property(field: &FieldPath) -> String {
    let typed = |property: &str, kind: Kind| match kind {
        // A property without TYPE is kind `other` (SPEC §4).
        Kind::Other => format!("{property} (no TYPE)"),
        kind => format!("{property};TYPE={}", kind.as_str().to_uppercase()),
    };
    let nth = |index: usize| {
        if index == 0 {
            String::new()
        } else {
            format!(" #{}", index + 1)
        }
    };
    match *field {
        FieldPath::NamePrefix => "N prefix".to_string(),
        FieldPath::NameGiven => "N given".to_string(),
        FieldPath::NameAdditional => "N additional".to_string(),
        FieldPath::NameFamily => "N family".to_string(),
        FieldPath::NameSuffix => "N suffix".to_string(),
        FieldPath::NameFull => "FN".to_string(),
        FieldPath::Nickname => "NICKNAME".to_string(),
        FieldPath::OrgName => "ORG".to_string(),
        FieldPath::OrgUnit => "ORG unit".to_string(),
        FieldPath::Title => "TITLE".to_string(),
        FieldPath::Email { kind: None, index } => format!("EMAIL #{}", index + 1),
        FieldPath::Email {
            kind: Some(kind),
            index,
        } => format!("{}{}", typed("EMAIL", kind), nth(index)),
        FieldPath::Phone { kind, index } => format!("{}{}", typed("TEL", kind), nth(index)),
        FieldPath::Adr { kind, part } => format!("{} {}", typed("ADR", kind), part.as_str()),
        FieldPath::Url { index } => format!("URL{}", nth(index)),
        FieldPath::Bday => "BDAY".to_string(),
        FieldPath::Note => "NOTE".to_string(),
        FieldPath::Categories => "CATEGORIES".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::samples;

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
        pick(&mut view, "email.home");
        assert!(view.is_capturing(), "the column picker follows");
        pick(&mut view, "email_private");
        assert!(!view.is_capturing());
        assert_eq!(view.rows[view.selected].field.to_string(), "email.home");
        assert!(view.dirty());
        assert_eq!(view.message().as_deref(), Some("1 change not saved"));

        let text = saved_text(&mut view);
        assert_eq!(comments(&text), comments(samples::CONFIG));
        assert!(
            text.contains("\n\"email.home\" = \"email_private\"\n"),
            "{text}"
        );
        let config = parse(&text);
        let added = config
            .left
            .fields
            .iter()
            .find(|f| f.key == "email.home")
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
        assert!(given.starts_with('▶'), "{all}");
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
        assert!(shown.contains("▶   note"), "{shown}");
        assert!(!shown.contains("name.prefix"), "{shown}");
        view.update(&Action::Top);
        view.update(&Action::NextPane);
        view.update(&Action::Edit);
        pick(&mut view, "customer_no");
        let shown = screen(&view, 120, 40);
        let prefix = shown.iter().find(|l| l.contains("name.prefix")).unwrap();
        assert!(prefix.starts_with("▶ *"), "{prefix}");
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
        assert!(all.contains("▶ phone.pager"), "{all}");
        assert!(!all.contains("phone.work[2]"), "{all}");
        press(&mut view, KeyCode::Down);
        let all = screen(&view, 80, 24).join("\n");
        assert!(all.contains("▶ phone.pager[2]"), "{all}");
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

    #[test]
    fn card_properties_are_named_the_vcard_way() {
        let cases = [
            ("email[1]", "EMAIL #1"),
            ("email[2]", "EMAIL #2"),
            ("email.work", "EMAIL;TYPE=WORK"),
            ("email.other[2]", "EMAIL (no TYPE) #2"),
            ("phone.cell", "TEL;TYPE=CELL"),
            ("adr.work.street", "ADR;TYPE=WORK street"),
            ("name.given", "N given"),
            ("name.full", "FN"),
            ("org.name", "ORG"),
            ("note", "NOTE"),
            ("bday", "BDAY"),
            ("url", "URL"),
        ];
        for (field, property) in cases {
            assert_eq!(card_property(&field.parse().unwrap()), property, "{field}");
        }
    }

    #[test]
    fn table_columns_reads_the_real_columns_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let config = parse_at(&samples::write_to(dir.path()).unwrap());
        let columns = crate::store::sqlite::table_columns(&config.left).unwrap();
        assert!(columns.windows(2).all(|w| w[0] <= w[1]), "{columns:?}");
        for c in ["customer_no", "first_name", "updated_at"] {
            assert!(columns.iter().any(|x| x == c), "{c}: {columns:?}");
        }
        let mut missing = config.left.clone();
        missing.table = Some("nope".into());
        let e = crate::store::sqlite::table_columns(&missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"nope\" is not a table"), "{e}");
    }

    fn parse_at(path: &Path) -> Config {
        Config::load(path).unwrap()
    }
}
