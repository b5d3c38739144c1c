//! Validation of the raw TOML shape into the typed config: one store side
//! ([`store`], key by key) and `[sync]` ([`sync`]). Each check names the key
//! it refuses; the first refusal wins, in the order of the checks below.

use std::collections::BTreeMap;
use std::path::Path;

use super::policy::{
    ConflictPolicy, DeletePolicy, MatchRule, Mode, PhoneFormat, ScopeExit, or_list,
};
use super::raw::{Ctx, RawField, RawLimits, RawScope, RawStore, RawSync, key_text};
use super::transform::{self, Transform};
use super::types::{
    ConfigError, Direction, FieldMapping, Limits, PasswordSource, Scope, ServerConfig, StoreConfig,
    StoreKind, SyncConfig,
};
use crate::model::contact::{BadFieldPath, FieldPath};
use crate::vcard::WriteVersion;

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

/// One store side (`left` or `right`); relative paths are taken from `base`.
pub(super) fn store(
    ctx: &Ctx<'_>,
    side: &'static str,
    raw: RawStore,
    base: &Path,
) -> Result<StoreConfig, ConfigError> {
    let kind: StoreKind = ctx.choice(&[side, "kind"], &raw.kind)?;
    let (path, server) = place(ctx, side, kind, &raw, base)?;
    sql_keys(ctx, side, kind, &raw)?;
    let scope = scope(ctx, side, kind, raw.scope)?;
    let mut key_lines = store_key_lines(ctx, side);
    let fields = fields(ctx, side, kind, raw.fields, &mut key_lines)?;
    let own = [
        ("id", raw.id.as_deref()),
        ("modified", raw.modified.as_deref()),
        ("stamp", raw.stamp.as_deref()),
    ];
    one_use_per_column(ctx, side, own, &scope, &fields)?;
    emails_one_way(ctx, side, &fields)?;
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
        Some(l) => limits(ctx, side, l)?,
    };
    if let Some(stamp) = &raw.stamp {
        check_stamp(ctx, side, kind, stamp)?;
    }
    Ok(StoreConfig {
        side,
        name: raw.name.unwrap_or_else(|| side.to_string()),
        kind,
        path,
        server,
        table: raw.table,
        id: raw.id,
        modified: raw.modified,
        scope,
        fields,
        write_version,
        limits,
        stamp: raw.stamp,
        whole_card: false,
        key_lines,
        config_file: ctx.file.to_path_buf(),
    })
}

/// Where the store is: `path` for a file or folder store, `url` and the
/// credential keys for a server store; each kind refuses the other's keys.
fn place(
    ctx: &Ctx<'_>,
    side: &str,
    kind: StoreKind,
    raw: &RawStore,
    base: &Path,
) -> Result<(std::path::PathBuf, Option<ServerConfig>), ConfigError> {
    let server_keys = [
        ("url", &raw.url),
        ("username", &raw.username),
        ("password_env", &raw.password_env),
        ("password_command", &raw.password_command),
        ("ca_file", &raw.ca_file),
    ];
    if !kind.is_server() {
        if let Some((key, _)) = server_keys.iter().find(|(_, v)| v.is_some()) {
            return Err(ctx.err(
                &[side, *key],
                format!(
                    "only a server store (kind \"postgres\" or \"carddav\") has `{key}`; this store is kind \"{}\"",
                    kind.as_str()
                ),
            ));
        }
        let path = match raw.path.as_deref() {
            None => {
                return Err(ctx.err(
                    &[side, "path"],
                    format!(
                        "missing: a {} store needs the path of its {}",
                        kind.as_str(),
                        if kind == StoreKind::Vdir {
                            "folder"
                        } else {
                            "file"
                        }
                    ),
                ));
            }
            Some(p) if p.trim().is_empty() => {
                return Err(ctx.err(
                    &[side, "path"],
                    "must not be empty; expected a file or folder path",
                ));
            }
            Some(p) => p,
        };
        return Ok((base.join(path), None));
    }
    if raw.path.is_some() {
        return Err(ctx.err(
            &[side, "path"],
            format!("a {} store is reached by `url`, not `path`", kind.as_str()),
        ));
    }
    let url = match raw.url.as_deref().map(str::trim) {
        None => {
            return Err(ctx.err(
                &[side, "url"],
                format!(
                    "missing: a {} store needs the `url` of its server",
                    kind.as_str()
                ),
            ));
        }
        Some("") => return Err(ctx.err(&[side, "url"], "must not be empty")),
        Some(u) => u.to_string(),
    };
    if url.chars().any(char::is_control) {
        return Err(ctx.err(&[side, "url"], "contains a control character"));
    }
    check_url(kind, &url).map_err(|m| ctx.err(&[side, "url"], m))?;
    let password = match (&raw.password_env, &raw.password_command) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                &[side, "password_command"],
                "give `password_env` or `password_command`, not both",
            ));
        }
        (Some(name), None) => {
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(ctx.err(
                    &[side, "password_env"],
                    format!(
                        "{name:?} is not an environment variable name; expected a name like \"ABGLEICH_PASSWORD\""
                    ),
                ));
            }
            Some(PasswordSource::Env(name.clone()))
        }
        (None, Some(command)) if command.trim().is_empty() => {
            return Err(ctx.err(
                &[side, "password_command"],
                "must not be empty; expected a command like \"pass show dav/alice\"",
            ));
        }
        (None, Some(command)) => Some(PasswordSource::Command(command.clone())),
        (None, None) => None,
    };
    if let Some(user) = &raw.username
        && (user.is_empty() || user.chars().any(char::is_control))
    {
        return Err(ctx.err(
            &[side, "username"],
            "must not be empty or hold a control character",
        ));
    }
    let ca_file = match raw.ca_file.as_deref() {
        Some(f) if f.trim().is_empty() => {
            return Err(ctx.err(&[side, "ca_file"], "must not be empty; expected a PEM file"));
        }
        Some(f) => Some(base.join(f)),
        None => None,
    };
    Ok((
        std::path::PathBuf::new(),
        Some(ServerConfig {
            url,
            username: raw.username.clone(),
            password,
            ca_file,
        }),
    ))
}

