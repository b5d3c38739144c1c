//! One run of the engine on a config: the state (locked), both stores, the
//! recovery of an unfinished apply, and a fresh snapshot and plan.

/// A long read of a server store tells its progress to the hook a front
/// end sets here (the front ends reach the stores only through the engine).
pub use crate::store::progress::set_read_progress;

use super::apply::{self, ApplyError};
use super::fields::FieldSet;
use super::plan::{self, Inputs, OpKind, Plan, Policy, Warning};
use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc;

use super::snapshot::{SideSnapshot, Snapshot};
use super::state::{self, Link, State, StateError};
use crate::config::{Config, ConfigError};
use crate::model::{PerSide, Side};
use crate::store::{self, ChangedListing, Known, Listing, ReadStore, Store, StoreError, Version};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{side} store {name}: {error}")]
    Store {
        side: Side,
        name: String,
        #[source]
        error: StoreError,
    },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// A request that would break a rule (linking a contact that is linked).
    #[error("{0}")]
    Refused(String),
}

/// How much of each record a read needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Values only where the plan compares them: a card unchanged since the
    /// last sync (same version token as remembered, the revision its link
    /// holds) whose partner is unchanged too comes back without its values.
    Plan,
    /// Every record with its values (the screen shows them all).
    Full,
}

/// Why a new config was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A store the new config names cannot be opened.
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Write(StoreError),
}

/// Save a new config text in place of `file` (atomically, keeping the
/// file's permissions), after checking it as `apply` would use it: it
/// parses, and both stores open. Returns the new config.
pub fn save_config(file: &Path, text: &str) -> Result<Config, SaveError> {
    let config = Config::parse(text, file)?;
    for side in Side::BOTH {
        store::open_read(config.store(side), &config.normalizer).map_err(SaveError::Store)?;
    }
    store::write_atomic(file, text.as_bytes(), false).map_err(SaveError::Write)?;
    Ok(config)
}

pub struct Session {
    pub config: Config,
    pub state: State,
    pub stores: PerSide<Box<dyn Store>>,
    pub fields: FieldSet,
    pub policy: Policy,
    /// What recovery did before this run (an unfinished apply rolled back).
    pub recovered: Vec<String>,
}

/// One side as read for a snapshot: its records indexed, and what the
/// state is to remember of the read.
#[derive(Default)]
struct SideRead {
    side: SideSnapshot,
    versions: Vec<(String, Known)>,
    remember: Option<String>,
}

impl SideRead {
    fn new(read: ChangedListing) -> SideRead {
        SideRead {
            side: SideSnapshot::with_unparsed(read.listing, &read.unparsed),
            versions: read.versions,
            remember: read.remember,
        }
    }

    fn full(listing: Listing) -> SideRead {
        SideRead {
            side: SideSnapshot::new(listing),
            ..SideRead::default()
        }
    }
}

impl Session {
    /// Lock the state, open both stores (a missing store is an error), and
    /// roll back an apply that did not finish.
    pub fn open(config: Config, command: &str) -> Result<Session, SessionError> {
        let state = State::open(&state::path_for(&config.file), command)?;
        let open = |side: Side| {
            let sc = config.store(side);
            store::open(sc, &config.normalizer).map_err(|error| SessionError::Store {
                side,
                name: sc.name.clone(),
                error,
            })
        };
        let stores = PerSide::new(open(Side::Left)?, open(Side::Right)?);
        let mut fields = FieldSet::from_config(&config);
        // What a column can take is the store's to say (its catalog).
        for field in &mut fields.fields {
            field.max_chars = PerSide::from_fn(|side| stores.get(side).max_chars(&field.path));
            field.value_kind = PerSide::from_fn(|side| stores.get(side).value_kind(&field.path));
        }
        let policy = Policy::from_config(&config);
        let mut session = Session {
            config,
            state,
            stores,
            fields,
            policy,
            recovered: Vec::new(),
        };
        session.recovered = apply::recover(&mut session.state, &mut session.stores)?;
        Ok(session)
    }

    /// Read both stores completely: every record with its values.
    pub fn read(&self) -> Result<Snapshot, SessionError> {
        self.snapshot(Depth::Full, &[], &mut |_| {})
    }

