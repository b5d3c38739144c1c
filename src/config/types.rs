//! The typed config, as the rest of the crate sees it (`crate::config`
//! re-exports all of it). It lives apart from `config/mod.rs` because the
//! validation in `validate.rs` builds these types and `mod.rs` calls that
//! validation: with the types in `mod.rs` the two files would need each other.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::policy::{ConflictPolicy, DeletePolicy, MatchRule, Mode, PhoneFormat, ScopeExit, named};
use super::transform::Transform;
use crate::model::contact::FieldPath;
use crate::model::normal::Normalizer;
use crate::model::{PerSide, Side};
use crate::vcard::WriteVersion;

/// A config error: where it is and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Dotted key path, e.g. `left.fields."name.given"`.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

named! {
    /// A store's `kind`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum StoreKind {
        Sqlite => "sqlite",
        Postgres => "postgres",
        Vdir => "vdir",
        Vcard => "vcard",
        Carddav => "carddav",
    }
}

impl StoreKind {
    /// A CRM table (`sqlite`, `postgres`): rows with mapped columns.
    pub fn is_sql(self) -> bool {
        matches!(self, StoreKind::Sqlite | StoreKind::Postgres)
    }

    /// A store of vCards (`vdir`, `vcard`, `carddav`).
    pub fn holds_cards(self) -> bool {
        !self.is_sql()
    }

    /// A store reached over the network (`postgres`, `carddav`): it has a
    /// `url` where the others have a `path`.
    pub fn is_server(self) -> bool {
        matches!(self, StoreKind::Postgres | StoreKind::Carddav)
    }
}

/// Where a server store's password comes from; the password itself never
/// stands in the config (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `password_env = "NAME"`: the environment variable `NAME`.
    Env(String),
    /// `password_command = "…"`: the first line this shell command prints.
    Command(String),
}

/// How to reach a server store (`postgres`, `carddav`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// As written in the config: a URL (`https://…`, `postgresql://…`) or a
    /// libpq connection string (`host=… dbname=…`). It never holds a
    /// password (validation refuses one).
    pub url: String,
    pub username: Option<String>,
    pub password: Option<PasswordSource>,
    /// A PEM file of certificates trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

named! {
    /// How values of one mapped field travel.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Direction {
        #[default]
        Both => "both",
        LeftToRight => "left-to-right",
        RightToLeft => "right-to-left",
        None => "none",
    }
}

/// One canonical field of a store, and for an SQL store its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapping {
    pub field: FieldPath,
    /// The key as written in the config (`"email[1]"`), for messages.
    pub key: String,
    pub column: Option<String>,
    pub transform: Transform,
    pub direction: Direction,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    All,
    /// SQL: rows whose column holds this value.
    Column { column: String, equals: String },
    /// vCard: cards that carry this category.
    Category(String),
}

/// What a target store can hold (an Exchange book: 3 e-mails, 2 phones per kind…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub emails: Option<usize>,
    pub phones_per_kind: Option<usize>,
    pub urls: Option<usize>,
    pub notes: bool,
    pub phone_format: PhoneFormat,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            emails: None,
            phones_per_kind: None,
            urls: None,
            notes: true,
            phone_format: PhoneFormat::Any,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `left` or `right`: the table the store came from.
    pub side: &'static str,
    pub name: String,
    pub kind: StoreKind,
    /// Resolved against the config file's folder; empty for a server store
    /// (see `server`).
    pub path: PathBuf,
    /// A server store's address and credentials source.
    pub server: Option<ServerConfig>,
    pub table: Option<String>,
    pub id: Option<String>,
    pub modified: Option<String>,
    pub scope: Scope,
    pub fields: Vec<FieldMapping>,
    pub write_version: WriteVersion,
    pub limits: Limits,
    pub stamp: Option<String>,
    /// Both stores hold cards: the whole card travels, so a card store
    /// reads the properties no field covers too (SPEC §2).
    pub whole_card: bool,
    /// The config file, for errors found when the store opens.
    pub config_file: PathBuf,
    /// Line of each key of this store (`table`, `fields."name.given"`, …),
    /// for errors found when the store opens.
    pub key_lines: BTreeMap<String, usize>,
}

impl StoreConfig {
    /// Where the store is, for the operator: the file or folder, or the
    /// server's address (without credentials).
    pub fn location(&self) -> String {
        match &self.server {
            Some(server) => server.url.clone(),
            None => self.path.display().to_string(),
        }
    }

    /// `file:line: key `side.key`` for a message about one of this store's keys.
    pub fn locate(&self, key: &str) -> String {
        let place = match self.key_lines.get(key) {
            Some(line) => format!("{}:{line}", self.config_file.display()),
            None => self.config_file.display().to_string(),
        };
        format!("{place}: key `{}.{key}`", self.side)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub mode: Mode,
    pub conflicts: ConflictPolicy,
    pub deletes_left_to_right: DeletePolicy,
    pub deletes_right_to_left: DeletePolicy,
    pub scope_exit: ScopeExit,
    pub match_rules: Vec<MatchRule>,
    pub default_region: String,
    pub max_delete_percent: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    pub theme: String,
    /// `[keys]`: action name → the keys that trigger it.
    pub keys: BTreeMap<String, Vec<String>>,
    /// Line of `ui.theme`, of `keys` and of each `keys.<action>`, for the
    /// errors the screen's own checks find ([`Config::ui_error`]).
    pub key_lines: BTreeMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub left: StoreConfig,
    pub right: StoreConfig,
    pub sync: SyncConfig,
    pub ui: UiConfig,
    pub normalizer: Normalizer,
}

impl Config {
    /// The store of one side (`[left]` or `[right]` in the file).
    pub fn store(&self, side: Side) -> &StoreConfig {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    /// Both stores, for code that does the same on each side.
    pub fn stores(&self) -> PerSide<&StoreConfig> {
        PerSide::new(&self.left, &self.right)
    }

    /// The stores' configured names.
    pub fn names(&self) -> PerSide<&str> {
        PerSide::new(&self.left.name, &self.right.name)
    }

    /// An error about `ui.theme` or `keys.<action>` (the keys the screen
    /// checks: its theme and key bindings), naming file, line and key. A key
    /// the file does not spell out (a default binding) is placed at `[keys]`.
    pub fn ui_error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let line = self
            .ui
            .key_lines
            .get(key)
            .or_else(|| key.strip_prefix("keys.").and(self.ui.key_lines.get("keys")))
            .copied();
        ConfigError {
            file: self.file.clone(),
            line,
            key: Some(key.to_string()),
            message: message.into(),
        }
    }
}
