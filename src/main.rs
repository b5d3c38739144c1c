//! The `abgleich` command: parses arguments and hands over to the library.

#[macro_use]
mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use abgleich::config::policy::UnknownName;
use abgleich::config::{ConflictPolicy, Mode};

/// Keeps a CRM's contacts and an Outlook/Exchange-style address book in agreement.
#[derive(Parser)]
#[command(name = "abgleich", version, about)]
struct Args {
    /// The config file (default: ./abgleich.toml, then $XDG_CONFIG_HOME/abgleich/abgleich.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Without a command: open the screen on the config.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Copy the bundled samples into a fresh folder and open the screen there.
    Demo,
    /// Write a commented config (to --config, or ./abgleich.toml).
    Init,
    /// Validate the config and read both stores; list every unreadable record with file:line.
    Check,
    /// Compute the plan; write nothing to the stores.
    Plan {
        /// Print the plan as one JSON object.
        #[arg(long)]
        json: bool,
        /// sync, left-wins, right-wins, import, export or none (default: [sync] mode).
        #[arg(long, value_name = "M", value_parser = parse_mode)]
        mode: Option<Mode>,
        /// Save the plan for a later `apply --plan FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Execute the plan (every operation that needs no review).
    Apply {
        /// Do not ask.
        #[arg(long)]
        yes: bool,
        /// sync, left-wins, right-wins, import, export or none (default: [sync] mode).
        #[arg(long, value_name = "M", value_parser = parse_mode)]
        mode: Option<Mode>,
        /// Resolve conflicts: left, right, newest or ask (default: [sync] conflicts).
        #[arg(long, value_name = "POLICY", value_parser = parse_conflicts)]
        conflicts: Option<ConflictPolicy>,
        /// Also perform the deletes and links that wait for review.
        #[arg(long)]
        accept_review: bool,
        /// Apply even when the plan is refused (an emptied store, too many deletes).
        #[arg(long)]
        force: bool,
        /// Execute exactly the operations of a plan saved with `plan --out`.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
    },
    /// Links, tombstones, the last apply, and what is pending.
    Status,
    /// Revert the last apply from its journal.
    Undo,
    /// Link a left and a right contact by hand.
    Link {
        #[arg(value_name = "LEFT_ID")]
        left: String,
        #[arg(value_name = "RIGHT_ID")]
        right: String,
    },
    /// Unlink a pair (either side's id); both stay and are not linked again until `forget`.
    Unlink { id: String },
    /// Forget a link or tombstone (either side's id) so that the contact synchronises afresh.
    Forget { id: String },
}

/// `--mode`; an unknown name shows as "expected sync, left-wins, … or none".
fn parse_mode(text: &str) -> Result<Mode, String> {
    text.parse().map_err(|e: UnknownName| e.to_string())
}

/// `--conflicts`; an unknown name shows as "expected ask, left, right or newest".
fn parse_conflicts(text: &str) -> Result<ConflictPolicy, String> {
    text.parse().map_err(|e: UnknownName| e.to_string())
}

// Reading a large store makes and frees millions of small strings, much of
// it on two threads: mimalloc's per-thread heaps do that without glibc
// malloc's consolidation passes (README, "Dependencies").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` in the
/// `mimalloc.h` (v3) that `libmimalloc-sys` builds; its default there is
/// 1,000 (ms, `options.c`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once rather than a second later:
/// a read frees a store's listing while it builds the next structure, and
/// with the delay the peak holds both (a no-op plan of 10,000 cards 35 →
/// 30 MB, of 100,000 CRM rows 180 → 146 MB). A `MIMALLOC_PURGE_DELAY` in
/// the environment is left to rule.
fn give_memory_back_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mi_option_get and mi_option_set take an option and a value
    // and touch nothing else; this runs first in main, before any thread.
    unsafe {
        debug_assert_eq!(
            libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            1000,
            "mimalloc's options moved: MI_OPTION_PURGE_DELAY names another one"
        );
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    give_memory_back_at_once();
    if let Err(e) = color_eyre::install() {
        tell!("abgleich: {e}");
    }
    let args = Args::parse();
    let Some(command) = args.command else {
        return match cli::load_config(args.config).and_then(cli::screen::run) {
            Ok(code) => code,
            Err(e) => {
                report(&e);
                ExitCode::from(1)
            }
        };
    };
    let result = match command {
        Command::Demo => cli::demo::run(),
        Command::Init => cli::init::run(args.config),
        Command::Check => cli::check::run(args.config),
        command => match cli::load_config(args.config) {
            Err(e) => Err(e),
            Ok(config) => match command {
                Command::Plan { json, mode, out } => cli::sync::plan(config, json, mode, out),
                Command::Apply {
                    yes,
                    mode,
                    conflicts,
                    accept_review,
                    force,
                    plan,
                } => cli::sync::apply(
                    config,
                    cli::sync::ApplyArgs {
                        yes,
                        mode,
                        conflicts,
                        accept_review,
                        force,
                        plan,
                    },
                ),
                Command::Status => cli::sync::status(config),
                Command::Undo => cli::sync::undo(config),
                Command::Link { left, right } => cli::sync::link(config, left, right),
                Command::Unlink { id } => cli::sync::unlink(config, id),
                Command::Forget { id } => cli::sync::forget(config, id),
                Command::Demo | Command::Init | Command::Check => unreachable!(),
            },
        },
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            ExitCode::from(1)
        }
    };
    // Output that could not be written (other than to a reader that went
    // away) fails the command: a script must not take half a plan for all.
    match cli::out::trouble() {
        Some(why) => {
            tell!("abgleich: {why}");
            ExitCode::from(1)
        }
        None => code,
    }
}

/// An error on stderr, each line with control characters neutralised: a
/// value quoted from a config or a store must not move the terminal.
fn report(error: &color_eyre::eyre::Report) {
    let text = abgleich::model::error::describe_chain(error.chain());
    for line in text.lines() {
        tell!("abgleich: {line}");
    }
}
