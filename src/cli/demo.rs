//! `abgleich demo`: copy the bundled samples into a fresh folder and open
//! the screen there, so a new user sees both stores without writing a
//! config. Without a terminal it checks them and says how to plan and apply.

use std::process::ExitCode;

use color_eyre::eyre::{Result, eyre};

use abgleich::config::Config;
use abgleich::samples;

pub fn run() -> Result<ExitCode> {
    let dir = tempfile::Builder::new()
        .prefix("abgleich-demo-")
        .tempdir()
        .map_err(|e| eyre!("cannot create a demo folder: {e}"))?
        .keep();
    let config_path = samples::write_to(&dir).map_err(|e| eyre!(e))?;
    samples::write_history(&config_path).map_err(|e| eyre!(e))?;
    say!("demo folder: {}", dir.display());
    say!("  abgleich.toml   the config mapping the two sample stores");
    say!("  crm.sqlite      the sample CRM (table customers)");
    say!(
        "  outlook/        the sample address book, {} cards",
        samples::OUTLOOK.len()
    );
    say!();
    let config = Config::load(&config_path)?;
    if super::screen::is_terminal() {
        super::screen::run(config)?;
        say!("demo folder: {}", dir.display());
        say!("open it again: abgleich --config {}", config_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    // Without a terminal (a script): the check report and what to try.
    // The samples hold one broken card on purpose; showing it is the point.
    let _ = super::check::report(&config);
    say!();
    let config = config_path.display();
    say!("next, in that folder's config:");
    say!("  abgleich --config {config} plan          what a sync would do (writes nothing)");
    say!("  abgleich --config {config} apply         do it (asks first; --yes for scripts)");
    say!("  abgleich --config {config} undo          put both stores back");
    Ok(ExitCode::SUCCESS)
}
