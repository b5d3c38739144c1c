//! `vcard`: one `.vcf` file with many cards, rewritten atomically, once per
//! apply.
//!
//! A card's id is its UID; a card without one is `#N` (its position among
//! the file's cards) until abgleich first writes the file, which gives every
//! card without a UID a fresh one so that ids stay stable from then on. An
//! apply that links such a card writes the file for that alone
//! ([`WriteStore::settle_ids`] gives the UIDs before the other side's
//! stamps are written). The store reports each such card as [`Renamed`]
//! (`#N` → its UID), and the apply moves its link in the same state
//! transaction; later writes of the same apply may still name it `#N`.
//! Cards a write does not touch are kept byte for byte. A file with a card
//! that cannot be read is never rewritten: that card would be lost.
//!
//! An apply's writes are made on a draft of the file as its first write
//! read it; [`WriteStore::flush`] reads the file again and merges: cards
//! another program added or changed meanwhile are kept as it wrote them, a
//! write to a card that changed meanwhile is refused (changed since plan),
//! and the file is replaced only if it still holds what the merge read.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::PathBuf;

use super::cards;
use super::files::{self, write_atomic};
use super::interface::{
    JournalStore, Listing, Patch, Previewed, ReadStore, Refused, Renamed, StoreError, Versions,
    WriteStore,
};
use crate::config::StoreConfig;
use crate::model::record::{Record, Unreadable, hash_revision};
use crate::vcard::{self, ParsedCard, VCard, decode};

pub struct VcardFileStore {
    config: StoreConfig,
    file: PathBuf,
    /// The cards this store's writes gave a UID, so far.
    renamed: Vec<Renamed>,
    /// The writes of this apply, until [`WriteStore::flush`].
    draft: Option<Draft>,
}

/// What reading the file gives besides its cards: the hash of its bytes,
/// the bytes as UTF-8, the file's own bytes where they differ (see
/// [`Parsed::raw`]), and what could not be read.
type FileRead = (String, Vec<u8>, Option<Vec<u8>>, Vec<Unreadable>);

/// A parsed file: its (UTF-8) bytes and the id of every readable card.
struct Parsed {
    /// The hash of the file's bytes as read.
    raw_hash: String,
    bytes: Vec<u8>,
    /// The file's own bytes where they differ from `bytes` (a UTF-16 file,
    /// a byte-order mark); else `bytes` are they.
    raw: Option<Vec<u8>>,
    cards: Vec<(String, ParsedCard)>,
    unreadable: Vec<Unreadable>,
}

/// The file as an apply's first write read it, and what its writes made of
/// it.
struct Draft {
    base: Parsed,
    /// The position of each card of `base` by id.
    at: HashMap<String, usize>,
    /// Per card of `base`: what the writes left of it.
    edits: Vec<Option<Edit>>,
    /// Per card of `base` without a UID: the one it gets when the file is
    /// written, when [`WriteStore::settle_ids`] gave it one beforehand.
    uids: Vec<Option<String>>,
    /// The cards created, in order, and their position by UID.
    created: Vec<Written>,
    created_at: HashMap<String, usize>,
    /// How many writes it holds.
    writes: usize,
}

enum Edit {
    Card(Written),
    Removed,
}

/// A card as a write left it.
struct Written {
    uid: String,
    card: VCard,
    text: String,
    revision: String,
}

