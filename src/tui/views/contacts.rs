//! Contacts: both stores side by side, one row per linked pair, a status
//! mark per row, search and a status filter; below, the selected pair field
//! by field (left | base | right).

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::super::action::Action;
use super::super::model::{Data, Row, Status};
use super::super::theme::{Role, Theme};
use super::super::widgets::{self, Dialog, Item, wrap};
use super::{QueryEdit, cell, detail_table, list_window, status_role};
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};
use crate::sync::state::BaseValue;
use crate::text::warning_text;

#[derive(Default)]
pub struct ContactsView {
    /// Rows shown (filter and search applied), as indexes into `Data::rows`.
    pub visible: Vec<u32>,
    /// Position in `visible`.
    pub selected: usize,
    pub filter: Option<Status>,
    /// Only the contacts with a warning (the `f` cycle's last stop).
    pub warned: bool,
    pub query: String,
    /// Typing a search.
    pub searching: bool,
    /// The detail pane has the focus (scrolls).
    pub detail_focus: bool,
    pub detail_scroll: usize,
    /// How far the detail can scroll, as the last frame drew it (its
    /// fields past the room it had).
    detail_max: std::cell::Cell<usize>,
    /// A one-sided contact marked for a manual link.
    pub marked: Option<(Side, u32)>,
    /// What the last key did, for the status bar (the app takes it).
    pub note: Option<String>,
}

impl ContactsView {
    /// A new plan arrived: keep the filter (when it still matches) and the
    /// selected contact (found by its records' ids in the old data).
    pub fn reset(&mut self, old: Option<&Data>, data: &Data) {
        let id =
            |d: &Data, row: &Row, side: Side| d.record(side, row.index(side)).map(|r| r.id.clone());
        let keep = old.and_then(|o| {
            self.selected_row(o)
                .map(|row| PerSide::from_fn(|side| id(o, row, side)))
        });
        if self
            .filter
            .is_some_and(|f| data.counts.get(&f).copied().unwrap_or(0) == 0)
        {
            self.filter = None;
        }
        self.refilter(data);
        if let Some(keep) = keep {
            let found = self.visible.iter().position(|&r| {
                let row = &data.rows[r as usize];
                Side::BOTH.into_iter().any(|side| {
                    let want = keep.get(side);
                    want.is_some() && id(data, row, side) == *want
                })
            });
            if let Some(p) = found {
                self.selected = p;
            }
        }
        self.marked = None;
    }

    fn refilter(&mut self, data: &Data) {
        let all: Vec<u32> = (0..data.rows.len() as u32)
            .filter(|&r| {
                let row = &data.rows[r as usize];
                self.filter.is_none_or(|f| row.status == f)
                    && (!self.warned || has_warning(data, row))
            })
            .collect();
        self.visible = if self.query.is_empty() {
            all
        } else {
            data.search(&self.query, &all)
        };
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
        self.detail_scroll = 0;
    }

    /// As [`refilter`](Self::refilter), for a list that grew (a search or
    /// filter cleared or shortened): the selected contact stays selected.
    fn widen(&mut self, data: &Data) {
        let keep = self.visible.get(self.selected).copied();
        self.refilter(data);
        super::reselect(&self.visible, keep, &mut self.selected);
    }

