//! The canonical contact and its field paths (SPEC §4).
//!
//! A [`Contact`] is what both stores are translated into before anything is
//! compared. Values keep their original text (so a write-back does not
//! reformat what the user typed); comparison uses [`crate::model::normal`].

use foldhash::HashMap;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

/// The kind of an e-mail address, phone number or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Work,
    Home,
    Cell,
    Fax,
    Pager,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Work,
        Kind::Home,
        Kind::Cell,
        Kind::Fax,
        Kind::Pager,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Work => "work",
            Kind::Home => "home",
            Kind::Cell => "cell",
            Kind::Fax => "fax",
            Kind::Pager => "pager",
            Kind::Other => "other",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A part of a postal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdrPart {
    Street,
    Locality,
    Region,
    Code,
    Country,
}

impl AdrPart {
    pub const ALL: [AdrPart; 5] = [
        AdrPart::Street,
        AdrPart::Locality,
        AdrPart::Region,
        AdrPart::Code,
        AdrPart::Country,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdrPart::Street => "street",
            AdrPart::Locality => "locality",
            AdrPart::Region => "region",
            AdrPart::Code => "code",
            AdrPart::Country => "country",
        }
    }
}

/// The name of a card property no canonical field reads (`PHOTO`, `IMPP`,
/// `X-ABLABEL`), upper-case. Names are interned (each distinct name is kept
/// once for the life of the process) so that a [`FieldPath`] stays `Copy`;
/// a thin pointer to the name keeps it at 16 bytes (a plan holds one per
/// change).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropName(&'static &'static str);

impl PropName {
    /// The name of property `name` (any case), or `None` when it cannot be
    /// one (empty, or with a control character, `:`, `;`, `"` or `\\`).
    /// Real cards use more than the standard's letters, digits and `-`
    /// (`X-messaging/irc-All`, `X-WAB-SPOUSE_NAME`, `X-GOOGLE TALK`).
    pub fn new(name: &str) -> Option<PropName> {
        let valid = !name.trim().is_empty()
            && !name
                .chars()
                .any(|c| c.is_control() || matches!(c, ':' | ';' | '"' | '\\'));
        if !valid {
            return None;
        }
        static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static &'static str>>> =
            OnceLock::new();
        let upper = name.to_ascii_uppercase();
        let mut names = NAMES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = names.get(upper.as_str()) {
            return Some(PropName(known));
        }
        let leaked: &'static str = Box::leak(upper.into_boxed_str());
        let thin: &'static &'static str = Box::leak(Box::new(leaked));
        names.insert(leaked, thin);
        Some(PropName(thin))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for PropName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A canonical field path such as `name.given`, `email[2]`, `phone.cell[1]`
/// or `adr.work.locality`. Indexes are 1-based in text and 0-based here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldPath {
    NamePrefix,
    NameGiven,
    NameAdditional,
    NameFamily,
    NameSuffix,
    NameFull,
    Nickname,
    OrgName,
    OrgUnit,
    Title,
    /// `email[N]` (kind `None`: the N-th address whatever its kind) or `email.<kind>[N]`.
    Email {
        kind: Option<Kind>,
        index: usize,
    },
    Phone {
        kind: Kind,
        index: usize,
    },
    Adr {
        kind: Kind,
        part: AdrPart,
    },
    Url {
        index: usize,
    },
    Bday,
    Note,
    Categories,
    /// `card.<NAME>`: every property `NAME` of a card that no field above
    /// reads, as one text (see [`Contact::props`]). Travels between two card
    /// stores only, and is never a config's field.
    Prop(PropName),
}

/// Which group of values a field belongs to; used to decide which card
/// properties a mapping owns and how values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldClass {
    Name,
    Text,
    Email,
    Phone,
    Adr,
    Url,
    Date,
    Note,
    Categories,
    /// A card property no field reads: compared exactly.
    Prop,
}

