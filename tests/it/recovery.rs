//! Recovery and undo through the real binary (SPEC §6): a row goes back in
//! place, so the CRM's cascades and delete triggers never fire for it.

use std::path::Path;

use rusqlite::Connection;

use crate::common::samples;
use crate::crash::{APPLY, Copy, crm_rows, files};

fn row_ids(db: &Path) -> Vec<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT id FROM customers ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// ---- rows in place -----------------------------------------------------------------

/// Every sample customer gets an order (ON DELETE CASCADE), and a trigger
/// logs every deleted customer.
const CRM_WITH_ORDERS: &str = "
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        item TEXT NOT NULL
    );
    INSERT INTO orders (customer_id, item) SELECT id, 'order of ' || id FROM customers;
    CREATE TABLE deleted_customers (customer_id INTEGER NOT NULL);
    CREATE TRIGGER log_deleted AFTER DELETE ON customers
    BEGIN INSERT INTO deleted_customers VALUES (old.id); END;
";

fn count(db: &Path, sql: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn deleted_customers(db: &Path) -> Vec<i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT customer_id FROM deleted_customers ORDER BY customer_id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A new title on every card that has one: the next apply updates the CRM.
fn retitle_cards(outlook: &Path) {
    for (name, bytes) in files(outlook) {
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let edited: Vec<String> = text
            .split_inclusive('\n')
            .map(|line| {
                if line.starts_with("TITLE") {
                    "TITLE:Retitled on the card\r\n".to_string()
                } else {
                    line.to_string()
                }
            })
            .collect();
        std::fs::write(outlook.join(name), edited.concat()).unwrap();
    }
}

#[test]
fn undo_puts_rows_back_in_place_so_cascades_and_delete_triggers_never_fire() {
    let copy = Copy::new();
    let db = copy.path().join("crm.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch(CRM_WITH_ORDERS)
        .unwrap();
    let orders = count(&db, "SELECT COUNT(*) FROM orders");
    let sample_ids = row_ids(&db);
    assert_eq!(orders, sample_ids.len() as i64);

    // Apply #1 creates and links; apply #2 only updates customers.
    let first = copy.run(&APPLY);
    assert!(first.status.success(), "apply #1\n{first}");
    let rows_after_first = crm_rows(&db);
    retitle_cards(&copy.path().join("outlook"));
    let second = copy.run(&["apply", "--yes"]);
    assert!(second.status.success(), "apply #2\n{second}");
    assert_ne!(
        crm_rows(&db),
        rows_after_first,
        "apply #2 updated customers"
    );
    assert!(deleted_customers(&db).is_empty(), "no customer deleted yet");

    // Undoing the updates touches no order and deletes no customer.
    let undo = copy.run(&["undo"]);
    assert!(undo.status.success(), "undo of #2\n{undo}");
    assert_eq!(
        crm_rows(&db),
        rows_after_first,
        "every customer as apply #1 left it\n{undo}"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders"),
        orders,
        "no order lost\n{undo}"
    );
    assert_eq!(
        deleted_customers(&db),
        Vec::<i64>::new(),
        "the delete trigger never fired\n{undo}"
    );

    // Undoing apply #1 deletes only the customers it created.
    let created: Vec<i64> = row_ids(&db)
        .into_iter()
        .filter(|id| !sample_ids.contains(id))
        .collect();
    assert!(!created.is_empty(), "apply #1 created customers");
    let undo = copy.run(&["undo"]);
    assert!(undo.status.success(), "undo of #1\n{undo}");
    assert_eq!(
        deleted_customers(&db),
        created,
        "only the created customers were deleted\n{undo}"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders"),
        orders,
        "no order lost\n{undo}"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM pragma_foreign_key_check"),
        0,
        "no order without its customer"
    );
    assert_eq!(row_ids(&db), sample_ids, "the sample customers, no other");
    assert_eq!(
        crm_rows(&db),
        crm_rows(&samples().join("crm.sqlite")),
        "every customer as before both applies"
    );
}
