//! The three stores seen from the outside: what they refuse, what they never
//! touch, and what a write keeps. Every store is opened the way the program
//! opens it, from config text (`Config::parse` + `store::open`).

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};

use abgleich::config::Config;
use abgleich::model::contact::Contact;
use abgleich::model::record::hash_revision;
use abgleich::store::{self, Patch, Store, StoreError};
use abgleich::vcard::map::to_contact;
use abgleich::vcard::read_cards;
use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};
use rusqlite::Connection;

// ---- helpers ---------------------------------------------------------------

fn parse_config(dir: &Path, text: &str) -> Config {
    Config::parse(text, &dir.join("abgleich.toml"))
        .unwrap_or_else(|e| panic!("test config does not parse: {e}\n{text}"))
}

fn open_left(config: &Config) -> Box<dyn Store> {
    store::open(&config.left, &config.normalizer)
        .unwrap_or_else(|e| panic!("store does not open: {e}"))
}

fn open_left_err(config: &Config) -> StoreError {
    match store::open(&config.left, &config.normalizer) {
        Ok(_) => panic!(
            "store {} opened; expected an error",
            config.left.path.display()
        ),
        Err(e) => e,
    }
}

/// The ids of the records a read returned without their values.
fn unparsed_ids(read: &store::ChangedListing) -> Vec<&str> {
    let records = &read.listing.records;
    read.unparsed
        .iter()
        .map(|&i| records[i].id.as_str())
        .collect()
}

fn title(value: &str) -> Patch {
    Patch {
        fields: vec![("title".parse().unwrap(), Some(value.to_string()))],
        ..Patch::default()
    }
}

/// Every file and folder under `root`, as paths relative to it.
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.insert(path.strip_prefix(root).unwrap().to_path_buf());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// The one card in `bytes`.
fn only_card(bytes: &[u8]) -> VCard {
    let mut cards = read_cards(bytes);
    assert_eq!(
        cards.len(),
        1,
        "expected one card in:\n{}",
        String::from_utf8_lossy(bytes)
    );
    cards.remove(0).expect("card is readable").card
}

fn contact_of(bytes: &[u8]) -> Contact {
    to_contact(&only_card(bytes))
}

fn research_cards() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/research/vcard-test-cards");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "{} not found: the hand-made cards are skipped",
            dir.display()
        );
        None
    }
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- sqlite helpers --------------------------------------------------------

const CRM_TABLE: &str = "
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  first_name TEXT, last_name TEXT, position TEXT, mobile TEXT,
  updated_at TEXT
);
INSERT INTO customers VALUES
  (1, 'Anna', 'Schröder', 'Inhaberin', '0511 3481120', '2026-01-01 10:00:00'),
  (2, 'Jürgen', 'Müller', 'Koch', NULL, '2026-01-02 10:00:00'),
  (7, 'Søren', 'Ørsted', NULL, '+45 12345678', '2026-01-03 10:00:00');
";

fn make_crm(dir: &Path) -> PathBuf {
    let path = dir.join("crm.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(CRM_TABLE).unwrap();
    path
}

fn sqlite_toml(table: &str, id: &str, given_column: &str) -> String {
    format!(
        r#"[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = '{table}'
id = '{id}'
modified = "updated_at"

[left.fields]
"name.given" = '{given_column}'
"name.family" = "last_name"
"title" = "position"
"phone.cell" = {{ column = "mobile", transform = "e164" }}

[right]
kind = "vdir"
path = "book"

[sync]
default_region = "DE"
"#
    )
}

/// Every table's name and every row of `customers`, as text.
fn crm_dump(path: &Path) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let conn = Connection::open(path).unwrap();
    let tables = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    let rows = conn
        .prepare(
            "SELECT CAST(id AS TEXT), first_name, last_name, position, mobile, updated_at \
             FROM customers ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            (0..6)
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (tables, rows)
}

fn crm_row(path: &Path, id: &str) -> Vec<Option<String>> {
    crm_dump(path)
        .1
        .into_iter()
        .find(|r| r[0].as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no row {id}"))
}

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in config"))
        + 1
}

// ---- 1. sqlite names come from the schema, never from SQL ----------------

#[test]
fn sqlite_refuses_table_and_column_names_not_in_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_crm(dir.path());
    let before = crm_dump(&db);
    assert!(before.0.contains(&"customers".to_string()));
    assert_eq!(before.1.len(), 3);

    // (table, id, given column, key the error must name, line that key is on)
    let cases = [
        ("kunden", "id", "first_name", "left.table", "table ="),
        (
            "customers; DROP TABLE customers",
            "id",
            "first_name",
            "left.table",
            "table =",
        ),
        (
            "customers",
            "id",
            "vorname",
            "left.fields.\"name.given\"",
            "\"name.given\"",
        ),
        (
            "customers",
            "id",
            "first_name\" FROM customers; --",
            "left.fields.\"name.given\"",
            "\"name.given\"",
        ),
        (
            "customers",
            "id = 1; DROP TABLE customers; --",
            "first_name",
            "left.id",
            "id =",
        ),
    ];
    for (table, id, given, key, key_line) in cases {
        let text = sqlite_toml(table, id, given);
        let config = parse_config(dir.path(), &text);
        let shown = open_left_err(&config).to_string();
        assert!(
            shown.contains(&format!("`{key}`")),
            "error for table {table:?} / id {id:?} / column {given:?} does not name `{key}`: {shown}"
        );
        let line = line_of(&text, key_line);
        assert!(
            shown.contains(&format!("abgleich.toml:{line}:")),
            "error does not name the config file and line {line}: {shown}"
        );
        assert_eq!(
            crm_dump(&db),
            before,
            "the database changed after opening with table {table:?} / id {id:?} / column {given:?}"
        );
    }

    // The same database with correct names opens and reads all rows.
    let config = parse_config(dir.path(), &sqlite_toml("customers", "id", "first_name"));
    let listing = open_left(&config).read_all().unwrap();
    assert_eq!(listing.records.len(), 3);
    assert_eq!(listing.records[2].contact.family, "Ørsted");
}

