//! The one integration-test crate: every test module links the library and
//! SQLite once instead of once per file (STYLE 19), which is most of a
//! debug test build's time on 2 cores.

mod common;

mod carddav;
mod cli;
mod codec_robustness;
mod concurrent;
mod config_checks;
mod crash;
mod field_decisions;
mod fixtures;
mod guards;
mod identity;
mod layers;
mod outcomes;
mod planner;
mod postgres;
mod recovery;
mod samples;
mod stores;
mod sync_e2e;
mod sync_props;
mod tui;
mod tui_lists;
mod tui_snapshots;
mod tui_tmux;
mod whole_card;
