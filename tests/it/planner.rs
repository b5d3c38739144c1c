//! Table tests for the sync planner (SPEC §1, §3, §6): records, links and a
//! policy go in, the plan's operations come out, rendered as one line each so
//! that a table row reads like the plan an operator would see:
//!
//! ```text
//! update both 1/a: org.name>left=ACME GmbH; title>right=Prof
//! conflict both 1/a review: title?Prof|PD
//! link both 1/a by email
//! ```
//!
//! `field>side=value` is a write (`-`: the field is cleared), `field?l|r` a
//! conflict, `-` an id that does not exist yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use abgleich::config::{Config, ConflictPolicy, DeletePolicy, Mode, ScopeExit};
use abgleich::model::contact::{Contact, FieldPath};
use abgleich::model::record::{Record, Unreadable};
use abgleich::model::{PerSide, Side};
use abgleich::store::Listing;
use abgleich::sync::fields::FieldSet;
use abgleich::sync::plan::{
    self, Inputs, LinkAfter, Op, OpKind, Plan, Policy, Refresh, StampWith, Target, WarningKind,
};
use abgleich::sync::snapshot::Snapshot;
use abgleich::sync::state::{Base, BaseValue, Link};
use abgleich::text::{PlanJson, warning_text};

use ConflictPolicy as C;
use DeletePolicy as D;

// ---- the world: a CRM table on the left, an address book on the right ------

/// `Config::parse` does not open the stores, so the paths need not exist.
const CONFIG: &str = r#"
[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = "customers"
id = "id"

[left.fields]
"name.given" = "first_name"
"name.family" = "last_name"
"org.name" = "company"
"title" = "position"
"email[1]" = "email"
"email[2]" = "email2"
"phone.work" = "phone_work"
"phone.cell" = "phone_mobile"
"note" = "notes"

[right]
name = "Outlook"
kind = "vdir"
path = "outlook"
stamp = "X-CRM-CUSTOMER-NO"
RIGHT_LIMITS

[sync]
mode = "sync"
conflicts = "ask"
deletes = { left_to_right = "propagate", right_to_left = "propagate" }
scope_exit = "unlink"
default_region = "DE"
max_delete_percent = 100
"#;

struct World {
    config: Config,
    fields: FieldSet,
    policy: Policy,
}

impl World {
    fn new() -> World {
        World::with_right_limits("")
    }

    /// The Exchange-style book of the limits tests.
    fn limited() -> World {
        World::with_right_limits(r#"limits = { emails = 1, notes = false, phone_format = "e164" }"#)
    }

    fn with_right_limits(limits: &str) -> World {
        let text = CONFIG.replace("RIGHT_LIMITS", limits);
        let config = Config::parse(&text, Path::new("/nonexistent/abgleich.toml"))
            .unwrap_or_else(|e| panic!("test config does not parse: {e}"));
        let fields = FieldSet::from_config(&config);
        let policy = Policy::from_config(&config);
        World {
            config,
            fields,
            policy,
        }
    }

    fn mode(mut self, mode: Mode) -> World {
        self.policy.mode = mode;
        self
    }

    fn conflicts(mut self, conflicts: ConflictPolicy) -> World {
        self.policy.conflicts = conflicts;
        self
    }

    fn plan(&self, left: Vec<Record>, right: Vec<Record>, links: &[Link]) -> Plan {
        self.plan_listings(listing(left), listing(right), links)
    }

    fn plan_listings(&self, left: Listing, right: Listing, links: &[Link]) -> Plan {
        let snapshot = Snapshot::new(left, right);
        plan::plan(&Inputs {
            snapshot: &snapshot,
            links,
            fields: &self.fields,
            policy: &self.policy,
            normalizer: &self.config.normalizer,
            trust_revisions: true,
        })
    }

    fn same(&self, field: &str, a: Option<&str>, b: Option<&str>) -> bool {
        self.config.normalizer.same(&path(field), a, b)
    }
}

// ---- building records and links ---------------------------------------------

type Fields = &'static [(&'static str, &'static str)];
/// The rendered operations a case expects, in any order.
type Want = &'static [&'static str];

fn path(text: &str) -> FieldPath {
    text.parse()
        .unwrap_or_else(|e| panic!("bad field path in test: {e}"))
}

/// A contact from `field = value` pairs; an empty value is left out.
fn contact(fields: &[(&str, &str)]) -> Contact {
    let mut c = Contact::default();
    for (field, value) in fields {
        if !value.is_empty() {
            c.set(&path(field), Some(value));
        }
    }
    c
}

/// Anna Berg, plus `extra`.
fn anna(extra: &[(&str, &str)]) -> Contact {
    let mut fields = vec![("name.given", "Anna"), ("name.family", "Berg")];
    fields.extend_from_slice(extra);
    contact(&fields)
}

fn rec(id: &str, revision: &str, contact: Contact) -> Record {
    Record {
        id: id.to_string(),
        revision: revision.to_string(),
        contact: contact.into(),
        in_scope: true,
        stamp: None,
        uid: None,
        modified: None,
    }
}

fn listing(records: Vec<Record>) -> Listing {
    Listing {
        records,
        unreadable: Vec::new(),
    }
}

/// A base in which both sides held each value.
fn base(fields: &[(&str, &str)]) -> Base {
    let mut b = Base::default();
    for (field, value) in fields {
        let v = (!value.is_empty()).then(|| value.to_string());
        b.set(path(field), BaseValue::Known(PerSide::new(v.clone(), v)));
    }
    b
}

fn anna_base(extra: &[(&str, &str)]) -> Base {
    let mut fields = vec![("name.given", "Anna"), ("name.family", "Berg")];
    fields.extend_from_slice(extra);
    base(&fields)
}

/// A live link whose revisions at the last sync were `0` on both sides.
fn link(link_id: i64, left: &str, right: &str, base: Base) -> Link {
    Link {
        link_id,
        ids: PerSide::new(Some(left.to_string()), Some(right.to_string())),
        revs: PerSide::new(Some("0".to_string()), Some("0".to_string())),
        base,
        uids: PerSide::default(),
        created_on: None,
        tombstone: None,
    }
}

// ---- rendering the plan -------------------------------------------------------

fn target(t: Target) -> &'static str {
    match t {
        Target::Left => "left",
        Target::Right => "right",
        Target::Both => "both",
    }
}

fn render(op: &Op) -> String {
    let mut line = format!(
        "{} {} {}/{}",
        op.kind.as_str(),
        target(op.target),
        op.ids.left.as_deref().unwrap_or("-"),
        op.ids.right.as_deref().unwrap_or("-")
    );
    if op.review {
        line.push_str(" review");
    }
    if let Some(evidence) = op.evidence {
        line.push_str(" by ");
        line.push_str(evidence.as_str());
    }
    let mut changes: Vec<String> = op
        .changes
        .iter()
        .map(|c| match c.to {
            Some(to) => format!("{}>{}={}", c.field, to, c.value_for(to).unwrap_or("-")),
            None => format!(
                "{}?{}|{}",
                c.field,
                c.value(Side::Left).unwrap_or("-"),
                c.value(Side::Right).unwrap_or("-")
            ),
        })
        .collect();
    changes.sort();
    if !changes.is_empty() {
        line.push_str(": ");
        line.push_str(&changes.join("; "));
    }
    line
}

