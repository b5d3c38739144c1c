//! What the `vdir` and `vcard` stores share: card <-> record, patches.

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue};

use super::{Patch, Record, has_category};
use crate::config::{Scope, StoreConfig};
use crate::vcard::{self, ParsedCard, map};

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
        contact,
    }
}

/// Apply a patch to a card: only the patched fields (and the stamp) change.
pub(crate) fn apply(config: &StoreConfig, card: &mut VCard, patch: &Patch) {
    for (field, value) in &patch.fields {
        map::set_field(card, field, value.as_deref());
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