    pub fn selected_row<'d>(&self, data: &'d Data) -> Option<&'d Row> {
        self.visible
            .get(self.selected)
            .and_then(|&r| data.rows.get(r as usize))
    }

    pub fn is_capturing(&self) -> bool {
        self.searching
    }

    /// Keys while typing a search: the list narrows with every key.
    pub fn handle_key(&mut self, key: KeyEvent, data: &Data) {
        match super::edit_query(&mut self.query, key) {
            QueryEdit::Cleared => {
                self.searching = false;
                self.widen(data);
            }
            QueryEdit::Ended => self.searching = false,
            QueryEdit::Shorter => self.widen(data),
            QueryEdit::Move(by) => self.move_by(by),
            QueryEdit::Longer => {
                // A longer query only narrows what is shown.
                let narrowed = data.search(&self.query, &self.visible);
                self.visible = narrowed;
                self.selected = 0;
                self.detail_scroll = 0;
            }
            QueryEdit::Ignored => {}
        }
    }

    fn move_by(&mut self, delta: isize) {
        if self.detail_focus {
            self.detail_scroll = self.detail_scroll.saturating_add_signed(delta);
            return;
        }
        let last = self.visible.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.detail_scroll = 0;
    }

    pub fn update(&mut self, action: &Action, data: &Data) -> Option<Dialog> {
        // The detail never scrolls past its last field.
        let limit = data.fields.fields.len();
        let dialog = self.apply(action, data);
        // Never further than the last frame could show: a key back up
        // always moves what is seen.
        self.detail_scroll = self.detail_scroll.min(limit).min(self.detail_max.get());
        dialog
    }

    fn apply(&mut self, action: &Action, data: &Data) -> Option<Dialog> {
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-10),
            Action::PageDown => self.move_by(10),
            Action::Top if self.detail_focus => self.detail_scroll = 0,
            Action::Bottom if self.detail_focus => self.detail_scroll = self.detail_max.get(),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = self.visible.len().saturating_sub(1),
            Action::NextPane => self.detail_focus = !self.detail_focus,
            Action::Search => {
                // A new search starts from the whole list.
                self.searching = true;
                self.detail_focus = false;
                if !self.query.is_empty() {
                    self.query.clear();
                    self.widen(data);
                }
            }
            Action::Back => {
                if self.detail_focus {
                    self.detail_focus = false;
                } else if self.marked.is_some() {
                    self.marked = None;
                } else if !self.query.is_empty() || self.filter.is_some() || self.warned {
                    self.query.clear();
                    self.filter = None;
                    self.warned = false;
                    self.widen(data);
                }
            }
            Action::Filter => {
                // Cycle through the statuses that occur, then back to all.
                let present: Vec<Status> = Status::ALL
                    .into_iter()
                    .filter(|s| data.counts.get(s).copied().unwrap_or(0) > 0)
                    .collect();
                // The statuses, then "has warning" (where there are any),
                // then all.
                (self.filter, self.warned) = match (self.filter, self.warned) {
                    (None, false) => (present.first().copied(), false),
                    (Some(f), _) => {
                        let next = (present.iter().position(|&s| s == f))
                            .and_then(|p| present.get(p + 1).copied());
                        (next, next.is_none() && data.warnings > 0)
                    }
                    (None, true) => (None, false),
                };
                self.selected = 0;
                self.refilter(data);
            }
            Action::Link => return self.link(data),
            Action::Unlink => {
                let row = self.selected_row(data)?;
                let Some(link) = data.link(row).filter(|l| l.tombstone.is_none()) else {
                    self.note = Some("u unlinks a linked pair; this contact is not linked".into());
                    return None;
                };
                return Some(Dialog {
                    title: "Unlink".into(),
                    lines: vec![
                        format!("Unlink {}?", pair_name(data, row)),
                        "Both contacts stay as they are; they are not linked or".into(),
                        "created again until you forget the tombstone.".into(),
                        String::new(),
                        format!("link #{}   y: unlink   n: back", link.link_id),
                    ],
                    on_yes: Action::Confirmed(Box::new(Action::UnlinkLink(link.link_id))),
                });
            }
            Action::Forget => {
                let row = self.selected_row(data)?;
                let Some(link) = data.link(row) else {
                    self.note =
                        Some("F forgets a link or tombstone; this contact has neither".into());
                    return None;
                };
                let what = if link.tombstone.is_some() {
                    "tombstone"
                } else {
                    "link"
                };
                return Some(Dialog {
                    title: "Forget".into(),
                    lines: vec![
                        format!("Forget the {what} of {}?", pair_name(data, row)),
                        "The next plan treats the contacts as new (they may be".into(),
                        "matched again, or created on the other side).".into(),
                        String::new(),
                        "y: forget   n: back".into(),
                    ],
                    on_yes: Action::Confirmed(Box::new(Action::ForgetLink(link.link_id))),
                });
            }
            _ => {}
        }
        None
    }

    /// First press marks a one-sided contact; the second, on a one-sided
    /// contact of the other side, asks to link the two.
    fn link(&mut self, data: &Data) -> Option<Dialog> {
        let row = self.selected_row(data)?;
        let one_side = match (row.records.left, row.records.right, data.link(row)) {
            (Some(l), None, None) => (Side::Left, l),
            (None, Some(r), None) => (Side::Right, r),
            _ => {
                self.marked = None;
                return Some(info(
                    "Link",
                    "Link joins two contacts that are each on one side only and not linked: mark one with l, then select the other and press l again.",
                ));
            }
        };
        match self.marked {
            Some((side, index)) if side != one_side.0 => {
                let mut indexes = PerSide::new(index, index);
                *indexes.get_mut(one_side.0) = one_side.1;
                let name = |s: Side, i: u32| {
                    data.record(s, Some(i))
                        .map(|r| for_terminal(&r.contact.display_name()).into_owned())
                        .unwrap_or_default()
                };
                let names = data.store_names();
                let ids = PerSide::new(
                    data.record(Side::Left, Some(indexes.left))?.id.clone(),
                    data.record(Side::Right, Some(indexes.right))?.id.clone(),
                );
                Some(Dialog {
                    title: "Link".into(),
                    lines: vec![
                        format!("Link {} {}", names.left, name(Side::Left, indexes.left)),
                        format!("with {} {}?", names.right, name(Side::Right, indexes.right)),
                        "The next plan compares them field by field.".into(),
                        String::new(),
                        "y: link   n: back".into(),
                    ],
                    on_yes: Action::Confirmed(Box::new(Action::LinkPair(ids))),
                })
            }
            Some(mark) if mark == one_side => {
                self.marked = None;
                self.note = Some("mark cleared".into());
                None
            }
            _ => {
                self.marked = Some(one_side);
                self.note = Some(
                    "marked (•) for a link: select a contact of the other side only and press l again (l here clears the mark)"
                        .into(),
                );
                None
            }
        }
    }

    pub fn clear_mark(&mut self) {
        self.marked = None;
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        let header = self.counts_lines(data, theme, area.width as usize);
        let [counts, list, detail] = super::header_list_detail(area, header.len(), 55);
        frame.render_widget(Paragraph::new(header), counts);
        self.render_list(frame, list, data, theme);
        self.render_detail(frame, detail, data, theme);
    }

    /// The header: what narrows the list, then each status's count with
    /// what it counts, warnings and unreadable records; in two lines at
    /// most, words given up for marks only where they do not fit.
    fn counts_lines(&self, data: &Data, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let mut filters: Vec<&str> = self.filter.iter().map(|f| f.label()).collect();
        if self.warned {
            filters.push("has warning");
        }
        let narrowing = super::narrowing_items(
            &filters,
            &self.query,
            self.searching,
            self.visible.len(),
            theme,
        );
        let counts = |labelled: bool| -> Vec<Item> {
            let mut items: Vec<Item> = Status::ALL
                .into_iter()
                .map(|s| (s, data.counts.get(&s).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| {
                    let style = if self.filter == Some(s) {
                        theme
                            .style(status_role(s))
                            .patch(theme.style(Role::Selected))
                    } else {
                        theme.style(status_role(s))
                    };
                    let text = if labelled {
                        format!("{}{n} {}", s.mark(), s.label())
                    } else {
                        format!("{}{n}", s.mark())
                    };
                    vec![Span::styled(text, style)]
                })
                .collect();
            if data.warnings > 0 {
                let n = data.warnings;
                let text = match labelled {
                    true if n == 1 => "⚠1 warning".to_string(),
                    true => format!("⚠{n} warnings"),
                    false => format!("⚠{n}"),
                };
                items.push(vec![Span::styled(text, theme.style(Role::Warning))]);
            }
            if !labelled {
                // Marks without their words: where they are explained.
                items.push(vec![Span::styled("(? marks)", theme.style(Role::Muted))]);
            }
            items
        };
        // Records that could not be read are left alone, never deleted: how
        // many, and where the first one is (`e` lists them all).
        let unreadable: Vec<_> = Side::BOTH
            .into_iter()
            .flat_map(|side| data.snapshot.sides.get(side).unreadable.iter())
            .collect();
        let unreadable = |long: bool| -> Vec<Item> {
            let Some(first) = unreadable.first() else {
                return Vec::new();
            };
            let text = if long {
                let name = first.file.file_name().map_or_else(
                    || first.file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let at = first.line.map(|l| format!(":{l}")).unwrap_or_default();
                let more = if unreadable.len() > 1 { ", …" } else { "" };
                format!(
                    "{} unreadable ({}{at}{more}), left alone",
                    unreadable.len(),
                    for_terminal(&name)
                )
            } else {
                format!("{} unreadable (e lists)", unreadable.len())
            };
            vec![vec![Span::styled(text, theme.style(Role::Failed))]]
        };
        let header = |labelled: bool, long: bool| -> Vec<Item> {
            let mut items = narrowing.clone();
            items.extend(counts(labelled));
            items.extend(unreadable(long));
            items
        };
        widgets::flow(
            &[
                header(true, true),
                header(true, false),
                header(false, true),
                header(false, false),
            ],
            "  ",
            width,
            2,
        )
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        let names = data.store_names();
        let focus = if self.detail_focus {
            Role::Border
        } else {
            Role::Focus
        };
        let title = format!(
            " {} ⇄ {}  {}/{} ",
            names.left,
            names.right,
            if self.visible.is_empty() {
                0
            } else {
                self.selected + 1
            },
            self.visible.len()
        );
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(focus))
            .title(Span::styled(title, theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if self.visible.is_empty() {
            let text = if data.rows.is_empty() {
                "Both stores are empty."
            } else {
                "Nothing matches; Esc clears the search and filter."
            };
            frame.render_widget(Paragraph::new(text).style(theme.style(Role::Muted)), inner);
            return;
        }
        let height = inner.height as usize;
        let (start, end) = list_window(self.selected, self.visible.len(), height);
        // 1 marker, 2 status, 1 warning, then two halves split by " │ ".
        let half = (inner.width as usize).saturating_sub(7) / 2;
        let mut lines = Vec::with_capacity(end - start);
        for (pos, &r) in self.visible[start..end].iter().enumerate() {
            let row = &data.rows[r as usize];
            let selected = start + pos == self.selected;
            let marked = self
                .marked
                .is_some_and(|(side, i)| row.index(side) == Some(i));
            let text = |side: Side| -> String {
                data.contact(row, side)
                    .map(|c| {
                        let mut t = c.display_name();
                        let extra = c
                            .emails
                            .first()
                            .map(|e| e.value.clone())
                            .filter(|e| !e.is_empty())
                            .or_else(|| Some(c.org_name.clone()).filter(|o| !o.is_empty()));
                        if let Some(x) = extra {
                            t.push_str(" · ");
                            t.push_str(&x);
                        }
                        t
                    })
                    .unwrap_or_default()
            };
            let base = if selected {
                theme.style(Role::Selected)
            } else {
                Style::default()
            };
            let status_style = theme.style(status_role(row.status)).patch(base);
            let mut spans = vec![
                Span::styled(
                    // The mark for a manual link shows under the cursor
                    // too (the row's highlight says it is selected).
                    if marked {
                        "•"
                    } else if selected {
                        super::CURSOR
                    } else {
                        " "
                    },
                    base,
                ),
                Span::styled(row.status.mark(), status_style),
                Span::styled(
                    " ".repeat(2usize.saturating_sub(row.status.mark().chars().count())),
                    base,
                ),
                // A blank is never styled (with NO_COLOR an underlined blank
                // in every row is noise).
                if row.warning {
                    Span::styled("⚠", theme.style(Role::Warning).patch(base))
                } else {
                    Span::styled(" ", base)
                },
            ];
            spans.push(Span::styled(cell(&text(Side::Left), half), base));
            spans.push(Span::styled(" │ ", theme.style(Role::Muted).patch(base)));
            spans.push(Span::styled(cell(&text(Side::Right), half), base));
            lines.push(Line::from(spans));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn render_detail(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        let focus = if self.detail_focus {
            Role::Focus
        } else {
            Role::Border
        };
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(focus))
            .title(Span::styled(" detail ", theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(row) = self.selected_row(data) else {
            return;
        };
        let names = data.store_names();
        let mut lines = vec![Line::from(vec![
            Span::styled(
                format!("{} ", row.status.label()),
                theme.style(status_role(row.status)),
            ),
            Span::styled(ids_text(data, row, &names), theme.style(Role::Muted)),
        ])];
        let link = data.link(row);
        let mut table = Vec::new();
        for f in &data.fields.fields {
            let left = data
                .contact(row, Side::Left)
                .and_then(|c| c.get(&f.path))
                .map(|v| v.into_owned());
            let right = data
                .contact(row, Side::Right)
                .and_then(|c| c.get(&f.path))
                .map(|v| v.into_owned());
            let base =
                link.filter(|l| l.tombstone.is_none())
                    .and_then(|l| match l.base.get(&f.path) {
                        BaseValue::Known(v) => v.left.clone().or(v.right.clone()),
                        BaseValue::Unknown => None,
                    });
            if left.is_none() && right.is_none() && base.is_none() {
                continue;
            }
            let conflict = row.ops.iter().any(|&o| {
                let op = &data.plan.operations[o as usize];
                op.changes
                    .iter()
                    .any(|c| c.field == f.path && c.to.is_none())
            });
            table.push(super::DetailRow::new(
                &f.path,
                [left, base, right],
                conflict,
                link.is_some(),
                &data.config.normalizer,
            ));
        }
        lines.extend(detail_table(
            &table,
            inner.width as usize,
            link.is_some(),
            theme,
        ));
        // What the table had to cut, whole below it.
        for text in super::cut_values(&table, inner.width as usize, link.is_some(), &names) {
            lines.push(Line::styled(text, theme.style(Role::Muted)));
        }
        for &o in &row.ops {
            let op = &data.plan.operations[o as usize];
            for w in &op.warnings {
                // Whole, wrapped: a warning cut short can read as its
                // opposite ("CRM takes 3: …" without "stays only in …").
                let text = format!("⚠ {}", warning_text(w, &data.fields.names));
                for (i, part) in wrap(&text, (inner.width as usize).saturating_sub(2))
                    .into_iter()
                    .enumerate()
                {
                    let indent = if i == 0 { "" } else { "  " };
                    lines.push(Line::styled(
                        format!("{indent}{part}"),
                        theme.style(Role::Warning),
                    ));
                }
            }
            if op.review {
                lines.push(Line::styled(
                    format!("? {} waits for review in the queue (3)", op.kind.as_str()),
                    theme.style(Role::Suggestion),
                ));
            }
        }
        if let Some(t) = link.and_then(|l| l.tombstone.as_ref()) {
            lines.push(Line::styled(
                format!("tombstone: {}", for_terminal(t)),
                theme.style(Role::Muted),
            ));
        }
        // The status line and the column heads stay; the fields scroll, no
        // further than the last one.
        let fixed = 2.min(lines.len());
        let mut rest = lines.split_off(fixed);
        let room = (inner.height as usize).saturating_sub(fixed);
        self.detail_max.set(rest.len().saturating_sub(room));
        let skip = self.detail_scroll.min(rest.len().saturating_sub(room));
        lines.extend(rest.split_off(skip));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

fn ids_text(data: &Data, row: &Row, names: &PerSide<String>) -> String {
    let id = |side: Side| {
        data.record(side, row.index(side))
            .map(|r| format!("{} {}", names.get(side), for_terminal(&r.id)))
    };
    [id(Side::Left), id(Side::Right)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" | ")
}

fn pair_name(data: &Data, row: &Row) -> String {
    data.contact(row, Side::Left)
        .or(data.contact(row, Side::Right))
        .map(|c| for_terminal(&c.display_name()).into_owned())
        .unwrap_or_default()
}

fn info(title: &str, text: &str) -> Dialog {
    Dialog {
        title: title.into(),
        lines: vec![text.into(), String::new(), "any of y/n/esc closes".into()],
        on_yes: Action::Dismiss,
    }
}

/// Whether an operation of the contact's row carries a warning.
fn has_warning(data: &Data, row: &Row) -> bool {
    (row.ops.iter()).any(|&o| !data.plan.operations[o as usize].warnings.is_empty())
}
