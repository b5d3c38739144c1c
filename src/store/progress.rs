//! How far a long read inside a store has come (a server's cards, fetched
//! in batches), for the front end that shows it: the command line on
//! stderr, the screen in its progress line. A hook per thread, set around a
//! read by whoever wants to hear, like the journal's write-ahead hook.

use std::cell::RefCell;

type Hook = Box<dyn FnMut(usize, usize)>;

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Hear `(records read, records to read)` from the stores read on this
/// thread; `None` stops it.
pub fn set_read_progress(hook: Option<Hook>) {
    HOOK.with(|h| *h.borrow_mut() = hook);
}

/// A store's report of its read.
pub(crate) fn tell_read(done: usize, total: usize) {
    HOOK.with(|h| {
        if let Some(hook) = h.borrow_mut().as_mut() {
            hook(done, total);
        }
    });
}