fn rendered(plan: &Plan) -> Vec<String> {
    let mut lines: Vec<String> = plan.operations.iter().map(render).collect();
    lines.sort();
    lines
}

fn sorted(lines: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    lines.sort();
    lines
}

/// Collects every failing row of a table, so one run shows them all.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, name: &str, got: Vec<String>, want: Vec<String>) {
        if got != want {
            self.0.push(format!(
                "case `{name}`:\n    want {want:#?}\n    got  {got:#?}"
            ));
        }
    }

    fn fail(&mut self, name: &str, why: String) {
        self.0.push(format!("case `{name}`: {why}"));
    }

    fn finish(self) {
        assert!(self.0.is_empty(), "\n{}", self.0.join("\n"));
    }
}

// ---- one linked pair, field by field (three-way) ----------------------------

struct PairCase {
    name: &'static str,
    mode: Mode,
    conflicts: ConflictPolicy,
    /// What both sides held at the last sync (besides Anna Berg's name).
    base: Fields,
    left: Fields,
    right: Fields,
    want: Want,
    /// After no write: the state learns this field's new value.
    refresh: Option<(&'static str, &'static str)>,
}

const fn pair(
    name: &'static str,
    base: Fields,
    left: Fields,
    right: Fields,
    want: Want,
) -> PairCase {
    PairCase {
        name,
        mode: Mode::Sync,
        conflicts: C::Ask,
        base,
        left,
        right,
        want,
        refresh: None,
    }
}

impl PairCase {
    const fn conflicts(mut self, conflicts: ConflictPolicy) -> Self {
        self.conflicts = conflicts;
        self
    }

    const fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    const fn refresh(mut self, field: &'static str, value: &'static str) -> Self {
        self.refresh = Some((field, value));
        self
    }
}

fn run_pairs(world: fn() -> World, cases: Vec<PairCase>) {
    let mut failures = Failures::default();
    for case in cases {
        let w = world().mode(case.mode).conflicts(case.conflicts);
        let links = [link(1, "1", "a", anna_base(case.base))];
        let plan = w.plan(
            vec![rec("1", "1", anna(case.left))],
            vec![rec("a", "1", anna(case.right))],
            &links,
        );
        failures.check(case.name, rendered(&plan), sorted(case.want));
        if let Some((field, value)) = case.refresh {
            let learned = plan.refreshes.iter().any(|r| match r {
                Refresh::Put(l) if l.link_id == 1 => match l.base.get(&path(field)) {
                    BaseValue::Known(v) => {
                        w.same(field, v.left.as_deref(), Some(value))
                            && w.same(field, v.right.as_deref(), Some(value))
                    }
                    BaseValue::Unknown => false,
                },
                _ => false,
            });
            if !learned {
                failures.fail(
                    case.name,
                    format!(
                        "no Refresh::Put with base {field} = {value:?}: {:?}",
                        plan.refreshes
                    ),
                );
            }
        }
    }
    failures.finish();
}

#[test]
fn three_way_per_field() {
    run_pairs(
        World::new,
        vec![
            pair(
                "unchanged",
                &[("title", "Dr"), ("email[1]", "anna@x.de")],
                &[("title", "Dr"), ("email[1]", "anna@x.de")],
                &[("title", "Dr"), ("email[1]", "anna@x.de")],
                &[],
            ),
            pair(
                "changed left only: the right gets the left value",
                &[("title", "Dr")],
                &[("title", "Prof")],
                &[("title", "Dr")],
                &["update right 1/a: title>right=Prof"],
            ),
            pair(
                "changed right only: the left gets the right value",
                &[("title", "Dr")],
                &[("title", "Dr")],
                &[("title", "Prof")],
                &["update left 1/a: title>left=Prof"],
            ),
            pair(
                "set on the left where nothing was",
                &[],
                &[("org.name", "ACME")],
                &[],
                &["update right 1/a: org.name>right=ACME"],
            ),
            pair(
                "both changed to the same value",
                &[("title", "Dr")],
                &[("title", "Prof")],
                &[("title", "Prof")],
                &[],
            )
            .refresh("title", "Prof"),
            pair(
                "both changed to the same e-mail, different case",
                &[("email[1]", "anna@x.de")],
                &[("email[1]", "Anna.Neu@X.de")],
                &[("email[1]", "anna.neu@x.de")],
                &[],
            )
            .refresh("email[1]", "anna.neu@x.de"),
            pair(
                "both changed to the same phone, national vs international",
                &[("phone.work", "030 1111111")],
                &[("phone.work", "030 1234567")],
                &[("phone.work", "+49 30 1234567")],
                &[],
            )
            .refresh("phone.work", "+49301234567"),
            pair(
                "both changed to the same value, surrounding spaces",
                &[("org.name", "ACME")],
                &[("org.name", "  ACME GmbH ")],
                &[("org.name", "ACME GmbH")],
                &[],
            )
            .refresh("org.name", "ACME GmbH"),
            pair(
                "both changed differently: a conflict waiting for review",
                &[("title", "Dr")],
                &[("title", "Prof")],
                &[("title", "PD")],
                &["conflict both 1/a review: title?Prof|PD"],
            ),
            pair(
                "both changed differently, conflicts = left",
                &[("title", "Dr")],
                &[("title", "Prof")],
                &[("title", "PD")],
                &["update right 1/a: title>right=Prof"],
            )
            .conflicts(C::Left),
            pair(
                "both changed differently, conflicts = right",
                &[("title", "Dr")],
                &[("title", "Prof")],
                &[("title", "PD")],
                &["update left 1/a: title>left=PD"],
            )
            .conflicts(C::Right),
            pair(
                "conflicts = newest, no modification times known: waits for review",
                &[("title", "Dr")],
                &[("title", "Prof")],
                &[("title", "PD")],
                &["conflict both 1/a review: title?Prof|PD"],
            )
            .conflicts(C::Newest),
            pair(
                "a conflict is on that field only; the other field still travels",
                &[("title", "Dr"), ("org.name", "ACME")],
                &[("title", "Prof"), ("org.name", "ACME GmbH")],
                &[("title", "PD"), ("org.name", "ACME")],
                &[
                    "update right 1/a: org.name>right=ACME GmbH",
                    "conflict both 1/a review: title?Prof|PD",
                ],
            ),
            pair(
                "two fields changed on different sides: one update, target both",
                &[("title", "Dr"), ("org.name", "ACME")],
                &[("title", "Prof"), ("org.name", "ACME")],
                &[("title", "Dr"), ("org.name", "ACME GmbH")],
                &["update both 1/a: org.name>left=ACME GmbH; title>right=Prof"],
            ),
            pair(
                "cleared on the left: cleared on the right",
                &[("title", "Dr")],
                &[],
                &[("title", "Dr")],
                &["update right 1/a: title>right=-"],
            ),
            pair(
                "cleared on the right: cleared on the left",
                &[("email[1]", "anna@x.de"), ("title", "Dr")],
                &[("email[1]", "anna@x.de"), ("title", "Dr")],
                &[("title", "Dr")],
                &["update left 1/a: email>left=-"],
            ),
            pair("cleared on both sides", &[("title", "Dr")], &[], &[], &[]),
            pair(
                "cleared on one side, changed on the other: a conflict",
                &[("title", "Dr")],
                &[],
                &[("title", "Prof")],
                &["conflict both 1/a review: title?-|Prof"],
            ),
            pair(
                "reformatted on one side, really changed on the other: no conflict",
                &[("phone.cell", "0171 2345678")],
                &[("phone.cell", "+49 171 2345678")],
                &[("phone.cell", "0171 7654321")],
                &["update left 1/a: phone.cell>left=0171 7654321"],
            ),
        ],
    );
}

