//! `carddav`: an address book collection on a CardDAV server (RFC 6352),
//! one card per resource, as `vdir` holds one card per file.
//!
//! A record's id is its href relative to the collection, percent-decoded
//! (a file name, as in a vdir); its version is the ETag, its revision the
//! hash of the card's text, so a server that changes ETags alone changes
//! nothing. A listing asks only what changed since the last one where the
//! server offers sync-collection (RFC 6578), the token kept in the state.
//! Writes are held back until the flush, then each is conditional on the
//! ETag read right before (`If-Match`, `If-None-Match: *`): a card another
//! program changed meanwhile is refused by the server (412), never
//! overwritten.

mod dav;
pub mod failure;
pub mod http;
mod xml;

use foldhash::{HashMap, HashMapExt};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use self::dav::{Dav, Memory};
pub use self::failure::DavFailure;
use super::cards;
use super::files;
use super::held::{self, Change, Held};
use super::interface::{
    JournalStore, Listed, Listing, Patch, Previewed, ReadStore, Refused, StoreError, Version,
    Versions, WriteStore,
};
use super::vdir::file_name_for_uid;
use crate::config::StoreConfig;
use crate::model::record::{Record, Unreadable, hash_revision};
use crate::store::secret::Password;
use crate::vcard::{self, WriteVersion, map};

pub struct CarddavStore {
    config: StoreConfig,
    dav: Dav,
    /// The ids and ETags of the last listing (new cards' names avoid them).
    listed: RefCell<HashMap<String, Option<String>>>,
    /// The writes of this apply not yet made: each card's new text, and
    /// the ETag its update or delete read.
    pending: Held<Vec<u8>>,
}

/// The revision of a card's text: its hash with line ends and control
/// characters as XML carries them (a multiget's `address-data` and a GET of
/// the same card give the same revision).
pub(crate) fn revision_of(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\r' => {
                out.push(b'\n');
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\t' | b'\n' => out.push(b),
            0..=0x1f | 0x7f => {}
            _ => out.push(b),
        }
        i += 1;
    }
    hash_revision(&out)
}

/// Exactly one FN, not empty where anything names the contact (Sabre,
/// behind Nextcloud and Baïkal, refuses a card without).
fn one_fn(card: &mut vcard::VCard) {
    use calcard::vcard::VCardProperty;
    let mut seen = false;
    card.entries.retain(|e| {
        if e.name != VCardProperty::Fn {
            return true;
        }
        let keep = !seen;
        seen = true;
        keep
    });
    map::ensure_fn(card);
}

/// A UID for a card that has none (a server refuses a card without).
fn ensure_uid(card: &mut vcard::VCard) {
    if vcard::property_text(card, "UID").is_none_or(|u| u.trim().is_empty()) {
        vcard::set_property_text(card, "UID", Some(&uuid::Uuid::new_v4().to_string()));
    }
}

impl CarddavStore {
    /// Reach the server and find the address book; `password` as
    /// [`crate::store::secret::password`] fetched it for `config`.
    pub fn open(config: &StoreConfig, password: Option<Password>) -> Result<Self, StoreError> {
        let dav = Dav::connect(config, password, Duration::from_secs(60))?;
        Ok(CarddavStore {
            config: config.clone(),
            dav,
            listed: RefCell::new(HashMap::new()),
            pending: Held::default(),
        })
    }

    fn version(&self) -> WriteVersion {
        self.config.write_version
    }

    /// Card `id` as the apply's writes so far left it, and the ETag it was
    /// read with (`None`: a write held back).
    fn current(&self, id: &str) -> Result<(Vec<u8>, Option<String>), StoreError> {
        match self.pending.get(id) {
            Some(Change::Delete { .. } | Change::Nothing) => {
                Err(StoreError::Missing { id: id.to_string() })
            }
            Some(Change::Create(bytes) | Change::Update { new: bytes, .. }) => {
                Ok((bytes.clone(), None))
            }
            None => match self.dav.get(id)? {
                Some(got) => Ok(got),
                None => Err(StoreError::Missing { id: id.to_string() }),
            },
        }
    }

    /// The one card in `bytes` (of card `id`).
    fn parse(&self, id: &str, bytes: &[u8]) -> Result<vcard::ParsedCard, StoreError> {
        cards::single(vcard::read_cards(bytes)).map_err(|(line, message)| StoreError::BadCard {
            path: PathBuf::from(self.dav.url_text(id)),
            line: line.unwrap_or(1),
            message,
        })
    }

    fn record_of(&self, id: &str, bytes: &[u8]) -> Result<Record, StoreError> {
        let card = self.parse(id, bytes)?;
        Ok(cards::record(
            &self.config,
            id.to_string(),
            revision_of(bytes),
            &card.card,
        ))
    }