#[test]
fn sqlite_names_with_quotes_are_quoted_not_executed() {
    // A real table and column whose names carry a double quote and a
    // semicolon: they are used as names, and nothing else runs.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        r#"CREATE TABLE "odd ""table""; x" (id INTEGER PRIMARY KEY, "first"";name" TEXT, last_name TEXT, position TEXT, mobile TEXT, updated_at TEXT);
           INSERT INTO "odd ""table""; x" VALUES (1, 'Ilse', 'Kühn', NULL, NULL, NULL);
           CREATE TABLE other (x);"#,
    )
    .unwrap();
    drop(conn);
    let config = parse_config(
        dir.path(),
        &sqlite_toml(r#"odd "table"; x"#, "id", r#"first";name"#),
    );
    let mut store = open_left(&config);
    let listing = store.read_all().unwrap();
    assert_eq!(listing.records.len(), 1);
    assert_eq!(listing.records[0].contact.given, "Ilse");
    let record = &listing.records[0];
    store
        .update(&record.id, &record.revision, &title("Prokuristin"))
        .unwrap();
    let conn = Connection::open(&db).unwrap();
    let (given, position): (String, String) = conn
        .query_row(
            r#"SELECT "first"";name", position FROM "odd ""table""; x" WHERE id = 1"#,
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((given.as_str(), position.as_str()), ("Ilse", "Prokuristin"));
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 2);
}

// ---- 2. a vdir never writes outside its folder ----------------------------

fn vdir_toml(path: &str, version: &str) -> String {
    format!(
        r#"[left]
name = "Outlook"
kind = "vdir"
path = "{path}"
write_version = "{version}"

[right]
kind = "vcard"
path = "unused.vcf"
"#
    )
}

const OUTSIDE_CARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:outside\r\nFN:Outside Card\r\nN:Card;Outside;;;\r\nTITLE:Unberührt\r\nEND:VCARD\r\n";

#[test]
fn vdir_create_with_a_path_like_uid_stays_in_the_folder() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("a").join("b");
    let book = base.join("book");
    std::fs::create_dir_all(&book).unwrap();
    let before = tree(root.path());

    let config = parse_config(&base, &vdir_toml("book", "4.0"));
    let mut store = open_left(&config);
    let patch = Patch {
        fields: vec![
            ("name.given".parse().unwrap(), Some("Eve".to_string())),
            (
                "name.family".parse().unwrap(),
                Some("Traversal".to_string()),
            ),
        ],
        uid: Some("../../x".into()),
        ..Patch::default()
    };
    let (id, revision) = store.create(&patch).unwrap();
    assert!(store.flush().unwrap().is_empty());

    let after = tree(root.path());
    let new: Vec<&PathBuf> = after.difference(&before).collect();
    assert_eq!(
        new.len(),
        1,
        "create must add exactly one file, it added {new:?}"
    );
    assert_eq!(
        new[0].parent(),
        Some(Path::new("a/b/book")),
        "the new card is not directly inside the store folder: {new:?}"
    );
    assert_eq!(new[0].file_name().unwrap().to_str(), Some(id.as_str()));
    assert!(before.is_subset(&after), "create removed something");

    let record = store.read(&id).unwrap();
    assert_eq!(record.uid.as_deref(), Some("../../x"));
    assert_eq!(record.revision, revision);
    assert_eq!(record.contact.family, "Traversal");
    let listing = store.read_all().unwrap();
    assert_eq!(listing.records.len(), 1);
    assert_eq!(listing.records[0].id, id);
}

#[test]
fn vdir_update_and_delete_refuse_ids_outside_the_folder() {
    let root = tempfile::tempdir().unwrap();
    let book = root.path().join("book");
    std::fs::create_dir(&book).unwrap();
    // A card just outside the store folder, and one the store owns.
    let outside = root.path().join("x.vcf");
    std::fs::write(&outside, OUTSIDE_CARD).unwrap();
    std::fs::write(
        book.join("inside.vcf"),
        OUTSIDE_CARD.replace("outside", "inside"),
    )
    .unwrap();
    let right_rev = hash_revision(OUTSIDE_CARD.as_bytes());
    let before = tree(root.path());

    let config = parse_config(root.path(), &vdir_toml("book", "3.0"));
    let mut store = open_left(&config);
    let absolute = outside.to_str().unwrap().to_string();
    for id in [
        "../x.vcf",
        absolute.as_str(),
        "/etc/passwd",
        "..",
        "sub/../../x.vcf",
    ] {
        // The revision is the outside file's real one: only the id can refuse this.
        let updated = store.update(id, &right_rev, &title("Gehackt"));
        assert!(
            updated.is_err(),
            "update of {id:?} was accepted: {updated:?}"
        );
        let deleted = store.delete(id, &right_rev);
        assert!(
            deleted.is_err(),
            "delete of {id:?} was accepted: {deleted:?}"
        );
        assert!(store.read(id).is_err(), "read of {id:?} was accepted");
        assert_eq!(
            std::fs::read(&outside).unwrap(),
            OUTSIDE_CARD.as_bytes(),
            "the file outside the folder changed ({id:?})"
        );
        assert_eq!(tree(root.path()), before, "files changed after {id:?}");
    }
    // The card the store does own is still writable.
    let listing = store.read_all().unwrap();
    assert_eq!(listing.records.len(), 1);
    let r = &listing.records[0];
    store.update(&r.id, &r.revision, &title("Neu")).unwrap();
    assert_eq!(store.read(&r.id).unwrap().contact.title, "Neu");
}

