//! The sync engine: read both stores into a snapshot, match what is not
//! linked, plan (a pure function), apply with a journal, undo.
//!
//! ```text
//! stores ──read──▶ snapshot ──plan (pure)──▶ Plan ──decisions──▶ apply ──▶ stores
//!                      ▲                        │                   │
//!                   state db ◀──────────────────┴───── journal ◀────┘
//! ```

// In the data's order: a session reads the stores into a snapshot, the
// fields and the matcher feed the plan, decisions pick from it, apply
// executes them with the journal, and the state keeps what was agreed.
pub mod session;

pub mod snapshot;

pub mod fields;
pub mod matcher;
pub mod plan;

pub mod decisions;

pub mod apply;
pub mod journal;

pub mod base;
pub mod state;
pub mod state_files;
