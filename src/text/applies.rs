//! How an apply of the journal is named: `#3 2025-05-01 10:00:00 UTC
//! (done): 2 create, 1 update`, as `abgleich status` names the last one.

use crate::model::PerSide;
use crate::model::error::describe;
use crate::model::sanitize::for_terminal;
use crate::sync::apply::{Outcome, Report};
use crate::sync::plan::Plan;
use crate::sync::state::{ApplyRow, State};

use super::warning::warning_text;

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

/// What came of an apply, for its log: the counts, then each failure and
/// each warning of what was written (at most [`NAMED`] of each, then how
/// many more), with contact text neutralised.
/// `stale`: operations of a saved plan that the plan made when it was
/// applied no longer had (their records changed since), as "kind name".
pub fn outcome_lines(
    plan: &Plan,
    outcomes: &[Outcome],
    stale: &[String],
    names: &PerSide<String>,
) -> Vec<String> {
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let mut failures: Vec<String> = stale
        .iter()
        .map(|s| format!("changed since the plan, not written: {}", for_terminal(s)))
        .collect();
    let mut warnings = Vec::new();
    for (op, outcome) in plan.operations.iter().zip(outcomes) {
        let who = format!("{} {}", op.kind.as_str(), for_terminal(&op.name));
        match outcome {
            Outcome::Failed(e) => failures.push(format!("failed: {who}: {}", describe(e.as_ref()))),
            Outcome::ChangedSincePlan => {
                failures.push(format!("changed since the plan, not written: {who}"));
            }
            Outcome::Noted(e) => {
                warnings.push(format!(
                    "written, with a note: {who}: {}",
                    describe(e.as_ref())
                ));
            }
            _ => {}
        }
    }
    warnings.extend(written_warnings(plan, outcomes, names));
    let noted = count(|o| matches!(o, Outcome::Noted(_)));
    let mut lines = vec![format!(
        "{} written, {} failed, {} changed since the plan, {}{} warning(s)",
        count(Outcome::written),
        count(|o| matches!(o, Outcome::Failed(_))),
        count(|o| matches!(o, Outcome::ChangedSincePlan)) + stale.len(),
        if noted > 0 {
            format!("{noted} written with a note, ")
        } else {
            String::new()
        },
        warnings.len() - noted
    )];
    for list in [failures, warnings] {
        let more = list.len().saturating_sub(NAMED);
        lines.extend(list.into_iter().take(NAMED).map(|l| format!("  {l}")));
        if more > 0 {
            lines.push(format!("  … and {more} more"));
        }
    }
    lines
}

/// Each warning of what an apply wrote, as "warning: kind name: text"
/// (what did not fit the target and stays where it is, say).
pub fn written_warnings(
    plan: &Plan,
    outcomes: &[Outcome],
    names: &PerSide<String>,
) -> impl Iterator<Item = String> {
    (plan.operations.iter().zip(outcomes))
        .filter(|(_, outcome)| outcome.written())
        .flat_map(move |(op, _)| {
            op.warnings.iter().map(move |w| {
                format!(
                    "warning: {} {}: {}",
                    op.kind.as_str(),
                    for_terminal(&op.name),
                    for_terminal(&warning_text(w, names))
                )
            })
        })
}

/// Save what came of the apply `report` tells of in the state, for the
/// log of applies ([`ApplyRow::outcome`]). The apply is done and recorded
/// already: a log that cannot be saved is a note of the report, never a
/// failed apply.
pub fn record_outcome(
    state: &mut State,
    plan: &Plan,
    report: &mut Report,
    stale: &[String],
    names: &PerSide<String>,
) {
    let Some(apply_id) = report.apply_id else {
        return;
    };
    let lines = outcome_lines(plan, &report.outcomes, stale, names);
    if let Err(e) = state.set_apply_outcome(apply_id, &lines.join("\n")) {
        report
            .notes
            .push(format!("the log of this apply could not be saved: {e}"));
    }
}

/// How many failures and warnings an apply's log names one by one.
pub const NAMED: usize = 20;
