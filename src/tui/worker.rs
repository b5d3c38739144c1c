//! Slow work off the UI thread: opening the stores, reading, planning,
//! executing, manual links and saving the mapping. The worker owns the
//! session (and with it the state lock) and reports over a channel.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use super::model::Data;
use super::widgets::Message;
use crate::config::{Config, ConfigError};
use crate::model::error::describe;
use crate::model::sanitize::for_terminal;
use crate::model::{PerSide, Side};
use crate::sync::apply::{self, ApplyError, ApplyInput, Decision, Outcome, Previews};
use crate::sync::journal::{self, UndoForecast};
use crate::sync::session::{self, Depth, Session, SessionError};
use crate::sync::state::{ApplyRow, ApplyStatus, StateError};
use crate::text::applies;

/// Why a job did not get done; turned into words only when it reaches
/// the screen.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Session(Box<SessionError>),
    #[error(transparent)]
    Apply(Box<ApplyError>),
    #[error(transparent)]
    Config(Box<ConfigError>),
    #[error("{}: {source}", path.display())]
    ConfigFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(Box<StateError>),
    #[error("the link is gone meanwhile")]
    LinkGone,
    #[error(
        "apply #{0} is no longer the last one that is done (the journal changed); nothing was undone"
    )]
    UndoMoved(i64),
    #[error("the stores are not open")]
    NotOpen,
}

