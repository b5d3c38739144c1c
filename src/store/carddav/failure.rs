//! Why a request to a CardDAV server failed, as the operator reads it
//! (a leaf: the store's error type holds it).

/// Why a request to the server failed: what the operator is told, with the
/// URL it went to (never credentials).
#[derive(Debug, thiserror::Error)]
pub enum DavFailure {
    #[error(
        "the server refused the credentials (HTTP {0}); check username and the password source"
    )]
    Auth(u16),
    /// A server on another host than `url`'s asks for the password, which
    /// is sent only to that host.
    #[error(
        "{there} asks for a password, and abgleich sends it only to {here} (the host of `url`): put the address book's own URL on {there} into `url`"
    )]
    OtherHost { there: String, here: String },
    #[error("the server refuses access (HTTP 403)")]
    Forbidden,
    #[error("the address book is read-only for this user (the server grants no write privilege)")]
    ReadOnly,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the server's name cannot be resolved (DNS)")]
    Dns,
    #[error("no answer in time ({0})")]
    Timeout(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error(
        "TLS failed: the server's certificate is not trusted ({0}); a private CA goes into `ca_file`"
    )]
    Certificate(String),
    #[error("HTTP {status}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Status { status: u16, detail: String },
    #[error("too many redirects (more than 5)")]
    Redirects,
    #[error("the answer cannot be read: {0}")]
    BadReply(String),
    #[error("{0}")]
    Other(String),
}
