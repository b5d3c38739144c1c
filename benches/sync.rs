//! Generates N contacts per side (a CRM table and a vdir of cards holding
//! the same people, phone numbers formatted differently) and times reading,
//! the first plan (matching N against N), the apply that links them, and a
//! plan with nothing to do. Run:
//!
//! ```sh
//! cargo bench --bench sync              # N = 10000, 50000, 100000
//! ABGLEICH_BENCH_N=10000 cargo bench --bench sync
//! ```
//!
//! Peak memory is the process's high-water mark (VmHWM) after each step;
//! the sizes run in ascending order, so each size's peak is its own. A
//! table of every size closes the run.

use std::time::Instant;

use abgleich::config::Config;
use abgleich::model::PerSide;
use abgleich::model::record::Record;
use abgleich::sync::apply::{self, ApplyInput};
use abgleich::sync::matcher::Matcher;
use abgleich::sync::session::Session;

mod common;

use common::{generate, peak_mib, sizes};

fn main() {
    let mut rows = Vec::new();
    // Every size's files stay until the end: ext4 skips recently freed
    // inodes when it allocates, so a delete right before the next size's
    // apply would slow its writes.
    let mut kept = Vec::new();
    for n in sizes() {
        println!("\nN = {n} per side");
        rows.push((n, run(n, &mut kept)));
    }
    println!(
        "\n| N per side | read both | first plan | apply (N links) | no-op plan | peak |\n|---|---|---|---|---|---|"
    );
    for (n, r) in rows {
        println!(
            "| {n} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {} |",
            r.read, r.plan, r.apply, r.noop, r.peak
        );
    }
}

/// One size's figures.
struct Figures {
    read: f64,
    plan: f64,
    apply: f64,
    noop: f64,
    peak: String,
}

fn run(n: usize, kept: &mut Vec<tempfile::TempDir>) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    generate(dir.path(), n);
    println!("generate {n} per side: {:.2} s", t.elapsed().as_secs_f64());
    let config = Config::load(&dir.path().join("abgleich.toml")).expect("config loads");
    let mut session = Session::open(config.clone(), "bench").expect("session");

    let t = Instant::now();
    let snapshot = session.read().expect("read");
    let read = t.elapsed().as_secs_f64();
    println!("read both stores: {read:.2} s (peak {})", peak_mib());

    let links = session.links().expect("links");
    let t = Instant::now();
    let matcher = Matcher {
        rules: &session.policy.match_rules,
        stamps: session.policy.stamps.clone(),
        normalizer: &session.config.normalizer,
    };
    let left: Vec<&Record> = snapshot.sides.left.records.iter().collect();
    let right: Vec<&Record> = snapshot.sides.right.records.iter().collect();
    let found = matcher.find(PerSide::new(&left[..], &right[..]));
    println!(
        "matching alone ({n} x {n}): {:.2} s, {} pairs",
        t.elapsed().as_secs_f64(),
        found.len()
    );
    drop((left, right, found));
    let t = Instant::now();
    let plan = session.plan(&snapshot, &links).expect("plan");
    let first_plan = t.elapsed().as_secs_f64();
    println!(
        "first plan (match {n} x {n}): {:.2} s; {} links, {} creates, {} updates (peak {})",
        t.elapsed().as_secs_f64(),
        plan.summary.link,
        plan.summary.create,
        plan.summary.update,
        peak_mib()
    );

    let decisions = apply::default_decisions(&plan, true, None);
    let fingerprint = session.fingerprint();
    let t = Instant::now();
    let report = apply::apply(
        &ApplyInput {
            plan: &plan,
            decisions: &decisions,
            snapshot: &snapshot,
            fields: &session.fields,
            force: false,
            fingerprint: &fingerprint,
        },
        &mut session.stores,
        &mut session.state,
    )
    .expect("apply");
    let applied = t.elapsed().as_secs_f64();
    println!(
        "apply ({} operations done): {applied:.2} s (peak {})",
        report.count(|o| *o == apply::Outcome::Done),
        peak_mib()
    );
    drop(snapshot);
    drop(session);

    // The cards just written are not remembered until they are two seconds
    // old (a file may change again within the clock's resolution).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let session = Session::open(config, "bench").expect("session");
    let mut noop = 0.0;
    for round in ["first", "second"] {
        let t = Instant::now();
        let links = session.links().expect("links");
        let t_links = t.elapsed().as_secs_f64();
        let snapshot = session.read_for_plan(&links).expect("read");
        let t_read = t.elapsed().as_secs_f64() - t_links;
        let plan = session.plan(&snapshot, &links).expect("plan");
        noop = t.elapsed().as_secs_f64();
        println!(
            "{round} plan with nothing to do: {noop:.2} s = {:.2} x one read (links {t_links:.2} s, \
             stores {t_read:.2} s, plan {:.2} s); {} operations (peak {})",
            noop / read,
            noop - t_links - t_read,
            plan.operations.len(),
            peak_mib()
        );
    }
    kept.push(dir);
    Figures {
        read,
        plan: first_plan,
        apply: applied,
        noop,
        peak: peak_mib(),
    }
}