#[test]
fn formatting_alone_never_updates() {
    run_pairs(
        World::new,
        vec![
            pair(
                "phone reformatted on the right",
                &[("phone.work", "030 1234567")],
                &[("phone.work", "030 1234567")],
                &[("phone.work", "+49 (30) 123-4567")],
                &[],
            ),
            pair(
                "phone reformatted on both sides, differently",
                &[("phone.cell", "0171 2345678")],
                &[("phone.cell", "0171/2345678")],
                &[("phone.cell", "+491712345678")],
                &[],
            ),
            pair(
                "e-mail case changed on the left",
                &[("email[1]", "anna@x.de")],
                &[("email[1]", "ANNA@X.DE")],
                &[("email[1]", "anna@x.de")],
                &[],
            ),
            pair(
                "surrounding and repeated spaces",
                &[("org.name", "ACME GmbH"), ("title", "Dr")],
                &[("org.name", "ACME  GmbH"), ("title", " Dr")],
                &[("org.name", " ACME GmbH "), ("title", "Dr ")],
                &[],
            ),
            pair(
                "sides held different formats at the last sync, and still do",
                &[("phone.work", "+49301234567")],
                &[("phone.work", "030 1234567")],
                &[("phone.work", "+49 30 1234567")],
                &[],
            ),
            pair(
                "a new link's values differ in format only (never-agreed base)",
                &[],
                &[("email[1]", "Anna@X.de"), ("phone.cell", "0171 2345678")],
                &[("email[1]", "anna@x.de"), ("phone.cell", "+49 171 2345678")],
                &[],
            ),
        ],
    );
}

#[test]
fn the_pair_in_every_mode() {
    // Left changed the title, right changed the organisation.
    const BASE: Fields = &[("title", "Dr"), ("org.name", "ACME")];
    const LEFT: Fields = &[("title", "Prof"), ("org.name", "ACME")];
    const RIGHT: Fields = &[("title", "Dr"), ("org.name", "ACME GmbH")];
    // Both changed the title to different values.
    const L2: Fields = &[("title", "Prof"), ("org.name", "ACME")];
    const R2: Fields = &[("title", "PD"), ("org.name", "ACME")];
    run_pairs(
        World::new,
        vec![
            pair(
                "sync: each change travels",
                BASE,
                LEFT,
                RIGHT,
                &["update both 1/a: org.name>left=ACME GmbH; title>right=Prof"],
            ),
            pair(
                "left-wins: right overwritten regardless of the base",
                BASE,
                LEFT,
                RIGHT,
                &["update right 1/a: org.name>right=ACME; title>right=Prof"],
            )
            .mode(Mode::LeftWins),
            pair(
                "right-wins: left overwritten regardless of the base",
                BASE,
                LEFT,
                RIGHT,
                &["update left 1/a: org.name>left=ACME GmbH; title>left=Dr"],
            )
            .mode(Mode::RightWins),
            pair(
                "import: only right-to-left",
                BASE,
                LEFT,
                RIGHT,
                &["update left 1/a: org.name>left=ACME GmbH"],
            )
            .mode(Mode::Import),
            pair(
                "export: only left-to-right",
                BASE,
                LEFT,
                RIGHT,
                &["update right 1/a: title>right=Prof"],
            )
            .mode(Mode::Export),
            pair("none: nothing", BASE, LEFT, RIGHT, &[]).mode(Mode::None),
            pair(
                "left-wins: no conflict, the left value",
                BASE,
                L2,
                R2,
                &["update right 1/a: title>right=Prof"],
            )
            .mode(Mode::LeftWins),
            pair(
                "right-wins: no conflict, the right value",
                BASE,
                L2,
                R2,
                &["update left 1/a: title>left=PD"],
            )
            .mode(Mode::RightWins),
            pair(
                "left-wins: equal in normal form is not overwritten",
                &[],
                &[("phone.work", "030 1234567")],
                &[("phone.work", "+49 30 1234567")],
                &[],
            )
            .mode(Mode::LeftWins),
        ],
    );
}

// ---- unlinked records: create, link, or wait ---------------------------------

struct Unlinked {
    name: &'static str,
    left: Vec<Record>,
    right: Vec<Record>,
    want: Want,
}

fn unlinked(name: &'static str, left: Vec<Record>, right: Vec<Record>, want: Want) -> Unlinked {
    Unlinked {
        name,
        left,
        right,
        want,
    }
}

fn stamped(mut r: Record, stamp: &str) -> Record {
    r.stamp = Some(stamp.to_string());
    r
}

fn person(id: &str, fields: &[(&str, &str)]) -> Record {
    rec(id, "1", contact(fields))
}

#[test]
fn unlinked_records() {
    let ina = || person("1", &[("name.given", "Ina"), ("name.family", "Wolf")]);
    let cases = vec![
        unlinked(
            "only on the left: created on the right",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "ina@a.de"),
                    ("phone.cell", "0171 2345678"),
                ],
            )],
            vec![],
            &[
                "create right 1/-: email>right=ina@a.de; name.family>right=Wolf; \
               name.given>right=Ina; phone.cell>right=0171 2345678",
            ],
        ),
        unlinked(
            "only on the right: created on the left",
            vec![],
            vec![person(
                "a",
                &[
                    ("name.given", "Tom"),
                    ("name.family", "Hahn"),
                    ("org.name", "Hahn KG"),
                ],
            )],
            &["create left -/a: name.family>left=Hahn; name.given>left=Tom; org.name>left=Hahn KG"],
        ),
        unlinked(
            "same e-mail (other case): linked, no review",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "ina@a.de"),
                ],
            )],
            vec![person(
                "a",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "INA@a.de"),
                ],
            )],
            &["link both 1/a by email"],
        ),
        unlinked(
            "same e-mail, title only on the left: the link carries it",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "ina@a.de"),
                    ("title", "Dr"),
                ],
            )],
            vec![person(
                "a",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "ina@a.de"),
                ],
            )],
            &["link right 1/a by email: title>right=Dr"],
        ),
        unlinked(
            "same phone in another format: linked, no review",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("phone.cell", "0171 2345678"),
                ],
            )],
            vec![person(
                "a",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("phone.cell", "+49 171 2345678"),
                ],
            )],
            &["link both 1/a by phone"],
        ),
        unlinked(
            "the card carries the CRM id: linked by stamp, no review",
            vec![ina()],
            vec![stamped(
                person("a", &[("name.given", "Ina"), ("name.family", "Wolf")]),
                "1",
            )],
            &["link both 1/a by stamp"],
        ),
        unlinked(
            "name only (Müller vs Mueller): waits for review, nothing created",
            vec![person(
                "1",
                &[("name.given", "Jörg"), ("name.family", "Müller")],
            )],
            vec![person(
                "a",
                &[("name.given", "Jörg"), ("name.family", "Mueller")],
            )],
            &[
                "link both 1/a review by name",
                "conflict both 1/a review: name.family?Müller|Mueller",
            ],
        ),
        unlinked(
            "name only, e-mails differ: waits for review, nothing created",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "ina@a.de"),
                ],
            )],
            vec![person(
                "a",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "wolf@b.de"),
                ],
            )],
            &[
                "link both 1/a review by name",
                "conflict both 1/a review: email?ina@a.de|wolf@b.de",
            ],
        ),
        unlinked(
            "shared e-mail, different people: the link waits for review",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "info@firma.de"),
                ],
            )],
            vec![person(
                "a",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Hahn"),
                    ("email[1]", "info@firma.de"),
                ],
            )],
            &[
                "link both 1/a review by email",
                "conflict both 1/a review: name.family?Wolf|Hahn",
            ],
        ),
        unlinked(
            "strangers: two creates, never a link",
            vec![person(
                "1",
                &[
                    ("name.given", "Ina"),
                    ("name.family", "Wolf"),
                    ("email[1]", "ina@a.de"),
                ],
            )],
            vec![person(
                "a",
                &[
                    ("name.given", "Tom"),
                    ("name.family", "Hahn"),
                    ("email[1]", "tom@b.de"),
                ],
            )],
            &[
                "create left -/a: email>left=tom@b.de; name.family>left=Hahn; name.given>left=Tom",
                "create right 1/-: email>right=ina@a.de; name.family>right=Wolf; name.given>right=Ina",
            ],
        ),
        unlinked(
            "out of scope: neither created nor linked",
            vec![Record {
                in_scope: false,
                ..ina()
            }],
            vec![Record {
                in_scope: false,
                ..person("a", &[("name.given", "Tom"), ("name.family", "Hahn")])
            }],
            &[],
        ),
    ];
    let mut failures = Failures::default();
    for case in cases {
        let plan = World::new().plan(case.left, case.right, &[]);
        failures.check(case.name, rendered(&plan), sorted(case.want));
    }
    failures.finish();
}

