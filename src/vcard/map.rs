//! Card properties <-> canonical fields.
//!
//! Reading builds a [`Contact`] and remembers which card entry each value
//! came from ([`Slots`]); writing a field changes exactly that entry (its
//! parameters and group stay), adds one, or removes it. Every other
//! property of the card is left alone.

use calcard::common::{IanaString, PartialDateTime};
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty,
    VCardType, VCardValue,
};

use crate::model::contact::{Address, AdrPart, Contact, FieldPath, Kind, Typed};
use crate::model::normal::iso_date;

/// Where each canonical value lives in the card (entry indexes).
#[derive(Debug, Default)]
pub struct Slots {
    n: Option<usize>,
    full: Option<usize>,
    nickname: Option<usize>,
    org: Option<usize>,
    title: Option<usize>,
    emails: Vec<usize>,
    phones: Vec<usize>,
    addresses: Vec<usize>,
    urls: Vec<usize>,
    bday: Option<usize>,
    note: Option<usize>,
    categories: Vec<usize>,
}

fn value_text(value: &VCardValue) -> String {
    match value {
        VCardValue::Text(t) => unify_newlines(t),
        VCardValue::Component(items) => unify_newlines(&items.join(",")),
        VCardValue::Integer(i) => i.to_string(),
        VCardValue::Float(f) => f.to_string(),
        VCardValue::Boolean(b) => b.to_string(),
        VCardValue::PartialDateTime(d) => date_text(d, false),
        VCardValue::Binary(_) => String::new(),
        VCardValue::Sex(s) => s.as_str().to_string(),
        VCardValue::GramGender(g) => g.as_str().to_string(),
        VCardValue::Kind(k) => k.as_str().to_string(),
    }
}

/// Line ends inside values are `\n` in the canonical contact, whatever the
/// file used (2.1 QUOTED-PRINTABLE carries `=0D=0A`).
pub(crate) fn unify_newlines(text: &str) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    }
}

/// A whole date (`1980-01-20`, `19800120`, `--01-20`) as a vCard date.
fn date_value(text: &str) -> Option<PartialDateTime> {
    let iso = iso_date(text)?;
    let number = |s: &str| s.parse::<u8>().ok();
    match iso.strip_prefix("--") {
        Some(md) => Some(PartialDateTime {
            month: number(md.get(0..2)?),
            day: number(md.get(3..5)?),
            ..Default::default()
        }),
        None => Some(PartialDateTime {
            year: iso.get(0..4)?.parse().ok(),
            month: number(iso.get(5..7)?),
            day: number(iso.get(8..10)?),
            ..Default::default()
        }),
    }
}

pub(crate) fn date_text(d: &PartialDateTime, omit_year: bool) -> String {
    match (d.year, d.month, d.day) {
        (Some(y), Some(m), Some(day)) if !omit_year => format!("{y:04}-{m:02}-{day:02}"),
        (Some(y), None, None) if y > 9999 => String::new(),
        (_, Some(m), Some(day)) => format!("--{m:02}-{day:02}"),
        (Some(y), Some(m), None) => format!("{y:04}-{m:02}"),
        (Some(y), None, None) => format!("{y:04}"),
        _ => String::new(),
    }
}

fn entry_text(entry: &VCardEntry) -> String {
    entry.values.first().map(value_text).unwrap_or_default()
}

fn component(entry: &VCardEntry, i: usize) -> String {
    entry.values.get(i).map(value_text).unwrap_or_default()
}

/// The TYPE values of an entry, lower-case.
fn types(entry: &VCardEntry) -> impl Iterator<Item = String> + '_ {
    entry
        .params
        .iter()
        .filter_map(|p| match (&p.name, &p.value) {
            (VCardParameterName::Type, VCardParameterValue::Type(t)) => {
                Some(t.as_str().to_ascii_lowercase())
            }
            (VCardParameterName::Type, VCardParameterValue::Text(t)) => {
                Some(t.to_ascii_lowercase())
            }
            // 2.1 bare parameters calcard does not know (`INTERNET`, `X-…`).
            (VCardParameterName::Other(name), VCardParameterValue::Null) => {
                Some(name.to_ascii_lowercase())
            }
            _ => None,
        })
}

