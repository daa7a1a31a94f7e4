//! The writer's queue: writes wait here for the writer's next transaction.
//!
//! Unlike a channel, a write wakes the writer only when the writer wants it: when it
//! is idle (the queue was empty), or when it is gathering a batch under load and the
//! batch has reached its target. While it gathers, the writes in between are queued
//! without a wake-up each; the writer takes them all when its wait ends. Under load
//! that is a couple of wake-ups per transaction instead of one per write.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the writer gathers a transaction's writes under load.
#[derive(Clone, Copy, Debug)]
pub(super) struct Gathering {
    /// Enough writes for one transaction: the writer commits as soon as this many wait.
    pub target: usize,
    /// The longest the writer waits for them, from the first write it saw.
    pub wait: Duration,
}

pub(super) struct Queue<T> {
    state: Mutex<State<T>>,
    wake: Condvar,
}

struct State<T> {
    jobs: Vec<T>,
    /// How many queued writes wake the writer: 1 when it is idle, the gathering's
    /// target while it gathers, none (`usize::MAX`) while it runs a transaction.
    wake_at: usize,
    /// No more writes are taken (the store was closed, or the writer stopped).
    closed: bool,
}

/// Why a write was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Closed;

impl<T> Queue<T> {
    pub fn new() -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                jobs: Vec::new(),
                wake_at: usize::MAX,
                closed: false,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing here panics while holding the lock; if something did, the state is
        // still a list of writes and two numbers.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a write for the writer's next transaction.
    pub fn push(&self, job: T) -> Result<(), Closed> {
        let mut s = self.lock();
        if s.closed {
            return Err(Closed);
        }
        s.jobs.push(job);
        let wake = s.jobs.len() >= s.wake_at;
        if wake {
            // Once: the writes that follow until the writer runs need not wake it again.
            s.wake_at = usize::MAX;
        }
        drop(s);
        if wake {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Takes no more writes; the writer still takes those already queued.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// Takes no more writes and drops those queued (their callers hear that the
    /// writer dropped them): the writer has stopped.
    pub fn abandon(&self) {
        let jobs = {
            let mut s = self.lock();
            s.closed = true;
            std::mem::take(&mut s.jobs)
        };
        drop(jobs);
    }

    /// Waits for the next transaction's writes and moves them into `batch` (at most
    /// `most`). If the previous transaction held more than one write (`previous`), it
    /// waits for more, up to `gathering.target` or `gathering.wait` after the first.
    /// `false` once the queue is closed and empty.
    pub fn next_batch(
        &self,
        gathering: Gathering,
        previous: usize,
        most: usize,
        batch: &mut Vec<T>,
    ) -> bool {
        let mut s = self.lock();
        while s.jobs.is_empty() && !s.closed {
            s.wake_at = 1;
            s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.jobs.is_empty() {
            return false;
        }
        if previous > 1 {
            let until = Instant::now() + gathering.wait;
            let target = gathering.target.min(most);
            while s.jobs.len() < target && !s.closed {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                s.wake_at = target;
                s = self
                    .wake
                    .wait_timeout(s, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        s.wake_at = usize::MAX;
        let n = s.jobs.len().min(most);
        batch.extend(s.jobs.drain(..n));
        true
    }
}
