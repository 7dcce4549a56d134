//! A compact progress line for long runs on a terminal: the play, the
//! task, how many of the play's hosts are done with it and how many have
//! failed. It lives on stderr, only when stderr is a terminal, appears
//! once a run has taken a moment, and is erased before any other output,
//! so the callback's own output is unchanged (and nothing of it reaches a
//! log or a pipe).

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Runs shorter than this never show the line.
const DELAY: Duration = Duration::from_millis(1500);
/// Erase the current terminal line.
const CLEAR: &str = "\r\x1b[2K";

pub struct Progress {
    enabled: bool,
    started: Instant,
    play: String,
    hosts: usize,
    task: String,
    task_no: usize,
    done: usize,
    failed: HashSet<String>,
    shown: bool,
    width: usize,
}

impl Progress {
    /// On when stderr is a terminal, unless `RUSTLE_PROGRESS=0`.
    pub fn detect() -> Self {
        let wanted = std::env::var("RUSTLE_PROGRESS").map_or(true, |v| v != "0");
        Self::new(wanted && std::io::stderr().is_terminal())
    }

    pub fn new(enabled: bool) -> Self {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(80);
        Progress {
            enabled,
            started: Instant::now(),
            play: String::new(),
            hosts: 0,
            task: String::new(),
            task_no: 0,
            done: 0,
            failed: HashSet::new(),
            shown: false,
            width,
        }
    }

    /// Started `started` ago (tests).
    #[cfg(test)]
    fn started_at(mut self, started: Instant) -> Self {
        self.started = started;
        self
    }

    pub fn play(&mut self, name: &str, hosts: usize) {
        self.play = name.trim().to_owned();
        self.hosts = hosts;
        self.task.clear();
        self.task_no = 0;
        self.done = 0;
        self.failed.clear();
    }

    pub fn task(&mut self, title: &str) {
        self.task = title.trim().to_owned();
        self.task_no += 1;
        self.done = 0;
    }

    pub fn host_done(&mut self, host: &str, failed: bool) {
        self.done += 1;
        if failed {
            self.failed.insert(host.to_owned());
        }
    }

    /// The line as it would show now (None when hidden).
    pub fn line(&self) -> Option<String> {
        if !self.enabled || self.started.elapsed() < DELAY || self.play.is_empty() {
            return None;
        }
        let running = self.hosts.saturating_sub(self.done + self.failed.len());
        let mut text = format!(
            "[{}] task {}: {} | hosts {}/{} done, {} running, {} failed",
            self.play,
            self.task_no,
            self.task,
            self.done.min(self.hosts),
            self.hosts,
            running,
            self.failed.len()
        );
        if text.chars().count() >= self.width {
            text = text.chars().take(self.width.saturating_sub(2)).collect();
            text.push('…');
        }
        Some(text)
    }

    /// Draws the line on `err` (replacing the previous one).
    pub fn draw(&mut self, err: &mut dyn Write) {
        if let Some(line) = self.line() {
            let _ = write!(err, "{CLEAR}{line}");
            let _ = err.flush();
            self.shown = true;
        }
    }

    /// Erases the line before other output goes to the terminal.
    pub fn clear(&mut self, err: &mut dyn Write) {
        if self.shown {
            let _ = write!(err, "{CLEAR}");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_ago() -> Instant {
        Instant::now()
            .checked_sub(Duration::from_secs(10))
            .unwrap_or_else(Instant::now)
    }

    #[test]
    fn off_when_not_a_terminal_or_too_early() {
        let mut p = Progress::new(false).started_at(long_ago());
        p.play("web", 3);
        assert_eq!(p.line(), None);
        let mut p = Progress::new(true);
        p.play("web", 3);
        assert_eq!(p.line(), None);
    }

    #[test]
    fn counts_hosts_of_the_current_task() {
        let mut p = Progress::new(true).started_at(long_ago());
        p.play("web", 3);
        p.task("install");
        p.host_done("a", false);
        p.host_done("b", true);
        assert_eq!(
            p.line().as_deref(),
            Some("[web] task 1: install | hosts 2/3 done, 0 running, 1 failed")
        );
        p.task("configure");
        assert_eq!(
            p.line().as_deref(),
            Some("[web] task 2: configure | hosts 0/3 done, 2 running, 1 failed")
        );
    }

    #[test]
    fn draws_then_clears() {
        let mut p = Progress::new(true).started_at(long_ago());
        p.play("p", 1);
        p.task("t");
        let mut out = Vec::new();
        p.draw(&mut out);
        p.clear(&mut out);
        p.clear(&mut out);
        let text = String::from_utf8(out).unwrap_or_default();
        assert_eq!(
            text,
            format!("{CLEAR}[p] task 1: t | hosts 0/1 done, 1 running, 0 failed{CLEAR}")
        );
    }
}