/// Preference rank: 1 is most preferred; `None` for no preference.
fn pref(entry: &VCardEntry) -> Option<u32> {
    let mut best = None;
    for p in &entry.params {
        let rank = match (&p.name, &p.value) {
            (VCardParameterName::Pref, VCardParameterValue::Integer(n)) => Some(*n),
            (VCardParameterName::Pref, VCardParameterValue::Text(t)) => t.trim().parse().ok(),
            (VCardParameterName::Pref, VCardParameterValue::Null) => Some(1),
            _ => None,
        };
        if let Some(r) = rank {
            best = Some(best.map_or(r, |b: u32| b.min(r)));
        }
    }
    if best.is_none() && types(entry).any(|t| t == "pref") {
        best = Some(1);
    }
    best
}

fn email_kind(entry: &VCardEntry) -> Kind {
    let mut kind = Kind::Other;
    for t in types(entry) {
        match t.as_str() {
            "work" => kind = Kind::Work,
            "home" if kind != Kind::Work => kind = Kind::Home,
            _ => {}
        }
    }
    kind
}

fn phone_kind(entry: &VCardEntry) -> Kind {
    let types: Vec<String> = types(entry).collect();
    let has = |t: &str| types.iter().any(|x| x == t);
    // A work fax is a fax; a home mobile is a mobile.
    if has("cell") {
        Kind::Cell
    } else if has("fax") {
        Kind::Fax
    } else if has("pager") {
        Kind::Pager
    } else if has("work") {
        Kind::Work
    } else if has("home") {
        Kind::Home
    } else {
        Kind::Other
    }
}

/// Entries with property `prop`, most preferred first, then in card order.
fn ordered(card: &VCard, prop: &VCardProperty) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..card.entries.len())
        .filter(|i| card.entries[*i].name == *prop)
        .collect();
    idx.sort_by_key(|i| pref(&card.entries[*i]).unwrap_or(u32::MAX));
    idx
}

fn first(card: &VCard, prop: &VCardProperty) -> Option<usize> {
    card.entries.iter().position(|e| e.name == *prop)
}

fn omit_year(entry: &VCardEntry) -> bool {
    entry.params.iter().any(|p| {
        matches!(&p.name, VCardParameterName::Other(n) if n.eq_ignore_ascii_case("X-APPLE-OMIT-YEAR"))
    })
}

/// Read the canonical contact from a card, with the slot of every value.
pub fn extract(card: &VCard) -> (Contact, Slots) {
    let mut c = Contact::default();
    let slots = Slots {
        n: first(card, &VCardProperty::N),
        full: first(card, &VCardProperty::Fn),
        nickname: first(card, &VCardProperty::Nickname),
        org: first(card, &VCardProperty::Org),
        title: first(card, &VCardProperty::Title),
        emails: ordered(card, &VCardProperty::Email),
        phones: ordered(card, &VCardProperty::Tel),
        addresses: ordered(card, &VCardProperty::Adr),
        urls: ordered(card, &VCardProperty::Url),
        bday: first(card, &VCardProperty::Bday),
        note: first(card, &VCardProperty::Note),
        categories: (0..card.entries.len())
            .filter(|i| card.entries[*i].name == VCardProperty::Categories)
            .collect(),
    };
    let e = |i: usize| &card.entries[i];
    if let Some(n) = slots.n {
        c.family = component(e(n), 0);
        c.given = component(e(n), 1);
        c.additional = component(e(n), 2);
        c.prefix = component(e(n), 3);
        c.suffix = component(e(n), 4);
    }
    let text = |slot: Option<usize>| slot.map(|i| entry_text(e(i))).unwrap_or_default();
    c.full = text(slots.full);
    c.nickname = text(slots.nickname);
    c.title = text(slots.title);
    c.note = text(slots.note);
    if let Some(org) = slots.org {
        c.org_name = component(e(org), 0);
        c.org_unit = component(e(org), 1);
    }
    if let Some(b) = slots.bday {
        c.bday = match e(b).values.first() {
            Some(VCardValue::PartialDateTime(d)) => date_text(d, omit_year(e(b))),
            Some(v) => {
                let t = value_text(v);
                iso_date(&t).unwrap_or(t)
            }
            None => String::new(),
        };
    }
    c.emails = slots
        .emails
        .iter()
        .map(|i| Typed {
            kind: Some(email_kind(e(*i))),
            value: entry_text(e(*i)),
        })
        .collect();
    c.phones = slots
        .phones
        .iter()
        .map(|i| Typed {
            kind: Some(phone_kind(e(*i))),
            value: entry_text(e(*i)),
        })
        .collect();
    c.addresses = slots
        .addresses
        .iter()
        .map(|i| Address {
            kind: Some(email_kind(e(*i))),
            street: component(e(*i), 2),
            locality: component(e(*i), 3),
            region: component(e(*i), 4),
            code: component(e(*i), 5),
            country: component(e(*i), 6),
        })
        .collect();
    c.urls = slots.urls.iter().map(|i| entry_text(e(*i))).collect();
    for i in &slots.categories {
        for v in &e(*i).values {
            match v {
                VCardValue::Component(items) => c.categories.extend(items.iter().cloned()),
                other => c.categories.push(value_text(other)),
            }
        }
    }
    c.categories.retain(|s| !s.trim().is_empty());
    (c, slots)
}

