//! The real-world corpus in `../shared/fixtures/` (or `$ABGLEICH_FIXTURES`):
//! every file is read without a panic, every card that parses survives
//! a write as 4.0 and a second read with the same canonical contact, and
//! every card copied between two card stores keeps every property.

use std::path::{Path, PathBuf};

use crate::common::two_vdirs::TwoVdirs;
use abgleich::vcard::map::to_contact;
use abgleich::vcard::{WriteVersion, read_cards, write_card};

/// Cards the codec rejects today. The test fails if this grows: a codec
/// change that rejects more real-world cards is a regression. Lower it when
/// the codec learns to read more.
const MAX_REJECTED: usize = 19;

fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ABGLEICH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    dir.is_dir().then_some(dir)
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            all_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("vcf") || e.eq_ignore_ascii_case("vcard"))
        {
            out.push(path);
        }
    }
    out.sort();
}

#[test]
fn every_fixture_is_read_without_panic_and_rejections_do_not_grow() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("fixtures folder not found (../shared/fixtures or $ABGLEICH_FIXTURES): skipped");
        return;
    };
    let mut files = Vec::new();
    all_files(&dir, &mut files);
    assert!(!files.is_empty(), "no .vcf files under {}", dir.display());
    let (mut read, mut rejected) = (0, 0);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for card in read_cards(&bytes) {
            match card {
                Ok(_) => read += 1,
                Err(e) => {
                    rejected += 1;
                    assert!(e.line >= 1);
                    eprintln!(
                        "rejected {}:{}: {}",
                        file.strip_prefix(&dir).unwrap().display(),
                        e.line,
                        e.message
                    );
                }
            }
        }
    }
    eprintln!(
        "fixtures: {} files, {read} cards read, {rejected} rejected",
        files.len()
    );
    assert!(read > 0);
    assert!(
        rejected <= MAX_REJECTED,
        "{rejected} cards rejected, more than the {MAX_REJECTED} known: the codec got stricter"
    );
}

#[test]
fn every_fixture_card_round_trips_through_4_0() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("fixtures folder not found: skipped");
        return;
    };
    let mut files = Vec::new();
    all_files(&dir, &mut files);
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for card in read_cards(&bytes).into_iter().flatten() {
            let before = to_contact(&card.card);
            for version in [WriteVersion::V4, WriteVersion::V3] {
                let written = write_card(&card.card, version);
                let again: Vec<_> = read_cards(written.as_bytes());
                let ok = match again.as_slice() {
                    [Ok(c)] => to_contact(&c.card) == before,
                    _ => false,
                };
                if !ok {
                    let after = again
                        .first()
                        .and_then(|r| r.as_ref().ok())
                        .map(|c| to_contact(&c.card));
                    failures.push(format!(
                        "{}:{} as {}:\n before {before:?}\n after  {after:?}\n{written}",
                        file.strip_prefix(&dir).unwrap().display(),
                        card.line,
                        version.as_str()
                    ));
                }
            }
            checked += 1;
        }
    }
    eprintln!(
        "round trip: {checked} cards checked, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- the whole card between two card stores ----------------------------------

/// Property names a canonical field reads, the card's frame, UID and
/// revision: a card reduced to these is what a CRM could have made.
const MAPPED: [&str; 18] = [
    "BEGIN",
    "END",
    "VERSION",
    "PRODID",
    "REV",
    "UID",
    "N",
    "FN",
    "NICKNAME",
    "ORG",
    "TITLE",
    "EMAIL",
    "TEL",
    "ADR",
    "URL",
    "BDAY",
    "NOTE",
    "CATEGORIES",
];

fn property_name(line: &str) -> String {
    let head = line.split([':', ';']).next().unwrap_or("");
    let name = head.rsplit('.').next().unwrap_or(head);
    name.to_ascii_uppercase()
}

/// A card's content lines (unfolded) that count as its properties: all but
/// BEGIN/END, VERSION, PRODID and REV.
fn counted_lines(text: &str) -> Vec<String> {
    crate::common::unfold::unfold(text)
        .into_iter()
        .filter(|l| {
            !["BEGIN", "END", "VERSION", "PRODID", "REV"].contains(&property_name(l).as_str())
        })
        .collect()
}

/// Every parseable card of the corpus on its own: a name and its bytes.
fn corpus_cards(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    all_files(dir, &mut files);
    let mut out = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let utf8 = abgleich::vcard::decode::to_utf8(&bytes).into_owned();
        for card in read_cards(&bytes).into_iter().flatten() {
            let name = format!(
                "{}:{}",
                file.strip_prefix(dir).unwrap().display(),
                card.line
            );
            out.push((name, utf8[card.span.clone()].to_vec()));
        }
    }
    out
}

/// The card `text` reduced to the properties a canonical field reads, as
/// `version` writes it.
fn mapped_only(text: &[u8], version: WriteVersion) -> Vec<u8> {
    let mut card = read_cards(text).remove(0).unwrap().card;
    card.entries
        .retain(|e| MAPPED.contains(&e.name.as_str().to_ascii_uppercase().as_str()));
    write_card(&card, version).into_bytes()
}