impl FieldPath {
    pub fn class(&self) -> FieldClass {
        match self {
            FieldPath::NamePrefix
            | FieldPath::NameGiven
            | FieldPath::NameAdditional
            | FieldPath::NameFamily
            | FieldPath::NameSuffix
            | FieldPath::NameFull => FieldClass::Name,
            FieldPath::Nickname | FieldPath::OrgName | FieldPath::OrgUnit | FieldPath::Title => {
                FieldClass::Text
            }
            FieldPath::Email { .. } => FieldClass::Email,
            FieldPath::Phone { .. } => FieldClass::Phone,
            FieldPath::Adr { .. } => FieldClass::Adr,
            FieldPath::Url { .. } => FieldClass::Url,
            FieldPath::Bday => FieldClass::Date,
            FieldPath::Note => FieldClass::Note,
            FieldPath::Categories => FieldClass::Categories,
            FieldPath::Prop(_) => FieldClass::Prop,
        }
    }

    /// Parse a field path as the state and saved plans store it: a
    /// config's field, or `card.<NAME>`.
    pub fn from_stored(text: &str) -> Result<FieldPath, BadFieldPath> {
        match text.strip_prefix("card.") {
            Some(name) => PropName::new(name)
                .map(FieldPath::Prop)
                .ok_or_else(|| BadFieldPath(text.to_string())),
            None => text.parse(),
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = |f: &mut fmt::Formatter<'_>, i: usize| -> fmt::Result {
            if i == 0 {
                Ok(())
            } else {
                write!(f, "[{}]", i + 1)
            }
        };
        match self {
            FieldPath::NamePrefix => f.write_str("name.prefix"),
            FieldPath::NameGiven => f.write_str("name.given"),
            FieldPath::NameAdditional => f.write_str("name.additional"),
            FieldPath::NameFamily => f.write_str("name.family"),
            FieldPath::NameSuffix => f.write_str("name.suffix"),
            FieldPath::NameFull => f.write_str("name.full"),
            FieldPath::Nickname => f.write_str("nickname"),
            FieldPath::OrgName => f.write_str("org.name"),
            FieldPath::OrgUnit => f.write_str("org.unit"),
            FieldPath::Title => f.write_str("title"),
            FieldPath::Email { kind, index: i } => {
                f.write_str("email")?;
                if let Some(kind) = kind {
                    write!(f, ".{}", kind.as_str())?;
                }
                index(f, *i)
            }
            FieldPath::Phone { kind, index: i } => {
                write!(f, "phone.{}", kind.as_str())?;
                index(f, *i)
            }
            FieldPath::Adr { kind, part } => {
                write!(f, "adr.{}.{}", kind.as_str(), part.as_str())
            }
            FieldPath::Url { index: i } => {
                f.write_str("url")?;
                index(f, *i)
            }
            FieldPath::Bday => f.write_str("bday"),
            FieldPath::Note => f.write_str("note"),
            FieldPath::Categories => f.write_str("categories"),
            FieldPath::Prop(name) => write!(f, "card.{}", name.as_str()),
        }
    }
}

/// Why a text is not a field path; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a canonical field; expected one of name.prefix, name.given, name.additional, \
     name.family, name.suffix, name.full, nickname, org.name, org.unit, title, email[N], \
     email.<work|home|other>[N], phone.<work|home|cell|fax|pager|other>[N], \
     adr.<work|home|other>.<street|locality|region|code|country>, url[N], bday, note, categories"
)]
pub struct BadFieldPath(pub String);

