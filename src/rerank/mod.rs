//! (in progress)
pub mod cur;
