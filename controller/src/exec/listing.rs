//! `--list-hosts`, `--list-tasks` and `--list-tags`: what would run, as
//! `ansible-playbook` prints it, without running anything.
//!
//! Where Ansible prints a Python set (a play's hosts and tags), its order
//! depends on the interpreter's hash seed; Rustle prints inventory and
//! definition order instead.

use std::sync::Arc;

use serde_json::Value;

use super::{tags, value_to_string, Runner};
use crate::playbook::{Item, Play, Playbook};

/// What to list (several may be asked at once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListWhat {
    pub hosts: bool,
    pub tasks: bool,
    pub tags: bool,
}

impl ListWhat {
    pub fn any(&self) -> bool {
        self.hosts || self.tasks || self.tags
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in v {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// One listed task: its shown name and its own plus inherited tags.
struct Listed {
    name: String,
    tags: Vec<String>,
}

/// Walks `block:` sections only, as Ansible's listing does (rescue and
/// always tasks are not listed), skipping tasks the tag selection drops.
fn walk(
    items: &[Item],
    inherited: &[String],
    play_tags: &[String],
    sel: (&[String], &[String]),
    render: &dyn Fn(Vec<String>) -> Vec<String>,
    out: &mut Vec<Listed>,
) {
    for it in items {
        match it {
            Item::Block(b) => {
                let mut t = inherited.to_vec();
                t.extend(render(tags::tag_values(b.attrs.get("tags"))));
                walk(&b.block, &t, play_tags, sel, render, out);
            }
            Item::Task(task) => {
                let mut t = inherited.to_vec();
                t.extend(render(tags::tag_values(task.attrs.get("tags"))));
                let mut all = t.clone();
                all.extend(play_tags.iter().cloned());
                if !tags::allow(&all, sel.0, sel.1) {
                    continue;
                }
                let name = match task.name() {
                    Some(n) if !n.is_empty() => match &task.role {
                        Some(r) => format!("{} : {n}", r.name),
                        None => n.to_owned(),
                    },
                    _ => task.action.clone(),
                };
                out.push(Listed { name, tags: t });
            }
        }
    }
}

impl Runner<'_> {
    /// Prints the listing for every playbook; returns the exit code.
    /// `shown` are the playbook paths as given on the command line.
    pub fn list(&mut self, books: &[Playbook], shown: &[String], what: ListWhat) -> u8 {
        // Every play is evaluated before anything is shown, as Ansible
        // does: an error leaves only the error.
        let mut shown_text = Vec::new();
        for (book, shown) in books.iter().zip(shown) {
            shown_text.push(format!("\nplaybook: {shown}"));
            for (idx, play) in book.plays.iter().enumerate() {
                match self.list_play(idx, play, what) {
                    Ok(text) => shown_text.extend(text),
                    Err(code) => {
                        self.cb.flush();
                        return code;
                    }
                }
            }
        }
        for t in shown_text {
            self.cb.display(&t);
        }
        self.cb.flush();
        0
    }

    fn list_play(&mut self, idx: usize, play: &Play, what: ListWhat) -> Result<Vec<String>, u8> {
        // Prompts are not asked when listing: defaults stand in.
        let play = match self.prompt_vars(play, None)? {
            Some(p) => Arc::new(p),
            None => Arc::new(play.clone()),
        };
        let vars = self.play_level_vars(&play);
        let template = |r: &Self, v: &Value| -> Result<Value, String> {
            r.templar.template(v, &vars).map_err(|e| e.to_string())
        };
        let patterns = self.play_patterns(&play)?;
        let host_list = patterns.join(",");
        let name = match play.attrs.get("name") {
            Some(n) => value_to_string(&template(self, n).unwrap_or_else(|_| n.clone())),
            None => host_list.clone(),
        };
        let play_tags = dedup(tags::play_tags(&play));
        let mut msg = format!(
            "\n  play #{} ({host_list}): {name}\tTAGS: [{}]",
            idx + 1,
            play_tags.join(",")
        );
        // The pattern is evaluated in every listing mode (an unmatched one
        // warns or, under HOST_PATTERN_MISMATCH=error, fails).
        let hosts = self.match_hosts(&play, &patterns)?;
        if what.hosts {
            let quoted: Vec<String> = patterns
                .iter()
                .map(|p| super::callback::py_repr(&Value::String(p.clone())))
                .collect();
            msg += &format!(
                "\n    pattern: [{}]\n    hosts ({}):",
                quoted.join(", "),
                hosts.len()
            );
            for h in &hosts {
                msg += &format!("\n      {h}");
            }
        }
        let mut out = vec![msg];
        if !(what.tasks || what.tags) {
            return Ok(out);
        }
        // The play as compiled: pre_tasks, roles then tasks, post_tasks.
        let mut blocks = Vec::new();
        let (mut h, mut d, mut v, mut seen) = (
            Vec::new(),
            serde_json::Map::new(),
            serde_json::Map::new(),
            Vec::new(),
        );
        for r in &play.roles {
            super::flatten_role(
                r,
                &mut blocks,
                &mut h,
                &mut d,
                &mut v,
                &mut seen,
                &super::RoleChain::default(),
            );
        }
        let mut items: Vec<Item> = play.pre_tasks.clone();
        items.extend(blocks);
        items.extend(play.tasks.iter().cloned());
        items.extend(play.post_tasks.iter().cloned());
        // `--list-tags` alone lists `never` tasks too (Ansible sets the
        // selection to `never,all` for it).
        let never_all = ["never".to_owned(), "all".to_owned()];
        let only: &[String] =
            if what.tags && self.cfg.tags.is_empty() && self.cfg.skip_tags.is_empty() {
                &never_all
            } else {
                &self.cfg.tags
            };
        let mut listed = Vec::new();
        let render = |t: Vec<String>| tags::render(&self.templar, t, &vars);
        walk(
            &items,
            &[],
            &play_tags,
            (only, &self.cfg.skip_tags),
            &render,
            &mut listed,
        );
        let mut text = String::new();
        if what.tasks {
            text += "    tasks:\n";
            for l in &listed {
                let mut t = dedup(play_tags.iter().chain(&l.tags).cloned().collect());
                t.sort();
                text += &format!("      {}\tTAGS: [{}]\n", l.name, t.join(", "));
            }
        }
        if what.tags {
            let mut t = dedup(
                play_tags
                    .iter()
                    .chain(listed.iter().flat_map(|l| &l.tags))
                    .cloned()
                    .collect(),
            );
            t.sort();
            text += &format!("      TASK TAGS: [{}]\n", t.join(", "));
        }
        out.push(text);
        Ok(out)
    }
}
