//! `vcard`: one `.vcf` file with many cards, rewritten atomically.
//!
//! A card's id is its UID; a card without one is `#N` (its position among
//! the file's cards) until abgleich first writes the file, which gives every
//! card without a UID a fresh one so that ids stay stable from then on. The
//! store reports each such card as [`Renamed`] (`#N` → its UID), and the
//! apply moves its link in the same state transaction; later writes of the
//! same apply may still name it `#N`.
//! Cards a write does not touch are kept byte for byte. A file with a card
//! that cannot be read is never rewritten: that card would be lost.

use std::collections::HashSet;
use std::path::PathBuf;

use super::cards;
use super::files::{self, write_atomic};
use super::interface::{
    JournalStore, Listing, Patch, ReadStore, Renamed, StoreError, Versions, WriteStore,
};
use crate::config::StoreConfig;
use crate::model::record::{Record, Unreadable, hash_revision};
use crate::vcard::{self, ParsedCard, decode};

pub struct VcardFileStore {
    config: StoreConfig,
    file: PathBuf,
    /// The cards this store's writes gave a UID, so far.
    renamed: Vec<Renamed>,
}

/// A parsed file: its (UTF-8) bytes and the id of every readable card.
struct Parsed {
    bytes: Vec<u8>,
    cards: Vec<(String, ParsedCard)>,
    unreadable: Vec<Unreadable>,
}

