//! The frame: header with the views, the current view, the status bar with
//! key hints, and over it the help, a question or the progress of work.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::action::View;
use super::app::App;
use super::theme::Role;
use super::views;
use crate::sanitize::for_terminal;

pub fn draw(app: &App, frame: &mut Frame) {
    let [header, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
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
            View::Queue => app.queue.render(frame, body, data, app),
            View::Mapping => {
                if let Some(m) = &app.mapping {
                    m.render(frame, body, &app.theme);
                }
            }
        },
        (None, None) => {}
    }
    draw_status(app, frame, status);
    if let Some(busy) = &app.busy {
        draw_busy(app, busy, frame, body);
    }
    if app.help {
        views::help::render(frame, body, &app.keymap, app.view, &app.theme);
    }
    if let Some(dialog) = &app.dialog {
        let width = 70.min(body.width);
        let height = (dialog.lines.len() as u16 + 2).min(body.height);
        let area = centered(body, width, height);
        frame.render_widget(Clear, area);
        let lines: Vec<Line> = dialog.lines.iter().map(|l| Line::raw(l.clone())).collect();
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(app.theme.style(Role::Focus))
                    .title(Span::styled(
                        format!(" {} ", dialog.title),
                        app.theme.style(Role::Title),
                    )),
            ),
            area,
        );
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
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

fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    let style = app.theme.style(Role::StatusBar);
    let line = if let Some((text, error)) = &app.message {
        let role = if *error {
            Role::Failed
        } else {
            Role::StatusBar
        };
        Line::styled(
            format!(" {}", for_terminal(text)),
            style.patch(app.theme.style(role)),
        )
    } else {
        let mut spans = Vec::new();
        for (key, name) in app.keymap.hints(app.view) {
            spans.push(Span::styled(
                format!(" {key}"),
                style.patch(app.theme.style(Role::Key)),
            ));
            spans.push(Span::styled(format!(" {name}"), style));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(style), area);
}

fn draw_busy(app: &App, busy: &super::app::Busy, frame: &mut Frame, body: Rect) {
    let area = centered(body, 60.min(body.width), 3);
    frame.render_widget(Clear, area);
    let secs = Instant::now().duration_since(busy.since).as_secs_f32();
    let label = if busy.total > 0 {
        format!("{} {}/{} · {secs:.0} s", busy.what, busy.done, busy.total)
    } else {
        format!("{} … {secs:.0} s", busy.what)
    };
    let ratio = if busy.total > 0 {
        (busy.done as f64 / busy.total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    frame.render_widget(
        Gauge::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(app.theme.style(Role::Focus)),
            )
            .gauge_style(app.theme.style(Role::Accepted))
            .ratio(ratio)
            .label(label),
        area,
    );
}
