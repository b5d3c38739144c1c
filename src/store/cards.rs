//! What the `vdir` and `vcard` stores share: card <-> record, patches.

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};

use super::interface::Patch;
use crate::config::{Scope, StoreConfig};
use crate::model::contact::{Contact, FieldClass, FieldPath, Kind, PropName};
use crate::model::record::Record;
use crate::vcard::{self, ParsedCard, map};

/// Whether a contact is in a category scope.
fn has_category(contact: &Contact, category: &str) -> bool {
    contact
        .categories
        .iter()
        .any(|c| c.trim().eq_ignore_ascii_case(category.trim()))
}

pub(crate) fn record(config: &StoreConfig, id: String, revision: String, card: &VCard) -> Record {
    // The rest of the card only where it travels (a photo is large).
    let mut contact = if config.whole_card {
        vcard::to_contact(card)
    } else {
        map::to_contact(card)
    };
    // The stamp holds the other store's id: it is this store's, not the contact's.
    if let Some(stamp) = config.stamp.as_deref().and_then(PropName::new) {
        contact.props.remove(&stamp);
    }
    let in_scope = match &config.scope {
        Scope::Category(category) => has_category(&contact, category),
        _ => true,
    };
    Record {
        id,
        revision,
        in_scope,
        stamp: config
            .stamp
            .as_deref()
            .and_then(|s| vcard::property_text(card, s)),
        uid: vcard::property_text(card, "UID"),
        modified: vcard::property_time(card, "REV"),
        contact: contact.into(),
    }
}

