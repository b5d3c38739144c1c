//! The `postgres` store through the real binary, against a real cluster
//! (tests/it/common/pg.rs) and a card folder: typed columns without churn,
//! writes conditional on the row read, undo in place, names that carry
//! SQL, failures that never read as an empty store, and every password
//! source.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::pg::{CRM_PASSWORD, Cluster, SUPER_PASSWORD, dump};
use crate::common::{Run, run};

const SCHEMA: &str = "
CREATE TABLE kunden (
    id serial PRIMARY KEY,
    vorname text,
    nachname varchar(40),
    email text,
    abteilung_nr integer,
    vip boolean,
    geburtstag date,
    letzter_kontakt timestamptz,
    outlook_sync boolean NOT NULL DEFAULT true,
    geaendert_am timestamptz,
    intern text DEFAULT 'bleibt'
);
CREATE TABLE bestellungen (
    id serial PRIMARY KEY,
    kunde integer NOT NULL REFERENCES kunden(id) ON DELETE CASCADE,
    artikel text
);
CREATE TABLE x (y int);
INSERT INTO kunden (vorname, nachname, email, abteilung_nr, vip, geburtstag, letzter_kontakt, geaendert_am)
VALUES ('Anna', 'Berg', 'anna@example.com', 7, true, '1980-02-29', '2024-01-31 12:30:00+01', '2024-01-01 00:00:00+00'),
       ('Jörg', 'Müller', 'joerg@example.com', NULL, false, NULL, NULL, NULL);
INSERT INTO kunden (vorname, nachname, email, outlook_sync) VALUES ('Otto', 'Außen', 'otto@example.com', false);
INSERT INTO bestellungen (kunde, artikel) VALUES (1, 'Tisch'), (1, 'Stuhl');
";

const CARLA: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:carla-1\r\nFN:Carla Vogt\r\n\
N:Vogt;Carla;;;\r\nEMAIL;TYPE=work:carla@example.com\r\nORG:Firma;12\r\nBDAY:19750601\r\nEND:VCARD\r\n";