impl VcardFileStore {
    pub fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        if !config.path.is_file() {
            return Err(files::missing_store(
                config,
                "store's file",
                "a missing file is never taken as an empty address book",
            ));
        }
        Ok(VcardFileStore {
            config: config.clone(),
            file: config.path.clone(),
            renamed: Vec::new(),
        })
    }

    fn parse(&self) -> Result<Parsed, StoreError> {
        let mut cards = Vec::new();
        let (bytes, unreadable) = self.each_card(|id, card| cards.push((id, card)))?;
        Ok(Parsed {
            bytes,
            cards,
            unreadable,
        })
    }

    /// Read the file and hand every readable card with its id to `keep`;
    /// returns the file's bytes (as UTF-8) and what could not be read.
    fn each_card(
        &self,
        mut keep: impl FnMut(String, ParsedCard),
    ) -> Result<(Vec<u8>, Vec<Unreadable>), StoreError> {
        let raw = std::fs::read(&self.file).map_err(|e| StoreError::io(&self.file, e))?;
        let bytes = decode::to_utf8(&raw).into_owned();
        let mut unreadable = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for (n, card) in vcard::cards(&bytes).enumerate() {
            match card {
                Ok(card) => {
                    let id = vcard::property_text(&card.card, "UID")
                        .unwrap_or_else(|| format!("#{}", n + 1));
                    if !seen.insert(id.clone()) {
                        unreadable.push(Unreadable {
                            id: Some(id.clone()),
                            file: self.file.clone(),
                            line: Some(card.line),
                            message: format!(
                                "a second card with UID {id:?}; UIDs must be unique in the file"
                            ),
                        });
                        continue;
                    }
                    keep(id, card);
                }
                Err(e) => unreadable.push(Unreadable {
                    id: None,
                    file: self.file.clone(),
                    line: Some(e.line),
                    message: e.message,
                }),
            }
        }
        Ok((bytes, unreadable))
    }

    /// The folder that holds the file (its temporary files go there).
    fn folder(&self) -> &std::path::Path {
        self.file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
    }

    fn writable(&self) -> Result<Parsed, StoreError> {
        let parsed = self.parse()?;
        if let Some(u) = parsed.unreadable.first() {
            return Err(StoreError::WouldLoseCard(u.clone()));
        }
        Ok(parsed)
    }

    /// The id and expected revision a caller's `id` and `expected` stand for
    /// now: a card an earlier write gave a UID is found by that UID, at the
    /// revision the UID gave it.
    fn resolve(&self, id: &str, expected: &str) -> (String, String) {
        match self.renamed.iter().find(|r| r.from == id) {
            Some(r) if r.revision_before == expected => (r.to.clone(), r.revision_after.clone()),
            Some(r) => (r.to.clone(), expected.to_string()),
            None => (id.to_string(), expected.to_string()),
        }
    }

    /// The position of card `id` in the file, if its revision is `expected`.
    fn find(&self, parsed: &Parsed, id: &str, expected: &str) -> Result<usize, StoreError> {
        let (id, expected) = self.resolve(id, expected);
        let (id, expected) = (id.as_str(), expected.as_str());
        let index = parsed
            .cards
            .iter()
            .position(|(i, _)| i == id)
            .ok_or_else(|| StoreError::Missing { id: id.to_string() })?;
        if parsed.cards[index].1.revision != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        Ok(index)
    }

    /// Rebuild the file: `replace` maps a card's index to its new text
    /// (empty = delete); UID-less cards get a UID (remembered in
    /// `renamed`); `append` goes at the end.
    fn rewrite(
        &mut self,
        parsed: &Parsed,
        replace: Option<(usize, String)>,
        append: Option<String>,
    ) -> Result<(), StoreError> {
        let mut renamed = Vec::new();
        let mut out = Vec::with_capacity(parsed.bytes.len() + 1024);
        let mut at = 0;
        for (i, (_, card)) in parsed.cards.iter().enumerate() {
            out.extend_from_slice(&parsed.bytes[at..card.span.start]);
            at = card.span.end;
            match &replace {
                Some((r, text)) if *r == i => out.extend_from_slice(text.as_bytes()),
                _ if vcard::property_text(&card.card, "UID").is_none() => {
                    let mut with_uid = card.card.clone();
                    let uid = uuid::Uuid::new_v4().to_string();
                    vcard::set_property_text(&mut with_uid, "UID", Some(&uid));
                    let text = vcard::write_card(&with_uid, self.config.write_version);
                    out.extend_from_slice(text.as_bytes());
                    renamed.push(Renamed {
                        from: parsed.cards[i].0.clone(),
                        to: uid,
                        revision_before: card.revision.clone(),
                        revision_after: Self::text_revision(&text),
                    });
                }
                _ => {
                    out.extend_from_slice(&parsed.bytes[card.span.clone()]);
                    if !parsed.bytes[..card.span.end].ends_with(b"\n") {
                        out.extend_from_slice(b"\r\n");
                    }
                }
            }
        }
        out.extend_from_slice(&parsed.bytes[at..]);
        if let Some(text) = append {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(text.as_bytes());
        }
        write_atomic(&self.file, &out, false)?;
        self.renamed.extend(renamed);
        Ok(())
    }

    /// Card `id` for a copy in the other store, if it still has the
    /// revision `expected`.
    fn copy_of(
        &self,
        id: &str,
        expected: &str,
        card: Option<ParsedCard>,
    ) -> Result<Option<vcard::VCard>, StoreError> {
        let card = card.ok_or_else(|| StoreError::Missing { id: id.to_string() })?;
        if card.revision != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        Ok(Some(cards::for_copy(&self.config, card.card)))
    }

    fn text_revision(text: &str) -> String {
        // The revision a later read computes for this card.
        vcard::read_cards(text.as_bytes())
            .into_iter()
            .next()
            .and_then(Result::ok)
            .map(|c| c.revision)
            .unwrap_or_else(|| hash_revision(text.as_bytes()))
    }
}

