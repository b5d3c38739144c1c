//! `abgleich check`: validate the config, read both stores, list every
//! unreadable record with file:line (exit 1 if any), print counts per side.

use std::path::PathBuf;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use abgleich::check::{SideReport, check_side};
use abgleich::config::Config;

pub fn run(given: Option<PathBuf>) -> Result<ExitCode> {
    let config = super::load_config(given)?;
    Ok(report(&config))
}

/// Print the report; the exit code says whether everything was valid and
/// readable. The config is called valid only when nothing the screen or
/// `apply` would refuse was found: its theme and keys, and each store's
/// columns and id.
pub fn report(config: &Config) -> ExitCode {
    let screen = abgleich::tui::settings::load(config).err();
    let sides: Vec<_> = [&config.left, &config.right]
        .into_iter()
        .map(|side| (side, check_side(config, side)))
        .collect();
    let valid = screen.is_none() && sides.iter().all(|(_, r)| r.is_ok());
    say!(
        "config: {}{}",
        config.file.display(),
        if valid { " (valid)" } else { "" }
    );
    if let Some(e) = &screen {
        tell!("{e}");
    }
    let mut ok = valid;
    for (side, result) in &sides {
        match result {
            Ok(report) => {
                print_side(report);
                ok &= report.unreadable.is_empty();
            }
            Err(e) => tell!("{:<5} {}: {e}", side.side, side.name),
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_side(r: &SideReport) {
    let place = match &r.table {
        Some(table) => format!("{} {}, table {table}", r.kind.as_str(), r.location),
        None => format!("{} {}", r.kind.as_str(), r.location),
    };
    say!(
        "{:<5} {} ({place}): {} records, {} in scope, {} unreadable",
        r.side,
        r.name,
        r.records,
        r.in_scope,
        r.unreadable.len()
    );
    for u in &r.unreadable {
        say!("      unreadable: {u}");
    }
}
