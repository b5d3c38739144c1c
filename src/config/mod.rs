//! The TOML config (SPEC §4): typed, validated, and every error names the
//! file, the line and the key, with what was expected.

pub mod edit;
pub mod mapping;
pub mod policy;
pub mod transform;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::model::contact::FieldPath;
use crate::model::normal::Normalizer;
use crate::vcard::WriteVersion;
use policy::{UnknownName, named, or_list};

pub use policy::{ConflictPolicy, DeletePolicy, MatchRule, Mode, PhoneFormat, ScopeExit};
pub use transform::Transform;

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
        Vdir => "vdir",
        Vcard => "vcard",
    }
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
    /// Resolved against the config file's folder.
    pub path: PathBuf,
    pub table: Option<String>,
    pub id: Option<String>,
    pub modified: Option<String>,
    pub scope: Scope,
    pub fields: Vec<FieldMapping>,
    pub write_version: WriteVersion,
    pub limits: Limits,
    pub stamp: Option<String>,
    /// The config file, for errors found when the store opens.
    pub config_file: PathBuf,
    /// Line of each key of this store (`table`, `fields."name.given"`, …),
    /// for errors found when the store opens.
    pub key_lines: BTreeMap<String, usize>,
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

// ---- raw TOML shape ------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    left: RawStore,
    right: RawStore,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    ui: RawUi,
    #[serde(default)]
    keys: BTreeMap<String, RawKeys>,
}

