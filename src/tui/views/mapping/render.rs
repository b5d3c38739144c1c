//! Drawing the mapping editor: a title line, the table of mappings with the
//! selected row and cell marked, a status line and, when open, the picker.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};

use super::MappingView;
use super::picker::{COLUMNS, Column};
use crate::config::Direction;
use crate::config::mapping::{Entry, Row, StoreInfo, card_property};
use crate::model::Side;
use crate::model::sanitize::for_terminal;
use crate::tui::theme::{Role, Theme};
use crate::tui::widgets::wrap;

impl MappingView {
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        // The last error, else what changed and is not saved yet (what `d`
        // removed, say), else what the selected cell is; wrapped (up to
        // three lines), never cut into something else.
        let (text, role) = match (&self.error, self.message()) {
            _ if self.finding().is_some() => (
                format!(
                    "/{}▏ {} row(s) match; the first is selected (↑↓ the others)",
                    self.finding().unwrap_or_default(),
                    self.find_count()
                ),
                Role::Title,
            ),
            (Some(error), _) => (error.clone(), Role::Warning),
            (None, Some(message)) => (message, Role::Changed),
            (None, None) => (self.cell_hint(), Role::Muted),
        };
        let status: Vec<Line> = wrap(&text, area.width as usize)
            .into_iter()
            .take(3)
            .map(|l| Line::styled(l, theme.style(role)))
            .collect();
        let [top, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(status.len().max(1) as u16),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.title_line(theme)), top);
        self.render_table(frame, body, theme);
        frame.render_widget(Paragraph::new(status), bottom);
        if let Some(picker) = &self.picker {
            picker.render(frame, area, theme);
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
                match self.rows.len() {
                    1 => "  1 mapping".to_string(),
                    n => format!("  {n} mappings"),
                },
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
            Column::Transform => sql_values(&|e| e.transform.to_string()),
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
                    Cell::from(if selected {
                        crate::tui::views::CURSOR
                    } else {
                        " "
                    }),
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

fn direction_label(direction: Direction) -> &'static str {
    match direction {
        Direction::Both => "both",
        Direction::LeftToRight => "left→right",
        Direction::RightToLeft => "right→left",
        Direction::None => "none",
    }
}