    /// Read both stores for planning (see [`Depth::Plan`]).
    pub fn read_for_plan(&self, links: &[Link]) -> Result<Snapshot, SessionError> {
        self.snapshot(Depth::Plan, links, &mut |_| {})
    }

    fn store_error(&self, side: Side, error: StoreError) -> SessionError {
        SessionError::Store {
            side,
            name: self.stores.get(side).name().to_string(),
            error,
        }
    }

    /// Read both stores into a snapshot, telling `progress` which side is
    /// read next. The one way the command line and the screen read.
    pub fn snapshot(
        &self,
        depth: Depth,
        links: &[Link],
        progress: &mut dyn FnMut(Side),
    ) -> Result<Snapshot, SessionError> {
        let load = || Ok(Cow::Borrowed(links));
        Ok(self.snapshot_loading(depth, load, progress)?.1)
    }

    /// The links, and [`Session::snapshot`] on them: a store that can be
    /// read on its own thread is listed while the links are loaded.
    pub fn links_and_snapshot(
        &self,
        depth: Depth,
        progress: &mut dyn FnMut(Side),
    ) -> Result<(Vec<Link>, Snapshot), SessionError> {
        // A plan compares only the pairs that changed: the other links'
        // bases stay in the state (read when first asked).
        let load = || match depth {
            Depth::Plan => Ok(Cow::Owned(self.state.links_leaving_bases()?)),
            Depth::Full => Ok(Cow::Owned(self.links()?)),
        };
        let (links, snapshot) = self.snapshot_loading(depth, load, progress)?;
        Ok((links.into_owned(), snapshot))
    }

    /// What vouches for the records of `side` in a read for a plan that
    /// trusts the links' revisions (none otherwise): the version and
    /// revision of each linked record whose link still holds the revision
    /// remembered.
    fn known(
        &self,
        side: Side,
        trust: bool,
        links: &[Link],
    ) -> Result<HashMap<String, Known>, SessionError> {
        if !trust {
            return Ok(HashMap::new());
        }
        // Each live link's record of this side, and its revision there.
        let linked = links.iter().filter(|l| l.tombstone.is_none());
        let linked = linked.filter_map(|l| l.id(side).zip(l.revs.get(side).as_deref()));
        if self.stores.get(side).versions_are_revisions() {
            // A row's version is its revision: its link vouches for it.
            let mut known = HashMap::with_capacity(links.len());
            for (id, rev) in linked {
                let version = Version::new(rev.to_string());
                let revision = rev.to_string();
                known.insert(id.to_string(), Known { version, revision });
            }
            return Ok(known);
        }
        let mut known = self.state.versions(side)?;
        let mut revs: HashMap<&str, &str> = HashMap::with_capacity(links.len());
        revs.extend(linked);
        known.retain(|id, k| revs.get(id.as_str()) == Some(&k.revision.as_str()));
        Ok(known)
    }

