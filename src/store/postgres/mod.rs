//! `postgres`: a CRM table (or view) in PostgreSQL.
//!
//! Table and column names come from config; each is looked up in the
//! server's catalog and quoted before it reaches SQL, so a config value can
//! never become SQL code. Values travel as text and are cast to and from
//! each column's type by the server (`true`, `2024-01-31`, `42`), in a
//! session with fixed text forms, so that a value read and written back
//! compares equal.
//!
//! Writes are conditional on the row being unchanged since it was read: on
//! a table by its `xmin` (which every UPDATE changes), on a view by a hash
//! of all its columns. An apply is one transaction; each write runs in a
//! savepoint of its own, so one refused write leaves the others.

mod catalog;
mod connect;
mod journal;

use std::cell::{Cell, OnceCell, RefCell};

use postgres::Client;
use postgres::types::ToSql;

use self::catalog::{Column, Reference, Relation};
use self::connect::server_error;
use super::interface::{
    Known, Listed, Listing, Patch, Previewed, ReadStore, StoreError, ValueKind, Version, Versions,
    WriteStore,
};
use super::sql::{Layout, NewId, SqlRows, quote_identifier, rows_of};
use crate::config::{Scope, StoreConfig, Transform};
use crate::model::contact::FieldPath;
use crate::model::normal::Normalizer;
use crate::model::record::Record;

/// A row's read columns as (quoted column, value).
type RowValues = Vec<(String, Option<String>)>;

/// The alias a table has in every statement, for its `xmin` and its
/// whole row.
const ROW: &str = "abgleich_row";

pub struct PostgresStore {
    config: StoreConfig,
    client: RefCell<Client>,
    /// The server, without credentials, for messages.
    address: String,
    relation: Relation,
    /// Every column of the relation, in table order.
    all: Vec<Column>,
    layout: Layout,
    normalizer: Normalizer,
    /// Inside the apply's transaction ([`WriteStore::begin`]).
    in_transaction: Cell<bool>,
    references: OnceCell<Vec<Reference>>,
}

impl PostgresStore {
    pub fn open(config: &StoreConfig, normalizer: Normalizer) -> Result<Self, StoreError> {
        let mut client = connect::connect(config)?;
        let address = config.location();
        let relation = catalog::relation(&mut client, config, &address)?;
        let all = catalog::columns(&mut client, &relation, &address)?;
        let config_err = |key: &str, message: String| StoreError::Config {
            place: config.locate(key),
            message,
        };
        let known = {
            let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
            names.sort();
            names.join(", ")
        };
        let column = |key: &str, name: &str| -> Result<String, StoreError> {
            match all.iter().find(|c| c.name == name) {
                Some(_) => Ok(quote_identifier(name)),
                None => Err(config_err(
                    key,
                    format!(
                        "{name:?} is not a column of {}; its columns are: {known}",
                        relation.display
                    ),
                )),
            }
        };
        let id_name = config.id.as_deref().unwrap_or_default();
        let id = column("id", id_name)?;
        let id_column = all.iter().find(|c| c.name == id_name);
        let new_id = match id_column {
            Some(c) => catalog::check_id(&mut client, &relation, c, &address)?.map_err(|why| {
                config_err(
                    "id",
                    format!(
                        "column {id_name:?} of {} cannot be the id: {why}",
                        relation.display
                    ),
                )
            })?,
            None => NewId::Table,
        };
        let modified = config
            .modified
            .as_deref()
            .map(|m| column("modified", m))
            .transpose()?;
        let stamp = config
            .stamp
            .as_deref()
            .map(|s| column("stamp", s))
            .transpose()?;
        let scope = match &config.scope {
            Scope::Column { column: c, equals } => {
                let quoted = column("scope.column", c)?;
                let sql_type = all
                    .iter()
                    .find(|col| col.name == *c)
                    .map(|col| col.sql_type.clone())
                    .unwrap_or_default();
                // Compared in the column's type: `1` is `true` for a boolean.
                let sql = format!("SELECT CAST($1::text AS {sql_type})::text");
                let canonical: Option<String> = client
                    .query_one(&sql, &[equals])
                    .map_err(|e| {
                        config_err(
                            "scope.equals",
                            format!(
                                "{equals:?} is not a value of column {c:?} ({sql_type}): {}",
                                connect::cause(&e)
                            ),
                        )
                    })?
                    .get(0);
                Some((quoted, canonical.unwrap_or_default()))
            }
            _ => None,
        };
        let mut columns = Vec::new();
        for mapping in &config.fields {
            let name = mapping.column.as_deref().unwrap_or_default();
            let key = format!("fields.\"{}\"", mapping.key);
            columns.push((mapping.clone(), column(&key, name)?));
        }
        Ok(PostgresStore {
            config: config.clone(),
            client: RefCell::new(client),
            address,
            relation,
            all,
            layout: Layout {
                id,
                new_id,
                columns,
                modified,
                scope,
                stamp,
            },
            normalizer,
            in_transaction: Cell::new(false),
            references: OnceCell::new(),
        })
    }

