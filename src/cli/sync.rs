//! The headless sync commands: `plan`, `apply`, `status`, `undo`, `link`,
//! `unlink`, `forget`.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use color_eyre::eyre::{Result, WrapErr, eyre};

use super::out::{self, Stream};
use abgleich::config::{Config, ConflictPolicy, Mode};
use abgleich::model::contact::FieldPath;
use abgleich::model::sanitize::for_terminal;
use abgleich::model::{PerSide, Side};
use abgleich::sync::apply::{self, ApplyInput, Decision, Outcome};
use abgleich::sync::plan::{Op, OpKind, Plan, Target, refusals};
use abgleich::sync::session::{Session, SessionError};
use abgleich::sync::state::Link;
use abgleich::text::{PlanJson, warning_text};

/// Progress on stderr, only when it is a terminal.
fn progress(text: &str) {
    if std::io::stderr().is_terminal() {
        tell!("{text}");
    }
}

fn open(config: Config, command: &str) -> Result<Session> {
    let session = Session::open(config, command)?;
    for note in &session.recovered {
        tell!("abgleich: {note}");
    }
    Ok(session)
}

/// [`open`] for a command that writes the state: refused, naming the state
/// and why, when it cannot be written, before a store is read.
fn open_to_write(config: Config, command: &str) -> Result<Session> {
    let session = open(config, command)?;
    session.state.ensure_writable()?;
    Ok(session)
}

/// A command that only reads the state says so when it cannot be written.
fn note_read_only(session: &Session) {
    if let Some(why) = session.state.read_only() {
        tell!(
            "abgleich: the state {} cannot be written ({why}); it is read as it is, but `abgleich apply` refuses until it is writable",
            session.state.path().display()
        );
    }
}

fn with_overrides(
    mut config: Config,
    mode: Option<Mode>,
    conflicts: Option<ConflictPolicy>,
) -> Config {
    if let Some(mode) = mode {
        config.sync.mode = mode;
    }
    if let Some(conflicts) = conflicts {
        config.sync.conflicts = conflicts;
    }
    config
}

fn read_and_plan(session: &Session) -> Result<(abgleich::sync::snapshot::Snapshot, Plan)> {
    progress(&format!(
        "reading {} and {} …",
        session.config.left.name, session.config.right.name
    ));
    // A server's cards come in batches: how many, on a terminal, for a
    // long read.
    let terminal = std::io::stderr().is_terminal();
    let shown = std::rc::Rc::new(std::cell::Cell::new(false));
    let shown_in_hook = shown.clone();
    abgleich::sync::session::set_read_progress(Some(Box::new(move |done, total| {
        if terminal && total >= 500 {
            shown_in_hook.set(true);
            out::own(
                Stream::Err,
                &format!("\rreading cards: {done} of {total} …"),
            );
        }
    })));
    let plan_depth = abgleich::sync::session::Depth::Plan;
    let read = session.links_and_snapshot(plan_depth, &mut |_| {});
    abgleich::sync::session::set_read_progress(None);
    if shown.get() {
        tell!();
    }
    let (links, snapshot) = read?;
    progress("planning …");
    let plan = session.plan(&snapshot, &links)?;
    Ok((snapshot, plan))
}

// ---- plan -------------------------------------------------------------------