/// Just the contact's fields (without the properties no field reads; see
/// [`super::props::to_contact`] for those).
pub fn to_contact(card: &VCard) -> Contact {
    extract(card).0
}

fn type_param(kind: Kind) -> Vec<VCardParameter> {
    let t = match kind {
        Kind::Work => VCardType::Work,
        Kind::Home => VCardType::Home,
        Kind::Cell => VCardType::Cell,
        Kind::Fax => VCardType::Fax,
        Kind::Pager => VCardType::Pager,
        Kind::Other => return Vec::new(),
    };
    vec![VCardParameter {
        name: VCardParameterName::Type,
        value: VCardParameterValue::Type(t),
    }]
}

fn new_entry(
    name: VCardProperty,
    params: Vec<VCardParameter>,
    values: Vec<VCardValue>,
) -> VCardEntry {
    VCardEntry {
        group: None,
        name,
        params,
        values,
    }
}

fn text_value(s: &str) -> VCardValue {
    VCardValue::Text(s.to_string())
}

/// Set component `i` of a structured entry, padding with empty components.
fn set_component(entry: &mut VCardEntry, i: usize, value: &str, width: usize) {
    while entry.values.len() < width.max(i + 1) {
        entry.values.push(text_value(""));
    }
    entry.values[i] = text_value(value);
}

fn all_components_empty(entry: &VCardEntry) -> bool {
    entry.values.iter().all(|v| value_text(v).trim().is_empty())
}

/// Position among `slots` of the `index`-th entry whose kind is `kind`.
fn nth_slot(slots: &[usize], kinds: &[Kind], kind: Option<Kind>, index: usize) -> Option<usize> {
    slots
        .iter()
        .zip(kinds)
        .filter(|(_, k)| kind.is_none_or(|want| **k == want))
        .nth(index)
        .map(|(slot, _)| *slot)
}

