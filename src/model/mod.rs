//! The model: what every layer above speaks. The canonical contact and its
//! field paths, the two sides, normal forms and folding, a record as a
//! store holds it with its revision, and terminal-safe text. It knows no
//! codec, no config, no store and no engine.

pub mod contact;
pub mod error;
pub mod fold;
pub mod normal;
pub mod record;
pub mod sanitize;
mod side;

pub use side::{PerSide, Side};
