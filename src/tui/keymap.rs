//! Key bindings: key names ↔ actions, per view. The status-bar hints and the
//! help overlay are generated from the same table, so they cannot drift from
//! what the keys do. `[keys]` in the config rebinds an action:
//! `skip_all = "S"` or `down = ["j", "down"]`.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, View};
use crate::model::Side;

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    Only(View),
}

/// One bindable command: its config name, what it does, where, and how it
/// is shown.
pub struct Command {
    pub name: &'static str,
    pub action: Action,
    pub scope: Scope,
    pub help: &'static str,
    /// The short label in the status bar of its view (`None`: help only).
    pub hint: Option<&'static str>,
}

/// Every command: config name, action, where, help text, status-bar label
/// (`None`: only in the help), default keys. Hints show in this order after
/// help and quit, so a view's main commands come first.
/// name, action, scope, help, hint, default keys.
type Row = (
    &'static str,
    Action,
    Scope,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

#[rustfmt::skip]
fn commands() -> Vec<(Command, &'static [&'static str])> {
    use Scope::{Everywhere, Only};
    use View::{Contacts, Mapping, Queue};
    let table: Vec<Row> = vec![
        ("contacts", Action::Show(Contacts), Everywhere, "contacts view", None, &["1"]),
        ("mapping", Action::Show(Mapping), Everywhere, "mapping editor", None, &["2"]),
        ("queue", Action::Show(Queue), Everywhere, "queue of operations", None, &["3"]),
        ("execute", Action::Execute, Only(Queue), "execute accepted (asks y/n)", Some("execute"), &["x"]),
        ("toggle", Action::Toggle, Only(Queue), "accept/skip the selected", Some("accept"), &["space"]),
        ("accept_all", Action::AcceptAll, Only(Queue), "accept shown (no review)", Some("accept all"), &["a"]),
        ("accept_review", Action::AcceptReview, Only(Queue), "accept shown review (asks)", None, &["A"]),
        ("skip_all", Action::SkipAll, Only(Queue), "skip all shown", Some("skip all"), &["s"]),
        ("next_undecided", Action::NextUndecided, Only(Queue), "next not accepted", None, &["n"]),
        ("prev_undecided", Action::PrevUndecided, Only(Queue), "previous not accepted", None, &["N"]),
        ("queue_search", Action::Search, Only(Queue), "search names, ids, values", Some("search"), &["/"]),
        ("take_left", Action::Take(Side::Left), Only(Queue), "take left (contact/field)", Some("left"), &["<"]),
        ("take_right", Action::Take(Side::Right), Only(Queue), "take right (contact/field)", Some("right"), &[">"]),
        ("take_left_all", Action::TakeAll(Side::Left), Only(Queue), "take left, all shown (asks)", None, &["["]),
        ("take_right_all", Action::TakeAll(Side::Right), Only(Queue), "take right, all shown (asks)", None, &["]"]),
        ("kind_filter", Action::Filter, Only(Queue), "filter by kind (cycles)", Some("filter"), &["f"]),
        ("preview", Action::Preview, Only(Queue), "preview what is written", None, &["p"]),
        ("search", Action::Search, Only(Contacts), "search names, mails, phones", Some("search"), &["/"]),
        ("filter", Action::Filter, Only(Contacts), "filter by status (cycles)", Some("filter"), &["f"]),
        ("link", Action::Link, Only(Contacts), "link two one-sided contacts", Some("link"), &["l"]),
        ("unlink", Action::Unlink, Only(Contacts), "unlink the selected pair", None, &["u"]),
        ("forget", Action::Forget, Only(Contacts), "forget a link or tombstone", None, &["F"]),
        ("unreadable", Action::Unreadable, Only(Contacts), "list unreadable records", None, &["e"]),
        ("add", Action::Add, Only(Mapping), "add a mapping", Some("add"), &["a"]),
        ("mapping_find", Action::Search, Only(Mapping), "find a field or column", None, &["/"]),
        ("remove", Action::Remove, Only(Mapping), "remove the selected mapping", Some("remove"), &["d"]),
        ("edit", Action::Edit, Only(Mapping), "change the selected cell", Some("edit"), &["enter"]),
        ("save", Action::Save, Only(Mapping), "save to the config file", Some("save"), &["w"]),
        ("next_pane", Action::NextPane, Everywhere, "next pane (mapping: column)", Some("pane"), &["tab"]),
        ("up", Action::Up, Everywhere, "move up", None, &["up", "k"]),
        ("down", Action::Down, Everywhere, "move down", None, &["down", "j"]),
        ("page_up", Action::PageUp, Everywhere, "page up", None, &["pageup"]),
        ("page_down", Action::PageDown, Everywhere, "page down", None, &["pagedown"]),
        ("top", Action::Top, Everywhere, "first row", None, &["home", "g"]),
        ("bottom", Action::Bottom, Everywhere, "last row", None, &["end", "G"]),
        ("reload", Action::Reload, Everywhere, "read both stores again", None, &["r"]),
        ("undo", Action::Undo, Everywhere, "undo the last apply (asks)", None, &["U"]),
        ("log", Action::Log, Everywhere, "log of past applies", None, &["L"]),
        ("help", Action::Help, Everywhere, "this help", Some("help"), &["?"]),
        ("quit", Action::Quit, Everywhere, "quit (asks if work is lost)", Some("quit"), &["q"]),
    ];
    table
        .into_iter()
        .map(|(name, action, scope, help, hint, keys)| (Command { name, action, scope, help, hint }, keys))
        .collect()
}