impl FromStr for FieldPath {
    type Err = BadFieldPath;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadFieldPath(text.to_string());
        // Split off an optional 1-based `[N]` suffix.
        let (head, index) = match text.strip_suffix(']').and_then(|t| t.rsplit_once('[')) {
            Some((head, n)) => {
                let n: usize = n.parse().map_err(|_| bad())?;
                if n == 0 || n > 99 {
                    return Err(bad());
                }
                (head, Some(n - 1))
            }
            None => (text, None),
        };
        let parts: Vec<&str> = head.split('.').collect();
        let plain = |path: FieldPath| {
            if index.is_none() {
                Ok(path)
            } else {
                Err(bad())
            }
        };
        match parts.as_slice() {
            ["name", "prefix"] => plain(FieldPath::NamePrefix),
            ["name", "given"] => plain(FieldPath::NameGiven),
            ["name", "additional"] => plain(FieldPath::NameAdditional),
            ["name", "family"] => plain(FieldPath::NameFamily),
            ["name", "suffix"] => plain(FieldPath::NameSuffix),
            ["name", "full"] => plain(FieldPath::NameFull),
            ["nickname"] => plain(FieldPath::Nickname),
            ["org", "name"] => plain(FieldPath::OrgName),
            ["org", "unit"] => plain(FieldPath::OrgUnit),
            ["title"] => plain(FieldPath::Title),
            ["email"] => Ok(FieldPath::Email {
                kind: None,
                index: index.unwrap_or(0),
            }),
            ["email", kind] => match Kind::parse(kind) {
                Some(kind @ (Kind::Work | Kind::Home | Kind::Other)) => Ok(FieldPath::Email {
                    kind: Some(kind),
                    index: index.unwrap_or(0),
                }),
                _ => Err(bad()),
            },
            ["phone", kind] => Ok(FieldPath::Phone {
                kind: Kind::parse(kind).ok_or_else(bad)?,
                index: index.unwrap_or(0),
            }),
            ["adr", kind, part] => {
                let kind = match Kind::parse(kind) {
                    Some(kind @ (Kind::Work | Kind::Home | Kind::Other)) => kind,
                    _ => return Err(bad()),
                };
                let part = AdrPart::ALL
                    .into_iter()
                    .find(|p| p.as_str() == *part)
                    .ok_or_else(bad)?;
                plain(FieldPath::Adr { kind, part })
            }
            ["url"] => Ok(FieldPath::Url {
                index: index.unwrap_or(0),
            }),
            ["bday"] => plain(FieldPath::Bday),
            ["note"] => plain(FieldPath::Note),
            ["categories"] => plain(FieldPath::Categories),
            _ => Err(bad()),
        }
    }
}

/// One e-mail address or phone number with its kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Typed {
    pub kind: Option<Kind>,
    pub value: String,
}

/// One postal address; parts are the SPEC's five.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub kind: Option<Kind>,
    pub street: String,
    pub locality: String,
    pub region: String,
    pub code: String,
    pub country: String,
}

impl Address {
    pub fn part(&self, part: AdrPart) -> &str {
        match part {
            AdrPart::Street => &self.street,
            AdrPart::Locality => &self.locality,
            AdrPart::Region => &self.region,
            AdrPart::Code => &self.code,
            AdrPart::Country => &self.country,
        }
    }

    pub fn part_mut(&mut self, part: AdrPart) -> &mut String {
        match part {
            AdrPart::Street => &mut self.street,
            AdrPart::Locality => &mut self.locality,
            AdrPart::Region => &mut self.region,
            AdrPart::Code => &mut self.code,
            AdrPart::Country => &mut self.country,
        }
    }

    pub fn is_empty(&self) -> bool {
        AdrPart::ALL.iter().all(|p| self.part(*p).is_empty())
    }
}

/// The canonical contact. Lists are in preference order (PREF first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub prefix: String,
    pub given: String,
    pub additional: String,
    pub family: String,
    pub suffix: String,
    pub full: String,
    pub nickname: String,
    pub org_name: String,
    pub org_unit: String,
    pub title: String,
    pub emails: Vec<Typed>,
    pub phones: Vec<Typed>,
    pub addresses: Vec<Address>,
    pub urls: Vec<String>,
    pub bday: String,
    pub note: String,
    pub categories: Vec<String>,
    /// A card's properties that no field reads, per property name: all
    /// entries of that name (with their groups and parameters) as content
    /// lines in 4.0 form, one a line. Empty for other stores.
    pub props: BTreeMap<PropName, String>,
}

impl Default for Contact {
    fn default() -> Self {
        Contact::EMPTY
    }
}