    fn finish(&self, mut card: vcard::VCard) -> Vec<u8> {
        one_fn(&mut card);
        ensure_uid(&mut card);
        vcard::write_card(&card, self.version()).into_bytes()
    }

    fn created_text(&self, uid: &str, patch: &Patch) -> Vec<u8> {
        self.finish(cards::new_card(&self.config, uid, patch))
    }

    fn updated_text(&self, id: &str, bytes: &[u8], patch: &Patch) -> Result<Vec<u8>, StoreError> {
        let mut card = self.parse(id, bytes)?.card;
        cards::apply(&self.config, &mut card, patch);
        Ok(self.finish(card))
    }

    /// A free name for a new card with `uid`: derived from it, else fresh.
    fn name_for(&self, uid: &str) -> String {
        let name = file_name_for_uid(uid);
        if self.listed.borrow().contains_key(&name) || self.pending.contains(&name) {
            file_name_for_uid(&uuid::Uuid::new_v4().to_string())
        } else {
            name
        }
    }

    /// Turn a listing (id → ETag) into [`Versions`], remembering its ids.
    fn versions_of(&self, items: &BTreeMap<String, Option<String>>) -> Versions {
        *self.listed.borrow_mut() = items.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Versions {
            items: items
                .iter()
                .map(|(id, etag)| Listed {
                    id: id.clone(),
                    version: etag.clone().map(Version::new),
                })
                .collect(),
            read: Listing::default(),
        }
    }

    /// The ETag a write to `id` is conditional on: as read for it.
    fn etag_for(&self, id: &str, read: Option<String>) -> Result<String, StoreError> {
        read.or_else(|| self.listed.borrow().get(id).cloned().flatten())
            .ok_or_else(|| self.dav.failure(id, DavFailure::Other(
                "the server gave no ETag for the card, so it cannot be written without the risk of overwriting another program's change".into(),
            )))
    }
}

impl ReadStore for CarddavStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn list(&self) -> Result<Versions, StoreError> {
        let items = self.dav.propfind_listing()?;
        Ok(self.versions_of(&items))
    }

    fn listing_key(&self) -> Option<String> {
        Some(self.dav.collection_text())
    }

    fn list_since(&self, earlier: Option<&str>) -> Result<(Versions, Option<String>), StoreError> {
        let earlier = earlier.and_then(Memory::parse);
        let (items, memory) = self.dav.listing_since(earlier)?;
        Ok((self.versions_of(&items), memory.map(|m| m.to_text())))
    }

    fn read_many(&self, ids: &[&str]) -> Result<Listing, StoreError> {
        let mut listing = Listing::default();
        for (id, got) in self.dav.multiget(ids)? {
            match got {
                Ok(bytes) => match self.record_of(&id, &bytes) {
                    Ok(record) => listing.records.push(record),
                    Err(StoreError::BadCard {
                        path,
                        line,
                        message,
                    }) => {
                        listing.unreadable.push(Unreadable {
                            id: Some(id),
                            file: path,
                            line: Some(line),
                            message,
                        });
                    }
                    Err(e) => return Err(e),
                },
                Err(message) => listing.unreadable.push(Unreadable {
                    file: PathBuf::from(self.dav.url_text(&id)),
                    id: Some(id),
                    line: None,
                    message,
                }),
            }
        }
        listing.records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(listing)
    }

    fn read(&self, id: &str) -> Result<Record, StoreError> {
        let (bytes, _) = self.current(id)?;
        self.record_of(id, &bytes)
    }

    fn record_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        let (bytes, _) = self.current(id)?;
        Ok(Some(
            String::from_utf8_lossy(&vcard::decode::to_utf8(&bytes)).into_owned(),
        ))
    }

    fn card(&self, id: &str, expected: &str) -> Result<Option<vcard::VCard>, StoreError> {
        let (bytes, _) = self.current(id)?;
        self.card_from(id, &bytes, expected)
    }

    /// The cards of a batch in a few multiget requests, not one GET each
    /// (a first sync from the server copies every card).
    fn cards(&self, wanted: &[(&str, &str)]) -> Vec<Result<Option<vcard::VCard>, StoreError>> {
        let remote: Vec<&str> = (wanted.iter())
            .map(|(id, _)| *id)
            .filter(|id| self.pending.get(id).is_none())
            .collect();
        let mut fetched: HashMap<String, Result<Vec<u8>, String>> = HashMap::new();
        let mut failed = None;
        if !remote.is_empty() {
            match self.dav.multiget(&remote) {
                Ok(got) => fetched.extend(got),
                Err(e) => failed = Some(e.to_string()),
            }
        }
        (wanted.iter())
            .map(|&(id, expected)| {
                if self.pending.get(id).is_some() || failed.is_some() {
                    // Held back by this apply, or the batch failed: one by one.
                    return self.card(id, expected);
                }
                match fetched.remove(id) {
                    Some(Ok(bytes)) => self.card_from(id, &bytes, expected),
                    // Gone since it was listed.
                    None => Err(StoreError::Missing { id: id.to_string() }),
                    // Its own request says why.
                    Some(Err(_)) => self.card(id, expected),
                }
            })
            .collect()
    }
}

