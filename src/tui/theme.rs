//! Semantic styles: views ask for a [`Role`], never for a colour.
//!
//! A theme is a partial override of the built-in defaults ([`Theme::builtin`]):
//! a TOML file with a `[styles]` table whose keys are role names
//! (`status_bar`, `conflict`, ...) and whose values give any of `fg`, `bg` and
//! `modifiers`. What a file leaves out keeps the default, so a theme written
//! for today's roles still works when a role is added. Four themes ship inside
//! the binary (see [`SHIPPED_THEMES`]); `themes/default.toml` documents the
//! format.

use std::ops::Range;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};

/// What a piece of the screen means; views ask for these, never for colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Header,
    StatusBar,
    Selected,
    Same,
    Changed,
    Conflict,
    OnlyLeft,
    OnlyRight,
    Suggestion,
    Warning,
    Create,
    Delete,
    Muted,
    Accepted,
    Skipped,
    Done,
    Failed,
    Border,
    Focus,
    Key,
    Title,
}

impl Role {
    /// Every role, in declaration order (`Role::ALL[r as usize] == r`).
    pub const ALL: [Role; 21] = [
        Role::Header,
        Role::StatusBar,
        Role::Selected,
        Role::Same,
        Role::Changed,
        Role::Conflict,
        Role::OnlyLeft,
        Role::OnlyRight,
        Role::Suggestion,
        Role::Warning,
        Role::Create,
        Role::Delete,
        Role::Muted,
        Role::Accepted,
        Role::Skipped,
        Role::Done,
        Role::Failed,
        Role::Border,
        Role::Focus,
        Role::Key,
        Role::Title,
    ];

    /// The key naming this role in a theme file's `[styles]` table.
    pub fn name(self) -> &'static str {
        match self {
            Role::Header => "header",
            Role::StatusBar => "status_bar",
            Role::Selected => "selected",
            Role::Same => "same",
            Role::Changed => "changed",
            Role::Conflict => "conflict",
            Role::OnlyLeft => "only_left",
            Role::OnlyRight => "only_right",
            Role::Suggestion => "suggestion",
            Role::Warning => "warning",
            Role::Create => "create",
            Role::Delete => "delete",
            Role::Muted => "muted",
            Role::Accepted => "accepted",
            Role::Skipped => "skipped",
            Role::Done => "done",
            Role::Failed => "failed",
            Role::Border => "border",
            Role::Focus => "focus",
            Role::Key => "key",
            Role::Title => "title",
        }
    }

    /// The role a theme file's key names, if any.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }

    /// The built-in style, used wherever a theme says nothing.
    fn default_style(self) -> Style {
        let s = Style::new();
        match self {
            Role::Header => s.fg(Color::White).bg(Color::Blue).bold(),
            Role::StatusBar => s.fg(Color::Black).bg(Color::Gray),
            Role::Selected => s.reversed(),
            Role::Same => s.fg(Color::Gray),
            Role::Changed => s.fg(Color::Yellow),
            Role::Conflict => s.fg(Color::Red).bold(),
            Role::OnlyLeft => s.fg(Color::Cyan),
            Role::OnlyRight => s.fg(Color::Magenta),
            Role::Suggestion => s.fg(Color::LightBlue),
            Role::Warning => s.fg(Color::LightRed),
            Role::Create => s.fg(Color::Green),
            Role::Delete => s.fg(Color::Red),
            Role::Muted => s.fg(Color::DarkGray),
            Role::Accepted => s.fg(Color::Green),
            Role::Skipped => s.fg(Color::DarkGray),
            Role::Done => s.fg(Color::Green),
            Role::Failed => s.fg(Color::Red).bold(),
            Role::Border => s.fg(Color::DarkGray),
            Role::Focus => s.fg(Color::Yellow),
            Role::Key => s.bold(),
            Role::Title => s.bold(),
        }
    }

    /// Modifiers that must survive the loss of colour, so the role stays
    /// distinguishable under `NO_COLOR`.
    fn colorless_marker(self) -> Modifier {
        match self {
            Role::Selected => Modifier::REVERSED | Modifier::BOLD,
            Role::Conflict => Modifier::BOLD | Modifier::UNDERLINED,
            Role::Warning => Modifier::UNDERLINED,
            Role::Failed => Modifier::BOLD,
            Role::Focus => Modifier::BOLD,
            // A changed value beside an unchanged one (the detail's
            // columns, the preview's lines).
            Role::Changed => Modifier::BOLD,
            Role::Muted | Role::Skipped => Modifier::DIM,
            _ => Modifier::empty(),
        }
    }
}