impl Contact {
    /// Give back the room its field texts and lists were grown with (its
    /// card properties are left as read): a list of one address is grown to
    /// room for four (512 bytes), and a store's 100,000 records are held
    /// whole while a plan is made and applied.
    pub fn shrink_to_fit(&mut self) {
        let Contact {
            prefix,
            given,
            additional,
            family,
            suffix,
            full,
            nickname,
            org_name,
            org_unit,
            title,
            emails,
            phones,
            addresses,
            urls,
            bday,
            note,
            categories,
            props: _,
        } = self;
        for text in [
            prefix, given, additional, family, suffix, full, nickname, org_name, org_unit, title,
            bday, note,
        ] {
            text.shrink_to_fit();
        }
        for typed in [&mut *emails, &mut *phones] {
            typed.shrink_to_fit();
            typed.iter_mut().for_each(|t| t.value.shrink_to_fit());
        }
        addresses.shrink_to_fit();
        for a in addresses.iter_mut() {
            for part in [
                &mut a.street,
                &mut a.locality,
                &mut a.region,
                &mut a.code,
                &mut a.country,
            ] {
                part.shrink_to_fit();
            }
        }
        for list in [urls, categories] {
            list.shrink_to_fit();
            list.iter_mut().for_each(String::shrink_to_fit);
        }
    }

    /// A contact without any value ([`Contact::default`], as a constant).
    pub const EMPTY: Contact = Contact {
        prefix: String::new(),
        given: String::new(),
        additional: String::new(),
        family: String::new(),
        suffix: String::new(),
        full: String::new(),
        nickname: String::new(),
        org_name: String::new(),
        org_unit: String::new(),
        title: String::new(),
        emails: Vec::new(),
        phones: Vec::new(),
        addresses: Vec::new(),
        urls: Vec::new(),
        bday: String::new(),
        note: String::new(),
        categories: Vec::new(),
        props: BTreeMap::new(),
    };
}

/// Kind of an address-like list entry when the field path asks for a kind;
/// an entry without a kind is `other` (SPEC §4).
fn kind_of(entry_kind: Option<Kind>) -> Kind {
    entry_kind.unwrap_or(Kind::Other)
}

/// Position in `list` of the `index`-th entry of `kind` (or of any kind).
fn nth_of_kind<T>(
    list: &[T],
    kind_fn: impl Fn(&T) -> Option<Kind>,
    kind: Option<Kind>,
    index: usize,
) -> Option<usize> {
    list.iter()
        .enumerate()
        .filter(|(_, e)| kind.is_none_or(|k| kind_of(kind_fn(e)) == k))
        .nth(index)
        .map(|(i, _)| i)
}

