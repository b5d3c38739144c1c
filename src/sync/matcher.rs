//! Finding the contacts that already exist on both sides, so they are
//! linked instead of duplicated.
//!
//! Rules run in the configured order over what is still unmatched: a
//! stamped id, e-mail (normal form), phone (E.164), folded name with the
//! organisation as tie-breaker. Each rule builds a hash index per side
//! (blocking), so matching grows linearly with the number of contacts. A
//! match needs a key shared by exactly one contact on each side; anything
//! ambiguous stays unmatched. A match by name alone, or by an address whose
//! two contacts carry different names, waits for review.

use foldhash::{HashMap, HashMapExt, HashSet};

use serde::{Deserialize, Serialize};

use crate::config::MatchRule;
use crate::model::normal::Normalizer;
use crate::model::record::Record;
use crate::model::{PerSide, Side, fold};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Stamp,
    Email,
    Phone,
    Name,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Stamp => "stamp",
            Evidence::Email => "email",
            Evidence::Phone => "phone",
            Evidence::Name => "name",
        }
    }
}

/// Two records (indexes into the candidate lists' records) found to be one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Per side: the record's index in that side's candidates.
    pub index: PerSide<usize>,
    pub evidence: Evidence,
    pub review: bool,
}

/// How records are compared for matching.
pub struct Matcher<'a> {
    pub rules: &'a [MatchRule],
    /// Per side: whether its records keep the other side's id (`stamp`).
    pub stamps: PerSide<bool>,
    pub normalizer: &'a Normalizer,
}

/// Keys are hashed once with XXH3; the map then uses the hash as it is.
type KeyHash = std::hash::BuildHasherDefault<PassThrough>;

#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64(bytes);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn hash_key(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

fn family_key(record: &Record) -> String {
    fold::german(&record.contact.family)
}

fn name_keys(record: &Record) -> Vec<String> {
    let c = &record.contact;
    let name = if c.given.trim().is_empty() && c.family.trim().is_empty() {
        c.full.clone()
    } else {
        format!("{} {}", c.given, c.family)
    };
    let german = fold::german(&name);
    if german.is_empty() {
        return Vec::new();
    }
    let plain = fold::plain(&name);
    let mut keys = vec![format!("g:{german}")];
    if plain != german {
        keys.push(format!("p:{plain}"));
    }
    keys
}

