//! The runtime behind a blocking network client — the PostgreSQL pool and the LDAP directory —
//! and the one way their blocking calls wait for it.
//!
//! Their APIs are blocking: the server's password workers, the CLI and tokio's blocking pool
//! call them. Each client keeps a one-thread tokio runtime that owns its connections' I/O and
//! its timers. A call runs its future on the *calling* thread, with a plain executor inside
//! that runtime's context, and parks the thread until the future is done; the runtime's thread
//! drives sockets and timers meanwhile.
//!
//! Unlike `Runtime::block_on`, that is safe on every thread: a plain thread, a worker, tokio's
//! blocking pool, and a task of another runtime of either flavour, where `block_on` panics
//! ("Cannot start a runtime from within a runtime"). What a blocking call cannot do is leave
//! its thread free: async code runs store operations through [`crate::store::call`], on the
//! blocking pool, so its own runtime keeps serving other tasks.

use std::future::Future;

use tokio::runtime::Runtime;

pub(crate) struct IoRuntime {
    /// `None` only while dropping.
    runtime: Option<Runtime>,
}

impl IoRuntime {
    /// A runtime with one thread named `name`.
    pub(crate) fn new(name: &str) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Run `future` to completion on this thread, its I/O and timers driven by this runtime
    /// (`tokio::spawn` inside it spawns there too). Blocks the calling thread, wherever it is.
    pub(crate) fn wait<F: Future>(&self, future: F) -> F::Output {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives until its owner is dropped");
        let _context = runtime.enter();
        // Unconstrained: called from a task of another runtime, the future must not spend
        // that task's cooperative budget, or it would be told to yield forever (nothing here
        // lets the outer task yield). For the same reason the future must not call
        // `tokio::task::yield_now` (neither tokio-postgres nor ldap3 does).
        futures_executor::block_on(tokio::task::unconstrained(future))
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        // Never blocks, so the owner may be dropped anywhere, even inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A timer and a spawned task on the I/O runtime, waited for from `caller`'s thread.
    fn round_trip(io: &IoRuntime) -> u32 {
        io.wait(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::spawn(async { 7 }).await.unwrap()
        })
    }

    #[test]
    fn waits_from_a_plain_thread() {
        let io = IoRuntime::new("test-io").unwrap();
        assert_eq!(round_trip(&io), 7);
    }

    #[test]
    fn waits_from_inside_either_kind_of_runtime() {
        let io = IoRuntime::new("test-io").unwrap();
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(current.block_on(async { round_trip(&io) }), 7);
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let io = std::sync::Arc::new(io);
        let shared = std::sync::Arc::clone(&io);
        let from_a_task = multi.block_on(async move {
            tokio::spawn(async move {
                // Many calls in one poll of the task: more than its cooperative budget.
                (0..300).map(|_| round_trip_fast(&shared)).sum::<u32>()
            })
            .await
            .unwrap()
        });
        assert_eq!(from_a_task, 300 * 7);
        // Dropped inside a runtime: no panic, no wait.
        multi.block_on(async move { drop(io) });
    }

    /// A channel and a spawned task (tokio's channels spend the cooperative budget).
    fn round_trip_fast(io: &IoRuntime) -> u32 {
        io.wait(async {
            let (tell, told) = tokio::sync::oneshot::channel();
            tokio::spawn(async move { tell.send(7).unwrap() });
            told.await.unwrap()
        })
    }
}