pub fn plan(
    config: Config,
    json: bool,
    mode: Option<Mode>,
    out: Option<PathBuf>,
) -> Result<ExitCode> {
    let session = open(with_overrides(config, mode, None), "plan")?;
    note_read_only(&session);
    let (snapshot, plan) = read_and_plan(&session)?;
    // Freeing 100,000 records one by one takes a tenth of a plan with
    // nothing to do; the process ends right after this command, and the
    // system takes the memory back at once.
    std::mem::forget(snapshot);
    let names = store_names(&session.config);
    // The JSON only where it is asked for: at 100,000 creates it is
    // hundreds of megabytes.
    if json || out.is_some() {
        let text = serde_json::to_string_pretty(&PlanJson::new(&plan, &names))?;
        if let Some(out) = &out {
            write_private(out, text.as_bytes())
                .wrap_err_with(|| format!("cannot write {}", out.display()))?;
        }
        if json {
            out::json(&text);
            return Ok(ExitCode::SUCCESS);
        }
    }
    print_plan(&plan, &session.config);
    if let Some(out) = out {
        say!(
            "saved to {} (apply it with `abgleich apply --plan {}`)",
            out.display(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A saved plan holds contact data: owner-only, like the state, also when
/// it replaces an existing file; written to a temporary file beside it and
/// renamed into place, so a symbolic link at `path` is replaced, never
/// followed.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile creates the file owner-only (0600).
    let mut tmp = tempfile::Builder::new()
        .prefix(".abgleich-plan-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn arrow(op: &Op) -> &'static str {
    match (op.kind, op.target) {
        (OpKind::Conflict, _) => "◀?▶",
        (OpKind::Unlink, _) => " ╳ ",
        (_, Target::Right) => "──▶",
        (_, Target::Left) => "◀──",
        (_, Target::Both) => "◀─▶",
    }
}

/// The stores' names as the planner used them, for the warnings' words.
fn store_names(config: &Config) -> PerSide<String> {
    config.names().map(|n| n.to_string())
}

fn print_plan(plan: &Plan, config: &Config) {
    let names = config.names();
    let store_names = store_names(config);
    say!(
        "plan ({} mode) for {} ◀─▶ {}",
        plan.mode,
        names.left,
        names.right
    );
    for u in &plan.unreadable {
        say!(
            "  unreadable (left alone, never taken as deleted): {}",
            for_terminal(u)
        );
    }
    for kind in OpKind::ALL {
        let ops: Vec<&Op> = plan.operations.iter().filter(|o| o.kind == kind).collect();
        if ops.is_empty() {
            continue;
        }
        say!("\n{} ({})", kind.as_str(), ops.len());
        for op in ops {
            let ids = format!(
                "{} | {}",
                op.ids.left.as_deref().unwrap_or("–"),
                op.ids.right.as_deref().unwrap_or("–")
            );
            let mut line = format!(
                "  {} {:<28} {}",
                arrow(op),
                for_terminal(&op.name),
                for_terminal(&ids)
            );
            if let Some(e) = op.evidence {
                line.push_str(&format!("  by {}", e.as_str()));
            }
            if op.review {
                line.push_str("  [review]");
            }
            say!("{line}");
            for c in &op.changes {
                // A card property's text can be a whole photo: its start.
                let whole_property = matches!(c.field, FieldPath::Prop(_));
                let show = |v: Option<&str>| {
                    v.map(|v| match v.char_indices().nth(60) {
                        Some((cut, _)) if whole_property => format!(
                            "\"{}…\" ({} characters)",
                            for_terminal(&v[..cut]),
                            v.chars().count()
                        ),
                        _ => format!("\"{}\"", for_terminal(v)),
                    })
                    .unwrap_or_else(|| "–".into())
                };
                match (op.kind, c.to) {
                    (OpKind::Create, _) => say!(
                        "      {:<20} {}",
                        c.field.to_string(),
                        show(c.value(Side::Left).or(c.value(Side::Right)))
                    ),
                    (_, Some(to)) => say!(
                        "      {:<20} {} → {}",
                        c.field.to_string(),
                        show(c.value(to)),
                        show(c.value(to.opposite())),
                    ),
                    (_, None) => say!(
                        "      {:<20} {}: {} | {}: {} (base {})",
                        c.field.to_string(),
                        names.left,
                        show(c.value(Side::Left)),
                        names.right,
                        show(c.value(Side::Right)),
                        show(c.base())
                    ),
                }
            }
            for w in &op.warnings {
                say!("      ⚠ {}", for_terminal(&warning_text(w, &store_names)));
            }
        }
    }
    say!("");
    for r in &plan.refusals {
        say!("refused unless --force: {}", for_terminal(r));
    }
    say!("{}", summary_line(plan));
}

fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let review = plan.operations.iter().filter(|o| o.review).count();
    if plan.operations.is_empty() {
        return "summary: nothing to do; both sides agree".into();
    }
    format!(
        "summary: {} create, {} update, {} delete, {} conflict, {} link, {} unlink; {} with warnings; {} wait for review",
        s.create, s.update, s.delete, s.conflict, s.link, s.unlink, s.warning, review
    )
}

// ---- apply ------------------------------------------------------------------

pub struct ApplyArgs {
    pub yes: bool,
    pub mode: Option<Mode>,
    pub conflicts: Option<ConflictPolicy>,
    pub accept_review: bool,
    pub force: bool,
    pub plan: Option<PathBuf>,
}

/// One operation of a saved plan.
struct SavedOp {
    /// Its `accept` key, when the file has one.
    accept: Option<bool>,
    /// Kind and contact, for messages.
    describe: String,
    /// Its place in the file, so messages keep the file's order.
    position: usize,
}

/// The operations a saved plan lists, by id.
fn saved_plan(path: &Path) -> Result<HashMap<String, SavedOp>> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| eyre!("{}:{}: not a saved plan: {e}", path.display(), e.line()))?;
    let ops = value
        .get("operations")
        .and_then(|o| o.as_array())
        .ok_or_else(|| {
            eyre!(
                "{}: not a saved plan: no \"operations\" list",
                path.display()
            )
        })?;
    let mut out = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        let id = op
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| eyre!("{}: operation {} has no \"id\"", path.display(), i + 1))?;
        let text = |key: &str| op.get(key).and_then(|v| v.as_str()).unwrap_or("");
        out.insert(
            id.to_string(),
            SavedOp {
                accept: op.get("accept").and_then(|v| v.as_bool()),
                describe: format!("{} {}", text("kind"), text("name")),
                position: i,
            },
        );
    }
    Ok(out)
}