    fn fail(&self, e: postgres::Error) -> StoreError {
        server_error(&self.address, e)
    }

    /// The column named `quoted` (as the layout quotes it).
    fn column(&self, quoted: &str) -> Option<&Column> {
        let name = super::sql::unquote(quoted);
        self.all.iter().find(|c| c.name == name)
    }

    /// How a column is read: as the text of its type; a `timestamptz` in
    /// UTC without the zone, the way `modified` is compared.
    fn read_expression(&self, quoted: &str) -> String {
        match self.column(quoted) {
            Some(c) if c.type_name == "timestamptz" => {
                format!("({ROW}.{quoted} AT TIME ZONE 'UTC')::text")
            }
            _ => format!("{ROW}.{quoted}::text"),
        }
    }

    /// How parameter `$n` (text) is written to a column: cast by the server
    /// to the column's type. A text column takes it as it is, so that a
    /// value too long for a `varchar(n)` is an error, never cut short (an
    /// explicit cast would cut it).
    fn write_expression(&self, quoted: &str, n: usize) -> String {
        match self.column(quoted) {
            Some(c) if !c.text_like() => format!("CAST(${n}::text AS {})", c.sql_type),
            _ => format!("${n}::text"),
        }
    }

    /// `{id} = $n`, the id compared in its own type (so its index is used).
    fn id_is(&self, n: usize) -> String {
        format!("{ROW}.{} = {}", self.layout.id, self.id_param(n))
    }

    fn id_param(&self, n: usize) -> String {
        self.write_expression(&self.layout.id, n)
    }

    /// The revision of a row: its `xmin` on a table, a hash of all its
    /// columns on a view.
    fn revision_expression(&self) -> String {
        if self.relation.view {
            format!("md5({ROW}::text)")
        } else {
            format!("'xmin:' || {ROW}.xmin::text")
        }
    }

    fn select_sql(&self, filter: &str) -> String {
        let mut cols: Vec<String> = self
            .layout
            .read_columns()
            .iter()
            .map(|c| self.read_expression(c))
            .collect();
        cols.push(self.revision_expression());
        format!(
            "SELECT {} FROM {} AS {ROW} {filter}",
            cols.join(", "),
            self.relation.quoted
        )
    }

    fn row_to_record(&self, row: &postgres::Row) -> Record {
        let n = self.layout.read_columns().len();
        let values = (0..n).map(|i| row.get::<_, Option<String>>(i)).collect();
        let mut record = self.layout.record(values);
        if let Some(revision) = row.get::<_, Option<String>>(n) {
            record.revision = revision;
        }
        record
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        self.client
            .borrow_mut()
            .query(sql, params)
            .map_err(|e| self.fail(e))
    }

    fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.client
            .borrow_mut()
            .batch_execute(sql)
            .map_err(|e| self.fail(e))
    }

    /// `SET`/`VALUES` expressions and parameters for `values`: `modified`
    /// is the server's `now()`; every value is checked against its
    /// column's length first.
    fn write_list(
        &self,
        values: &[(String, Option<String>)],
        first: usize,
    ) -> Result<(Vec<String>, Vec<Option<String>>), StoreError> {
        let mut expressions = Vec::new();
        let mut params = Vec::new();
        for (column, value) in values {
            if Some(column) == self.layout.modified.as_ref() {
                expressions.push("now()".to_string());
                continue;
            }
            if let (Some(c), Some(v)) = (self.column(column), value) {
                let length = v.chars().count();
                if let Some(max) = c.max_length.filter(|&max| length > max) {
                    return Err(StoreError::TooLong {
                        column: c.name.clone(),
                        sql_type: c.sql_type.clone(),
                        max,
                        length,
                    });
                }
            }
            params.push(value.clone());
            expressions.push(self.write_expression(column, first + params.len() - 1));
        }
        Ok((expressions, params))
    }

    /// Run `write` in a savepoint inside the apply's transaction, or in a
    /// transaction of its own: a refused statement undoes only itself (a
    /// failed statement would otherwise end the whole transaction).
    fn atomically<T>(
        &self,
        write: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (start, keep, undo) = if self.in_transaction.get() {
            (
                "SAVEPOINT abgleich_write",
                "RELEASE SAVEPOINT abgleich_write",
                "ROLLBACK TO SAVEPOINT abgleich_write; RELEASE SAVEPOINT abgleich_write",
            )
        } else {
            ("BEGIN", "COMMIT", "ROLLBACK")
        };
        self.execute(start)?;
        match write() {
            Ok(value) => {
                self.execute(keep)?;
                Ok(value)
            }
            Err(error) => {
                let _ = self.execute(undo);
                Err(error)
            }
        }
    }

    /// Row `id` as a record and as its read columns (quoted column,
    /// value), from one query.
    fn read_row(&self, id: &str) -> Result<(Record, RowValues), StoreError> {
        let sql = self.select_sql(&format!("WHERE {}", self.id_is(1)));
        let rows = self.query(&sql, &[&id])?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Missing { id: id.to_string() })?;
        let values = self
            .layout
            .read_columns()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, row.get::<_, Option<String>>(i)))
            .collect();
        Ok((self.row_to_record(row), values))
    }

    /// [`PostgresStore::read_row`], if its revision is still `expected`.
    fn current(&self, id: &str, expected: &str) -> Result<(Record, RowValues), StoreError> {
        let current = self.read_row(id)?;
        if current.0.revision != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        Ok(current)
    }

    /// `WHERE` of a write to row `$1` conditional on revision `$2`.
    fn unchanged_since(&self) -> String {
        format!("{} AND {} = $2", self.id_is(1), self.revision_expression())
    }

    fn references(&self) -> Result<&[Reference], StoreError> {
        if let Some(found) = self.references.get() {
            return Ok(found);
        }
        let found = catalog::references(
            &mut self.client.borrow_mut(),
            &self.relation,
            &self.layout.id,
            &self.id_param(1),
            &self.address,
        )?;
        Ok(self.references.get_or_init(|| found))
    }

    fn referring_counts(&self, id: &str) -> Result<Vec<(&str, i64)>, StoreError> {
        let mut counts = Vec::new();
        for reference in self.references()? {
            let rows = self.query(&reference.count_sql, &[&id])?;
            let n: i64 = rows.first().map_or(0, |r| r.get(0));
            if n > 0 {
                counts.push((reference.table.as_str(), n));
            }
        }
        Ok(counts)
    }
}

