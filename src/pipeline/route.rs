//! Routing: every event of a repo goes to the same writer (`hash(did) % N`), so one repo's events
//! apply in stream order while different repos run in parallel. Channels are bounded: a full one
//! blocks the sender, and that blocking is the backpressure, all the way back to the socket.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::progress::Progress;
use crate::decode::TypedEvent;
use crate::writer::{writer_for, Envelope};

/// The writer's channel is closed: the writers have stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WritersGone;

pub struct Router {
    senders: Vec<Sender<Envelope>>,
    progress: Arc<Progress>,
}

impl Router {
    pub fn new(senders: Vec<Sender<Envelope>>, progress: Arc<Progress>) -> Router {
        Router { senders, progress }
    }

    /// Registers the event with the watermark and hands it to its writer, blocking while that
    /// writer's channel is full. Events without a repo (`#info`) never reach here.
    pub fn send(&self, did: &str, event: TypedEvent, received: Instant) -> Result<(), WritersGone> {
        let seq = event.seq().unwrap_or(-1);
        let time = event
            .time()
            .and_then(|t| crate::syntax::parse_datetime(t).ok());
        let ticket = self.progress.register(seq, time);
        let envelope = Envelope::event(ticket, event, received);
        self.senders[writer_for(did, self.senders.len())]
            .send(envelope)
            .map_err(|_| WritersGone)
    }

    /// Records a seq we will not apply (a bad frame, a skipped type) so the watermark can pass it.
    pub fn pass(&self, seq: i64) {
        let ticket = self.progress.register(seq, None);
        self.progress.done(ticket);
    }

    /// Events waiting in the writers' channels.
    pub fn queued(&self) -> usize {
        self.senders.iter().map(Sender::len).sum()
    }
}
