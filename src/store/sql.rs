//! What the SQL stores (`sqlite`, `postgres`) share: how a row's columns
//! become a contact and a patch becomes column values, how a row is shown
//! to the operator, and how the journal keeps a row.
//!
//! Everything here works on text values and on identifiers already checked
//! against the schema and quoted; each store runs the SQL itself.

use foldhash::HashSet;

use super::interface::{Patch, Previewed, ReadStore, StoreError};
use crate::config::{FieldMapping, Transform};
use crate::model::contact::{Contact, FieldPath};
use crate::model::normal::Normalizer;
use crate::model::record::Record;

/// Quote an identifier (SQLite and PostgreSQL alike): `"` doubled inside
/// double quotes.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted identifier as the schema names it (the last part of a
/// `"schema"."table"`).
pub fn unquote(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(quoted);
    inner.replace("\"\"", "\"")
}

/// Who gives a row that `create` inserts its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewId {
    /// The table: SQLite's rowid, a serial or identity column, a DEFAULT.
    Table,
    /// abgleich: a fresh UUID, for a text (or uuid) key nothing else fills.
    Uuid,
}

/// The columns a store reads and writes, quoted, as the config maps them.
pub struct Layout {
    pub id: String,
    /// Who gives a created row its id.
    pub new_id: NewId,
    /// (mapping, quoted column)
    pub columns: Vec<(FieldMapping, String)>,
    pub modified: Option<String>,
    /// The scope column and the value that puts a row in scope, as the
    /// store reads it back (PostgreSQL: in the column's type's text form).
    pub scope: Option<(String, String)>,
    /// The column that keeps the other side's id (the card's UID).
    pub stamp: Option<String>,
}

impl Layout {
    /// The columns a row is read by, in the order [`Layout::record`] takes
    /// their values: the id, the mapped columns, the modified, scope and
    /// stamp columns.
    pub fn read_columns(&self) -> Vec<String> {
        let mut names = vec![self.id.clone()];
        names.extend(self.columns.iter().map(|(_, c)| c.clone()));
        names.extend(self.modified.clone());
        names.extend(self.scope.as_ref().map(|(s, _)| s.clone()));
        names.extend(self.stamp.clone());
        names
    }

    /// A row's revision (a hash of what the store maps: the mapped
    /// columns, the modified and stamp columns) and whether it is in
    /// scope, from its values in [`Layout::read_columns`] order. Telling
    /// them takes no copy of the values.
    pub fn revision_of<S: AsRef<str>>(&self, values: &[Option<S>]) -> (String, bool) {
        // After the id: the mapped columns, then modified, scope and stamp.
        let mut next = values.iter().skip(1).map(|v| v.as_ref().map(AsRef::as_ref));
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for _ in &self.columns {
            hash_value(&mut hasher, next.next().flatten());
        }
        if self.modified.is_some() {
            hash_value(&mut hasher, next.next().flatten());
        }
        let in_scope = match self.scope {
            Some(_) => self.in_scope(next.next().flatten()),
            None => true,
        };
        if self.stamp.is_some() {
            hash_value(&mut hasher, next.next().flatten());
        }
        (format!("{:016x}", hasher.digest()), in_scope)
    }

