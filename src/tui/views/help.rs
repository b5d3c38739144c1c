//! The help overlay: every key of the current view, generated from the
//! keymap that also makes the status-bar hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::super::action::View;
use super::super::keymap::Keymap;
use super::super::theme::{Role, Theme};

pub fn lines(keymap: &Keymap, view: View, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for b in keymap.for_view(view) {
        let keys: Vec<String> = b.keys.iter().map(|k| k.name()).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{:>14}  ", keys.join(" ")), theme.style(Role::Key)),
            Span::raw(b.command.help),
            Span::styled(format!("  ({})", b.command.name), theme.style(Role::Muted)),
        ]));
    }
    let fixed: &[(&str, &str)] = match view {
        View::Contacts => &[
            ("esc", "clear search, filter or link mark"),
            ("enter", "keep the search and move in the list"),
        ],
        View::Queue => &[
            ("esc", "back to the list; after execute: the new plan"),
            ("enter", "after execute: the new plan"),
        ],
        View::Mapping => &[
            ("esc", "close a picker"),
            ("type", "narrow a picker's list"),
        ],
    };
    for (k, h) in fixed {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>14}  "), theme.style(Role::Key)),
            Span::raw(*h),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Keys are rebound in the config: [keys] accept_all = \"A\"",
        theme.style(Role::Muted),
    ));
    lines
}

pub fn render(frame: &mut Frame, area: Rect, keymap: &Keymap, view: View, theme: &Theme) {
    let body = lines(keymap, view, theme);
    let height = (body.len() as u16 + 2).min(area.height);
    let width = 76.min(area.width);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let title = match view {
        View::Contacts => " help: contacts (? or esc closes) ",
        View::Mapping => " help: mapping (? or esc closes) ",
        View::Queue => " help: queue (? or esc closes) ",
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(body).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.style(Role::Focus))
                .title(Span::styled(title, theme.style(Role::Title))),
        ),
        popup,
    );
}
