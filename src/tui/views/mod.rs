//! The screens. Each has the same shape: `update(action)`, `render(frame, area)`;
//! while a popup or input is open it takes raw keys first (`handle_key`).

pub mod contacts;
pub mod help;
pub mod log;
pub mod mapping;
pub mod preview;
pub mod queue;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use super::model::Status;
use super::theme::{Role, Theme};
use crate::model::PerSide;
use crate::model::contact::FieldPath;
use crate::model::normal::Normalizer;
use crate::model::sanitize::for_terminal;

/// The mark of the selected row in a list: not `▶`, which is a status
/// mark ("changed left") beside it.
pub const CURSOR: &str = "›";

/// `text` sanitised for the terminal and cut or padded to exactly `width`
/// columns (a cut ends in `…`).
pub fn cell(text: &str, width: usize) -> String {
    let clean = for_terminal(text);
    let mut out = String::with_capacity(width + 4);
    let mut used = 0;
    let total: usize = clean.chars().map(|c| c.width().unwrap_or(0)).sum();
    let limit = if total > width {
        width.saturating_sub(1)
    } else {
        width
    };
    for c in clean.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > limit {
            break;
        }
        out.push(c);
        used += w;
    }
    if total > width && width > 0 {
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// A pane's scroll position after `action` (up, down, a page, top,
/// bottom), never past `max`.
pub fn scrolled(scroll: usize, max: usize, action: &super::action::Action) -> usize {
    use super::action::Action;
    let page = 10;
    match action {
        Action::Up => scroll.saturating_sub(1),
        Action::Down => scroll + 1,
        Action::PageUp => scroll.saturating_sub(page),
        Action::PageDown => scroll + page,
        Action::Top => 0,
        Action::Bottom => max,
        _ => scroll,
    }
    .min(max)
}

/// A read-only pane over the body (the log, the preview): its rows, already
/// wrapped, in a bordered box `width` wide, scrolled to `scroll` (never past
/// the last row; how far it can scroll is kept in `max_scroll` for the
/// keys), its title with the position.
pub struct ScrolledPane<'a> {
    pub title: &'a str,
    pub width: u16,
    pub scroll: usize,
    pub max_scroll: &'a std::cell::Cell<usize>,
}

impl ScrolledPane<'_> {
    pub fn draw(
        &self,
        frame: &mut ratatui::Frame,
        body: ratatui::layout::Rect,
        rows: Vec<Line<'static>>,
        theme: &Theme,
    ) {
        use ratatui::widgets::{Block, Borders, Clear, Paragraph};
        let room = usize::from(body.height.saturating_sub(2)).max(1);
        let max = rows.len().saturating_sub(room);
        self.max_scroll.set(max);
        let scroll = self.scroll.min(max);
        let height = (rows.len().min(room) as u16 + 2).min(body.height);
        let area = super::widgets::centered(body, self.width, height);
        let shown: Vec<Line> = rows.into_iter().skip(scroll).take(room).collect();
        let position = if max > 0 {
            format!(" · {}/{} j/k", scroll + 1, max + 1)
        } else {
            String::new()
        };
        let title = format!(" {}{position} · esc closes ", self.title);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(shown).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.style(Role::Focus))
                    .title(Span::styled(title, theme.style(Role::Title))),
            ),
            area,
        );
    }
}

/// What narrows a list, as the first items of its header (each whole,
/// see [`widgets::flow`](super::widgets::flow)): each filter by name, then
/// the search (with a cursor while it is typed) and how many it found.
pub fn narrowing_items(
    filters: &[&str],
    query: &str,
    searching: bool,
    found: usize,
    theme: &Theme,
) -> Vec<Vec<Span<'static>>> {
    let mut items: Vec<Vec<Span<'static>>> = (filters.iter())
        .map(|f| {
            vec![Span::styled(
                format!("filter: {f}"),
                theme.style(Role::Title),
            )]
        })
        .collect();
    if searching || !query.is_empty() {
        let cursor = if searching { "▏" } else { "" };
        items.push(vec![
            Span::styled(
                format!("/{}{cursor} ", for_terminal(query)),
                theme.style(Role::Title),
            ),
            Span::styled(format!("{found} found"), theme.style(Role::Muted)),
        ]);
    }
    items
}