// ---- 3. 2.1 legacy encodings ------------------------------------------------

#[test]
fn v21_quoted_printable_names_decode_in_every_charset() {
    let card = |lines: &[&[u8]]| -> Vec<u8> {
        let mut out = b"BEGIN:VCARD\r\nVERSION:2.1\r\n".to_vec();
        for l in lines {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"END:VCARD\r\n");
        out
    };

    let c = contact_of(&card(&[
        b"N;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen",
        b"NOTE;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:Preis 5 =80 =96 bar",
    ]));
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Müller", "Jürgen"));
    assert_eq!(c.note, "Preis 5 € – bar");

    let c = contact_of(&card(&[
        b"N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Gro=DF;Hans",
        b"ORG;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:B=E4ckerei Gro=DF",
    ]));
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Groß", "Hans"));
    assert_eq!(c.org_name, "Bäckerei Groß");

    let c = contact_of(&card(&[
        b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:S=C3=B8rensen;S=C3=B8ren",
    ]));
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Sørensen", "Søren"));

    // The label decides: 0xFB is "ű" in ISO-8859-2, not windows-1252's "û".
    let c = contact_of(&card(&[
        b"N;CHARSET=ISO-8859-2;ENCODING=QUOTED-PRINTABLE:Sz=FBcs;Zs=F3fia",
    ]));
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Szűcs", "Zsófia"));

    // A soft line break between the two bytes of one UTF-8 character.
    let c = contact_of(&card(&[
        b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=",
        b"=BCller;S=C3=B8=",
        b"ren",
        b"FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:S=C3=",
        b"=B8ren M=C3=BCller",
    ]));
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Müller", "Søren"));
    assert_eq!(c.full, "Søren Müller");

    // Raw 8-bit Latin-1 without QUOTED-PRINTABLE, labelled and unlabelled.
    let c = contact_of(&card(&[
        b"N;CHARSET=ISO-8859-1:M\xFCller;J\xFCrgen",
        b"FN:J\xFCrgen M\xFCller",
        b"TITLE:Gesch\xE4ftsf\xFChrer",
        b"ADR;HOME:;;Stra\xDFe 1;K\xF6ln;;50667;",
    ]));
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Müller", "Jürgen"));
    assert_eq!(c.full, "Jürgen Müller");
    assert_eq!(c.title, "Geschäftsführer");
    assert_eq!(c.addresses[0].street, "Straße 1");
    assert_eq!(c.addresses[0].locality, "Köln");
}

#[test]
fn hand_made_legacy_cards_decode_to_umlauts() {
    let Some(dir) = research_cards() else {
        return;
    };
    let read = |name: &str| contact_of(&std::fs::read(dir.join(name)).unwrap());

    let c = read("01_v21_outlook_qp_utf8.vcf");
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Müller", "Jürgen"));
    assert_eq!(c.full, "Jürgen Müller");
    assert_eq!(c.org_name, "Bäckerei Müller GmbH");
    assert_eq!(c.title, "Geschäftsführer");
    assert!(
        c.note
            .starts_with("Erste Zeile\nZweite Zeile mit Umlauten: äöü ß und ein sehr langer Text"),
        "{:?}",
        c.note
    );
    assert!(
        c.note.ends_with("damit die Zeile nicht zu lang wird."),
        "{:?}",
        c.note
    );
    assert_eq!(c.addresses[0].street, "Hauptstraße 5");

    let c = read("02_v21_latin1_qp.vcf");
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Müller", "Jürgen"));
    assert_eq!(c.full, "Jürgen Müller");
    assert_eq!(c.title, "Geschäftsführer");
    assert_eq!(c.addresses[0].street, "Straße des 17. Juni 1");
    assert_eq!(c.addresses[0].locality, "Köln");
    assert_eq!(c.note, "Grüße aus Köln\nzweite Zeile");

    let c = read("03_v21_latin1_raw8bit.vcf");
    assert_eq!((c.family.as_str(), c.given.as_str()), ("Müller", "Jürgen"));
    assert_eq!(c.full, "Jürgen Müller");

    let c = read("10_fold_splits_utf8.vcf");
    assert!(c.note.ends_with("xüende"), "{:?}", c.note);
    assert!(!c.note.contains('\u{FFFD}'), "{:?}", c.note);
}

// ---- 4. a write keeps what abgleich does not map ---------------------------

fn photos(card: &VCard) -> Vec<Vec<u8>> {
    card.entries
        .iter()
        .filter(|e| e.name == VCardProperty::Photo)
        .flat_map(|e| &e.values)
        .filter_map(|v| match v {
            VCardValue::Binary(d) => Some(d.data.clone()),
            _ => None,
        })
        .collect()
}