/// Names of the themes built into the binary, accepted by [`Theme::load`].
pub const SHIPPED_THEMES: [&str; 4] = ["default", "light", "high-contrast", "mono"];

/// The text of a shipped theme, embedded so an installed binary has them all.
fn shipped_text(name: &str) -> Option<&'static str> {
    match name {
        "default" => Some(include_str!("../../themes/default.toml")),
        "light" => Some(include_str!("../../themes/light.toml")),
        "high-contrast" => Some(include_str!("../../themes/high-contrast.toml")),
        "mono" => Some(include_str!("../../themes/mono.toml")),
        _ => None,
    }
}

/// Modifier names a theme file may use.
const MODIFIERS: [(&str, Modifier); 6] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
];

/// One style per [`Role`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    styles: [Style; Role::ALL.len()],
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin()
    }
}

impl Theme {
    /// The built-in styles; `themes/default.toml` spells out the same.
    pub fn builtin() -> Theme {
        Theme {
            styles: Role::ALL.map(Role::default_style),
        }
    }

    /// Loads a theme over the built-in defaults.
    ///
    /// `name_or_path` is a name — looked up first as
    /// `<config_dir>/themes/<name>.toml`, then among [`SHIPPED_THEMES`] — or,
    /// when it contains a path separator or ends in `.toml`, a path to a theme
    /// file, relative to `config_dir` unless absolute.
    pub fn load(name_or_path: &str, config_dir: &Path) -> Result<Theme, String> {
        let is_name = !name_or_path.is_empty()
            && !name_or_path.contains(['/', '\\'])
            && !name_or_path.ends_with(".toml");
        if is_name {
            let user_file = config_dir
                .join("themes")
                .join(format!("{name_or_path}.toml"));
            if user_file.is_file() {
                return Theme::load_file(&user_file);
            }
            return match shipped_text(name_or_path) {
                Some(text) => Theme::parse(text, &format!("themes/{name_or_path}.toml")),
                None => Err(format!(
                    "unknown theme \"{name_or_path}\"; shipped themes are {}, or put your own \
                     in {} or give the path of a .toml file",
                    SHIPPED_THEMES.join(", "),
                    user_file.display()
                )),
            };
        }
        if name_or_path.is_empty() {
            return Err(format!(
                "no theme given; shipped themes are {}",
                SHIPPED_THEMES.join(", ")
            ));
        }
        Theme::load_file(&config_dir.join(name_or_path))
    }

    fn load_file(path: &Path) -> Result<Theme, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read theme: {e}", path.display()))?;
        Theme::parse(&text, &path.display().to_string())
    }

    /// Applies the theme file `text` over the built-in defaults; `origin`
    /// names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, String> {
        let file = ThemeFile { origin, text };
        let doc = toml_edit::Document::parse(text)
            .map_err(|e| file.error(e.span(), None, e.message().trim()))?;
        let mut theme = Theme::builtin();
        let mut colors = true;
        for (key, item) in doc.iter() {
            match key {
                "styles" => {
                    let table = item.as_table_like().ok_or_else(|| {
                        file.error(item.span(), Some(key), "expected a table of roles")
                    })?;
                    for (role_key, value) in table.iter() {
                        let path = format!("styles.{role_key}");
                        let role = Role::from_name(role_key).ok_or_else(|| {
                            let known: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
                            file.error(
                                value.span(),
                                Some(&path),
                                format!("unknown role; known roles are {}", known.join(", ")),
                            )
                        })?;
                        let style = &mut theme.styles[role as usize];
                        *style = file.apply(*style, value, &path)?;
                    }
                }
                "colors" => {
                    colors = item.as_bool().ok_or_else(|| {
                        file.error(item.span(), Some(key), "expected true or false")
                    })?;
                }
                _ => {
                    return Err(file.error(
                        item.span(),
                        Some(key),
                        "unknown key; a theme has a [styles] table and optionally `colors = false`",
                    ));
                }
            }
        }
        if !colors {
            for style in &mut theme.styles {
                style.fg = None;
                style.bg = None;
            }
        }
        Ok(theme)
    }

    /// The theme for `NO_COLOR`: every colour goes, modifiers stay, and roles
    /// that only colour told apart gain a modifier. A role that had a
    /// background (a bar, a highlight) becomes reversed so it still stands out.
    pub fn without_color(mut self) -> Theme {
        for role in Role::ALL {
            let style = &mut self.styles[role as usize];
            let mut marker = role.colorless_marker();
            if style.bg.is_some_and(|bg| bg != Color::Reset) {
                marker |= Modifier::REVERSED;
            }
            style.fg = None;
            style.bg = None;
            style.add_modifier |= marker;
            style.sub_modifier -= marker;
        }
        self
    }

    /// The style for `role`.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }
}

