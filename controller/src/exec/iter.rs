//! Per-host iteration over a play section's blocks, with Ansible's
//! block/rescue/always semantics (PlayIterator's states, simplified to a
//! stack of frames).
//!
//! A failure in a block's tasks moves to its rescue (the failure is
//! rescued) or, without rescue, to its always and then on up; a failure in
//! rescue or always goes on up after the always ran; a failure that leaves
//! the outermost block fails the host.

use std::sync::Arc;

use crate::playbook::{Block, Item, Task};

/// Which list of a block a frame is walking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Block,
    Rescue,
    Always,
}

#[derive(Debug, Clone)]
struct Frame {
    block: Arc<Block>,
    section: Section,
    idx: usize,
    /// A failure is pending: it propagates once `always` has run.
    failing: bool,
}

/// A task with the chain of blocks that contain it (outermost first).
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub task: Arc<Task>,
    pub parents: Vec<Arc<Block>>,
    /// Position key: the section/index path, for lockstep ordering.
    pub key: Vec<(u8, usize)>,
    /// True when the task runs in a rescue section (a failure there is
    /// counted as failed, while one rescued from a block counts as rescued).
    pub in_rescue: bool,
}

/// Where one host is in a list of items.
#[derive(Debug, Clone)]
pub struct HostCursor {
    frames: Vec<Frame>,
    /// The host failed (unrescued) and is done.
    pub failed: bool,
    /// The task last returned by `peek`, until the cursor moves: the
    /// linear strategy peeks every host at every step.
    peeked: Option<Scheduled>,
}

fn section_items(b: &Block, s: Section) -> &[Item] {
    match s {
        Section::Block => &b.block,
        Section::Rescue => &b.rescue,
        Section::Always => &b.always,
    }
}

fn section_code(s: Section) -> u8 {
    match s {
        Section::Block => 0,
        Section::Rescue => 1,
        Section::Always => 2,
    }
}

impl HostCursor {
    /// A cursor over `items` (wrapped in an implicit top-level block).
    pub fn new(items: Vec<Item>) -> Self {
        let root = Arc::new(Block {
            pos: crate::playbook::SrcPos {
                file: Arc::from(""),
                line: 0,
                col: 0,
            },
            attrs: Default::default(),
            block: items,
            rescue: Vec::new(),
            always: Vec::new(),
            implicit: true,
            role: None,
        });
        HostCursor {
            frames: vec![Frame {
                block: root,
                section: Section::Block,
                idx: 0,
                failing: false,
            }],
            failed: false,
            peeked: None,
        }
    }

    fn key(&self) -> Vec<(u8, usize)> {
        self.frames
            .iter()
            .map(|f| (section_code(f.section), f.idx))
            .collect()
    }

    /// The next task to run, descending into blocks as needed; `None` when
    /// the host is done.
    pub fn peek(&mut self) -> Option<Scheduled> {
        if let Some(s) = &self.peeked {
            return Some(s.clone());
        }
        let next = self.find_next();
        self.peeked.clone_from(&next);
        next
    }

    fn find_next(&mut self) -> Option<Scheduled> {
        loop {
            let frame = self.frames.last_mut()?;
            let items = section_items(&frame.block, frame.section);
            if frame.idx < items.len() {
                match &items[frame.idx] {
                    Item::Task(t) => {
                        let task = Arc::new(t.clone());
                        let parents = self
                            .frames
                            .iter()
                            .skip(1)
                            .map(|f| f.block.clone())
                            .collect();
                        let in_rescue = self.frames.iter().any(|f| f.section == Section::Rescue);
                        return Some(Scheduled {
                            task,
                            parents,
                            key: self.key(),
                            in_rescue,
                        });
                    }
                    Item::Block(b) => {
                        // Descend; the parent's index stays on the block
                        // item and advances when the child frame pops.
                        let b = Arc::new(b.clone());
                        self.frames.push(Frame {
                            block: b,
                            section: Section::Block,
                            idx: 0,
                            failing: false,
                        });
                        continue;
                    }
                }
            }
            // The section is finished.
            self.finish_section();
            if self.failed {
                return None;
            }
        }
    }

    fn finish_section(&mut self) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        match frame.section {
            Section::Block | Section::Rescue => {
                frame.section = Section::Always;
                frame.idx = 0;
            }
            Section::Always => {
                let failing = frame.failing;
                self.frames.pop();
                match self.frames.last_mut() {
                    Some(parent) => {
                        parent.idx += 1;
                        if failing {
                            self.fail_current();
                        }
                    }
                    None => {
                        if failing {
                            self.failed = true;
                        }
                    }
                }
            }
        }
    }

    /// The task just peeked succeeded (or was skipped): move past it.
    pub fn advance(&mut self) {
        self.peeked = None;
        if let Some(f) = self.frames.last_mut() {
            f.idx += 1;
        }
    }

    /// The task just peeked failed. Returns whether the failure was
    /// rescued (a rescue section will run).
    pub fn fail(&mut self) -> bool {
        self.peeked = None;
        self.fail_current()
    }

    fn fail_current(&mut self) -> bool {
        let Some(frame) = self.frames.last_mut() else {
            self.failed = true;
            return false;
        };
        match frame.section {
            Section::Block if !frame.block.rescue.is_empty() => {
                frame.section = Section::Rescue;
                frame.idx = 0;
                true
            }
            Section::Block | Section::Rescue => {
                frame.failing = true;
                frame.section = Section::Always;
                frame.idx = 0;
                if frame.block.always.is_empty() {
                    // Nothing to run: propagate now.
                    self.finish_section();
                }
                false
            }
            Section::Always => {
                frame.failing = true;
                frame.idx = usize::MAX / 2;
                self.finish_section();
                false
            }
        }
    }

    /// Skips the rest of the innermost role (meta: end_role), always
    /// sections included; false when not inside a role.
    pub fn end_role(&mut self) -> bool {
        self.peeked = None;
        let Some(i) = self.frames.iter().rposition(|f| f.block.role.is_some()) else {
            return false;
        };
        self.frames.truncate(i);
        if let Some(p) = self.frames.last_mut() {
            p.idx += 1;
        }
        true
    }

    /// Ends the host's iteration (meta: end_host, end_play).
    pub fn end(&mut self) {
        self.peeked = None;
        self.frames.clear();
    }

    /// Whether the innermost block with a rescue section is in its block
    /// section, i.e. a failure now would be rescued.
    pub fn will_rescue(&self) -> bool {
        // A failure climbs through blocks (after their always) until one in
        // its block section has a rescue.
        self.frames
            .iter()
            .rev()
            .any(|f| f.section == Section::Block && !f.block.rescue.is_empty())
    }

    /// Runs `block` (dynamically included tasks) next, in place of the
    /// include task just peeked: the cursor moves past the include task
    /// once the included block is done. Call instead of [`advance`].
    pub fn insert(&mut self, block: Block) {
        self.peeked = None;
        if block.block.is_empty() {
            self.advance();
            return;
        }
        self.frames.push(Frame {
            block: Arc::new(block),
            section: Section::Block,
            idx: 0,
            failing: false,
        });
    }
}
