//! `vdir`: a folder with one `.vcf` per contact (vdirsyncer/khard layout).
//!
//! The id is the file name: Outlook's exported cards have no UID. New files
//! get a name derived from a fresh (or carried) UID, made safe so that no
//! UID can name a path outside the folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::cards;
use super::files::{self, write_atomic};
use super::interface::{CachedListing, FileStat, KnownRevision, Listing, Patch, Store, StoreError};
use crate::config::StoreConfig;
use crate::model::record::{Record, Unreadable, hash_revision};
use crate::vcard::{self, WriteVersion};

pub struct VdirStore {
    config: StoreConfig,
    dir: PathBuf,
}

/// Check that `id` is a plain file name inside the folder: no separator,
/// no `..`, no hidden or temporary file.
pub fn check_id(id: &str) -> Result<(), StoreError> {
    let plain = !id.is_empty()
        && !id.starts_with('.')
        && !id.contains(['/', '\\', '\0'])
        && Path::new(id).components().count() == 1;
    if plain {
        Ok(())
    } else {
        Err(StoreError::BadId(format!(
            "{id:?} is not a file name inside the address-book folder"
        )))
    }
}

/// A file name for a card with `uid`: letters, digits and `-_.@+` kept,
/// anything else replaced, never starting with a dot, at most 100 characters
/// before `.vcf`.
pub fn file_name_for_uid(uid: &str) -> String {
    let mut name: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    while name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    name.truncate(100);
    if name.trim_matches('_').is_empty() {
        name = uuid::Uuid::new_v4().to_string();
    }
    format!("{name}.vcf")
}

/// The one card of a file that is about to be read or written.
fn single_card(bytes: &[u8], path: &Path) -> Result<vcard::ParsedCard, StoreError> {
    cards::single(vcard::read_cards(bytes)).map_err(|(line, m)| {
        StoreError::Unreadable(format!("{}:{}: {m}", path.display(), line.unwrap_or(1)))
    })
}

fn mtime_ns(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

fn is_card_file(name: &str) -> bool {
    !name.starts_with('.')
        && Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("vcf") || e.eq_ignore_ascii_case("vcard"))
}

impl VdirStore {
    pub fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let dir = config.path.clone();
        if !dir.is_dir() {
            return Err(files::missing_store(
                config,
                "store's folder",
                "a missing folder is never taken as an empty address book",
            ));
        }
        Ok(VdirStore {
            config: config.clone(),
            dir,
        })
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, StoreError> {
        check_id(id)?;
        let path = self.dir.join(id);
        debug_assert!(path.parent() == Some(self.dir.as_path()));
        Ok(path)
    }

    fn read_file(&self, id: &str) -> Result<(Vec<u8>, PathBuf), StoreError> {
        let path = self.path_of(id)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok((bytes, path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::Missing { id: id.to_string() })
            }
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    fn version(&self) -> WriteVersion {
        self.config.write_version
    }

    /// Read and parse the card files `names` (one worker's share of `list`),
    /// except those `known` says are unchanged.
    fn read_files(
        &self,
        names: &[String],
        known: &HashMap<String, KnownRevision>,
    ) -> CachedListing {
        let mut out = CachedListing::default();
        let now_ns = mtime_ns(std::time::SystemTime::now());
        for name in names {
            let path = self.dir.join(name);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let stat = meta.modified().ok().map(|m| FileStat {
                size: meta.len(),
                mtime_ns: mtime_ns(m),
            });
            // A file changed in the last two seconds may change again within
            // the clock's resolution: read it, and do not remember it.
            let settled = stat.filter(|s| now_ns - s.mtime_ns > 2_000_000_000);
            if let (Some(stat), Some(k)) = (settled, known.get(name))
                && k.stat == stat
            {
                out.listing.records.push(Record {
                    id: name.clone(),
                    revision: k.revision.clone(),
                    contact: crate::model::contact::Contact::default(),
                    in_scope: true,
                    stamp: None,
                    uid: None,
                    modified: None,
                });
                out.unparsed.push(name.clone());
                continue;
            }
            let listing = &mut out.listing;
            let unreadable = |line, message| Unreadable {
                id: Some(name.clone()),
                file: path.clone(),
                line,
                message,
            };
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    listing
                        .unreadable
                        .push(unreadable(None, format!("cannot read: {e}")));
                    continue;
                }
            };
            match cards::single(vcard::read_cards(&bytes)) {
                Ok(card) => {
                    let revision = hash_revision(&bytes);
                    if let Some(stat) = settled {
                        out.stats.push((
                            name.clone(),
                            KnownRevision {
                                stat,
                                revision: revision.clone(),
                            },
                        ));
                    }
                    listing.records.push(cards::record(
                        &self.config,
                        name.clone(),
                        revision,
                        &card.card,
                    ));
                }
                Err((line, message)) => listing.unreadable.push(unreadable(line, message)),
            }
        }
        out
    }
}

