//! Background tasks that must not die silently: a task that panics is logged and started again.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

/// How long a panicked task rests before it starts again (so a task that panics at once cannot spin).
const REST: Duration = Duration::from_secs(5);

/// Runs the task `start` makes; when it panics, logs the panic with `name` and starts a new one after a rest.
/// Ends when a task returns normally or the runtime shuts down.
pub fn supervise<F, Fut>(name: &'static str, start: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    supervise_resting(name, REST, start)
}

fn supervise_resting<F, Fut>(name: &'static str, rest: Duration, start: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match tokio::spawn(start()).await {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    tracing::error!(task = name, "background task panicked; starting it again in {rest:?}");
                    tokio::time::sleep(rest).await;
                }
                Err(_) => return,
            }
        }
    })
}

/// Runs a one-off task (one that is not worth restarting: a build of the TF-IDF index, one summary's
/// generation) and logs it with `name` if it panics, so it cannot end without a trace.
pub fn spawn_logged<Fut>(name: &'static str, task: Fut) -> JoinHandle<()>
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let inner = tokio::spawn(task);
    tokio::spawn(async move {
        if let Err(e) = inner.await
            && e.is_panic()
        {
            tracing::error!(task = name, "background task panicked");
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_panicking_task_is_started_again() {
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let rest = std::time::Duration::from_millis(10);
        let handle = super::supervise_resting("test", rest, move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("boom");
                }
            }
        });
        handle.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "two panics, then a normal end");
    }

    #[tokio::test]
    async fn a_one_off_task_that_panics_is_reported_not_propagated() {
        let handle = super::spawn_logged("test", async { panic!("boom") });
        handle.await.expect("the watcher itself ends normally");
        let ran = Arc::new(AtomicU32::new(0));
        let r = ran.clone();
        super::spawn_logged("test", async move {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
