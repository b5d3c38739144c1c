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

/// Print the report; the exit code says whether everything was readable.
pub fn report(config: &Config) -> ExitCode {
    say!("config: {} (valid)", config.file.display());
    let mut ok = true;
    for side in [&config.left, &config.right] {
        match check_side(config, side) {
            Ok(report) => {
                print_side(&report);
                ok &= report.unreadable.is_empty();
            }
            Err(e) => {
                tell!("{:<5} {}: {e}", side.side, side.name);
                ok = false;
            }
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
        Some(table) => format!(
            "{} {}, table {table}",
            r.kind.as_str(),
            r.location.display()
        ),
        None => format!("{} {}", r.kind.as_str(), r.location.display()),
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