impl Matcher<'_> {
    /// Whether two records share nothing that says they are one person:
    /// every name part they both have differs, and no e-mail address or
    /// phone number is on both.
    fn strangers(&self, l: &Record, r: &Record) -> bool {
        let parts =
            |c: &crate::model::contact::Contact| [fold::german(&c.given), fold::german(&c.family)];
        let (a, b) = (parts(&l.contact), parts(&r.contact));
        let compared: Vec<bool> = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| !x.is_empty() && !y.is_empty())
            .map(|(x, y)| x == y)
            .collect();
        if compared.iter().any(|same| *same) {
            return false;
        }
        // No name on both sides (a company's row): the organisation tells.
        if compared.is_empty() {
            let org = |rec: &Record| fold::german(&rec.contact.org_name);
            let (a, b) = (org(l), org(r));
            if !a.is_empty() && a == b {
                return false;
            }
        }
        let emails = |rec: &Record| -> HashSet<String> {
            (rec.contact.emails.iter())
                .map(|e| e.value.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect()
        };
        let phones = |rec: &Record| -> HashSet<String> {
            (rec.contact.phones.iter())
                .filter_map(|p| self.normalizer.phone(&p.value))
                .collect()
        };
        emails(l).is_disjoint(&emails(r)) && phones(l).is_disjoint(&phones(r))
    }

    fn keys(&self, rule: MatchRule, record: &Record, side: Side) -> Vec<String> {
        let mut keys: Vec<String> = match rule {
            MatchRule::Stamp => {
                // `L:x` is the left record known as x, `R:x` the right one.
                let (own, other) = match side {
                    Side::Left => ("L", "R"),
                    Side::Right => ("R", "L"),
                };
                let mut keys = Vec::new();
                if *self.stamps.get(side)
                    && let Some(s) = record
                        .stamp
                        .as_deref()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                {
                    keys.push(format!("{other}:{s}"));
                }
                if *self.stamps.get(side.opposite()) {
                    keys.push(format!("{own}:{}", record.id));
                    if let Some(uid) = &record.uid {
                        keys.push(format!("{own}:{uid}"));
                    }
                }
                keys
            }
            MatchRule::Email => record
                .contact
                .emails
                .iter()
                .map(|e| e.value.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            MatchRule::Phone => record
                .contact
                .phones
                .iter()
                .filter_map(|p| self.normalizer.phone(&p.value))
                .collect(),
            MatchRule::Name => name_keys(record),
        };
        keys.sort();
        keys.dedup();
        keys
    }

    /// Match `records` (per side: the unlinked candidates) and return the
    /// pairs found, as indexes into the two slices.
    pub fn find(&self, records: PerSide<&[&Record]>) -> Vec<Match> {
        let mut taken = PerSide::new(
            vec![false; records.left.len()],
            vec![false; records.right.len()],
        );
        let mut found = Vec::new();
        for &rule in self.rules {
            // Keys of what is still free, and an index per side.
            let mut keys: PerSide<Vec<Vec<String>>> = PerSide::default();
            // Indexed by the key's hash (no copy of the key; a hash shared
            // by two different keys is caught by comparing the keys).
            let mut index: PerSide<std::collections::HashMap<u64, Vec<usize>, KeyHash>> =
                PerSide::default();
            for side in Side::BOTH {
                let list = *records.get(side);
                let side_keys: Vec<Vec<String>> = list
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        if taken.get(side)[i] {
                            Vec::new()
                        } else {
                            self.keys(rule, r, side)
                        }
                    })
                    .collect();
                let map = index.get_mut(side);
                for (i, ks) in side_keys.iter().enumerate() {
                    for k in ks {
                        map.entry(hash_key(k)).or_default().push(i);
                    }
                }
                *keys.get_mut(side) = side_keys;
            }
            let candidates = |side: Side, i: usize, taken: &PerSide<Vec<bool>>| -> Vec<usize> {
                let other = side.opposite();
                let other_keys = keys.get(other);
                let mut out: Vec<usize> = keys.get(side)[i]
                    .iter()
                    .filter_map(|k| {
                        let hits = index.get(other).get(&hash_key(k))?;
                        Some(hits.iter().filter(move |&&j| other_keys[j].contains(k)))
                    })
                    .flatten()
                    .copied()
                    .filter(|&j| !taken.get(other)[j])
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            };
            for li in 0..records.left.len() {
                if taken.left[li] || keys.left[li].is_empty() {
                    continue;
                }
                let mut rights = candidates(Side::Left, li, &taken);
                let org =
                    |side: Side, i: usize| fold::german(&records.get(side)[i].contact.org_name);
                if rule == MatchRule::Name && rights.len() > 1 {
                    // Tie-breaker: the same organisation.
                    let want = org(Side::Left, li);
                    rights.retain(|&j| !want.is_empty() && org(Side::Right, j) == want);
                }
                let [ri] = rights[..] else { continue };
                let mut lefts = candidates(Side::Right, ri, &taken);
                if rule == MatchRule::Name && lefts.len() > 1 {
                    let want = org(Side::Right, ri);
                    lefts.retain(|&j| !want.is_empty() && org(Side::Left, j) == want);
                }
                if lefts != [li] {
                    continue;
                }
                let (l, r) = (records.left[li], records.right[ri]);
                let review = match rule {
                    MatchRule::Name => true,
                    // A stamp left behind (an undo, a forgotten link) on a
                    // card whose CRM id went to someone new: it says
                    // linked, everything else says strangers.
                    MatchRule::Stamp => self.strangers(l, r),
                    // A shared address (info@…) between two different people.
                    MatchRule::Email | MatchRule::Phone => {
                        // Folding is costly; the same spelling needs none.
                        let same_spelling = l.contact.family.trim().to_lowercase()
                            == r.contact.family.trim().to_lowercase();
                        let (a, b) = if same_spelling {
                            (String::new(), String::new())
                        } else {
                            (family_key(l), family_key(r))
                        };
                        !a.is_empty()
                            && !b.is_empty()
                            && a != b
                            && fold::plain(&l.contact.family) != fold::plain(&r.contact.family)
                    }
                };
                taken.left[li] = true;
                taken.right[ri] = true;
                found.push(Match {
                    index: PerSide::new(li, ri),
                    evidence: match rule {
                        MatchRule::Stamp => Evidence::Stamp,
                        MatchRule::Email => Evidence::Email,
                        MatchRule::Phone => Evidence::Phone,
                        MatchRule::Name => Evidence::Name,
                    },
                    review,
                });
            }
        }
        found
    }
}

/// Every record of one store by e-mail, phone and folded name, to find
/// what a new contact may duplicate (a create that waits for review
/// instead of a second copy of a person).
pub struct Lookalikes<'a> {
    records: &'a [Record],
    keys: HashMap<String, Vec<usize>>,
    normalizer: &'a Normalizer,
    /// Some record has a phone key: only then are a new contact's phone
    /// numbers parsed (the costliest key; none at all into an empty store).
    phones: bool,
}

