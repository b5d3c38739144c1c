//! The writes a card store holds back until its flush, one per record: a
//! later write to the same record takes the place of the earlier one (a
//! create stays a create, an update or delete keeps what the first write
//! read, a delete of a record created in the same batch leaves nothing).

use foldhash::{HashMap, HashMapExt};

use super::files::Landing;

/// One held write; `N` is the new content (a temporary file, the bytes).
pub(crate) enum Change<N> {
    Create(N),
    /// The record as read at `read` (a revision, an ETag) replaced.
    Update {
        read: String,
        new: N,
    },
    /// The record as read at `read` removed.
    Delete {
        read: String,
    },
    /// Created and removed again in one apply: nothing to do.
    Nothing,
}

/// The held writes in order, and the one for each record id.
pub(crate) struct Held<N> {
    writes: Vec<(String, Change<N>)>,
    at: HashMap<String, usize>,
}

impl<N> Default for Held<N> {
    fn default() -> Self {
        Held {
            writes: Vec::new(),
            at: HashMap::new(),
        }
    }
}

impl<N> Held<N> {
    pub(crate) fn get(&self, id: &str) -> Option<&Change<N>> {
        self.at.get(id).map(|&i| &self.writes[i].1)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.at.contains_key(id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.writes.clear();
        self.at.clear();
    }

    /// Every held write, in order; none is held after.
    pub(crate) fn take(&mut self) -> Vec<(String, Change<N>)> {
        self.at.clear();
        std::mem::take(&mut self.writes)
    }

    pub(crate) fn hold(&mut self, id: String, what: Change<N>) {
        let Some(&i) = self.at.get(&id) else {
            self.at.insert(id.clone(), self.writes.len());
            self.writes.push((id, what));
            return;
        };
        let earlier = std::mem::replace(&mut self.writes[i].1, Change::Nothing);
        let first_read = match earlier {
            Change::Update { read, .. } | Change::Delete { read } => Some(read),
            Change::Create(..) | Change::Nothing => None,
        };
        self.writes[i].1 = match (first_read, what) {
            (None, Change::Update { new, .. }) => Change::Create(new),
            (None, Change::Delete { .. }) => Change::Nothing,
            (Some(read), Change::Update { new, .. }) => Change::Update { read, new },
            (Some(read), Change::Delete { .. }) => Change::Delete { read },
            (_, other @ (Change::Create(..) | Change::Nothing)) => other,
        };
    }
}

/// What the journal is told before a batch of `writes` lands: each
/// record's new hash (`hash` of its new content), or that it goes.
pub(crate) fn landings<N>(
    writes: &[(String, Change<N>)],
    hash: impl Fn(&N) -> String,
) -> Vec<Landing> {
    writes
        .iter()
        .filter_map(|(id, what)| {
            let hash = match what {
                Change::Create(new) | Change::Update { new, .. } => Some(hash(new)),
                Change::Delete { .. } => None,
                Change::Nothing => return None,
            };
            Some(Landing {
                unit: id.clone(),
                hash,
                replaces: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_write_takes_the_place_of_the_earlier_one() {
        let mut held: Held<u8> = Held::default();
        held.hold("a".into(), Change::Create(1));
        held.hold(
            "a".into(),
            Change::Update {
                read: "x".into(),
                new: 2,
            },
        );
        held.hold(
            "b".into(),
            Change::Update {
                read: "r1".into(),
                new: 3,
            },
        );
        held.hold(
            "b".into(),
            Change::Update {
                read: "r2".into(),
                new: 4,
            },
        );
        held.hold("c".into(), Change::Create(5));
        held.hold("c".into(), Change::Delete { read: "y".into() });
        let writes = held.take();
        assert!(matches!(writes[0], (_, Change::Create(2))));
        assert!(matches!(&writes[1], (_, Change::Update { read, new: 4 }) if read == "r1"));
        assert!(matches!(writes[2], (_, Change::Nothing)));
        assert!(held.is_empty());
    }
}
