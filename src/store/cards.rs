//! What the `vdir` and `vcard` stores share: card <-> record, patches.

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};

use super::interface::Patch;
use crate::config::{Scope, StoreConfig};
use crate::model::contact::{Contact, FieldClass, FieldPath};
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
    let contact = vcard::to_contact(card);
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
        contact,
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

/// Apply a patch to a card: only the patched fields (and the stamp) change.
/// When the name changes and FN was composed from it (and FN itself is not
/// being written), FN follows, so the card does not show the old name.
pub(crate) fn apply(config: &StoreConfig, card: &mut VCard, patch: &Patch) {
    let writes = |wanted: fn(&FieldPath) -> bool| patch.fields.iter().any(|(f, _)| wanted(f));
    let fn_follows = writes(|f| f.class() == FieldClass::Name && *f != FieldPath::NameFull)
        && !writes(|f| *f == FieldPath::NameFull);
    // Only a name change can make FN follow; other patches skip the reading.
    let before = fn_follows.then(|| vcard::to_contact(card));
    for (field, value) in &patch.fields {
        map::set_field(card, field, value.as_deref());
    }
    if let Some(before) = before {
        let old_full = before.full.trim();
        if let Some(form) = composed_names(&before)
            .iter()
            .position(|f| !f.is_empty() && f == old_full)
        {
            let new_full = composed_names(&vcard::to_contact(card))[form].clone();
            if new_full != old_full && !new_full.is_empty() {
                map::set_field(card, &FieldPath::NameFull, Some(&new_full));
            }
        }
    }
    if let (Some(name), Some(value)) = (&config.stamp, &patch.stamp) {
        vcard::set_property_text(card, name, Some(value));
    }
    map::ensure_fn(card);
}

/// A new card holding the patch, with `uid`.
pub(crate) fn new_card(config: &StoreConfig, uid: &str, patch: &Patch) -> VCard {
    let mut card = VCard {
        entries: vec![VCardEntry {
            group: None,
            name: VCardProperty::Uid,
            params: Vec::new(),
            values: vec![VCardValue::Text(uid.to_string())],
        }],
    };
    apply(config, &mut card, patch);
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
}