/// SPEC §1: "a contact that already exists on both sides is linked, not
/// duplicated"; "a repeated export … never duplicates". The CRM holds Ina
/// twice (a duplicate row), the book once, all with one e-mail address: the
/// key is ambiguous, so nothing is linked, and no create happens without a
/// person's review: each create waits and names the lookalike.
#[test]
fn ambiguous_candidates_are_not_created_without_review() {
    let ina = |id: &str| {
        person(
            id,
            &[
                ("name.given", "Ina"),
                ("name.family", "Wolf"),
                ("email[1]", "ina@a.de"),
            ],
        )
    };
    let world = World::new();
    let plan = world.plan(vec![ina("1"), ina("2")], vec![ina("a")], &[]);
    let creates: Vec<&Op> = plan
        .operations
        .iter()
        .filter(|o| o.kind == OpKind::Create)
        .collect();
    assert_eq!(creates.len(), 3, "{:#?}", rendered(&plan));
    for op in creates {
        assert!(
            op.review,
            "a possible duplicate is created without review: {op:?}"
        );
        assert!(
            op.warnings.iter().any(|w| {
                let text = warning_text(w, &world.fields.names);
                text.contains("same person") && text.contains("Ina Wolf")
            }),
            "{:?}",
            op.warnings
        );
    }
    // A stranger with her own address is created without asking.
    let plan = World::new().plan(
        vec![person(
            "3",
            &[
                ("name.given", "Tom"),
                ("name.family", "Hahn"),
                ("email[1]", "tom@h.de"),
            ],
        )],
        vec![ina("a")],
        &[],
    );
    let tom = plan
        .operations
        .iter()
        .find(|o| o.ids.left.as_deref() == Some("3"))
        .unwrap();
    assert_eq!((tom.kind, tom.review), (OpKind::Create, false));
}

#[test]
fn a_link_found_by_stamp_or_email_writes_the_stamp_into_the_card() {
    let w = World::new();
    let plan = w.plan(
        vec![person(
            "1",
            &[("name.given", "Ina"), ("email[1]", "ina@a.de")],
        )],
        vec![person(
            "a",
            &[("name.given", "Ina"), ("email[1]", "ina@a.de")],
        )],
        &[],
    );
    let op = &plan.operations[0];
    assert_eq!(op.kind, OpKind::Link);
    assert_eq!(
        op.stamp,
        PerSide::new(None, Some(StampWith::Id("1".into()))),
        "{op:?}"
    );
}

// ---- every mode over a small world ------------------------------------------

#[test]
fn every_mode() {
    // 1/a: linked, left changed the title, right the organisation.
    // 2: only on the left. b: only on the right.
    // 3/c: linked, deleted on the left since the last sync.
    // 4/d: linked, deleted on the right since the last sync.
    let world = || {
        let left = vec![
            rec("1", "1", anna(&[("title", "Prof"), ("org.name", "ACME")])),
            person("2", &[("name.given", "Bob"), ("name.family", "Kurz")]),
            rec(
                "4",
                "0",
                contact(&[("name.given", "Emil"), ("name.family", "Roth")]),
            ),
        ];
        let right = vec![
            rec(
                "a",
                "1",
                anna(&[("title", "Dr"), ("org.name", "ACME GmbH")]),
            ),
            person("b", &[("name.given", "Cara"), ("name.family", "Linde")]),
            rec(
                "c",
                "0",
                contact(&[("name.given", "Dora"), ("name.family", "Stein")]),
            ),
        ];
        let links = vec![
            link(
                1,
                "1",
                "a",
                anna_base(&[("title", "Dr"), ("org.name", "ACME")]),
            ),
            link(
                3,
                "3",
                "c",
                base(&[("name.given", "Dora"), ("name.family", "Stein")]),
            ),
            link(
                4,
                "4",
                "d",
                base(&[("name.given", "Emil"), ("name.family", "Roth")]),
            ),
        ];
        (left, right, links)
    };
    const CREATE_BOB: &str = "create right 2/-: name.family>right=Kurz; name.given>right=Bob";
    const CREATE_CARA: &str = "create left -/b: name.family>left=Linde; name.given>left=Cara";
    let cases: Vec<(Mode, Want)> = vec![
        (
            Mode::Sync,
            &[
                "update both 1/a: org.name>left=ACME GmbH; title>right=Prof",
                CREATE_BOB,
                CREATE_CARA,
                "delete right 3/c",
                "delete left 4/d",
            ],
        ),
        (
            Mode::LeftWins,
            &[
                "update right 1/a: org.name>right=ACME; title>right=Prof",
                CREATE_BOB,
                // The winner still has Emil: the loser gets him back.
                "create right 4/-: name.family>right=Roth; name.given>right=Emil",
            ],
        ),
        (
            Mode::RightWins,
            &[
                "update left 1/a: org.name>left=ACME GmbH; title>left=Dr",
                CREATE_CARA,
                // The winner still has Dora: the loser gets her back.
                "create left -/c: name.family>left=Stein; name.given>left=Dora",
            ],
        ),
        (
            Mode::Import,
            &["update left 1/a: org.name>left=ACME GmbH", CREATE_CARA],
        ),
        (
            Mode::Export,
            &["update right 1/a: title>right=Prof", CREATE_BOB],
        ),
        (Mode::None, &[]),
    ];
    let mut failures = Failures::default();
    for (mode, want) in cases {
        let (left, right, links) = world();
        let plan = World::new().mode(mode).plan(left, right, &links);
        failures.check(mode.as_str(), rendered(&plan), sorted(want));
        if mode == Mode::None && !plan.refreshes.is_empty() {
            failures.fail("none", format!("refreshes: {:?}", plan.refreshes));
        }
    }
    failures.finish();
}