/// A key as written in config and shown on screen: `a`, `A`, `<`, `space`,
/// `enter`, `tab`, `up`, `f5`, `ctrl-r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub fn parse(text: &str) -> Option<Key> {
        let (ctrl, rest) = match text.strip_prefix("ctrl-") {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, text),
        };
        let code = match rest.to_ascii_lowercase().as_str() {
            "space" => KeyCode::Char(' '),
            "enter" => KeyCode::Enter,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "esc" => KeyCode::Esc,
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() > 1 && f.starts_with('f') => KeyCode::F(f[1..].parse().ok()?),
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() || c.is_control() {
                    return None;
                }
                KeyCode::Char(c)
            }
        };
        Some(Key { code, ctrl })
    }

    pub fn from_event(event: &KeyEvent) -> Key {
        Key {
            code: event.code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    /// The name as written in `[keys]` (`up`, where the screen shows `↑`).
    pub fn config_name(&self) -> String {
        let arrow = match self.code {
            KeyCode::Up => "up",
            KeyCode::Down => "down",
            KeyCode::Left => "left",
            KeyCode::Right => "right",
            _ => return self.name(),
        };
        if self.ctrl {
            format!("ctrl-{arrow}")
        } else {
            arrow.to_string()
        }
    }

    pub fn name(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "backtab".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Delete => "delete".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "pageup".into(),
            KeyCode::PageDown => "pagedown".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::F(n) => format!("f{n}"),
            _ => "?".into(),
        };
        if self.ctrl {
            format!("ctrl-{base}")
        } else {
            base
        }
    }
}

/// One bound command with its keys.
pub struct Binding {
    pub command: Command,
    pub keys: Vec<Key>,
}

pub struct Keymap {
    pub bindings: Vec<Binding>,
}

/// A `[keys]` entry the keymap refuses: the action it is about, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[keys] {action}: {message}")]
pub struct KeymapError {
    pub action: String,
    pub message: String,
}

impl KeymapError {
    fn new(action: &str, message: String) -> KeymapError {
        KeymapError {
            action: action.to_string(),
            message,
        }
    }
}

impl Keymap {
    /// The default keys with `[keys]` overrides (action name → key or keys).
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, KeymapError> {
        let mut bindings: Vec<Binding> = commands()
            .into_iter()
            .map(|(command, keys)| Binding {
                command,
                keys: keys.iter().filter_map(|k| Key::parse(k)).collect(),
            })
            .collect();
        for (name, keys) in overrides {
            let Some(binding) = bindings.iter_mut().find(|b| b.command.name == name) else {
                let names: Vec<&str> = commands().iter().map(|(c, _)| c.name).collect();
                return Err(KeymapError::new(
                    name,
                    format!("no such action; expected one of: {}", names.join(", ")),
                ));
            };
            let mut parsed = Vec::new();
            for k in keys {
                parsed.push(Key::parse(k).ok_or_else(|| {
                    KeymapError::new(name, format!("{k:?} is not a key; expected a character, space, enter, tab, esc, up, down, left, right, pageup, pagedown, home, end, f1…f12, or ctrl-<key>"))
                })?);
            }
            if parsed.is_empty() {
                return Err(KeymapError::new(name, "give at least one key".to_string()));
            }
            binding.keys = parsed;
        }
        // A key may do one thing per view.
        for view in [View::Contacts, View::Mapping, View::Queue] {
            let mut seen: Vec<(Key, &str)> = Vec::new();
            for b in bindings.iter().filter(|b| applies(b.command.scope, view)) {
                for k in &b.keys {
                    if let Some((_, other)) = seen.iter().find(|(s, _)| s == k) {
                        // Name the entry of `[keys]` that made the clash.
                        let (this, that) = if overrides.contains_key(b.command.name) {
                            (b.command.name, *other)
                        } else {
                            (*other, b.command.name)
                        };
                        return Err(KeymapError::new(
                            this,
                            format!("key {} is already bound to {that}", k.name()),
                        ));
                    }
                    seen.push((*k, b.command.name));
                }
            }
        }
        Ok(Keymap { bindings })
    }

