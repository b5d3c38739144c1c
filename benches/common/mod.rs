//! What both benchmarks share: N contacts per side (a CRM table and a vdir
//! of cards holding the same people, phone numbers formatted differently),
//! and the process's peak memory.

use std::path::Path;

pub const CONFIG: &str = r#"
[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = "customers"
id = "id"
modified = "updated_at"
[left.fields]
"name.given" = "first_name"
"name.family" = "last_name"
"org.name" = "company"
"email[1]" = "email"
"phone.work" = "phone"
"adr.work.locality" = "city"
"note" = "notes"

[right]
name = "Outlook"
kind = "vdir"
path = "outlook"
write_version = "3.0"
stamp = "X-CRM-CUSTOMER-NO"
limits = { emails = 3, phones_per_kind = 2, urls = 1, phone_format = "e164" }

[sync]
mode = "sync"
conflicts = "left"
deletes = { left_to_right = "propagate", right_to_left = "propagate" }
match = ["stamp", "email", "phone", "name"]
default_region = "DE"
max_delete_percent = 20
"#;

const GIVEN: [&str; 8] = [
    "Anna", "Jörg", "Zoë", "Mehmet", "Søren", "Birgit", "Ulrike", "Paul",
];
const FAMILY: [&str; 8] = [
    "Schröder",
    "Müller",
    "Weiß",
    "Yılmaz",
    "Krämer",
    "Becker",
    "Lange",
    "Roth",
];

pub fn generate(dir: &Path, n: usize) {
    std::fs::write(dir.join("abgleich.toml"), CONFIG).expect("config");
    let mut conn = rusqlite::Connection::open(dir.join("crm.sqlite")).expect("db");
    conn.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
         company TEXT, email TEXT, phone TEXT, city TEXT, notes TEXT, updated_at TEXT);",
    )
    .expect("table");
    let tx = conn.transaction().expect("tx");
    {
        let mut insert = tx
            .prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '2026-01-01 00:00:00')")
            .expect("insert");
        for i in 0..n {
            let (g, f) = (GIVEN[i % 8], FAMILY[(i / 8) % 8]);
            insert
                .execute(rusqlite::params![
                    i as i64 + 1,
                    g,
                    format!("{f}{i}"),
                    format!("Firma {} GmbH", i % 997),
                    format!("person{i}@firma{}.example.de", i % 997),
                    format!("030 {:07}", 1_000_000 + i),
                    "Berlin",
                    "Kunde seit 2019."
                ])
                .expect("row");
        }
    }
    tx.commit().expect("commit");
    let cards = dir.join("outlook");
    std::fs::create_dir_all(&cards).expect("outlook");
    for i in 0..n {
        let (g, f) = (GIVEN[i % 8], FAMILY[(i / 8) % 8]);
        let card = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-{i}\r\nN:{f}{i};{g};;;\r\nFN:{g} {f}{i}\r\n\
             ORG:Firma {} GmbH\r\nEMAIL;TYPE=WORK:Person{i}@Firma{}.example.de\r\n\
             TEL;TYPE=WORK:+49 30 {:07}\r\nADR;TYPE=WORK:;;;Berlin;;;\r\nNOTE:Kunde seit 2019.\r\nEND:VCARD\r\n",
            i % 997,
            i % 997,
            1_000_000 + i
        );
        std::fs::write(cards.join(format!("card-{i}.vcf")), card).expect("card");
    }
}

pub fn peak_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or_else(|| "?".into(), |kib| format!("{} MiB", kib / 1024))
}

/// The sizes to run, ascending (the peak memory of each is then its own:
/// the high-water mark only grows): `ABGLEICH_BENCH_N`, one number or a
/// comma-separated list; 10,000, 50,000 and 100,000 when unset.
pub fn sizes() -> Vec<usize> {
    let mut sizes: Vec<usize> = match std::env::var("ABGLEICH_BENCH_N") {
        Ok(v) => v
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("ABGLEICH_BENCH_N: numbers, comma-separated")
            })
            .collect(),
        Err(_) => vec![10_000, 50_000, 100_000],
    };
    sizes.sort_unstable();
    sizes
}
