//! `abgleich init`: write a commented config; never overwrite one.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use color_eyre::eyre::{Result, WrapErr, eyre};

use abgleich::config::INIT_TEMPLATE;

pub fn run(given: Option<PathBuf>) -> Result<ExitCode> {
    let path = given.unwrap_or_else(|| PathBuf::from("abgleich.toml"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                eyre!(
                    "{} exists already; abgleich init does not overwrite a config",
                    path.display()
                )
            }
            _ => eyre!("{}: {e}", path.display()),
        })?;
    file.write_all(INIT_TEMPLATE.as_bytes())
        .wrap_err_with(|| format!("writing {}", path.display()))?;
    say!("wrote {}", path.display());
    say!(
        "edit the [left] and [right] stores, then run: abgleich check --config {}",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
