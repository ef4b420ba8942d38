//! Benchmarks shipped with the binary (`papertide bench ...`).

pub mod ce;
