//! The screen's part of the config: `[ui] theme` and `[keys]`. One function
//! checks both, so `abgleich check` refuses exactly what the screen would,
//! with the config file, line and key.

use std::path::Path;

use super::keymap::Keymap;
use super::theme::Theme;
use crate::config::{Config, ConfigError};

/// The theme and the key bindings the config asks for, or the first thing
/// the screen would refuse.
pub fn load(config: &Config) -> Result<(Theme, Keymap), ConfigError> {
    let dir = config.file.parent().unwrap_or(Path::new("."));
    let theme = Theme::load(&config.ui.theme, dir).map_err(|e| config.ui_error("ui.theme", e))?;
    let keymap = Keymap::new(&config.ui.keys)
        .map_err(|e| config.ui_error(&format!("keys.{}", e.action), e.message))?;
    Ok((theme, keymap))
}
