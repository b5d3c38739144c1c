//! The state database: what both sides agreed on at the last sync.
//!
//! It lives beside the config file (`abgleich.toml` → `abgleich.state`), or
//! in the XDG state directory when that folder is not writable ([`path_for`]),
//! created owner-only (0600), and holds per link the two ids, each side's
//! revision at the last sync, each card's UID and the base (the values both
//! sides held);
//! tombstones (links whose one side is gone or left the scope, kept so the
//! contact is not created again until `forget`); and the journal of every
//! apply. A lock file beside it keeps a second abgleich out.

use foldhash::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde_json::Value;

use super::state_files::{
    FileError, create_private, create_state_folder, may_write, open_private_read_only,
    refuse_unless_file, still_names,
};
use crate::model::{PerSide, Side};
use crate::store::{Known, Version};

pub use super::base::{Base, BaseSource, BaseValue};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state {path} is in use by another abgleich ({holder}); wait for it to finish")]
    Locked { path: PathBuf, holder: String },
    #[error("state {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    File(#[from] FileError),
    /// A link's base, left in the state until asked, could not be read.
    #[error("state database: {0}")]
    BaseUnread(String),
    /// The state (or its folder, or its lock) cannot be written, and what
    /// was asked needs to write it.
    #[error(
        "{needed} must write the state {}, and it cannot be written (make the file and its \
         folder writable again, or move the config together with its state to a writable \
         folder)",
        path.display()
    )]
    ReadOnly {
        path: PathBuf,
        /// What needs the write: "`abgleich apply`", say.
        needed: String,
        #[source]
        why: NotWritable,
    },
}