    /// Whether a row whose scope column reads `value` is in scope (every
    /// row is, without a scope column).
    pub fn in_scope(&self, value: Option<&str>) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|(_, equals)| value == Some(equals.as_str()))
    }

    /// The record a row's values (in [`Layout::read_columns`] order, as
    /// text) hold; its revision is [`Layout::revision_of`] them.
    pub fn record(&self, values: Vec<Option<String>>) -> Record {
        let (revision, in_scope) = self.revision_of(&values);
        let mut values = values.into_iter();
        let id = values.next().flatten().unwrap_or_default();
        let mut contact = Contact::default();
        for (mapping, _) in &self.columns {
            if let Some(v) = values.next().flatten() {
                contact.set(&mapping.field, Some(v.as_str()));
                if mapping.transform == Transform::Name {
                    let (given, family) = split_name(&v);
                    contact.given = given;
                    contact.family = family;
                }
            }
        }
        let modified = match self.modified {
            Some(_) => values
                .next()
                .flatten()
                .as_deref()
                .and_then(crate::model::normal::timestamp),
            None => None,
        };
        if self.scope.is_some() {
            values.next();
        }
        let stamp = match &self.stamp {
            Some(_) => values.next().flatten().filter(|t| !t.trim().is_empty()),
            None => None,
        };
        Record {
            id,
            revision,
            contact: contact.into(),
            in_scope,
            stamp,
            uid: None,
            modified,
        }
    }

    /// Values for the columns `patch` writes: a field's own column, and a
    /// `name` column joined from the given and family name (the part the
    /// patch does not set is taken from `current`). E.164 for
    /// `transform = "e164"` when the number is valid, else as given.
    pub fn column_values(
        &self,
        patch: &Patch,
        current: Option<&Contact>,
        normalizer: &Normalizer,
    ) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        for (mapping, column) in &self.columns {
            if mapping.transform == Transform::Name {
                let part = |path: FieldPath, now: Option<&String>| match patch
                    .fields
                    .iter()
                    .find(|(f, _)| *f == path)
                {
                    Some((_, v)) => v.clone().unwrap_or_default(),
                    None => now.cloned().unwrap_or_default(),
                };
                let touched = patch
                    .fields
                    .iter()
                    .any(|(f, _)| matches!(f, FieldPath::NameGiven | FieldPath::NameFamily));
                if touched {
                    let given = part(FieldPath::NameGiven, current.map(|c| &c.given));
                    let family = part(FieldPath::NameFamily, current.map(|c| &c.family));
                    let joined = format!("{} {}", given.trim(), family.trim())
                        .trim()
                        .to_string();
                    out.push((column.clone(), Some(joined).filter(|j| !j.is_empty())));
                }
            } else if let Some((_, v)) = patch.fields.iter().find(|(f, _)| *f == mapping.field) {
                let value = v.clone().filter(|v| !v.trim().is_empty());
                let value = value.map(|value| match mapping.transform {
                    Transform::E164 => normalizer.phone(&value).unwrap_or(value),
                    Transform::None | Transform::Name => value,
                });
                out.push((column.clone(), value));
            }
        }
        out
    }

    /// The (quoted) columns an INSERT of `patch` fills and their values,
    /// in order: what `create` inserts and `preview` shows. `id`: the id
    /// abgleich gives the row, when the table does not.
    pub fn insert_values(
        &self,
        patch: &Patch,
        id: Option<String>,
        now: impl FnOnce() -> String,
        normalizer: &Normalizer,
    ) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        if let Some(id) = id {
            out.push((self.id.clone(), Some(id)));
        }
        out.extend(self.column_values(patch, None, normalizer));
        if let Some(m) = &self.modified {
            out.push((m.clone(), Some(now())));
        }
        if let Some((s, equals)) = &self.scope {
            // A contact created from the other side belongs to the sync.
            out.push((s.clone(), Some(equals.clone())));
        }
        if let (Some(s), Some(v)) = (&self.stamp, &patch.stamp) {
            out.push((s.clone(), Some(v.clone())));
        }
        out
    }

    /// The (quoted) columns an UPDATE of `patch` sets on a row holding
    /// `current`, and their values: what `update` sets and `preview`
    /// shows. Empty when the patch writes no column (nothing is written
    /// then, not even the modified time).
    pub fn update_values(
        &self,
        patch: &Patch,
        current: &Contact,
        now: impl FnOnce() -> String,
        normalizer: &Normalizer,
    ) -> Vec<(String, Option<String>)> {
        let mut out = self.column_values(patch, Some(current), normalizer);
        if let (Some(s), Some(v)) = (&self.stamp, &patch.stamp) {
            out.push((s.clone(), Some(v.clone())));
        }
        if !out.is_empty()
            && let Some(m) = &self.modified
        {
            out.push((m.clone(), Some(now())));
        }
        out
    }

    /// What `preview` shows: the row `update` would leave (`row`, its read
    /// columns, with `values` set), or the columns `create` would fill
    /// (`row` is `None`; the id the table gives is named only once the
    /// row is inserted).
    fn preview_text(
        &self,
        row: Option<Vec<(String, Option<String>)>>,
        values: Vec<(String, Option<String>)>,
    ) -> String {
        let values = match row {
            Some(mut row) => {
                for (column, value) in values {
                    match row.iter_mut().find(|(c, _)| *c == column) {
                        Some(slot) => slot.1 = value,
                        None => row.push((column, value)),
                    }
                }
                row
            }
            None => {
                let mut row = values;
                if row.first().is_none_or(|(c, _)| *c != self.id) {
                    row.insert(0, (self.id.clone(), Some("(given by the table)".into())));
                }
                row
            }
        };
        row_text(&values)
    }
}

/// What an SQL store tells the code both share about its rows.
pub trait SqlRows: ReadStore {
    fn layout(&self) -> &Layout;
    fn normalizer(&self) -> &Normalizer;
    /// Row `id`'s read columns ([`Layout::read_columns`]) as (quoted
    /// column, value); [`StoreError::Missing`] when there is none.
    fn row_values(&self, id: &str) -> Result<Vec<(String, Option<String>)>, StoreError>;
    /// The id abgleich gives a created row, when the table does not
    /// ("the store chooses the id": a key the table does not number).
    fn own_id(&self) -> Option<String> {
        (self.layout().new_id == NewId::Uuid).then(|| uuid::Uuid::new_v4().to_string())
    }
    /// The time a write stamps into `modified`, as the row will show it.
    fn now() -> String;

    /// What `update(id, _, patch)` (the row with its other columns as they
    /// are) or `create(patch)` (`id` is `None`: the columns it fills; the id
    /// the table gives is named only once the row is inserted) would store.
    fn preview_row(&self, id: Option<&str>, patch: &Patch) -> Result<Previewed, StoreError> {
        let l = self.layout();
        let text = match id {
            Some(id) => {
                let contact = self.read(id)?.contact;
                let values = l.update_values(patch, &contact, Self::now, self.normalizer());
                l.preview_text(Some(self.row_values(id)?), values)
            }
            None => {
                let values = l.insert_values(patch, self.own_id(), Self::now, self.normalizer());
                l.preview_text(None, values)
            }
        };
        Ok(Previewed {
            text,
            identity: None,
        })
    }