/// The ways a display name (FN) is usually composed from the name parts.
fn composed_names(c: &Contact) -> [String; 3] {
    let join = |parts: &[&str]| {
        parts
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    [
        join(&[&c.given, &c.family]),
        join(&[&c.given, &c.additional, &c.family]),
        join(&[&c.prefix, &c.given, &c.additional, &c.family, &c.suffix]),
    ]
}

/// Apply a patch to a card: only the patched fields (and the stamp) change,
/// and `REV` says when. When the name changes and FN was composed from it
/// (and FN itself is not being written), FN follows, so the card does not
/// show the old name; not where the sync carries FN as a field of its own
/// (`name.full`: between two card stores, or mapped to a CRM column), as
/// the base remembers it.
pub(crate) fn apply(config: &StoreConfig, card: &mut VCard, patch: &Patch) {
    let writes = |wanted: fn(&FieldPath) -> bool| patch.fields.iter().any(|(f, _)| wanted(f));
    let fn_follows = !patch.full_name_synced
        && writes(|f| f.class() == FieldClass::Name && *f != FieldPath::NameFull)
        && !writes(|f| *f == FieldPath::NameFull);
    // Only a name change can make FN follow; other patches skip the reading.
    let before = fn_follows.then(|| map::to_contact(card));
    // A copy keeps what it copied as it was (parameters, groups, the form
    // of a value): a field changes it only where the value differs.
    let copied = patch.template.is_some().then(|| vcard::to_contact(card));
    for (field, value) in &patch.fields {
        let value = value.as_deref().filter(|v| !v.is_empty());
        if let Some(copied) = &copied
            && copied.get(field).as_deref().map(str::trim) == value.map(str::trim)
        {
            continue;
        }
        vcard::set_field(card, field, value);
    }
    if let Some(before) = before {
        let old_full = before.full.trim();
        if let Some(form) = composed_names(&before)
            .iter()
            .position(|f| !f.is_empty() && f == old_full)
        {
            let new_full = composed_names(&map::to_contact(card))[form].clone();
            if new_full != old_full && !new_full.is_empty() {
                map::set_field(card, &FieldPath::NameFull, Some(&new_full));
            }
        }
    }
    if let (Some(name), Some(value)) = (&config.stamp, &patch.stamp) {
        vcard::set_property_text(card, name, Some(value));
    }
    // Between card stores an FN is kept as the other card has it, even
    // empty; it is made up only for a card without one.
    let has_fn = card.entries.iter().any(|e| e.name == VCardProperty::Fn);
    if !(config.whole_card && has_fn) {
        map::ensure_fn(card);
    }
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    vcard::set_property_text(card, "REV", Some(&now));
}

/// A new card holding the patch, with `uid`: a copy of the patch's
/// template (its frame, UID, PRODID and REV aside) when it has one.
pub(crate) fn new_card(config: &StoreConfig, uid: &str, patch: &Patch) -> VCard {
    let mut entries = vec![VCardEntry {
        group: None,
        name: VCardProperty::Uid,
        params: Vec::new(),
        values: vec![VCardValue::Text(uid.to_string())],
    }];
    if let Some(template) = &patch.template {
        entries.extend(
            template
                .entries
                .iter()
                .filter(|e| {
                    !matches!(
                        e.name,
                        VCardProperty::Begin
                            | VCardProperty::End
                            | VCardProperty::Version
                            | VCardProperty::Uid
                            | VCardProperty::Prodid
                            | VCardProperty::Rev
                    )
                })
                .cloned(),
        );
    }
    let mut card = VCard { entries };
    apply(config, &mut card, patch);
    if patch.template.is_some() {
        keep_within_limits(config, &mut card);
    }
    card
}

/// A copied card holds no more phone numbers of a kind or web pages than
/// the store's `limits` take (the first ones are kept), and no note where
/// notes are off: the limits the fields block the same way, so that the
/// base knows what the copy holds. (An `emails` limit counts all kinds
/// together, which per-kind fields do not: the copy keeps its e-mail
/// addresses rather than lose one the base would think written.)
fn keep_within_limits(config: &StoreConfig, card: &mut VCard) {
    let limits = &config.limits;
    let contact = vcard::to_contact(card);
    let mut drop: Vec<FieldPath> = Vec::new();
    if let Some(n) = limits.phones_per_kind {
        for kind in Kind::ALL {
            let count = (contact.phones.iter())
                .filter(|p| p.kind == Some(kind))
                .count();
            drop.extend((n..count).map(|index| FieldPath::Phone { kind, index }));
        }
    }
    if let Some(n) = limits.urls {
        drop.extend((n..contact.urls.len()).map(|index| FieldPath::Url { index }));
    }
    if !limits.notes && !contact.note.is_empty() {
        drop.push(FieldPath::Note);
    }
    // The last first, so that each removal leaves the others' places.
    for field in drop.iter().rev() {
        vcard::set_field(card, field, None);
    }
}

/// A card as a copy in the other store starts from it: without this
/// store's stamp (the id of a record in a store the copy does not know).
pub(crate) fn for_copy(config: &StoreConfig, mut card: VCard) -> VCard {
    if let Some(stamp) = &config.stamp {
        vcard::set_property_text(&mut card, stamp, None);
    }
    card
}

/// The one card of a parsed file, or why there is not exactly one.
pub(crate) fn single(
    cards: Vec<Result<ParsedCard, vcard::CardError>>,
) -> Result<ParsedCard, (Option<usize>, String)> {
    let count = cards.len();
    let mut cards = cards.into_iter();
    match (cards.next(), count) {
        (None, _) => Err((None, "the file holds no card".to_string())),
        (Some(Err(e)), _) => Err((Some(e.line), e.message)),
        (Some(Ok(card)), 1) => Ok(card),
        (Some(Ok(card)), n) => Err((
            Some(card.line),
            format!("the file holds {n} cards; a vdir holds one card per file"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config() -> StoreConfig {
        let text =
            "[left]\nkind = \"vdir\"\npath = \"a\"\n[right]\nkind = \"vdir\"\npath = \"b\"\n";
        Config::parse(text, std::path::Path::new("/x/c.toml"))
            .unwrap()
            .left
    }

    fn card(text: &str) -> VCard {
        vcard::read_cards(text.as_bytes()).remove(0).unwrap().card
    }

    fn rename(card: &mut VCard) {
        let patch = Patch {
            fields: vec![("name.family".parse().unwrap(), Some("Mueller".into()))],
            ..Patch::default()
        };
        apply(&config(), card, &patch);
    }

    #[test]
    fn a_composed_display_name_follows_a_name_change() {
        let mut c = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans;;;\r\nFN:Hans Müller\r\nEND:VCARD\r\n",
        );
        rename(&mut c);
        let contact = vcard::to_contact(&c);
        assert_eq!(
            (contact.family.as_str(), contact.full.as_str()),
            ("Mueller", "Hans Mueller")
        );
    }

    #[test]
    fn a_display_name_of_its_own_is_kept() {
        let mut c = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans;;;\r\nFN:Hansi (Bäckerei)\r\nEND:VCARD\r\n",
        );
        rename(&mut c);
        assert_eq!(vcard::to_contact(&c).full, "Hansi (Bäckerei)");
    }

    #[test]
    fn a_display_name_the_sync_carries_does_not_follow_a_name_change() {
        let mut c = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans;;;\r\nFN:Hans Müller\r\nEND:VCARD\r\n",
        );
        let patch = Patch {
            fields: vec![("name.family".parse().unwrap(), Some("Mueller".into()))],
            full_name_synced: true,
            ..Patch::default()
        };
        apply(&config(), &mut c, &patch);
        let contact = vcard::to_contact(&c);
        assert_eq!(
            (contact.family.as_str(), contact.full.as_str()),
            ("Mueller", "Hans Müller")
        );
    }
}

#[cfg(test)]
mod dates {
    use super::*;
    use crate::config::Config;
    use crate::vcard::WriteVersion;

    /// A birthday from the CRM is written as a date in both versions (not
    /// `BDAY;VALUE=TEXT:`, which 3.0 does not know and 4.0 reads as free
    /// text) and reads back as the same date; a text that is no date stays
    /// text.
    #[test]
    fn a_crm_birthday_is_written_as_a_date_and_reads_back_the_same() {
        let text =
            "[left]\nkind = \"vdir\"\npath = \"a\"\n[right]\nkind = \"vdir\"\npath = \"b\"\n";
        let config = Config::parse(text, std::path::Path::new("/x/c.toml"))
            .unwrap()
            .left;
        for (bday, want) in [
            ("1980-01-20", "1980-01-20"),
            ("--12-17", "--12-17"),
            ("sometime in May", "sometime in May"),
        ] {
            for version in [WriteVersion::V3, WriteVersion::V4] {
                let patch = Patch {
                    fields: vec![
                        ("name.family".parse().unwrap(), Some("Berg".into())),
                        ("bday".parse().unwrap(), Some(bday.into())),
                    ],
                    ..Patch::default()
                };
                let written = vcard::write_card(&new_card(&config, "u1", &patch), version);
                let line = (written.lines())
                    .find(|l| l.starts_with("BDAY"))
                    .unwrap_or_else(|| panic!("{written}"));
                let is_date = bday != "sometime in May";
                assert_eq!(!line.contains("VALUE=TEXT"), is_date, "{version:?}: {line}");
                let read = vcard::read_cards(written.as_bytes())
                    .remove(0)
                    .unwrap()
                    .card;
                assert_eq!(
                    vcard::to_contact(&read).bday,
                    want,
                    "{version:?}: {written}"
                );
            }
        }
    }
}
