//! The XML of WebDAV/CardDAV: request bodies, and multistatus answers read
//! namespace-aware (roxmltree), whatever prefixes the server uses.

const DAV: &str = "DAV:";
const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";

/// Escape text for an XML body (an href, a sync token).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

pub fn propfind_collection() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:prop><d:resourcetype/><d:displayname/><d:current-user-principal/><c:addressbook-home-set/></d:prop></d:propfind>"#
    )
}

pub fn propfind_privileges() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#
    )
}

pub fn propfind_items() -> String {
    format!(
        r#"{HEAD}<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/><d:getcontenttype/></d:prop></d:propfind>"#
    )
}

pub fn sync_collection(token: Option<&str>) -> String {
    let token = match token {
        Some(t) => format!("<d:sync-token>{}</d:sync-token>", escape(t)),
        None => "<d:sync-token/>".to_string(),
    };
    format!(
        r#"{HEAD}<d:sync-collection xmlns:d="DAV:">{token}<d:sync-level>1</d:sync-level><d:prop><d:getetag/><d:getcontenttype/><d:resourcetype/></d:prop></d:sync-collection>"#
    )
}

/// `v4`: ask for the cards as vCard 4.0 (a server that converts, Sabre,
/// would hand out 3.0 otherwise).
pub fn multiget(paths: &[String], v4: bool) -> String {
    let data = if v4 {
        r#"<c:address-data content-type="text/vcard" version="4.0"/>"#
    } else {
        "<c:address-data/>"
    };
    let hrefs: String = paths
        .iter()
        .map(|p| format!("<d:href>{}</d:href>", escape(p)))
        .collect();
    format!(
        r#"{HEAD}<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="{CARDDAV}"><d:prop><d:getetag/>{data}</d:prop>{hrefs}</c:addressbook-multiget>"#
    )
}

/// One `response` of a multistatus, with what its `200` propstats hold.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    pub href: String,
    /// The response's own status (a deleted item in a sync report: 404).
    pub status: Option<u16>,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub collection: bool,
    pub addressbook: bool,
    pub displayname: Option<String>,
    pub address_data: Option<String>,
    pub principal: Option<String>,
    /// The privileges the user holds on it (`write`, `all`, …), where the
    /// server tells them.
    pub privileges: Option<Vec<String>>,
    pub home_set: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Multistatus {
    pub entries: Vec<Entry>,
    pub sync_token: Option<String>,
}

