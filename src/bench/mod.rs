//! Benchmarks shipped with the binary (`papertide bench ...`): research code, built with the default
//! `research` feature and left out of a `--no-default-features` build of the product.

pub mod ce;
pub mod import;

/// Peak resident set size of this process (Linux `VmHWM`) in MiB, if /proc is available.
pub fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
