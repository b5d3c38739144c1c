//! The `abgleich` binary as a user runs it: exit codes, what `check`
//! reports about the bundled samples, `demo`, `init`, and how config
//! mistakes are named (file, line, key).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use common::{copy_samples, samples};

const BIN: &str = env!("CARGO_BIN_EXE_abgleich");

fn sample_config_text() -> String {
    std::fs::read_to_string(samples().join("abgleich.toml")).unwrap()
}

/// A command with a neutral environment: cwd, HOME and XDG_CONFIG_HOME in
/// `sandbox`, so no config of the developer's is picked up.
pub(crate) fn abgleich(sandbox: &Path, args: &[&str]) -> Command {
    let home = sandbox.join("home");
    let xdg = sandbox.join("xdg");
    let cwd = sandbox.join("cwd");
    for dir in [&home, &xdg, &cwd] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(&cwd)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &xdg)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    cmd
}

pub(crate) use common::{Run, run};

/// The one stdout line that starts with `side` (`left`/`right`) and names `name`.
fn side_line<'a>(out: &'a Run, side: &str, name: &str) -> &'a str {
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(side) && l.contains(name))
        .collect();
    assert_eq!(lines.len(), 1, "one `{side} {name}` line expected\n{out}");
    lines[0]
}

/// What `check` must say about the bundled samples, wherever they lie.
fn assert_sample_report(out: &Run, outlook_dir: &Path) {
    assert_eq!(out.code, Some(1), "the broken card makes check fail\n{out}");
    assert_sample_lines(out, outlook_dir);
}

/// The counts of both sample stores and the one broken card, on stdout.
fn assert_sample_lines(out: &Run, outlook_dir: &Path) {
    let crm = side_line(out, "left", "CRM");
    assert!(
        crm.contains(": 30 records, 26 in scope, 0 unreadable"),
        "CRM counts\n{out}"
    );
    let outlook = side_line(out, "right", "Outlook");
    assert!(
        outlook.contains(": 31 records, 31 in scope, 1 unreadable"),
        "Outlook counts\n{out}"
    );
    let unreadable: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("unreadable: "))
        .collect();
    assert_eq!(unreadable.len(), 1, "exactly the broken card\n{out}");
    let where_ = format!("{}:1: ", outlook_dir.join("Broken Export.vcf").display());
    let reason = unreadable[0]
        .strip_prefix(where_.as_str())
        .unwrap_or_else(|| panic!("the broken card is named as `{where_}`\n{out}"));
    assert!(!reason.trim().is_empty(), "a reason is given\n{out}");
    assert!(
        reason.contains("END:VCARD"),
        "the reason says what is wrong\n{out}"
    );
}

/// A temp dir holding a copy of the samples (config, database, vdir);
/// returns it and the copied config's path.
pub(crate) fn copied_samples() -> (TempDir, PathBuf) {
    let dir = copy_samples();
    let config = dir.path().join("abgleich.toml");
    (dir, config)
}

/// Write the samples config with `from` replaced by `to` (which must occur
/// exactly once) next to the copied stores; returns the path and the line of `to`.
pub(crate) fn edited_config(dir: &Path, from: &str, to: &str) -> (PathBuf, usize) {
    let text = sample_config_text();
    assert_eq!(text.matches(from).count(), 1, "{from:?} occurs once");
    let text = text.replacen(from, to, 1);
    let line = text
        .lines()
        .position(|l| l.contains(to))
        .map(|i| i + 1)
        .unwrap();
    let path = dir.join("edited.toml");
    std::fs::write(&path, text).unwrap();
    (path, line)
}

pub(crate) fn check(sandbox: &Path, config: &Path) -> Run {
    run(&mut abgleich(
        sandbox,
        &["check", "--config", config.to_str().unwrap()],
    ))
}

#[test]
fn check_on_the_samples_counts_both_stores_and_names_the_broken_card() {
    let sandbox = tempfile::tempdir().unwrap();
    let config = samples().join("abgleich.toml");
    let out = check(sandbox.path(), &config);
    assert_sample_report(&out, &samples().join("outlook"));
    assert!(
        out.stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("config: ") && l.contains(&*config.to_string_lossy())),
        "the config file is named first\n{out}"
    );
}

