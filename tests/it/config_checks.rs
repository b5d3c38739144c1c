//! Configs that cannot work are refused by the binary before anything is
//! read or written, each with file, line and key (issue 11: two fields on
//! one column, an id column that is not a key, the screen's theme and keys,
//! a value of the wrong type), and where the state goes.

use crate::cli::{abgleich, copied_samples, edited_config, run};

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
