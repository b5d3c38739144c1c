//! A linked record gone under its id but there under another: a card file
//! renamed or moved inside the folder keeps its UID (and its stamp), so it
//! is the same contact and its link follows it (SPEC §2 "Identity"), instead
//! of a delete of the other copy and a create of a new one.
//!
//! A link or tombstone whose id is gone on a card store's side (and no
//! unreadable record may be it) is matched with that side's records no link holds, rule by rule: by UID
//! (the one the link recorded, the one the other side's stamp holds, or the
//! one the file was named after), then by stamp (the other side's id the card carries), then by
//! revision (the very bytes the link last saw). A match needs exactly one
//! record for the link and exactly one link for the record; anything
//! ambiguous is left to the delete and create rules as before.

use foldhash::{HashMap, HashMapExt, HashSet};

use super::planner::Planner;
use super::types::identity;
use crate::model::Side;
use crate::model::record::Record;
use crate::store::vdir::file_name_for_uid;
use crate::sync::state::Link;

/// A record whose id is its place in a one-file book (`#N`, no UID).
pub(super) fn positional(rec: &Record) -> bool {
    rec.uid.is_none()
        && rec
            .id
            .strip_prefix('#')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// A link as the planner's walk sees it: as the state holds it, or moved
/// to its record's new id (a pointer either way, so the walk's list of
/// every link costs a few bytes a link, not a copy of each).
pub(super) enum Followed<'a> {
    Same(&'a Link),
    Moved(Box<Link>),
}

impl Followed<'_> {
    pub(super) fn moved(&self) -> bool {
        matches!(self, Followed::Moved(_))
    }
}

impl std::ops::Deref for Followed<'_> {
    type Target = Link;

    fn deref(&self) -> &Link {
        match self {
            Followed::Same(link) => link,
            Followed::Moved(link) => link,
        }
    }
}

#[derive(Clone, Copy)]
enum Rule {
    Uid,
    Stamp,
    Revision,
}