// ---- deletes -------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Unread {
    No,
    /// The missing record is listed as unreadable, with its id.
    WithId,
    /// Some record of that side is unreadable and its id is unknown.
    WithoutId,
}

struct DeleteCase {
    name: &'static str,
    /// The side on which 1/a's record is gone.
    gone: Side,
    /// (left_to_right, right_to_left)
    deletes: (DeletePolicy, DeletePolicy),
    /// The kept copy was edited since the last sync.
    kept_changed: bool,
    unread: Unread,
    want: Want,
}

const fn del(
    name: &'static str,
    gone: Side,
    deletes: (DeletePolicy, DeletePolicy),
    want: Want,
) -> DeleteCase {
    DeleteCase {
        name,
        gone,
        deletes,
        kept_changed: false,
        unread: Unread::No,
        want,
    }
}

impl DeleteCase {
    const fn kept_changed(mut self) -> Self {
        self.kept_changed = true;
        self
    }

    const fn unread(mut self, unread: Unread) -> Self {
        self.unread = unread;
        self
    }
}

fn unreadable(id: Option<&str>) -> Unreadable {
    Unreadable {
        id: id.map(str::to_string),
        file: PathBuf::from("outlook/broken.vcf"),
        line: Some(3),
        message: "cannot parse".to_string(),
    }
}

#[test]
fn deletes_per_direction() {
    use Side::{Left as L, Right as R};
    let cases = vec![
        del(
            "left gone, propagate",
            L,
            (D::Propagate, D::Keep),
            &["delete right 1/a"],
        ),
        del(
            "left gone, keep",
            L,
            (D::Keep, D::Propagate),
            &["unlink right 1/a"],
        ),
        del(
            "left gone, ask",
            L,
            (D::Ask, D::Propagate),
            &["delete right 1/a review"],
        ),
        del(
            "right gone, propagate",
            R,
            (D::Keep, D::Propagate),
            &["delete left 1/a"],
        ),
        del(
            "right gone, keep",
            R,
            (D::Propagate, D::Keep),
            &["unlink left 1/a"],
        ),
        del(
            "right gone, ask",
            R,
            (D::Propagate, D::Ask),
            &["delete left 1/a review"],
        ),
        del(
            "left gone, propagate, right edited since: review",
            L,
            (D::Propagate, D::Propagate),
            &["delete right 1/a review"],
        )
        .kept_changed(),
        del(
            "right gone, propagate, left edited since: review",
            R,
            (D::Propagate, D::Propagate),
            &["delete left 1/a review"],
        )
        .kept_changed(),
        del(
            "left gone, keep, right edited since: still only unlinked",
            L,
            (D::Keep, D::Keep),
            &["unlink right 1/a"],
        )
        .kept_changed(),
        del(
            "left unreadable (listed with its id): never deleted",
            L,
            (D::Propagate, D::Propagate),
            &[],
        )
        .unread(Unread::WithId),
        del(
            "right unreadable (listed with its id): never deleted",
            R,
            (D::Propagate, D::Propagate),
            &[],
        )
        .unread(Unread::WithId),
        del(
            "left unreadable (listed with its id), keep: never unlinked",
            L,
            (D::Keep, D::Keep),
            &[],
        )
        .unread(Unread::WithId),
        del(
            "right has a card of unknown id that cannot be read: nothing deleted",
            R,
            (D::Propagate, D::Propagate),
            &[],
        )
        .unread(Unread::WithoutId),
    ];
    let mut failures = Failures::default();
    for case in cases {
        let mut w = World::new();
        w.policy.deletes = PerSide::new(case.deletes.0, case.deletes.1);
        let kept_rev = if case.kept_changed { "1" } else { "0" };
        let kept_title = if case.kept_changed { "Prof" } else { "Dr" };
        let mut sides = PerSide::new(
            // A bystander pair, unchanged, so that no side reads as empty.
            listing(vec![rec("9", "0", contact(&[("name.given", "Zeno")]))]),
            listing(vec![rec("z", "0", contact(&[("name.given", "Zeno")]))]),
        );
        let kept = case.gone.opposite();
        let kept_id = if kept == Side::Left { "1" } else { "a" };
        let gone_id = if kept == Side::Left { "a" } else { "1" };
        sides
            .get_mut(kept)
            .records
            .push(rec(kept_id, kept_rev, anna(&[("title", kept_title)])));
        match case.unread {
            Unread::No => {}
            Unread::WithId => sides
                .get_mut(case.gone)
                .unreadable
                .push(unreadable(Some(gone_id))),
            Unread::WithoutId => sides.get_mut(case.gone).unreadable.push(unreadable(None)),
        }
        let links = [
            link(1, "1", "a", anna_base(&[("title", "Dr")])),
            link(9, "9", "z", base(&[("name.given", "Zeno")])),
        ];
        let plan = w.plan_listings(sides.left, sides.right, &links);
        failures.check(case.name, rendered(&plan), sorted(case.want));
        for op in &plan.operations {
            let wrong_after = match op.kind {
                OpKind::Unlink => !matches!(
                    op.after,
                    LinkAfter::Tombstone { gone: Some(g), .. } if g == case.gone
                ),
                OpKind::Delete => op.after != LinkAfter::Drop,
                _ => false,
            };
            if wrong_after {
                failures.fail(case.name, format!("{}: after = {:?}", render(op), op.after));
            }
        }
        if case.unread != Unread::No && !plan.refreshes.is_empty() {
            failures.fail(
                case.name,
                format!(
                    "an unreadable record changed the state: {:?}",
                    plan.refreshes
                ),
            );
        }
    }
    failures.finish();
}

#[test]
fn tombstones() {
    let w = World::new();
    // Deleted in the CRM and kept in the book: the card is not created again.
    let tomb = Link {
        ids: PerSide::new(None, Some("a".to_string())),
        revs: PerSide::default(),
        tombstone: Some("deleted in CRM".to_string()),
        ..link(1, "1", "a", anna_base(&[]))
    };
    let plan = w.plan(
        vec![rec("9", "0", contact(&[("name.given", "Zeno")]))],
        vec![rec("a", "1", anna(&[("title", "Dr")]))],
        &[
            tomb.clone(),
            link(9, "9", "z", base(&[("name.given", "Zeno")])),
        ],
    );
    let lines = rendered(&plan);
    assert!(
        !lines.iter().any(|l| l.contains("/a")),
        "a tombstoned card was planned again: {lines:#?}"
    );
    // Left the scope on the left (both ids kept): neither copy comes back.
    let scope_tomb = Link {
        tombstone: Some("left the sync scope in CRM".to_string()),
        ..link(2, "2", "b", anna_base(&[]))
    };
    let plan = w.plan(
        vec![rec("2", "1", anna(&[]))],
        vec![rec("b", "1", anna(&[]))],
        &[scope_tomb],
    );
    assert_eq!(rendered(&plan), Vec::<String>::new());
    // A live link gone on both sides: forgotten, nothing written.
    let plan = w.plan(
        vec![rec("9", "0", contact(&[("name.given", "Zeno")]))],
        vec![rec("z", "0", contact(&[("name.given", "Zeno")]))],
        &[
            link(3, "3", "c", anna_base(&[])),
            link(9, "9", "z", base(&[("name.given", "Zeno")])),
        ],
    );
    assert_eq!(rendered(&plan), Vec::<String>::new());
    assert!(
        plan.refreshes.contains(&Refresh::Drop(3)),
        "{:?}",
        plan.refreshes
    );
    // A tombstone gone on both sides is forgotten.
    let plan = w.plan(
        vec![rec("9", "0", contact(&[("name.given", "Zeno")]))],
        vec![rec("z", "0", contact(&[("name.given", "Zeno")]))],
        &[tomb, link(9, "9", "z", base(&[("name.given", "Zeno")]))],
    );
    assert_eq!(rendered(&plan), Vec::<String>::new());
    assert!(
        plan.refreshes.contains(&Refresh::Drop(1)),
        "{:?}",
        plan.refreshes
    );
}

