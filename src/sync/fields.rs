//! Which canonical fields are synchronised, and which way each may travel.
//!
//! With an SQL store on one side, its `fields` table is the list; between
//! two SQL stores, the fields both map; between two card stores, every
//! field a card can hold, and with them the whole card: every property no
//! field reads (`card.<NAME>`, found per contact). A field travels towards a side only if its
//! `direction` allows it and the side's `limits` can hold it; what a limit
//! keeps out is reported as a warning, never dropped from the side that has it.

use crate::config::{Config, Direction, Limits, PhoneFormat, StoreConfig, Transform};
use crate::model::contact::{Contact, FieldClass, FieldPath, Kind, PropName, all_card_fields};

use crate::model::{PerSide, Side};
use crate::store::ValueKind;
use crate::sync::plan::warning::{Limit, Warning};
use crate::sync::state::Base;
use crate::vcard::props::carried;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncField {
    pub path: FieldPath,
    /// Whether values may be written to each side.
    pub writable: PerSide<bool>,
    /// Why a side's limits keep this field out, for warnings.
    pub blocked: PerSide<Option<Limit>>,
    /// The most characters a side's column takes (a `varchar(n)`): a
    /// longer value is not written there, never cut short.
    pub max_chars: PerSide<Option<usize>>,
    /// The values a side's typed column takes (a `date`, a `boolean`): no
    /// other value is written there.
    pub value_kind: PerSide<Option<ValueKind>>,
}

/// The synchronised fields, and per side what it can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSet {
    pub fields: Vec<SyncField>,
    /// Store names, for messages.
    pub names: PerSide<String>,
    pub limits: PerSide<Limits>,
    /// Between two card stores the whole card travels: besides `fields`,
    /// every property no field reads ([`FieldPath::Prop`]), both ways.
    pub whole_cards: bool,
    /// The stamp properties of both stores: each store's own, never carried.
    pub stamps: Vec<PropName>,
}

/// Why `limits` cannot hold `path` at all, or `None` if they can.
fn limit_block(path: &FieldPath, limits: &Limits) -> Option<Limit> {
    match *path {
        FieldPath::Email { index, .. } if limits.emails.is_some_and(|n| index >= n) => {
            Some(Limit::Emails(limits.emails.unwrap_or(0)))
        }
        FieldPath::Phone { kind, index } if limits.phones_per_kind.is_some_and(|n| index >= n) => {
            Some(Limit::Phones(kind, limits.phones_per_kind.unwrap_or(0)))
        }
        FieldPath::Url { index } if limits.urls.is_some_and(|n| index >= n) => {
            Some(Limit::Urls(limits.urls.unwrap_or(0)))
        }
        FieldPath::Note if !limits.notes => Some(Limit::NoNotes),
        _ => None,
    }
}

/// An SQL store's synchronised fields; a `name` column stands for the
/// given and the family name.
fn mapped_fields(store: &StoreConfig) -> Vec<(FieldPath, Direction)> {
    store
        .fields
        .iter()
        .flat_map(|m| match m.transform {
            Transform::Name => vec![
                (FieldPath::NameGiven, m.direction),
                (FieldPath::NameFamily, m.direction),
            ],
            _ => vec![(m.field, m.direction)],
        })
        .collect()
}

fn allows(direction: Direction, to: Side) -> bool {
    matches!(
        (direction, to),
        (Direction::Both, _)
            | (Direction::LeftToRight, Side::Right)
            | (Direction::RightToLeft, Side::Left)
    )
}

impl FieldSet {
    pub fn from_config(config: &Config) -> FieldSet {
        let sql = |s: &StoreConfig| s.kind.is_sql();
        let mapped: Vec<(FieldPath, Direction)> = match (sql(&config.left), sql(&config.right)) {
            (true, false) => mapped_fields(&config.left),
            (false, true) => mapped_fields(&config.right),
            (true, true) => config
                .left
                .fields
                .iter()
                .filter_map(|m| {
                    let other = config.right.fields.iter().find(|r| r.field == m.field)?;
                    // The stricter of the two directions.
                    let direction = match (m.direction, other.direction) {
                        (a, Direction::Both) => a,
                        (Direction::Both, b) => b,
                        (a, b) if a == b => a,
                        _ => Direction::None,
                    };
                    Some((m.field, direction))
                })
                .collect(),
            (false, false) => all_card_fields()
                .into_iter()
                .map(|f| (f, Direction::Both))
                .collect(),
        };
        let whole_cards = !sql(&config.left) && !sql(&config.right);
        let stores = config.stores();
        let fields = mapped
            .into_iter()
            .map(|(path, direction)| {
                let blocked = |side: Side| limit_block(&path, &stores.get(side).limits);
                let blocked = PerSide::from_fn(blocked);
                let writable =
                    PerSide::from_fn(|side| allows(direction, side) && blocked.get(side).is_none());
                SyncField {
                    path,
                    writable,
                    blocked,
                    max_chars: PerSide::default(),
                    value_kind: PerSide::default(),
                }
            })
            .collect();
        FieldSet {
            fields,
            names: config.names().map(|n| n.to_string()),
            limits: stores.map(|s| s.limits),
            whole_cards,
            stamps: [&config.left, &config.right]
                .into_iter()
                .filter_map(|s| s.stamp.as_deref().and_then(PropName::new))
                .collect(),
        }
    }

