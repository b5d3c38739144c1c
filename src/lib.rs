//! abgleich: keeps a CRM's contacts and an address book in agreement.
//!
//! The library is the engine (contacts, codec, stores, config); it never
//! draws and never prints. `src/main.rs` is a thin front end.

pub mod check;
pub mod config;
pub mod contact;
pub mod mapping;
pub mod normal;
pub mod samples;
pub mod sanitize;
pub mod store;
pub mod sync;
pub mod tui;
pub mod vcard;