/// Parameters as the driver takes them.
fn params_of(values: &[Option<String>]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl SqlRows for PostgresStore {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// Row `id`'s columns the store reads, as (quoted column, value).
    fn row_values(&self, id: &str) -> Result<Vec<(String, Option<String>)>, StoreError> {
        self.read_row(id).map(|(_, values)| values)
    }

    /// The time a write stamps, as a preview shows it (the write itself
    /// takes the server's `now()`).
    fn now() -> String {
        chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string()
    }
}

impl ReadStore for PostgresStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    /// A row's version is its revision: the listing is one query that
    /// reads every row in full.
    fn list(&self) -> Result<Versions, StoreError> {
        let sql = self.select_sql(&format!("ORDER BY {ROW}.{}", self.layout.id));
        let records = self
            .query(&sql, &[])?
            .iter()
            .map(|row| self.row_to_record(row))
            .collect();
        Ok(Versions::read_in_full(Listing {
            records,
            unreadable: Vec::new(),
        }))
    }

    /// With links to vouch for rows, one query for each row's id, revision
    /// and scope only: a row whose revision is its link's, in scope, needs
    /// no more; the others are read in one more query (`read_many`).
    fn list_known(
        &self,
        known: &foldhash::HashMap<String, Known>,
        earlier: Option<&str>,
    ) -> Result<(Versions, Option<String>), StoreError> {
        if known.is_empty() {
            return self.list_since(earlier);
        }
        let mut cols = vec![
            self.read_expression(&self.layout.id),
            self.revision_expression(),
        ];
        cols.extend(
            self.layout
                .scope
                .iter()
                .map(|(s, _)| self.read_expression(s)),
        );
        let sql = format!(
            "SELECT {} FROM {} AS {ROW} ORDER BY {ROW}.{}",
            cols.join(", "),
            self.relation.quoted,
            self.layout.id
        );
        let mut listed = Versions::default();
        for row in self.query(&sql, &[])? {
            let id = row.get::<_, Option<String>>(0).unwrap_or_default();
            let revision = row.get::<_, Option<String>>(1);
            let scope = self.layout.scope.as_ref().and_then(|_| row.get(2));
            let in_scope = self.layout.in_scope(scope);
            // Out of scope: no version, so it is read in full.
            let version = revision.filter(|_| in_scope).map(Version::new);
            listed.items.push(Listed { id, version });
        }
        Ok((listed, None))
    }

    fn versions_are_revisions(&self) -> bool {
        true
    }

    fn read_many(&self, ids: &[&str]) -> Result<Listing, StoreError> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let sql = self.select_sql(&format!(
            "WHERE {ROW}.{}::text = ANY($1) ORDER BY {ROW}.{}",
            self.layout.id, self.layout.id
        ));
        let records = self
            .query(&sql, &[&ids])?
            .iter()
            .map(|row| self.row_to_record(row))
            .collect();
        Ok(Listing {
            records,
            unreadable: Vec::new(),
        })
    }

    fn read(&self, id: &str) -> Result<Record, StoreError> {
        self.read_row(id).map(|(record, _)| record)
    }

    fn columns(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self.all.iter().map(|c| c.name.clone()).collect();
        names.sort();
        Ok(names)
    }

    fn value_kind(&self, field: &FieldPath) -> Option<ValueKind> {
        let kinds = (self.layout.columns.iter())
            .filter(|(m, _)| m.field == *field && m.transform != Transform::Name)
            .filter_map(|(_, quoted)| {
                Some(match self.column(quoted)?.type_name.as_str() {
                    "bool" => ValueKind::Boolean,
                    "int2" => ValueKind::Integer {
                        min: i16::MIN.into(),
                        max: i16::MAX.into(),
                    },
                    "int4" => ValueKind::Integer {
                        min: i32::MIN.into(),
                        max: i32::MAX.into(),
                    },
                    "int8" => ValueKind::Integer {
                        min: i64::MIN,
                        max: i64::MAX,
                    },
                    "date" => ValueKind::Date,
                    _ => return None,
                })
            });
        kinds.into_iter().next()
    }

    fn max_chars(&self, field: &FieldPath) -> Option<usize> {
        self.layout
            .columns
            .iter()
            .filter(|(m, _)| m.field == *field && m.transform != Transform::Name)
            .filter_map(|(_, quoted)| self.column(quoted)?.max_length)
            .min()
    }

    fn referred_by(&self, id: &str) -> Result<Option<String>, StoreError> {
        let counts = self.referring_counts(id)?;
        Ok((!counts.is_empty()).then(|| rows_of(&counts)))
    }

    fn record_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.row_text_of(id).map(Some)
    }
}

impl WriteStore for PostgresStore {
    fn preview(&self, id: Option<&str>, patch: &Patch) -> Result<Option<Previewed>, StoreError> {
        self.preview_row(id, patch).map(Some)
    }

    /// The id comes from the table (a serial or identity column, a
    /// DEFAULT) through `RETURNING`, or is a fresh UUID for a text key.
    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError> {
        let values = self
            .layout
            .insert_values(patch, self.own_id(), Self::now, &self.normalizer);
        let (expressions, params) = self.write_list(&values, 1)?;
        let columns: Vec<&str> = values.iter().map(|(c, _)| c.as_str()).collect();
        let returning = format!(
            "RETURNING {ROW}.{}::text, {}",
            self.layout.id,
            self.revision_expression()
        );
        let sql = if columns.is_empty() {
            format!(
                "INSERT INTO {} AS {ROW} DEFAULT VALUES {returning}",
                self.relation.quoted
            )
        } else {
            format!(
                "INSERT INTO {} AS {ROW} ({}) VALUES ({}) {returning}",
                self.relation.quoted,
                columns.join(", "),
                expressions.join(", ")
            )
        };
        self.atomically(|| {
            let rows = self.query(&sql, &params_of(&params))?;
            let row = rows.first().ok_or_else(|| StoreError::Server {
                address: self.address.clone(),
                message: format!("{} returned no row for an INSERT", self.relation.display),
                cause: None,
            })?;
            let id: String = row.get(0);
            // A view's hash covers what its defaults filled in: read it.
            let revision = match row.get::<_, Option<String>>(1) {
                Some(r) if !self.relation.view => r,
                _ => self.read(&id)?.revision,
            };
            Ok((id, revision))
        })
    }

