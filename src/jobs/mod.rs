//! Background work: a dedicated CPU thread pool (inference never runs on the async runtime) and the durable
//! SQLite-backed job queue's worker loop (claim, run, complete or retry with backoff).

mod pool;

pub use pool::{CpuPool, PoolError};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::{JobKind, JobRow, Store};

/// How a worker treats failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a job is marked failed for good.
    pub max_attempts: i64,
    /// First retry delay; doubles per attempt, capped at an hour.
    pub first_delay_s: i64,
}

impl RetryPolicy {
    /// Seconds to wait before attempt `attempts + 1`, or None when the job has had its attempts.
    pub fn delay(&self, attempts: i64) -> Option<i64> {
        (attempts < self.max_attempts).then(|| (self.first_delay_s << (attempts - 1).clamp(0, 20)).min(3_600))
    }
}

/// Runs jobs of `kind` one at a time until the process ends: `run(job)` does the work; `Ok` removes the job,
/// `Err` (its message is kept in the job's `last_error`) queues it again after the policy's backoff (or marks it
/// failed). `wake` is notified when new jobs arrive; the queue is also polled every few seconds (jobs whose
/// backoff has expired, other processes).
/// Supervised: a panic is logged and the worker starts again (the job it held is requeued at the next start
/// of the process, like any interrupted job).
pub fn spawn_worker<F, Fut, E>(
    store: Store,
    kind: JobKind,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    run: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(JobRow) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let run = Arc::new(run);
    crate::tasks::supervise(kind.as_str(), move || {
        let (store, wake, run) = (store.clone(), wake.clone(), run.clone());
        work(store, kind, policy, wake, run)
    })
}

async fn work<F, Fut, E>(store: Store, kind: JobKind, policy: RetryPolicy, wake: Arc<Notify>, run: Arc<F>)
where
    F: Fn(JobRow) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display + Send + 'static,
{
    loop {
        let job = match store.claim_job(kind).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(%kind, "cannot claim a job: {e}");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        let Some(job) = job else {
            let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            continue;
        };
        let (id, attempts, key) = (job.id, job.attempts, job.key.clone());
        let outcome = run(job).await;
        let stored = match outcome {
            Ok(()) => store.complete_job(id).await,
            Err(e) => {
                let retry = policy.delay(attempts);
                tracing::warn!(%kind, key, attempts, retry_in_s = ?retry, "job failed: {e}");
                store.fail_job(id, &e.to_string(), retry).await
            }
        };
        if let Err(e) = stored {
            tracing::warn!(%kind, key, "cannot record a job's outcome: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stops() {
        let p = RetryPolicy { max_attempts: 4, first_delay_s: 30 };
        assert_eq!((p.delay(1), p.delay(2), p.delay(3), p.delay(4)), (Some(30), Some(60), Some(120), None));
        let p = RetryPolicy { max_attempts: 100, first_delay_s: 30 };
        assert_eq!(p.delay(60), Some(3_600));
    }
}