fn values_text(entry: &VCardEntry) -> String {
    entry
        .values
        .iter()
        .map(|v| match v {
            VCardValue::Text(t) => t.clone(),
            VCardValue::Component(c) => c.join(","),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// (group, property name, value) of every grouped or `X-` entry.
fn unmapped(card: &VCard) -> BTreeSet<(String, String, String)> {
    card.entries
        .iter()
        .filter(|e| e.group.is_some() || e.name.as_str().to_ascii_uppercase().starts_with("X-"))
        .map(|e| {
            (
                e.group.clone().unwrap_or_default().to_ascii_lowercase(),
                e.name.as_str().to_ascii_uppercase(),
                values_text(e),
            )
        })
        .collect()
}

/// Put `bytes` in a vdir written as `version`, set the title, and check
/// that nothing else about the card changed.
/// `must_keep` lists (group, NAME, value) entries the card is known to hold.
fn title_update_keeps_the_rest(
    name: &str,
    bytes: &[u8],
    version: &str,
    must_keep: &[(&str, &str, &str)],
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("book")).unwrap();
    let file = dir.path().join("book").join("card.vcf");
    std::fs::write(&file, bytes).unwrap();
    let before = only_card(bytes);
    let before_photos = photos(&before);
    let before_unmapped = unmapped(&before);
    assert!(
        !before_photos.is_empty() && before_photos.iter().all(|p| !p.is_empty()),
        "{name}: the test card has no photo"
    );
    for (group, prop, value) in must_keep {
        let entry = (group.to_string(), prop.to_string(), value.to_string());
        assert!(
            before_unmapped.contains(&entry),
            "{name}: {entry:?} is not read from the original card: {before_unmapped:?}"
        );
    }

    let config = parse_config(dir.path(), &vdir_toml("book", version));
    let mut store = open_left(&config);
    let listing = store.read_all().unwrap();
    assert!(listing.unreadable.is_empty(), "{:?}", listing.unreadable);
    let record = &listing.records[0];
    let new_revision = store
        .update(&record.id, &record.revision, &title("Chef"))
        .unwrap_or_else(|e| panic!("{name} as {version}: update failed: {e}"));
    assert!(store.flush().unwrap().is_empty());

    let written = std::fs::read(&file).unwrap();
    let shown = String::from_utf8_lossy(&written).into_owned();
    assert_eq!(
        new_revision,
        hash_revision(&written),
        "{name} as {version}: returned revision"
    );
    assert!(
        shown.contains(&format!("VERSION:{version}")),
        "{name}: not written as {version}:\n{shown}"
    );
    let after = only_card(&written);
    let mut expected = to_contact(&before);
    assert_ne!(expected.title, "Chef");
    expected.title = "Chef".to_string();
    assert_eq!(
        to_contact(&after),
        expected,
        "{name} as {version}: canonical fields other than the title changed:\n{shown}"
    );
    assert_eq!(
        photos(&after),
        before_photos,
        "{name} as {version}: the photo changed:\n{shown}"
    );
    let after_unmapped = unmapped(&after);
    let lost: Vec<_> = before_unmapped.difference(&after_unmapped).collect();
    assert!(
        lost.is_empty(),
        "{name} as {version}: grouped / X- properties lost or changed: {lost:?}\nnow: {after_unmapped:?}\n{shown}"
    );
}

fn inline_apple_card() -> Vec<u8> {
    // Every byte value, so that no byte of a photo can be mangled unseen.
    let photo: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let b64 = base64(&photo);
    let mut text = String::from(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.4//EN\r\n\
         N:Kjærgaard;Søren;;;\r\nFN:Søren Kjærgaard\r\nORG:Kjærgaard ApS;Salg\r\n\
         TITLE:Sælger\r\n\
         item1.EMAIL;type=INTERNET;type=pref:soren@kjaergaard.example\r\n\
         item1.X-ABLabel:_$!<Other>!$_\r\n\
         TEL;type=CELL;type=VOICE;type=pref:+45 20 12 34 56\r\n\
         item2.ADR;type=HOME;type=pref:;;Nørregade 1;København;;1165;Denmark\r\n\
         item2.X-ABADR:dk\r\n\
         item3.URL;type=pref:https://kjaergaard.example/\r\n\
         item3.X-ABLabel:_$!<HomePage>!$_\r\n\
         item4.X-ABRELATEDNAMES;type=pref:Mette\r\n\
         item4.X-ABLabel:_$!<Spouse>!$_\r\n\
         X-SOCIALPROFILE;type=twitter:https://twitter.com/soren\r\n\
         X-CUSTOM-FLAG:kunde seit 2019\r\n\
         NOTE:Ruft gern morgens an.\r\n\
         PHOTO;ENCODING=b;TYPE=JPEG:",
    );
    // Fold the photo at 74 characters the way Apple does.
    let first = 74 - "PHOTO;ENCODING=b;TYPE=JPEG:".len();
    text.push_str(&b64[..first]);
    for chunk in b64.as_bytes()[first..].chunks(74) {
        text.push_str("\r\n ");
        text.push_str(std::str::from_utf8(chunk).unwrap());
    }
    text.push_str("\r\nX-ABUID:5AD380FD-B2DE-4261-BA99-DE1D1DB52FBE:ABPerson\r\nEND:VCARD\r\n");
    let card = only_card(text.as_bytes());
    assert_eq!(
        photos(&card),
        vec![photo],
        "the inline photo does not read back"
    );
    text.into_bytes()
}

#[test]
fn updating_the_title_keeps_photo_groups_and_x_properties_inline_card() {
    let bytes = inline_apple_card();
    let must_keep = [
        ("item1", "X-ABLABEL", "_$!<Other>!$_"),
        ("item3", "X-ABLABEL", "_$!<HomePage>!$_"),
        ("item4", "X-ABRELATEDNAMES", "Mette"),
        ("item4", "X-ABLABEL", "_$!<Spouse>!$_"),
        ("item2", "X-ABADR", "dk"),
        ("", "X-SOCIALPROFILE", "https://twitter.com/soren"),
        ("", "X-CUSTOM-FLAG", "kunde seit 2019"),
        (
            "",
            "X-ABUID",
            "5AD380FD-B2DE-4261-BA99-DE1D1DB52FBE:ABPerson",
        ),
    ];
    for version in ["3.0", "4.0"] {
        title_update_keeps_the_rest("inline Apple 3.0 card", &bytes, version, &must_keep);
    }
}

#[test]
fn updating_the_title_keeps_photo_groups_and_x_properties_hand_made_cards() {
    let Some(dir) = research_cards() else {
        return;
    };
    let apple: &[(&str, &str, &str)] = &[
        ("item1", "X-ABLABEL", "_$!<Other>!$_"),
        ("item2", "X-ABADR", "dk"),
        ("item3", "X-ABRELATEDNAMES", "Mette"),
        ("item3", "X-ABLABEL", "_$!<Spouse>!$_"),
        ("", "X-SOCIALPROFILE", "https://twitter.com/soren"),
        (
            "",
            "X-ABUID",
            "5AD380FD-B2DE-4261-BA99-DE1D1DB52FBE:ABPerson",
        ),
    ];
    let outlook: &[(&str, &str, &str)] = &[
        ("", "X-MS-OL-DEFAULT-POSTAL-ADDRESS", "2"),
        ("", "X-MS-IMADDRESS", "jm@im.example"),
    ];
    for (name, must_keep) in [
        ("05_v30_apple_photo.vcf", apple),
        ("01_v21_outlook_qp_utf8.vcf", outlook),
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        for version in ["3.0", "4.0"] {
            title_update_keeps_the_rest(name, &bytes, version, must_keep);
        }
    }
    // The Apple card's photo is exactly the JPEG the script embedded.
    let apple = only_card(&std::fs::read(dir.join("05_v30_apple_photo.vcf")).unwrap());
    assert_eq!(
        photos(&apple),
        vec![std::fs::read(dir.join("photo_jpeg.bin")).unwrap()]
    );
}

// ---- 5. writes are conditional on the revision ----------------------------

fn assert_changed<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Changed { .. }) => {}
        other => panic!("{what}: expected StoreError::Changed, got {other:?}"),
    }
}

