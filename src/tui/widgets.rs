//! The small widgets every view shares: the y/n question and the progress
//! box. They draw from their own data only.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::action::Action;
use super::theme::{Role, Theme};

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

/// The question, centred over the body.
pub fn draw_dialog(dialog: &Dialog, theme: &Theme, frame: &mut Frame, body: Rect) {
    let width = 70.min(body.width);
    let height = (dialog.lines.len() as u16 + 2).min(body.height);
    let area = centered(body, width, height);
    frame.render_widget(Clear, area);
    let lines: Vec<Line> = dialog.lines.iter().map(|l| Line::raw(l.clone())).collect();
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
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
