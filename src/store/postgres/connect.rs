//! Reaching the server: the connection string, the user and the password
//! (the config's source, `PGPASSWORD`, `~/.pgpass`), TLS and timeouts.
//!
//! No error here carries the password: a failed login is named by the
//! server's message ("password authentication failed for user …").

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::Client;
use postgres::config::Host;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{ServerConfig, StoreConfig};
use crate::store::interface::StoreError;
use crate::store::secret;

/// How long a connection may take before the run stops (libpq waits
/// forever by default).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The session abgleich reads and writes in: values in fixed text forms
/// (UTC, ISO dates, exact floats), so that a value read and written back
/// compares equal; a statement that waits for a lock another program holds
/// or runs far too long is stopped instead of hanging the run.
const SESSION: &str = "SET statement_timeout = '120s'; SET lock_timeout = '15s'; \
     SET idle_in_transaction_session_timeout = '10min'; SET TimeZone = 'UTC'; \
     SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Connect to the store's server and prepare the session.
pub(super) fn connect(config: &StoreConfig) -> Result<Client, StoreError> {
    let address = config.location();
    let Some(server) = config.server.as_ref() else {
        return Err(StoreError::Config {
            place: config.locate("url"),
            message: "a postgres store needs `url`".to_string(),
        });
    };
    // The driver knows `sslmode` up to `require`, and verifies the
    // certificate and host name whenever it uses TLS: libpq's stricter
    // modes are what it does anyway.
    let url = server
        .url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    let mut pg: postgres::Config =
        url.parse()
            .map_err(|e: postgres::Error| StoreError::Config {
                place: config.locate("url"),
                message: format!(
                    "{address} is not a PostgreSQL connection string or URL: {}",
                    cause(&e)
                ),
            })?;
    if let Some(user) = &server.username {
        pg.user(user);
    }
    // What libpq takes when the connection string does not say.
    if pg.get_user().is_none()
        && let Some(user) = env("PGUSER").or_else(|| env("USER"))
    {
        pg.user(&user);
    }
    if pg.get_hosts().is_empty() {
        pg.host(&env("PGHOST").unwrap_or_else(|| "localhost".to_string()));
    }
    if pg.get_ports().is_empty()
        && let Some(port) = env("PGPORT").and_then(|p| p.parse().ok())
    {
        pg.port(port);
    }
    if pg.get_dbname().is_none()
        && let Some(db) = env("PGDATABASE")
    {
        pg.dbname(&db);
    }
    let mut pgpass_note = None;
    let password = match secret::password(config)? {
        Some(p) => Some(p.reveal().to_string()),
        None => match env("PGPASSWORD") {
            Some(p) => Some(p),
            None => match pgpass(&pg) {
                Ok(found) => found,
                Err(note) => {
                    pgpass_note = Some(note);
                    None
                }
            },
        },
    };
    if let Some(p) = &password {
        pg.password(p.as_str());
    }
    pg.connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(60))
        .application_name("abgleich");
    let tls = tls(config, server)?;
    let mut client =
        connect_within(pg, tls, CONNECT_TIMEOUT + LOGIN_TIMEOUT, &address)?.map_err(|e| {
            let mut message = format!("cannot connect: {}", cause(&e));
            if message.contains("password missing") {
                message = "cannot connect: the server asks for a password and none was found \
                       (password_env, password_command, PGPASSWORD or ~/.pgpass)"
                    .to_string();
            }
            if let Some(note) = &pgpass_note {
                message.push_str(&format!(" ({note})"));
            }
            StoreError::Server {
                address: address.clone(),
                message,
                cause: Some(e),
            }
        })?;
    client
        .batch_execute(SESSION)
        .map_err(|e| server_error(&address, e))?;
    Ok(client)
}

/// How long the login may take once the socket is open (a server that
/// takes the connection and never answers, a stuck TLS handshake): the
/// connect timeout covers only opening the socket.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(20);

