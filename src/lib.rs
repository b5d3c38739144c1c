//! abgleich: keeps a CRM's contacts and an address book in agreement.
//!
//! The library is the engine and the screen; it never prints. Its layers,
//! each using only those below it (README "Architecture"; checked by
//! `tests/it/layers.rs`):
//!
//! ```text
//! model ◀── vcard ◀── config ◀── store ◀── sync, check ◀── tui, samples, text (and the binary's cli)
//! ```

pub mod model;

pub mod vcard;

pub mod config;

pub mod store;

pub mod check;
pub mod sync;

pub mod samples;
pub mod text;
pub mod tui;