/// A server address of the kind's form, which holds no password: a
/// password in the config file is refused (SPEC §2).
fn check_url(kind: StoreKind, url: &str) -> Result<(), String> {
    const NO_PASSWORD: &str = "holds a password; a password never stands in the config: use `password_env` or `password_command`";
    let lower = url.to_ascii_lowercase();
    let scheme_end = lower.find("://");
    if let Some(end) = scheme_end {
        let rest = &url[end + 3..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            return Err(NO_PASSWORD.to_string());
        }
        if url[end..].to_ascii_lowercase().contains("password=") {
            return Err(NO_PASSWORD.to_string());
        }
    }
    match kind {
        StoreKind::Carddav => {
            if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                return Err(format!(
                    "{url:?} is not an address book address; expected a URL like \"https://dav.example.com/\""
                ));
            }
        }
        _ => match scheme_end {
            Some(_) => {
                if !(lower.starts_with("postgresql://") || lower.starts_with("postgres://")) {
                    return Err(format!(
                        "{url:?} is not a PostgreSQL address; expected \"postgresql://user@host:5432/db\" or \"host=… dbname=…\""
                    ));
                }
            }
            // A libpq connection string: `key=value` pairs.
            None => {
                let has_password = url.split_whitespace().any(|pair| {
                    pair.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("password")
                });
                if has_password {
                    return Err(NO_PASSWORD.to_string());
                }
                if !url.contains('=') {
                    return Err(format!(
                        "{url:?} is not a PostgreSQL address; expected \"postgresql://user@host:5432/db\" or \"host=… dbname=…\""
                    ));
                }
            }
        },
    }
    Ok(())
}

/// `table`, `id` and `modified`: an SQL store needs the first two, no
/// other store may have any of them, and each names an identifier.
fn sql_keys(ctx: &Ctx<'_>, side: &str, kind: StoreKind, raw: &RawStore) -> Result<(), ConfigError> {
    let keys = [
        ("table", &raw.table),
        ("id", &raw.id),
        ("modified", &raw.modified),
    ];
    if kind.is_sql() {
        if raw.table.is_none() {
            return Err(ctx.err(
                &[side, "table"],
                format!(
                    "missing: a {} store needs the name of its table",
                    kind.as_str()
                ),
            ));
        }
        if raw.id.is_none() {
            return Err(ctx.err(
                &[side, "id"],
                format!(
                    "missing: a {} store needs the name of its id column",
                    kind.as_str()
                ),
            ));
        }
    } else if let Some((key, _)) = keys.iter().find(|(_, value)| value.is_some()) {
        return Err(ctx.err(
            &[side, *key],
            format!(
                "only an SQL store (kind \"sqlite\" or \"postgres\") has `{key}`; this store is kind \"{}\"",
                kind.as_str()
            ),
        ));
    }
    for (key, value) in keys {
        if let Some(v) = value {
            check_identifier(v).map_err(|m| ctx.err(&[side, key], m))?;
        }
    }
    Ok(())
}

