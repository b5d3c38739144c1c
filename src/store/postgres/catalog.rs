//! What the server's catalog tells about the configured table: which
//! relation `table` names, its columns and their types, whether the id
//! column is a key and who fills it, and the foreign keys that refer to it.
//! Every name reaches SQL only as a query parameter or quoted.

use postgres::Client;

use super::connect::server_error;
use crate::config::StoreConfig;
use crate::store::interface::StoreError;
use crate::store::sql::{NewId, quote_identifier};

/// The table or view `table` names.
pub(super) struct Relation {
    pub oid: u32,
    /// `"schema"."name"`
    pub quoted: String,
    /// `schema.name`, for messages.
    pub display: String,
    /// A view (no `xmin`): writes are conditional on a hash of its columns.
    pub view: bool,
}

/// One column of the relation.
pub(super) struct Column {
    pub name: String,
    /// As `format_type` writes it (`character varying(40)`, `boolean`): what
    /// values are cast to.
    pub sql_type: String,
    /// The base type's name (`varchar`, `timestamptz`).
    pub type_name: String,
    /// `varchar(n)`, `char(n)`: n.
    pub max_length: Option<usize>,
    pub not_null: bool,
    /// Filled by the table when an INSERT leaves it out (a DEFAULT, an
    /// identity column).
    pub filled: bool,
    /// `GENERATED ALWAYS AS IDENTITY`: an INSERT that gives it a value
    /// must say `OVERRIDING SYSTEM VALUE`.
    pub identity_always: bool,
    /// `GENERATED ALWAYS AS (…) STORED`: never written.
    pub generated: bool,
    pub number: i16,
}

impl Column {
    /// Text as it is: no cast needed, and none wanted (a cast to
    /// `varchar(n)` would cut a long value short instead of refusing it).
    pub fn text_like(&self) -> bool {
        matches!(self.type_name.as_str(), "text" | "varchar" | "bpchar")
    }
}

/// A foreign key that refers to rows of the CRM table.
pub(super) struct Reference {
    /// The referring table's name.
    pub table: String,
    /// Counts the rows of `table` that refer to the CRM row whose id is `$1`.
    pub count_sql: String,
}

/// The relation `table` names: a visible table or view of that name, or
/// `schema.name`. Anything else is refused naming the key, so no config
/// value ever reaches SQL unquoted.
pub(super) fn relation(
    client: &mut Client,
    config: &StoreConfig,
    address: &str,
) -> Result<Relation, StoreError> {
    let name = config.table.clone().unwrap_or_default();
    const SELECT: &str = "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm')";
    let fail = |e| server_error(address, e);
    let mut rows = client
        .query(
            &format!("{SELECT} AND c.relname = $1 AND pg_catalog.pg_table_is_visible(c.oid)"),
            &[&name],
        )
        .map_err(fail)?;
    if rows.is_empty()
        && let Some((schema, table)) = name.split_once('.')
    {
        rows = client
            .query(
                &format!("{SELECT} AND n.nspname = $1 AND c.relname = $2"),
                &[&schema, &table],
            )
            .map_err(fail)?;
    }
    let Some(row) = rows.first() else {
        let tables: Vec<String> = client
            .query(
                "SELECT CASE WHEN pg_catalog.pg_table_is_visible(c.oid) THEN c.relname::text \
                 ELSE n.nspname || '.' || c.relname END \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p', 'v') \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1 LIMIT 50",
                &[],
            )
            .map_err(fail)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        return Err(StoreError::Config {
            place: config.locate("table"),
            message: format!(
                "{name:?} is not a table or view in {address}; expected one of: {}",
                tables.join(", ")
            ),
        });
    };
    let (schema, table, kind): (String, String, String) = (row.get(1), row.get(2), row.get(3));
    Ok(Relation {
        oid: row.get(0),
        quoted: format!("{}.{}", quote_identifier(&schema), quote_identifier(&table)),
        display: format!("{schema}.{table}"),
        view: kind == "v",
    })
}

