//! The TOML config (SPEC §4): typed, validated, and every error names the
//! file, the line and the key, with what was expected.
//!
//! `types.rs` holds the typed config and `policy.rs` the named choices
//! (both re-exported here), `raw.rs` the TOML shape and the key locator,
//! `validate.rs` the checks of one store and of `[sync]`, and `transform.rs`
//! the rule for which transform fits which field.

pub mod edit;
pub mod mapping;
pub mod policy;
mod raw;
pub mod transform;
mod types;
mod validate;

use std::path::Path;

pub use policy::{ConflictPolicy, DeletePolicy, MatchRule, Mode, PhoneFormat, ScopeExit};
pub use transform::Transform;
pub use types::{
    Config, ConfigError, Direction, FieldMapping, Limits, PasswordSource, Scope, ServerConfig,
    StoreConfig, StoreKind, SyncConfig, UiConfig,
};
pub use validate::check_identifier;

use crate::model::normal::Normalizer;
use raw::{Ctx, Locator, RawConfig, RawKeys};

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
            let key = e
                .span()
                .and_then(|s| ctx.loc.key_at(s.start))
                .map(|path| raw::key_text(&path.iter().map(String::as_str).collect::<Vec<_>>()));
            ConfigError {
                file: file.to_path_buf(),
                line,
                key,
                message: raw::plain_message(e.message()),
            }
        })?;
        let base = file.parent().unwrap_or(Path::new("."));
        let mut left = validate::store(&ctx, "left", raw.left, base)?;
        let mut right = validate::store(&ctx, "right", raw.right, base)?;
        if same_store(&left, &right) {
            let key = if right.server.is_some() {
                "url"
            } else {
                "path"
            };
            return Err(ctx.err(
                &["right", key],
                format!(
                    "the right store is the left one again ({}); both sides must be different stores",
                    right.location()
                ),
            ));
        }
        let whole_card = left.kind.holds_cards() && right.kind.holds_cards();
        (left.whole_card, right.whole_card) = (whole_card, whole_card);
        let sync = validate::sync(&ctx, raw.sync)?;
        let normalizer = Normalizer::new(&sync.default_region).ok_or_else(|| {
            ctx.err(
                &["sync", "default_region"],
                format!(
                    "\"{}\" is not a region code; expected a two-letter ISO 3166 code like \"DE\"",
                    sync.default_region
                ),
            )
        })?;
        if left.fields.is_empty() && left.kind.is_sql() {
            return Err(ctx.err(
                &["left", "fields"],
                format!(
                    "a {} store needs a [left.fields] table mapping canonical fields to columns",
                    left.kind.as_str()
                ),
            ));
        }
        if right.fields.is_empty() && right.kind.is_sql() {
            return Err(ctx.err(
                &["right", "fields"],
                format!(
                    "a {} store needs a [right.fields] table mapping canonical fields to columns",
                    right.kind.as_str()
                ),
            ));
        }
        let mut key_lines = std::collections::BTreeMap::new();
        for (key, path) in [("ui.theme", &["ui", "theme"][..]), ("keys", &["keys"])] {
            if let Some(line) = ctx.loc.line(path) {
                key_lines.insert(key.to_string(), line);
            }
        }
        for action in raw.keys.keys() {
            if let Some(line) = ctx.loc.line(&["keys", action]) {
                key_lines.insert(format!("keys.{action}"), line);
            }
        }
        Ok(Config {
            file: file.to_path_buf(),
            left,
            right,
            sync,
            ui: UiConfig {
                theme: raw.ui.theme.unwrap_or_else(|| "default".to_string()),
                key_lines,
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

/// The commented config `abgleich init` writes.
pub const INIT_TEMPLATE: &str = include_str!("../../samples/abgleich.toml");

/// Whether two store configs name the same store: the same file or folder
/// (after resolving `.`, `..` and links where it exists), or the same
/// server address, and for SQL stores the same table.
fn same_store(left: &StoreConfig, right: &StoreConfig) -> bool {
    let same_table = || {
        !left.kind.is_sql()
            || !right.kind.is_sql()
            || left.table.as_deref().map(str::to_lowercase)
                == right.table.as_deref().map(str::to_lowercase)
    };
    match (&left.server, &right.server) {
        (Some(l), Some(r)) => {
            let url = |s: &ServerConfig| s.url.trim_end_matches('/').to_lowercase();
            return left.kind == right.kind && url(l) == url(r) && same_table();
        }
        (None, None) => {}
        _ => return false,
    }
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    // The same file under two names (a hard link, a bind mount) too.
    #[cfg(unix)]
    let same_file = {
        use std::os::unix::fs::MetadataExt;
        match (
            std::fs::metadata(&left.path),
            std::fs::metadata(&right.path),
        ) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    };
    #[cfg(not(unix))]
    let same_file = false;
    (same_file || real(&left.path) == real(&right.path)) && same_table()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcard::WriteVersion;

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
    fn a_field_on_the_id_or_scope_column_is_refused() {
        let text = GOOD.replace("\"name.given\" = \"first_name\"", "\"name.given\" = \"ID\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("left.fields.\"name.given\""));
        assert!(e.message.contains("`left.id`"), "{}", e.message);
        let text = GOOD.replace("\"name.given\" = \"first_name\"", "note = \"outlook_sync\"");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("left.fields.note"));
        assert!(e.message.contains("`left.scope.column`"), "{}", e.message);
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

    #[test]
    fn server_stores_take_a_url_and_a_password_source_never_a_password() {
        let pg = GOOD
            .replace("kind = \"sqlite\"", "kind = \"postgres\"")
            .replace(
                "path = \"crm.sqlite\"",
                "url = \"postgresql://crm@db.internal:5432/crm\"\npassword_env = \"CRM_PW\"",
            )
            .replace("table = \"customers\"", "table = \"public.kunden\"");
        let c = parse(&pg).unwrap();
        assert_eq!(c.left.kind, StoreKind::Postgres);
        let server = c.left.server.as_ref().unwrap();
        assert_eq!(server.password, Some(PasswordSource::Env("CRM_PW".into())));
        assert_eq!(c.left.location(), "postgresql://crm@db.internal:5432/crm");
        // An SQL store's keys stay required.
        let e = parse(&pg.replace("id = \"id\"\n", "")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("left.id"));

        for (url, key) in [
            ("postgresql://crm:hunter2@db/crm", "left.url"),
            ("host=db user=crm password=hunter2", "left.url"),
            ("postgresql://crm@db/crm?password=hunter2", "left.url"),
            ("mysql://crm@db/crm", "left.url"),
        ] {
            let e = parse(&pg.replace("postgresql://crm@db.internal:5432/crm", url)).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{url}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        let both = pg.replace(
            "password_env = \"CRM_PW\"",
            "password_env = \"CRM_PW\"\npassword_command = \"pass x\"",
        );
        assert_eq!(
            parse(&both).unwrap_err().key.as_deref(),
            Some("left.password_command")
        );
        let with_path = pg.replace("table = ", "path = \"x\"\ntable = ");
        assert_eq!(
            parse(&with_path).unwrap_err().key.as_deref(),
            Some("left.path")
        );

        let dav = GOOD.replace(
            "kind = \"vdir\"\npath = \"outlook\"",
            "kind = \"carddav\"\nurl = \"https://alice:pw@dav.example.com/\"\nusername = \"alice\"",
        );
        assert_eq!(parse(&dav).unwrap_err().key.as_deref(), Some("right.url"));
        let dav = dav.replace("alice:pw@", "");
        let c = parse(&dav).unwrap();
        assert_eq!(c.right.kind, StoreKind::Carddav);
        assert!(
            !c.right.whole_card,
            "a CRM and a server book: fields travel, not whole cards"
        );
        let e = parse(&dav.replace("https://", "ftp://")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("right.url"));
        // A file store has no url, a server store no path.
        let e = parse(&GOOD.replace(
            "path = \"outlook\"",
            "path = \"outlook\"\nurl = \"https://x/\"",
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("right.url"));
    }
}
