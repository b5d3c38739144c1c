//! One file per subcommand. They print; the library does the work.

#[macro_use]
pub mod out;

pub mod check;
pub mod demo;
pub mod init;
pub mod screen;
pub mod sync;

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, eyre};

use abgleich::config::Config;

/// The config file: `--config`, else `./abgleich.toml`, else the XDG config dir.
pub fn config_path(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let local = PathBuf::from("abgleich.toml");
    if local.is_file() {
        return Ok(local);
    }
    if let Some(xdg) = xdg_config_file()
        && xdg.is_file()
    {
        return Ok(xdg);
    }
    Err(eyre!(
        "no config: pass --config PATH, or create ./abgleich.toml (`abgleich init` writes one){}",
        xdg_config_file()
            .map(|p| format!(" or {}", p.display()))
            .unwrap_or_default()
    ))
}

fn xdg_config_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("abgleich").join("abgleich.toml"))
}

pub fn load_config(given: Option<PathBuf>) -> Result<Config> {
    let path = config_path(given)?;
    Ok(Config::load(&path)?)
}
