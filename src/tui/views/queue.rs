//! Queue: every operation of the plan with its direction and the operator's
//! decision; below, the selected operation field by field. A conflict is
//! resolved with `<`/`>` for the whole contact in the list, or per field in
//! the detail pane.

use foldhash::HashMap;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::super::action::Action;
use super::super::model::Data;
use super::super::model::Results;
use super::super::theme::{Role, Theme};
use super::super::widgets::{self, Item};
use super::{QueryEdit, cell, detail_table, list_window};
use crate::model::normal::Normalizer;
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};
use crate::sync::apply::{Decision, Outcome};
use crate::sync::decisions::waits_for_link;
use crate::sync::plan::{Op, OpKind, Target};
use crate::text::warning_text;

/// What the queue draws besides its own state and the plan: the
/// operator's decisions, the defaults they are compared with, the theme,
/// and the results of the last execution.
pub struct QueueContext<'a> {
    pub decisions: &'a [Decision],
    pub defaults: &'a [Decision],
    pub theme: &'a Theme,
    pub results: Option<&'a Results>,
}

/// A filter by what an operation needs rather than by its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// It waits for review (starts skipped).
    Review,
    /// It has a warning.
    Warning,
}

impl Flag {
    pub fn label(self) -> &'static str {
        match self {
            Flag::Review => "needs review",
            Flag::Warning => "has warning",
        }
    }

    fn keeps(self, op: &Op) -> bool {
        match self {
            Flag::Review => op.review,
            Flag::Warning => !op.warnings.is_empty(),
        }
    }
}

#[derive(Default)]
pub struct QueueView {
    /// Operations shown (kind filter applied), as indexes into the plan.
    pub visible: Vec<u32>,
    pub selected: usize,
    pub filter: Option<OpKind>,
    /// The filters after the kinds in `f`'s cycle.
    pub flag: Option<Flag>,
    pub detail_focus: bool,
    /// The selected field of the detail pane.
    pub field: usize,
    /// Results of the last execution are on screen.
    pub results: bool,
    /// The search (`/`): operations whose name, ids or values hold it.
    pub query: String,
    /// Typing a search: keys are text, never commands.
    pub searching: bool,
    /// The plan's operations' searchable text.
    index: SearchIndex,
    /// The same for the results shown (of the plan executed).
    results_index: SearchIndex,
    /// Per operation on a pair that a link operation links: that one.
    link_of: HashMap<u32, u32>,
    /// Every operation in the order shown: by kind, then in the contacts'
    /// order (family name first), so that both lists read alike. Sorted
    /// once per plan; a filter or search only leaves some out.
    order: Vec<u32>,
    /// The results shown (their filter and the search applied), as
    /// indexes into the executed plan.
    pub shown_results: Vec<u32>,
    /// The results' operations in the queue's order.
    results_order: Vec<u32>,
    /// The width of the results' outcome column: their longest outcome.
    results_col: usize,
    /// How far the results' detail is scrolled (after Tab), and how far it
    /// can be, as the last frame drew it.
    results_scroll: usize,
    results_max: std::cell::Cell<usize>,
    pub result_filter: Option<ResultFilter>,
}

/// A filter of the results by outcome (`f` cycles them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFilter {
    Failed,
    Changed,
    Noted,
    Skipped,
}

impl ResultFilter {
    pub fn label(self) -> &'static str {
        match self {
            ResultFilter::Failed => "failed",
            ResultFilter::Changed => "changed since plan",
            ResultFilter::Noted => "done, with a note",
            ResultFilter::Skipped => "skipped",
        }
    }

    fn keeps(self, o: &Outcome) -> bool {
        match self {
            ResultFilter::Failed => matches!(o, Outcome::Failed(_)),
            ResultFilter::Changed => *o == Outcome::ChangedSincePlan,
            ResultFilter::Noted => matches!(o, Outcome::Noted(_)),
            ResultFilter::Skipped => *o == Outcome::Skipped,
        }
    }

    fn next(this: Option<Self>) -> Option<Self> {
        match this {
            None => Some(ResultFilter::Failed),
            Some(ResultFilter::Failed) => Some(ResultFilter::Changed),
            Some(ResultFilter::Changed) => Some(ResultFilter::Noted),
            Some(ResultFilter::Noted) => Some(ResultFilter::Skipped),
            Some(ResultFilter::Skipped) => None,
        }
    }
}

/// For an accepted operation whose pair's link waits for review: a note
/// that it is written only once the link is accepted.
fn waits_note(data: &Data, decisions: &[Decision], o: usize) -> Option<String> {
    if !decisions[o].accept || !waits_for_link(&data.plan, decisions, o) {
        return None;
    }
    Some(format!(
        "accepted, but {} is not linked yet: it is written only once its link is accepted",
        for_terminal(&data.plan.operations[o].name)
    ))
}

/// Where an operation writes, with the operator's decision (a conflict
/// writes to the side that loses each field).
pub fn writes_to(op: &Op, decision: &Decision) -> Target {
    if op.kind != OpKind::Conflict {
        return op.target;
    }
    let sides: Vec<Side> = op
        .changes
        .iter()
        .filter_map(|c| {
            c.to.or_else(|| decision.winner_for(c.field).map(Side::opposite))
        })
        .collect();
    Target::of(&sides)
}

/// Where a write goes, in words: `in Outlook`, `on both sides`.
pub fn target_text(target: Target, names: &PerSide<String>) -> String {
    match target {
        Target::Left => format!("in {}", names.left),
        Target::Right => format!("in {}", names.right),
        Target::Both => "on both sides".into(),
    }
}

