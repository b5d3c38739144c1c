//! A read-only text pane over the body: the log of past applies from the
//! journal (`L`) and what an undo put back and left (`U`). Every line is
//! wrapped, never cut; j/k and the page keys scroll, Esc closes.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::super::action::Action;
use super::super::theme::Theme;
use super::super::widgets::wrap;
use crate::model::sanitize::for_terminal;
use crate::sync::state::ApplyRow;
use crate::text::applies::apply_line;

pub struct TextPane {
    pub title: String,
    pub lines: Vec<String>,
    /// The first wrapped row shown.
    pub scroll: usize,
    /// The last scroll position that still fills the pane, as last drawn.
    max_scroll: Cell<usize>,
}

impl TextPane {
    pub fn new(title: impl Into<String>, lines: Vec<String>) -> TextPane {
        let max = lines.len();
        TextPane {
            title: title.into(),
            lines,
            scroll: 0,
            max_scroll: Cell::new(max),
        }
    }

    /// Whether any line contains `text` (tests, and the tmux harness reads
    /// the screen instead).
    pub fn contains(&self, text: &str) -> bool {
        self.lines.iter().any(|l| l.contains(text))
    }

    pub fn scroll(&mut self, action: &Action) {
        self.scroll = super::scrolled(self.scroll, self.max_scroll.get(), action);
    }

    pub fn render(&self, frame: &mut Frame, body: Rect, theme: &Theme) {
        let width = body.width.min(100);
        let inner = usize::from(width.saturating_sub(2));
        let rows: Vec<String> = self.lines.iter().flat_map(|l| wrap(l, inner)).collect();
        let rows: Vec<Line<'static>> = rows.into_iter().map(Line::raw).collect();
        let pane = super::ScrolledPane {
            title: &self.title,
            width,
            scroll: self.scroll,
            max_scroll: &self.max_scroll,
        };
        pane.draw(frame, body, rows, theme);
    }
}

/// The log of applies, newest first: id, time, status, what was accepted,
/// and what came of it, all from the journal.
pub fn log_lines(applies: &[ApplyRow]) -> Vec<String> {
    if applies.is_empty() {
        return vec![
            "No apply in the journal yet: nothing was written, nothing can be undone.".into(),
        ];
    }
    let mut lines = vec![format!(
        "{} apply(s) in the journal, newest first; U undoes the newest one that is done.",
        applies.len()
    )];
    for a in applies.iter().rev() {
        lines.push(String::new());
        lines.push(apply_line(a));
        if a.finished.is_some() {
            lines.push(format!("    started {}", a.started));
        }
        for l in a.outcome.iter().flat_map(|o| o.lines()) {
            lines.push(format!("    {}", for_terminal(l)));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    #[test]
    fn the_pane_scrolls_to_its_last_line_and_no_further() {
        let lines: Vec<String> = (1..=40).map(|i| format!("line {i}")).collect();
        let mut pane = TextPane::new("log", lines);
        let theme = Theme::default();
        let mut terminal = Terminal::new(TestBackend::new(40, 12)).unwrap();
        let mut draw = |pane: &TextPane| {
            terminal.draw(|f| pane.render(f, f.area(), &theme)).unwrap();
            let buffer = terminal.backend().buffer().clone();
            (0..buffer.area.height)
                .map(|y| {
                    (0..buffer.area.width)
                        .map(|x| buffer[(x, y)].symbol().to_string())
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let first = draw(&pane);
        assert!(
            first.contains("line 1 ") && first.contains("line 10"),
            "{first}"
        );
        assert!(!first.contains("line 11"), "{first}");
        pane.scroll(&Action::Bottom);
        pane.scroll(&Action::Down);
        let last = draw(&pane);
        assert!(
            last.contains("line 40") && !last.contains("line 30 "),
            "{last}"
        );
        assert_eq!(pane.scroll, 30);
        pane.scroll(&Action::Up);
        pane.scroll(&Action::Top);
        assert_eq!(pane.scroll, 0);
    }
}