#[test]
fn demo_writes_a_folder_that_check_reads_the_same() {
    let sandbox = tempfile::tempdir().unwrap();
    let tmp = sandbox.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = run(abgleich(sandbox.path(), &["demo"]).env("TMPDIR", &tmp));
    assert_eq!(out.code, Some(0), "{out}");

    let folder = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("demo folder: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("the demo folder is printed\n{out}"));
    assert!(folder.starts_with(&tmp), "demo folder under TMPDIR\n{out}");
    assert!(folder.is_dir(), "the demo folder is kept\n{out}");
    assert!(folder.join("abgleich.toml").is_file());
    assert!(folder.join("crm.sqlite").is_file());
    let cards = std::fs::read_dir(folder.join("outlook"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "vcf")
        })
        .count();
    assert_eq!(cards, 32);
    // The demo shows the same report a later check gives.
    assert_sample_lines(&out, &folder.join("outlook"));

    let again = check(sandbox.path(), &folder.join("abgleich.toml"));
    assert_sample_report(&again, &folder.join("outlook"));
}

#[test]
fn init_writes_the_sample_config_and_never_overwrites() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let path = stores.path().join("a.toml");
    let path_arg = path.to_str().unwrap();

    let out = run(&mut abgleich(
        sandbox.path(),
        &["init", "--config", path_arg],
    ));
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains(path_arg), "says where it wrote\n{out}");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, sample_config_text());
    // Next to the sample stores, the written config is one check accepts.
    let checked = check(sandbox.path(), &path);
    assert_sample_report(&checked, &stores.path().join("outlook"));

    // A config the user has edited since survives a second init untouched.
    let edited = format!("# my changes\n{written}");
    std::fs::write(&path, &edited).unwrap();
    let out = run(&mut abgleich(
        sandbox.path(),
        &["init", "--config", path_arg],
    ));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains(path_arg) && out.stderr.contains("exists"),
        "says the file exists\n{out}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
}

#[test]
fn init_without_config_writes_abgleich_toml_in_the_current_folder() {
    let sandbox = tempfile::tempdir().unwrap();
    let out = run(&mut abgleich(sandbox.path(), &["init"]));
    assert_eq!(out.code, Some(0), "{out}");
    let written = sandbox.path().join("cwd").join("abgleich.toml");
    assert_eq!(
        std::fs::read_to_string(written).unwrap(),
        sample_config_text()
    );
}

#[test]
fn an_unknown_canonical_field_names_file_line_and_key() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let (config, line) = edited_config(
        stores.path(),
        "\"name.given\" = \"first_name\"",
        "\"name.first\" = \"first_name\"",
    );
    let out = check(sandbox.path(), &config);
    assert_eq!(out.code, Some(1), "{out}");
    let at = format!("{}:{line}:", config.display());
    assert!(out.stderr.contains(&at), "names `{at}`\n{out}");
    assert!(
        out.stderr.contains("left.fields.\"name.first\""),
        "names the key\n{out}"
    );
    assert!(
        out.stderr.contains("name.given"),
        "lists the known fields\n{out}"
    );
}

#[test]
fn a_column_missing_from_the_table_is_named_with_the_real_columns() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let (config, line) = edited_config(
        stores.path(),
        "\"org.name\" = \"company\"",
        "\"org.name\" = \"firma\"",
    );
    let out = check(sandbox.path(), &config);
    assert_eq!(out.code, Some(1), "{out}");
    let message = out
        .stderr
        .lines()
        .find(|l| l.contains("left.fields.\"org.name\""))
        .unwrap_or_else(|| panic!("names the key\n{out}"));
    let at = format!("{}:{line}:", config.display());
    assert!(message.contains(&at), "names `{at}`\n{out}");
    assert!(message.contains("\"firma\""), "names the column\n{out}");

    let db = rusqlite::Connection::open(stores.path().join("crm.sqlite")).unwrap();
    let columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('customers')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(columns.len() > 20);
    let listed: Vec<&str> = message
        .rsplit_once(": ")
        .unwrap()
        .1
        .split(", ")
        .map(str::trim)
        .collect();
    for column in &columns {
        assert!(
            listed.contains(&column.as_str()),
            "lists the real column {column}\n{out}"
        );
    }
    assert!(!listed.contains(&"firma"));
}