// ---- scope exit ------------------------------------------------------------------

#[test]
fn scope_exit() {
    use ScopeExit::{DeleteIfCreated as IfCreated, Unlink};
    use Side::{Left as L, Right as R};
    // (name, policy, side that left the scope, side the sync created a copy on, want)
    let cases: Vec<(&str, ScopeExit, Side, Option<Side>, Want)> = vec![
        (
            "unlink: left leaves",
            Unlink,
            L,
            None,
            &["unlink right 1/a"],
        ),
        (
            "unlink: right leaves",
            Unlink,
            R,
            None,
            &["unlink left 1/a"],
        ),
        (
            "unlink: even a copy the sync created stays",
            Unlink,
            L,
            Some(R),
            &["unlink right 1/a"],
        ),
        (
            "delete-if-created: the sync created the right copy",
            IfCreated,
            L,
            Some(R),
            &["delete right 1/a"],
        ),
        (
            "delete-if-created: the sync created the left copy",
            IfCreated,
            R,
            Some(L),
            &["delete left 1/a"],
        ),
        (
            "delete-if-created: the right copy is the original",
            IfCreated,
            L,
            Some(L),
            &["unlink right 1/a"],
        ),
        (
            "delete-if-created: nobody knows who created it",
            IfCreated,
            L,
            None,
            &["unlink right 1/a"],
        ),
    ];
    let mut failures = Failures::default();
    for (name, policy, leaves, created_on, want) in cases {
        let mut w = World::new();
        w.policy.scope_exit = policy;
        let mut sides = PerSide::new(rec("1", "1", anna(&[])), rec("a", "1", anna(&[])));
        sides.get_mut(leaves).in_scope = false;
        let links = [Link {
            created_on,
            ..link(1, "1", "a", anna_base(&[]))
        }];
        let plan = w.plan(vec![sides.left], vec![sides.right], &links);
        failures.check(name, rendered(&plan), sorted(want));
        for op in &plan.operations {
            if op.kind == OpKind::Unlink
                && !matches!(op.after, LinkAfter::Tombstone { gone: None, .. })
            {
                failures.fail(name, format!("after = {:?}", op.after));
            }
        }
    }
    failures.finish();
}

// ---- target limits -------------------------------------------------------------

fn limited_anna() -> Contact {
    anna(&[
        ("email[1]", "anna@x.de"),
        ("email[2]", "anna.privat@y.de"),
        ("note", "VIP, calls before noon"),
        ("phone.cell", "0171 2345678"),
    ])
}

#[test]
fn limits_on_create() {
    let w = World::limited();
    let plan = w.plan(vec![rec("1", "1", limited_anna())], vec![], &[]);
    assert_eq!(
        rendered(&plan),
        sorted(&[
            "create right 1/-: email>right=anna@x.de; name.family>right=Berg; \
                 name.given>right=Anna; phone.cell>right=+491712345678"
        ])
    );
    let op = &plan.operations[0];
    let warnings = op
        .warnings
        .iter()
        .map(|warning| warning_text(warning, &w.fields.names))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        warnings.contains("anna.privat@y.de"),
        "the second e-mail is not reported: {warnings}"
    );
    assert!(
        warnings.contains("note"),
        "the note is not reported: {warnings}"
    );
    assert_eq!(plan.summary.warning, 1);
    // The change keeps the value as the left holds it, and writes E.164.
    let phone = op
        .changes
        .iter()
        .find(|c| c.field == path("phone.cell"))
        .expect("phone change");
    assert_eq!(phone.value(Side::Left), Some("0171 2345678"));
    assert_eq!(phone.value_for(Side::Right), Some("+491712345678"));
    assert_eq!(phone.to, Some(Side::Right));

    // The other way: the CRM has no limits; the value travels as typed.
    let plan = w.plan(
        vec![],
        vec![rec("a", "1", anna(&[("phone.cell", "0171 2345678")]))],
        &[],
    );
    assert_eq!(
        rendered(&plan),
        sorted(&[
            "create left -/a: name.family>left=Berg; name.given>left=Anna; phone.cell>left=0171 2345678"
        ])
    );
    assert!(plan.operations[0].warnings.is_empty());
}

#[test]
fn limits_on_linked_pairs() {
    fn known(l: Option<&str>, r: Option<&str>) -> BaseValue {
        BaseValue::Known(PerSide::new(l.map(str::to_string), r.map(str::to_string)))
    }
    let w = World::limited();
    let mut failures = Failures::default();
    // (name, base, left, right, want)
    let note = "VIP";
    let mut note_base = anna_base(&[]);
    note_base.set(path("note"), known(Some(note), None));
    let mut email2_base = anna_base(&[("email[1]", "anna@x.de")]);
    email2_base.set(path("email[2]"), known(Some("anna.privat@y.de"), None));
    let cases: Vec<(&str, Base, Contact, Contact, Want)> = vec![
        (
            "a note the right cannot take: no churn",
            note_base.clone(),
            anna(&[("note", note)]),
            anna(&[]),
            &[],
        ),
        (
            "a note added on the left, the right cannot take it: no op",
            anna_base(&[]),
            anna(&[("note", note)]),
            anna(&[]),
            &[],
        ),
        (
            "a second e-mail the right cannot take: no churn",
            email2_base,
            anna(&[("email[1]", "anna@x.de"), ("email[2]", "anna.privat@y.de")]),
            anna(&[("email[1]", "anna@x.de")]),
            &[],
        ),
        (
            "a phone the right holds in E.164, the left as typed: no churn",
            anna_base(&[("phone.cell", "0171 2345678")]),
            anna(&[("phone.cell", "0171 2345678")]),
            anna(&[("phone.cell", "+491712345678")]),
            &[],
        ),
        (
            "a phone changed on the left is written in E.164",
            anna_base(&[("phone.cell", "0171 2345678")]),
            anna(&[("phone.cell", "0171 7654321")]),
            anna(&[("phone.cell", "+491712345678")]),
            &["update right 1/a: phone.cell>right=+491717654321"],
        ),
        (
            "a new link: the E.164 copy matches the typed number",
            Base::default(),
            anna(&[("phone.cell", "0171 2345678")]),
            anna(&[("phone.cell", "+491712345678")]),
            &[],
        ),
    ];
    for (name, base, left, right, want) in cases {
        let plan = w.plan(
            vec![rec("1", "1", left)],
            vec![rec("a", "1", right)],
            &[link(1, "1", "a", base)],
        );
        failures.check(name, rendered(&plan), sorted(want));
    }
    failures.finish();
}