impl CarddavStore {
    /// Card `id` from its `bytes`, for a copy, if they are still the
    /// revision `expected`.
    fn card_from(
        &self,
        id: &str,
        bytes: &[u8],
        expected: &str,
    ) -> Result<Option<vcard::VCard>, StoreError> {
        if revision_of(bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        Ok(Some(cards::for_copy(
            &self.config,
            self.parse(id, bytes)?.card,
        )))
    }
}

impl WriteStore for CarddavStore {
    fn check_writable(&self) -> Result<(), StoreError> {
        self.dav.check_writable()
    }

    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError> {
        let uid = patch
            .uid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let name = self.name_for(&uid);
        let bytes = self.created_text(&uid, patch);
        let revision = revision_of(&bytes);
        self.pending.hold(name.clone(), Change::Create(bytes));
        Ok((name, revision))
    }

    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        let (bytes, etag) = self.current(id)?;
        if revision_of(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let text = self.updated_text(id, &bytes, patch)?;
        let revision = revision_of(&text);
        let etag = if self.pending.contains(id) {
            String::new()
        } else {
            self.etag_for(id, etag)?
        };
        let what = Change::Update {
            read: etag,
            new: text,
        };
        self.pending.hold(id.to_string(), what);
        Ok(revision)
    }

    fn preview(&self, id: Option<&str>, patch: &Patch) -> Result<Option<Previewed>, StoreError> {
        let (text, identity) = match id {
            Some(id) => {
                let (bytes, _) = self.current(id)?;
                (self.updated_text(id, &bytes, patch)?, None)
            }
            None => {
                let uid = patch
                    .uid
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                (self.created_text(&uid, patch), Some(uid))
            }
        };
        Ok(Some(Previewed {
            text: String::from_utf8_lossy(&text).into_owned(),
            identity,
        }))
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        let (bytes, etag) = self.current(id)?;
        if revision_of(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let etag = if self.pending.contains(id) {
            String::new()
        } else {
            self.etag_for(id, etag)?
        };
        self.pending
            .hold(id.to_string(), Change::Delete { read: etag });
        Ok(())
    }

    fn holds_writes(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The journal is told every card's new hash first (one state commit),
    /// then each write is sent, conditional on the ETag it read. A card
    /// the server holds in another form than was sent is read back and
    /// its hash told to the journal too, so undo knows it as abgleich's.
    /// A write the server refuses is that record's failure; a server that
    /// cannot be reached stops the flush (the apply puts back what landed).
    fn flush(&mut self) -> Result<Vec<Refused>, StoreError> {
        self.flush_telling(&mut || {})
    }

    fn flushes_one_by_one(&self) -> bool {
        true
    }

    fn flush_telling(&mut self, tell: &mut dyn FnMut()) -> Result<Vec<Refused>, StoreError> {
        let pending = self.pending.take();
        let batch = held::landings(&pending, |bytes| hash_revision(bytes));
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        files::write_ahead(&batch)?;
        files::count_write();
        let mut refused = Vec::new();
        for (id, what) in pending {
            files::another_writer_point(std::path::Path::new(&self.dav.url_text(&id)));
            let sent = match what {
                Change::Create(bytes) => self
                    .dav
                    .put(&id, &bytes, None)
                    .map(|r| r.map(|()| Some(bytes))),
                Change::Update {
                    read: etag,
                    new: bytes,
                } => self
                    .dav
                    .put(&id, &bytes, Some(&etag))
                    .map(|r| r.map(|()| Some(bytes))),
                Change::Delete { read: etag } => {
                    self.dav.delete(&id, &etag).map(|r| r.map(|()| None))
                }
                Change::Nothing => continue,
            };
            let outcome = sent?;
            if let Ok(Some(bytes)) = &outcome {
                // What the server holds now, if it is not what was sent (a
                // server that rewrites cards): the journal knows it as
                // abgleich's write too. (A crash between the PUT and this
                // leaves the card as written, named changed-since by
                // recovery.)
                if let Some((held, _)) = self.dav.get(&id)?
                    && held != *bytes
                {
                    files::write_ahead(&[files::Landing {
                        unit: id.clone(),
                        hash: Some(hash_revision(&held)),
                        replaces: None,
                    }])?;
                }
            }
            files::count_write();
            tell();
            if let Err(error) = outcome {
                refused.push(Refused { id, error });
            }
        }
        Ok(refused)
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.pending.clear();
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        self.begin()
    }
}

impl JournalStore for CarddavStore {
    fn create_unit(&self, patch: &Patch) -> Option<String> {
        let name = file_name_for_uid(patch.uid.as_deref()?);
        (!self.listed.borrow().contains_key(&name)).then_some(name)
    }

    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.dav.get(unit)?.map(|(bytes, _)| bytes))
    }

    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        match saved {
            Some(bytes) => self.dav.put_any(unit, bytes),
            None => self.dav.delete_any(unit),
        }
    }

