//! One generation in flight: every event it produced so far (the replay buffer) plus a broadcast of new ones,
//! so a reader who arrives late, or lags behind, still receives the whole stream from the start, in order,
//! without gaps or duplicates.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::broadcast;

/// One event for the readers: an SSE event name and its JSON data, numbered from 0 within its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: usize,
    pub kind: &'static str,
    pub data: Value,
}

impl Event {
    /// Events after which nothing more comes.
    pub fn is_terminal(&self) -> bool {
        matches!(self.kind, "complete" | "error" | "unconfigured")
    }
}

pub struct Generation {
    inner: Mutex<Inner>,
}

struct Inner {
    events: Vec<Event>,
    tx: broadcast::Sender<Event>,
    finished: bool,
}

impl Default for Generation {
    fn default() -> Self {
        Self::new()
    }
}

impl Generation {
    pub fn new() -> Self {
        // Small: a lagging reader re-reads the replay buffer instead of relying on the channel's capacity.
        let (tx, _) = broadcast::channel(256);
        Generation { inner: Mutex::new(Inner { events: Vec::new(), tx, finished: false }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state is a list of sent events: still consistent after a panic elsewhere.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends and broadcasts an event; ignored once a terminal event was published.
    pub fn publish(&self, kind: &'static str, data: Value) {
        let mut inner = self.lock();
        if inner.finished {
            return;
        }
        let ev = Event { seq: inner.events.len(), kind, data };
        inner.finished = ev.is_terminal();
        inner.events.push(ev.clone());
        let _ = inner.tx.send(ev); // no receivers is fine
    }

    pub fn is_finished(&self) -> bool {
        self.lock().finished
    }

    /// A reader: everything so far, then what follows. Taken under the lock, so nothing falls in between.
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        let inner = self.lock();
        Subscription {
            source: Source::Live(Arc::clone(self), inner.tx.subscribe()),
            pending: inner.events.iter().cloned().collect(),
            next: inner.events.len(),
            done: false,
        }
    }
}

/// Events in order, ending after the terminal one.
pub struct Subscription {
    source: Source,
    pending: VecDeque<Event>,
    next: usize,
    done: bool,
}

enum Source {
    Live(Arc<Generation>, broadcast::Receiver<Event>),
    Fixed,
}

impl Subscription {
    /// A finished stream (a cached summary, a refusal).
    pub fn fixed(events: Vec<Event>) -> Self {
        let next = events.len();
        Subscription { source: Source::Fixed, pending: events.into(), next, done: false }
    }

    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if self.done {
                return None;
            }
            if let Some(ev) = self.pending.pop_front() {
                self.done = ev.is_terminal();
                return Some(ev);
            }
            let Source::Live(generation, rx) = &mut self.source else { return None };
            match rx.recv().await {
                Ok(ev) if ev.seq < self.next => continue, // already replayed
                Ok(ev) => {
                    self.next = ev.seq + 1;
                    self.pending.push_back(ev);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let inner = generation.lock();
                    self.pending.extend(inner.events.iter().skip(self.next).cloned());
                    self.next = inner.events.len();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    pub fn into_stream(self) -> impl futures::Stream<Item = Event> + Send {
        futures::stream::unfold(self, |mut s| async move { s.next().await.map(|ev| (ev, s)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn late_and_lagging_readers_get_everything_once() {
        let g = Arc::new(Generation::new());
        g.publish("question", json!({"index": 0}));
        let mut early = g.subscribe();
        for i in 0..1000 {
            g.publish("delta", json!({ "text": i }));
        }
        let mut late = g.subscribe();
        g.publish("complete", json!({}));
        g.publish("delta", json!("ignored after the end"));
        for sub in [&mut early, &mut late] {
            let mut seqs = Vec::new();
            while let Some(ev) = sub.next().await {
                seqs.push(ev.seq);
            }
            assert_eq!(seqs, (0..1002).collect::<Vec<_>>(), "the early reader lagged past the channel and caught up");
        }
        assert!(g.is_finished());
    }
}