/// A list view's areas: its header (`header` lines, at least one), the
/// list (`list_percent` of the rest) and the detail below.
pub fn header_list_detail(area: Rect, header: usize, list_percent: u16) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(header.max(1) as u16),
        Constraint::Percentage(list_percent),
        Constraint::Fill(1),
    ])
    .areas(area)
}

/// What a key did to a search being typed ([`edit_query`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryEdit {
    /// Enter: the search stays, typing ends.
    Ended,
    /// Esc: the search is gone and typing ends.
    Cleared,
    /// The query got longer (what is shown only narrows).
    Longer,
    /// The query got shorter or empty (Backspace, Ctrl-U).
    Shorter,
    /// Up or down in the list while typing.
    Move(isize),
    /// Not text (another control chord): nothing happened.
    Ignored,
}

/// A key typed into a search: every key is text or ends the search, never
/// a command. Ctrl-U empties it.
pub fn edit_query(query: &mut String, key: KeyEvent) -> QueryEdit {
    match key.code {
        KeyCode::Esc => {
            query.clear();
            QueryEdit::Cleared
        }
        KeyCode::Enter => QueryEdit::Ended,
        KeyCode::Backspace => {
            query.pop();
            QueryEdit::Shorter
        }
        KeyCode::Up => QueryEdit::Move(-1),
        KeyCode::Down => QueryEdit::Move(1),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            query.clear();
            QueryEdit::Shorter
        }
        KeyCode::Char(_) if key.modifiers.contains(KeyModifiers::CONTROL) => QueryEdit::Ignored,
        KeyCode::Char(c) if !c.is_control() => {
            query.push(c);
            QueryEdit::Longer
        }
        _ => QueryEdit::Ignored,
    }
}

/// The slice of a list of `len` rows that is drawn in `height` lines so that
/// `selected` is visible; only these rows are ever formatted.
pub fn list_window(selected: usize, len: usize, height: usize) -> (usize, usize) {
    if height == 0 || len == 0 {
        return (0, 0);
    }
    let start = selected
        .saturating_sub(height / 2)
        .min(len.saturating_sub(height));
    (start, (start + height).min(len))
}

pub fn status_role(status: Status) -> Role {
    match status {
        Status::Same => Role::Same,
        Status::ChangedLeft | Status::ChangedRight | Status::ChangedBoth => Role::Changed,
        Status::Conflict => Role::Conflict,
        Status::OnlyLeft => Role::OnlyLeft,
        Status::OnlyRight => Role::OnlyRight,
        Status::Suggestion => Role::Suggestion,
        Status::Delete => Role::Delete,
        Status::Unlink | Status::Idle => Role::Muted,
    }
}

/// One field of a detail table.
pub struct DetailRow {
    pub name: String,
    pub left: Option<String>,
    pub base: Option<String>,
    pub right: Option<String>,
    pub conflict: bool,
    /// Per side: its value differs from the base (with no base: from the
    /// other side's) in normal form, as the engine compares them (`+49
    /// (160) 7281934` is `+49 160 7281934`).
    pub changed: PerSide<bool>,
}

impl DetailRow {
    /// A row whose `changed` marks come from `normalizer`.
    pub fn new(
        path: &FieldPath,
        values: [Option<String>; 3],
        conflict: bool,
        has_base: bool,
        normalizer: &Normalizer,
    ) -> DetailRow {
        let [left, base, right] = values;
        let differs = |a: &Option<String>, b: &Option<String>| {
            !normalizer.same(path, a.as_deref(), b.as_deref())
        };
        let changed = if has_base {
            PerSide::new(differs(&left, &base), differs(&right, &base))
        } else {
            let d = differs(&left, &right);
            PerSide::new(d, d)
        };
        DetailRow {
            name: path.to_string(),
            left,
            base,
            right,
            conflict,
            changed,
        }
    }
}

/// After a list was filtered again: the selection back on `kept` (what
/// it showed before), where the list still holds it.
pub fn reselect(list: &[u32], kept: Option<u32>, selected: &mut usize) {
    if let Some(p) = kept.and_then(|k| list.iter().position(|&v| v == k)) {
        *selected = p;
    }
}

