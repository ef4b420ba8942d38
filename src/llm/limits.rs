//! Budget protection in memory: a per-client token bucket and the queue behind the global concurrency cap.
//! (The daily cap lives in SQLite so a restart does not reset it.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// `per_minute` new generations per client, in bursts of up to `per_minute`; 0 disables the limit.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Past this many tracked clients, full buckets (idle clients) are forgotten.
const MAX_TRACKED: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `client`, or says how long until one is available.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(self.per_minute);
        let per_sec = cap / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_sec < cap);
        }
        let (tokens, at) = buckets.entry(client).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(((1.0 - *tokens) / per_sec).max(1.0)))
        }
    }
}

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

    #[test]
    fn token_bucket_allows_a_burst_then_refuses() {
        let r = RateLimiter::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(r.check(ip).is_ok() && r.check(ip).is_ok());
        let wait = r.check(ip).unwrap_err();
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(r.check([10, 0, 0, 2].into()).is_ok(), "clients are separate");
        assert!(RateLimiter::new(0).check(ip).is_ok());
    }

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
