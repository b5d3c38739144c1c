//! `vdir`: a folder with one `.vcf` per contact (vdirsyncer/khard layout).
//!
//! The id is the file name: Outlook's exported cards have no UID. New files
//! get a name derived from a fresh (or carried) UID, made safe so that no
//! UID can name a path outside the folder.

use std::path::{Path, PathBuf};

use super::cards;
use super::files;
use super::held::{self, Change, Held};
use super::interface::{
    JournalStore, Listed, Listing, Patch, Previewed, ReadStore, Refused, StoreError, Version,
    Versions, WriteStore,
};
use crate::config::StoreConfig;
use crate::model::record::{Record, Unreadable, hash_revision};
use crate::vcard::{self, WriteVersion};

pub struct VdirStore {
    config: StoreConfig,
    dir: PathBuf,
    /// The writes of this apply not yet in place: each card file's new
    /// content in a temporary file beside it (not yet flushed), and its hash.
    pending: Held<(tempfile::TempPath, String)>,
    /// The last card file written (its name and text): a write's card is
    /// read back right after it (its properties as written), from here
    /// rather than its temporary file.
    last: Option<(String, String)>,
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
        Err(StoreError::BadId { id: id.to_string() })
    }
}

/// Whether `name` can only name a file directly inside the folder (what
/// reading needs; [`check_id`] is stricter, for the names abgleich writes).
fn names_a_file_inside(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\0'])
        && !matches!(name, "." | "..")
        && Path::new(name).components().count() == 1
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
    cards::single(vcard::read_cards(bytes)).map_err(|(line, m)| StoreError::BadCard {
        path: path.to_path_buf(),
        line: line.unwrap_or(1),
        message: m,
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

/// A card file's version token: its size and modification time
/// (`None` when that time is within two seconds of `now_ns`, if given).
fn file_version(meta: &std::fs::Metadata, now_ns: Option<i64>) -> Option<Version> {
    meta.modified()
        .ok()
        .map(mtime_ns)
        .filter(|&ns| now_ns.is_none_or(|now| now - ns > 2_000_000_000))
        .map(|ns| Version::new(format!("{}:{ns}", meta.len())))
}

/// The metadata of a listed card file (through a symbolic link); `None` when
/// the entry is gone since the folder was listed; why it is not a card file
/// that can be read (a dangling link, a directory or FIFO in a card's place,
/// a stat error), so that it is reported, never taken as deleted.
fn card_file_meta(path: &Path) -> Result<Option<std::fs::Metadata>, String> {
    card_meta_from(path, std::fs::symlink_metadata(path))
}

/// [`card_file_meta`] from the entry's own status (`lstat`, which a folder
/// listing gives without a path lookup): only a symbolic link costs a
/// second call, to its target.
fn card_meta_from(
    path: &Path,
    own: std::io::Result<std::fs::Metadata>,
) -> Result<Option<std::fs::Metadata>, String> {
    let own = match own {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read its file status: {e}")),
    };
    if own.is_file() {
        return Ok(Some(own));
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if own.file_type().is_symlink() => {
            let target = std::fs::read_link(path)
                .map(|t| format!(" to {}", t.display()))
                .unwrap_or_default();
            return Err(format!(
                "a symbolic link{target} that cannot be followed: {e}"
            ));
        }
        Err(e) => return Err(format!("cannot read its file status: {e}")),
    };
    if meta.is_file() {
        return Ok(Some(meta));
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    Err(format!("{what} stands in a card file's place"))
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
            pending: Held::default(),
            last: None,
        })
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, StoreError> {
        check_id(id)?;
        let path = self.dir.join(id);
        debug_assert!(path.parent() == Some(self.dir.as_path()));
        Ok(path)
    }

    /// Card file `id` as the apply's writes so far left it, and its path.
    fn read_file(&self, id: &str) -> Result<(Vec<u8>, PathBuf), StoreError> {
        let path = self.path_of(id)?;
        let read = match self.pending.get(id) {
            Some(Change::Delete { .. } | Change::Nothing) => {
                return Err(StoreError::Missing { id: id.to_string() });
            }
            Some(Change::Create((temp, _)) | Change::Update { new: (temp, _), .. }) => {
                match &self.last {
                    // The card just written: its text is still here.
                    Some((name, text)) if name == id => Ok(text.as_bytes().to_vec()),
                    _ => std::fs::read(temp),
                }
            }
            None => std::fs::read(&path),
        };
        match read {
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

    /// The text a create of `patch` writes into the new card file, the card
    /// given `uid` (what `create` writes and `preview` shows).
    fn created_text(&self, uid: &str, patch: &Patch) -> String {
        let card = cards::new_card(&self.config, uid, patch);
        vcard::write_card(&card, self.version())
    }

    /// The text an update of `patch` writes over the card file `bytes`
    /// (read from `path`): what `update` writes and `preview` shows.
    fn updated_text(&self, bytes: &[u8], path: &Path, patch: &Patch) -> Result<String, StoreError> {
        let mut card = single_card(bytes, path)?.card;
        cards::apply(&self.config, &mut card, patch);
        Ok(vcard::write_card(&card, self.version()))
    }

    /// Read and parse the card files `names` (one worker's share of
    /// `read_many`).
    fn read_files(&self, names: &[&str]) -> Listing {
        let mut listing = Listing::default();
        for &name in names {
            let path = self.dir.join(name);
            let unreadable = |line, message| Unreadable {
                id: Some(name.to_string()),
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
                Ok(card) => listing.records.push(cards::record(
                    &self.config,
                    name.to_string(),
                    hash_revision(&bytes),
                    &card.card,
                )),
                Err((line, message)) => listing.unreadable.push(unreadable(line, message)),
            }
        }
        listing
    }
}

/// `work` done on `items` shared among the cores (up to eight threads),
/// one result per share, in order.
fn on_all_cores<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = items.len().div_ceil(workers).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (items.chunks(chunk))
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        (handles.into_iter())
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

impl ReadStore for VdirStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    /// Its listing needs only the file system, and it reports no progress.
    fn concurrent(&self) -> Option<&(dyn ReadStore + Sync)> {
        Some(self)
    }

    /// The card files with their size and modification time as version;
    /// a file changed in the last two seconds may change again within the
    /// clock's resolution, so it gets no version (it is read, and not
    /// remembered). A card file that cannot be stat'ed, or that is not a
    /// plain file, is unreadable.
    fn list(&self) -> Result<Versions, StoreError> {
        let mut out = Versions::default();
        let now_ns = mtime_ns(std::time::SystemTime::now());
        let entries = std::fs::read_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&self.dir, e))?;
            let name = match entry.file_name().to_str() {
                Some(name) if is_card_file(name) => name.to_string(),
                Some(_) => continue,
                None => {
                    out.read.unreadable.push(Unreadable {
                        id: None,
                        file: entry.path(),
                        line: None,
                        message: "file name is not UTF-8".to_string(),
                    });
                    continue;
                }
            };
            // A plain file needs no path: its status came with the listing.
            let meta = match entry.metadata() {
                Ok(own) if own.is_file() => Ok(Some(own)),
                own => card_meta_from(&entry.path(), own),
            };
            let meta = match meta {
                Ok(Some(meta)) => meta,
                // Removed since the folder was listed: gone, not unreadable.
                Ok(None) => continue,
                Err(message) => {
                    out.read.unreadable.push(Unreadable {
                        id: Some(name),
                        file: entry.path(),
                        line: None,
                        message,
                    });
                    continue;
                }
            };
            // A file changed in the last two seconds gets no token: a
            // change in the same clock tick would not show in it.
            let version = file_version(&meta, Some(now_ns));
            out.items.push(Listed { id: name, version });
        }
        out.items.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn written_versions(&self, ids: &[&str]) -> Vec<Option<Version>> {
        (ids.iter())
            .map(|id| {
                let meta = card_file_meta(&self.path_of(id).ok()?).ok()??;
                file_version(&meta, None)
            })
            .collect()
    }

    fn read_many(&self, ids: &[&str]) -> Result<Listing, StoreError> {
        // A listed name is a plain file name; anything else never reaches
        // the file system.
        if let Some(id) = ids.iter().find(|id| !names_a_file_inside(id)) {
            return Err(StoreError::BadId { id: id.to_string() });
        }
        // Reading and parsing dominate: share the files among the cores.
        let parts = on_all_cores(ids, |part| self.read_files(part));
        let mut listing = Listing::default();
        for part in parts {
            listing.records.extend(part.records);
            listing.unreadable.extend(part.unreadable);
        }
        listing.records.sort_by(|a, b| a.id.cmp(&b.id));
        listing.unreadable.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(listing)
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

    /// The card file's text.
    fn record_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        let (bytes, _) = self.read_file(id)?;
        Ok(Some(
            String::from_utf8_lossy(&vcard::decode::to_utf8(&bytes)).into_owned(),
        ))
    }

    fn card(&self, id: &str, expected: &str) -> Result<Option<vcard::VCard>, StoreError> {
        let (bytes, path) = self.read_file(id)?;
        if hash_revision(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let card = single_card(&bytes, &path)?.card;
        Ok(Some(cards::for_copy(&self.config, card)))
    }

    /// Read and parsed on all cores (a first sync copies every card).
    fn cards(&self, wanted: &[(&str, &str)]) -> Vec<Result<Option<vcard::VCard>, StoreError>> {
        let parts = on_all_cores(wanted, |part| {
            (part.iter())
                .map(|(id, rev)| self.card(id, rev))
                .collect::<Vec<_>>()
        });
        parts.into_iter().flatten().collect()
    }
}

impl WriteStore for VdirStore {
    fn check_writable(&self) -> Result<(), StoreError> {
        super::files::probe_writable(&self.dir)
    }

    /// Each card was flushed before its rename; the folder once, here, so
    /// the renames and removals survive a power loss before the apply
    /// counts as done.
    fn commit(&mut self) -> Result<(), StoreError> {
        files::sync_dir(&self.dir)
    }

    fn create(&mut self, patch: &Patch) -> Result<(String, String), StoreError> {
        let uid = patch
            .uid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut name = file_name_for_uid(&uid);
        if self.dir.join(&name).exists() || self.pending.contains(&name) {
            name = file_name_for_uid(&uuid::Uuid::new_v4().to_string());
        }
        let path = self.path_of(&name)?;
        let text = self.created_text(&uid, patch);
        let hash = hash_revision(text.as_bytes());
        let temp = files::temporary(&path, text.as_bytes())?;
        (self.pending).hold(name.clone(), Change::Create((temp, hash.clone())));
        self.last = Some((name.clone(), text));
        Ok((name, hash))
    }

    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        let (bytes, path) = self.read_file(id)?;
        if hash_revision(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let text = self.updated_text(&bytes, &path, patch)?;
        let hash = hash_revision(text.as_bytes());
        let temp = files::temporary(&path, text.as_bytes())?;
        let what = Change::Update {
            read: expected.to_string(),
            new: (temp, hash.clone()),
        };
        self.pending.hold(id.to_string(), what);
        self.last = Some((id.to_string(), text));
        Ok(hash)
    }

    fn preview(&self, id: Option<&str>, patch: &Patch) -> Result<Option<Previewed>, StoreError> {
        Ok(Some(match id {
            Some(id) => {
                let (bytes, path) = self.read_file(id)?;
                Previewed {
                    text: self.updated_text(&bytes, &path, patch)?,
                    identity: None,
                }
            }
            None => {
                let uid = patch
                    .uid
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                Previewed {
                    text: self.created_text(&uid, patch),
                    identity: Some(uid),
                }
            }
        }))
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        let (bytes, _) = self.read_file(id)?;
        if hash_revision(&bytes) != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        let what = Change::Delete {
            read: expected.to_string(),
        };
        self.pending.hold(id.to_string(), what);
        Ok(())
    }

    fn holds_writes(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The batch: every temporary file flushed at once, the journal told
    /// every file's new hash (one state commit), then each file put in
    /// place, compared with the revision the plan read right before; the
    /// folder is flushed in [`WriteStore::commit`].
    fn flush(&mut self) -> Result<Vec<Refused>, StoreError> {
        let pending = self.pending.take();
        self.last = None;
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let temps: Vec<&Path> = pending
            .iter()
            .filter_map(|(_, what)| match what {
                Change::Create((temp, _)) | Change::Update { new: (temp, _), .. } => {
                    Some(temp.as_ref())
                }
                Change::Delete { .. } | Change::Nothing => None,
            })
            .collect();
        files::flush_files(&self.dir, &temps)?;
        files::count_write();
        let batch = held::landings(&pending, |(_, hash)| hash.clone());
        files::write_ahead(&batch)?;
        files::count_write();
        let mut refused = Vec::new();
        for (name, what) in pending {
            let path = self.path_of(&name)?;
            // A create or delete that cannot be made is that record's
            // failure (nothing of it landed); an update's is the apply's
            // (its exchange may be half done), which puts back what landed.
            let landed = match what {
                Change::Create((temp, _)) => files::put_new(temp, &path).map(|()| true),
                Change::Update {
                    read: expected,
                    new: (temp, _),
                } => Ok(files::put_unchanged(temp, &path, &expected)?),
                Change::Delete { read: expected } => files::remove_unchanged(&path, &expected),
                Change::Nothing => continue,
            };
            files::count_write();
            match landed {
                Ok(true) => {}
                Ok(false) => refused.push(Refused {
                    error: StoreError::Changed { id: name.clone() },
                    id: name,
                }),
                Err(error) => refused.push(Refused { id: name, error }),
            }
        }
        Ok(refused)
    }

    /// A new apply starts with nothing held back.
    fn begin(&mut self) -> Result<(), StoreError> {
        self.pending.clear();
        self.last = None;
        Ok(())
    }

    /// The writes held back are dropped (their temporary files removed).
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.begin()
    }
}

impl JournalStore for VdirStore {
    fn remove_leftovers(&self) -> Result<usize, StoreError> {
        files::remove_leftovers(&self.dir)
    }

    fn create_unit(&self, patch: &Patch) -> Option<String> {
        let name = file_name_for_uid(patch.uid.as_deref()?);
        (!self.dir.join(&name).exists()).then_some(name)
    }

    fn save_unit(&self, unit: &str) -> Result<Option<Vec<u8>>, StoreError> {
        files::read_unit_file(&self.path_of(unit)?)
    }

    fn restore_unit(&mut self, unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        self.last = None;
        files::restore_unit_file(&self.path_of(unit)?, saved)
    }

    fn restore_unit_if(
        &mut self,
        unit: &str,
        saved: Option<&[u8]>,
        now: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.last = None;
        files::restore_unit_file_if(&self.path_of(unit)?, saved, now)
    }

    fn check_saved(&self, unit: &str, _saved: Option<&[u8]>) -> Result<(), StoreError> {
        self.path_of(unit).map(drop)
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
