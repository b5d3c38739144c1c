//! The real-world corpus in `../shared/fixtures/` (or `$ABGLEICH_FIXTURES`):
//! every file is read without a panic, and every card that parses survives
//! a write as 4.0 and a second read with the same canonical contact.

use std::path::{Path, PathBuf};

use abgleich::vcard::{WriteVersion, read_cards, to_contact, write_card};

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
