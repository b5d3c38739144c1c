//! The application state and its one `update` function. Keys become
//! actions (keymap), actions change state, the worker does the slow parts,
//! and `render` draws from state only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, View};
use super::keymap::Keymap;
use super::model::{Data, Results};
use super::theme::Theme;
use super::views;
use super::views::contacts::ContactsView;
use super::views::log::{TextPane, log_lines};
use super::views::mapping::MappingView;
use super::views::preview::PreviewPane;
use super::views::queue::{self, QueueView};
use super::widgets::{Busy, Dialog, Message};
use super::worker::{self, Event, Job};
use crate::config::Config;
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};
use crate::sync::apply::{ApplyError, Decision, Outcome, Previews, default_decisions};
use crate::sync::decisions::executable;
use crate::sync::journal::UndoForecast;
use crate::sync::plan::{OpKind, refusals};
use crate::sync::state::{ApplyRow, ApplyStatus};
use crate::text::applies::apply_summary;

/// Text being typed: a list's search or a mapping picker's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    Search,
    Picker,
}

impl Typing {
    /// The status bar's hints while typing (fixed keys: a search's
    /// editing keys are not rebindable).
    pub fn hints(self) -> Vec<(String, String)> {
        let pairs: &[(&str, &str)] = match self {
            Typing::Search => &[
                ("typing", "searches"),
                ("enter", "keep search"),
                ("esc", "clear"),
                ("↑↓", "move"),
                ("^u", "erase"),
            ],
            Typing::Picker => &[
                ("typing", "filters"),
                ("enter", "choose"),
                ("esc", "cancel"),
                ("↑↓", "move"),
            ],
        };
        (pairs.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

pub struct App {
    /// The operator asked to read the stores again (`r`): the load that
    /// follows says so, and names the decisions it could not keep.
    reloading: bool,
    /// A mapping save is under way: the decisions it drops are named.
    saving: bool,
    pub view: View,
    pub theme: Theme,
    pub keymap: Keymap,
    pub busy: Option<Busy>,
    pub data: Option<Arc<Data>>,
    /// Why the stores could not be loaded (shown instead of the lists).
    pub failure: Option<String>,
    pub decisions: Vec<Decision>,
    pub defaults: Vec<Decision>,
    pub contacts: ContactsView,
    pub queue: QueueView,
    pub mapping: Option<MappingView>,
    pub help: bool,
    /// How far the help is scrolled, and how far it can be (as the last
    /// frame drew it: a small terminal does not hold it all).
    pub help_scroll: usize,
    pub help_max: std::cell::Cell<usize>,
    pub dialog: Option<Dialog>,
    /// A read-only pane over the view: the log of applies, or what an undo
    /// did.
    pub pane: Option<TextPane>,
    /// What executing writes for an operation of the queue (`p`).
    pub preview: Option<PreviewPane>,
    /// The journal's applies as last read, oldest first.
    pub applies: Vec<ApplyRow>,
    /// The last message for the status bar, and whether it is an error.
    pub message: Option<Message>,
    pub results: Option<Results>,
    pub quit: bool,
    /// Jobs sent to the worker and not finished, and how many of them write.
    pending: usize,
    pending_writes: usize,
    /// Writing jobs whose writes are done (their results came) but whose
    /// end has not arrived yet: counted off `pending_writes` already.
    writes_settled: usize,
    jobs: Option<Sender<Job>>,
    events: Receiver<Event>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl App {
    /// Start the worker on `config` and show the first screen at once.
    pub fn start(config: Config, theme: Theme, keymap: Keymap) -> App {
        let (jobs, job_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let worker_config = config.clone();
        let spawned = std::thread::Builder::new()
            .name(worker::THREAD.into())
            .spawn(move || worker::run(worker_config, job_rx, event_tx));
        let (worker, failure) = match spawned {
            Ok(handle) => (Some(handle), None),
            Err(e) => (
                None,
                Some(format!("cannot start the background worker: {e}")),
            ),
        };
        App {
            reloading: false,
            saving: false,
            view: View::Contacts,
            theme,
            keymap,
            busy: Some(Busy {
                what: "opening the stores".into(),
                done: 0,
                total: 0,
                since: Instant::now(),
            }),
            data: None,
            failure,
            decisions: Vec::new(),
            defaults: Vec::new(),
            contacts: ContactsView::default(),
            queue: QueueView::default(),
            mapping: None,
            help: false,
            help_scroll: 0,
            help_max: std::cell::Cell::new(0),
            dialog: None,
            pane: None,
            preview: None,
            applies: Vec::new(),
            message: None,
            results: None,
            quit: false,
            // The worker starts with a load of its own.
            pending: 1,
            pending_writes: 0,
            writes_settled: 0,
            jobs: Some(jobs),
            events,
            worker,
        }
    }

    /// Stop the worker and wait for it: it finishes what it is writing and
    /// lets go of the state lock.
    pub fn shutdown(mut self) {
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }

    /// The config's theme and keys, with `NO_COLOR` honoured.
    pub fn from_config(config: Config, no_color: bool) -> Result<App, String> {
        let (mut theme, keymap) = super::settings::load(&config).map_err(|e| e.to_string())?;
        if no_color {
            theme = theme.without_color();
        }
        Ok(App::start(config, theme, keymap))
    }

    fn send(&mut self, job: Job, what: &str) {
        let writes = job.writes();
        if self.jobs.as_ref().is_none_or(|j| j.send(job).is_err()) {
            self.message = Some(Message::error(
                "the background worker stopped; restart abgleich",
            ));
            return;
        }
        self.pending += 1;
        self.pending_writes += usize::from(writes);
        self.busy = Some(Busy {
            what: what.into(),
            done: 0,
            total: 0,
            since: Instant::now(),
        });
    }

    /// No job is waiting or running: what is on screen is the latest plan.
    pub fn is_idle(&self) -> bool {
        self.pending == 0
    }

    /// Refuse an action that needs the worker idle and a readable plan;
    /// says why in the status bar.
    fn refuse_unless_ready(&mut self) -> bool {
        let why = if !self.is_idle() {
            "wait until the current work is done"
        } else if self.failure.is_some() {
            "the stores could not be read: nothing can be written"
        } else if self.data.is_none() {
            "nothing is loaded yet"
        } else {
            return false;
        };
        self.message = Some(Message::error(why));
        true
    }

    /// Take what the worker reported; `wait` blocks up to that long for the
    /// first report. Returns whether anything arrived.
    pub fn pump(&mut self, wait: Duration) -> bool {
        let mut any = false;
        if let Ok(event) = self.events.recv_timeout(wait) {
            self.on_event(event);
            any = true;
        }
        while let Ok(event) = self.events.try_recv() {
            self.on_event(event);
            any = true;
        }
        any
    }

    /// Pump until the worker is idle (tests and the end-to-end path).
    pub fn wait_idle(&mut self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while !self.is_idle() {
            if Instant::now() > end {
                return false;
            }
            self.pump(Duration::from_millis(20));
        }
        true
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Progress { what, done, total } => {
                let since = self
                    .busy
                    .as_ref()
                    .map(|b| b.since)
                    .unwrap_or_else(Instant::now);
                self.busy = Some(Busy {
                    what,
                    done,
                    total,
                    since,
                });
            }
            Event::Finished { wrote } => {
                self.pending = self.pending.saturating_sub(1);
                if wrote && self.writes_settled > 0 {
                    self.writes_settled -= 1;
                } else if wrote {
                    self.pending_writes = self.pending_writes.saturating_sub(1);
                }
                if self.pending == 0 {
                    self.busy = None;
                }
            }
            Event::Loaded(loaded) => {
                self.failure = None;
                let data = loaded.data;
                let winner = match data.config.sync.conflicts {
                    crate::config::ConflictPolicy::Left => Some(Side::Left),
                    crate::config::ConflictPolicy::Right => Some(Side::Right),
                    _ => None,
                };
                // What the operator decided stays with the operation: op ids
                // are stable while neither record changes, so a reload, a
                // manual link or an execution keeps the other decisions.
                let kept: std::collections::HashMap<&str, (&Decision, &str)> = self
                    .data
                    .iter()
                    .flat_map(|old| {
                        old.plan
                            .operations
                            .iter()
                            .map(|op| (op.id.as_str(), op.name.as_str()))
                    })
                    .zip(self.decisions.iter())
                    .zip(self.defaults.iter())
                    .filter(|((_, d), e)| d != e)
                    .map(|(((id, name), d), _)| (id, (d, name)))
                    .collect();
                // A decision whose operation is gone (its contact changed, or
                // it was written) is named, never dropped without a word.
                let ids: std::collections::HashSet<&str> = data
                    .plan
                    .operations
                    .iter()
                    .map(|op| op.id.as_str())
                    .collect();
                let mut dropped: Vec<&str> = kept
                    .iter()
                    .filter(|(id, _)| !ids.contains(*id))
                    .map(|(_, (_, name))| *name)
                    .collect();
                dropped.sort_unstable();
                // After a reload the contacts changed; after a save the
                // mapping did (the "saved" note, which came first, leads).
                let n = dropped.len();
                let why = match (self.reloading, &self.message) {
                    (true, _) => Some(format!(
                        "reloaded; {n} decision(s) dropped, their contacts changed"
                    )),
                    (false, Some(saved)) if self.saving => Some(format!(
                        "{}; {n} decision(s) dropped, the new mapping changed their operations",
                        saved.text
                    )),
                    _ => None,
                };
                self.saving = false;
                let dropped_note = why.filter(|_| n > 0).map(|why| {
                    let more = if n > 3 { ", …" } else { "" };
                    let names: Vec<String> = (dropped.iter().take(3))
                        .map(|name| for_terminal(name).into_owned())
                        .collect();
                    format!("{why}: {}{more}", names.join(", "))
                });
                let kept: std::collections::HashMap<&str, &Decision> =
                    kept.into_iter().map(|(id, (d, _))| (id, d)).collect();
                let defaults = default_decisions(&data.plan, false, winner);
                let decisions = data
                    .plan
                    .operations
                    .iter()
                    .zip(&defaults)
                    .map(|(op, d)| {
                        kept.get(op.id.as_str())
                            .map_or_else(|| d.clone(), |k| (*k).clone())
                    })
                    .collect();
                self.defaults = defaults;
                self.decisions = decisions;
                let old = self.data.as_deref();
                self.contacts.reset(old, &data);
                self.queue.reset(old, &data);
                if self.mapping.as_ref().is_none_or(|m| !m.dirty()) {
                    self.mapping = Some(MappingView::new(
                        &data.config,
                        loaded.config_text,
                        loaded.columns,
                    ));
                }
                if let Some(note) = dropped_note {
                    self.message = Some(Message::info(note));
                } else if self.reloading {
                    self.message = Some(Message::info("reloaded: both stores read again"));
                }
                // What opening the stores finished (an interrupted apply
                // rolled back, an undo completed): said whole, never
                // hidden behind "reloaded".
                if !data.notes.is_empty() {
                    self.message = Some(Message::info(
                        "an apply or undo that had not finished was finished first (Esc closes)",
                    ));
                    self.pane = Some(TextPane::new("finished first", data.notes.clone()));
                }
                self.reloading = false;
                self.applies = loaded.applies;
                self.data = Some(data);
            }
            Event::Failed(why) => {
                self.failure = Some(why);
            }
            Event::Executed {
                data,
                decisions,
                outcomes,
                notes,
            } => {
                let done = outcomes.iter().filter(|o| o.written()).count();
                let failed = outcomes
                    .iter()
                    .filter(|o| matches!(o, Outcome::Failed(_) | Outcome::ChangedSincePlan))
                    .count();
                let text =
                    format!("executed: {done} done, {failed} not done; the plan is recomputed");
                self.message = Some(if failed > 0 {
                    Message::error(text)
                } else {
                    Message::info(text)
                });
                let results = Results {
                    data,
                    decisions,
                    outcomes,
                    notes,
                };
                self.view = View::Queue;
                self.queue.show_results(&results);
                self.results = Some(results);
                // The writes are done: quitting need not wait for the end
                // of the job.
                if self.pending_writes > 0 {
                    self.pending_writes -= 1;
                    self.writes_settled += 1;
                }
                self.send(Job::Load, "reading the stores again");
            }
            Event::Undone(result) => {
                let (title, mut lines) = match result {
                    Ok(notes) => {
                        let first = notes.first().cloned().unwrap_or_default();
                        self.message =
                            Some(Message::info(format!("{first}; the plan is recomputed")));
                        ("Undone", notes)
                    }
                    Err(why) => {
                        self.message = Some(Message::error(format!("not undone: {why}")));
                        ("Not undone", vec![format!("not undone: {why}")])
                    }
                };
                lines.push(String::new());
                lines.push("The stores are read again and the plan recomputed.".into());
                self.pane = Some(TextPane::new(title, lines));
                // The results of the execute before are history now.
                self.results = None;
                if self.pending_writes > 0 {
                    self.pending_writes -= 1;
                    self.writes_settled += 1;
                }
                self.send(Job::Load, "reading the stores again");
            }
            Event::Previewed {
                op,
                generation,
                previews,
            } => self.show_preview(op, generation, previews),
            Event::UndoForecast(forecast) => self.undo_question(forecast),
            Event::NotExecuted(why) => {
                // The whole reason, in a pane: a status line cut short can
                // read as its opposite.
                self.message = Some(Message::error(
                    "nothing written: the execute stopped (the reason is shown; Esc closes)",
                ));
                self.pane = Some(TextPane::new(
                    "not executed",
                    vec![format!("nothing written: {why}")],
                ));
            }
            Event::Note(message) => self.message = Some(message),
            Event::SaveFailed(why) => {
                self.saving = false;
                if let Some(m) = self.mapping.as_mut() {
                    m.save_failed(&why);
                }
                self.message = Some(Message::error(format!("mapping not saved: {why}")));
            }
        }
    }

    /// Decisions the operator changed from what the plan proposed.
    pub fn changed_decisions(&self) -> usize {
        self.decisions
            .iter()
            .zip(&self.defaults)
            .filter(|(d, e)| d != e)
            .count()
    }

    /// One key press: a dialog or popup first, then the keymap.
    /// What is being typed, if anything: every key is then text.
    pub fn typing(&self) -> Option<Typing> {
        match self.view {
            View::Queue if self.queue.is_capturing() => Some(Typing::Search),
            View::Contacts if self.contacts.is_capturing() => Some(Typing::Search),
            View::Mapping if self.mapping.as_ref().is_some_and(|m| m.finding().is_some()) => {
                Some(Typing::Search)
            }
            View::Mapping if self.mapping.as_ref().is_some_and(|m| m.is_capturing()) => {
                Some(Typing::Picker)
            }
            _ => None,
        }
    }

    /// The queue's selected operation is a conflict (`<`/`>` act on it).
    pub fn selected_is_conflict(&self) -> bool {
        let op =
            (self.data.as_ref()).and_then(|d| d.plan.operations.get(self.queue.selected_op()?));
        op.is_some_and(|op| op.kind == crate::sync::plan::OpKind::Conflict)
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        // A message stays until the next key.
        self.message = None;
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.update(Action::Quit);
            return;
        }
        if let Some(dialog) = &self.dialog {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    let action = dialog.on_yes.clone();
                    self.dialog = None;
                    self.update(action);
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    let asked = self
                        .dialog
                        .take()
                        .is_some_and(|d| d.on_yes != Action::Dismiss);
                    if asked {
                        self.message = Some(Message::info("answered no: nothing was done"));
                    }
                }
                _ => {}
            }
            return;
        }
        if let Some(preview) = self.preview.as_mut() {
            match self.keymap.action(self.view, &key) {
                _ if key.code == KeyCode::Esc => self.preview = None,
                Some(Action::Preview | Action::Quit | Action::Back) => self.preview = None,
                Some(action) => preview.scroll(&action),
                None => {}
            }
            return;
        }
        if self.pane.is_some() && self.keymap.action(self.view, &key) == Some(Action::Undo) {
            // The log says U undoes: from there too.
            self.pane = None;
            self.update(Action::Undo);
            return;
        }
        if let Some(pane) = self.pane.as_mut() {
            match self.keymap.action(self.view, &key) {
                _ if matches!(key.code, KeyCode::Esc | KeyCode::Enter) => self.pane = None,
                Some(Action::Log | Action::Unreadable | Action::Quit | Action::Back) => {
                    self.pane = None
                }
                Some(action) if action.scrolls() => pane.scroll(&action),
                // Any other key acts once the pane is closed: say so
                // rather than nothing.
                Some(_) => {
                    self.message = Some(Message::info(
                        "this pane only scrolls (j/k, g/G); Esc or q closes it, then the key acts",
                    ))
                }
                None => {}
            }
            return;
        }
        if self.help {
            match self.keymap.action(self.view, &key) {
                Some(Action::Help | Action::Quit) => {
                    self.help = false;
                    return;
                }
                Some(action) if action.scrolls() => {
                    let max = self.help_max.get();
                    self.help_scroll = views::scrolled(self.help_scroll, max, &action);
                    return;
                }
                _ => {}
            }
            if key.code == KeyCode::Esc {
                self.help = false;
            }
            return;
        }
        if self.view == View::Queue && self.queue.is_capturing() {
            if let Some(results) = &self.results {
                self.queue.handle_results_key(key, results);
            } else if let Some(data) = &self.data {
                let data = data.clone();
                self.queue.handle_key(key, &data);
            }
            return;
        }
        if self.view == View::Contacts && self.contacts.is_capturing() {
            if let Some(data) = &self.data {
                let data = data.clone();
                self.contacts.handle_key(key, &data);
            }
            return;
        }
        if self.view == View::Mapping
            && let Some(m) = self.mapping.as_mut()
            && m.is_capturing()
        {
            if let Some(action) = m.handle_key(key) {
                self.update(action);
            }
            return;
        }
        if key.code == KeyCode::Enter && self.view == View::Queue && self.results.is_some() {
            // Enter: the new plan (Esc first clears a search or filter).
            self.update(Action::Edit);
            return;
        }
        if key.code == KeyCode::Esc {
            self.update(Action::Back);
            return;
        }
        if let Some(action) = self.keymap.action(self.view, &key) {
            self.update(action);
        } else if let Some(text) = self.unbound_note(&key) {
            // Every key gets an answer: where it acts, or that it does not.
            self.message = Some(Message::info(text));
        }
    }

    /// What to say of a key this view does not bind.
    fn unbound_note(&self, key: &KeyEvent) -> Option<String> {
        if matches!(key.code, KeyCode::Modifier(_) | KeyCode::Null) {
            return None;
        }
        let name = super::keymap::Key::from_event(key).name();
        let show = |v: View| self.keymap.key_for(v, &Action::Show(v));
        // A letter of another view's command is named as such; Enter and
        // the like are simply idle here.
        let elsewhere = match key.code {
            KeyCode::Char(_) => self.keymap.elsewhere(self.view, key),
            _ => None,
        };
        Some(match elsewhere {
            Some((view, help)) => format!(
                "{name} is \"{help}\" in the {}: press {} first",
                view.label(),
                show(view)
            ),
            None => format!(
                "{name} does nothing in the {}; {} lists its keys",
                self.view.label(),
                self.keymap.key_for(self.view, &Action::Help)
            ),
        })
    }

    pub fn update(&mut self, action: Action) {
        match action {
            Action::Show(view) => self.view = view,
            Action::Help => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::Quit | Action::QuitNow if self.pending_writes > 0 => {
                self.message = Some(Message::error(
                    "writing (stores, state or config): quit when it is done",
                ));
            }
            Action::Quit => {
                let changed = self.changed_decisions();
                let unsaved = self.mapping.as_ref().is_some_and(|m| m.dirty());
                if changed > 0 || unsaved {
                    let mut lines = Vec::new();
                    if changed > 0 {
                        lines.push(if changed == 1 {
                            "1 decision you changed in the queue is lost.".to_string()
                        } else {
                            format!("{changed} decisions you changed in the queue are lost.")
                        });
                    }
                    if unsaved {
                        lines.push("The mapping has changes that are not saved.".into());
                    }
                    lines.push(String::new());
                    lines.push("Quit anyway?  y: quit   n: stay".into());
                    self.dialog = Some(Dialog {
                        title: "Quit".into(),
                        lines,
                        on_yes: Action::QuitNow,
                    });
                } else {
                    self.quit = true;
                }
            }
            Action::QuitNow => self.quit = true,
            Action::Reload => {
                if self.is_idle() {
                    self.reloading = true;
                    self.send(Job::Load, "reading the stores");
                } else {
                    self.message = Some(Message::error("wait until the current work is done"));
                }
            }
            Action::SaveConfig(text) => {
                if !self.is_idle() {
                    if let Some(m) = self.mapping.as_mut() {
                        m.save_failed("wait until the current work is done, then save again");
                    }
                    self.message = Some(Message::error("wait until the current work is done"));
                } else {
                    self.saving = true;
                    self.send(Job::SaveConfig(text), "saving the mapping");
                }
            }
            Action::Dismiss => {}
            Action::Execute => self.ask_execute(),
            Action::Undo => self.ask_undo(),
            Action::Log => {
                self.pane = Some(TextPane::new("log of applies", log_lines(&self.applies)));
            }
            Action::Preview if self.view == View::Queue => self.ask_preview(),
            Action::Unreadable => {
                let lines = self
                    .data
                    .as_deref()
                    .map(unreadable_lines)
                    .unwrap_or_default();
                self.pane = Some(TextPane::new("unreadable records, left alone", lines));
            }
            Action::Confirmed(inner) => self.confirmed(*inner),
            action => self.update_view(action),
        }
    }

    fn update_view(&mut self, action: Action) {
        let Some(data) = self.data.clone() else {
            return;
        };
        // Manual links change the state: only on the plan on screen.
        if matches!(action, Action::Link | Action::Unlink | Action::Forget)
            && self.refuse_unless_ready()
        {
            return;
        }
        if self.failure.is_some() && self.view != View::Mapping {
            return;
        }
        match self.view {
            View::Contacts => {
                if let Some(dialog) = self.contacts.update(&action, &data) {
                    self.dialog = Some(dialog);
                }
                if let Some(note) = self.contacts.note.take() {
                    self.message = Some(Message::info(note));
                }
            }
            View::Queue => {
                if let Some(results) = &self.results {
                    // Esc leaves the detail, then clears the results'
                    // search and filter, before it leaves the results.
                    if action == Action::Back && self.queue.detail_focus {
                        self.queue.detail_focus = false;
                        return;
                    }
                    if action == Action::Back && self.queue.clear_results_view(results) {
                        return;
                    }
                    if matches!(action, Action::Back | Action::Edit) {
                        self.results = None;
                        self.queue.reset(None, &data);
                    } else if action.decides() {
                        self.message = Some(Message::error(
                            "these are the results of the execute; Enter shows the new plan to decide on",
                        ));
                    } else {
                        self.queue.update_results(&action, self.results.as_ref());
                    }
                    return;
                }
                if action == Action::AcceptReview {
                    self.ask_accept_review(&data);
                    return;
                }
                if let Action::TakeAll(side) = action {
                    self.ask_take_all(&data, side);
                    return;
                }
                if let Some(note) = self.queue.update(&action, &data, &mut self.decisions) {
                    self.message = Some(Message::info(note));
                }
            }
            View::Mapping => {
                if let Some(m) = self.mapping.as_mut()
                    && let Some(next) = m.update(&action)
                {
                    self.update(next);
                }
            }
        }
    }

    /// The plan on the screen, when the app is ready to act on it and it is
    /// not the results of an execution (then says so, for `what`).
    fn plan_to_act_on(&mut self, what: &str) -> Option<Arc<Data>> {
        if self.refuse_unless_ready() {
            return None;
        }
        let data = self.data.clone()?;
        if self.results.is_some() {
            self.message = Some(Message::error(format!(
                "these are the results; Enter shows the new plan to {what}"
            )));
            return None;
        }
        Some(data)
    }

    fn ask_execute(&mut self) {
        let Some(data) = self.plan_to_act_on("execute") else {
            return;
        };
        let names = data.store_names();
        let mut counts: BTreeMap<(OpKind, String), usize> = BTreeMap::new();
        // What the engine executes: not what waits for its pair's link.
        let runs = executable(&data.plan, &self.decisions);
        let mut waiting = 0;
        let mut stamps: PerSide<usize> = PerSide::default();
        for ((op, d), run) in data.plan.operations.iter().zip(&self.decisions).zip(runs) {
            if !run {
                waiting += usize::from(d.accept && d.resolves(op));
                continue;
            }
            let target = queue::writes_to(op, d);
            *counts
                .entry((op.kind, queue::target_text(target, &names)))
                .or_insert(0) += 1;
            // A stamp is a write too: to a record the operation does not
            // otherwise write (the card of a CRM update), or with a link.
            for side in Side::BOTH {
                if op.stamp.get(side).is_some()
                    && (op.kind == OpKind::Link || !target.includes(side))
                {
                    *stamps.get_mut(side) += 1;
                }
            }
        }
        if counts.is_empty() {
            self.message = Some(Message::error(if waiting > 0 {
                format!(
                    "nothing to execute: the {waiting} accepted wait for their pair's link, which is not accepted (accept the link first)"
                )
            } else {
                "no operation is accepted: nothing to execute".to_string()
            }));
            return;
        }
        let mut lines: Vec<String> = counts
            .iter()
            .map(|((kind, side), n)| format!("  {n:>6} × {:<8} {side}", kind.as_str()))
            .collect();
        for side in Side::BOTH {
            let n = *stamps.get(side);
            if n > 0 {
                lines.push(format!(
                    "  {n:>6} × {:<8} in {} (the linked record's id, kept for later syncs)",
                    "stamp",
                    names.get(side)
                ));
            }
        }
        // The screen never forces: `apply --force` is a decision for the
        // command line.
        if let Err(refused) = refusals::check(&data.plan, false) {
            lines.insert(0, "The plan is refused:".into());
            for (i, r) in refused.reasons.iter().enumerate() {
                lines.insert(1 + i, format!("  {}", for_terminal(r)));
            }
            lines.push(String::new());
            lines.push(
                "Nothing can be written; use `abgleich apply --force` if you are sure.".into(),
            );
            self.dialog = Some(Dialog {
                title: "Refused".into(),
                lines,
                on_yes: Action::Dismiss,
            });
            return;
        }
        lines.insert(0, "These writes will be made:".into());
        if waiting > 0 {
            lines.push(format!(
                "  {waiting} accepted wait for their pair's link (not accepted): not written"
            ));
        }
        lines.push(String::new());
        lines.push("Write them now?  y: execute   n: back".into());
        self.dialog = Some(Dialog {
            title: "Execute".into(),
            lines,
            on_yes: Action::Confirmed(Box::new(Action::Execute)),
        });
    }

    /// `p`: ask the worker what executing writes for the selected
    /// operation (the pane opens when it answers).
    fn ask_preview(&mut self) {
        let Some(data) = self.plan_to_act_on("preview") else {
            return;
        };
        let Some(op) = self.queue.selected_op() else {
            self.message = Some(Message::error("no operation selected"));
            return;
        };
        let decisions = self.decisions.clone();
        self.send(
            Job::Preview {
                data,
                decisions,
                op,
            },
            "reading what the write changes",
        );
    }

    /// The worker's preview of operation `op`: the pane, if the plan is
    /// still the one on screen.
    fn show_preview(&mut self, op: usize, generation: u64, previews: Result<Previews, String>) {
        let data = self.data.as_ref().filter(|d| d.generation == generation);
        let Some(operation) = data.and_then(|d| d.plan.operations.get(op)) else {
            self.message = Some(Message::error(
                "no preview: the plan changed meanwhile; press p again",
            ));
            return;
        };
        match previews {
            Ok(previews) => {
                let what = format!("{} {}", operation.kind.as_str(), operation.name);
                self.preview = Some(PreviewPane::new(&what, previews));
            }
            Err(why) => self.message = Some(Message::error(format!("no preview: {why}"))),
        }
    }

    /// `U`: undo the last apply that is done, after a question that names
    /// it, what undo puts back and what it leaves alone. What it puts back is
    /// read from the stores first (a job: nothing is written).
    fn ask_undo(&mut self) {
        if self.refuse_unless_ready() {
            return;
        }
        if !self.applies.iter().any(|a| a.status == ApplyStatus::Done) {
            self.message = Some(Message::error(ApplyError::NothingToUndo.to_string()));
            return;
        }
        self.send(Job::ForecastUndo, "reading what undo would put back");
    }

    /// The undo question, from what the stores hold now.
    fn undo_question(&mut self, forecast: Result<UndoForecast, String>) {
        let forecast = match forecast {
            Ok(f) => f,
            Err(why) => {
                self.message = Some(Message::error(format!("not undone: {why}")));
                return;
            }
        };
        let Some(apply) = self
            .applies
            .iter()
            .find(|a| a.apply_id == forecast.apply_id)
        else {
            self.message = Some(Message::error(
                "not undone: the journal changed meanwhile; press U again",
            ));
            return;
        };
        const NAMED: usize = 5;
        let listed = |names: &[String], lines: &mut Vec<String>| {
            for name in names.iter().take(NAMED) {
                lines.push(format!("  {}", for_terminal(name)));
            }
            if names.len() > NAMED {
                lines.push(format!("  … and {} more", names.len() - NAMED));
            }
        };
        let mut lines = vec![
            format!(
                "Undo apply #{} of {} ({})?",
                apply.apply_id,
                apply.started,
                apply_summary(apply)
            ),
            String::new(),
        ];
        if forecast.puts_back.is_empty() {
            lines.push("It puts back no record: none still holds what that apply wrote.".into());
        } else {
            lines.push(format!(
                "It puts back {} record(s) as they were before:",
                forecast.puts_back.len()
            ));
            listed(&forecast.puts_back, &mut lines);
        }
        if !forecast.changed.is_empty() {
            lines.push(format!(
                "It leaves {} record(s) as they are, changed since that apply:",
                forecast.changed.len()
            ));
            listed(&forecast.changed, &mut lines);
        }
        lines.push(
            "Its links are undone. A record its store refuses to take back (a constraint) is kept and named; a store that cannot be written at all (read-only, full) stops the undo there, what it put back stays, and the next read finishes it."
                .into(),
        );
        let changed = self.changed_decisions();
        if changed > 0 {
            lines.push(format!(
                "The plan is recomputed: {changed} decision(s) you changed stay only where undo does not touch the contact."
            ));
        }
        lines.push(String::new());
        lines.push("Undo it now?  y: undo   n: back".into());
        self.dialog = Some(Dialog {
            title: "Undo".into(),
            lines,
            on_yes: Action::Confirmed(Box::new(Action::UndoApply(apply.apply_id))),
        });
    }

    /// `[`/`]`: take one side for every conflict shown, after a question
    /// that counts them.
    fn ask_take_all(&mut self, data: &Data, side: Side) {
        let shown = self.queue.conflicts_shown(data);
        if shown.is_empty() {
            self.message = Some(Message::info(
                "no conflict is shown (f filters by kind, / searches)",
            ));
            return;
        }
        let names = data.store_names();
        let (winner, loser) = (names.get(side), names.get(side.opposite()));
        // Conflicts of pairs whose link is not accepted are decided, but
        // written only once their link is.
        let unlinked: std::collections::HashSet<_> = (data.plan.operations.iter())
            .zip(&self.decisions)
            .filter(|(op, d)| op.kind == OpKind::Link && !d.accept)
            .map(|(op, _)| &op.ids)
            .collect();
        let waiting = (shown.iter())
            .filter(|&&o| unlinked.contains(&data.plan.operations[o].ids))
            .count();
        let mut lines = vec![
            format!(
                "Take {winner}'s values for {} conflict(s) shown, and accept them?",
                shown.len()
            ),
            format!("  each conflicting field is written to {loser}"),
        ];
        if waiting > 0 {
            lines.push(format!(
                "  {waiting} of them wait for their pair's link (not accepted): written only once it is"
            ));
        }
        lines.push(String::new());
        lines.push("y: take them   n: back".into());
        self.dialog = Some(Dialog {
            title: "Take a side".into(),
            lines,
            on_yes: Action::Confirmed(Box::new(Action::TakeAllNow(side))),
        });
    }

    /// `A`: accept every review item shown, after a question that counts
    /// them by kind.
    fn ask_accept_review(&mut self, data: &Data) {
        let (can, open) = self.queue.review_shown(data, &self.decisions);
        if can.is_empty() {
            let why = if open > 0 {
                format!("{open} conflicts need a side first: < or > (Tab: per field)")
            } else {
                "no operation shown waits for review".to_string()
            };
            self.message = Some(Message::info(why));
            return;
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for &o in &can {
            let op = &data.plan.operations[o];
            let what = match op.evidence {
                Some(e) if op.kind == OpKind::Link => format!("link by {}", e.as_str()),
                _ => op.kind.as_str().to_string(),
            };
            *counts.entry(what).or_insert(0) += 1;
        }
        let list: Vec<String> = counts
            .iter()
            .map(|(what, n)| format!("{n} × {what}"))
            .collect();
        let mut lines = vec![
            "Accept every operation shown that waits for review?".to_string(),
            format!("  {}", list.join(", ")),
        ];
        if open > 0 {
            lines.push(format!(
                "  ({open} conflict(s) without a side stay as they are)"
            ));
        }
        lines.push(String::new());
        lines.push("y: accept them   n: back".into());
        self.dialog = Some(Dialog {
            title: "Accept review items".into(),
            lines,
            on_yes: Action::Confirmed(Box::new(Action::AcceptReviewNow)),
        });
    }

    fn confirmed(&mut self, action: Action) {
        // Between the question and the answer nothing may have changed.
        if self.refuse_unless_ready() {
            return;
        }
        let Some(data) = self.data.clone() else {
            return;
        };
        match action {
            Action::Execute => {
                let decisions = self.decisions.clone();
                self.send(Job::Execute { data, decisions }, "writing");
            }
            Action::LinkPair(ids) => {
                self.contacts.clear_mark();
                self.send(Job::Link(ids), "linking");
            }
            Action::TakeAllNow(side) => {
                let n = self.queue.take_all(&data, &mut self.decisions, side);
                let names = data.store_names();
                self.message = Some(Message::info(format!(
                    "{n} conflict(s): {} wins",
                    names.get(side)
                )));
            }
            Action::AcceptReviewNow => {
                let n = self.queue.accept_review(&data, &mut self.decisions);
                self.message = Some(Message::info(format!("accepted {n} waiting for review")));
            }
            Action::UnlinkLink(id) => self.send(Job::Unlink(id), "unlinking"),
            Action::ForgetLink(id) => self.send(Job::Forget(id), "forgetting"),
            Action::UndoApply(id) => self.send(Job::Undo(id), "undoing"),
            _ => {}
        }
    }
}

/// Every record that could not be read, per store: file, line and why
/// (what `abgleich check` lists); they are left alone, never deleted.
fn unreadable_lines(data: &Data) -> Vec<String> {
    let mut lines = Vec::new();
    for side in Side::BOTH {
        let name = for_terminal(data.config.store(side).name.as_str()).into_owned();
        for u in &data.snapshot.sides.get(side).unreadable {
            let at = u.line.map(|l| format!(":{l}")).unwrap_or_default();
            lines.push(format!(
                "{name}: {}{at}: {}",
                for_terminal(&u.file.display().to_string()),
                for_terminal(&u.message)
            ));
        }
    }
    if lines.is_empty() {
        lines.push("every record of both stores was read".to_string());
    } else {
        lines.push(String::new());
        lines
            .push("They are left alone, never taken as deleted; fix them and press r.".to_string());
    }
    lines
}