impl ReadStore for VcardFileStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    /// Listing one file means reading it: the listing holds every card in
    /// full, each card's revision as its version.
    fn list(&self) -> Result<Versions, StoreError> {
        let mut records = Vec::new();
        let (_, unreadable) = self.each_card(|id, card| {
            records.push(cards::record(&self.config, id, card.revision, &card.card));
        })?;
        Ok(Versions::read_in_full(Listing {
            records,
            unreadable,
        }))
    }

    fn read_many(&self, ids: &[&str]) -> Result<Listing, StoreError> {
        let wanted: HashSet<&str> = ids.iter().copied().collect();
        let mut records = Vec::new();
        let (_, unreadable) = self.each_card(|id, card| {
            if wanted.contains(id.as_str()) {
                records.push(cards::record(&self.config, id, card.revision, &card.card));
            }
        })?;
        Ok(Listing {
            records,
            unreadable,
        })
    }

    fn read(&self, id: &str) -> Result<Record, StoreError> {
        let id = self
            .renamed
            .iter()
            .find(|r| r.from == id)
            .map_or(id, |r| r.to.as_str());
        let parsed = self.parse()?;
        parsed
            .cards
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(id, card)| cards::record(&self.config, id, card.revision.clone(), &card.card))
            .ok_or_else(|| StoreError::Missing { id: id.to_string() })
    }

    fn card(&self, id: &str, expected: &str) -> Result<Option<vcard::VCard>, StoreError> {
        let mut parsed = self.parse()?;
        let at = parsed.cards.iter().position(|(i, _)| i == id);
        let card = at.map(|at| parsed.cards.swap_remove(at).1);
        self.copy_of(id, expected, card)
    }

    /// The file is parsed once for the whole batch.
    fn cards(&self, wanted: &[(&str, &str)]) -> Vec<Result<Option<vcard::VCard>, StoreError>> {
        let Ok(parsed) = self.parse() else {
            // Each says why on its own.
            return wanted.iter().map(|(id, rev)| self.card(id, rev)).collect();
        };
        let mut by_id: std::collections::HashMap<String, ParsedCard> =
            parsed.cards.into_iter().collect();
        wanted
            .iter()
            .map(|(id, expected)| self.copy_of(id, expected, by_id.remove(*id)))
            .collect()
    }
}

impl WriteStore for VcardFileStore {
    /// The file was flushed before its rename; its folder here.
    fn commit(&mut self) -> Result<(), StoreError> {
        super::files::sync_dir(self.folder())
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        super::files::probe_writable(self.folder())?;
        // A file with a card that cannot be read is never rewritten: the
        // rewrite would lose that card.
        self.writable().map(drop)
    }

    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError> {
        let parsed = self.writable()?;
        let mut uid = patch
            .uid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if parsed.cards.iter().any(|(id, _)| *id == uid) {
            uid = uuid::Uuid::new_v4().to_string();
        }
        let text = vcard::write_card(
            &cards::new_card(&self.config, &uid, patch),
            self.config.write_version,
        );
        self.rewrite(&parsed, None, Some(text.clone()))?;
        Ok((uid, Self::text_revision(&text)))
    }

    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        let parsed = self.writable()?;
        let index = self.find(&parsed, id, expected)?;
        let mut changed = parsed.cards[index].1.card.clone();
        cards::apply(&self.config, &mut changed, patch);
        // A card without a UID gets one with its first write, like every
        // other card of the file: its id is that UID from now on.
        let uid = vcard::property_text(&changed, "UID")
            .is_none()
            .then(|| uuid::Uuid::new_v4().to_string());
        if let Some(uid) = &uid {
            vcard::set_property_text(&mut changed, "UID", Some(uid));
        }
        let text = vcard::write_card(&changed, self.config.write_version);
        self.rewrite(&parsed, Some((index, text.clone())), None)?;
        let revision = Self::text_revision(&text);
        if let Some(uid) = uid {
            self.renamed.push(Renamed {
                from: parsed.cards[index].0.clone(),
                to: uid,
                revision_before: revision.clone(),
                revision_after: revision.clone(),
            });
        }
        Ok(revision)
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        let parsed = self.writable()?;
        let index = self.find(&parsed, id, expected)?;
        self.rewrite(&parsed, Some((index, String::new())), None)
    }

    /// A new apply: the renames of an earlier one are in its links already.
    fn begin(&mut self) -> Result<(), StoreError> {
        self.renamed.clear();
        Ok(())
    }

    fn renamed(&self) -> Vec<Renamed> {
        self.renamed.clone()
    }
}

/// Every write rewrites the one file, so the journal saves the file.
impl JournalStore for VcardFileStore {
    fn remove_leftovers(&self) -> Result<usize, StoreError> {
        super::files::remove_leftovers(self.folder())
    }

    fn unit_of(&self, _id: &str) -> String {
        String::new()
    }

    fn create_unit(&self, _patch: &Patch) -> Option<String> {
        Some(String::new())
    }

    fn save_unit(&self, _unit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        files::read_unit_file(&self.file)
    }

    fn restore_unit(&mut self, _unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        // The file is the store: it is put back, never removed.
        match saved {
            Some(bytes) => write_atomic(&self.file, bytes, false),
            None => write_atomic(&self.file, b"", false),
        }
    }
}
