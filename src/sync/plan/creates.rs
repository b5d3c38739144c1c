//! Creates and link suggestions: what no link holds is matched with the
//! other side's unlinked records, and what finds no match is created there
//! (waiting for review when it looks like someone already there).

use foldhash::HashSet;

use super::planner::{Planner, value};
use super::types::{ChangeTexts, Changes, LinkAfter, Op, OpKind, StampWith, Target, identity};
use super::warning::{Someone, Warning};
use crate::model::contact::{FieldPath, PropName};
use crate::model::record::Record;
use crate::model::{PerSide, Side};
use crate::sync::matcher::{Lookalikes, Matcher};
use crate::sync::snapshot::SideSnapshot;

impl<'a> Planner<'a> {
    /// Records in scope that no link holds (`linked`: the ids links hold,
    /// per side): pairs the matcher finds are linked, the rest created on
    /// the other side where the mode writes there.
    pub(super) fn match_and_create(&mut self, linked: &PerSide<HashSet<&str>>) {
        let free: PerSide<Vec<&Record>> = PerSide::new(
            free_records(self.side(Side::Left), &linked.left),
            free_records(self.side(Side::Right), &linked.right),
        );
        let matcher = Matcher {
            rules: &self.inp.policy.match_rules,
            stamps: self.inp.policy.stamps.clone(),
            normalizer: self.inp.normalizer,
        };
        let found = matcher.find(PerSide::new(&free.left[..], &free.right[..]));
        let mut matched = PerSide::new(vec![false; free.left.len()], vec![false; free.right.len()]);
        for m in &found {
            for side in Side::BOTH {
                matched.get_mut(side)[*m.index.get(side)] = true;
            }
            let pair = PerSide::new(free.left[m.index.left], free.right[m.index.right]);
            self.plan_pair(None, pair, Some((m.evidence, m.review)));
        }
        for from in Side::BOTH {
            if !self.inp.policy.mode.writes_to(from.opposite()) {
                continue;
            }
            for (i, rec) in free.get(from).iter().enumerate() {
                if !matched.get(from)[i] {
                    self.create(from, rec);
                }
            }
        }
    }

    /// The UID a copy of `rec` on side `to` keeps (`card.UID`, which
    /// `apply` gives the new card): the card's own, unless a card on that
    /// side has it or an earlier create gives it.
    fn copy_uid(&mut self, rec: &Record, to: Side, changes: &mut Changes) -> Option<()> {
        let uid = rec.uid.as_deref()?;
        let side = &self.inp.snapshot.sides;
        let taken = self.uids.get_mut(to).get_or_insert_with(|| {
            side.get(to)
                .records
                .iter()
                .filter_map(|r| r.uid.clone())
                .collect()
        });
        if !taken.insert(uid.to_string()) {
            return None;
        }
        let path = FieldPath::Prop(PropName::new("UID")?);
        create_change(changes, path, to, Some(uid), Some(uid));
        Some(())
    }

    /// A create on the other side for `rec`, which no link holds and no
    /// match found.
    pub(super) fn create(&mut self, from: Side, rec: &Record) {
        let to = from.opposite();
        let mut changes = Changes::default();
        let mut warnings = Vec::new();
        for field in &self.inp.fields.fields {
            if !*field.writable.get(to) {
                continue;
            }
            let Some(v) = value(&rec.contact, &field.path) else {
                continue;
            };
            match self.convert(field, Some(&v), to) {
                Ok(w) => create_change(&mut changes, field.path, to, Some(&v), w.as_deref()),
                Err(w) => warnings.push(w),
            }
        }
        if self.inp.fields.whole_cards {
            // The whole card: the target copies the card itself (see
            // `apply::intents`); these say what it carries besides the fields.
            self.copy_uid(rec, to, &mut changes);
            // The copy carries their text: the change names it (`write`
            // stays empty, so a photo is held once more, not twice).
            for path in self.inp.fields.props_of([&*rec.contact], None) {
                let read = value(&rec.contact, &path);
                create_change(&mut changes, path, to, read.as_deref(), None);
            }
        }
        warnings.extend(self.inp.fields.uncarried(&rec.contact, to));
        // A second copy of a person is worse than a create that waits.
        let alike = self
            .lookalikes
            .get(to)
            .get_or_init(|| Lookalikes::new(&self.side(to).records, self.inp.normalizer))
            .of(rec);
        let mut review = !alike.is_empty();
        if let Some(why) = self.waiting.get(from).get(&rec.id) {
            review = true;
            warnings.push(why.clone());
        }
        if !alike.is_empty() {
            warnings.push(Warning::MaybeSamePerson {
                alike: alike
                    .iter()
                    .take(3)
                    .map(|r| Someone {
                        name: r.contact.display_name(),
                        id: r.id.clone(),
                    })
                    .collect(),
                more: alike.len() > 3,
                side: to,
            });
        }
        let mut ids = PerSide::new(None, None);
        *ids.get_mut(from) = Some(rec.id.clone());
        let mut revs = PerSide::new(None, None);
        *revs.get_mut(from) = Some(rec.revision.clone());
        let mut stamp = PerSide::default();
        if self.stamps(to) {
            *stamp.get_mut(to) = Some(StampWith::Id(identity(rec)));
        }
        if self.stamps(from) {
            *stamp.get_mut(from) = Some(StampWith::Created);
        }
        self.push(Op {
            id: String::new(),
            kind: OpKind::Create,
            target: Target::of(&[to]),
            ids,
            review,
            evidence: None,
            changes,
            warnings,
            name: rec.contact.display_name(),
            revs,
            link: None,
            after: LinkAfter::Linked,
            pending: Vec::new(),
            stamp,
        });
    }
}

/// A field a create writes to `to`: `read` on the other side, `write` what
/// `to` receives.
fn create_change(
    changes: &mut Changes,
    field: FieldPath,
    to: Side,
    read: Option<&str>,
    write: Option<&str>,
) {
    let mut texts = ChangeTexts::default();
    *texts.values.get_mut(to.opposite()) = read;
    *texts.write.get_mut(to) = write;
    changes.push(field, Some(to), texts);
}

fn free_records<'a>(side: &'a SideSnapshot, linked: &HashSet<&str>) -> Vec<&'a Record> {
    side.records
        .iter()
        .filter(|r| r.in_scope && !linked.contains(r.id.as_str()))
        .collect()
}