impl Contact {
    /// The value at `path`, or `None` when it is empty or absent;
    /// categories are joined with `,`.
    pub fn get(&self, path: &FieldPath) -> Option<Cow<'_, str>> {
        let value: &str = match path {
            FieldPath::NamePrefix => &self.prefix,
            FieldPath::NameGiven => &self.given,
            FieldPath::NameAdditional => &self.additional,
            FieldPath::NameFamily => &self.family,
            FieldPath::NameSuffix => &self.suffix,
            FieldPath::NameFull => &self.full,
            FieldPath::Nickname => &self.nickname,
            FieldPath::OrgName => &self.org_name,
            FieldPath::OrgUnit => &self.org_unit,
            FieldPath::Title => &self.title,
            FieldPath::Email { kind, index } => {
                let i = nth_of_kind(&self.emails, |e| e.kind, *kind, *index)?;
                &self.emails[i].value
            }
            FieldPath::Phone { kind, index } => {
                let i = nth_of_kind(&self.phones, |e| e.kind, Some(*kind), *index)?;
                &self.phones[i].value
            }
            FieldPath::Adr { kind, part } => {
                let i = nth_of_kind(&self.addresses, |a| a.kind, Some(*kind), 0)?;
                self.addresses[i].part(*part)
            }
            FieldPath::Url { index } => self.urls.get(*index)?,
            FieldPath::Bday => &self.bday,
            FieldPath::Note => &self.note,
            FieldPath::Categories => {
                return (!self.categories.is_empty())
                    .then(|| Cow::Owned(self.categories.join(",")));
            }
            FieldPath::Prop(name) => self.props.get(name).map_or("", String::as_str),
        };
        (!value.is_empty()).then_some(Cow::Borrowed(value))
    }

    /// Set (or with `None`/empty, clear) the value at `path`.
    pub fn set(&mut self, path: &FieldPath, value: Option<&str>) {
        let value = value.unwrap_or("").to_string();
        match path {
            FieldPath::NamePrefix => self.prefix = value,
            FieldPath::NameGiven => self.given = value,
            FieldPath::NameAdditional => self.additional = value,
            FieldPath::NameFamily => self.family = value,
            FieldPath::NameSuffix => self.suffix = value,
            FieldPath::NameFull => self.full = value,
            FieldPath::Nickname => self.nickname = value,
            FieldPath::OrgName => self.org_name = value,
            FieldPath::OrgUnit => self.org_unit = value,
            FieldPath::Title => self.title = value,
            FieldPath::Email { kind, index } => {
                set_typed(&mut self.emails, *kind, *index, value, Kind::Other)
            }
            FieldPath::Phone { kind, index } => {
                set_typed(&mut self.phones, Some(*kind), *index, value, Kind::Other)
            }
            FieldPath::Adr { kind, part } => {
                match nth_of_kind(&self.addresses, |a| a.kind, Some(*kind), 0) {
                    Some(i) => {
                        *self.addresses[i].part_mut(*part) = value;
                        if self.addresses[i].is_empty() {
                            self.addresses.remove(i);
                        }
                    }
                    None if value.is_empty() => {}
                    None => {
                        let mut adr = Address {
                            kind: Some(*kind),
                            ..Address::default()
                        };
                        *adr.part_mut(*part) = value;
                        self.addresses.push(adr);
                    }
                }
            }
            FieldPath::Url { index } => {
                if *index < self.urls.len() {
                    if value.is_empty() {
                        self.urls.remove(*index);
                    } else {
                        self.urls[*index] = value;
                    }
                } else if !value.is_empty() {
                    self.urls.push(value);
                }
            }
            FieldPath::Bday => self.bday = value,
            FieldPath::Note => self.note = value,
            FieldPath::Categories => {
                self.categories = value
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            FieldPath::Prop(name) => {
                if value.is_empty() {
                    self.props.remove(name);
                } else {
                    self.props.insert(*name, value);
                }
            }
        }
    }

    /// A short display name: full name, else given + family, else org, else e-mail.
    pub fn display_name(&self) -> String {
        if !self.full.trim().is_empty() {
            return self.full.trim().to_string();
        }
        let joined = [self.given.trim(), self.family.trim()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        if !joined.is_empty() {
            return joined;
        }
        if !self.org_name.trim().is_empty() {
            return self.org_name.trim().to_string();
        }
        self.emails
            .first()
            .map(|e| e.value.clone())
            .unwrap_or_default()
    }
}

/// Set the `index`-th entry of `kind` in a typed list. A position past the
/// end appends (so `email[3]` on a contact with one address becomes its
/// second); an empty value removes the entry.
fn set_typed(
    list: &mut Vec<Typed>,
    kind: Option<Kind>,
    index: usize,
    value: String,
    new_kind: Kind,
) {
    match nth_of_kind(list, |e| e.kind, kind, index) {
        Some(i) if value.is_empty() => {
            list.remove(i);
        }
        Some(i) => list[i].value = value,
        None if value.is_empty() => {}
        None => list.push(Typed {
            kind: Some(kind.unwrap_or(new_kind)),
            value,
        }),
    }
}

impl serde::Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FieldPath::from_stored(&text).map_err(serde::de::Error::custom)
    }
}

