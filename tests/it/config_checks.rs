//! Configs that cannot work are refused by the binary before anything is
//! read or written, each with file, line and key (issue 11: two fields on
//! one column, an id column that is not a key, the screen's theme and keys,
//! a value of the wrong type), and where the state goes.

use crate::cli::{abgleich, check, copied_samples, edited_config, run};

#[test]
fn two_fields_on_one_column_are_refused_naming_file_line_and_both_keys() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let (config, line) = edited_config(
        stores.path(),
        "\"email[2]\" = \"email2\"",
        "\"email[2]\" = \"email\"",
    );
    for command in ["check", "plan"] {
        let out = run(&mut abgleich(
            sandbox.path(),
            &[command, "--config", config.to_str().unwrap()],
        ));
        assert_eq!(out.code, Some(1), "{command}\n{out}");
        let at = format!(
            "{}:{line}: key `left.fields.\"email[2]\"`",
            config.display()
        );
        assert!(out.stderr.contains(&at), "{command} names `{at}`\n{out}");
        assert!(
            out.stderr.contains("left.fields.\"email[1]\"") && out.stderr.contains("\"email\""),
            "{command} names the other key and the column\n{out}"
        );
        assert!(!out.stdout.contains("(valid)"), "{command}\n{out}");
    }
    assert!(
        !stores.path().join("edited.state").exists(),
        "nothing written"
    );
}

/// `check` on the samples' config with `from` replaced by `to` (and
/// `extra` appended): exit 1, an error naming the config file, the line of
/// `at_line_of` and `key`, and no "(valid)".
fn assert_check_refuses(from: &str, to: &str, extra: &str, at_line_of: &str, key: &str) -> String {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, _) = copied_samples();
    let (config, _) = edited_config(stores.path(), from, to);
    let text = std::fs::read_to_string(&config).unwrap() + extra;
    std::fs::write(&config, &text).unwrap();
    let line = text.lines().position(|l| l.contains(at_line_of)).unwrap() + 1;
    let out = check(sandbox.path(), &config);
    assert_eq!(out.code, Some(1), "{out}");
    let at = format!("{}:{line}: key `{key}`", config.display());
    let message = out
        .stderr
        .lines()
        .find(|l| l.contains(&at))
        .unwrap_or_else(|| panic!("names `{at}`\n{out}"));
    assert!(!out.stdout.contains("(valid)"), "{out}");
    message.to_string()
}

#[test]
fn check_refuses_an_unknown_theme_as_the_screen_does() {
    let message = assert_check_refuses(
        "theme = \"default\"",
        "theme = \"nosuch\"",
        "",
        "theme = \"nosuch\"",
        "ui.theme",
    );
    assert!(message.contains("\"nosuch\""), "{message}");
    assert!(
        message.contains("high-contrast"),
        "lists the themes: {message}"
    );
}

#[test]
fn check_refuses_bad_key_bindings_as_the_screen_does() {
    let message = assert_check_refuses(
        "[ui]",
        "[ui]",
        "\n[keys]\nhelp = \"h\"\nquit = \"boom\"\n",
        "quit = \"boom\"",
        "keys.quit",
    );
    assert!(message.contains("\"boom\" is not a key"), "{message}");
    // A key bound twice is placed at the entry that binds it.
    let message = assert_check_refuses(
        "[ui]",
        "[ui]",
        "\n[keys]\nskip_all = \"x\"\n",
        "skip_all = \"x\"",
        "keys.skip_all",
    );
    assert!(message.contains("already bound to execute"), "{message}");
}

#[test]
fn a_value_of_the_wrong_type_names_the_key_and_what_it_expects() {
    let message = assert_check_refuses(
        "emails = 3",
        "emails = \"drei\"",
        "",
        "emails = \"drei\"",
        "right.limits.emails",
    );
    assert!(message.contains("a whole number"), "{message}");
    assert!(!message.contains("usize"), "{message}");
}
