//! Crash safety through the real binary (SPEC §6: "a half-written store
//! after a crash"): `apply` on a copy of the bundled samples is aborted right
//! after its k-th store write (`ABGLEICH_ABORT_AFTER_WRITES=k`, as a kill -9
//! would; the last k is right after the stores commit, before the apply is
//! marked done), for every k the full apply reaches. After each crash both stores
//! are readable, the next `apply` first rolls the unfinished one back and
//! then ends where an uninterrupted apply ends, its next plan is empty, and
//! no sample contact is lost. A crash followed by `status` (which recovers)
//! leaves the stores exactly as they were before the crashed apply.

use crate::common;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use abgleich::config::Config;
use abgleich::model::record::Record;
use abgleich::model::{PerSide, Side, fold};
use abgleich::store;
use tempfile::TempDir;

use common::{copy_samples, samples};

const BIN: &str = env!("CARGO_BIN_EXE_abgleich");
pub(crate) const HOOK: &str = "ABGLEICH_ABORT_AFTER_WRITES";
pub(crate) const APPLY: [&str; 5] = ["apply", "--yes", "--conflicts", "left", "--accept-review"];
const BROKEN: &str = "Broken Export.vcf";

// ---- a copy of the samples, and the binary run on it --------------------------

pub(crate) struct Copy {
    dir: TempDir,
}

impl Copy {
    pub(crate) fn new() -> Copy {
        let dir = copy_samples();
        Copy { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.path().join("abgleich.toml")
    }

    /// The binary with a neutral environment (HOME, XDG_CONFIG_HOME and the
    /// working folder in a sandbox next to the stores) on this copy's config.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let sandbox = self.path().join("sandbox");
        let (home, xdg, cwd) = (
            sandbox.join("home"),
            sandbox.join("xdg"),
            sandbox.join("cwd"),
        );
        for dir in [&home, &xdg, &cwd] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(self.config())
            .args(args)
            .current_dir(&cwd)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &xdg)
            .env_remove(HOOK)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::of(
            self.command(args)
                .output()
                .expect("the abgleich binary runs"),
        )
    }

    /// `apply` aborted after its k-th store write (or finished, if it
    /// makes fewer).
    pub(crate) fn apply_aborting_after(&self, k: usize) -> Run {
        Run::of(
            self.command(&APPLY)
                .env(HOOK, k.to_string())
                .output()
                .expect("the abgleich binary runs"),
        )
    }
}

pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn of(out: Output) -> Run {
        Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn aborted(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            // SIGABRT, as `std::process::abort` raises it.
            self.status.signal() == Some(6)
        }
        #[cfg(not(unix))]
        {
            !self.status.success()
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

// ---- the stores in contact terms ------------------------------------------------

/// Both stores as the library reads them.
struct Contacts {
    rows: Vec<Record>,
    cards: Vec<Record>,
    /// Card files that could not be read (file names).
    unreadable: Vec<String>,
}

fn contacts(copy: &Copy) -> Contacts {
    let config = Config::load(&copy.config()).unwrap();
    let list = |sc| {
        store::open(sc, &config.normalizer)
            .unwrap_or_else(|e| panic!("{}: {e}", copy.path().display()))
            .read_all()
            .unwrap_or_else(|e| panic!("{}: {e}", copy.path().display()))
    };
    let left = list(&config.left);
    assert!(left.unreadable.is_empty(), "{:?}", left.unreadable);
    let right = list(&config.right);
    Contacts {
        rows: left.records,
        cards: right.records,
        unreadable: right
            .unreadable
            .iter()
            .map(|u| u.file.file_name().unwrap().to_string_lossy().into_owned())
            .collect(),
    }
}

/// Given and family name, white space collapsed.
fn name(r: &Record) -> String {
    format!("{} {}", r.contact.given, r.contact.family)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many contacts carry each name.
fn names<'a>(records: impl Iterator<Item = &'a Record>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(name(r)).or_default() += 1;
    }
    out
}

/// Every contact's content, in an order that does not depend on ids.
fn contents(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = records
        .iter()
        .map(|r| format!("{:?} in_scope={}", r.contact, r.in_scope))
        .collect();
    out.sort();
    out
}

/// The number of operations `plan --json` lists.
pub(crate) fn plan_operations(copy: &Copy) -> usize {
    let out = copy.run(&["plan", "--json"]);
    assert!(out.status.success(), "plan --json\n{out}");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("plan --json is not JSON: {e}\n{out}"));
    plan["operations"]
        .as_array()
        .unwrap_or_else(|| panic!("no operations list\n{out}"))
        .len()
}