/// `quit = "q"` or `down = ["j", "down"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawKeys {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    name: Option<String>,
    kind: String,
    path: String,
    table: Option<String>,
    id: Option<String>,
    modified: Option<String>,
    scope: Option<RawScope>,
    #[serde(default)]
    fields: BTreeMap<String, RawField>,
    write_version: Option<String>,
    limits: Option<RawLimits>,
    stamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawField {
    Column(String),
    Full(RawFieldTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldTable {
    column: Option<String>,
    transform: Option<String>,
    direction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    column: Option<String>,
    equals: Option<toml::Value>,
    category: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    emails: Option<usize>,
    phones_per_kind: Option<usize>,
    urls: Option<usize>,
    notes: Option<bool>,
    phone_format: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSync {
    mode: Option<String>,
    conflicts: Option<String>,
    deletes: Option<RawDeletes>,
    scope_exit: Option<String>,
    #[serde(rename = "match")]
    match_rules: Option<Vec<String>>,
    default_region: Option<String>,
    max_delete_percent: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeletes {
    left_to_right: Option<String>,
    right_to_left: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUi {
    theme: Option<String>,
}

// ---- loading -------------------------------------------------------------

/// Finds the line of a key path in the TOML text, for error messages.
struct Locator {
    doc: Option<toml_edit::Document<String>>,
    text: String,
}

impl Locator {
    fn new(text: &str) -> Self {
        Locator {
            doc: toml_edit::Document::parse(text.to_string()).ok(),
            text: text.to_string(),
        }
    }

    fn line_of_offset(&self, offset: usize) -> usize {
        self.text.as_bytes()[..offset.min(self.text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// Line of the deepest part of `path` that exists.
    fn line(&self, path: &[&str]) -> Option<usize> {
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

fn key_text(path: &[&str]) -> String {
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

struct Ctx<'a> {
    file: &'a Path,
    loc: Locator,
}

impl Ctx<'_> {
    fn err(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: self.loc.line(path),
            key: Some(key_text(path)),
            message: message.into(),
        }
    }

    /// `value` as one of the names of `T`, or an error listing them.
    fn choice<T>(&self, path: &[&str], value: &str) -> Result<T, ConfigError>
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

impl Config {
    /// Read and validate a config file.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            file: file.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read the config: {e}"),
        })?;
        Config::parse(&text, file)
    }

    /// Validate config text; `file` names it in errors and anchors relative paths.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let ctx = Ctx {
            file,
            loc: Locator::new(text),
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| ctx.loc.line_of_offset(s.start));
            ConfigError {
                file: file.to_path_buf(),
                line,
                key: None,
                message: e.message().trim().to_string(),
            }
        })?;
        let base = file.parent().unwrap_or(Path::new("."));
        let left = store(&ctx, "left", raw.left, base)?;
        let right = store(&ctx, "right", raw.right, base)?;
        let sync = sync(&ctx, raw.sync)?;
        let normalizer = Normalizer::new(&sync.default_region).ok_or_else(|| {
            ctx.err(
                &["sync", "default_region"],
                format!(
                    "\"{}\" is not a region code; expected a two-letter ISO 3166 code like \"DE\"",
                    sync.default_region
                ),
            )
        })?;
        if left.fields.is_empty() && left.kind == StoreKind::Sqlite {
            return Err(ctx.err(
                &["left", "fields"],
                "an sqlite store needs a [left.fields] table mapping canonical fields to columns",
            ));
        }
        if right.fields.is_empty() && right.kind == StoreKind::Sqlite {
            return Err(ctx.err(
                &["right", "fields"],
                "an sqlite store needs a [right.fields] table mapping canonical fields to columns",
            ));
        }
        Ok(Config {
            file: file.to_path_buf(),
            left,
            right,
            sync,
            ui: UiConfig {
                theme: raw.ui.theme.unwrap_or_else(|| "default".to_string()),
                keys: raw
                    .keys
                    .into_iter()
                    .map(|(action, keys)| {
                        let keys = match keys {
                            RawKeys::One(k) => vec![k],
                            RawKeys::Many(k) => k,
                        };
                        (action, keys)
                    })
                    .collect(),
            },
            normalizer,
        })
    }
}

fn store(
    ctx: &Ctx<'_>,
    side: &'static str,
    raw: RawStore,
    base: &Path,
) -> Result<StoreConfig, ConfigError> {
    let kind: StoreKind = ctx.choice(&[side, "kind"], &raw.kind)?;
    if raw.path.trim().is_empty() {
        return Err(ctx.err(
            &[side, "path"],
            "must not be empty; expected a file or folder path",
        ));
    }
    let path = base.join(&raw.path);
    let sql_only = [
        ("table", raw.table.is_some()),
        ("id", raw.id.is_some()),
        ("modified", raw.modified.is_some()),
    ];
    if kind == StoreKind::Sqlite {
        if raw.table.is_none() {
            return Err(ctx.err(
                &[side, "table"],
                "missing: an sqlite store needs the name of its table",
            ));
        }
        if raw.id.is_none() {
            return Err(ctx.err(
                &[side, "id"],
                "missing: an sqlite store needs the name of its id column",
            ));
        }
    } else {
        for (key, present) in sql_only {
            if present {
                return Err(ctx.err(
                    &[side, key],
                    format!(
                        "only an sqlite store has `{key}`; this store is kind \"{}\"",
                        kind.as_str()
                    ),
                ));
            }
        }
    }
    for (key, value) in [
        ("table", &raw.table),
        ("id", &raw.id),
        ("modified", &raw.modified),
    ] {
        if let Some(v) = value {
            check_identifier(v).map_err(|m| ctx.err(&[side, key], m))?;
        }
    }

    let scope = match raw.scope {
        None => Scope::All,
        Some(RawScope {
            column: Some(column),
            equals: Some(equals),
            category: None,
        }) if kind == StoreKind::Sqlite => {
            check_identifier(&column).map_err(|m| ctx.err(&[side, "scope", "column"], m))?;
            let equals = match equals {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => if b { "1" } else { "0" }.to_string(),
                _ => {
                    return Err(ctx.err(
                        &[side, "scope", "equals"],
                        "expected a string or an integer",
                    ));
                }
            };
            Scope::Column { column, equals }
        }
        Some(RawScope {
            column: None,
            equals: None,
            category: Some(category),
        }) if kind != StoreKind::Sqlite => Scope::Category(category),
        Some(_) if kind == StoreKind::Sqlite => {
            return Err(ctx.err(
                &[side, "scope"],
                "expected { column = \"…\", equals = \"…\" } for an sqlite store",
            ));
        }
        Some(_) => {
            return Err(ctx.err(
                &[side, "scope"],
                "expected { category = \"…\" } for a vCard store",
            ));
        }
    };

    let mut fields = Vec::new();
    let mut key_lines = BTreeMap::new();
    for key in [
        &["path"][..],
        &["table"],
        &["id"],
        &["modified"],
        &["scope", "column"],
    ] {
        let path: Vec<&str> = std::iter::once(side).chain(key.iter().copied()).collect();
        if let Some(line) = ctx.loc.line(&path) {
            key_lines.insert(key.join("."), line);
        }
    }
    for (name, raw_field) in raw.fields {
        let path = [side, "fields", name.as_str()];
        let field: FieldPath = name
            .parse()
            .map_err(|e: crate::model::contact::BadFieldPath| ctx.err(&path, e.to_string()))?;
        if let Some(first) = fields.iter().find(|f: &&FieldMapping| f.field == field) {
            return Err(ctx.err(
                &path,
                format!(
                    "names the same field as \"{}\"; map each canonical field once",
                    first.key
                ),
            ));
        }
        let (column, transform, direction) = match raw_field {
            RawField::Column(c) => (Some(c), None, None),
            RawField::Full(t) => (t.column, t.transform, t.direction),
        };
        if kind == StoreKind::Sqlite && column.is_none() {
            return Err(ctx.err(
                &path,
                "expected a column name, or { column = \"…\", transform = \"e164\" }",
            ));
        }
        if let Some(c) = &column {
            if kind != StoreKind::Sqlite {
                return Err(ctx.err(&path, "a vCard store has no columns; list the field with { direction = \"…\" } or leave it out"));
            }
            check_identifier(c).map_err(|m| ctx.err(&path, m))?;
        }
        let transform = match transform.as_deref() {
            None => Transform::None,
            Some(name) => name.parse().map_err(|_| {
                let names: Vec<String> = Transform::NAMES
                    .iter()
                    .map(|n| format!("\"{n}\""))
                    .collect();
                ctx.err(
                    &path,
                    format!(
                        "transform \"{name}\" is not known; expected {}",
                        or_list(&names)
                    ),
                )
            })?,
        };
        if let Some(reason) = transform::refused(&field, transform, kind == StoreKind::Sqlite) {
            return Err(ctx.err(&path, reason));
        }
        let direction = match direction.as_deref() {
            None => Direction::Both,
            Some(d) => ctx.choice(&path, d)?,
        };
        if let Some(line) = ctx.loc.line(&path) {
            key_lines.insert(format!("fields.\"{name}\""), line);
        }
        fields.push(FieldMapping {
            field,
            key: name.clone(),
            column,
            transform,
            direction,
        });
    }

    let write_version = match raw.write_version.as_deref() {
        None => WriteVersion::V4,
        Some(v) => WriteVersion::parse(v).ok_or_else(|| {
            ctx.err(
                &[side, "write_version"],
                format!("\"{v}\" is not allowed; expected \"3.0\" or \"4.0\""),
            )
        })?,
    };
    let limits = match raw.limits {
        None => Limits::default(),
        Some(l) => Limits {
            emails: l.emails,
            phones_per_kind: l.phones_per_kind,
            urls: l.urls,
            notes: l.notes.unwrap_or(true),
            phone_format: match l.phone_format.as_deref() {
                None => PhoneFormat::Any,
                Some(name) => name.parse().map_err(|_| {
                    let names: Vec<String> = PhoneFormat::NAMES
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect();
                    ctx.err(
                        &[side, "limits", "phone_format"],
                        format!("\"{name}\" is not allowed; expected {}", or_list(&names)),
                    )
                })?,
            },
        },
    };
    if let Some(stamp) = raw.stamp.as_ref().filter(|_| kind == StoreKind::Sqlite) {
        // A column that keeps the card's UID; checked against the table
        // when the store opens.
        check_identifier(stamp).map_err(|m| ctx.err(&[side, "stamp"], m))?;
    } else if let Some(stamp) = &raw.stamp {
        let valid = stamp.len() > 2
            && stamp.as_bytes()[..2].eq_ignore_ascii_case(b"X-")
            && stamp
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(ctx.err(&[side, "stamp"], format!("\"{stamp}\" is not an extension property name; expected a name like \"X-CRM-CUSTOMER-NO\"")));
        }
    }
    Ok(StoreConfig {
        side,
        name: raw.name.unwrap_or_else(|| side.to_string()),
        kind,
        path,
        table: raw.table,
        id: raw.id,
        modified: raw.modified,
        scope,
        fields,
        write_version,
        limits,
        stamp: raw.stamp,
        key_lines,
        config_file: ctx.file.to_path_buf(),
    })
}

impl StoreConfig {
    /// `file:line: key `side.key`` for a message about one of this store's keys.
    pub fn locate(&self, key: &str) -> String {
        let place = match self.key_lines.get(key) {
            Some(line) => format!("{}:{line}", self.config_file.display()),
            None => self.config_file.display().to_string(),
        };
        format!("{place}: key `{}.{key}`", self.side)
    }
}

/// An SQL identifier from config: any printable name, but no NUL or control
/// character. It is checked against the real schema and quoted before use.
pub fn check_identifier(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty; expected a table or column name".to_string());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(format!(
            "{name:?} contains a control character; expected a table or column name"
        ));
    }
    Ok(())
}

