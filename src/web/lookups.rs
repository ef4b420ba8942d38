//! On-demand arXiv lookups for paper pages whose ids are not in the store, bounded so that an anonymous
//! client cannot spend the instance's arXiv budget.
//!
//! An adversarial probe found that twelve concurrent requests for valid-looking unknown ids each waited up
//! to 15 s behind the 3-second politeness limit, delayed the scheduled ingest, and left ids never actually
//! asked cached as misses. Now:
//! - each client may start [`ServerConfig::lookups_per_client_per_minute`] lookups a minute (ids already
//!   queued cost nothing);
//! - ids wait in one queue of at most [`ServerConfig::lookup_queue_max`] ids; one worker asks arXiv for
//!   them in batches (one API request holds up to 100 ids), so a burst of requests is one request upstream;
//! - the worker leaves at least two politeness intervals between its requests, so the scheduled ingest,
//!   which shares the client and its per-host limiter, keeps at least two of every three request slots;
//!   after a failed batch it waits longer (doubling, up to a minute) while arXiv is in trouble;
//! - a request waits at most [`ServerConfig::lookup_wait_s`]; when the queue ahead is longer than one
//!   batch, or the wait runs out, it answers at once with a page that refreshes itself;
//! - only ids arXiv answered as absent (in a complete feed) are remembered as misses, for [`MISS_TTL`].
//!
//! [`ServerConfig::lookups_per_client_per_minute`]: crate::config::ServerConfig::lookups_per_client_per_minute
//! [`ServerConfig::lookup_queue_max`]: crate::config::ServerConfig::lookup_queue_max
//! [`ServerConfig::lookup_wait_s`]: crate::config::ServerConfig::lookup_wait_s

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::app::App;
use crate::domain::ArxivId;
use crate::ingest::RunSummary;
use crate::net::limits::RateLimiter;

/// How long an id arXiv answered as absent is not asked again.
const MISS_TTL: Duration = Duration::from_secs(300);
/// Misses remembered at most (older ones are dropped first when full).
const MISS_MAX: usize = 10_000;
/// Ids per arXiv request (the API's `id_list` takes many; 100 keeps one answer small).
const BATCH: usize = 100;
/// The longest a batch may take, retries included, before the worker moves on.
const BATCH_BUDGET: Duration = Duration::from_secs(120);
/// The longest wait after failed batches.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What became of a request's missing ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every id was answered (found and stored, or absent at arXiv), or was a recent miss. `failed`: ids whose
    /// lookup failed (arXiv unreachable); they are asked again next time.
    Done { failed: Vec<ArxivId> },
    /// Still queued or being asked: answer with a page that refreshes itself.
    Waiting,
    /// Not looked up, and why (the reader's own rate or a full queue); `retry_after` for the header.
    Refused { message: String, retry_after: Duration },
}

#[derive(Default)]
struct Queue {
    /// Ids waiting, oldest first, each once.
    pending: VecDeque<ArxivId>,
    /// Ids in the batch being asked.
    in_flight: HashSet<String>,
    /// Ids arXiv answered as absent, and when.
    misses: HashMap<String, Instant>,
    /// Ids whose last lookup failed (reported once to the readers waiting for them).
    failed: HashSet<String>,
}

impl Queue {
    fn waiting_for(&self, id: &str) -> bool {
        self.in_flight.contains(id) || self.pending.iter().any(|p| p.as_str() == id)
    }

    fn recent_miss(&self, id: &str) -> bool {
        self.misses.get(id).is_some_and(|t| t.elapsed() < MISS_TTL)
    }
}

struct Inner {
    queue: Mutex<Queue>,
    wake: Notify,
    /// Bumped after every batch; waiters re-check their ids when it moves.
    done: watch::Sender<u64>,
    limiter: RateLimiter,
    queue_max: usize,
    wait: Duration,
    worker: OnceLock<()>,
}

/// The on-demand lookup queue; cheap to clone.
#[derive(Clone)]
pub struct Lookups(Arc<Inner>);