    fn restore_unit_if(
        &mut self,
        unit: &str,
        saved: Option<&[u8]>,
        now: Option<&str>,
    ) -> Result<bool, StoreError> {
        let current = self.dav.get(unit)?;
        let holds_now = match (&current, now) {
            (None, None) => true,
            (Some((bytes, _)), Some(now)) => hash_revision(bytes) == now,
            _ => false,
        };
        if !holds_now {
            return Ok(false);
        }
        let etag = current.and_then(|(_, etag)| etag);
        let done = match (saved, now, etag) {
            (None, None, _) => return Ok(true),
            (Some(bytes), None, _) => self.dav.put(unit, bytes, None)?,
            (Some(bytes), Some(_), Some(etag)) => self.dav.put(unit, bytes, Some(&etag))?,
            (None, Some(_), Some(etag)) => self.dav.delete(unit, &etag)?,
            // No ETag to be conditional on: the hash compared just now is
            // the last word.
            (Some(bytes), Some(_), None) => self.dav.put_any(unit, bytes).map(Ok)?,
            (None, Some(_), None) => self.dav.delete_any(unit).map(Ok)?,
        };
        match done {
            Ok(()) => Ok(true),
            Err(StoreError::Changed { .. } | StoreError::Missing { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn check_saved(&self, unit: &str, _saved: Option<&[u8]>) -> Result<(), StoreError> {
        self.dav.path_of(unit).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_that_cannot_be_read_is_unreadable_with_its_url_never_left_out() {
        let body = r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">
<d:response><d:href>/book/bad.vcf</d:href><d:propstat><d:prop><c:address-data>BEGIN:VCARD
VERSION:3.0
FN:Cut off
</c:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/book/good.vcf</d:href><d:propstat><d:prop><c:address-data>BEGIN:VCARD
VERSION:3.0
UID:g
FN:Good
END:VCARD
</c:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#;
        let (port, _) = http::tests::one_shot(http::tests::multistatus(body));
        let url = format!("http://127.0.0.1:{port}/book/");
        let text = format!(
            "[left]\nkind = \"vdir\"\npath = \"a\"\n[right]\nname = \"Office\"\nkind = \"carddav\"\nurl = \"{url}\"\n"
        );
        let config = crate::config::Config::parse(&text, std::path::Path::new("/x/c.toml"))
            .unwrap()
            .right;
        let store = CarddavStore {
            config,
            dav: Dav::for_test(http::Url::parse(&url).unwrap()),
            listed: RefCell::new(HashMap::new()),
            pending: Held::default(),
        };
        let listing = store.read_many(&["bad.vcf", "good.vcf"]).unwrap();
        assert_eq!(listing.records.len(), 1);
        assert_eq!(listing.records[0].id, "good.vcf");
        let bad = &listing.unreadable[0];
        assert_eq!(bad.id.as_deref(), Some("bad.vcf"));
        assert_eq!(bad.file, PathBuf::from(format!("{url}bad.vcf")));
    }

    #[test]
    fn revisions_do_not_depend_on_line_ends() {
        assert_eq!(
            revision_of(b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n"),
            revision_of(b"BEGIN:VCARD\nFN:A\nEND:VCARD\n")
        );
        assert_ne!(revision_of(b"FN:A\n"), revision_of(b"FN:B\n"));
    }

    #[test]
    fn a_card_gets_exactly_one_display_name() {
        let text =
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans;;;\r\nFN:\r\nFN:Other\r\nEND:VCARD\r\n";
        let mut card = vcard::read_cards(text.as_bytes()).remove(0).unwrap().card;
        one_fn(&mut card);
        ensure_uid(&mut card);
        let out = vcard::write_card(&card, WriteVersion::V3);
        assert_eq!(out.matches("\nFN").count(), 1, "{out}");
        assert!(out.contains(":Hans Müller\r\n"), "{out}");
        assert!(out.contains("UID:"), "{out}");
    }
}