#[test]
fn vdir_refuses_stale_writes_and_keeps_the_hand_edit() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book");
    std::fs::create_dir(&book).unwrap();
    let file = book.join("hans.vcf");
    std::fs::write(
        &file,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:hans\r\nFN:Hans Wurst\r\nN:Wurst;Hans;;;\r\nTITLE:Koch\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let config = parse_config(dir.path(), &vdir_toml("book", "3.0"));
    let mut store = open_left(&config);
    let record = store.read_all().unwrap().records.remove(0);

    // The user edits the card after abgleich read it.
    let edited = b"BEGIN:VCARD\nVERSION:3.0\nUID:hans\nFN:Hans Wurst\nN:Wurst;Hans;;;\nTITLE:Chefkoch\nNOTE:von Hand\nEND:VCARD\n";
    std::fs::write(&file, edited).unwrap();

    assert_changed(
        store.update(&record.id, &record.revision, &title("Kellner")),
        "vdir update",
    );
    assert_eq!(std::fs::read(&file).unwrap(), edited);
    assert_changed(store.delete(&record.id, &record.revision), "vdir delete");
    assert_eq!(std::fs::read(&file).unwrap(), edited);

    // With the revision of what is there now, the write goes through.
    let fresh = store.read(&record.id).unwrap();
    assert_eq!(fresh.contact.title, "Chefkoch");
    store
        .update(&fresh.id, &fresh.revision, &title("Kellner"))
        .unwrap();
    assert!(store.flush().unwrap().is_empty());
    let now = contact_of(&std::fs::read(&file).unwrap());
    assert_eq!(now.title, "Kellner");
    assert_eq!(now.note, "von Hand");
}

#[test]
fn sqlite_refuses_stale_writes_and_keeps_the_other_connections_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_crm(dir.path());
    let config = parse_config(dir.path(), &sqlite_toml("customers", "id", "first_name"));
    let mut store = open_left(&config);
    let listing = store.read_all().unwrap();
    let anna = listing
        .records
        .iter()
        .find(|r| r.id == "1")
        .unwrap()
        .clone();

    // Another program changes the row after abgleich read it.
    let other = Connection::open(&db).unwrap();
    other
        .execute(
            "UPDATE customers SET position = 'Geschäftsführerin' WHERE id = 1",
            [],
        )
        .unwrap();
    let edited = crm_row(&db, "1");

    assert_changed(
        store.update("1", &anna.revision, &title("Azubi")),
        "sqlite update",
    );
    assert_eq!(crm_row(&db, "1"), edited);
    assert_changed(store.delete("1", &anna.revision), "sqlite delete");
    assert_eq!(crm_row(&db, "1"), edited);

    // The fresh revision writes; the other rows are untouched.
    let others_before: Vec<_> = crm_dump(&db).1.into_iter().skip(1).collect();
    let fresh = store.read("1").unwrap();
    assert_eq!(fresh.contact.title, "Geschäftsführerin");
    store.update("1", &fresh.revision, &title("Azubi")).unwrap();
    assert_eq!(crm_row(&db, "1")[3].as_deref(), Some("Azubi"));
    let others_after: Vec<_> = crm_dump(&db).1.into_iter().skip(1).collect();
    assert_eq!(others_after, others_before);
    let fresh = store.read("1").unwrap();
    store.delete("1", &fresh.revision).unwrap();
    assert_eq!(crm_dump(&db).1.len(), 2);
}

