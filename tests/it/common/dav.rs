//! Real CardDAV servers for the tests: Radicale (and Xandikos) from PyPI,
//! installed once into a venv under `target/test-servers` (a lock file
//! keeps parallel tests from racing), started on 127.0.0.1 at a free port
//! in a temp dir and stopped on drop. Where Python, venv or pip is not to
//! be had, `start` returns `None` after saying why, and the test passes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret-pw";

fn servers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-servers")
}

/// The venv with `package` installed, made once; `None` (said why) when
/// it cannot be had.
fn venv(package: &str) -> Option<PathBuf> {
    let dir = servers_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let lock = File::create(dir.join(format!("{package}.lock"))).ok()?;
    lock.lock().ok()?;
    let venv = dir.join(format!("venv-{package}"));
    let program = venv.join("bin").join(package);
    let ready = venv.join(".installed");
    if ready.exists() && program.exists() {
        return Some(program);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let made = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .stdout(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: {python} -m venv failed; no {package} server for this test");
        return None;
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", package])
        .status();
    if !installed.is_ok_and(|s| s.success()) || !program.exists() {
        eprintln!("SKIPPED: pip install {package} failed; no {package} server for this test");
        return None;
    }
    std::fs::write(&ready, "").ok()?;
    Some(program)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running server.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: TempDir,
    /// Whether it asks for a password (Radicale) or not (Xandikos).
    auth: bool,
    /// `https` with a certificate of its own CA (`ca.pem` in `dir`).
    tls: bool,
}

impl Server {
    /// Radicale with user `alice` (plain htpasswd) and its log at info
    /// level in `log` (one line per request).
    pub fn radicale() -> Option<Server> {
        Server::radicale_with(false)
    }

    /// Radicale over https, its certificate signed by a CA of the test's
    /// own (`ca.pem` in `dir`); `None` also without `openssl`.
    pub fn radicale_tls() -> Option<Server> {
        Server::radicale_with(true)
    }

    fn radicale_with(tls: bool) -> Option<Server> {
        let program = venv("radicale")?;
        let dir = tempfile::tempdir().ok()?;
        let port = free_port();
        let root = dir.path();
        std::fs::write(root.join("users"), format!("{USER}:{PASSWORD}\n")).ok()?;
        let ssl = if tls {
            if !super::make_certificates(root) {
                eprintln!("SKIPPED: openssl cannot make test certificates");
                return None;
            }
            format!(
                "ssl = True\ncertificate = {}\nkey = {}\n",
                root.join("server.pem").display(),
                root.join("server.key").display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "[server]\nhosts = 127.0.0.1:{port}\n{ssl}[auth]\ntype = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\n[storage]\nfilesystem_folder = {}\n[logging]\nlevel = info\n",
            root.join("users").display(),
            root.join("collections").display()
        );
        std::fs::write(root.join("config"), config).ok()?;
        let log = File::create(root.join("log")).ok()?;
        let child = Command::new(program)
            .arg("--config")
            .arg(root.join("config"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .ok()?;
        Server::ready(child, port, dir, true, tls)
    }

    /// Xandikos with its default principal, no authentication.
    pub fn xandikos() -> Option<Server> {
        let program = venv("xandikos")?;
        let dir = tempfile::tempdir().ok()?;
        let port = free_port();
        let log = File::create(dir.path().join("log")).ok()?;
        let child = Command::new(program)
            .arg("--defaults")
            .arg("-d")
            .arg(dir.path().join("data"))
            .args(["-l", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .ok()?;
        Server::ready(child, port, dir, false, false)
    }

    fn ready(mut child: Child, port: u16, dir: TempDir, auth: bool, tls: bool) -> Option<Server> {
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(20)
                || child.try_wait().ok().flatten().is_some()
            {
                let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
                let _ = child.kill();
                let _ = child.wait();
                panic!("the test server did not start:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Server {
            child,
            port,
            dir,
            auth,
            tls,
        })
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The CA that signed an https server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Stop the server (a test of an unreachable one); drop does it too.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn agent() -> ureq::Agent {
        // The test's own server on this machine: its certificate is not
        // what the test's requests check.
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(true)
            .build();
        ureq::Agent::config_builder()
            .allow_non_standard_methods(true)
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .new_agent()
    }

    /// One request; returns status, ETag and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &str)>,
    ) -> (u16, Option<String>, String) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        if self.auth {
            request = request.header(
                "Authorization",
                "Basic YWxpY2U6czNjcmV0LXB3", // alice:s3cret-pw
            );
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some((content_type, text)) => {
                request = request.header("Content-Type", content_type);
                text.as_bytes().to_vec()
            }
            None => Vec::new(),
        };
        let mut response = Self::agent()
            .run(request.body(body).unwrap())
            .expect("the test server answers");
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (response.status().as_u16(), etag, text)
    }

    /// Make an address book collection (extended MKCOL).
    pub fn make_book(&self, path: &str) {
        let body = r#"<?xml version="1.0"?><mkcol xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><set><prop><resourcetype><collection/><C:addressbook/></resourcetype></prop></set></mkcol>"#;
        let (status, _, text) = self.request("MKCOL", path, &[], Some(("application/xml", body)));
        assert_eq!(status, 201, "MKCOL {path}: {text}");
    }

    pub fn put(&self, path: &str, card: &str) -> String {
        let (status, etag, text) =
            self.request("PUT", path, &[], Some(("text/vcard; charset=utf-8", card)));
        assert!((200..300).contains(&status), "PUT {path}: {status} {text}");
        etag.unwrap_or_default()
    }

    /// A card's text; `None`: it does not exist.
    pub fn get(&self, path: &str) -> Option<String> {
        let (status, _, text) = self.request("GET", path, &[], None);
        match status {
            200 => Some(text),
            404 => None,
            s => panic!("GET {path}: {s} {text}"),
        }
    }

    pub fn delete(&self, path: &str) {
        let (status, _, text) = self.request("DELETE", path, &[], None);
        assert!(
            (200..300).contains(&status),
            "DELETE {path}: {status} {text}"
        );
    }

    /// The hrefs in a collection, sorted.
    pub fn hrefs(&self, path: &str) -> Vec<String> {
        let body =
            r#"<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>"#;
        let (status, _, text) = self.request(
            "PROPFIND",
            path,
            &[("Depth", "1")],
            Some(("application/xml", body)),
        );
        assert_eq!(status, 207, "PROPFIND {path}: {text}");
        let mut hrefs: Vec<String> = text
            .split("<href>")
            .skip(1)
            .filter_map(|s| s.split("</href>").next())
            .map(str::to_string)
            .filter(|h| h != path)
            .collect();
        // Xandikos prefixes its elements.
        hrefs.extend(
            text.split("<ns0:href>")
                .skip(1)
                .filter_map(|s| s.split("</ns0:href>").next())
                .map(str::to_string)
                .filter(|h| h != path),
        );
        hrefs.sort();
        hrefs
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