fn sync(ctx: &Ctx<'_>, raw: RawSync) -> Result<SyncConfig, ConfigError> {
    let mode = match raw.mode.as_deref() {
        None => Mode::Sync,
        Some(m) => ctx.choice(&["sync", "mode"], m)?,
    };
    let conflicts = match raw.conflicts.as_deref() {
        None => ConflictPolicy::Ask,
        Some(c) => ctx.choice(&["sync", "conflicts"], c)?,
    };
    let delete_policy = |key: &str, value: Option<&str>| match value {
        None => Ok(DeletePolicy::Ask),
        Some(v) => ctx.choice(&["sync", "deletes", key], v),
    };
    let (l2r, r2l) = match &raw.deletes {
        None => (DeletePolicy::Ask, DeletePolicy::Ask),
        Some(d) => (
            delete_policy("left_to_right", d.left_to_right.as_deref())?,
            delete_policy("right_to_left", d.right_to_left.as_deref())?,
        ),
    };
    let scope_exit = match raw.scope_exit.as_deref() {
        None => ScopeExit::Unlink,
        Some(s) => ctx.choice(&["sync", "scope_exit"], s)?,
    };
    let match_rules = match raw.match_rules {
        None => vec![
            MatchRule::Stamp,
            MatchRule::Email,
            MatchRule::Phone,
            MatchRule::Name,
        ],
        Some(list) => list
            .iter()
            .map(|m| ctx.choice(&["sync", "match"], m))
            .collect::<Result<_, _>>()?,
    };
    let max_delete_percent = match raw.max_delete_percent {
        None => 20,
        Some(p @ 0..=100) => p as u8,
        Some(p) => {
            return Err(ctx.err(
                &["sync", "max_delete_percent"],
                format!("{p} is out of range; expected a percentage from 0 to 100"),
            ));
        }
    };
    Ok(SyncConfig {
        mode,
        conflicts,
        deletes_left_to_right: l2r,
        deletes_right_to_left: r2l,
        scope_exit,
        match_rules,
        default_region: raw.default_region.unwrap_or_else(|| "DE".to_string()),
        max_delete_percent,
    })
}

