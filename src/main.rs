//! The `abgleich` command: parses arguments and hands over to the library.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keeps a CRM's contacts and an Outlook/Exchange-style address book in agreement.
#[derive(Parser)]
#[command(name = "abgleich", version, about)]
struct Args {
    /// The config file (default: ./abgleich.toml, then $XDG_CONFIG_HOME/abgleich/abgleich.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Copy the bundled samples into a fresh folder and check them there.
    Demo,
    /// Write a commented config (to --config, or ./abgleich.toml).
    Init,
    /// Validate the config and read both stores; list every unreadable record with file:line.
    Check,
}

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("abgleich: {e}");
    }
    let args = Args::parse();
    let result = match args.command {
        Command::Demo => cli::demo::run(),
        Command::Init => cli::init::run(args.config),
        Command::Check => cli::check::run(args.config),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("abgleich: {e:#}");
            ExitCode::from(1)
        }
    }
}