/// The widths of a detail table's field name and of each value column.
fn detail_widths(width: usize, has_base: bool) -> (usize, usize) {
    let name_w = 16.min(width / 5);
    let columns = if has_base { 3 } else { 2 };
    (
        name_w,
        width.saturating_sub(name_w + 2 + 3 * (columns - 1)) / columns,
    )
}

/// Field | left | base | right (without a base: field | left | right),
/// values that differ from the base (or, with no base, from each other)
/// highlighted. Every line starts with one blank column for a marker.
pub fn detail_table(
    rows: &[DetailRow],
    width: usize,
    has_base: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let (name_w, col) = detail_widths(width, has_base);
    let mut head = format!(" {} {}", cell("field", name_w), cell("left", col));
    if has_base {
        head.push_str(&format!(" │ {}", cell("base", col)));
    }
    head.push_str(&format!(" │ {}", cell("right", col)));
    let mut lines = vec![Line::styled(head, theme.style(Role::Muted))];
    for row in rows {
        let DetailRow {
            name,
            left,
            base,
            right,
            conflict,
            changed,
        } = row;
        let style_of = |changed: bool| -> Style {
            if *conflict {
                theme.style(Role::Conflict)
            } else if changed {
                theme.style(Role::Changed)
            } else {
                Style::default()
            }
        };
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".into());
        let name_role = if *conflict {
            Role::Conflict
        } else {
            Role::Muted
        };
        let mut spans = vec![
            Span::raw(" "),
            Span::styled(format!("{} ", cell(name, name_w)), theme.style(name_role)),
            Span::styled(cell(&text(left), col), style_of(changed.left)),
        ];
        if has_base {
            spans.push(Span::styled(" │ ", theme.style(Role::Muted)));
            spans.push(Span::styled(
                cell(&text(base), col),
                theme.style(Role::Muted),
            ));
        }
        spans.push(Span::styled(" │ ", theme.style(Role::Muted)));
        spans.push(Span::styled(
            cell(&text(right), col),
            style_of(changed.right),
        ));
        lines.push(Line::from(spans));
    }
    lines
}

/// The values [`detail_table`] cuts at `width` (a long URL, say), whole,
/// one line each ("url, CRM: https://…"), wrapped to `width`: no value is
/// shown only in part.
pub fn cut_values(
    rows: &[DetailRow],
    width: usize,
    has_base: bool,
    names: &PerSide<String>,
) -> Vec<String> {
    let (_, col) = detail_widths(width, has_base);
    let wide = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|v| unicode_width::UnicodeWidthStr::width(v) > col)
    };
    let mut out = Vec::new();
    for row in rows {
        let sides = [
            (&row.left, names.left.as_str()),
            (&row.base, "base"),
            (&row.right, names.right.as_str()),
        ];
        for (value, whose) in sides {
            if wide(value) {
                let text = format!(" {}, {whose}: {}", row.name, value.as_deref().unwrap_or(""));
                out.extend(super::widgets::wrap(&text, width));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{DetailRow, cell, list_window};

    #[test]
    fn a_value_equal_in_normal_form_is_not_highlighted_as_changed() {
        let normalizer = crate::model::normal::Normalizer::new("DE").unwrap();
        let phone: crate::model::contact::FieldPath = "phone.cell".parse().unwrap();
        let some = |v: &str| Some(v.to_string());
        let row = DetailRow::new(
            &phone,
            [
                some("+49 (160) 7281934"),
                some("+49 160 7281934"),
                some("0160 7281935"),
            ],
            false,
            true,
            &normalizer,
        );
        assert!(!row.changed.left, "the same number, written otherwise");
        assert!(row.changed.right, "another number");
    }

    #[test]
    fn cells_are_cut_padded_and_neutralised() {
        assert_eq!(cell("Müller", 8), "Müller  ");
        assert_eq!(cell("Bartholomäus", 6), "Barth…");
        assert_eq!(cell("Eve\u{1b}]2;x\u{7}", 10), "Eve␛]2;x␇ ");
        assert_eq!(list_window(0, 100, 10), (0, 10));
        assert_eq!(list_window(50, 100, 10), (45, 55));
        assert_eq!(list_window(99, 100, 10), (90, 100));
        assert_eq!(list_window(3, 5, 10), (0, 5));
    }
}
