//! The journal's side of the `postgres` store: a row with every column as
//! the text of its type, and putting it back in place.

use foldhash::HashSet;

use postgres::types::ToSql;

use super::catalog::Column;
use super::{PostgresStore, ROW};
use crate::store::interface::{JournalStore, Patch, StoreError};
use crate::store::sql::{SavedRow, SavedValue, quote_identifier, referring};

impl PostgresStore {
    /// The columns the journal keeps: all but generated ones.
    fn saved_columns(&self) -> impl Iterator<Item = &Column> {
        self.all.iter().filter(|c| !c.generated)
    }

    /// Row `unit` with all its columns as the text of their types, or
    /// `None` when there is none.
    fn saved_row(&self, unit: &str) -> Result<Option<SavedRow>, StoreError> {
        let columns: Vec<&Column> = self.saved_columns().collect();
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("{ROW}.{}::text", quote_identifier(&c.name)))
            .collect();
        let sql = format!(
            "SELECT {} FROM {} AS {ROW} WHERE {}",
            list.join(", "),
            self.relation.quoted,
            self.id_is(1)
        );
        let rows = self.query(&sql, &[&unit])?;
        Ok(rows.first().map(|row| SavedRow {
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            values: (0..columns.len())
                .map(|i| match row.get::<_, Option<String>>(i) {
                    Some(t) => SavedValue::Text(t),
                    None => SavedValue::Null,
                })
                .collect(),
        }))
    }

    fn saved_text(&self, value: SavedValue) -> Option<String> {
        match value {
            SavedValue::Null => None,
            SavedValue::Text(t) => Some(t),
            SavedValue::Integer(i) => Some(i.to_string()),
            SavedValue::Real(f) => Some(f.to_string()),
            SavedValue::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        }
    }

    /// Give row `unit` back the saved values of every column that differs
    /// from `now`, in one UPDATE (nothing when none does).
    fn put_back_in_place(
        &self,
        unit: &str,
        saved: SavedRow,
        now: &SavedRow,
    ) -> Result<(), StoreError> {
        let mut sets = Vec::new();
        let mut params: Vec<Option<String>> = vec![Some(unit.to_string())];
        for (column, value) in saved.differing_from(now) {
            params.push(self.saved_text(value));
            let quoted = quote_identifier(&column);
            sets.push(format!(
                "{quoted} = {}",
                self.write_expression(&quoted, params.len())
            ));
        }
        if sets.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE {} AS {ROW} SET {} WHERE {}",
            self.relation.quoted,
            sets.join(", "),
            self.id_is(1)
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.query(&sql, &refs).map(|_| ())
    }

    /// Insert a saved row that is gone, with every column as saved.
    fn insert_saved(&self, saved: SavedRow) -> Result<(), StoreError> {
        let mut columns = Vec::new();
        let mut expressions = Vec::new();
        let mut params: Vec<Option<String>> = Vec::new();
        for (column, value) in saved.columns.into_iter().zip(saved.values) {
            let quoted = quote_identifier(&column);
            params.push(self.saved_text(value));
            expressions.push(self.write_expression(&quoted, params.len()));
            columns.push(quoted);
        }
        let overriding = if self.all.iter().any(|c| c.identity_always) {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO {} ({}){overriding} VALUES ({})",
            self.relation.quoted,
            columns.join(", "),
            expressions.join(", ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.query(&sql, &refs).map(|_| ())
    }

    /// Delete row `unit`, which abgleich created, unless rows of any table
    /// refer to it now (then a constraint error that names them).
    fn delete_created(&self, unit: &str) -> Result<(), StoreError> {
        let counts = self.referring_counts(unit)?;
        if !counts.is_empty() {
            return Err(StoreError::Constraint {
                address: self.address.clone(),
                message: referring(&counts),
                cause: None,
            });
        }
        let sql = format!(
            "DELETE FROM {} AS {ROW} WHERE {}",
            self.relation.quoted,
            self.id_is(1)
        );
        self.query(&sql, &[&unit]).map(|_| ())
    }
}

impl JournalStore for PostgresStore {
    fn create_unit(&self, _patch: &Patch) -> Option<String> {
        None
    }

    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.saved_row(unit)?.map(|saved| saved.encode()))
    }

    /// In place, by the same rules as the SQLite store's (never a delete
    /// and insert of a row that exists, so no cascade or trigger sees it;
    /// a row abgleich created stays when rows refer to it now). A row that
    /// cannot be put back is a [`StoreError::Constraint`]; its savepoint
    /// undoes only its own statement.
    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        self.atomically(|| match saved {
            None => self.delete_created(unit),
            Some(bytes) => {
                let saved = SavedRow::decode(unit, bytes)?;
                match self.saved_row(unit)? {
                    Some(now) => self.put_back_in_place(unit, saved, &now),
                    None => self.insert_saved(saved),
                }
            }
        })
    }

    fn check_saved(&self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        let Some(bytes) = saved else { return Ok(()) };
        let schema: HashSet<String> = self.saved_columns().map(|c| c.name.clone()).collect();
        SavedRow::decode(unit, bytes)?.check_fits(unit, &schema)
    }

    fn writes_at_commit(&self) -> bool {
        true
    }
}
