//! A small pool of dedicated OS threads for CPU-heavy work (cross-encoder inference), so it never occupies the
//! async runtime's workers (or tokio's blocking pool, which file I/O and tantivy also use). Its size is the
//! concurrency cap of that work.

use std::sync::{Arc, Mutex, mpsc};

type Task = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct CpuPool {
    tx: Arc<Mutex<mpsc::Sender<Task>>>,
    threads: usize,
}

impl CpuPool {
    pub fn new(name: &str, threads: usize) -> std::io::Result<CpuPool> {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                loop {
                    // The lock is held only while waiting for the next task, not while running it.
                    let task = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match task {
                        Ok(task) => task(),
                        Err(_) => return,
                    }
                }
            })?;
        }
        Ok(CpuPool { tx: Arc::new(Mutex::new(tx)), threads })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on the pool and awaits its result. A panic in `f` becomes an error, not a dead pool thread.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = done.send(r.map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into())
            }));
        });
        self.tx.lock().map_err(|_| PoolError::Stopped)?.send(task).map_err(|_| PoolError::Stopped)?;
        result.await.map_err(|_| PoolError::Stopped)?.map_err(PoolError::Panicked)
    }
}

/// Why a task handed to the pool did not return a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PoolError {
    #[error("the CPU pool has stopped")]
    Stopped,
    #[error("CPU task panicked: {0}")]
    Panicked(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_off_the_runtime_and_survives_panics() {
        let pool = CpuPool::new("t", 1).unwrap();
        let name = pool.run(|| std::thread::current().name().map(str::to_string)).await.unwrap();
        assert_eq!(name.as_deref(), Some("t-0"));
        let e = pool.run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(matches!(&e, PoolError::Panicked(m) if m.contains("boom")), "{e}");
        assert_eq!(pool.run(|| 7).await.unwrap(), 7, "the thread survived the panic");
    }
}