#[test]
fn a_bad_sync_mode_names_the_key_and_the_allowed_values() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let (config, line) = edited_config(stores.path(), "mode = \"sync\"", "mode = \"both\"");
    let out = check(sandbox.path(), &config);
    assert_eq!(out.code, Some(1), "{out}");
    let at = format!("{}:{line}:", config.display());
    assert!(out.stderr.contains(&at), "names `{at}`\n{out}");
    assert!(out.stderr.contains("sync.mode"), "names the key\n{out}");
    assert!(out.stderr.contains("\"both\""), "names the value\n{out}");
    for allowed in [
        "sync",
        "left-wins",
        "right-wins",
        "import",
        "export",
        "none",
    ] {
        assert!(
            out.stderr.contains(&format!("\"{allowed}\"")),
            "lists {allowed}\n{out}"
        );
    }
    assert!(
        !out.stdout.contains("(valid)"),
        "an invalid config is not called valid\n{out}"
    );
}

#[test]
fn a_missing_address_book_folder_is_an_error_not_an_empty_book() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let (config, _) = edited_config(stores.path(), "path = \"outlook\"", "path = \"nowhere\"");
    let out = check(sandbox.path(), &config);
    assert_eq!(out.code, Some(1), "{out}");
    let message = out
        .stderr
        .lines()
        .find(|l| l.contains(&*stores.path().join("nowhere").to_string_lossy()))
        .unwrap_or_else(|| panic!("names the missing folder\n{out}"));
    assert!(message.contains("does not exist"), "{out}");
    assert!(message.contains("right.path"), "names the key\n{out}");
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("right")),
        "no (empty) Outlook store is reported\n{out}"
    );
    // The other side is still checked.
    assert!(
        side_line(&out, "left", "CRM").contains(": 30 records, 26 in scope"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = tempfile::tempdir().unwrap();
    for (args, named) in [
        (&["frobnicate"][..], "frobnicate"),
        (&["check", "--bogus"][..], "--bogus"),
    ] {
        let out = run(&mut abgleich(sandbox.path(), args));
        assert_eq!(out.code, Some(2), "{args:?}\n{out}");
        assert!(out.stderr.contains(named), "{args:?}\n{out}");
        assert!(out.stderr.contains("Usage"), "{args:?}\n{out}");
    }
}

#[test]
fn check_without_any_config_points_to_init() {
    let sandbox = tempfile::tempdir().unwrap();
    let out = run(&mut abgleich(sandbox.path(), &["check"]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("abgleich init"), "{out}");
    assert!(out.stderr.contains("--config"), "{out}");
    assert!(
        std::fs::read_dir(sandbox.path().join("cwd"))
            .unwrap()
            .next()
            .is_none(),
        "check creates nothing"
    );
}

#[test]
fn check_finds_the_config_in_xdg_config_home() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, config) = copied_samples();
    // Absolute store paths, since the config is moved away from the stores.
    let text = sample_config_text()
        .replacen(
            "path = \"crm.sqlite\"",
            &format!(
                "path = {:?}",
                stores.path().join("crm.sqlite").to_str().unwrap()
            ),
            1,
        )
        .replacen(
            "path = \"outlook\"",
            &format!(
                "path = {:?}",
                stores.path().join("outlook").to_str().unwrap()
            ),
            1,
        );
    std::fs::remove_file(config).unwrap();
    let xdg_config = sandbox
        .path()
        .join("xdg")
        .join("abgleich")
        .join("abgleich.toml");
    std::fs::create_dir_all(xdg_config.parent().unwrap()).unwrap();
    std::fs::write(&xdg_config, text).unwrap();
    let out = run(&mut abgleich(sandbox.path(), &["check"]));
    assert!(
        out.stdout.contains(&*xdg_config.to_string_lossy()),
        "names the XDG config\n{out}"
    );
    assert_sample_report(&out, &stores.path().join("outlook"));
}

