//! Two card folders (`a` left, `b` right) synchronised by the binary.

use std::path::PathBuf;

pub struct TwoVdirs {
    dir: tempfile::TempDir,
}

impl TwoVdirs {
    /// `b` is written as `version` (`a` as 4.0); `sync` adds to `[sync]`.
    pub fn new(version: &str, sync: &str) -> TwoVdirs {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["a", "b", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            dir.path().join("abgleich.toml"),
            format!(
                "[left]\nname = \"A\"\nkind = \"vdir\"\npath = \"a\"\nwrite_version = \"4.0\"\n\n\
                 [right]\nname = \"B\"\nkind = \"vdir\"\npath = \"b\"\nwrite_version = \"{version}\"\n\n\
                 [sync]\nmode = \"sync\"\nmatch = [\"email\"]\n{sync}\n"
            ),
        )
        .unwrap();
        TwoVdirs { dir }
    }

    /// The folders with a config of the test's own.
    pub fn with_config(config: &str) -> TwoVdirs {
        let sync = TwoVdirs::new("4.0", "");
        std::fs::write(sync.path("abgleich.toml"), config).unwrap();
        sync
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// The text of card file `name` in folder `sub`.
    pub fn read(&self, sub: &str, name: &str) -> String {
        std::fs::read_to_string(self.path(sub).join(name)).unwrap()
    }

    /// Write card file `name` in folder `sub`.
    pub fn write(&self, sub: &str, name: &str, text: &str) {
        std::fs::write(self.path(sub).join(name), text).unwrap();
    }

    /// Run the binary on the config; its stdout (it must succeed).
    pub fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_abgleich"))
            .args(args)
            .arg("--config")
            .arg(self.path("abgleich.toml"))
            .current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "abgleich {args:?}:\n{text}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `apply --yes ARGS`; nothing may fail.
    pub fn apply(&self, args: &[&str]) -> String {
        let mut all = vec!["apply", "--yes"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(!out.contains("failed"), "{out}");
        out
    }

    /// The plan's operations.
    pub fn operations(&self) -> Vec<serde_json::Value> {
        let plan: serde_json::Value = serde_json::from_str(&self.run(&["plan", "--json"])).unwrap();
        plan["operations"].as_array().unwrap().clone()
    }

    /// Linked file names, left → right.
    pub fn links(&self) -> Vec<(String, String)> {
        let db = rusqlite::Connection::open(self.path("abgleich.state")).unwrap();
        let mut stmt = db
            .prepare("SELECT left_id, right_id FROM links WHERE tombstone IS NULL")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}