impl<'a> Lookalikes<'a> {
    pub fn new(records: &'a [Record], normalizer: &'a Normalizer) -> Self {
        let mut keys: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            for k in lookalike_keys(r, normalizer, true) {
                keys.entry(k).or_default().push(i);
            }
        }
        let phones = keys.keys().any(|k| k.starts_with("t:"));
        Lookalikes {
            records,
            keys,
            normalizer,
            phones,
        }
    }

    /// Records that may be the same person as `record`: a shared e-mail or
    /// phone number with no contradicting family name, or the same folded
    /// name with no contradicting organisation.
    pub fn of(&self, record: &Record) -> Vec<&'a Record> {
        if self.keys.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<usize> = lookalike_keys(record, self.normalizer, self.phones)
            .iter()
            .filter_map(|k| self.keys.get(k).map(|v| (k, v)))
            .flat_map(|(k, v)| v.iter().map(move |&i| (k.starts_with("n:"), i)))
            .filter(|&(by_name, i)| {
                let other = &self.records[i];
                if by_name {
                    let (a, b) = (
                        fold::german(&record.contact.org_name),
                        fold::german(&other.contact.org_name),
                    );
                    a.is_empty() || b.is_empty() || a == b
                } else {
                    let (a, b) = (family_key(record), family_key(other));
                    a.is_empty() || b.is_empty() || a == b
                }
            })
            .map(|(_, i)| i)
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter().map(|i| &self.records[i]).collect()
    }
}

/// `phones`: with the phone numbers' keys (each number parsed).
fn lookalike_keys(record: &Record, normalizer: &Normalizer, phones: bool) -> Vec<String> {
    let c = &record.contact;
    let mut keys: Vec<String> = c
        .emails
        .iter()
        .map(|e| e.value.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .map(|e| format!("e:{e}"))
        .collect();
    if phones {
        keys.extend(
            c.phones
                .iter()
                .filter_map(|p| normalizer.phone(&p.value))
                .map(|p| format!("t:{p}")),
        );
    }
    keys.extend(name_keys(record).into_iter().map(|k| format!("n:{k}")));
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::contact::{Contact, Typed};

    fn record(id: &str, given: &str, family: &str, email: &str, phone: &str) -> Record {
        let mut contact = Contact {
            given: given.into(),
            family: family.into(),
            ..Contact::default()
        };
        if !email.is_empty() {
            contact.emails.push(Typed {
                kind: None,
                value: email.into(),
            });
        }
        if !phone.is_empty() {
            contact.phones.push(Typed {
                kind: None,
                value: phone.into(),
            });
        }
        Record {
            id: id.into(),
            revision: "r".into(),
            contact: contact.into(),
            in_scope: true,
            stamp: None,
            uid: None,
            modified: None,
        }
    }

    fn run(left: &[Record], right: &[Record]) -> Vec<(String, String, Evidence, bool)> {
        let normalizer = Normalizer::new("DE").unwrap();
        let rules = [
            MatchRule::Stamp,
            MatchRule::Email,
            MatchRule::Phone,
            MatchRule::Name,
        ];
        let matcher = Matcher {
            rules: &rules,
            stamps: PerSide::new(false, true),
            normalizer: &normalizer,
        };
        let l: Vec<&Record> = left.iter().collect();
        let r: Vec<&Record> = right.iter().collect();
        matcher
            .find(PerSide::new(&l[..], &r[..]))
            .into_iter()
            .map(|m| {
                (
                    left[m.index.left].id.clone(),
                    right[m.index.right].id.clone(),
                    m.evidence,
                    m.review,
                )
            })
            .collect()
    }

    #[test]
    fn rules_in_order_and_names_wait_for_review() {
        let mut stamped = record("b.vcf", "Anna", "Berg", "", "");
        stamped.stamp = Some("7".into());
        let left = [
            record("7", "Anna", "Berg", "", ""),
            record("8", "Otto", "Kern", "OTTO@x.de ", ""),
            record("9", "Eva", "Lang", "", "030 1234567"),
            record("10", "Jörg", "Müller", "", ""),
        ];
        let right = [
            record("m.vcf", "Jörg", "MUELLER", "", ""),
            record("p.vcf", "Eva", "Lang", "", "+49 30 1234567"),
            record("o.vcf", "Otto", "Kern", "otto@x.de", ""),
            stamped,
        ];
        let found = run(&left, &right);
        assert!(found.contains(&("7".into(), "b.vcf".into(), Evidence::Stamp, false)));
        assert!(found.contains(&("8".into(), "o.vcf".into(), Evidence::Email, false)));
        assert!(found.contains(&("9".into(), "p.vcf".into(), Evidence::Phone, false)));
        assert!(found.contains(&("10".into(), "m.vcf".into(), Evidence::Name, true)));
        assert_eq!(found.len(), 4);
    }

    #[test]
    fn ambiguous_keys_and_strangers_are_not_linked() {
        // Two people share one address on the right: no link by e-mail.
        let left = [record("1", "Ina", "Wolf", "info@firma.de", "")];
        let right = [
            record("a", "Tom", "Hahn", "info@firma.de", ""),
            record("b", "Ute", "Roth", "info@firma.de", ""),
        ];
        assert!(run(&left, &right).is_empty());
        // One shared address, different people: found, but waits for review.
        let found = run(&left, &right[..1]);
        assert_eq!(found, [("1".into(), "a".into(), Evidence::Email, true)]);
        // Nothing in common: nothing.
        let right = [record("c", "Ina", "Wolff", "ina@else.de", "")];
        assert!(run(&left, &right).is_empty());
    }
}
