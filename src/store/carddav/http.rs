//! The HTTP side of a CardDAV store: one agent (ureq, rustls with ring),
//! Basic auth sent at once and only to the configured server's origin,
//! redirects followed by hand, retries for reads and for a server that
//! asks to wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use super::failure::DavFailure;
use std::time::Duration;

/// How many redirects a request follows.
const MAX_REDIRECTS: usize = 5;
/// How often a request is tried when the server is busy (429, 503) or a
/// read fails on the way.
const ATTEMPTS: usize = 3;
/// How long a listing or a multiget may take in all.
const LONG_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest wait a `Retry-After` is granted.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A URL split where CardDAV needs it: the origin (`scheme://host:port`)
/// and the path (with its query, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub origin: String,
    pub path: String,
}

impl Url {
    pub fn parse(text: &str) -> Option<Url> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let path = path.split('#').next().unwrap_or("/");
        Some(Url {
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
            path: path.to_string(),
        })
    }

    /// An href (a full URL, an absolute or a relative path) against this URL.
    pub fn join(&self, href: &str) -> Option<Url> {
        let href = href.trim();
        if href.contains("://") {
            return Url::parse(href);
        }
        if href.starts_with('/') {
            return Some(Url {
                origin: self.origin.clone(),
                path: href.to_string(),
            });
        }
        let dir = match self.path.rfind('/') {
            Some(i) => &self.path[..=i],
            None => "/",
        };
        Some(Url {
            origin: self.origin.clone(),
            path: format!("{dir}{href}"),
        })
    }

    /// The same URL as a collection (ending in `/`).
    pub fn as_collection(&self) -> Url {
        let mut url = self.clone();
        if !url.path.ends_with('/') {
            url.path.push('/');
        }
        url
    }

    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// Whether the host is this machine (plain http is fine there).
    pub fn is_loopback(&self) -> bool {
        let host = self
            .origin
            .split_once("://")
            .map_or("", |(_, a)| a)
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or_else(
                || self.origin.split_once("://").map_or("", |(_, a)| a),
                |(h, _)| h,
            );
        matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.origin, self.path)
    }
}