/// What a copy of the corpus kept.
struct Fidelity {
    kept: usize,
    total: usize,
    /// UIDs an earlier card of the corpus holds too: the copy gets a fresh
    /// one (two cards of one store with one UID would be one contact).
    fresh_uids: usize,
    lost: String,
}

/// Properties of each source card (as `version` writes them) found in the
/// card it was copied to, and the names lost most often
/// (`ABGLEICH_SHOW_LOST=1` prints each).
fn fidelity(sync: &TwoVdirs, sources: &[(String, Vec<u8>)], version: WriteVersion) -> Fidelity {
    let mut seen = std::collections::HashSet::new();
    let duplicate_uid: std::collections::HashMap<String, bool> = sources
        .iter()
        .enumerate()
        .map(|(n, (_, bytes))| {
            let card = read_cards(bytes).remove(0).unwrap().card;
            let uid = abgleich::vcard::property_text(&card, "UID");
            let again = uid.is_some_and(|u| !seen.insert(u));
            (format!("c{n:04}.vcf"), again)
        })
        .collect();
    let by_file: std::collections::HashMap<String, &Vec<u8>> = sources
        .iter()
        .enumerate()
        .map(|(n, (_, bytes))| (format!("c{n:04}.vcf"), bytes))
        .collect();
    let show = std::env::var_os("ABGLEICH_SHOW_LOST").is_some();
    let (mut kept, mut total, mut fresh_uids) = (0, 0, 0);
    let mut lost: std::collections::BTreeMap<String, usize> = Default::default();
    let links = sync.links();
    assert_eq!(links.len(), sources.len(), "every card is linked");
    for (left, right) in links {
        let source = read_cards(by_file[&left]).remove(0).unwrap().card;
        let expected = counted_lines(&write_card(&source, version));
        let copy = sync.read("b", &right);
        let mut actual = counted_lines(&copy);
        for line in expected {
            total += 1;
            match actual.iter().position(|a| *a == line) {
                Some(i) => {
                    actual.swap_remove(i);
                    kept += 1;
                }
                None if property_name(&line) == "UID" && duplicate_uid[&left] => fresh_uids += 1,
                None => {
                    if show {
                        eprintln!("lost in {left} → {right}: {line:.200}");
                        for a in actual
                            .iter()
                            .filter(|a| property_name(a) == property_name(&line))
                        {
                            eprintln!("    the copy has: {a:.200}");
                        }
                    }
                    *lost.entry(property_name(&line)).or_default() += 1
                }
            }
        }
    }
    let mut lost: Vec<(String, usize)> = lost.into_iter().collect();
    lost.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let lost = lost
        .iter()
        .take(12)
        .map(|(n, c)| format!("{n} {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    Fidelity {
        kept,
        total,
        fresh_uids,
        lost,
    }
}

/// The corpus copied vdir → vdir by a create (`update`: first the cards
/// with only their mapped properties, then the whole cards, so that an
/// update carries the rest); the figure is printed, and the next plan is
/// empty.
fn copy_corpus(version: WriteVersion, update: bool) -> Option<Fidelity> {
    let dir = fixtures_dir()?;
    let sources = corpus_cards(&dir);
    let sync = TwoVdirs::new(version.as_str(), "conflicts = \"ask\"");
    let file = |n: usize| sync.path("a").join(format!("c{n:04}.vcf"));
    for (n, (_, bytes)) in sources.iter().enumerate() {
        let first = if update {
            mapped_only(bytes, version)
        } else {
            bytes.clone()
        };
        std::fs::write(file(n), first).unwrap();
    }
    sync.apply(&[]);
    if update {
        for (n, (_, bytes)) in sources.iter().enumerate() {
            std::fs::write(file(n), bytes).unwrap();
        }
        sync.apply(&[]);
    }
    let f = fidelity(&sync, &sources, version);
    eprintln!(
        "whole card, {} as {}: {} of {} properties kept ({:.1}%), {} UIDs the corpus holds twice made fresh; lost: {}",
        if update { "update" } else { "create" },
        version.as_str(),
        f.kept,
        f.total,
        100.0 * f.kept as f64 / f.total as f64,
        f.fresh_uids,
        if f.lost.is_empty() { "none" } else { &f.lost }
    );
    let ops = sync.operations();
    assert!(ops.is_empty(), "the plan after the copy is empty: {ops:#?}");
    Some(f)
}

fn assert_whole(result: Option<Fidelity>) {
    if let Some(f) = result {
        assert_eq!(
            f.kept + f.fresh_uids,
            f.total,
            "every property of every card is kept; lost: {}",
            f.lost
        );
    } else {
        eprintln!("fixtures folder not found: skipped");
    }
}

#[test]
fn the_corpus_copied_by_create_keeps_every_property_as_3_0() {
    assert_whole(copy_corpus(WriteVersion::V3, false));
}

#[test]
fn the_corpus_copied_by_create_keeps_every_property_as_4_0() {
    assert_whole(copy_corpus(WriteVersion::V4, false));
}

#[test]
fn the_corpus_carried_by_update_keeps_every_property_as_3_0() {
    assert_whole(copy_corpus(WriteVersion::V3, true));
}

#[test]
fn the_corpus_carried_by_update_keeps_every_property_as_4_0() {
    assert_whole(copy_corpus(WriteVersion::V4, true));
}