/// The commented config `abgleich init` writes.
pub const INIT_TEMPLATE: &str = include_str!("../../samples/abgleich.toml");

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = "customers"
id = "id"
modified = "updated_at"
scope = { column = "outlook_sync", equals = 1 }

[left.fields]
"name.given" = "first_name"
"phone.cell" = { column = "mobile", transform = "e164" }

[right]
kind = "vdir"
path = "outlook"
write_version = "3.0"
limits = { emails = 3, phones_per_kind = 2, urls = 1, notes = false, phone_format = "e164" }
stamp = "X-CRM-CUSTOMER-NO"

[sync]
mode = "sync"
deletes = { left_to_right = "propagate", right_to_left = "ask" }
match = ["stamp", "email"]
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/x/abgleich.toml"))
    }

    #[test]
    fn a_good_config_is_typed() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.left.path, Path::new("/x/crm.sqlite"));
        assert_eq!(c.left.fields.len(), 2);
        assert_eq!(c.left.fields[1].transform, Transform::E164);
        assert_eq!(
            c.left.scope,
            Scope::Column {
                column: "outlook_sync".into(),
                equals: "1".into()
            }
        );
        assert_eq!(c.right.write_version, WriteVersion::V3);
        assert_eq!(c.right.limits.emails, Some(3));
        assert!(!c.right.limits.notes);
        assert_eq!(c.sync.deletes_right_to_left, DeletePolicy::Ask);
        assert_eq!(c.sync.match_rules, vec![MatchRule::Stamp, MatchRule::Email]);
    }

    #[test]
    fn an_unknown_canonical_field_names_file_line_and_key() {
        let text = GOOD.replace(
            "\"name.given\" = \"first_name\"",
            "\"name.first\" = \"first_name\"",
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, Some(12));
        assert_eq!(e.key.as_deref(), Some("left.fields.\"name.first\""));
        let shown = e.to_string();
        assert!(
            shown.starts_with("/x/abgleich.toml:12: key `left.fields.\"name.first\"`"),
            "{shown}"
        );
        assert!(shown.contains("expected one of"), "{shown}");
    }

    #[test]
    fn a_bad_choice_lists_the_allowed_values() {
        let e = parse(&GOOD.replace("mode = \"sync\"", "mode = \"both\"")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sync.mode"));
        assert_eq!(e.line, Some(23));
        assert!(e.message.contains("\"left-wins\""), "{}", e.message);
    }

    #[test]
    fn an_unknown_key_is_a_syntax_error_with_a_line() {
        let e = parse(&GOOD.replace("write_version", "write_versoin")).unwrap_err();
        assert_eq!(e.line, Some(18));
        assert!(e.message.contains("write_versoin"), "{}", e.message);
    }

    #[test]
    fn sql_keys_on_a_vcard_store_are_refused() {
        let e = parse(&GOOD.replace("path = \"outlook\"", "path = \"outlook\"\ntable = \"x\""))
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("right.table"));
    }

    #[test]
    fn one_field_mapped_twice_is_refused_naming_both_keys() {
        let text = GOOD.replace(
            "\"name.given\" = \"first_name\"",
            "\"email[1]\" = \"a\"\n\"email\" = \"b\"",
        );
        let e = parse(&text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("left.fields.\"email[1]\""));
        assert_eq!(e.line, Some(12));
        assert!(e.message.contains("\"email\""), "{}", e.message);
    }

    #[test]
    fn a_stamp_that_is_not_an_x_property_is_refused() {
        for bad in ["ü-CRM", "X-", "NOTE", "X-A B"] {
            let e = parse(&GOOD.replace("X-CRM-CUSTOMER-NO", bad)).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("right.stamp"), "{bad}");
        }
    }

    #[test]
    fn the_init_template_is_a_valid_config() {
        parse(INIT_TEMPLATE).unwrap();
    }
}