/// The direction of an operation, Unison-style.
pub fn arrow(op: &Op, decision: &Decision) -> &'static str {
    if op.kind == OpKind::Conflict {
        let winners: Vec<Option<Side>> = op
            .changes
            .iter()
            .filter(|c| c.to.is_none())
            .map(|c| decision.winner_for(c.field))
            .collect();
        return if winners.iter().any(Option::is_none) {
            "◀?▶"
        } else if winners.iter().all(|w| *w == Some(Side::Left)) {
            "──▶"
        } else if winners.iter().all(|w| *w == Some(Side::Right)) {
            "◀──"
        } else {
            // Decided field by field, some each way.
            "◀─▶"
        };
    }
    match op.target {
        Target::Right => "──▶",
        Target::Left => "◀──",
        Target::Both => "◀─▶",
    }
}

impl QueueView {
    /// A new plan arrived: keep the filter (when it still matches) and the
    /// selected operation (by its stable id in the old plan).
    pub fn reset(&mut self, old: Option<&Data>, data: &Data) {
        let keep = old.and_then(|o| {
            let i = *self.visible.get(self.selected)? as usize;
            o.plan.operations.get(i).map(|op| op.id.clone())
        });
        self.results = false;
        if self
            .filter
            .is_some_and(|k| !data.plan.operations.iter().any(|op| op.kind == k))
        {
            self.filter = None;
        }
        self.index_search(data);
        self.refilter(data);
        if let Some(id) = keep
            && let Some(p) = self
                .visible
                .iter()
                .position(|&o| data.plan.operations[o as usize].id == id)
        {
            self.selected = p;
        }
    }

    fn refilter(&mut self, data: &Data) {
        let needle = self.query.to_lowercase();
        let ops = &data.plan.operations;
        self.visible = (self.order.iter().copied())
            .filter(|&o| {
                let op = &ops[o as usize];
                self.filter.is_none_or(|k| op.kind == k)
                    && self.flag.is_none_or(|f| f.keeps(op))
                    && (needle.is_empty() || self.index.matches(o as usize, &needle))
            })
            .collect();
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
        self.field = 0;
    }

    /// As [`refilter`](Self::refilter), for a list that grew (a search or
    /// filter cleared or shortened): the selected operation stays selected.
    fn widen(&mut self, data: &Data) {
        let keep = self.visible.get(self.selected).copied();
        self.refilter(data);
        super::reselect(&self.visible, keep, &mut self.selected);
    }

    /// Every operation's name, ids and values, lowercase, for the search.
    fn index_search(&mut self, data: &Data) {
        let ops = &data.plan.operations;
        self.order = plan_order(data);
        let links: HashMap<&PerSide<Option<String>>, u32> = (ops.iter().enumerate())
            .filter(|(_, op)| op.kind == OpKind::Link)
            .map(|(i, op)| (&op.ids, i as u32))
            .collect();
        self.link_of = (ops.iter().enumerate())
            .filter(|(_, op)| op.kind != OpKind::Link)
            .filter_map(|(i, op)| Some((i as u32, *links.get(&op.ids)?)))
            .collect();
        self.index = SearchIndex::of(data);
    }

    pub fn is_capturing(&self) -> bool {
        self.searching
    }

    /// Keys while typing a search: every key is text (or ends the search),
    /// never a command; the list narrows as it is typed.
    pub fn handle_key(&mut self, key: KeyEvent, data: &Data) {
        match super::edit_query(&mut self.query, key) {
            QueryEdit::Cleared => {
                self.searching = false;
                self.widen(data);
            }
            QueryEdit::Ended => self.searching = false,
            QueryEdit::Shorter => self.widen(data),
            QueryEdit::Move(by) => self.move_by(by, self.visible.len(), 0),
            QueryEdit::Longer => {
                self.selected = 0;
                self.refilter(data);
            }
            QueryEdit::Ignored => {}
        }
    }

    /// Move to the next (`forward`) or previous operation shown that is not
    /// accepted; `false` when there is none that way.
    fn move_to_undecided(&mut self, decisions: &[Decision], forward: bool) -> bool {
        let open = |p: &usize| {
            self.visible
                .get(*p)
                .is_some_and(|&o| !decisions[o as usize].accept)
        };
        let found = if forward {
            (self.selected + 1..self.visible.len()).find(open)
        } else {
            (0..self.selected).rev().find(open)
        };
        if let Some(p) = found {
            self.selected = p;
            self.field = 0;
        }
        found.is_some()
    }

    /// The review items shown that are not accepted yet: (those that can be
    /// accepted, conflicts still without a side).
    pub fn review_shown(&self, data: &Data, decisions: &[Decision]) -> (Vec<usize>, usize) {
        let mut open = 0;
        let mut can = Vec::new();
        for &o in &self.visible {
            let o = o as usize;
            let (op, d) = (&data.plan.operations[o], &decisions[o]);
            if !op.review || d.accept {
                continue;
            }
            if d.resolves(op) {
                can.push(o);
            } else {
                open += 1;
            }
        }
        (can, open)
    }

    pub fn show_results(&mut self, results: &Results) {
        self.results = true;
        self.selected = 0;
        self.detail_focus = false;
        self.result_filter = None;
        self.query.clear();
        self.searching = false;
        // In the queue's order (kind, then the contacts' order), searched
        // as the queue is.
        self.results_order = plan_order(&results.data);
        self.results_index = SearchIndex::of(&results.data);
        self.results_col = (results.outcomes.iter())
            .map(|o| outcome_text(o).0.chars().count())
            .max()
            .unwrap_or(0);
        self.refilter_results(results);
    }