impl<'a> Planner<'a> {
    /// The links as the walk sees them: a link whose record moved holds
    /// the record's new id (owned); every other link as it is.
    pub(super) fn follow_moves(&self) -> Vec<Followed<'a>> {
        let links = self.inp.links;
        let mut out: Vec<Followed<'a>> = links.iter().map(Followed::Same).collect();
        for side in Side::BOTH {
            // A store that numbers its records itself (an SQL table) never
            // gives one a new id; card files are renamed.
            if *self.inp.policy.reuses_ids.get(side) {
                continue;
            }
            let snapshot = self.side(side);
            // Links and tombstones alike: a tombstone follows its card too,
            // so the card is not created again.
            // A link whose file now holds a card with another UID than the
            // one the link recorded, or (where cards carry the other side's
            // id) a stamp naming another record than the link's (two cards
            // that swapped names) looks for its own card too; its file is
            // free for the card's own.
            let other = side.opposite();
            let stamps_here = *self.inp.policy.stamps.get(side);
            let swapped_from = |l: &Link, rec: &Record| {
                if let (Some(was), Some(now)) = (
                    non_empty(l.uids.get(side).as_deref()),
                    non_empty(rec.uid.as_deref()),
                ) && was != now
                {
                    return true;
                }
                // A card known by its place in a one-file book (no UID)
                // whose bytes changed may be another card moved up.
                if positional(rec) && l.revs.get(side).as_deref() != Some(rec.revision.as_str()) {
                    return true;
                }
                let stamp = non_empty(rec.stamp.as_deref()).filter(|_| stamps_here);
                match (stamp, stamp.and_then(|_| self.record(other, l.id(other)))) {
                    (Some(stamp), Some(kept)) => stamp != kept.id && stamp != identity(kept),
                    _ => false,
                }
            };
            let swapped = |l: &Link| {
                let rec = l.id(side).and_then(|id| snapshot.get(id));
                rec.is_some_and(|rec| swapped_from(l, rec))
            };
            // Lost: its record swapped, or gone (and not merely unreadable).
            let lost: Vec<usize> = links
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    l.id(side).is_some_and(|id| match snapshot.get(id) {
                        Some(rec) => swapped_from(l, rec),
                        None => !snapshot.may_exist(id),
                    })
                })
                .map(|(i, _)| i)
                .collect();
            if lost.is_empty() {
                continue;
            }
            let held: HashSet<&str> = (links.iter())
                .filter(|l| !swapped(l))
                .filter_map(|l| l.id(side))
                .collect();
            let free: Vec<&'a Record> = snapshot
                .records
                .iter()
                .filter(|r| !held.contains(r.id.as_str()))
                .collect();
            if free.is_empty() {
                continue;
            }
            // Per free record, the lost link (its index in `lost`) that took it.
            let mut free_taken: Vec<Option<usize>> = vec![None; free.len()];
            let mut followed = vec![false; lost.len()];
            for rule in [Rule::Uid, Rule::Stamp, Rule::Revision] {
                let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
                for (j, rec) in free.iter().enumerate() {
                    if free_taken[j].is_some() {
                        continue;
                    }
                    for key in self.record_keys(rule, side, rec) {
                        by_key.entry(key).or_default().push(j);
                    }
                }
                // Per free record: the lost links that find it, and only it.
                let mut claims: HashMap<usize, Vec<usize>> = HashMap::new();
                for (n, &i) in lost.iter().enumerate() {
                    if followed[n] {
                        continue;
                    }
                    let mut found: Vec<usize> = self
                        .link_keys(rule, side, &out[i])
                        .iter()
                        .filter_map(|k| by_key.get(k))
                        .flatten()
                        .copied()
                        .collect();
                    found.sort_unstable();
                    found.dedup();
                    if let [j] = found[..] {
                        claims.entry(j).or_default().push(n);
                    }
                }
                for (j, ns) in claims {
                    let [n] = ns[..] else { continue };
                    free_taken[j] = Some(n);
                    followed[n] = true;
                    let mut link = Box::new((*out[lost[n]]).clone());
                    *link.ids.get_mut(side) = Some(free[j].id.clone());
                    out[lost[n]] = Followed::Moved(link);
                }
            }
            // A swapped link that found no card of its own keeps its record
            // when no other link took it (the card was edited in place); when
            // another link found its own card there (by UID, stamp or its
            // very bytes), this link's card is gone: its id went to someone
            // else, and its delete waits for review.
            let at: HashMap<&str, usize> = (free.iter().enumerate())
                .map(|(j, r)| (r.id.as_str(), j))
                .collect();
            for (n, &i) in lost.iter().enumerate() {
                if followed[n] || !swapped(&links[i]) {
                    continue;
                }
                let own = links[i].id(side).and_then(|id| at.get(id));
                if own.is_some_and(|&j| free_taken[j].is_some()) {
                    let mut link = Box::new(links[i].clone());
                    *link.ids.get_mut(side) = None;
                    out[i] = Followed::Moved(link);
                }
            }
        }
        out
    }

    /// What tells that `link`, gone on `side`, is the record found there
    /// under another id.
    fn link_keys(&self, rule: Rule, side: Side, link: &Link) -> Vec<String> {
        let other = side.opposite();
        let kept = self.record(other, link.id(other));
        let stamp_of = |rec: &Record| {
            rec.stamp
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut keys = Vec::new();
        match rule {
            Rule::Uid => {
                // The UID the card had when the link was last recorded.
                if let Some(uid) = link.uids.get(side).as_deref().map(str::trim)
                    && !uid.is_empty()
                {
                    keys.push(format!("u:{uid}"));
                }
                // The other side keeps this side's identity (the UID).
                if *self.inp.policy.stamps.get(other)
                    && let Some(uid) = kept.and_then(stamp_of)
                {
                    keys.push(format!("u:{uid}"));
                }
                if let Some(id) = link.id(side) {
                    keys.push(format!("n:{id}"));
                }
            }
            Rule::Stamp => {
                // This side's cards keep the other side's identity.
                if *self.inp.policy.stamps.get(side)
                    && let Some(kept) = kept
                {
                    keys.push(format!("s:{}", identity(kept)));
                    keys.push(format!("s:{}", kept.id));
                }
            }
            Rule::Revision => {
                if let Some(rev) = link.revs.get(side) {
                    keys.push(format!("r:{rev}"));
                }
            }
        }
        keys
    }

    /// The keys by which a record no link holds on `side` is found.
    fn record_keys(&self, rule: Rule, side: Side, rec: &Record) -> Vec<String> {
        match rule {
            Rule::Uid => rec
                .uid
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|uid| vec![format!("u:{uid}"), format!("n:{}", file_name_for_uid(uid))])
                .unwrap_or_default(),
            Rule::Stamp if *self.inp.policy.stamps.get(side) => rec
                .stamp
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| vec![format!("s:{s}")])
                .unwrap_or_default(),
            Rule::Stamp => Vec::new(),
            Rule::Revision => vec![format!("r:{}", rec.revision)],
        }
    }
}