/// `check` on a copy: both stores readable, apart from the sample's one
/// broken card (which makes `check` exit 1).
fn assert_check_reads_both(copy: &Copy) {
    let out = copy.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "check fails only for the broken card\n{out}"
    );
    let side = |prefix: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line\n{out}"))
            .to_string()
    };
    assert!(side("left").contains(", 0 unreadable"), "CRM\n{out}");
    assert!(side("right").contains(", 1 unreadable"), "Outlook\n{out}");
    let unreadable: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("unreadable: "))
        .collect();
    assert_eq!(unreadable.len(), 1, "exactly the broken card\n{out}");
    assert!(unreadable[0].contains(BROKEN), "the broken card\n{out}");
    assert!(out.stderr.trim().is_empty(), "no store error\n{out}");
}

/// Every file of a folder (name → bytes).
pub(crate) fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Every row of the CRM table with every column, exactly as stored.
pub(crate) fn crm_rows(db: &Path) -> Vec<Vec<rusqlite::types::Value>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT * FROM customers ORDER BY id").unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |row| {
        (0..width)
            .map(|i| row.get::<_, rusqlite::types::Value>(i))
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

// ---- what an uninterrupted apply ends in ------------------------------------------

struct Reference {
    rows: Vec<String>,
    cards: Vec<String>,
    unreadable: Vec<String>,
    /// The samples' contacts before any apply, by folded name.
    original: PerSide<BTreeMap<String, usize>>,
}

/// How many contacts carry each folded name ("Groß" and "GROSS" alike).
fn folded(records: &[Record]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(fold::german(&name(r))).or_default() += 1;
    }
    out
}

fn uninterrupted() -> Reference {
    let copy = Copy::new();
    let out = copy.run(&APPLY);
    assert!(out.status.success(), "the uninterrupted apply\n{out}");
    assert_eq!(plan_operations(&copy), 0, "the plan after it is empty");
    let c = contacts(&copy);
    let original = contacts(&Copy::new());
    Reference {
        rows: contents(&c.rows),
        cards: contents(&c.cards),
        unreadable: c.unreadable,
        original: PerSide::new(folded(&original.rows), folded(&original.cards)),
    }
}

/// Computed once for all tests.
fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(uninterrupted)
}

pub(crate) fn total_writes() -> usize {
    static TOTAL: OnceLock<usize> = OnceLock::new();
    *TOTAL.get_or_init(writes_of_a_full_apply)
}

