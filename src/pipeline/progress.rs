//! The cursor's low-watermark: the highest seq such that every event at or below it has been
//! committed (or deliberately skipped). Writers finish events out of order across repos; the
//! watermark only moves over the finished prefix of the stream, so a cursor saved from it never
//! points past work that could still be lost.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::source::Resume;
use crate::writer::{Ledger, Ticket};

#[derive(Debug)]
struct Slot {
    seq: i64,
    time: Option<DateTime<Utc>>,
    done: bool,
}

#[derive(Debug)]
struct Inner {
    /// Ticket number of `queue[0]`.
    front: u64,
    queue: VecDeque<Slot>,
    watermark: Option<i64>,
    watermark_time: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct Progress {
    inner: Mutex<Inner>,
}

impl Progress {
    /// Starts from the cursor we resumed from (everything at or below it is already committed).
    pub fn new(start: Option<i64>) -> Progress {
        Progress {
            inner: Mutex::new(Inner {
                front: 0,
                queue: VecDeque::new(),
                watermark: start,
                watermark_time: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves the queue consistent (every operation is a
        // single push, flag or pop), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an event in stream order, before it is handed to a writer.
    pub fn register(&self, seq: i64, time: Option<DateTime<Utc>>) -> Ticket {
        let mut g = self.lock();
        let ticket = Ticket(g.front + g.queue.len() as u64);
        g.queue.push_back(Slot {
            seq,
            time,
            done: false,
        });
        ticket
    }

    /// Marks an event committed (or skipped for good) and advances the watermark over the
    /// finished prefix.
    pub fn done(&self, ticket: Ticket) {
        let mut g = self.lock();
        let Some(index) = ticket.0.checked_sub(g.front) else {
            return;
        };
        if let Some(slot) = g.queue.get_mut(index as usize) {
            slot.done = true;
        }
        while g.queue.front().is_some_and(|s| s.done) {
            if let Some(slot) = g.queue.pop_front() {
                g.front += 1;
                // A relay that sends a seq lower than one before it must not move us back.
                if g.watermark.is_none_or(|w| slot.seq > w) {
                    g.watermark = Some(slot.seq);
                    g.watermark_time = slot.time.or(g.watermark_time);
                }
            }
        }
    }

    /// The cursor to save or resume from, and the relay time of that event.
    pub fn watermark(&self) -> (Option<i64>, Option<DateTime<Utc>>) {
        let g = self.lock();
        (g.watermark, g.watermark_time)
    }

    /// Forgets the watermark (after `FutureCursor`, when we start over from the live tip): the
    /// next finished event sets it, whatever its seq.
    pub fn restart_at(&self, cursor: Option<i64>) {
        let mut g = self.lock();
        g.watermark = cursor;
        g.watermark_time = None;
    }

    /// Events registered and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.lock().queue.len()
    }
}

impl Ledger for Progress {
    fn done(&self, ticket: Ticket) {
        Progress::done(self, ticket);
    }
}

impl Resume for Progress {
    fn cursor(&self) -> Option<i64> {
        self.watermark().0
    }

    fn restart_live(&self) {
        self.restart_at(None);
    }
}
