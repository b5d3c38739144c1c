//! Guards of the binary against one mistake taking many contacts along: a
//! mass unlink is refused as a mass delete is, and the state's files are
//! never opened through a symlink or a second name, nor when another user
//! owns them (issue 11, findings 10 and 11).

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
    let outlook = stores.path().join("outlook");
    std::fs::remove_file(outlook.join("Broken Export.vcf")).unwrap();
    // Cards last changed long ago, as in a real book: their version tokens
    // are trusted, and a card unchanged since the last sync is not parsed
    // again (Klaus Zimmermann's card, already in agreement, is never written).
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for card in std::fs::read_dir(&outlook).unwrap() {
        let file = std::fs::File::options()
            .write(true)
            .open(card.unwrap().path())
            .unwrap();
        file.set_modified(long_ago).unwrap();
    }
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

#[test]
fn state_lock_and_journal_files_are_never_opened_through_a_symlink() {
    let sandbox = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    for planted in [
        "abgleich.state.lock",
        "abgleich.state",
        "abgleich.state-wal",
        "abgleich.state-journal",
    ] {
        let (stores, config) = copied_samples();
        let victim = outside.path().join(format!("{planted}.victim"));
        std::fs::write(&victim, "precious\n").unwrap();
        let link = stores.path().join(planted);
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        // A dangling link: following it would create a file outside.
        let dangling_target = outside.path().join(format!("{planted}.new"));
        for args in [&["plan"][..], &["status"]] {
            let out = sync(sandbox.path(), &config, args);
            assert_eq!(out.code, Some(1), "{planted} {args:?}\n{out}");
            assert!(
                out.stderr.contains(&*link.to_string_lossy())
                    && out.stderr.contains("symbolic link"),
                "{planted} {args:?}: names the link\n{out}"
            );
            assert_eq!(
                std::fs::read_to_string(&victim).unwrap(),
                "precious\n",
                "{planted} {args:?}: the file outside is untouched"
            );
        }
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&dangling_target, &link).unwrap();
        let out = sync(sandbox.path(), &config, &["plan"]);
        assert_eq!(out.code, Some(1), "{planted} dangling\n{out}");
        assert!(
            !dangling_target.exists(),
            "{planted}: nothing created through a dangling link\n{out}"
        );
    }
}

/// Issue 11, finding 11: `O_NOFOLLOW` stops symbolic links only; a hard
/// link planted in place of the lock (`ln /some/file abgleich.state.lock`)
/// was truncated and overwritten with the holder's text by `plan`. A state,
/// lock or journal file with a second name, or of another user, is refused
/// by name, and the file behind it keeps its content.
#[test]
fn state_lock_and_journal_files_with_a_second_name_or_another_owner_are_refused() {
    let sandbox = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    for planted in [
        "abgleich.state.lock",
        "abgleich.state",
        "abgleich.state-wal",
        "abgleich.state-journal",
    ] {
        let (stores, config) = copied_samples();
        let victim = outside.path().join(format!("{planted}.victim"));
        std::fs::write(&victim, "precious\n").unwrap();
        let name = stores.path().join(planted);
        std::fs::hard_link(&victim, &name).unwrap();
        for args in [&["plan"][..], &["status"], &["apply", "--yes"]] {
            let out = sync(sandbox.path(), &config, args);
            assert_eq!(out.code, Some(1), "{planted} {args:?}\n{out}");
            assert!(
                out.stderr.contains(&*name.to_string_lossy())
                    && out.stderr.contains("has 2 names (hard links)"),
                "{planted} {args:?}: names the file and why\n{out}"
            );
            assert_eq!(
                std::fs::read_to_string(&victim).unwrap(),
                "precious\n",
                "{planted} {args:?}: the file behind the second name is untouched"
            );
        }
        std::fs::remove_file(&name).unwrap();

        // Another user's file in the state's place (only root can make one).
        if root {
            std::fs::write(&name, "theirs\n").unwrap();
            std::os::unix::fs::chown(&name, Some(65534), Some(65534)).unwrap();
            let out = sync(sandbox.path(), &config, &["plan"]);
            assert_eq!(out.code, Some(1), "{planted} not ours\n{out}");
            assert!(
                out.stderr.contains(&*name.to_string_lossy())
                    && out.stderr.contains("belongs to user 65534, not to you"),
                "{planted}: names the file and its owner\n{out}"
            );
            assert_eq!(std::fs::read_to_string(&name).unwrap(), "theirs\n");
        } else {
            eprintln!("skipped: another user's file needs root to make");
        }
    }
}

/// Found by the verification pass (issue 11, finding 11): `plan --out` over
/// an existing 0644 file left it readable by others, and a symbolic link in
/// its place was followed. The saved plan (contact data) is owner-only, and
/// a link is replaced, not written through.
#[test]
fn a_saved_plan_is_owner_only_and_never_written_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = tempfile::tempdir().unwrap();
    let (stores, config) = copied_samples();
    let config = config.to_str().unwrap();
    let existing = stores.path().join("plan.json");
    std::fs::write(&existing, "old").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&mut abgleich(
        sandbox.path(),
        &[
            "plan",
            "--config",
            config,
            "--out",
            existing.to_str().unwrap(),
        ],
    ));
    assert_eq!(out.code, Some(0), "{out}");
    let mode = std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{out}");
    assert!(
        std::fs::read_to_string(&existing)
            .unwrap()
            .contains("\"operations\"")
    );

    let victim = stores.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let link = stores.path().join("linked.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = run(&mut abgleich(
        sandbox.path(),
        &["plan", "--config", config, "--out", link.to_str().unwrap()],
    ));
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        !std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
