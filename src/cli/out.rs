//! What the commands print. The terminal is an untrusted sink: every line
//! is neutralised on its way out (contact text, file names, values quoted
//! from a config or a store), so no command can be made to move, retitle or
//! spoof the operator's terminal. A closed pipe (`abgleich check | head -1`)
//! stops the printing, never the command: an apply under way finishes and
//! the exit code stays the command's own.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use abgleich::model::sanitize::{for_json, for_terminal};

/// Print a line to stdout, neutralised.
macro_rules! say {
    () => {
        $crate::cli::out::line($crate::cli::out::Stream::Out, "")
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line($crate::cli::out::Stream::Out, &format!($($arg)*))
    };
}

/// Print a line to stderr, neutralised.
macro_rules! tell {
    () => {
        $crate::cli::out::line($crate::cli::out::Stream::Err, "")
    };
    ($($arg:tt)*) => {
        $crate::cli::out::line($crate::cli::out::Stream::Err, &format!($($arg)*))
    };
}

#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Out,
    Err,
}

/// Set once a stream's reader has gone; later lines are dropped.
static GONE: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// The first failure to print that was not a closed pipe (a full disk
/// under `plan > file`): the command must not end as if all was said.
static TROUBLE: Mutex<Option<String>> = Mutex::new(None);

/// Why printing failed, other than a reader that went away.
pub fn trouble() -> Option<String> {
    TROUBLE.lock().ok().and_then(|t| t.clone())
}

/// Write `text` (one or more lines) to `stream`, each line neutralised.
pub fn line(stream: Stream, text: &str) {
    let mut shown = String::with_capacity(text.len() + 1);
    for (i, part) in text.split('\n').enumerate() {
        if i > 0 {
            shown.push('\n');
        }
        shown.push_str(&for_terminal(part));
    }
    shown.push('\n');
    write(stream, shown.as_bytes());
}

/// Print JSON to stdout: characters that could spoof the terminal inside
/// its strings are written as `\uXXXX` escapes, so the JSON means the same.
pub fn json(text: &str) {
    // Not copied where nothing needs neutralising (a large plan).
    write(Stream::Out, for_json(text).as_bytes());
    write(Stream::Out, b"\n");
}

/// Write the program's own text as it is, without a line break: a prompt,
/// or a progress line that `\r` redraws. Never contact text.
pub fn own(stream: Stream, text: &str) {
    write(stream, text.as_bytes());
    if let Stream::Out = stream {
        let _ = std::io::stdout().flush();
    }
}

fn write(stream: Stream, bytes: &[u8]) {
    let gone = &GONE[stream as usize];
    if gone.load(Ordering::Relaxed) {
        return;
    }
    let result = match stream {
        Stream::Out => std::io::stdout().lock().write_all(bytes),
        Stream::Err => std::io::stderr().lock().write_all(bytes),
    };
    // A reader that went away: stop printing to that stream, quietly; the
    // work goes on and its exit code tells. Any other failure is kept for
    // the end of the command, which then fails.
    if let Err(e) = result {
        gone.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe
            && let Ok(mut trouble) = TROUBLE.lock()
        {
            let which = match stream {
                Stream::Out => "stdout",
                Stream::Err => "stderr",
            };
            trouble.get_or_insert_with(|| format!("cannot write to {which}: {e}"));
        }
    }
}