/// One request.
pub struct Request<'a> {
    pub method: &'static str,
    pub url: &'a Url,
    pub depth: Option<&'static str>,
    pub headers: Vec<(&'static str, String)>,
    /// Content type and bytes.
    pub body: Option<(&'static str, Vec<u8>)>,
    /// The answer grows with the book: the long timeout.
    pub long: bool,
}

impl<'a> Request<'a> {
    pub fn new(method: &'static str, url: &'a Url) -> Self {
        Request {
            method,
            url,
            depth: None,
            headers: Vec::new(),
            body: None,
            long: false,
        }
    }

    pub fn long(mut self) -> Self {
        self.long = true;
        self
    }

    pub fn depth(mut self, depth: &'static str) -> Self {
        self.depth = Some(depth);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn xml(mut self, body: String) -> Self {
        self.body = Some(("application/xml; charset=utf-8", body.into_bytes()));
        self
    }

    fn is_read(&self) -> bool {
        matches!(
            self.method,
            "GET" | "PROPFIND" | "REPORT" | "HEAD" | "OPTIONS"
        )
    }
}

/// A server's answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The URL that answered (after redirects).
    pub url: Url,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The start of the body, for an error message.
    pub fn detail(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(200)
            .collect();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The agents of one set of trusted roots: one per timeout.
struct Agents {
    normal: ureq::Agent,
    /// For the requests whose answer grows with the book (a listing, a
    /// multiget).
    long: ureq::Agent,
}

impl Agents {
    fn new(roots: ureq::tls::RootCerts, timeout: Duration) -> Agents {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider)
            .root_certs(roots)
            .build();
        let agent = |timeout: Duration| {
            ureq::Agent::config_builder()
                .allow_non_standard_methods(true)
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .timeout_connect(Some(Duration::from_secs(10)))
                .timeout_global(Some(timeout))
                .user_agent(concat!("abgleich/", env!("CARGO_PKG_VERSION")))
                .tls_config(tls.clone())
                .build()
                .new_agent()
        };
        Agents {
            normal: agent(timeout),
            long: agent(LONG_TIMEOUT),
        }
    }

    fn for_request(&self, request: &Request<'_>) -> &ureq::Agent {
        if request.long {
            &self.long
        } else {
            &self.normal
        }
    }
}

pub struct Client {
    /// Verifying with the built-in (Mozilla) roots.
    public: Agents,
    /// Verifying with `ca_file`'s certificates, tried first where there
    /// are some; a certificate they do not vouch for is tried with the
    /// built-in roots (so `ca_file` adds to them).
    private: Option<Agents>,
    /// The private roots did not vouch for the server: the built-in ones
    /// are used from then on.
    public_only: AtomicBool,
    /// Where the credentials may go: the configured URL's origin.
    origin: String,
    auth: Option<String>,
}

impl Client {
    /// `ca`: PEM certificates trusted besides the built-in roots.
    pub fn new(
        url: &Url,
        username: Option<&str>,
        password: Option<&str>,
        ca: Option<Vec<ureq::tls::Certificate<'static>>>,
        global_timeout: Duration,
    ) -> Client {
        let private = ca.map(|certs| {
            Agents::new(
                ureq::tls::RootCerts::Specific(Arc::new(certs)),
                global_timeout,
            )
        });
        let auth = username.map(|user| {
            let pair = format!("{user}:{}", password.unwrap_or(""));
            format!("Basic {}", base64(pair.as_bytes()))
        });
        Client {
            public: Agents::new(ureq::tls::RootCerts::WebPki, global_timeout),
            private,
            public_only: AtomicBool::new(false),
            origin: url.origin.clone(),
            auth,
        }
    }

    /// The agent for `request`: the private roots' while they vouch for
    /// the server.
    fn agent(&self, request: &Request<'_>) -> (&ureq::Agent, bool) {
        match &self.private {
            Some(private) if !self.public_only.load(Ordering::Relaxed) => {
                (private.for_request(request), true)
            }
            _ => (self.public.for_request(request), false),
        }
    }

    /// Send `request`, following redirects (the credentials only to the
    /// configured origin) and retrying where that is safe.
    pub fn send(&self, request: &Request<'_>) -> Result<Reply, (Url, DavFailure)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(request) {
                Ok(reply) if matches!(reply.1.status, 429 | 503) && attempt < ATTEMPTS => {
                    std::thread::sleep(reply.0.min(MAX_RETRY_AFTER));
                }
                Ok((_, reply)) => return Ok(reply),
                Err((url, failure)) => {
                    let transient =
                        matches!(failure, DavFailure::Other(_) | DavFailure::BadReply(_));
                    if !(request.is_read() && transient && attempt < ATTEMPTS) {
                        return Err((url, failure));
                    }
                    std::thread::sleep(Duration::from_millis(300 * attempt as u64));
                }
            }
        }
    }

    /// One try: the wait the server asks for (`Retry-After`) and its answer.
    fn send_once(&self, request: &Request<'_>) -> Result<(Duration, Reply), (Url, DavFailure)> {
        let mut url = request.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut builder = http::Request::builder()
                .method(request.method)
                .uri(url.to_string());
            if let Some(depth) = request.depth {
                builder = builder.header("Depth", depth);
            }
            for (name, value) in &request.headers {
                builder = builder.header(*name, value.as_str());
            }
            if let Some(auth) = self.auth.as_ref().filter(|_| url.origin == self.origin) {
                builder = builder.header("Authorization", auth.as_str());
            }
            let body = match &request.body {
                Some((content_type, bytes)) => {
                    builder = builder.header("Content-Type", *content_type);
                    bytes.clone()
                }
                None => Vec::new(),
            };
            let http_request = builder
                .body(body)
                .map_err(|e| (url.clone(), DavFailure::Other(e.to_string())))?;
            let (agent, private) = self.agent(request);
            let mut response = match agent.run(http_request) {
                Ok(response) => response,
                Err(e) => {
                    let failure = failure_of(e);
                    if private && matches!(failure, DavFailure::Certificate(_)) {
                        // Not the private CA's: the built-in roots may
                        // vouch for it (nothing was sent yet).
                        self.public_only.store(true, Ordering::Relaxed);
                        continue;
                    }
                    return Err((url.clone(), failure));
                }
            };
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let next = header("location").and_then(|l| url.join(&l));
                if let Some(next) = next {
                    url = next;
                    continue;
                }
            }
            let wait = header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs);
            let etag = header("etag");
            let content_type = header("content-type");
            let body = response
                .body_mut()
                .with_config()
                .limit(512 * 1024 * 1024)
                .read_to_vec()
                .map_err(|e| (url.clone(), failure_of(e)))?;
            let reply = Reply {
                status,
                url: url.clone(),
                etag,
                content_type,
                body,
            };
            return match status {
                // No password went there: saying it was refused would send
                // the operator after the wrong thing.
                401 if self.auth.is_some() && url.origin != self.origin => Err((
                    url.clone(),
                    DavFailure::OtherHost {
                        there: url.origin.clone(),
                        here: self.origin.clone(),
                    },
                )),
                401 => Err((url, DavFailure::Auth(401))),
                _ => Ok((wait, reply)),
            };
        }
        Err((url, DavFailure::Redirects))
    }
}

