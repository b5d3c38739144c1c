//! The CardDAV conversation of one store: discovery of the address book,
//! listing (PROPFIND, sync-collection), multiget, conditional writes. Ids
//! are hrefs relative to the collection, percent-decoded; every id becomes
//! a path inside the collection again, or is refused.

use foldhash::{HashSet, HashSetExt};
use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::{Client, DavFailure, Reply, Request, Url};
use super::xml;
use crate::config::StoreConfig;
use crate::store::interface::StoreError;
use crate::store::secret::Password;

/// Every card's id and ETag (`None`: the server gave none).
pub type Items = BTreeMap<String, Option<String>>;

/// A card's text and the ETag it was read with.
pub type Got = (Vec<u8>, Option<String>);

/// A multiget's answer for one id: its text, or why it cannot be read.
pub type Fetched = (String, Result<Vec<u8>, String>);

/// How many cards one multiget asks for.
const MULTIGET_BATCH: usize = 250;

/// What the state keeps between listings: the sync token and every card's
/// ETag as of that token (`""`: the server gave none).
#[derive(Debug, Serialize, Deserialize)]
pub struct Memory {
    token: String,
    items: BTreeMap<String, String>,
}

impl Memory {
    pub fn parse(text: &str) -> Option<Memory> {
        serde_json::from_str(text).ok()
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub struct Dav {
    client: Client,
    /// The address book collection (its path ends in `/`).
    collection: Url,
    /// The store writes vCard 4.0, and reads it so (a server that
    /// converts cards would otherwise hand out 3.0, and an update would
    /// lose what 3.0 cannot hold).
    v4: bool,
}

/// What a sync-collection report told.
enum Sync {
    Changes {
        changed: BTreeMap<String, Option<String>>,
        removed: Vec<String>,
        token: String,
    },
    /// The token is no longer valid: list everything.
    TokenInvalid,
    /// The server does not offer it.
    Unsupported,
}

fn is_card_type(content_type: Option<&str>, id: &str) -> bool {
    match content_type {
        Some(ct) => {
            let base = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            matches!(
                base.as_str(),
                "text/vcard" | "text/x-vcard" | "text/directory"
            ) || (base.is_empty() && id.to_ascii_lowercase().ends_with(".vcf"))
        }
        None => id.to_ascii_lowercase().ends_with(".vcf"),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encode everything but the unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a decoded id names a resource directly inside the collection.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && !matches!(id, "." | "..")
        && !id.contains(['/', '\\'])
        && !id.chars().any(char::is_control)
}

impl Dav {
    /// Reach the server the config names and find its address book.
    /// `password`: as [`crate::store::secret::password`] fetched it.
    pub fn connect(
        config: &StoreConfig,
        password: Option<Password>,
        timeout: Duration,
    ) -> Result<Dav, StoreError> {
        let server = config.server.as_ref().ok_or_else(|| StoreError::Config {
            place: config.locate("url"),
            message: "a carddav store needs `url`".into(),
        })?;
        let url = Url::parse(&server.url).ok_or_else(|| StoreError::Config {
            place: config.locate("url"),
            message: format!("{:?} is not an http(s) URL without credentials", server.url),
        })?;
        if !url.is_https() && !url.is_loopback() && password.is_some() {
            return Err(StoreError::Config {
                place: config.locate("url"),
                message: format!(
                    "{url} is plain http: the password would travel unencrypted; use https (plain http is accepted on this machine only)"
                ),
            });
        }
        let ca = match &server.ca_file {
            Some(path) => Some(read_ca(config, path)?),
            None => None,
        };
        let client = Client::new(
            &url,
            server.username.as_deref(),
            // The one place the password is sent from.
            password.as_ref().map(|p| p.reveal()),
            ca,
            timeout,
        );
        let collection = discover(&client, config, &url)?;
        let v4 = config.write_version == crate::vcard::WriteVersion::V4;
        Ok(Dav {
            client,
            collection,
            v4,
        })
    }

    pub fn collection_text(&self) -> String {
        self.collection.to_string()
    }

    /// The path of card `id` inside the collection.
    pub fn path_of(&self, id: &str) -> Result<String, StoreError> {
        if !plain_id(id) {
            return Err(StoreError::BadId { id: id.to_string() });
        }
        Ok(format!("{}{}", self.collection.path, percent_encode(id)))
    }

    fn url_of(&self, id: &str) -> Result<Url, StoreError> {
        Ok(Url {
            origin: self.collection.origin.clone(),
            path: self.path_of(id)?,
        })
    }

    /// Card `id`'s URL as text, for messages.
    pub fn url_text(&self, id: &str) -> String {
        self.url_of(id)
            .map_or_else(|_| format!("{}{id}", self.collection), |u| u.to_string())
    }

    pub fn failure(&self, id: &str, failure: DavFailure) -> StoreError {
        StoreError::Dav {
            url: self.url_text(id),
            failure,
        }
    }

    /// The id an href names, if it is a resource directly inside the
    /// collection.
    fn id_of(&self, href: &str) -> Option<String> {
        let url = self.collection.join(href)?;
        if url.origin != self.collection.origin {
            return None;
        }
        let rest = url.path.strip_prefix(&self.collection.path)?;
        let id = percent_decode(rest)?;
        plain_id(&id).then_some(id)
    }

    fn send(&self, request: &Request<'_>) -> Result<Reply, StoreError> {
        self.client
            .send(request)
            .map_err(|(url, failure)| StoreError::Dav {
                url: url.to_string(),
                failure,
            })
    }

    /// A reply that must be a multistatus, read.
    fn multistatus(&self, reply: &Reply) -> Result<xml::Multistatus, StoreError> {
        if reply.status != 207 {
            return Err(status_error(reply));
        }
        xml::parse_multistatus(&reply.body).map_err(|e| StoreError::Dav {
            url: reply.url.to_string(),
            failure: DavFailure::BadReply(e),
        })
    }

    /// Whether the user may write cards into the collection, as far as
    /// the server says (`DAV:current-user-privilege-set`; a server that
    /// does not say is taken at its word when it is written).
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let request = Request::new("PROPFIND", &self.collection)
            .depth("0")
            .xml(xml::propfind_privileges());
        let reply = self.send(&request)?;
        if reply.status != 207 {
            return Ok(());
        }
        let status = self.multistatus(&reply)?;
        let granted = status.entries.first().and_then(|e| e.privileges.clone());
        match granted {
            Some(privileges)
                if !privileges
                    .iter()
                    .any(|p| matches!(p.as_str(), "all" | "write" | "write-content" | "bind")) =>
            {
                Err(StoreError::Dav {
                    url: self.collection.to_string(),
                    failure: DavFailure::ReadOnly,
                })
            }
            _ => Ok(()),
        }
    }

    /// Every card's id and ETag, by PROPFIND Depth 1.
    pub fn propfind_listing(&self) -> Result<Items, StoreError> {
        let request = Request::new("PROPFIND", &self.collection)
            .depth("1")
            .long()
            .xml(xml::propfind_items());
        let reply = self.send(&request)?;
        let status = self.multistatus(&reply)?;
        let mut items = BTreeMap::new();
        for e in status.entries {
            if e.collection || e.status.is_some_and(|s| s != 200) {
                continue;
            }
            let Some(id) = self.id_of(&e.href) else {
                continue;
            };
            if is_card_type(e.content_type.as_deref(), &id) {
                items.entry(id).or_insert(e.etag);
            }
        }
        Ok(items)
    }

    /// One sync-collection report, repeated while the server says it
    /// truncated its answer (507).
    fn sync_report(&self, token: Option<&str>) -> Result<Sync, StoreError> {
        let mut changed = BTreeMap::new();
        let mut removed = Vec::new();
        let mut token = token.map(str::to_string);
        // RFC 6578 asks for Depth 0 (Sabre refuses anything else); Google
        // wants Depth 1.
        let mut depth = "0";
        for _ in 0..1000 {
            let request = Request::new("REPORT", &self.collection)
                .depth(depth)
                .long()
                .xml(xml::sync_collection(token.as_deref()));
            let reply = self.send(&request)?;
            let token_refused = xml::names_precondition(&reply.body, "valid-sync-token");
            match reply.status {
                207 => {}
                400 | 403 if depth == "0" && !token_refused => {
                    depth = "1";
                    continue;
                }
                // The token is not good any more (or the server fails the
                // incremental report): list in full, which tells the truth
                // or fails in its own words.
                _ if token.is_some() => return Ok(Sync::TokenInvalid),
                // Not offered (or not for this collection).
                400 | 403 | 404 | 405 | 415 | 501 => return Ok(Sync::Unsupported),
                _ => return Err(status_error(&reply)),
            }
            let status = self.multistatus(&reply)?;
            let Some(new_token) = status.sync_token.filter(|t| !t.is_empty()) else {
                return Ok(Sync::Unsupported);
            };
            let mut truncated = false;
            for e in status.entries {
                let Some(id) = self.id_of(&e.href) else {
                    truncated |= e.status == Some(507);
                    continue;
                };
                if e.collection {
                    continue;
                }
                if e.status == Some(404) {
                    changed.remove(&id);
                    removed.push(id);
                } else if e.status.is_none_or(|s| s == 200)
                    && is_card_type(e.content_type.as_deref(), &id)
                {
                    removed.retain(|r| *r != id);
                    changed.insert(id, e.etag);
                }
            }
            token = Some(new_token);
            if !truncated {
                break;
            }
        }
        Ok(Sync::Changes {
            changed,
            removed,
            token: token.unwrap_or_default(),
        })
    }

    /// Every card's id and ETag: what changed since `earlier` laid over
    /// it where the server offers sync-collection, else a full listing;
    /// and what to keep for the next time.
    pub fn listing_since(
        &self,
        earlier: Option<Memory>,
    ) -> Result<(Items, Option<Memory>), StoreError> {
        let to_items = |m: &BTreeMap<String, String>| -> BTreeMap<String, Option<String>> {
            m.iter()
                .map(|(k, v)| (k.clone(), Some(v.clone()).filter(|v| !v.is_empty())))
                .collect()
        };
        let (base, sync) = match earlier {
            Some(memory) => match self.sync_report(Some(&memory.token))? {
                Sync::TokenInvalid | Sync::Unsupported => (None, self.sync_report(None)?),
                changes => (Some(memory.items), changes),
            },
            None => (None, self.sync_report(None)?),
        };
        let Sync::Changes {
            changed,
            removed,
            token,
        } = sync
        else {
            return Ok((self.propfind_listing()?, None));
        };
        let mut items = base.map(|b| to_items(&b)).unwrap_or_default();
        for id in removed {
            items.remove(&id);
        }
        items.extend(changed);
        let memory = Memory {
            token,
            items: items
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
                .collect(),
        };
        Ok((items, Some(memory)))
    }

    /// The cards `ids` by addressbook-multiget, in batches: each id's text,
    /// or why it cannot be read. An id the server says is gone is left out.
    pub fn multiget(&self, ids: &[&str]) -> Result<Vec<Fetched>, StoreError> {
        let mut out = Vec::new();
        for (n, batch) in ids.chunks(MULTIGET_BATCH).enumerate() {
            crate::store::progress::tell_read(n * MULTIGET_BATCH, ids.len());
            let mut paths = Vec::with_capacity(batch.len());
            for id in batch {
                paths.push(self.path_of(id)?);
            }
            let request = Request::new("REPORT", &self.collection)
                .depth("1")
                .long()
                .xml(xml::multiget(&paths, self.v4));
            let reply = self.send(&request)?;
            let status = self.multistatus(&reply)?;
            let wanted: HashSet<&str> = batch.iter().copied().collect();
            let mut answered: HashSet<String> = HashSet::new();
            for e in status.entries {
                // An href not asked for (or asked twice) is not this batch's.
                let Some(id) = self
                    .id_of(&e.href)
                    .filter(|id| wanted.contains(id.as_str()))
                else {
                    continue;
                };
                if !answered.insert(id.clone()) {
                    continue;
                }
                match (e.status, e.address_data) {
                    (Some(404), _) => {}
                    (None | Some(200), Some(data)) => out.push((id, Ok(data.into_bytes()))),
                    (_, _) => {
                        // No text in the answer: ask for the card itself.
                        answered.remove(&id);
                    }
                }
            }
            for id in batch.iter().filter(|id| !answered.contains(**id)) {
                match self.get(id) {
                    Ok(Some((bytes, _))) => out.push((id.to_string(), Ok(bytes))),
                    Ok(None) => {}
                    Err(StoreError::Dav {
                        failure: DavFailure::Status { status, detail },
                        ..
                    }) => out.push((
                        id.to_string(),
                        Err(format!("the server answered HTTP {status}: {detail}")),
                    )),
                    Err(e) => return Err(e),
                }
            }
        }
        crate::store::progress::tell_read(ids.len(), ids.len());
        Ok(out)
    }

    /// Card `id`'s bytes and ETag; `None`: it does not exist.
    pub fn get(&self, id: &str) -> Result<Option<Got>, StoreError> {
        let url = self.url_of(id)?;
        let accept = if self.v4 {
            "text/vcard; version=4.0"
        } else {
            "text/vcard"
        };
        let reply = self.send(&Request::new("GET", &url).header("Accept", accept))?;
        match reply.status {
            200 => Ok(Some((reply.body, reply.etag))),
            404 | 410 => Ok(None),
            _ => Err(status_error(&reply)),
        }
    }

    /// PUT card `id`: a create (`etag` `None`: only if it does not exist)
    /// or an update of the card as read with `etag`. The inner result is
    /// the record's: changed since read, or refused by the server.
    pub fn put(
        &self,
        id: &str,
        bytes: &[u8],
        etag: Option<&str>,
    ) -> Result<Result<(), StoreError>, StoreError> {
        let url = self.url_of(id)?;
        let mut request = Request::new("PUT", &url);
        request = match etag {
            Some(etag) => request.header("If-Match", etag),
            None => request.header("If-None-Match", "*"),
        };
        request.body = Some(("text/vcard; charset=utf-8", bytes.to_vec()));
        let reply = self.send(&request)?;
        Ok(self.write_outcome(id, &reply))
    }

    /// DELETE card `id` as read with `etag`.
    pub fn delete(&self, id: &str, etag: &str) -> Result<Result<(), StoreError>, StoreError> {
        let url = self.url_of(id)?;
        let reply = self.send(&Request::new("DELETE", &url).header("If-Match", etag))?;
        Ok(self.write_outcome(id, &reply))
    }

    /// PUT without condition (undo of a store without ETags).
    pub fn put_any(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let url = self.url_of(id)?;
        let mut request = Request::new("PUT", &url);
        request.body = Some(("text/vcard; charset=utf-8", bytes.to_vec()));
        let reply = self.send(&request)?;
        self.write_outcome(id, &reply)
    }

    pub fn delete_any(&self, id: &str) -> Result<(), StoreError> {
        let url = self.url_of(id)?;
        let reply = self.send(&Request::new("DELETE", &url))?;
        match self.write_outcome(id, &reply) {
            Err(StoreError::Missing { .. }) => Ok(()),
            other => other,
        }
    }

    fn write_outcome(&self, id: &str, reply: &Reply) -> Result<(), StoreError> {
        match reply.status {
            // Xandikos may answer with a multistatus: its statuses count.
            207 => {
                let status = self.multistatus(reply)?;
                match status
                    .entries
                    .iter()
                    .find_map(|e| e.status.filter(|s| *s >= 300))
                {
                    Some(412) => Err(StoreError::Changed { id: id.to_string() }),
                    Some(status) => Err(self.failure(
                        id,
                        DavFailure::Status {
                            status,
                            detail: reply.detail(),
                        },
                    )),
                    None => Ok(()),
                }
            }
            s if (200..300).contains(&s) => Ok(()),
            412 => Err(StoreError::Changed { id: id.to_string() }),
            404 | 410 => Err(StoreError::Missing { id: id.to_string() }),
            _ => Err(status_error(reply)),
        }
    }
}

#[cfg(test)]
impl Dav {
    /// A store's conversation with the collection at `collection`, without
    /// discovery or credentials (a scripted server in a unit test).
    pub(super) fn for_test(collection: Url) -> Dav {
        Dav {
            client: Client::new(&collection, None, None, None, Duration::from_secs(10)),
            collection,
            v4: false,
        }
    }
}

fn status_error(reply: &Reply) -> StoreError {
    let failure = match reply.status {
        401 => DavFailure::Auth(401),
        403 => DavFailure::Forbidden,
        status => DavFailure::Status {
            status,
            detail: reply.detail(),
        },
    };
    StoreError::Dav {
        url: reply.url.to_string(),
        failure,
    }
}

fn read_ca(
    config: &StoreConfig,
    path: &std::path::Path,
) -> Result<Vec<ureq::tls::Certificate<'static>>, StoreError> {
    let refuse = |message: String| StoreError::Config {
        place: config.locate("ca_file"),
        message,
    };
    let pem =
        std::fs::read(path).map_err(|e| refuse(format!("cannot read {}: {e}", path.display())))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(refuse(format!("{}: {e}", path.display()))),
        }
    }
    if certs.is_empty() {
        return Err(refuse(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The address book the configured `url` names: itself when it is one,
/// else the one the server's discovery finds (`.well-known/carddav`, the
/// principal, its address book home).
fn discover(client: &Client, config: &StoreConfig, url: &Url) -> Result<Url, StoreError> {
    let send = |request: &Request<'_>| {
        client
            .send(request)
            .map_err(|(url, failure)| StoreError::Dav {
                url: url.to_string(),
                failure,
            })
    };
    let propfind =
        |url: &Url, depth: &'static str| -> Result<(Url, xml::Multistatus), StoreError> {
            let reply = send(
                &Request::new("PROPFIND", url)
                    .depth(depth)
                    .xml(xml::propfind_collection()),
            )?;
            if reply.status != 207 {
                return Err(status_error(&reply));
            }
            let status = xml::parse_multistatus(&reply.body).map_err(|e| StoreError::Dav {
                url: reply.url.to_string(),
                failure: DavFailure::BadReply(e),
            })?;
            Ok((reply.url, status))
        };
    let (answered, status) = propfind(url, "0")?;
    let first = status.entries.first();
    if first.is_some_and(|e| e.addressbook) {
        return Ok(answered.as_collection());
    }
    let mut principal = first.and_then(|e| e.principal.clone());
    if principal.is_none() {
        let well_known = Url {
            origin: url.origin.clone(),
            path: "/.well-known/carddav".into(),
        };
        if let Ok((at, status)) = propfind(&well_known, "0") {
            principal = status
                .entries
                .first()
                .and_then(|e| e.principal.clone())
                .and_then(|p| at.join(&p).map(|u| u.path));
        }
    }
    let not_found = |why: &str| StoreError::Config {
        place: config.locate("url"),
        message: format!(
            "{url} is not an address book, and {why}; put the address book's URL into `url`"
        ),
    };
    let principal = principal
        .and_then(|p| answered.join(&p))
        .ok_or_else(|| not_found("the server names no principal for the user"))?;
    let (at, status) = propfind(&principal, "0")?;
    let homes: Vec<Url> = status
        .entries
        .first()
        .map(|e| e.home_set.iter().filter_map(|h| at.join(h)).collect())
        .unwrap_or_default();
    if homes.is_empty() {
        return Err(not_found("the server names no address book home"));
    }
    let mut books: Vec<Url> = Vec::new();
    for home in homes {
        let (at, status) = propfind(&home.as_collection(), "1")?;
        for e in status.entries.iter().filter(|e| e.addressbook) {
            if let Some(book) = at.join(&e.href).map(|u| u.as_collection())
                && !books.contains(&book)
            {
                books.push(book);
            }
        }
    }
    match books.len() {
        0 => Err(not_found("the server holds no address book for the user")),
        1 => Ok(books.remove(0)),
        _ => Err(StoreError::Config {
            place: config.locate("url"),
            message: format!(
                "{url} holds {} address books; put the one to sync into `url`: {}",
                books.len(),
                books
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::http::tests::{multistatus, one_shot, serve};
    use super::*;

    fn dav_at(collection: Url) -> Dav {
        Dav::for_test(collection)
    }

    #[test]
    fn a_book_without_a_write_privilege_is_refused_before_any_write() {
        let read_only = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/book/</d:href><d:propstat><d:prop><d:current-user-privilege-set><d:privilege><d:read/></d:privilege></d:current-user-privilege-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        let writable = read_only.replace(
            "<d:read/>",
            "<d:read/></d:privilege><d:privilege><d:write/>",
        );
        let silent = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/book/</d:href><d:propstat><d:prop><d:current-user-privilege-set/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response></d:multistatus>"#;
        let (port, _) = serve(vec![
            multistatus(read_only),
            multistatus(&writable),
            multistatus(silent),
        ]);
        let dav = dav_at(Url::parse(&format!("http://127.0.0.1:{port}/book/")).unwrap());
        let refused = dav.check_writable().unwrap_err();
        assert!(refused.to_string().contains("read-only"), "{refused}");
        dav.check_writable().unwrap();
        dav.check_writable().unwrap();
    }

    #[test]
    fn a_truncated_sync_report_is_asked_again_with_its_new_token() {
        let first = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/book/a.vcf</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response><d:response><d:href>/book/</d:href><d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response><d:sync-token>T1</d:sync-token></d:multistatus>"#;
        let second = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/book/b.vcf</d:href><d:propstat><d:prop><d:getetag>"2"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response><d:response><d:href>/book/old.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response><d:sync-token>T2</d:sync-token></d:multistatus>"#;
        let (port, requests) = serve(vec![multistatus(first), multistatus(second)]);
        let dav = dav_at(Url::parse(&format!("http://127.0.0.1:{port}/book/")).unwrap());
        let earlier = Memory {
            token: "T0".into(),
            items: [("old.vcf".to_string(), "\"0\"".to_string())].into(),
        };
        let (items, memory) = dav.listing_since(Some(earlier)).unwrap();
        let ids: Vec<&str> = items.keys().map(String::as_str).collect();
        assert_eq!(ids, ["a.vcf", "b.vcf"]);
        assert_eq!(memory.map(|m| m.token).as_deref(), Some("T2"));
        let requests = requests.join().unwrap();
        assert!(
            requests[0].contains("<d:sync-token>T0</d:sync-token>"),
            "{}",
            requests[0]
        );
        assert!(
            requests[1].contains("<d:sync-token>T1</d:sync-token>"),
            "{}",
            requests[1]
        );
        assert!(requests[0].contains("depth: 0"), "{}", requests[0]);
    }

    #[test]
    fn a_multiget_keeps_only_the_cards_asked_for_and_leaves_out_the_gone() {
        let body = r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">
<d:response><d:href>/book/a%40x.vcf</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag><c:address-data>BEGIN:VCARD
FN:A
END:VCARD
</c:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/book/gone.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
<d:response><d:href>/book/not-asked.vcf</d:href><d:propstat><d:prop><c:address-data>BEGIN:VCARD
END:VCARD
</c:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/elsewhere/a%40x.vcf</d:href><d:propstat><d:prop><c:address-data>X</c:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>"#;
        let (port, head) = one_shot(multistatus(body));
        let collection = Url::parse(&format!("http://127.0.0.1:{port}/book/")).unwrap();
        let dav = dav_at(collection);
        let got = dav.multiget(&["a@x.vcf", "gone.vcf"]).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "a@x.vcf");
        assert_eq!(
            got[0].1.as_deref().ok(),
            Some(&b"BEGIN:VCARD\nFN:A\nEND:VCARD\n"[..])
        );
        let head = head.join().unwrap();
        assert!(head.starts_with("report /book/ "), "{head}");
    }

    #[test]
    fn ids_are_decoded_and_encoded_back_inside_the_collection() {
        assert_eq!(
            percent_decode("a%40b%20c.vcf").as_deref(),
            Some("a@b c.vcf")
        );
        assert_eq!(percent_encode("a@b c.vcf"), "a%40b%20c.vcf");
        for id in ["..", ".", "", "a/b.vcf", "a\\b", "x\ny"] {
            assert!(!plain_id(id), "{id:?}");
        }
        assert!(plain_id("Hans Müller.vcf"));
        assert_eq!(percent_decode("%2e%2e").as_deref(), Some(".."));
        assert!(is_card_type(Some("text/vcard; charset=utf-8"), "x"));
        assert!(is_card_type(None, "x.VCF"));
        assert!(!is_card_type(Some("text/calendar"), "x.vcf"));
    }
}
