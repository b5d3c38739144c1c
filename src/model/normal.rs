//! Normal forms used to compare values (SPEC §3): a formatting difference
//! alone never counts as a change.

use std::borrow::Cow;

use rlibphonenumber::enums::Region;
use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat};

use crate::model::contact::{FieldClass, FieldPath};

/// The regions the phone number library knows (a test holds the list to
/// the library's own).
const REGIONS: &str = concat!(
    "AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI ",
    "BJ BL BM BN BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO ",
    "CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM ",
    "FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT ",
    "HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW ",
    "KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN ",
    "MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ ",
    "OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD ",
    "SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK ",
    "TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK ",
    "YE YT ZA ZM ZW",
);

/// Normalises values for comparison; holds the default phone region.
#[derive(Debug, Clone)]
pub struct Normalizer {
    region: Option<Region>,
}

impl Normalizer {
    /// `region` is an ISO 3166 code such as `DE`; `None` if unknown.
    pub fn new(region: &str) -> Option<Self> {
        let code = region.trim().to_ascii_uppercase();
        // Any two letters make a `Region`: only one the numbering plan
        // knows is a default region. Asked of a list, not of the library,
        // whose metadata (about 7 MB, 8 ms) then loads only for a run that
        // reads a phone number.
        if !REGIONS.split(' ').any(|r| r == code) {
            return None;
        }
        let region = code.parse::<Region>().ok()?;
        Some(Normalizer {
            region: Some(region),
        })
    }

    /// A normaliser without a default region: national numbers stay as digits.
    pub fn without_region() -> Self {
        Normalizer { region: None }
    }

    /// The normal form of `value` as the field `path` holds it.
    pub fn normalize<'a>(&self, path: &FieldPath, value: &'a str) -> Cow<'a, str> {
        match path.class() {
            FieldClass::Email => Cow::Owned(value.trim().to_lowercase()),
            FieldClass::Phone => {
                Cow::Owned(self.phone(value).unwrap_or_else(|| phone_digits(value)))
            }
            FieldClass::Date => {
                Cow::Owned(iso_date(value).unwrap_or_else(|| value.trim().to_string()))
            }
            FieldClass::Note => Cow::Owned(normal_text_block(value)),
            FieldClass::Categories => {
                let mut cats: Vec<String> = value
                    .split(',')
                    .map(|c| c.trim().to_lowercase())
                    .filter(|c| !c.is_empty())
                    .collect();
                cats.sort();
                cats.dedup();
                Cow::Owned(cats.join(","))
            }
            FieldClass::Name | FieldClass::Text | FieldClass::Adr | FieldClass::Url => {
                collapse_spaces(value)
            }
            FieldClass::Prop => prop_digest(value),
        }
    }

    /// Whether two values of `path` are equal in normal form.
    pub fn same(&self, path: &FieldPath, a: Option<&str>, b: Option<&str>) -> bool {
        self.value(path, a).same(&self.value(path, b))
    }

    /// Value `text` of `path`, to compare with others in normal form: a
    /// value compared more than once (with the other side's, then with the
    /// base) is put in normal form once.
    pub fn value<'n, 'a>(&'n self, path: &'n FieldPath, text: Option<&'a str>) -> Normal<'n, 'a> {
        Normal {
            normalizer: self,
            path,
            text,
            form: std::cell::OnceCell::new(),
        }
    }

    /// E.164 form of a phone number, if it is a valid number (with the default
    /// region for national formats). Extensions are not part of E.164.
    pub fn phone(&self, text: &str) -> Option<String> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        // `tel:` URIs (vCard 4.0) carry the number after the scheme.
        let text = text.strip_prefix("tel:").unwrap_or(text);
        let number = PHONE_NUMBER_UTIL.parse(text, self.region).ok()?;
        if !number.is_valid() {
            return None;
        }
        Some(number.format_as(PhoneNumberFormat::E164).into_owned())
    }
}

/// A value and, once a comparison needs it, its normal form
/// ([`Normalizer::value`]).
pub struct Normal<'n, 'a> {
    normalizer: &'n Normalizer,
    path: &'n FieldPath,
    text: Option<&'a str>,
    form: std::cell::OnceCell<Option<Cow<'a, str>>>,
}