use ureq::http;

/// A ureq error as the operator should read it.
fn failure_of(error: ureq::Error) -> DavFailure {
    match error {
        ureq::Error::HostNotFound => DavFailure::Dns,
        ureq::Error::Timeout(t) => DavFailure::Timeout(t.to_string()),
        ureq::Error::Tls(e) => DavFailure::Tls(e.to_string()),
        ureq::Error::Rustls(e) => tls_failure(&e),
        ureq::Error::Io(e) => {
            if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return tls_failure(tls);
            }
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    DavFailure::Connect("connection refused (is the server running?)".into())
                }
                std::io::ErrorKind::TimedOut => DavFailure::Timeout(e.to_string()),
                _ => DavFailure::Other(e.to_string()),
            }
        }
        ureq::Error::ConnectionFailed => DavFailure::Connect("the connection failed".into()),
        e => DavFailure::Other(e.to_string()),
    }
}

fn tls_failure(error: &rustls::Error) -> DavFailure {
    match error {
        rustls::Error::InvalidCertificate(why) => DavFailure::Certificate(format!("{why:?}")),
        e => DavFailure::Tls(e.to_string()),
    }
}

/// Standard base64 (for the Basic auth header).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn base64_encodes_as_the_rfc_says() {
        assert_eq!(base64(b"alice:secret"), "YWxpY2U6c2VjcmV0");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    /// A one-shot HTTP server on 127.0.0.1: answers `answer` to the first
    /// request and hands back the request's head.
    pub(crate) fn one_shot(answer: String) -> (u16, std::thread::JoinHandle<String>) {
        let (port, handle) = serve(vec![answer]);
        let head = std::thread::spawn(move || handle.join().unwrap().remove(0));
        (port, head)
    }

    /// An HTTP server on 127.0.0.1 that answers one connection per
    /// answer, in order, and hands back each request (head lowercased,
    /// then the body).
    pub(crate) fn serve(answers: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for answer in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    let line = line.to_ascii_lowercase();
                    if let Some(n) = line.strip_prefix("content-length:") {
                        length = n.trim().parse().unwrap();
                    }
                    request.push_str(&line);
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                request.push_str(&String::from_utf8_lossy(&body));
                (&stream).write_all(answer.as_bytes()).unwrap();
                requests.push(request);
            }
            requests
        });
        (port, handle)
    }

    /// A 207 answer with `body`.
    pub(crate) fn multistatus(body: &str) -> String {
        format!(
            "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// A server on 127.0.0.1 that redirects once to `path` on another
    /// (`localhost`), which answers `answer`; a client logged in as alice.
    struct Hop {
        url: Url,
        client: Client,
        first: u16,
        other: u16,
        first_head: std::thread::JoinHandle<String>,
        other_head: std::thread::JoinHandle<String>,
    }

    fn redirected(answer: &str, path: &str) -> Hop {
        let (other, other_head) = one_shot(answer.to_string());
        let (first, first_head) = one_shot(format!(
            "HTTP/1.1 301 Moved\r\nLocation: http://localhost:{other}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ));
        let url = Url::parse(&format!("http://127.0.0.1:{first}/")).unwrap();
        let client = Client::new(
            &url,
            Some("alice"),
            Some("pw"),
            None,
            Duration::from_secs(10),
        );
        Hop {
            url,
            client,
            first,
            other,
            first_head,
            other_head,
        }
    }

    #[test]
    fn credentials_never_follow_a_redirect_to_another_host() {
        let hop = redirected(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            "/elsewhere/",
        );
        let (url, first_head, other_head) = (hop.url, hop.first_head, hop.other_head);
        let reply = hop.client.send(&Request::new("GET", &url)).unwrap();
        assert_eq!((reply.status, reply.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(reply.url.path, "/elsewhere/");
        assert!(first_head.join().unwrap().contains("authorization: basic"));
        let head = other_head.join().unwrap();
        assert!(
            head.starts_with("get /elsewhere/") && !head.contains("authorization"),
            "{head}"
        );
    }

    #[test]
    fn a_password_asked_for_on_another_host_is_named_as_such_not_as_refused() {
        let hop = redirected(
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "/home/",
        );
        let (first, other) = (hop.first, hop.other);
        let (_, failure) = hop.client.send(&Request::new("GET", &hop.url)).unwrap_err();
        let text = failure.to_string();
        assert!(
            text.contains(&format!("localhost:{other} asks for a password"))
                && text.contains(&format!("only to http://127.0.0.1:{first}"))
                && !text.contains("refused the credentials"),
            "{text}"
        );
    }

    #[test]
    fn a_busy_server_is_asked_again_after_the_wait_it_names() {
        let busy = "HTTP/1.1 429 Too Many\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let done =
            "HTTP/1.1 201 Created\r\nETag: \"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        let (port, requests) = serve(vec![busy.into(), done.into()]);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/book/a.vcf")).unwrap();
        let client = Client::new(&url, None, None, None, Duration::from_secs(10));
        let mut put = Request::new("PUT", &url).header("If-None-Match", "*");
        put.body = Some(("text/vcard", b"BEGIN:VCARD".to_vec()));
        let reply = client.send(&put).unwrap();
        assert_eq!((reply.status, reply.etag.as_deref()), (201, Some("\"x\"")));
        let requests = requests.join().unwrap();
        assert!(requests[1].ends_with("BEGIN:VCARD") && requests[1].contains("if-none-match: *"));
    }

    #[test]
    fn hrefs_join_against_the_collection() {
        let base = Url::parse("https://Dav.Example.com:8443/dav/alice/book/").unwrap();
        assert_eq!(
            base.join("/dav/alice/book/x.vcf").unwrap().to_string(),
            "https://dav.example.com:8443/dav/alice/book/x.vcf"
        );
        assert_eq!(
            base.join("x.vcf").unwrap().to_string(),
            "https://dav.example.com:8443/dav/alice/book/x.vcf"
        );
        assert_eq!(base.join("http://other/y").unwrap().origin, "http://other");
        assert!(Url::parse("https://user:pw@host/").is_none());
        assert!(Url::parse("http://127.0.0.1:5232/").unwrap().is_loopback());
        assert!(!Url::parse("http://example.com/").unwrap().is_loopback());
    }
}
