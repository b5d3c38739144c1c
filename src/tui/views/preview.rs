//! The preview pane (`p` in the queue): for the selected operation, per
//! store write, the record as it is and as it will be written, as text (a
//! card's vCard text, a row's columns), changed lines marked: `-` as it
//! is, `+` as it will be, `~` a column whose value changes (`old → new`).
//! What is shown comes from the engine's preview, which the code that
//! writes computes ([`crate::sync::apply::preview`]). j/k and the page
//! keys scroll, g/G go to the top and the end, Esc, q or p closes.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use super::super::action::Action;
use super::super::theme::{Role, Theme};
use super::super::widgets::wrap;
use crate::model::sanitize::for_terminal;
use crate::sync::apply::{Preview, Previews, WriteKind};

/// How a line of the pane is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A heading: which store, which write.
    Head,
    /// Text of its own (an explanation, a blank line).
    Plain,
    /// A line the write keeps.
    Same,
    /// A line as it is, which the write replaces or removes.
    Removed,
    /// A line as the write leaves it.
    Added,
    /// A row's column whose value changes: `column = old → new`.
    Changed,
    /// Why a write would not be made as shown.
    Note,
}

impl Mark {
    fn prefix(self) -> &'static str {
        match self {
            Mark::Head | Mark::Plain | Mark::Note => "",
            Mark::Same => "  ",
            Mark::Removed => "- ",
            Mark::Added => "+ ",
            Mark::Changed => "~ ",
        }
    }

    fn style(self, theme: &Theme) -> Style {
        match self {
            Mark::Head => theme.style(Role::Title),
            Mark::Plain | Mark::Same => Style::default(),
            Mark::Removed => theme.style(Role::Delete),
            Mark::Added => theme.style(Role::Create),
            Mark::Changed => theme.style(Role::Changed),
            Mark::Note => theme.style(Role::Warning),
        }
    }
}

pub struct PreviewPane {
    pub title: String,
    /// What the engine computed (tests compare it with what was written).
    pub previews: Previews,
    /// Each line with its mark, sanitised for the terminal.
    pub lines: Vec<(Mark, String)>,
    /// The first wrapped row shown.
    pub scroll: usize,
    /// The last scroll position that still fills the pane, as last drawn.
    max_scroll: Cell<usize>,
}

impl PreviewPane {
    /// The pane for operation `what` (its kind and contact, shown in the
    /// title) and what the engine says it writes.
    pub fn new(what: &str, previews: Previews) -> PreviewPane {
        let lines = preview_lines(&previews);
        let max = lines.len();
        PreviewPane {
            title: format!("preview: {}", for_terminal(what)),
            previews,
            lines,
            scroll: 0,
            max_scroll: Cell::new(max),
        }
    }

    /// Whether a line shows `text` with `mark`.
    pub fn has(&self, mark: Mark, text: &str) -> bool {
        self.lines
            .iter()
            .any(|(m, l)| *m == mark && l.contains(text))
    }

    pub fn scroll(&mut self, action: &Action) {
        self.scroll = super::scrolled(self.scroll, self.max_scroll.get(), action);
    }

    pub fn render(&self, frame: &mut Frame, body: Rect, theme: &Theme) {
        let width = body.width.min(110);
        let inner = usize::from(width.saturating_sub(2));
        let rows: Vec<(Mark, String)> = self
            .lines
            .iter()
            .flat_map(|(mark, text)| {
                let prefix = mark.prefix();
                wrap(text, inner.saturating_sub(prefix.len()))
                    .into_iter()
                    .map(move |row| (*mark, format!("{prefix}{row}")))
            })
            .collect();
        let rows: Vec<Line<'static>> = (rows.into_iter())
            .map(|(mark, row)| Line::styled(row, mark.style(theme)))
            .collect();
        let pane = super::ScrolledPane {
            title: &self.title,
            width,
            scroll: self.scroll,
            max_scroll: &self.max_scroll,
        };
        pane.draw(frame, body, rows, theme);
    }
}

/// The pane's lines: per write a heading, then the record's lines as it is
/// and as it will be.
pub fn preview_lines(previews: &Previews) -> Vec<(Mark, String)> {
    let mut out = Vec::new();
    let plain = |text: &str| (Mark::Plain, text.to_string());
    if previews.writes.is_empty() {
        out.push(plain(
            "Nothing is written for this operation (a conflict needs a side, a pair waits for its link, or it writes to no store).",
        ));
        return out;
    }
    out.push(plain(if previews.accepted {
        "What executing writes for this operation (and the others of its pair), with your decisions:"
    } else {
        "Not accepted: nothing is written. If you accept it, executing writes:"
    }));
    for write in &previews.writes {
        out.push(plain(""));
        out.extend(write_lines(write));
    }
    out.push(plain(""));
    out.push(plain(
        "REV and a modified time are the time of this preview, a new UID or id is one drawn for it: the write sets its own.",
    ));
    out
}