/// What becomes of one card of the file as it is now.
enum Output<'a> {
    Keep,
    Text(Cow<'a, [u8]>),
    Remove,
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
            draft: None,
        })
    }

    fn parse(&self) -> Result<Parsed, StoreError> {
        let mut cards = Vec::new();
        let (raw_hash, bytes, raw, unreadable) =
            self.each_card(|id, card| cards.push((id, card)))?;
        Ok(Parsed {
            raw_hash,
            bytes,
            raw,
            cards,
            unreadable,
        })
    }

    /// Read the file and hand every readable card with its id to `keep`;
    /// returns the rest of what was read ([`FileRead`]).
    fn each_card(&self, mut keep: impl FnMut(String, ParsedCard)) -> Result<FileRead, StoreError> {
        let raw = std::fs::read(&self.file).map_err(|e| StoreError::io(&self.file, e))?;
        let raw_hash = hash_revision(&raw);
        let bytes = decode::to_utf8(&raw).into_owned();
        let raw = (bytes != raw).then_some(raw);
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
        Ok((raw_hash, bytes, raw, unreadable))
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

    /// The draft the apply's writes go to: the file as the first of them
    /// reads it.
    fn draft(&mut self) -> Result<&mut Draft, StoreError> {
        if self.draft.is_none() {
            let base = self.writable()?;
            let edits = base.cards.iter().map(|_| None).collect();
            let uids = vec![None; base.cards.len()];
            let at = (base.cards.iter().enumerate())
                .map(|(i, (id, _))| (id.clone(), i))
                .collect();
            self.draft = Some(Draft {
                base,
                at,
                edits,
                uids,
                created: Vec::new(),
                created_at: HashMap::new(),
                writes: 0,
            });
        }
        Ok(self.draft.as_mut().expect("the draft was just made"))
    }

    /// A card made by a write: its text in the configured version, and the
    /// revision a later read computes for it.
    fn written(&self, uid: String, card: VCard) -> Written {
        let text = vcard::write_card(&card, self.config.write_version);
        let revision = Self::text_revision(&text);
        Written {
            uid,
            card,
            text,
            revision,
        }
    }

    /// A card a create of `patch` makes, with `uid` (what `create` adds to
    /// the draft and `preview` shows).
    fn created(&self, uid: String, patch: &Patch) -> Written {
        let card = cards::new_card(&self.config, &uid, patch);
        self.written(uid, card)
    }

    /// What an update of `patch` makes of `card` (what `update` keeps in
    /// the draft and `preview` shows). A card without a UID gets one with
    /// its first write (`settled`, when [`WriteStore::settle_ids`] gave it
    /// one), like every other card of the file: its id is that UID from
    /// now on.
    fn updated(&self, mut card: VCard, settled: Option<String>, patch: &Patch) -> Written {
        cards::apply(&self.config, &mut card, patch);
        let uid = match vcard::property_text(&card, "UID") {
            Some(uid) => uid,
            None => {
                let uid = settled.unwrap_or_else(new_uid);
                vcard::set_property_text(&mut card, "UID", Some(&uid));
                uid
            }
        };
        self.written(uid, card)
    }

    /// Card `id` of the file as it is now: its text and the card.
    fn stored(&self, id: &str) -> Result<(String, VCard), StoreError> {
        let parsed = self.parse()?;
        let (_, card) = (parsed.cards.into_iter())
            .find(|(i, _)| i == id)
            .ok_or_else(|| StoreError::Missing { id: id.to_string() })?;
        let text = String::from_utf8_lossy(parsed.bytes.get(card.span.clone()).unwrap_or_default());
        Ok((text.into_owned(), card.card))
    }

    /// Card `id` for a copy in the other store, if it still has the
    /// revision `expected`.
    fn copy_of(
        &self,
        id: &str,
        expected: &str,
        card: Option<(String, VCard)>,
    ) -> Result<Option<vcard::VCard>, StoreError> {
        let (revision, card) = card.ok_or_else(|| StoreError::Missing { id: id.to_string() })?;
        if revision != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        Ok(Some(cards::for_copy(&self.config, card)))
    }

    /// Card `id` as the draft holds it (revision, card); `None` when there
    /// is no draft, `Some(None)` when the draft does not hold it.
    fn drafted(&self, id: &str) -> Option<Option<(String, VCard)>> {
        let draft = self.draft.as_ref()?;
        Some(
            draft
                .get(id)
                .map(|(rev, card)| (rev.to_string(), card.clone())),
        )
    }

    fn bytes_revision(bytes: &[u8]) -> String {
        vcard::read_cards(bytes)
            .into_iter()
            .next()
            .and_then(Result::ok)
            .map(|c| c.revision)
            .unwrap_or_else(|| hash_revision(bytes))
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

    /// The draft merged into the file as it is now (`now`): the bytes to
    /// put in place, the cards given a UID, and the writes refused because
    /// their card changed or went away since the draft read it.
    fn merge(&self, draft: &Draft, now: &Parsed) -> (Vec<u8>, Vec<Renamed>, Vec<Refused>) {
        let base = &draft.base;
        // Each card of `now` that is a card of `base`: by UID, or (without
        // one) by its text, in order.
        let by_uid: HashMap<&str, usize> = base
            .cards
            .iter()
            .enumerate()
            .filter(|(_, (_, c))| has_uid(c))
            .map(|(i, (id, _))| (id.as_str(), i))
            .collect();
        let mut by_text: HashMap<&str, VecDeque<usize>> = HashMap::new();
        for (i, (_, c)) in base
            .cards
            .iter()
            .enumerate()
            .filter(|(_, (_, c))| !has_uid(c))
        {
            by_text.entry(c.revision.as_str()).or_default().push_back(i);
        }
        let mut in_now: Vec<Option<usize>> = vec![None; base.cards.len()];
        let mut of_base: Vec<Option<usize>> = vec![None; now.cards.len()];
        for (j, (id, c)) in now.cards.iter().enumerate() {
            let i = if has_uid(c) {
                by_uid.get(id.as_str()).copied()
            } else {
                by_text
                    .get_mut(c.revision.as_str())
                    .and_then(VecDeque::pop_front)
            };
            if let Some(i) = i {
                in_now[i] = Some(j);
                of_base[j] = Some(i);
            }
        }
        let mut refused = Vec::new();
        let mut accepted: Vec<bool> = vec![false; base.cards.len()];
        for (i, edit) in draft.edits.iter().enumerate() {
            if edit.is_none() {
                continue;
            }
            let id = base.cards[i].0.clone();
            match in_now[i] {
                None => refused.push(Refused {
                    error: StoreError::Missing { id: id.clone() },
                    id,
                }),
                Some(j) if now.cards[j].1.revision != base.cards[i].1.revision => {
                    refused.push(Refused {
                        error: StoreError::Changed { id: id.clone() },
                        id,
                    });
                }
                Some(_) => accepted[i] = true,
            }
        }
        let now_ids: HashSet<&str> = now.cards.iter().map(|(id, _)| id.as_str()).collect();
        let mut created = Vec::new();
        for w in &draft.created {
            if now_ids.contains(w.uid.as_str()) {
                // Another program added a card with this UID meanwhile.
                refused.push(Refused {
                    id: w.uid.clone(),
                    error: StoreError::Changed { id: w.uid.clone() },
                });
            } else {
                created.push(w.text.as_str());
            }
        }
        let mut renamed = Vec::new();
        let mut outputs: Vec<Output<'_>> = Vec::with_capacity(now.cards.len());
        for (j, (_, c)) in now.cards.iter().enumerate() {
            let Some(i) = of_base[j] else {
                outputs.push(Output::Keep);
                continue;
            };
            let from = &base.cards[i].0;
            let edit = draft.edits[i].as_ref().filter(|_| accepted[i]);
            match edit {
                Some(Edit::Removed) => outputs.push(Output::Remove),
                Some(Edit::Card(w)) => {
                    if !has_uid(c) {
                        renamed.push(Renamed {
                            from: from.clone(),
                            to: w.uid.clone(),
                            revision_before: w.revision.clone(),
                            revision_after: w.revision.clone(),
                        });
                    }
                    outputs.push(Output::Text(Cow::Borrowed(w.text.as_bytes())));
                }
                None if !has_uid(c) => {
                    // Untouched, without a UID: it gets one, like every card
                    // of a file abgleich writes (the one settled beforehand).
                    // Its text stays as it is, with one line added.
                    let uid = draft.uids[i].clone().unwrap_or_else(new_uid);
                    let text =
                        with_uid_line(&now.bytes[c.span.clone()], &uid).unwrap_or_else(|| {
                            let mut with_uid = c.card.clone();
                            vcard::set_property_text(&mut with_uid, "UID", Some(&uid));
                            vcard::write_card(&with_uid, self.config.write_version).into_bytes()
                        });
                    renamed.push(Renamed {
                        from: from.clone(),
                        to: uid,
                        revision_before: c.revision.clone(),
                        revision_after: Self::bytes_revision(&text),
                    });
                    outputs.push(Output::Text(Cow::Owned(text)));
                }
                None => outputs.push(Output::Keep),
            }
        }
        // A file with CR line ends only (an old Mac export) stays so: a
        // card written in CRLF among them would make them unreadable.
        let cr_only = now.bytes.contains(&b'\r') && !now.bytes.contains(&b'\n');
        let eol: &[u8] = if cr_only { b"\r" } else { b"\r\n" };
        let ends_line = |b: &[u8]| b.ends_with(b"\n") || (cr_only && b.ends_with(b"\r"));
        let text_of = |text: &[u8]| -> Vec<u8> {
            if cr_only {
                // Each CRLF becomes a CR.
                let mut out = Vec::with_capacity(text.len());
                let mut i = 0;
                while i < text.len() {
                    out.push(text[i]);
                    let crlf = text[i] == b'\r' && text.get(i + 1) == Some(&b'\n');
                    i += if crlf { 2 } else { 1 };
                }
                out
            } else {
                text.to_vec()
            }
        };
        let mut out = Vec::with_capacity(now.bytes.len() + 1024);
        let mut at = 0;
        for ((_, card), output) in now.cards.iter().zip(&outputs) {
            out.extend_from_slice(&now.bytes[at..card.span.start]);
            at = card.span.end;
            match output {
                Output::Text(text) => out.extend_from_slice(&text_of(text)),
                Output::Remove => {}
                Output::Keep => {
                    out.extend_from_slice(&now.bytes[card.span.clone()]);
                    if !ends_line(&now.bytes[..card.span.end]) {
                        out.extend_from_slice(eol);
                    }
                }
            }
        }
        out.extend_from_slice(&now.bytes[at..]);
        for text in created {
            if !out.is_empty() && !ends_line(&out) {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(&text_of(text.as_bytes()));
        }
        (out, renamed, refused)
    }
}

/// A card's text with a `UID` line added before its `END:VCARD`, in the
/// card's own line ending; `None` if the text is not one card in UTF-8.
fn with_uid_line(card: &[u8], uid: &str) -> Option<Vec<u8>> {
    // Bytes, not text: a Latin-1 card stays Latin-1.
    let upper = card.to_ascii_uppercase();
    let end = upper.windows(9).rposition(|w| w == b"END:VCARD")?;
    if end > 0 && !card[..end].ends_with(b"\n") && !card[..end].ends_with(b"\r") {
        return None;
    }
    let eol: &[u8] = if card.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else if card.contains(&b'\n') {
        b"\n"
    } else {
        b"\r"
    };
    let mut out = Vec::with_capacity(card.len() + uid.len() + 8);
    out.extend_from_slice(&card[..end]);
    out.extend_from_slice(b"UID:");
    out.extend_from_slice(uid.as_bytes());
    out.extend_from_slice(eol);
    out.extend_from_slice(&card[end..]);
    if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
        out.extend_from_slice(eol);
    }
    Some(out)
}

fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn has_uid(card: &ParsedCard) -> bool {
    vcard::property_text(&card.card, "UID").is_some()
}

impl Draft {
    /// The index in `base` of card `id`.
    fn index(&self, id: &str) -> Option<usize> {
        self.at.get(id).copied()
    }

    /// Card `id` as the writes so far left it: (revision, card).
    fn get(&self, id: &str) -> Option<(&str, &VCard)> {
        if let Some(i) = self.index(id) {
            return match &self.edits[i] {
                None => {
                    let c = &self.base.cards[i].1;
                    Some((c.revision.as_str(), &c.card))
                }
                Some(Edit::Card(w)) => Some((w.revision.as_str(), &w.card)),
                Some(Edit::Removed) => None,
            };
        }
        let w = &self.created[*self.created_at.get(id)?];
        Some((w.revision.as_str(), &w.card))
    }

    /// The index of card `id` in `base`, if the writes so far left it at
    /// revision `expected`.
    fn find(&self, id: &str, expected: &str) -> Result<usize, StoreError> {
        let missing = || StoreError::Missing { id: id.to_string() };
        let i = self.index(id).ok_or_else(missing)?;
        let (revision, _) = self.get(id).ok_or_else(missing)?;
        if revision != expected {
            return Err(StoreError::Changed { id: id.to_string() });
        }
        Ok(i)
    }

    fn is_empty(&self) -> bool {
        self.writes == 0
    }
}

impl ReadStore for VcardFileStore {
    fn name(&self) -> &str {
        &self.config.name
    }

    /// Its listing needs only the file system, and it reports no progress.
    fn concurrent(&self) -> Option<&(dyn ReadStore + Sync)> {
        Some(self)
    }

    /// Listing one file means reading it: the listing holds every card in
    /// full, each card's revision as its version.
    fn list(&self) -> Result<Versions, StoreError> {
        let mut records = Vec::new();
        let (_, _, _, unreadable) = self.each_card(|id, card| {
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
        let (_, _, _, unreadable) = self.each_card(|id, card| {
            if wanted.contains(id.as_str()) {
                records.push(cards::record(&self.config, id, card.revision, &card.card));
            }
        })?;
        Ok(Listing {
            records,
            unreadable,
        })
    }

    /// A card as the apply's writes so far left it.
    fn read(&self, id: &str) -> Result<Record, StoreError> {
        let id = self
            .renamed
            .iter()
            .find(|r| r.from == id)
            .map_or(id, |r| r.to.as_str());
        let missing = || StoreError::Missing { id: id.to_string() };
        if let Some(draft) = &self.draft {
            let (revision, card) = draft.get(id).ok_or_else(missing)?;
            return Ok(cards::record(
                &self.config,
                id.to_string(),
                revision.to_string(),
                card,
            ));
        }
        let parsed = self.parse()?;
        parsed
            .cards
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(id, card)| cards::record(&self.config, id, card.revision.clone(), &card.card))
            .ok_or_else(missing)
    }

    /// The card's text as the file holds it.
    fn record_text(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.stored(id).map(|(text, _)| Some(text))
    }

    fn card(&self, id: &str, expected: &str) -> Result<Option<vcard::VCard>, StoreError> {
        if let Some(card) = self.drafted(id) {
            return self.copy_of(id, expected, card);
        }
        let mut parsed = self.parse()?;
        let at = parsed.cards.iter().position(|(i, _)| i == id);
        let card = at.map(|at| parsed.cards.swap_remove(at).1);
        self.copy_of(id, expected, card.map(|c| (c.revision, c.card)))
    }

    /// The file is parsed once for the whole batch.
    fn cards(&self, wanted: &[(&str, &str)]) -> Vec<Result<Option<vcard::VCard>, StoreError>> {
        if self.draft.is_some() {
            return wanted.iter().map(|(id, rev)| self.card(id, rev)).collect();
        }
        let Ok(parsed) = self.parse() else {
            // Each says why on its own.
            return wanted.iter().map(|(id, rev)| self.card(id, rev)).collect();
        };
        let mut by_id: HashMap<String, ParsedCard> = parsed.cards.into_iter().collect();
        wanted
            .iter()
            .map(|(id, expected)| {
                let card = by_id.remove(*id).map(|c| (c.revision, c.card));
                self.copy_of(id, expected, card)
            })
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
        self.draft()?;
        let draft = self.draft.as_ref().expect("the draft was just made");
        let mut uid = patch
            .uid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if draft.index(&uid).is_some() || draft.get(&uid).is_some() {
            uid = uuid::Uuid::new_v4().to_string();
        }
        let w = self.created(uid.clone(), patch);
        let revision = w.revision.clone();
        let draft = self.draft()?;
        draft.created_at.insert(uid.clone(), draft.created.len());
        draft.created.push(w);
        draft.writes += 1;
        Ok((uid, revision))
    }

    fn update(&mut self, id: &str, expected: &str, patch: &Patch) -> Result<String, StoreError> {
        let draft = self.draft()?;
        let index = draft.find(id, expected)?;
        let (_, card) = draft.get(id).expect("found just now");
        let card = card.clone();
        let settled = draft.uids[index].clone();
        let w = self.updated(card, settled, patch);
        let revision = w.revision.clone();
        let draft = self.draft()?;
        draft.edits[index] = Some(Edit::Card(w));
        draft.writes += 1;
        Ok(revision)
    }

    fn preview(&self, id: Option<&str>, patch: &Patch) -> Result<Option<Previewed>, StoreError> {
        Ok(Some(match id {
            Some(id) => {
                let (_, card) = self.stored(id)?;
                Previewed {
                    text: self.updated(card, None, patch).text,
                    identity: None,
                }
            }
            None => {
                let uid = patch.uid.clone().unwrap_or_else(new_uid);
                Previewed {
                    text: self.created(uid.clone(), patch).text,
                    identity: Some(uid),
                }
            }
        }))
    }

    fn delete(&mut self, id: &str, expected: &str) -> Result<(), StoreError> {
        let draft = self.draft()?;
        let index = draft.find(id, expected)?;
        draft.edits[index] = Some(Edit::Removed);
        draft.writes += 1;
        Ok(())
    }

    fn id_may_change(&self, id: &str) -> bool {
        id.starts_with('#')
    }

    /// When one of `ids` is a card without a UID, every card without one
    /// gets its UID now (the file is written with this apply, so that no
    /// link depends on a card's place in the file from then on).
    fn settle_ids(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        files::probe_writable(self.folder())?;
        let draft = self.draft()?;
        let uid_less = |draft: &Draft, i: usize| !has_uid(&draft.base.cards[i].1);
        if !ids
            .iter()
            .any(|id| draft.index(id).is_some_and(|i| uid_less(draft, i)))
        {
            return Ok(Vec::new());
        }
        let mut settled = Vec::new();
        for i in 0..draft.base.cards.len() {
            if !uid_less(draft, i) || draft.uids[i].is_some() {
                continue;
            }
            let uid = new_uid();
            draft.at.insert(uid.clone(), i);
            draft.uids[i] = Some(uid.clone());
            settled.push((draft.base.cards[i].0.clone(), uid));
        }
        // The file is written even if no other write reaches it.
        draft.writes += 1;
        Ok(settled)
    }

    fn holds_writes(&self) -> bool {
        self.draft.as_ref().is_some_and(|d| !d.is_empty())
    }

    /// Read the file again, merge the draft into it, and replace it if it
    /// still holds what the merge read (else merge again).
    fn flush(&mut self) -> Result<Vec<Refused>, StoreError> {
        let Some(draft) = self.draft.take() else {
            return Ok(Vec::new());
        };
        if draft.is_empty() {
            return Ok(Vec::new());
        }
        files::another_writer_point(&self.file);
        for _ in 0..FLUSH_ATTEMPTS {
            let now = self.writable()?;
            let (bytes, renamed, refused) = self.merge(&draft, &now);
            let file = self.file.clone();
            // The file's exact bytes as merged (what undo puts back).
            let raw = now.raw.clone().unwrap_or_else(|| now.bytes.clone());
            let mut still = || {
                let raw = std::fs::read(&file).map_err(|e| StoreError::io(&file, e))?;
                Ok(hash_revision(&raw) == now.raw_hash)
            };
            let unit = self.unit_of("");
            if files::replace_if(&self.file, &unit, &bytes, raw, &mut still)? {
                files::count_write();
                self.renamed.extend(renamed);
                return Ok(refused);
            }
        }
        Err(StoreError::Busy {
            path: self.file.clone(),
            attempts: FLUSH_ATTEMPTS,
        })
    }

    /// A new apply: the renames of an earlier one are in its links already.
    fn begin(&mut self) -> Result<(), StoreError> {
        self.renamed.clear();
        self.draft = None;
        Ok(())
    }

    /// The writes held back are dropped.
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.draft = None;
        Ok(())
    }

    fn renamed(&self) -> Vec<Renamed> {
        self.renamed.clone()
    }
}

/// How often a flush merges again when another program keeps changing the
/// file between the merge's read and the replacement.
const FLUSH_ATTEMPTS: usize = 20;

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

    fn restore_unit_if(
        &mut self,
        unit: &str,
        saved: Option<&[u8]>,
        now: Option<&str>,
    ) -> Result<bool, StoreError> {
        match now {
            Some(now) => files::replace_unit_if(&self.file, saved.unwrap_or_default(), now),
            None => self.restore_unit(unit, saved).map(|()| true),
        }
    }

    fn restore_unit(&mut self, _unit: &str, saved: Option<&[u8]>) -> Result<(), StoreError> {
        // The file is the store: it is put back, never removed.
        match saved {
            Some(bytes) => write_atomic(&self.file, bytes, false),
            None => write_atomic(&self.file, b"", false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn store(dir: &std::path::Path) -> VcardFileStore {
        let text = "[left]\nkind = \"vcard\"\npath = \"book.vcf\"\nwrite_version = \"3.0\"\nstamp = \"X-CRM-CUSTOMER-NO\"\n[right]\nkind = \"vdir\"\npath = \"b\"\n";
        let config = Config::parse(text, &dir.join("c.toml")).unwrap();
        VcardFileStore::open(&config.left).unwrap()
    }

    fn without_rev(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with("REV:")).collect()
    }

    #[test]
    fn the_preview_is_what_the_write_puts_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let book = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:a\r\nFN:Anna Berg\r\nN:Berg;Anna;;;\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:Bernd\r\nEND:VCARD\r\n";
        std::fs::write(dir.path().join("book.vcf"), book).unwrap();
        let mut store = store(dir.path());
        let first = &book[..book.find("END:VCARD\r\n").unwrap() + 11];
        let update = Patch {
            fields: vec![("email".parse().unwrap(), Some("anna@example.com".into()))],
            stamp: Some("7".into()),
            ..Patch::default()
        };
        let create = Patch {
            fields: vec![("name.family".parse().unwrap(), Some("Neu".into()))],
            uid: Some("c".into()),
            ..Patch::default()
        };
        assert_eq!(store.record_text("a").unwrap().as_deref(), Some(first));
        let updated = store.preview(Some("a"), &update).unwrap().unwrap();
        let created = store.preview(None, &create).unwrap().unwrap();
        assert_eq!(created.identity.as_deref(), Some("c"));
        for line in ["VERSION:3.0", "X-CRM-CUSTOMER-NO:7", "UID:a"] {
            assert!(updated.text.lines().any(|l| l == line), "{}", updated.text);
        }
        assert!(updated.text.lines().any(|l| l.starts_with("REV:")));
        assert_eq!(store.record_text("a").unwrap().as_deref(), Some(first));

        store.begin().unwrap();
        let rev = store.read("a").unwrap().revision;
        store.update("a", &rev, &update).unwrap();
        store.create(&create).unwrap();
        assert!(store.flush().unwrap().is_empty());
        store.commit().unwrap();
        let now = store.record_text("a").unwrap().unwrap();
        assert_eq!(without_rev(&now), without_rev(&updated.text));
        let new = store.record_text("c").unwrap().unwrap();
        assert_eq!(without_rev(&new), without_rev(&created.text));
    }
}