macro_rules! boxed_from {
    ($($kind:ident($error:ty)),*) => {$(
        impl From<$error> for JobError {
            fn from(e: $error) -> Self {
                JobError::$kind(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Session(SessionError),
    Apply(ApplyError),
    Config(ConfigError),
    State(StateError)
);

pub enum Job {
    Load,
    Execute {
        data: Arc<Data>,
        decisions: Vec<Decision>,
    },
    /// Link the records with these ids.
    Link(PerSide<String>),
    /// A link by its id, looked up afresh in the state.
    Unlink(i64),
    Forget(i64),
    SaveConfig(String),
    /// Undo the apply with this id, if it is still the last one done.
    Undo(i64),
    /// What undo would put back now (nothing is written).
    ForecastUndo,
    /// What executing would write for operation `op` of the plan, with
    /// these decisions (nothing is written).
    Preview {
        data: Arc<Data>,
        decisions: Vec<Decision>,
        op: usize,
    },
}

impl Job {
    /// Whether the job writes (stores, state or config): quitting waits.
    pub fn writes(&self) -> bool {
        !matches!(self, Job::Load | Job::Preview { .. } | Job::ForecastUndo)
    }
}

pub enum Event {
    Progress {
        what: String,
        done: usize,
        total: usize,
    },
    Loaded(Box<Loaded>),
    /// Loading failed; the message says why (the screen stays usable).
    Failed(String),
    Executed {
        data: Arc<Data>,
        decisions: Vec<Decision>,
        outcomes: Vec<Outcome>,
        notes: Vec<String>,
    },
    /// An undo ran: the engine's notes (what was put back, every record
    /// left as it is, named), or why it was not done. A reload follows.
    Undone(Result<Vec<String>, String>),
    /// What undo would put back and leave alone, or why it cannot be told.
    UndoForecast(Result<UndoForecast, String>),
    /// A preview of operation `op` of the plan of generation `generation`,
    /// or why it could not be made.
    Previewed {
        op: usize,
        generation: u64,
        previews: Result<Previews, String>,
    },
    /// One job is done (sent after every job, whatever its outcome).
    Finished {
        wrote: bool,
    },
    /// Executing stopped with this error; nothing of it was kept (a
    /// reload follows).
    NotExecuted(String),
    /// A manual link/unlink/forget or a save finished (a reload follows).
    Note(Message),
    SaveFailed(String),
}

pub struct Loaded {
    pub data: Arc<Data>,
    /// The config file's text, for the mapping editor.
    pub config_text: String,
    /// Each sqlite side's real columns.
    pub columns: PerSide<Vec<String>>,
    /// The journal's applies, oldest first.
    pub applies: Vec<ApplyRow>,
}

/// The worker thread's name; a panic there is reported on screen instead
/// of ending the program.
pub const THREAD: &str = "abgleich-worker";

pub fn run(config: Config, jobs: Receiver<Job>, events: Sender<Event>) {
    let config_text = std::fs::read_to_string(&config.file).unwrap_or_default();
    let mut worker = Worker {
        config,
        config_text,
        session: None,
        events: events.clone(),
        generation: 0,
    };
    let mut first = Some(Job::Load);
    while let Some(job) = first.take().or_else(|| jobs.recv().ok()) {
        let wrote = job.writes();
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run(job)));
        let _ = events.send(Event::Finished { wrote });
        if let Err(panic) = done {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            // The session is dropped with the worker: the state lock is
            // released and an interrupted apply is rolled back from the
            // journal when abgleich next opens the stores.
            let _ = events.send(Event::Failed(format!(
                "abgleich stopped working on the stores after an internal error: {what}\n\nNothing more is written. Quit with q and start again; an interrupted write is put back from the journal then. Please report this."
            )));
            return;
        }
    }
}

impl Worker {
    fn run(&mut self, job: Job) {
        let worker = self;
        match job {
            Job::Load => worker.load(),
            Job::Execute { data, decisions } => worker.execute(&data, decisions),
            Job::Link(ids) => {
                let r = worker.session().and_then(|s| Ok(s.link_pair(&ids)?));
                worker.after(r, "linked; the plan compares them field by field");
            }
            Job::Unlink(id) => {
                let r = worker.session().and_then(|s| {
                    let link = s
                        .links()?
                        .into_iter()
                        .find(|l| l.link_id == id)
                        .ok_or(JobError::LinkGone)?;
                    Ok(s.unlink(&link)?)
                });
                worker.after(
                    r,
                    "unlinked; both stay and are not linked again until forgotten",
                );
            }
            Job::Forget(id) => {
                let r = worker.session().and_then(|s| Ok(s.forget(id)?));
                worker.after(r, "forgotten; the plan treats the contact as new");
            }
            Job::SaveConfig(text) => worker.save_config(text),
            Job::Undo(apply_id) => worker.undo(apply_id),
            Job::ForecastUndo => {
                let forecast = worker
                    .session()
                    .and_then(|s| Ok(journal::undo_forecast(&s.state, &s.stores)?))
                    .map_err(|e| describe(&e));
                worker.send(Event::UndoForecast(forecast));
            }
            Job::Preview {
                data,
                decisions,
                op,
            } => worker.preview(&data, &decisions, op),
        }
    }
}

struct Worker {
    config: Config,
    /// The config file as last read, to notice when it changes.
    config_text: String,
    session: Option<Session>,
    events: Sender<Event>,
    /// Counts loads; a plan from an older load is never executed.
    generation: u64,
}

impl Worker {
    fn send(&self, event: Event) {
        // The UI may have quit; then nothing is listening.
        let _ = self.events.send(event);
    }

    fn session(&mut self) -> Result<&mut Session, JobError> {
        if self.session.is_none() {
            let session = Session::open(self.config.clone(), "tui")?;
            self.session = Some(session);
        }
        self.session.as_mut().ok_or(JobError::NotOpen)
    }

    fn after(&mut self, result: Result<(), JobError>, done: &str) {
        match result {
            Ok(()) => {
                self.send(Event::Note(Message::info(done)));
                self.load();
            }
            Err(e) => self.send(Event::Note(Message::error(format!(
                "not done: {}",
                describe(&e)
            )))),
        }
    }

    fn load(&mut self) {
        self.generation += 1;
        if let Err(e) = self.reread_config() {
            return self.send(Event::Failed(format!(
                "The config cannot be used:\n{}\n\nFix it, then press r to read again (q quits).",
                describe(&e)
            )));
        }
        match self.try_load() {
            Ok(loaded) => self.send(Event::Loaded(Box::new(loaded))),
            Err(e) => self.send(Event::Failed(format!(
                "The stores could not be opened or read:\n{}\n\nFix the config or the store, then press r to read again (q quits).",
                describe(&e)
            ))),
        }
    }

    /// Read the config file again; when it changed, the stores are opened
    /// anew with it (after the old session lets go of the state lock).
    fn reread_config(&mut self) -> Result<(), JobError> {
        let file = self.config.file.clone();
        let text = std::fs::read_to_string(&file).map_err(|source| JobError::ConfigFile {
            path: file.clone(),
            source,
        })?;
        if text != self.config_text {
            let config = Config::parse(&text, &file)?;
            self.session = None;
            self.config = config;
            self.config_text = text;
        }
        Ok(())
    }

    fn try_load(&mut self) -> Result<Loaded, JobError> {
        const STEPS: usize = 4;
        let names = self.config.names().map(|n| n.to_string());
        let events = self.events.clone();
        let step = |what: String, done: usize| {
            let _ = events.send(Event::Progress {
                what,
                done,
                total: STEPS,
            });
        };
        step("opening the stores".into(), 0);
        let session = self.session()?;
        let notes = session.recovered.clone();
        // Which store is being read, for the count of its cards a server
        // store reports in batches.
        let current = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
        let mut reading = |side: Side| {
            let i = Side::BOTH.iter().position(|&s| s == side).unwrap_or(0);
            let what = format!("reading {}", for_terminal(names.get(side)));
            *current.borrow_mut() = what.clone();
            step(what, i);
        };
        let (batches, named) = (events.clone(), current.clone());
        session::set_read_progress(Some(Box::new(move |done, total| {
            let _ = batches.send(Event::Progress {
                what: format!("{}: {done} of {total} cards", named.borrow()),
                done,
                total,
            });
        })));
        let read = session.links_and_snapshot(Depth::Full, &mut reading);
        session::set_read_progress(None);
        let (links, snapshot) = read?;
        step("matching and planning".into(), 2);
        let plan = session.plan(&snapshot, &links)?;
        let fields = session.fields.clone();
        let fingerprint = session.fingerprint();
        let config = session.config.clone();
        let columns = session.columns();
        let applies = session.state.applies()?;
        step("arranging the rows".into(), 3);
        let mut data = Data::new(config, snapshot, links, plan, fields, fingerprint);
        data.notes = notes;
        data.generation = self.generation;
        Ok(Loaded {
            data: Arc::new(data),
            config_text: self.config_text.clone(),
            columns,
            applies,
        })
    }

    fn execute(&mut self, data: &Arc<Data>, decisions: Vec<Decision>) {
        if data.generation != self.generation {
            // Another job (a reload, a link) came in between: the operator
            // has not seen the plan that would be executed.
            self.send(Event::Note(Message::error(
                "nothing written: the plan changed since you reviewed it; review the new plan",
            )));
            return;
        }
        let events = self.events.clone();
        let result = self.session().and_then(|session| {
            let input = ApplyInput {
                plan: &data.plan,
                decisions: &decisions,
                snapshot: &data.snapshot,
                fields: &data.fields,
                force: false,
                fingerprint: &data.fingerprint,
            };
            let mut last = usize::MAX;
            let mut progress = |done: usize, total: usize| {
                // About a hundred messages per run, not one per record.
                let step = done * 100 / total.max(1);
                if step != last {
                    last = step;
                    let _ = events.send(Event::Progress {
                        what: "writing".into(),
                        done,
                        total,
                    });
                }
            };
            let mut report = apply::apply_with_progress(
                &input,
                &mut session.stores,
                &mut session.state,
                &mut progress,
            )?;
            let names = session.config.names().map(|n| n.to_string());
            applies::record_outcome(&mut session.state, &data.plan, &mut report, &[], &names);
            Ok(report)
        });
        match result {
            // The writes are done: the screen asks for the new plan as a
            // job of its own, so quitting is not held up by a read.
            Ok(report) => self.send(Event::Executed {
                data: data.clone(),
                decisions,
                outcomes: report.outcomes,
                notes: report.notes,
            }),
            Err(e) => {
                self.send(Event::NotExecuted(describe(&e)));
                self.load();
            }
        }
    }

    /// The engine's preview of what executing writes for operation `op`,
    /// read from the stores now (nothing is written).
    fn preview(&mut self, data: &Arc<Data>, decisions: &[Decision], op: usize) {
        let generation = data.generation;
        let previews = if generation != self.generation {
            Err("the plan changed since you reviewed it; review the new plan".to_string())
        } else {
            match self.session() {
                Ok(session) => Ok(apply::preview(
                    &data.plan,
                    decisions,
                    op,
                    &session.stores,
                    &data.fields,
                )),
                Err(e) => Err(describe(&e)),
            }
        };
        self.send(Event::Previewed {
            op,
            generation,
            previews,
        });
    }

    /// The engine's undo, as `abgleich undo` runs it, of the apply the
    /// operator was shown (refused if another became the last meanwhile).
    fn undo(&mut self, apply_id: i64) {
        // A plan read before the undo is never executed.
        self.generation += 1;
        let result = self.session().and_then(|session| {
            // The screen names the apply it undoes: an undo a recovery
            // finished earlier is not this one's retry (see `abgleich undo`).
            journal::take_undo_finished_by_recovery(&mut session.state)?;
            let last = session
                .state
                .applies()?
                .into_iter()
                .rev()
                .find(|a| a.status == ApplyStatus::Done);
            if last.is_none_or(|a| a.apply_id != apply_id) {
                return Err(JobError::UndoMoved(apply_id));
            }
            Ok(apply::undo(&mut session.state, &mut session.stores)?)
        });
        match result {
            Ok(report) => self.send(Event::Undone(Ok(report.notes))),
            Err(e) => {
                // An undo that stopped part-way is finished by the next
                // opening of the stores (recovery): the reload opens them
                // afresh.
                self.session = None;
                self.send(Event::Undone(Err(describe(&e))));
            }
        }
    }

    fn save_config(&mut self, text: String) {
        let file: PathBuf = self.config.file.clone();
        let config = match session::save_config(&file, &text) {
            Ok(config) => config,
            Err(e) => return self.send(Event::SaveFailed(describe(&e))),
        };
        // The new mapping: reopen the session with it (the old one lets go
        // of the state lock first).
        self.session = None;
        self.config = config;
        self.config_text = text;
        self.send(Event::Note(Message::info(format!(
            "saved {}",
            for_terminal(&file.display().to_string())
        ))));
        self.load();
    }
}
