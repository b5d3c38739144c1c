//! Drives the terminal screen headless over N contacts per side (a CRM
//! table and a vdir of cards holding the same people, as in `benches/sync.rs`)
//! and times what the operator does, each as the action(s) plus one full
//! draw into a 120×40 `TestBackend`: moving the selection, searching letter
//! by letter, switching views, and deciding in the queue. A frame at 60 Hz is
//! 16 ms. Run:
//!
//! ```sh
//! cargo bench --bench tui              # N = 10000, 50000, 100000
//! ABGLEICH_BENCH_N=10000 cargo bench --bench tui
//! ABGLEICH_BENCH_REPS=50 cargo bench --bench tui
//! ```
//!
//! Loading (reading both stores and the first plan, in the background
//! worker) is timed too; it is not a frame. Peak memory is the process's
//! high-water mark (VmHWM); the sizes run in ascending order, so each
//! size's peak is its own. A table of every size closes the run.

use std::time::{Duration, Instant};

use abgleich::config::Config;
use abgleich::tui::App;
use abgleich::tui::action::{Action, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod common;

use common::{generate, peak_mib, sizes};

/// One measured step: its name and every sample.
struct Step {
    name: String,
    samples: Vec<Duration>,
}

struct Bench {
    app: App,
    terminal: Terminal<TestBackend>,
    steps: Vec<Step>,
}

impl Bench {
    fn draw(&mut self) {
        let app = &self.app;
        self.terminal.draw(|f| app.render(f)).expect("draw");
    }

    /// `act` on the app, then one full draw, timed together, filed under `name`.
    fn time(&mut self, name: &str, act: impl FnOnce(&mut App)) {
        let t = Instant::now();
        act(&mut self.app);
        self.draw();
        let took = t.elapsed();
        match self.steps.iter_mut().find(|s| s.name == name) {
            Some(step) => step.samples.push(took),
            None => self.steps.push(Step {
                name: name.to_string(),
                samples: vec![took],
            }),
        }
    }

    fn action(&mut self, name: &str, action: Action) {
        self.time(name, |app| app.update(action));
    }

    fn key(&mut self, name: &str, code: KeyCode) {
        self.time(name, |app| {
            app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
        });
    }

    /// Open the search, type `query` letter by letter, clear it with Esc.
    fn search(&mut self, query: &str) {
        self.action("search: open (/)", Action::Search);
        let mut typed = String::new();
        for c in query.chars() {
            typed.push(c);
            self.key(&format!("search: type \"{typed}\""), KeyCode::Char(c));
        }
        self.key(&format!("search: Esc clears \"{query}\""), KeyCode::Esc);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let reps: usize = std::env::var("ABGLEICH_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rows = Vec::new();
    for n in sizes() {
        rows.push((n, run(n, reps)));
    }
    println!(
        "\n| N per side | screen ready (loaded, plan in the queue) | slowest step at the median | peak |\n|---|---|---|---|"
    );
    for (n, r) in rows {
        println!(
            "| {n} | {:.2} s | {} {:.1} ms | {} |",
            r.load, r.slowest.0, r.slowest.1, r.peak
        );
    }
}

/// One size's figures.
struct Figures {
    load: f64,
    /// The step slowest at the median, and that median in ms.
    slowest: (String, f64),
    peak: String,
}

fn run(n: usize, reps: usize) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    generate(dir.path(), n);
    println!("generate {n} per side: {:.2} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let config = Config::load(&dir.path().join("abgleich.toml")).expect("config loads");
    let mut app = App::from_config(config, false).expect("app");
    assert!(
        app.wait_idle(Duration::from_secs(600)),
        "the worker did not finish loading in 10 minutes"
    );
    let load = t.elapsed().as_secs_f64();
    if let Some(why) = &app.failure {
        panic!("loading failed: {why}");
    }
    let data = app.data.clone().expect("loaded");
    println!(
        "load (read both stores, plan, rows, search text; background worker): {load:.2} s; \
         {} rows, {} operations (peak {})",
        data.rows.len(),
        data.plan.operations.len(),
        peak_mib()
    );
    drop(data);

    let terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut b = Bench {
        app,
        terminal,
        steps: Vec::new(),
    };
    let t = Instant::now();
    b.draw();
    println!("first draw: {:.2} ms", ms(t.elapsed()));

    // 1. Moving the selection in the contacts view.
    b.app.update(Action::Show(View::Contacts));
    for _ in 0..reps {
        b.action("contacts: Down", Action::Down);
    }
    for _ in 0..reps {
        b.action("contacts: PageDown", Action::PageDown);
    }
    for _ in 0..reps {
        b.action("contacts: Bottom", Action::Bottom);
        b.action("contacts: Top", Action::Top);
    }

    // 2. Searching, letter by letter; the first letter scans every row.
    for _ in 0..reps {
        b.search("müller");
        b.search("030");
        // Not literally in any row: matched by the digits of the numbers.
        b.search("030-100012");
    }

    // 3. Switching views.
    for _ in 0..reps {
        b.action("view: Show(Queue)", Action::Show(View::Queue));
        b.action("view: Show(Contacts)", Action::Show(View::Contacts));
        b.action("view: Show(Mapping)", Action::Show(View::Mapping));
    }

    // 4. Deciding in the queue.
    b.app.update(Action::Show(View::Queue));
    for _ in 0..reps {
        b.action("queue: Down", Action::Down);
    }
    for _ in 0..reps {
        b.action("queue: Toggle", Action::Toggle);
    }
    for _ in 0..reps {
        b.action("queue: AcceptAll", Action::AcceptAll);
    }

    // 5. Review at scale: the queue's search, its filters, the jump to the
    // next open operation, a side for every conflict shown, help and log.
    for _ in 0..reps {
        b.action("queue search: open (/)", Action::Search);
        let mut typed = String::new();
        for c in "müller".chars() {
            typed.push(c);
            let name = if typed.chars().count() == 1 {
                "queue search: first letter".to_string()
            } else {
                "queue search: further letter".to_string()
            };
            b.key(&name, KeyCode::Char(c));
        }
        b.key("queue search: Esc clears", KeyCode::Esc);
    }
    for _ in 0..reps {
        b.action("queue: f (next filter)", Action::Filter);
    }
    b.app.update(Action::Back);
    for _ in 0..reps {
        b.action("queue: n (next open)", Action::NextUndecided);
    }
    for _ in 0..reps {
        b.action(
            "queue: ] asks for every conflict shown",
            Action::TakeAll(abgleich::model::Side::Right),
        );
        b.key("queue: n answers", KeyCode::Char('n'));
    }
    for _ in 0..reps {
        b.action("help: open", Action::Help);
        b.action("help: close", Action::Help);
        b.action("log: open (L)", Action::Log);
        b.key("log: Esc closes", KeyCode::Esc);
    }
    // The preview is the worker's answer (it reads the pair's records and
    // renders what would be written): timed from `p` to the pane drawn.
    b.app.update(Action::Show(View::Queue));
    b.app.update(Action::Top);
    for _ in 0..reps.min(50) {
        b.time("preview: p until the answer is drawn", |app| {
            app.update(Action::Preview);
            assert!(app.wait_idle(Duration::from_secs(60)), "no preview");
        });
        b.key("preview: j scrolls", KeyCode::Char('j'));
        b.key("preview: Esc closes", KeyCode::Esc);
        b.action("queue: Down", Action::Down);
    }

    println!();
    println!("N = {n} per side, {reps} repetitions, 120×40 TestBackend; action + one full draw:");
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>6}",
        "step", "median ms", "p99 ms", "max ms", "n"
    );
    let mut slow = Vec::new();
    let mut slowest = (String::new(), 0.0);
    for step in &mut b.steps {
        step.samples.sort();
        let len = step.samples.len();
        let median = step.samples[len / 2];
        let p99 = step.samples[(len * 99).div_ceil(100).saturating_sub(1)];
        let max = step.samples[len - 1];
        println!(
            "{:<40} {:>9.3} {:>9.3} {:>9.3} {:>6}",
            step.name,
            ms(median),
            ms(p99),
            ms(max),
            len
        );
        if ms(median) > slowest.1 {
            slowest = (step.name.clone(), ms(median));
        }
        if median > Duration::from_millis(16) {
            slow.push(step.name.clone());
        }
    }
    println!("peak memory: {}", peak_mib());
    if slow.is_empty() {
        println!("every step is under one frame (16 ms) at the median");
    } else {
        println!("over one frame (16 ms) at the median: {}", slow.join(", "));
    }
    Figures {
        load,
        slowest,
        peak: peak_mib(),
    }
}
