//! Policies: decisions about time, kept apart from the I/O that obeys them.

pub mod backoff;
