//! Offline evaluations (`papertide eval ...`).

pub mod cur;
pub mod judged;
pub mod related;
