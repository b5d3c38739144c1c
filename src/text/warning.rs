//! A [`Warning`] in words. The engine's warnings name sides; these
//! sentences name the stores as the config calls them (the names the
//! planner's [`FieldSet`](crate::sync::fields::FieldSet) holds). The text
//! is not sanitised here: callers that print it pass it through
//! `for_terminal`, and JSON escapes it.

use std::fmt;

use crate::model::{PerSide, Side};
use crate::sync::plan::Warning;
use crate::sync::plan::warning::{Clue, Limit, Replacement};

/// The sentence of `warning`, with `names` (per side) for the stores.
pub fn warning_text(warning: &Warning, names: &PerSide<String>) -> String {
    sentence(warning, names).to_string()
}

/// The sentence as something to format, for writing it without a copy
/// (a plan's JSON holds thousands).
pub(crate) fn sentence<'a>(
    warning: &'a Warning,
    names: &'a PerSide<String>,
) -> impl fmt::Display + 'a {
    Sentence { warning, names }
}

struct Sentence<'a> {
    warning: &'a Warning,
    names: &'a PerSide<String>,
}

impl fmt::Display for Sentence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |side: Side| self.names.get(side);
        match self.warning {
            Warning::NotE164 { field, value, to } => write!(
                f,
                "{field}: \"{value}\" is not a phone number {} can take in international format; it stays only in {}",
                name(*to),
                name(to.opposite())
            ),
            Warning::TooManyEmails {
                count,
                to,
                takes,
                extra,
            } => write!(
                f,
                "{count} e-mail addresses, {} takes {takes}: {} stays only in {}",
                name(*to),
                extra.join(", "),
                name(to.opposite())
            ),
            Warning::TooManyUrls {
                count,
                to,
                takes,
                extra,
            } => write!(
                f,
                "{count} web pages, {} takes {takes}: {} stays only in {}",
                name(*to),
                extra.join(", "),
                name(to.opposite())
            ),
            Warning::TooManyPhones {
                kind,
                count,
                to,
                takes,
                extra,
            } => write!(
                f,
                "{count} {} phone numbers, {} takes {takes}: {} stays only in {}",
                kind.as_str(),
                name(*to),
                extra.join(", "),
                name(to.opposite())
            ),
            Warning::Blocked { field, to, limit } => write!(
                f,
                "{field}: {} {}; the value stays only in {}",
                name(*to),
                LimitText(*limit),
                name(to.opposite())
            ),
            Warning::LeftScopeCreatedHere { side } => write!(
                f,
                "left the sync scope in {}; the sync created this copy",
                name(*side)
            ),
            Warning::DeletedKept { deleted_in } => write!(
                f,
                "deleted in {}; kept in {} and not created again until `abgleich forget`",
                name(*deleted_in),
                name(deleted_in.opposite())
            ),
            Warning::ChangedSinceSync { side } => {
                write!(f, "changed in {} since the last sync", name(*side))
            }
            Warning::IdGivenAway { side } => write!(
                f,
                "its id in {} was given to a new contact; the old one is taken as deleted there",
                name(*side)
            ),
            Warning::SomeoneNew(r) => write!(
                f,
                "{}: was it deleted and its id given to someone new?",
                ReplacementText(r, self.names)
            ),
            Warning::TakenAsDeleted(r) => write!(
                f,
                "{}: taken as deleted there and as a new contact",
                ReplacementText(r, self.names)
            ),
            Warning::WaitsWithDelete(r) => write!(
                f,
                "{}: taken as deleted there and as a new contact; waits for review with the delete of the old contact's other copy",
                ReplacementText(r, self.names)
            ),
            Warning::MaybeSamePerson { alike, more, side } => {
                let names: Vec<String> = alike
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.id))
                    .collect();
                write!(
                    f,
                    "may be the same person as {}{} in {}: link by hand (`abgleich link`) or accept to create",
                    names.join(", "),
                    if *more { ", …" } else { "" },
                    name(*side)
                )
            }
            Warning::MaybeMoved { name: who, side } => write!(
                f,
                "the new contact {who} in {} looks like this one (renamed or moved, and edited?): the delete waits for review; link them by hand (`abgleich link`) if they are one",
                name(*side)
            ),
            Warning::ReferredBy { side, rows } => write!(
                f,
                "{} in {} refer to it; its delete may delete or change them too (the database's foreign keys), and undo cannot bring those back: the delete waits for review",
                crate::model::sanitize::for_terminal(rows),
                name(*side)
            ),
            Warning::TooLong {
                field,
                to,
                max,
                length,
            } => write!(
                f,
                "{field}: {} takes at most {max} characters there, the value has {length}; abgleich never cuts it short: it is not written to {} and stays only in {}",
                name(*to),
                name(*to),
                name(to.opposite())
            ),
            Warning::NotItsType {
                field,
                to,
                kind,
                value,
            } => write!(
                f,
                "{field}: {} takes {} there, not {:?}: it is not written to {} and stays only in {}",
                name(*to),
                kind.describe(),
                crate::model::sanitize::for_terminal(value),
                name(*to),
                name(to.opposite())
            ),
            Warning::NewestUnknown => f.write_str(
                "conflicts = \"newest\": not both stores tell when this contact changed (a `modified` column, a card's REV), or both at the same time; decide by hand",
            ),
        }
    }
}