fn vcard_toml(path: &str) -> String {
    format!(
        r#"[left]
name = "Book"
kind = "vcard"
path = "{path}"
write_version = "3.0"

[right]
kind = "vdir"
path = "unused"
"#
    )
}

#[test]
fn vcard_file_refuses_stale_writes_and_keeps_the_hand_edit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("book.vcf");
    std::fs::write(
        &file,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:Anna A\r\nTITLE:Eins\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:Bert B\r\nTITLE:Zwei\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let config = parse_config(dir.path(), &vcard_toml("book.vcf"));
    let mut store = open_left(&config);
    let listing = store.read_all().unwrap();
    let b = listing
        .records
        .iter()
        .find(|r| r.id == "b")
        .unwrap()
        .clone();
    let a = listing
        .records
        .iter()
        .find(|r| r.id == "a")
        .unwrap()
        .clone();

    let edited = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:Anna A\r\nTITLE:Eins\r\nEND:VCARD\r\n\
                  BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:Bert B\r\nTITLE:Zwei von Hand\r\nEND:VCARD\r\n";
    std::fs::write(&file, edited).unwrap();

    assert_changed(
        store.update("b", &b.revision, &title("Drei")),
        "vcard update",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    assert_changed(store.delete("b", &b.revision), "vcard delete");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);

    // Card a did not change: its old revision still writes, and the hand
    // edit of card b survives that write.
    store.update("a", &a.revision, &title("Vier")).unwrap();
    assert!(store.flush().unwrap().is_empty());
    let now = std::fs::read_to_string(&file).unwrap();
    assert!(now.contains("TITLE:Zwei von Hand"), "{now}");
    assert_eq!(store.read("a").unwrap().contact.title, "Vier");
}

// ---- 6. a missing store is an error, never an empty store ------------------

#[test]
fn missing_stores_do_not_open_and_are_not_created() {
    let dir = tempfile::tempdir().unwrap();

    let config = parse_config(dir.path(), &vdir_toml("no-such-folder", "3.0"));
    let shown = open_left_err(&config).to_string();
    assert!(shown.contains("no-such-folder"), "{shown}");

    let config = parse_config(dir.path(), &vcard_toml("no-such-file.vcf"));
    let shown = open_left_err(&config).to_string();
    assert!(shown.contains("no-such-file.vcf"), "{shown}");

    let config = parse_config(dir.path(), &sqlite_toml("customers", "id", "first_name"));
    let shown = open_left_err(&config).to_string();
    assert!(shown.contains("crm.sqlite"), "{shown}");

    assert!(
        tree(dir.path()).is_empty(),
        "opening a missing store created {:?}",
        tree(dir.path())
    );

    // A folder where a file is expected is not a store either.
    std::fs::create_dir(dir.path().join("crm.sqlite")).unwrap();
    std::fs::create_dir(dir.path().join("no-such-file.vcf")).unwrap();
    open_left_err(&parse_config(
        dir.path(),
        &sqlite_toml("customers", "id", "first_name"),
    ));
    open_left_err(&parse_config(dir.path(), &vcard_toml("no-such-file.vcf")));
}

// ---- 7. the single-file vcard store keeps the other cards ------------------

const CARD_21: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nUID:legacy-21\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FC=\r\nrgen\r\nFN;CHARSET=ISO-8859-1:J\xFCrgen M\xFCller\r\nTEL;WORK;VOICE:0221 123456\r\nEMAIL;PREF;INTERNET:juergen@example.de\r\nX-MS-OL-DEFAULT-POSTAL-ADDRESS:2\r\nEND:VCARD\r\n";
const CARD_B: &[u8] = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b-uid\r\nFN:Bert Brandl\r\nN:Brandl;Bert;;;\r\nTITLE:Meister\r\nitem1.X-ABLabel:privat\r\nEND:VCARD\r\n";
const CARD_C: &[u8] = b"BEGIN:VCARD\nVERSION:4.0\nUID:c-uid\nFN:Clara  Cz\xC3\xA9ch\nNOTE:ein sehr langer Text, der gefaltet wurde und so bleiben soll, wie er i\n st\nEND:VCARD\n";

#[test]
fn vcard_file_update_keeps_the_other_cards_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("book.vcf");
    let original = [CARD_21, CARD_B, CARD_C].concat();
    std::fs::write(&file, &original).unwrap();
    let config = parse_config(dir.path(), &vcard_toml("book.vcf"));
    let mut store = open_left(&config);
    let listing = store.read_all().unwrap();
    assert!(listing.unreadable.is_empty(), "{:?}", listing.unreadable);
    let ids: Vec<&str> = listing.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["legacy-21", "b-uid", "c-uid"]);
    let b = &listing.records[1];

    store
        .update(&b.id, &b.revision, &title("Obermeister"))
        .unwrap();
    assert!(store.flush().unwrap().is_empty());
    let now = std::fs::read(&file).unwrap();
    assert!(
        now.starts_with(CARD_21),
        "the 2.1 card before the updated one changed:\n{}",
        String::from_utf8_lossy(&now)
    );
    assert!(
        now.ends_with(CARD_C),
        "the card after the updated one changed:\n{}",
        String::from_utf8_lossy(&now)
    );
    let middle = &now[CARD_21.len()..now.len() - CARD_C.len()];
    let b_now = only_card(middle);
    assert_eq!(to_contact(&b_now).title, "Obermeister");
    assert!(unmapped(&b_now).contains(&(
        "item1".to_string(),
        "X-ABLABEL".to_string(),
        "privat".to_string()
    )));

    let after = store.read_all().unwrap();
    assert_eq!(after.records.len(), 3);
    assert_eq!(after.records[0].contact.family, "Müller");
    assert_eq!(after.records[0].contact.given, "Jürgen");
    assert_eq!(after.records[0].revision, listing.records[0].revision);
    assert_eq!(after.records[2].revision, listing.records[2].revision);

    // Deleting the middle card also keeps its neighbours as they were.
    store.delete(&b.id, &after.records[1].revision).unwrap();
    assert!(store.flush().unwrap().is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), [CARD_21, CARD_C].concat());
}