/// Why the state cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum NotWritable {
    #[error("its folder {} is not writable", folder.display())]
    Folder {
        folder: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not writable", file.display())]
    File {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl NotWritable {
    /// The same reason once more (an `io::Error` is not `Clone`).
    fn again(&self) -> NotWritable {
        let copy = copy_io;
        match self {
            NotWritable::Folder { folder, source } => NotWritable::Folder {
                folder: folder.clone(),
                source: copy(source),
            },
            NotWritable::File { file, source } => NotWritable::File {
                file: file.clone(),
                source: copy(source),
            },
        }
    }
}

/// Whether an open failed only because the file may not be written (or
/// created): the state is then read without writing it.
fn denied(error: &FileError) -> Option<&std::io::Error> {
    match error {
        FileError::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Some(source)
        }
        _ => None,
    }
}

/// A state file as [`open_or_read`] found it.
enum Opened {
    Writable(File),
    /// It may not be written: opened to read, and why.
    ReadOnly(File, NotWritable),
    /// It does not exist, and cannot be made.
    Missing(NotWritable),
}

/// `path` opened to write (made if need be, see [`create_private`]), or,
/// when it may not be written or made, to read.
fn open_or_read(path: &Path) -> Result<Opened, FileError> {
    let error = match create_private(path) {
        Ok(file) => return Ok(Opened::Writable(file)),
        Err(e) => e,
    };
    let Some(source) = denied(&error) else {
        return Err(error);
    };
    let why = NotWritable::File {
        file: path.to_path_buf(),
        source: copy_io(source),
    };
    Ok(match open_private_read_only(path)? {
        Some(file) => Opened::ReadOnly(file, why),
        None => Opened::Missing(why),
    })
}

/// The same `io::Error` once more (it is not `Clone`).
fn copy_io(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

/// A link between a left and a right record, or a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub link_id: i64,
    pub ids: PerSide<Option<String>>,
    /// Each side's revision when both were last in agreement; `None` forces
    /// a full comparison.
    pub revs: PerSide<Option<String>>,
    pub base: Base,
    /// Each side's card UID when the link was last recorded (`None`: no UID,
    /// or not known yet): a renamed card file is found again by it.
    pub uids: PerSide<Option<String>>,
    /// The side on which the sync created the contact.
    pub created_on: Option<Side>,
    /// Why this is a tombstone (`None`: a live link).
    pub tombstone: Option<String>,
}

impl Link {
    pub fn id(&self, side: Side) -> Option<&str> {
        self.ids.get(side).as_deref()
    }
}

pub use super::state_files::path_for;

pub struct State {
    conn: Connection,
    path: PathBuf,
    _lock: File,
    /// What the state was opened for (`plan`, `apply`), for messages.
    command: String,
    /// Why the state cannot be written, when it cannot: it is then read
    /// only, and whatever would write it is refused ([`StateError::ReadOnly`]).
    read_only: Option<NotWritable>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    -- AUTOINCREMENT: a link id is never given out twice, so an old pair's
    -- drop cannot hit a new pair (undo and recovery refer to link ids).
    link_id INTEGER PRIMARY KEY AUTOINCREMENT,
    left_id TEXT,
    right_id TEXT,
    left_rev TEXT,
    right_rev TEXT,
    base TEXT NOT NULL DEFAULT '{}',
    created_on TEXT,
    tombstone TEXT,
    left_uid TEXT,
    right_uid TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS links_left ON links(left_id) WHERE left_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS links_right ON links(right_id) WHERE right_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS applies (
    apply_id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS journal (
    apply_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    side TEXT NOT NULL,
    unit TEXT NOT NULL,
    before BLOB,
    -- While the apply runs: the hash of every version its writes put in
    -- place, space-separated (recorded before each lands); once it is
    -- done: the unit's hash after the apply ('-': the unit is gone).
    after_hash TEXT,
    PRIMARY KEY (apply_id, seq)
);
-- The revision read at each remembered version token (a cache: losing it
-- costs a re-read). `revcache` held file stats before tokens were opaque.
DROP TABLE IF EXISTS revcache;
CREATE TABLE IF NOT EXISTS versions (
    side TEXT NOT NULL,
    id TEXT NOT NULL,
    token TEXT NOT NULL,
    rev TEXT NOT NULL,
    PRIMARY KEY (side, id)
);
CREATE TABLE IF NOT EXISTS link_undo (
    apply_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    link_id INTEGER NOT NULL,
    old TEXT,
    PRIMARY KEY (apply_id, seq)
);
";

/// One unit the journal saved before an apply wrote it.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub seq: i64,
    /// `None`: the row names no side (a damaged journal).
    pub side: Option<Side>,
    pub unit: String,
    pub before: Option<Vec<u8>>,
    pub after_hash: Option<String>,
}

/// A past apply.
#[derive(Debug, Clone)]
pub struct ApplyRow {
    pub apply_id: i64,
    pub started: String,
    pub finished: Option<String>,
    pub status: ApplyStatus,
    pub summary: String,
    /// What came of it, one line a fact ("36 written, 0 failed, …", then
    /// each failure and warning); `None` for an apply that did not finish
    /// or that an earlier version made.
    pub outcome: Option<String>,
}

/// Where an apply stands; the `applies` table stores [`ApplyStatus::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyStatus {
    /// Journaled and writing; found so by a later run, it is rolled back.
    Running,
    /// Written and its links recorded: what `undo` reverts.
    Done,
    /// `undo` is putting it back; found so by a later run, that is finished.
    Undoing,
    Undone,
    /// Found `Running` after a crash and put back.
    RolledBack,
}

impl ApplyStatus {
    /// The text in the state database (and in `status`): it must never
    /// change, or existing state files no longer read.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyStatus::Running => "running",
            ApplyStatus::Done => "done",
            ApplyStatus::Undoing => "undoing",
            ApplyStatus::Undone => "undone",
            ApplyStatus::RolledBack => "rolled back",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown apply status {0:?} in the state database")]
pub struct UnknownApplyStatus(pub String);

impl std::str::FromStr for ApplyStatus {
    type Err = UnknownApplyStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            ApplyStatus::Running,
            ApplyStatus::Done,
            ApplyStatus::Undoing,
            ApplyStatus::Undone,
            ApplyStatus::RolledBack,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| UnknownApplyStatus(text.to_string()))
    }
}

impl std::fmt::Display for ApplyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ToSql for ApplyStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ApplyStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn link_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    link_from_row_with(row, |_| Ok(Base::from_json(row.get_ref(5)?.as_str()?)))
}

/// A link from its row, its base made by `base` from the link id.
fn link_from_row_with(
    row: &rusqlite::Row<'_>,
    base: impl FnOnce(i64) -> rusqlite::Result<Base>,
) -> rusqlite::Result<Link> {
    let side = |s: Option<String>| s.as_deref().and_then(Side::parse);
    let link_id = row.get(0)?;
    Ok(Link {
        link_id,
        ids: PerSide::new(row.get(1)?, row.get(2)?),
        revs: PerSide::new(row.get(3)?, row.get(4)?),
        base: base(link_id)?,
        created_on: side(row.get(6)?),
        tombstone: row.get(7)?,
        uids: PerSide::new(row.get(8)?, row.get(9)?),
    })
}

/// Whether the links table has the card UID columns (the state's newest
/// change of its tables).
fn has_uid_columns(conn: &Connection) -> Result<bool, StateError> {
    Ok(conn
        .prepare("SELECT 1 FROM pragma_table_info('links') WHERE name = 'left_uid'")?
        .exists([])?)
}

