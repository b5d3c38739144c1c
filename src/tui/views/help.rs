//! The help overlay: every key of the current view, generated from the
//! keymap that also makes the status-bar hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::model::sanitize::for_terminal;

use super::super::action::{Action, View};
use super::super::keymap::Keymap;
use super::super::model::Status;
use super::super::theme::{Role, Theme};
use super::{cell, status_role};

/// One entry: the key(s), what they do, and the style of the key column.
type Entry = (String, String, Style);

/// `results`: the queue shows the results of an execute (their marks and
/// keys instead of the decisions').
pub fn entries(keymap: &Keymap, view: View, theme: &Theme, results: bool) -> Vec<Entry> {
    let key = theme.style(Role::Key);
    // Over the results, the keys that decide or execute do not act.
    let decides =
        |a: &Action| a.decides() || matches!(a, Action::Preview | Action::Execute | Action::Filter);
    let mut out: Vec<Entry> = keymap
        .for_view(view)
        .filter(|b| !(results && decides(&b.command.action)))
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(|k| k.name()).collect();
            (keys.join(" "), b.command.help.to_string(), key)
        })
        .collect();
    let fixed: &[(&str, &str)] = match view {
        View::Contacts => &[
            ("esc", "end search, clear filter"),
            ("enter", "end typing the search"),
            ("⚠", "warning (see detail)"),
        ],
        View::Queue if results => &[
            ("enter", "the new plan, to decide on"),
            ("esc", "clear search, filter; plan"),
            ("f", "filter by outcome (cycles)"),
            ("done", "written as accepted"),
            ("noted", "written, a note in detail"),
            ("failed", "not written; why in detail"),
            ("changed", "record changed: not written"),
            ("skipped", "not accepted, or it waits"),
        ],
        View::Queue => &[
            ("esc", "leave search/detail/filter"),
            ("enter", "end search; new plan"),
            ("[x] [ ]", "accepted / skipped"),
            ("[~]", "accepted, waits for link"),
            ("* ◀?▶", "changed by you / no side"),
            ("──▶ ◀──", "writes right / left store"),
            ("◀─▶", "writes both stores"),
            ("review", "waits for you: Space"),
            ("by …", "how a link was found"),
            ("⚠", "warning (see detail)"),
        ],
        View::Mapping => &[
            ("esc", "close a picker"),
            ("type", "narrow a picker's list"),
        ],
    };
    out.extend(
        fixed
            .iter()
            .map(|(k, h)| (k.to_string(), h.to_string(), key)),
    );
    if view == View::Contacts {
        for s in Status::ALL {
            out.push((
                s.mark().to_string(),
                s.label().to_string(),
                theme.style(status_role(s)),
            ));
        }
    }
    out
}

/// What the help overlay shows.
pub struct Help<'a> {
    pub keymap: &'a Keymap,
    pub view: View,
    pub theme: &'a Theme,
    /// The config file and where each store is, for the footer.
    pub places: &'a str,
    /// Over the results of an execute.
    pub results: bool,
    /// How far it is scrolled; how far it can be is set here.
    pub scroll: usize,
    pub max: &'a std::cell::Cell<usize>,
}

pub fn render(frame: &mut Frame, area: Rect, help: &Help<'_>) {
    let Help {
        keymap,
        view,
        theme,
        places,
        results,
        ..
    } = *help;
    let entries = entries(keymap, view, theme, results);
    let inner_height = area.height.saturating_sub(2) as usize;
    // Where everything is, whole (wrapped), and how keys are rebound.
    let footer = format!("{} · [keys] rebinds keys", for_terminal(places));
    let footer_at = |width: u16| {
        super::super::widgets::wrap(&footer, (width as usize).saturating_sub(2).max(1))
    };
    // Too long for the screen with its footer: two columns side by side.
    let one = area.width.min(64);
    let columns = if entries.len() + footer_at(one).len() > inner_height && area.width >= 60 {
        2
    } else {
        1
    };
    let width = area.width.min(if columns == 2 { 110 } else { 64 });
    let col = (width as usize).saturating_sub(2) / columns;
    let rows = entries.len().div_ceil(columns);
    let mut lines: Vec<Line> = (0..rows)
        .map(|r| {
            let mut spans = Vec::new();
            for c in 0..columns {
                if let Some((keys, help, style)) = entries.get(c * rows + r) {
                    spans.push(Span::styled(format!("{} ", cell_right(keys, 10)), *style));
                    spans.push(Span::raw(cell(help, col.saturating_sub(11))));
                }
            }
            Line::from(spans)
        })
        .collect();
    for part in footer_at(width) {
        lines.push(Line::styled(part, theme.style(Role::Muted)));
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    // A terminal too small for all of it: j/k scroll (the title says so).
    let room = (height as usize).saturating_sub(2);
    let max = lines.len().saturating_sub(room);
    help.max.set(max);
    let skip = help.scroll.min(max);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let what = match view {
        View::Contacts => "contacts",
        View::Mapping => "mapping",
        View::Queue if results => "results of the execute",
        View::Queue => "queue",
    };
    let more = if max > 0 { "j/k scroll, " } else { "" };
    let title = format!(" help: {what} ({more}? or esc closes) ");
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.style(Role::Focus))
                .title(Span::styled(title, theme.style(Role::Title))),
        ),
        popup,
    );
}

/// Right-aligned in `width` columns.
fn cell_right(text: &str, width: usize) -> String {
    let cut = cell(text, width);
    let trimmed = cut.trim_end();
    format!(
        "{}{trimmed}",
        " ".repeat(width - unicode_width::UnicodeWidthStr::width(trimmed).min(width))
    )
}
