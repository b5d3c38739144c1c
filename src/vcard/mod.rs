//! The vCard codec shared by the `vdir` and `vcard` stores.
//!
//! Reading: bytes are cleaned up in [`decode`] (encodings, folding, 2.1
//! QUOTED-PRINTABLE) and parsed by `calcard`. Writing: `calcard` writes the
//! card after [`encode`] has converted what calcard only relabels.

pub mod decode;
pub mod encode;
pub mod map;
pub mod props;

use calcard::{Entry, Parser};

pub use calcard::vcard::VCard;

pub use decode::CardError;
pub use encode::{WriteVersion, write_card};
pub use props::{set_field, to_contact};

/// One card read from a file, with the line its `BEGIN:VCARD` is on.
#[derive(Debug, Clone)]
pub struct ParsedCard {
    pub line: usize,
    pub card: VCard,
    /// Hash of the card's cleaned text: changes when the card changes.
    pub revision: String,
    /// Where the card is in the file (see [`decode::RawCard::span`]).
    pub span: std::ops::Range<usize>,
}

/// Read every card of a file. Never panics: a card that cannot be read is
/// an error naming its line; the other cards are still returned.
pub fn read_cards(bytes: &[u8]) -> Vec<Result<ParsedCard, CardError>> {
    cards(bytes).collect()
}

/// Like [`read_cards`], but parses each card only when it is asked for, so
/// a caller that keeps only the canonical contact never holds every parsed
/// card of a large file at once.
pub fn cards(bytes: &[u8]) -> impl Iterator<Item = Result<ParsedCard, CardError>> {
    decode::split_cards(bytes).into_iter().map(|raw| {
        let raw = raw?;
        parse_one(&raw.text)
            .map(|card| ParsedCard {
                line: raw.line,
                card,
                revision: crate::model::record::hash_revision(raw.text.as_bytes()),
                span: raw.span.clone(),
            })
            .map_err(|message| CardError {
                line: raw.line,
                message,
            })
    })
}

fn parse_one(text: &str) -> Result<VCard, String> {
    // calcard is a third-party parser fed arbitrary input: a panic in it must
    // become this card's error, not end the program.
    let parsed = std::panic::catch_unwind(|| Parser::new(text).entry());
    match parsed {
        Ok(Entry::VCard(card)) => Ok(card),
        Ok(Entry::InvalidLine(line)) => Err(format!("unreadable line {line:?}")),
        Ok(Entry::UnterminatedComponent(what)) => Err(format!("unterminated {what}")),
        Ok(other) => Err(format!("not a vCard ({other:?})")),
        Err(_) => Err("the vCard parser failed on this card".to_string()),
    }
}

/// The value of the first property `name` (e.g. `UID`, `X-CRM-CUSTOMER-NO`).
pub fn property_text(card: &VCard, name: &str) -> Option<String> {
    card.entries
        .iter()
        .find(|e| e.name.as_str().eq_ignore_ascii_case(name))
        .and_then(|e| e.values.first())
        .map(|v| match v {
            calcard::vcard::VCardValue::Text(t) => t.clone(),
            calcard::vcard::VCardValue::Component(c) => c.join(","),
            _ => String::new(),
        })
        .filter(|t| !t.trim().is_empty())
}

/// The first property `name` as a point in time (UTC), whether the card
/// has it as a date-time value (`REV:20261028T142205Z`) or as text.
pub fn property_time(card: &VCard, name: &str) -> Option<chrono::NaiveDateTime> {
    use calcard::vcard::VCardValue;
    let entry = card
        .entries
        .iter()
        .find(|e| e.name.as_str().eq_ignore_ascii_case(name))?;
    match entry.values.first()? {
        VCardValue::Text(t) => crate::model::normal::timestamp(t),
        VCardValue::PartialDateTime(d) => {
            let date = chrono::NaiveDate::from_ymd_opt(
                i32::from(d.year?),
                u32::from(d.month?),
                u32::from(d.day?),
            )?;
            let local = date.and_hms_opt(
                u32::from(d.hour.unwrap_or(0)),
                u32::from(d.minute.unwrap_or(0)),
                u32::from(d.second.unwrap_or(0)),
            )?;
            let offset =
                i64::from(d.tz_hour.unwrap_or(0)) * 3600 + i64::from(d.tz_minute.unwrap_or(0)) * 60;
            let offset = if d.tz_minus { -offset } else { offset };
            Some(local - chrono::Duration::seconds(offset))
        }
        _ => None,
    }
}

/// Set (or with `None`, remove) every property `name` to one text value.
pub fn set_property_text(card: &mut VCard, name: &str, value: Option<&str>) {
    use calcard::vcard::{VCardEntry, VCardProperty, VCardValue};
    let position = card
        .entries
        .iter()
        .position(|e| e.name.as_str().eq_ignore_ascii_case(name));
    card.entries
        .retain(|e| !e.name.as_str().eq_ignore_ascii_case(name));
    if let Some(value) = value {
        let entry = VCardEntry {
            group: None,
            name: if name.eq_ignore_ascii_case("UID") {
                VCardProperty::Uid
            } else {
                VCardProperty::Other(name.to_ascii_uppercase())
            },
            params: Vec::new(),
            values: vec![VCardValue::Text(value.to_string())],
        };
        let at = position
            .unwrap_or(card.entries.len())
            .min(card.entries.len());
        card.entries.insert(at, entry);
    }
}
