//! Offline evaluations (`papertide eval ...`).

pub mod cur;
pub mod related;
