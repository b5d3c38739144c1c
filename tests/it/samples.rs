//! The bundled samples are what README and samples/README.md say they are.

use std::path::Path;

use abgleich::samples;
use abgleich::vcard::{read_cards, to_contact};

fn sample_card(name: &str) -> abgleich::model::contact::Contact {
    let bytes = samples::OUTLOOK
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("{name} is not a bundled sample"));
    let cards = read_cards(bytes);
    assert_eq!(cards.len(), 1, "{name}");
    to_contact(&cards[0].as_ref().unwrap().card)
}

#[test]
fn committed_crm_sqlite_holds_exactly_what_crm_sql_builds() {
    let rows = |conn: &rusqlite::Connection| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare("SELECT * FROM customers ORDER BY id").unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect())
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };
    let built = rusqlite::Connection::open_in_memory().unwrap();
    built.execute_batch(samples::CRM_SQL).unwrap();
    let committed = rusqlite::Connection::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/crm.sqlite"),
    )
    .unwrap();
    let expected = rows(&built);
    assert_eq!(expected.len(), 30);
    assert_eq!(
        rows(&committed),
        expected,
        "samples/crm.sqlite is stale: rebuild it from crm.sql"
    );
}

#[test]
fn outlook_cards_decode_their_legacy_encodings() {
    // Windows-1252 QUOTED-PRINTABLE, as Outlook writes umlauts.
    let mueller = sample_card("Stefan Mueller.vcf");
    assert_eq!(
        (mueller.family.as_str(), mueller.full.as_str()),
        ("Müller", "Stefan Müller")
    );
    assert_eq!(sample_card("Sabine Gross.vcf").family, "Groß");
    // UTF-8 QUOTED-PRINTABLE with a soft line break inside `ß`.
    let yilmaz = sample_card("Mehmet Yilmaz.vcf");
    assert_eq!(yilmaz.family, "Yılmaz");
    assert!(
        yilmaz.addresses[0].street.starts_with("Fürther Straße"),
        "{:?}",
        yilmaz.addresses
    );
    // Raw 8-bit Windows-1252 without QUOTED-PRINTABLE (not valid UTF-8).
    let roth = sample_card("Paul Roth.vcf");
    assert_eq!(roth.org_name, "Roth Getränkehandel e.K.");
    assert_eq!(roth.addresses[0].street, "Wilhelmshöher Allee 260");
    // The bundled samples are all embedded; the demo copies every one.
    assert_eq!(samples::OUTLOOK.len(), 32);
}

#[test]
fn the_sample_config_is_valid_and_init_writes_it() {
    let config =
        abgleich::config::Config::parse(samples::CONFIG, Path::new("/demo/abgleich.toml")).unwrap();
    assert_eq!(config.left.table.as_deref(), Some("customers"));
    assert_eq!(config.right.path, Path::new("/demo/outlook"));
    assert_eq!(abgleich::config::INIT_TEMPLATE, samples::CONFIG);
}
