//! What becomes of one link. From what the link finds on each side of the
//! snapshot, one exhaustive `match` picks an action ([`LinkAction::for_link`]);
//! the planner carries it out. Everything a link can find is in the table
//! of the tests below.

use crate::config::Mode;
use crate::model::{PerSide, Side};

/// What a link finds on one side of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// No record with the link's id (or the link has none on this side),
    /// and no unreadable record that may be it.
    Absent,
    /// No record with the link's id, but a record that could not be read
    /// may be it.
    Unreadable,
    /// The record, outside the sync scope.
    OutOfScope,
    /// The record, in scope, at the revision the link recorded, and the
    /// field set is the one the revisions were taken under
    /// (`Inputs::trust_revisions`).
    Unchanged,
    /// The record, in scope, still the contact the link was made for; it
    /// may have changed.
    InScope,
    /// The record, in scope, but it holds someone else now (see
    /// `Planner::identity_changed`).
    SomeoneNew,
}

/// What the planner does with one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinkAction {
    /// Nothing of the pair is left in scope: forget the link.
    Forget,
    /// A tombstone with something left of it: kept until `abgleich forget`.
    KeepTombstone,
    /// A record could not be read, and is never taken as deleted: nothing
    /// is planned for the pair.
    Wait,
    /// Neither record changed since the last sync: nothing to compare.
    NothingChanged,
    /// Both records in scope: compare them field by field.
    Compare,
    /// Deleted on this side, in scope on the other: the mode and the
    /// delete policy decide.
    Gone(Side),
    /// Out of the scope on this side, in scope on the other: the scope
    /// policy decides.
    LeftScope(Side),
    /// Out of the scope on one side, in a mode that neither deletes nor
    /// unlinks: the link stays as it is.
    HoldScopeExit,
    /// Someone new on this side, the linked contact still in scope on the
    /// other: the contact is taken as deleted on this side, the record as a
    /// new contact; both wait for review.
    Replaced(Side),
    /// Someone new on this side, and nothing of the linked contact on the
    /// other (gone, or out of scope): forget the link; the record is matched
    /// or created like any record no link holds.
    ForgetAsNew(Side),
    /// Someone new on both sides: the linked contact is gone everywhere.
    ForgetBothAsNew,
}

