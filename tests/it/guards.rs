//! Guards of the binary against one mistake taking many contacts along: a
//! mass unlink is refused as a mass delete is, and the state's files are
//! never opened through a symlink (issue 11, findings 10 and 11).

use std::path::Path;

use crate::cli::{Run, abgleich, copied_samples, run};

fn sync(sandbox: &Path, config: &Path, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--config", config.to_str().unwrap()]);
    run(&mut abgleich(sandbox, &all))
}

#[test]
fn a_mass_unlink_is_refused_without_force() {
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, config) = copied_samples();
    std::fs::remove_file(stores.path().join("outlook").join("Broken Export.vcf")).unwrap();
    let first = sync(
        sandbox.path(),
        &config,
        &["apply", "--yes", "--accept-review", "--conflicts", "left"],
    );
    assert_eq!(first.code, Some(0), "{first}");
    let status = sync(sandbox.path(), &config, &["status"]);
    assert!(
        status.stdout.contains("links: 40, tombstones: 0"),
        "{status}"
    );

    // One UPDATE takes every customer out of the sync scope.
    rusqlite::Connection::open(stores.path().join("crm.sqlite"))
        .unwrap()
        .execute("UPDATE customers SET outlook_sync = 0", [])
        .unwrap();
    let refused = sync(sandbox.path(), &config, &["apply", "--yes"]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("unlinks 40 of 40")
            && refused.stderr.contains("max_delete_percent"),
        "says why\n{refused}"
    );
    let status = sync(sandbox.path(), &config, &["status"]);
    assert!(
        status.stdout.contains("links: 40, tombstones: 0"),
        "no link was ended\n{status}"
    );

    let forced = sync(sandbox.path(), &config, &["apply", "--yes", "--force"]);
    assert_eq!(forced.code, Some(0), "{forced}");
    let status = sync(sandbox.path(), &config, &["status"]);
    assert!(
        status.stdout.contains("links: 0, tombstones: 40"),
        "{status}"
    );
}