/// `scope`: a column and its value for an sqlite store, a category for a
/// vCard store.
fn scope(
    ctx: &Ctx<'_>,
    side: &str,
    kind: StoreKind,
    raw: Option<RawScope>,
) -> Result<Scope, ConfigError> {
    let sql = kind.is_sql();
    match raw {
        None => Ok(Scope::All),
        Some(RawScope {
            column: Some(column),
            equals: Some(equals),
            category: None,
        }) if sql => {
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
            Ok(Scope::Column { column, equals })
        }
        Some(RawScope {
            column: None,
            equals: None,
            category: Some(category),
        }) if !sql => Ok(Scope::Category(category)),
        Some(_) if sql => Err(ctx.err(
            &[side, "scope"],
            format!(
                "expected {{ column = \"…\", equals = \"…\" }} for a {} store",
                kind.as_str()
            ),
        )),
        Some(_) => Err(ctx.err(
            &[side, "scope"],
            "expected { category = \"…\" } for a vCard store",
        )),
    }
}

/// Lines of the store's own keys, for errors found when the store opens.
fn store_key_lines(ctx: &Ctx<'_>, side: &str) -> BTreeMap<String, usize> {
    let mut key_lines = BTreeMap::new();
    for key in [
        &["kind"][..],
        &["path"],
        &["url"],
        &["username"],
        &["password_env"],
        &["password_command"],
        &["ca_file"],
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
    key_lines
}

/// `[<side>.fields]`, each canonical field at most once; adds the line of
/// each entry to `key_lines`.
fn fields(
    ctx: &Ctx<'_>,
    side: &str,
    kind: StoreKind,
    raw: BTreeMap<String, RawField>,
    key_lines: &mut BTreeMap<String, usize>,
) -> Result<Vec<FieldMapping>, ConfigError> {
    let mut fields: Vec<FieldMapping> = Vec::new();
    for (name, raw_field) in raw {
        let path = [side, "fields", name.as_str()];
        let field: FieldPath = name
            .parse()
            .map_err(|e: BadFieldPath| ctx.err(&path, e.to_string()))?;
        if let Some(first) = fields.iter().find(|f| f.field == field) {
            return Err(ctx.err(
                &path,
                format!(
                    "names the same field as \"{}\"; map each canonical field once",
                    first.key
                ),
            ));
        }
        let mapping = field_mapping(ctx, &path, field, kind, raw_field)?;
        if let Some(line) = ctx.loc.line(&path) {
            key_lines.insert(format!("fields.\"{name}\""), line);
        }
        fields.push(mapping);
    }
    Ok(fields)
}

/// Each column of an sqlite store carries one thing: two fields on one
/// column would leave one of them unwritten (the second e-mail address of
/// `email[1]` and `email[2]` on `email` never reaches the CRM), and a field
/// on the id, modified, stamp or scope column would fight the sync's own use
/// of it. The later of the two keys is refused, naming the earlier.
fn one_use_per_column(
    ctx: &Ctx<'_>,
    side: &str,
    own: [(&'static str, Option<&str>); 3],
    scope: &Scope,
    fields: &[FieldMapping],
) -> Result<(), ConfigError> {
    // (column, the key that uses it)
    let mut uses: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, column) in own {
        if let Some(column) = column {
            uses.push((column, vec![side, key]));
        }
    }
    if let Scope::Column { column, .. } = scope {
        uses.push((column, vec![side, "scope", "column"]));
    }
    for f in fields {
        if let Some(column) = &f.column {
            uses.push((column, vec![side, "fields", f.key.as_str()]));
        }
    }
    for (i, (column, path)) in uses.iter().enumerate() {
        // SQLite column names are case-insensitive.
        let Some((_, first)) = uses[..i]
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(column))
        else {
            continue;
        };
        // Refuse the key further down the file, naming the one it repeats.
        let (at, other) = if ctx.loc.line(first) > ctx.loc.line(path) {
            (first, path)
        } else {
            (path, first)
        };
        return Err(ctx.err(
            at,
            format!(
                "column {column:?} is already used by `{}`; a column carries one field \
                 (give this one a column of its own, or leave it out)",
                key_text(other)
            ),
        ));
    }
    Ok(())
}

/// E-mail fields by position (`email[N]`: the N-th address whatever its
/// kind) and by kind (`email.work[N]`) in one mapping may name the same
/// address twice (`email[1]` and `email.work[1]` on a card whose first
/// address is a work address), and then an edit of one never travels. The
/// later key is refused, naming the earlier.
fn emails_one_way(ctx: &Ctx<'_>, side: &str, fields: &[FieldMapping]) -> Result<(), ConfigError> {
    let positional = fields
        .iter()
        .find(|f| matches!(f.field, FieldPath::Email { kind: None, .. }));
    let kinded = fields
        .iter()
        .find(|f| matches!(f.field, FieldPath::Email { kind: Some(_), .. }));
    let (Some(p), Some(k)) = (positional, kinded) else {
        return Ok(());
    };
    let (p_path, k_path) = (
        [side, "fields", p.key.as_str()],
        [side, "fields", k.key.as_str()],
    );
    let (at, other) = if ctx.loc.line(&p_path) > ctx.loc.line(&k_path) {
        (p_path, &k.key)
    } else {
        (k_path, &p.key)
    };
    Err(ctx.err(
        &at,
        format!(
            "`{other}` and this key may name the same address (`email[N]` counts every address \
             whatever its kind), and then an edit of one never travels; map e-mail addresses \
             one way: by position (`email[1]`, `email[2]`, …) or by kind (`email.work[1]`, …)"
        ),
    ))
}

/// The entry for `field` at `path` (`[side, "fields", key]`): its column,
/// transform and direction.
fn field_mapping(
    ctx: &Ctx<'_>,
    path: &[&str; 3],
    field: FieldPath,
    kind: StoreKind,
    raw: RawField,
) -> Result<FieldMapping, ConfigError> {
    let (column, transform, direction) = match raw {
        RawField::Column(c) => (Some(c), None, None),
        RawField::Full(t) => (t.column, t.transform, t.direction),
    };
    let sql = kind.is_sql();
    if sql && column.is_none() {
        return Err(ctx.err(
            path,
            "expected a column name, or { column = \"…\", transform = \"e164\" }",
        ));
    }
    if let Some(c) = &column {
        if !sql {
            return Err(ctx.err(
                path,
                "a vCard store has no columns; list the field with { direction = \"…\" } or leave it out",
            ));
        }
        check_identifier(c).map_err(|m| ctx.err(path, m))?;
    }
    let transform = match transform.as_deref() {
        None => Transform::None,
        Some(name) => name.parse().map_err(|_| {
            let names: Vec<String> = Transform::NAMES
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect();
            ctx.err(
                path,
                format!(
                    "transform \"{name}\" is not known; expected {}",
                    or_list(&names)
                ),
            )
        })?,
    };
    if let Some(reason) = transform::refused(&field, transform, sql) {
        return Err(ctx.err(path, reason));
    }
    let direction = match direction.as_deref() {
        None => Direction::Both,
        Some(d) => ctx.choice(path, d)?,
    };
    Ok(FieldMapping {
        field,
        key: path[2].to_string(),
        column,
        transform,
        direction,
    })
}

/// `limits`: what the store can hold.
fn limits(ctx: &Ctx<'_>, side: &str, raw: RawLimits) -> Result<Limits, ConfigError> {
    let phone_format = match raw.phone_format.as_deref() {
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
    };
    Ok(Limits {
        emails: raw.emails,
        phones_per_kind: raw.phones_per_kind,
        urls: raw.urls,
        notes: raw.notes.unwrap_or(true),
        phone_format,
    })
}

/// `stamp`: a column for an SQL store, an `X-` property for a vCard store.
fn check_stamp(ctx: &Ctx<'_>, side: &str, kind: StoreKind, stamp: &str) -> Result<(), ConfigError> {
    if kind.is_sql() {
        // A column that keeps the card's UID; checked against the table
        // when the store opens.
        return check_identifier(stamp).map_err(|m| ctx.err(&[side, "stamp"], m));
    }
    let valid = stamp.len() > 2
        && stamp.as_bytes()[..2].eq_ignore_ascii_case(b"X-")
        && stamp
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(ctx.err(
            &[side, "stamp"],
            format!(
                "\"{stamp}\" is not an extension property name; expected a name like \"X-CRM-CUSTOMER-NO\""
            ),
        ))
    }
}

/// `[sync]`, each key with its default.
pub(super) fn sync(ctx: &Ctx<'_>, raw: RawSync) -> Result<SyncConfig, ConfigError> {
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
