//! The small widgets every view shares: the y/n question and the progress
//! box. They draw from their own data only.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::action::Action;
use super::theme::{Role, Theme};
use crate::model::sanitize::for_terminal;

/// How a status-bar message is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    /// Something was not done, or cannot be: shown as an error.
    Error,
}

/// A line for the status bar, with its severity as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub severity: Severity,
}

impl Message {
    pub fn info(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            severity: Severity::Info,
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            severity: Severity::Error,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A question that needs `y` or `n`.
pub struct Dialog {
    pub title: String,
    pub lines: Vec<String>,
    pub on_yes: Action,
}

/// Work in progress in the background.
pub struct Busy {
    pub what: String,
    pub done: usize,
    pub total: usize,
    pub since: Instant,
}

/// One whole item of a header line: never cut, never split.
pub type Item = Vec<Span<'static>>;

/// A header's items laid out in at most `max_lines` lines of `width`
/// columns, `sep` between items on a line, never cutting an item (a count
/// cut in half reads as another). `candidates` are the same header, each
/// shorter than the one before: the first that fits is drawn; if none
/// does, the last, with the items that find no room left out.
pub fn flow(
    candidates: &[Vec<Item>],
    sep: &str,
    width: usize,
    max_lines: usize,
) -> Vec<Line<'static>> {
    let sep_w = sep.width();
    let lay = |items: &[Item]| -> (Vec<Line<'static>>, bool) {
        let mut lines: Vec<Line<'static>> = Vec::new();
        let mut line: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        let mut whole = true;
        for item in items {
            let w: usize = item.iter().map(Span::width).sum();
            if !line.is_empty() && used + sep_w + w > width {
                lines.push(Line::from(std::mem::take(&mut line)));
                used = 0;
            }
            if lines.len() == max_lines {
                whole = false;
                continue;
            }
            // Alone on a line and still too wide: drawn cut, so not whole.
            whole &= w <= width;
            if !line.is_empty() {
                line.push(Span::raw(sep.to_string()));
                used += sep_w;
            }
            line.extend(item.iter().cloned());
            used += w;
        }
        if !line.is_empty() {
            lines.push(Line::from(line));
        }
        (lines, whole)
    };
    let mut last = Vec::new();
    for items in candidates {
        let (lines, whole) = lay(items);
        if whole {
            return lines;
        }
        last = lines;
    }
    last
}

/// `text` sanitised for the terminal and wrapped into lines of at most
/// `width` columns, at spaces where it can (a word longer than a line is
/// broken). Lines after the first keep the first's indent, two more, so a
/// wrapped line reads as one. Nothing is cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let clean = for_terminal(text);
    let width = width.max(8);
    if clean.width() <= width {
        return vec![clean.into_owned()];
    }
    let indent = clean.chars().take_while(|c| *c == ' ').count();
    let hang = " ".repeat((indent + 2).min(width / 2));
    let mut out = Vec::new();
    let mut line = " ".repeat(indent);
    let mut used = indent;
    let mut fresh = true;
    for word in clean[indent..].split(' ') {
        let w = word.width();
        if !fresh && used + 1 + w > width {
            out.push(std::mem::replace(&mut line, hang.clone()));
            used = hang.len();
            fresh = true;
        }
        if !fresh {
            line.push(' ');
            used += 1;
        }
        // A word longer than what is left of a line: broken where it ends.
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width {
                out.push(std::mem::replace(&mut line, hang.clone()));
                used = hang.len();
            }
            line.push(c);
            used += cw;
        }
        fresh = false;
    }
    out.push(line);
    out
}

/// The question, centred over the body; its lines are wrapped, never cut.
pub fn draw_dialog(dialog: &Dialog, theme: &Theme, frame: &mut Frame, body: Rect) {
    let width = 70.min(body.width);
    let inner = usize::from(width.saturating_sub(2));
    let lines: Vec<Line> = dialog
        .lines
        .iter()
        .flat_map(|l| wrap(l, inner))
        .map(Line::raw)
        .collect();
    let height = (lines.len() as u16 + 2).min(body.height);
    let area = centered(body, width, height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.style(Role::Focus))
                .title(Span::styled(
                    format!(" {} ", dialog.title),
                    theme.style(Role::Title),
                )),
        ),
        area,
    );
}

/// The progress box over the body.
pub fn draw_busy(busy: &Busy, theme: &Theme, frame: &mut Frame, body: Rect) {
    let area = centered(body, 60.min(body.width), 3);
    frame.render_widget(Clear, area);
    let secs = Instant::now().duration_since(busy.since).as_secs_f32();
    let label = if busy.total > 0 {
        format!("{} {}/{} · {secs:.0} s", busy.what, busy.done, busy.total)
    } else {
        format!("{} … {secs:.0} s", busy.what)
    };
    let ratio = if busy.total > 0 {
        (busy.done as f64 / busy.total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    frame.render_widget(
        Gauge::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.style(Role::Focus)),
            )
            .gauge_style(theme.style(Role::Accepted))
            .ratio(ratio)
            .label(label),
        area,
    );
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_keeps_every_character_and_the_indent() {
        assert_eq!(wrap("short", 20), vec!["short"]);
        let long =
            "  kept as that apply left it; it could not be put back: UNIQUE constraint failed";
        let lines = wrap(long, 30);
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert!(lines[0].starts_with("  kept"), "{lines:?}");
        assert!(
            lines[1..].iter().all(|l| l.starts_with("    ")),
            "{lines:?}"
        );
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(words.join(" "), long.trim());
        let word = "x".repeat(25);
        assert_eq!(wrap(&word, 10).concat().replace(' ', ""), word);
        assert_eq!(wrap("Eve\u{1b}]2;x", 40), vec!["Eve␛]2;x"]);
    }
}
