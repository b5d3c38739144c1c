//! The one list of everything the operator can ask for. Keys map to these
//! (see `keymap.rs`); views turn them into state changes.

use crate::model::{PerSide, Side};

/// A view of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    Contacts,
    Mapping,
    Queue,
}

impl View {
    /// The view's name in messages.
    pub fn label(self) -> &'static str {
        match self {
            View::Contacts => "contacts",
            View::Mapping => "mapping editor",
            View::Queue => "queue",
        }
    }
}

/// Everything a key can do. Actions that write are confirmed in two steps
/// (`Execute` opens the question, `Confirmed` runs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Show(View),
    Help,
    NextPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Search,
    Filter,
    /// Queue: accept ⇄ skip the selected operation.
    Toggle,
    AcceptAll,
    /// Queue: accept every review item shown (asks first, with counts).
    AcceptReview,
    /// Confirmed: accept them.
    AcceptReviewNow,
    SkipAll,
    /// Queue: jump to the next / previous operation not accepted.
    NextUndecided,
    PrevUndecided,
    /// A conflict: take this side (the whole contact, or the selected field
    /// in the detail pane).
    Take(Side),
    /// Queue: take this side for every conflict shown (asks first).
    TakeAll(Side),
    /// Confirmed: take it.
    TakeAllNow(Side),
    Execute,
    /// Contacts: mark the selected one-sided contact for linking / link it
    /// with the marked one.
    Link,
    Unlink,
    Forget,
    /// Contacts: list every record that could not be read.
    Unreadable,
    /// Mapping editor.
    Add,
    Remove,
    Edit,
    Save,
    Reload,
    /// Undo the last apply (asks first, naming it).
    Undo,
    /// Confirmed: undo the apply with this id (if it is still the last).
    UndoApply(i64),
    /// Show the log of past applies.
    Log,
    /// Queue: show what the selected operation writes (each record as it
    /// is and as it will be written).
    Preview,
    Quit,
    /// Close a dialog or leave an input.
    Back,
    /// The operator answered `y` to a question.
    Confirmed(Box<Action>),
    /// Quit even though decisions would be lost.
    QuitNow,
    /// The mapping editor wants this config text saved.
    SaveConfig(String),
    /// Confirmed by hand: link these two records (left id, right id).
    LinkPair(PerSide<String>),
    /// Confirmed by hand: unlink / forget the link with this id.
    UnlinkLink(i64),
    ForgetLink(i64),
    /// Close an information dialog; nothing else.
    Dismiss,
}

impl Action {
    /// A key that moves within a list or scrolls a pane: up, down, a page,
    /// top, bottom ([`super::views::scrolled`] takes these).
    pub fn scrolls(&self) -> bool {
        matches!(
            self,
            Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom
        )
    }

    /// A queue key that decides on operations or acts on the decisions
    /// (it does nothing over the results of an execute).
    pub fn decides(&self) -> bool {
        matches!(
            self,
            Action::Toggle
                | Action::AcceptAll
                | Action::AcceptReview
                | Action::SkipAll
                | Action::Take(_)
                | Action::TakeAll(_)
                | Action::NextUndecided
                | Action::PrevUndecided
        )
    }
}