fn write_lines(write: &Preview) -> Vec<(Mark, String)> {
    let record = write
        .record
        .as_deref()
        .map(|r| format!(" {}", for_terminal(r)))
        .unwrap_or_default();
    let mut out = vec![(
        Mark::Head,
        format!(
            "{} ({}): {}{record}",
            for_terminal(&write.store_name),
            write.side,
            write.kind.as_str()
        ),
    )];
    if let Some(note) = &write.note {
        out.push((Mark::Note, for_terminal(note).into_owned()));
    }
    let (before, after) = (write.before.as_deref(), write.after.as_deref());
    match (before, after) {
        (None, None) if write.kind == WriteKind::Delete => {}
        (None, None) => {
            out.push((
                Mark::Plain,
                "(this store cannot show its records)".to_string(),
            ));
        }
        (Some(b), Some(a)) if b == a => {
            out.push((Mark::Plain, "(the record stays as it is)".to_string()));
            out.extend(lines_of(b).map(|l| (Mark::Same, l)));
        }
        _ => out.extend(diff(before.unwrap_or(""), after.unwrap_or(""))),
    }
    if write.kind == WriteKind::Delete {
        out.push((Mark::Plain, "(removed)".to_string()));
    }
    out
}

/// A record's lines, sanitised; a card's folded lines (a continuation
/// starts with a space or tab) joined again, so that a property is one
/// line however the write folds it.
fn lines_of(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        match (line.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(line.to_string()),
        }
    }
    lines.into_iter().map(|l| for_terminal(&l).into_owned())
}

/// Line by line: what both keep, what goes, what comes (a longest common
/// subsequence; a record too long for that shows all of before, then all
/// of after). In a row (not a card), a column whose value changes is one
/// line, `column = old → new`.
pub fn diff(before: &str, after: &str) -> Vec<(Mark, String)> {
    let a: Vec<String> = lines_of(before).collect();
    let b: Vec<String> = lines_of(after).collect();
    let (n, m) = (a.len(), b.len());
    let mut out: Vec<(Mark, String)> = Vec::with_capacity(n + m);
    if n.saturating_mul(m) > 4_000_000 {
        out.extend(a.into_iter().map(|l| (Mark::Removed, l)));
        out.extend(b.into_iter().map(|l| (Mark::Added, l)));
    } else {
        // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if a[i] == b[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a[i] == b[j] {
                out.push((Mark::Same, a[i].clone()));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                out.push((Mark::Removed, a[i].clone()));
                i += 1;
            } else {
                out.push((Mark::Added, b[j].clone()));
                j += 1;
            }
        }
    }
    let is_card = |t: &str| {
        t.trim_start()
            .to_ascii_uppercase()
            .starts_with("BEGIN:VCARD")
    };
    if is_card(before) || is_card(after) {
        out
    } else {
        pair_columns(out)
    }
}

/// A row's removed `column = old` and added `column = new` become one
/// changed line `column = old → new`, where the removed one stood.
fn pair_columns(lines: Vec<(Mark, String)>) -> Vec<(Mark, String)> {
    let column = |l: &str| l.split_once(" = ").map(|(c, _)| c.to_string());
    let mut out: Vec<(Mark, String)> = Vec::with_capacity(lines.len());
    let mut used = vec![false; lines.len()];
    for (k, (mark, line)) in lines.iter().enumerate() {
        if used[k] {
            continue;
        }
        if *mark == Mark::Removed
            && let Some(col) = column(line)
            && let Some(p) = (k + 1..lines.len()).find(|&p| {
                !used[p] && lines[p].0 == Mark::Added && column(&lines[p].1).as_ref() == Some(&col)
            })
        {
            used[p] = true;
            let new = lines[p].1.split_once(" = ").map_or("", |(_, v)| v);
            out.push((Mark::Changed, format!("{line} → {new}")));
            continue;
        }
        out.push((*mark, line.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_diff_marks_what_goes_and_what_comes() {
        let before = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hans\r\nNOTE:a = b\r\nEND:VCARD\r\n";
        let after = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hans\r\nNOTE:a = c\r\n  d\r\nX-CRM-CUSTOMER-NO:11\r\nREV:20250101T000000Z\r\nEND:VCARD\r\n";
        let lines = diff(before, after);
        assert_eq!(lines[0], (Mark::Same, "BEGIN:VCARD".to_string()));
        assert!(lines.contains(&(Mark::Added, "X-CRM-CUSTOMER-NO:11".to_string())));
        assert!(lines.contains(&(Mark::Added, "REV:20250101T000000Z".to_string())));
        assert_eq!(lines.last(), Some(&(Mark::Same, "END:VCARD".to_string())));
        // A card's line is never paired as a column; a folded line is one.
        assert!(lines.contains(&(Mark::Removed, "NOTE:a = b".to_string())));
        assert!(lines.contains(&(Mark::Added, "NOTE:a = c d".to_string())));
    }

    #[test]
    fn a_row_diff_shows_a_changed_column_as_old_to_new() {
        let before = "id = 11\nemail = NULL\nname = Eve\x1b]2;x\x07\n";
        let after = "id = 11\nemail = p@example.com\nname = Eve\x1b]2;x\x07\n";
        let lines = diff(before, after);
        assert_eq!(
            lines,
            vec![
                (Mark::Same, "id = 11".to_string()),
                (Mark::Changed, "email = NULL → p@example.com".to_string()),
                (Mark::Same, "name = Eve␛]2;x␇".to_string()),
            ]
        );
    }
}
