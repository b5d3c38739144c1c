//! A server store's password, fetched from where the config says it is
//! (`password_env`, `password_command`) and never from the config itself.
//!
//! The password is held in a [`Password`], whose `Debug` hides it, and no
//! error here ever carries it or the command's output: a failing command is
//! named by its config key and exit status only (SPEC §2).

use std::fmt;
use std::process::{Command, Stdio};

use crate::config::{PasswordSource, StoreConfig};

use super::interface::StoreError;

/// A password. `Debug` prints `Password(…)`; the text is reached only by
/// [`Password::reveal`], at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// The store's password: `Ok(None)` when the config names no source (a
/// PostgreSQL store may still find one in `PGPASSWORD` or `~/.pgpass`).
pub fn password(config: &StoreConfig) -> Result<Option<Password>, StoreError> {
    let Some(source) = config.server.as_ref().and_then(|s| s.password.as_ref()) else {
        return Ok(None);
    };
    let refuse = |key: &str, message: String| StoreError::Config {
        place: config.locate(key),
        message,
    };
    match source {
        PasswordSource::Env(name) => match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Some(Password(value))),
            Ok(_) => Err(refuse(
                "password_env",
                format!("the environment variable {name} is empty"),
            )),
            Err(std::env::VarError::NotPresent) => Err(refuse(
                "password_env",
                format!("the environment variable {name} is not set"),
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(refuse(
                "password_env",
                format!("the environment variable {name} is not valid UTF-8"),
            )),
        },
        PasswordSource::Command(command) => {
            let output = Command::new("sh")
                .arg("-c")
                .arg(command)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .map_err(|e| {
                    refuse(
                        "password_command",
                        format!("the password command could not be started: {e}"),
                    )
                })?;
            if !output.status.success() {
                return Err(refuse(
                    "password_command",
                    format!("the password command failed ({})", output.status),
                ));
            }
            let text = String::from_utf8(output.stdout).map_err(|_| {
                refuse(
                    "password_command",
                    "the password command printed something that is not UTF-8".to_string(),
                )
            })?;
            let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if line.is_empty() {
                return Err(refuse(
                    "password_command",
                    "the password command printed no password (its first line is empty)"
                        .to_string(),
                ));
            }
            Ok(Some(Password(line.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn store_with(source: &str) -> StoreConfig {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("abgleich.toml");
        std::fs::write(
            &file,
            format!(
                "[left]\nkind = \"carddav\"\nurl = \"https://dav.example.com/\"\nusername = \"alice\"\n{source}\n\
                 [right]\nkind = \"vdir\"\npath = \"book\"\n"
            ),
        )
        .unwrap();
        Config::load(&file).unwrap().left
    }

    #[test]
    fn a_command_gives_its_first_line_and_a_failing_one_is_named_without_its_output() {
        let store = store_with("password_command = \"printf 'sekrit\\\\nsecond\\\\n'\"");
        let pw = password(&store).unwrap().unwrap();
        assert_eq!(pw.reveal(), "sekrit");
        assert_eq!(format!("{pw:?}"), "Password(…)");

        let store = store_with("password_command = \"echo leaked; exit 3\"");
        let e = password(&store).unwrap_err().to_string();
        assert!(
            e.contains("password_command") && e.contains("failed"),
            "{e}"
        );
        assert!(!e.contains("leaked"), "{e}");
    }

    #[test]
    fn an_unset_variable_is_named() {
        let store = store_with("password_env = \"ABGLEICH_TEST_SURELY_UNSET_9\"");
        let e = password(&store).unwrap_err().to_string();
        assert!(
            e.contains("ABGLEICH_TEST_SURELY_UNSET_9") && e.contains("not set"),
            "{e}"
        );
    }
}