    /// The results the filter and the search (by name) leave.
    fn refilter_results(&mut self, results: &Results) {
        let needle = self.query.to_lowercase();
        let outcomes = &results.outcomes;
        self.shown_results = (self.results_order.iter().copied())
            .filter(|&i| {
                let i = i as usize;
                outcomes.get(i).is_some_and(|o| {
                    self.result_filter.is_none_or(|f| f.keeps(o))
                        && (needle.is_empty() || self.results_index.matches(i, &needle))
                })
            })
            .collect();
        self.selected = self
            .selected
            .min(self.shown_results.len().saturating_sub(1));
    }

    /// The result selected: its index in the executed plan.
    pub fn selected_result(&self) -> Option<usize> {
        self.shown_results.get(self.selected).map(|&o| o as usize)
    }

    /// Esc on the results clears their search and filter first; `false`
    /// when there was none (Esc then leaves the results).
    pub fn clear_results_view(&mut self, results: &Results) -> bool {
        if self.query.is_empty() && self.result_filter.is_none() {
            return false;
        }
        self.query.clear();
        self.result_filter = None;
        self.widen_results(results);
        true
    }

    /// As [`refilter_results`](Self::refilter_results), for a list that
    /// grew: the selected result stays selected.
    fn widen_results(&mut self, results: &Results) {
        let keep = self.shown_results.get(self.selected).copied();
        self.refilter_results(results);
        super::reselect(&self.shown_results, keep, &mut self.selected);
    }

    /// Keys while typing a search in the results: text, never a command.
    pub fn handle_results_key(&mut self, key: KeyEvent, results: &Results) {
        match super::edit_query(&mut self.query, key) {
            QueryEdit::Cleared => {
                self.searching = false;
                self.widen_results(results);
            }
            QueryEdit::Ended => self.searching = false,
            QueryEdit::Longer => {
                self.selected = 0;
                self.refilter_results(results);
            }
            QueryEdit::Shorter => self.widen_results(results),
            QueryEdit::Move(by) => self.move_by(by, self.shown_results.len(), 0),
            QueryEdit::Ignored => {}
        }
    }

    fn move_by(&mut self, delta: isize, len: usize, fields: usize) {
        if self.detail_focus {
            self.field = self
                .field
                .saturating_add_signed(delta)
                .min(fields.saturating_sub(1));
            return;
        }
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
        self.field = 0;
    }

    pub fn selected_op(&self) -> Option<usize> {
        self.visible.get(self.selected).map(|&o| o as usize)
    }

    pub fn update_results(&mut self, action: &Action, results: Option<&Results>) {
        let len = self.shown_results.len();
        // Tab: the detail scrolls (j/k, g/G) instead of the list.
        if *action == Action::NextPane {
            self.detail_focus = !self.detail_focus;
            self.results_scroll = 0;
            return;
        }
        if self.detail_focus && action.scrolls() {
            self.results_scroll =
                super::scrolled(self.results_scroll, self.results_max.get(), action);
            return;
        }
        match action {
            Action::Filter => {
                self.result_filter = ResultFilter::next(self.result_filter);
                self.selected = 0;
                if let Some(results) = results {
                    self.refilter_results(results);
                }
            }
            Action::Search => {
                self.searching = true;
                if !self.query.is_empty() {
                    self.query.clear();
                    if let Some(results) = results {
                        self.widen_results(results);
                    }
                }
            }
            Action::Up => self.move_by(-1, len, 0),
            Action::Down => self.move_by(1, len, 0),
            Action::PageUp => self.move_by(-10, len, 0),
            Action::PageDown => self.move_by(10, len, 0),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = len.saturating_sub(1),
            _ => {}
        }
    }

