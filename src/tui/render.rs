//! The frame: header with the views, the current view, the status bar with
//! key hints, and over it the help, a question or the progress of work.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::action::View;
use super::app::App;
use super::theme::Role;
use super::views;
use super::views::queue::QueueContext;
use super::widgets;
use crate::model::sanitize::for_terminal;

impl App {
    /// Draw the whole screen from the state (no I/O).
    pub fn render(&self, frame: &mut Frame) {
        draw(self, frame);
    }
}

fn draw(app: &App, frame: &mut Frame) {
    // A message longer than the status line takes the lines it needs (up
    // to three): one cut short can read as its opposite.
    let message = app
        .message
        .as_ref()
        .map(|m| widgets::wrap(&m.text, (frame.area().width as usize).saturating_sub(1)))
        .unwrap_or_default();
    let status_height = message.len().clamp(1, 3) as u16;
    let [header, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(status_height),
    ])
    .areas(frame.area());
    draw_header(app, frame, header);
    match (&app.data, &app.failure) {
        (_, Some(why)) => {
            let mut text: Vec<Line> = why
                .lines()
                .map(|l| Line::raw(for_terminal(l).into_owned()))
                .collect();
            if let Some(first) = text.first_mut() {
                *first = first.clone().style(app.theme.style(Role::Failed));
            }
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), body);
        }
        (Some(data), None) => match app.view {
            View::Contacts => app.contacts.render(frame, body, data, &app.theme),
            View::Queue => {
                let context = QueueContext {
                    decisions: &app.decisions,
                    defaults: &app.defaults,
                    theme: &app.theme,
                    results: app.results.as_ref(),
                };
                app.queue.render(frame, body, data, &context)
            }
            View::Mapping => {
                if let Some(m) = &app.mapping {
                    m.render(frame, body, &app.theme);
                }
            }
        },
        (None, None) => {}
    }
    draw_status(app, &message, frame, status);
    if let Some(busy) = &app.busy {
        widgets::draw_busy(busy, &app.theme, frame, body);
    }
    if let Some(pane) = &app.pane {
        pane.render(frame, body, &app.theme);
    }
    if let Some(preview) = &app.preview {
        preview.render(frame, body, &app.theme);
    }
    if app.help {
        let places = app.data.as_ref().map_or_else(String::new, |d| {
            let store = |s: &crate::config::StoreConfig| {
                let table = s
                    .table
                    .as_deref()
                    .map(|t| format!(", table {t}"))
                    .unwrap_or_default();
                format!("{}: {} {}{table}", s.name, s.kind.as_str(), s.location())
            };
            format!(
                "config {} · {} · {}",
                d.config.file.display(),
                store(&d.config.left),
                store(&d.config.right)
            )
        });
        let results = app.view == View::Queue && app.results.is_some();
        views::help::render(
            frame,
            body,
            &views::help::Help {
                keymap: &app.keymap,
                view: app.view,
                theme: &app.theme,
                places: &places,
                results,
                scroll: app.help_scroll,
                max: &app.help_max,
            },
        );
    }
    if let Some(dialog) = &app.dialog {
        widgets::draw_dialog(dialog, &app.theme, frame, body);
    }
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let style = app.theme.style(Role::Header);
    let mut spans = vec![Span::styled(" abgleich ", style)];
    for (view, label) in [
        (View::Contacts, "contacts"),
        (View::Mapping, "mapping"),
        (View::Queue, "queue"),
    ] {
        let key = app.keymap.key_for(view, &super::action::Action::Show(view));
        let text = format!(" {key} {label} ");
        if app.view == view {
            spans.push(Span::styled(
                text,
                style.patch(app.theme.style(Role::Selected)),
            ));
        } else {
            spans.push(Span::styled(text, style));
        }
    }
    if let Some(data) = &app.data {
        let names = data.store_names();
        spans.push(Span::styled(
            format!(
                " {} {} ⇄ {} {} · {} ops ",
                names.left,
                data.snapshot.sides.left.records.len(),
                data.snapshot.sides.right.records.len(),
                names.right,
                data.plan.operations.len()
            ),
            style,
        ));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    spans.push(Span::styled(
        " ".repeat((area.width as usize).saturating_sub(used)),
        style,
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The status bar: the message, wrapped (`lines`, already neutralised),
/// or the key hints.
fn draw_status(app: &App, lines: &[String], frame: &mut Frame, area: Rect) {
    let style = app.theme.style(Role::StatusBar);
    if let Some(message) = &app.message {
        let role = if message.is_error() {
            Role::Failed
        } else {
            Role::StatusBar
        };
        let text: Vec<Line> = lines
            .iter()
            .map(|l| Line::styled(format!(" {l}"), style.patch(app.theme.style(role))))
            .collect();
        frame.render_widget(Paragraph::new(text).style(style), area);
        return;
    }
    let line = {
        // Only whole hints: one cut in half reads as something else.
        let mut spans = Vec::new();
        let mut used = 0;
        let hints = if let Some(typing) = app.typing() {
            // While text is typed no command key acts: say what the
            // keys do instead of naming commands that would not run.
            typing.hints()
        } else if app.view == View::Queue && app.results.is_some() {
            app.keymap.result_hints()
        } else {
            let all = app.keymap.hints(app.view);
            let width: usize = (all.iter())
                .map(|(k, n)| k.chars().count() + n.chars().count() + 2)
                .sum();
            if app.view == View::Queue && width > area.width as usize {
                // Not all fit: those for what is selected.
                app.keymap.queue_hints(app.selected_is_conflict())
            } else {
                all
            }
        };
        for (key, name) in hints {
            let (key, name) = (format!(" {key}"), format!(" {name}"));
            let width = unicode_width::UnicodeWidthStr::width(key.as_str())
                + unicode_width::UnicodeWidthStr::width(name.as_str());
            if used + width > area.width as usize {
                break;
            }
            used += width;
            spans.push(Span::styled(key, style.patch(app.theme.style(Role::Key))));
            spans.push(Span::styled(name, style));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(style), area);
}
