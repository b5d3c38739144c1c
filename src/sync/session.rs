//! One run of the engine on a config: the state (locked), both stores, the
//! recovery of an unfinished apply, and a fresh snapshot and plan.

use super::apply::{self, ApplyError};
use super::fields::FieldSet;
use super::plan::{self, Inputs, Plan, Policy};
use super::snapshot::Snapshot;
use super::state::{self, Link, State, StateError};
use super::{PerSide, Side};
use crate::config::Config;
use crate::store::{self, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{side} store {name}: {error}")]
    Store {
        side: Side,
        name: String,
        error: StoreError,
    },
    #[error("{0}")]
    Apply(#[from] ApplyError),
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

impl Session {
    /// Lock the state, open both stores (a missing store is an error), and
    /// roll back an apply that did not finish.
    pub fn open(config: Config, command: &str) -> Result<Session, SessionError> {
        let state = State::open(&state::path_for(&config.file), command)?;
        let open = |side: Side| {
            let sc = if side == Side::Left {
                &config.left
            } else {
                &config.right
            };
            store::open(sc, &config.normalizer).map_err(|error| SessionError::Store {
                side,
                name: sc.name.clone(),
                error,
            })
        };
        let stores = PerSide::new(open(Side::Left)?, open(Side::Right)?);
        let fields = FieldSet::from_config(&config);
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

    /// Read both stores completely.
    pub fn read(&self) -> Result<Snapshot, SessionError> {
        let list = |side: Side| {
            self.stores
                .get(side)
                .list()
                .map_err(|error| SessionError::Store {
                    side,
                    name: self.stores.get(side).name().to_string(),
                    error,
                })
        };
        Ok(Snapshot::new(list(Side::Left)?, list(Side::Right)?))
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
        let trust = self.state.meta("fingerprint")?.as_deref() == Some(self.fingerprint().as_str());
        Ok(plan::plan(&Inputs {
            snapshot,
            links,
            fields: &self.fields,
            policy: &self.policy,
            normalizer: &self.config.normalizer,
            trust_revisions: trust,
        }))
    }
}