    /// Returns a note for the status bar.
    pub fn update(
        &mut self,
        action: &Action,
        data: &Data,
        decisions: &mut [Decision],
    ) -> Option<String> {
        let fields = self
            .selected_op()
            .map_or(0, |o| data.plan.operations[o].changes.len());
        let len = self.visible.len();
        match action {
            Action::Up => self.move_by(-1, len, fields),
            Action::Down => self.move_by(1, len, fields),
            Action::PageUp => self.move_by(-10, len, fields),
            Action::PageDown => self.move_by(10, len, fields),
            Action::Top if self.detail_focus => self.field = 0,
            Action::Bottom if self.detail_focus => self.field = fields.saturating_sub(1),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = len.saturating_sub(1),
            Action::NextPane => {
                self.detail_focus = !self.detail_focus;
                self.field = 0;
            }
            Action::Back => {
                if self.detail_focus {
                    self.detail_focus = false;
                } else if !self.query.is_empty() {
                    self.query.clear();
                    self.widen(data);
                } else if self.filter.take().is_some() | self.flag.take().is_some() {
                    self.widen(data);
                }
            }
            Action::Search => {
                self.searching = true;
                self.detail_focus = false;
                if !self.query.is_empty() {
                    self.query.clear();
                    self.widen(data);
                }
            }
            Action::NextUndecided | Action::PrevUndecided => {
                let forward = *action == Action::NextUndecided;
                if !self.move_to_undecided(decisions, forward) {
                    return Some(format!(
                        "no operation {} is left undecided",
                        if forward { "below" } else { "above" }
                    ));
                }
            }
            Action::Filter => {
                // The kinds present, then needs review, has warning, then all.
                let present: Vec<OpKind> = OpKind::ALL
                    .into_iter()
                    .filter(|k| data.plan.operations.iter().any(|op| op.kind == *k))
                    .collect();
                (self.filter, self.flag) = match (self.filter, self.flag) {
                    (None, None) => match present.first() {
                        Some(&k) => (Some(k), None),
                        None => (None, Some(Flag::Review)),
                    },
                    (Some(f), _) => match present.iter().position(|&k| k == f) {
                        Some(p) if p + 1 < present.len() => (Some(present[p + 1]), None),
                        _ => (None, Some(Flag::Review)),
                    },
                    (None, Some(Flag::Review)) => (None, Some(Flag::Warning)),
                    (None, Some(Flag::Warning)) => (None, None),
                };
                self.selected = 0;
                self.refilter(data);
            }
            Action::Toggle => {
                let o = self.selected_op()?;
                let op = &data.plan.operations[o];
                let d = &mut decisions[o];
                // Accepting an unresolved conflict needs a side first.
                if !d.accept && !d.resolves(op) {
                    return Some(
                        "a conflict needs a side first: < takes left, > takes right (Tab: per field)"
                            .into(),
                    );
                }
                d.accept = !d.accept;
                let note = waits_note(data, decisions, o);
                self.move_to_undecided(decisions, true);
                return note;
            }
            Action::SkipAll => {
                let mut skipped = 0;
                for &o in &self.visible {
                    let d = &mut decisions[o as usize];
                    skipped += usize::from(d.accept);
                    d.accept = false;
                }
                return Some(format!(
                    "{skipped} skipped; all {} shown are skipped now",
                    self.visible.len()
                ));
            }
            Action::AcceptAll => {
                // Only what needs no review: review items are accepted one
                // by one, or all shown with their own key (asks first).
                let (mut review, mut open) = (0, 0);
                for &o in &self.visible {
                    let o = o as usize;
                    let op = &data.plan.operations[o];
                    let d = &mut decisions[o];
                    if op.review {
                        review += usize::from(!d.accept);
                        continue;
                    }
                    if d.resolves(op) {
                        d.accept = true;
                    } else {
                        open += 1;
                    }
                }
                let mut notes = Vec::new();
                if review > 0 {
                    notes.push(format!(
                        "{review} waiting for review left as they were: Space or A"
                    ));
                }
                if open > 0 {
                    notes.push(format!(
                        "{open} conflicts need a side: < or > (Tab: per field)"
                    ));
                }
                if !notes.is_empty() {
                    return Some(notes.join("; "));
                }
            }
            Action::Take(side) => {
                let o = self.selected_op()?;
                let op = &data.plan.operations[o];
                if op.kind != OpKind::Conflict {
                    return Some(format!(
                        "< and > choose a side of a conflict; this is a {} (Space accepts or skips it)",
                        op.kind.as_str()
                    ));
                }
                let d = &mut decisions[o];
                if self.detail_focus {
                    let change = op.changes.get(self.field)?;
                    if change.to.is_some() {
                        return Some(format!(
                            "{} is no conflict: it goes one way already",
                            change.field
                        ));
                    }
                    d.fields.retain(|(f, _)| *f != change.field);
                    d.fields.push((change.field, *side));
                    if d.resolves(op) {
                        d.accept = true;
                    }
                    // On to the next field still without a side.
                    let open = |(i, c): &(usize, crate::sync::plan::Change<'_>)| {
                        *i > self.field
                            && c.to.is_none()
                            && !d.fields.iter().any(|(f, _)| *f == c.field)
                    };
                    if let Some((next, _)) = op.changes.iter().enumerate().find(open) {
                        self.field = next;
                    }
                } else {
                    d.winner = Some(*side);
                    d.fields.clear();
                    d.accept = true;
                    let note = waits_note(data, decisions, o);
                    self.move_to_undecided(decisions, true);
                    return note;
                }
                return waits_note(data, decisions, o);
            }
            _ => {}
        }
        None
    }

    /// The conflicts shown: their indexes in the plan.
    pub fn conflicts_shown(&self, data: &Data) -> Vec<usize> {
        (self.visible.iter())
            .map(|&o| o as usize)
            .filter(|&o| data.plan.operations[o].kind == OpKind::Conflict)
            .collect()
    }

    /// Take `side` for every conflict shown (the whole contact), and
    /// accept them (the operator confirmed the count); returns how many.
    pub fn take_all(&mut self, data: &Data, decisions: &mut [Decision], side: Side) -> usize {
        let shown = self.conflicts_shown(data);
        for &o in &shown {
            let d = &mut decisions[o];
            d.winner = Some(side);
            d.fields.clear();
            d.accept = true;
        }
        shown.len()
    }

    /// Accept the review items shown that can be (the operator confirmed
    /// the count); returns how many.
    pub fn accept_review(&mut self, data: &Data, decisions: &mut [Decision]) -> usize {
        let (can, _) = self.review_shown(data, decisions);
        for &o in &can {
            decisions[o].accept = true;
        }
        can.len()
    }

