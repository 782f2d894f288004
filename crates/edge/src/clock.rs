//! The time source handlers read `now` from: the system clock in production, a clock the
//! test moves in tests.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Clock(Inner);

#[derive(Clone, Debug)]
enum Inner {
    System,
    Manual(Arc<Mutex<DateTime<Utc>>>),
    /// The system clock, shifted.
    Shifted(TimeDelta),
}

impl Clock {
    pub fn system() -> Clock {
        Clock(Inner::System)
    }
    /// A clock that reads `at` now and runs from there, as the system clock does (a benchmark
    /// played on a given day: time passes between requests, as it does in production).
    pub fn running_from(at: DateTime<Utc>) -> Clock {
        Clock(Inner::Shifted(at - Utc::now()))
    }
    /// A clock that stays at `at` until moved.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock(Inner::Manual(Arc::new(Mutex::new(at))))
    }
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Inner::System => Utc::now(),
            Inner::Shifted(by) => Utc::now() + *by,
            Inner::Manual(t) => t.lock().map(|t| *t).unwrap_or_else(|e| *e.into_inner()),
        }
    }
    /// Sets a manual clock (no effect on the system clock).
    pub fn set(&self, at: DateTime<Utc>) {
        if let Inner::Manual(t) = &self.0
            && let Ok(mut t) = t.lock()
        {
            *t = at;
        }
    }
    /// Moves a manual clock (no effect on the system clock).
    pub fn advance(&self, by: TimeDelta) {
        if let Inner::Manual(t) = &self.0
            && let Ok(mut t) = t.lock()
        {
            *t += by;
        }
    }
}