    /// Row `id` as the operator reads it.
    fn row_text_of(&self, id: &str) -> Result<String, StoreError> {
        Ok(row_text(&self.row_values(id)?))
    }
}

/// "Anna Maria Berg" → ("Anna Maria", "Berg"): the last word is the family
/// name; "Berg, Anna" → ("Anna", "Berg").
pub fn split_name(text: &str) -> (String, String) {
    let text = text.trim();
    if let Some((family, given)) = text.split_once(',') {
        return (given.trim().to_string(), family.trim().to_string());
    }
    match text.rsplit_once(char::is_whitespace) {
        Some((given, family)) => (given.trim().to_string(), family.trim().to_string()),
        None => (String::new(), text.to_string()),
    }
}

fn hash_value(hasher: &mut xxhash_rust::xxh3::Xxh3, value: Option<&str>) {
    match value {
        None => hasher.update(&[0]),
        Some(v) => {
            hasher.update(&[1]);
            hasher.update(&(v.len() as u64).to_le_bytes());
            hasher.update(v.as_bytes());
        }
    }
}

/// A row as the operator reads it: `column = value` a line, `NULL` for
/// none; a column named twice (two fields in one column) once, with the
/// last value.
pub fn row_text(values: &[(String, Option<String>)]) -> String {
    let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
    for (column, value) in values {
        match seen.iter_mut().find(|(c, _)| c == column) {
            Some(slot) => slot.1 = value.as_deref(),
            None => seen.push((column, value.as_deref())),
        }
    }
    seen.iter()
        .map(|(column, value)| format!("{} = {}\n", unquote(column), value.unwrap_or("NULL")))
        .collect()
}

/// "3 rows of orders and 1 row of invoices"
pub fn rows_of(counts: &[(&str, i64)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(table, n)| {
            let rows = if *n == 1 { "row" } else { "rows" };
            format!("{n} {rows} of {table}")
        })
        .collect();
    match parts.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Why a row abgleich created cannot be removed: "2 rows of orders refer
/// to it".
pub fn referring(counts: &[(&str, i64)]) -> String {
    let verb = if matches!(counts, [(_, 1)]) {
        "refers"
    } else {
        "refer"
    };
    format!("{} {verb} to it", rows_of(counts))
}

/// A row with all its columns, as the journal keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SavedRow {
    pub columns: Vec<String>,
    pub values: Vec<SavedValue>,
}

/// One value with its storage class, so a restored row is identical
/// (PostgreSQL keeps every value as the text of its type: `Null` or `Text`).
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
pub enum SavedValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl SavedRow {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(unit: &str, bytes: &[u8]) -> Result<SavedRow, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::DamagedSavedRow {
            unit: unit.to_string(),
            source,
        })
    }

    /// Whether the saved row fits a table whose columns are `schema`.
    pub fn check_fits(&self, unit: &str, schema: &HashSet<String>) -> Result<(), StoreError> {
        if self.columns.len() != self.values.len() {
            return Err(StoreError::SavedRowDoesNotFit {
                unit: unit.to_string(),
                why: format!(
                    "{} columns but {} values",
                    self.columns.len(),
                    self.values.len()
                ),
            });
        }
        if let Some(gone) = self.columns.iter().find(|c| !schema.contains(*c)) {
            return Err(StoreError::SavedRowDoesNotFit {
                unit: unit.to_string(),
                why: format!("the table has no column {gone:?} any more"),
            });
        }
        Ok(())
    }

    /// The saved columns (as the schema names them) whose value differs
    /// from the row as it is `now`, with their saved values: what putting
    /// the row back in place sets.
    pub fn differing_from(self, now: &SavedRow) -> Vec<(String, SavedValue)> {
        self.columns
            .into_iter()
            .zip(self.values)
            .filter(|(column, value)| {
                let current = now
                    .columns
                    .iter()
                    .position(|c| c == column)
                    .map(|i| &now.values[i]);
                current != Some(value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referring_rows_are_counted_in_words() {
        assert_eq!(rows_of(&[("orders", 1)]), "1 row of orders");
        assert_eq!(
            rows_of(&[("orders", 3), ("invoices", 1), ("notes", 2)]),
            "3 rows of orders, 1 row of invoices and 2 rows of notes"
        );
        assert_eq!(referring(&[("orders", 1)]), "1 row of orders refers to it");
        assert_eq!(referring(&[("orders", 2)]), "2 rows of orders refer to it");
    }

    #[test]
    fn a_restored_row_sets_only_what_differs() {
        let row = |v: &str| SavedRow {
            columns: vec!["id".into(), "a".into()],
            values: vec![SavedValue::Text("1".into()), SavedValue::Text(v.into())],
        };
        assert!(row("x").differing_from(&row("x")).is_empty());
        assert_eq!(
            row("x").differing_from(&row("y")),
            [("a".to_string(), SavedValue::Text("x".into()))]
        );
    }
}