    /// The header: a refusal and what narrows the list first, so that
    /// they are seen at any width; the counts after them, each whole, in
    /// two lines at most.
    fn header_lines(
        &self,
        data: &Data,
        decisions: &[Decision],
        defaults: &[Decision],
        theme: &Theme,
        width: usize,
    ) -> Vec<Line<'static>> {
        let accepted = decisions.iter().filter(|d| d.accept).count();
        let changed = decisions
            .iter()
            .zip(defaults)
            .filter(|(a, b)| a != b)
            .count();
        let open = data.plan.operations.len() - accepted;
        let title = |text: String| vec![Span::styled(text, theme.style(Role::Title))];
        let mut items: Vec<Item> = (data.plan.refusals.iter())
            .map(|r| {
                vec![Span::styled(
                    format!("refused: {}", for_terminal(r)),
                    theme.style(Role::Failed),
                )]
            })
            .collect();
        let filters: Vec<&str> = (self.filter.iter().map(|k| k.as_str()))
            .chain(self.flag.iter().map(|f| f.label()))
            .collect();
        items.extend(super::narrowing_items(
            &filters,
            &self.query,
            self.searching,
            self.visible.len(),
            theme,
        ));
        items.push(title(format!("{} ops", data.plan.operations.len())));
        // Accepted, but not written while their pair's link waits (`[~]`).
        let waiting = (self.link_of.iter())
            .filter(|&(&o, &l)| decisions[o as usize].accept && !decisions[l as usize].accept)
            .count();
        items.push(title(if waiting > 0 {
            format!("{accepted} accepted ({waiting} wait for a link)")
        } else {
            format!("{accepted} accepted")
        }));
        items.push(title(format!("{open} open")));
        items.push(title(format!("{changed} changed by you")));
        // Records that could not be read are left alone, never deleted;
        // `abgleich check` lists them with file and line.
        if !data.plan.unreadable.is_empty() {
            items.push(vec![Span::styled(
                format!("{} unreadable, left alone", data.plan.unreadable.len()),
                theme.style(Role::Failed),
            )]);
        }
        widgets::flow(&[items], " · ", width, 2)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, data: &Data, context: &QueueContext<'_>) {
        let (decisions, defaults, theme) = (context.decisions, context.defaults, context.theme);
        let results = context.results;
        if let Some(results) = results {
            self.render_results(frame, area, results, theme);
            return;
        }
        let header = self.header_lines(data, decisions, defaults, theme, area.width as usize);
        let [head, list, detail] = super::header_list_detail(area, header.len(), 50);
        frame.render_widget(Paragraph::new(header), head);

        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(if self.detail_focus {
                Role::Border
            } else {
                Role::Focus
            }))
            .title(Span::styled(" queue ", theme.style(Role::Title)));
        let inner = block.inner(list);
        frame.render_widget(block, list);
        if self.visible.is_empty() {
            frame.render_widget(
                Paragraph::new(match self.filter {
                    _ if !self.query.is_empty() => {
                        "Nothing matches the search; Esc clears it.".to_string()
                    }
                    Some(k) if !data.plan.is_empty() => {
                        format!(
                            "No {} operations; f shows the next kind, Esc all.",
                            k.as_str()
                        )
                    }
                    None if !data.plan.is_empty() => match self.flag {
                        Some(f) => {
                            format!("No operation {}; f: the next filter, Esc: all.", f.label())
                        }
                        None => "Nothing to do: both stores agree.".to_string(),
                    },
                    _ => "Nothing to do: both stores agree.".to_string(),
                })
                .style(theme.style(Role::Muted)),
                inner,
            );
        }
        let (start, end) = list_window(self.selected, self.visible.len(), inner.height as usize);
        let name_w = (inner.width as usize).saturating_sub(26);
        let mut lines = Vec::new();
        for (pos, &o) in self.visible[start..end].iter().enumerate() {
            let o = o as usize;
            let op = &data.plan.operations[o];
            let d = &decisions[o];
            let selected = start + pos == self.selected;
            let base = if selected {
                theme.style(Role::Selected)
            } else {
                Style::default()
            };
            // Accepted, but not written until its pair's link is.
            let waits =
                (self.link_of.get(&(o as u32))).is_some_and(|&l| !decisions[l as usize].accept);
            let mark = match (d.accept, waits) {
                (true, true) => "[~]",
                (true, false) => "[x]",
                (false, _) => "[ ]",
            };
            let mark_role = if d.accept {
                Role::Accepted
            } else {
                Role::Skipped
            };
            let changed = if defaults.get(o) != Some(d) { "*" } else { " " };
            // The tags stay whole: a long name is cut before them.
            let mut tags = String::new();
            if let Some(e) = op.evidence {
                tags.push_str(&format!(" · by {}", e.as_str()));
            }
            if op.review {
                tags.push_str(" · review");
            }
            if !op.warnings.is_empty() {
                tags.push_str(" · ⚠");
            }
            let tags_w = tags.chars().count();
            let about = if tags_w + 8 <= name_w {
                format!("{}{tags}", cell(&op.name, name_w - tags_w).trim_end())
            } else {
                format!("{}{tags}", for_terminal(&op.name))
            };
            lines.push(Line::from(vec![
                Span::styled(if selected { super::CURSOR } else { " " }, base),
                Span::styled(mark, theme.style(mark_role).patch(base)),
                if changed == "*" {
                    Span::styled(changed, theme.style(Role::Changed).patch(base))
                } else {
                    Span::styled(changed, base)
                },
                // The word styled, its padding not (an underline under
                // NO_COLOR would run on into blank space).
                Span::styled(
                    op.kind.as_str(),
                    theme.style(kind_role(op.kind)).patch(base),
                ),
                Span::styled(" ".repeat(9 - op.kind.as_str().len().min(9)), base),
                Span::styled(format!("{} ", arrow(op, d)), base),
                Span::styled(cell(&about, name_w), base),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
        self.render_detail(frame, detail, data, decisions, theme);
    }

    fn render_detail(
        &self,
        frame: &mut Frame,
        area: Rect,
        data: &Data,
        decisions: &[Decision],
        theme: &Theme,
    ) {
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(if self.detail_focus {
                Role::Focus
            } else {
                Role::Border
            }))
            .title(Span::styled(" operation ", theme.style(Role::Title)));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(o) = self.selected_op() else { return };
        let op = &data.plan.operations[o];
        let d = &decisions[o];
        let names = data.store_names();
        let mut lines = Vec::new();
        let target = if d.resolves(op) {
            target_text(writes_to(op, d), &names)
        } else {
            "(not decided yet)".to_string()
        };
        let mut head = format!("{} {} {}", op.kind.as_str(), target, for_terminal(&op.name));
        if let Some(e) = op.evidence {
            head.push_str(&format!(" — found by {}", e.as_str()));
        }
        lines.push(Line::styled(head, theme.style(kind_role(op.kind))));
        if op.review && op.kind != OpKind::Conflict {
            lines.push(Line::styled(
                "waits for review: it starts skipped; Space accepts it",
                theme.style(Role::Suggestion),
            ));
        }
        if op.changes.is_empty() {
            // Nothing field by field (a delete, a link, an unlink): the
            // records it concerns, as they are now.
            lines.extend(records_lines(op, data, inner.width as usize, theme));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            return;
        }
        for w in &op.warnings {
            lines.push(Line::styled(
                format!("⚠ {}", for_terminal(&warning_text(w, &data.fields.names))),
                theme.style(Role::Warning),
            ));
        }
        if op.kind == OpKind::Conflict {
            lines.push(Line::styled(
                "conflict: < takes left, > takes right (Tab: per field)",
                theme.style(Role::Conflict),
            ));
        }
        let width = inner.width as usize;
        let result_w = 14;
        // The detail scrolls so that the selected field stays in sight.
        let before_table = lines.len();
        let columns = if op.link.is_some() { 3 } else { 2 };
        let room = width.saturating_sub(result_w + 17) / columns;
        let mut picked: Vec<Line> = Vec::new();
        let rows = change_rows(op, &data.config.normalizer);
        let table = detail_table(
            &rows,
            width.saturating_sub(result_w),
            op.link.is_some(),
            theme,
        );
        let shown = |v: Option<&str>| cell(v.unwrap_or("–"), result_w - 5);
        let mut changes = op.changes.iter();
        for (i, mut line) in table.into_iter().enumerate() {
            if i == 0 {
                line.spans
                    .push(Span::styled(" → result", theme.style(Role::Muted)));
            } else if let Some(c) = changes.next() {
                let result = match c.to {
                    Some(Side::Left) => format!("◀── {}", names.left),
                    Some(Side::Right) => format!("──▶ {}", names.right),
                    // The winner's value goes to the other store: the
                    // value and where (whole below when selected).
                    None => match d.winner_for(c.field) {
                        Some(Side::Left) => format!("──▶ {}", shown(c.value(Side::Left))),
                        Some(Side::Right) => format!("◀── {}", shown(c.value(Side::Right))),
                        None => "◀?▶ choose".into(),
                    },
                };
                line.spans.push(Span::styled(
                    format!(" {result}"),
                    theme.style(if c.to.is_none() {
                        Role::Conflict
                    } else {
                        Role::Muted
                    }),
                ));
                if self.detail_focus && i - 1 == self.field {
                    for s in &mut line.spans {
                        s.style = s.style.patch(theme.style(Role::Selected));
                    }
                    line.spans[0] = Span::styled(super::CURSOR, theme.style(Role::Selected));
                    lines.push(line);
                    picked = full_values(&c, room, &names, theme);
                    lines.extend(picked.iter().cloned());
                    continue;
                }
            }
            lines.push(line);
        }
        // A conflict's values too long for their column, whole below the
        // table, so no side is chosen blind (the selected field's come
        // right under its row).
        for (i, c) in op.changes.iter().enumerate() {
            if c.to.is_none() && !(self.detail_focus && i == self.field) {
                lines.extend(full_values(&c, room, &names, theme));
            }
        }
        // A long line (a warning) wraps: it is never cut into its opposite.
        let scroll = if self.detail_focus {
            let wrapped = |l: &Line<'_>| l.width().max(1).div_ceil(width.max(1));
            let above: usize = lines
                .iter()
                .take(before_table + 1 + self.field + picked.len())
                .map(wrapped)
                .sum();
            (above + 1).saturating_sub(inner.height as usize)
        } else {
            0
        };
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
            inner,
        );
    }

    fn render_results(&self, frame: &mut Frame, area: Rect, results: &Results, theme: &Theme) {
        let count = |f: fn(&Outcome) -> bool| results.outcomes.iter().filter(|o| f(o)).count();
        let done = count(Outcome::written);
        let failed = count(|o| matches!(o, Outcome::Failed(_)));
        let changed = count(|o| *o == Outcome::ChangedSincePlan);
        let skipped = count(|o| *o == Outcome::Skipped);
        // What narrows the list comes first: the counts may go to a
        // second line.
        let filters: Vec<&str> = self.result_filter.iter().map(|f| f.label()).collect();
        let mut items = super::narrowing_items(
            &filters,
            &self.query,
            self.searching,
            self.shown_results.len(),
            theme,
        );
        let title = |text: String| vec![Span::styled(text, theme.style(Role::Title))];
        let noted = count(|o| matches!(o, Outcome::Noted(_)));
        items.push(title(format!("executed: {done} done")));
        if noted > 0 {
            items.push(title(format!("{noted} of them with a note")));
        }
        items.push(title(format!("{failed} failed")));
        items.push(title(format!("{changed} changed")));
        items.push(title(format!("{skipped} skipped")));
        items.push(title("Enter: new plan".to_string()));
        let header = widgets::flow(&[items], " · ", area.width as usize, 2);
        let [head, list, detail] = super::header_list_detail(area, header.len(), 50);
        frame.render_widget(Paragraph::new(header), head);
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(Role::Focus))
            .title(Span::styled(" results ", theme.style(Role::Title)));
        let inner = block.inner(list);
        frame.render_widget(block, list);
        let ops = &results.data.plan.operations;
        let shown = &self.shown_results;
        let (start, end) = list_window(self.selected, shown.len(), inner.height as usize);
        let w = (inner.width as usize).saturating_sub(34);
        let mut lines = Vec::new();
        if shown.is_empty() {
            let why = match (self.result_filter, self.query.is_empty()) {
                (Some(_), _) => "Nothing shown: f shows the next filter, Esc all.",
                (None, false) => "Nothing matches the search; Esc clears it.",
                (None, true) => "No results.",
            };
            lines.push(Line::styled(why, theme.style(Role::Muted)));
        }
        for (pos, &i) in shown[start..end].iter().enumerate() {
            let i = i as usize;
            let op = &ops[i];
            let selected = start + pos == self.selected;
            let base = if selected {
                theme.style(Role::Selected)
            } else {
                Style::default()
            };
            let (text, role) = outcome_text(&results.outcomes[i]);
            lines.push(Line::from(vec![
                Span::styled(if selected { super::CURSOR } else { " " }, base),
                Span::styled(
                    format!("{} ", cell(&text, self.results_col)),
                    theme.style(role).patch(base),
                ),
                Span::styled(format!("{:<9}", op.kind.as_str()), base),
                Span::styled(
                    format!(
                        "{} ",
                        results.decisions.get(i).map_or("   ", |d| arrow(op, d))
                    ),
                    base,
                ),
                Span::styled(cell(&op.name, w), base),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
        let mut about = Vec::new();
        let mut fields = Vec::new();
        let picked = self.selected_result();
        let outcome_of = picked.and_then(|i| results.outcomes.get(i));
        if let (Some(op), Some(outcome)) = (picked.and_then(|i| ops.get(i)), outcome_of) {
            let names = results.data.store_names();
            let decided = results
                .decisions
                .get(picked.unwrap_or_default())
                .cloned()
                .unwrap_or_default();
            let (text, role) = outcome_text(outcome);
            let i = picked.unwrap_or_default();
            // Why a skipped one was not written, in words; where a decided
            // one would have gone.
            let what = if *outcome != Outcome::Skipped {
                format!(
                    "{} {}",
                    op.kind.as_str(),
                    target_text(writes_to(op, &decided), &names)
                )
            } else if !decided.resolves(op) {
                format!("{}, no side chosen:", op.kind.as_str())
            } else if !decided.accept {
                format!("{}, not accepted:", op.kind.as_str())
            } else if waits_for_link(&results.data.plan, &results.decisions, i) {
                format!(
                    "{}, waits for its pair's link (not accepted):",
                    op.kind.as_str()
                )
            } else {
                op.kind.as_str().to_string()
            };
            about.push(Line::from(vec![
                Span::styled(format!("{text}: "), theme.style(role)),
                Span::raw(format!("{what} {}", for_terminal(&op.name))),
            ]));
            fields = if op.changes.is_empty() {
                records_lines(op, &results.data, detail.width as usize, theme)
            } else {
                let rows = change_rows(op, &results.data.config.normalizer);
                detail_table(&rows, detail.width as usize, op.link.is_some(), theme)
            };
        }
        if let Some(Outcome::Failed(why)) = outcome_of {
            about.push(Line::styled(
                format!("failed: {}", for_terminal(&why.to_string())),
                theme.style(Role::Failed),
            ));
        }
        if let Some(Outcome::Noted(why)) = outcome_of {
            about.push(Line::styled(
                format!(
                    "written and linked; not written: {} (it is in the new plan)",
                    for_terminal(&why.to_string())
                ),
                theme.style(Role::Warning),
            ));
        }
        if let Some(Outcome::ChangedSincePlan) = outcome_of {
            about.push(Line::styled(
                "changed since the plan was made: what was not written is in the new plan",
                theme.style(Role::Warning),
            ));
        }
        // The operation's warnings, whole (what did not fit the target).
        if let Some(op) = picked.and_then(|i| ops.get(i)) {
            for w in &op.warnings {
                about.push(Line::styled(
                    format!(
                        "⚠ {}",
                        for_terminal(&warning_text(w, &results.data.fields.names))
                    ),
                    theme.style(Role::Warning),
                ));
            }
        }
        about.extend(fields);
        for n in &results.notes {
            about.push(Line::styled(
                for_terminal(n).into_owned(),
                theme.style(Role::Muted),
            ));
        }
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(Role::Border));
        let inner = block.inner(detail);
        frame.render_widget(block, detail);
        let w = (inner.width as usize).max(1);
        let lines: usize = about.iter().map(|l| l.width().max(1).div_ceil(w)).sum();
        let paragraph = Paragraph::new(about).wrap(Wrap { trim: false });
        let max = lines.saturating_sub(inner.height as usize);
        self.results_max.set(max);
        let scroll = u16::try_from(self.results_scroll.min(max)).unwrap_or(u16::MAX);
        frame.render_widget(paragraph.scroll((scroll, 0)), inner);
    }
}

/// Per operation of a plan, its searchable text (name, ids, values;
/// lowercase), one buffer; `ends[o]` ends operation `o`'s part.
#[derive(Debug, Default)]
struct SearchIndex {
    text: String,
    ends: Vec<u32>,
}

impl SearchIndex {
    fn of(data: &Data) -> SearchIndex {
        let mut index = SearchIndex::default();
        for op in &data.plan.operations {
            let text = &mut index.text;
            text.push_str(&op.name.to_lowercase());
            for id in [&op.ids.left, &op.ids.right].into_iter().flatten() {
                text.push('\u{1f}');
                text.push_str(&id.to_lowercase());
            }
            for c in &op.changes {
                for v in [c.value(Side::Left), c.value(Side::Right)]
                    .into_iter()
                    .flatten()
                {
                    text.push('\u{1f}');
                    text.push_str(&v.to_lowercase());
                }
            }
            // A delete carries no changes: the values of the record it
            // removes, as its detail shows them.
            if op.kind == OpKind::Delete {
                for side in Side::BOTH {
                    let record = op
                        .id_on(side)
                        .and_then(|id| data.snapshot.sides.get(side).get(id));
                    for f in record.iter().flat_map(|_| &data.fields.fields) {
                        if let Some(v) = record.and_then(|r| r.contact.get(&f.path)) {
                            text.push('\u{1f}');
                            text.push_str(&v.to_lowercase());
                        }
                    }
                }
            }
            index.ends.push(index.text.len() as u32);
        }
        index
    }

    fn matches(&self, o: usize, needle: &str) -> bool {
        let start = if o == 0 {
            0
        } else {
            self.ends.get(o - 1).map_or(0, |&e| e as usize)
        };
        let end = self.ends.get(o).map_or(start, |&e| e as usize);
        self.text
            .get(start..end)
            .is_some_and(|t| t.contains(needle))
    }
}

/// Every operation of the plan in the order shown: by kind, then in the
/// contacts' order (family name first).
fn plan_order(data: &Data) -> Vec<u32> {
    let ops = &data.plan.operations;
    let kind_at = |k: OpKind| OpKind::ALL.iter().position(|&a| a == k).unwrap_or(0);
    let mut order: Vec<u32> = (0..ops.len() as u32).collect();
    order.sort_by_key(|&o| {
        let row = data.op_rows.get(o as usize).copied().unwrap_or(0);
        (kind_at(ops[o as usize].kind), row)
    });
    order
}

/// A change's values in full, one line each, when one is wider than `room`
/// (the table's column); else nothing.
fn full_values(
    c: &crate::sync::plan::Change,
    room: usize,
    names: &PerSide<String>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let values = [
        (names.left.as_str(), c.value(Side::Left)),
        ("last sync", c.base()),
        (names.right.as_str(), c.value(Side::Right)),
    ];
    let cut = values
        .iter()
        .any(|(_, v)| v.is_some_and(|v| unicode_width::UnicodeWidthStr::width(v) > room));
    if !cut {
        return Vec::new();
    }
    let mut lines = vec![Line::styled(
        format!("  {} in full:", c.field),
        theme.style(Role::Muted),
    )];
    for (name, v) in values {
        if let Some(v) = v {
            lines.push(Line::raw(format!(
                "    {}: {}",
                for_terminal(name),
                for_terminal(v)
            )));
        }
    }
    lines
}

/// An operation's fields for [`detail_table`].
/// For an operation with no field changes (a delete, a link, an unlink),
/// what it concerns: a delete's remaining copy, whose values go with it;
/// else both records side by side, so that a link can be judged.
fn records_lines(op: &Op, data: &Data, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let names = data.store_names();
    let record = |side: Side| {
        op.id_on(side)
            .and_then(|id| data.snapshot.sides.get(side).get(id))
    };
    let mut lines = Vec::new();
    if op.kind == OpKind::Delete {
        for side in Side::BOTH {
            if !op.target.includes(side) {
                continue;
            }
            lines.push(Line::styled(
                format!(
                    "deleted in {} since the last sync; accepting deletes the copy in {}",
                    names.get(side.opposite()),
                    names.get(side)
                ),
                theme.style(Role::Delete),
            ));
            if let Some(record) = record(side) {
                for f in &data.fields.fields {
                    if let Some(v) = record.contact.get(&f.path) {
                        lines.push(Line::raw(format!(
                            "  {:<16} {}",
                            f.path.to_string(),
                            for_terminal(&v)
                        )));
                    }
                }
            }
        }
        return lines;
    }
    let ids = PerSide::from_fn(|side| match op.id_on(side) {
        Some(id) => format!("{} {}", names.get(side), for_terminal(id)),
        None => format!("nothing in {}", names.get(side)),
    });
    lines.push(Line::styled(
        format!("{} · {}", ids.left, ids.right),
        theme.style(Role::Muted),
    ));
    let records = PerSide::from_fn(record);
    let rows: Vec<super::DetailRow> = (data.fields.fields.iter())
        .filter_map(|f| {
            let value = |side: Side| {
                (records.get(side)).and_then(|r| r.contact.get(&f.path).map(|v| v.into_owned()))
            };
            let (left, right) = (value(Side::Left), value(Side::Right));
            (left.is_some() || right.is_some()).then(|| {
                super::DetailRow::new(
                    &f.path,
                    [left, None, right],
                    false,
                    false,
                    &data.config.normalizer,
                )
            })
        })
        .collect();
    if !rows.is_empty() {
        lines.extend(detail_table(&rows, width, false, theme));
    }
    lines
}

fn change_rows(op: &Op, normalizer: &Normalizer) -> Vec<super::DetailRow> {
    op.changes
        .iter()
        .map(|c| {
            super::DetailRow::new(
                &c.field,
                [
                    c.value(Side::Left).map(str::to_string),
                    c.base().map(str::to_string),
                    c.value(Side::Right).map(str::to_string),
                ],
                c.to.is_none(),
                op.link.is_some(),
                normalizer,
            )
        })
        .collect()
}

fn outcome_text(o: &Outcome) -> (String, Role) {
    match o {
        Outcome::Done => ("done".into(), Role::Done),
        Outcome::Noted(_) => ("done, with a note".into(), Role::Warning),
        Outcome::Skipped => ("skipped".into(), Role::Skipped),
        Outcome::ChangedSincePlan => ("changed since plan".into(), Role::Warning),
        Outcome::Failed(_) => ("failed".into(), Role::Failed),
    }
}

pub fn kind_role(kind: OpKind) -> Role {
    match kind {
        OpKind::Create => Role::Create,
        OpKind::Update => Role::Changed,
        OpKind::Delete => Role::Delete,
        OpKind::Conflict => Role::Conflict,
        OpKind::Link => Role::Suggestion,
        OpKind::Unlink => Role::Muted,
    }
}
