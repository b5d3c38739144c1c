//! A linked pair with a side gone: deleted there, out of the sync scope, or
//! holding someone else now (an id the store gave to a new contact); what
//! the delete policies, the scope policy and the mode make of it.

use foldhash::{HashSet, HashSetExt};

use super::planner::{Planner, value};
use super::types::{Changes, LinkAfter, Op, OpKind, Refresh, Target};
use super::warning::{Clue, Replacement, Warning};
use crate::config::{DeletePolicy, MatchRule, Mode, ScopeExit};
use crate::model::contact::{FieldClass, FieldPath, Kind};
use crate::model::record::Record;
use crate::model::{PerSide, Side};
use crate::sync::state::{BaseValue, Link};

/// A linked record that now holds someone else (see
/// [`Planner::identity_changed`]).
pub(super) struct Replaced {
    /// The name it had at the last sync.
    was: String,
    /// What tells the two apart, besides the name.
    how: Clue,
}

impl Planner<'_> {
    /// A pair whose `gone` side was deleted (or whose side left the scope).
    pub(super) fn one_sided(
        &mut self,
        link: &Link,
        gone: Side,
        kept: &Record,
        scope_exit: bool,
        replaced: Option<Warning>,
    ) {
        if self.side(gone.opposite()).is_unparsed(&kept.id) {
            return;
        }
        let mode = self.inp.policy.mode;
        let kept_side = gone.opposite();
        let ids = link.ids.clone();
        let mut revs = PerSide::new(None, None);
        *revs.get_mut(kept_side) = Some(kept.revision.clone());
        if scope_exit {
            *revs.get_mut(gone) = self.record(gone, link.id(gone)).map(|r| r.revision.clone());
        }
        let mut op = Op {
            id: String::new(),
            kind: OpKind::Unlink,
            target: Target::of(&[kept_side]),
            ids: ids.clone(),
            review: false,
            evidence: None,
            changes: Changes::default(),
            warnings: Vec::new(),
            name: kept.contact.display_name(),
            revs,
            link: Some(Box::new(link.clone())),
            after: LinkAfter::Linked,
            pending: Vec::new(),
            stamp: PerSide::default(),
        };
        let gone_name = self.inp.fields.names.get(gone).clone();
        if scope_exit {
            let created_here = link.created_on == Some(kept_side);
            if self.inp.policy.scope_exit == ScopeExit::DeleteIfCreated
                && created_here
                && mode == Mode::Sync
            {
                op.kind = OpKind::Delete;
                op.after = LinkAfter::Drop;
                op.warnings
                    .push(Warning::LeftScopeCreatedHere { side: gone });
            } else {
                op.after = LinkAfter::Tombstone {
                    gone: None,
                    reason: format!("left the sync scope in {gone_name}"),
                };
            }
            self.push(op);
            return;
        }
        // Deleted on `gone`. One-way modes never delete; the winner puts a lost copy back.
        if mode != Mode::Sync {
            if mode.winner() == Some(kept_side) {
                // Re-create on the loser and link anew.
                self.refreshes.push(Refresh::Drop(link.link_id));
                self.create(kept_side, kept);
            }
            return;
        }
        let policy = *self.inp.policy.deletes.get(gone);
        let changed_since = link.revs.get(kept_side).as_deref() != Some(kept.revision.as_str())
            && self.changed_since_base(link, kept_side, kept);
        match policy {
            DeletePolicy::Keep => {
                op.after = LinkAfter::Tombstone {
                    gone: Some(gone),
                    reason: format!(
                        "deleted in {gone_name} (was {})",
                        link.id(gone).unwrap_or("?")
                    ),
                };
                op.warnings.push(Warning::DeletedKept { deleted_in: gone });
            }
            DeletePolicy::Propagate | DeletePolicy::Ask => {
                op.kind = OpKind::Delete;
                op.after = LinkAfter::Drop;
                if policy == DeletePolicy::Ask {
                    op.review = true;
                }
                if changed_since {
                    op.review = true;
                    op.warnings
                        .push(Warning::ChangedSinceSync { side: kept_side });
                }
            }
        }
        if let Some(why) = replaced {
            op.review = true;
            op.warnings.push(why);
        } else if link.id(gone).is_none() && op.kind == OpKind::Delete {
            // The id went to a new contact in an earlier apply while this
            // delete waited: it still waits.
            op.review = true;
            op.warnings.push(Warning::IdGivenAway { side: gone });
        }
        self.push(op);
    }

    /// Who `rec`, the record `link` finds on `side`, holds now, if it is in
    /// scope and someone else than the contact the link was made for.
    pub(super) fn someone_new(
        &self,
        link: &Link,
        side: Side,
        rec: Option<&Record>,
    ) -> Option<Replaced> {
        rec.filter(|r| r.in_scope)
            .and_then(|r| self.identity_changed(link, side, r))
    }

    /// Whether `rec`, linked on `side`, is now someone else than the contact
    /// the link was made for (a store that gave a deleted record's id to a
    /// new one, as SQLite does): the name it had at the last sync, and why.
    ///
    /// Someone else: every name part the contact had is now different (and
    /// it has a name). Or, where the store reuses ids, its family name
    /// changed under the same given name and nothing else says it is the
    /// same person (a new surname alone is): none of the e-mail addresses
    /// and phone numbers it had at the last sync is left, or, when it had
    /// none, one of its addresses or numbers is an unlinked contact's on
    /// the other side. A new family name with nothing else to tell is the
    /// same person under a new surname.
    pub(super) fn identity_changed(
        &self,
        link: &Link,
        side: Side,
        rec: &Record,
    ) -> Option<Replaced> {
        // Unchanged since the last sync, or listed without its values.
        if link.revs.get(side).as_deref() == Some(rec.revision.as_str())
            || self.side(side).is_unparsed(&rec.id)
        {
            return None;
        }
        let was = |path: FieldPath| match link.base.get(&path) {
            BaseValue::Known(b) => b.get(side).clone().unwrap_or_default(),
            BaseValue::Unknown => String::new(),
        };
        let (given, family) = (was(FieldPath::NameGiven), was(FieldPath::NameFamily));
        let name = format!("{given} {family}").trim().to_string();
        let fold = |t: &str| crate::model::fold::german(t);
        let parts = [(&given, &rec.contact.given), (&family, &rec.contact.family)];
        // Every name part the contact had is now different, and it has a
        // name (a new surname alone is the same person).
        let had: Vec<_> = parts
            .iter()
            .filter(|(old, _)| !fold(old).is_empty())
            .collect();
        let named = parts.iter().any(|(_, new)| !fold(new).is_empty());
        if named && !had.is_empty() && had.iter().all(|(old, new)| fold(old) != fold(new)) {
            return Some(Replaced {
                was: name,
                how: Clue::Name,
            });
        }
        // A new family name under the same given name, in a store that
        // gives deleted records' ids to new ones: the addresses and numbers
        // decide.
        let (old_family, new_family) = (fold(&family), fold(&rec.contact.family));
        // A card known by its place in a one-file book (no UID): another
        // card may stand there now, so any changed name part is asked
        // about the same way.
        let by_place = super::moved::positional(rec);
        let name_changed = if by_place {
            had.iter().any(|(old, new)| fold(old) != fold(new))
        } else {
            *self.inp.policy.reuses_ids.get(side)
                && !old_family.is_empty()
                && !new_family.is_empty()
                && old_family != new_family
        };
        if !name_changed {
            return None;
        }
        let normalizer = self.inp.normalizer;
        let mut known: HashSet<String> = HashSet::new();
        for field in &self.inp.fields.fields {
            let tag = match field.path.class() {
                FieldClass::Email => "e",
                FieldClass::Phone => "t",
                _ => continue,
            };
            if let BaseValue::Known(b) = link.base.get(&field.path)
                && let Some(v) = b.get(side)
            {
                let v = normalizer.normalize(&field.path, v);
                if !v.is_empty() {
                    known.insert(format!("{tag}:{v}"));
                }
            }
        }
        if !known.is_empty() {
            let email = FieldPath::Email {
                kind: None,
                index: 0,
            };
            let phone = FieldPath::Phone {
                kind: Kind::Work,
                index: 0,
            };
            let emails = rec
                .contact
                .emails
                .iter()
                .map(|e| format!("e:{}", normalizer.normalize(&email, &e.value)));
            let phones = rec
                .contact
                .phones
                .iter()
                .map(|p| format!("t:{}", normalizer.normalize(&phone, &p.value)));
            if emails.chain(phones).any(|k| known.contains(&k)) {
                return None;
            }
            return Some(Replaced {
                was: name,
                how: Clue::NoAddressLeft,
            });
        }
        let other = side.opposite();
        let free = self.free_keys.get(other).get_or_init(|| {
            let linked: HashSet<&str> = self.inp.links.iter().filter_map(|l| l.id(other)).collect();
            self.side(other)
                .records
                .iter()
                .filter(|r| r.in_scope && !linked.contains(r.id.as_str()))
                .flat_map(|r| self.contact_keys(r))
                .collect()
        });
        self.contact_keys(rec)
            .iter()
            .any(|k| free.contains(k))
            .then_some(Replaced {
                was: name,
                how: Clue::UnlinkedElsewhere,
            })
    }

    /// The e-mail addresses and phone numbers by which the matcher would
    /// link `rec` (as far as the match rules use them).
    fn contact_keys(&self, rec: &Record) -> Vec<String> {
        let rules = &self.inp.policy.match_rules;
        let mut keys = Vec::new();
        if rules.contains(&MatchRule::Email) {
            keys.extend(
                rec.contact
                    .emails
                    .iter()
                    .map(|e| e.value.trim().to_lowercase())
                    .filter(|e| !e.is_empty())
                    .map(|e| format!("e:{e}")),
            );
        }
        if rules.contains(&MatchRule::Phone) {
            keys.extend(
                rec.contact
                    .phones
                    .iter()
                    .filter_map(|p| self.inp.normalizer.phone(&p.value))
                    .map(|p| format!("t:{p}")),
            );
        }
        keys
    }

    /// Who `rec`, on `side`, was and is, for the warnings of a pair whose
    /// `side` holds someone else.
    pub(super) fn replacement(&self, side: Side, rec: &Record, r: &Replaced) -> Replacement {
        Replacement {
            side,
            id: rec.id.clone(),
            was: r.was.clone(),
            now: rec.contact.display_name(),
            clue: r.how,
        }
    }

    fn changed_since_base(&self, link: &Link, side: Side, rec: &Record) -> bool {
        self.inp.fields.fields.iter().any(|f| {
            let b = link.base.get(&f.path);
            match b {
                BaseValue::Known(b) => {
                    let now = value(&rec.contact, &f.path);
                    !self.same(&f.path, now.as_deref(), b.get(side).as_deref())
                }
                BaseValue::Unknown => false,
            }
        })
    }
}
