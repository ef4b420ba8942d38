//! Offline evaluations (`papertide eval ...`).

pub mod cur;