/// Every column of the relation, in table order.
pub(super) fn columns(
    client: &mut Client,
    relation: &Relation,
    address: &str,
) -> Result<Vec<Column>, StoreError> {
    let rows = client
        .query(
            "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    COALESCE(bt.typname, t.typname)::text, a.atttypmod, a.attnotnull, \
                    a.atthasdef OR a.attidentity <> '', a.attidentity = 'a', \
                    a.attgenerated <> '', a.attnum \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&relation.oid],
        )
        .map_err(|e| server_error(address, e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let type_name: String = r.get(2);
            let modifier: i32 = r.get(3);
            let max_length = (matches!(type_name.as_str(), "varchar" | "bpchar") && modifier > 4)
                .then(|| usize::try_from(modifier - 4).unwrap_or(usize::MAX));
            Column {
                name: r.get(0),
                sql_type: r.get(1),
                type_name,
                max_length,
                not_null: r.get(4),
                filled: r.get(5),
                identity_always: r.get(6),
                generated: r.get(7),
                number: r.get(8),
            }
        })
        .collect())
}

/// Whether `column` can be the id, and who fills it on create; `Err` says
/// why it cannot. On a table the id must be a key: NOT NULL and unique on
/// its own (the primary key, a UNIQUE constraint or index). A view has no
/// keys to ask: its id column is taken as the config names it.
pub(super) fn check_id(
    client: &mut Client,
    relation: &Relation,
    column: &Column,
    address: &str,
) -> Result<Result<NewId, String>, StoreError> {
    if !relation.view {
        let unique: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_index i WHERE i.indrelid = $1 \
                 AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = $2 \
                 AND i.indpred IS NULL AND i.indexprs IS NULL",
                &[&relation.oid, &column.number],
            )
            .map_err(|e| server_error(address, e))?
            .get(0);
        let why = match (unique > 0, column.not_null) {
            (true, true) => None,
            (false, false) => Some("it is neither unique nor NOT NULL"),
            (false, true) => {
                Some("it is not unique (no PRIMARY KEY or UNIQUE constraint on it alone)")
            }
            (true, false) => Some("it may hold NULL"),
        };
        if let Some(why) = why {
            return Ok(Err(format!(
                "{why}; the id column must be a key, unique and NOT NULL (a PRIMARY KEY)"
            )));
        }
    }
    if column.filled || relation.view {
        return Ok(Ok(NewId::Table));
    }
    if column.text_like() || column.type_name == "uuid" {
        return Ok(Ok(NewId::Uuid));
    }
    Ok(Err(format!(
        "a new row could not get an id: the column is {} without a DEFAULT, and abgleich gives \
         a fresh id (a UUID) only to a text or uuid column; make it a serial or identity column \
         (GENERATED … AS IDENTITY) or give it a DEFAULT",
        column.sql_type
    )))
}

/// Every foreign key of the database that refers to the CRM table. `id`
/// is the quoted id column, `id_param` how `$1` is compared with it.
pub(super) fn references(
    client: &mut Client,
    relation: &Relation,
    id: &str,
    id_param: &str,
    address: &str,
) -> Result<Vec<Reference>, StoreError> {
    let rows = client
        .query(
            "SELECT cl.relname::text, \
                    quote_ident(n.nspname) || '.' || quote_ident(cl.relname), \
                    con.conrelid = con.confrelid, \
                    ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) \
                          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num \
                          ORDER BY k.ord), \
                    ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
                          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num \
                          ORDER BY k.ord) \
             FROM pg_catalog.pg_constraint con \
             JOIN pg_catalog.pg_class cl ON cl.oid = con.conrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace \
             WHERE con.contype = 'f' AND con.confrelid = $1 ORDER BY 2, con.conname",
            &[&relation.oid],
        )
        .map_err(|e| server_error(address, e))?;
    let mut references = Vec::new();
    for row in rows {
        let (table, quoted, itself): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
        let (from, to): (Vec<String>, Vec<String>) = (row.get(3), row.get(4));
        if from.is_empty() || from.len() != to.len() {
            continue;
        }
        let mut count_sql = format!(
            "SELECT count(*) FROM {quoted} AS child WHERE ({}) IN \
             (SELECT {} FROM {} AS abgleich_row WHERE abgleich_row.{id} = {id_param})",
            from.iter()
                .map(|c| format!("child.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            to.iter()
                .map(|c| format!("abgleich_row.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            relation.quoted,
        );
        if itself {
            // The row itself does not keep itself.
            count_sql.push_str(&format!(" AND child.{id} IS DISTINCT FROM {id_param}"));
        }
        references.push(Reference { table, count_sql });
    }
    Ok(references)
}
