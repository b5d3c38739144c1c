//! `sqlite`: a CRM table in an existing SQLite database.
//!
//! Table and column names come from config; each is checked against the
//! database's real schema and quoted before it reaches SQL, so a config
//! value can never become SQL code. The user's database settings are left
//! alone (no journal-mode change; foreign keys are enforced, as the CRM's own
//! program does). Creates take the id the table assigns (the rowid, a DEFAULT
//! expression) or, for a text key nothing fills, a fresh UUID.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::path::PathBuf;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter, types::ValueRef};

use super::interface::{
    JournalStore, Known, Listed, Listing, Patch, Previewed, ReadStore, StoreError, Version,
    Versions, WriteStore,
};
use super::sql::{
    Layout, NewId, SavedRow, SavedValue, SqlRows, quote_identifier, referring, rows_of,
};
use crate::config::{Scope, StoreConfig};
use crate::model::normal::Normalizer;
use crate::model::record::Record;

pub struct SqliteStore {
    config: StoreConfig,
    conn: Connection,
    /// Quoted names, checked against the schema.
    table: String,
    layout: Layout,
    normalizer: Normalizer,
    /// The foreign keys that refer to the table's rows, found when undo or
    /// recovery first removes a row abgleich created.
    references: OnceCell<Vec<Reference>>,
}

/// A foreign key of a table of the database (the CRM table's own too) that
/// refers to rows of the CRM table.
struct Reference {
    /// The referring table, as the schema names it.
    table: String,
    /// Counts the rows of `table` that refer to the CRM row whose id is `?1`.
    count_sql: String,
}

fn text_of(value: ValueRef<'_>) -> Option<String> {
    text_in(value).map(Cow::into_owned)
}

/// A value as text, borrowed from the row where it is text already.
fn text_in(value: ValueRef<'_>) -> Option<Cow<'_, str>> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(Cow::Owned(i.to_string())),
        ValueRef::Real(f) => Some(Cow::Owned(f.to_string())),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t)),
    }
}

