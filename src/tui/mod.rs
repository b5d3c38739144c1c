//! The terminal front end. It lives in the library so that tests and the
//! benchmark can drive it headless (`App::update`, `TestBackend`); the engine
//! modules never use it. The shape:
//!
//! ```text
//! key ──keymap──▶ Action ──App::update──▶ state ──render──▶ frame
//!                              │   ▲
//!                         Job  ▼   │ Event (progress, loaded, executed)
//!                            worker thread (session, stores, state db)
//! ```

pub mod action;
pub mod app;
pub mod keymap;
pub mod model;
pub mod render;
pub mod settings;
pub mod theme;
pub mod views;
pub mod widgets;
pub mod worker;

use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};

pub use app::App;

use crate::config::Config;

/// Run the screen on `config` until the operator quits. The terminal is put
/// back on return, on error and on panic (ratatui's hook).
pub fn run(config: Config) -> Result<(), String> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut app = App::from_config(config, no_color)?;
    let mut terminal = ratatui::init();
    // ratatui's hook puts the terminal back before a panic is reported. A
    // panic in the worker is reported on the screen instead (it goes on
    // drawing), so the hook is skipped there.
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(worker::THREAD) {
            restore_and_report(info);
        }
    }));
    let result = event_loop(&mut terminal, &mut app);
    ratatui::restore();
    // Quit is refused while anything is written; a read in progress is
    // simply abandoned with the process.
    if app.is_idle() {
        app.shutdown();
    }
    result
}

/// Ctrl-Z: the shell's job control (the raw terminal does not send it).
fn is_suspend(key: &ratatui::crossterm::event::KeyEvent) -> bool {
    key.kind == KeyEventKind::Press
        && key.code == ratatui::crossterm::event::KeyCode::Char('z')
        && key
            .modifiers
            .contains(ratatui::crossterm::event::KeyModifiers::CONTROL)
}

/// Put the terminal back, stop as the shell's `^Z` does, and take the
/// screen again when the shell continues the job (`fg`). The worker goes
/// on meanwhile; nothing is lost.
fn suspend(terminal: &mut ratatui::DefaultTerminal) {
    ratatui::restore();
    #[cfg(unix)]
    // SAFETY: raise() only sends a signal to this process; SIGTSTP's
    // default action stops it until SIGCONT, and then raise returns.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    // The screen again, as `ratatui::init` made it (without installing its
    // panic hook a second time).
    let _ = ratatui::crossterm::terminal::enable_raw_mode();
    let _ = ratatui::crossterm::execute!(
        std::io::stdout(),
        ratatui::crossterm::terminal::EnterAlternateScreen
    );
    let _ = terminal.clear();
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> Result<(), String> {
    loop {
        terminal
            .draw(|frame| app.render(frame))
            .map_err(|e| format!("cannot draw: {e}"))?;
        if app.quit {
            return Ok(());
        }
        // Keys first; while work runs, redraw at least ten times a second
        // so the progress moves.
        let wait = if app.busy.is_some() {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(250)
        };
        if event::poll(wait).map_err(|e| format!("cannot read the keyboard: {e}"))? {
            match event::read().map_err(|e| format!("cannot read the keyboard: {e}"))? {
                Event::Key(key) if is_suspend(&key) => suspend(terminal),
                Event::Key(key) if key.kind != KeyEventKind::Release => app.on_key(key),
                _ => {}
            }
            // Several keys may be queued (a paste, key repeat): take them
            // all before drawing again.
            while event::poll(Duration::ZERO).unwrap_or(false) {
                if let Ok(Event::Key(key)) = event::read()
                    && key.kind != KeyEventKind::Release
                {
                    app.on_key(key);
                }
            }
        }
        app.pump(Duration::ZERO);
    }
}
