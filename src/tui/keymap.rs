//! Key bindings: key names ↔ actions, per view. The status-bar hints and the
//! help overlay are generated from the same table, so they cannot drift from
//! what the keys do. `[keys]` in the config rebinds an action:
//! `accept_all = "A"` or `down = ["j", "down"]`.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, View};
use crate::sync::Side;

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
    /// Shown in the status bar of its view.
    pub hint: bool,
}

fn commands() -> Vec<(Command, &'static [&'static str])> {
    use Scope::{Everywhere, Only};
    use View::{Contacts, Mapping, Queue};
    let c = |name, action, scope, help, hint| Command {
        name,
        action,
        scope,
        help,
        hint,
    };
    vec![
        (
            c(
                "contacts",
                Action::Show(Contacts),
                Everywhere,
                "contacts view",
                true,
            ),
            &["1"],
        ),
        (
            c(
                "mapping",
                Action::Show(Mapping),
                Everywhere,
                "mapping editor",
                true,
            ),
            &["2"],
        ),
        (
            c(
                "queue",
                Action::Show(Queue),
                Everywhere,
                "queue of operations",
                true,
            ),
            &["3"],
        ),
        (
            c(
                "next_pane",
                Action::NextPane,
                Everywhere,
                "next pane (list ⇄ detail)",
                true,
            ),
            &["tab"],
        ),
        (
            c("up", Action::Up, Everywhere, "move up", false),
            &["up", "k"],
        ),
        (
            c("down", Action::Down, Everywhere, "move down", false),
            &["down", "j"],
        ),
        (
            c("page_up", Action::PageUp, Everywhere, "page up", false),
            &["pageup"],
        ),
        (
            c(
                "page_down",
                Action::PageDown,
                Everywhere,
                "page down",
                false,
            ),
            &["pagedown"],
        ),
        (
            c("top", Action::Top, Everywhere, "first row", false),
            &["home", "g"],
        ),
        (
            c("bottom", Action::Bottom, Everywhere, "last row", false),
            &["end", "G"],
        ),
        (
            c(
                "search",
                Action::Search,
                Only(Contacts),
                "search names, e-mails, phones, companies",
                true,
            ),
            &["/"],
        ),
        (
            c(
                "filter",
                Action::Filter,
                Only(Contacts),
                "filter by status (cycles)",
                true,
            ),
            &["f"],
        ),
        (
            c(
                "link",
                Action::Link,
                Only(Contacts),
                "link: mark a one-sided contact, then its partner",
                true,
            ),
            &["l"],
        ),
        (
            c(
                "unlink",
                Action::Unlink,
                Only(Contacts),
                "unlink the selected pair",
                false,
            ),
            &["u"],
        ),
        (
            c(
                "forget",
                Action::Forget,
                Only(Contacts),
                "forget the selected tombstone or link",
                false,
            ),
            &["F"],
        ),
        (
            c(
                "toggle",
                Action::Toggle,
                Only(Queue),
                "accept / skip the selected operation",
                true,
            ),
            &["space"],
        ),
        (
            c(
                "accept_all",
                Action::AcceptAll,
                Only(Queue),
                "accept all shown",
                true,
            ),
            &["a"],
        ),
        (
            c(
                "skip_all",
                Action::SkipAll,
                Only(Queue),
                "skip all shown",
                true,
            ),
            &["s"],
        ),
        (
            c(
                "take_left",
                Action::Take(Side::Left),
                Only(Queue),
                "conflict: take left (contact, or field in detail)",
                true,
            ),
            &["<"],
        ),
        (
            c(
                "take_right",
                Action::Take(Side::Right),
                Only(Queue),
                "conflict: take right (contact, or field in detail)",
                true,
            ),
            &[">"],
        ),
        (
            c(
                "kind_filter",
                Action::Filter,
                Only(Queue),
                "filter by kind (cycles)",
                true,
            ),
            &["f"],
        ),
        (
            c(
                "execute",
                Action::Execute,
                Only(Queue),
                "execute the accepted operations (asks y/n)",
                true,
            ),
            &["x"],
        ),
        (
            c("add", Action::Add, Only(Mapping), "add a mapping", true),
            &["a"],
        ),
        (
            c(
                "remove",
                Action::Remove,
                Only(Mapping),
                "remove the selected mapping",
                true,
            ),
            &["d"],
        ),
        (
            c(
                "edit",
                Action::Edit,
                Only(Mapping),
                "change the selected cell",
                true,
            ),
            &["enter"],
        ),
        (
            c(
                "save",
                Action::Save,
                Only(Mapping),
                "save to the config file",
                true,
            ),
            &["w"],
        ),
        (
            c(
                "reload",
                Action::Reload,
                Everywhere,
                "read both stores again",
                false,
            ),
            &["r"],
        ),
        (
            c("help", Action::Help, Everywhere, "this help", true),
            &["?"],
        ),
        (
            c(
                "quit",
                Action::Quit,
                Everywhere,
                "quit (asks when decisions would be lost)",
                true,
            ),
            &["q"],
        ),
    ]
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

impl Command {
    /// The name as shown in hints: `accept_all` → `accept all`.
    pub fn label(&self) -> String {
        self.name.replace('_', " ")
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

impl Keymap {
    /// The default keys with `[keys]` overrides (action name → key or keys).
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
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
                return Err(format!(
                    "[keys] {name}: no such action; expected one of: {}",
                    names.join(", ")
                ));
            };
            let mut parsed = Vec::new();
            for k in keys {
                parsed.push(Key::parse(k).ok_or_else(|| {
                    format!("[keys] {name}: {k:?} is not a key; expected a character, space, enter, tab, esc, up, down, left, right, pageup, pagedown, home, end, f1…f12, or ctrl-<key>")
                })?);
            }
            if parsed.is_empty() {
                return Err(format!("[keys] {name}: give at least one key"));
            }
            binding.keys = parsed;
        }
        // A key may do one thing per view.
        for view in [View::Contacts, View::Mapping, View::Queue] {
            let mut seen: Vec<(Key, &str)> = Vec::new();
            for b in bindings.iter().filter(|b| applies(b.command.scope, view)) {
                for k in &b.keys {
                    if let Some((_, other)) = seen.iter().find(|(s, _)| s == k) {
                        return Err(format!(
                            "[keys] {}: key {} is already bound to {other}",
                            b.command.name,
                            k.name()
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

    /// The bindings of a view, for help.
    pub fn for_view(&self, view: View) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| applies(b.command.scope, view))
    }

    /// `key label` pairs for the status bar of a view.
    pub fn hints(&self, view: View) -> Vec<(String, String)> {
        // Help and quit first: on a narrow screen the end is cut off.
        let first = |b: &Binding| matches!(b.command.action, Action::Help | Action::Quit);
        let (mut front, rest): (Vec<&Binding>, Vec<&Binding>) = self
            .for_view(view)
            .filter(|b| b.command.hint && !b.keys.is_empty())
            .partition(|b| first(b));
        front.extend(rest);
        front
            .into_iter()
            .map(|b| (b.keys[0].name(), b.command.label()))
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
            Err(e) => e,
        }
    }

    #[test]
    fn rebinding_replaces_the_default_and_bad_names_are_refused() {
        let mut o = BTreeMap::new();
        o.insert("accept_all".to_string(), vec!["A".to_string()]);
        let map = Keymap::new(&o).unwrap();
        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(
            map.action(View::Queue, &press('A')),
            Some(Action::AcceptAll)
        );
        assert_eq!(map.action(View::Queue, &press('a')), None);
        assert_eq!(map.action(View::Mapping, &press('a')), Some(Action::Add));
        assert!(
            map.hints(View::Queue)
                .iter()
                .any(|(k, n)| k == "A" && *n == "accept all")
        );

        assert!(refused(&[("acept_all", &["b"])]).contains("acept_all: no such action"));
        let twice = refused(&[("skip_all", &["x"])]);
        assert!(twice.contains("key x is already bound"), "{twice}");
        assert!(refused(&[("quit", &["boom"])]).contains("\"boom\" is not a key"));
        assert!(refused(&[("quit", &[])]).contains("at least one key"));
    }
}
