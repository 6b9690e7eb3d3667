//! Keys: by mode (the panes, the command line) and by overlay (lesson list, hints, solution,
//! the reset and quit questions), and moving between and within panes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::Effect;
use crate::tui::layout::inner_width;
use crate::tui::lines::{maps_compact, maps_lines};
use crate::tui::state::{App, CheckView, Focus, Overlay};

impl App {
    pub(crate) fn on_key(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return;
        }
        // Esc typed fast before a key reaches the terminal's reader in one read, which makes
        // it Alt+key (terminals send Alt+key as Esc and the key, so the two cannot be told
        // apart, and nothing here is bound to Alt): Esc, then the key, whatever is open. Once
        // only the command line split it; the lesson list took Alt+q for "close" and the q was
        // lost (Esc, q, y on a busy machine closed the list and never quit)
        if k.modifiers.contains(KeyModifiers::ALT)
            && !k.modifiers.contains(KeyModifiers::CONTROL)
            && let KeyCode::Char(_) = k.code
        {
            let mut plain = k;
            plain.modifiers.remove(KeyModifiers::ALT);
            self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), fx);
            self.on_key(plain, fx);
            return;
        }
        if self.confirm_quit {
            self.confirm_quit = false;
            match k.code {
                KeyCode::Char('y') | KeyCode::Char('q') => self.quit_now(fx),
                _ => self.info("not quitting"),
            }
            return;
        }
        if self.help {
            self.help = false;
            return;
        }
        if let Some(o) = self.overlay.clone() {
            self.key_overlay(o, k, fx);
            return;
        }
        if self.focus == Focus::Command {
            self.key_command(k, fx);
        } else {
            self.key_normal(k, fx);
        }
    }
    pub(crate) fn key_normal(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let on_log = self.focus == Focus::Log;
        let on_maps = self.focus == Focus::Maps;
        match k.code {
            KeyCode::Char('c') if ctrl => self.stop_running(fx),
            // other control keys mean nothing here (Ctrl-X is not x)
            KeyCode::Char(_) if ctrl => {}
            KeyCode::Char('q') => self.ask_quit(fx),
            KeyCode::Char('n') | KeyCode::Right if self.step + 1 < self.lesson.steps.len() => {
                self.set_step(self.step + 1, fx);
            }
            KeyCode::Char('n') | KeyCode::Right => {
                let next = self.all.iter().find(|l| l.number > self.lesson.number);
                let msg = match next {
                    Some(l) => format!(
                        "this is the last step of lesson {}: press l, then {} and Enter, for \
                         lesson {}: {}",
                        self.lesson.number, l.number, l.number, l.title
                    ),
                    None => format!(
                        "this is the last step of the last lesson ({})",
                        self.lesson.number
                    ),
                };
                self.info(msg);
            }
            KeyCode::Char('p') | KeyCode::Left => self.set_step(self.step.saturating_sub(1), fx),
            KeyCode::Char('r') | KeyCode::Enter => self.run_step(fx),
            KeyCode::Char('c') => self.start_check(fx),
            KeyCode::Char('h') => self.next_hint(fx),
            KeyCode::Char('e') => self.edit(fx),
            KeyCode::Char('x') => self.ask_reset(),
            KeyCode::Char('s') => self.show_solution(),
            KeyCode::Char('l') => {
                let selected = self
                    .all
                    .iter()
                    .position(|l| l.id == self.lesson.id)
                    .unwrap_or(0);
                self.overlay = Some(Overlay::Lessons { selected });
            }
            KeyCode::Char('v') => {
                if matches!(self.check, CheckView::NotRun) && self.verifier.is_none() {
                    self.info("no check has run yet: c runs it");
                } else {
                    self.show_check = !self.show_check;
                    if !self.show_check && self.focus == Focus::Verifier {
                        self.focus = Focus::Lesson;
                        self.zoom = false;
                    }
                }
            }
            KeyCode::Char('t') => self.toggle_traffic(fx),
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Char(':') | KeyCode::Char('/') => {
                self.last_pane = self.focus;
                self.focus = Focus::Command;
            }
            KeyCode::Char('z') => self.zoom = !self.zoom,
            KeyCode::Esc if self.foreground().is_some() => self.stop_running(fx),
            KeyCode::Esc => {
                if self.zoom {
                    self.zoom = false;
                } else if self.show_check {
                    self.show_check = false;
                    if self.focus == Focus::Verifier {
                        self.focus = Focus::Lesson;
                    }
                }
            }
            KeyCode::Tab => self.cycle_focus(false),
            KeyCode::BackTab => self.cycle_focus(true),
            KeyCode::PageDown | KeyCode::Char(' ') if on_maps => self.scroll_maps(10),
            KeyCode::PageUp | KeyCode::Char('b') if on_maps => self.scroll_maps(-10),
            KeyCode::Down | KeyCode::Char('j') if on_maps => self.scroll_maps(1),
            KeyCode::Up | KeyCode::Char('k') if on_maps => self.scroll_maps(-1),
            KeyCode::Home | KeyCode::Char('g') if on_maps => self.maps_scroll = 0,
            KeyCode::End | KeyCode::Char('G') if on_maps => self.scroll_maps(isize::MAX / 2),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                if on_log {
                    self.scroll_log(-10)
                } else {
                    let p = self.text_page() as isize;
                    self.scroll_text(p)
                }
            }
            KeyCode::PageUp | KeyCode::Char('b') => {
                if on_log {
                    self.scroll_log(10)
                } else {
                    let p = self.text_page() as isize;
                    self.scroll_text(-p)
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                if on_log {
                    self.scroll_log(-1)
                } else {
                    self.scroll_text(1)
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                if on_log {
                    self.scroll_log(1)
                } else {
                    self.scroll_text(-1)
                }
            }
            KeyCode::Home | KeyCode::Char('g') => {
                if on_log {
                    self.log_scroll = self.log.len().saturating_sub(1)
                } else {
                    self.text_scroll = 0
                }
            }
            KeyCode::End | KeyCode::Char('G') => {
                if on_log {
                    self.log_scroll = 0
                } else {
                    self.scroll_text(isize::MAX / 2)
                }
            }
            _ => {}
        }
    }
    pub(crate) fn key_command(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if k.code != KeyCode::Tab {
            self.cmd.candidates.clear();
        }
        match k.code {
            // Esc abandons the line (as in vi's command line): a key typed after it goes to
            // the panes, and the next `:` starts empty
            KeyCode::Esc => {
                self.cmd.set(String::new());
                self.focus = self.last_pane;
            }
            // Ctrl-C stops the command that runs in the foreground, as the status line
            // says, keeping what was typed; else it clears the line, then stops the
            // background traffic, then leaves the line
            KeyCode::Char('c') if ctrl => {
                if self.foreground().is_some() || (self.busy() && self.cmd.input.is_empty()) {
                    self.stop_running(fx);
                } else if !self.cmd.input.is_empty() {
                    self.cmd.set(String::new());
                } else {
                    self.focus = self.last_pane;
                }
            }
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.cmd.input);
                self.cmd.cursor = 0;
                self.cmd.hist_pos = None;
                let t = line.trim().to_string();
                if !t.is_empty() && self.cmd.history.last() != Some(&t) {
                    self.cmd.history.push(t.clone());
                }
                self.submit(&t, fx);
            }
            KeyCode::Tab => fx.push(Effect::Complete {
                line: self.cmd.input.clone(),
                pos: self.cmd.cursor,
            }),
            KeyCode::Backspace => {
                if self.cmd.cursor > 0 {
                    let p = self.cmd.prev_boundary();
                    self.cmd.input.replace_range(p..self.cmd.cursor, "");
                    self.cmd.cursor = p;
                } else if self.cmd.input.is_empty() {
                    self.focus = self.last_pane;
                }
            }
            KeyCode::Delete => {
                let n = self.cmd.next_boundary();
                self.cmd.input.replace_range(self.cmd.cursor..n, "");
            }
            KeyCode::Left => self.cmd.cursor = self.cmd.prev_boundary(),
            KeyCode::Right => self.cmd.cursor = self.cmd.next_boundary(),
            KeyCode::Home => self.cmd.cursor = 0,
            KeyCode::End => self.cmd.cursor = self.cmd.input.len(),
            KeyCode::Char('a') if ctrl => self.cmd.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cmd.cursor = self.cmd.input.len(),
            KeyCode::Char('u') if ctrl => {
                self.cmd.input.replace_range(..self.cmd.cursor, "");
                self.cmd.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let head = &self.cmd.input[..self.cmd.cursor];
                let start = head.trim_end().rfind(' ').map(|i| i + 1).unwrap_or(0);
                self.cmd.input.replace_range(start..self.cmd.cursor, "");
                self.cmd.cursor = start;
            }
            KeyCode::Up => self.cmd.history_up(),
            KeyCode::Down => self.cmd.history_down(),
            KeyCode::PageUp => self.scroll_log(10),
            KeyCode::PageDown => self.scroll_log(-10),
            KeyCode::Char(c) if !ctrl => self.cmd.insert(c),
            _ => {}
        }
    }
    /// A key that is not the overlay's closes it, and a letter does what it does without
    /// the overlay (`n` moves on: a hint open does not swallow it).
    fn close_overlay_then(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        self.overlay = None;
        if let KeyCode::Char(_) = k.code {
            self.key_normal(k, fx);
        }
    }

    pub(crate) fn key_overlay(&mut self, o: Overlay, k: KeyEvent, fx: &mut Vec<Effect>) {
        match o {
            Overlay::Lessons { selected } => {
                let n = self.all.len();
                match k.code {
                    KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                        self.overlay = Some(Overlay::Lessons {
                            selected: (selected + 1).min(n - 1),
                        })
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.overlay = Some(Overlay::Lessons {
                            selected: selected.saturating_sub(1),
                        })
                    }
                    KeyCode::Char(c @ '1'..='9') => {
                        if let Some(i) = self
                            .all
                            .iter()
                            .position(|l| l.number.to_string() == c.to_string())
                        {
                            self.overlay = Some(Overlay::Lessons { selected: i });
                        }
                    }
                    KeyCode::Enter => {
                        self.overlay = None;
                        if let Some(l) = self.all.get(selected).cloned()
                            && l.id != self.lesson.id
                        {
                            self.open_lesson(l, fx);
                        }
                    }
                    _ => self.overlay = None,
                }
            }
            Overlay::Hints => match k.code {
                KeyCode::Char('h') => self.next_hint(fx),
                _ => self.close_overlay_then(k, fx),
            },
            Overlay::Solution { scroll } => {
                let lines = self.solution_text().map_or(0, |t| t.lines().count());
                let d: isize = match k.code {
                    KeyCode::Down | KeyCode::Char('j') => 1,
                    KeyCode::Up | KeyCode::Char('k') => -1,
                    KeyCode::PageDown | KeyCode::Char(' ') => 10,
                    KeyCode::PageUp | KeyCode::Char('b') => -10,
                    _ => {
                        self.close_overlay_then(k, fx);
                        return;
                    }
                };
                let max = lines.saturating_sub(1) as isize;
                self.overlay = Some(Overlay::Solution {
                    scroll: (scroll as isize + d).clamp(0, max) as usize,
                });
            }
            Overlay::ConfirmReset => {
                self.overlay = None;
                match (k.code, self.exercise) {
                    (KeyCode::Char('y'), Some(i)) => fx.push(Effect::ResetExercise {
                        lesson: Box::new(self.lesson.clone()),
                        exercise: i,
                    }),
                    _ => self.info("not reset"),
                }
            }
        }
    }
    pub(crate) fn cycle_focus(&mut self, back: bool) {
        let visible: Vec<Focus> = {
            let r = self.regions();
            let mut v = vec![Focus::Lesson];
            // stacked, the topology takes the text's place while focused
            if r.topo.is_some() || self.zoom || r.stacked {
                v.push(Focus::Topology);
            }
            if r.maps.is_some() || self.zoom {
                v.push(Focus::Maps);
            }
            if r.log.is_some() || self.zoom {
                v.push(Focus::Log);
            }
            if self.verifier.is_some() && self.show_check {
                v.push(Focus::Verifier);
            }
            if self.uses_chains {
                v.push(Focus::Trace);
            }
            v
        };
        let cur = self.focus;
        let i = visible.iter().position(|f| *f == cur).unwrap_or(0);
        let n = visible.len();
        self.focus = visible[if back { (i + n - 1) % n } else { (i + 1) % n }];
        self.last_pane = self.focus;
    }
    pub(crate) fn scroll_text(&mut self, delta: isize) {
        self.text_following = false;
        self.clamp_text_scroll(delta);
    }
    /// Moves the text by `delta` lines, within the text.
    pub(crate) fn clamp_text_scroll(&mut self, delta: isize) {
        let max = self.text_lines().saturating_sub(self.text_page());
        self.text_scroll = (self.text_scroll as isize + delta).clamp(0, max as isize) as usize;
    }
    /// Moves the maps pane by `delta` lines, within what it does not show.
    pub(crate) fn scroll_maps(&mut self, delta: isize) {
        let max = self.regions().maps.map_or(0, |r| {
            let lines = maps_lines(self, inner_width(r), maps_compact(self, r));
            lines.saturating_sub(r.height.saturating_sub(2) as usize)
        });
        self.maps_scroll =
            (self.maps_scroll.min(max) as isize + delta).clamp(0, max as isize) as usize;
    }
    pub(crate) fn scroll_log(&mut self, delta: isize) {
        let max = self.log.len().saturating_sub(1);
        self.log_scroll = (self.log_scroll as isize + delta).clamp(0, max as isize) as usize;
    }
}