/// A theme file being read, for error messages naming file, line and key.
struct ThemeFile<'a> {
    origin: &'a str,
    text: &'a str,
}

impl ThemeFile<'_> {
    fn error(
        &self,
        span: Option<Range<usize>>,
        key: Option<&str>,
        message: impl std::fmt::Display,
    ) -> String {
        let mut out = self.origin.to_string();
        if let Some(span) = span {
            let before = self.text.get(..span.start).unwrap_or(self.text);
            let line = before.matches('\n').count() + 1;
            out.push_str(&format!(":{line}"));
        }
        if let Some(key) = key {
            out.push_str(&format!(": {key}"));
        }
        out.push_str(&format!(": {message}"));
        out
    }

    /// Overrides the parts of `style` that `item` (one role's entry) gives.
    fn apply(&self, mut style: Style, item: &toml_edit::Item, path: &str) -> Result<Style, String> {
        let table = item.as_table_like().ok_or_else(|| {
            self.error(
                item.span(),
                Some(path),
                "expected a table like { fg = \"red\", bg = \"black\", modifiers = [\"bold\"] }",
            )
        })?;
        for (part, value) in table.iter() {
            let key = format!("{path}.{part}");
            match part {
                "fg" => style.fg = self.color(value, &key)?,
                "bg" => style.bg = self.color(value, &key)?,
                "modifiers" => {
                    style.add_modifier = self.modifiers(value, &key)?;
                    style.sub_modifier = Modifier::empty();
                }
                _ => {
                    return Err(self.error(
                        value.span(),
                        Some(&key),
                        "unknown key; expected fg, bg or modifiers",
                    ));
                }
            }
        }
        Ok(style)
    }

    /// A colour; `"none"` means the theme sets none (the text keeps whatever
    /// colour it has underneath).
    fn color(&self, item: &toml_edit::Item, key: &str) -> Result<Option<Color>, String> {
        let text = item.as_str().ok_or_else(|| {
            self.error(item.span(), Some(key), "expected a colour name in quotes")
        })?;
        if text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        text.parse::<Color>().map(Some).map_err(|_| {
            self.error(
                item.span(),
                Some(key),
                format!("\"{text}\" is not a colour; expected a name like \"red\" or \"#rrggbb\""),
            )
        })
    }

    fn modifiers(&self, item: &toml_edit::Item, key: &str) -> Result<Modifier, String> {
        let list = item.as_array().ok_or_else(|| {
            self.error(
                item.span(),
                Some(key),
                "expected a list like [\"bold\", \"underlined\"]",
            )
        })?;
        let mut mods = Modifier::empty();
        for value in list.iter() {
            let name = value.as_str().unwrap_or_default();
            let found = MODIFIERS.iter().find(|(known, _)| *known == name);
            match found {
                Some((_, modifier)) => mods |= *modifier,
                None => {
                    let known: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
                    return Err(self.error(
                        value.span(),
                        Some(key),
                        format!(
                            "{} is not a modifier; known modifiers are {}",
                            value.to_string().trim(),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(mods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        Theme::parse(text, "themes/x.toml").expect_err("theme should be refused")
    }

    #[test]
    fn role_all_matches_discriminants_and_names_round_trip() {
        for (i, role) in Role::ALL.into_iter().enumerate() {
            assert_eq!(role as usize, i);
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
    }

    #[test]
    fn builtin_has_the_documented_defaults() {
        let t = Theme::builtin();
        assert_eq!(
            t.style(Role::Header),
            Style::new().fg(Color::White).bg(Color::Blue).bold()
        );
        assert_eq!(t.style(Role::Selected), Style::new().reversed());
        assert_eq!(t.style(Role::Conflict), Style::new().fg(Color::Red).bold());
        assert_eq!(t.style(Role::Focus), Style::new().fg(Color::Yellow));
        assert_eq!(t.style(Role::Key), Style::new().bold());
    }

    #[test]
    fn every_shipped_theme_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in SHIPPED_THEMES {
            let theme = Theme::load(name, dir.path());
            assert!(theme.is_ok(), "{name}: {theme:?}");
        }
    }

    #[test]
    fn every_shipped_theme_lists_every_role() {
        for name in SHIPPED_THEMES {
            let text = shipped_text(name).expect("shipped");
            let doc = toml_edit::Document::parse(text).expect("toml");
            let styles = doc
                .get("styles")
                .and_then(|s| s.as_table_like())
                .expect("styles");
            for role in Role::ALL {
                assert!(styles.contains_key(role.name()), "{name}: {}", role.name());
            }
        }
    }

    #[test]
    fn default_file_spells_out_the_builtin() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            Theme::load("default", dir.path()).expect("default"),
            Theme::builtin()
        );
    }

    #[test]
    fn mono_has_no_colours_and_visible_selection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mono = Theme::load("mono", dir.path()).expect("mono");
        for role in Role::ALL {
            let s = mono.style(role);
            assert_eq!((s.fg, s.bg), (None, None), "{}", role.name());
        }
        assert!(
            mono.style(Role::Selected)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(
            mono.style(Role::Conflict)
                .add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED)
        );
    }

    #[test]
    fn partial_override_keeps_other_defaults() {
        let theme = Theme::parse(
            "[styles]\nconflict = { fg = \"#ff8000\" }\nheader = { modifiers = [] }\n",
            "t.toml",
        )
        .expect("valid");
        let builtin = Theme::builtin();
        // Only fg of conflict changes; its bold stays.
        assert_eq!(
            theme.style(Role::Conflict),
            Style::new().fg(Color::Rgb(0xff, 0x80, 0x00)).bold()
        );
        // Only the modifiers of header change; its colours stay.
        assert_eq!(
            theme.style(Role::Header),
            Style::new().fg(Color::White).bg(Color::Blue)
        );
        for role in Role::ALL {
            if role != Role::Conflict && role != Role::Header {
                assert_eq!(theme.style(role), builtin.style(role), "{}", role.name());
            }
        }
    }

    #[test]
    fn none_removes_a_default_colour_and_table_syntax_works() {
        let theme = Theme::parse(
            "[styles.status_bar]\nbg = \"none\"\nfg = \"Light Blue\"\n",
            "t.toml",
        )
        .expect("valid");
        assert_eq!(
            theme.style(Role::StatusBar),
            Style::new().fg(Color::LightBlue)
        );
    }

    #[test]
    fn bad_colour_names_file_line_and_key() {
        let err = parse_err("# theme\n[styles]\nconflict = { fg = \"reddish\" }\n");
        assert_eq!(
            err,
            "themes/x.toml:3: styles.conflict.fg: \"reddish\" is not a colour; \
             expected a name like \"red\" or \"#rrggbb\""
        );
    }

    #[test]
    fn unknown_role_is_refused_listing_known_roles() {
        let err = parse_err("[styles]\nconflicts = { fg = \"red\" }\n");
        assert!(
            err.starts_with("themes/x.toml:2: styles.conflicts: unknown role"),
            "{err}"
        );
        assert!(
            err.contains("status_bar") && err.contains("only_left"),
            "{err}"
        );
    }

    #[test]
    fn other_mistakes_name_the_key() {
        let cases = [
            ("[styles]\nheader = { fg = 3 }\n", "styles.header.fg"),
            (
                "[styles]\nheader = { colour = \"red\" }\n",
                "styles.header.colour",
            ),
            ("[styles]\nheader = \"red\"\n", "styles.header"),
            (
                "[styles]\nheader = { modifiers = [\"blink\"] }\n",
                "styles.header.modifiers",
            ),
            (
                "[styles]\nheader = { modifiers = \"bold\" }\n",
                "styles.header.modifiers",
            ),
            ("style = 1\n", "style"),
            ("colors = \"no\"\n", "colors"),
        ];
        for (text, key) in cases {
            let err = parse_err(text);
            assert!(err.contains(&format!(": {key}: ")), "{text:?} -> {err}");
        }
    }

    #[test]
    fn toml_syntax_error_names_file_and_line() {
        let err = parse_err("[styles]\nheader = { fg = \"red\"\n");
        assert!(err.starts_with("themes/x.toml:2: "), "{err}");
    }

    #[test]
    fn without_color_removes_every_colour_and_keeps_selection_visible() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in SHIPPED_THEMES {
            let theme = Theme::load(name, dir.path())
                .expect("shipped")
                .without_color();
            for role in Role::ALL {
                let s = theme.style(role);
                assert_eq!((s.fg, s.bg), (None, None), "{name}: {}", role.name());
            }
            let selected = theme.style(Role::Selected).add_modifier;
            assert!(
                selected.contains(Modifier::REVERSED | Modifier::BOLD),
                "{name}"
            );
            for role in [Role::Conflict, Role::Warning, Role::Failed] {
                let mods = theme.style(role).add_modifier;
                assert!(
                    mods.intersects(Modifier::BOLD | Modifier::UNDERLINED),
                    "{name}: {}",
                    role.name()
                );
            }
        }
    }

    #[test]
    fn without_color_keeps_modifiers_and_reverses_bars() {
        let theme = Theme::builtin().without_color();
        assert_eq!(
            theme.style(Role::Header),
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        );
        assert_eq!(theme.style(Role::Title), Style::new().bold());
        // Selected must win even over a theme that removed its reverse video.
        let plain = Theme::parse("[styles]\nselected = { modifiers = [] }\n", "t.toml")
            .expect("valid")
            .without_color();
        assert!(
            plain
                .style(Role::Selected)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn load_resolves_user_names_first_then_shipped_then_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let themes = dir.path().join("themes");
        std::fs::create_dir(&themes).expect("mkdir");
        std::fs::write(
            themes.join("light.toml"),
            "[styles]\ntitle = { fg = \"green\" }\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("mine.toml"),
            "[styles]\ntitle = { fg = \"red\" }\n",
        )
        .expect("write");

        let user = Theme::load("light", dir.path()).expect("user theme");
        assert_eq!(user.style(Role::Title).fg, Some(Color::Green));
        let by_path = Theme::load("mine.toml", dir.path()).expect("path theme");
        assert_eq!(by_path.style(Role::Title).fg, Some(Color::Red));
        let shipped = Theme::load("high-contrast", dir.path()).expect("shipped");
        assert_ne!(shipped, Theme::builtin());
    }

    #[test]
    fn load_refuses_unknown_names_and_missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Theme::load("solarized", dir.path()).expect_err("unknown");
        assert!(
            err.contains("\"solarized\"") && err.contains("default, light, high-contrast, mono"),
            "{err}"
        );
        let err = Theme::load("nope/x.toml", dir.path()).expect_err("missing");
        assert!(err.contains("x.toml: cannot read theme"), "{err}");
        let dir_err = {
            std::fs::create_dir_all(dir.path().join("themes")).expect("mkdir");
            std::fs::write(
                dir.path().join("themes/bad.toml"),
                "[styles]\nfocus = { bg = \"#12345\" }\n",
            )
            .expect("write");
            Theme::load("bad", dir.path()).expect_err("bad colour")
        };
        assert!(
            dir_err.contains("bad.toml:2: styles.focus.bg: \"#12345\" is not a colour"),
            "{dir_err}"
        );
    }
}
