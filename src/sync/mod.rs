//! The sync engine: read both stores into a snapshot, match what is not
//! linked, plan (a pure function), apply with a journal, undo.
//!
//! ```text
//! stores ──read──▶ snapshot ──plan (pure)──▶ Plan ──decisions──▶ apply ──▶ stores
//!                      ▲                        │                   │
//!                   state db ◀──────────────────┴───── journal ◀────┘
//! ```

pub mod apply;
pub mod fields;
pub mod journal;
pub mod matcher;
pub mod plan;
pub mod session;

pub mod snapshot;
pub mod state;
