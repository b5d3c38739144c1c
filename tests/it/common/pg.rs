//! A real PostgreSQL cluster for a test: `initdb` and `pg_ctl` in a temp
//! folder as the `postgres` user, listening on 127.0.0.1 at a free port,
//! scram-sha-256 with known passwords, `fsync=off`; stopped on drop.
//!
//! [`Cluster::start`] returns `None` (and says why) where no cluster can
//! be had: no PostgreSQL binaries, or not root and so no way to become
//! `postgres`. The test then passes without running.

use std::path::{Path, PathBuf};
use std::process::Command;

use postgres::{Client, NoTls};

/// The superuser's password.
pub const SUPER_PASSWORD: &str = "super-secret-pw";
/// The password of the `crm` role that abgleich logs in as.
pub const CRM_PASSWORD: &str = "crm-Pa55:word";

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    running: bool,
}

fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn as_postgres(bin: &Path, tool: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(bin.join(tool));
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A running cluster with a role `crm` (password [`CRM_PASSWORD`])
    /// owning a database `crm`; `None` where none can be started.
    pub fn start() -> Option<Cluster> {
        let Some(bin) = bin_dir() else {
            eprintln!("SKIPPED: no PostgreSQL (no /usr/lib/postgresql/*/bin/initdb)");
            return None;
        };
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: not root, so the test cannot run initdb as the postgres user");
            return None;
        }
        let uid = Command::new("id").args(["-u", "postgres"]).output().ok()?;
        let gid = Command::new("id").args(["-g", "postgres"]).output().ok()?;
        let parse = |o: std::process::Output| String::from_utf8_lossy(&o.stdout).trim().parse();
        let (Ok(uid), Ok(gid)) = (parse(uid), parse(gid)) else {
            eprintln!("SKIPPED: there is no postgres user");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, SUPER_PASSWORD).unwrap();
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        let data = dir.path().join("data");
        let out = as_postgres(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "scram-sha-256", "-U", "postgres", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!(
                "SKIPPED: initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let port = free_port();
        let mut cluster = Cluster {
            dir,
            bin,
            port,
            running: false,
        };
        cluster.pg_ctl_start();
        let mut admin = cluster.client("postgres", "postgres", SUPER_PASSWORD);
        admin
            .batch_execute(&format!(
                "CREATE ROLE crm LOGIN PASSWORD '{}'",
                CRM_PASSWORD.replace('\'', "''")
            ))
            .unwrap();
        admin
            .batch_execute("CREATE DATABASE crm OWNER crm")
            .unwrap();
        Some(cluster)
    }

    fn pg_ctl_start(&mut self) {
        let out = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-k {} -p {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.dir.path().display(),
                self.port
            ))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
        self.running = true;
    }

    /// Start the stopped server again.
    pub fn restart(&mut self) {
        self.pg_ctl_start();
    }

    /// Stop the server (a test of what abgleich does when it is down).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        self.running = false;
    }

    /// A client of database `db` as `user`.
    pub fn client(&self, db: &str, user: &str, password: &str) -> Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .dbname(db)
            .user(user)
            .password(password)
            .connect(NoTls)
            .unwrap()
    }

    /// The `crm` role's client of the `crm` database.
    pub fn crm(&self) -> Client {
        self.client("crm", "crm", CRM_PASSWORD)
    }

    /// A URL abgleich connects to (the `crm` database as `crm`).
    pub fn url(&self) -> String {
        format!("postgresql://crm@127.0.0.1:{}/crm", self.port)
    }
}

impl Cluster {
    /// Turn TLS on with a server certificate for 127.0.0.1 signed by a CA
    /// of the test's own; returns the CA's PEM file (for `ca_file`), or
    /// `None` (and says why) without the `openssl` tool to make them.
    pub fn enable_tls(&self) -> Option<PathBuf> {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("SKIPPED: no openssl to make the test certificates");
            return None;
        }
        let dir = self.dir.path().join("tls");
        std::fs::create_dir(&dir).unwrap();
        assert!(
            super::make_certificates(&dir),
            "openssl could not make the test certificates in {}",
            dir.display()
        );
        let data = self.dir.path().join("data");
        for (from, to) in [("server.pem", "server.crt"), ("server.key", "server.key")] {
            std::fs::copy(dir.join(from), data.join(to)).unwrap();
            let chown = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(data.join(to))
                .status()
                .unwrap();
            assert!(chown.success());
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let mut admin = self.client("postgres", "postgres", SUPER_PASSWORD);
        for sql in [
            "ALTER SYSTEM SET ssl = on",
            "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
            "ALTER SYSTEM SET ssl_key_file = 'server.key'",
            "SELECT pg_reload_conf()",
        ] {
            admin.batch_execute(sql).unwrap();
        }
        Some(dir.join("ca.pem"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every row of `table` with every column as text, ordered by its first
/// column: a full `SELECT *` dump to compare before and after.
pub fn dump(client: &mut Client, table: &str) -> Vec<Vec<Option<String>>> {
    let columns: Vec<String> = client
        .query(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = $1::text::regclass \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let list: Vec<String> = columns.iter().map(|c| format!("{c}::text")).collect();
    client
        .query(
            &format!("SELECT {} FROM {table} ORDER BY 1", list.join(", ")),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..columns.len()).map(|i| r.get(i)).collect())
        .collect()
}
