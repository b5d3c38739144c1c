//! The mapping editor's popup list: a titled list of choices, filtered as
//! the operator types. When no list exists (the table could not be read) it
//! takes the typed text as a column name.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::config::{Direction, Transform};
use crate::model::contact::FieldPath;
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};
use crate::tui::action::Action;
use crate::tui::theme::{Role, Theme};

/// The selectable cells of a row, in `NextPane` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Field,
    Store(Side),
    Direction,
    Transform,
}

pub(super) const COLUMNS: [Column; 5] = [
    Column::Field,
    Column::Store(Side::Left),
    Column::Store(Side::Right),
    Column::Direction,
    Column::Transform,
];

/// A value a picker can choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pick {
    Field(FieldPath),
    Column(Option<String>),
    Direction(Direction),
    Transform(Transform),
}

#[derive(Debug, Clone)]
pub(super) struct Choice {
    pub(super) label: String,
    pub(super) pick: Pick,
}

/// What the picker's choice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Purpose {
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

/// What a key or action asks of the picker's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Take the selected choice.
    Choose,
    /// Close the picker without a choice.
    Cancel,
}

#[derive(Debug, Clone)]
pub(super) struct Picker {
    title: String,
    pub(super) purpose: Purpose,
    pub(super) choices: Vec<Choice>,
    filter: String,
    /// Index into the filtered choices.
    selected: usize,
    /// No list exists (the table could not be read): the typed text is
    /// taken as a column name.
    free: bool,
}

impl Picker {
    pub(super) fn new(title: String, purpose: Purpose, choices: Vec<Choice>, free: bool) -> Picker {
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

    pub(super) fn chosen(&self) -> Option<Pick> {
        match self.visible().get(self.selected) {
            Some(choice) => Some(choice.pick.clone()),
            None if self.free && !self.filter.trim().is_empty() => {
                Some(Pick::Column(Some(self.filter.trim().to_string())))
            }
            None => None,
        }
    }

    /// Start on the choice that holds `current`, if one does.
    pub(super) fn at(mut self, current: &Pick) -> Picker {
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

    /// Raw keys: typing filters, ↑/↓ move (PageUp/PageDown by `page`),
    /// Enter chooses, Esc cancels.
    pub(super) fn handle_key(&mut self, key: KeyEvent, page: usize) -> Option<Outcome> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Some(Outcome::Cancel),
            KeyCode::Enter => return Some(Outcome::Choose),
            KeyCode::Up => self.step(-1),
            KeyCode::Down => self.step(1),
            KeyCode::PageUp => self.step(-(page as isize)),
            KeyCode::PageDown => self.step(page as isize),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.step(isize::MAX),
            KeyCode::Backspace => {
                self.filter.pop();
                self.selected = 0;
            }
            KeyCode::Char('u') if ctrl => {
                self.filter.clear();
                self.selected = 0;
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.filter.push(c);
                self.selected = 0;
            }
            _ => {}
        }
        None
    }

    /// Actions from the keymap: moves, Edit chooses, Back cancels.
    pub(super) fn update(&mut self, action: &Action, page: isize) -> Option<Outcome> {
        match action {
            Action::Up => self.step(-1),
            Action::Down => self.step(1),
            Action::PageUp => self.step(-page),
            Action::PageDown => self.step(page),
            Action::Top => self.selected = 0,
            Action::Bottom => self.step(isize::MAX),
            Action::Edit => return Some(Outcome::Choose),
            Action::Back => return Some(Outcome::Cancel),
            _ => {}
        }
        None
    }

    /// A bordered popup centred in `area`, as wide as its longest label.
    pub(super) fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let visible = self.visible();
        let longest = visible
            .iter()
            .map(|c| c.label.chars().count())
            .chain([self.title.chars().count(), 24])
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
                format!(" {} ", self.title),
                theme.style(Role::Title),
            ))
            .border_style(theme.style(Role::Focus));
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let [filter_area, list_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let filter = if self.filter.is_empty() {
            Line::styled("type to filter", theme.style(Role::Muted))
        } else {
            Line::from(vec![
                Span::styled("filter: ", theme.style(Role::Muted)),
                Span::raw(for_terminal(&self.filter).into_owned()),
                Span::styled("▏", theme.style(Role::Focus)),
            ])
        };
        frame.render_widget(Paragraph::new(filter), filter_area);
        let rows = usize::from(list_area.height).max(1);
        let offset = self.selected.saturating_sub(rows - 1);
        let mut lines: Vec<Line> = visible
            .iter()
            .enumerate()
            .skip(offset)
            .take(rows)
            .map(|(i, choice)| {
                if i == self.selected {
                    Line::styled(
                        format!("{} {}", crate::tui::views::CURSOR, choice.label),
                        theme.style(Role::Selected),
                    )
                } else {
                    Line::raw(format!("  {}", choice.label))
                }
            })
            .collect();
        if visible.is_empty() {
            lines.push(if self.free && !self.filter.trim().is_empty() {
                Line::styled("enter: use the typed column name", theme.style(Role::Muted))
            } else if self.free {
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
}
