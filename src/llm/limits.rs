//! Budget protection in memory: the queue behind the global concurrency cap (the per-client token bucket is
//! [`crate::net::limits::RateLimiter`], shared with related papers and arXiv lookups).
//! (The daily cap lives in SQLite so a restart does not reset it.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// The global cap on generations at once. Waiters are served in arrival order (tokio's semaphore is fair),
/// and each can see its position in the line.
pub struct Queue {
    permits: Arc<Semaphore>,
    waiting: Mutex<Vec<u64>>,
    changed: watch::Sender<u64>,
    tickets: AtomicU64,
}

impl Queue {
    pub fn new(max_concurrent: usize) -> Self {
        Queue {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            waiting: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
            tickets: AtomicU64::new(0),
        }
    }

    /// Waits for a slot, calling `on_position(n)` (1 = next in line) whenever the position changes.
    pub async fn acquire(&self, on_position: impl Fn(usize)) -> OwnedSemaphorePermit {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return permit;
        }
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        self.edit(|w| w.push(ticket));
        let mut changes = self.changed.subscribe();
        let acquire = Arc::clone(&self.permits).acquire_owned();
        tokio::pin!(acquire);
        let mut shown = 0;
        let permit = loop {
            let position = self.edit(|w| w.iter().position(|&t| t == ticket).map_or(1, |i| i + 1));
            if position != shown {
                shown = position;
                on_position(position);
            }
            tokio::select! {
                permit = &mut acquire => break permit,
                _ = changes.changed() => {}
            }
        };
        self.edit(|w| w.retain(|&t| t != ticket));
        self.changed.send_modify(|v| *v += 1);
        permit.expect("the generation semaphore is never closed")
    }

    fn edit<T>(&self, f: impl FnOnce(&mut Vec<u64>) -> T) -> T {
        f(&mut self.waiting.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Generations waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.edit(|w| w.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_see_their_position() {
        let q = Arc::new(Queue::new(1));
        let first = q.acquire(|_| panic!("no wait")).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (q2, s2) = (Arc::clone(&q), Arc::clone(&seen));
        let second = tokio::spawn(async move { q2.acquire(move |p| s2.lock().unwrap().push(p)).await });
        while q.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        drop(first);
        drop(second.await.unwrap());
        assert_eq!(*seen.lock().unwrap(), [1]);
        assert_eq!(q.waiting(), 0);
    }
}