/// Issue 11, finding 15: a file name with a title escape reached the
/// terminal through `check`; a right-to-left override and zero-width
/// characters in a contact's name passed through `plan`. Every command's
/// output now shows them neutralised, and `plan --json` still means the
/// same name.
#[test]
fn no_command_lets_contact_text_or_file_names_move_the_terminal() {
    let dir = copy_samples();
    let outlook = dir.path().join("outlook");
    let name = "Eve\u{202e}txt.exe\u{200b}";
    std::fs::write(
        outlook.join("evil.vcf"),
        format!("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nN:Eve;\u{202e}X;;;\r\nUID:evil-1\r\nEND:VCARD\r\n"),
    )
    .unwrap();
    std::fs::write(outlook.join("x\u{1b}]0;PWNED\u{7}.vcf"), "garbage").unwrap();
    // A CSI (U+009B), NEL and DEL in a CRM field: serde_json leaves them raw.
    rusqlite::Connection::open(dir.path().join("crm.sqlite"))
        .unwrap()
        .execute_batch(
            "UPDATE customers SET company = 'Evil' || char(155) || '2J' || char(133) || char(127), updated_at = '2027-03-01 10:00:00' WHERE id = 1",
        )
        .unwrap();
    let config = dir.path().join("abgleich.toml");
    let config = config.to_str().unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    let spoofing = [
        '\u{1b}', '\u{7}', '\u{202e}', '\u{200b}', '\u{9b}', '\u{85}', '\u{7f}',
    ];
    for args in [
        &["--config", config, "check"][..],
        &["--config", config, "plan"],
        &["--config", config, "plan", "--json"],
        &["--config", config, "status"],
    ] {
        let out = run(&mut abgleich(sandbox.path(), args));
        assert!(out.code.is_some_and(|c| c <= 1), "{args:?}: {out}");
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains(&spoofing[..]),
                "{args:?} printed a raw escape or bidi character: {out}"
            );
        }
        if args.contains(&"check") {
            assert!(out.stdout.contains("x␛]0;PWNED␇.vcf"), "{out}");
        }
        if args == ["--config", config, "plan"] {
            assert!(out.stdout.contains("Eve<U+202E>txt.exe<U+200B>"), "{out}");
        }
        if args.contains(&"--json") {
            let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let names: Vec<&str> = plan["operations"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|op| op["name"].as_str())
                .collect();
            assert!(names.contains(&name), "the JSON keeps the name: {names:?}");
        }
    }
}

/// Issue 11, finding 15: `abgleich check | head -1` panicked (exit 134).
/// With the reader gone before the first line, every printing command ends
/// quietly with its own exit code.
#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = copy_samples();
    let config = dir.path().join("abgleich.toml");
    let config = config.to_str().unwrap();
    let sandbox = tempfile::tempdir().unwrap();
    for args in [
        &["--config", config, "check"][..],
        &["--config", config, "plan"],
        &["--config", config, "plan", "--json"],
        &["--config", config, "status"],
    ] {
        let mut child = abgleich(sandbox.path(), args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end at once: every write to stdout fails.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // Output that cannot be written for another reason fails the command.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    if let Ok(full) = full {
        let out = abgleich(sandbox.path(), &["--config", config, "plan"])
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("cannot write to stdout"), "{stderr}");
    }
}

/// A number written in international form keeps its country's digits
/// whatever the default region: with `default_region = "US"`, a German
/// mobile (+49 171 …) and a Dublin line (+353 1 …) reach the address
/// book's E.164 as the same numbers, not with the `1` after the country
/// code dropped as if it were the US trunk prefix (the number library
/// used before did that, so the card got someone else's number).
#[test]
fn international_numbers_keep_their_digits_under_a_us_default_region() {
    let dir = TempDir::new().unwrap();
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(cwd.join("book")).unwrap();
    let db = rusqlite::Connection::open(cwd.join("crm.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, phone TEXT);
         INSERT INTO customers VALUES (1, 'Jörg', 'Becker', '+49 171 9876543'),
           (2, 'Siobhan', 'Kelly', '+353 1 676 0366'), (3, 'Ann', 'Lee', '(212) 555-0143');",
    )
    .unwrap();
    drop(db);
    std::fs::write(
        cwd.join("abgleich.toml"),
        r#"[left]
name = "CRM"
kind = "sqlite"
path = "crm.sqlite"
table = "customers"
id = "id"
[left.fields]
"name.given" = "first_name"
"name.family" = "last_name"
"phone.work" = "phone"

[right]
name = "Book"
kind = "vdir"
path = "book"
limits = { phone_format = "e164" }

[sync]
mode = "left-wins"
default_region = "US"
"#,
    )
    .unwrap();
    let out = run(&mut abgleich(dir.path(), &["apply", "--yes"]));
    assert_eq!(out.code, Some(0), "{out}");
    let mut tels: Vec<String> = std::fs::read_dir(cwd.join("book"))
        .unwrap()
        .flat_map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            (text.lines())
                .filter(|l| l.starts_with("TEL"))
                .map(|l| l.rsplit(':').next().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    tels.sort();
    assert_eq!(
        tels,
        ["+12125550143", "+35316760366", "+491719876543"],
        "{out}"
    );
}