/// The number of store writes a full apply of the samples makes: the
/// smallest k at which the hook no longer fires (aborting is monotone in k).
fn writes_of_a_full_apply() -> usize {
    let finishes = |k: usize| {
        let out = Copy::new().apply_aborting_after(k);
        if out.status.success() {
            true
        } else {
            assert!(out.aborted(), "k = {k}: the hook aborts\n{out}");
            false
        }
    };
    assert!(!finishes(1), "the full apply writes something");
    let mut high = 2;
    while !finishes(high) {
        high *= 2;
        assert!(high < 100_000, "the apply never finishes");
    }
    // finishes(high), !finishes(low)
    let mut low = high / 2;
    while high - low > 1 {
        let mid = (low + high) / 2;
        if finishes(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    low
}

/// Crash after write k, then check, re-apply, compare.
fn crash_and_recover(k: usize, reference: &Reference) {
    let copy = Copy::new();
    let crashed = copy.apply_aborting_after(k);
    assert!(
        crashed.aborted(),
        "k = {k}: aborted after write {k}\n{crashed}"
    );
    recover_and_compare(&copy, k, reference);
}

/// After a crashed apply (the last one aborted after write `k`): both
/// stores readable; the next apply rolls the crashed one back and ends where
/// an uninterrupted apply ends.
fn recover_and_compare(copy: &Copy, k: usize, reference: &Reference) {
    // Both stores readable as they are (nothing has recovered yet).
    assert_check_reads_both(copy);

    // The next apply rolls the crashed one back first, then applies.
    let again = copy.run(&APPLY);
    assert!(
        again.status.success(),
        "k = {k}: apply after the crash\n{again}"
    );
    assert!(
        again.stderr.contains("did not finish") && again.stderr.contains("put back"),
        "k = {k}: the re-run says it rolled back the unfinished apply\n{again}"
    );
    assert_eq!(
        plan_operations(copy),
        0,
        "k = {k}: the plan after the re-run is empty"
    );

    // In contact terms, where an uninterrupted apply ends.
    let after = contacts(copy);
    assert_eq!(
        (after.rows.len(), after.cards.len(), &after.unreadable),
        (
            reference.rows.len(),
            reference.cards.len(),
            &reference.unreadable
        ),
        "k = {k}: rows, readable cards, unreadable cards"
    );
    let in_scope = names(after.rows.iter().filter(|r| r.in_scope));
    let cards = names(after.cards.iter());
    assert_eq!(
        in_scope, cards,
        "k = {k}: every CRM contact in scope is a card and every card a CRM contact"
    );
    assert_eq!(
        contents(&after.rows),
        reference.rows,
        "k = {k}: the CRM as an uninterrupted apply leaves it"
    );
    assert_eq!(
        contents(&after.cards),
        reference.cards,
        "k = {k}: the address book as an uninterrupted apply leaves it"
    );

    // No sample contact lost (compared by folded name: the apply may settle
    // "Sabine Groß" on the card as the CRM's "Sabine GROSS").
    let now = PerSide::new(folded(&after.rows), folded(&after.cards));
    for (what, side) in [("CRM contact", Side::Left), ("card", Side::Right)] {
        for (n, count) in reference.original.get(side) {
            assert!(
                now.get(side).get(n).copied().unwrap_or(0) >= *count,
                "k = {k}: {what} {n} lost"
            );
        }
    }
    assert_eq!(
        std::fs::read(copy.path().join("outlook").join(BROKEN)).unwrap(),
        std::fs::read(samples().join("outlook").join(BROKEN)).unwrap(),
        "k = {k}: the broken card is left as it is"
    );
}

#[test]
fn a_crash_after_any_write_recovers_to_the_uninterrupted_result() {
    let total = total_writes();
    let reference = reference();
    // Every k, shared among a few workers (the runs wait mostly on fsync).
    let next = AtomicUsize::new(1);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get() * 2)
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    if k > total {
                        break;
                    }
                    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        crash_and_recover(k, reference)
                    }));
                    if let Err(panic) = result {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.lock().unwrap().push(format!("k = {k}: {message}"));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {total} crash points failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn recovery_alone_puts_the_stores_back_exactly() {
    let k = total_writes().div_ceil(2);
    let copy = Copy::new();
    let crashed = copy.apply_aborting_after(k);
    assert!(crashed.aborted(), "aborted after write {k}\n{crashed}");
    let outlook = copy.path().join("outlook");
    assert_ne!(
        files(&outlook),
        files(&samples().join("outlook")),
        "the crashed apply had written cards (else this test shows nothing)"
    );

    // `status` opens the session, which rolls the unfinished apply back.
    let status = copy.run(&["status"]);
    assert!(status.status.success(), "status\n{status}");
    assert!(
        status.stderr.contains("did not finish"),
        "status says it rolled back\n{status}"
    );
    assert!(
        status.stdout.contains("rolled back"),
        "the apply is listed as rolled back\n{status}"
    );

    // Byte for byte the samples again: every card file (and no other file),
    // every CRM row with every column.
    assert_eq!(
        files(&outlook),
        files(&samples().join("outlook")),
        "the address book after recovery"
    );
    assert_eq!(
        crm_rows(&copy.path().join("crm.sqlite")),
        crm_rows(&samples().join("crm.sqlite")),
        "the CRM rows after recovery"
    );

    // And the apply then runs as if nothing had happened.
    let again = copy.run(&APPLY);
    assert!(again.status.success(), "apply after recovery\n{again}");
    assert!(
        !again.stderr.contains("did not finish"),
        "nothing left to roll back\n{again}"
    );
    assert_eq!(plan_operations(&copy), 0, "the plan after it is empty");
}

#[test]
fn a_crash_during_the_apply_after_a_crash_recovers_too() {
    let total = total_writes();
    for (first, second) in [
        (1, 1),
        (total.div_ceil(2), 1),
        (1, total),
        (total, total.div_ceil(2)),
    ] {
        let copy = Copy::new();
        let crashed = copy.apply_aborting_after(first);
        assert!(
            crashed.aborted(),
            "first crash after write {first}\n{crashed}"
        );
        // The second apply rolls the first back, then crashes itself.
        let crashed = copy.apply_aborting_after(second);
        assert!(
            crashed.aborted(),
            "second crash after write {second}\n{crashed}"
        );
        assert!(
            crashed.stderr.contains("did not finish"),
            "the second apply rolled the first back\n{crashed}"
        );
        recover_and_compare(&copy, second, reference());
        let status = copy.run(&["status"]);
        assert!(status.status.success(), "status\n{status}");
    }
}
