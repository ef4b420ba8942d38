//! Per-client rate limits for the CPU-, money- or upstream-costly paths (LLM summaries, related-paper
//! reranking, on-demand arXiv lookups): a token bucket per client address, in memory.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// `per_minute` actions per client, in bursts of up to `per_minute`; 0 disables the limit.
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
}
