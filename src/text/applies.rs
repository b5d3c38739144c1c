//! How an apply of the journal is named: `#3 2025-05-01 10:00:00 UTC
//! (done): 2 create, 1 update`, as `abgleich status` names the last one.

use crate::sync::state::ApplyRow;

/// What the apply was to write ("2 create, 1 update"), or "no operations".
pub fn apply_summary(apply: &ApplyRow) -> &str {
    if apply.summary.is_empty() {
        "no operations"
    } else {
        &apply.summary
    }
}

/// `#id time (status): summary`; the time it finished, or began.
pub fn apply_line(apply: &ApplyRow) -> String {
    format!(
        "#{} {} ({}): {}",
        apply.apply_id,
        apply.finished.as_deref().unwrap_or(&apply.started),
        apply.status.as_str(),
        apply_summary(apply)
    )
}
