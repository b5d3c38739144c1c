//! Writing a card in the configured version.
//!
//! calcard relabels rather than converts: 2.1 parameters (`PREF`,
//! `INTERNET`, `TYPE=pref`) pass through into 3.0/4.0 output, a CR inside a
//! value is written as `\r`, and 4.0 photos come out as `data:…;base64\,`.
//! This module converts those before and after calcard writes.

use super::map::unify_newlines;
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty,
    VCardValue, VCardValueType,
};

/// The vCard version a store writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteVersion {
    V3,
    #[default]
    V4,
}

impl WriteVersion {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "3.0" => Some(WriteVersion::V3),
            "4.0" => Some(WriteVersion::V4),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WriteVersion::V3 => "3.0",
            WriteVersion::V4 => "4.0",
        }
    }
}

fn type_text(value: &str) -> VCardParameter {
    VCardParameter {
        name: VCardParameterName::Type,
        value: VCardParameterValue::Text(value.to_string()),
    }
}

fn pref_param(v4: bool) -> VCardParameter {
    if v4 {
        VCardParameter {
            name: VCardParameterName::Pref,
            value: VCardParameterValue::Integer(1),
        }
    } else {
        type_text("pref")
    }
}

/// Convert one entry's parameters and values for the target version.
/// `canonical`: for [`canonical_text`], which keeps a binary value's `TYPE`
/// (4.0 writes the media type into the data: URI instead), so that a 3.0
/// card written from the text gets its own `TYPE=JPEG` back.
fn convert_entry(entry: &VCardEntry, v4: bool, canonical: bool) -> VCardEntry {
    let mut params = Vec::with_capacity(entry.params.len());
    let mut preferred = false;
    let binary = entry
        .values
        .iter()
        .any(|v| matches!(v, VCardValue::Binary(_)));
    for p in &entry.params {
        match (&p.name, &p.value) {
            (VCardParameterName::Pref, VCardParameterValue::Null) => preferred = true,
            (VCardParameterName::Pref, VCardParameterValue::Integer(n)) if !v4 => {
                preferred |= *n == 1;
            }
            (VCardParameterName::Type, VCardParameterValue::Text(t))
                if t.eq_ignore_ascii_case("pref") =>
            {
                preferred = true;
            }
            // 4.0 has no media type in TYPE; the data: URI carries it.
            (VCardParameterName::Type, VCardParameterValue::Text(_))
                if v4 && binary && !canonical => {}
            (VCardParameterName::Other(name), _)
                if name.eq_ignore_ascii_case("ENCODING")
                    || name.eq_ignore_ascii_case("CHARSET")
                    || name.eq_ignore_ascii_case("QUOTED-PRINTABLE")
                    || name.eq_ignore_ascii_case("BASE64") => {}
            // A bare 2.1 parameter is a TYPE value (`INTERNET`, `DOM`, `PARCEL`).
            (VCardParameterName::Other(name), VCardParameterValue::Null)
                if !name.to_ascii_uppercase().starts_with("X-") =>
            {
                // `PHOTO;ENCODING=BASE64;JPEG` as 4.0: the data: URI says it.
                let media_type = v4 && binary && !canonical;
                let internet = v4 && name.eq_ignore_ascii_case("INTERNET");
                if !(media_type || internet) {
                    params.push(type_text(&name.to_ascii_uppercase()));
                }
            }
            // A double quote cannot stand inside a parameter value (calcard
            // would write `\"`, which ends the quoted value for the reader).
            (_, VCardParameterValue::Text(t))
                if t.contains(|c: char| c == '"' || c.is_control()) =>
            {
                let clean: String = t
                    .chars()
                    .filter(|c| !c.is_control())
                    .map(|c| if c == '"' { '\'' } else { c })
                    .collect();
                params.push(VCardParameter {
                    name: p.name.clone(),
                    value: VCardParameterValue::Text(clean),
                });
            }
            _ => params.push(p.clone()),
        }
    }
    if preferred {
        params.push(pref_param(v4));
    }
    let is_date = matches!(
        entry.name,
        VCardProperty::Bday | VCardProperty::Anniversary | VCardProperty::Deathdate
    );
    let odd_date = |v: &VCardValue| match v {
        VCardValue::Text(_) => true,
        VCardValue::PartialDateTime(d) => {
            d.year.is_some_and(|y| y > 9999)
                || (d.year.is_some() && d.month.is_some() != d.day.is_some())
        }
        _ => false,
    };
    let date_as_text = is_date && entry.values.first().is_some_and(odd_date);
    if date_as_text {
        // A date that is not a whole date (`BDAY:sometime`, a parse of
        // garbage) stays text, or the next reader makes another date of it.
        params.retain(|p| p.name != VCardParameterName::Value);
        params.push(VCardParameter {
            name: VCardParameterName::Value,
            value: VCardParameterValue::ValueType(VCardValueType::Text),
        });
    }
    let values = entry
        .values
        .iter()
        .map(|v| match v {
            // calcard writes a 3.0 date without a year as `--MM-DD`, which
            // it cannot read back; `--MMDD` is what 3.0 readers know.
            VCardValue::PartialDateTime(d)
                if !v4 && is_date && d.year.is_none() && d.hour.is_none() =>
            {
                match (d.month, d.day) {
                    (Some(m), Some(day)) => VCardValue::Text(format!("--{m:02}{day:02}")),
                    _ => v.clone(),
                }
            }
            VCardValue::PartialDateTime(d) if date_as_text => {
                VCardValue::Text(crate::vcard::map::date_text(d, false))
            }
            VCardValue::Text(t) => VCardValue::Text(unify_newlines(t)),
            VCardValue::Component(items) => {
                VCardValue::Component(items.iter().map(|t| unify_newlines(t)).collect())
            }
            other => other.clone(),
        })
        .collect();
    // Keep TYPE values together so calcard writes one `TYPE=a,b` list.
    params.sort_by_key(|p| p.name != VCardParameterName::Type);
    VCardEntry {
        group: entry.group.clone(),
        name: entry.name.clone(),
        params,
        values,
    }
}