    pub fn action(&self, view: View, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        // Shift is part of the character (`G`, `<`); match on it alone.
        self.bindings
            .iter()
            .filter(|b| applies(b.command.scope, view))
            .find(|b| b.keys.contains(&key))
            .map(|b| b.command.action.clone())
    }

    /// What `event` would do in another view than `view`: that view and
    /// the command's help text, for "press 3 first".
    pub fn elsewhere(&self, view: View, event: &KeyEvent) -> Option<(View, &'static str)> {
        let key = Key::from_event(event);
        [View::Contacts, View::Mapping, View::Queue]
            .into_iter()
            .filter(|&v| v != view)
            .find_map(|v| {
                (self.bindings.iter())
                    .filter(|b| applies(b.command.scope, v))
                    .find(|b| b.keys.contains(&key))
                    .map(|b| (v, b.command.help))
            })
    }

    /// The bindings of a view, for help.
    pub fn for_view(&self, view: View) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| applies(b.command.scope, view))
    }

    /// `key label` pairs for the status bar of a view.
    pub fn hints(&self, view: View) -> Vec<(String, String)> {
        self.hints_where(view, |_| true)
    }

    /// [`Keymap::hints`] of the queue, for what is selected: `<`/`>` on a
    /// conflict, search and filter otherwise (at 80 columns not all fit).
    pub fn queue_hints(&self, conflict: bool) -> Vec<(String, String)> {
        self.hints_where(View::Queue, |a| match a {
            Action::Take(_) => conflict,
            Action::Search | Action::Filter => !conflict,
            _ => true,
        })
    }

    /// [`Keymap::hints`] over the results of an execute: without the keys
    /// that decide, which do nothing there.
    pub fn result_hints(&self) -> Vec<(String, String)> {
        self.hints_where(View::Queue, |a| {
            !a.decides() && !matches!(a, Action::Execute | Action::Preview)
        })
    }

    fn hints_where(&self, view: View, keep: impl Fn(&Action) -> bool) -> Vec<(String, String)> {
        // Help and quit first: on a narrow screen the end is cut off.
        let first = |b: &Binding| matches!(b.command.action, Action::Help | Action::Quit);
        let (mut front, rest): (Vec<&Binding>, Vec<&Binding>) = self
            .for_view(view)
            .filter(|b| b.command.hint.is_some() && !b.keys.is_empty())
            .filter(|b| keep(&b.command.action))
            .partition(|b| first(b));
        front.extend(rest);
        front
            .into_iter()
            .map(|b| {
                (
                    b.keys[0].name(),
                    b.command.hint.unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The first key of an action in a view, for messages ("press x").
    pub fn key_for(&self, view: View, action: &Action) -> String {
        self.for_view(view)
            .find(|b| &b.command.action == action)
            .and_then(|b| b.keys.first())
            .map(Key::name)
            .unwrap_or_else(|| "?".into())
    }
}

fn applies(scope: Scope, view: View) -> bool {
    match scope {
        Scope::Everywhere => true,
        Scope::Only(v) => v == view,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(pairs: &[(&str, &[&str])]) -> String {
        let o: BTreeMap<String, Vec<String>> = pairs
            .iter()
            .map(|(a, k)| (a.to_string(), k.iter().map(|s| s.to_string()).collect()))
            .collect();
        match Keymap::new(&o) {
            Ok(_) => panic!("{pairs:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn rebinding_replaces_the_default_and_bad_names_are_refused() {
        let mut o = BTreeMap::new();
        o.insert("accept_all".to_string(), vec!["y".to_string()]);
        let map = Keymap::new(&o).unwrap();
        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(
            map.action(View::Queue, &press('y')),
            Some(Action::AcceptAll)
        );
        assert_eq!(map.action(View::Queue, &press('a')), None);
        assert_eq!(map.action(View::Mapping, &press('a')), Some(Action::Add));
        assert!(
            map.hints(View::Queue)
                .iter()
                .any(|(k, n)| k == "y" && n == "accept all")
        );

        assert!(refused(&[("acept_all", &["b"])]).contains("acept_all: no such action"));
        let twice = refused(&[("skip_all", &["x"])]);
        assert!(twice.contains("key x is already bound"), "{twice}");
        // The clash is named at the entry that made it, whichever comes first.
        let clash = refused(&[("execute", &["s"])]);
        assert!(
            clash.starts_with("[keys] execute: key s is already bound to skip_all"),
            "{clash}"
        );
        assert!(refused(&[("quit", &["boom"])]).contains("\"boom\" is not a key"));
        assert!(refused(&[("quit", &[])]).contains("at least one key"));
    }
}