/// The limit after the store's name: "takes at most 2 e-mail addresses".
struct LimitText(Limit);

impl fmt::Display for LimitText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Limit::Emails(n) => write!(f, "takes at most {n} e-mail addresses"),
            Limit::Phones(kind, n) => {
                write!(f, "takes at most {n} {} phone numbers", kind.as_str())
            }
            Limit::Urls(n) => write!(f, "takes at most {n} web pages"),
            Limit::NoNotes => f.write_str("has no notes field"),
        }
    }
}

/// The part the three [`Replacement`] warnings share: "CRM 7 was Anna
/// Schmidt at the last sync and now holds Bernd Schmidt".
struct ReplacementText<'a>(&'a Replacement, &'a PerSide<String>);

impl fmt::Display for ReplacementText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, names) = (self.0, self.1);
        write!(
            f,
            "{} {} was {} at the last sync and now holds {}",
            names.get(r.side),
            r.id,
            r.was,
            r.now
        )?;
        match r.clue {
            Clue::Name => Ok(()),
            Clue::NoAddressLeft => {
                f.write_str(" and none of its e-mail addresses and phone numbers")
            }
            Clue::UnlinkedElsewhere => write!(
                f,
                ", whose e-mail address or phone number is an unlinked contact's in {}",
                names.get(r.side.opposite())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::contact::{FieldPath, Kind};
    use crate::sync::plan::warning::Someone;

    fn names() -> PerSide<String> {
        PerSide::new("CRM".into(), "Outlook".into())
    }

    #[test]
    fn a_record_holding_someone_new_reads_as_before() {
        let who = |clue| Replacement {
            side: Side::Left,
            id: "7".into(),
            was: "Anna Berg".into(),
            now: "Bernd Roth".into(),
            clue,
        };
        let texts = [
            Warning::SomeoneNew(who(Clue::Name)),
            Warning::TakenAsDeleted(who(Clue::NoAddressLeft)),
            Warning::WaitsWithDelete(who(Clue::UnlinkedElsewhere)),
        ]
        .map(|w| warning_text(&w, &names()));
        assert_eq!(
            texts,
            [
                "CRM 7 was Anna Berg at the last sync and now holds Bernd Roth: was it deleted and its id given to someone new?",
                "CRM 7 was Anna Berg at the last sync and now holds Bernd Roth and none of its e-mail addresses and phone numbers: taken as deleted there and as a new contact",
                "CRM 7 was Anna Berg at the last sync and now holds Bernd Roth, whose e-mail address or phone number is an unlinked contact's in Outlook: taken as deleted there and as a new contact; waits for review with the delete of the old contact's other copy",
            ]
        );
    }

    /// The sides name the stores: the one a warning is about, and the
    /// other, where the value stays.
    #[test]
    fn each_side_is_named_by_its_store() {
        let phone: FieldPath = "phone.work".parse().unwrap();
        let cases = [
            (
                Warning::NotE164 {
                    field: phone,
                    value: "ask reception".into(),
                    to: Side::Left,
                },
                "phone.work: \"ask reception\" is not a phone number CRM can take in international format; it stays only in Outlook",
            ),
            (
                Warning::TooManyPhones {
                    kind: Kind::Cell,
                    count: 3,
                    to: Side::Right,
                    takes: 1,
                    extra: vec!["+491".into(), "+492".into()],
                },
                "3 cell phone numbers, Outlook takes 1: +491, +492 stays only in CRM",
            ),
            (
                Warning::TooManyUrls {
                    count: 2,
                    to: Side::Left,
                    takes: 1,
                    extra: vec!["https://b.de".into()],
                },
                "2 web pages, CRM takes 1: https://b.de stays only in Outlook",
            ),
            (
                Warning::Blocked {
                    field: FieldPath::Note,
                    to: Side::Right,
                    limit: Limit::Phones(Kind::Home, 2),
                },
                "note: Outlook takes at most 2 home phone numbers; the value stays only in CRM",
            ),
            (
                Warning::LeftScopeCreatedHere { side: Side::Right },
                "left the sync scope in Outlook; the sync created this copy",
            ),
            (
                Warning::DeletedKept {
                    deleted_in: Side::Right,
                },
                "deleted in Outlook; kept in CRM and not created again until `abgleich forget`",
            ),
            (
                Warning::ChangedSinceSync { side: Side::Left },
                "changed in CRM since the last sync",
            ),
            (
                Warning::IdGivenAway { side: Side::Left },
                "its id in CRM was given to a new contact; the old one is taken as deleted there",
            ),
            (
                Warning::MaybeSamePerson {
                    alike: vec![Someone {
                        name: "Ina Wolf".into(),
                        id: "a".into(),
                    }],
                    more: true,
                    side: Side::Right,
                },
                "may be the same person as Ina Wolf (a), … in Outlook: link by hand (`abgleich link`) or accept to create",
            ),
        ];
        for (warning, want) in cases {
            assert_eq!(warning_text(&warning, &names()), want, "{warning:?}");
        }
    }
}