/// `pg.connect(tls)`, given up after `limit`: the driver has no timeout for
/// the whole login, so it runs in a thread of its own that is left behind
/// when it takes too long (the run stops then anyway).
fn connect_within(
    pg: postgres::Config,
    tls: MakeRustlsConnect,
    limit: Duration,
    address: &str,
) -> Result<Result<Client, postgres::Error>, StoreError> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(pg.connect(tls));
    });
    receive.recv_timeout(limit).map_err(|e| StoreError::Server {
        address: address.to_string(),
        message: match e {
            std::sync::mpsc::RecvTimeoutError::Timeout => format!(
                "cannot connect: timeout, the server did not answer within {} s",
                limit.as_secs()
            ),
            std::sync::mpsc::RecvTimeoutError::Disconnected => {
                "cannot connect: the connection attempt ended without an answer".to_string()
            }
        },
        cause: None,
    })
}

/// The TLS setup: the server's certificate verified against the webpki
/// roots and the certificates of `ca_file`, if given. Used as `sslmode`
/// says (`disable`, `prefer` (the default), `require`).
fn tls(config: &StoreConfig, server: &ServerConfig) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &server.ca_file {
        let bad = |why: String| StoreError::Config {
            place: config.locate("ca_file"),
            message: format!("{}: {why}", ca.display()),
        };
        let bytes = std::fs::read(ca).map_err(|e| StoreError::io(ca, e))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let cert = cert.map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| bad(format!("a certificate that cannot be used: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("holds no PEM certificate".to_string()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Server {
            address: config.location(),
            message: format!("TLS cannot be set up: {e}"),
            cause: None,
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(tls))
}

/// The password `~/.pgpass` (or `PGPASSFILE`) holds for the connection,
/// as libpq finds it: the first line whose host, port, database and user
/// match (`*` matches any). `Err`: the file exists but is not read, with
/// why (libpq, too, ignores a file others may read).
fn pgpass(pg: &postgres::Config) -> Result<Option<String>, String> {
    let Some(path) = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")))
    else {
        return Ok(None);
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Ok(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{} was not read: group or others may read it; chmod 600 it",
                path.display()
            ));
        }
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches a socket connection as `localhost`.
        _ => "localhost".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432).to_string();
    let Some(user) = pg.get_user() else {
        return Ok(None);
    };
    let db = pg.get_dbname().unwrap_or(user);
    Ok(pgpass_lookup(&text, [&host, &port, db, user]))
}

/// The password of the first `host:port:database:user:password` line of
/// `text` that matches `wanted` (`*` matches anything; `\:` and `\\` are
/// a colon and a backslash).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_pgpass_line(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields
            .iter()
            .zip(wanted)
            .all(|(field, want)| field == "*" || field == want);
        if matches {
            // A colon in the password itself is escaped, but libpq takes
            // the rest of the line: join what a stray colon split.
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(field) = fields.last_mut()
                {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

/// A server error in words: the server's own message (and detail), or
/// the client's error with its causes ("error connecting to server:
/// Connection refused (os error 111)").
pub(super) fn cause(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = db.message().to_string();
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// A failed request as a store error: a constraint the database keeps
/// (SQLSTATE class 23) apart from everything else.
pub(super) fn server_error(address: &str, e: postgres::Error) -> StoreError {
    let message = cause(&e);
    let constraint = e.code().is_some_and(|c| c.code().starts_with("23"));
    if constraint {
        StoreError::Constraint {
            address: address.to_string(),
            message,
            cause: Some(e),
        }
    } else {
        StoreError::Server {
            address: address.to_string(),
            message,
            cause: Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_takes_the_first_matching_line_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    db.internal:5432:crm:alice:first\n\
                    *:*:crm:bob:pa\\:ss\\\\word\n\
                    127.0.0.1:*:*:*:fallback\n";
        let find = |w: [&str; 4]| pgpass_lookup(text, w);
        assert_eq!(
            find(["db.internal", "5432", "crm", "alice"]).as_deref(),
            Some("first")
        );
        assert_eq!(
            find(["other", "6000", "crm", "bob"]).as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            find(["127.0.0.1", "5433", "x", "carol"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(find(["db.internal", "5433", "crm", "alice"]), None);
    }
}