impl LinkAction {
    /// The action for a link (`tombstone`: the link is a tombstone) that
    /// finds `found` on each side, in `mode`.
    pub(super) fn for_link(tombstone: bool, found: &PerSide<Found>, mode: Mode) -> LinkAction {
        use Found::{Absent, InScope, OutOfScope, SomeoneNew, Unchanged, Unreadable};
        use Side::{Left, Right};
        // Only a two-way sync deletes and unlinks.
        let sync = mode == Mode::Sync;
        match (tombstone, found.left, found.right) {
            // A tombstone is kept until `forget`, and forgotten when nothing
            // is left of it.
            (true, Absent, Absent) => LinkAction::Forget,
            (true, Unreadable | OutOfScope | Unchanged | InScope | SomeoneNew, _)
            | (true, _, Unreadable | OutOfScope | Unchanged | InScope | SomeoneNew) => {
                LinkAction::KeepTombstone
            }
            // A record that could not be read is never taken as deleted.
            (false, Unreadable, _) | (false, _, Unreadable) => LinkAction::Wait,
            (false, Unchanged, Unchanged) => LinkAction::NothingChanged,
            (false, InScope | Unchanged, InScope | Unchanged) => LinkAction::Compare,
            // One-way modes never delete: the pair is compared, and the
            // update waits for review.
            (false, SomeoneNew, InScope | Unchanged | SomeoneNew)
            | (false, InScope | Unchanged, SomeoneNew)
                if !sync =>
            {
                LinkAction::Compare
            }
            (false, SomeoneNew, InScope | Unchanged) => LinkAction::Replaced(Left),
            (false, InScope | Unchanged, SomeoneNew) => LinkAction::Replaced(Right),
            (false, SomeoneNew, SomeoneNew) => LinkAction::ForgetBothAsNew,
            (false, Absent, InScope | Unchanged) => LinkAction::Gone(Left),
            (false, InScope | Unchanged, Absent) => LinkAction::Gone(Right),
            (false, OutOfScope, InScope | Unchanged) if sync => LinkAction::LeftScope(Left),
            (false, InScope | Unchanged, OutOfScope) if sync => LinkAction::LeftScope(Right),
            (false, OutOfScope, InScope | Unchanged) | (false, InScope | Unchanged, OutOfScope) => {
                LinkAction::HoldScopeExit
            }
            // Gone or out of scope on one side, someone else on the other:
            // nothing of the linked contact is left.
            (false, Absent | OutOfScope, SomeoneNew) => LinkAction::ForgetAsNew(Right),
            (false, SomeoneNew, Absent | OutOfScope) => LinkAction::ForgetAsNew(Left),
            (false, Absent | OutOfScope, Absent | OutOfScope) => LinkAction::Forget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Found::{self, Absent, InScope, OutOfScope, SomeoneNew, Unchanged, Unreadable};
    use super::LinkAction::{self, *};
    use crate::config::Mode;
    use crate::model::PerSide;
    use crate::model::Side::{Left, Right};

    const FOUND: [Found; 6] = [
        Absent, Unreadable, OutOfScope, Unchanged, InScope, SomeoneNew,
    ];

    /// Per (left, right): the action in `sync`, in every other mode, and for
    /// a tombstone (in any mode).
    #[rustfmt::skip]
    const TABLE: &[(Found, Found, LinkAction, LinkAction, LinkAction)] = &[
        // (left,    right,       sync,                one-way,             tombstone)
        (Absent,      Absent,      Forget,              Forget,              Forget),
        (Absent,      Unreadable,  Wait,                Wait,                KeepTombstone),
        (Absent,      OutOfScope,  Forget,              Forget,              KeepTombstone),
        (Absent,      Unchanged,   Gone(Left),          Gone(Left),          KeepTombstone),
        (Absent,      InScope,     Gone(Left),          Gone(Left),          KeepTombstone),
        (Absent,      SomeoneNew,  ForgetAsNew(Right),  ForgetAsNew(Right),  KeepTombstone),
        (Unreadable,  Absent,      Wait,                Wait,                KeepTombstone),
        (Unreadable,  Unreadable,  Wait,                Wait,                KeepTombstone),
        (Unreadable,  OutOfScope,  Wait,                Wait,                KeepTombstone),
        (Unreadable,  Unchanged,   Wait,                Wait,                KeepTombstone),
        (Unreadable,  InScope,     Wait,                Wait,                KeepTombstone),
        (Unreadable,  SomeoneNew,  Wait,                Wait,                KeepTombstone),
        (OutOfScope,  Absent,      Forget,              Forget,              KeepTombstone),
        (OutOfScope,  Unreadable,  Wait,                Wait,                KeepTombstone),
        (OutOfScope,  OutOfScope,  Forget,              Forget,              KeepTombstone),
        (OutOfScope,  Unchanged,   LeftScope(Left),     HoldScopeExit,       KeepTombstone),
        (OutOfScope,  InScope,     LeftScope(Left),     HoldScopeExit,       KeepTombstone),
        (OutOfScope,  SomeoneNew,  ForgetAsNew(Right),  ForgetAsNew(Right),  KeepTombstone),
        (Unchanged,   Absent,      Gone(Right),         Gone(Right),         KeepTombstone),
        (Unchanged,   Unreadable,  Wait,                Wait,                KeepTombstone),
        (Unchanged,   OutOfScope,  LeftScope(Right),    HoldScopeExit,       KeepTombstone),
        (Unchanged,   Unchanged,   NothingChanged,      NothingChanged,      KeepTombstone),
        (Unchanged,   InScope,     Compare,             Compare,             KeepTombstone),
        (Unchanged,   SomeoneNew,  Replaced(Right),     Compare,             KeepTombstone),
        (InScope,     Absent,      Gone(Right),         Gone(Right),         KeepTombstone),
        (InScope,     Unreadable,  Wait,                Wait,                KeepTombstone),
        (InScope,     OutOfScope,  LeftScope(Right),    HoldScopeExit,       KeepTombstone),
        (InScope,     Unchanged,   Compare,             Compare,             KeepTombstone),
        (InScope,     InScope,     Compare,             Compare,             KeepTombstone),
        (InScope,     SomeoneNew,  Replaced(Right),     Compare,             KeepTombstone),
        (SomeoneNew,  Absent,      ForgetAsNew(Left),   ForgetAsNew(Left),   KeepTombstone),
        (SomeoneNew,  Unreadable,  Wait,                Wait,                KeepTombstone),
        (SomeoneNew,  OutOfScope,  ForgetAsNew(Left),   ForgetAsNew(Left),   KeepTombstone),
        (SomeoneNew,  Unchanged,   Replaced(Left),      Compare,             KeepTombstone),
        (SomeoneNew,  InScope,     Replaced(Left),      Compare,             KeepTombstone),
        (SomeoneNew,  SomeoneNew,  ForgetBothAsNew,     Compare,             KeepTombstone),
    ];

    #[test]
    fn every_combination_has_its_action() {
        for left in FOUND {
            for right in FOUND {
                let rows: Vec<_> = TABLE
                    .iter()
                    .filter(|row| (row.0, row.1) == (left, right))
                    .collect();
                assert_eq!(rows.len(), 1, "({left:?}, {right:?}) in the table");
                let &(_, _, sync, one_way, tombstone) = rows[0];
                let found = PerSide::new(left, right);
                for &mode in Mode::ALL {
                    let expected = if mode == Mode::Sync { sync } else { one_way };
                    assert_eq!(
                        LinkAction::for_link(false, &found, mode),
                        expected,
                        "({left:?}, {right:?}) in {mode}"
                    );
                    assert_eq!(
                        LinkAction::for_link(true, &found, mode),
                        tombstone,
                        "tombstone, ({left:?}, {right:?}) in {mode}"
                    );
                }
            }
        }
    }
}