    /// Writes nothing when the row already holds every value (an UPDATE
    /// would change its `xmin` all the same); else one UPDATE conditional
    /// on the revision, returning the new one.
    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        self.atomically(|| {
            let (current, now) = self.current(id, expected)?;
            let values =
                self.layout
                    .update_values(patch, &current.contact, Self::now, &self.normalizer);
            let changes = values.iter().any(|(column, value)| {
                Some(column) != self.layout.modified.as_ref()
                    && now
                        .iter()
                        .rev()
                        .find(|(c, _)| c == column)
                        .is_none_or(|(_, v)| v != value)
            });
            if !changes {
                return Ok(expected.to_string());
            }
            let (expressions, mut params) = self.write_list(&values, 3)?;
            let sets: Vec<String> = values
                .iter()
                .zip(&expressions)
                .map(|((column, _), expression)| format!("{column} = {expression}"))
                .collect();
            let sql = format!(
                "UPDATE {} AS {ROW} SET {} WHERE {} RETURNING {}",
                self.relation.quoted,
                sets.join(", "),
                self.unchanged_since(),
                self.revision_expression()
            );
            params.insert(0, Some(expected.to_string()));
            params.insert(0, Some(id.to_string()));
            let rows = self.query(&sql, &params_of(&params))?;
            let Some(row) = rows.first() else {
                return Err(StoreError::Changed { id: id.to_string() });
            };
            match row.get::<_, Option<String>>(0) {
                Some(r) if !self.relation.view => Ok(r),
                _ => Ok(self.read(id)?.revision),
            }
        })
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        self.atomically(|| {
            self.current(id, expected)?;
            let sql = format!(
                "DELETE FROM {} AS {ROW} WHERE {}",
                self.relation.quoted,
                self.unchanged_since()
            );
            let n = self
                .client
                .borrow_mut()
                .execute(&sql, &[&id, &expected])
                .map_err(|e| self.fail(e))?;
            if n == 0 {
                return Err(StoreError::Changed { id: id.to_string() });
            }
            Ok(())
        })
    }

    /// A role that may not write the table, or a read-only server (a
    /// standby, `default_transaction_read_only`), stops the apply here.
    fn check_writable(&self) -> Result<(), StoreError> {
        let rows = self.query(
            "SELECT pg_catalog.has_any_column_privilege($1::oid, 'INSERT'), \
                    pg_catalog.has_any_column_privilege($1::oid, 'UPDATE'), \
                    current_setting('transaction_read_only') = 'on', current_user::text",
            &[&self.relation.oid],
        )?;
        let Some(row) = rows.first() else {
            return Ok(());
        };
        let (insert, update, read_only, user): (bool, bool, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let message = if read_only {
            "the server takes no writes (a read-only transaction: a standby, or \
             default_transaction_read_only); nothing was written"
                .to_string()
        } else if !(insert && update) {
            let missing: Vec<&str> = [("INSERT", insert), ("UPDATE", update)]
                .iter()
                .filter(|(_, granted)| !granted)
                .map(|(p, _)| *p)
                .collect();
            format!(
                "role {user:?} may not {} {} (permission denied); nothing was written",
                missing.join(" or "),
                self.relation.display
            )
        } else {
            return Ok(());
        };
        Err(StoreError::Server {
            address: self.address.clone(),
            message,
            cause: None,
        })
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.execute("BEGIN")?;
        self.in_transaction.set(true);
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if self.in_transaction.replace(false) {
            self.execute("COMMIT")?;
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if self.in_transaction.replace(false) {
            self.execute("ROLLBACK")?;
        }
        Ok(())
    }
}