/// Every field a card can hold: what two card stores synchronise, and what
/// the mapping editor offers (three of each repeated kind).
pub fn all_card_fields() -> Vec<FieldPath> {
    use FieldPath as F;
    let mut out = vec![
        F::NamePrefix,
        F::NameGiven,
        F::NameAdditional,
        F::NameFamily,
        F::NameSuffix,
        F::NameFull,
        F::Nickname,
        F::OrgName,
        F::OrgUnit,
        F::Title,
    ];
    for kind in [Kind::Work, Kind::Home, Kind::Other] {
        out.extend((0..3).map(|index| F::Email {
            kind: Some(kind),
            index,
        }));
    }
    for kind in Kind::ALL {
        out.extend((0..3).map(|index| F::Phone { kind, index }));
    }
    for kind in [Kind::Work, Kind::Home, Kind::Other] {
        out.extend(AdrPart::ALL.into_iter().map(|part| F::Adr { kind, part }));
    }
    out.extend((0..3).map(|index| F::Url { index }));
    out.extend([F::Bday, F::Note, F::Categories]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_round_trip_through_text() {
        for text in [
            "name.given",
            "email",
            "email[2]",
            "email.work",
            "email.home[2]",
            "phone.cell",
            "phone.fax[2]",
            "adr.work.locality",
            "url",
            "url[2]",
            "bday",
            "note",
            "categories",
            "org.unit",
        ] {
            let path: FieldPath = text.parse().unwrap();
            assert_eq!(path.to_string(), text);
        }
        // `[1]` is the default and prints without the index.
        assert_eq!(
            "phone.cell[1]".parse::<FieldPath>().unwrap().to_string(),
            "phone.cell"
        );
    }

    #[test]
    fn card_properties_are_stored_fields_but_never_a_configs() {
        let path = FieldPath::from_stored("card.X-ABLabel").unwrap();
        assert_eq!(path.to_string(), "card.X-ABLABEL");
        assert_eq!(FieldPath::from_stored(&path.to_string()), Ok(path));
        assert_eq!(path.class(), FieldClass::Prop);
        assert!("card.PHOTO".parse::<FieldPath>().is_err());
        assert!(FieldPath::from_stored("card.A:B").is_err());
        assert_eq!(
            FieldPath::from_stored("name.given"),
            Ok(FieldPath::NameGiven)
        );
    }

    #[test]
    fn bad_field_paths_are_refused() {
        for text in [
            "name",
            "email[0]",
            "email.cell",
            "phone",
            "adr.work",
            "adr.cell.street",
            "title[2]",
            "nme.given",
            "email[x]",
            "",
        ] {
            assert!(text.parse::<FieldPath>().is_err(), "{text} accepted");
        }
    }

    #[test]
    fn email_n_counts_all_kinds_and_email_kind_counts_one() {
        let mut c = Contact::default();
        c.set(&"email.work".parse().unwrap(), Some("a@work.example"));
        c.set(&"email.home".parse().unwrap(), Some("b@home.example"));
        c.set(&"email[3]".parse().unwrap(), Some("c@other.example"));
        assert_eq!(
            c.get(&"email[2]".parse().unwrap()),
            Some("b@home.example".into())
        );
        assert_eq!(
            c.get(&"email.home".parse().unwrap()),
            Some("b@home.example".into())
        );
        assert_eq!(
            c.get(&"email.other".parse().unwrap()),
            Some("c@other.example".into())
        );
        c.set(&"email[1]".parse().unwrap(), None);
        assert_eq!(
            c.get(&"email[1]".parse().unwrap()),
            Some("b@home.example".into())
        );
    }

    #[test]
    fn address_parts_create_and_clear_one_address() {
        let mut c = Contact::default();
        c.set(&"adr.work.street".parse().unwrap(), Some("Hauptstr. 1"));
        c.set(&"adr.work.locality".parse().unwrap(), Some("Köln"));
        assert_eq!(c.addresses.len(), 1);
        c.set(&"adr.work.street".parse().unwrap(), None);
        c.set(&"adr.work.locality".parse().unwrap(), None);
        assert!(c.addresses.is_empty());
    }
}
