//! The config as TOML has it, before validation (the serde shape), and the
//! [`Ctx`] that turns a key path into an error naming file, line and key.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;

use super::policy::UnknownName;
use super::types::ConfigError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub left: RawStore,
    pub right: RawStore,
    #[serde(default)]
    pub sync: RawSync,
    #[serde(default)]
    pub ui: RawUi,
    #[serde(default)]
    pub keys: BTreeMap<String, RawKeys>,
}

/// `quit = "q"` or `down = ["j", "down"]`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawKeys {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub name: Option<String>,
    pub kind: String,
    pub path: Option<String>,
    pub url: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_command: Option<String>,
    pub ca_file: Option<String>,
    pub table: Option<String>,
    pub id: Option<String>,
    pub modified: Option<String>,
    pub scope: Option<RawScope>,
    #[serde(default)]
    pub fields: BTreeMap<String, RawField>,
    pub write_version: Option<String>,
    pub limits: Option<RawLimits>,
    pub stamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawField {
    Column(String),
    Full(RawFieldTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFieldTable {
    pub column: Option<String>,
    pub transform: Option<String>,
    pub direction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScope {
    pub column: Option<String>,
    pub equals: Option<toml::Value>,
    pub category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub emails: Option<usize>,
    pub phones_per_kind: Option<usize>,
    pub urls: Option<usize>,
    pub notes: Option<bool>,
    pub phone_format: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    pub mode: Option<String>,
    pub conflicts: Option<String>,
    pub deletes: Option<RawDeletes>,
    pub scope_exit: Option<String>,
    #[serde(rename = "match")]
    pub match_rules: Option<Vec<String>>,
    pub default_region: Option<String>,
    pub max_delete_percent: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeletes {
    pub left_to_right: Option<String>,
    pub right_to_left: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUi {
    pub theme: Option<String>,
}

/// Finds the line of a key path in the TOML text, for error messages.
pub(super) struct Locator {
    doc: Option<toml_edit::Document<String>>,
    text: String,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        Locator {
            doc: toml_edit::Document::parse(text.to_string()).ok(),
            text: text.to_string(),
        }
    }

    pub fn line_of_offset(&self, offset: usize) -> usize {
        self.text.as_bytes()[..offset.min(self.text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// Line of the deepest part of `path` that exists.
    pub fn line(&self, path: &[&str]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut item: &toml_edit::Item = doc.as_item();
        let mut best = None;
        for key in path {
            let table = item.as_table_like()?;
            let (k, next) = table.get_key_value(key)?;
            if let Some(span) = k.span().or_else(|| next.span()) {
                best = Some(self.line_of_offset(span.start));
            }
            item = next;
        }
        best
    }
}

impl Locator {
    /// The key whose value holds byte `offset` (the deepest one), as a path.
    pub fn key_at(&self, offset: usize) -> Option<Vec<String>> {
        fn walk(item: &toml_edit::Item, offset: usize, path: &mut Vec<String>) -> bool {
            let Some(table) = item.as_table_like() else {
                return false;
            };
            for (key, value) in table.iter() {
                let holds = value.span().is_some_and(|s| s.contains(&offset));
                path.push(key.to_string());
                if walk(value, offset, path) || holds {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        walk(self.doc.as_ref()?.as_item(), offset, &mut path).then_some(path)
    }
}

/// A message of the TOML reader in the words of this config: what a key
/// expects rather than the Rust type behind it.
pub(super) fn plain_message(message: &str) -> String {
    let mut message = message.trim().to_string();
    for (rust, plain) in [
        ("expected usize", "expected a whole number like 3"),
        ("expected i64", "expected a whole number like 20"),
        ("expected a boolean", "expected true or false"),
        (
            "data did not match any variant of untagged enum RawField",
            "expected a column name, or a table like { column = \"…\", transform = \"e164\" }",
        ),
        (
            "data did not match any variant of untagged enum RawKeys",
            "expected a key like \"q\", or a list of keys like [\"j\", \"down\"]",
        ),
    ] {
        message = message.replace(rust, plain);
    }
    message
}

pub(super) fn key_text(path: &[&str]) -> String {
    path.iter()
        .map(|k| {
            if k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                k.to_string()
            } else {
                format!("\"{k}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The config file being validated and the lines of its keys.
pub(super) struct Ctx<'a> {
    pub file: &'a Path,
    pub loc: Locator,
}

impl Ctx<'_> {
    pub fn err(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: self.loc.line(path),
            key: Some(key_text(path)),
            message: message.into(),
        }
    }

    /// `value` as one of the names of `T`, or an error listing them.
    pub fn choice<T>(&self, path: &[&str], value: &str) -> Result<T, ConfigError>
    where
        T: FromStr<Err = UnknownName>,
    {
        value.parse().map_err(|e: UnknownName| {
            let names: Vec<String> = e.expected.iter().map(|n| format!("\"{n}\"")).collect();
            self.err(
                path,
                format!(
                    "\"{value}\" is not allowed; expected one of {}",
                    names.join(", ")
                ),
            )
        })
    }
}