/// A `HTTP/1.1 404 Not Found` status line's code.
fn status_code(text: &str) -> Option<u16> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Read a multistatus body. Control characters other than white space,
/// which some servers let into card text, are dropped first (XML forbids them).
pub fn parse_multistatus(body: &[u8]) -> Result<Multistatus, String> {
    let text = String::from_utf8_lossy(body);
    let text: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let doc = roxmltree::Document::parse(&text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if !is(root, DAV, "multistatus") {
        return Err(format!(
            "expected a DAV multistatus, got <{}>",
            root.tag_name().name()
        ));
    }
    let mut out = Multistatus::default();
    for child in root.children().filter(|n| n.is_element()) {
        if is(child, DAV, "sync-token") {
            out.sync_token = Some(child.text().unwrap_or("").trim().to_string());
        } else if is(child, DAV, "response") {
            out.entries.push(entry(child));
        }
    }
    Ok(out)
}

fn is(node: roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn child<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| is(*n, ns, name))
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn entry(response: roxmltree::Node<'_, '_>) -> Entry {
    let mut e = Entry::default();
    for part in response.children().filter(|n| n.is_element()) {
        if is(part, DAV, "href") && e.href.is_empty() {
            e.href = text_of(part).trim().to_string();
        } else if is(part, DAV, "status") {
            e.status = status_code(&text_of(part));
        } else if is(part, DAV, "propstat") {
            let ok =
                child(part, DAV, "status").is_none_or(|s| status_code(&text_of(s)) == Some(200));
            let Some(prop) = child(part, DAV, "prop").filter(|_| ok) else {
                continue;
            };
            for p in prop.children().filter(|n| n.is_element()) {
                let hrefs = || {
                    p.children()
                        .filter(|n| is(*n, DAV, "href"))
                        .map(|n| text_of(n).trim().to_string())
                        .collect::<Vec<_>>()
                };
                if is(p, DAV, "getetag") {
                    e.etag = Some(text_of(p).trim().to_string()).filter(|t| !t.is_empty());
                } else if is(p, DAV, "getcontenttype") {
                    e.content_type = Some(text_of(p).trim().to_string());
                } else if is(p, DAV, "resourcetype") {
                    e.collection = child(p, DAV, "collection").is_some();
                    e.addressbook = child(p, CARDDAV, "addressbook").is_some();
                } else if is(p, DAV, "displayname") {
                    e.displayname = Some(text_of(p).trim().to_string()).filter(|t| !t.is_empty());
                } else if is(p, CARDDAV, "address-data") {
                    e.address_data = Some(text_of(p));
                } else if is(p, DAV, "current-user-privilege-set") {
                    e.privileges = Some(
                        p.children()
                            .filter(|n| is(*n, DAV, "privilege"))
                            .flat_map(|n| n.children().filter(|c| c.is_element()))
                            .map(|c| c.tag_name().name().to_string())
                            .collect(),
                    );
                } else if is(p, DAV, "current-user-principal") {
                    e.principal = hrefs().into_iter().next();
                } else if is(p, CARDDAV, "addressbook-home-set") {
                    e.home_set = hrefs();
                }
            }
        }
    }
    e
}

/// Whether an error body names the precondition `name` (`valid-sync-token`).
pub fn names_precondition(body: &[u8], name: &str) -> bool {
    let text = String::from_utf8_lossy(body);
    roxmltree::Document::parse(&text).is_ok_and(|doc| {
        doc.descendants()
            .any(|n| n.is_element() && n.tag_name().name() == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multistatus_is_read_whatever_the_prefixes() {
        let body = br#"<?xml version="1.0"?>
<x:multistatus xmlns:x="DAV:" xmlns:k="urn:ietf:params:xml:ns:carddav">
 <x:sync-token>tok&amp;1</x:sync-token>
 <x:response><x:href>/a/b/</x:href><x:propstat><x:prop>
   <x:resourcetype><x:collection/><k:addressbook/></x:resourcetype></x:prop>
   <x:status>HTTP/1.1 200 OK</x:status></x:propstat></x:response>
 <x:response><x:href>/a/b/c%20d.vcf</x:href><x:propstat><x:prop>
   <x:getetag>"e1"</x:getetag><k:address-data>BEGIN:VCARD&#13;
END:VCARD</k:address-data></x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat>
   <x:propstat><x:prop><x:getcontenttype/></x:prop><x:status>HTTP/1.1 404 Not Found</x:status></x:propstat></x:response>
 <x:response><x:href>/a/b/gone.vcf</x:href><x:status>HTTP/1.1 404 Not Found</x:status></x:response>
</x:multistatus>"#;
        let m = parse_multistatus(body).unwrap();
        assert_eq!(m.sync_token.as_deref(), Some("tok&1"));
        assert!(m.entries[0].addressbook && m.entries[0].collection);
        assert_eq!(m.entries[1].etag.as_deref(), Some("\"e1\""));
        assert_eq!(m.entries[1].content_type, None);
        assert_eq!(
            m.entries[1].address_data.as_deref(),
            Some("BEGIN:VCARD\r\nEND:VCARD")
        );
        assert_eq!(m.entries[2].status, Some(404));
    }

    #[test]
    fn hrefs_are_escaped_in_bodies() {
        let body = multiget(&["/a/<x>&y.vcf".to_string()], false);
        assert!(body.contains("<d:href>/a/&lt;x&gt;&amp;y.vcf</d:href>"));
        assert!(parse_multistatus(b"<html/>").is_err());
        // A store writing 4.0 reads 4.0 (Sabre converts to 3.0 otherwise).
        assert!(multiget(&[], true).contains(r#"version="4.0""#));
        assert!(!multiget(&[], false).contains(r#"version="4.0""#));
    }
}