/// A cluster with the `kunden` table, a card folder `book` and a config
/// between them, run by the binary with a neutral environment.
struct Sandbox {
    cluster: Cluster,
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Option<Sandbox> {
        let cluster = Cluster::start()?;
        cluster.crm().batch_execute(SCHEMA).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["book", "home"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("book/carla.vcf"), CARLA).unwrap();
        let sb = Sandbox { cluster, dir };
        sb.write_config("table = \"public.kunden\"", "password_env = \"CRM_PW\"");
        Some(sb)
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// The config with `table_line` and `password_line`.
    fn write_config(&self, table_line: &str, password_line: &str) {
        std::fs::write(
            self.path("abgleich.toml"),
            format!(
                "[left]\nname = \"CRM\"\nkind = \"postgres\"\nurl = \"{}\"\n{password_line}\n\
                 {table_line}\nid = \"id\"\nmodified = \"geaendert_am\"\n\
                 scope = {{ column = \"outlook_sync\", equals = \"1\" }}\n\n\
                 [left.fields]\n\"name.given\" = \"vorname\"\n\"name.family\" = \"nachname\"\n\
                 \"email.work\" = \"email\"\n\"org.unit\" = \"abteilung_nr\"\n\
                 \"nickname\" = \"vip\"\n\"bday\" = \"geburtstag\"\n\"note\" = \"letzter_kontakt\"\n\n\
                 [right]\nname = \"Outlook\"\nkind = \"vdir\"\npath = \"book\"\n\n\
                 [sync]\nmode = \"sync\"\nmatch = [\"email\"]\n",
                self.cluster.url()
            ),
        )
        .unwrap();
    }

    /// The config with another `url`.
    fn write_config_with_url(&self, url: &str) {
        let config = std::fs::read_to_string(self.path("abgleich.toml")).unwrap();
        let config = config.replace(&self.cluster.url(), url);
        std::fs::write(self.path("abgleich.toml"), config).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_abgleich"));
        cmd.args(args)
            .arg("--config")
            .arg(self.path("abgleich.toml"))
            .current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home"))
            .env("CRM_PW", CRM_PASSWORD)
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .env_remove("PGUSER")
            .env_remove("NO_COLOR");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run(&mut self.command(args))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let out = self.run(args);
        assert_eq!(out.code, Some(0), "abgleich {args:?}\n{out}");
        out
    }

    fn apply(&self) -> Run {
        let out = self.ok(&["apply", "--yes", "--accept-review"]);
        assert!(!out.stdout.contains("failed"), "{out}");
        out
    }

    fn plan(&self) -> Value {
        let out = self.ok(&["plan", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
    }

    fn assert_plan_empty(&self) {
        let plan = self.plan();
        assert!(
            plan["operations"].as_array().unwrap().is_empty(),
            "the next plan is empty: {plan:#}"
        );
    }

    /// Column `column` of row `id`, as text.
    fn col(&self, id: i32, column: &str) -> Option<String> {
        self.cluster
            .crm()
            .query_one(
                &format!("SELECT {column}::text FROM kunden WHERE id = $1"),
                &[&id],
            )
            .unwrap()
            .get(0)
    }

    /// Save a plan, let another client run `sql` (a change of the row the
    /// plan updates), then apply the saved plan: the row's write is
    /// reported changed since plan.
    fn apply_a_plan_made_before(&self, sql: &str) {
        let saved = self.path("p.json").to_string_lossy().into_owned();
        self.ok(&["plan", "--out", &saved]);
        self.cluster.crm().batch_execute(sql).unwrap();
        let out = self.ok(&["apply", "--plan", &saved, "--yes"]);
        assert!(out.stdout.contains("changed since plan"), "{out}");
    }

    /// A second card only the folder holds: Dora, like Carla.
    fn add_dora(&self) {
        let dora = CARLA
            .replace("carla-1", "dora-1")
            .replace("Carla", "Dora")
            .replace("carla@", "dora@");
        std::fs::write(self.path("book/dora.vcf"), dora).unwrap();
    }

    fn card_with(&self, needle: &str) -> PathBuf {
        std::fs::read_dir(self.path("book"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| std::fs::read_to_string(p).unwrap().contains(needle))
            .unwrap_or_else(|| panic!("a card holds {needle}"))
    }

    /// Replace `from` by `to` in the card that holds `from`.
    fn edit_card(&self, from: &str, to: &str) {
        let card = self.card_with(from);
        let text = std::fs::read_to_string(&card).unwrap();
        std::fs::write(&card, text.replace(from, to)).unwrap();
    }

    fn links(&self) -> Vec<(String, String)> {
        let db = rusqlite::Connection::open(self.path("abgleich.state")).unwrap();
        let mut stmt = db
            .prepare("SELECT left_id, right_id FROM links WHERE tombstone IS NULL ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn card_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn typed_columns_round_trip_both_ways_and_the_next_plan_is_empty() {
    let Some(sb) = Sandbox::new() else { return };
    sb.ok(&["check"]);
    sb.apply();
    sb.assert_plan_empty();

    // From the table: each type in its text form on the card.
    let anna = card_text(&sb.card_with("anna@example.com"));
    for line in [
        "NICKNAME:true",
        "BDAY:19800229",
        "NOTE:2024-01-31 11:30:00",
        "Berg",
    ] {
        assert!(anna.contains(line), "{line} in\n{anna}");
    }
    assert!(
        !std::fs::read_dir(sb.path("book"))
            .unwrap()
            .any(|e| card_text(&e.unwrap().path()).contains("otto@")),
        "a row outside the scope (outlook_sync = false) stays out"
    );
    // From the card: a new row, its id from the serial, each value in its type.
    let carla: i32 = sb
        .cluster
        .crm()
        .query_one(
            "SELECT id FROM kunden WHERE email = 'carla@example.com'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(carla, 4);
    assert_eq!(sb.col(carla, "abteilung_nr").as_deref(), Some("12"));
    assert_eq!(sb.col(carla, "geburtstag").as_deref(), Some("1975-06-01"));
    assert_eq!(sb.col(carla, "outlook_sync").as_deref(), Some("true"));
    assert_eq!(sb.col(carla, "intern").as_deref(), Some("bleibt"));
    assert!(sb.col(carla, "geaendert_am").is_some(), "modified is now()");

    // An edit on each side lands in its type and settles again.
    sb.edit_card("ORG:Firma;12", "ORG:Firma;13");
    sb.cluster
        .crm()
        .batch_execute("UPDATE kunden SET vip = false, geburtstag = '1981-03-01' WHERE id = 1")
        .unwrap();
    sb.apply();
    assert_eq!(sb.col(carla, "abteilung_nr").as_deref(), Some("13"));
    let anna = card_text(&sb.card_with("anna@example.com"));
    assert!(anna.contains("NICKNAME:false"), "{anna}");
    assert!(anna.contains("BDAY:19810301"), "a date, not text: {anna}");
    sb.assert_plan_empty();

    // A name longer than varchar(40) comes with another edit: the plan
    // warns; the row's other field is written, the long name is not (never
    // cut short) and stays only in the card; the next plan is empty.
    let long = "Vogt-Sehr-Lang-Und-Noch-Viel-Laenger-Als-Vierzig";
    sb.edit_card("N:Vogt;", &format!("N:{long};"));
    sb.edit_card("ORG:Firma;13", "ORG:Firma;15");
    let plan = sb.plan();
    let warnings = plan["operations"][0]["warnings"].to_string();
    assert!(
        warnings.contains("name.family: CRM takes at most 40 characters there, the value has 48")
            && warnings.contains("stays only in Outlook"),
        "{plan:#}"
    );
    let fields: Vec<String> = (plan["operations"][0]["changes"].as_array().unwrap().iter())
        .map(|c| c["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["org.unit"], "{plan:#}");
    let out = sb.run(&["apply", "--yes"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        !out.stdout.contains("failed"),
        "a warning, not a failed write: {out}"
    );
    assert!(out.stdout.contains("stays only in Outlook"), "{out}");
    assert_eq!(sb.col(carla, "nachname").as_deref(), Some("Vogt"));
    assert_eq!(sb.col(carla, "abteilung_nr").as_deref(), Some("15"));
    assert!(card_text(&sb.card_with("carla@example.com")).contains(long));
    sb.assert_plan_empty();

    // The long name alone, later: an update that writes nothing and says
    // so; once applied, the next plan is empty too.
    let longer = format!("{long}-Noch");
    sb.edit_card(&format!("N:{long};"), &format!("N:{longer};"));
    let plan = sb.plan();
    let op = &plan["operations"][0];
    assert_eq!(op["changes"].as_array().map(Vec::len), Some(0), "{plan:#}");
    assert!(
        op["warnings"].to_string().contains("the value has 53"),
        "{plan:#}"
    );
    sb.apply();
    assert_eq!(sb.col(carla, "nachname").as_deref(), Some("Vogt"));
    sb.assert_plan_empty();

    // A conflict whose one side is too long for the column: taking that
    // side writes nothing to the row (it is never emptied); each side
    // keeps its own value, as with a limit.
    sb.edit_card(&format!("N:{longer};"), &format!("N:{long};"));
    sb.cluster
        .crm()
        .batch_execute("UPDATE kunden SET nachname = 'Vogt-Neu' WHERE email = 'carla@example.com'")
        .unwrap();
    let out = sb.run(&["apply", "--yes", "--conflicts", "right"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("stays only in Outlook"), "{out}");
    assert_eq!(sb.col(carla, "nachname").as_deref(), Some("Vogt-Neu"));
    assert!(card_text(&sb.card_with("carla@example.com")).contains(long));
    sb.assert_plan_empty();
}

#[test]
fn a_row_changed_after_the_plan_is_not_overwritten() {
    let Some(sb) = Sandbox::new() else { return };
    sb.apply();
    sb.edit_card("ORG:Firma;12", "ORG:Firma;14");
    sb.apply_a_plan_made_before(
        "UPDATE kunden SET abteilung_nr = 99 WHERE email = 'carla@example.com'",
    );
    assert_eq!(sb.col(4, "abteilung_nr").as_deref(), Some("99"));
}

#[test]
fn undo_puts_every_column_back_in_place_and_children_keep_their_rows() {
    let Some(sb) = Sandbox::new() else { return };
    sb.apply();
    let mut crm = sb.cluster.crm();
    let kunden = dump(&mut crm, "kunden");
    let bestellungen = dump(&mut crm, "bestellungen");

    // An update of a row with children and a create.
    sb.edit_card("anna@example.com", "anna@example.org");
    sb.add_dora();
    sb.apply();
    assert_ne!(
        dump(&mut crm, "kunden"),
        kunden,
        "the apply changed the table"
    );

    let out = sb.ok(&["undo"]);
    assert_eq!(
        dump(&mut crm, "kunden"),
        kunden,
        "every column of every row as before\n{out}"
    );
    assert_eq!(
        dump(&mut crm, "bestellungen"),
        bestellungen,
        "the row was updated in place: ON DELETE CASCADE took no orders\n{out}"
    );

    // A delete of the row the orders refer to waits and says so.
    std::fs::remove_file(sb.card_with("anna@example.org")).unwrap();
    let plan = sb.plan();
    let delete = plan["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["kind"] == "delete" && op["left_id"] == "1")
        .unwrap_or_else(|| panic!("the row is to be deleted: {plan:#}"));
    assert_eq!(delete["review"], true, "{delete:#}");
    assert!(
        delete["warnings"]
            .to_string()
            .contains("2 rows of bestellungen"),
        "{delete:#}"
    );
}

#[test]
fn a_table_name_carrying_sql_is_refused_and_the_table_stays() {
    let Some(sb) = Sandbox::new() else { return };
    for table in [
        "table = \"kunden; DROP TABLE x\"",
        "table = \"public.kunden\\\"; --\"",
    ] {
        sb.write_config(table, "password_env = \"CRM_PW\"");
        let out = sb.run(&["check"]);
        assert_eq!(out.code, Some(1), "{table}\n{out}");
        assert!(out.stderr.contains("left.table"), "names the key\n{out}");
        assert!(out.stderr.contains("not a table"), "{out}");
    }
    let n: i64 = sb
        .cluster
        .crm()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename IN ('x', 'kunden')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 2, "both tables still exist");
}

#[test]
fn a_wrong_password_or_a_stopped_server_stops_the_run_and_changes_nothing() {
    let Some(mut sb) = Sandbox::new() else { return };
    sb.apply();
    let links = sb.links();
    assert_eq!(links.len(), 3);

    let wrong = "wrong-Passw0rd";
    let out = run(sb.command(&["plan", "--json"]).env("CRM_PW", wrong));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("CRM"), "names the store\n{out}");
    assert!(
        out.stderr.contains("password authentication failed"),
        "names the cause\n{out}"
    );
    assert!(
        out.stderr
            .contains(&format!("127.0.0.1:{}", sb.cluster.port)),
        "{out}"
    );
    assert!(
        !out.stderr.contains(wrong) && !out.stdout.contains(wrong),
        "{out}"
    );
    assert!(!out.stderr.contains(CRM_PASSWORD), "{out}");

    // An unknown database, and TLS required of a server without it.
    let url = sb.cluster.url();
    for (wrong_url, cause) in [
        (
            format!("{}/nodb", url.trim_end_matches("/crm")),
            "database \"nodb\" does not exist",
        ),
        (format!("{url}?sslmode=require"), "TLS"),
    ] {
        sb.write_config("table = \"public.kunden\"", "password_env = \"CRM_PW\"");
        sb.write_config_with_url(&wrong_url);
        let out = sb.run(&["plan", "--json"]);
        assert_eq!(out.code, Some(1), "{wrong_url}\n{out}");
        eprintln!("{}", out.stderr.trim());
        assert!(
            out.stderr.contains("CRM") && out.stderr.contains(cause),
            "{out}"
        );
    }
    sb.write_config("table = \"public.kunden\"", "password_env = \"CRM_PW\"");

    sb.cluster.stop();
    for args in [
        &["plan", "--json"][..],
        &["apply", "--yes"][..],
        &["check"][..],
    ] {
        let out = sb.run(args);
        assert_eq!(out.code, Some(1), "{args:?}\n{out}");
        eprintln!("{}", out.stderr.trim());
        assert!(out.stderr.contains("CRM"), "{out}");
        assert!(out.stderr.contains("Connection refused"), "{out}");
        assert!(!out.stderr.contains(CRM_PASSWORD), "{out}");
    }
    assert_eq!(sb.links(), links, "no link dropped");
    sb.cluster.restart();
    sb.assert_plan_empty();
}

#[test]
fn the_password_comes_from_password_env_password_command_pgpassword_or_pgpass() {
    let Some(sb) = Sandbox::new() else { return };
    sb.ok(&["check"]);
    // A libpq connection string works as the URL does.
    sb.write_config_with_url(&format!(
        "host=127.0.0.1 port={} dbname=crm user=crm",
        sb.cluster.port
    ));
    sb.ok(&["check"]);

    std::fs::write(sb.path("pw.txt"), format!("{CRM_PASSWORD}\n")).unwrap();
    sb.write_config(
        "table = \"kunden\"",
        &format!("password_command = \"cat {}\"", sb.path("pw.txt").display()),
    );
    sb.ok(&["check"]);

    sb.write_config("table = \"kunden\"", "");
    let out = sb.run(&["check"]);
    assert_eq!(out.code, Some(1), "no password anywhere\n{out}");
    assert!(out.stderr.contains("none was found"), "{out}");
    assert_eq!(
        run(sb.command(&["check"]).env("PGPASSWORD", CRM_PASSWORD)).code,
        Some(0)
    );

    let pgpass = sb.path("home/.pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# host:port:db:user:password\nother:*:*:*:nope\n127.0.0.1:{}:crm:crm:{}\n",
            sb.cluster.port,
            CRM_PASSWORD.replace(':', "\\:")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = sb.run(&["check"]);
    assert_eq!(
        out.code,
        Some(1),
        "a .pgpass others may read is ignored\n{out}"
    );
    assert!(out.stderr.contains("chmod 600"), "{out}");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    sb.ok(&["check"]);
}

#[test]
fn a_plan_of_ten_thousand_rows_reads_them_in_one_query() {
    let Some(sb) = Sandbox::new() else { return };
    let mut crm = sb.cluster.crm();
    crm.batch_execute(
        "INSERT INTO kunden (vorname, nachname, email, abteilung_nr, geburtstag) \
         SELECT 'V' || n, 'N' || n, 'p' || n || '@example.com', n, DATE '2000-01-01' + n \
         FROM generate_series(1, 10000) AS n",
    )
    .unwrap();
    let statements = |crm: &mut postgres::Client| -> i64 {
        crm.query_one(
            "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = 'crm'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let before = statements(&mut crm);
    let started = std::time::Instant::now();
    let plan = sb.plan();
    let took = started.elapsed();
    assert_eq!(plan["summary"]["create"], 10_003, "{}", plan["summary"]);
    // pg_stat_database takes a backend's counts when it ends; this
    // session's own view is a snapshot per transaction.
    std::thread::sleep(std::time::Duration::from_millis(700));
    let mut fresh = sb.cluster.crm();
    let used = statements(&mut fresh) - before;
    eprintln!("plan of 10,003 rows: {took:?}, {used} transactions on the server");
    assert!(
        used < 100,
        "{used} transactions: reading is not one query per row"
    );
}

#[test]
fn a_role_that_may_only_read_is_refused_before_the_first_write() {
    let Some(sb) = Sandbox::new() else { return };
    sb.cluster
        .client("postgres", "postgres", SUPER_PASSWORD)
        .batch_execute("CREATE ROLE leser LOGIN PASSWORD 'leser-pw'")
        .unwrap();
    sb.cluster
        .crm()
        .batch_execute("GRANT SELECT ON kunden, bestellungen TO leser")
        .unwrap();
    let mut crm = sb.cluster.crm();
    let before = dump(&mut crm, "kunden");
    // `username` overrides the URL's user.
    let config = std::fs::read_to_string(sb.path("abgleich.toml")).unwrap();
    let config = config.replace(
        "password_env = \"CRM_PW\"",
        "password_env = \"CRM_PW\"\nusername = \"leser\"",
    );
    std::fs::write(sb.path("abgleich.toml"), config).unwrap();
    let command = |args: &[&str]| {
        let mut cmd = sb.command(args);
        cmd.env("CRM_PW", "leser-pw");
        cmd
    };
    assert_eq!(run(&mut command(&["plan", "--json"])).code, Some(0));
    let out = run(&mut command(&["apply", "--yes"]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains("CRM") && out.stderr.contains("\"leser\" may not INSERT or UPDATE"),
        "one clear error\n{out}"
    );
    assert_eq!(dump(&mut crm, "kunden"), before, "nothing was written");
    assert_eq!(
        std::fs::read_dir(sb.path("book")).unwrap().count(),
        1,
        "no card was written either\n{out}"
    );
}

#[test]
fn a_view_is_written_through_conditional_on_a_hash_of_its_columns() {
    let Some(sb) = Sandbox::new() else { return };
    sb.cluster
        .crm()
        .batch_execute(
            "CREATE VIEW kunden_v AS SELECT id, vorname, nachname, email, abteilung_nr, vip, \
             geburtstag, letzter_kontakt, outlook_sync, geaendert_am FROM kunden",
        )
        .unwrap();
    sb.write_config("table = \"kunden_v\"", "password_env = \"CRM_PW\"");
    sb.apply();
    sb.assert_plan_empty();
    assert_eq!(sb.col(4, "email").as_deref(), Some("carla@example.com"));

    sb.edit_card("ORG:Firma;12", "ORG:Firma;15");
    sb.apply_a_plan_made_before("UPDATE kunden SET vorname = 'Karla' WHERE id = 4");
    assert_eq!(sb.col(4, "abteilung_nr").as_deref(), Some("12"));
    sb.apply();
    assert_eq!(sb.col(4, "abteilung_nr").as_deref(), Some("15"));
    sb.assert_plan_empty();
}

#[test]
fn undo_keeps_a_created_row_that_orders_now_refer_to_and_puts_back_the_rest() {
    let Some(sb) = Sandbox::new() else { return };
    sb.add_dora();
    let mut crm = sb.cluster.crm();
    let before = dump(&mut crm, "kunden");
    sb.apply();
    let created: Vec<i32> = crm
        .query("SELECT id FROM kunden WHERE id > 3 ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(created.len(), 2, "Carla and Dora were created");
    let kept = created[0];
    crm.execute(
        "INSERT INTO bestellungen (kunde, artikel) VALUES ($1, 'Lampe')",
        &[&kept],
    )
    .unwrap();

    let out = sb.ok(&["undo"]);
    assert!(
        out.stdout.contains("1 row of bestellungen refers to it")
            || out.stderr.contains("1 row of bestellungen refers to it"),
        "the kept row is named with why\n{out}"
    );
    let after: Vec<_> = dump(&mut crm, "kunden")
        .into_iter()
        .filter(|row| row[0] != Some(kept.to_string()))
        .collect();
    assert_eq!(after, before, "every other row as before the apply\n{out}");
    let orders: i64 = crm
        .query_one("SELECT count(*) FROM bestellungen", &[])
        .unwrap()
        .get(0);
    assert_eq!(orders, 3, "no order lost\n{out}");
}

#[test]
fn tls_is_verified_against_the_ca_file_and_refused_without_it() {
    let Some(sb) = Sandbox::new() else { return };
    let Some(ca) = sb.cluster.enable_tls() else {
        return;
    };
    let url = format!("{}?sslmode=require", sb.cluster.url());
    sb.write_config_with_url(&url);
    let out = sb.run(&["check"]);
    assert_eq!(
        out.code,
        Some(1),
        "a private CA is not trusted by itself\n{out}"
    );
    assert!(
        out.stderr.contains("CRM") && out.stderr.contains("invalid peer certificate"),
        "{out}"
    );

    let config = std::fs::read_to_string(sb.path("abgleich.toml")).unwrap();
    let config = config.replace(
        "password_env = \"CRM_PW\"",
        &format!("password_env = \"CRM_PW\"\nca_file = \"{}\"", ca.display()),
    );
    std::fs::write(sb.path("abgleich.toml"), config).unwrap();
    sb.ok(&["check"]);
    sb.apply();
    sb.assert_plan_empty();
}

/// A card value the typed column cannot hold (a birthday without a year
/// for a `date`, a word for a `boolean`) is a warning in the plan and is
/// not written there; the row's other fields are, and the next plan is
/// empty (before: the apply failed on it every time).
#[test]
fn a_value_the_column_type_cannot_hold_is_a_warning_not_a_failed_write() {
    let Some(sb) = Sandbox::new() else { return };
    sb.apply();
    let carla: i32 = (sb.cluster.crm())
        .query_one(
            "SELECT id FROM kunden WHERE email = 'carla@example.com'",
            &[],
        )
        .unwrap()
        .get(0);
    sb.edit_card("BDAY:19750601", "BDAY:--1217\r\nNICKNAME:Mimi");
    sb.edit_card("ORG:Firma;12", "ORG:Firma;16");
    let plan = sb.plan();
    let warnings = plan["operations"][0]["warnings"].to_string();
    assert!(
        warnings
            .contains("bday: CRM takes only whole dates (YYYY-MM-DD) there, not \\\"--12-17\\\"")
            && warnings.contains("nickname: CRM takes only true or false there, not \\\"Mimi\\\""),
        "{plan:#}"
    );
    let out = sb.run(&["apply", "--yes"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(!out.stdout.contains("failed"), "{out}");
    assert_eq!(sb.col(carla, "abteilung_nr").as_deref(), Some("16"));
    assert_eq!(sb.col(carla, "geburtstag").as_deref(), Some("1975-06-01"));
    sb.assert_plan_empty();
}
