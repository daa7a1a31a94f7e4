//! How a request's work runs when its client may disconnect mid-way (which drops the
//! request's future): in a task of its own that the request awaits ([`awaited`]), for
//! work that must never be left half-applied, or in place ([`in_place`]), for work whose
//! every write is one statement. Either way a panic is an `Err`, not a dropped
//! connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `work` in a task of its own and waits for it: dropping the waiting future never
/// cuts `work` short. `Err` if it panicked (or the runtime is shutting down).
pub async fn awaited<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    tokio::spawn(work).await.map_err(|e| e.to_string())
}

/// Runs `work` here, without a task's cost. `Err` if it panicked, as for [`awaited`].
/// It comes boxed: a request's work is a large future (kilobytes), which every future
/// that held it by value would copy again as it is moved.
pub async fn in_place<F: Future>(work: Pin<Box<F>>) -> Result<F::Output, String> {
    CatchPanic(work).await
}

/// Polls a future, answering a panic as `Err`.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err("the request panicked".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::in_place;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn a_panicking_request_is_an_error_and_a_finished_one_its_answer() {
        let panicked = run(in_place(Box::pin(async {
            tokio::task::yield_now().await;
            if std::hint::black_box(true) {
                panic!("deliberate");
            }
            1
        })));
        assert_eq!(panicked, Err("the request panicked".to_string()));
        let answered = run(in_place(Box::pin(async {
            tokio::task::yield_now().await;
            7
        })));
        assert_eq!(answered, Ok(7));
    }
}