/// Warnings are data: a front end counts them by kind, and each still
/// reads as the sentence plans have always printed.
#[test]
fn limit_warnings_count_by_kind_and_read_as_before() {
    let w = World::limited();
    let plan = w.plan(
        vec![rec(
            "1",
            "1",
            anna(&[
                ("email[1]", "anna@x.de"),
                ("email[2]", "anna.privat@y.de"),
                ("note", "VIP, calls before noon"),
                ("phone.work", "ask reception"),
            ]),
        )],
        vec![],
        &[],
    );
    let names = &w.fields.names;
    let warnings = &plan.operations[0].warnings;
    let mut by_kind: BTreeMap<WarningKind, usize> = BTreeMap::new();
    for w in warnings {
        *by_kind.entry(w.kind()).or_default() += 1;
    }
    assert_eq!(
        by_kind,
        BTreeMap::from([
            (WarningKind::NotE164, 1),
            (WarningKind::TooManyEmails, 1),
            (WarningKind::Blocked, 1),
        ])
    );
    let texts: Vec<String> = warnings.iter().map(|w| warning_text(w, names)).collect();
    assert_eq!(
        texts,
        [
            "phone.work: \"ask reception\" is not a phone number Outlook can take in international format; it stays only in CRM",
            "2 e-mail addresses, Outlook takes 1: anna.privat@y.de stays only in CRM",
            "note: Outlook has no notes field; the value stays only in CRM",
        ]
    );
    let json = serde_json::to_value(PlanJson::new(&plan, names)).unwrap();
    assert_eq!(json["operations"][0]["warnings"], serde_json::json!(texts));
}

#[test]
fn a_phone_that_is_no_number_is_reported_not_written() {
    let w = World::limited();
    let plan = w.plan(
        vec![rec("1", "1", anna(&[("phone.work", "ask reception")]))],
        vec![],
        &[],
    );
    assert_eq!(
        rendered(&plan),
        sorted(&["create right 1/-: name.family>right=Berg; name.given>right=Anna"])
    );
    assert!(
        plan.operations[0]
            .warnings
            .iter()
            .any(|warning| warning_text(warning, &w.fields.names).contains("ask reception")),
        "{:?}",
        plan.operations[0].warnings
    );
}

// ---- refusals --------------------------------------------------------------------

fn pairs(n: usize) -> (Vec<Record>, Vec<Record>, Vec<Link>) {
    let mut left = Vec::new();
    let mut right = Vec::new();
    let mut links = Vec::new();
    for i in 0..n {
        let (l, r) = (format!("{i}"), format!("c{i}"));
        let name = format!("Person{i}");
        left.push(rec(&l, "0", contact(&[("name.family", &name)])));
        right.push(rec(&r, "0", contact(&[("name.family", &name)])));
        links.push(link(i as i64, &l, &r, base(&[("name.family", &name)])));
    }
    (left, right, links)
}

#[test]
fn refusals() {
    let w = World::new();
    // Nothing to do: no refusal.
    let (left, right, links) = pairs(5);
    let plan = w.plan(left, right, &links);
    assert!(plan.is_empty() && plan.refusals.is_empty(), "{plan:?}");

    // The left reads empty, but had links.
    let (_, right, links) = pairs(5);
    let plan = w.plan(vec![], right, &links);
    assert!(
        plan.refusals.iter().any(|r| r.contains("CRM")),
        "{:?}",
        plan.refusals
    );
    // The right reads empty, but had links.
    let (left, _, links) = pairs(5);
    let plan = w.plan(left, vec![], &links);
    assert!(
        plan.refusals.iter().any(|r| r.contains("Outlook")),
        "{:?}",
        plan.refusals
    );

    // Deletes above max_delete_percent.
    let mut w = World::new();
    w.policy.max_delete_percent = 20;
    let (mut left, right, links) = pairs(5);
    left.drain(..2);
    let plan = w.plan(left, right, &links);
    assert_eq!(plan.summary.delete, 2);
    assert!(
        plan.refusals
            .iter()
            .any(|r| r.contains("max_delete_percent")),
        "{:?}",
        plan.refusals
    );
    // At the limit (1 of 5 = 20 %): allowed.
    let (mut left, right, links) = pairs(5);
    left.remove(0);
    let plan = w.plan(left, right, &links);
    assert_eq!(plan.summary.delete, 1);
    assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
}

// ---- stable op ids ---------------------------------------------------------------

#[test]
fn op_ids_are_stable() {
    let inputs = |right_rev: &str| {
        (
            vec![
                rec("1", "1", anna(&[("title", "Prof")])),
                person("2", &[("name.given", "Bob")]),
            ],
            vec![rec("a", right_rev, anna(&[("title", "Dr")]))],
            vec![link(1, "1", "a", anna_base(&[("title", "Dr")]))],
        )
    };
    let ids = |right_rev: &str| -> Vec<(String, String)> {
        let (l, r, links) = inputs(right_rev);
        let plan = World::new().plan(l, r, &links);
        plan.operations
            .iter()
            .map(|o| (render(o), o.id.clone()))
            .collect()
    };
    let first = ids("1");
    assert_eq!(first.len(), 2, "{first:#?}");
    assert_eq!(first, ids("1"), "the same inputs gave other ids");
    assert_ne!(first[0].1, first[1].1, "two ops share an id");
    // The right card was touched (new revision, same values): the update's id
    // changes, the create's does not.
    let second = ids("2");
    let update = |v: &[(String, String)]| {
        v.iter()
            .find(|(l, _)| l.starts_with("update"))
            .unwrap()
            .clone()
    };
    let create = |v: &[(String, String)]| {
        v.iter()
            .find(|(l, _)| l.starts_with("create"))
            .unwrap()
            .clone()
    };
    assert_eq!(update(&first).0, update(&second).0);
    assert_ne!(update(&first).1, update(&second).1);
    assert_eq!(create(&first), create(&second));
}

// ---- JSON ------------------------------------------------------------------------

#[test]
fn json_shape() {
    let w = World::new();
    let plan = w.plan(
        vec![
            rec("1", "1", anna(&[("title", "Prof")])),
            person("2", &[("name.given", "Ina"), ("email[1]", "ina@a.de")]),
        ],
        vec![
            rec("a", "1", anna(&[("title", "Dr")])),
            person("b", &[("name.given", "Ina"), ("email[1]", "ina@a.de")]),
        ],
        &[link(1, "1", "a", anna_base(&[("title", "Dr")]))],
    );
    let json = serde_json::to_value(PlanJson::new(&plan, &w.fields.names)).unwrap();
    let summary = json["summary"].as_object().expect("summary");
    for key in [
        "create", "update", "delete", "conflict", "link", "unlink", "warning",
    ] {
        assert!(summary[key].is_u64(), "summary.{key}: {json}");
    }
    assert_eq!(summary.len(), 7, "{json}");
    assert_eq!(summary["update"], 1);
    assert_eq!(summary["link"], 1);
    let ops = json["operations"].as_array().expect("operations");
    assert_eq!(ops.len(), 2, "{json}");
    for op in ops {
        assert!(op["id"].is_string(), "{op}");
        let kind = op["kind"].as_str().unwrap();
        assert!(
            ["create", "update", "delete", "conflict", "link", "unlink"].contains(&kind),
            "{op}"
        );
        assert!(
            ["left", "right", "both"].contains(&op["target"].as_str().unwrap()),
            "{op}"
        );
        for key in ["left_id", "right_id"] {
            assert!(op[key].is_string() || op[key].is_null(), "{key}: {op}");
        }
        assert!(op["review"].is_boolean(), "{op}");
        assert!(op["warnings"].is_array(), "{op}");
        if kind == "link" {
            assert_eq!(op["evidence"], "email", "{op}");
        } else {
            assert!(op.get("evidence").is_none(), "{op}");
        }
        for change in op["changes"].as_array().expect("changes") {
            for key in ["field", "left", "right", "base"] {
                assert!(change.get(key).is_some(), "change without {key}: {change}");
            }
        }
    }
    let update = ops.iter().find(|o| o["kind"] == "update").unwrap();
    assert_eq!(update["target"], "right");
    assert_eq!(update["left_id"], "1");
    assert_eq!(update["right_id"], "a");
    assert_eq!(update["review"], false);
    let change = &update["changes"][0];
    assert_eq!(change["field"], "title");
    assert_eq!(change["left"], "Prof");
    assert_eq!(change["right"], "Dr");
    assert_eq!(change["base"], "Dr");
}