impl Normal<'_, '_> {
    /// Whether the two are equal in normal form (an empty one is none).
    pub fn same(&self, other: &Normal<'_, '_>) -> bool {
        // The same text has the same normal form: no parse needed (the
        // first phone number parsed costs a tenth of a second or more, while
        // the number library builds its tables).
        self.text == other.text || self.form() == other.form()
    }

    fn form(&self) -> Option<&str> {
        self.form
            .get_or_init(|| {
                (self.text)
                    .map(|v| self.normalizer.normalize(self.path, v))
                    .filter(|v| !v.is_empty())
            })
            .as_deref()
    }
}

/// Digits of a phone number that is not valid, keeping a leading `+`, so
/// that `555-0123` and `555 0123` still compare equal.
fn phone_digits(text: &str) -> String {
    let text = text.trim();
    let mut out = String::with_capacity(text.len());
    if text.starts_with('+') {
        out.push('+');
    }
    out.extend(text.chars().filter(char::is_ascii_digit));
    out
}

/// Trim and collapse runs of white space into one space.
fn collapse_spaces(value: &str) -> Cow<'_, str> {
    let trimmed = value.trim();
    let needs_work = trimmed
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_whitespace() && w[1].is_ascii_whitespace())
        || trimmed
            .bytes()
            .any(|b| b.is_ascii_whitespace() && b != b' ');
    if !needs_work {
        return Cow::Borrowed(trimmed);
    }
    Cow::Owned(trimmed.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A multi-line text: line ends unified, trailing spaces on each line and
/// surrounding blank lines dropped.
fn normal_text_block(value: &str) -> String {
    value
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// A timestamp as stores write it (`2026-06-03 09:12:44`, ISO 8601 with
/// `T`, a zone or `Z`, the basic form `20260603T091244Z` of a card's `REV`,
/// or a date alone), in UTC. Without a zone the time is taken as UTC.
pub fn timestamp(text: &str) -> Option<chrono::NaiveDateTime> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.naive_utc());
    }
    for format in ["%Y%m%dT%H%M%S%#z", "%Y-%m-%dT%H:%M:%S%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.naive_utc());
        }
    }
    let bare = text.trim_end_matches('Z');
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y%m%dT%H%M%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, format) {
            return Some(t);
        }
    }
    ["%Y-%m-%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(bare, f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// ISO 8601 form (`YYYY-MM-DD`, or `--MM-DD` without a year) of the date
/// forms found in vCards and CRMs: `1990-05-17`, `19900517`,
/// `1990-05-17T00:00:00Z`, `--0517`, `17.05.1990`.
pub fn iso_date(text: &str) -> Option<String> {
    let text = text.trim();
    let date_part = text.split(['T', ' ']).next().unwrap_or(text);
    if let Some(rest) = date_part.strip_prefix("--") {
        let digits: String = rest.chars().filter(|c| *c != '-').collect();
        if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let (m, d) = digits.split_at(2);
            return valid_month_day(m, d).then(|| format!("--{m}-{d}"));
        }
        return None;
    }
    let formats = ["%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%Y/%m/%d"];
    formats.iter().find_map(|f| {
        chrono::NaiveDate::parse_from_str(date_part, f)
            .ok()
            .map(|d| d.format("%Y-%m-%d").to_string())
    })
}