    /// [`Session::snapshot`] on the links `load` gives. Each store that can
    /// ([`ReadStore::concurrent`]) is read on a thread of its own, started
    /// first: it lists while the links, what the state remembers and the
    /// other store are read, and reads what changed once it is told what
    /// is remembered. The state is read and written on this thread only.
    fn snapshot_loading<'l>(
        &self,
        depth: Depth,
        load: impl FnOnce() -> Result<Cow<'l, [Link]>, SessionError>,
        progress: &mut dyn FnMut(Side),
    ) -> Result<(Cow<'l, [Link]>, Snapshot), SessionError> {
        let trust = depth == Depth::Plan && self.trusts_revisions()?;
        // What the store keeps between listings (a sync token), per side.
        let keys = PerSide::from_fn(|side| {
            let key = self.stores.get(side).listing_key();
            key.map(|k| format!("listing {side} {k}"))
        });
        let mut earlier = PerSide::new(None, None);
        for side in Side::BOTH {
            if let Some(key) = keys.get(side) {
                *earlier.get_mut(side) = self.state.meta(key)?;
            }
        }
        std::thread::scope(|scope| {
            let mut tell: PerSide<Option<mpsc::Sender<HashMap<String, Known>>>> =
                PerSide::new(None, None);
            let mut threads = PerSide::new(None, None);
            for side in Side::BOTH {
                let Some(store) = self.stores.get(side).concurrent() else {
                    continue;
                };
                let (tx, rx) = mpsc::channel::<HashMap<String, Known>>();
                *tell.get_mut(side) = Some(tx);
                let earlier = earlier.get(side).as_deref();
                *threads.get_mut(side) = Some(scope.spawn(move || {
                    if depth == Depth::Full {
                        return store.read_all().map(SideRead::full);
                    }
                    let listed = store.list_known(&HashMap::new(), earlier)?;
                    // No word: the read was given up (an error on the
                    // engine's side), and what this one gives is not used.
                    let Ok(known) = rx.recv() else {
                        return Ok(SideRead::default());
                    };
                    store::read_listed(store, &known, listed).map(SideRead::new)
                }));
            }
            let links = load()?;
            // The sides read on threads of their own first: what is
            // remembered for them is all they wait for.
            let mut order = Side::BOTH;
            order.sort_by_key(|&side| tell.get(side).is_none());
            let mut reads = PerSide::new(None, None);
            for side in order {
                progress(side);
                let known = self.known(side, trust, &links)?;
                if let Some(tx) = tell.get_mut(side).take() {
                    // The thread is gone only if it failed: its join says why.
                    let _ = tx.send(known);
                    continue;
                }
                let store: &dyn ReadStore = self.stores.get(side).as_ref();
                let read = match depth {
                    Depth::Full => store.read_all().map(SideRead::full),
                    Depth::Plan => {
                        let earlier = earlier.get(side).as_deref();
                        store::read_changed_since(store, &known, earlier).map(SideRead::new)
                    }
                };
                *reads.get_mut(side) = Some(read.map_err(|e| self.store_error(side, e))?);
            }
            let mut sides = PerSide::new(SideSnapshot::default(), SideSnapshot::default());
            for side in Side::BOTH {
                let read = match (reads.get_mut(side).take(), threads.get_mut(side).take()) {
                    (Some(read), _) => read,
                    (None, Some(thread)) => match thread.join() {
                        Ok(read) => read.map_err(|e| self.store_error(side, e))?,
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                    (None, None) => SideRead::default(),
                };
                if depth == Depth::Plan {
                    let keep = keys.get(side).as_deref().zip(read.remember.as_deref());
                    self.state.put_versions(side, &read.versions, keep)?;
                }
                *sides.get_mut(side) = read.side;
            }
            let snapshot = Snapshot { sides };
            self.read_where_partner_changed(snapshot, &links)
                .map(|snapshot| (links, snapshot))
        })
    }

    /// Read in full each unparsed record whose partner changed.
    fn read_where_partner_changed(
        &self,
        mut snapshot: Snapshot,
        links: &[Link],
    ) -> Result<Snapshot, SessionError> {
        // An unparsed record is enough only while its partner is unchanged
        // too, and still in scope: a row's scope column is not part of its
        // revision, and a partner that left the scope needs this record's
        // values for the unlink.
        for link in links.iter().filter(|l| l.tombstone.is_none()) {
            let at = PerSide::from_fn(|side| {
                let id = link.id(side)?;
                snapshot.sides.get(side).position(id)
            });
            for side in Side::BOTH {
                let Some(i) = *at.get(side) else { continue };
                let here = snapshot.sides.get(side);
                if !here.is_unparsed_at(i) {
                    continue;
                }
                let other = side.opposite();
                let partner_unchanged = at.get(other).is_some_and(|j| {
                    let r = &snapshot.sides.get(other).records[j];
                    r.in_scope && Some(&r.revision) == link.revs.get(other).as_ref()
                });
                if !partner_unchanged {
                    let id = here.records[i].id.as_str();
                    let record = self
                        .stores
                        .get(side)
                        .read(id)
                        .map_err(|e| self.store_error(side, e))?;
                    snapshot.sides.get_mut(side).replace(record);
                }
            }
        }
        Ok(snapshot)
    }

    /// Each store's real columns (an SQL table's; none for card stores),
    /// for the mapping editor.
    pub fn columns(&self) -> PerSide<Vec<String>> {
        let of = |side: Side| self.stores.get(side).columns().unwrap_or_default();
        PerSide::new(of(Side::Left), of(Side::Right))
    }

    /// Whether the links' revisions were taken under this field set and mode.
    pub fn trusts_revisions(&self) -> Result<bool, SessionError> {
        Ok(self.state.meta("fingerprint")?.as_deref() == Some(self.fingerprint().as_str()))
    }

    pub fn links(&self) -> Result<Vec<Link>, SessionError> {
        Ok(self.state.links()?)
    }

    /// The fingerprint of the field set and mode the plan runs under.
    pub fn fingerprint(&self) -> String {
        plan::fingerprint(&self.fields, &self.policy)
    }

    /// Plan on `snapshot` (pure; writes nothing).
    pub fn plan(&self, snapshot: &Snapshot, links: &[Link]) -> Result<Plan, SessionError> {
        let trust = self.trusts_revisions()?;
        let mut plan = plan::plan(&Inputs {
            snapshot,
            links,
            fields: &self.fields,
            policy: &self.policy,
            normalizer: &self.config.normalizer,
            trust_revisions: trust,
        });
        // A base that could not be read from the state was taken as empty:
        // nothing planned on it is shown or applied.
        if let Some(why) = links.iter().find_map(|l| l.base.unread()) {
            return Err(StateError::BaseUnread(why).into());
        }
        self.hold_deletes_others_refer_to(&mut plan)?;
        Ok(plan)
    }

    /// A delete of a record other rows of its database refer to (orders
    /// of a customer) waits for review and says what refers to it: the
    /// database's foreign keys may delete or change those rows with it,
    /// and undo cannot bring them back.
    fn hold_deletes_others_refer_to(&self, plan: &mut Plan) -> Result<(), SessionError> {
        let mut held = false;
        for op in plan
            .operations
            .iter_mut()
            .filter(|op| op.kind == OpKind::Delete)
        {
            for side in Side::BOTH.into_iter().filter(|s| op.target.includes(*s)) {
                let Some(id) = op.id_on(side) else { continue };
                let store = self.stores.get(side);
                if let Some(rows) = store
                    .referred_by(id)
                    .map_err(|e| self.store_error(side, e))?
                {
                    op.review = true;
                    op.warnings.push(Warning::ReferredBy { side, rows });
                    held = true;
                }
            }
        }
        if held {
            plan.summarise();
        }
        Ok(())
    }

    /// Link a left and a right contact by hand; the next plan compares them
    /// field by field. Refused when either is linked already.
    pub fn link_pair(&mut self, ids: &PerSide<String>) -> Result<(), SessionError> {
        for side in Side::BOTH {
            let id = ids.get(side).as_str();
            self.stores
                .get(side)
                .read(id)
                .map_err(|e| self.store_error(side, e))?;
            if let Some(other) = self.state.link_by_id(side, id)?
                && other.tombstone.is_none()
            {
                return Err(SessionError::Refused(format!(
                    "{side} {} is already linked with {}; unlink it first",
                    crate::model::sanitize::for_terminal(id),
                    crate::model::sanitize::for_terminal(other.id(side.opposite()).unwrap_or("–")),
                )));
            }
        }
        let tx = self.state.transaction()?;
        tx.put_link(
            None,
            &Link {
                link_id: 0,
                ids: ids.map(|id| Some(id.clone())),
                revs: PerSide::default(),
                base: state::Base::default(),
                uids: PerSide::default(),
                created_on: None,
                tombstone: None,
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Turn a live link into a tombstone: both contacts stay and are not
    /// linked or created again until the tombstone is forgotten.
    pub fn unlink(&mut self, link: &Link) -> Result<(), SessionError> {
        if link.tombstone.is_some() {
            return Err(SessionError::Refused(
                "this pair is not linked (a tombstone; forget removes it)".into(),
            ));
        }
        let tx = self.state.transaction()?;
        tx.put_link(
            None,
            &Link {
                revs: PerSide::default(),
                tombstone: Some("unlinked by hand".into()),
                ..link.clone()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Forget a link or tombstone: the next plan treats its contacts as new.
    pub fn forget(&mut self, link_id: i64) -> Result<(), SessionError> {
        let tx = self.state.transaction()?;
        tx.drop_link(None, link_id)?;
        tx.commit()?;
        Ok(())
    }
}