    /// The field of a card property no field reads: it travels both ways
    /// (no limit applies to it).
    pub fn prop_field(path: FieldPath) -> SyncField {
        SyncField {
            path,
            writable: PerSide::new(true, true),
            blocked: PerSide::default(),
            max_chars: PerSide::default(),
            value_kind: PerSide::default(),
        }
    }

    /// The card properties a pair holds or its base remembers, when whole
    /// cards travel; each once, in name order.
    pub fn props_of<'a>(
        &self,
        contacts: impl IntoIterator<Item = &'a Contact>,
        base: Option<&Base>,
    ) -> Vec<FieldPath> {
        if !self.whole_cards {
            return Vec::new();
        }
        let mut names: Vec<FieldPath> = contacts
            .into_iter()
            .flat_map(|c| c.props.keys().map(|n| FieldPath::Prop(*n)))
            .chain(base.into_iter().flat_map(|b| b.iter().map(|(path, _)| *path)))
            // Only carried ones: a create's `card.UID` is no property text.
            .filter(|f| {
                matches!(f, FieldPath::Prop(n) if carried(n.as_str()) && !self.stamps.contains(n))
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Whether side `to` wants phone numbers in international format.
    pub fn wants_e164(&self, to: Side) -> bool {
        self.limits.get(to).phone_format == PhoneFormat::E164
    }

    /// Values of `contact` (held on the other side) that side `to` cannot take:
    /// more e-mail addresses, phone numbers of a kind or web pages than the
    /// synchronised fields (and limits) carry, and fields a limit keeps out.
    pub fn uncarried(&self, contact: &Contact, to: Side) -> Vec<Warning> {
        let mut warnings = Vec::new();
        let carried = |class: FieldClass, kind: Option<Kind>| {
            self.fields
                .iter()
                .filter(|f| *f.writable.get(to) && f.path.class() == class)
                .filter(|f| match (f.path, kind) {
                    (FieldPath::Phone { kind: k, .. }, Some(want)) => k == want,
                    _ => true,
                })
                .count()
        };
        // Only where the fields count entries by position (`email[N]`).
        let positional_emails = self
            .fields
            .iter()
            .any(|f| matches!(f.path, FieldPath::Email { kind: None, .. }));
        if positional_emails {
            let n = carried(FieldClass::Email, None);
            if contact.emails.len() > n {
                warnings.push(Warning::TooManyEmails {
                    count: contact.emails.len(),
                    to,
                    takes: n,
                    extra: contact.emails[n..]
                        .iter()
                        .map(|e| e.value.clone())
                        .collect(),
                });
            }
        }
        let url_fields = carried(FieldClass::Url, None);
        if contact.urls.len() > url_fields
            && self
                .fields
                .iter()
                .any(|f| f.path.class() == FieldClass::Url)
        {
            warnings.push(Warning::TooManyUrls {
                count: contact.urls.len(),
                to,
                takes: url_fields,
                extra: contact.urls[url_fields..].to_vec(),
            });
        }
        for kind in Kind::ALL {
            let mapped = self
                .fields
                .iter()
                .any(|f| matches!(f.path, FieldPath::Phone { kind: k, .. } if k == kind));
            if !mapped {
                continue;
            }
            let n = carried(FieldClass::Phone, Some(kind));
            let of_kind: Vec<&str> = contact
                .phones
                .iter()
                .filter(|p| p.kind.unwrap_or(Kind::Other) == kind)
                .map(|p| p.value.as_str())
                .collect();
            if of_kind.len() > n {
                warnings.push(Warning::TooManyPhones {
                    kind,
                    count: of_kind.len(),
                    to,
                    takes: n,
                    extra: of_kind[n..].iter().map(|v| v.to_string()).collect(),
                });
            }
        }
        for field in &self.fields {
            if let Some(limit) = *field.blocked.get(to)
                && field.path.class() != FieldClass::Email
                && field.path.class() != FieldClass::Url
                && field.path.class() != FieldClass::Phone
                && contact.get(&field.path).is_some()
            {
                warnings.push(Warning::Blocked {
                    field: field.path,
                    to,
                    limit,
                });
            }
        }
        warnings
    }
}
