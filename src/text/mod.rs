//! What the front ends say about the engine's data, shared by the command
//! line and the screen: the sentence of each warning, with the stores'
//! names, and the plan as `plan --json` writes it.

pub mod applies;
pub mod plan_json;
pub mod warning;

pub use plan_json::PlanJson;
pub use warning::warning_text;
