//! The properties no canonical field reads (`PHOTO`, `IMPP`, `RELATED`,
//! `X-ABLabel`, `X-EVOLUTION-*`, any `X-`), as the whole card carries them
//! between two card stores: per property name one text, every entry of that
//! name (group, parameters, values) as a content line in 4.0 form. The text
//! is the same whichever version the card was read from, so two stores
//! writing different versions agree on it.

use calcard::common::Data;
use calcard::vcard::{VCard, VCardEntry, VCardValue};
use calcard::{Entry, Parser};

use super::encode::canonical_text;
#[cfg(test)]
use super::encode::{WriteVersion, write_card};
use super::map;
use crate::model::contact::{Contact, FieldPath, PropName};

/// Properties a canonical field reads, and those every write sets anew
/// (the frame, the version, who wrote it, when, and the UID a card's
/// identity rests on): none of them is carried as a property text.
const NOT_CARRIED: [&str; 18] = [
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

/// Whether property `name` (any case) is carried as a property text.
pub fn carried(name: &str) -> bool {
    !NOT_CARRIED.iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn prop_of(entry: &VCardEntry) -> Option<PropName> {
    let name = entry.name.as_str();
    if carried(name) {
        PropName::new(name)
    } else {
        None
    }
}

/// Every carried property of a card, by name.
pub fn props(card: &VCard) -> std::collections::BTreeMap<PropName, String> {
    let mut by_name: std::collections::BTreeMap<PropName, Vec<&VCardEntry>> = Default::default();
    for entry in &card.entries {
        if let Some(name) = prop_of(entry) {
            by_name.entry(name).or_default().push(entry);
        }
    }
    by_name
        .into_iter()
        .map(|(name, entries)| (name, canonical_text(entries)))
        .filter(|(_, text)| !text.is_empty())
        .collect()
}

/// The canonical contact of a card, with its carried properties.
pub fn to_contact(card: &VCard) -> Contact {
    let mut contact = map::extract(card).0;
    contact.props = props(card);
    contact
}

/// The entries a property text holds that are property `name` (anything
/// else in it is ignored: a saved plan is a file a hand may have edited).
fn parse_text(name: PropName, text: &str) -> Vec<VCardEntry> {
    let mut card_text = String::with_capacity(text.len() + 48);
    card_text.push_str("BEGIN:VCARD\r\nVERSION:4.0\r\n");
    for line in text.lines() {
        card_text.push_str(line);
        card_text.push_str("\r\n");
    }
    card_text.push_str("END:VCARD\r\n");
    // The text is this module's own (clean, unfolded 4.0 lines), but a
    // saved plan may bring another: a panic in the parser drops it.
    let parsed = std::panic::catch_unwind(|| Parser::new(&card_text).entry());
    match parsed {
        Ok(Entry::VCard(card)) => card
            .entries
            .into_iter()
            .filter(|e| e.name.as_str().eq_ignore_ascii_case(name.as_str()))
            .map(binary_again)
            .collect(),
        _ => Vec::new(),
    }
}

/// An unknown property's binary value (`X-MS-CARDPICTURE`) is read back
/// from its data: URI as text; it was binary, and is written so again.
fn binary_again(mut entry: VCardEntry) -> VCardEntry {
    for value in &mut entry.values {
        if let VCardValue::Text(text) = value
            && text
                .get(..5)
                .is_some_and(|t| t.eq_ignore_ascii_case("data:"))
            && let Some(data) = Data::try_parse(text.as_bytes())
        {
            *value = VCardValue::Binary(data);
        }
    }
    entry
}

/// Replace every property `name` of the card by those of `text` (`None` or
/// empty: remove them), where the first of them stood.
pub fn set_prop(card: &mut VCard, name: PropName, text: Option<&str>) {
    let is_it = |e: &VCardEntry| e.name.as_str().eq_ignore_ascii_case(name.as_str());
    let at = card.entries.iter().position(is_it);
    card.entries.retain(|e| !is_it(e));
    let new = text.map(|t| parse_text(name, t)).unwrap_or_default();
    let at = at
        .unwrap_or_else(|| {
            // Before END:VCARD when the card holds one.
            card.entries
                .iter()
                .position(|e| e.name.as_str().eq_ignore_ascii_case("END"))
                .unwrap_or(card.entries.len())
        })
        .min(card.entries.len());
    card.entries.splice(at..at, new);
}

/// Write one field into the card: a canonical field as [`map::set_field`]
/// does, a carried property's text as [`set_prop`].
pub fn set_field(card: &mut VCard, path: &FieldPath, value: Option<&str>) {
    match path {
        FieldPath::Prop(name) => set_prop(card, *name, value),
        _ => map::set_field(card, path, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> VCard {
        match Parser::new(text).entry() {
            Entry::VCard(card) => card,
            other => panic!("not a card: {other:?}"),
        }
    }

    #[test]
    fn unmapped_properties_read_the_same_from_3_0_and_4_0() {
        let v3 = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nitem1.URL:http://a.example\r\n\
             item1.X-ABLabel:_$!<HomePage>!$_\r\nROLE:Chef\r\nIMPP;TYPE=pref:xmpp:a@example.org\r\nEND:VCARD\r\n",
        );
        let v4 = card(&write_card(&v3, WriteVersion::V4));
        let (a, b) = (props(&v3), props(&v4));
        assert_eq!(a, b);
        let label = PropName::new("x-ablabel").unwrap();
        assert_eq!(a[&label], "item1.X-ABLabel:_$!<HomePage>!$_");
        assert!(!a.contains_key(&PropName::new("URL").unwrap()));
    }

    #[test]
    fn a_property_text_replaces_every_entry_of_its_name_in_place() {
        let mut c = card(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nROLE:Alt\r\nNOTE:n\r\nROLE:Zweit\r\nEND:VCARD\r\n",
        );
        let role = PropName::new("ROLE").unwrap();
        set_prop(&mut c, role, Some("ROLE:Neu"));
        let names: Vec<&str> = c.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["VERSION", "FN", "ROLE", "NOTE"]);
        assert_eq!(props(&c)[&role], "ROLE:Neu");
        set_prop(&mut c, role, None);
        assert!(props(&c).is_empty());
    }
}