fn valid_month_day(m: &str, d: &str) -> bool {
    let (Ok(m), Ok(d)) = (m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    // 2000 is a leap year, so 29 February is accepted.
    chrono::NaiveDate::from_ymd_opt(2000, m, d).is_some()
}

/// A card property's text as the base keeps it: its hash (`#` and 16 hex
/// digits), so that the state does not hold a second copy of every photo.
/// Property text never starts with `#` (it starts with a name), and a
/// digest is its own normal form.
pub fn prop_digest(text: &str) -> Cow<'_, str> {
    if text.starts_with('#') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!(
            "#{}",
            super::record::hash_revision(text.as_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_of_every_store_compare() {
        let t = |s| super::timestamp(s).map(|t| t.to_string());
        assert_eq!(
            t("2026-06-03 09:12:44").as_deref(),
            Some("2026-06-03 09:12:44")
        );
        assert_eq!(
            t("20260603T091244Z").as_deref(),
            Some("2026-06-03 09:12:44")
        );
        assert_eq!(
            t("2026-06-03T11:12:44+02:00").as_deref(),
            Some("2026-06-03 09:12:44")
        );
        assert_eq!(t("2026-06-03").as_deref(), Some("2026-06-03 00:00:00"));
        assert_eq!(t("gestern"), None);
    }

    use super::*;

    fn path(p: &str) -> FieldPath {
        p.parse().unwrap()
    }

    #[test]
    fn phones_in_national_and_international_format_are_equal() {
        let n = Normalizer::new("DE").unwrap();
        let cell = path("phone.cell");
        assert_eq!(n.normalize(&cell, "0171 2345678"), "+491712345678");
        assert_eq!(n.normalize(&cell, "+49 (171) 234-5678"), "+491712345678");
        assert_eq!(n.normalize(&cell, "tel:+49-171-2345678"), "+491712345678");
        assert!(n.same(&cell, Some("030 1234567"), Some("+49 30 1234567")));
        assert!(!n.same(&cell, Some("030 1234567"), Some("+49 30 1234568")));
    }

    #[test]
    fn international_numbers_keep_their_country_under_any_region() {
        let cell = path("phone.cell");
        for region in ["US", "DE", "GB", "AT"] {
            let n = Normalizer::new(region).unwrap();
            assert_eq!(n.normalize(&cell, "+49 171 9876543"), "+491719876543");
            assert_eq!(n.normalize(&cell, "+353 1 676 0366"), "+35316760366");
            assert_eq!(n.normalize(&cell, "+1 212 555 0143"), "+12125550143");
        }
        let us = Normalizer::new("US").unwrap();
        assert_eq!(us.normalize(&cell, "(212) 555-0143"), "+12125550143");
    }

    #[test]
    fn the_region_list_is_the_phone_librarys() {
        let mut known: Vec<String> = (PHONE_NUMBER_UTIL.get_supported_regions())
            .map(|r| r.to_string())
            .collect();
        known.sort();
        assert_eq!(REGIONS.split(' ').collect::<Vec<_>>(), known);
    }

    #[test]
    fn only_a_region_with_a_calling_code_is_a_default_region() {
        assert!(Normalizer::new("de").is_some());
        assert!(Normalizer::new(" GB ").is_some());
        for not in ["XX", "ZZ", "001", "D", "DEU", ""] {
            assert!(Normalizer::new(not).is_none(), "{not}");
        }
    }

    #[test]
    fn invalid_phone_numbers_compare_by_digits() {
        let n = Normalizer::new("US").unwrap();
        let p = path("phone.work");
        assert_eq!(n.normalize(&p, "555-0123"), "5550123");
        assert!(n.same(&p, Some("555 0123"), Some("555-0123")));
    }

    #[test]
    fn email_is_case_insensitive_and_trimmed() {
        let n = Normalizer::without_region();
        assert!(n.same(
            &path("email"),
            Some(" Hans.Mueller@Example.DE "),
            Some("hans.mueller@example.de")
        ));
    }

    #[test]
    fn empty_and_absent_are_the_same() {
        let n = Normalizer::without_region();
        assert!(n.same(&path("title"), Some("  "), None));
        assert!(!n.same(&path("title"), Some("Dr"), None));
    }

    #[test]
    fn dates_are_compared_in_iso_form() {
        assert_eq!(iso_date("19900517").as_deref(), Some("1990-05-17"));
        assert_eq!(
            iso_date("1990-05-17T00:00:00Z").as_deref(),
            Some("1990-05-17")
        );
        assert_eq!(iso_date("17.05.1990").as_deref(), Some("1990-05-17"));
        assert_eq!(iso_date("--0517").as_deref(), Some("--05-17"));
        assert_eq!(iso_date("--1317"), None);
        assert_eq!(iso_date("someday"), None);
    }

    #[test]
    fn text_ignores_surrounding_and_repeated_space_but_not_case() {
        let n = Normalizer::without_region();
        assert!(n.same(
            &path("org.name"),
            Some(" Bäckerei  Schröder "),
            Some("Bäckerei Schröder")
        ));
        assert!(!n.same(
            &path("org.name"),
            Some("bäckerei schröder"),
            Some("Bäckerei Schröder")
        ));
        assert!(n.same(&path("note"), Some("a\r\nb \r\n"), Some("a\nb")));
    }
}