/// A state made before links remembered card UIDs gets the two columns.
fn add_uid_columns(conn: &Connection) -> Result<(), StateError> {
    if !has_uid_columns(conn)? {
        conn.execute_batch(
            "ALTER TABLE links ADD COLUMN left_uid TEXT; ALTER TABLE links ADD COLUMN right_uid TEXT;",
        )?;
    }
    Ok(())
}

/// How long a held lock is waited for before another abgleich is named as
/// its holder.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Take the lock, waiting a moment while it is held. A lock is tied to the
/// open file, and a child process forked by this process (a test harness
/// running the binary, a password command) holds a copy of every open file
/// until it starts its program: a lock this process just let go can look
/// held for that long.
fn take_lock(lock: &File) -> Result<(), std::fs::TryLockError> {
    let since = std::time::Instant::now();
    loop {
        match lock.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if since.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// The `file:` URI that opens `path` for reading only (SQLite's URI
/// syntax: every byte but plain ASCII letters, digits and `/._-~` is
/// escaped as `%HH`).
fn read_only_uri(path: &Path, immutable: bool) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut uri = String::from("file:");
    if bytes.first() != Some(&b'/') {
        // A relative path stays relative (no authority part).
        uri.push_str("./");
    }
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro");
    if immutable {
        uri.push_str("&immutable=1");
    }
    uri
}

/// Remember (side, id, token, rev), in place: a replace would move the row
/// to the table's end and touch three pages of the file for one version.
const PUT_VERSION: &str = "INSERT INTO versions (side, id, token, rev) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT(side, id) DO UPDATE SET token = excluded.token, rev = excluded.rev";

const LINK_COLUMNS: &str = "link_id, left_id, right_id, left_rev, right_rev, base, created_on, tombstone, left_uid, right_uid";

impl State {
    /// Open (or create) the state at `path` and take its lock; `command`
    /// says who holds it, for the message a second abgleich shows.
    ///
    /// A state that exists but cannot be written (the file, its lock or its
    /// folder made read-only) is opened for reading: a `plan` or `status`
    /// still works, and whatever would write it is refused by name
    /// ([`StateError::ReadOnly`]), before any store is written.
    pub fn open(path: &Path, command: &str) -> Result<State, StateError> {
        create_state_folder(path)?;
        let needed = format!("`abgleich {command}`");
        let refuse = |needed: String, why: NotWritable| StateError::ReadOnly {
            path: path.to_path_buf(),
            needed,
            why,
        };
        let folder = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // SQLite creates its `-wal`, `-shm` and `-journal` files beside the
        // state: without a writable folder it can only read.
        let mut read_only = may_write(folder).err().map(|source| NotWritable::Folder {
            folder: folder.to_path_buf(),
            source,
        });
        let lock_path = path.with_extension("state.lock");
        let (mut lock, lock_writable) = match open_or_read(&lock_path)? {
            Opened::Writable(lock) => (lock, true),
            // A lock is taken on a file opened for reading as well; only
            // the holder's text is not written.
            Opened::ReadOnly(lock, _) => (lock, false),
            // No lock to take, and none can be made.
            Opened::Missing(why) => return Err(refuse(needed, read_only.unwrap_or(why))),
        };
        match take_lock(&lock) {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                return Err(StateError::Locked {
                    path: path.to_path_buf(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StateError::Io {
                    path: lock_path,
                    source: e,
                });
            }
        }
        if lock_writable {
            // The lock file is abgleich's own (checked on the open file):
            // its text, who holds it, is all that is written to it.
            let _ = lock.set_len(0);
            let _ = lock.rewind();
            let _ = write!(
                lock,
                "pid {}, `abgleich {command}`, since {}",
                std::process::id(),
                now()
            );
        }
        let held = match open_or_read(path)? {
            Opened::Writable(file) => file,
            Opened::ReadOnly(file, why) => {
                read_only.get_or_insert(why);
                file
            }
            Opened::Missing(why) => return Err(refuse(needed, read_only.unwrap_or(why))),
        };
        // SQLite's own files beside it: it opens them with O_NOFOLLOW, but
        // says only "unable to open"; name the link instead.
        let mut wal_exists = false;
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_os_string();
            name.push(suffix);
            let name = PathBuf::from(name);
            refuse_unless_file(&name)?;
            if suffix == "-wal" {
                wal_exists = std::fs::symlink_metadata(&name).is_ok();
            }
        }
        let conn = match &read_only {
            // NOFOLLOW: SQLite would otherwise resolve a link in the path.
            None => Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
            )?,
            Some(_) => {
                // Read as an unchanging file ("immutable"): the lock held
                // keeps every other abgleich out. Else SQLite makes the
                // shared memory file a WAL database is read with (it cannot
                // without a writable folder), and leaves it and an empty
                // WAL behind as read-only as the state, which a later run
                // could not write. Only a WAL left beside it, with changes
                // still to be read, is read through.
                let immutable = !wal_exists;
                Connection::open_with_flags(
                    read_only_uri(path, immutable),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_URI
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
                )?
            }
        };
        // The file SQLite opened by name is the one checked above.
        if !still_names(path, &held)? {
            return Err(FileError::NotAFile {
                path: path.to_path_buf(),
                what: "a file that was swapped while it was opened",
            }
            .into());
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement of an apply stays prepared (see StateTx::exec).
        conn.set_prepared_statement_cache_capacity(64);
        // Keep each statement's plan: the bundled SQLite (STAT4) would
        // otherwise prepare it again for every new value bound to it.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        match read_only {
            None => {
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )?;
                conn.execute_batch(SCHEMA)?;
                add_uid_columns(&conn)?;
            }
            Some(why) => {
                // Read as it is: a state that needs its tables made or
                // brought up to date, or an apply put back, needs a write.
                if !has_uid_columns(&conn)? {
                    return Err(refuse(format!("{needed} (bringing it up to date)"), why));
                }
                let unfinished: Option<i64> = conn
                    .query_row(
                        "SELECT apply_id FROM applies WHERE status IN (?1, ?2) ORDER BY apply_id",
                        params![ApplyStatus::Running, ApplyStatus::Undoing],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(apply_id) = unfinished {
                    return Err(refuse(
                        format!("putting back apply #{apply_id}, which did not finish,"),
                        why,
                    ));
                }
                return Ok(State {
                    conn,
                    path: path.to_path_buf(),
                    _lock: lock,
                    command: command.to_string(),
                    read_only: Some(why),
                });
            }
        }
        Ok(State {
            conn,
            path: path.to_path_buf(),
            _lock: lock,
            command: command.to_string(),
            read_only: None,
        })
    }

    /// Why the state cannot be written, when it cannot (it is read only).
    pub fn read_only(&self) -> Option<&NotWritable> {
        self.read_only.as_ref()
    }

    /// Refused, naming the state and why, when the state cannot be written:
    /// a command that writes it asks first, before it reads the stores.
    pub fn ensure_writable(&self) -> Result<(), StateError> {
        match &self.read_only {
            None => Ok(()),
            Some(why) => Err(StateError::ReadOnly {
                path: self.path.clone(),
                needed: format!("`abgleich {}`", self.command),
                why: why.again(),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The links with their bases left in the state, each read when first
    /// asked (by a connection of its own, opened then): a plan compares
    /// only the pairs that changed. A read-only state's bases are read with
    /// the links. Before anything is written from a plan on them,
    /// [`Base::unread`] is asked.
    pub fn links_leaving_bases(&self) -> Result<Vec<Link>, StateError> {
        if self.read_only.is_some() {
            return self.links();
        }
        let path = self.path.clone();
        let source = BaseSource::new(move || {
            let conn = Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(conn)
        });
        self.links_as(&LINK_COLUMNS.replace("base", "NULL"), |row| {
            link_from_row_with(row, |id| Ok(Base::in_state(&source, id)))
        })
    }

    pub fn links(&self) -> Result<Vec<Link>, StateError> {
        self.links_as(LINK_COLUMNS, link_from_row)
    }

    /// Every link, in id order, its `columns` made into a link by `link`.
    fn links_as(
        &self,
        columns: &str,
        link: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<Link>,
    ) -> Result<Vec<Link>, StateError> {
        let count: i64 = (self.conn).query_row("SELECT count(*) FROM links", [], |r| r.get(0))?;
        let mut links = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {columns} FROM links ORDER BY link_id"))?;
        for link in stmt.query_map([], link)? {
            links.push(link?);
        }
        Ok(links)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// The link or tombstone that holds `id` on `side`.
    pub fn link_by_id(&self, side: Side, id: &str) -> Result<Option<Link>, StateError> {
        let column = match side {
            Side::Left => "left_id",
            Side::Right => "right_id",
        };
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {LINK_COLUMNS} FROM links WHERE {column} = ?1"),
                [id],
                link_from_row,
            )
            .optional()?)
    }

    // ---- remembered versions ---------------------------------------------

    /// The revision remembered for each record of `side` with the version
    /// token it was read at.
    pub fn versions(&self, side: Side) -> Result<HashMap<String, Known>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, token, rev FROM versions NOT INDEXED WHERE side = ?1")?;
        let rows = stmt
            .query_map([side.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Known {
                        version: Version::new(r.get::<_, String>(1)?),
                        revision: r.get(2)?,
                    },
                ))
            })?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    /// Remember records' versions and revisions, and what the store keeps
    /// for its next listing (`listing`: meta key and value; a sync token),
    /// in one transaction.
    /// A state that cannot be written remembers nothing new (it is a cache:
    /// the next plan reads those records again).
    pub fn put_versions(
        &self,
        side: Side,
        entries: &[(String, Known)],
        listing: Option<(&str, &str)>,
    ) -> Result<(), StateError> {
        if (entries.is_empty() && listing.is_none()) || self.read_only.is_some() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction()?;
        if let Some((key, value)) = listing {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        {
            let mut stmt = tx.prepare(PUT_VERSION)?;
            for (id, k) in entries {
                stmt.execute(params![side.as_str(), id, k.version.as_str(), k.revision])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    // ---- applies, journal and link changes ---------------------------------

    pub fn transaction(&mut self) -> Result<StateTx<'_>, StateError> {
        self.ensure_writable()?;
        Ok(StateTx {
            tx: self.conn.transaction()?,
        })
    }

    pub fn applies(&self) -> Result<Vec<ApplyRow>, StateError> {
        let mut stmt = self.conn.prepare(
            "SELECT a.apply_id, a.started, a.finished, a.status, a.summary, m.value
             FROM applies a LEFT JOIN meta m ON m.key = 'outcome:' || a.apply_id
             ORDER BY a.apply_id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ApplyRow {
                    apply_id: r.get(0)?,
                    started: r.get(1)?,
                    finished: r.get(2)?,
                    status: r.get(3)?,
                    summary: r.get(4)?,
                    outcome: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Record what came of apply `apply_id` (see [`ApplyRow::outcome`]).
    pub fn set_apply_outcome(&mut self, apply_id: i64, text: &str) -> Result<(), StateError> {
        let tx = self.transaction()?;
        tx.set_meta(&format!("outcome:{apply_id}"), text)?;
        tx.commit()
    }

    pub fn journal(&self, apply_id: i64) -> Result<Vec<JournalEntry>, StateError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, side, unit, before, after_hash FROM journal WHERE apply_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([apply_id], |r| {
                let side: Option<String> = r.get(1)?;
                Ok(JournalEntry {
                    seq: r.get(0)?,
                    side: side.as_deref().and_then(Side::parse),
                    unit: r.get(2)?,
                    before: r.get(3)?,
                    after_hash: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The link rows an apply replaced, in the order they were replaced.
    pub fn link_undo(&self, apply_id: i64) -> Result<Vec<LinkChange>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, link_id, old FROM link_undo WHERE apply_id = ?1 ORDER BY seq")?;
        let rows = stmt
            .query_map([apply_id], |r| {
                let old: Option<String> = r.get(2)?;
                Ok(LinkChange {
                    seq: r.get(0)?,
                    link_id: r.get(1)?,
                    old: old.map(|text| link_from_json(&text).ok_or(text)),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A second connection to the state, for the journal's records made
    /// while a write is under way (see [`JournalWriter`]).
    pub fn journal_writer(&self) -> Result<JournalWriter, StateError> {
        self.ensure_writable()?;
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        Ok(JournalWriter { conn })
    }
}

/// Records, each durable on its own, of what a card store's write is about
/// to put in place: made from inside the write, when the state's own
/// connection is not at hand.
pub struct JournalWriter {
    conn: Connection,
}

impl JournalWriter {
    /// Add `hash` to the versions journal entry `seq` may hold after the
    /// apply's writes.
    pub fn add_after_hash(&self, apply_id: i64, seq: i64, hash: &str) -> Result<(), StateError> {
        add_after_hash(&self.conn, apply_id, seq, hash)
    }

    /// [`JournalWriter::add_after_hash`] for a batch of (entry, hash), in
    /// one transaction: one flush of the state for the whole batch; with
    /// each entry whose unit held other bytes than saved right before the
    /// batch (`befores`: entry, bytes), those as the entry's before-image.
    pub fn add_after_hashes(
        &self,
        apply_id: i64,
        batch: &[(i64, &str)],
        befores: &[(i64, &[u8])],
    ) -> Result<(), StateError> {
        let tx = self.conn.unchecked_transaction()?;
        for (seq, hash) in batch {
            add_after_hash(&tx, apply_id, *seq, hash)?;
        }
        for (seq, before) in befores {
            tx.execute(
                "UPDATE journal SET before = ?3 WHERE apply_id = ?1 AND seq = ?2",
                params![apply_id, seq, before],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn add_after_hash(
    conn: &Connection,
    apply_id: i64,
    seq: i64,
    hash: &str,
) -> Result<(), StateError> {
    conn.prepare_cached(
        "UPDATE journal SET after_hash = CASE WHEN after_hash IS NULL THEN ?3
             ELSE after_hash || ' ' || ?3 END
         WHERE apply_id = ?1 AND seq = ?2",
    )?
    .execute(params![apply_id, seq, hash])?;
    Ok(())
}

/// One link row an apply replaced.
#[derive(Debug, Clone)]
pub struct LinkChange {
    pub seq: i64,
    pub link_id: i64,
    /// The row before (`None`: the apply created it); `Err` holds a saved
    /// row that cannot be read back (a damaged journal).
    pub old: Option<Result<Link, String>>,
}

fn link_to_json(link: &Link) -> String {
    serde_json::json!({
        "link_id": link.link_id,
        "left_id": link.ids.left,
        "right_id": link.ids.right,
        "left_rev": link.revs.left,
        "right_rev": link.revs.right,
        "base": link.base.to_json(),
        "created_on": link.created_on.map(Side::as_str),
        "tombstone": link.tombstone,
        "left_uid": link.uids.left,
        "right_uid": link.uids.right,
    })
    .to_string()
}

fn link_from_json(text: &str) -> Option<Link> {
    let v: Value = serde_json::from_str(text).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Link {
        link_id: v.get("link_id")?.as_i64()?,
        ids: PerSide::new(s("left_id"), s("right_id")),
        revs: PerSide::new(s("left_rev"), s("right_rev")),
        base: Base::from_json(&s("base").unwrap_or_default()),
        created_on: s("created_on").as_deref().and_then(Side::parse),
        tombstone: s("tombstone"),
        uids: PerSide::new(s("left_uid"), s("right_uid")),
    })
}

/// One state transaction: everything in it lands together or not at all.
pub struct StateTx<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl StateTx<'_> {
    /// `execute` through the connection's statement cache: an apply of
    /// 100,000 records runs the same few statements over and over, and
    /// preparing each anew cost a fifth of the time.
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }

    /// `query_row` through the statement cache (see [`StateTx::exec`]).
    fn row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.tx.prepare_cached(sql)?.query_row(params, f)
    }
    pub fn commit(self) -> Result<(), StateError> {
        self.tx.commit()?;
        Ok(())
    }

    pub fn begin_apply(&self, summary: &str) -> Result<i64, StateError> {
        self.exec(
            "INSERT INTO applies (started, status, summary) VALUES (?1, ?2, ?3)",
            params![now(), ApplyStatus::Running, summary],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn finish_apply(&self, apply_id: i64, status: ApplyStatus) -> Result<(), StateError> {
        self.exec(
            "UPDATE applies SET finished = ?1, status = ?2 WHERE apply_id = ?3",
            params![now(), status, apply_id],
        )?;
        Ok(())
    }

    /// Journal a unit as it is before the apply writes it; returns its
    /// entry's number.
    pub fn journal_unit(
        &self,
        apply_id: i64,
        side: Side,
        unit: &str,
        before: Option<&[u8]>,
    ) -> Result<i64, StateError> {
        Ok(self.row(
            "INSERT INTO journal (apply_id, seq, side, unit, before)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE apply_id = ?1), ?2, ?3, ?4)
             RETURNING seq",
            params![apply_id, side.as_str(), unit, before],
            |r| r.get(0),
        )?)
    }

    pub fn set_after_hash(
        &self,
        apply_id: i64,
        seq: i64,
        hash: Option<&str>,
    ) -> Result<(), StateError> {
        self.exec(
            "UPDATE journal SET after_hash = ?1 WHERE apply_id = ?2 AND seq = ?3",
            params![hash, apply_id, seq],
        )?;
        Ok(())
    }

    /// Add `hash` to the versions journal entry `seq` may hold after the
    /// apply's writes (see [`JournalWriter::add_after_hash`]).
    pub fn add_after_hash(&self, apply_id: i64, seq: i64, hash: &str) -> Result<(), StateError> {
        add_after_hash(&self.tx, apply_id, seq, hash)
    }

    /// The link or tombstone that holds `id` on `side`, as this transaction
    /// sees it.
    pub fn link_by_id(&self, side: Side, id: &str) -> Result<Option<Link>, StateError> {
        let column = match side {
            Side::Left => "left_id",
            Side::Right => "right_id",
        };
        Ok(self
            .row(
                &format!("SELECT {LINK_COLUMNS} FROM links WHERE {column} = ?1"),
                [id],
                link_from_row,
            )
            .optional()?)
    }

    fn old_row(&self, link_id: i64) -> Result<Option<Link>, StateError> {
        Ok(self
            .row(
                &format!("SELECT {LINK_COLUMNS} FROM links WHERE link_id = ?1"),
                [link_id],
                link_from_row,
            )
            .optional()?)
    }

    fn remember(&self, apply_id: Option<i64>, link_id: i64) -> Result<(), StateError> {
        if apply_id.is_none() {
            return Ok(());
        }
        let old = self.old_row(link_id)?.map(|l| link_to_json(&l));
        self.remember_as(apply_id, link_id, old)
    }

    /// Keep for `undo` that link `link_id` was `old` (`None`: no row).
    fn remember_as(
        &self,
        apply_id: Option<i64>,
        link_id: i64,
        old: Option<String>,
    ) -> Result<(), StateError> {
        let Some(apply_id) = apply_id else {
            return Ok(());
        };
        self.exec(
            "INSERT INTO link_undo (apply_id, seq, link_id, old)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM link_undo WHERE apply_id = ?1), ?2, ?3)",
            params![apply_id, link_id, old],
        )?;
        Ok(())
    }

    /// Insert or replace a link (a new one when `link.link_id` is 0); the
    /// row it replaces is kept for `undo` when `apply_id` is given.
    pub fn put_link(&self, apply_id: Option<i64>, link: &Link) -> Result<i64, StateError> {
        // Ids move between links (a relink, a store that gave a deleted
        // record's id to a new one): the other link loses only that id and
        // keeps its other side, so what is still to do there (a delete that
        // failed) is not forgotten.
        for side in Side::BOTH {
            if let Some(id) = link.id(side) {
                let (column, rev, uid) = match side {
                    Side::Left => ("left_id", "left_rev", "left_uid"),
                    Side::Right => ("right_id", "right_rev", "right_uid"),
                };
                let holder: Option<i64> = self
                    .row(
                        &format!("SELECT link_id FROM links WHERE {column} = ?1"),
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(holder) = holder.filter(|h| *h != link.link_id) {
                    self.remember(apply_id, holder)?;
                    self.exec(
                        &format!(
                            "UPDATE links SET {column} = NULL, {rev} = NULL, {uid} = NULL WHERE link_id = ?1"
                        ),
                        [holder],
                    )?;
                    self.exec(
                        "DELETE FROM links WHERE link_id = ?1 AND left_id IS NULL AND right_id IS NULL",
                        [holder],
                    )?;
                }
            }
        }
        // A new link goes in with NULL for its id: the table's sequence
        // gives a fresh one (never reused), and undo learns there was no
        // row; a known one is remembered as it was, then replaced.
        let new = link.link_id == 0;
        if !new {
            self.remember(apply_id, link.link_id)?;
        }
        // A base still in the state (a link whose pair nothing compared)
        // stays as the row holds it.
        let base = link.base.to_store().map_err(StateError::BaseUnread)?;
        self.exec(
            &format!(
                "INSERT OR REPLACE INTO links ({LINK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, \
                 COALESCE(?6, (SELECT base FROM links WHERE link_id = ?1)), ?7, ?8, ?9, ?10)"
            ),
            params![
                (!new).then_some(link.link_id),
                link.ids.left,
                link.ids.right,
                link.revs.left,
                link.revs.right,
                base,
                link.created_on.map(Side::as_str),
                link.tombstone,
                link.uids.left,
                link.uids.right,
            ],
        )?;
        let link_id = if new {
            let id = self.tx.last_insert_rowid();
            self.remember_as(apply_id, id, None)?;
            id
        } else {
            link.link_id
        };
        Ok(link_id)
    }

    pub fn drop_link(&self, apply_id: Option<i64>, link_id: i64) -> Result<(), StateError> {
        self.remember(apply_id, link_id)?;
        self.exec("DELETE FROM links WHERE link_id = ?1", [link_id])?;
        Ok(())
    }

    /// Put a link row back as it was (undo).
    pub fn restore_link(&self, link_id: i64, old: Option<&Link>) -> Result<(), StateError> {
        self.exec("DELETE FROM links WHERE link_id = ?1", [link_id])?;
        if let Some(old) = old {
            for side in Side::BOTH {
                if let Some(id) = old.id(side) {
                    let column = match side {
                        Side::Left => "left_id",
                        Side::Right => "right_id",
                    };
                    self.exec(&format!("DELETE FROM links WHERE {column} = ?1"), [id])?;
                }
            }
            self.put_link(None, old)?;
        }
        Ok(())
    }

    /// Remember a record's version token and revision (see
    /// [`State::put_versions`]).
    pub fn put_version(
        &self,
        side: Side,
        id: &str,
        version: &Version,
        revision: &str,
    ) -> Result<(), StateError> {
        self.exec(
            PUT_VERSION,
            params![side.as_str(), id, version.as_str(), revision],
        )?;
        Ok(())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::contact::FieldPath;

    #[test]
    fn state_is_private_and_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abgleich.state");
        let state = State::open(&path, "plan").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "state readable by others: {mode:o}");
        }
        match State::open(&path, "apply") {
            Err(StateError::Locked { holder, .. }) => {
                assert!(holder.contains("abgleich plan"), "{holder}")
            }
            other => panic!("second open was not refused: {:?}", other.err()),
        }
        drop(state);
        State::open(&path, "apply").unwrap();
    }

    #[test]
    fn a_base_left_in_the_state_is_read_when_asked_and_kept_when_the_link_is_put_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("abgleich.state"), "apply").unwrap();
        let given: FieldPath = "name.given".parse().unwrap();
        let mut base = Base::default();
        let anna = PerSide::new(Some("Anna".to_string()), Some("Anna".to_string()));
        base.set(given, BaseValue::Known(anna.clone()));
        let link = |id: &str, base: Base| Link {
            link_id: 0,
            ids: PerSide::new(Some(format!("l{id}")), Some(format!("r{id}"))),
            revs: PerSide::new(Some("1".into()), Some("1".into())),
            base,
            uids: PerSide::default(),
            created_on: None,
            tombstone: None,
        };
        let tx = state.transaction().unwrap();
        tx.put_link(None, &link("1", base.clone())).unwrap();
        tx.put_link(None, &link("2", base)).unwrap();
        tx.commit().unwrap();
        let links = state.links_leaving_bases().unwrap();
        assert_eq!(
            links[0].base.to_store(),
            Ok(None),
            "the base was read with the link"
        );
        // The first link learns a UID only (its base never asked): the row
        // keeps its base. The second one's base is read when asked.
        let mut first = links[0].clone();
        first.uids.left = Some("uid-1".into());
        let tx = state.transaction().unwrap();
        tx.put_link(None, &first).unwrap();
        tx.commit().unwrap();
        assert_eq!(links[1].base.get(&given), BaseValue::Known(anna.clone()));
        assert_eq!(links[1].base.unread(), None);
        let again = state.links().unwrap();
        assert_eq!(again[0].uids.left.as_deref(), Some("uid-1"));
        assert_eq!(again[0].base.get(&given), BaseValue::Known(anna));
    }

    #[test]
    fn a_base_that_cannot_be_read_is_an_error_not_an_empty_base_written_back() {
        let source = BaseSource::new(|| {
            Err(rusqlite::Error::InvalidPath(PathBuf::from(
                "/gone/abgleich.state",
            )))
        });
        let base = Base::in_state(&source, 7);
        // Taken as empty, and said so: the plan on it is refused, and it
        // is never stored.
        assert!(base.is_empty());
        let why = base.unread().expect("the failed read is kept");
        assert!(
            why.contains("link 7") && why.contains("/gone/abgleich.state"),
            "{why}"
        );
        assert!(base.to_store().is_err());
    }

    #[test]
    fn apply_statuses_read_and_write_the_text_state_files_hold() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::open(&dir.path().join("abgleich.state"), "apply").unwrap();
        // As earlier versions wrote them.
        let stored = ["running", "done", "undoing", "undone", "rolled back"];
        for text in stored {
            state
                .conn
                .execute(
                    "INSERT INTO applies (started, status) VALUES ('then', ?1)",
                    [text],
                )
                .unwrap();
        }
        let read: Vec<ApplyStatus> = state.applies().unwrap().iter().map(|a| a.status).collect();
        use ApplyStatus::*;
        assert_eq!(read, [Running, Done, Undoing, Undone, RolledBack]);
        let tx = state.transaction().unwrap();
        let id = tx.begin_apply("").unwrap();
        tx.commit().unwrap();
        let text = |state: &State| -> String {
            state
                .conn
                .query_row(
                    "SELECT status FROM applies WHERE apply_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(text(&state), "running");
        for status in read {
            let tx = state.transaction().unwrap();
            tx.finish_apply(id, status).unwrap();
            tx.commit().unwrap();
            assert_eq!(text(&state), status.as_str());
            assert_eq!(status.as_str().parse::<ApplyStatus>().unwrap(), status);
            assert_eq!(status.to_string(), status.as_str());
        }
        assert!("finished".parse::<ApplyStatus>().is_err());
    }
}
