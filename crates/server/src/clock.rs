//! The one place that reads the clock. Tests move it forward with `advance`.

use baton_core::time::{Dur, Timestamp};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    #[allow(clippy::disallowed_methods)] // the service layer's one clock read
    pub fn now(&self) -> Timestamp {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(sys + self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, d: Dur) {
        self.offset_ms.fetch_add(d.millis(), Ordering::Relaxed);
    }
}
