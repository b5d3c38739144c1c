//! The bundled samples (a small CRM and an Outlook-style address book),
//! embedded so that `abgleich demo` works from an installed binary.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/samples.rs"));

/// `samples/abgleich.toml`: the config that maps the samples.
pub const CONFIG: &str = include_str!("../samples/abgleich.toml");
/// `samples/crm.sql`: the CRM table and its rows.
pub const CRM_SQL: &str = include_str!("../samples/crm.sql");

/// Write the samples into `dir` (which must exist and be empty of them):
/// `abgleich.toml`, `crm.sqlite` built from `crm.sql`, and `outlook/`.
/// Returns the config's path.
pub fn write_to(dir: &Path) -> Result<PathBuf, String> {
    let fail = |what: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", what.display());
    let config = dir.join("abgleich.toml");
    std::fs::write(&config, CONFIG).map_err(|e| fail(&config, &e))?;
    let db = dir.join("crm.sqlite");
    let conn = rusqlite::Connection::open(&db).map_err(|e| fail(&db, &e))?;
    conn.execute_batch(CRM_SQL).map_err(|e| fail(&db, &e))?;
    drop(conn);
    let outlook = dir.join("outlook");
    std::fs::create_dir_all(&outlook).map_err(|e| fail(&outlook, &e))?;
    for (name, bytes) in OUTLOOK {
        let path = outlook.join(name);
        std::fs::write(&path, bytes).map_err(|e| fail(&path, &e))?;
    }
    Ok(config)
}