/// Write one canonical field into the card. An empty value removes the
/// entry; a missing entry is added (with the kind as TYPE). Entries other
/// than the one the field names are not touched.
pub fn set_field(card: &mut VCard, path: &FieldPath, value: Option<&str>) {
    let value = value.unwrap_or("").trim_end_matches(['\r', '\n']);
    let (contact, slots) = extract(card);
    match path {
        FieldPath::NamePrefix
        | FieldPath::NameGiven
        | FieldPath::NameAdditional
        | FieldPath::NameFamily
        | FieldPath::NameSuffix => {
            let i = match path {
                FieldPath::NameFamily => 0,
                FieldPath::NameGiven => 1,
                FieldPath::NameAdditional => 2,
                FieldPath::NamePrefix => 3,
                _ => 4,
            };
            match slots.n {
                Some(n) => set_component(&mut card.entries[n], i, value, 5),
                None if value.is_empty() => {}
                None => {
                    let mut entry = new_entry(VCardProperty::N, Vec::new(), Vec::new());
                    set_component(&mut entry, i, value, 5);
                    card.entries.push(entry);
                }
            }
        }
        FieldPath::NameFull => set_single(card, slots.full, VCardProperty::Fn, value),
        FieldPath::Nickname => set_single(card, slots.nickname, VCardProperty::Nickname, value),
        FieldPath::Title => set_single(card, slots.title, VCardProperty::Title, value),
        FieldPath::Note => set_single(card, slots.note, VCardProperty::Note, value),
        FieldPath::Bday => {
            set_single(card, slots.bday, VCardProperty::Bday, value);
            // A date the CRM holds is written as a date (`BDAY:1980-01-20`),
            // not as text (`BDAY;VALUE=TEXT:…`, which 3.0 does not know and
            // 4.0 reads as free text); anything else stays text.
            let slot = slots.bday.or_else(|| card.entries.len().checked_sub(1));
            if let (Some(i), Some(date)) = (slot, date_value(value))
                && let Some(entry) = card.entries.get_mut(i)
                && entry.name == VCardProperty::Bday
            {
                entry.values = vec![VCardValue::PartialDateTime(date)];
            }
        }
        FieldPath::OrgName | FieldPath::OrgUnit => {
            let i = usize::from(*path == FieldPath::OrgUnit);
            match slots.org {
                Some(o) => {
                    set_component(&mut card.entries[o], i, value, 1);
                    if all_components_empty(&card.entries[o]) {
                        card.entries.remove(o);
                    }
                }
                None if value.is_empty() => {}
                None => {
                    let mut entry = new_entry(VCardProperty::Org, Vec::new(), Vec::new());
                    set_component(&mut entry, i, value, 1);
                    card.entries.push(entry);
                }
            }
        }
        FieldPath::Email { kind, index } => {
            let kinds: Vec<Kind> = contact
                .emails
                .iter()
                .map(|t| t.kind.unwrap_or(Kind::Other))
                .collect();
            let slot = nth_slot(&slots.emails, &kinds, *kind, *index);
            set_listed(
                card,
                slot,
                VCardProperty::Email,
                kind.unwrap_or(Kind::Other),
                value,
            );
        }
        FieldPath::Phone { kind, index } => {
            let kinds: Vec<Kind> = contact
                .phones
                .iter()
                .map(|t| t.kind.unwrap_or(Kind::Other))
                .collect();
            let slot = nth_slot(&slots.phones, &kinds, Some(*kind), *index);
            set_listed(card, slot, VCardProperty::Tel, *kind, value);
        }
        FieldPath::Url { index } => {
            let kinds = vec![Kind::Other; slots.urls.len()];
            let slot = nth_slot(&slots.urls, &kinds, None, *index);
            set_listed(card, slot, VCardProperty::Url, Kind::Other, value);
        }
        FieldPath::Adr { kind, part } => {
            let kinds: Vec<Kind> = contact
                .addresses
                .iter()
                .map(|a| a.kind.unwrap_or(Kind::Other))
                .collect();
            let i = 2 + AdrPart::ALL.iter().position(|p| p == part).unwrap_or(0);
            match nth_slot(&slots.addresses, &kinds, Some(*kind), 0) {
                Some(a) => {
                    set_component(&mut card.entries[a], i, value, 7);
                    if all_components_empty(&card.entries[a]) {
                        card.entries.remove(a);
                    }
                }
                None if value.is_empty() => {}
                None => {
                    let mut entry = new_entry(VCardProperty::Adr, type_param(*kind), Vec::new());
                    set_component(&mut entry, i, value, 7);
                    card.entries.push(entry);
                }
            }
        }
        // Carried properties are written by `props::set_prop`.
        FieldPath::Prop(_) => {}
        FieldPath::Categories => {
            for i in slots.categories.iter().rev() {
                card.entries.remove(*i);
            }
            let cats: Vec<VCardValue> = value
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(text_value)
                .collect();
            if !cats.is_empty() {
                card.entries
                    .push(new_entry(VCardProperty::Categories, Vec::new(), cats));
            }
        }
    }
}

fn set_single(card: &mut VCard, slot: Option<usize>, name: VCardProperty, value: &str) {
    match slot {
        Some(i) if value.is_empty() => {
            card.entries.remove(i);
        }
        Some(i) => {
            let entry = &mut card.entries[i];
            // A typed value (a date) becomes text; drop a VALUE= that would contradict it.
            entry.params.retain(|p| p.name != VCardParameterName::Value);
            entry.values = vec![text_value(value)];
        }
        None if value.is_empty() => {}
        None => card
            .entries
            .push(new_entry(name, Vec::new(), vec![text_value(value)])),
    }
}

fn set_listed(card: &mut VCard, slot: Option<usize>, name: VCardProperty, kind: Kind, value: &str) {
    match slot {
        Some(i) if value.is_empty() => {
            card.entries.remove(i);
        }
        Some(i) => card.entries[i].values = vec![text_value(value)],
        None if value.is_empty() => {}
        None => card
            .entries
            .push(new_entry(name, type_param(kind), vec![text_value(value)])),
    }
}

/// Make sure the card has what 3.0 and 4.0 require: an FN (from the name,
/// the organisation or the e-mail address).
pub fn ensure_fn(card: &mut VCard) {
    let (contact, slots) = extract(card);
    if slots
        .full
        .is_some_and(|i| !entry_text(&card.entries[i]).trim().is_empty())
    {
        return;
    }
    let name = contact.display_name();
    set_single(card, slots.full, VCardProperty::Fn, &name);
    if name.is_empty() {
        // FN must exist even when nothing names the contact.
        card.entries.push(new_entry(
            VCardProperty::Fn,
            Vec::new(),
            vec![text_value("")],
        ));
    }
}
