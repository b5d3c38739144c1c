//! Generates N contacts per side (a CRM table and a vdir of cards holding
//! the same people, phone numbers formatted differently) and times reading,
//! the first plan (matching N against N), the apply that links them, and a
//! plan with nothing to do. Run:
//!
//! ```sh
//! cargo bench --bench sync              # N = 100000
//! ABGLEICH_BENCH_N=10000 cargo bench --bench sync
//! ```
//!
//! Peak memory is the process's high-water mark (VmHWM) after each step.

use std::time::Instant;

use abgleich::config::Config;
use abgleich::model::PerSide;
use abgleich::model::record::Record;
use abgleich::sync::apply::{self, ApplyInput};
use abgleich::sync::matcher::Matcher;
use abgleich::sync::session::Session;

mod common;

use common::{generate, peak_mib};

fn main() {
    let n: usize = std::env::var("ABGLEICH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
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
    println!(
        "apply ({} operations done): {:.2} s (peak {})",
        report.count(|o| *o == apply::Outcome::Done),
        t.elapsed().as_secs_f64(),
        peak_mib()
    );
    drop(snapshot);
    drop(session);

    // The cards just written are not remembered until they are two seconds
    // old (a file may change again within the clock's resolution).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let session = Session::open(config, "bench").expect("session");
    for round in ["first", "second"] {
        let t = Instant::now();
        let links = session.links().expect("links");
        let t_links = t.elapsed().as_secs_f64();
        let snapshot = session.read_for_plan(&links).expect("read");
        let t_read = t.elapsed().as_secs_f64() - t_links;
        let plan = session.plan(&snapshot, &links).expect("plan");
        let noop = t.elapsed().as_secs_f64();
        println!(
            "{round} plan with nothing to do: {noop:.2} s = {:.2} x one read (links {t_links:.2} s, \
             stores {t_read:.2} s, plan {:.2} s); {} operations (peak {})",
            noop / read,
            noop - t_links - t_read,
            plan.operations.len(),
            peak_mib()
        );
    }
}
