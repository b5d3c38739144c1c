//! The whole card between two card stores (SPEC §2): properties no field
//! reads (ROLE, IMPP, `X-ABLabel` groups, `X-EVOLUTION-*`) travel with the
//! contact, an edit of one on one side reaches the other, edits on both
//! sides to different values are a conflict; every card abgleich writes
//! gets a fresh `REV`, from the other card store and from the CRM alike.

use std::collections::BTreeMap;

use crate::common::copy_samples;
use crate::common::two_vdirs::TwoVdirs;
use crate::common::unfold::unfold;

const ANNA: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:anna-1\r\nN:Berg;Anna;;;\r\nFN:Anna Berg\r\n\
EMAIL;TYPE=WORK:anna@example.org\r\nROLE:Einkauf\r\nitem1.TEL:+49 30 1234567\r\n\
item1.X-ABLabel:Assistenz\r\nX-EVOLUTION-FILE-AS:Berg\\, Anna\r\n\
PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n\
REV:20000101T000000Z\r\nEND:VCARD\r\n";

fn has(text: &str, line: &str) -> bool {
    unfold(text).iter().any(|l| l == line)
}

/// The one card's `REV` as a time.
fn rev(text: &str) -> chrono::NaiveDateTime {
    let line = unfold(text)
        .into_iter()
        .find(|l| l.starts_with("REV"))
        .unwrap_or_else(|| panic!("no REV:\n{text}"));
    let value = line.rsplit(':').next().unwrap();
    chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ")
        .unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

fn fresh(text: &str) -> bool {
    let age = chrono::Utc::now().naive_utc() - rev(text);
    age >= chrono::Duration::zero() - chrono::Duration::seconds(1)
        && age < chrono::Duration::minutes(5)
}

/// Anna on the left, copied to the right (written as 3.0): the right file name.
fn synced_anna(sync: &TwoVdirs) -> String {
    sync.write("a", "anna.vcf", ANNA);
    sync.apply(&[]);
    let links = sync.links();
    assert_eq!(links.len(), 1);
    links[0].1.clone()
}

fn edit(sync: &TwoVdirs, sub: &str, name: &str, from: &str, to: &str) {
    let text = sync.read(sub, name);
    assert!(text.contains(from), "{from:?} not in\n{text}");
    sync.write(sub, name, &text.replacen(from, to, 1));
}

#[test]
fn a_created_copy_carries_the_unmapped_properties_and_the_uid() {
    let sync = TwoVdirs::new("3.0", "");
    let right = synced_anna(&sync);
    let copy = sync.read("b", &right);
    for line in [
        "UID:anna-1",
        "ROLE:Einkauf",
        "item1.TEL:+49 30 1234567",
        "item1.X-ABLabel:Assistenz",
        "X-EVOLUTION-FILE-AS:Berg\\, Anna",
        "PHOTO;TYPE=PNG;ENCODING=b:iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    ] {
        assert!(has(&copy, line), "{line} missing:\n{copy}");
    }
    assert!(sync.operations().is_empty());
    // The base remembers the photo by its digest, not a second copy.
    let db = rusqlite::Connection::open(sync.path("abgleich.state")).unwrap();
    let base: String = db
        .query_row("SELECT base FROM links", [], |r| r.get(0))
        .unwrap();
    assert!(base.contains("\"card.PHOTO\":\"#"), "{base}");
    assert!(!base.contains("iVBORw0KGgo"), "{base}");
}

#[test]
fn an_unmapped_property_edited_on_one_side_travels_to_the_other() {
    let sync = TwoVdirs::new("3.0", "");
    let right = synced_anna(&sync);

    edit(
        &sync,
        "a",
        "anna.vcf",
        "ROLE:Einkauf",
        "ROLE:Leitung Einkauf",
    );
    let ops = sync.operations();
    assert_eq!(ops.len(), 1, "{ops:#?}");
    assert_eq!(ops[0]["kind"], "update");
    assert_eq!(ops[0]["changes"][0]["field"], "card.ROLE");
    sync.apply(&[]);
    let copy = sync.read("b", &right);
    assert!(
        has(&copy, "ROLE:Leitung Einkauf") && !has(&copy, "ROLE:Einkauf"),
        "{copy}"
    );

    // The other way: one removed, one added on the right.
    edit(
        &sync,
        "b",
        &right,
        "X-EVOLUTION-FILE-AS:Berg\\, Anna\r\n",
        "IMPP:xmpp:anna@example.org\r\n",
    );
    sync.apply(&[]);
    let left = sync.read("a", "anna.vcf");
    assert!(!left.contains("X-EVOLUTION-FILE-AS"), "{left}");
    assert!(has(&left, "IMPP:xmpp:anna@example.org"), "{left}");
    assert!(has(&left, "ROLE:Leitung Einkauf"), "{left}");
    assert!(sync.operations().is_empty(), "{:#?}", sync.operations());
}

#[test]
fn an_unmapped_property_edited_differently_on_both_sides_is_a_conflict() {
    let sync = TwoVdirs::new("4.0", "conflicts = \"ask\"");
    let right = synced_anna(&sync);
    edit(&sync, "a", "anna.vcf", "ROLE:Einkauf", "ROLE:Vertrieb");
    edit(&sync, "b", &right, "ROLE:Einkauf", "ROLE:Lager");
    let ops = sync.operations();
    assert_eq!(ops.len(), 1, "{ops:#?}");
    assert_eq!(ops[0]["kind"], "conflict");
    assert_eq!(ops[0]["review"], true);
    assert_eq!(ops[0]["changes"][0]["field"], "card.ROLE");

    // The conflict waits: neither card is written.
    let before = (sync.read("a", "anna.vcf"), sync.read("b", &right));
    sync.apply(&[]);
    assert_eq!((sync.read("a", "anna.vcf"), sync.read("b", &right)), before);

    sync.apply(&["--conflicts", "right"]);
    assert!(has(&sync.read("a", "anna.vcf"), "ROLE:Lager"));
    assert!(has(&sync.read("b", &right), "ROLE:Lager"));
    assert!(sync.operations().is_empty());
}

#[test]
fn a_long_note_and_a_large_photo_edited_on_one_side_reach_the_other_whole() {
    // Texts past what a change's 16-bit offsets reach (75 KB, 90 KB).
    let sync = TwoVdirs::new("3.0", "");
    let right = synced_anna(&sync);
    let note = format!("{}Ende", "Besuch am Montag ".repeat(4_500));
    let photo = format!("iVBORw0KGgoA{}", "A".repeat(90_000));
    let text = sync.read("a", "anna.vcf");
    let old_photo = unfold(&text)
        .into_iter()
        .find(|l| l.starts_with("PHOTO"))
        .unwrap();
    let edited = text.replace(&old_photo, &format!("PHOTO;ENCODING=b;TYPE=PNG:{photo}"));
    let edited = edited.replace(
        "ROLE:Einkauf\r\n",
        &format!("ROLE:Einkauf\r\nNOTE:{note}\r\n"),
    );
    sync.write("a", "anna.vcf", &edited);

    let ops = sync.operations();
    assert_eq!(ops.len(), 1, "{ops:#?}");
    assert_eq!(ops[0]["kind"], "update");
    let change = |field: &str| {
        ops[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == field)
            .unwrap_or_else(|| panic!("no change of {field}: {ops:#?}"))
            .clone()
    };
    assert_eq!(change("note")["left"], note.as_str());
    assert_eq!(change("note")["right"], serde_json::Value::Null);
    assert!(
        (change("card.PHOTO")["left"].as_str().unwrap()).ends_with(&photo),
        "{:?}",
        change("card.PHOTO")
    );
    sync.apply(&[]);
    let copy = sync.read("b", &right);
    assert!(has(&copy, &format!("NOTE:{note}")), "the note is not whole");
    assert!(
        has(&copy, &format!("PHOTO;TYPE=PNG;ENCODING=b:{photo}")),
        "the photo is not whole"
    );
    assert!(sync.operations().is_empty(), "{:#?}", sync.operations());
}

#[test]
fn every_card_written_between_card_stores_gets_a_fresh_rev() {
    let sync = TwoVdirs::new("3.0", "");
    let right = synced_anna(&sync);
    let copy = sync.read("b", &right);
    assert!(fresh(&copy), "the copy's REV is not now:\n{copy}");
    // The left card was not written and keeps its REV; the REVs differ,
    // and that alone is nothing to do.
    assert!(has(&sync.read("a", "anna.vcf"), "REV:20000101T000000Z"));
    assert!(sync.operations().is_empty());

    edit(&sync, "b", &right, "ROLE:Einkauf", "ROLE:Lager");
    sync.apply(&[]);
    let left = sync.read("a", "anna.vcf");
    assert!(fresh(&left), "the updated card's REV is not now:\n{left}");
    assert!(sync.operations().is_empty());
}

/// Every card file of a folder: name → text.
fn folder(dir: &std::path::Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

#[test]
fn cards_written_from_the_crm_get_a_fresh_rev_and_keep_their_other_properties() {
    let dir = copy_samples();
    let before = folder(&dir.path().join("outlook"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_abgleich"))
        .args([
            "apply",
            "--yes",
            "--conflicts",
            "left",
            "--accept-review",
            "--config",
        ])
        .arg(dir.path().join("abgleich.toml"))
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = folder(&dir.path().join("outlook"));
    let mut written = 0;
    for (name, text) in &after {
        if before.get(name) == Some(text) || !text.contains("BEGIN:VCARD") {
            continue;
        }
        written += 1;
        assert!(fresh(text), "{name}: REV is not now:\n{text}");
        // What the mapping does not own stays as it was (X-…, LABEL, PHOTO).
        if let Some(old) = before.get(name) {
            for line in unfold(old) {
                let name_of = line.split([':', ';']).next().unwrap_or("");
                if name_of.starts_with("X-MS") || name_of.starts_with("PHOTO") {
                    assert!(
                        unfold(text).iter().any(|l| l.starts_with(name_of)),
                        "{name}: {name_of} lost:\n{text}"
                    );
                }
            }
        }
    }
    assert!(written > 5, "only {written} cards written");
}

#[test]
fn a_one_file_book_copied_to_a_card_folder_keeps_the_rest_of_each_card() {
    let sync = TwoVdirs::with_config(
        "[left]\nkind = \"vcard\"\npath = \"book.vcf\"\n\
         [right]\nkind = \"vdir\"\npath = \"b\"\nwrite_version = \"3.0\"\n",
    );
    let second = ANNA
        .replace("anna-1", "bert-2")
        .replace("Anna", "Bert")
        .replace("anna@", "bert@")
        .replace("ROLE:Einkauf", "ROLE:Lager");
    sync.write(".", "book.vcf", &format!("{ANNA}{second}"));
    sync.apply(&[]);
    let copies: Vec<String> = sync
        .links()
        .iter()
        .map(|(_, r)| sync.read("b", r))
        .collect();
    assert_eq!(copies.len(), 2);
    assert!(
        copies
            .iter()
            .any(|c| has(c, "ROLE:Einkauf") && has(c, "UID:anna-1"))
    );
    assert!(
        copies
            .iter()
            .any(|c| has(c, "ROLE:Lager") && has(c, "UID:bert-2"))
    );
    assert!(copies.iter().all(|c| has(c, "item1.X-ABLabel:Assistenz")));
    // Back into the book: an edit of the copy.
    edit(&sync, "b", "bert-2.vcf", "ROLE:Lager", "ROLE:Versand");
    sync.apply(&[]);
    let book = sync.read(".", "book.vcf");
    assert!(
        has(&book, "ROLE:Versand") && has(&book, "ROLE:Einkauf"),
        "{book}"
    );
    assert!(sync.operations().is_empty());
}

#[test]
fn a_stamp_property_is_never_carried_to_the_other_card_store() {
    let sync = TwoVdirs::with_config(
        "[left]\nkind = \"vdir\"\npath = \"a\"\n\
         [right]\nkind = \"vdir\"\npath = \"b\"\nstamp = \"X-LEFT-ID\"\n",
    );
    // The left card carries the property the right uses as its stamp.
    let anna = ANNA.replace("ROLE:Einkauf", "X-LEFT-ID:nonsense\r\nROLE:Einkauf");
    sync.write("a", "anna.vcf", &anna);
    sync.apply(&[]);
    let right = &sync.links()[0].1;
    let copy = sync.read("b", right);
    assert!(
        has(&copy, "X-LEFT-ID:anna-1"),
        "the stamp is the left card's UID:\n{copy}"
    );
    assert!(!copy.contains("nonsense"), "{copy}");
    assert!(sync.operations().is_empty());
    edit(&sync, "a", "anna.vcf", "ROLE:Einkauf", "ROLE:Lager");
    let ops = sync.operations();
    let fields: Vec<&str> = ops[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["card.ROLE"]);
    sync.apply(&[]);
    assert!(has(&sync.read("b", right), "X-LEFT-ID:anna-1"));
}

const MANY_PHONES: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:ben-1\r\nN:Kurz;Ben;;;\r\nFN:Ben Kurz\r\n\
EMAIL:ben@example.org\r\nTEL;TYPE=cell:+49 170 1234561\r\nTEL;TYPE=cell:+49 170 1234562\r\n\
TEL;TYPE=cell:+49 170 1234563\r\nTEL;TYPE=cell:+49 170 1234564\r\nURL:https://a.example\r\n\
URL:https://b.example\r\nURL:https://c.example\r\nURL:https://d.example\r\nEND:VCARD\r\n";

/// The plan's warnings, all operations together.
fn warnings(sync: &TwoVdirs) -> Vec<String> {
    sync.operations()
        .iter()
        .flat_map(|op| op["warnings"].as_array().cloned().unwrap_or_default())
        .filter_map(|w| w.as_str().map(str::to_string))
        .collect()
}

/// Issue 11, finding 13: between two card stores a create copies the
/// whole card, yet the plan warned "4 cell phone numbers, B takes 3:
/// +49 170 1234564 stays only in A" (and the same of web pages), and the
/// copy held all four. An update writes the fields only: a value past them
/// the other card holds already is not named as staying behind, one it
/// lacks still is.
#[test]
fn a_whole_card_copy_is_not_warned_of_phone_numbers_it_carries() {
    let sync = TwoVdirs::new("4.0", "");
    sync.write("a", "ben.vcf", MANY_PHONES);
    let before = warnings(&sync);
    assert!(
        before
            .iter()
            .all(|w| !w.contains("phone numbers") && !w.contains("web pages")),
        "no warning of values the copy carries: {before:?}"
    );
    sync.apply(&[]);
    let links = sync.links();
    assert_eq!(links.len(), 1);
    let copy = unfold(&sync.read("b", &links[0].1));
    for n in 1..=4 {
        let tel = format!("TEL;TYPE=CELL:+49 170 123456{n}");
        assert!(copy.contains(&tel), "{tel} in the copy: {copy:#?}");
    }
    let urls = copy.iter().filter(|l| l.starts_with("URL")).count();
    assert_eq!(urls, 4, "{copy:#?}");

    // A fifth number and an edit: the update carries three per kind, and
    // the copy has the fourth already; only the fifth stays behind.
    edit(
        &sync,
        "a",
        "ben.vcf",
        "TEL;TYPE=cell:+49 170 1234564\r\n",
        "TEL;TYPE=cell:+49 170 1234564\r\nTEL;TYPE=cell:+49 170 1234565\r\nTITLE:Chef\r\n",
    );
    let update = warnings(&sync);
    assert_eq!(
        update,
        ["5 cell phone numbers, B takes 3: +49 170 1234565 stays only in A"],
        "the update's one true warning"
    );
    sync.apply(&[]);
    let copy = unfold(&sync.read("b", &links[0].1));
    assert!(copy.contains(&"TITLE:Chef".to_string()), "{copy:#?}");
    assert!(
        !copy.iter().any(|l| l.ends_with("1234565")),
        "the warning was true: {copy:#?}"
    );
}

/// A limit of the target card store still keeps numbers out of a copy:
/// that warning stays.
#[test]
fn a_card_store_limit_is_still_warned_of_on_a_whole_card_copy() {
    let sync = TwoVdirs::with_config(
        "[left]\nname = \"A\"\nkind = \"vdir\"\npath = \"a\"\n\n\
         [right]\nname = \"B\"\nkind = \"vdir\"\npath = \"b\"\nlimits = { phones_per_kind = 2 }\n\n\
         [sync]\nmode = \"sync\"\nmatch = [\"email\"]\n",
    );
    sync.write("a", "ben.vcf", MANY_PHONES);
    let plan = warnings(&sync);
    assert_eq!(
        plan,
        ["4 cell phone numbers, B takes 2: +49 170 1234563, +49 170 1234564 stays only in A"],
    );
}

#[test]
fn a_name_change_between_card_stores_leaves_the_display_name_as_the_other_card_has_it() {
    // Between two card stores FN travels as a field of its own: a given
    // name edited in A (FN left as it was) must not rewrite B's FN behind
    // the base's back, else a later edit copies that FN back to A.
    let sync = TwoVdirs::new("3.0", "conflicts = \"left\"");
    sync.write(
        "a",
        "p1.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Nachname1;Vor1;;;\r\nFN:Vor1 Nachname1\r\nEMAIL:p1@example.de\r\nEND:VCARD\r\n",
    );
    sync.apply(&[]);
    let b_name = sync.links()[0].1.clone();
    edit(&sync, "a", "p1.vcf", ";Vor1;", ";L1x1;");
    sync.apply(&[]);
    let b = sync.read("b", &b_name);
    assert!(has(&b, "N:Nachname1;L1x1;;;"), "{b}");
    assert!(has(&b, "FN:Vor1 Nachname1"), "B's FN is A's\n{b}");
    edit(&sync, "a", "p1.vcf", ";L1x1;", ";L1x0;");
    let ops = sync.operations();
    assert_eq!(ops.len(), 1, "{ops:#?}");
    let fields: Vec<&str> = ops[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["name.given"],
        "only the given name travels\n{ops:#?}"
    );
    sync.apply(&[]);
    let (a, b) = (sync.read("a", "p1.vcf"), sync.read("b", &b_name));
    assert!(has(&a, "FN:Vor1 Nachname1"), "{a}");
    assert!(has(&b, "FN:Vor1 Nachname1"), "{b}");
    assert!(sync.operations().is_empty());
}

#[test]
fn a_whole_card_copy_keeps_exactly_what_the_targets_limits_allow() {
    let sync = TwoVdirs::with_config(
        "[left]\nname = \"A\"\nkind = \"vdir\"\npath = \"a\"\n\n\
         [right]\nname = \"B\"\nkind = \"vdir\"\npath = \"b\"\n\
         limits = { phones_per_kind = 1, urls = 2 }\n\n\
         [sync]\nmode = \"sync\"\nmatch = [\"email\"]\n",
    );
    sync.write("a", "ben.vcf", MANY_PHONES);
    sync.apply(&[]);
    let name = sync.links()[0].1.clone();
    let b = sync.read("b", &name);
    let tels: Vec<String> = unfold(&b)
        .into_iter()
        .filter(|l| l.starts_with("TEL"))
        .collect();
    assert_eq!(tels.len(), 1, "one cell phone: the first\n{b}");
    assert!(tels[0].ends_with("+49 170 1234561"), "{b}");
    let urls: Vec<String> = unfold(&b)
        .into_iter()
        .filter(|l| l.starts_with("URL"))
        .collect();
    assert_eq!(urls.len(), 2, "{b}");
    assert!(
        urls[0].ends_with("a.example") && urls[1].ends_with("b.example"),
        "{b}"
    );
    assert!(
        sync.operations().is_empty(),
        "the limits hold the rest back"
    );
}

#[test]
fn an_emails_limit_on_a_card_store_never_removes_an_address_from_the_other_card() {
    let sync = TwoVdirs::with_config(
        "[left]\nname = \"A\"\nkind = \"vdir\"\npath = \"a\"\n\n\
         [right]\nname = \"B\"\nkind = \"vdir\"\npath = \"b\"\nlimits = { emails = 1 }\n\n\
         [sync]\nmode = \"sync\"\nmatch = [\"email\"]\n\
         deletes = { left_to_right = \"propagate\", right_to_left = \"propagate\" }\n",
    );
    sync.write(
        "a",
        "anna.vcf",
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u1\r\nN:Berg;Anna;;;\r\nFN:Anna Berg\r\n\
         EMAIL;TYPE=work:e1@x.de\r\nEMAIL;TYPE=home:e2@x.de\r\nEND:VCARD\r\n",
    );
    sync.apply(&[]);
    edit(
        &sync,
        "a",
        "anna.vcf",
        "FN:Anna Berg\r\n",
        "FN:Anna Berg\r\nTITLE:Chefin\r\n",
    );
    sync.apply(&[]);
    let a = sync.read("a", "anna.vcf");
    assert!(a.contains("e2@x.de"), "A keeps its second address\n{a}");
    assert!(sync.operations().is_empty());
}