/// The real columns of the store's configured table, sorted, for the
/// mapping editor's pickers. Opens the database read-only.
pub fn table_columns(config: &StoreConfig) -> Result<Vec<String>, StoreError> {
    let (conn, path) = connect(config, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let table_name = config.table.clone().unwrap_or_default();
    let mut columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?
        .query_map([&table_name], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if columns.is_empty() {
        return Err(StoreError::Config {
            place: config.locate("table"),
            message: format!("{table_name:?} is not a table in {}", path.display()),
        });
    }
    columns.sort();
    Ok(columns)
}

/// Why `column` of `table` cannot be the id column, or `None` when it is a
/// key: unique (the table's only PRIMARY KEY column, or a UNIQUE constraint
/// or index on it alone) and never NULL (NOT NULL, an INTEGER PRIMARY KEY,
/// or the key of a WITHOUT ROWID table). SQLite lets any other PRIMARY KEY
/// hold NULL; an id that can be NULL or repeat cannot name one record.
fn why_not_a_key(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<Option<String>> {
    // (name, declared type, NOT NULL, position in the primary key)
    let columns: Vec<(String, String, bool, i64)> = conn
        .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")?
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let Some((_, declared, not_null, pk)) = columns.iter().find(|c| c.0 == column) else {
        return Ok(Some("it is not a column of the table".to_string()));
    };
    let sole_key = *pk == 1 && columns.iter().filter(|c| c.3 > 0).count() == 1;
    let without_rowid = is_without_rowid(conn, table)?;
    let rowid_alias = sole_key && is_rowid_alias(conn, table, declared)?;
    let mut unique = sole_key;
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1 AND partial = 0")?
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for index in indexes {
        let on: Vec<Option<String>> = conn
            .prepare("SELECT name FROM pragma_index_info(?1)")?
            .query_map([&index], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if on.len() == 1
            && on[0]
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(column))
        {
            unique = true;
        }
    }
    let never_null = *not_null || rowid_alias || (sole_key && without_rowid);
    Ok(match (unique, never_null) {
        (true, true) => None,
        (false, false) => Some("it is neither unique nor NOT NULL".to_string()),
        (false, true) => {
            Some("it is not unique (no PRIMARY KEY or UNIQUE constraint on it alone)".to_string())
        }
        (true, false) => Some(
            "it may hold NULL (only an INTEGER PRIMARY KEY is NOT NULL without saying so)"
                .to_string(),
        ),
    })
}

fn is_without_rowid(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE name = ?1 AND schema = 'main'",
            [table],
            |r| r.get::<_, bool>(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Whether the sole PRIMARY KEY column of `table`, declared `declared`, is
/// the rowid: never NULL, and numbered by SQLite when a row is inserted
/// without it.
fn is_rowid_alias(conn: &Connection, table: &str, declared: &str) -> rusqlite::Result<bool> {
    // An INTEGER PRIMARY KEY is the rowid, except when declared DESC: then
    // SQLite keeps it in an index of its own (origin "pk") and lets it hold
    // NULL. The index tells; the declaration does not.
    let pk_index = conn.query_row(
        "SELECT count(*) FROM pragma_index_list(?1) WHERE origin = 'pk'",
        [table],
        |r| r.get::<_, i64>(0),
    )? > 0;
    Ok(!is_without_rowid(conn, table)? && !pk_index && declared.eq_ignore_ascii_case("INTEGER"))
}

/// How a create gives the id column `column` of `table` (a key, see
/// [`why_not_a_key`]) its value, or why it cannot: SQLite numbers only the
/// rowid; a DEFAULT expression fills a column the INSERT leaves out; a
/// column of text (or no) affinity takes a UUID. Anything else (an INTEGER
/// NOT NULL UNIQUE that is not the rowid) would make every create fail.
fn new_id(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<Result<NewId, String>> {
    // (name, declared type, DEFAULT, position in the primary key)
    let columns: Vec<(String, String, Option<String>, i64)> = conn
        .prepare("SELECT name, type, dflt_value, pk FROM pragma_table_info(?1)")?
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let Some((_, declared, default, pk)) = columns.iter().find(|c| c.0 == column) else {
        return Ok(Err("it is not a column of the table".to_string()));
    };
    let sole_key = *pk == 1 && columns.iter().filter(|c| c.3 > 0).count() == 1;
    if sole_key && is_rowid_alias(conn, table, declared)? {
        return Ok(Ok(NewId::Table));
    }
    if default.as_deref().is_some_and(is_default_expression) {
        return Ok(Ok(NewId::Table));
    }
    // SQLite's affinity rules (its documentation, section 3.1).
    let upper = declared.to_ascii_uppercase();
    let text_like = !upper.contains("INT")
        && (["CHAR", "CLOB", "TEXT", "BLOB"]
            .iter()
            .any(|t| upper.contains(t))
            || upper.trim().is_empty());
    if text_like {
        return Ok(Ok(NewId::Uuid));
    }
    Ok(Err(format!(
        "a new row could not get an id: SQLite numbers only an INTEGER PRIMARY KEY (the rowid), \
         this column is declared {declared:?} without a DEFAULT expression, and abgleich gives \
         a fresh id (a UUID) only to a text column; make it the INTEGER PRIMARY KEY or a TEXT \
         column, or give it a DEFAULT expression"
    )))
}

/// Whether a column's DEFAULT (as `pragma_table_info` tells it, without
/// its parentheses) is an expression that may differ per row, as
/// `random()`: a literal (`'x'`, `0`, `-1`, `X'00'`, `NULL`, `TRUE`) or a
/// `CURRENT_TIME…` would give two rows inserted together the same id.
fn is_default_expression(default: &str) -> bool {
    let d = default.trim();
    let upper = d.to_ascii_uppercase();
    let literal = d.starts_with('\'')
        || upper.starts_with("X'")
        || ["NULL", "TRUE", "FALSE"].contains(&upper.as_str())
        || upper.starts_with("CURRENT_")
        || d.trim_start_matches(['+', '-']).parse::<f64>().is_ok()
        || upper.trim_start_matches(['+', '-']).starts_with("0X");
    !d.is_empty() && !literal
}

/// Open the configured database (which must exist: abgleich never creates
/// a CRM) with `access` (read-only or read-write).
fn connect(config: &StoreConfig, access: OpenFlags) -> Result<(Connection, PathBuf), StoreError> {
    let path: PathBuf = config.path.clone();
    if !path.is_file() {
        return Err(super::files::missing_store(
            config,
            "database",
            "abgleich never creates or empties a CRM",
        ));
    }
    let conn = Connection::open_with_flags(&path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // A CRM that declares foreign keys relies on them (its own program
    // turns them on per connection): abgleich's deletes cascade as its do.
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok((conn, path))
}

impl SqliteStore {
    /// `UPDATE` of the row whose id is parameter `?{id_param}`, setting
    /// `sets` (each `column = ?N`): the one statement an update and a
    /// put-back in place share. `OR ABORT`, whatever conflict clause the
    /// table declares: a clash undoes only this statement (`REPLACE` would
    /// delete another row, `ROLLBACK` end the whole transaction).
    fn update_sql(&self, sets: &[String], id_param: usize) -> String {
        format!(
            "UPDATE OR ABORT {} SET {} WHERE {} = ?{id_param}",
            self.table,
            sets.join(", "),
            self.layout.id
        )
    }

    pub fn open(config: &StoreConfig, normalizer: Normalizer) -> Result<Self, StoreError> {
        let (conn, path) = connect(config, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let config_err = |key: String, message: String| StoreError::Config {
            place: config.locate(&key),
            message,
        };
        let table_name = config.table.clone().unwrap_or_default();
        let exists: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?1",
                [&table_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        if exists.is_none() {
            let tables: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            return Err(config_err(
                "table".to_string(),
                format!(
                    "{table_name:?} is not a table in {}; expected one of: {}",
                    path.display(),
                    tables.join(", ")
                ),
            ));
        }
        let schema: HashSet<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([&table_name], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut known: Vec<&String> = schema.iter().collect();
        known.sort();
        let known = known
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let column = |key: String, name: &str| -> Result<String, StoreError> {
            if schema.contains(name) {
                Ok(quote_identifier(name))
            } else {
                Err(config_err(
                    key,
                    format!(
                        "{name:?} is not a column of table {table_name:?}; its columns are: {known}"
                    ),
                ))
            }
        };
        let id_name = config.id.as_deref().unwrap_or_default();
        let id = column("id".to_string(), id_name)?;
        if let Some(why) = why_not_a_key(&conn, &table_name, id_name)? {
            return Err(config_err(
                "id".to_string(),
                format!(
                    "column {id_name:?} of table {table_name:?} in {} cannot be the id: {why}; \
                     the id column must be a key, unique and NOT NULL (an INTEGER PRIMARY KEY, \
                     or NOT NULL with a UNIQUE constraint)",
                    path.display()
                ),
            ));
        }
        let new_id = match new_id(&conn, &table_name, id_name)? {
            Ok(new_id) => new_id,
            Err(why) => {
                return Err(config_err(
                    "id".to_string(),
                    format!(
                        "column {id_name:?} of table {table_name:?} in {} cannot be the id: {why}",
                        path.display()
                    ),
                ));
            }
        };
        let modified = config
            .modified
            .as_deref()
            .map(|m| column("modified".to_string(), m))
            .transpose()?;
        let stamp = config
            .stamp
            .as_deref()
            .map(|s| column("stamp".to_string(), s))
            .transpose()?;
        let scope = match &config.scope {
            Scope::Column { column: c, equals } => {
                Some((column("scope.column".to_string(), c)?, equals.clone()))
            }
            _ => None,
        };
        let mut columns = Vec::new();
        for mapping in &config.fields {
            let name = mapping.column.as_deref().unwrap_or_default();
            let key = format!("fields.\"{}\"", mapping.key);
            columns.push((mapping.clone(), column(key, name)?));
        }
        Ok(SqliteStore {
            config: config.clone(),
            conn,
            table: quote_identifier(&table_name),
            layout: Layout {
                id,
                new_id,
                columns,
                modified,
                scope,
                stamp,
            },
            normalizer,
            references: OnceCell::new(),
        })
    }

    fn select_sql(&self, filter: &str) -> String {
        let l = &self.layout;
        let mut cols = vec![format!("CAST({} AS TEXT)", l.id)];
        cols.extend(l.columns.iter().map(|(_, c)| c.clone()));
        cols.extend(l.modified.clone());
        cols.extend(l.scope.iter().map(|(s, _)| format!("CAST({s} AS TEXT)")));
        cols.extend(l.stamp.iter().map(|s| format!("CAST({s} AS TEXT)")));
        format!("SELECT {} FROM {} {filter}", cols.join(", "), self.table)
    }

    fn row_to_record(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
        let values = (0..self.layout.read_columns().len())
            .map(|i| row.get_ref(i).map(text_of))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(self.layout.record(values))
    }

    /// A transaction of this write's own, unless the apply holds one.
    fn own_transaction(&self) -> Result<Option<rusqlite::Transaction<'_>>, StoreError> {
        if self.conn.is_autocommit() {
            Ok(Some(self.conn.unchecked_transaction()?))
        } else {
            Ok(None)
        }
    }

    fn current_revision(&self, id: &str) -> Result<String, StoreError> {
        self.read(id).map(|r| r.revision)
    }
}

impl SqlRows for SqliteStore {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Row `id`'s columns the store reads, as (quoted column, value): the
    /// id, the mapped columns, the modified, scope and stamp columns.
    fn row_values(&self, id: &str) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let names = self.layout.read_columns();
        let sql = self.select_sql(&format!("WHERE {} = ?1", self.layout.id));
        let values = self
            .conn
            .query_row(&sql, [id], |row| {
                (0..names.len())
                    .map(|i| row.get_ref(i).map(text_of))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()?
            .ok_or_else(|| StoreError::Missing { id: id.to_string() })?;
        Ok(names.into_iter().zip(values).collect())
    }

    fn now() -> String {
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

impl ReadStore for SqliteStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn referred_by(&self, id: &str) -> Result<Option<String>, StoreError> {
        let mut counts = Vec::new();
        for reference in self.references()? {
            let n: i64 = self
                .conn
                .prepare_cached(&reference.count_sql)?
                .query_row([id], |r| r.get(0))?;
            if n > 0 {
                counts.push((reference.table.as_str(), n));
            }
        }
        Ok((!counts.is_empty()).then(|| rows_of(&counts)))
    }

    /// A row's version is its revision: telling it means reading the row,
    /// so the listing holds every record in full.
    fn list(&self) -> Result<Versions, StoreError> {
        Ok(self.list_known(&HashMap::new(), None)?.0)
    }

    /// One pass over the table: a row whose revision a link vouches for
    /// (and that is in scope) is listed only; every other row is read into
    /// its record on the way.
    fn list_known(
        &self,
        known: &HashMap<String, Known>,
        _earlier: Option<&str>,
    ) -> Result<(Versions, Option<String>), StoreError> {
        let sql = self.select_sql(&format!("ORDER BY {}", self.layout.id));
        let mut stmt = self.conn.prepare(&sql)?;
        let width = self.layout.read_columns().len();
        let mut rows = stmt.query([])?;
        let mut listed = Versions::default();
        while let Some(row) = rows.next()? {
            let values = (0..width)
                .map(|i| row.get_ref(i).map(text_in))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let (revision, in_scope) = self.layout.revision_of(&values);
            let id = values.first().cloned().flatten().unwrap_or_default();
            let vouched = in_scope
                && known
                    .get(id.as_ref())
                    .is_some_and(|k| k.revision == revision);
            if !vouched {
                let values = values.into_iter().map(|v| v.map(Cow::into_owned)).collect();
                listed.read.records.push(self.layout.record(values));
            }
            listed.items.push(Listed {
                id: id.into_owned(),
                version: Some(Version::new(revision)),
            });
        }
        Ok((listed, None))
    }

    fn versions_are_revisions(&self) -> bool {
        true
    }

    fn read_many(&self, ids: &[&str]) -> Result<Listing, StoreError> {
        let mut listing = Listing::default();
        for id in ids {
            match self.read(id) {
                Ok(record) => listing.records.push(record),
                Err(StoreError::Missing { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(listing)
    }

    fn columns(&self) -> Result<Vec<String>, StoreError> {
        table_columns(&self.config)
    }

    fn record_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.row_text_of(id).map(Some)
    }

    fn read(&self, id: &str) -> Result<Record, StoreError> {
        let sql = self.select_sql(&format!("WHERE {} = ?1", self.layout.id));
        self.conn
            .query_row(&sql, [id], |row| self.row_to_record(row))
            .optional()?
            .ok_or_else(|| StoreError::Missing { id: id.to_string() })
    }
}

impl WriteStore for SqliteStore {
    /// The row as `update` would leave it (its other columns as they are),
    /// or the columns `create` would fill (the id the table gives is named
    /// only once the row is inserted).
    fn preview(&self, id: Option<&str>, patch: &Patch) -> Result<Option<Previewed>, StoreError> {
        self.preview_row(id, patch).map(Some)
    }

    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError> {
        let (cols, values): (Vec<String>, Vec<Option<String>>) = self
            .layout
            .insert_values(patch, self.own_id(), Self::now, &self.normalizer)
            .into_iter()
            .unzip();
        let sql = if cols.is_empty() {
            format!(
                "INSERT OR ABORT INTO {} DEFAULT VALUES RETURNING CAST({} AS TEXT)",
                self.table, self.layout.id
            )
        } else {
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
            format!(
                "INSERT OR ABORT INTO {} ({}) VALUES ({}) RETURNING CAST({} AS TEXT)",
                self.table,
                cols.join(", "),
                marks.join(", "),
                self.layout.id
            )
        };
        let id: String = self
            .conn
            .query_row(&sql, params_from_iter(values.iter()), |r| r.get(0))?;
        let revision = self.current_revision(&id)?;
        Ok((id, revision))
    }

    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        let tx = self.own_transaction()?;
        let current = self.read(id)?;
        if current.revision != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let mut sets = Vec::new();
        let mut values: Vec<Option<String>> = Vec::new();
        let l = &self.layout;
        for (column, value) in l.update_values(patch, &current.contact, Self::now, &self.normalizer)
        {
            values.push(value);
            sets.push(format!("{column} = ?{}", values.len()));
        }
        if sets.is_empty() {
            return Ok(expected.to_string());
        }
        values.push(Some(id.to_string()));
        let sql = self.update_sql(&sets, values.len());
        self.conn.execute(&sql, params_from_iter(values.iter()))?;
        let revision = self.current_revision(id)?;
        if let Some(tx) = tx {
            tx.commit()?;
        }
        Ok(revision)
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        let tx = self.own_transaction()?;
        if self.current_revision(id)? != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let sql = format!("DELETE FROM {} WHERE {} = ?1", self.table, self.layout.id);
        self.conn.execute(&sql, [id])?;
        if let Some(tx) = tx {
            tx.commit()?;
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        let read_only = self.conn.is_readonly(rusqlite::MAIN_DB)?;
        let path = self.config.path.clone();
        if read_only {
            return Err(StoreError::io(
                &path,
                std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem),
            ));
        }
        // SQLite writes its rollback journal beside the database.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        super::files::probe_writable(dir.unwrap_or(std::path::Path::new(".")))
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }
}

impl JournalStore for SqliteStore {
    fn create_unit(&self, _patch: &Patch) -> Option<String> {
        None
    }

    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.saved_row(unit)?.map(|saved| saved.encode()))
    }

    /// In place: a row that still exists gets back the values of the columns
    /// that differ (one UPDATE, the id untouched); a row that is gone is
    /// inserted; `None` deletes the row (one abgleich created). A row is
    /// never deleted and inserted again, so `ON DELETE CASCADE` children and
    /// delete triggers never see it.
    ///
    /// A row that cannot be put back is left as it is, and the error is a
    /// constraint violation with SQLite's message (a UNIQUE value another
    /// row holds now, a foreign key); only that statement is undone, the
    /// transaction goes on. A row abgleich created that other rows refer to
    /// now (orders of a new customer) is kept the same way: deleting it
    /// would take them with it (`ON DELETE CASCADE`) or be refused.
    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        let tx = self.own_transaction()?;
        let in_transaction = !self.conn.is_autocommit();
        let result = match saved {
            None => self.delete_created(unit),
            Some(bytes) => {
                SavedRow::decode(unit, bytes).and_then(|saved| match self.saved_row(unit)? {
                    Some(now) => self.put_back_in_place(unit, saved, &now),
                    None => self.insert_saved(saved),
                })
            }
        };
        if let Err(error) = result {
            if in_transaction && self.conn.is_autocommit() {
                // A trigger's RAISE(ROLLBACK) ended the whole transaction:
                // what was put back before is gone, so nothing may go on.
                return Err(rolled_back(&error));
            }
            return Err(error);
        }
        if let Some(tx) = tx {
            tx.commit()?;
        }
        Ok(())
    }

    fn check_saved(&self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        let Some(bytes) = saved else { return Ok(()) };
        let schema: HashSet<String> = self
            .conn
            .prepare(&format!("SELECT * FROM {} LIMIT 0", self.table))?
            .column_names()
            .map(str::to_string)
            .collect();
        SavedRow::decode(unit, bytes)?.check_fits(unit, &schema)
    }

    fn writes_at_commit(&self) -> bool {
        true
    }
}

/// A constraint violation, as SQLite reports one, with `message`.
fn constraint(extended_code: std::ffi::c_int, message: String) -> StoreError {
    StoreError::Sql(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(extended_code),
        Some(message),
    ))
}

/// `error` ended the transaction it happened in.
fn rolled_back(error: &StoreError) -> StoreError {
    StoreError::Sql(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT_ROLLBACK),
        Some(format!(
            "{error}; the database rolled back the whole transaction"
        )),
    ))
}

impl SqliteStore {
    /// Delete row `unit`, which abgleich created, unless rows of any table
    /// refer to it now (then a foreign-key violation that names them).
    fn delete_created(&self, unit: &str) -> Result<(), StoreError> {
        let mut counts = Vec::new();
        for reference in self.references()? {
            let n: i64 = self
                .conn
                .prepare_cached(&reference.count_sql)?
                .query_row([unit], |r| r.get(0))?;
            if n > 0 {
                counts.push((reference.table.as_str(), n));
            }
        }
        if !counts.is_empty() {
            return Err(constraint(
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
                referring(&counts),
            ));
        }
        let sql = format!("DELETE FROM {} WHERE {} = ?1", self.table, self.layout.id);
        self.conn.execute(&sql, [unit])?;
        Ok(())
    }

    /// Every foreign key of the database that refers to the CRM table
    /// (`PRAGMA foreign_key_list` of each table), once per store.
    fn references(&self) -> Result<&[Reference], StoreError> {
        if let Some(found) = self.references.get() {
            return Ok(found);
        }
        let found = self.find_references()?;
        Ok(self.references.get_or_init(|| found))
    }

    fn find_references(&self) -> Result<Vec<Reference>, StoreError> {
        let parent = self.config.table.clone().unwrap_or_default();
        // (referring table, key id, parent table, column, parent column)
        let keys: Vec<(String, i64, String, String, Option<String>)> = self
            .conn
            .prepare(
                "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\" \
                 FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f \
                 WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        // A key that names no parent column refers to the primary key.
        let primary: Vec<String> = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?
            .query_map([&parent], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut references = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let (table, id) = (&keys[i].0, keys[i].1);
            let end = keys[i..]
                .iter()
                .position(|k| &k.0 != table || k.1 != id)
                .map_or(keys.len(), |n| i + n);
            let key = &keys[i..end];
            i = end;
            if !key[0].2.eq_ignore_ascii_case(&parent) {
                continue;
            }
            let from: Vec<String> = key.iter().map(|k| quote_identifier(&k.3)).collect();
            let to: Vec<String> = if key.iter().all(|k| k.4.is_none()) {
                primary.iter().map(|c| quote_identifier(c)).collect()
            } else {
                key.iter()
                    .map(|k| quote_identifier(k.4.as_deref().unwrap_or_default()))
                    .collect()
            };
            if to.len() != from.len() {
                // A key SQLite itself could not use ("foreign key mismatch").
                continue;
            }
            let mut count_sql = format!(
                "SELECT count(*) FROM {} WHERE ({}) IN (SELECT {} FROM {} WHERE {} = ?1)",
                quote_identifier(table),
                from.join(", "),
                to.join(", "),
                self.table,
                self.layout.id
            );
            if table.eq_ignore_ascii_case(&parent) {
                // The row itself does not keep itself.
                count_sql.push_str(&format!(" AND {} IS NOT ?1", self.layout.id));
            }
            references.push(Reference {
                table: table.clone(),
                count_sql,
            });
        }
        Ok(references)
    }

    /// Row `unit` with all its columns, or `None` when there is none.
    fn saved_row(&self, unit: &str) -> Result<Option<SavedRow>, StoreError> {
        let sql = format!("SELECT * FROM {} WHERE {} = ?1", self.table, self.layout.id);
        let mut stmt = self.conn.prepare(&sql)?;
        let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let row = stmt
            .query_row([unit], |row| {
                let mut values = Vec::with_capacity(names.len());
                for i in 0..names.len() {
                    values.push(SavedValue::from(row.get_ref(i)?));
                }
                Ok(values)
            })
            .optional()?;
        Ok(row.map(|values| SavedRow {
            columns: names,
            values,
        }))
    }

    /// Give row `unit` back the saved values of every column that differs
    /// from `now` (nothing when none does).
    fn put_back_in_place(
        &self,
        unit: &str,
        saved: SavedRow,
        now: &SavedRow,
    ) -> Result<(), StoreError> {
        let mut sets = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        for (column, value) in saved.differing_from(now) {
            values.push(into_value(value));
            sets.push(format!("{} = ?{}", quote_identifier(&column), values.len()));
        }
        if sets.is_empty() {
            return Ok(());
        }
        values.push(rusqlite::types::Value::Text(unit.to_string()));
        let sql = self.update_sql(&sets, values.len());
        self.conn.execute(&sql, params_from_iter(values.iter()))?;
        Ok(())
    }

    /// Insert a saved row that is gone, with every column as saved.
    fn insert_saved(&self, saved: SavedRow) -> Result<(), StoreError> {
        let columns: Vec<String> = saved.columns.iter().map(|c| quote_identifier(c)).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT OR ABORT INTO {} ({}) VALUES ({})",
            self.table,
            columns.join(", "),
            marks.join(", ")
        );
        let values: Vec<rusqlite::types::Value> =
            saved.values.into_iter().map(into_value).collect();
        self.conn.execute(&sql, params_from_iter(values.iter()))?;
        Ok(())
    }
}

impl From<ValueRef<'_>> for SavedValue {
    fn from(value: ValueRef<'_>) -> Self {
        match value {
            ValueRef::Null => SavedValue::Null,
            ValueRef::Integer(i) => SavedValue::Integer(i),
            ValueRef::Real(f) => SavedValue::Real(f),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(t) => SavedValue::Text(t.to_string()),
                Err(_) => SavedValue::Blob(t.to_vec()),
            },
            ValueRef::Blob(b) => SavedValue::Blob(b.to_vec()),
        }
    }
}

fn into_value(saved: SavedValue) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match saved {
        SavedValue::Null => Value::Null,
        SavedValue::Integer(i) => Value::Integer(i),
        SavedValue::Real(f) => Value::Real(f),
        SavedValue::Text(t) => Value::Text(t),
        SavedValue::Blob(b) => Value::Blob(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_default_that_may_differ_per_row_can_give_ids() {
        for expression in ["random()", "lower(hex(randomblob(16)))", "1+2"] {
            assert!(is_default_expression(expression), "{expression}");
        }
        for literal in [
            "'x'",
            "0",
            "-1",
            "+2.5",
            "1e3",
            "0x1F",
            "X'00'",
            "NULL",
            "true",
            "CURRENT_TIMESTAMP",
            "",
        ] {
            assert!(!is_default_expression(literal), "{literal}");
        }
    }

    #[test]
    fn a_key_of_another_table_and_a_self_reference_are_found_and_counted() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE c (id INTEGER PRIMARY KEY, boss INTEGER REFERENCES c(id), a TEXT, b TEXT, \
                UNIQUE (a, b));
             CREATE TABLE \"order\"\"s\" (cid INTEGER REFERENCES c);
             CREATE TABLE pair (x TEXT, y TEXT, FOREIGN KEY (x, y) REFERENCES c(a, b));
             INSERT INTO c VALUES (1, 1, 'p', 'q'), (2, 1, NULL, NULL);
             INSERT INTO \"order\"\"s\" VALUES (1), (1), (2);
             INSERT INTO pair VALUES ('p', 'q');",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.sqlite");
        conn.execute("VACUUM INTO ?1", [path.to_str().unwrap()])
            .unwrap();
        let text = "[left]\nkind = \"sqlite\"\npath = \"crm.sqlite\"\ntable = \"c\"\nid = \"id\"\n\
                    [left.fields]\n\"name.given\" = \"a\"\n[right]\nkind = \"vdir\"\npath = \"book\"\n";
        let config = crate::config::Config::parse(text, &dir.path().join("abgleich.toml")).unwrap();
        let store = SqliteStore::open(&config.left, config.normalizer.clone()).unwrap();
        let counted = |id: &str| -> Vec<(String, i64)> {
            store
                .references()
                .unwrap()
                .iter()
                .map(|r| {
                    let n = store
                        .conn
                        .query_row(&r.count_sql, [id], |row| row.get(0))
                        .unwrap();
                    (r.table.clone(), n)
                })
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        // Row 1 refers to itself (not counted) and is row 2's boss.
        assert_eq!(
            counted("1"),
            [
                ("c".to_string(), 1),
                ("order\"s".to_string(), 2),
                ("pair".to_string(), 1)
            ]
        );
        assert_eq!(counted("2"), [("order\"s".to_string(), 1)]);
    }
}