impl Lookups {
    pub fn new(config: &crate::config::ServerConfig) -> Self {
        Lookups(Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            done: watch::channel(0).0,
            limiter: RateLimiter::new(config.lookups_per_client_per_minute),
            queue_max: config.lookup_queue_max.max(1),
            wait: Duration::from_secs(config.lookup_wait_s),
            worker: OnceLock::new(),
        }))
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes sure `missing` (ids not in the store) are looked up, as far as the limits allow, and waits a
    /// little for them. `client`: the reader's address (none in tests without a socket: not rate-limited).
    pub async fn ensure(&self, app: &App, missing: &[ArxivId], client: Option<IpAddr>) -> Outcome {
        let mut done = self.0.done.subscribe();
        let (ours, fresh, ahead) = {
            let q = self.queue();
            let ours: Vec<ArxivId> = missing.iter().filter(|id| !q.recent_miss(id.as_str())).cloned().collect();
            let fresh: Vec<ArxivId> = ours.iter().filter(|id| !q.waiting_for(id.as_str())).cloned().collect();
            (ours, fresh, q.pending.len())
        };
        if ours.is_empty() {
            return Outcome::Done { failed: Vec::new() };
        }
        if !fresh.is_empty() {
            if let Some(ip) = client
                && let Err(wait) = self.0.limiter.check(ip)
            {
                return Outcome::Refused {
                    message: format!(
                        "You have asked for many papers this Papertide does not have yet; it can look more up at \
                         arXiv in {} s.",
                        wait.as_secs().max(1)
                    ),
                    retry_after: wait,
                };
            }
            let mut q = self.queue();
            if q.pending.len() + fresh.len() > self.0.queue_max {
                return Outcome::Refused {
                    message: "Many papers are being looked up at arXiv just now; please try again in a minute."
                        .to_string(),
                    retry_after: Duration::from_secs(60),
                };
            }
            for id in &fresh {
                q.failed.remove(id.as_str());
                q.pending.push_back(id.clone());
            }
            drop(q);
            self.start_worker(app);
            self.0.wake.notify_one();
        }
        // More than a batch ahead: the answer will take several politeness intervals; do not hold the
        // connection for it.
        if ahead >= BATCH {
            return Outcome::Waiting;
        }
        let deadline = Instant::now() + self.0.wait;
        loop {
            {
                let q = self.queue();
                if ours.iter().all(|id| !q.waiting_for(id.as_str())) {
                    let failed = ours.iter().filter(|id| q.failed.contains(id.as_str())).cloned().collect();
                    return Outcome::Done { failed };
                }
            }
            match tokio::time::timeout_at(deadline, done.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Outcome::Waiting,
            }
        }
    }

    fn start_worker(&self, app: &App) {
        self.0.worker.get_or_init(|| {
            let (lookups, app) = (self.clone(), app.clone());
            crate::tasks::supervise("arXiv lookups", move || worker(lookups.clone(), app.clone()));
        });
    }
}

/// Asks arXiv for the queued ids, a batch at a time, spaced so the scheduled ingest keeps its share.
async fn worker(lookups: Lookups, app: App) {
    let spacing = Duration::from_millis(app.config.arxiv.request_interval_ms.saturating_mul(2));
    let mut failures: u32 = 0;
    // A batch left in flight by a worker that panicked (this one is its supervised restart) counts as failed,
    // so its readers are answered and a later visit asks again.
    {
        let mut q = lookups.queue();
        let stuck: Vec<String> = q.in_flight.drain().collect();
        q.failed.extend(stuck);
    }
    lookups.0.done.send_modify(|n| *n += 1);
    loop {
        let batch: Vec<ArxivId> = {
            let mut q = lookups.queue();
            let n = q.pending.len().min(BATCH);
            let batch: Vec<ArxivId> = q.pending.drain(..n).collect();
            q.in_flight = batch.iter().map(|id| id.as_str().to_string()).collect();
            batch
        };
        if batch.is_empty() {
            lookups.0.wake.notified().await;
            continue;
        }
        let mut summary = RunSummary::new("api");
        let result =
            tokio::time::timeout(BATCH_BUDGET, crate::ingest::lookup::lookup(&app, &batch, &mut summary)).await;
        let absent: Vec<ArxivId> = match result {
            Ok(Ok(absent)) => absent,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "on-demand arXiv lookup failed");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(ids = batch.len(), "on-demand arXiv lookup ran out of time");
                Vec::new()
            }
        };
        if !summary.errors.is_empty() {
            tracing::warn!(errors = ?summary.errors, "on-demand arXiv lookup failed");
        }
        let wanted: Vec<String> = batch.iter().map(|id| id.as_str().to_string()).collect();
        let stored: HashSet<String> = match app.store.get_papers(&wanted).await {
            Ok(papers) => papers.into_iter().map(|p| p.id.to_string()).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the store after a lookup");
                HashSet::new()
            }
        };
        let any_failed = {
            let mut q = lookups.queue();
            if q.misses.len() >= MISS_MAX {
                q.misses.retain(|_, t| t.elapsed() < MISS_TTL);
            }
            let now = Instant::now();
            let mut any_failed = false;
            for id in &batch {
                let key = id.as_str();
                if stored.contains(key) {
                    continue;
                }
                if absent.iter().any(|a| a.as_str() == key) {
                    q.misses.insert(key.to_string(), now);
                } else {
                    q.failed.insert(key.to_string());
                    any_failed = true;
                }
            }
            q.in_flight.clear();
            any_failed
        };
        lookups.0.done.send_modify(|n| *n += 1);
        failures = if any_failed { failures.saturating_add(1) } else { 0 };
        let backoff = if failures == 0 {
            spacing
        } else {
            (spacing.max(Duration::from_secs(1)) * 2u32.saturating_pow(failures.min(6))).min(MAX_BACKOFF)
        };
        tokio::time::sleep(backoff).await;
    }
}
