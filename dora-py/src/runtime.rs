//! Running async source code synchronously, with the GIL released.
//!
//! Each call gets its own current-thread tokio runtime: nothing lingers between
//! calls, and a process forked by `multiprocessing` inherits no runtime threads.
//! While the future runs the GIL is released, so other Python threads keep
//! running; every 100 ms the runtime briefly re-attaches to let Ctrl-C
//! (`KeyboardInterrupt`) cancel a long collection in a notebook.

use crate::errors::{DoraErr, DoraResult, panic_message};
use pyo3::prelude::*;
use std::future::Future;
use std::time::Duration;

/// Block on `future` with the GIL released; panics become [`DoraErr::Internal`].
pub fn block_on<T, F>(py: Python<'_>, future: F) -> DoraResult<T>
where
    F: Future<Output = DoraResult<T>> + Send,
    T: Send,
{
    py.detach(move || block_on_detached(future))
}

/// [`block_on`] for a caller that has already released the GIL (inside
/// `Python::detach`), e.g. to hold a lock only while detached.
pub fn block_on_detached<T, F>(future: F) -> DoraResult<T>
where
    F: Future<Output = DoraResult<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DoraErr::Internal(format!("cannot start the tokio runtime: {e}")))?;
    let run = std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async move {
            tokio::select! {
                out = future => out,
                interrupted = watch_signals() => Err(interrupted),
            }
        })
    });
    match std::panic::catch_unwind(run) {
        Ok(result) => result,
        Err(payload) => Err(DoraErr::Internal(panic_message(payload.as_ref()))),
    }
}

/// Resolve with the Python exception raised by a signal handler (Ctrl-C).
async fn watch_signals() -> DoraErr {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if let Err(err) = Python::attach(|py| py.check_signals()) {
            return DoraErr::Python(err);
        }
    }
}
