//! The bounded worker pool that runs password verification (argon2) off the async threads.
//!
//! A fixed number of OS threads pull jobs from a bounded queue. Submitting never blocks: when
//! the queue is full the caller is told at once and drops the request (the NAS retries or
//! fails over), so a flood cannot grow memory or stall the receive loop.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Overloaded;

pub(super) struct WorkerPool {
    sender: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    queued: Arc<AtomicUsize>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl WorkerPool {
    /// `workers` threads (at least one) and room for `queue` waiting jobs.
    #[cfg(test)]
    pub(super) fn new(workers: usize, queue: usize) -> Self {
        Self::with_start(workers, queue, || {})
    }

    /// As `new`, and each thread first runs `on_start` (e.g. to set up its own memory), before
    /// it takes any job.
    pub(super) fn with_start(
        workers: usize,
        queue: usize,
        on_start: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let (sender, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let queued = Arc::new(AtomicUsize::new(0));
        let on_start = Arc::new(on_start);
        let threads = (0..workers.max(1))
            .map(|i| {
                let receiver = Arc::clone(&receiver);
                let queued = Arc::clone(&queued);
                let on_start = Arc::clone(&on_start);
                std::thread::Builder::new()
                    .name(format!("radotp-worker-{i}"))
                    .spawn(move || {
                        on_start();
                        work(&receiver, &queued)
                    })
                    .expect("cannot start a worker thread")
            })
            .collect();
        Self {
            sender: Some(sender),
            threads,
            queued,
        }
    }

    /// Queue `job`; its result arrives on the returned channel. If the job panics, the channel
    /// closes without a value.
    pub(super) fn try_submit<T, F>(&self, job: F) -> Result<oneshot::Receiver<T>, Overloaded>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(job());
        });
        let sender = self.sender.as_ref().ok_or(Overloaded)?;
        self.queued.fetch_add(1, Ordering::Relaxed);
        match sender.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                Err(Overloaded)
            }
        }
    }

    /// Jobs waiting for a thread.
    pub(super) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

fn work(receiver: &Mutex<Receiver<Job>>, queued: &AtomicUsize) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
            receiver.recv()
        };
        let Ok(job) = job else { return };
        queued.fetch_sub(1, Ordering::Relaxed);
        // A panicking job must not take the thread with it; its result channel closes and the
        // request is dropped by whoever waits on it.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

impl Drop for WorkerPool {
    /// Finish queued jobs, then stop the threads.
    fn drop(&mut self) {
        self.sender.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn runs_jobs_and_survives_panics() {
        let pool = WorkerPool::new(2, 8);
        let rx = pool.try_submit(|| 40 + 2).unwrap();
        assert_eq!(rx.blocking_recv(), Ok(42));
        let rx = pool.try_submit(|| -> u8 { panic!("boom") }).unwrap();
        assert!(rx.blocking_recv().is_err());
        let rx = pool.try_submit(|| "still working").unwrap();
        assert_eq!(rx.blocking_recv(), Ok("still working"));
    }

    #[test]
    fn every_thread_runs_the_start_hook_before_jobs() {
        thread_local!(static READY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let pool = WorkerPool::with_start(3, 16, move || {
            READY.set(true);
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let answers: Vec<_> = (0..12)
            .map(|_| pool.try_submit(|| READY.get()).unwrap())
            .collect();
        for answer in answers {
            assert_eq!(answer.blocking_recv(), Ok(true));
        }
        drop(pool);
        assert_eq!(started.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn refuses_when_full_instead_of_blocking() {
        let pool = WorkerPool::new(1, 1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let blocker = pool
            .try_submit(move || {
                let _ = wait.recv_timeout(Duration::from_secs(5));
            })
            .unwrap();
        // Give the worker time to take the blocker off the queue, then fill the one slot.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while pool.queued() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let queued = pool.try_submit(|| ()).unwrap();
        assert_eq!(pool.try_submit(|| ()).err(), Some(Overloaded));
        release.send(()).unwrap();
        assert!(blocker.blocking_recv().is_ok());
        assert!(queued.blocking_recv().is_ok());
    }
}
