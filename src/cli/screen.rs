//! `abgleich` without a command: the screen.

use std::io::IsTerminal;
use std::process::ExitCode;

use color_eyre::eyre::{Result, eyre};

use abgleich::config::Config;

/// Whether the screen can be drawn: keyboard and output are a terminal.
pub fn is_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

pub fn run(config: Config) -> Result<ExitCode> {
    if !is_terminal() {
        return Err(eyre!(
            "the screen needs a terminal; in scripts use `abgleich plan` and `abgleich apply`"
        ));
    }
    abgleich::tui::run(config).map_err(|e| eyre!(e))?;
    Ok(ExitCode::SUCCESS)
}