/// The saved plan's operations the new plan no longer has, in the file's
/// order, under one heading when there are several.
fn print_stale(saved: &HashMap<String, SavedOp>, stale: &mut [String]) {
    stale.sort_by_key(|id| saved.get(id).map_or(usize::MAX, |s| s.position));
    if stale.len() > 1 {
        say!(
            "{} of the saved plan's {} operations are not in the new plan (applied already, or the stores changed):",
            stale.len(),
            saved.len()
        );
    }
    for id in stale.iter() {
        let name = saved.get(id).map(|s| s.describe.as_str()).unwrap_or("");
        say!(
            "changed since plan: {} (operation {id} of the saved plan); skipped, plan again",
            for_terminal(name)
        );
    }
}

pub fn apply(config: Config, args: ApplyArgs) -> Result<ExitCode> {
    let session = open_to_write(with_overrides(config, args.mode, args.conflicts), "apply")?;
    let mut session = session;
    let saved = match &args.plan {
        Some(path) => Some(saved_plan(path)?),
        None => None,
    };
    let (snapshot, plan) = read_and_plan(&session)?;
    let mut stale: Vec<String> = Vec::new();
    let decisions: Vec<Decision> = match &saved {
        None => apply::default_decisions(&plan, args.accept_review, None),
        Some(saved) => {
            let now: HashSet<&str> = plan.operations.iter().map(|o| o.id.as_str()).collect();
            stale = saved
                .keys()
                .filter(|id| !now.contains(id.as_str()))
                .cloned()
                .collect();
            plan.operations
                .iter()
                .map(|op| Decision {
                    accept: match saved.get(&op.id).map(|s| s.accept) {
                        None => false,
                        Some(Some(accept)) => accept,
                        Some(None) => !op.review || args.accept_review,
                    },
                    winner: None,
                    fields: Vec::new(),
                })
                .collect()
        }
    };
    if let Err(refused) = refusals::check(&plan, args.force) {
        return Err(eyre!(
            "refusing to apply, nothing was written:\n  {}\n(run with --force if this is really what you want)",
            refused.reasons.join("\n  ")
        ));
    }
    // What the engine executes: accepted, resolved, and not on a pair
    // whose link waits (resolving a conflict never links a pair).
    let runs = abgleich::sync::decisions::executable(&plan, &decisions);
    let accepted = runs.iter().filter(|r| **r).count();
    if let Some(saved) = &saved {
        print_stale(saved, &mut stale);
    }
    let in_saved = |op: &Op| saved.as_ref().is_none_or(|s| s.contains_key(&op.id));
    let fresh = plan.operations.iter().filter(|o| !in_saved(o)).count();
    if fresh > 0 {
        say!(
            "{fresh} operation(s) of the current plan are not in the saved plan and were left alone"
        );
    }
    let waiting: Vec<&Op> = plan
        .operations
        .iter()
        .zip(&runs)
        .filter(|(o, run)| !**run && in_saved(o))
        .map(|(o, _)| o)
        .collect();
    let fingerprint = session.fingerprint();
    let input = ApplyInput {
        plan: &plan,
        decisions: &decisions,
        snapshot: &snapshot,
        fields: &session.fields,
        force: args.force,
        fingerprint: &fingerprint,
    };
    if accepted == 0 {
        apply::apply(&input, &mut session.stores, &mut session.state)?;
        say!("nothing to apply");
        print_waiting(&waiting);
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(eyre!(
                "apply needs --yes when it cannot ask (stdin is not a terminal); nothing was written"
            ));
        }
        print_plan(&plan, &session.config);
        out::own(
            Stream::Out,
            &format!("apply {accepted} operation(s)? [y/N] "),
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            say!("nothing was written");
            return Ok(ExitCode::SUCCESS);
        }
    }
    progress(&format!("applying {accepted} operation(s) …"));
    let terminal = std::io::stderr().is_terminal();
    let (mut shown, mut printed) = (0, false);
    let mut progress = |done: usize, total: usize| {
        // About every percent, only on a terminal and for long runs.
        if terminal && total >= 200 && (done == 0 || done * 100 / total > shown) {
            shown = done * 100 / total;
            printed = true;
            out::own(
                Stream::Err,
                &format!("\rwriting {done} of {total} records ({shown}%) …"),
            );
        }
    };
    let report = apply::apply_with_progress(
        &input,
        &mut session.stores,
        &mut session.state,
        &mut progress,
    );
    if printed {
        tell!();
    }
    let mut report = report?;
    let names = session.config.names().map(|n| n.to_string());
    // The saved plan's accepted operations the plan no longer has were not
    // written because their records changed: the log counts them too.
    let stale: Vec<String> = match &saved {
        Some(saved) => stale
            .iter()
            .filter_map(|id| saved.get(id))
            .filter(|s| s.accept != Some(false))
            .map(|s| s.describe.clone())
            .collect(),
        None => Vec::new(),
    };
    abgleich::text::applies::record_outcome(&mut session.state, &plan, &mut report, &stale, &names);
    print_outcomes(&plan, &report.outcomes);
    // What was written with a warning (a value that did not fit and stays
    // where it is): named, the first ones; the log keeps them too.
    let mut warned = abgleich::text::applies::written_warnings(&plan, &report.outcomes, &names);
    for line in warned.by_ref().take(abgleich::text::applies::NAMED) {
        say!("{line}");
    }
    let more = warned.count();
    if more > 0 {
        say!("… and {more} more warning(s)");
    }
    let done = report.count(Outcome::written);
    let noted = report.count(|o| matches!(o, Outcome::Noted(_)));
    let failed = report.count(|o| matches!(o, Outcome::Failed(_)));
    let changed = report.count(|o| *o == Outcome::ChangedSincePlan);
    let counted = |n: usize, what: &str| {
        if n > 0 {
            format!(", {n} {what}")
        } else {
            String::new()
        }
    };
    say!(
        "applied {done} of {accepted} operation(s){}{}{}; apply #{} is in the journal (`abgleich undo` reverts it)",
        counted(noted, "with a note"),
        counted(failed, "failed"),
        counted(changed, "changed since plan"),
        report
            .apply_id
            .map_or_else(|| "–".to_string(), |id| id.to_string())
    );
    for note in &report.notes {
        tell!("note: {}", for_terminal(note));
    }
    print_waiting(&waiting);
    Ok(if failed + noted > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What did not go as planned, in plan order: each failure and each note
/// once, with the operations it is about (a read-only folder is one error,
/// not one per card), then what changed since the plan.
fn print_outcomes(plan: &Plan, outcomes: &[Outcome]) {
    let mut grouped: Vec<(&str, String, Vec<&Op>)> = Vec::new();
    let mut group_of: HashMap<(&str, String), usize> = HashMap::new();
    let mut changed: Vec<&Op> = Vec::new();
    for (op, outcome) in plan.operations.iter().zip(outcomes) {
        let (what, why) = match outcome {
            Outcome::Failed(why) => ("failed", why.to_string()),
            Outcome::Noted(why) => ("written, with a note", why.to_string()),
            Outcome::ChangedSincePlan => {
                changed.push(op);
                continue;
            }
            Outcome::Done | Outcome::Skipped => continue,
        };
        // Grouped by a map, in the order first seen: 100,000 failures that
        // each name their file stay linear.
        match group_of.get(&(what, why.clone())) {
            Some(&g) => grouped[g].2.push(op),
            None => {
                group_of.insert((what, why.clone()), grouped.len());
                grouped.push((what, why, vec![op]));
            }
        }
    }
    let about = |op: &Op| format!("{} {}", op.kind.as_str(), for_terminal(&op.name));
    for (what, why, ops) in &grouped {
        let why = for_terminal(why);
        let tail = if *what == "failed" {
            ""
        } else {
            " (what was not written is in the next plan)"
        };
        match ops.as_slice() {
            [op] => say!("{what}: {}: {why}{tail}", about(op)),
            ops => {
                say!("{what}: {why}{tail}; {} operations:", ops.len());
                for op in ops {
                    say!("  {}", about(op));
                }
            }
        }
    }
    for op in changed {
        say!("changed since plan: {} (skipped; plan again)", about(op));
    }
}

fn print_waiting(waiting: &[&Op]) {
    if waiting.is_empty() {
        return;
    }
    say!(
        "{} operation(s) skipped, waiting for review (--accept-review, --conflicts left|right, or the TUI):",
        waiting.len()
    );
    for op in waiting {
        say!(
            "  {} {} ({} | {})",
            op.kind.as_str(),
            for_terminal(&op.name),
            for_terminal(op.ids.left.as_deref().unwrap_or("–")),
            for_terminal(op.ids.right.as_deref().unwrap_or("–"))
        );
    }
}

// ---- status, undo -------------------------------------------------------------

pub fn status(config: Config) -> Result<ExitCode> {
    let session = open(config, "status")?;
    note_read_only(&session);
    let links = session.links()?;
    let live = links.iter().filter(|l| l.tombstone.is_none()).count();
    say!("state: {}", session.state.path().display());
    say!("links: {live}, tombstones: {}", links.len() - live);
    for t in links.iter().filter(|l| l.tombstone.is_some()) {
        say!(
            "  tombstone {} | {}: {} (`abgleich forget ID` syncs it afresh)",
            for_terminal(t.ids.left.as_deref().unwrap_or("–")),
            for_terminal(t.ids.right.as_deref().unwrap_or("–")),
            for_terminal(t.tombstone.as_deref().unwrap_or(""))
        );
    }
    let applies = session.state.applies()?;
    match applies.last() {
        Some(a) => {
            say!("last apply: {}", abgleich::text::applies::apply_line(a));
            // Its counts (the failures and warnings are in the screen's log).
            if let Some(counts) = a.outcome.as_deref().and_then(|o| o.lines().next()) {
                say!("  {}", for_terminal(counts));
            }
        }
        None => say!("last apply: never"),
    }
    let (_, plan) = read_and_plan(&session)?;
    for u in &plan.unreadable {
        say!(
            "unreadable (left alone, never taken as deleted): {}",
            for_terminal(u)
        );
    }
    say!(
        "pending: {}",
        summary_line(&plan).trim_start_matches("summary: ")
    );
    Ok(ExitCode::SUCCESS)
}

pub fn undo(config: Config) -> Result<ExitCode> {
    let mut session = open_to_write(config, "undo")?;
    // Run again after an undo that stopped (a kill, a full disk), `undo`
    // finishes that one, as recovery just did, and nothing more.
    if let Some(id) = abgleich::sync::journal::take_undo_finished_by_recovery(&mut session.state)? {
        say!(
            "the interrupted undo of apply #{id} is finished; nothing else was undone (`abgleich undo` again undoes the apply before it)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let report = apply::undo(&mut session.state, &mut session.stores)?;
    for note in &report.notes {
        say!("{}", for_terminal(note));
    }
    Ok(ExitCode::SUCCESS)
}

// ---- link, unlink, forget ---------------------------------------------------

/// The link or tombstone holding `id` on either side.
fn find_link(session: &Session, id: &str) -> Result<Link> {
    for side in Side::BOTH {
        if let Some(link) = session.state.link_by_id(side, id)? {
            return Ok(link);
        }
    }
    Err(eyre!(
        "no link or tombstone holds the id \"{}\" (see `abgleich status`)",
        for_terminal(id)
    ))
}

pub fn link(config: Config, left: String, right: String) -> Result<ExitCode> {
    let mut session = open_to_write(config, "link")?;
    session
        .link_pair(&PerSide::new(left.clone(), right.clone()))
        .map_err(|e| match e {
            SessionError::Refused(why) => eyre!("{why} (`abgleich unlink`)"),
            e => e.into(),
        })?;
    say!(
        "linked {} with {}; the next plan compares them field by field",
        for_terminal(&left),
        for_terminal(&right)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn unlink(config: Config, id: String) -> Result<ExitCode> {
    let mut session = open_to_write(config, "unlink")?;
    let link = find_link(&session, &id)?;
    if link.tombstone.is_some() {
        return Err(eyre!(
            "{} is not linked (a tombstone; `abgleich forget {}` removes it)",
            for_terminal(&id),
            for_terminal(&id)
        ));
    }
    session.unlink(&link)?;
    say!(
        "unlinked {} | {}; both stay as they are and are not linked or created again until `abgleich forget {}`",
        for_terminal(link.ids.left.as_deref().unwrap_or("–")),
        for_terminal(link.ids.right.as_deref().unwrap_or("–")),
        for_terminal(&id)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn forget(config: Config, id: String) -> Result<ExitCode> {
    let mut session = open_to_write(config, "forget")?;
    let link = find_link(&session, &id)?;
    session.forget(link.link_id)?;
    say!(
        "forgot {} | {}; the next plan treats {} as new",
        for_terminal(link.ids.left.as_deref().unwrap_or("–")),
        for_terminal(link.ids.right.as_deref().unwrap_or("–")),
        if link.ids.left.is_some() && link.ids.right.is_some() {
            "them"
        } else {
            "it"
        }
    );
    Ok(ExitCode::SUCCESS)
}