/// Write one entry (converted for the version) as a folded content line.
fn write_entry(entry: &VCardEntry, v4: bool, canonical: bool, out: &mut String) {
    let converted = convert_entry(entry, v4, canonical);
    let mut line = String::new();
    // Writing into a String cannot fail.
    let _ = converted.write_to(&mut line, v4);
    if v4
        && converted
            .values
            .iter()
            .any(|v| matches!(v, VCardValue::Binary(_)))
    {
        // A data: URI is a URI, not text: its comma is not escaped.
        line = line.replacen("base64\\,", "base64,", 1);
    }
    out.push_str(&line);
}

/// Write a card as vCard 3.0 or 4.0, CRLF line ends, folded at 75 octets.
pub fn write_card(card: &VCard, version: WriteVersion) -> String {
    let v4 = version == WriteVersion::V4;
    let mut out = String::with_capacity(512);
    out.push_str("BEGIN:VCARD\r\nVERSION:");
    out.push_str(version.as_str());
    out.push_str("\r\n");
    for entry in &card.entries {
        if matches!(
            entry.name,
            VCardProperty::Begin | VCardProperty::End | VCardProperty::Version
        ) {
            continue;
        }
        write_entry(entry, v4, false, &mut out);
    }
    out.push_str("END:VCARD\r\n");
    out
}

/// Entries as one text, the same whichever version they were read from:
/// each a 4.0 content line (unfolded), one a line.
pub fn canonical_text<'e>(entries: impl IntoIterator<Item = &'e VCardEntry>) -> String {
    let mut out = String::new();
    for entry in entries {
        let mut line = String::new();
        write_entry(entry, true, true, &mut line);
        let line = line.replace("\r\n ", "").replace("\r\n\t", "");
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line.trim_end_matches(['\r', '\n']));
    }
    out
}