#[test]
fn vcard_file_with_an_unreadable_card_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("book.vcf");
    let broken: &[u8] =
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:broken\r\nFN:Kaputt\r\nthis line has no colon\r\nEND:VCARD\r\n";
    let original = [CARD_B, broken, CARD_C].concat();
    std::fs::write(&file, &original).unwrap();
    let config = parse_config(dir.path(), &vcard_toml("book.vcf"));
    let mut store = open_left(&config);
    let listing = store.read_all().unwrap();
    assert_eq!(listing.unreadable.len(), 1, "{:?}", listing.unreadable);
    assert_eq!(listing.unreadable[0].line, Some(13));
    assert_eq!(listing.records.len(), 2);
    let b = &listing.records[0];

    let updated = store.update(&b.id, &b.revision, &title("Obermeister"));
    assert!(updated.is_err(), "update went through: {updated:?}");
    assert_eq!(std::fs::read(&file).unwrap(), original);
    let deleted = store.delete(&b.id, &b.revision);
    assert!(deleted.is_err(), "delete went through");
    assert_eq!(std::fs::read(&file).unwrap(), original);
    let created = store.create(&title("Neu"));
    assert!(created.is_err(), "create went through: {created:?}");
    assert_eq!(std::fs::read(&file).unwrap(), original);
    let names: Vec<_> = tree(dir.path()).into_iter().collect();
    assert_eq!(names, [PathBuf::from("book.vcf")]);
}

// ---- 8. sqlite creates ------------------------------------------------------

#[test]
fn sqlite_create_returns_the_assigned_id_and_writes_e164() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_crm(dir.path());
    let config = parse_config(dir.path(), &sqlite_toml("customers", "id", "first_name"));
    let mut store = open_left(&config);
    let patch = Patch {
        fields: vec![
            ("name.given".parse().unwrap(), Some("Lea".to_string())),
            ("name.family".parse().unwrap(), Some("Schwarz".to_string())),
            (
                "phone.cell".parse().unwrap(),
                Some("0171 2345678".to_string()),
            ),
        ],
        ..Patch::default()
    };
    let (id, revision) = store.create(&patch).unwrap();
    assert_eq!(id, "8", "ids 1, 2 and 7 exist: the table assigns 8");
    let row = crm_row(&db, "8");
    assert_eq!(row[1].as_deref(), Some("Lea"));
    assert_eq!(row[2].as_deref(), Some("Schwarz"));
    assert_eq!(row[4].as_deref(), Some("+491712345678"));
    assert!(row[5].is_some(), "the modified column is not set");

    let record = store.read(&id).unwrap();
    assert_eq!(record.revision, revision);
    assert_eq!(record.contact.given, "Lea");

    // An update writes E.164 too, and a number that is not valid is kept as typed.
    let phone = |v: &str| Patch {
        fields: vec![("phone.cell".parse().unwrap(), Some(v.to_string()))],
        ..Patch::default()
    };
    let revision = store
        .update(&id, &revision, &phone("(0151) 234 567 89"))
        .unwrap();
    assert_eq!(crm_row(&db, "8")[4].as_deref(), Some("+4915123456789"));
    store.update(&id, &revision, &phone("ruft zurück")).unwrap();
    assert_eq!(crm_row(&db, "8")[4].as_deref(), Some("ruft zurück"));

    // A second create gets the next id; an existing row is not reused.
    let (second, _) = store.create(&title("Praktikant")).unwrap();
    assert_eq!(second, "9");
    assert_eq!(crm_dump(&db).1.len(), 5);
}

/// SPEC §1 "a mapping may carry a transform (… name split/join)": a CRM
/// that keeps the whole name in one column is read as given and family
/// name, and a change to either is joined back into that column.
#[test]
fn a_name_column_is_split_when_read_and_joined_when_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, mail TEXT);
         INSERT INTO people VALUES (1, 'Anna Maria Berg', 'anna@berg.de'), (2, 'Kern, Otto', NULL);",
    )
    .unwrap();
    drop(conn);
    let text = r#"