/// A delete that waited for review while its contact's id went to a new
/// contact (the link kept only the other side) still waits: it is not
/// performed behind the operator's back on the next run.
#[test]
fn a_waiting_delete_whose_id_went_to_someone_new_still_waits() {
    let mut half = link(1, "1", "a", anna_base(&[]));
    half.ids.left = None;
    half.revs.left = None;
    let plan = World::new().plan(
        vec![person(
            "1",
            &[("name.given", "Nora"), ("name.family", "Neu")],
        )],
        vec![rec("a", "r1", anna(&[]))],
        &[half],
    );
    let delete = plan
        .operations
        .iter()
        .find(|o| o.kind == OpKind::Delete)
        .unwrap_or_else(|| panic!("no delete: {:#?}", rendered(&plan)));
    assert_eq!(delete.ids.right.as_deref(), Some("a"));
    assert!(delete.review, "{}", render(delete));
}

/// `conflicts = "newest"`: the side changed last wins a conflict, where both
/// stores tell when (a `modified` column, a card's REV); where one does not,
/// the conflict waits for review.
#[test]
fn newest_resolves_a_conflict_by_the_stores_times() {
    let at = |t: &str| abgleich::model::normal::timestamp(t);
    let world = World::new().conflicts(ConflictPolicy::Newest);
    let pair = |lt: Option<&str>, rt: Option<&str>| {
        let mut l = rec("1", "r1", anna(&[("title", "Chefin")]));
        let mut r = rec("a", "r1", anna(&[("title", "Leiterin")]));
        l.modified = lt.and_then(at);
        r.modified = rt.and_then(at);
        let plan = world.plan(
            vec![l],
            vec![r],
            &[link(1, "1", "a", anna_base(&[("title", "CEO")]))],
        );
        rendered(&plan)
    };
    assert_eq!(
        pair(Some("2026-06-03 09:12:44"), Some("20260601T080000Z")),
        ["update right 1/a: title>right=Chefin"]
    );
    assert_eq!(
        pair(
            Some("2026-06-03 09:12:44"),
            Some("2026-06-04T08:00:00+02:00")
        ),
        ["update left 1/a: title>left=Leiterin"]
    );
    let undecided = pair(Some("2026-06-03 09:12:44"), None);
    assert_eq!(undecided.len(), 1);
    assert!(
        undecided[0].starts_with("conflict both 1/a review"),
        "{undecided:?}"
    );
}

// ---- a record under a new id (a renamed card file) ----------------------------

/// The right ids the plan's link changes without a write put into the state.
fn moved_to(plan: &Plan) -> Vec<String> {
    plan.refreshes
        .iter()
        .filter_map(|r| match r {
            Refresh::Put(l) => l.ids.right.clone(),
            Refresh::Drop(_) => None,
        })
        .collect()
}

#[test]
fn a_link_follows_its_card_to_a_new_file_name_by_uid_stamp_or_bytes_only_when_unambiguous() {
    let world = World::new();
    let links = [
        link(1, "1", "a.vcf", anna_base(&[])),
        link(2, "2", "urn_uuid_7.vcf", base(&[("name.given", "Otto")])),
    ];
    let otto = || contact(&[("name.given", "Otto")]);
    let left = || vec![rec("1", "0", anna(&[])), rec("2", "0", otto())];
    // Renamed: Anna found by her stamp, edited; Otto by the UID his file was
    // named after, unchanged.
    let mut anna_card = rec("Anna Berg.vcf", "9", anna(&[("title", "Chefin")]));
    anna_card.stamp = Some("1".into());
    let mut otto_card = rec("Otto.vcf", "0", otto());
    otto_card.uid = Some("urn:uuid:7".into());
    let plan = world.plan(left(), vec![anna_card.clone(), otto_card.clone()], &links);
    assert_eq!(
        rendered(&plan),
        ["update left 1/Anna Berg.vcf: title>left=Chefin"]
    );
    assert_eq!(moved_to(&plan), ["Otto.vcf"], "Otto's link moves quietly");
    assert_eq!(plan.operations[0].link.as_ref().unwrap().link_id, 1);
    // Only the bytes tell (no UID, no stamp): the very revision the link saw.
    let plain = rec("Anna B.vcf", "0", anna(&[]));
    let plan = world.plan(left(), vec![plain, otto_card.clone()], &links);
    assert!(rendered(&plan).is_empty(), "{:?}", rendered(&plan));
    assert_eq!(moved_to(&plan), ["Anna B.vcf", "Otto.vcf"]);
    // Two cards carry Anna's stamp: neither is taken for her, and her link
    // is gone as before.
    let mut twin = anna_card.clone();
    twin.id = "Anna Kopie.vcf".into();
    let plan = world.plan(left(), vec![anna_card, twin, otto_card], &links);
    assert!(
        rendered(&plan)
            .iter()
            .any(|l| l.starts_with("delete left 1/a.vcf")),
        "{:?}",
        rendered(&plan)
    );
    assert_eq!(moved_to(&plan), ["Otto.vcf"]);
}

#[test]
fn an_unchanged_pair_read_in_full_teaches_its_link_the_cards_uid() {
    let world = World::new();
    let links = [link(1, "1", "a.vcf", anna_base(&[]))];
    let mut card = rec("a.vcf", "0", anna(&[]));
    card.uid = Some("urn:uuid:9".into());
    let plan = world.plan(vec![rec("1", "0", anna(&[]))], vec![card.clone()], &links);
    assert!(plan.operations.is_empty());
    let learned: Vec<Option<String>> = plan
        .refreshes
        .iter()
        .filter_map(|r| match r {
            Refresh::Put(l) => Some(l.uids.right.clone()),
            Refresh::Drop(_) => None,
        })
        .collect();
    assert_eq!(learned, [Some("urn:uuid:9".to_string())]);
    // Once known, nothing more to learn.
    let mut knows = links[0].clone();
    knows.uids.right = Some("urn:uuid:9".into());
    let plan = world.plan(vec![rec("1", "0", anna(&[]))], vec![card], &[knows]);
    assert!(plan.refreshes.is_empty(), "{:?}", plan.refreshes);
}