impl Store for VdirStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn list(&self) -> Result<Listing, StoreError> {
        Ok(self.list_cached(&HashMap::new())?.listing)
    }

    fn list_cached(
        &self,
        known: &HashMap<String, KnownRevision>,
    ) -> Result<CachedListing, StoreError> {
        let mut out = CachedListing::default();
        let listing = &mut out.listing;
        let mut names = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&self.dir, e))?;
            match entry.file_name().to_str() {
                Some(name) if is_card_file(name) => names.push(name.to_string()),
                Some(_) => {}
                None => listing.unreadable.push(Unreadable {
                    id: None,
                    file: entry.path(),
                    line: None,
                    message: "file name is not UTF-8".to_string(),
                }),
            }
        }
        // Reading and parsing dominate: share the files among the cores.
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = names.len().div_ceil(workers).max(1);
        let parts: Vec<CachedListing> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .chunks(chunk)
                .map(|part| scope.spawn(move || self.read_files(part, known)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        for part in parts {
            listing.records.extend(part.listing.records);
            listing.unreadable.extend(part.listing.unreadable);
            out.unparsed.extend(part.unparsed);
            out.stats.extend(part.stats);
        }
        listing.records.sort_by(|a, b| a.id.cmp(&b.id));
        listing.unreadable.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(out)
    }

    fn read(&self, id: &str) -> Result<Record, StoreError> {
        let (bytes, path) = self.read_file(id)?;
        let card = single_card(&bytes, &path)?;
        Ok(cards::record(
            &self.config,
            id.to_string(),
            hash_revision(&bytes),
            &card.card,
        ))
    }

    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError> {
        let uid = patch
            .uid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut name = file_name_for_uid(&uid);
        if self.dir.join(&name).exists() {
            name = file_name_for_uid(&uuid::Uuid::new_v4().to_string());
        }
        let path = self.path_of(&name)?;
        let card = cards::new_card(&self.config, &uid, patch);
        let text = vcard::write_card(&card, self.version());
        write_atomic(&path, text.as_bytes(), true)?;
        Ok((name, hash_revision(text.as_bytes())))
    }

    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        let (bytes, path) = self.read_file(id)?;
        if hash_revision(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let mut card = single_card(&bytes, &path)?.card;
        cards::apply(&self.config, &mut card, patch);
        let text = vcard::write_card(&card, self.version());
        write_atomic(&path, text.as_bytes(), false)?;
        Ok(hash_revision(text.as_bytes()))
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        let (bytes, path) = self.read_file(id)?;
        if hash_revision(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))
    }

    fn create_unit(&self, patch: &Patch) -> Option<String> {
        let name = file_name_for_uid(patch.uid.as_deref()?);
        (!self.dir.join(&name).exists()).then_some(name)
    }

    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        files::read_unit_file(&self.path_of(unit)?)
    }

    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        files::restore_unit_file(&self.path_of(unit)?, saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_leave_the_folder_are_refused() {
        for id in [
            "../x.vcf",
            "../../x",
            "/etc/passwd",
            "a/b.vcf",
            "..",
            ".",
            "",
            ".hidden.vcf",
            "a\\b.vcf",
        ] {
            assert!(check_id(id).is_err(), "{id:?} accepted");
        }
        check_id("Hans Müller.vcf").unwrap();
    }

    #[test]
    fn uid_file_names_stay_plain() {
        assert!(!file_name_for_uid("../../x").contains('/'));
        assert_eq!(file_name_for_uid("urn:uuid:1234"), "urn_uuid_1234.vcf");
        for uid in ["../../x", "..", "/", "a/../../b", ".\u{0}.", "ü/ö"] {
            check_id(&file_name_for_uid(uid)).unwrap();
        }
    }
}