[left]
kind = "sqlite"
path = "crm.sqlite"
table = "people"
id = "id"
[left.fields]
"name.full" = { column = "name", transform = "name" }
"email[1]" = "mail"
[right]
kind = "vdir"
path = "."
"#;
    let config = parse_config(dir.path(), text);
    let fields = abgleich::sync::fields::FieldSet::from_config(&config);
    let paths: BTreeSet<String> = fields.fields.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "email".to_string(),
            "name.family".into(),
            "name.given".into()
        ])
    );
    let mut store = open_left(&config);
    let anna = store.read("1").unwrap();
    assert_eq!(
        (anna.contact.given.as_str(), anna.contact.family.as_str()),
        ("Anna Maria", "Berg")
    );
    let otto = store.read("2").unwrap();
    assert_eq!(
        (otto.contact.given.as_str(), otto.contact.family.as_str()),
        ("Otto", "Kern")
    );
    // A new family name alone: the given name is kept in the column.
    let patch = Patch {
        fields: vec![("name.family".parse().unwrap(), Some("Wolf".into()))],
        ..Patch::default()
    };
    store.update("1", &anna.revision, &patch).unwrap();
    assert_eq!(name_of(&db, "1").as_deref(), Some("Anna Maria Wolf"));
    // A created contact's parts are joined.
    let patch = Patch {
        fields: vec![
            ("name.given".parse().unwrap(), Some("Eva".into())),
            ("name.family".parse().unwrap(), Some("Lang".into())),
        ],
        ..Patch::default()
    };
    let (id, _) = store.create(&patch).unwrap();
    assert_eq!(name_of(&db, &id).as_deref(), Some("Eva Lang"));
    // The transform belongs on name.full of an SQL store.
    let bad = text.replace("\"name.full\" = { column", "\"title\" = { column");
    let err = Config::parse(&bad, &dir.path().join("abgleich.toml")).unwrap_err();
    assert!(err.to_string().contains("name.full"), "{err}");
}

fn name_of(db: &Path, id: &str) -> Option<String> {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT name FROM people WHERE id = ?1", [id], |r| r.get(0))
        .unwrap()
}

#[test]
fn table_columns_reads_the_real_columns_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&abgleich::samples::write_to(dir.path()).unwrap()).unwrap();
    let columns = store::sqlite::table_columns(&config.left).unwrap();
    assert!(columns.windows(2).all(|w| w[0] <= w[1]), "{columns:?}");
    for c in ["customer_no", "first_name", "updated_at"] {
        assert!(columns.iter().any(|x| x == c), "{c}: {columns:?}");
    }
    let mut missing = config.left.clone();
    missing.table = Some("nope".into());
    let e = store::sqlite::table_columns(&missing)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"nope\" is not a table"), "{e}");
}

// ---- listing with version tokens, then reading in one batch ----------------

/// A card folder as `read_changed` sees it over three runs: everything read
/// and remembered; nothing read when nothing changed; only the changed card
/// read, and a card written moments ago read but not remembered.
#[test]
fn vdir_reads_only_cards_whose_version_changed() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book");
    std::fs::create_dir(&book).unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let write = |name: &str, bytes: &[u8], mtime: std::time::SystemTime| {
        let path = book.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    };
    write("b.vcf", CARD_B, hour_ago);
    write("c.vcf", CARD_C, hour_ago);
    write("j.vcf", CARD_21, hour_ago);
    let config = parse_config(dir.path(), &vdir_toml("book", "4.0"));
    let store = open_left(&config);

    let first = store::read_changed(store.as_ref(), &HashMap::new()).unwrap();
    let ids: Vec<&str> = first
        .listing
        .records
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids, ["b.vcf", "c.vcf", "j.vcf"]);
    assert!(first.unparsed.is_empty());
    assert_eq!(first.versions.len(), 3, "{:?}", first.versions);
    let known: HashMap<String, store::Known> = first.versions.into_iter().collect();

    let again = store::read_changed(store.as_ref(), &known).unwrap();
    assert_eq!(unparsed_ids(&again), ["b.vcf", "c.vcf", "j.vcf"]);
    assert!(again.versions.is_empty());
    for record in &again.listing.records {
        assert_eq!(record.revision, known[&record.id].revision);
        assert_eq!(
            *record.contact,
            Contact::default(),
            "{} was parsed",
            record.id
        );
    }

    let edited = String::from_utf8_lossy(CARD_B).replace("Meister", "Obermeister");
    write(
        "b.vcf",
        edited.as_bytes(),
        hour_ago + std::time::Duration::from_secs(60),
    );
    std::fs::write(book.join("c.vcf"), CARD_C).unwrap();
    let third = store::read_changed(store.as_ref(), &known).unwrap();
    assert_eq!(unparsed_ids(&third), ["j.vcf"]);
    let b = &third.listing.records[0];
    assert_eq!(b.contact.title, "Obermeister");
    assert_eq!(b.revision, hash_revision(edited.as_bytes()));
    let remembered: Vec<&str> = third.versions.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        remembered,
        ["b.vcf"],
        "a card written just now is not remembered"
    );
}

/// An SQL table lists its rows in full: nothing is read twice, nothing is
/// remembered, and the rows keep the table's order (numeric ids).
#[test]
fn sqlite_lists_rows_in_full_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Connection::open(make_crm(dir.path())).unwrap();
    for id in [10, 3] {
        db.execute(
            "INSERT INTO customers (id, first_name, last_name) VALUES (?1, 'X', 'Y')",
            [id],
        )
        .unwrap();
    }
    let config = parse_config(dir.path(), &sqlite_toml("customers", "id", "first_name"));
    let store = open_left(&config);
    let listed = store.list().unwrap();
    assert_eq!(listed.items.len(), listed.read.records.len());
    let read = store::read_changed(store.as_ref(), &HashMap::new()).unwrap();
    let ids: Vec<i64> = read
        .listing
        .records
        .iter()
        .map(|r| r.id.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(ids.contains(&3) && ids.contains(&10));
    assert!(read.unparsed.is_empty() && read.versions.is_empty());
    assert_eq!(
        read.listing.records,
        store.read_all().unwrap().records,
        "read_all is read_changed without remembered versions"
    );
}
