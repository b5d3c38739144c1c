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

/// Record a previous sync ("last week") in the samples' state, so that the
/// first plan holds every kind of operation, not only what a first sync
/// does: Vogel's mobile changed in the CRM (update ──▶), Becker's title and
/// Kjærgaard's birthday changed on the cards (update ◀──), both sides
/// moved Hoffmann to different addresses (a conflict on two fields against
/// the last sync), and Nikolaus Wolf's card was deleted in Outlook (a delete
/// that waits for review). Everything else stays as a first sync sees it.
pub fn write_history(config_path: &Path) -> Result<(), String> {
    use crate::config::Config;
    use crate::model::contact::FieldPath;
    use crate::model::{PerSide, Side};
    use crate::sync::plan::settled_base;
    use crate::sync::session::Session;
    use crate::sync::state::{Base, BaseValue, Link};

    let config = Config::load(config_path).map_err(|e| e.to_string())?;
    let mut session = Session::open(config, "demo").map_err(|e| e.to_string())?;
    let snapshot = session.read().map_err(|e| e.to_string())?;
    let find = |side: Side, family: &str| {
        snapshot
            .sides
            .get(side)
            .records
            .iter()
            .find(|r| r.contact.family == family)
            .ok_or_else(|| format!("sample contact {family} is missing on the {side} side"))
    };
    let field = |name: &str| name.parse::<FieldPath>().map_err(|e| e.to_string());
    let same = |v: &str| BaseValue::Known(PerSide::new(Some(v.to_string()), Some(v.to_string())));
    // (family name, the fields whose last-sync value differs from today's).
    let pairs: [(&str, Vec<(FieldPath, BaseValue)>); 4] = [
        (
            "Vogel",
            vec![(field("phone.cell")?, same("+49 160 7281934"))],
        ),
        ("Becker", vec![(field("title")?, same("Disponent"))]),
        (
            "Kjærgaard",
            vec![(field("bday")?, BaseValue::Known(PerSide::default()))],
        ),
        (
            "Hoffmann",
            vec![
                (field("adr.work.code")?, same("04103")),
                (field("adr.work.street")?, same("Augustusplatz 9")),
            ],
        ),
    ];
    let mut links = Vec::new();
    for (family, old) in pairs {
        let (left, right) = (find(Side::Left, family)?, find(Side::Right, family)?);
        let mut base = settled_base(
            &session.fields,
            &Base::default(),
            PerSide::new(&left.contact, &right.contact),
            &[],
        );
        for (path, value) in old {
            base.set(path, value);
        }
        links.push(Link {
            link_id: 0,
            ids: PerSide::new(Some(left.id.clone()), Some(right.id.clone())),
            revs: PerSide::default(),
            base,
            uids: PerSide::new(left.uid.clone(), right.uid.clone()),
            created_on: None,
            tombstone: None,
        });
    }
    // A pair whose card is gone: linked last week, deleted in Outlook since.
    let wolf = find(Side::Left, "Wolf")?;
    links.push(Link {
        link_id: 0,
        ids: PerSide::new(Some(wolf.id.clone()), Some("Nikolaus Wolf.vcf".to_string())),
        revs: PerSide::default(),
        base: settled_base(
            &session.fields,
            &Base::default(),
            PerSide::new(&wolf.contact, &wolf.contact),
            &[],
        ),
        uids: PerSide::default(),
        created_on: Some(Side::Right),
        tombstone: None,
    });
    let tx = session.state.transaction().map_err(|e| e.to_string())?;
    for link in &links {
        tx.put_link(None, link).map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())
}
